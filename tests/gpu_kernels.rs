//! Each WGSL kernel against its f64 CPU twin, on seeded random inputs, at sizes that are not
//! multiples of the workgroup size (n = 1, p = 1, p = 65537 included), with every output
//! buffer poisoned with NaN before the run so an unwritten element fails.
#![cfg(feature = "gpu")]
#![allow(clippy::needless_range_loop)]

mod common;

use common::{gpu_or_skip, random_problem};
use lariat::design::Dense;
use lariat::penalty::soft_threshold;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::gpu::resident::{run_and_read, Resident, Vector};
use lariat::solver::gpu::{
    finite_partials, non_finite_count, read_active, sum_partials, GpuBackend, GpuOptions,
};
use lariat::synth::Rng;

const SIZES: [(usize, usize); 5] = [(1, 1), (7, 1), (1, 9), (37, 131), (3, 65_537)];

fn nan(len: usize) -> Vec<f32> {
    vec![f32::NAN; len]
}

/// A problem with intercept and scaling on, so centring and scales are exercised.
fn problem_data(n: usize, p: usize, seed: u64) -> (Dense<f64>, Vec<f64>) {
    random_problem(n, p, seed)
}

const PREP: Preprocess = Preprocess {
    fit_intercept: true,
    standardize: true,
};

fn sparse_vector(p: usize, rng: &mut Rng) -> Vec<f64> {
    (0..p)
        .map(|j| {
            if j == 0 || rng.uniform() < 0.3 {
                rng.normal()
            } else {
                0.0
            }
        })
        .collect()
}

fn close(got: f32, want: f64, scale: f64) -> bool {
    got.is_finite() && (got as f64 - want).abs() <= 2e-5 * scale.max(want.abs()).max(1e-6)
}

fn with_resident(pb: &Problem, opts: GpuOptions, f: impl FnOnce(&GpuBackend, &Resident)) {
    let Some(mut gpu) = gpu_or_skip(opts) else {
        return;
    };
    gpu.upload(pb).unwrap();
    let res = gpu.resident().unwrap();
    f(&gpu, res);
}

#[test]
fn compaction_lists_the_nonzeros_in_order() {
    for (case, (n, p)) in SIZES.into_iter().enumerate() {
        let (x, y) = problem_data(n.max(2), p, case as u64);
        let pb = Problem::new(&x, &y, PREP).unwrap();
        let mut rng = Rng::new(40 + case as u64);
        let w = sparse_vector(p, &mut rng);
        with_resident(&pb, GpuOptions::default(), |gpu, res| {
            let (ctx, k) = (gpu.context(), gpu.kernels());
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            res.write_f32(ctx, &res.w, &w32);
            res.write_f32(ctx, &res.act_val, &nan(p));
            let act = read_active(ctx, k, res, Vector::W).unwrap();
            let want: Vec<u32> = (0..p as u32)
                .filter(|&j| pb.col_sq_norms()[j as usize] != 0.0 && w[j as usize] != 0.0)
                .collect();
            assert_eq!(act, want, "{n}x{p}");
            let vals = run_and_read(ctx, "act_val", |_| {}, &res.act_val).unwrap();
            for (k, &j) in act.iter().enumerate() {
                let want = w[j as usize] / pb.x_scale()[j as usize];
                assert!(
                    close(vals[k], want, 1.0),
                    "{n}x{p} act_val[{k}] {} vs {want}",
                    vals[k]
                );
            }
            let meta = run_and_read(ctx, "meta", |_| {}, &res.meta).unwrap();
            let offset: f64 = act
                .iter()
                .map(|&j| pb.x_mean()[j as usize] * w[j as usize] / pb.x_scale()[j as usize])
                .sum();
            let scale: f64 = act
                .iter()
                .map(|&j| {
                    (pb.x_mean()[j as usize] * w[j as usize] / pb.x_scale()[j as usize]).abs()
                })
                .sum();
            assert!(
                close(meta[1], offset, scale),
                "{n}x{p}: offset {} vs {offset}",
                meta[1]
            );
        });
    }
}

