//! The library's typed error. Every variant carries what the user needs to find the problem:
//! the file, the line and column, the shapes that disagree, the offending value.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in lariat's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        // Not marked #[source]: the message already says it, and error chains would repeat it.
        cause: std::io::Error,
    },

    /// A text file is malformed at a known place (1-based line and column).
    #[error("{}:{line}:{col}: {msg}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        msg: String,
    },

    /// A CSV's first row is a lone `0` above integers: pandas' name of an unnamed column or a
    /// first value, as likely either way (a caller that knows how many rows to expect may
    /// decide; the command line does, from X).
    #[error(
        "{}:{line}:1: the first row is a lone '0', which is pandas' name of an unnamed column as \
         often as a first value (the values below are integers): pass --header or --no-header",
        path.display()
    )]
    AmbiguousLoneZero { path: PathBuf, line: usize },

    /// A binary or structured file is malformed (no line numbers to give).
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },

    /// A NaN or infinite value in the data.
    #[error("{}: {what} value {value} at {location}", path.display())]
    NonFinite {
        path: PathBuf,
        what: &'static str,
        value: f64,
        location: String,
    },

    /// An input with no rows or no columns.
    #[error("{}: no data ({rows} rows x {cols} columns)", path.display())]
    Empty {
        path: PathBuf,
        rows: usize,
        cols: usize,
    },

    /// Two inputs whose sizes must agree do not.
    #[error("shape mismatch: {what}")]
    Shape { what: String },

    /// A parameter outside its valid range.
    #[error("invalid {name} = {value}: {expected}")]
    InvalidParam {
        name: &'static str,
        value: String,
        expected: String,
    },

    /// A fitted model and the data given to it do not belong together.
    #[error("model has {model} features but the data has {data} columns")]
    ModelMismatch { model: usize, data: usize },

    /// The GPU (adapter, device, shader or buffer) failed; the message says which and why.
    #[error("GPU: {0}")]
    Gpu(String),

    /// A requested capability that this build or machine does not provide.
    #[error("{0}")]
    Unsupported(String),

    /// The command line is wrong in a way that no single flag's value shows: an output that
    /// would replace an input or another output, flags that contradict each other.
    #[error("{0}")]
    Usage(String),

    /// Numbers beyond what f64 can represent: data whose sums of squares overflow, or a solve
    /// that ended with a non-finite objective or gap. The message says which and what to scale.
    #[error("out of range: {0}")]
    OutOfRange(String),

    /// The solve was stopped by [`crate::interrupt::request`] before it finished.
    #[error("interrupted")]
    Interrupted,

    /// An error of one response among several fitted together.
    #[error("response {index} (0-based) of {count}: {cause}")]
    InResponse {
        index: usize,
        count: usize,
        cause: Box<Error>,
    },
}

/// Exit code of a usage error: the command line must change (as clap's own refusals).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of every other failure: a file, the data, the solve or the machine.
pub const EXIT_FAILURE: u8 = 1;

impl Error {
    /// The process exit code for this error. The one rule: an invalid parameter value
    /// (wherever it is given: a flag, the `--lambdas` file, or a value this data cannot take
    /// such as `--lambda-ratio` when `lambda_max` is 0) and a [`Error::Usage`] are usage errors,
    /// fixed by changing the command ([`EXIT_USAGE`]); anything else is [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidParam { .. } | Error::Usage(_) => EXIT_USAGE,
            Error::InResponse { cause, .. } => cause.exit_code(),
            _ => EXIT_FAILURE,
        }
    }

    /// `result` of response `index` of `count`, its error naming the response when there are
    /// several (one response needs no name).
    pub(crate) fn of_response<T>(index: usize, count: usize, result: Result<T>) -> Result<T> {
        result.map_err(|cause| match count {
            1 => cause,
            _ => Error::InResponse {
                index,
                count,
                cause: Box::new(cause),
            },
        })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        expected: impl ToString,
    ) -> Self {
        Error::InvalidParam {
            name,
            value: compact_number(value.to_string()),
            expected: expected.to_string(),
        }
    }
}

/// A long number in scientific form: f64's `Display` writes 1e-300 with 300 digits. An
/// integer that a 64-bit count can hold (20 digits) keeps every digit.
fn compact_number(text: String) -> String {
    let long = text.len() > 20 || (text.len() > 16 && text.contains('.'));
    match text.parse::<f64>() {
        Ok(v) if long && v.is_finite() => format!("{v:e}"),
        _ => text,
    }
}

/// `v` as a person writes it: 0.25 as 0.25, 1e-300 as 1e-300 (not 300 digits).
pub fn short_number(v: f64) -> String {
    compact_number(v.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_decimals_are_written_in_scientific_form() {
        let e = super::Error::invalid("holdout", 1e-300, "must be larger");
        assert_eq!(e.to_string(), "invalid holdout = 1e-300: must be larger");
        let e = super::Error::invalid("n-lambdas", 12345678901234567890usize, "fewer");
        assert_eq!(
            e.to_string(),
            "invalid n-lambdas = 12345678901234567890: fewer"
        );
        assert_eq!(super::short_number(0.25), "0.25");
        assert_eq!(super::short_number(1e-300), "1e-300");
        assert_eq!(super::short_number(1.5e300), "1.5e300");
    }
}
