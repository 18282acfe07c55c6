//! Delimited text (`,` `;` or tab), an optional header row, minimal double-quote support.
//!
//! Lines are read one at a time and numbers go straight into a row-major buffer, which is
//! transposed to column-major once at the end. Quoted fields may not span lines.

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{Dataset, Header, ReadOptions, Target};
use crate::design::Dense;
use crate::error::{Error, Result};

/// Delimiters considered when detecting, in order of preference on ties.
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// Reads a delimited text file; the `opts.target` column, if any, becomes `y`.
pub fn read_dataset(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let table = read_table(path, opts, false)?;
    let (n, p) = (table.rows, table.x_cols);
    let x = super::npy::row_to_col_major(&table.x, n, p);
    Ok(Dataset {
        x: Box::new(Dense::from_col_major(n, p, x)),
        y: table.y,
        feature_names: table.names,
        source: path.to_path_buf(),
    })
}

/// Reads a target vector: a one-column file, or the `opts.target` column of a wider one.
pub fn read_vector(path: &Path, opts: &ReadOptions) -> Result<Vec<f64>> {
    let table = read_table(path, opts, true)?;
    // Without a target, `read_table` has checked that the only column is X's.
    Ok(table.y.unwrap_or(table.x))
}

/// The numbers of a file, the target column split off.
struct Table {
    rows: usize,
    x_cols: usize,
    /// Row-major `rows x x_cols`.
    x: Vec<f64>,
    y: Option<Vec<f64>>,
    /// Header names of the X columns.
    names: Option<Vec<String>>,
}

/// Where a line is, for error messages.
struct LineCtx<'a> {
    path: &'a Path,
    line: usize,
}

impl LineCtx<'_> {
    fn err(&self, col: usize, msg: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line: self.line,
            col,
            msg: msg.into(),
        }
    }
}

fn read_table(path: &Path, opts: &ReadOptions, single_column: bool) -> Result<Table> {
    let mut lines = Lines::new(path, BufReader::new(super::open(path)?));
    let Some((first_no, first_line)) = lines.next_nonempty()? else {
        return Ok(Table {
            rows: 0,
            x_cols: 0,
            x: Vec::new(),
            y: None,
            names: None,
        });
    };
    let delim = match opts.delimiter {
        Some(d) if d.is_ascii() && d != b'"' => d,
        Some(d) => {
            return Err(Error::invalid(
                "delimiter",
                format!("{:?}", d as char),
                "an ASCII character other than '\"'",
            ))
        }
        None => detect_delimiter(first_line),
    };
    let first_ctx = LineCtx {
        path,
        line: first_no,
    };
    let first_line = first_line.to_string();
    let mut first = Vec::new();
    let mut scratch = String::new();
    let width = for_each_field(&first_ctx, &first_line, delim, &mut scratch, |_, f| {
        first.push(f.trim().to_string());
        Ok(())
    })?;
    let has_header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => first.iter().any(|f| f.parse::<f64>().is_err()),
    };
    let names = has_header.then_some(first);
    let target = resolve_target(path, opts.target.as_ref(), names.as_deref(), width)?;
    if single_column && target.is_none() && width != 1 {
        return Err(first_ctx.err(
            2,
            format!("y must have one column, found {width} (select one with --target)"),
        ));
    }

    let mut sink = RowSink::new(width, target);
    if !has_header {
        sink.push_line(&first_ctx, &first_line, delim, &mut scratch)?;
    }
    while let Some((line, text)) = lines.next_nonempty()? {
        sink.push_line(&LineCtx { path, line }, text, delim, &mut scratch)?;
    }

    let names = names.map(|all| {
        all.into_iter()
            .enumerate()
            .filter(|&(j, _)| Some(j) != target)
            .map(|(_, name)| name)
            .collect()
    });
    Ok(Table {
        rows: sink.rows,
        x_cols: width - usize::from(target.is_some()),
        x: sink.x,
        y: target.map(|_| sink.y),
        names,
    })
}

