//! `lariat cv` end to end: the curve and the choice against a cv.glmnet fixture, the JSON's
//! fields, `predict --model cv.json`, the plot, and bad input (exit code, message, nothing
//! written).

mod common;

use common::lariat;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture() -> Value {
    let path = format!(
        "{}/tests/fixtures/cv_glmnet/toeplitz_lasso_5fold.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Writes the fixture as a CSV (y first, then the features), its foldid and its lambdas.
fn write_inputs(dir: &Path, fx: &Value) -> (PathBuf, PathBuf, PathBuf) {
    let (n, p) = (
        fx["n"].as_u64().unwrap() as usize,
        fx["p"].as_u64().unwrap() as usize,
    );
    let (x, y) = (floats(&fx["x"]), floats(&fx["y"]));
    let mut csv = String::from("y");
    (0..p).for_each(|j| csv.push_str(&format!(",f{j}")));
    csv.push('\n');
    for i in 0..n {
        csv.push_str(&format!("{:e}", y[i]));
        (0..p).for_each(|j| csv.push_str(&format!(",{:e}", x[i * p + j])));
        csv.push('\n');
    }
    let data = dir.join("data.csv");
    std::fs::write(&data, csv).unwrap();
    let foldid = dir.join("foldid.txt");
    let labels: Vec<String> = fx["foldid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    std::fs::write(&foldid, labels.join("\n") + "\n").unwrap();
    let lambdas = dir.join("lambdas.txt");
    let ls: Vec<String> = floats(&fx["lambda"])
        .iter()
        .map(|v| format!("{v:e}"))
        .collect();
    std::fs::write(&lambdas, ls.join("\n") + "\n").unwrap();
    (data, foldid, lambdas)
}

#[test]
fn cv_matches_cv_glmnet_and_its_model_predicts() {
    let fx = fixture();
    let dir = common::temp_dir("cv-cli");
    let (data, foldid, lambdas) = write_inputs(&dir, &fx);
    let out = dir.join("cv.json");
    let plot = dir.join("cv.svg");
    let run = lariat(&[
        "cv",
        "--x",
        data.to_str().unwrap(),
        "--target",
        "y",
        "--foldid",
        foldid.to_str().unwrap(),
        "--lambdas",
        lambdas.to_str().unwrap(),
        "--tol",
        "1e-11",
        "--select",
        "1se",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("<- min") && stdout.contains("<- 1se"),
        "{stdout}"
    );
    let cv: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for (a, b) in floats(&cv["cvm"]).iter().zip(floats(&fx["cvm"])) {
        assert!((a - b).abs() < 1e-6 * b, "cvm {a} vs {b}");
    }
    for (a, b) in floats(&cv["cvsd"]).iter().zip(floats(&fx["cvsd"])) {
        assert!((a - b).abs() < 1e-6 * b, "cvsd {a} vs {b}");
    }
    assert_eq!(cv["index_min"], fx["index_min"]);
    assert_eq!(cv["index_1se"], fx["index_1se"]);
    assert_eq!(cv["lambda_1se"].as_f64(), fx["lambda_1se"].as_f64());
    assert_eq!(cv["folds"], 5);
    // The model is the full-data fit at lambda_1se.
    let model = &cv["model"];
    assert_eq!(model["lambda"].as_f64(), fx["lambda_1se"].as_f64());
    assert_eq!(model["n_samples"], fx["n"]);

    // predict --model cv.json uses that model: yhat = intercept + X coef, computed here.
    let pred = lariat(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--x",
        data.to_str().unwrap(),
        "--target",
        "y",
    ]);
    assert!(
        pred.status.success(),
        "{}",
        String::from_utf8_lossy(&pred.stderr)
    );
    let yhat: Vec<f64> = String::from_utf8_lossy(&pred.stdout)
        .lines()
        .skip(1)
        .map(|l| l.parse().unwrap())
        .collect();
    let (x, p) = (floats(&fx["x"]), fx["p"].as_u64().unwrap() as usize);
    let idx: Vec<usize> = model["coef"]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let val = floats(&model["coef"]["values"]);
    let b0 = model["intercept"].as_f64().unwrap();
    for (i, &got) in yhat.iter().enumerate() {
        let want = b0
            + idx
                .iter()
                .zip(&val)
                .map(|(&j, v)| x[i * p + j] * v)
                .sum::<f64>();
        assert!(
            (got - want).abs() < 1e-9 * (1.0 + want.abs()),
            "row {i}: {got} vs {want}"
        );
    }

    // plot.cv.glmnet's picture: one point and one error bar per lambda, two dashed lines.
    let svg = std::fs::read_to_string(&plot).unwrap();
    let (r, g, b) = lariat::plot::CV_POINT_RGB;
    let red = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
    let points = svg
        .lines()
        .filter(|l| l.contains("<circle") && l.contains(&red))
        .count();
    assert_eq!(points, floats(&fx["lambda"]).len());
    let (r, g, b) = lariat::plot::CV_BAR_RGB;
    let grey = format!("stroke=\"#{r:02X}{g:02X}{b:02X}\"");
    let bars = svg
        .lines()
        .filter(|l| l.contains("<circle") && l.contains(&grey))
        .count();
    assert_eq!(bars, floats(&fx["lambda"]).len());
}

#[test]
fn random_folds_are_reproducible_by_seed() {
    let fx = fixture();
    let dir = common::temp_dir("cv-seed");
    let (data, _, _) = write_inputs(&dir, &fx);
    let run = |seed: &str, name: &str| {
        let out = dir.join(name);
        let r = lariat(&[
            "cv",
            "--x",
            data.to_str().unwrap(),
            "--target",
            "y",
            "--folds",
            "4",
            "--seed",
            seed,
            "--n-lambdas",
            "12",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        floats(&v["cvm"])
    };
    assert_eq!(run("3", "a.json"), run("3", "b.json"));
    assert_ne!(run("3", "a.json"), run("4", "c.json"));
}

/// `--foldid` as NumPy's natural integer array (`np.save('f.npy', labels)`, int64) gives
/// the folds of the same labels as text.
#[test]
fn integer_npy_fold_labels_are_the_text_ones() {
    let fx = fixture();
    let dir = common::temp_dir("cv-int-foldid");
    let (data, foldid, lambdas) = write_inputs(&dir, &fx);
    let labels: Vec<i64> = fx["foldid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut dict = format!(
        "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
        labels.len()
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    npy.extend_from_slice(dict.as_bytes());
    labels
        .iter()
        .for_each(|v| npy.extend_from_slice(&v.to_le_bytes()));
    let foldid_npy = dir.join("foldid.npy");
    std::fs::write(&foldid_npy, npy).unwrap();
    let cvm_with = |labels: &Path, out: &str| {
        let out = dir.join(out);
        let run = lariat(&[
            "cv",
            "--x",
            data.to_str().unwrap(),
            "--target",
            "y",
            "--foldid",
            labels.to_str().unwrap(),
            "--lambdas",
            lambdas.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let cv: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        floats(&cv["cvm"])
    };
    assert_eq!(cvm_with(&foldid_npy, "a.json"), cvm_with(&foldid, "b.json"));
}

/// A fold-label file whose first row is a lone `0` (a header or a label as likely) is read
/// by the count and warned about, unless `--no-header` says, as for every CSV input, that
/// the files have no header; the folds are the same either way.
#[test]
fn no_header_settles_a_lone_zero_in_the_fold_labels() {
    let dir = common::temp_dir("cv-foldid-lone-zero");
    let (n, p) = (12, 5);
    let mut x = String::new();
    let mut y = String::new();
    for i in 0..n {
        let row: Vec<String> = (0..p)
            .map(|j| format!("{}", ((i * 7 + j * 3) % 11) as f64 - 5.0 + 0.1 * j as f64))
            .collect();
        x += &(row.join(",") + "\n");
        y += &format!("{}\n", (i % 4) as f64 - 1.5 + 0.01 * i as f64);
    }
    let (xp, yp, fp) = (dir.join("x.csv"), dir.join("y.csv"), dir.join("f.txt"));
    std::fs::write(&xp, x).unwrap();
    std::fs::write(&yp, y).unwrap();
    std::fs::write(&fp, "0\n1\n2\n".repeat(n / 3)).unwrap();
    let run = |extra: &[&str], out: &str| {
        let out = dir.join(out);
        let mut args = vec![
            "cv",
            "--x",
            xp.to_str().unwrap(),
            "--y",
            yp.to_str().unwrap(),
            "--foldid",
            fp.to_str().unwrap(),
            "--n-lambdas",
            "5",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = lariat(&args);
        let err = String::from_utf8_lossy(&run.stderr).to_string();
        assert!(run.status.success(), "{err}");
        let cv: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (err, floats(&cv["cvm"]))
    };
    let (err_auto, cvm_auto) = run(&[], "a.json");
    assert!(
        err_auto.contains("a lone '0', was taken as data"),
        "{err_auto}"
    );
    let (err_no, cvm_no) = run(&["--no-header"], "b.json");
    assert!(!err_no.contains("lone"), "{err_no}");
    assert_eq!(cvm_auto, cvm_no);
}
