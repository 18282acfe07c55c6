// fista.wgsl: one FISTA step after the gradient g = Xe^T (y - Xe z) is known, preconditioned
// by the diagonal of the Hessian (pre[j] = 1 / h_j, h_j = ||xe_j||^2 / n + l2; the host's
// full_jacobi): plain FISTA in the variables sqrt(h_j) w_j, where every coordinate has unit
// curvature, so the steps do not depend on how the columns are scaled.
//
//   prox:     w_new = S(z - step pre (l2 z - g / n), step pre l1)  (gradient step, ridge term,
//             uphill partials: sum_j (z_j - w_new_j)(w_new_j - w_j) / pre_j
//                                                                   soft-threshold, restart test
//                                                                   in the rescaled variables)
//   state:    restart if uphill > 0 (O'Donoghue & Candes): t = 1, beta = 0;
//             else t' = (1 + sqrt(1 + 4 t^2)) / 2, beta = (t - 1) / t', t = t'
//   momentum: z = w_new + beta (w_new - w),  w = w_new
//
// The restart test needs a sum over all p coordinates before the momentum can be applied, so
// the step is three dispatches rather than one fused kernel: a global dependency, not a choice.
// Except when one workgroup holds every coordinate (p <= WG, the small working sets): there a
// workgroup barrier is the global one, and step_small does all three in one dispatch.
// S(a, k) = sign(a) max(|a| - k, 0) is the proximal operator of k |.|.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> w_new: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;   // [t, beta]
@group(0) @binding(7) var<storage, read> pre: array<f32>;

var<workgroup> sh: array<f32, WG>;

@compute @workgroup_size(WG)
fn prox(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let b = wg_linear(wid, nwg);
    if (b >= P.n_blocks) { return; }          // uniform
    let j = b * WG + lid;
    var up = 0.0;
    if (j < P.p) {
        let zj = z[j];
        let sj = P.step * pre[j];
        let wn = soft_threshold(zj - sj * (P.l2 * zj - g[j] * P.inv_n), sj * P.l1);
        w_new[j] = wn;
        up = (zj - wn) * (wn - w[j]) / pre[j];
    }
    sh[lid] = up;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) { partial[b] = sh[0]; }
}

@compute @workgroup_size(WG)
fn state_update(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var b = lid; b < P.n_blocks; b += WG) { acc += partial[b]; }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let t = state[0];
        if (sh[0] > 0.0) {
            state[0] = 1.0;
            state[1] = 0.0;
        } else {
            let t_next = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
            state[1] = (t - 1.0) / t_next;
            state[0] = t_next;
        }
    }
}

@compute @workgroup_size(WG)
fn momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let j = wg_linear(wid, nwg) * WG + lid;
    if (j >= P.p) { return; }                 // no barriers in this kernel
    let wn = w_new[j];
    z[j] = wn + state[1] * (wn - w[j]);
    w[j] = wn;
}

// prox + state + momentum for p <= WG, in one workgroup. Every thread reads t before any
// write to state, reduces the uphill sum with the same tree as prox, and derives beta itself.
@compute @workgroup_size(WG)
fn step_small(@builtin(local_invocation_index) lid: u32) {
    let j = lid;
    let t = state[0];
    var wn = 0.0;
    var wj = 0.0;
    var up = 0.0;
    if (j < P.p) {
        let zj = z[j];
        let sj = P.step * pre[j];
        wn = soft_threshold(zj - sj * (P.l2 * zj - g[j] * P.inv_n), sj * P.l1);
        wj = w[j];
        up = (zj - wn) * (wn - wj) / pre[j];
    }
    sh[lid] = up;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    var t_new = 1.0;
    var beta = 0.0;
    if (!(sh[0] > 0.0)) {
        t_new = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        beta = (t - 1.0) / t_new;
    }
    if (j < P.p) {
        w_new[j] = wn;
        z[j] = wn + beta * (wn - wj);
        w[j] = wn;
    }
    if (lid == 0u) {
        state[0] = t_new;
        state[1] = beta;
    }
}
