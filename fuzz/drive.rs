//! What each fuzz target does with its input, in one place, so that the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`), the committed crash regressions (`tests/fuzz_regressions.rs`)
//! and the mutation property tests (`tests/parser_props.rs`) run exactly the same code.
//!
//! Each function feeds bytes to a parser as the command line would, and checks what must hold
//! on every input, valid or not: no panic (the harness sees it), and an error that names the
//! input (its message starts with the path). A parsed value is also used the way `fit` and
//! `predict` use it, so that an inconsistent value (a width that disagrees with the data)
//! shows up here, not later.

#![allow(dead_code)]

use std::path::Path;

use lariat::data::{
    csv, lambdas, libsvm, npy, read_dataset_bytes, Format, Header, IndexBase, IndexCol,
    ReadOptions, Target,
};
use lariat::design::{Dense, Design};
use lariat::model::Model;

/// Every error must start by naming the input.
fn check_err(path: &Path, e: &lariat::Error) {
    let msg = e.to_string();
    let name = path.display().to_string();
    assert!(
        msg.starts_with(&name) || msg.starts_with("invalid "),
        "error does not name the input: {msg}"
    );
}

/// Uses a parsed matrix as a fit would: one product each way, and the column means (a
/// matrix whose storage disagrees with its shape panics here).
fn exercise(x: &dyn Design) {
    let (n, p) = (x.n_rows(), x.n_cols());
    // The readers refuse empty matrices; sizes are bounded by the input's length otherwise.
    assert!(n > 0 && p > 0, "an empty matrix got through: {n} x {p}");
    // A LIBSVM file may imply up to 2^24 columns in a few bytes; the O(p) work below is then
    // the fit's cost, not the parser's, and would only slow the fuzzer down.
    if p > 1 << 16 {
        return;
    }
    let w = vec![1.0; p];
    let mut out = vec![0.0; n];
    x.matvec(&w, &mut out);
    let mut back = vec![0.0; p];
    x.rmatvec(&out, &mut back);
    // Sums of huge finite values may overflow; that is a matter for the fit (issue 9, item
    // 10), not for the parser, so only the shapes are checked here.
    assert_eq!(x.col_means().len(), p);
}

/// `.npy`: the header and body, as a design matrix and as a vector.
pub fn npy(data: &[u8]) {
    let path = Path::new("fuzz.npy");
    match read_dataset_bytes(data, path, &ReadOptions::default()) {
        Ok(ds) => exercise(ds.x.as_ref()),
        Err(e) => check_err(path, &e),
    }
    match npy::read_vector_bytes(data, path) {
        Ok(v) => assert!(v.iter().all(|x| x.is_finite())),
        Err(e) => check_err(path, &e),
    }
}

/// The first byte picks the options (so the fuzzer explores them too); the rest is the file.
fn split_options(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (b, rest),
        None => (0, data),
    }
}

/// CSV: as `--x` with the header, index and target options the first byte selects, and as a
/// `--y` file.
pub fn csv(data: &[u8]) {
    let path = Path::new("fuzz.csv");
    let (sel, text) = split_options(data);
    let opts = ReadOptions {
        format: Some(Format::Csv),
        header: [Header::Auto, Header::Yes, Header::No][usize::from(sel % 3)],
        index_col: [IndexCol::Auto, IndexCol::None, IndexCol::Column(1)][usize::from(sel / 3 % 3)],
        target: [
            None,
            Some(Target::parse("0")),
            Some(Target::parse("y")),
            Some(Target::Index(2)),
        ][usize::from(sel / 9 % 4)]
        .clone(),
        delimiter: [None, Some(b';'), Some(b'\t')][usize::from(sel / 36 % 3)],
        ..ReadOptions::default()
    };
    match read_dataset_bytes(text, path, &opts) {
        Ok(ds) => {
            exercise(ds.x.as_ref());
            if let Some(names) = &ds.feature_names {
                assert_eq!(names.len(), ds.x.n_cols(), "one name per column");
            }
            if let Some(y) = &ds.y {
                assert_eq!(y.len(), ds.x.n_rows(), "one target value per row");
            }
        }
        Err(e) => check_err(path, &e),
    }
    match csv::read_vector_from(text, path, &opts) {
        Ok((y, _)) => assert!(y.iter().all(|v| v.is_finite())),
        Err(e) => check_err(path, &e),
    }
}

/// LIBSVM, one-based and zero-based.
pub fn libsvm(data: &[u8]) {
    let path = Path::new("fuzz.svm");
    for base in [IndexBase::One, IndexBase::Zero] {
        match libsvm::read_from(data, path, base) {
            Ok(ds) => {
                let y = ds.y.as_ref().expect("LIBSVM carries labels");
                assert_eq!(y.len(), ds.x.n_rows());
                if ds.x.n_rows() > 0 && ds.x.n_cols() > 0 {
                    exercise(ds.x.as_ref());
                }
            }
            Err(e) => check_err(path, &e),
        }
    }
}

/// The `--lambdas` text file.
pub fn lambdas(data: &[u8]) {
    let path = Path::new("fuzz.txt");
    match lambdas::read_text(data, path) {
        Ok(v) => assert!(v.iter().all(|x| x.is_finite())),
        Err(e) => check_err(path, &e),
    }
}

/// The model JSON, then `predict`'s column matching against a small matrix with the model's
/// names (when it has them), by name and by position.
pub fn model(data: &[u8]) {
    let path = Path::new("fuzz.json");
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let model = match Model::from_json(text, path) {
        Ok(m) => m,
        Err(e) => return check_err(path, &e),
    };
    // Small data only: a model may claim any n_features, and by-position matching of a LIBSVM
    // file (implied width) allows fewer columns than that.
    let p = model.n_features.clamp(1, 64);
    let x = Dense::from_col_major(2, p, (0..2 * p).map(|k| k as f64).collect());
    let mut ds = lariat::data::Dataset {
        x: Box::new(x),
        y: None,
        feature_names: model
            .feature_names
            .as_ref()
            .map(|n| n.iter().take(p).cloned().collect()),
        source: "fuzz.csv".into(),
        header: None,
        implied_width: true,
        notices: Vec::new(),
    };
    for by_position in [false, true] {
        let opts = lariat::predict::MatchOptions {
            allow_extra_columns: true,
            by_position,
        };
        if let Ok((yhat, al)) = lariat::predict::predict(&model, &ds, opts) {
            assert_eq!(yhat.len(), 2);
            assert_eq!(al.weights.len(), p);
        }
    }
    ds.implied_width = false;
    let _ = lariat::predict::predict(&model, &ds, Default::default());
}
