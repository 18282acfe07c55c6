//! Physical lines of a text input, shared by every text format (CSV, LIBSVM, the lambdas file),
//! so that line endings, the byte-order mark and encoding errors are handled, and named, the
//! same way in each.
//!
//! Line endings: `\n` and `\r\n`. A carriage return anywhere else in a line means CR-only
//! ("classic Mac") line endings, or a stray control character; either way the line numbers of
//! every later message would be wrong, so it is an error that says so, not a silent merge of
//! the whole file into one line.

use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};

/// Where a line is, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct LineCtx<'a> {
    pub path: &'a Path,
    /// 1-based physical line number.
    pub line: usize,
}

impl LineCtx<'_> {
    /// A parse error at 1-based character column `col` of this line.
    pub fn err(&self, col: usize, msg: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line: self.line,
            col,
            msg: msg.into(),
        }
    }

    /// A NaN or infinite `value`, parsed from `text`, at 1-based character column `col`: a
    /// number written beyond f64 (`1e400`, which parses as infinity) is said to be that.
    pub fn non_finite(&self, what: &'static str, value: f64, col: usize, text: &str) -> Error {
        let written = text
            .trim()
            .trim_start_matches(['+', '-'])
            .to_ascii_lowercase();
        if value.is_infinite() && !written.starts_with("inf") {
            return self.err(
                col,
                format!(
                    "{} is beyond the range of f64 (about 1.8e308 in magnitude); rescale the data",
                    text.trim()
                ),
            );
        }
        Error::NonFinite {
            path: self.path.to_path_buf(),
            what,
            value,
            location: format!("line {}, column {col}", self.line),
        }
    }

    /// Decodes `bytes` (a part of this line that starts at its first character) as UTF-8.
    pub fn utf8<'b>(&self, bytes: &'b [u8]) -> Result<&'b str> {
        std::str::from_utf8(bytes).map_err(|e| {
            let col = String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                .chars()
                .count()
                + 1;
            self.err(col, "invalid UTF-8 (column counted in characters)")
        })
    }
}

/// A line reader that counts physical lines, strips `\n` and `\r\n` and a leading UTF-8
/// byte-order mark, refuses carriage returns inside a line, and reuses one buffer.
pub(crate) struct Lines<'a, R> {
    path: &'a Path,
    reader: R,
    buf: Vec<u8>,
    /// The content of the line read last: `buf[range.0..range.1]`.
    range: (usize, usize),
    line: usize,
}

impl<'a, R: BufRead> Lines<'a, R> {
    pub fn new(path: &'a Path, reader: R) -> Self {
        Lines {
            path,
            reader,
            buf: Vec::new(),
            range: (0, 0),
            line: 0,
        }
    }

    /// Reads the next physical line into the buffer; `None` at the end of the input.
    fn advance(&mut self) -> Result<Option<LineCtx<'a>>> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::io(self.path, e))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        let ctx = LineCtx {
            path: self.path,
            line: self.line,
        };
        let mut end = self.buf.len();
        if self.buf.ends_with(b"\n") {
            end -= 1;
        }
        // Trailing carriage returns are a CRLF ending (doubled by some converters), never data.
        while end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        if self.line == 1
            && (self.buf.starts_with(b"\xFF\xFE") || self.buf.starts_with(b"\xFE\xFF"))
        {
            // Otherwise this reads as invalid UTF-8 at column 1, which does not say why.
            return Err(ctx.err(
                1,
                "the file starts with a UTF-16 byte-order mark; save it as UTF-8 \
                 (for example with iconv -f UTF-16 -t UTF-8)",
            ));
        }
        let start = if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            3.min(end)
        } else {
            0
        };
        self.range = (start, end);
        if let Some(k) = self.buf[start..end].iter().position(|&b| b == b'\r') {
            let col = String::from_utf8_lossy(&self.buf[start..start + k])
                .chars()
                .count()
                + 1;
            return Err(ctx.err(
                col,
                "carriage return (CR) inside a line: the file has CR-only (classic Mac) line \
                 endings, which are not supported; convert them to \\n (for example with \
                 tr '\\r' '\\n' < in > out)",
            ));
        }
        Ok(Some(ctx))
    }

    /// The next physical line (without its ending) as raw bytes, and where it is.
    pub fn next_line(&mut self) -> Result<Option<(LineCtx<'a>, &[u8])>> {
        Ok(self
            .advance()?
            .map(|ctx| (ctx, &self.buf[self.range.0..self.range.1])))
    }

    /// The next line with any content other than the bytes in `blank`, decoded as UTF-8.
    /// (CSV counts only spaces as blank: a tab may be its delimiter, and a line of tabs is a
    /// row of empty fields, to be reported as such.)
    pub fn next_nonblank(&mut self, blank: &[u8]) -> Result<Option<(LineCtx<'a>, &str)>> {
        let ctx = loop {
            let Some(ctx) = self.advance()? else {
                return Ok(None);
            };
            if !self.buf[self.range.0..self.range.1]
                .iter()
                .all(|b| blank.contains(b))
            {
                break ctx;
            }
        };
        // Borrowed only after the loop: the borrow checker rejects a loop that may return a
        // borrow of the buffer it refills.
        let content = &self.buf[self.range.0..self.range.1];
        Ok(Some((ctx, ctx.utf8(content)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Result<Vec<(usize, String)>> {
        let path = Path::new("t.txt");
        let mut lines = Lines::new(path, text);
        let mut out = Vec::new();
        while let Some((ctx, s)) = lines.next_nonblank(b" \t")? {
            out.push((ctx.line, s.to_string()));
        }
        Ok(out)
    }

    #[test]
    fn endings_bom_and_blank_lines() {
        let got = all(b"\xEF\xBB\xBFa\r\n\r\n \t\nb\nc").unwrap();
        assert_eq!(got, [(1, "a".into()), (4, "b".into()), (5, "c".into())]);
    }

    #[test]
    fn cr_only_endings_are_named_with_their_place() {
        let e = all(b"x,y\n1,2\r3,4\r5,6\r").unwrap_err().to_string();
        assert!(
            e.starts_with("t.txt:2:4: carriage return (CR) inside a line") && e.contains("CR-only"),
            "{e}"
        );
    }

    #[test]
    fn utf16_is_named() {
        let e = all(b"\xFF\xFEa\x00,\x00").unwrap_err().to_string();
        assert!(
            e.starts_with("t.txt:1:1: the file starts with a UTF-16 byte-order mark"),
            "{e}"
        );
    }

    #[test]
    fn invalid_utf8_names_the_character_column() {
        let e = all(b"ok\n\xc3\xbc,\xff\n").unwrap_err().to_string();
        assert!(e.starts_with("t.txt:2:3: invalid UTF-8"), "{e}");
    }
}
