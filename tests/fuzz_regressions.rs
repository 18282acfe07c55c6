//! Issue 9: every input that ever crashed a parser (minimized by the fuzzer, `scripts/fuzz.sh`,
//! or found by hand) is kept under `tests/fuzz_regressions/<target>/` and run here through
//! exactly the code the fuzz target runs (`fuzz/drive.rs`), so a crash that comes back fails
//! the normal test suite, not only a fuzzing session.

#[path = "../fuzz/drive.rs"]
mod drive;

use std::path::Path;

type Drive = fn(&[u8]);

const TARGETS: [(&str, Drive); 5] = [
    ("npy", drive::npy),
    ("csv", drive::csv),
    ("libsvm", drive::libsvm),
    ("lambdas", drive::lambdas),
    ("model", drive::model),
];

#[test]
fn committed_crash_inputs_no_longer_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut ran = 0;
    let mut failed = Vec::new();
    for (target, drive) in TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.into_iter().filter(|f| f.is_file()) {
            let bytes = std::fs::read(&file).unwrap();
            ran += 1;
            if std::panic::catch_unwind(|| drive(&bytes)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "these inputs panic again: {failed:#?}");
    // The directory must not silently go missing (then this test would check nothing).
    assert!(ran > 0, "no regression inputs under {}", root.display());
}