#[test]
fn residual_matches_the_cpu() {
    for (case, (n, p)) in SIZES.into_iter().enumerate() {
        let (x, y) = problem_data(n, p, 100 + case as u64);
        let pb = Problem::new(&x, &y, PREP).unwrap();
        let mut rng = Rng::new(140 + case as u64);
        let w = sparse_vector(p, &mut rng);
        let w = w.iter().map(|&v| v as f32 as f64).collect::<Vec<f64>>();
        let want = pb.residual(&w);
        // f32 rounding grows with the sum of |terms| the kernel adds: |y_i| + sum_j |x_ij w_j / s_j|.
        let abs_terms: Vec<f64> = (0..n)
            .map(|i| {
                let row: f64 = (0..p)
                    .map(|j| {
                        (x.col(j)[i] * w[j] / pb.x_scale()[j]).abs()
                            + (pb.x_mean()[j] * w[j] / pb.x_scale()[j]).abs()
                    })
                    .sum();
                row + pb.yc()[i].abs()
            })
            .collect();
        for panel_cols in [None, Some(3)] {
            let opts = GpuOptions {
                max_panel_cols: panel_cols,
                ..GpuOptions::default()
            };
            with_resident(&pb, opts, |gpu, res| {
                let (ctx, k) = (gpu.context(), gpu.kernels());
                // A dense pass first: its chunk partials stay behind, and the sparse pass
                // below must read only the chunks its own non-zeros fill.
                res.write_f32(ctx, &res.w, &vec![1.0; p]);
                run_and_read(
                    ctx,
                    "dense residual",
                    |pass| {
                        res.encode_compact(k, pass, Vector::W);
                        res.encode_residual(k, pass, false);
                    },
                    &res.r,
                )
                .unwrap();
                let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                res.write_f32(ctx, &res.w, &w32);
                res.write_f32(ctx, &res.r, &nan(n));
                let r = run_and_read(
                    ctx,
                    "residual",
                    |pass| {
                        res.encode_compact(k, pass, Vector::W);
                        res.encode_residual(k, pass, false);
                    },
                    &res.r,
                )
                .unwrap();
                for i in 0..n {
                    assert!(
                        close(r[i], want[i], abs_terms[i]),
                        "{n}x{p} panels {panel_cols:?}: r[{i}] {} vs {}",
                        r[i],
                        want[i]
                    );
                }
            });
        }
    }
}

#[test]
fn gradient_matches_the_cpu() {
    for (case, (n, p)) in SIZES.into_iter().enumerate() {
        let (x, y) = problem_data(n, p, 200 + case as u64);
        let pb = Problem::new(&x, &y, PREP).unwrap();
        let mut rng = Rng::new(240 + case as u64);
        let r: Vec<f64> = (0..n).map(|_| rng.normal() as f32 as f64).collect();
        let mut want = vec![0.0; p];
        pb.rmatvec(&r, &mut want);
        for panel_cols in [None, Some(5)] {
            let opts = GpuOptions {
                max_panel_cols: panel_cols,
                ..GpuOptions::default()
            };
            with_resident(&pb, opts, |gpu, res| {
                let (ctx, k) = (gpu.context(), gpu.kernels());
                let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
                res.write_f32(ctx, &res.r, &r32);
                res.write_f32(ctx, &res.g, &nan(p));
                let g = run_and_read(ctx, "gradient", |pass| res.encode_gradient(k, pass), &res.g)
                    .unwrap();
                // Scale of the sum: sum_i |xe_ij r_i|.
                let rabs: f64 = r.iter().map(|v| v.abs()).sum::<f64>();
                for j in 0..p {
                    let s = rabs * 3.0;
                    assert!(
                        close(g[j], want[j], s),
                        "{n}x{p} panels {panel_cols:?}: g[{j}] {} vs {}",
                        g[j],
                        want[j]
                    );
                }
            });
        }
    }
}

