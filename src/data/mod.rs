//! The input seam: every file format becomes a [`Dataset`]. One module per format, each with
//! a `read` function; [`Format`] picks among them in one place.
//!
//! Values are checked here, once: NaN or infinite entries are errors naming where they are.

use std::path::{Path, PathBuf};

use crate::design::Design;
use crate::error::{Error, Result};

pub mod csv;
pub mod lambdas;
pub mod libsvm;
mod lines;
pub mod npy;

/// A design matrix with (optionally) its target and feature names, as read from files.
pub struct Dataset {
    /// The design matrix `X` (n x p), dense or sparse.
    pub x: Box<dyn Design>,
    /// The target `y` when the file carried it (CSV `--target`, LIBSVM labels).
    pub y: Option<Vec<f64>>,
    /// Column names when the file had them (CSV header).
    pub feature_names: Option<Vec<String>>,
    /// The file `X` came from, for messages.
    pub source: PathBuf,
    /// CSV only: whether the first row was taken as a header, and why.
    pub header: Option<HeaderChoice>,
    /// LIBSVM: the number of columns is only implied by the largest index, so a file may lack
    /// trailing all-zero columns that another file of the same data has.
    pub implied_width: bool,
    /// What the reader decided that the user should hear about (a guess that was close, a
    /// column left out), in the order it happened.
    pub notices: Vec<Notice>,
}

impl Dataset {
    /// A dataset as read, with nothing to report.
    pub(crate) fn plain(
        x: Box<dyn Design>,
        y: Option<Vec<f64>>,
        feature_names: Option<Vec<String>>,
        source: &Path,
    ) -> Dataset {
        Dataset {
            x,
            y,
            feature_names,
            source: source.to_path_buf(),
            header: None,
            implied_width: false,
            notices: Vec::new(),
        }
    }

    /// One line for a summary: the shape, the file, and for CSV the header decision.
    pub fn describe(&self) -> String {
        let mut s = format!("{} from {}", self.x.describe(), self.source.display());
        if let Some(h) = &self.header {
            s.push_str(&format!(
                ", {} ({})",
                if h.present {
                    "first row is the header"
                } else {
                    "no header row"
                },
                h.reason
            ));
        }
        s
    }
}

/// What a CSV reader decided about the first row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderChoice {
    /// The first row holds column names.
    pub present: bool,
    /// Why, in words, for the summary (`"--header"`, `"3 of its 3 fields are not numbers"`).
    pub reason: String,
    /// Decided from the row, every field of which is a number: data unless it read as
    /// pandas' column names (numeric names, such as years, are then taken for data).
    pub all_numbers: bool,
}

/// A message for the user about how an input was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// A warning is printed even with `--quiet`: the reader made a guess that may be wrong.
    pub warning: bool,
    pub text: String,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("x", &self.x.describe())
            .field("y_len", &self.y.as_ref().map(Vec::len))
            .field("feature_names", &self.feature_names.as_ref().map(Vec::len))
            .field("source", &self.source)
            .field("header", &self.header)
            .field("notices", &self.notices)
            .finish()
    }
}

/// Supported input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npy` (f32 or f64, C or Fortran order).
    Npy,
    /// Delimited text (`,` `;` or tab), header optional.
    Csv,
    /// LIBSVM / SVMlight sparse text: `label index:value ...`.
    Libsvm,
}

impl Format {
    /// Guesses the format from the file extension: `.npy`; `.csv` `.tsv` `.txt`;
    /// `.svm` `.libsvm` `.svmlight`.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "npy" => Ok(Format::Npy),
            "csv" | "tsv" | "txt" | "tab" => Ok(Format::Csv),
            "svm" | "libsvm" | "svmlight" | "light" => Ok(Format::Libsvm),
            // A directory's extension says nothing (the readers name one with a known one).
            _ if path.is_dir() => Err(Error::Format {
                path: path.to_path_buf(),
                msg: "is a directory, not a data file".into(),
            }),
            _ => Err(Error::Format {
                path: path.to_path_buf(),
                msg: format!(
                    "cannot tell the format from the extension '{ext}' \
                     (expected .npy, .csv/.tsv/.txt or .svm/.libsvm); pass --format"
                ),
            }),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "npy" => Ok(Format::Npy),
            "csv" | "tsv" => Ok(Format::Csv),
            "libsvm" | "svmlight" | "svm" => Ok(Format::Libsvm),
            _ => Err(format!(
                "unknown format '{s}' (expected npy, csv or libsvm)"
            )),
        }
    }
}

