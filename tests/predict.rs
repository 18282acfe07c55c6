//! `lariat predict` (issue 9, item 1): columns are matched by name when both the model and the
//! data have names; a model that cannot be right is refused. Expected predictions are computed
//! here from the model JSON and the rows as written, never by lariat.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::temp_dir;

fn lariat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lariat"))
        .args(args)
        .output()
        .expect("the lariat binary runs")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The predictions printed on stdout.
fn predictions(o: &Output) -> Vec<f64> {
    assert!(o.status.success(), "{}", stderr(o));
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prediction"));
    lines.map(|l| l.parse().unwrap()).collect()
}

fn expect_error(args: &[&str], needles: &[&str]) {
    let o = lariat(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "expected '{n}' in: {err}");
    }
}

/// A model JSON written by hand: intercept 1, coefficients a = 2, b = -3, c = 0.5.
fn model_json(
    names: Option<&[&str]>,
    indices: &[usize],
    values: &[f64],
    n_features: usize,
) -> String {
    let names = match names {
        Some(n) => format!(
            "\"feature_names\": [{}],",
            n.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    format!(
        "{{\"intercept\": 1.0, \"coef\": {{\"indices\": {indices:?}, \"values\": {values:?}}},
          \"n_features\": {n_features}, {names} \"lambda\": 0.1, \"l1_ratio\": 1.0,
          \"objective\": 0.0, \"duality_gap\": 0.0, \"iterations\": 1, \"converged\": true,
          \"device\": \"cpu\", \"solver\": \"cd\", \"seconds\": 0.0}}"
    )
}

const ROWS: [[f64; 3]; 3] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [-1.0, 0.5, 2.0]];

fn expected() -> Vec<f64> {
    ROWS.iter()
        .map(|r| 1.0 + 2.0 * r[0] - 3.0 * r[1] + 0.5 * r[2])
        .collect()
}

/// The rows of `ROWS` as CSV with columns in the order `order` (indices into a, b, c).
fn csv(order: &[usize], extra: Option<&str>) -> String {
    let names = ["a", "b", "c"];
    let mut header: Vec<String> = order.iter().map(|&j| names[j].to_string()).collect();
    if let Some(e) = extra {
        header.push(e.to_string());
    }
    let mut text = header.join(",") + "\n";
    for r in ROWS {
        let mut fields: Vec<String> = order.iter().map(|&j| r[j].to_string()).collect();
        if extra.is_some() {
            fields.push("100".into());
        }
        text += &(fields.join(",") + "\n");
    }
    text
}

#[test]
fn reordered_columns_are_matched_by_name() {
    let d = temp_dir("predict-order");
    let m = write(
        &d,
        "m.json",
        &model_json(Some(&["a", "b", "c"]), &[0, 1, 2], &[2.0, -3.0, 0.5], 3),
    );
    for (k, order) in [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]]
        .iter()
        .enumerate()
    {
        let x = write(&d, &format!("x{k}.csv"), &csv(order, None));
        let got = predictions(&lariat(&["predict", "--model", s(&m), "--x", s(&x)]));
        assert_eq!(got, expected(), "column order {order:?}");
    }
    // A model saved with a UTF-8 byte-order mark (Notepad) reads as the same model.
    let bom = write(
        &d,
        "m_bom.json",
        &format!(
            "\u{feff}{}",
            model_json(Some(&["a", "b", "c"]), &[0, 1, 2], &[2.0, -3.0, 0.5], 3)
        ),
    );
    let x = write(&d, "xb.csv", &csv(&[0, 1, 2], None));
    let got = predictions(&lariat(&["predict", "--model", s(&bom), "--x", s(&x)]));
    assert_eq!(got, expected(), "with a byte-order mark");
    // --by-position really ignores the names: a reordered file then gives other numbers.
    let x = write(&d, "xr.csv", &csv(&[2, 0, 1], None));
    let got = predictions(&lariat(&[
        "predict",
        "--model",
        s(&m),
        "--x",
        s(&x),
        "--by-position",
    ]));
    assert_ne!(got, expected());
}

#[test]
fn missing_and_extra_columns() {
    let d = temp_dir("predict-missing");
    let m = write(
        &d,
        "m.json",
        &model_json(Some(&["a", "b", "c"]), &[0, 1, 2], &[2.0, -3.0, 0.5], 3),
    );
    let x = write(&d, "x.csv", "c,a\n1,2\n");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["x.csv: the data lacks 1 of the model's 3 features: 'b'"],
    );
    let x = write(&d, "xe.csv", &csv(&[1, 0, 2], Some("y")));
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["does not know: 'y'", "--allow-extra-columns"],
    );
    let o = lariat(&[
        "predict",
        "--model",
        s(&m),
        "--x",
        s(&x),
        "--allow-extra-columns",
    ]);
    assert_eq!(predictions(&o), expected());
    assert!(stderr(&o).contains("1 column(s) not in the model are ignored: 'y'"));
    // --target drops the column before matching.
    let o = lariat(&["predict", "--model", s(&m), "--x", s(&x), "--target", "y"]);
    assert_eq!(predictions(&o), expected());
    // A name twice in the data cannot be matched.
    let x = write(&d, "xd.csv", "a,b,c,a\n1,2,3,4\n");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["column name 'a' appears 2 times"],
    );
}