#[test]
fn fista_step_matches_the_cpu_formula() {
    for (case, (n, p)) in SIZES.into_iter().enumerate() {
        let (x, y) = problem_data(n, p, 300 + case as u64);
        let pb = Problem::new(&x, &y, PREP).unwrap();
        let mut rng = Rng::new(340 + case as u64);
        let z: Vec<f32> = sparse_vector(p, &mut rng)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let w: Vec<f32> = sparse_vector(p, &mut rng)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let g: Vec<f32> = (0..p).map(|_| (rng.normal() * n as f64) as f32).collect();
        // Jacobi factors 1 / h_j over four orders of magnitude, as unstandardized columns give.
        let pre: Vec<f32> = (0..p)
            .map(|_| 10f64.powf(2.0 * rng.normal().clamp(-1.0, 1.0)) as f32)
            .collect();
        let (step, l1, l2, t) = (0.3f64, 0.2f64, 0.1f64, 2.5f64);
        with_resident(&pb, GpuOptions::default(), |gpu, res| {
            let (ctx, k) = (gpu.context(), gpu.kernels());
            res.write_params(ctx, step, l1, l2);
            res.write_f32(ctx, &res.z, &z);
            res.write_f32(ctx, &res.w, &w);
            res.write_f32(ctx, &res.g, &g);
            res.write_f32(ctx, &res.w_new, &nan(p));
            res.write_f32(ctx, &res.state, &[t as f32, f32::NAN]);
            res.write_f32(ctx, &res.pre, &pre);
            // prox + state + momentum, without recomputing g: run the three fista entry points.
            let out_w = run_and_read(
                ctx,
                "fista",
                |pass| res.encode_fista_update(k, pass),
                &res.w,
            )
            .unwrap();
            let out_z = run_and_read(ctx, "z", |_| {}, &res.z).unwrap();
            let state = run_and_read(ctx, "state", |_| {}, &res.state).unwrap();
            let n_f = n as f64;
            let w_new: Vec<f64> = (0..p)
                .map(|j| {
                    let (zj, sj) = (z[j] as f64, step * pre[j] as f64);
                    soft_threshold(zj - sj * (l2 * zj - g[j] as f64 / n_f), sj * l1)
                })
                .collect();
            // The restart test in the rescaled variables sqrt(h_j) w_j.
            let uphill: f64 = (0..p)
                .map(|j| (z[j] as f64 - w_new[j]) * (w_new[j] - w[j] as f64) / pre[j] as f64)
                .sum();
            let (t_want, beta) = if uphill > 0.0 {
                (1.0, 0.0)
            } else {
                let tn = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
                (tn, (t - 1.0) / tn)
            };
            assert!(
                close(state[0], t_want, 1.0) && close(state[1], beta, 1.0),
                "{n}x{p}: state {state:?}"
            );
            for j in 0..p {
                assert!(
                    close(out_w[j], w_new[j], 1.0),
                    "{n}x{p}: w[{j}] {} vs {}",
                    out_w[j],
                    w_new[j]
                );
                let zw = w_new[j] + beta * (w_new[j] - w[j] as f64);
                assert!(
                    close(out_z[j], zw, 1.0),
                    "{n}x{p}: z[{j}] {} vs {zw}",
                    out_z[j]
                );
            }
        });
    }
}

#[test]
fn gap_reductions_match_the_cpu() {
    for (case, (n, p)) in SIZES.into_iter().enumerate() {
        let (x, y) = problem_data(n, p, 400 + case as u64);
        let pb = Problem::new(&x, &y, PREP).unwrap();
        let mut rng = Rng::new(440 + case as u64);
        let w: Vec<f32> = sparse_vector(p, &mut rng)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let g: Vec<f32> = (0..p).map(|_| rng.normal() as f32).collect();
        let r: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let l2 = 0.25;
        with_resident(&pb, GpuOptions::default(), |gpu, res| {
            let (ctx, k) = (gpu.context(), gpu.kernels());
            res.write_params(ctx, 0.1, 0.5, l2);
            res.write_f32(ctx, &res.w, &w);
            res.write_f32(ctx, &res.g, &g);
            res.write_f32(ctx, &res.r, &r);
            res.write_f32(ctx, &res.red, &nan(8 * res.n_red));
            let red = run_and_read(
                ctx,
                "reduce",
                |pass| res.encode_reductions(k, pass),
                &res.red,
            )
            .unwrap();
            assert!(
                red.iter().all(|v| v.is_finite()),
                "{n}x{p}: unwritten partials"
            );
            assert_eq!(non_finite_count(&red, res.n_red), 0.0, "{n}x{p}");
            let s = sum_partials(&red, res.n_red);
            let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let (w, g, r) = (f(&w), f(&g), f(&r));
            let want_l1: f64 = w.iter().map(|v| v.abs()).sum();
            let want_sq: f64 = w.iter().map(|v| v * v).sum();
            let want_inf = g
                .iter()
                .zip(&w)
                .map(|(gj, wj)| (gj - n as f64 * l2 * wj).abs())
                .fold(0.0, f64::max);
            let want_gsq: f64 = g.iter().map(|v| v * v).sum();
            let want_rsq: f64 = r.iter().map(|v| v * v).sum();
            let want_ry: f64 = r
                .iter()
                .zip(pb.yc())
                .map(|(a, b)| a * (*b as f32 as f64))
                .sum();
            let ry_scale: f64 = r.iter().zip(pb.yc()).map(|(a, b)| (a * b).abs()).sum();
            for (got, want, scale, what) in [
                (s.w_l1, want_l1, want_l1, "l1"),
                (s.w_sq, want_sq, want_sq, "sq"),
                (s.g_inf, want_inf, want_inf, "inf"),
                (s.g_sq, want_gsq, want_gsq, "gsq"),
                (s.r_sq, want_rsq, want_rsq, "rsq"),
                (s.r_yc, want_ry, ry_scale, "ryc"),
            ] {
                assert!(
                    close(got as f32, want, scale),
                    "{n}x{p} {what}: {got} vs {want}"
                );
            }
        });
    }
}

