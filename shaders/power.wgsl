// power.wgsl: power iteration for sigma_max(Xe)^2, the FISTA step size 1 / L.
//
// Each round: u = Xe v (residual kernel with y = 0 gives -u), g = Xe^T (-u) = -Xe^T Xe v,
// ||g||^2 by reduce_p, then here: est = ||g|| (-> sigma_max^2 as v converges, since ||v|| = 1)
// and v = g / ||g||. The sign flips every round; the norm does not care.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> red: array<f32>;     // reduce_p partials
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> est: array<f32>; // [sigma_max^2 estimate]

var<workgroup> sh: array<f32, WG>;

@compute @workgroup_size(WG)
fn power_norm(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var b = lid; b < P.n_red; b += WG) { acc += red[4u * b + 3u]; }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) { est[0] = sqrt(sh[0]); }
}

@compute @workgroup_size(WG)
fn power_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let j = wg_linear(wid, nwg) * WG + lid;
    if (j >= P.p) { return; }                 // no barriers in this kernel
    let nrm = est[0];
    if (nrm > 0.0) { v[j] = g[j] / nrm; } else { v[j] = 0.0; }
}
