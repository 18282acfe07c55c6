//! LIBSVM / SVMlight sparse text: `label index:value index:value ... [# comment]`.
//!
//! Feature indices are one-based, as the format defines them (LIBSVM's and SVMlight's own
//! tools), unless the caller says zero-based ([`IndexBase::Zero`], scikit-learn's
//! `zero_based=True`). The base is never guessed from the data: a single `0:` must not shift
//! every column of a file, so in a one-based file it is an error that says how to read the file
//! as zero-based. `qid:N` tokens are skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::lines::{LineCtx, Lines};
use super::{Dataset, IndexBase};
use crate::design::Csc;
use crate::error::{Error, Result};

/// The most columns a sparse file may imply: 2^24, the largest common feature-hashing size
/// (and more than any SNP array). The columns of a LIBSVM file are implied by its largest index,
/// and every one costs memory however few entries the file has: the sparse matrix's column
/// pointers, and the several length-p vectors of every fit (coefficients, column norms and
/// means, screening scores), 8 bytes each per column. So a stray huge index in a small file
/// must be an error, not gigabytes of allocation (the fuzzer found a 14-byte file that took 6 s
/// and 1 GiB with a limit of 2^27).
pub const MAX_COLUMNS: usize = 1 << 24;

/// Reads a LIBSVM file: the labels become `y`, the features a sparse `X`.
/// It has at least `min_cols` columns (0: as many as its largest index implies).
pub fn read(path: &Path, base: IndexBase, min_cols: usize) -> Result<Dataset> {
    read_at_least(BufReader::new(super::open(path)?), path, base, min_cols)
}

/// [`read`] from any reader, as wide as its largest index implies; `path` only names the
/// input in messages.
pub fn read_from(reader: impl BufRead, path: &Path, base: IndexBase) -> Result<Dataset> {
    read_at_least(reader, path, base, 0)
}

/// [`read_from`] with at least `min_cols` columns: the trailing all-zero features a file of
/// the same data may lack.
pub fn read_at_least(
    reader: impl BufRead,
    path: &Path,
    base: IndexBase,
    min_cols: usize,
) -> Result<Dataset> {
    let mut lines = Lines::new(path, reader);
    let mut parsed = Parsed {
        base,
        p: min_cols,
        ..Parsed::default()
    };
    while let Some((ctx, bytes)) = lines.next_line()? {
        // Cut the comment on the raw bytes, so a comment in any encoding is harmless.
        let content = bytes.split(|&b| b == b'#').next().unwrap_or_default();
        let text = ctx.utf8(content)?;
        if text.trim().is_empty() {
            continue;
        }
        parsed.push_line(&ctx, text)?;
    }
    parsed.into_dataset(path)
}

/// Labels and entries read so far, with indices as stored (zero-based).
#[derive(Default)]
struct Parsed {
    base: IndexBase,
    labels: Vec<f64>,
    /// (row, zero-based column, value).
    entries: Vec<(u32, u32, f64)>,
    /// The number of columns the largest index implies.
    p: usize,
}

impl Parsed {
    fn push_line(&mut self, ctx: &LineCtx, text: &str) -> Result<()> {
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
            let j = match self.base {
                IndexBase::Zero => index,
                IndexBase::One if index == 0 => {
                    return Err(ctx.err(
                        col,
                        format!(
                            "feature index 0 in '{tok}', but indices start at 1 (the LIBSVM \
                             format's definition); if this file is zero-based, pass \
                             --libsvm-base 0"
                        ),
                    ))
                }
                IndexBase::One => index - 1,
            };
            let p = j as usize + 1;
            if p > MAX_COLUMNS {
                return Err(ctx.err(
                    col,
                    format!(
                        "feature index {index} implies {p} columns; at most {MAX_COLUMNS} are \
                         supported"
                    ),
                ));
            }
            self.p = self.p.max(p);
            // An explicit `j:0` stores nothing (it is not a non-zero, and costs a multiply).
            if value != 0.0 {
                self.entries.push((row, j, value));
            }
        }
        Ok(())
    }

    fn into_dataset(self, path: &Path) -> Result<Dataset> {
        let Parsed {
            labels, entries, p, ..
        } = self;
        let mut ds = Dataset::plain(
            Box::new(Csc::from_triplets(labels.len(), p, entries)),
            Some(labels),
            None,
            path,
        );
        ds.implied_width = true;
        Ok(ds)
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

fn parse_label(ctx: &LineCtx, col: usize, tok: &str) -> Result<f64> {
    match tok.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(ctx.non_finite("non-finite label", v, col, tok)),
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
fn parse_pair(ctx: &LineCtx, col: usize, tok: &str) -> Result<(u32, f64)> {
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
                format!("feature index {i} is too large (at most {MAX_COLUMNS})"),
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
        Ok(v) => Err(ctx.non_finite("non-finite", v, col, val)),
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
        read(t.path(), IndexBase::One, 0)
    }

    fn err_text(text: &str) -> String {
        let t = TempFile::with_bytes("e.svm", text.as_bytes());
        let msg = format!(
            "{}",
            read(t.path(), IndexBase::One, 0).expect_err("expected an error")
        );
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
        // An explicit zero widens X but stores nothing.
        let ds = read_text("1 1:0.5 3:0\n2 2:0\n").unwrap();
        assert_eq!((ds.x.n_cols(), ds.x.stored_entries()), (3, 1));
    }

    #[test]
    fn the_base_is_the_callers_never_guessed() {
        // Issue 9: one `0:` used to make the whole file zero-based, shifting every column.
        let msg = err_text("1 2:5\n0 0:1 1:3\n");
        assert!(
            msg.ends_with(
                ":2:3: feature index 0 in '0:1', but indices start at 1 (the LIBSVM format's \
                 definition); if this file is zero-based, pass --libsvm-base 0"
            ),
            "{msg}"
        );
        let t = TempFile::with_bytes("z.svm", b"1 2:5\n0 0:1 1:3\n");
        let ds = read(t.path(), IndexBase::Zero, 0).unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (2, 3));
        assert_eq!(col_major(ds.x.as_ref()), [0.0, 1.0, 0.0, 3.0, 5.0, 0.0]);
        // The same file body read one-based (without the 0:) puts 2:5 in column 1.
        let ds = read_text("1 2:5\n0 1:3\n").unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [0.0, 3.0, 5.0, 0.0]);
    }

    #[test]
    fn huge_indices_are_refused_before_allocating() {
        // Found by hand (it allocated 32 GiB) and by the fuzzer (1 GiB and 6 s for 14 bytes).
        for index in ["4294967295", "42967295"] {
            let msg = err_text(&format!("1 {index}:1\n"));
            assert!(
                msg.contains(&format!(
                    ":1:3: feature index {index} implies {index} columns; at most 16777216"
                )),
                "{msg}"
            );
        }
        // The largest allowed index still reads.
        let ds = read_text("1 16777216:1\n").unwrap();
        assert_eq!(ds.x.n_cols(), 1 << 24);
    }

    #[test]
    fn cr_only_line_endings_are_named() {
        let msg = err_text("1 1:2\r2 1:3\r");
        assert!(
            msg.contains(":1:6: carriage return (CR) inside a line"),
            "{msg}"
        );
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