/// Collects the numbers of data rows, checking that every row has the first row's width.
struct RowSink {
    width: usize,
    target: Option<usize>,
    rows: usize,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl RowSink {
    fn new(width: usize, target: Option<usize>) -> Self {
        RowSink {
            width,
            target,
            rows: 0,
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    fn push_line(
        &mut self,
        ctx: &LineCtx,
        line: &str,
        delim: u8,
        scratch: &mut String,
    ) -> Result<()> {
        let RowSink {
            width,
            target,
            x,
            y,
            ..
        } = self;
        // Fields past the expected width are only counted, for the message below.
        let count = for_each_field(ctx, line, delim, scratch, |j, text| {
            if j < *width {
                let v = parse_number(ctx, j + 1, text)?;
                if Some(j) == *target {
                    y.push(v);
                } else {
                    x.push(v);
                }
            }
            Ok(())
        })?;
        if count != self.width {
            return Err(ctx.err(
                count.min(self.width) + 1,
                format!("expected {} fields, found {count}", self.width),
            ));
        }
        self.rows += 1;
        Ok(())
    }
}

fn resolve_target(
    path: &Path,
    target: Option<&Target>,
    names: Option<&[String]>,
    width: usize,
) -> Result<Option<usize>> {
    let fail = |msg: String| {
        Err(Error::Format {
            path: path.to_path_buf(),
            msg,
        })
    };
    match target {
        None => Ok(None),
        Some(Target::Index(i)) if *i < width => Ok(Some(*i)),
        Some(Target::Index(i)) => fail(format!(
            "target column index {i} is out of range: the file has {width} columns \
             (0-based indices 0 to {})",
            width - 1
        )),
        Some(Target::Name(name)) => {
            let Some(names) = names else {
                return fail(format!(
                    "target '{name}' is a column name, but the file has no header row \
                     (give a 0-based column index instead)"
                ));
            };
            let hits: Vec<usize> = (0..names.len()).filter(|&j| names[j] == *name).collect();
            match hits[..] {
                [j] => Ok(Some(j)),
                [] => fail(format!(
                    "no column named '{name}'; the columns are {}",
                    preview(names)
                )),
                _ => fail(format!(
                    "column name '{name}' appears {} times (0-based indices {hits:?}); \
                     give an index instead",
                    hits.len()
                )),
            }
        }
    }
}

/// The first few names, quoted, and how many there are in all.
fn preview(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let quoted: Vec<String> = names.iter().take(SHOWN).map(|s| format!("'{s}'")).collect();
    if names.len() > SHOWN {
        format!("{}, ... ({} in all)", quoted.join(", "), names.len())
    } else {
        quoted.join(", ")
    }
}

/// The most frequent candidate delimiter outside quotes; `,` when none occurs.
fn detect_delimiter(line: &str) -> u8 {
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(k) = CANDIDATES.iter().position(|&c| c == b) {
                counts[k] += 1;
            }
        }
    }
    let mut best = 0;
    for k in 1..CANDIDATES.len() {
        if counts[k] > counts[best] {
            best = k;
        }
    }
    CANDIDATES[best]
}

/// Splits `line` into fields and calls `f(index, text)` for each; returns the field count.
/// A field that starts with `"` (after spaces) is quoted: `""` inside it stands for `"`, and
/// the delimiter does not end it. `scratch` holds unquoted text, to reuse its allocation.
fn for_each_field(
    ctx: &LineCtx,
    line: &str,
    delim: u8,
    scratch: &mut String,
    mut f: impl FnMut(usize, &str) -> Result<()>,
) -> Result<usize> {
    let bytes = line.as_bytes();
    let mut pos = 0;
    let mut index = 0;
    loop {
        let lead = bytes[pos..].iter().take_while(|&&b| b == b' ').count();
        let end = if bytes.get(pos + lead) == Some(&b'"') && delim != b' ' {
            let after = unquote(ctx, line, pos + lead, index + 1, scratch)?;
            let after = after + bytes[after..].iter().take_while(|&&b| b == b' ').count();
            if after < bytes.len() && bytes[after] != delim {
                return Err(ctx.err(
                    index + 1,
                    "unexpected text after a closing quote (a quote inside a quoted field \
                     is written \"\")",
                ));
            }
            f(index, scratch)?;
            after
        } else {
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == delim)
                .map_or(bytes.len(), |k| pos + k);
            // Delimiters and quotes are ASCII, so these byte positions are char boundaries.
            f(index, &line[pos..end])?;
            end
        };
        index += 1;
        if end >= bytes.len() {
            return Ok(index);
        }
        pos = end + 1;
    }
}

/// Reads the quoted field whose opening quote is at `open` into `out`; returns the position
/// just after the closing quote.
fn unquote(ctx: &LineCtx, line: &str, open: usize, col: usize, out: &mut String) -> Result<usize> {
    out.clear();
    let mut pos = open + 1;
    loop {
        let Some(k) = line[pos..].find('"') else {
            return Err(ctx.err(
                col,
                "unterminated quoted field (quoted fields cannot span lines)",
            ));
        };
        out.push_str(&line[pos..pos + k]);
        let close = pos + k;
        if line.as_bytes().get(close + 1) == Some(&b'"') {
            out.push('"');
            pos = close + 2;
        } else {
            return Ok(close + 1);
        }
    }
}

