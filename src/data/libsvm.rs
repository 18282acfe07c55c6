//! LIBSVM / SVMlight sparse text: `label index:value index:value ... [# comment]`.
//!
//! Indices are zero-based when any index in the file is 0 and one-based otherwise, like
//! scikit-learn's `zero_based="auto"`; `qid:N` tokens are skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::Dataset;
use crate::design::Csc;
use crate::error::{Error, Result};

/// Reads a LIBSVM file: the labels become `y`, the features a sparse `X`.
pub fn read(path: &Path) -> Result<Dataset> {
    let mut reader = BufReader::new(super::open(path)?);
    let mut parsed = Parsed::default();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if read == 0 {
            break;
        }
        line += 1;
        // Cut the comment on the raw bytes, so a comment in any encoding is harmless.
        let content = buf.split(|&b| b == b'#').next().unwrap_or_default();
        let ctx = Ctx { path, line };
        let text = std::str::from_utf8(content).map_err(|e| {
            let col = String::from_utf8_lossy(&content[..e.valid_up_to()])
                .chars()
                .count()
                + 1;
            ctx.err(col, "invalid UTF-8 (column counted in characters)".into())
        })?;
        if text.trim().is_empty() {
            continue;
        }
        parsed.push_line(&ctx, text)?;
    }
    parsed.into_dataset(path)
}

/// Where a line is, for error messages.
struct Ctx<'a> {
    path: &'a Path,
    line: usize,
}

impl Ctx<'_> {
    fn err(&self, col: usize, msg: String) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line: self.line,
            col,
            msg,
        }
    }

    fn non_finite(&self, what: &'static str, value: f64, col: usize) -> Error {
        Error::NonFinite {
            path: self.path.to_path_buf(),
            what,
            value,
            location: format!("line {}, column {col}", self.line),
        }
    }
}

/// Labels and entries read so far, with indices as written in the file.
#[derive(Default)]
struct Parsed {
    labels: Vec<f64>,
    /// (row, index as written, value).
    entries: Vec<(u32, u32, f64)>,
    saw_zero: bool,
    max_index: Option<u32>,
}

impl Parsed {
    fn push_line(&mut self, ctx: &Ctx, text: &str) -> Result<()> {
        let row = u32::try_from(self.labels.len()).map_err(|_| Error::Format {
            path: ctx.path.to_path_buf(),
            msg: format!("more than {} rows are not supported", u32::MAX),
        })?;
        let mut tokens = tokens(text);
        // The caller skips blank lines, so there is a first token.
        let Some((off, label)) = tokens.next() else {
            return Ok(());
        };
        self.labels
            .push(parse_label(ctx, column(text, off), label)?);
        let mut prev: Option<u32> = None;
        for (off, tok) in tokens {
            if tok.starts_with("qid:") {
                continue;
            }
            let col = column(text, off);
            let (index, value) = parse_pair(ctx, col, tok)?;
            if let Some(p) = prev {
                if index <= p {
                    let how = if index == p { "repeats" } else { "comes after" };
                    return Err(ctx.err(
                        col,
                        format!(
                            "feature index {index} {how} index {p}; indices on a line must be \
                             increasing"
                        ),
                    ));
                }
            }
            prev = Some(index);
            self.saw_zero |= index == 0;
            self.max_index = self.max_index.max(Some(index));
            self.entries.push((row, index, value));
        }
        Ok(())
    }

    fn into_dataset(self, path: &Path) -> Result<Dataset> {
        let Parsed {
            labels,
            mut entries,
            saw_zero,
            max_index,
        } = self;
        let p = match (max_index, saw_zero) {
            (None, _) => 0,
            (Some(m), true) => m as usize + 1,
            (Some(m), false) => m as usize,
        };
        if !saw_zero {
            // One-based: no index is 0 here, so the shift cannot underflow.
            entries.iter_mut().for_each(|e| e.1 -= 1);
        }
        Ok(Dataset {
            x: Box::new(Csc::from_triplets(labels.len(), p, entries)),
            y: Some(labels),
            feature_names: None,
            source: path.to_path_buf(),
        })
    }
}

/// Whitespace-separated tokens with their byte offsets in `text`.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let base = text.as_ptr() as usize;
    text.split([' ', '\t', '\r', '\n'])
        .filter(|t| !t.is_empty())
        .map(move |t| (t.as_ptr() as usize - base, t))
}

/// 1-based character column of byte offset `off`.
fn column(text: &str, off: usize) -> usize {
    text[..off].chars().count() + 1
}

fn parse_label(ctx: &Ctx, col: usize, tok: &str) -> Result<f64> {
    match tok.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(ctx.non_finite("non-finite label", v, col)),
        Err(_) => {
            let hint = if tok.contains(',') {
                " (multi-label lines are not supported)"
            } else if tok.contains(':') {
                " (each line must start with a label)"
            } else {
                ""
            };
            Err(ctx.err(col, format!("cannot parse label '{tok}' as a number{hint}")))
        }
    }
}