#[test]
fn lanczos_step_size_matches_the_cpu() {
    for (n, p) in [(2, 1), (20, 50), (60, 13)] {
        let (x, y) = problem_data(n, p, 500 + p as u64);
        for prep in [PREP, Preprocess::default()] {
            let pb = Problem::new(&x, &y, prep).unwrap();
            let want = lariat::solver::fista::sigma_max_sq(&pb);
            let Some(mut gpu) = gpu_or_skip(GpuOptions::default()) else {
                return;
            };
            let got = gpu.sigma_max_sq(&pb).unwrap();
            assert!(
                (got - want).abs() <= 3e-4 * want,
                "{n}x{p}: {got} vs {want}"
            );
        }
    }
}

/// scripts/test.sh runs these binaries a second time under LARIAT_WG=256 LARIAT_TPC=32: the
/// backend must take that configuration (else that leg would repeat lavapipe's silently).
#[test]
fn kernel_configuration_follows_the_environment() {
    let Some(gpu) = gpu_or_skip(GpuOptions::default()) else {
        return;
    };
    let cfg = gpu.kernels().config;
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    if let Some(wg) = env("LARIAT_WG") {
        assert_eq!(cfg.wg, wg);
    }
    if let Some(tpc) = env("LARIAT_TPC") {
        assert_eq!(cfg.tpc, tpc);
    }
    eprintln!("kernel configuration: WG {}, TPC {}", cfg.wg, cfg.tpc);
}

/// A NaN or infinity in w, g or r is counted by the reductions from its bits (a `max` drops
/// NaN on NVIDIA; WGSL compilers may assume no NaN), and the read-back is refused.
#[test]
fn non_finite_values_are_counted_and_refused() {
    let (n, p) = (37, 131);
    let (x, y) = problem_data(n, p, 450);
    let pb = Problem::new(&x, &y, PREP).unwrap();
    let mut rng = Rng::new(451);
    with_resident(&pb, GpuOptions::default(), |gpu, res| {
        let (ctx, k) = (gpu.context(), gpu.kernels());
        let base_g: Vec<f32> = (0..p).map(|_| rng.normal() as f32).collect();
        let base_r: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let w = vec![0.5f32; p];
        for (poison, want) in [
            (vec![], 0.0),
            (vec![('g', 7, f32::NAN)], 1.0),
            (
                vec![('g', 100, f32::INFINITY), ('w', 3, f32::NEG_INFINITY)],
                2.0,
            ),
            (
                vec![
                    ('r', 36, f32::NAN),
                    ('g', 0, f32::NAN),
                    ('w', 130, f32::NAN),
                ],
                3.0,
            ),
        ] {
            let (mut g, mut r, mut w) = (base_g.clone(), base_r.clone(), w.clone());
            for &(which, at, v) in &poison {
                match which {
                    'g' => g[at] = v,
                    'r' => r[at] = v,
                    _ => w[at] = v,
                }
            }
            res.write_params(ctx, 0.1, 0.5, 0.25);
            res.write_f32(ctx, &res.w, &w);
            res.write_f32(ctx, &res.g, &g);
            res.write_f32(ctx, &res.r, &r);
            let red = run_and_read(
                ctx,
                "reduce",
                |pass| res.encode_reductions(k, pass),
                &res.red,
            )
            .unwrap();
            assert_eq!(non_finite_count(&red, res.n_red), want, "{poison:?}");
            assert_eq!(
                finite_partials(&red, res.n_red).is_err(),
                want > 0.0,
                "{poison:?}"
            );
        }
    });
}
