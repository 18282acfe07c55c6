//! `lariat path` with test data (`--test-x/--test-y`) or a hold-out (`--holdout`): the training
//! and test errors per lambda, checked against errors computed here from the models' own
//! coefficients; the path on the training rows equals the path on a copy of them.

mod common;

use common::lariat;

use std::path::Path;

use common::random_problem;
use lariat::design::{Dense, Design};
use serde_json::Value;

/// Writes rows `rows` of (x, y) as a CSV with a header "y,f0,f1,...".
fn write_csv(path: &Path, x: &Dense<f64>, y: &[f64], rows: &[usize], names: &[String]) {
    let mut text = String::from("y");
    names.iter().for_each(|n| text.push_str(&format!(",{n}")));
    text.push('\n');
    for &i in rows {
        text.push_str(&format!("{:e}", y[i]));
        (0..x.n_cols()).for_each(|j| text.push_str(&format!(",{:e}", x.col(j)[i])));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Mean squared error of the model in `fit` (JSON) on rows `rows`.
fn mse(fit: &Value, x: &Dense<f64>, y: &[f64], rows: &[usize]) -> f64 {
    let b0 = fit["intercept"].as_f64().unwrap();
    let idx = fit["coef"]["indices"].as_array().unwrap();
    let val = fit["coef"]["values"].as_array().unwrap();
    let sse: f64 = rows
        .iter()
        .map(|&i| {
            let yhat = b0
                + idx
                    .iter()
                    .zip(val)
                    .map(|(j, v)| x.col(j.as_u64().unwrap() as usize)[i] * v.as_f64().unwrap())
                    .sum::<f64>();
            (y[i] - yhat).powi(2)
        })
        .sum();
    sse / rows.len() as f64
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn test_files_give_the_test_error_of_each_model() {
    let (x, y) = random_problem(70, 40, 9);
    let names: Vec<String> = (0..40).map(|j| format!("g{j}")).collect();
    let dir = common::temp_dir("test-x");
    let (train_rows, test_rows): (Vec<usize>, Vec<usize>) = (0..70).partition(|i| i % 5 != 0);
    let (train, test_x, test_y) = (
        dir.join("train.csv"),
        dir.join("test.csv"),
        dir.join("test_y.csv"),
    );
    write_csv(&train, &x, &y, &train_rows, &names);
    write_csv(&test_x, &x, &y, &test_rows, &names);
    let ys: Vec<String> = test_rows.iter().map(|&i| format!("{:e}", y[i])).collect();
    std::fs::write(&test_y, format!("y\n{}\n", ys.join("\n"))).unwrap();
    // The test file's y column is dropped by name, as a target, through --target.
    let out = dir.join("path.json");
    let plot = dir.join("err.svg");
    let run = || {
        lariat(&[
            "path",
            "--x",
            train.to_str().unwrap(),
            "--target",
            "y",
            "--n-lambdas",
            "15",
            "--test-x",
            test_x.to_str().unwrap(),
            "--test-y",
            test_y.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--error-plot",
            plot.to_str().unwrap(),
        ])
    };
    let r = run();
    let stderr = String::from_utf8_lossy(&r.stderr);
    // The test CSV carries a y column of its own, a column the training data lack: an
    // error naming the file and the flag to drop. Without it the run goes through, whatever
    // the order of the test file's columns (matched by name).
    assert_eq!(r.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("test.csv: the test data have 1 column(s) that the training data lack: 'y'; its column 'y' is the target: drop --test-y"),
        "{stderr}"
    );
    let write_test_x = |order: &[usize]| {
        let header: Vec<&str> = order.iter().map(|&j| names[j].as_str()).collect();
        let mut text = header.join(",") + "\n";
        for &i in &test_rows {
            let row: Vec<String> = order
                .iter()
                .map(|&j| format!("{:e}", x.col(j)[i]))
                .collect();
            text.push_str(&(row.join(",") + "\n"));
        }
        std::fs::write(&test_x, text).unwrap();
    };
    let in_order: Vec<usize> = (0..40).collect();
    // Even columns first, then the odd ones, backwards.
    let shuffled: Vec<usize> = (0..40).step_by(2).chain((1..40).step_by(2).rev()).collect();
    for (order, note) in [(&in_order, false), (&shuffled, true)] {
        write_test_x(order);
        let r = run();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{stderr}");
        assert_eq!(
            stderr.contains("matched to the training data's by name"),
            note,
            "{stderr}"
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let fits = v["fits"].as_array().unwrap();
        let (train_mse, test_mse) = (floats(&v["train"]["mse"]), floats(&v["test"]["mse"]));
        assert_eq!(v["test"]["n"], 14);
        for (k, fit) in fits.iter().enumerate() {
            let want_train = mse(fit, &x, &y, &train_rows);
            let want_test = mse(fit, &x, &y, &test_rows);
            assert!(
                (train_mse[k] - want_train).abs() < 1e-9 * want_train.max(1.0),
                "train {k}"
            );
            assert!(
                (test_mse[k] - want_test).abs() < 1e-9 * want_test.max(1.0),
                "test {k}"
            );
        }
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let train_mse = floats(&v["train"]["mse"]);
    // The training error falls along the path; regularisation's point is the test error.
    assert!(train_mse.last().unwrap() < &train_mse[0]);
    let svg = std::fs::read_to_string(&plot).unwrap();
    for (r, g, b) in [lariat::plot::TRAIN_RGB, lariat::plot::TEST_RGB] {
        let stroke = format!("stroke=\"#{r:02X}{g:02X}{b:02X}\"");
        let curves = svg
            .lines()
            .filter(|l| l.contains("<polyline") && l.contains(&stroke))
            .count();
        assert_eq!(curves, 2, "{stroke}: the curve and its legend swatch");
    }
}

/// Without --test-y the test file holds its own target as the training file does: in the
/// column --target names, or in its LIBSVM labels, where a test file may also lack the
/// training data's trailing all-zero features (its width is implied by its largest index).
#[test]
fn test_files_may_carry_their_own_target() {
    let (x, y) = random_problem(60, 12, 21);
    let (n, p) = (60, 12);
    // The last feature is zero on the test rows, so a LIBSVM test file omits it.
    let mut data: Vec<f64> = (0..p).flat_map(|j| x.col(j).to_vec()).collect();
    let (train_rows, test_rows): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 4 != 0);
    test_rows.iter().for_each(|&i| data[(p - 1) * n + i] = 0.0);
    let x = Dense::from_col_major(n, p, data);
    let names: Vec<String> = (0..p).map(|j| format!("g{j}")).collect();
    let dir = common::temp_dir("test-target");
    let (train, test_csv, test_svm) = (
        dir.join("train.csv"),
        dir.join("test.csv"),
        dir.join("test.svm"),
    );
    write_csv(&train, &x, &y, &train_rows, &names);
    write_csv(&test_csv, &x, &y, &test_rows, &names);
    let mut svm = String::new();
    for &i in &test_rows {
        svm.push_str(&format!("{:e}", y[i]));
        (0..p - 1).for_each(|j| svm.push_str(&format!(" {}:{:e}", j + 1, x.col(j)[i])));
        svm.push('\n');
    }
    std::fs::write(&test_svm, svm).unwrap();
    for test in [&test_csv, &test_svm] {
        let out = dir.join("path.json");
        let r = lariat(&[
            "path",
            "--x",
            train.to_str().unwrap(),
            "--target",
            "y",
            "--n-lambdas",
            "8",
            "--test-x",
            test.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let test_mse = floats(&v["test"]["mse"]);
        assert_eq!(v["test"]["n"], test_rows.len());
        for (k, fit) in v["fits"].as_array().unwrap().iter().enumerate() {
            let want = mse(fit, &x, &y, &test_rows);
            assert!(
                (test_mse[k] - want).abs() < 1e-9 * want.max(1.0),
                "{test:?} {k}"
            );
        }
    }
    // Test data with a target and --test-y as well: refused, naming the flag to drop.
    let refused = |test_x: &Path, test_y: &Path, needle: &str| {
        let r = lariat(&[
            "path",
            "--x",
            train.to_str().unwrap(),
            "--target",
            "y",
            "--test-x",
            test_x.to_str().unwrap(),
            "--test-y",
            test_y.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    };
    refused(
        &test_svm,
        &test_csv,
        "already carries the target; drop --test-y",
    );
    let ty = dir.join("ty.csv");
    let ys: String = test_rows.iter().map(|&i| format!("{:e}\n", y[i])).collect();
    std::fs::write(&ty, format!("y\n{ys}")).unwrap();
    refused(
        &test_csv,
        &ty,
        "its column 'y' is the target: drop --test-y",
    );
    // --error-plot without test data is a usage error, refused before X is read.
    let r = lariat(&[
        "path",
        "--x",
        "absent.csv",
        "--target",
        "y",
        "--error-plot",
        "e.svg",
    ]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--holdout"), "{stderr}");
    assert!(!stderr.contains("absent.csv"), "{stderr}");
}

#[test]
fn a_holdout_fits_on_the_other_rows() {
    let (x, y) = random_problem(60, 30, 4);
    let names: Vec<String> = (0..30).map(|j| format!("g{j}")).collect();
    let dir = common::temp_dir("holdout");
    let all: Vec<usize> = (0..60).collect();
    let data = dir.join("data.csv");
    write_csv(&data, &x, &y, &all, &names);
    let out = dir.join("path.json");
    let r = lariat(&[
        "path",
        "--x",
        data.to_str().unwrap(),
        "--target",
        "y",
        "--n-lambdas",
        "10",
        "--holdout",
        "0.25",
        "--seed",
        "7",
        "--tol",
        "1e-10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["train"]["n"], 45);
    assert_eq!(v["test"]["n"], 15);
    assert_eq!(v["holdout"]["seed"], 7);
    let fits = v["fits"].as_array().unwrap();
    assert!(fits.iter().all(|f| f["n_samples"] == 45));
    // The held-out rows are the library's draw; the path equals a path fitted on a copy of
    // the other rows, and the two errors add up to the error on all rows.
    let train = lariat::evaluate::holdout_rows(60, 0.25, 7).unwrap();
    let (tr, te): (Vec<usize>, Vec<usize>) = (0..60).partition(|&i| train[i]);
    let copy = dir.join("train.csv");
    write_csv(&copy, &x, &y, &tr, &names);
    let lambdas = dir.join("lambdas.txt");
    let ls: Vec<String> = floats(&v["lambdas"])
        .iter()
        .map(|l| format!("{l:e}"))
        .collect();
    std::fs::write(&lambdas, ls.join("\n")).unwrap();
    let out2 = dir.join("copy.json");
    let r = lariat(&[
        "path",
        "--x",
        copy.to_str().unwrap(),
        "--target",
        "y",
        "--lambdas",
        lambdas.to_str().unwrap(),
        "--tol",
        "1e-10",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let w: Value = serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap();
    for (k, (a, b)) in fits.iter().zip(w["fits"].as_array().unwrap()).enumerate() {
        let (oa, ob) = (
            a["objective"].as_f64().unwrap(),
            b["objective"].as_f64().unwrap(),
        );
        assert!(
            (oa - ob).abs() < 1e-9 * ob.abs().max(1e-12),
            "lambda {k}: {oa} vs {ob}"
        );
        let t = floats(&v["test"]["mse"])[k];
        assert!((t - mse(a, &x, &y, &te)).abs() < 1e-9 * t.max(1.0));
    }
}

/// Test data whose predictions overflow f64 is an error naming the test file and the row,
/// and no JSON is written: the test error is never `inf` or a silent `null`.
#[test]
fn test_data_beyond_f64_is_refused() {
    let dir = common::temp_dir("holdout-overflow");
    let (x, y) = random_problem(30, 4, 8);
    let names: Vec<String> = (0..4).map(|j| format!("f{j}")).collect();
    let rows: Vec<usize> = (0..30).collect();
    write_csv(&dir.join("train.csv"), &x, &y, &rows, &names);
    std::fs::write(
        dir.join("test.csv"),
        "f0,f1,f2,f3\n1,2,3,4\n1e308,-1e308,1e308,-1e308\n",
    )
    .unwrap();
    std::fs::write(dir.join("test_y.csv"), "y\n1\n0\n").unwrap();
    let out = dir.join("path.json");
    let o = lariat(&[
        "path",
        "--x",
        dir.join("train.csv").to_str().unwrap(),
        "--target",
        "y",
        "--test-x",
        dir.join("test.csv").to_str().unwrap(),
        "--test-y",
        dir.join("test_y.csv").to_str().unwrap(),
        "--n-lambdas",
        "5",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // Either the prediction itself or its squared error leaves f64 (which depends on the
    // coefficients' signs); both are refused by name.
    assert!(
        err.contains("test.csv") && err.contains("overflows f64"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
}
