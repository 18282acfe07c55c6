//! Issue 9: property tests of every parser, run in CI (the fuzzer, `scripts/fuzz.sh`, is not).
//!
//! 1. Round trips: random matrices written here as CSV, LIBSVM and `.npy` read back to the same
//!    numbers (the expected values are the generated ones, not the reader's).
//! 2. Random byte mutations (overwrite, insert, delete, truncate, duplicate) of valid files of
//!    every format never panic a parser, and every error names the input (`fuzz/drive.rs`).

#[path = "../fuzz/drive.rs"]
mod drive;

use std::path::Path;

use lariat::data::{read_dataset_bytes, Format, IndexBase, ReadOptions};
use lariat::design::Design;
use proptest::prelude::*;

/// A small matrix, row-major, with values that exercise the number parser: integers, tiny and
/// huge magnitudes, negative zero, and exact zeros (sparse entries).
fn matrix() -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
    (1usize..6, 1usize..6).prop_flat_map(|(n, p)| {
        let value = prop_oneof![
            Just(0.0),
            Just(-0.0),
            (-1000i32..1000).prop_map(f64::from),
            -1e6f64..1e6,
            (-300i32..300, -9.9f64..9.9).prop_map(|(e, m)| m * 10f64.powi(e)),
        ];
        (Just(n), Just(p), prop::collection::vec(value, n * p))
    })
}

fn col_major(x: &dyn Design) -> Vec<f64> {
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut out = Vec::with_capacity(n * p);
    let mut col = vec![0.0; n];
    for j in 0..p {
        let mut e = vec![0.0; p];
        e[j] = 1.0;
        x.matvec(&e, &mut col);
        out.extend_from_slice(&col);
    }
    out
}

fn transpose(n: usize, p: usize, rows: &[f64]) -> Vec<f64> {
    (0..p)
        .flat_map(|j| (0..n).map(move |i| rows[i * p + j]))
        .collect()
}

fn csv_text(n: usize, p: usize, rows: &[f64]) -> String {
    let names: Vec<String> = (0..p).map(|j| format!("x{j}")).collect();
    let mut text = names.join(",") + "\n";
    for i in 0..n {
        let fields: Vec<String> = rows[i * p..(i + 1) * p]
            .iter()
            .map(|v| v.to_string())
            .collect();
        text += &(fields.join(",") + "\n");
    }
    text
}

/// LIBSVM with label = row number; `base` is the number of the first feature.
fn libsvm_text(n: usize, p: usize, rows: &[f64], base: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text += &i.to_string();
        for j in 0..p {
            if rows[i * p + j] != 0.0 {
                text += &format!(" {}:{}", j + base, rows[i * p + j]);
            }
        }
        text += "\n";
    }
    text
}

