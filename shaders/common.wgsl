// common.wgsl: shared declarations, prepended to every kernel file by src/solver/gpu/kernels.rs.
//
// X lives on the device as f32, column-major, split into column panels (one storage buffer
// each, so no binding exceeds the adapter's max_storage_buffer_binding_size): element (i, j)
// of a panel is at j * n + i. Column-major makes every kernel's reads coalesced: the gradient
// reads a column with consecutive threads on consecutive rows, and the residual reads, for one
// active column, consecutive rows from consecutive threads.
//
// Keep in sync with `Params` and `Panel` in src/solver/gpu/kernels.rs (size tests there).

struct Params {
    n: u32,          // rows
    p: u32,          // columns (all panels)
    n_blocks: u32,   // WG-sized blocks over p (compaction, prox partials)
    n_red: u32,      // workgroups of the strided reductions
    inv_n: f32,      // 1 / n
    step: f32,       // FISTA step (coordinate j: step * pre[j], fista.wgsl)
    l1: f32,         // lambda * l1_ratio
    l2: f32,         // lambda * (1 - l1_ratio)
    n_chunks: u32,   // residual chunks over all panels
    chunk_len: u32,  // active columns per residual chunk
    n_panels: u32,   // column panels (residual_finish walks their active chunks)
    lz_scale: f32,   // Lanczos runs on lz_scale A, a power of two near 1 / trace(A): O(1) sums
}

struct Panel {
    col_start: u32,  // first global column of this panel
    ncols: u32,      // columns in this panel
    chunk_base: u32, // index of this panel's first residual chunk
    index: u32,      // this panel's number
}

// Workgroup index over a 2-D grid: dispatches wider than 65535 workgroups wrap into y.
fn wg_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// S(a, k) = sign(a) max(|a| - k, 0), the proximal operator of k |.| (fista.wgsl, batch_fista.wgsl).
fn soft_threshold(a: f32, k: f32) -> f32 {
    return sign(a) * max(abs(a) - k, 0.0);
}

// 1 when x is NaN or +-inf (all exponent bits set), by its bits (reduce.wgsl explains why).
fn non_finite(x: f32) -> u32 {
    return select(0u, 1u, (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u);
}