fn parse_number(ctx: &LineCtx, col: usize, text: &str) -> Result<f64> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ctx.err(col, "empty field"));
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(Error::NonFinite {
            path: ctx.path.to_path_buf(),
            what: "non-finite",
            value: v,
            location: format!("line {}, column {col}", ctx.line),
        }),
        Err(_) => {
            // European spreadsheets pair ';' delimiters with decimal commas.
            let hint = if t.contains(',') && t.replacen(',', ".", 1).parse::<f64>().is_ok() {
                " (decimal commas are not supported; use '.')"
            } else {
                ""
            };
            Err(ctx.err(
                col,
                format!("cannot parse '{}' as a number{hint}", shorten(t)),
            ))
        }
    }
}

/// Keeps messages readable when a field is huge (a wrong delimiter makes whole lines fields).
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

/// A line reader that counts physical lines, skips blank ones, strips `\n`, `\r\n` and a
/// leading UTF-8 byte-order mark, and reuses one buffer.
struct Lines<'a, R> {
    path: &'a Path,
    reader: R,
    buf: Vec<u8>,
    line: usize,
}

impl<'a, R: BufRead> Lines<'a, R> {
    fn new(path: &'a Path, reader: R) -> Self {
        Lines {
            path,
            reader,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next line with any content, and its 1-based number.
    fn next_nonempty(&mut self) -> Result<Option<(usize, &str)>> {
        let (start, end) = loop {
            self.buf.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::io(self.path, e))?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let start = if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                3.min(end)
            } else {
                0
            };
            if !self.buf[start..end].iter().all(|&b| b == b' ') {
                break (start, end);
            }
        };
        // Borrowed only after the loop: the borrow checker rejects a loop that may return a
        // borrow of the buffer it refills.
        let content = &self.buf[start..end];
        match std::str::from_utf8(content) {
            Ok(text) => Ok(Some((self.line, text))),
            Err(e) => {
                let col = String::from_utf8_lossy(&content[..e.valid_up_to()])
                    .chars()
                    .count()
                    + 1;
                Err(LineCtx {
                    path: self.path,
                    line: self.line,
                }
                .err(col, "invalid UTF-8 (column counted in characters)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::testutil::{col_major, TempFile};

    fn file(text: &str) -> TempFile {
        TempFile::with_bytes("t.csv", text.as_bytes())
    }

    fn read(text: &str, opts: &ReadOptions) -> Result<(Dataset, TempFile)> {
        let t = file(text);
        read_dataset(t.path(), opts).map(|ds| (ds, t))
    }

    fn err_text(text: &str, opts: &ReadOptions) -> String {
        let t = file(text);
        let e = read_dataset(t.path(), opts).expect_err("expected an error");
        let msg = format!("{e}");
        assert!(msg.starts_with(&t.path().display().to_string()), "{msg}");
        msg
    }

    fn with_target(t: Target) -> ReadOptions {
        ReadOptions {
            target: Some(t),
            ..Default::default()
        }
    }

    #[test]
    fn header_is_detected_and_columns_are_column_major() {
        let (ds, _t) = read("a,b,c\n1,2,3\n4,5,6\n", &ReadOptions::default()).unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (2, 3));
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(ds.feature_names.unwrap(), ["a", "b", "c"]);
        assert!(ds.y.is_none());
    }

    #[test]
    fn no_header_crlf_blank_lines_and_no_trailing_newline() {
        let (ds, _t) = read("\r\n1,2\r\n\r\n  \r\n3,4", &ReadOptions::default()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 2.0, 4.0]);
        assert!(ds.feature_names.is_none());
    }

    #[test]
    fn semicolon_and_tab_are_detected() {
        let (ds, _t) = read("x;y\n1.5;2e3\n-3;.25\n", &ReadOptions::default()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.5, -3.0, 2000.0, 0.25]);
        let (ds, _t) = read("1\t2\t3\n4\t5\t6\n", &ReadOptions::default()).unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (2, 3));
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn explicit_delimiter_and_header_options() {
        let opts = ReadOptions {
            delimiter: Some(b'|'),
            header: Header::No,
            ..Default::default()
        };
        let (ds, _t) = read("1|2\n3|4\n", &opts).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 2.0, 4.0]);

        // A numeric first row can still be a header when the caller says so.
        let opts = ReadOptions {
            header: Header::Yes,
            ..Default::default()
        };
        let (ds, _t) = read("10,20\n3,4\n", &opts).unwrap();
        assert_eq!(ds.x.n_rows(), 1);
        assert_eq!(ds.feature_names.unwrap(), ["10", "20"]);
    }