#[test]
fn without_names_columns_go_by_position() {
    let d = temp_dir("predict-position");
    let m = write(
        &d,
        "m.json",
        &model_json(Some(&["a", "b", "c"]), &[0, 1, 2], &[2.0, -3.0, 0.5], 3),
    );
    let text: String = ROWS
        .iter()
        .map(|r| format!("{},{},{}\n", r[0], r[1], r[2]))
        .collect();
    let x = write(&d, "x.csv", &text);
    let o = lariat(&["predict", "--model", s(&m), "--x", s(&x)]);
    assert_eq!(predictions(&o), expected());
    assert!(stderr(&o).contains("by position (the data has no column names)"));
}

/// A LIBSVM file without its trailing all-zero features is valid: its width is only implied.
#[test]
fn libsvm_may_lack_trailing_zero_features() {
    let d = temp_dir("predict-libsvm");
    let m = write(
        &d,
        "m.json",
        &model_json(None, &[0, 1, 3], &[2.0, -3.0, 7.0], 4),
    );
    // Features 3 and 4 (1-based) are zero in every row, so the file implies 2 columns.
    let x = write(&d, "x.svm", "0 1:1 2:2\n0 1:4\n0 2:0.5\n");
    let got = predictions(&lariat(&["predict", "--model", s(&m), "--x", s(&x)]));
    assert_eq!(got, [1.0 + 2.0 - 6.0, 1.0 + 8.0, 1.0 - 1.5]);
    // A feature the model does not have is an error.
    let x = write(&d, "x5.svm", "0 5:1\n");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["the model has 4 features but the data has 5 columns"],
    );
    // Zero-based on request; a 0: in a one-based file is an error, not a shift.
    let x = write(&d, "x0.svm", "0 0:1 1:2\n");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["x0.svm:1:3: feature index 0", "--libsvm-base 0"],
    );
    let got = predictions(&lariat(&[
        "predict",
        "--model",
        s(&m),
        "--x",
        s(&x),
        "--libsvm-base",
        "0",
    ]));
    assert_eq!(got, [1.0 + 2.0 - 6.0]);
    // A dense matrix must have every column.
    let x = write(&d, "x2.csv", "1,2\n");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["the model has 4 features but the data has 2 columns"],
    );
}

#[test]
fn models_that_cannot_be_right_are_refused() {
    let d = temp_dir("predict-badmodel");
    let x = write(&d, "x.csv", &csv(&[0, 1, 2], None));
    let cases: [(String, &str); 5] = [
        (
            model_json(Some(&["a", "b", "c"]), &[0, 2, 0], &[1.0, 2.0, 3.0], 3),
            "feature 0 appears twice in coef.indices (positions 0 and 2)",
        ),
        (
            model_json(Some(&["a", "b"]), &[0], &[1.0], 3),
            "feature_names has 2 names but n_features is 3",
        ),
        (
            model_json(None, &[5], &[1.0], 3),
            "coef.indices[0] = 5 is out of range for n_features = 3",
        ),
        (
            model_json(None, &[0, 1], &[1.0], 3),
            "coef has 2 indices but 1 values",
        ),
        (
            model_json(Some(&["a", "a", "c"]), &[0], &[1.0], 3),
            "the model's feature name 'a' repeats",
        ),
    ];
    for (k, (json, needle)) in cases.iter().enumerate() {
        let m = write(&d, &format!("m{k}.json"), json);
        expect_error(&["predict", "--model", s(&m), "--x", s(&x)], &[needle]);
    }
}

/// Issue 9, item 12: a path JSON passed as --model, and JSON that is not a model at all.
#[test]
fn wrong_json_files_are_named_for_what_they_are() {
    let d = temp_dir("predict-json");
    let x = write(&d, "x.csv", "a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n");
    let p = d.join("path.json");
    let o = lariat(&[
        "path",
        "--x",
        s(&x),
        "--target",
        "y",
        "--n-lambdas",
        "5",
        "--out",
        s(&p),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    expect_error(
        &["predict", "--model", s(&p), "--x", s(&x), "--target", "y"],
        &[
            "path.json: this is a regularization path",
            "5 fits",
            "not a model",
        ],
    );
    let m = write(
        &d,
        "cut-cv.json",
        "{\"lambdas\": [1.0], \"cvm\": [2.0], \"cvsd\": [0.1]}",
    );
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["cut-cv.json: a lariat cv file without its `model`"],
    );
    let m = write(&d, "list.json", "[1, 2]");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["list.json: not a lariat model: the file holds a JSON array"],
    );
    let m = write(
        &d,
        "partial.json",
        "{\"intercept\": 1.0,\n\n\n \"n_features\": 2}",
    );
    let o = lariat(&["predict", "--model", s(&m), "--x", s(&x)]);
    let err = stderr(&o);
    assert!(
        err.contains("partial.json: not a lariat model: missing field `coef`")
            && !err.contains("line"),
        "{err}"
    );
    let m = write(&d, "syntax.json", "{\"intercept\": 1.0,\n \"coef\": }");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x)],
        &["syntax.json:2:10: not valid JSON"],
    );
}

