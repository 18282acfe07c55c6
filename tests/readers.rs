//! Input-side rules of issue 9 through the real binary: the CSV header rule and what the
//! summary says about it, `--target` by name first, pandas' index column, messages that name
//! the real problem (lambdas with commas, CR-only line endings, LARIAT_GPU_MEMORY).
//! Expected values are written here from the files' text, never produced by lariat.

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

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Fits a Ridge-free, nearly unpenalised Lasso and returns the model JSON.
fn fit(args: &[&str], dir: &Path) -> (serde_json::Value, String, String) {
    let m = dir.join("m.json");
    let mut full = vec!["fit", "--lambda", "1e-6", "--tol", "1e-12", "--out", s(&m)];
    full.extend_from_slice(args);
    let o = lariat(&full);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{full:?}: {stderr}");
    let json = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    (json, stdout, stderr)
}

/// y = 1 + 2 a - b exactly, in 5 rows; the coefficients recovered tell which columns were
/// used as what.
const ROWS: [[f64; 2]; 5] = [[1.0, 0.0], [2.0, 1.0], [0.0, 3.0], [4.0, 2.0], [3.0, 5.0]];

fn y_of(r: &[f64; 2]) -> f64 {
    1.0 + 2.0 * r[0] - r[1]
}

fn coef(m: &serde_json::Value) -> Vec<(u64, f64)> {
    let idx = m["coef"]["indices"].as_array().unwrap();
    let val = m["coef"]["values"].as_array().unwrap();
    idx.iter()
        .zip(val)
        .map(|(i, v)| (i.as_u64().unwrap(), v.as_f64().unwrap()))
        .collect()
}

fn close(got: &[(u64, f64)], want: &[(u64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            g.0 == w.0 && (g.1 - w.1).abs() < 1e-4,
            "{got:?} vs {want:?}"
        );
    }
}

/// pandas: `DataFrame(...).to_csv()` (unnamed index) and `.to_csv(index=False)` of a frame
/// with default column names 0, 1, 2.
#[test]
fn pandas_layouts_are_read_as_pandas_wrote_them() {
    let d = temp_dir("readers-pandas");
    let mut indexed = String::from(",a,b,y\n");
    let mut numeric = String::from("0,1,2\n");
    for (i, r) in ROWS.iter().enumerate() {
        indexed += &format!("{i},{},{},{}\n", r[0], r[1], y_of(r));
        numeric += &format!("{},{},{}\n", r[0], r[1], y_of(r));
    }
    let x = write(&d, "indexed.csv", indexed.as_bytes());
    let (m, stdout, stderr) = fit(&["--x", s(&x), "--target", "y"], &d);
    assert_eq!(m["n_features"], 2, "the index column was fitted on");
    assert_eq!(m["feature_names"], serde_json::json!(["a", "b"]));
    close(&coef(&m), &[(0, 2.0), (1, -1.0)]);
    assert!(
        stderr.contains("note: ")
            && stderr.contains("column 0 (0-based, values 0 to 4) is row labels"),
        "{stderr}"
    );
    assert!(stdout.contains("first row is the header"), "{stdout}");

    // `--target 2` is the column named "2" (here also at index 2).
    let x = write(&d, "numeric.csv", numeric.as_bytes());
    let (m, stdout, stderr) = fit(&["--x", s(&x), "--target", "2"], &d);
    assert_eq!(m["feature_names"], serde_json::json!(["0", "1"]));
    close(&coef(&m), &[(0, 2.0), (1, -1.0)]);
    assert!(
        stdout.contains("first row is the header (it reads 0,1,2, pandas' default column names)"),
        "{stdout}"
    );
    // Three columns only: the guess is warned about.
    assert!(
        stderr.contains("warning: ") && stderr.contains("--no-header"),
        "{stderr}"
    );
    // The same numbers without the header row: the first row is data.
    let body: String = numeric.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let x = write(&d, "plain.csv", body.as_bytes());
    let (m, stdout, _) = fit(&["--x", s(&x), "--target", "2"], &d);
    assert_eq!(m["n_samples"], 5);
    assert!(
        stdout.contains("no header row (all 3 of its fields are numbers)"),
        "{stdout}"
    );
}

