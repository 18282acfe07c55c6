// lanczos.wgsl: the vector work of the Lanczos iteration for sigma_max(Xe)^2 (the FISTA step
// size); the host keeps the tridiagonal matrix and its Ritz values (src/solver/spectral.rs).
//
// With g = Xe^T (0 - Xe v) = -A v from the residual (y = 0) and gradient kernels:
//   lanczos_dots: per-workgroup partials of [ v^T A v, ||A v||^2, u^T A v ]  (u = previous v)
//   lanczos_next: v' = (A v - alpha v - beta u) / beta_next,  u = v,  v = v'
// coef = [alpha, beta, beta_next] is written by the host between submissions.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> red: array<f32>;   // 3 n_red partials
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@group(0) @binding(5) var<storage, read> coef: array<f32>;

var<workgroup> s0: array<f32, WG>;
var<workgroup> s1: array<f32, WG>;
var<workgroup> s2: array<f32, WG>;

@compute @workgroup_size(WG)
fn lanczos_dots(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x;
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    for (var j = b * WG + lid; j < P.p; j += P.n_red * WG) {
        let av = -g[j];
        a0 += v[j] * av;
        a1 += av * av;
        a2 += u[j] * av;
    }
    s0[lid] = a0; s1[lid] = a1; s2[lid] = a2;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            s0[lid] += s0[lid + s];
            s1[lid] += s1[lid + s];
            s2[lid] += s2[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        red[3u * b] = s0[0];
        red[3u * b + 1u] = s1[0];
        red[3u * b + 2u] = s2[0];
    }
}

@compute @workgroup_size(WG)
fn lanczos_next(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let j = wg_linear(wid, nwg) * WG + lid;
    if (j >= P.p) { return; }                 // no barriers in this kernel
    let vj = v[j];
    let next = (-g[j] - coef[0] * vj - coef[1] * u[j]) / coef[2];
    u[j] = vj;
    v[j] = next;
}