    #[test]
    fn quoted_header_with_delimiters_and_escapes() {
        let text = "\u{feff}\"weight, kg\",\"say \"\"hi\"\"\",\"y\"\n1,\"2\",3\n";
        let (ds, _t) = read(text, &with_target(Target::Name("y".into()))).unwrap();
        assert_eq!(ds.feature_names.unwrap(), ["weight, kg", "say \"hi\""]);
        assert_eq!(ds.y.unwrap(), [3.0]);
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 2.0]);
    }

    #[test]
    fn target_by_name_and_by_index() {
        let text = "a,y,b\n1,10,2\n3,30,4\n";
        let (ds, _t) = read(text, &with_target(Target::Name("y".into()))).unwrap();
        assert_eq!(ds.y.as_deref().unwrap(), [10.0, 30.0]);
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 2.0, 4.0]);
        assert_eq!(ds.feature_names.unwrap(), ["a", "b"]);

        let (ds, _t) = read("1,10,2\n3,30,4\n", &with_target(Target::Index(2))).unwrap();
        assert_eq!(ds.y.unwrap(), [2.0, 4.0]);
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 10.0, 30.0]);
    }

    #[test]
    fn target_errors_explain() {
        let msg = err_text("a,b\n1,2\n", &with_target(Target::Name("y".into())));
        assert!(
            msg.contains("no column named 'y'; the columns are 'a', 'b'"),
            "{msg}"
        );
        let msg = err_text("1,2\n", &with_target(Target::Name("y".into())));
        assert!(msg.contains("no header row"), "{msg}");
        let msg = err_text("a,b\n1,2\n", &with_target(Target::Index(2)));
        assert!(
            msg.contains("index 2 is out of range: the file has 2 columns"),
            "{msg}"
        );
        let msg = err_text("y,y\n1,2\n", &with_target(Target::Name("y".into())));
        assert!(msg.contains("appears 2 times"), "{msg}");
    }

    #[test]
    fn ragged_row_names_line_and_column() {
        let msg = err_text("a,b,c\n1,2,3\n\n4,5\n", &ReadOptions::default());
        assert!(msg.ends_with(":4:3: expected 3 fields, found 2"), "{msg}");
        let msg = err_text("1,2\n3,4,5,6\n", &ReadOptions::default());
        assert!(msg.ends_with(":2:3: expected 2 fields, found 4"), "{msg}");
    }

    #[test]
    fn bad_fields_name_line_and_column() {
        let msg = err_text("a,b,c\n1,2,3\n4,abc,6\n", &ReadOptions::default());
        assert!(
            msg.ends_with(":3:2: cannot parse 'abc' as a number"),
            "{msg}"
        );
        let msg = err_text("1,2,3\n4,5,\n", &ReadOptions::default());
        assert!(msg.ends_with(":2:3: empty field"), "{msg}");
        let msg = err_text("a;b\n1,5;2\n", &ReadOptions::default());
        assert!(
            msg.contains(":2:1: cannot parse '1,5'") && msg.contains("decimal commas"),
            "{msg}"
        );
        let msg = err_text("a,b\n1,\"2\n", &ReadOptions::default());
        assert!(msg.contains(":2:2: unterminated quoted field"), "{msg}");
        let msg = err_text("a,b\n1,\"2\"x\n", &ReadOptions::default());
        assert!(
            msg.contains(":2:2: unexpected text after a closing quote"),
            "{msg}"
        );
    }

    #[test]
    fn non_finite_values_name_line_and_column() {
        let msg = err_text("a,b\n1,2\n3,NaN\n", &ReadOptions::default());
        assert!(msg.contains("NaN at line 3, column 2"), "{msg}");
        let msg = err_text("1,-inf\n", &ReadOptions::default());
        assert!(msg.contains("-inf at line 1, column 2"), "{msg}");
    }

    #[test]
    fn invalid_utf8_is_a_parse_error() {
        let t = TempFile::with_bytes("u.csv", b"a,b\n1,\xff\n");
        let msg = format!(
            "{}",
            read_dataset(t.path(), &ReadOptions::default()).unwrap_err()
        );
        assert!(msg.contains(":2:3: invalid UTF-8"), "{msg}");
    }

    #[test]
    fn empty_file_gives_an_empty_dataset() {
        let (ds, _t) = read("\n\n", &ReadOptions::default()).unwrap();
        assert_eq!((ds.x.n_rows(), ds.x.n_cols()), (0, 0));
    }

    #[test]
    fn vectors_with_and_without_header_or_target() {
        let t = file("y\n1\n2.5\n");
        assert_eq!(
            read_vector(t.path(), &ReadOptions::default()).unwrap(),
            [1.0, 2.5]
        );
        let t = file("1\n2.5\n");
        assert_eq!(
            read_vector(t.path(), &ReadOptions::default()).unwrap(),
            [1.0, 2.5]
        );

        let t = file("a,y\n1,2\n3,4\n");
        let e = read_vector(t.path(), &ReadOptions::default()).unwrap_err();
        let msg = format!("{e}");
        assert!(
            msg.contains(":1:2: y must have one column, found 2"),
            "{msg}"
        );
        let y = read_vector(t.path(), &with_target(Target::Name("y".into()))).unwrap();
        assert_eq!(y, [2.0, 4.0]);
    }
}