/// `--target 1` is the column *named* 1 even when that is not column 1, and says so.
#[test]
fn target_name_beats_position_with_a_warning() {
    let d = temp_dir("readers-target");
    let mut text = String::from("a,1,b\n");
    for r in ROWS {
        text += &format!("{},{},{}\n", r[0], y_of(&r), r[1]);
    }
    let x = write(&d, "x.csv", text.as_bytes());
    let (m, _, stderr) = fit(&["--x", s(&x), "--target", "1"], &d);
    assert_eq!(m["feature_names"], serde_json::json!(["a", "b"]));
    close(&coef(&m), &[(0, 2.0), (1, -1.0)]);
    // Name and index agree: nothing to warn about the target.
    assert!(!stderr.contains("--target 1 is"), "{stderr}");
    // Named "2" at index 1: the name wins, with a warning naming both readings.
    let text = text.replacen("a,1,b", "a,2,b", 1);
    let x = write(&d, "x2.csv", text.as_bytes());
    let (m, _, stderr) = fit(&["--x", s(&x), "--target", "2"], &d);
    close(&coef(&m), &[(0, 2.0), (1, -1.0)]);
    assert!(
        stderr.contains("warning: ")
            && stderr.contains(
                "--target 2 is the column named '2' (0-based index 1), not the column at index 2"
            ),
        "{stderr}"
    );
}

#[test]
fn a_bad_cell_in_a_header_less_first_row_is_reported() {
    let d = temp_dir("readers-badcell");
    let x = write(&d, "x.csv", b"1,2,oops,4\n5,6,7,8\n");
    let y = write(&d, "y.csv", b"1\n2\n");
    let o = lariat(&["fit", "--x", s(&x), "--y", s(&y), "--lambda", "1"]);
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("x.csv:1:3: cannot parse 'oops' as a number")
            && stderr.contains("pass --header if it is a header"),
        "{stderr}"
    );
}

#[test]
fn cr_only_line_endings_are_named() {
    let d = temp_dir("readers-cr");
    let x = write(&d, "x.csv", b"a,b,y\r1,2,3\r4,5,6\r");
    let o = lariat(&["fit", "--x", s(&x), "--target", "y", "--lambda", "1"]);
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("x.csv:1:6: carriage return (CR) inside a line")
            && stderr.contains("CR-only"),
        "{stderr}"
    );
    let x = write(&d, "x.svm", b"1 1:2\r2 1:3\r");
    let o = lariat(&["fit", "--x", s(&x), "--lambda", "1"]);
    assert!(
        out(&o).1.contains("x.svm:1:6: carriage return (CR)"),
        "{}",
        out(&o).1
    );
}

#[test]
fn lambdas_with_commas_are_named_as_such() {
    let d = temp_dir("readers-lambdas");
    let x = write(&d, "x.csv", b"a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n");
    let l = write(&d, "grid.txt", b"0.5,0.1,0.01\n");
    let o = lariat(&["path", "--x", s(&x), "--target", "y", "--lambdas", s(&l)]);
    let (_, stderr) = out(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("grid.txt:1:4: a lambdas file has one value per line")
            && !stderr.contains("--target"),
        "{stderr}"
    );
    // A .npy grid is checked the same way, by index.
    let l = d.join("grid.npy");
    lariat::data::npy::write_npy_vec(&l, &[0.5, -1.0]).unwrap();
    let o = lariat(&["path", "--x", s(&x), "--target", "y", "--lambdas", s(&l)]);
    assert!(
        out(&o)
            .1
            .contains("grid.npy: lambda -1 at index 1 (0-based) is not > 0"),
        "{}",
        out(&o).1
    );
    // One per line, with a name on top, works.
    let l = write(&d, "grid2.txt", b"lambda\n0.5\n0.1\n");
    let o = lariat(&[
        "path",
        "--x",
        s(&x),
        "--target",
        "y",
        "--lambdas",
        s(&l),
        "-q",
    ]);
    assert!(o.status.success(), "{}", out(&o).1);
}

