//! Test families for the step size `sigma_max(Xe)^2` and an independent reference for it: the
//! largest eigenvalue of the explicit Gram matrix of `Xe`, by cyclic Jacobi in f64 (no Lanczos,
//! no Krylov space). Shared by `tests/spectral.rs` (f64 CPU) and `tests/gpu_spectral.rs`.
#![allow(dead_code)]

use lariat::design::Dense;
use lariat::problem::{Preprocess, Problem};
use lariat::synth::Rng;

/// One named test design.
pub struct Case {
    pub name: String,
    pub x: Dense<f64>,
}

fn gaussian(n: usize, p: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n * p).map(|_| rng.normal()).collect()
}

/// Columns with AR(1) correlation `rho` between neighbours (Toeplitz covariance): the top
/// eigenvalues cluster, the case where the power method crawls.
fn toeplitz(n: usize, p: usize, rho: f64, rng: &mut Rng) -> Vec<f64> {
    let mut d = vec![0.0; n * p];
    let c = (1.0 - rho * rho).sqrt();
    for v in &mut d[..n] {
        *v = rng.normal();
    }
    for j in 1..p {
        for i in 0..n {
            d[j * n + i] = rho * d[(j - 1) * n + i] + c * rng.normal();
        }
    }
    d
}

/// SNP-like 0/1/2 counts, minor allele frequency between 0.01 and 0.5 (some columns constant).
fn genotype(n: usize, p: usize, rng: &mut Rng) -> Vec<f64> {
    let mut d = vec![0.0; n * p];
    for j in 0..p {
        let maf = 0.01 + 0.49 * rng.uniform();
        for i in 0..n {
            let a = (rng.uniform() < maf) as u8 + (rng.uniform() < maf) as u8;
            d[j * n + i] = a as f64;
        }
    }
    d
}

/// Rank `r` (before centring): `U V` with Gaussian factors.
fn low_rank(n: usize, p: usize, r: usize, rng: &mut Rng) -> Vec<f64> {
    let u = gaussian(n, r, rng);
    let v = gaussian(r, p, rng);
    let mut d = vec![0.0; n * p];
    for j in 0..p {
        for k in 0..r {
            let vk = v[j * r + k];
            for i in 0..n {
                d[j * n + i] += u[k * n + i] * vk;
            }
        }
    }
    d
}

/// Gaussian columns, about a third of them copies (some scaled) of earlier ones.
fn duplicated(n: usize, p: usize, rng: &mut Rng) -> Vec<f64> {
    let mut d = gaussian(n, p, rng);
    for j in 1..p {
        if rng.uniform() < 0.35 {
            let src = rng.below(j);
            let a = if rng.uniform() < 0.5 { 1.0 } else { -3.0 };
            for i in 0..n {
                d[j * n + i] = a * d[src * n + i];
            }
        }
    }
    d
}

/// Column scales over four decades and shifted means, so that centring and standardizing
/// change the spectrum.
fn rescale(d: &mut [f64], n: usize, p: usize, rng: &mut Rng) {
    for j in 0..p {
        let s = 10f64.powf(rng.uniform() * 4.0 - 2.0);
        let m = 5.0 * rng.normal();
        for v in &mut d[j * n..(j + 1) * n] {
            *v = m + s * *v;
        }
    }
}

/// Every family at every size, `reps` seeds each.
pub fn cases(sizes: &[(usize, usize)], reps: u64) -> Vec<Case> {
    let mut out = Vec::new();
    for &(n, p) in sizes {
        for rep in 0..reps {
            let seed = 1_000_003 * n as u64 + 7919 * p as u64 + rep;
            let mut rng = Rng::new(seed);
            let fams: [(&str, Vec<f64>); 7] = [
                ("gaussian", gaussian(n, p, &mut rng)),
                ("toeplitz0.95", toeplitz(n, p, 0.95, &mut rng)),
                ("genotype", genotype(n, p, &mut rng)),
                ("rank2", low_rank(n, p, 2, &mut rng)),
                ("duplicated", duplicated(n, p, &mut rng)),
                ("scaled", {
                    let mut d = gaussian(n, p, &mut rng);
                    rescale(&mut d, n, p, &mut rng);
                    d
                }),
                ("scaled-toeplitz", {
                    let mut d = toeplitz(n, p, 0.8, &mut rng);
                    rescale(&mut d, n, p, &mut rng);
                    d
                }),
            ];
            for (fam, data) in fams {
                out.push(Case {
                    name: format!("{fam} {n}x{p} #{rep}"),
                    x: Dense::from_col_major(n, p, data),
                });
            }
        }
    }
    out
}

