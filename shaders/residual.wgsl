// residual.wgsl: r = y - Xe v = y + offset - X (v / s), over the active columns only.
//
// Two kernels, so that the work is parallel over rows AND over active columns (a dense v, as
// in the power iteration, has p active columns; n threads alone would each loop over all p):
//
//   residual_partial: workgroup (row block, chunk): one thread per row sums its rows' terms
//                     over a chunk of at most chunk_len active columns of this panel (found by
//                     binary search in the sorted active list) into partial[chunk][row].
//                     Consecutive threads read consecutive rows of one column: coalesced.
//                     Only the chunks that hold active columns do work; the first workgroup
//                     of each panel records (chunk_base, active chunks) in panel_chunks.
//   residual_finish:  one thread per row: r = y + offset - sum over the active chunks of every
//                     panel, in chunk order (deterministic), in blocks of 64 to bound the f32
//                     rounding. Its work follows the number of non-zeros, not p: at p = 1e6
//                     with a few hundred non-zeros it reads a few chunks, not 3,908.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<uniform> panel: Panel;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> act: array<u32>;
@group(0) @binding(5) var<storage, read> act_val: array<f32>;
@group(0) @binding(6) var<storage, read> act_meta: array<u32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;
@group(0) @binding(8) var<storage, read_write> r: array<f32>;
@group(0) @binding(9) var<storage, read_write> panel_chunks: array<u32>;   // 2 per panel

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
fn residual_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let row_blocks = (P.n + WG - 1u) / WG;
    let b = wg_linear(wid, nwg);
    let chunk = b / row_blocks;
    let i = (b % row_blocks) * WG + lid;
    let count = act_meta[0];
    let k0 = lower_bound(panel.col_start, count);
    let k1 = lower_bound(panel.col_start + panel.ncols, count);
    let active_chunks = (k1 - k0 + P.chunk_len - 1u) / P.chunk_len;
    // Workgroup 0 always runs (a panel with no columns still dispatches one workgroup).
    if (b == 0u && lid == 0u) {
        panel_chunks[2u * panel.index] = panel.chunk_base;
        panel_chunks[2u * panel.index + 1u] = active_chunks;
    }
    // No barriers in this kernel. The finish never reads the chunks beyond active_chunks.
    if (chunk >= active_chunks || i >= P.n) { return; }
    let lo = k0 + chunk * P.chunk_len;
    let hi = min(lo + P.chunk_len, k1);
    var acc = 0.0;
    for (var k = lo; k < hi; k++) {
        acc += x[(act[k] - panel.col_start) * P.n + i] * act_val[k];
    }
    partial[(panel.chunk_base + chunk) * P.n + i] = acc;
}

@compute @workgroup_size(WG)
fn residual_finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = wg_linear(wid, nwg) * WG + lid;
    if (i >= P.n) { return; }
    var total = 0.0;
    var block = 0.0;
    var c = 0u;
    for (var q = 0u; q < P.n_panels; q++) {
        let base = panel_chunks[2u * q];
        let n_active = panel_chunks[2u * q + 1u];
        for (var k = 0u; k < n_active; k++) {
            block += partial[(base + k) * P.n + i];
            c++;
            if ((c & 63u) == 63u) { total += block; block = 0.0; }
        }
    }
    total += block;
    r[i] = y[i] + bitcast<f32>(act_meta[1]) - total;
}
