// batch_fista.wgsl: FISTA on a batch of working-set subproblems, one workgroup per problem,
// each with its own state in `state` (8 floats per problem c):
//
//   [step, l1, l2, 1/n, t, active, 0, 0]
//
// fista_batch: one whole step of problem c once g = Xe^T r(z) is known (block.wgsl), as
//              fista.wgsl's prox, state and momentum, preconditioned by the diagonal of the
//              Hessian (pre[c m + j] = 1 / h_j, h_j = ||xe_j||^2 / n + l2; the host's
//              fista::jacobi): w_new = S(z - step pre (l2 z - g / n), step pre l1), the
//              restart test sum (z - w_new)(w_new - w) / pre (the inner product in which the
//              preconditioned steps are plain ones), then t and the momentum.
//              One workgroup holds every coordinate of its problem, so its barrier is the
//              global one and the step is one dispatch for the whole batch. w_new is
//              recomputed in the second loop (the same arithmetic, so the same value) instead
//              of kept in a buffer.
// gap_batch:   the sums of the duality gap of problem c at w (r and g taken at w), as
//              reduce.wgsl's, into out[8 c ..]: [||w||_1, ||w||^2, ||g - n l2 w||_inf, ||g||^2,
//              ||r||^2, r^T y, non-finite count, sum_j max(|g_j| - n l1, 0)^2]; the host forms
//              each problem's gap in f64 (the last sum is the unscaled dual's, near Ridge).
//
// A frozen problem (active == 0: it met its target) is skipped by both; the host freezes
// problems between submissions (stop masks), so a finished one costs nothing more.

override WG: u32 = 64u;

struct Sub {
    n: u32,
    m: u32,
    k: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> S: Sub;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read> r: array<f32>;
@group(0) @binding(6) var<storage, read> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> pre: array<f32>;

var<workgroup> s0: array<f32, WG>;
var<workgroup> s1: array<f32, WG>;
var<workgroup> s2: array<f32, WG>;
var<workgroup> s3: array<f32, WG>;
var<workgroup> s4: array<f32, WG>;
var<workgroup> s5: array<f32, WG>;
var<workgroup> s6: array<f32, WG>;
var<workgroup> bad: array<u32, WG>;

@compute @workgroup_size(WG)
fn fista_batch(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    if (c >= S.k || state[8u * c + 5u] == 0.0) { return; } // uniform: depends on the workgroup
    let step = state[8u * c];
    let l1 = state[8u * c + 1u];
    let l2 = state[8u * c + 2u];
    let inv_n = state[8u * c + 3u];
    let t = state[8u * c + 4u];
    let base = c * S.m;
    var up = 0.0;
    for (var j = lid; j < S.m; j += WG) {
        let zj = z[base + j];
        let pj = pre[base + j];
        let sj = step * pj;
        let wn = soft_threshold(zj - sj * (l2 * zj - g[base + j] * inv_n), sj * l1);
        up += (zj - wn) * (wn - w[base + j]) / pj;
    }
    s0[lid] = up;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { s0[lid] += s0[lid + s]; }
        workgroupBarrier();
    }
    var t_new = 1.0;
    var beta = 0.0;
    if (!(s0[0] > 0.0)) {
        t_new = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        beta = (t - 1.0) / t_new;
    }
    for (var j = lid; j < S.m; j += WG) {
        let zj = z[base + j];
        let sj = step * pre[base + j];
        let wn = soft_threshold(zj - sj * (l2 * zj - g[base + j] * inv_n), sj * l1);
        z[base + j] = wn + beta * (wn - w[base + j]);
        w[base + j] = wn;
    }
    // Every thread read t above, before the barrier in the reduction.
    if (lid == 0u) { state[8u * c + 4u] = t_new; }
}

@compute @workgroup_size(WG)
fn gap_batch(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    if (c >= S.k || state[8u * c + 5u] == 0.0) { return; } // uniform
    let l2 = state[8u * c + 2u];
    let n_l2 = l2 / state[8u * c + 3u];
    let n_l1 = state[8u * c + 1u] / state[8u * c + 3u];
    let base = c * S.m;
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    var a6 = 0.0;
    var nb = 0u;
    for (var j = lid; j < S.m; j += WG) {
        let wj = w[base + j];
        let gj = g[base + j];
        a0 += abs(wj);
        a1 += wj * wj;
        a2 = max(a2, abs(gj - n_l2 * wj));
        a3 += gj * gj;
        let e = max(abs(gj) - n_l1, 0.0);
        a6 += e * e;
        nb += non_finite(wj) + non_finite(gj);
    }
    var a4 = 0.0;
    var a5 = 0.0;
    for (var i = lid; i < S.n; i += WG) {
        let ri = r[c * S.n + i];
        a4 += ri * ri;
        a5 += ri * y[c * S.n + i];
        nb += non_finite(ri);
    }
    s0[lid] = a0;
    s1[lid] = a1;
    s2[lid] = a2;
    s3[lid] = a3;
    s4[lid] = a4;
    s5[lid] = a5;
    s6[lid] = a6;
    bad[lid] = nb;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            s0[lid] += s0[lid + s];
            s1[lid] += s1[lid + s];
            s2[lid] = max(s2[lid], s2[lid + s]);
            s3[lid] += s3[lid + s];
            s4[lid] += s4[lid + s];
            s5[lid] += s5[lid + s];
            s6[lid] += s6[lid + s];
            bad[lid] += bad[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[8u * c] = s0[0];
        out[8u * c + 1u] = s1[0];
        out[8u * c + 2u] = s2[0];
        out[8u * c + 3u] = s3[0];
        out[8u * c + 4u] = s4[0];
        out[8u * c + 5u] = s5[0];
        out[8u * c + 6u] = f32(bad[0]);
        out[8u * c + 7u] = s6[0];
    }
}