fn npy_bytes(n: usize, p: usize, rows: &[f64]) -> Vec<u8> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("lariat-props-{}-{k}.npy", std::process::id()));
    lariat::data::npy::write_npy_f64(&path, n, p, &transpose(n, p, rows)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

fn lambdas_text(values: &[f64]) -> String {
    let mut text = String::from("lambda\n");
    for v in values {
        text += &format!("{}\n", v.abs());
    }
    text
}

fn model_text(n: usize, p: usize, rows: &[f64]) -> String {
    let coef: Vec<f64> = rows.iter().take(p).copied().collect();
    let model = lariat::model::Model {
        intercept: rows[0],
        coef: lariat::model::SparseCoef::from_dense(&coef),
        n_features: p,
        feature_names: Some((0..p).map(|j| format!("x{j}")).collect()),
        lambda: 0.1,
        l1_ratio: 1.0,
        objective: 1.0,
        duality_gap: 0.0,
        gap_tolerance: 0.0,
        tol: 1e-6,
        iterations: n,
        full_passes: 1,
        converged: true,
        device: "cpu".into(),
        solver: "cd".into(),
        seconds: 0.0,
        fit_intercept: true,
        standardize: false,
        n_samples: n,
        gpu: None,
    };
    model.to_json()
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    /// Copies a run of up to 16 bytes from the first position to the second.
    Duplicate(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    // Bytes that matter to the parsers more often than uniform bytes would hit them.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b",;\t \n\r\"#:.-+eE0123456789{}[]()'TFNa\xff\xef".to_vec()),
    ];
    let edit = prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
    ];
    prop::collection::vec(edit, 1..6)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Set(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            Edit::Duplicate(a, b) if len > 0 => {
                let (a, b) = (a % len, b % len);
                let run: Vec<u8> = bytes[a..(a + 16).min(len)].to_vec();
                bytes.splice(b..b, run);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csv_round_trips((n, p, rows) in matrix()) {
        let text = csv_text(n, p, &rows);
        let ds = read_dataset_bytes(text.as_bytes(), Path::new("t.csv"), &ReadOptions::default()).unwrap();
        prop_assert_eq!(ds.feature_names.unwrap().len(), p);
        prop_assert_eq!(col_major(ds.x.as_ref()), transpose(n, p, &rows));
    }

    #[test]
    fn libsvm_round_trips_in_both_bases((n, p, rows) in matrix(), zero in any::<bool>()) {
        let (base, first) = if zero { (IndexBase::Zero, 0) } else { (IndexBase::One, 1) };
        let text = libsvm_text(n, p, &rows, first);
        let ds = lariat::data::libsvm::read_from(text.as_bytes(), Path::new("t.svm"), base).unwrap();
        prop_assert_eq!(ds.y.unwrap(), (0..n).map(|i| i as f64).collect::<Vec<_>>());
        // The width is the last non-zero column: trailing zero columns are not in the file.
        let width = (0..p).rev().find(|&j| (0..n).any(|i| rows[i * p + j] != 0.0)).map_or(0, |j| j + 1);
        prop_assert_eq!(ds.x.n_cols(), width);
        let want: Vec<f64> = transpose(n, p, &rows)[..n * width].iter().map(|v| v + 0.0).collect();
        let got: Vec<f64> = col_major(ds.x.as_ref()).iter().map(|v| v + 0.0).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn npy_round_trips((n, p, rows) in matrix()) {
        let bytes = npy_bytes(n, p, &rows);
        let ds = read_dataset_bytes(&bytes, Path::new("t.npy"), &ReadOptions::default()).unwrap();
        prop_assert_eq!(col_major(ds.x.as_ref()), transpose(n, p, &rows));
    }

    #[test]
    fn mutated_csv_never_panics((n, p, rows) in matrix(), e in edits(), sel in any::<u8>()) {
        let mut bytes = vec![sel];
        bytes.extend(apply(csv_text(n, p, &rows).into_bytes(), &e));
        drive::csv(&bytes);
    }

    #[test]
    fn mutated_libsvm_never_panics((n, p, rows) in matrix(), e in edits()) {
        drive::libsvm(&apply(libsvm_text(n, p, &rows, 1).into_bytes(), &e));
    }

    #[test]
    fn mutated_npy_never_panics((n, p, rows) in matrix(), e in edits()) {
        drive::npy(&apply(npy_bytes(n, p, &rows), &e));
    }

    #[test]
    fn mutated_lambdas_never_panic((_n, _p, rows) in matrix(), e in edits()) {
        drive::lambdas(&apply(lambdas_text(&rows).into_bytes(), &e));
    }

    #[test]
    fn mutated_models_never_panic((n, p, rows) in matrix(), e in edits()) {
        drive::model(&apply(model_text(n, p, &rows).into_bytes(), &e));
    }
}

/// The format table of `read_dataset_bytes` is the CLI's: `.svm` is LIBSVM, one-based.
#[test]
fn bytes_entry_point_dispatches_like_files() {
    let opts = ReadOptions {
        format: Some(Format::Libsvm),
        ..ReadOptions::default()
    };
    let ds = read_dataset_bytes(b"1 2:3\n", Path::new("t.dat"), &opts).unwrap();
    assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (1, 2));
}