/// A path JSON predicts with the fit `--lambda` (a lambda of its grid) or `--fit` (a position)
/// chooses: the predictions of that fit, computed here from its coefficients; a lambda off the
/// grid or a position past it is named. `--target a,b` drops both columns, as in fit.
#[test]
fn a_path_predicts_with_the_fit_it_is_asked_for() {
    let d = temp_dir("predict-path-fit");
    let x = write(
        &d,
        "x.csv",
        "a,b,c,y,z\n1,2,0.5,3,1\n4,5,1,6.5,0\n7,8,2,9,1\n2,1,3,3.5,0\n5,3,1,4,2\n",
    );
    // The data to predict on carry the target and one more column, w: both dropped.
    let px = write(
        &d,
        "px.csv",
        "a,b,c,y,z,w\n1,2,0.5,3,1,9\n4,5,1,6.5,0,9\n7,8,2,9,1,9\n2,1,3,3.5,0,9\n5,3,1,4,2,9\n",
    );
    let p = d.join("path.json");
    let o = lariat(&[
        "path",
        "--x",
        s(&x),
        "--target",
        "y",
        "--n-lambdas",
        "6",
        "--out",
        s(&p),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let rows = [
        [1.0, 2.0, 0.5, 1.0],
        [4.0, 5.0, 1.0, 0.0],
        [7.0, 8.0, 2.0, 1.0],
        [2.0, 1.0, 3.0, 0.0],
        [5.0, 3.0, 1.0, 2.0],
    ];
    let want = |k: usize| -> Vec<f64> {
        let fit = &v["fits"][k];
        let idx = fit["coef"]["indices"].as_array().unwrap();
        let val = fit["coef"]["values"].as_array().unwrap();
        rows.iter()
            .map(|r| {
                fit["intercept"].as_f64().unwrap()
                    + idx
                        .iter()
                        .zip(val)
                        .map(|(j, w)| r[j.as_u64().unwrap() as usize] * w.as_f64().unwrap())
                        .sum::<f64>()
            })
            .collect()
    };
    let close = |got: Vec<f64>, want: Vec<f64>| {
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    };
    for k in [0, 3, 5] {
        let lambda = format!("{:e}", v["lambdas"][k].as_f64().unwrap());
        for pick in [["--lambda", lambda.as_str()], ["--fit", &k.to_string()]] {
            let o = lariat(
                &[
                    &[
                        "predict",
                        "--model",
                        s(&p),
                        "--x",
                        s(&px),
                        "--target",
                        "y,w",
                    ][..],
                    &pick[..],
                ]
                .concat(),
            );
            close(predictions(&o), want(k));
        }
    }
    // predict with `model` and the flags `pick`: refused with `needle` in the message.
    let refused = |model: &Path, pick: &[&str], needle: &str| {
        let base = [
            "predict",
            "--model",
            s(model),
            "--x",
            s(&px),
            "--target",
            "y,w",
        ];
        expect_error(&[&base[..], pick].concat(), &[needle]);
    };
    refused(
        &p,
        &["--lambda", "1e9"],
        "--lambda 1e9: the path has no fit there; the nearest is fit 0",
    );
    refused(&p, &["--fit", "6"], "--fit 6: the path has 6 fits (0 to 5)");
    refused(
        &p,
        &[],
        "choose one of its fits with --lambda L (a lambda of its grid) or --fit K",
    );
    // A damaged path (a fit cut off, or a grid that is not its fits' lambdas) is refused; it
    // once indexed past the fits (a panic).
    let mut cut = v.clone();
    cut["fits"].as_array_mut().unwrap().pop();
    let cut_file = write(&d, "cut.json", &cut.to_string());
    let top = format!("{:e}", v["lambdas"][5].as_f64().unwrap());
    refused(
        &cut_file,
        &["--lambda", &top],
        "cut.json: a damaged path: 6 lambdas for 5 fits",
    );
    let mut moved = v.clone();
    moved["lambdas"][3] = serde_json::json!(0.07);
    let moved_file = write(&d, "moved.json", &moved.to_string());
    refused(
        &moved_file,
        &["--fit", "0"],
        "moved.json: a damaged path: lambdas[3] = 7e-2, but fit 3 has lambda",
    );
    let o = lariat(&["predict", "--model", s(&p), "--x", s(&px), "--lambda", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let one = write(&d, "one.json", &v["fits"][2].to_string());
    refused(
        &one,
        &["--fit", "0"],
        "one.json: --fit 0 chooses a fit of a path",
    );
}

mod permuted {
    //! Property: any order of the columns, with or without extra columns, predicts what the
    //! model says, computed here term by term from the rows as written.
    use std::path::Path;

    use lariat::data::{read_dataset_bytes, ReadOptions};
    use lariat::model::{Model, SparseCoef};
    use lariat::predict::{predict, MatchOptions};
    use proptest::prelude::*;

    fn model(coef: &[f64]) -> Model {
        let p = coef.len();
        Model {
            intercept: 0.25,
            coef: SparseCoef::from_dense(coef),
            n_features: p,
            feature_names: Some((0..p).map(|j| format!("f{j}")).collect()),
            lambda: 0.1,
            l1_ratio: 1.0,
            objective: 0.0,
            duality_gap: 0.0,
            gap_tolerance: 0.0,
            tol: 1e-6,
            iterations: 1,
            full_passes: 1,
            converged: true,
            device: "cpu".into(),
            solver: "cd".into(),
            seconds: 0.0,
            fit_intercept: true,
            standardize: false,
            n_samples: 1,
            gpu: None,
        }
    }

    fn case() -> impl Strategy<Value = (Vec<f64>, Vec<Vec<f64>>, Vec<usize>, usize)> {
        (1usize..7, 1usize..5, 0usize..3).prop_flat_map(|(p, n, extra)| {
            let coef = prop::collection::vec(
                prop_oneof![Just(0.0), (-50i32..50).prop_map(|v| f64::from(v) / 4.0)],
                p,
            );
            let rows = prop::collection::vec(
                prop::collection::vec((-100i32..100).prop_map(|v| f64::from(v) / 8.0), p + extra),
                n,
            );
            let order = Just((0..p + extra).collect::<Vec<usize>>()).prop_shuffle();
            (coef, rows, order, Just(extra))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_column_order_predicts_the_same((coef, rows, order, extra) in case()) {
            let p = coef.len();
            // File column k holds feature order[k] (>= p: an extra column "e{..}").
            let name = |j: usize| if j < p { format!("f{j}") } else { format!("e{j}") };
            let mut text = order.iter().map(|&j| name(j)).collect::<Vec<_>>().join(",") + "\n";
            for r in &rows {
                let fields: Vec<String> = order.iter().map(|&j| r[j].to_string()).collect();
                text += &(fields.join(",") + "\n");
            }
            let ds = read_dataset_bytes(text.as_bytes(), Path::new("x.csv"), &ReadOptions::default()).unwrap();
            let opts = MatchOptions { allow_extra_columns: true, by_position: false };
            let (got, al) = predict(&model(&coef), &ds, opts).unwrap();
            prop_assert!(al.by_name);
            for (r, g) in rows.iter().zip(&got) {
                // Eighths times quarters: every term and sum is exact in f64.
                let want = 0.25 + (0..p).map(|j| coef[j] * r[j]).sum::<f64>();
                prop_assert_eq!(*g, want);
            }
            // Without the flag, extra columns are refused.
            let strict = predict(&model(&coef), &ds, MatchOptions::default());
            prop_assert_eq!(strict.is_err(), extra > 0);
        }
    }
}

/// A prediction beyond f64 (a row of huge values, or huge coefficients) is an error naming
/// the row, with nothing written: never `inf` or `NaN` printed as a prediction.
#[test]
fn predictions_beyond_f64_are_refused_by_row() {
    let d = temp_dir("predict-overflow");
    let m = write(
        &d,
        "m.json",
        &model_json(None, &[0, 1, 2], &[2.0, -3.0, 0.5], 3),
    );
    let huge = "a,b,c\n1,2,3\n1e308,-1e308,0\n";
    let x = write(&d, "x.csv", huge);
    let out = d.join("p.csv");
    expect_error(
        &["predict", "--model", s(&m), "--x", s(&x), "--out", s(&out)],
        &["row 1 (0-based)", "overflows f64", "x.csv"],
    );
    assert!(!out.exists(), "nothing is written");
    // The same rows with finite products are predicted.
    let fine = write(&d, "fine.csv", "a,b,c\n1,2,3\n1e300,-1e300,0\n");
    let p = predictions(&lariat(&["predict", "--model", s(&m), "--x", s(&fine)]));
    assert_eq!(p[0], 1.0 + 2.0 - 6.0 + 1.5);
    assert!(p[1].is_finite() && p[1] > 4e300);
}
