// block.wgsl: the full pass of a batch, G = Xe^T R for k residual columns at once (the folds of
// a cross-validation, several responses): each column of X is read once for all k.
//
//   g[c p + j] = sum_i (x_ij - m[s p + j]) r[c n + i] * inv_scale[s p + j],   s = slot[c]
//
// Problem c has its own statistics slot (a fold's means and scales are its training rows'; a
// response shares the slot of the others), and its residual is zero on the rows it does not
// fit, so a fold needs no row mask here. Arithmetic per (j, c) is gradient.wgsl's: centre in
// f32, multiply, sum, scale; the f64 certificate's rounding bound holds as it is. As there,
// TPC threads stride down one column (coalesced) and keep one partial sum per problem; K (the
// batch rounded up to 1, 2, 4, 8, 16 or 32; padding columns of R are zero) is a pipeline
// constant, so the per-problem loops have constant bounds and their sums stay in registers.
// The partials are then reduced over the TPC lanes, RB problems per round of barriers.

override WG: u32 = 64u;
override TPC: u32 = 64u;
override K: u32 = 1u;
const KMAX: u32 = 32u;
// Workgroup floats for the reduction (8 KiB, within WebGPU's 16 KiB minimum) and the problems
// reduced per round of barriers.
const SH: u32 = 2048u;
override RB: u32 = SH / WG;

struct Block {
    n: u32,          // rows
    p: u32,          // columns of X (all panels): the stride of m, inv_scale and g
    k: u32,          // problems in the batch (<= K); g is written for these only
    col_start: u32,  // first global column of this panel
    ncols: u32,      // columns in this panel
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> B: Block;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> r: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(5) var<storage, read> slot: array<u32>;
@group(0) @binding(6) var<storage, read_write> g: array<f32>;

var<workgroup> sh: array<f32, SH>;

@compute @workgroup_size(WG)
fn xtr(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let cols_per_wg = WG / TPC;
    let first_col = wg_linear(wid, nwg) * cols_per_wg;
    if (first_col >= B.ncols) { return; } // uniform: depends on the workgroup only
    let lane = lid % TPC;
    let local = first_col + lid / TPC;
    let live = local < B.ncols;
    let j = B.col_start + local;
    var acc: array<f32, KMAX>;
    var m: array<f32, KMAX>;
    for (var c = 0u; c < K; c++) {
        acc[c] = 0.0;
        m[c] = 0.0;
        if (live) { m[c] = mean[slot[c] * B.p + j]; }
    }
    if (live) {
        let base = local * B.n;
        for (var i = lane; i < B.n; i += TPC) {
            let xv = x[base + i];
            for (var c = 0u; c < K; c++) {
                acc[c] += (xv - m[c]) * r[c * B.n + i];
            }
        }
    }
    for (var c0 = 0u; c0 < K; c0 += RB) {
        for (var q = 0u; q < RB; q++) {
            if (c0 + q < K) { sh[q * WG + lid] = acc[c0 + q]; }
        }
        workgroupBarrier();
        for (var s = TPC / 2u; s > 0u; s = s >> 1u) {
            if (lane < s) {
                for (var q = 0u; q < RB; q++) {
                    if (c0 + q < K) { sh[q * WG + lid] += sh[q * WG + lid + s]; }
                }
            }
            workgroupBarrier();
        }
        if (lane == 0u && live) {
            for (var q = 0u; q < RB; q++) {
                let c = c0 + q;
                if (c < B.k) {
                    g[c * B.p + j] = sh[q * WG + lid] * inv_scale[slot[c] * B.p + j];
                }
            }
        }
        workgroupBarrier();
    }
}
