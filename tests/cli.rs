//! The real binary: every bad input of issue #2 gets a one-line error naming the file, line or
//! column, and a non-zero exit code; outputs are atomic; fit -> predict round-trips.

#![allow(clippy::needless_range_loop)]

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `args`, expects failure with exit code 1 and an error line containing every `needle`.
fn expect_error(args: &[&str], needles: &[&str]) {
    let o = lariat(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "args {args:?}\nstderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected '{n}' in: {err}");
    }
}

const GOOD: &str = "a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n";

#[test]
fn missing_file_is_named() {
    let d = temp_dir("cli-missing");
    let x = d.join("nope.csv");
    let y = write(&d, "y.csv", "1\n2\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--y",
            y.to_str().unwrap(),
            "--lambda",
            "1",
        ],
        &["nope.csv", "No such file"],
    );
}

#[test]
fn ragged_csv_names_line_and_column() {
    let d = temp_dir("cli-ragged");
    let x = write(&d, "ragged.csv", "a,b,y\n1,2,3\n4,5,6\n7,8\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "1",
        ],
        &["ragged.csv:4:", "expected 3 fields, found 2"],
    );
}

#[test]
fn non_numeric_csv_names_line_and_column() {
    let d = temp_dir("cli-nonnum");
    let x = write(&d, "bad.csv", "a,b,y\n1,2,3\n4,abc,6\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "1",
        ],
        &["bad.csv:3:2", "'abc'"],
    );
}

#[test]
fn nan_and_inf_are_located() {
    let d = temp_dir("cli-nan");
    let x = write(&d, "nan.csv", "a,b,y\n1,2,3\n4,5,6\n7,8,NaN\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "1",
        ],
        &["nan.csv", "line 4", "column 3"],
    );
    let x = write(&d, "inf.csv", "a,b,y\n1,inf,3\n4,5,6\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "1",
        ],
        &["inf.csv", "line 2", "column 2"],
    );
    // .npy: position given as (row, column).
    let xp = d.join("x.npy");
    let mut v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    v[4] = f64::INFINITY; // column-major: row 0, column 2 of a 2 x 3 matrix
    lariat::data::npy::write_npy_f64(&xp, 2, 3, &v).unwrap();
    let y = write(&d, "y.csv", "1\n2\n");
    expect_error(
        &[
            "fit",
            "--x",
            xp.to_str().unwrap(),
            "--y",
            y.to_str().unwrap(),
            "--lambda",
            "1",
        ],
        &["x.npy", "row 0, column 2"],
    );
}

#[test]
fn x_and_y_of_different_lengths() {
    let d = temp_dir("cli-len");
    let x = write(&d, "x.csv", "1,2\n3,4\n5,6\n");
    let y = write(&d, "y.csv", "1\n2\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--y",
            y.to_str().unwrap(),
            "--lambda",
            "1",
        ],
        &["3 rows", "2 values"],
    );
}

#[test]
fn empty_matrix() {
    let d = temp_dir("cli-empty");
    let x = write(&d, "empty.csv", "a,b,y\n");
    expect_error(
        &[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "1",
        ],
        &["empty.csv", "no data"],
    );
}