/// An `index:value` token, the index as written.
fn parse_pair(ctx: &Ctx, col: usize, tok: &str) -> Result<(u32, f64)> {
    let Some((idx, val)) = tok.split_once(':') else {
        return Err(ctx.err(col, format!("expected index:value, found '{tok}'")));
    };
    if idx.starts_with('-') {
        return Err(ctx.err(col, format!("negative feature index in '{tok}'")));
    }
    let index = match idx.parse::<u64>() {
        Ok(i) => u32::try_from(i).map_err(|_| {
            ctx.err(
                col,
                format!("feature index {i} is too large (at most {})", u32::MAX),
            )
        })?,
        Err(_) => {
            return Err(ctx.err(
                col,
                format!("bad feature index '{idx}' in '{tok}' (expected index:value)"),
            ))
        }
    };
    match val.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((index, v)),
        Ok(v) => Err(ctx.non_finite("non-finite", v, col)),
        Err(_) => Err(ctx.err(
            col,
            format!("cannot parse value '{val}' in '{tok}' as a number"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::testutil::{col_major, TempFile};

    fn read_text(text: &str) -> Result<Dataset> {
        let t = TempFile::with_bytes("t.svm", text.as_bytes());
        read(t.path())
    }

    fn err_text(text: &str) -> String {
        let t = TempFile::with_bytes("e.svm", text.as_bytes());
        let msg = format!("{}", read(t.path()).expect_err("expected an error"));
        assert!(msg.starts_with(&t.path().display().to_string()), "{msg}");
        msg
    }

    #[test]
    fn one_based_with_comments_qid_and_blank_lines() {
        let text = "# a header comment\n\
                    1 1:0.5 3:2 # trailing\n\
                    \n\
                    -1 qid:7 2:-1\r\n\
                    +2\n\
                    0.5\t1:1\t3:4";
        let ds = read_text(text).unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (4, 3));
        assert_eq!(ds.y.unwrap(), [1.0, -1.0, 2.0, 0.5]);
        assert_eq!(
            col_major(ds.x.as_ref()),
            [0.5, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 4.0]
        );
        assert!(ds.feature_names.is_none());
        assert_eq!(ds.x.stored_entries(), 5);
    }

    #[test]
    fn a_zero_index_makes_the_file_zero_based() {
        let ds = read_text("1 2:5\n0 0:1 1:3\n").unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (2, 3));
        assert_eq!(col_major(ds.x.as_ref()), [0.0, 1.0, 0.0, 3.0, 5.0, 0.0]);
    }

    #[test]
    fn bad_tokens_name_line_and_column() {
        let msg = err_text("1 1:2\n1 2:3 abc\n");
        assert!(
            msg.ends_with(":2:7: expected index:value, found 'abc'"),
            "{msg}"
        );
        let msg = err_text("1 1:2\n\n1 2:x\n");
        assert!(
            msg.ends_with(":3:3: cannot parse value 'x' in '2:x' as a number"),
            "{msg}"
        );
        let msg = err_text("1 -3:1\n");
        assert!(
            msg.ends_with(":1:3: negative feature index in '-3:1'"),
            "{msg}"
        );
        let msg = err_text("1 a:1\n");
        assert!(msg.contains(":1:3: bad feature index 'a'"), "{msg}");
        let msg = err_text("1 1:1\nyes 1:1\n");
        assert!(
            msg.ends_with(":2:1: cannot parse label 'yes' as a number"),
            "{msg}"
        );
        let msg = err_text("  1:1 2:2\n");
        assert!(msg.contains(":1:3: cannot parse label '1:1'"), "{msg}");
        let msg = err_text("1 99999999999:1\n");
        assert!(
            msg.contains(":1:3: feature index 99999999999 is too large"),
            "{msg}"
        );
    }

    #[test]
    fn indices_must_increase() {
        let msg = err_text("1 3:1 2:1\n");
        assert!(
            msg.ends_with(
                ":1:7: feature index 2 comes after index 3; indices on a line must be increasing"
            ),
            "{msg}"
        );
        // Columns count characters, not bytes.
        let msg = err_text("1 qid:ü 2:x\n");
        assert!(msg.contains(":1:9: cannot parse value 'x'"), "{msg}");
        let msg = err_text("1 2:1 2:1\n");
        assert!(
            msg.contains(":1:7: feature index 2 repeats index 2"),
            "{msg}"
        );
    }

    #[test]
    fn non_finite_values_name_the_line() {
        let msg = err_text("1 1:1\n1 1:nan\n");
        assert!(msg.contains("NaN at line 2, column 3"), "{msg}");
        let msg = err_text("inf 1:1\n");
        assert!(
            msg.contains("non-finite label value inf at line 1, column 1"),
            "{msg}"
        );
    }

    #[test]
    fn labels_only_give_no_columns() {
        let ds = read_text("1\n2\n").unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (2, 0));
    }
}
