//! The bad-input catalogue of issue 9: one case per line, each a command line run by the real
//! binary in a fresh directory holding the input files it names, with the exit code and a
//! fragment of the message it must give. Every case is also checked for what it must not do:
//! panic, leave a temporary file, change an input, or (when it fails) leave anything new or
//! changed behind. Success cases may change only the files their output flags name.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

/// What a case's process gets as stdout and stderr.
#[derive(Clone, Copy, PartialEq)]
enum Pipes {
    /// Both read by the test.
    Read,
    /// The reader of stdout is gone before lariat writes (`lariat ... | head`).
    StdoutClosed,
    /// The reader of stderr is gone (`lariat ... 2>&1 | head` after head exits).
    StderrClosed,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Category {
    /// Missing, empty, malformed, mismatched or non-finite inputs (exit 1).
    Input,
    /// Flags and values refused as usage errors (exit 2) (item 11).
    Usage,
    /// An output that would replace an input or another output (item 7).
    Collision,
    /// What an output path names: symlink, FIFO, device, directory, mode (item 6).
    Destination,
    /// Several outputs: all or nothing (item 8).
    AllOrNothing,
    /// Scales beyond f64 (item 10).
    Range,
    /// Closed pipes (item 5).
    Pipe,
}
use Category::*;

/// A further check of a case's directory after its run.
type Check = fn(&Path) -> Result<(), String>;

struct Case {
    cat: Category,
    args: &'static str,
    code: i32,
    /// Must appear in stderr (unless stderr is closed); empty: no requirement.
    msg: &'static str,
    pipes: Pipes,
    /// A further check of the directory after the run.
    then: Option<Check>,
}

fn c(cat: Category, args: &'static str, code: i32, msg: &'static str) -> Case {
    Case {
        cat,
        args,
        code,
        msg,
        pipes: Pipes::Read,
        then: None,
    }
}

fn piped(cat: Category, args: &'static str, pipes: Pipes) -> Case {
    Case {
        pipes,
        ..c(cat, args, 0, "")
    }
}

fn checked(cat: Category, args: &'static str, then: fn(&Path) -> Result<(), String>) -> Case {
    Case {
        then: Some(then),
        ..c(cat, args, 0, "")
    }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        // General bad inputs: exit 1, the file and the place named.
        c(Input, "fit --x nope.csv --target y --lambda 1", 1, "nope.csv: No such file"),
        c(Input, "fit --x good.csv --y nope-y.csv --lambda 1", 1, "nope-y.csv"),
        c(Input, "fit --x empty.csv --target y --lambda 1", 1, "empty.csv"),
        c(Input, "fit --x header-only.csv --target y --lambda 1", 1, "no data"),
        c(Input, "fit --x x2.csv --y empty-y.csv --lambda 1", 1, "empty-y.csv"),
        c(Input, "fit --x x2.csv --y short-y.csv --lambda 1", 1, "has 4 rows but y (short-y.csv) has 3 values"),
        // A header of numbers (years) read as data: the mismatch by one says what to do.
        c(Input, "fit --x years.csv --y short-y.csv --lambda 1", 1, "first row was read as data: all 2 of its fields are numbers; if it holds column names, pass --header"),
        c(Input, "fit --x nan.csv --target y --lambda 1", 1, "nan.csv"),
        c(Input, "fit --x inf-x.csv --target y --lambda 1", 1, "inf-x.csv"),
        c(Input, "fit --x x2.csv --y nan-y.csv --lambda 1", 1, "nan-y.csv"),
        c(Input, "fit --x x2.csv --y inf-y.csv --lambda 1", 1, "inf-y.csv"),
        c(Input, "fit --x abc.csv --target y --lambda 1", 1, "abc.csv:3:2"),
        c(Input, "fit --x ragged.csv --target y --lambda 1", 1, "ragged.csv:4"),
        c(Input, "fit --x good.csv --target nosuch --lambda 1", 1, "nosuch"),
        c(Input, "fit --x good.csv --lambda 1", 1, "no target"),
        c(Input, "fit --x garbage.npy --y y.csv --lambda 1", 1, "garbage.npy"),
        c(Input, "fit --x bad.svm --lambda 1", 1, "bad.svm:2"),
        c(Input, "fit --x outdir --target y --lambda 1", 1, "outdir"),
        c(Input, "predict --model nope.json --x x2.csv", 1, "nope.json"),
        c(Input, "predict --model junk.json --x x2.csv", 1, "junk.json:2:"),
        c(Input, "predict --model model.json --x x3.csv", 1, "2 features"),
        c(Input, "fit --x good.csv --target y --lambda 1 --format npy", 1, "good.csv"),
        // Usage errors: exit 2, the flag named; refused before any file is read (the data
        // file of most of them does not exist).
        c(Usage, "fit --x nope.csv --target y", 2, "--lambda"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --lambda-ratio 0.1", 2, "--lambda-ratio"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --bogus", 2, "--bogus"),
        c(Usage, "fit --x nope.csv --y y.csv --target y --lambda 1", 2, "--target"),
        c(Usage, "fit --x nope.csv --target y --lambda 0", 2, "'--lambda <LAMBDA>'"),
        c(Usage, "fit --x nope.csv --target y --lambda -1", 2, "'--lambda <LAMBDA>'"),
        c(Usage, "fit --x nope.csv --target y --lambda nan", 2, "'--lambda <LAMBDA>'"),
        c(Usage, "fit --x nope.csv --target y --lambda inf", 2, "'--lambda <LAMBDA>'"),
        c(Usage, "fit --x nope.csv --target y --lambda abc", 2, "'abc' is not a number"),
        c(Usage, "fit --x nope.csv --target y --lambda-ratio 0", 2, "'--lambda-ratio <LAMBDA_RATIO>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --tol 0", 2, "'--tol <TOL>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --tol -0.001", 2, "'--tol <TOL>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --tol nan", 2, "'--tol <TOL>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --l1-ratio 1.5", 2, "[0, 1]"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --l1-ratio -0.1", 2, "'--l1-ratio <L1_RATIO>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --max-iter 0", 2, "'--max-iter <MAX_ITER>'"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --solver newton", 2, "newton"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --device tpu", 2, "tpu"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --delimiter x", 2, "delimiter"),
        c(Usage, "fit --x nope.csv --target y --lambda 1 --header --no-header", 2, "--no-header"),
        c(Usage, "path --x nope.csv --target y --n-lambdas 0", 2, "'--n-lambdas <N_LAMBDAS>'"),
        c(Usage, "path --x nope.csv --target y --lambda-min-ratio 0", 2, "(0, 1]"),
        c(Usage, "path --x nope.csv --target y --lambda-min-ratio 1.5", 2, "(0, 1]"),
        c(Usage, "path --x nope.csv --target y --plot p.gif", 2, ".svg or .png"),
        c(Usage, "path --x nope.csv --target y --lambdas grid.txt --n-lambdas 5", 2, "--n-lambdas"),
        c(Usage, "demo --n 1", 2, "'--n <N>'"),
        c(Usage, "demo --rho 2", 2, "[-1, 1]"),
        c(Usage, "demo --informative 5 --p 3", 2, "cannot exceed --p (3)"),
        c(Usage, "demo --n 12 --p 30 --test-fraction 0.9", 2, "leaves 1 of 12 rows for training"),
        c(Usage, "bench --n 10", 2, "--p"),
        // Counts whose time is linear in them are capped, so a typo cannot run for days.
        c(Usage, "path --x cv.csv --target y --n-lambdas 100000000", 2, "must be at most 100000"),
        c(Usage, "demo --n 20 --p 30 --budget 1000000", 2, "[1, 100000]"),
        c(Usage, "bench --n 10 --p 10 --repeats 1000000000", 2, "[1, 10000]"),
        // The demo's fixed settings and its built-in problem's flags are refused, not ignored.
        c(Usage, "demo --n 20 --p 30 --l1-ratio 0.5", 2, "invalid l1-ratio = 0.5: not a demo flag"),
        c(Usage, "demo --n 20 --p 30 --solver fista", 2, "invalid solver = fista: not a demo flag"),
        c(Usage, "demo --n 20 --p 30 --max-iter 3", 2, "invalid max-iter = 3: not a demo flag"),
        c(Usage, "demo --x good.csv --target y --n 5", 2, "cannot be used with"),
        c(Usage, "demo --x good.csv --target y --snr 2", 2, "cannot be used with"),
        c(Usage, "demo --snr 0", 2, "must be a number > 0"),
        c(Usage, "demo --snr -1", 2, "must be a number > 0"),
        c(Usage, "demo --snr NaN", 2, "must be a number > 0"),
        c(Usage, "demo --n 20 --p 30 --snr 1e-300", 2, "invalid snr = 1e-300: too small"),
        c(Usage, "demo --lambda-ratio 2", 2, "at lambda_max and above every coefficient is 0"),
        c(Usage, "demo --n 20 --p 30 --test-fraction 0.999", 2, "invalid test-fraction = 0.999"),
        // Invalid values that only the library can see are usage errors too (one rule).
        c(Usage, "fit --x good.csv --target y --lambda-ratio 0.1 --l1-ratio 0", 2, "lambda-ratio"),
        c(Usage, "fit --x good.csv --target y --lambda 1 --solver cd --device gpu", 2, "--solver fista"),
        c(Input, "path --x good.csv --target y --lambdas zero-grid.txt", 1, "zero-grid.txt:2:1: lambda 0 is not > 0"),
        c(Input, "path --x good.csv --target y --lambdas neg-grid.txt", 1, "neg-grid.txt:2:1: lambda -1 is not > 0"),
        c(Usage, "fit --x const-y.csv --target y --lambda-ratio 0.5", 2, "lambda_max is 0"),
        c(Usage, "bench --n 10 --p 10 --density 0", 2, "density"),
        // An output may never replace an input or another output: exit 2, before any work
        // (the files are left as they were: the common checks below).
        c(Collision, "fit --x good.csv --target y --lambda 1 --out good.csv", 2, "is the input --x"),
        c(Collision, "fit --x x2.csv --y y.csv --lambda 1 --out y.csv", 2, "is the input --y"),
        c(Collision, "fit --x good.csv --target y --lambda 1 --out ./sub/../good.csv", 2, "is the input --x"),
        c(Collision, "fit --x good.csv --target y --lambda 1 --out link-good.csv", 2, "is the input --x"),
        c(Collision, "fit --x link-good.csv --target y --lambda 1 --out good.csv", 2, "is the input --x"),
        c(Collision, "fit --x good.csv --target y --lambda 1 --out hard-good.csv", 2, "is the input --x"),
        c(Collision, "fit --x good.csv --target y --lambda 1 --out linkdir/good.csv", 2, "is the input --x"),
        c(Collision, "predict --model model.json --x x2.csv --out model.json", 2, "is the input --model"),
        c(Collision, "predict --model model.json --x x2.csv --out x2.csv", 2, "is the input --x"),
        c(Collision, "path --x good.csv --target y --lambdas grid.txt --out grid.txt", 2, "is the input --lambdas"),
        c(Collision, "path --x good.csv --target y --out p.json --csv p.json", 2, "are the same file"),
        c(Collision, "path --x good.csv --target y --csv p.svg --plot p.svg", 2, "are the same file"),
        c(Collision, "path --x good.csv --target y --out new.json --csv ./new.json", 2, "are the same file"),
        c(Collision, "path --x good.csv --target y --out old.json --plot p.svg --csv link-old.json", 2, "are the same file"),
        // What the output path names.
        checked(Destination, "fit --x good.csv --target y --lambda 0.1 --out link-old.json", link_kept_target_replaced),
        checked(Destination, "fit --x good.csv --target y --lambda 0.1 --out dangling.json", dangling_link_target_created),
        checked(Destination, "fit --x good.csv --target y --lambda 0.1 --out private.json", private_mode_kept),
        c(Destination, "fit --x good.csv --target y --lambda 0.1 --out null-link.json", 0, ""),
        checked(Destination, "fit --x good.csv --target y --lambda 0.1 --out fifo.json", fifo_still_a_fifo),
        c(Destination, "fit --x good.csv --target y --lambda 0.1 --out outdir", 1, "is a directory"),
        c(Destination, "fit --x good.csv --target y --lambda 0.1 --out missing-dir/m.json", 1, "missing-dir/m.json"),
        c(Destination, "fit --x good.csv --target y --lambda 0.1 --out full-link.json", 1, "full-link.json: No space left"),
        // Several outputs: a failure on one publishes none (old.json keeps "previous").
        c(AllOrNothing, "path --x good.csv --target y --out old.json --plot p.svg --csv full-link.csv", 1, "full-link.csv: No space left"),
        c(AllOrNothing, "path --x good.csv --target y --out new.json --csv new.csv --plot missing-dir/p.svg", 1, "missing-dir/p.svg"),
        c(AllOrNothing, "path --x huge-y.csv --target y --out old.json --csv new.csv --plot p.svg", 1, "overflows f64"),
        checked(AllOrNothing, "path --x good.csv --target y --n-lambdas 5 --out old.json --csv new.csv --plot p.svg", all_three_written),
        // Scales beyond f64: an error, never "objective": null (old.json untouched).
        c(Range, "fit --x huge-y.csv --target y --lambda-ratio 0.1 --out old.json", 1, "sum of squares of y (centred) overflows f64"),
        c(Range, "fit --x huge-y.csv --target y --lambda 1 --no-intercept", 1, "overflows f64"),
        c(Range, "fit --x tiny-y.csv --target y --lambda-ratio 0.1", 1, "underflows f64"),
        c(Range, "fit --x huge-x.csv --target y --lambda-ratio 0.1", 1, "column 'a' (0) of X overflows f64"),
        // Standardized, the same column is fitted: its statistics are taken in its own unit.
        c(Range, "fit --x huge-x.csv --target y --lambda-ratio 0.1 --standardize", 0, ""),
        c(Range, "fit --x huge-x.csv --target y --lambda 1 --no-intercept", 1, "column 'a' (0) of X overflows f64"),
        c(Range, "fit --x tiny-x.csv --target y --lambda 1e-202", 1, "the sum of squares of column 'b' (1) of X underflows f64 (its norm is 9.2195"),
        c(Range, "fit --x tiny-x.csv --target y --lambda 1e-202", 1, "e-200), and at lambda 1e-202 it could enter the model; multiply that column by a power of ten, e.g. 1e200, and divide its coefficient by the same"),
        c(Range, "fit --x tiny-x.csv --target y --lambda 1e-202 --no-intercept", 1, "column 'b' (1) of X underflows f64 (its norm is 9.6953597148326"),
        c(Range, "path --x huge-y.csv --target y --out new.json", 1, "overflows f64"),
        // Every column's squares underflow: lambda_max is 0 because of X, not because of y.
        c(Range, "fit --x all-tiny-x.csv --target y --lambda-ratio 0.1", 1, "column 1 of X underflows f64 (its norm is 9.2195"),
        c(Range, "path --x all-tiny-x.csv --target y --out new.json", 1, "so lambda_max, which it sets, comes out 0"),
        // n^2 lambda beyond f64: the gap's products would be inf * 0 (they were NaN, and the
        // error blamed the data).
        c(Range, "fit --x good.csv --target y --lambda 1e308 --l1-ratio 0.5 --out old.json", 1, "lambda 1e308 is beyond f64's range for 4 rows"),
        c(Range, "path --x good.csv --target y --lambdas huge-grid.txt --out new.json", 1, "beyond f64's range"),
        // A LIBSVM file as --y: its features were taken for responses.
        c(Input, "fit --x x2.csv --y two.svm --lambda 1 --out m.json", 1, "two.svm: a LIBSVM file carries its own target"),
        // Cross-validation, hold-outs and several responses (issue 8).
        c(Usage, "cv --x cv.csv --target y --folds 1", 2, "at least 2 folds"),
        c(Usage, "cv --x cv.csv --target y --folds 25", 2, "more folds than rows (n = 20)"),
        c(Input, "cv --x cv.csv --target y --foldid short-fold.txt", 1, "short-fold.txt: 3 fold labels for 20 rows"),
        c(Input, "cv --x cv.csv --target y --foldid one-fold.txt", 1, "one-fold.txt: a single fold label"),
        c(Input, "cv --x cv.csv --target y --foldid frac-fold.txt", 1, "frac-fold.txt: row 2: fold label 1.5 is not an integer"),
        c(Input, "cv --x cv.csv --target y --foldid huge-fold.txt", 1, "huge-fold.txt: row 3: fold label 100000000000000000000 is beyond 2^53"),
        c(Input, "cv --x cv-const.csv --target y --foldid cv-const-fold.txt", 1, "y is constant (1) on the training rows of fold 2"),
        c(Collision, "cv --x cv.csv --target y --out cv.csv", 2, "refusing to overwrite an input"),
        c(Collision, "cv --x cv.csv --target y --foldid fold.txt --out fold.txt", 2, "refusing to overwrite an input"),
        c(Usage, "path --x cv.csv --target y --holdout 1.5", 2, "holdout"),
        c(Usage, "path --x cv.csv --target y --holdout 0.01", 2, "the test part needs at least one row"),
        c(Usage, "path --x cv.csv --target y --holdout 0.97", 2, "leaves 1 of 20 rows for training; a fit needs at least 2"),
        c(Usage, "path --x cv.csv --target y --holdout 1e-300", 2, "invalid holdout = 1e-300:"),
        c(Usage, "cv --x cv.csv --target y --plot cv.pdf", 2, ".svg or .png"),
        c(Input, "path --x cv.csv --target y --test-x renamed.csv --test-y y.csv", 1, "renamed.csv: the test data lack 1 of the training data's 2 columns: 'a'"),
        c(Input, "path --x cv.csv --target y --test-x x3r4.csv --test-y y.csv", 1, "x3r4.csv: the test data have 3 columns, the training data 2 (cv.csv)"),
        c(Input, "path --x cv.csv --target y --test-x twice.csv --test-y y.csv", 1, "column name 'b' appears 2 times in the test data (0-based columns [0, 1])"),
        c(Usage, "path --x cv.csv --target y --error-plot e.svg", 2, "<--test-x <TEST_X>|--holdout <HOLDOUT>>"),
        c(Input, "path --x cv.csv --target y --test-x good.csv --test-y y.csv", 1, "good.csv: the test data have 1 column(s) that the training data lack: 'y'; its column 'y' is the target: drop --test-y"),
        c(Input, "path --x x20.csv --y y20x2.csv --plot p.svg", 1, "--plot takes one response"),
        c(Input, "fit --x xy2.csv --target u,nosuch --lambda 1 --out m.json", 1, "xy2.csv: no column named 'nosuch'"),
        c(Input, "path --x xy2.csv --target u,u --out p.json", 1, "xy2.csv: --target u is given twice (column 1, 0-based)"),
        c(Input, "cv --x xy2.csv --target u --target 1 --out cv.json", 1, "xy2.csv: --target u and --target 1 are the same column (1, 0-based)"),
        c(Input, "fit --x xy2.csv --target v,u --index-col 1 --lambda 1 --out m.json", 1, "xy2.csv: the target u is column 1 (0-based), which is also the index column"),
        c(Input, "fit --x xy2.csv --target u,v --format libsvm --lambda 1 --out m.json", 1, "xy2.csv: --target applies to CSV files only"),
        c(Input, "path --x nan-target.csv --target u,v --out p.json", 1, "nan-target.csv: non-finite value NaN at line 3, column 3"),
        c(Input, "fit --x xy2.csv --target u,v,a,b --lambda 1 --out m.json", 1, "xy2.csv: no data (20 rows x 0 columns)"),
        // Closed pipes: a quiet exit 0, no panic (101).
        piped(Pipe, "predict --model model.json --x big.csv", Pipes::StdoutClosed),
        piped(Pipe, "fit --x good.csv --target y --lambda 0.1", Pipes::StdoutClosed),
        piped(Pipe, "path --x good.csv --target y --n-lambdas 5", Pipes::StdoutClosed),
        piped(Pipe, "demo --n 30 --p 50", Pipes::StdoutClosed),
        piped(Pipe, "info", Pipes::StdoutClosed),
        piped(Pipe, "--help", Pipes::StdoutClosed),
        piped(Pipe, "fit --x const-col.csv --target y --lambda 0.01 --max-iter 1 --standardize", Pipes::StderrClosed),
    ]
}

const GOOD: &str = "a,b,y\n1,2,3\n4,5,6.5\n7,8,9\n2,1,3.5\n";

/// What a fixture is.
enum Fx {
    Text(&'static str),
    Generated(fn() -> String),
    /// A symlink to another fixture (or a path that does not exist).
    Link(&'static str),
    /// A hard link to another fixture.
    Hard(&'static str),
    Fifo,
    Dir,
    /// A regular file with this mode.
    Mode(&'static str, u32),
}

/// Every input a case may name; a case's directory gets those whose name its command line
/// contains, and what they link to.
const FIXTURES: &[(&str, Fx)] = &[
    ("good.csv", Fx::Text(GOOD)),
    ("x2.csv", Fx::Text("1,2\n4,5\n7,8\n2,1\n")),
    ("x3.csv", Fx::Text("1,2,3\n4,5,6\n")),
    ("y.csv", Fx::Text("3\n6.5\n9\n3.5\n")),
    ("short-y.csv", Fx::Text("3\n6.5\n9\n")),
    ("years.csv", Fx::Text("1990,1991\n1,2\n4,5\n7,8\n")),
    ("empty-y.csv", Fx::Text("")),
    ("nan-y.csv", Fx::Text("3\nNaN\n9\n3.5\n")),
    ("inf-y.csv", Fx::Text("3\n6.5\ninf\n3.5\n")),
    ("empty.csv", Fx::Text("")),
    ("header-only.csv", Fx::Text("a,b,y\n")),
    ("nan.csv", Fx::Text("a,b,y\n1,2,3\n4,NaN,6\n7,8,9\n")),
    ("inf-x.csv", Fx::Text("a,b,y\n1,2,3\n4,5,6\n-inf,8,9\n")),
    ("abc.csv", Fx::Text("a,b,y\n1,2,3\n4,abc,6\n")),
    ("ragged.csv", Fx::Text("a,b,y\n1,2,3\n4,5,6\n7,8\n")),
    ("const-y.csv", Fx::Text("a,b,y\n1,2,3\n4,5,3\n7,8,3\n")),
    (
        "const-col.csv",
        Fx::Text("a,k,y\n1,5,3\n4,5,6.5\n7,5,9\n2,5,3.5\n"),
    ),
    (
        "huge-y.csv",
        Fx::Text("a,b,y\n1,2,3e300\n4,5,-6.5e300\n7,8,9e300\n2,1,3.5e300\n"),
    ),
    (
        "tiny-y.csv",
        Fx::Text("a,b,y\n1,2,3e-300\n4,5,-6.5e-300\n7,8,9e-300\n2,1,3.5e-300\n"),
    ),
    (
        "huge-x.csv",
        Fx::Text("a,b,y\n1e300,2,3\n4e300,5,-6.5\n7,8,9\n2,1,3.5\n"),
    ),
    // Column b's squares underflow; column c is constant (its mean a rounding off 3e-200).
    (
        "tiny-x.csv",
        Fx::Text("a,b,c,y\n1,2e-200,3e-200,3\n4,-5e-200,3e-200,-6.5\n7,8e-200,3e-200,9\n2,1e-200,3e-200,3.5\n"),
    ),
    (
        "all-tiny-x.csv",
        Fx::Text("a,b,y\n1e-200,2e-200,3\n4e-200,-5e-200,-6.5\n7e-200,8e-200,9\n2e-200,1e-200,3.5\n"),
    ),
    ("huge-grid.txt", Fx::Text("1e308\n1\n")),
    ("two.svm", Fx::Text("1 1:2 2:3\n2 1:1\n1 2:4\n3 1:5 2:1\n")),
    ("garbage.npy", Fx::Text("\u{93}NUMPY garbage")),
    ("bad.svm", Fx::Text("1 1:2 2:3\n2 1:x\n")),
    ("grid.txt", Fx::Text("0.5\n0.1\n")),
    ("zero-grid.txt", Fx::Text("0.5\n0\n")),
    ("neg-grid.txt", Fx::Text("0.5\n-1\n")),
    ("junk.json", Fx::Text("{\"intercept\": 1.0,\n \"coef\": 3}")),
    ("model.json", Fx::Text(MODEL)),
    ("big.csv", Fx::Generated(big_csv)),
    ("cv.csv", Fx::Generated(cv_csv)),
    ("renamed.csv", Fx::Text("b,c\n1,2\n4,5\n7,8\n2,1\n")),
    ("twice.csv", Fx::Text("b,b\n1,2\n4,5\n7,8\n2,1\n")),
    ("x3r4.csv", Fx::Text("1,2,3\n4,5,6\n7,8,9\n2,1,0\n")),
    ("cv-const.csv", Fx::Generated(cv_const_csv)),
    ("x20.csv", Fx::Generated(x20_csv)),
    ("y20x2.csv", Fx::Generated(y20x2_csv)),
    ("xy2.csv", Fx::Generated(xy2_csv)),
    (
        "nan-target.csv",
        Fx::Text("a,u,v\n1,2,3\n4,5,NaN\n7,8,9\n2,1,4\n"),
    ),
    ("short-fold.txt", Fx::Text("1\n2\n1\n")),
    (
        "one-fold.txt",
        Fx::Text("1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n1\n"),
    ),
    (
        "frac-fold.txt",
        Fx::Text("1\n1.5\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n"),
    ),
    (
        "huge-fold.txt",
        Fx::Text("1\n2\n1e20\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n"),
    ),
    (
        "cv-const-fold.txt",
        Fx::Text("1\n1\n1\n1\n1\n2\n2\n2\n2\n2\n1\n1\n1\n1\n1\n2\n2\n2\n2\n2\n"),
    ),
    (
        "fold.txt",
        Fx::Text("1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n1\n2\n"),
    ),
    ("old.json", Fx::Text("previous")),
    ("private.json", Fx::Mode("previous", 0o600)),
    ("link-good.csv", Fx::Link("good.csv")),
    ("hard-good.csv", Fx::Hard("good.csv")),
    ("link-old.json", Fx::Link("old.json")),
    ("dangling.json", Fx::Link("made-by-link.json")),
    ("linkdir", Fx::Link(".")),
    ("fifo.json", Fx::Fifo),
    // Devices only through links in the case's directory: a lariat that replaced what it
    // writes to would replace the link, not the machine's /dev/null.
    ("null-link.json", Fx::Link("/dev/null")),
    ("full-link.json", Fx::Link("/dev/full")),
    ("full-link.csv", Fx::Link("/dev/full")),
    ("outdir", Fx::Dir),
    ("sub", Fx::Dir),
];

/// A two-feature model without names (predict matches by position).
const MODEL: &str = r#"{"intercept": 0.5, "coef": {"indices": [0], "values": [1.0]},
"n_features": 2, "lambda": 0.1, "l1_ratio": 1.0, "objective": 1.0, "duality_gap": 0.0,
"iterations": 1, "converged": true, "device": "cpu", "solver": "cd", "seconds": 0.0}"#;

/// Enough rows that the predictions overflow any pipe buffer (64 KiB on Linux).
/// 20 rows, two features and y (cross-validation needs rows).
fn cv_csv() -> String {
    let mut s = String::from("a,b,y\n");
    for i in 0..20 {
        s.push_str(&format!("{},{},{}\n", i % 7, (i * 3) % 5, i % 4));
    }
    s
}

/// As `cv_csv`, but y is 1 on every row outside fold 1 of `cv-const-fold.txt`: fold 2's
/// training rows hold a constant response.
fn cv_const_csv() -> String {
    let fold1 = [0, 1, 2, 3, 4, 10, 11, 12, 13, 14];
    let mut s = String::from("a,b,y\n");
    for i in 0..20 {
        let y = if fold1.contains(&i) { 1 } else { 1 + i % 3 };
        s.push_str(&format!("{},{},{y}\n", i % 7, (i * 3) % 5));
    }
    s
}

fn x20_csv() -> String {
    let mut s = String::from("a,b\n");
    for i in 0..20 {
        s.push_str(&format!("{},{}\n", i % 7, (i * 3) % 5));
    }
    s
}

/// Two responses for `x20.csv`.
fn y20x2_csv() -> String {
    let mut s = String::from("u,v\n");
    for i in 0..20 {
        s.push_str(&format!("{},{}\n", i % 4, i % 3));
    }
    s
}

/// `x20.csv` with the two responses of `y20x2.csv` as its columns u (1) and v (3).
fn xy2_csv() -> String {
    let mut s = String::from("a,u,b,v\n");
    for i in 0..20 {
        s.push_str(&format!("{},{},{},{}\n", i % 7, i % 4, (i * 3) % 5, i % 3));
    }
    s
}

fn big_csv() -> String {
    let mut s = String::from("a,b\n");
    for i in 0..40_000 {
        s.push_str(&format!("{},{}\n", i % 7, i % 3));
    }
    s
}

fn make_fixtures(dir: &Path, args: &str) {
    let mut wanted: Vec<&str> = FIXTURES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| args.contains(n))
        .collect();
    // What the wanted links point to.
    for (name, fx) in FIXTURES {
        if let Fx::Link(t) | Fx::Hard(t) = fx {
            if wanted.contains(name) && FIXTURES.iter().any(|(n, _)| n == t) {
                wanted.push(t);
            }
        }
    }
    // Targets first, so hard links find them.
    for (name, fx) in FIXTURES.iter().rev() {
        if !wanted.contains(name) || dir.join(name).symlink_metadata().is_ok() {
            continue;
        }
        make(dir, name, fx);
    }
    for (name, fx) in FIXTURES {
        if wanted.contains(name) && dir.join(name).symlink_metadata().is_err() {
            make(dir, name, fx);
        }
    }
}

fn make(dir: &Path, name: &str, fx: &Fx) {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    match fx {
        Fx::Text(t) => std::fs::write(&p, t).unwrap(),
        Fx::Generated(f) => std::fs::write(&p, f()).unwrap(),
        Fx::Link(t) => std::os::unix::fs::symlink(t, &p).unwrap(),
        Fx::Hard(t) => {
            if dir.join(t).exists() {
                std::fs::hard_link(dir.join(t), &p).unwrap()
            }
        }
        Fx::Fifo => {
            let ok = Command::new("mkfifo").arg(&p).status().unwrap().success();
            assert!(ok, "mkfifo {}", p.display());
        }
        Fx::Dir => std::fs::create_dir(&p).unwrap(),
        Fx::Mode(t, mode) => {
            std::fs::write(&p, t).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
    }
}

/// A directory's entries (recursively, links not followed): kind, mode and content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = p.symlink_metadata().unwrap();
            let mode = m.permissions().mode() & 0o7777;
            let what = if m.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {mode:o}")
            } else if m.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                format!("file {mode:o} {}", String::from_utf8_lossy(&bytes))
            } else {
                format!("special {mode:o}")
            };
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), what);
        }
    }
    out
}