/// `LARIAT_GPU_MEMORY` that is not a number is an error; a small budget is printed in bytes.
#[cfg(feature = "gpu")]
#[test]
fn gpu_memory_budget_is_read_or_refused() {
    let d = temp_dir("readers-gpumem");
    let x = write(&d, "x.csv", b"a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n");
    let run = |budget: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_lariat"))
            .args([
                "fit",
                "--x",
                s(&x),
                "--target",
                "y",
                "--lambda",
                "0.1",
                "--device",
                "gpu",
            ])
            .env("LARIAT_GPU_MEMORY", budget)
            .output()
            .unwrap();
        (o.status.code(), out(&o).1)
    };
    let (code, err) = run("abc");
    if err.contains("adapter") && std::env::var(common::REQUIRE_GPU_ENV).as_deref() != Ok("1") {
        eprintln!("skipped: no GPU adapter ({err})");
        return;
    }
    assert_eq!(code, Some(2), "{err}: an invalid value is a usage error");
    assert!(
        err.contains("invalid LARIAT_GPU_MEMORY = 'abc': a number of bytes"),
        "{err}"
    );
    let (code, err) = run("1000");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("has 1000 bytes available") && !err.contains("0.00 GiB"),
        "{err}"
    );
}

/// `LARIAT_SPECULATIVE_PASS` takes auto, always or never; anything else is refused by name.
#[cfg(feature = "gpu")]
#[test]
fn speculative_pass_mode_is_read_or_refused() {
    let d = temp_dir("readers-speculate");
    let x = write(&d, "x.csv", b"a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n");
    let run = |mode: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_lariat"))
            .args(["fit", "--x", s(&x), "--target", "y", "--lambda", "0.1"])
            .args(["--device", "gpu", "-q"])
            .env("LARIAT_SPECULATIVE_PASS", mode)
            .output()
            .unwrap();
        (o.status.code(), out(&o).1)
    };
    let (code, err) = run("sometimes");
    if err.contains("adapter") && std::env::var(common::REQUIRE_GPU_ENV).as_deref() != Ok("1") {
        eprintln!("skipped: no GPU adapter ({err})");
        return;
    }
    assert_eq!(code, Some(2), "{err}: an invalid value is a usage error");
    assert!(
        err.contains("invalid LARIAT_SPECULATIVE_PASS = 'sometimes': one of auto, always, never"),
        "{err}"
    );
    for mode in ["auto", "always", "never"] {
        let (code, err) = run(mode);
        assert_eq!(code, Some(0), "{mode}: {err}");
    }
}

/// `LARIAT_WG` and `LARIAT_TPC` take positive integers (rounded to powers of two); anything
/// else is refused by name, not ignored.
#[cfg(feature = "gpu")]
#[test]
fn kernel_sizes_are_read_or_refused() {
    let d = temp_dir("readers-wg");
    let x = write(&d, "x.csv", b"a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n");
    let run = |name: &str, value: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_lariat"))
            .args(["fit", "--x", s(&x), "--target", "y", "--lambda", "0.1"])
            .args(["--device", "gpu", "-q"])
            .env(name, value)
            .output()
            .unwrap();
        (o.status.code(), out(&o).1)
    };
    let (code, err) = run("LARIAT_WG", "abc");
    if err.contains("adapter") && std::env::var(common::REQUIRE_GPU_ENV).as_deref() != Ok("1") {
        eprintln!("skipped: no GPU adapter ({err})");
        return;
    }
    assert_eq!(code, Some(2), "{err}: an invalid value is a usage error");
    assert!(
        err.contains("invalid LARIAT_WG = 'abc': a positive integer"),
        "{err}"
    );
    let (code, err) = run("LARIAT_TPC", "0");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("invalid LARIAT_TPC = '0'"), "{err}");
    let (code, err) = run("LARIAT_WG", "100");
    assert_eq!(code, Some(0), "{err}");
}

