//! `lariat demo`: the lesson lariat is built on ([`lariat::lesson`]), told in sections on the
//! built-in problem or on the user's data. The numbers all come from the library.

use anyhow::Result;

use lariat::lesson::{lesson_on, Lesson, LessonConfig};
use lariat::outputs::Outputs;
use lariat::plot::{render_demo_plot, DemoPicture};
use lariat::synth::{generate, SyntheticSpec};

use super::{read_xy, DemoArgs, LambdaSpec};

/// `fit`'s flags that the lesson fixes (it races every solver on the Lasso, uncapped but for
/// the budget): given, they would be ignored, so they are refused.
fn refuse_fixed_flags(a: &DemoArgs) -> lariat::Result<()> {
    let given = [
        (
            "l1-ratio",
            a.model.l1_ratio != 1.0,
            a.model.l1_ratio.to_string(),
        ),
        (
            "max-iter",
            a.model.max_iter.is_some(),
            format!("{:?}", a.model.max_iter.unwrap_or(0)),
        ),
        (
            "solver",
            a.model.solver != lariat::params::Algorithm::Auto,
            format!("{:?}", a.model.solver).to_lowercase(),
        ),
    ];
    match given.into_iter().find(|(_, set, _)| *set) {
        Some((name, _, value)) => Err(lariat::Error::InvalidParam {
            name,
            value,
            expected: "not a demo flag: the lesson races every solver on the Lasso (its \
                       --budget caps them); use fit, path or cv for other settings"
                .into(),
        }),
        None => Ok(()),
    }
}

pub fn run_demo(a: DemoArgs) -> Result<()> {
    refuse_fixed_flags(&a)?;
    let mut outs = Outputs::plan(
        &[("--x", a.x.as_deref()), ("--y", a.y.as_deref())],
        &[("--out", a.out.as_deref()), ("--plot", a.plot.as_deref())],
    )?;
    let cfg = LessonConfig {
        fit: a.model.config(LambdaSpec::Ratio(a.lambda_ratio)),
        lambda_ratio: a.lambda_ratio,
        budget: a.budget,
        enet_l1_ratio: 0.5,
        n_lambdas: a.n_lambdas,
        folds: a.folds,
        seed: a.seed,
    };
    let (lesson, source) = match &a.x {
        Some(x) => {
            let (ds, y) = read_xy(
                x,
                a.y.as_deref(),
                &a.input.read_options(a.target.as_deref()),
                "--y",
            )?;
            let lesson = lesson_on(ds.x.as_ref(), &y, None, a.test_fraction, &cfg)?;
            (lesson, format!("{} from {}", ds.x.describe(), x.display()))
        }
        None => {
            if a.informative > a.p {
                return Err(lariat::Error::InvalidParam {
                    name: "informative",
                    value: a.informative.to_string(),
                    expected: format!("cannot exceed --p ({})", a.p),
                }
                .into());
            }
            let data = generate(&SyntheticSpec {
                n: a.n,
                p: a.p,
                n_informative: a.informative,
                rho: a.rho,
                snr: a.snr,
                seed: a.seed,
            })?;
            let lesson = lesson_on(&data.x, &data.y, Some(&data.support), a.test_fraction, &cfg)?;
            let what = format!(
                "built-in {} x {} Toeplitz design (rho {}), {} true features, SNR {}",
                a.n,
                a.p,
                a.rho,
                data.support.len(),
                a.snr
            );
            (lesson, what)
        }
    };
    let json = serde_json::to_string_pretty(&lesson).expect("the lesson always serialises");
    outs.stage("--out", json.as_bytes())?;
    if let Some(path) = &a.plot {
        let traces: Vec<(String, Vec<(usize, f64)>)> = lesson
            .race
            .iter()
            .map(|r| (r.solver.clone(), r.trace.clone()))
            .collect();
        let picture = DemoPicture {
            traces: &traces,
            best_objective: lesson.best_objective,
            lambdas: &lesson.lambdas,
            train: &lesson.train.mse,
            test: &lesson.test.mse,
            cv_lambda: lesson.cv_lambda_min,
        };
        outs.stage("--plot", &render_demo_plot(path, &picture)?)?;
    }
    let written = outs.publish()?;
    print_lesson(&lesson, &source, a.budget)?;
    super::print_written(&written)
}