/// The files a successful run may change: the values of its output flags, and what a
/// symlinked one points to.
fn outputs_of(dir: &Path, args: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for w in args.windows(2) {
        if ["--out", "--csv", "--plot", "--json"].contains(&w[0]) && !w[1].starts_with('/') {
            let p = PathBuf::from(w[1]);
            if let Ok(t) = std::fs::read_link(dir.join(&p)) {
                out.push(t);
            }
            out.push(p);
        }
    }
    out
}

/// Runs one case; `Err` says what went wrong.
fn run(case: &Case, k: usize) -> Result<(), String> {
    let dir = common::temp_dir(&format!("bad-input-{k}"));
    make_fixtures(&dir, case.args);
    let before = snapshot(&dir);
    let args: Vec<&str> = case.args.split_whitespace().collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lariat"));
    cmd.args(&args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The FIFO output's reader, open before lariat starts (non-blocking, so that neither side
    // waits for the other, and a lariat that replaced the FIFO instead cannot hang the test);
    // the model fits in the pipe's buffer.
    let fifo = args.contains(&"fifo.json").then(|| {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(dir.join("fifo.json"))
            .unwrap()
    });
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    match case.pipes {
        Pipes::StdoutClosed => drop(stdout.take()),
        Pipes::StderrClosed => drop(stderr.take()),
        Pipes::Read => {}
    }
    // Drain stdout on a thread: a full pipe would block lariat while we read stderr.
    let out_thread = stdout.map(|mut s| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b);
            b
        })
    });
    let mut err = String::new();
    if let Some(mut s) = stderr {
        let _ = s.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if let Some(t) = out_thread {
        let _ = t.join();
    }
    if let Some(mut f) = fifo {
        let mut got = Vec::new();
        let _ = f.read_to_end(&mut got);
        if !String::from_utf8_lossy(&got).contains("\"coef\"") {
            return Err(format!(
                "the FIFO received {:?}, not the model",
                String::from_utf8_lossy(&got)
            ));
        }
    }
    for dev in ["/dev/null", "/dev/full"] {
        use std::os::unix::fs::FileTypeExt;
        let m = std::fs::symlink_metadata(dev).map_err(|e| format!("{dev}: {e}"))?;
        if !m.file_type().is_char_device() {
            panic!("{dev} is no longer a device: restore it (mknod -m 666 {dev} c 1 3 or 7)");
        }
    }
    let code = status.code();
    if code != Some(case.code) {
        return Err(format!(
            "exit {code:?}, expected {}; stderr: {err}",
            case.code
        ));
    }
    if err.contains("panicked") {
        return Err(format!("panicked: {err}"));
    }
    if case.pipes != Pipes::StderrClosed && !err.contains(case.msg) {
        return Err(format!("expected '{}' in stderr: {err}", case.msg));
    }
    if case.code != 0 && !err.starts_with("error: ") {
        return Err(format!("the message does not start with 'error: ': {err}"));
    }
    let after = snapshot(&dir);
    if let Some(tmp) = after
        .keys()
        .find(|p| p.to_string_lossy().contains(".lariat-"))
    {
        return Err(format!("temporary file left behind: {}", tmp.display()));
    }
    let allowed = if case.code == 0 {
        outputs_of(&dir, &args)
    } else {
        Vec::new()
    };
    for (p, was) in &before {
        if !allowed.contains(p) && after.get(p) != Some(was) {
            return Err(format!(
                "{} changed: was {was:.60}, now {:.60?}",
                p.display(),
                after.get(p)
            ));
        }
    }
    if let Some(new) = after
        .keys()
        .find(|p| !before.contains_key(*p) && !allowed.contains(p))
    {
        return Err(format!("unexpected new file {}", new.display()));
    }
    if let Some(then) = case.then {
        then(&dir)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn is_model(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match v["objective"].as_f64() {
        Some(o) if o.is_finite() => Ok(()),
        _ => Err(format!("{} is not a model: {text:.80}", path.display())),
    }
}

fn link_kept_target_replaced(dir: &Path) -> Result<(), String> {
    let link = dir.join("link-old.json");
    if !link.symlink_metadata().unwrap().file_type().is_symlink() {
        return Err("the symlink was replaced by a file".into());
    }
    is_model(&dir.join("old.json"))
}

fn dangling_link_target_created(dir: &Path) -> Result<(), String> {
    if !dir
        .join("dangling.json")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink()
    {
        return Err("the dangling symlink was replaced by a file".into());
    }
    is_model(&dir.join("made-by-link.json"))
}

fn private_mode_kept(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("private.json");
    let mode = p.metadata().unwrap().permissions().mode() & 0o777;
    if mode != 0o600 {
        return Err(format!("mode {mode:o}, expected 600"));
    }
    is_model(&p)
}

fn fifo_still_a_fifo(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let m = dir.join("fifo.json").symlink_metadata().unwrap();
    if m.file_type().is_fifo() {
        Ok(())
    } else {
        Err("the FIFO was replaced".into())
    }
}

fn all_three_written(dir: &Path) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("old.json")).unwrap())
            .map_err(|e| format!("old.json: {e}"))?;
    if v["fits"].as_array().map(Vec::len) != Some(5) {
        return Err("old.json does not hold the 5 fits".into());
    }
    let csv = std::fs::read_to_string(dir.join("new.csv")).map_err(|e| e.to_string())?;
    let svg = std::fs::read_to_string(dir.join("p.svg")).map_err(|e| e.to_string())?;
    if !csv.starts_with("lambda,feature,value\n") || !svg.contains("<svg") {
        return Err("the CSV or the plot is not what path writes".into());
    }
    Ok(())
}

#[test]
fn bad_input_catalogue() {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(k, case)| {
            run(case, k)
                .err()
                .map(|e| format!("[{:?}] lariat {}\n    {e}", case.cat, case.args))
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        *counts.entry(format!("{:?}", case.cat)).or_default() += 1;
    }
    eprintln!("{} cases: {counts:?}", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