/// Which CSV column is the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// By header name only.
    Name(String),
    /// By 0-based column index (counting every column of the file) only.
    Index(usize),
    /// What the user typed after `--target`: the column with this header name when there is
    /// one; otherwise, when it is an integer, the 0-based index. So `--target 3` is the
    /// column named `3` of a file whose header is `0,1,2,3,...` (pandas' default).
    Column(String),
}

impl Target {
    /// Parses `--target` (see [`Target::Column`]).
    pub fn parse(s: &str) -> Target {
        Target::Column(s.to_string())
    }
}

/// Whether a CSV file has a header row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// Decided from the first row by the rule of [`csv::decide_header`].
    #[default]
    Auto,
    Yes,
    No,
}

/// Which CSV column holds row labels (an index) and is left out of `X`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexCol {
    /// The first column when its header name is empty: pandas' `to_csv()` writes its index
    /// that way.
    #[default]
    Auto,
    /// No column is an index, not even one with an empty name.
    None,
    /// This 0-based column is the index.
    Column(usize),
}

/// How LIBSVM feature indices are numbered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexBase {
    /// The first feature is `1:` (the format's definition, LIBSVM's and SVMlight's tools).
    #[default]
    One,
    /// The first feature is `0:` (scikit-learn's `dump_svmlight_file(zero_based=True)`).
    Zero,
}

/// Options for reading inputs.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Format override; by default guessed from the extension.
    pub format: Option<Format>,
    /// CSV only: the column that holds `y`.
    pub target: Option<Target>,
    /// CSV only: delimiter override (`,` `;` or `\t`); by default detected from the first line.
    pub delimiter: Option<u8>,
    /// CSV only: header handling.
    pub header: Header,
    /// CSV only: the column of row labels to leave out.
    pub index_col: IndexCol,
    /// LIBSVM only: the number of the first feature.
    pub libsvm_base: IndexBase,
    /// LIBSVM only: at least this many columns. A file's width is only implied by its largest
    /// index, so test data read against a training set may lack its trailing all-zero
    /// features; they are added back.
    pub min_cols: usize,
}

/// Reads a design matrix (and the target, if the file carries one).
pub fn read_dataset(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let format = check_format(path, opts)?;
    let ds = match format {
        Format::Npy => npy::read_design(path)?,
        Format::Csv => csv::read_dataset(path, opts)?,
        Format::Libsvm => libsvm::read(path, opts.libsvm_base, opts.min_cols)?,
    };
    nonempty(ds)
}

/// How many columns the file at `path` holds as a table, from its first bytes or line (a
/// 1-D `.npy` holds one), without reading the rest; `None` when that cannot be told.
pub fn table_width(path: &Path, opts: &ReadOptions) -> Option<usize> {
    match check_format(path, opts).ok()? {
        Format::Npy => match npy::shape_of(path)?[..] {
            [_] => Some(1),
            [_, c] => Some(c),
            _ => None,
        },
        Format::Csv => csv::first_row_width(path, opts),
        Format::Libsvm => None,
    }
}

/// [`read_dataset`] from bytes in memory (the fuzz targets' entry point); `path` names the
/// input in messages and, without `opts.format`, gives the format by its extension.
pub fn read_dataset_bytes(bytes: &[u8], path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let format = check_format(path, opts)?;
    let ds = match format {
        Format::Npy => npy::read_design_bytes(bytes, path)?,
        Format::Csv => csv::read_dataset_from(bytes, path, opts)?,
        Format::Libsvm => libsvm::read_at_least(bytes, path, opts.libsvm_base, opts.min_cols)?,
    };
    nonempty(ds)
}

