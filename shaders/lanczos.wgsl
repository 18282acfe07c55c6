// lanczos.wgsl: the Lanczos recurrence for sigma_max(Xe)^2 (the FISTA step size; with the
// columns normalised through inv_scale, the preconditioned step's bound) on the device,
// coefficients included, so the host submits many steps and reads their coefficients
// back in one batch; the f64 twin and the stopping rule are in src/solver/spectral.rs.
//
// With g = Xe^T (0 - Xe v) = -A v from the residual (y = 0) and gradient kernels, one step is
//   lanczos_dots:     partials of [ v^T A v, ||A v||^2 ]                     (n_red workgroups)
//   lanczos_alpha:    alpha = sum of partials; history[k] = (alpha, ||A v||^2) (one workgroup)
//   lanczos_residual: w = A v - alpha v - beta u, stored over u; partials of ||w||^2
//   lanczos_beta:     beta_next = ||w|| (from the vector formed, never from an expansion);
//                     history[k].beta = beta_next; k += 1                    (one workgroup)
//   lanczos_scale:    v, u = w / beta_next, v   (w = 0 at exhaustion: v = 0, no NaN)
//
// coef = [alpha, beta, 1 / beta_next, k (as a float: exact for small counts), then 3 floats
// per step: alpha, ||A v||^2, beta_next]. The host writes [0, 0, 0, 0] and v_0 = unit start.
//
// A here is P.lz_scale A (a power of two, so exact): ||A v||^2 is sigma^4, which overflows
// f32 once sigma^2 passes 1.8e19 (raw counts near 1e5 at 1000 x 1e6); scaled, every sum is
// O(1). The host divides the estimate by lz_scale.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> red: array<f32>;   // 2 n_red partials
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@group(0) @binding(5) var<storage, read_write> coef: array<f32>;

const HIST: u32 = 4u;

var<workgroup> s0: array<f32, WG>;
var<workgroup> s1: array<f32, WG>;

// Tree reduction of s0 and s1; called by every thread of the workgroup (uniform control flow).
fn reduce_pair(lid: u32) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            s0[lid] += s0[lid + s];
            s1[lid] += s1[lid + s];
        }
        workgroupBarrier();
    }
}

// Sums the 2 n_red partials of red into s0[0], s1[0] (one workgroup).
fn sum_partials(lid: u32) {
    var a0 = 0.0;
    var a1 = 0.0;
    for (var b = lid; b < P.n_red; b += WG) {
        a0 += red[2u * b];
        a1 += red[2u * b + 1u];
    }
    s0[lid] = a0; s1[lid] = a1;
    reduce_pair(lid);
}

fn history(k: u32, field: u32, value: f32) {
    let at = HIST + 3u * k + field;
    if (at < arrayLength(&coef)) { coef[at] = value; }
}

@compute @workgroup_size(WG)
fn lanczos_dots(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x;
    var a0 = 0.0;
    var a1 = 0.0;
    for (var j = b * WG + lid; j < P.p; j += P.n_red * WG) {
        let av = -g[j] * P.lz_scale;
        a0 += v[j] * av;
        a1 += av * av;
    }
    s0[lid] = a0; s1[lid] = a1;
    reduce_pair(lid);
    if (lid == 0u) {
        red[2u * b] = s0[0];
        red[2u * b + 1u] = s1[0];
    }
}

@compute @workgroup_size(WG)
fn lanczos_alpha(@builtin(local_invocation_index) lid: u32) {
    sum_partials(lid);
    if (lid == 0u) {
        let k = u32(coef[3]);
        coef[0] = s0[0];
        history(k, 0u, s0[0]);
        history(k, 1u, s1[0]);
    }
}

@compute @workgroup_size(WG)
fn lanczos_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x;
    let alpha = coef[0];
    let beta = coef[1];
    var a0 = 0.0;
    for (var j = b * WG + lid; j < P.p; j += P.n_red * WG) {
        let w = -g[j] * P.lz_scale - alpha * v[j] - beta * u[j];
        u[j] = w;
        a0 += w * w;
    }
    s0[lid] = a0; s1[lid] = 0.0;
    reduce_pair(lid);
    if (lid == 0u) {
        red[2u * b] = s0[0];
        red[2u * b + 1u] = 0.0;
    }
}

@compute @workgroup_size(WG)
fn lanczos_beta(@builtin(local_invocation_index) lid: u32) {
    sum_partials(lid);
    if (lid == 0u) {
        let k = u32(coef[3]);
        let beta_next = sqrt(max(s0[0], 0.0));
        coef[1] = beta_next;
        coef[2] = select(0.0, 1.0 / beta_next, beta_next > 0.0);
        coef[3] = f32(k + 1u);
        history(k, 2u, beta_next);
    }
}

@compute @workgroup_size(WG)
fn lanczos_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let j = wg_linear(wid, nwg) * WG + lid;
    if (j >= P.p) { return; }                 // no barriers in this kernel
    let vj = v[j];
    v[j] = u[j] * coef[2];
    u[j] = vj;
}
