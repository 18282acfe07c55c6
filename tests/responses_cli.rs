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
                "paths" => (
                    all[k]["fits"][7]["objective"].clone(),
                    alone["fits"][7]["objective"].clone(),
                ),
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
