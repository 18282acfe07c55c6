// residual.wgsl: r = y - Xe v = y + offset - X (v / s), over the active columns only.
//
// One thread per row; the panel's slice of the (sorted) active list is found by binary
// search, the same for every thread. Consecutive threads read consecutive rows of one column:
// coalesced. Panels are applied one after another; the first initialises r.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<uniform> panel: Panel;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> act: array<u32>;
@group(0) @binding(5) var<storage, read> act_val: array<f32>;
@group(0) @binding(6) var<storage, read> act_meta: array<u32>;
@group(0) @binding(7) var<storage, read_write> r: array<f32>;

// First k in [0, count) with act[k] >= col.
fn lower_bound(col: u32, count: u32) -> u32 {
    var lo = 0u;
    var hi = count;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (act[mid] < col) { lo = mid + 1u; } else { hi = mid; }
    }
    return lo;
}

@compute @workgroup_size(WG)
fn residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = wg_linear(wid, nwg) * WG + lid;
    if (i >= P.n) { return; }                 // no barriers in this kernel
    let count = act_meta[0];
    let k0 = lower_bound(panel.col_start, count);
    let k1 = lower_bound(panel.col_start + panel.ncols, count);
    var acc = 0.0;
    for (var k = k0; k < k1; k++) {
        let local = act[k] - panel.col_start;
        acc += x[local * P.n + i] * act_val[k];
    }
    var base: f32;
    if (panel.first == 1u) {
        base = y[i] + bitcast<f32>(act_meta[1]);
    } else {
        base = r[i];
    }
    r[i] = base - acc;
}