/// A one-column file that starts with a lone `0` (pandas' `Series.to_csv(index=False)` and
/// `DataFrame.to_csv(index=False)` of one column): above decimals it is pandas' name, and the
/// fit has the file's rows; above an integer it is refused until a flag says which; the
/// flags decide both ways.
#[test]
fn a_lone_zero_above_decimals_is_pandas_name_and_above_integers_is_asked_about() {
    let d = temp_dir("readers-lone-zero");
    // y = 1 + 2 x exactly on 4 rows; a phantom row (0, 0) would move the fit off it.
    let xs = [0.5, 1.5, 2.25, 3.0];
    let col = |f: &dyn Fn(f64) -> f64| {
        let mut t = String::from("0\n");
        for &x in &xs {
            t.push_str(&format!("{:?}\n", f(x)));
        }
        t
    };
    let x = write(&d, "x.csv", col(&|x| x).as_bytes());
    let y = write(&d, "y.csv", col(&|x| 1.0 + 2.0 * x).as_bytes());
    let (m, _, stderr) = fit(&["--x", s(&x), "--y", s(&y)], &d);
    assert_eq!(m["n_samples"].as_u64(), Some(4), "{stderr}");
    close(&coef(&m), &[(0, 2.0)]);
    assert!(
        stderr.contains("the first row '0' was taken as a header"),
        "{stderr}"
    );
    // Integers below: refused, naming both flags; each flag then decides.
    let xi = write(&d, "xi.csv", b"0\n1\n2\n3\n4\n");
    let yi = write(&d, "yi.csv", b"0\n3\n5\n7\n9\n");
    let o = lariat(&["fit", "--x", s(&xi), "--y", s(&yi), "--lambda", "1e-6"]);
    let err = out(&o).1;
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("xi.csv:1:1") && err.contains("--header or --no-header"),
        "{err}"
    );
    let (m, _, _) = fit(&["--x", s(&xi), "--y", s(&yi), "--header"], &d);
    assert_eq!(m["n_samples"].as_u64(), Some(4));
    close(&coef(&m), &[(0, 2.0)]);
    let (m, _, _) = fit(&["--x", s(&xi), "--y", s(&yi), "--no-header"], &d);
    assert_eq!(m["n_samples"].as_u64(), Some(5));
    // A --y above integers is decided by X's rows (the reading that matches, with a warning).
    let x4 = write(&d, "x4.csv", b"a\n1\n2\n3\n4\n");
    let (m, _, stderr) = fit(&["--x", s(&x4), "--y", s(&yi)], &d);
    assert_eq!(m["n_samples"].as_u64(), Some(4));
    close(&coef(&m), &[(0, 2.0)]);
    assert!(
        stderr.contains("was taken as a header: so it has the 4 values"),
        "{stderr}"
    );
    let x5 = write(&d, "x5.csv", b"a\n0\n1.5\n2.5\n3.5\n4.5\n");
    let (m, _, stderr) = fit(&["--x", s(&x5), "--y", s(&yi)], &d);
    assert_eq!(m["n_samples"].as_u64(), Some(5));
    assert!(
        stderr.contains("was taken as data: so it has the 5 values"),
        "{stderr}"
    );
    // Neither reading gives X's rows: the count is the error, at the lone '0' (line 3 after
    // two blank lines), not advice about --header.
    let yb = write(&d, "yb.csv", b"\n\n0\n1\n2\n");
    let o = lariat(&["fit", "--x", s(&x4), "--y", s(&yb), "--lambda", "0.1"]);
    let err = out(&o).1;
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("yb.csv:3:1: 2 values with this lone '0' as a header, 3 with it as data, and 4 were expected"),
        "{err}"
    );
    let xb = write(&d, "xb.csv", b"\n0\n1\n2\n");
    let o = lariat(&["fit", "--x", s(&xb), "--y", s(&yi), "--lambda", "0.1"]);
    assert!(
        out(&o)
            .1
            .contains("xb.csv:2:1: the first row is a lone '0'"),
        "{}",
        out(&o).1
    );
    // The same --y from a pipe, which can be read only once: decided the same way.
    #[cfg(unix)]
    {
        use std::io::Write;
        let m = d.join("piped.json");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lariat"))
            .args(["fit", "--x", s(&x4), "--y", "/dev/stdin", "--format", "csv"])
            .args(["--lambda", "1e-6", "--tol", "1e-12", "--out", s(&m)])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(&yi).unwrap()).unwrap();
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", out(&o).1);
        let piped: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
        assert_eq!(piped["n_samples"].as_u64(), Some(4));
        close(&coef(&piped), &[(0, 2.0)]);
    }
    // Above a row that is not a number, it is data, and the bad row is the error.
    let bad = write(&d, "bad.csv", b"0\nabc\n1.5\n");
    let o = lariat(&["fit", "--x", s(&bad), "--y", s(&yi), "--lambda", "0.1"]);
    assert!(out(&o).1.contains("bad.csv:2:1"), "{}", out(&o).1);
}

