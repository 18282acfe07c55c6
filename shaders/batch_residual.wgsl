// batch_residual.wgsl: the residuals of a batch of working-set subproblems, one per problem,
// on the columns of the batch's union U of working sets (n x m, gathered once per round):
//
//   r[c n + i] = rows[c n + i] (y[c n + i] - sum_j (x_ij - m[c m + j]) v[c m + j] inv[c m + j])
//
// v is the problem's z (a FISTA step) or w (a gap check); inv is 0 for the columns of U
// outside problem c's own working set, so each problem sees only its own columns, with its
// own statistics (a fold's means and scales), and rows zeroes the rows it does not fit. A
// thread per (row, problem): consecutive threads read consecutive rows of a column. A frozen
// problem (state[8 c + 5] == 0, it has met its target) is skipped.

override WG: u32 = 64u;

struct Sub {
    n: u32,   // rows
    m: u32,   // columns of U
    k: u32,   // problems
    pad: u32,
}

@group(0) @binding(0) var<uniform> S: Sub;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> inv: array<f32>;
@group(0) @binding(5) var<storage, read> y: array<f32>;
@group(0) @binding(6) var<storage, read> rows: array<f32>;
@group(0) @binding(7) var<storage, read> state: array<f32>;
@group(0) @binding(8) var<storage, read_write> r: array<f32>;

@compute @workgroup_size(WG)
fn residual_batch(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.y;
    let i = wid.x * WG + lid;
    if (c >= S.k || i >= S.n || state[8u * c + 5u] == 0.0) { return; } // no barriers here
    let base = c * S.m;
    var total = 0.0;
    var block = 0.0;
    for (var j = 0u; j < S.m; j++) {
        let s = v[base + j] * inv[base + j];
        if (s != 0.0) {
            block += (x[j * S.n + i] - mean[base + j]) * s;
        }
        // Blocks of 64 bound the f32 rounding of long sums, as residual.wgsl does.
        if ((j & 63u) == 63u) { total += block; block = 0.0; }
    }
    total += block;
    r[c * S.n + i] = rows[c * S.n + i] * (y[c * S.n + i] - total);
}
