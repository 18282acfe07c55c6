//! The lesson of `lariat demo`: subgradient descent against the proximal solvers, and the
//! demo's figures against `fit` and `path` run on the same data and seed.

mod common;

use common::lariat;

use common::{random_problem, temp_dir};
use lariat::design::{Dense, Design};
use lariat::params::{Algorithm, SolverParams};
use lariat::penalty::ElasticNet;
use lariat::problem::{Preprocess, Problem};
use lariat::solver::{Backend, CpuBackend};
use serde_json::Value;

fn solve(pb: &Problem, pen: &ElasticNet, alg: Algorithm, iters: usize) -> lariat::solver::Fit {
    let params = SolverParams {
        tol: 1e-14,
        max_iter: Some(iters),
        algorithm: alg,
        ..SolverParams::default()
    }
    .check()
    .unwrap();
    CpuBackend::new(alg).solve(pb, pen, None, &params).unwrap()
}

#[test]
fn subgradient_descends_but_makes_no_exact_zeros() {
    let (x, y) = random_problem(60, 150, 12);
    let pb = Problem::new(&x, &y, Preprocess::default()).unwrap();
    let pen = ElasticNet {
        lambda: 0.3 * pb.lambda_max(1.0),
        l1_ratio: 1.0,
    };
    let start = pb.objective(&vec![0.0; 150], &pen);
    let sub = solve(&pb, &pen, Algorithm::Subgradient, 400);
    let cd = solve(&pb, &pen, Algorithm::Cd, 10_000);
    assert!(sub.objective < start, "{} vs {start}", sub.objective);
    // Its objective is judged by the same f64 gap, and it does not claim convergence.
    assert!(sub.gap > sub.gap_tol && sub.status != lariat::solver::Status::Converged);
    assert!(sub.objective > cd.objective);
    let zeros = |w: &[f64]| w.iter().filter(|&&v| v == 0.0).count();
    // The proximal solvers zero most coefficients; subgradient descent none of them (a zero
    // coefficient of the start is moved by the gradient at once).
    assert!(zeros(&cd.w) > 100, "cd zeros {}", zeros(&cd.w));
    assert_eq!(zeros(&sub.w), 0);
    let fista = solve(&pb, &pen, Algorithm::Fista, 400);
    assert!(zeros(&fista.w) > 100);
    // A longer run gets closer (diminishing steps: slowly).
    let longer = solve(&pb, &pen, Algorithm::Subgradient, 1600);
    assert!(longer.objective < sub.objective);
}

fn write_csv(path: &std::path::Path, x: &Dense<f64>, y: &[f64], rows: &[usize]) {
    let mut text = (0..x.n_cols())
        .map(|j| format!("f{j}"))
        .collect::<Vec<_>>()
        .join(",")
        + ",y\n";
    for &i in rows {
        let mut row: Vec<String> = (0..x.n_cols())
            .map(|j| format!("{:e}", x.col(j)[i]))
            .collect();
        row.push(format!("{:e}", y[i]));
        text.push_str(&(row.join(",") + "\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn the_demo_figures_are_those_of_fit_and_path() {
    let (x, y) = random_problem(80, 60, 4);
    let dir = temp_dir("lesson");
    let all: Vec<usize> = (0..80).collect();
    let data = dir.join("data.csv");
    write_csv(&data, &x, &y, &all);
    let (out, plot) = (dir.join("demo.json"), dir.join("demo.svg"));
    let d = data.to_str().unwrap();
    let r = lariat(&[
        "demo",
        "--x",
        d,
        "--target",
        "y",
        "--seed",
        "3",
        "--budget",
        "20",
        "--n-lambdas",
        "12",
        "--folds",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    for section in [
        "== the problem",
        "== 20 iterations each",
        "== L1 against L2",
        "== over-fitting",
        "== devices",
    ] {
        assert!(stdout.contains(section), "{section}: {stdout}");
    }
    let demo = json(&out);
    // The demo's training rows: the library's hold-out of 25% with the seed.
    let train = lariat::evaluate::holdout_rows(80, 0.25, 3).unwrap();
    let rows: Vec<usize> = (0..80).filter(|&i| train[i]).collect();
    let train_csv = dir.join("train.csv");
    write_csv(&train_csv, &x, &y, &rows);
    let t = train_csv.to_str().unwrap();
    // The race: fit with each solver stopped at the budget.
    for (k, solver) in ["subgradient", "fista", "cd"].iter().enumerate() {
        let f = dir.join(format!("{solver}.json"));
        let r = lariat(&[
            "fit",
            "--x",
            t,
            "--target",
            "y",
            "--lambda-ratio",
            "0.2",
            "--solver",
            solver,
            "--max-iter",
            "20",
            "--quiet",
            "--out",
            f.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let m = json(&f);
        let entry = &demo["race"][k];
        assert_eq!(entry["solver"], *solver);
        assert_eq!(entry["objective"], m["objective"], "{solver}");
        assert_eq!(entry["duality_gap"], m["duality_gap"], "{solver}");
        let nnz = m["coef"]["indices"].as_array().unwrap().len() as u64;
        assert_eq!(entry["exact_zeros"].as_u64().unwrap(), 60 - nnz, "{solver}");
    }
    assert_eq!(
        demo["race"][0]["exact_zeros"], 0,
        "subgradient makes no exact zeros"
    );
    // The path: `path --holdout` with the same seed fits the same rows and grid.
    let p = dir.join("path.json");
    let r = lariat(&[
        "path",
        "--x",
        d,
        "--target",
        "y",
        "--holdout",
        "0.25",
        "--seed",
        "3",
        "--n-lambdas",
        "12",
        "--quiet",
        "--out",
        p.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let path = json(&p);
    for key in ["train", "test"] {
        let (a, b) = (
            demo[key]["mse"].as_array().unwrap(),
            path[key]["mse"].as_array().unwrap(),
        );
        assert_eq!(a.len(), 12);
        for (u, v) in a.iter().zip(b) {
            assert!(
                close(u.as_f64().unwrap(), v.as_f64().unwrap(), 1e-6),
                "{key}: {u} vs {v}"
            );
        }
    }
    for (u, v) in demo["lambdas"]
        .as_array()
        .unwrap()
        .iter()
        .zip(path["lambdas"].as_array().unwrap())
    {
        assert!(close(u.as_f64().unwrap(), v.as_f64().unwrap(), 1e-12));
    }
    // The two pictures: three race curves, training and test curves (each with its legend).
    let svg = std::fs::read_to_string(&plot).unwrap();
    let count = |rgb: (u8, u8, u8)| {
        let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", rgb.0, rgb.1, rgb.2);
        svg.lines()
            .filter(|l| l.contains("<polyline") && l.contains(&stroke))
            .count()
    };
    for rgb in lariat::plot::RACE_RGB {
        assert_eq!(count(rgb), 2, "{rgb:?}");
    }
    assert_eq!(count(lariat::plot::TRAIN_RGB), 2);
    assert_eq!(count(lariat::plot::TEST_RGB), 2);
}
