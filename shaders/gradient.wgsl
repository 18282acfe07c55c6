// gradient.wgsl: g_j = xe_j^T r = sum_i (x_ij - m_j) r_i / s_j, for every column of a panel.
//
// A workgroup of WG threads handles WG / TPC columns; TPC threads stride down one column
// (consecutive threads, consecutive rows: coalesced), then a tree reduction in workgroup
// memory. Subtracting m_j before multiplying keeps the centring exact in f32 even when the
// mean is large against the spread. WG and TPC are overridable (TPC a power of two <= WG).
// A column with inv_scale 0 (dead, or screened out by Gap Safe) is not read at all: its g is 0,
// and a screened pass costs only the bandwidth of the columns still in.

override WG: u32 = 64u;
override TPC: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<uniform> panel: Panel;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> r: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> g: array<f32>;

var<workgroup> sh: array<f32, WG>;

@compute @workgroup_size(WG)
fn gradient(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let cols_per_wg = WG / TPC;
    let first_col = wg_linear(wid, nwg) * cols_per_wg;
    if (first_col >= panel.ncols) { return; } // uniform: depends on the workgroup only
    let lane = lid % TPC;
    let local = first_col + lid / TPC;
    var acc = 0.0;
    if (local < panel.ncols && inv_scale[panel.col_start + local] != 0.0) {
        let j = panel.col_start + local;
        let m = mean[j];
        let base = local * P.n;
        for (var i = lane; i < P.n; i += TPC) {
            acc += (x[base + i] - m) * r[i];
        }
    }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = TPC / 2u; s > 0u; s = s >> 1u) {
        if (lane < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    if (lane == 0u && local < panel.ncols) {
        let j = panel.col_start + local;
        g[j] = sh[lid] * inv_scale[j];
    }
}
