// compact.wgsl: the ordered list of non-zero coefficients, so the residual reads only the
// columns that matter.
//
//   act[k]     = j          for the k-th j (increasing) with v_j != 0
//   act_val[k] = v_j / s_j  (the coefficient of the raw column; 1/s_j = 0 for dead columns)
//   offset     = sum_j m_j v_j / s_j   (the centring term:  Xe v = X (v/s) - offset)
//
// Three passes, all coalesced and deterministic (no atomics, fixed summation order):
// count per WG-block, scan of the block counts in one workgroup, scatter with a workgroup scan.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> inv_scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> block_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> block_offset: array<f32>;  // sum m v / s per block
@group(0) @binding(6) var<storage, read_write> act_meta: array<u32>;          // [count, bits(offset)]
@group(0) @binding(7) var<storage, read_write> act: array<u32>;
@group(0) @binding(8) var<storage, read_write> act_val: array<f32>;

var<workgroup> sh_u: array<u32, WG>;
var<workgroup> sh_f: array<f32, WG>;

// Hillis-Steele inclusive scan of sh_u over the workgroup, in place. Every invocation must
// call it (it holds barriers): callers reach it in workgroup-uniform control flow.
fn inclusive_scan(lid: u32) {
    workgroupBarrier();
    for (var s = 1u; s < WG; s = s << 1u) {
        var add = 0u;
        if (lid >= s) { add = sh_u[lid - s]; }
        workgroupBarrier();
        sh_u[lid] += add;
        workgroupBarrier();
    }
}

fn coef(j: u32) -> f32 {
    return v[j] * inv_scale[j];
}

@compute @workgroup_size(WG)
fn count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let b = wg_linear(wid, nwg);
    if (b >= P.n_blocks) { return; }          // uniform: depends on the workgroup only
    let j = b * WG + lid;
    var c = 0u;
    var o = 0.0;
    if (j < P.p) {
        let a = coef(j);
        if (a != 0.0) { c = 1u; o = mean[j] * a; }
    }
    sh_u[lid] = c;
    sh_f[lid] = o;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            sh_u[lid] += sh_u[lid + s];
            sh_f[lid] += sh_f[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        block_count[b] = sh_u[0];
        block_offset[b] = sh_f[0];
    }
}

// One workgroup: exclusive scan of block_count in place; total count and offset into act_meta.
@compute @workgroup_size(WG)
fn scan(@builtin(local_invocation_index) lid: u32) {
    let per = (P.n_blocks + WG - 1u) / WG;
    let lo = min(lid * per, P.n_blocks);
    let hi = min(lo + per, P.n_blocks);
    var c = 0u;
    var o = 0.0;
    for (var b = lo; b < hi; b++) {
        c += block_count[b];
        o += block_offset[b];
    }
    sh_u[lid] = c;
    sh_f[lid] = o;
    inclusive_scan(lid);
    // Tree sum of the offsets.
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh_f[lid] += sh_f[lid + s]; }
        workgroupBarrier();
    }
    var run = sh_u[lid] - c;                  // exclusive prefix of this thread's range
    for (var b = lo; b < hi; b++) {
        let k = block_count[b];
        block_count[b] = run;
        run += k;
    }
    if (lid == WG - 1u) { act_meta[0] = sh_u[lid]; }
    if (lid == 0u) { act_meta[1] = bitcast<u32>(sh_f[0]); }
}

@compute @workgroup_size(WG)
fn scatter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let b = wg_linear(wid, nwg);
    if (b >= P.n_blocks) { return; }
    let j = b * WG + lid;
    var a = 0.0;
    var flag = 0u;
    if (j < P.p) {
        a = coef(j);
        if (a != 0.0) { flag = 1u; }
    }
    sh_u[lid] = flag;
    inclusive_scan(lid);
    if (flag == 1u) {
        let k = block_count[b] + sh_u[lid] - 1u;
        act[k] = j;
        act_val[k] = a;
    }
}

// count + scan + scatter in one workgroup, for p <= WG (n_blocks == 1: the small working sets,
// where a dispatch costs more than its work). Same order of summation as the three passes.
@compute @workgroup_size(WG)
fn compact_small(@builtin(local_invocation_index) lid: u32) {
    let j = lid;
    var a = 0.0;
    var flag = 0u;
    var o = 0.0;
    if (j < P.p) {
        a = coef(j);
        if (a != 0.0) { flag = 1u; o = mean[j] * a; }
    }
    sh_u[lid] = flag;
    sh_f[lid] = o;
    inclusive_scan(lid);
    if (flag == 1u) {
        let k = sh_u[lid] - 1u;
        act[k] = j;
        act_val[k] = a;
    }
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh_f[lid] += sh_f[lid + s]; }
        workgroupBarrier();
    }
    if (lid == WG - 1u) { act_meta[0] = sh_u[lid]; }
    if (lid == 0u) { act_meta[1] = bitcast<u32>(sh_f[0]); }
}