fn print_lesson(l: &Lesson, source: &str, budget: usize) -> Result<()> {
    outln!("== the problem")?;
    outln!("{source}")?;
    outln!(
        "{} training rows, {} test rows, {} features; lambda = {:.4e} ({:.3} x lambda_max)",
        l.n_train,
        l.n_test,
        l.p,
        l.lambda,
        l.lambda / l.lambda_max
    )?;
    if let Some(s) = &l.support {
        let show: Vec<String> = s.iter().take(10).map(|j| j.to_string()).collect();
        outln!(
            "true support: {} features ({}{})",
            s.len(),
            show.join(", "),
            if s.len() > 10 { ", ..." } else { "" }
        )?;
    }
    outln!()?;
    outln!(
        "== {budget} iterations each: subgradient descent, proximal gradient, coordinate descent"
    )?;
    outln!(
        "minimising 1/(2n)||y - Xw||^2 + lambda ||w||_1; best objective known {:.10e}",
        l.best_objective
    )?;
    outln!(
        "{:>12}  {:>10}  {:>17}  {:>10}  {:>11}  {:>9}  {:>6}",
        "solver",
        "iterations",
        "objective",
        "gap",
        "exact zeros",
        "< 1e-8",
        "true"
    )?;
    for r in &l.race {
        outln!(
            "{:>12}  {:>10}  {:>17.10e}  {:>10.2e}  {:>11}  {:>9}  {:>6}{}",
            r.solver,
            r.iterations,
            r.objective,
            r.duality_gap,
            r.exact_zeros,
            r.tiny,
            r.true_found.map_or("-".into(), |t| t.to_string()),
            if r.converged { "  converged" } else { "" }
        )?;
    }
    outln!(
        "the subgradient step w -= eta (grad + lambda sgn(w)) only oscillates around zero: no \
         coefficient is ever exactly 0; the proximal step (soft-thresholding) and exact \
         coordinate minimisation set them to 0 and reach a small duality gap"
    )?;
    outln!()?;
    outln!("== L1 against L2 at the same lambda")?;
    outln!(
        "{:>22}  {:>9}  {:>12}  {:>12}",
        "penalty",
        "non-zeros",
        "train mse",
        "test mse"
    )?;
    for p in &l.penalties {
        outln!(
            "{:>22}  {:>9}  {:>12.5e}  {:>12.5e}",
            p.name,
            p.non_zeros,
            p.train_mse,
            p.test_mse
        )?;
    }
    outln!("only an L1 term makes coefficients exactly zero; Ridge shrinks all of them")?;
    outln!()?;
    outln!("== over-fitting: training and test error along the path")?;
    outln!(
        "{:>12}  {:>9}  {:>12}  {:>12}",
        "lambda",
        "non-zeros",
        "train mse",
        "test mse"
    )?;
    let k = l.lambdas.len();
    let mut shown: Vec<usize> = if k <= 10 {
        (0..k).collect()
    } else {
        (0..8).map(|i| i * (k - 1) / 7).collect()
    };
    shown.extend([l.best_test, l.cv_index_min]);
    shown.sort_unstable();
    shown.dedup();
    for &i in &shown {
        let mut mark = String::new();
        if i == l.best_test {
            mark.push_str("  <- lowest test error");
        }
        if i == l.cv_index_min {
            mark.push_str("  <- cross-validation's lambda_min");
        }
        outln!(
            "{:>12.4e}  {:>9}  {:>12.5e}  {:>12.5e}{mark}",
            l.lambdas[i],
            l.non_zeros[i],
            l.train.mse[i],
            l.test.mse[i]
        )?;
    }
    // Said only where the table shows it: the test error's minimum before the path's end.
    if l.best_test + 1 < k && l.test.mse[k - 1] > l.test.mse[l.best_test] {
        outln!(
            "below lambda {:.4e} the training error keeps falling ({:.3e} at the end) while the \
             test error rises ({:.3e} at the end): the model fits noise",
            l.lambdas[l.best_test],
            l.train.mse[k - 1],
            l.test.mse[k - 1]
        )?;
    } else {
        outln!(
            "the test error is lowest at the path's smallest lambda: this grid stops before the \
             model starts to fit noise (a longer grid, --n-lambdas, may show it)"
        )?;
    }
    outln!(
        "cross-validation on the training rows alone picks lambda {:.4e}: test error {:.5e} \
         (the best on the path: {:.5e})",
        l.cv_lambda_min,
        l.test.mse[l.cv_index_min],
        l.test.mse[l.best_test]
    )?;
    outln!()?;
    outln!("== devices")?;
    for d in &l.devices {
        outln!(
            "{:>40}: {:.3} s, objective {:.10e}, certified duality gap {:.2e}",
            d.device,
            d.seconds,
            d.objective,
            d.duality_gap
        )?;
    }
    if l.devices.len() == 1 {
        outln!("(no hardware GPU found; --device gpu uses any adapter, software ones included)")?;
    }
    Ok(())
}