#[test]
fn constant_column_is_allowed_and_reported_once_when_standardizing() {
    let d = temp_dir("cli-const");
    let x = write(
        &d,
        "c.csv",
        "a,k,z,y\n1,5,0,3\n4,5,0,6.5\n7,5,0,9\n2,5,0,3.5\n",
    );
    let out = d.join("m.json");
    let o = lariat(&[
        "fit",
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--lambda-ratio",
        "0.01",
        "--standardize",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.matches("constant column").count(), 1, "{err}");
    assert!(err.contains("'k'") && err.contains("'z'"), "{err}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let idx: Vec<u64> = m["coef"]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![0], "only 'a' can be selected");
    // Without --standardize: no note, still coefficient 0.
    let o = lariat(&[
        "fit",
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--lambda-ratio",
        "0.01",
    ]);
    assert!(o.status.success());
    assert!(!stderr(&o).contains("constant"));
}

/// Runs `args`, expects a usage error (exit code 2) whose message contains every `needle`.
fn expect_usage(args: &[&str], needles: &[&str]) {
    let o = lariat(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "args {args:?}\nstderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "expected '{n}' in: {err}");
    }
}

#[test]
fn bad_parameters() {
    let d = temp_dir("cli-params");
    let x = write(&d, "x.csv", GOOD);
    let xs = x.to_str().unwrap();
    // Invalid values are usage errors (exit 2), refused by clap with the flag named.
    expect_usage(
        &["fit", "--x", xs, "--target", "y", "--lambda", "-1"],
        &["--lambda", "-1", "> 0"],
    );
    expect_usage(
        &[
            "fit",
            "--x",
            xs,
            "--target",
            "y",
            "--lambda",
            "1",
            "--l1-ratio",
            "1.5",
        ],
        &["--l1-ratio", "1.5", "[0, 1]"],
    );
    expect_usage(
        &[
            "fit",
            "--x",
            xs,
            "--target",
            "y",
            "--lambda",
            "1",
            "--l1-ratio",
            "-0.1",
        ],
        &["--l1-ratio", "-0.1"],
    );
    // A contradiction between flags, found by the library: also a usage error.
    expect_usage(
        &[
            "fit",
            "--x",
            xs,
            "--target",
            "y",
            "--lambda-ratio",
            "0.1",
            "--l1-ratio",
            "0",
        ],
        &["lambda-ratio", "ridge"],
    );
    expect_usage(
        &[
            "fit", "--x", xs, "--target", "y", "--lambda", "1", "--tol", "0",
        ],
        &["--tol"],
    );
    // A target the data lacks is a data error.
    expect_error(
        &["fit", "--x", xs, "--target", "nosuch", "--lambda", "1"],
        &["nosuch"],
    );
    // A missing required flag (clap) exits with 2.
    let o = lariat(&["fit", "--x", xs, "--target", "y"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn model_that_does_not_match_the_data() {
    let d = temp_dir("cli-mismatch");
    let x = write(&d, "x.csv", GOOD);
    let m = d.join("m.json");
    let o = lariat(&[
        "fit",
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--lambda-ratio",
        "0.1",
        "--out",
        m.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Columns are matched by name (issue 9): an unknown column is an error...
    let x3 = write(&d, "x3.csv", "a,b,c\n1,2,3\n");
    expect_error(
        &[
            "predict",
            "--model",
            m.to_str().unwrap(),
            "--x",
            x3.to_str().unwrap(),
        ],
        &["x3.csv: the data has 1 column(s) that the model does not know: 'c'"],
    );
    // ... and without names, by position, the widths must agree.
    let x3 = write(&d, "x3n.csv", "1,2,3\n");
    expect_error(
        &[
            "predict",
            "--model",
            m.to_str().unwrap(),
            "--x",
            x3.to_str().unwrap(),
        ],
        &["the model has 2 features but the data has 3 columns"],
    );
    let junk = write(&d, "junk.json", "{\"intercept\": 1.0,\n \"coef\": 3}");
    expect_error(
        &[
            "predict",
            "--model",
            junk.to_str().unwrap(),
            "--x",
            x3.to_str().unwrap(),
        ],
        &["junk.json:2:"],
    );
}

#[test]
fn failed_fit_leaves_no_output_and_keeps_the_old_one() {
    let d = temp_dir("cli-atomic");
    let x = write(&d, "x.csv", GOOD);
    // Fails inside the fit (y's squares overflow f64), after the data are read.
    let huge = write(&d, "huge.csv", "a,b,y\n1,2,3e300\n4,5,-6e300\n7,8,9e300\n");
    let out = d.join("m.json");
    std::fs::write(&out, "previous").unwrap();
    let o = lariat(&[
        "fit",
        "--x",
        huge.to_str().unwrap(),
        "--target",
        "y",
        "--lambda",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 3, "{leftovers:?}");
    // An unwritable destination is an error, not a silent success.
    let o = lariat(&[
        "fit",
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--lambda",
        "1",
        "--out",
        "/nonexistent-dir/m.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent-dir/m.json"));
}

#[test]
fn fit_then_predict_round_trip_and_model_fields() {
    let d = temp_dir("cli-roundtrip");
    let x = write(&d, "x.csv", GOOD);
    let m = d.join("m.json");
    let o = lariat(&[
        "fit",
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--lambda",
        "0.05",
        "--out",
        m.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("objective"));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    for field in [
        "intercept",
        "coef",
        "n_features",
        "feature_names",
        "lambda",
        "l1_ratio",
        "objective",
        "duality_gap",
        "iterations",
        "converged",
        "device",
        "solver",
        "seconds",
    ] {
        assert!(model.get(field).is_some(), "model JSON lacks '{field}'");
    }
    assert_eq!(model["feature_names"], serde_json::json!(["a", "b"]));
    assert_eq!(model["converged"], serde_json::json!(true));
    let yhat = d.join("yhat.csv");
    let o = lariat(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--x",
        x.to_str().unwrap(),
        "--target",
        "y",
        "--out",
        yhat.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Independent check: intercept + X coef from the JSON.
    let b = model["intercept"].as_f64().unwrap();
    let mut coef = [0.0; 2];
    for (i, v) in model["coef"]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .zip(model["coef"]["values"].as_array().unwrap())
    {
        coef[i.as_u64().unwrap() as usize] = v.as_f64().unwrap();
    }
    let rows = [[1.0, 2.0], [4.0, 5.0], [7.0, 8.0], [2.0, 1.0]];
    let text = std::fs::read_to_string(&yhat).unwrap();
    let got: Vec<f64> = text.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(got.len(), 4);
    for (r, g) in rows.iter().zip(&got) {
        let want = b + r[0] * coef[0] + r[1] * coef[1];
        assert!((want - g).abs() < 1e-12, "{want} vs {g}");
    }
}

#[test]
fn libsvm_and_npy_inputs_fit_the_same_model_as_csv() {
    let d = temp_dir("cli-formats");
    let csv = write(&d, "x.csv", "a,b,y\n1,0,3\n0,5,6.5\n7,8,9\n2,0,3.5\n");
    let svm = write(&d, "x.svm", "3 1:1\n6.5 2:5\n9 1:7 2:8\n3.5 1:2\n");
    let xn = d.join("x.npy");
    lariat::data::npy::write_npy_f64(&xn, 4, 2, &[1.0, 0.0, 7.0, 2.0, 0.0, 5.0, 8.0, 0.0]).unwrap();
    let yn = d.join("y.npy");
    lariat::data::npy::write_npy_vec(&yn, &[3.0, 6.5, 9.0, 3.5]).unwrap();
    let mut objectives = Vec::new();
    for args in [
        vec!["--x", csv.to_str().unwrap(), "--target", "y"],
        vec!["--x", svm.to_str().unwrap()],
        vec!["--x", xn.to_str().unwrap(), "--y", yn.to_str().unwrap()],
    ] {
        let m = d.join("m.json");
        let mut full = vec![
            "fit",
            "--lambda",
            "0.1",
            "--tol",
            "1e-12",
            "--out",
            m.to_str().unwrap(),
        ];
        full.extend(args);
        let o = lariat(&full);
        assert!(o.status.success(), "{full:?}: {}", stderr(&o));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
        objectives.push(v["objective"].as_f64().unwrap());
    }
    assert!(
        (objectives[0] - objectives[1]).abs() < 1e-12
            && (objectives[0] - objectives[2]).abs() < 1e-12,
        "{objectives:?}"
    );
}

#[test]
fn demo_runs_and_recovers_features() {
    let o = lariat(&["demo", "--n", "100", "--p", "500", "--informative", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // Coordinate descent converges within the race's budget and finds the 5 true features;
    // subgradient descent makes no exact zeros.
    let row = |solver: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(solver))
            .unwrap_or_else(|| panic!("no {solver} row: {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let cd = row("cd");
    assert_eq!(cd.last().map(String::as_str), Some("converged"), "{out}");
    assert_eq!(cd[6], "5", "{out}");
    assert_eq!(row("subgradient")[4], "0", "{out}");
}

/// A lambda far below lambda_max (n > p) cannot be certified in f64: the warning says so
/// instead of advising more iterations; an ordinary stall still gets that advice.
#[test]
fn an_uncertifiable_lambda_is_called_that() {
    let dir = temp_dir("cli-tiny-lambda");
    let (x, y) = common::random_problem(100, 10, 3);
    let mut text = String::new();
    for i in 0..100 {
        let row: Vec<String> = (0..10).map(|j| format!("{:e}", x.col(j)[i])).collect();
        text.push_str(&format!("{},{:e}\n", row.join(","), y[i]));
    }
    let data = write(&dir, "d.csv", &text);
    let run = |extra: &[&str]| {
        let mut args = vec!["fit", "--x", data.to_str().unwrap(), "--target", "10"];
        args.extend(extra);
        args.extend(["--device", "cpu"]);
        stderr(&lariat(&args))
    };
    let tiny = run(&["--lambda-ratio", "1e-16", "--max-iter", "3000"]);
    assert!(tiny.contains("below what f64 can certify"), "{tiny}");
    let stalled = run(&[
        "--lambda-ratio",
        "0.01",
        "--tol",
        "1e-15",
        "--max-iter",
        "1",
    ]);
    assert!(stalled.contains("raise --max-iter or --tol"), "{stalled}");
    // Ridge has no lambda_max: a stall there is a stall, not "0.0e0 x lambda_max".
    let ridge = run(&[
        "--lambda",
        "1e-3",
        "--l1-ratio",
        "0",
        "--tol",
        "1e-15",
        "--max-iter",
        "1",
    ]);
    assert!(ridge.contains("raise --max-iter or --tol"), "{ridge}");
    // A lambda far below lambda_max is shown as a ratio that is not 0.0000.
    let o = lariat(&[
        "fit",
        "--x",
        data.to_str().unwrap(),
        "--target",
        "10",
        "--lambda",
        "1e-7",
        "--device",
        "cpu",
    ]);
    let model = stdout(&o)
        .lines()
        .find(|l| l.starts_with("model"))
        .map(str::to_string)
        .unwrap_or_default();
    let ratio = model
        .split_once('(')
        .and_then(|(_, r)| r.split_once(" x lambda_max"))
        .map(|(r, _)| r.parse::<f64>().unwrap_or(0.0))
        .unwrap_or(0.0);
    assert!(ratio > 0.0 && ratio < 1e-3, "{model}");
}

/// A run held between staging its outputs and publishing them: `path` on a small CSV in
/// `dir`, with `--csv` a FIFO (published first, so the run waits for a reader there) and
/// `--out` `out`; `wrap` is a command to run lariat under (`nohup`), if any.
#[cfg(unix)]
struct HeldRun {
    child: std::process::Child,
    fifo: PathBuf,
    out: PathBuf,
}

#[cfg(unix)]
impl HeldRun {
    fn start(dir: &Path, tag: &str, wrap: Option<&str>) -> HeldRun {
        let x = dir.join("x.csv");
        let mut text = String::from("a,b,y\n");
        for i in 0..20 {
            let (a, b) = (i as f64 * 0.37 % 1.0, (i * i) as f64 * 0.11 % 1.0);
            text.push_str(&format!("{a},{b},{}\n", 1.0 + 2.0 * a - b));
        }
        std::fs::write(&x, text).unwrap();
        let fifo = dir.join(format!("fifo-{tag}.csv"));
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let out = dir.join(format!("path-{tag}.json"));
        let bin = env!("CARGO_BIN_EXE_lariat");
        let mut cmd = match wrap {
            Some(w) => {
                let mut c = Command::new(w);
                c.arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = cmd
            .args(["path", "--x", x.to_str().unwrap(), "--target", "y"])
            .args(["--n-lambdas", "5", "-q", "--out", out.to_str().unwrap()])
            .args(["--csv", fifo.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let run = HeldRun { child, fifo, out };
        let t0 = std::time::Instant::now();
        while !run.staged() {
            assert!(t0.elapsed().as_secs() < 60, "no temporary was staged");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        run
    }

    /// Whether `--out`'s temporary exists beside it.
    fn staged(&self) -> bool {
        let name = self.out.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::read_dir(self.out.parent().unwrap())
            .unwrap()
            .any(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.starts_with(&format!(".{name}.lariat-")) && n.ends_with(".tmp")
            })
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

/// A run ended by SIGTERM or SIGINT after staging its outputs leaves no temporary and no
/// output.
#[cfg(unix)]
#[test]
fn a_signal_while_outputs_wait_leaves_no_temporary() {
    use std::os::unix::process::ExitStatusExt;
    let dir = common::temp_dir("cli-signal");
    for (sig, name) in [(15, "TERM"), (2, "INT")] {
        let mut run = HeldRun::start(&dir, name, None);
        run.signal(name);
        let status = run.child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert!(!run.staged(), "SIG{name} left the temporary of --out");
        assert!(!run.out.exists(), "SIG{name}: --out was published");
    }
}

/// A hangup the run inherited as ignored (`nohup lariat ...`) stays ignored: the run goes on
/// and publishes its outputs (the cleanup handler once replaced SIG_IGN, so a hangup killed it).
#[cfg(unix)]
#[test]
fn an_ignored_hangup_stays_ignored() {
    let dir = common::temp_dir("cli-nohup");
    // nohup sets SIGHUP to SIG_IGN and execs lariat in the same process.
    let mut run = HeldRun::start(&dir, "HUP", Some("nohup"));
    run.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(300));
    if let Some(status) = run.child.try_wait().unwrap() {
        panic!("the ignored SIGHUP ended the run: {status:?}");
    }
    // Reading the FIFO lets the run publish and finish.
    let csv = std::fs::read_to_string(&run.fifo).unwrap();
    let status = run.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(csv.starts_with("lambda,feature,value"), "{csv}");
    assert!(run.out.exists() && !run.staged());
}

/// A file's control characters reach the terminal escaped: a field holding ESC (the start of
/// a terminal escape sequence) or NUL is quoted in the error as `\u{1b}`, never raw.
#[test]
fn control_characters_of_a_file_are_escaped_in_messages() {
    let dir = temp_dir("cli-control");
    let x = dir.join("x.csv");
    // The stderr of a fit of a CSV whose third row is `3,<field>` (not a number: an error).
    let fit_with = |field: &[u8]| {
        std::fs::write(&x, [&b"a,y\n1,2\n3,"[..], field, b"\n4,5\n"].concat()).unwrap();
        let o = lariat(&[
            "fit",
            "--x",
            x.to_str().unwrap(),
            "--target",
            "y",
            "--lambda",
            "0.1",
        ]);
        assert_eq!(o.status.code(), Some(1));
        o.stderr
    };
    let raw = fit_with(b"\x1b[2J\x00oops");
    assert!(!raw.contains(&0x1b) && !raw.contains(&0), "{raw:?}");
    let err = String::from_utf8_lossy(&raw).into_owned();
    assert!(err.contains("\\u{1b}[2J\\u{0}oops"), "{err}");
    // A right-to-left override would reorder what the terminal shows.
    let err = String::from_utf8_lossy(&fit_with("ok\u{202e}txt".as_bytes())).into_owned();
    assert!(!err.contains('\u{202e}'), "{err:?}");
    assert!(err.contains("ok\\u{202e}txt"), "{err}");
}

/// A synthetic design the machine cannot hold is an error that says so (exit 1), not an abort
/// of the process (SIGABRT, "memory allocation failed").
#[test]
fn a_design_too_large_for_memory_is_an_error_not_an_abort() {
    for cmd in [
        vec!["demo", "--n", "100000000", "--p", "100000000"],
        vec![
            "bench",
            "--n",
            "100000000",
            "--p",
            "100000000",
            "--device",
            "cpu",
        ],
    ] {
        let o = lariat(&cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(
            err.contains("needs 80000000.00 GB of memory"),
            "{cmd:?}: {err}"
        );
    }
}

/// A `WGPU_BACKEND` that names no backend makes wgpu search none; `info` and a GPU run say
/// so, instead of "no adapter" with advice to install a driver; an `LARIAT_ADAPTER` that
/// matches nothing `info` lists is warned about.
#[cfg(feature = "gpu")]
#[test]
fn a_backend_or_adapter_setting_that_finds_nothing_is_named() {
    let o = Command::new(env!("CARGO_BIN_EXE_lariat"))
        .arg("info")
        .env("WGPU_BACKEND", "garbage")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        text.contains("WGPU_BACKEND='garbage' names no backend"),
        "{text}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_lariat"))
        .arg("info")
        .env("LARIAT_ADAPTER", "no-such-adapter-zzz")
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    if out.contains("backend ") {
        assert!(
            err.contains("LARIAT_ADAPTER='no-such-adapter-zzz' matches none"),
            "{err}"
        );
    }
}
