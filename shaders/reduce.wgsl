// reduce.wgsl: the sums the duality gap needs, as per-workgroup partials (tree reductions in
// workgroup memory) that the host adds up in f64.
//
//   reduce_p over j < p:  [ ||w||_1, ||w||^2, ||g - n l2 w||_inf, ||g||^2 ], non-finite w, g
//   reduce_n over i < n:  [ ||r||^2, r^T y ], non-finite r
//
// n_red workgroups stride over the vector, so the host reads 8 n_red floats, whatever p is.
//
// The non-finite counts test the exponent bits (integer ops): `max` drops a NaN on hardware
// without SignedZeroInfNanPreserve (NVIDIA), and WGSL lets a compiler assume there is no NaN
// or infinity at all, so neither the max nor an isNan-style float test would see one. A count
// above 0 makes the host reject the read-back instead of certifying from it.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> r: array<f32>;
@group(0) @binding(4) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // [4 | 2 | 1 | 1] x n_red

var<workgroup> s0: array<f32, WG>;
var<workgroup> s1: array<f32, WG>;
var<workgroup> s2: array<f32, WG>;
var<workgroup> s3: array<f32, WG>;
var<workgroup> bad: array<u32, WG>;

@compute @workgroup_size(WG)
fn reduce_p(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x;
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    var nf = 0u;
    let nl2 = P.l2 / P.inv_n;
    for (var j = b * WG + lid; j < P.p; j += P.n_red * WG) {
        let wj = w[j];
        let gj = g[j];
        a0 += abs(wj);
        a1 += wj * wj;
        a2 = max(a2, abs(gj - nl2 * wj));
        a3 += gj * gj;
        nf += non_finite(wj) + non_finite(gj);
    }
    s0[lid] = a0; s1[lid] = a1; s2[lid] = a2; s3[lid] = a3; bad[lid] = nf;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            s0[lid] += s0[lid + s];
            s1[lid] += s1[lid + s];
            s2[lid] = max(s2[lid], s2[lid + s]);
            s3[lid] += s3[lid + s];
            bad[lid] += bad[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[4u * b] = s0[0];
        out[4u * b + 1u] = s1[0];
        out[4u * b + 2u] = s2[0];
        out[4u * b + 3u] = s3[0];
        out[6u * P.n_red + b] = f32(bad[0]);
    }
}

@compute @workgroup_size(WG)
fn reduce_n(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wid.x;
    var a0 = 0.0;
    var a1 = 0.0;
    var nf = 0u;
    for (var i = b * WG + lid; i < P.n; i += P.n_red * WG) {
        let ri = r[i];
        a0 += ri * ri;
        a1 += ri * y[i];
        nf += non_finite(ri);
    }
    s0[lid] = a0; s1[lid] = a1; bad[lid] = nf;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            s0[lid] += s0[lid + s];
            s1[lid] += s1[lid + s];
            bad[lid] += bad[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let base = 4u * P.n_red;
        out[base + 2u * b] = s0[0];
        out[base + 2u * b + 1u] = s1[0];
        out[7u * P.n_red + b] = f32(bad[0]);
    }
}