/// A `.npy` X from a pipe (`--x /dev/stdin`, which cannot be memory-mapped) fits as the file
/// does, and a directory named like one is refused by name.
#[cfg(unix)]
#[test]
fn a_npy_from_a_pipe_reads_and_a_directory_is_named() {
    use std::io::Write;
    use std::process::Stdio;
    let d = temp_dir("readers-npy-pipe");
    let (n, p) = (6, 2);
    let cols = [1.0, 2.0, 0.0, 4.0, 3.0, 5.0, 0.0, 1.0, 3.0, 2.0, 5.0, 1.0];
    let xs = d.join("x.npy");
    lariat::data::npy::write_npy_f64(&xs, n, p, &cols).unwrap();
    let y: Vec<f64> = (0..n).map(|i| 1.0 + 2.0 * cols[i] - cols[n + i]).collect();
    let ys = d.join("y.npy");
    lariat::data::npy::write_npy_vec(&ys, &y).unwrap();
    let (from_file, _, _) = fit(&["--x", s(&xs), "--y", s(&ys)], &d);
    let m = d.join("piped.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lariat"))
        .args(["fit", "--x", "/dev/stdin", "--format", "npy", "--y", s(&ys)])
        .args(["--lambda", "1e-6", "--tol", "1e-12", "--out", s(&m)])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&xs).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", out(&o).1);
    let piped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(piped["coef"], from_file["coef"]);
    let dir = d.join("dir.npy");
    std::fs::create_dir(&dir).unwrap();
    let o = lariat(&["fit", "--x", s(&dir), "--y", s(&ys), "--lambda", "0.1"]);
    assert!(
        out(&o).1.contains("is a directory, not a .npy file"),
        "{}",
        out(&o).1
    );
}

/// np.savetxt's space-separated text: named in the error when the delimiter is not given,
/// read with `--delimiter space` (aligned columns too).
#[test]
fn space_separated_text_is_named_then_read() {
    let d = temp_dir("readers-space");
    let (mut text, mut ys) = (String::new(), String::new());
    for r in ROWS {
        text.push_str(&format!(" {}   {}  \n", r[0], r[1]));
        ys.push_str(&format!("{}\n", y_of(&r)));
    }
    let x = write(&d, "x.txt", text.as_bytes());
    let y = write(&d, "y.csv", ys.as_bytes());
    let o = lariat(&["fit", "--x", s(&x), "--y", s(&y), "--lambda", "0.1"]);
    assert!(
        out(&o).1.contains("pass --delimiter space"),
        "{}",
        out(&o).1
    );
    let (m, _, _) = fit(
        &[
            "--x",
            s(&x),
            "--y",
            s(&y),
            "--delimiter",
            "space",
            "--no-header",
        ],
        &d,
    );
    close(&coef(&m), &[(0, 2.0), (1, -1.0)]);
}

/// 0-based fold labels in a text file start with a lone `0` above integers: they are data,
/// decided by the count of X's rows, and give the folds that the same labels from 1 give.
#[test]
fn zero_based_fold_labels_are_read_as_data() {
    let d = temp_dir("readers-foldid");
    let mut x = String::from("a,b,y\n");
    for i in 0..12 {
        let (a, b) = ((i % 5) as f64, ((i * 7) % 4) as f64);
        x.push_str(&format!(
            "{a},{b},{}\n",
            1.0 + 2.0 * a - b + 0.1 * (i % 3) as f64
        ));
    }
    let xs = write(&d, "x.csv", x.as_bytes());
    let labels: Vec<usize> = (0..12).map(|i| i % 3).collect();
    let text = |shift: usize| {
        labels
            .iter()
            .map(|l| format!("{}\n", l + shift))
            .collect::<String>()
    };
    let zero = write(&d, "f0.txt", text(0).as_bytes());
    let one = write(&d, "f1.txt", text(1).as_bytes());
    let cv = |f: &Path, out: &str| {
        let o = d.join(out);
        let r = lariat(&[
            "cv",
            "--x",
            s(&xs),
            "--target",
            "y",
            "--foldid",
            s(f),
            "--n-lambdas",
            "5",
            "-q",
            "--out",
            s(&o),
        ]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&o).unwrap()).unwrap();
        v["cvm"].clone()
    };
    assert_eq!(cv(&zero, "c0.json"), cv(&one, "c1.json"));
}
