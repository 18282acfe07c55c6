//! The input seam: every file format becomes a [`Dataset`]. One module per format, each with
//! a `read` function; [`Format`] picks among them in one place.
//!
//! Values are checked here, once: NaN or infinite entries are errors naming where they are.

use std::path::{Path, PathBuf};

use crate::design::Design;
use crate::error::{Error, Result};

pub mod csv;
pub mod libsvm;
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
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("x", &self.x.describe())
            .field("y_len", &self.y.as_ref().map(Vec::len))
            .field("feature_names", &self.feature_names.as_ref().map(Vec::len))
            .field("source", &self.source)
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
    /// By header name.
    Name(String),
    /// By 0-based column index.
    Index(usize),
}

impl Target {
    /// Parses `--target`: an integer is an index, anything else a name.
    pub fn parse(s: &str) -> Target {
        match s.parse::<usize>() {
            Ok(i) => Target::Index(i),
            Err(_) => Target::Name(s.to_string()),
        }
    }
}

/// Whether a CSV file has a header row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// A header row is present when the first row has a field that is not a number.
    #[default]
    Auto,
    Yes,
    No,
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
}

/// Reads a design matrix (and the target, if the file carries one).
pub fn read_dataset(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
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
    let ds = match format {
        Format::Npy => npy::read_design(path)?,
        Format::Csv => csv::read_dataset(path, opts)?,
        Format::Libsvm => libsvm::read(path)?,
    };
    let (n, p) = (ds.x.n_rows(), ds.x.n_cols());
    if n == 0 || p == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            rows: n,
            cols: p,
        });
    }
    Ok(ds)
}

/// Reads a target vector: a 1-D (or n x 1) `.npy`, or a one-column text file (header optional).
pub fn read_target(path: &Path, opts: &ReadOptions) -> Result<Vec<f64>> {
    let format = match opts.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let y = match format {
        Format::Npy => npy::read_vector(path)?,
        Format::Csv => csv::read_vector(path, opts)?,
        Format::Libsvm => {
            return Err(Error::Unsupported(format!(
                "{}: a LIBSVM file carries its own target; give it as --x without --y",
                path.display()
            )))
        }
    };
    if y.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            rows: 0,
            cols: 1,
        });
    }
    Ok(y)
}

/// Opens a file, mapping the error to one that names the path.
pub(crate) fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}