fn check_format(path: &Path, opts: &ReadOptions) -> Result<Format> {
    let format = match opts.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    if opts.target.is_some() && format != Format::Csv {
        return Err(Error::Unsupported(format!(
            "{}: --target applies to CSV files only",
            path.display()
        )));
    }
    Ok(format)
}

fn nonempty(ds: Dataset) -> Result<Dataset> {
    let (n, p) = (ds.x.n_rows(), ds.x.n_cols());
    if n == 0 || p == 0 {
        return Err(Error::Empty {
            path: ds.source,
            rows: n,
            cols: p,
        });
    }
    Ok(ds)
}

/// [`read_target`] where `n_rows` values are expected (y for an X, fold labels): a first row
/// that is a lone `0` above integers, a header or a value as likely, is decided by the count
/// (the reading that gives `n_rows` values, said in a warning); otherwise as `read_target`.
pub fn read_target_rows(
    path: &Path,
    opts: &ReadOptions,
    n_rows: usize,
) -> Result<(Vec<f64>, Vec<Notice>)> {
    if target_format(path, opts)? != Format::Csv {
        return read_target(path, opts);
    }
    // Read once: a pipe (`--y <(...)`) cannot be read again for the second reading.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open(path)?, &mut bytes).map_err(|e| Error::io(path, e))?;
    let read = |o: &ReadOptions| nonempty_target(csv::read_vector_from(&bytes[..], path, o)?, path);
    match read(opts) {
        Err(Error::AmbiguousLoneZero { line, .. }) => {
            let mut counts = Vec::new();
            for (header, taken) in [(Header::Yes, "a header"), (Header::No, "data")] {
                let with = ReadOptions {
                    header,
                    ..opts.clone()
                };
                if let Ok((values, mut notices)) = read(&with) {
                    counts.push(values.len());
                    if values.len() == n_rows {
                        notices.push(Notice {
                            warning: true,
                            text: format!(
                                "{}: its first row, a lone '0', was taken as {taken}: so it has \
                                 the {n_rows} values expected (pass --header or --no-header to \
                                 say)",
                                path.display()
                            ),
                        });
                        return Ok((values, notices));
                    }
                }
            }
            // Neither reading fits: the count is the problem, whatever the first row is.
            match counts[..] {
                [as_header, as_data] => Err(Error::Parse {
                    path: path.to_path_buf(),
                    line,
                    col: 1,
                    msg: format!(
                        "{as_header} values with this lone '0' as a header, {as_data} with it \
                         as data, and {n_rows} were expected (one per row of X)"
                    ),
                }),
                _ => read(opts),
            }
        }
        other => other,
    }
}

/// The format of a target file: `opts.format`, else its extension.
fn target_format(path: &Path, opts: &ReadOptions) -> Result<Format> {
    match opts.format {
        Some(f) => Ok(f),
        None => Format::from_path(path),
    }
}

/// Reads a target vector: a 1-D (or n x 1) `.npy`, or a one-column text file (header optional),
/// with what the reader has to report about how it read the file.
pub fn read_target(path: &Path, opts: &ReadOptions) -> Result<(Vec<f64>, Vec<Notice>)> {
    let read = match target_format(path, opts)? {
        Format::Npy => (npy::read_vector(path)?, Vec::new()),
        Format::Csv => csv::read_vector_from(std::io::BufReader::new(open(path)?), path, opts)?,
        Format::Libsvm => return Err(libsvm_as_target(path)),
    };
    nonempty_target(read, path)
}

/// The refusal of a LIBSVM file given as a target (`--y`): its first column is its own.
pub fn libsvm_as_target(path: &Path) -> Error {
    Error::Unsupported(format!(
        "{}: a LIBSVM file carries its own target; give it as --x without --y",
        path.display()
    ))
}

/// A target as read, refused when it holds no value.
fn nonempty_target(
    (y, notices): (Vec<f64>, Vec<Notice>),
    path: &Path,
) -> Result<(Vec<f64>, Vec<Notice>)> {
    if y.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            rows: 0,
            cols: 1,
        });
    }
    Ok((y, notices))
}

/// Opens a file, mapping the error to one that names the path.
pub(crate) fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}
