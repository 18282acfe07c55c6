//! Several responses from one `--y` with k columns: `fit`, `path` and `cv` give, per response
//! and in order, what a run on that response alone gives.

mod common;

use common::lariat;

use common::random_problem;
use serde_json::Value;

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn each_response_equals_its_own_run() {
    let (x, y) = random_problem(50, 25, 31);
    let y2: Vec<f64> = (0..50).map(|i| y[i] * 0.5 + (i % 7) as f64).collect();
    let dir = common::temp_dir("responses");
    let xs = dir.join("x.csv");
    let mut text = (0..25)
        .map(|j| format!("f{j}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for i in 0..50 {
        let row: Vec<String> = (0..25).map(|j| format!("{:e}", x.col(j)[i])).collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    std::fs::write(&xs, text).unwrap();
    let (both, first, second) = (dir.join("y.csv"), dir.join("y1.csv"), dir.join("y2.csv"));
    let mut t = String::from("height,weight\n");
    let (mut t1, mut t2) = (String::from("height\n"), String::from("weight\n"));
    for i in 0..50 {
        t.push_str(&format!("{:e},{:e}\n", y[i], y2[i]));
        t1.push_str(&format!("{:e}\n", y[i]));
        t2.push_str(&format!("{:e}\n", y2[i]));
    }
    std::fs::write(&both, t).unwrap();
    std::fs::write(&first, t1).unwrap();
    std::fs::write(&second, t2).unwrap();
    let x = xs.to_str().unwrap();
    let run = |y: &std::path::Path, cmd: &[&str], name: &str| {
        let out = dir.join(name);
        let mut args = vec![
            cmd[0],
            "--x",
            x,
            "--y",
            y.to_str().unwrap(),
            "--tol",
            "1e-10",
        ];
        args.extend(&cmd[1..]);
        args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
        let r = lariat(&args);
        assert!(
            r.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        json(&out)
    };
    for (cmd, key) in [
        (vec!["fit", "--lambda-ratio", "0.2"], "models"),
        (vec!["path", "--n-lambdas", "8"], "paths"),
        (vec!["cv", "--folds", "5", "--n-lambdas", "8"], "cvs"),
    ] {
        let many = run(&both, &cmd, "many.json");
        assert_eq!(many["responses"], serde_json::json!(["height", "weight"]));
        let all = many[key].as_array().unwrap();
        assert_eq!(all.len(), 2);
        for (k, single) in [first.as_path(), second.as_path()].iter().enumerate() {
            let alone = run(single, &cmd, "one.json");
            let (a, b) = match key {
                "models" => (all[k]["objective"].clone(), alone["objective"].clone()),
                "paths" => {
                    // Each path carries its training errors, as the path alone does.
                    assert_eq!(all[k]["train"]["n"], 50);
                    let (u, v) = (&all[k]["train"]["mse"], &alone["train"]["mse"]);
                    let (u, v) = (u.as_array().unwrap(), v.as_array().unwrap());
                    assert_eq!(u.len(), 8);
                    for (u, v) in u.iter().zip(v) {
                        let (u, v) = (u.as_f64().unwrap(), v.as_f64().unwrap());
                        assert!((u - v).abs() <= 1e-9 * v, "train mse {k}: {u} vs {v}");
                    }
                    (
                        all[k]["fits"][7]["objective"].clone(),
                        alone["fits"][7]["objective"].clone(),
                    )
                }
                _ => (all[k]["cvm"].clone(), alone["cvm"].clone()),
            };
            let close = |u: &Value, v: &Value| {
                let (u, v) = (u.as_f64().unwrap(), v.as_f64().unwrap());
                (u - v).abs() <= 1e-10 * v.abs().max(1e-12)
            };
            match (&a, &b) {
                (Value::Array(u), Value::Array(v)) => {
                    assert!(
                        u.iter().zip(v).all(|(u, v)| close(u, v)),
                        "{cmd:?} response {k}"
                    )
                }
                _ => assert!(close(&a, &b), "{cmd:?} response {k}: {a} vs {b}"),
            }
        }
    }
    // The outputs with no several-response form are refused, before any work.
    let plot = dir.join("p.svg");
    let r = lariat(&[
        "path",
        "--x",
        x,
        "--y",
        both.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--plot takes one response"));
    assert!(!plot.exists());
}

/// Issue 8, part 5: several `--target` columns of one CSV are the responses, in the order
/// given (here not the file's), on X of the other columns; each equals a run on a file that
/// holds X and that target alone (the one-target reader and solve).
#[test]
fn several_targets_in_one_csv_equal_their_own_runs() {
    let (x, y) = random_problem(40, 12, 7);
    let y2: Vec<f64> = (0..40).map(|i| y[i] * -0.3 + (i % 5) as f64).collect();
    let dir = common::temp_dir("targets");
    // `cols` are (name, values); X is f0 .. f11 wherever the targets sit.
    let write = |name: &str, cols: &[(String, Vec<f64>)]| {
        let path = dir.join(name);
        let header: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        let mut text = header.join(",") + "\n";
        for i in 0..40 {
            let row: Vec<String> = cols.iter().map(|(_, v)| format!("{:e}", v[i])).collect();
            text.push_str(&(row.join(",") + "\n"));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let features: Vec<(String, Vec<f64>)> = (0..12)
        .map(|j| (format!("f{j}"), x.col(j).to_vec()))
        .collect();
    let (height, weight) = (("height".to_string(), y), ("weight".to_string(), y2));
    // Both targets: f0, f1, height, f2 .. f11, weight.
    let mut cols = features.clone();
    cols.insert(2, height.clone());
    cols.push(weight.clone());
    let data = write("data.csv", &cols);
    // One target each, first (a file layout of its own).
    let alone_file = |t: &(String, Vec<f64>)| {
        let mut cols = vec![t.clone()];
        cols.extend(features.iter().cloned());
        write(&format!("{}.csv", t.0), &cols)
    };
    let (alone_weight, alone_height) = (alone_file(&weight), alone_file(&height));
    let run = |file: &std::path::Path, targets: &[&str], cmd: &[&str], name: &str| {
        let out = dir.join(name);
        let mut args = vec![cmd[0], "--x", file.to_str().unwrap(), "--tol", "1e-10"];
        for t in targets {
            args.extend(["--target", t]);
        }
        args.extend(&cmd[1..]);
        args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
        let r = lariat(&args);
        assert!(
            r.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        json(&out)
    };
    let close = |u: &Value, v: &Value| {
        let (u, v) = (u.as_f64().unwrap(), v.as_f64().unwrap());
        (u - v).abs() <= 1e-10 * v.abs().max(1e-12)
    };
    let all_close = |u: &Value, v: &Value| {
        let (u, v) = (u.as_array().unwrap(), v.as_array().unwrap());
        u.len() == v.len() && u.iter().zip(v).all(|(a, b)| close(a, b))
    };
    for (cmd, key) in [
        (vec!["fit", "--lambda-ratio", "0.2"], "models"),
        (vec!["path", "--n-lambdas", "8"], "paths"),
        (vec!["cv", "--folds", "4", "--n-lambdas", "8"], "cvs"),
    ] {
        // One comma-separated flag and the repeated flag are the same request.
        let listed = run(&data, &["weight,height"], &cmd, "listed.json");
        let repeated = run(&data, &["weight", "height"], &cmd, "repeated.json");
        assert_eq!(untimed(listed.clone()), untimed(repeated), "{cmd:?}");
        assert_eq!(listed["responses"], serde_json::json!(["weight", "height"]));
        let all = listed[key].as_array().unwrap();
        assert_eq!(all.len(), 2, "{cmd:?}");
        for (k, (target, file)) in [("weight", &alone_weight), ("height", &alone_height)]
            .into_iter()
            .enumerate()
        {
            let alone = run(file, &[target], &cmd, "one.json");
            let (many, one) = match key {
                "models" => (&all[k], &alone),
                "paths" => (&all[k]["fits"][7], &alone["fits"][7]),
                _ => (&all[k]["model"], &alone["model"]),
            };
            // X is the other 12 columns, the same in both runs, whatever the targets.
            assert_eq!(many["feature_names"], one["feature_names"], "{cmd:?}");
            assert_eq!(many["n_features"], serde_json::json!(12), "{cmd:?}");
            assert!(
                close(&many["objective"], &one["objective"])
                    && close(&many["intercept"], &one["intercept"]),
                "{cmd:?} {target}: {} vs {}",
                many["objective"],
                one["objective"]
            );
            assert_eq!(many["coef"]["indices"], one["coef"]["indices"], "{cmd:?}");
            assert!(
                all_close(&many["coef"]["values"], &one["coef"]["values"]),
                "{cmd:?}"
            );
            if key == "cvs" {
                for field in ["cvm", "cvsd"] {
                    assert!(all_close(&all[k][field], &alone[field]), "{target} {field}");
                }
                assert_eq!(all[k]["index_min"], alone["index_min"]);
            }
        }
    }
}

/// The JSON without its wall times (which differ between runs).
fn untimed(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k != "seconds")
                .map(|(k, v)| (k, untimed(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(untimed).collect()),
        other => other,
    }
}

/// One bad response among several is named by its place: a constant second column of y
/// fails `fit`, `path` and `cv` with "response 1 (0-based) of 2", and nothing is written.
#[test]
fn a_bad_response_is_named_by_its_place() {
    let (x, y) = random_problem(30, 6, 5);
    let dir = common::temp_dir("responses-bad");
    let xs = dir.join("x.csv");
    let mut text = String::new();
    for i in 0..30 {
        let row: Vec<String> = (0..6).map(|j| format!("{:e}", x.col(j)[i])).collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    std::fs::write(&xs, text).unwrap();
    let ys = dir.join("y.csv");
    let t: String = (0..30).map(|i| format!("{:e},4\n", y[i])).collect();
    std::fs::write(&ys, t).unwrap();
    for cmd in [
        &["fit", "--lambda-ratio", "0.1"][..],
        &["path"],
        &["cv", "--folds", "3"],
    ] {
        let out = dir.join("out.json");
        let mut args = vec![
            cmd[0],
            "--x",
            xs.to_str().unwrap(),
            "--y",
            ys.to_str().unwrap(),
        ];
        args.extend(&cmd[1..]);
        args.extend(["--out", out.to_str().unwrap(), "--quiet", "--device", "cpu"]);
        let r = lariat(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_ne!(r.status.code(), Some(0), "{cmd:?}");
        assert!(err.contains("response 1 (0-based) of 2"), "{cmd:?}: {err}");
        assert!(!out.exists(), "{cmd:?}");
    }
}

/// A bad value in a `--y` of several columns is reported as that value, at its place, in
/// every command (not as "expected one column").
#[test]
fn a_bad_value_in_several_responses_is_named_where_it_is() {
    let dir = common::temp_dir("responses-bad");
    let xs = dir.join("x.csv");
    let mut x = String::from("a,b\n");
    let mut y = String::from("u,v\n");
    for i in 0..12 {
        x.push_str(&format!("{},{}\n", i % 5, (i * 3) % 7));
        let v = if i == 6 {
            "NA".to_string()
        } else {
            format!("{}", i % 4)
        };
        y.push_str(&format!("{},{v}\n", i % 3));
    }
    std::fs::write(&xs, x).unwrap();
    let ys = dir.join("y.csv");
    std::fs::write(&ys, y).unwrap();
    let (x_s, y_s) = (xs.to_str().unwrap(), ys.to_str().unwrap());
    for cmd in [
        vec!["fit", "--lambda", "0.1"],
        vec!["path", "--n-lambdas", "3"],
        vec!["cv", "--folds", "3", "--n-lambdas", "3"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--x", x_s, "--y", y_s, "-q"]);
        let o = lariat(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(
            err.contains("y.csv:8:2: cannot parse 'NA'") && !err.contains("one column"),
            "{cmd:?}: {err}"
        );
    }
}

/// A `--y` of one row (a row vector, `y[None, :]`) is one response, as `--test-y` reads it;
/// response names that repeat are warned about, their order kept.
#[test]
fn a_row_vector_is_one_response_and_repeated_names_are_warned_about() {
    let (x, y) = random_problem(12, 4, 8);
    let dir = common::temp_dir("responses-shapes");
    let xs = dir.join("x.npy");
    let cols: Vec<f64> = (0..4).flat_map(|j| x.col(j).to_vec()).collect();
    lariat::data::npy::write_npy_f64(&xs, 12, 4, &cols).unwrap();
    let (column, row) = (dir.join("y.npy"), dir.join("y_row.npy"));
    lariat::data::npy::write_npy_vec(&column, &y).unwrap();
    lariat::data::npy::write_npy_f64(&row, 1, 12, &y).unwrap();
    let fit = |y: &std::path::Path, name: &str| {
        let out = dir.join(name);
        let r = lariat(&[
            "fit",
            "--x",
            xs.to_str().unwrap(),
            "--y",
            y.to_str().unwrap(),
            "--lambda-ratio",
            "0.1",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        untimed(json(&out))
    };
    assert_eq!(fit(&row, "row.json"), fit(&column, "column.json"));
    let ys = dir.join("dup.csv");
    let t: String = std::iter::once("a,a,b\n".to_string())
        .chain((0..12).map(|i| format!("{:e},{:e},{:e}\n", y[i], 2.0 * y[i], -y[i])))
        .collect();
    std::fs::write(&ys, t).unwrap();
    let out = dir.join("dup.json");
    let r = lariat(&[
        "fit",
        "--x",
        xs.to_str().unwrap(),
        "--y",
        ys.to_str().unwrap(),
        "--lambda-ratio",
        "0.1",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(err.contains("columns 0 and 1 are both named 'a'"), "{err}");
    assert_eq!(json(&out)["responses"], serde_json::json!(["a", "a", "b"]));
}