pub const PREPS: [Preprocess; 4] = Preprocess::ALL;

/// `Xe` explicitly (column-major), from the raw data and the problem's means and scales.
fn explicit_xe(x: &Dense<f64>, pb: &Problem) -> Vec<f64> {
    let n = pb.n();
    let mut xe = vec![0.0; n * pb.p()];
    for j in 0..pb.p() {
        if pb.col_sq_norms()[j] == 0.0 {
            continue; // treated as identically zero by every backend
        }
        let (m, s) = (pb.x_mean()[j], pb.x_scale()[j]);
        for (e, v) in xe[j * n..(j + 1) * n].iter_mut().zip(x.col(j)) {
            *e = (v - m) / s;
        }
    }
    xe
}

/// The exact `sigma_max(Xe)^2`: the largest eigenvalue of the smaller Gram matrix
/// (`Xe^T Xe` or `Xe Xe^T`, same non-zero spectrum), by cyclic Jacobi.
pub fn exact_sigma_max_sq(x: &Dense<f64>, pb: &Problem) -> f64 {
    let (n, p) = (pb.n(), pb.p());
    let xe = explicit_xe(x, pb);
    let m = n.min(p);
    let mut g = vec![0.0; m * m];
    if p <= n {
        for a in 0..m {
            for b in 0..=a {
                g[a * m + b] = (0..n).map(|i| xe[a * n + i] * xe[b * n + i]).sum();
            }
        }
    } else {
        // Xe Xe^T as a sum of outer products of columns (contiguous reads).
        for col in xe.chunks_exact(n) {
            for a in 0..m {
                let ca = col[a];
                for (gab, cb) in g[a * m..a * m + a + 1].iter_mut().zip(col) {
                    *gab += ca * cb;
                }
            }
        }
    }
    for a in 0..m {
        for b in 0..a {
            g[b * m + a] = g[a * m + b];
        }
    }
    jacobi_max_eigenvalue(&mut g, m)
}

/// Largest eigenvalue of the symmetric `m x m` matrix `a` (destroyed), by cyclic Jacobi
/// rotations until the off-diagonal mass is negligible.
pub fn jacobi_max_eigenvalue(a: &mut [f64], m: usize) -> f64 {
    let fro: f64 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j] * a[i * m + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * fro {
            break;
        }
        for pi in 0..m {
            for q in pi + 1..m {
                let apq = a[pi * m + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let (app, aqq) = (a[pi * m + pi], a[q * m + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..m {
                    let (akp, akq) = (a[k * m + pi], a[k * m + q]);
                    a[k * m + pi] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let (apk, aqk) = (a[pi * m + k], a[q * m + k]);
                    a[pi * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..m)
        .map(|i| a[i * m + i])
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Sizes of the families: tiny, working-set-sized (few columns), square-ish, wide.
pub const SIZES: [(usize, usize); 10] = [
    (2, 1),
    (5, 3),
    (60, 13),
    (200, 4),
    (300, 40),
    (20, 50),
    (50, 50),
    (40, 300),
    (100, 1000),
    (120, 2500),
];

/// Worst ratios of `estimate / exact` over `cases` x `PREPS`, with the names where they occur.
#[derive(Debug)]
pub struct Worst {
    pub low: (f64, String),
    pub high: (f64, String),
    pub count: usize,
}

pub fn worst_ratio(
    mut estimate: impl FnMut(&Problem) -> f64,
    sizes: &[(usize, usize)],
    reps: u64,
) -> Worst {
    let mut worst = Worst {
        low: (f64::INFINITY, String::new()),
        high: (0.0, String::new()),
        count: 0,
    };
    for case in cases(sizes, reps) {
        let y = vec![0.0; lariat::design::Design::n_rows(&case.x)];
        for prep in PREPS {
            let pb = Problem::new(&case.x, &y, prep).unwrap();
            let exact = exact_sigma_max_sq(&case.x, &pb);
            let got = estimate(&pb);
            worst.count += 1;
            let ratio = if exact == 0.0 {
                // X is zero once centred: the only right answer is 0 (ratio 1 by convention).
                if got == 0.0 {
                    1.0
                } else {
                    f64::INFINITY
                }
            } else {
                got / exact
            };
            let name = format!("{} {prep:?}: {got} vs exact {exact}", case.name);
            // A NaN ratio must land in both (it fails both checks).
            if ratio.is_nan() || ratio < worst.low.0 {
                worst.low = (ratio, name.clone());
            }
            if ratio.is_nan() || ratio > worst.high.0 {
                worst.high = (ratio, name);
            }
        }
    }
    worst
}
