//! Delimited text (`,` `;` or tab), an optional header row, minimal double-quote support.
//!
//! Lines are read one at a time and numbers go straight into a row-major buffer, which is
//! transposed to column-major once at the end. Quoted fields may not span lines.
//!
//! Whether the first row is a header is decided by [`decide_header`], a rule on that row alone,
//! written so that a user can predict it; a pandas index column is recognised by its empty
//! name ([`IndexCol::Auto`]).

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::lines::{LineCtx, Lines};
use super::{Dataset, Header, HeaderChoice, IndexCol, Notice, ReadOptions, Target};
use crate::design::Dense;
use crate::error::{Error, Result};

/// Delimiters considered when detecting, in order of preference on ties.
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// Reads a delimited text file; the `opts.target` column, if any, becomes `y`.
pub fn read_dataset(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    read_dataset_from(BufReader::new(super::open(path)?), path, opts)
}

/// [`read_dataset`] from any reader; `path` only names the input in messages.
pub fn read_dataset_from(reader: impl BufRead, path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let targets: Vec<Target> = opts.target.iter().cloned().collect();
    let (mut ds, mut columns) = read_with_targets(reader, path, opts, &targets)?;
    ds.y = columns.ys.pop();
    Ok(ds)
}

/// Reads a delimited text file whose columns `targets` (each by the rule of
/// [`Target::Column`], in the order given) are k responses: the dataset of the other columns,
/// and the responses in that order. `opts.target` must be `None`. A target named twice (by
/// name or index), or that is the index column, is an error naming the file and the column.
pub fn read_dataset_targets(
    path: &Path,
    opts: &ReadOptions,
    targets: &[Target],
) -> Result<(Dataset, TargetColumns)> {
    debug_assert!(opts.target.is_none(), "the targets are given apart");
    let reader = BufReader::new(super::open(path)?);
    let (ds, columns) = read_with_targets(reader, path, opts, targets)?;
    if ds.x.n_rows() == 0 || ds.x.n_cols() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            rows: ds.x.n_rows(),
            cols: ds.x.n_cols(),
        });
    }
    Ok((ds, columns))
}

/// The target columns of a file, in the order they were asked for.
pub struct TargetColumns {
    pub ys: Vec<Vec<f64>>,
    /// Their header names; without a header, the targets as given.
    pub names: Vec<String>,
}

fn read_with_targets(
    reader: impl BufRead,
    path: &Path,
    opts: &ReadOptions,
    targets: &[Target],
) -> Result<(Dataset, TargetColumns)> {
    let table = read_table(reader, path, opts, targets, false)?;
    let (n, p) = (table.rows, table.x_cols);
    let x = super::npy::row_to_col_major(&table.x, n, p);
    let ds = Dataset {
        x: Box::new(Dense::from_col_major(n, p, x)),
        y: None,
        feature_names: table.names,
        source: path.to_path_buf(),
        header: table.header,
        implied_width: false,
        notices: table.notices,
    };
    let names = table
        .y_names
        .unwrap_or_else(|| targets.iter().map(target_text).collect());
    Ok((
        ds,
        TargetColumns {
            ys: table.ys,
            names,
        },
    ))
}

/// Reads a target vector: a one-column file, or the `opts.target` column of a wider one.
pub fn read_vector(path: &Path, opts: &ReadOptions) -> Result<Vec<f64>> {
    read_vector_from(BufReader::new(super::open(path)?), path, opts).map(|(y, _)| y)
}

/// [`read_vector`] from any reader, with what the reader has to report.
pub fn read_vector_from(
    reader: impl BufRead,
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Vec<f64>, Vec<Notice>)> {
    let targets: Vec<Target> = opts.target.iter().cloned().collect();
    let mut table = read_table(reader, path, opts, &targets, true)?;
    // Without a target, `read_table` has checked that the only column is X's.
    Ok((table.ys.pop().unwrap_or(table.x), table.notices))
}

/// The numbers of a file, the target and index columns split off.
struct Table {
    rows: usize,
    x_cols: usize,
    /// Row-major `rows x x_cols`.
    x: Vec<f64>,
    /// One column per target, in the order the targets were given.
    ys: Vec<Vec<f64>>,
    /// Header names of the target columns.
    y_names: Option<Vec<String>>,
    /// Header names of the X columns.
    names: Option<Vec<String>>,
    header: Option<HeaderChoice>,
    notices: Vec<Notice>,
}

/// How a first-row field reads, for the header rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Empty,
    Text,
}

fn kind(field: &str) -> Kind {
    if field.is_empty() {
        Kind::Empty
    } else if field.parse::<f64>().is_ok() {
        Kind::Number
    } else {
        Kind::Text
    }
}

/// The rule for `Header::Auto`, on the first row's fields (trimmed, quotes removed):
///
/// 1. An empty first field is set aside (pandas writes its index column with an empty name;
///    a data row cannot start with an empty field anyway). The rest are the *names*.
/// 2. No name is a number: a header.
/// 3. Every name is a number: a header when a first field was set aside, or when the names
///    read `0,1,...,k-1` for k >= 2 (pandas' names for an unnamed frame); otherwise data.
/// 4. Some are numbers, some are not: a header when fewer than half of the names are numbers,
///    data otherwise (a bad cell in a data row is then reported as such). This guess is
///    close, and is warned about.
///
/// The decision for `0,1` and `0,1,2` (rule 3) is also warned about: short rows like these can
/// as well be data. A single `0` is pandas' name of an unnamed column (`Series.to_csv()`) or a
/// first value; the row below decides ([`lone_zero_is_a_header`]).
///
/// Returns the decision, and a warning when the guess is close.
pub fn decide_header(first: &[String]) -> (HeaderChoice, Option<String>) {
    let (present, reason, warning) = decide(first);
    let all_numbers = !first.is_empty() && first.iter().all(|f| kind(f) == Kind::Number);
    (
        HeaderChoice {
            present,
            reason,
            all_numbers,
        },
        warning,
    )
}

/// [`decide_header`]'s rule: whether the row is a header, why, and the warning if any.
fn decide(first: &[String]) -> (bool, String, Option<String>) {
    let names = match first.split_first() {
        Some((f, rest)) if f.is_empty() && !rest.is_empty() => rest,
        _ => first,
    };
    let set_aside = names.len() < first.len();
    let kinds: Vec<Kind> = names.iter().map(|f| kind(f)).collect();
    let numbers = kinds.iter().filter(|&&k| k == Kind::Number).count();
    let k = names.len();
    let counting = names
        .iter()
        .enumerate()
        .all(|(i, f)| f.bytes().all(|b| b.is_ascii_digit()) && f.parse() == Ok(i));
    let flag_no = "pass --no-header if it is data";
    let flag_yes = "pass --header if it is a header";
    if numbers == 0 {
        return (true, format!("none of its {k} fields is a number"), None);
    }
    if numbers == k {
        if set_aside {
            return (
                true,
                "its first field is empty, as in pandas' to_csv() with an index".into(),
                None,
            );
        }
        if counting && k >= 2 {
            let seq = if k <= 3 {
                names.join(",")
            } else {
                format!("0,1,...,{}", k - 1)
            };
            let reason = format!("it reads {seq}, pandas' default column names");
            let warn = (k <= 3).then(|| {
                format!(
                    "the first row '{}' was taken as a header ({reason}); {flag_no}",
                    first.join(",")
                )
            });
            return (true, reason, warn);
        }
        // Column numbers from 1 (pandas with columns=range(1, p + 1)) read as data; say so
        // from 4 columns on, where a data row is less likely to read 1,2,3,4 (shorter rows
        // like `1,2` are what small hand-written examples look like, and would only be noise).
        let from_one = k >= 4
            && names
                .iter()
                .enumerate()
                .all(|(i, f)| f.bytes().all(|b| b.is_ascii_digit()) && f.parse() == Ok(i + 1));
        let warn = if from_one {
            Some(format!(
                "the first row '{}' was taken as data; {flag_yes} (column numbers)",
                first.join(",")
            ))
        } else {
            None
        };
        return (false, format!("all {k} of its fields are numbers"), warn);
    }
    let text = k - numbers;
    let present = 2 * numbers < k;
    let reason = format!("{text} of its {k} fields are not numbers");
    let warn = if present {
        format!(
            "the first row was taken as a header because {text} of its {k} fields are not \
             numbers, though {numbers} are; {flag_no}"
        )
    } else {
        format!(
            "the first row was taken as data because {numbers} of its {k} fields are numbers; \
             {flag_yes}"
        )
    };
    (present, reason, Some(warn))
}

/// Whether the first row is the single field `0`.
fn is_lone_zero(first: &[String]) -> bool {
    matches!(first, [f] if f == "0")
}

/// A first row `0` (at `zero`) above the row `text`: a header when that row is one number
/// written as a decimal (`2.5`, `1e-3`: pandas writes every value of a float column so, and
/// would have written a first value 0 as `0.0`); data when it is not one number (several
/// fields, or text: the error is then the data's); refused when it is an integer, where both
/// readings are as likely (`Series([0, 1, 1]).to_csv()` against the values 0, 0, 1, 1).
fn lone_zero_is_a_header(zero: &LineCtx, text: &str) -> Result<bool> {
    let field = text.trim().trim_matches('"').trim();
    if field.contains([',', ';', '\t']) || field.parse::<f64>().is_err() {
        return Ok(false);
    }
    if field.contains(['.', 'e', 'E']) {
        return Ok(true);
    }
    Err(Error::AmbiguousLoneZero {
        path: zero.path.to_path_buf(),
        line: zero.line,
    })
}

/// The first non-blank line of a CSV, its delimiter (given, else detected from it) and its
/// fields (trimmed, quotes removed).
struct FirstRow<'a> {
    ctx: LineCtx<'a>,
    line: String,
    delim: u8,
    fields: Vec<String>,
}

fn first_row<'a, R: BufRead>(
    lines: &mut Lines<'a, R>,
    opts: &ReadOptions,
) -> Result<Option<FirstRow<'a>>> {
    let Some((ctx, line)) = lines.next_nonblank(b" ")? else {
        return Ok(None);
    };
    let delim = match opts.delimiter {
        Some(d) if d.is_ascii() && !matches!(d, b'"' | b'\n' | b'\r') => d,
        Some(d) => {
            return Err(Error::invalid(
                "delimiter",
                format!("{:?}", d as char),
                "an ASCII character other than '\"' and line breaks",
            ))
        }
        None => detect_delimiter(line),
    };
    let line = line.to_string();
    let mut fields = Vec::new();
    let mut scratch = String::new();
    for_each_field(&ctx, &line, delim, &mut scratch, |_, f| {
        fields.push(f.trim().to_string());
        Ok(())
    })?;
    Ok(Some(FirstRow {
        ctx,
        line,
        delim,
        fields,
    }))
}

fn read_table(
    reader: impl BufRead,
    path: &Path,
    opts: &ReadOptions,
    targets: &[Target],
    single_column: bool,
) -> Result<Table> {
    let mut lines = Lines::new(path, reader);
    let mut notices = Vec::new();
    let Some(FirstRow {
        ctx: first_ctx,
        line: first_line,
        delim,
        fields: first,
    }) = first_row(&mut lines, opts)?
    else {
        return Ok(Table {
            rows: 0,
            x_cols: 0,
            x: Vec::new(),
            ys: Vec::new(),
            y_names: None,
            names: None,
            header: None,
            notices,
        });
    };
    let width = first.len();
    let mut scratch = String::new();
    // A close guess: said in a warning, and in the error if the first row then fails to parse.
    let mut guess = None;
    let given = |present: bool, flag: &str| HeaderChoice {
        present,
        reason: flag.to_string(),
        all_numbers: false,
    };
    let choice = match opts.header {
        Header::Yes => given(true, "--header"),
        Header::No => given(false, "--no-header"),
        Header::Auto => {
            let (choice, warn) = decide_header(&first);
            if let Some(text) = warn {
                guess = Some(text.clone());
                notices.push(Notice {
                    warning: true,
                    text: format!("{}: {text}", path.display()),
                });
            }
            choice
        }
    };
    // A lone `0`: the row below says whether it is pandas' name of the column.
    let mut second: Option<(LineCtx, String)> = None;
    let choice = if opts.header == Header::Auto && !choice.present && is_lone_zero(&first) {
        second = lines.next_nonblank(b" ")?.map(|(c, t)| (c, t.to_string()));
        match second
            .as_ref()
            .map(|(c, t)| (c, lone_zero_is_a_header(&first_ctx, t)))
        {
            None => choice,
            Some((_, Ok(false))) => choice,
            Some((_, Ok(true))) => {
                notices.push(Notice {
                    warning: true,
                    text: format!(
                        "{}: the first row '0' was taken as a header (pandas' name of an \
                         unnamed column: the values below it are written as decimals); pass \
                         --no-header if it is data",
                        path.display()
                    ),
                });
                HeaderChoice {
                    present: true,
                    reason: "a lone 0 above decimals is pandas' name of an unnamed column".into(),
                    all_numbers: false,
                }
            }
            Some((_, Err(e))) => return Err(e),
        }
    } else {
        choice
    };
    let has_header = choice.present;
    let names = has_header.then(|| first.clone());
    let index = resolve_index(path, opts.index_col, names.as_deref(), width)?;
    let mut cols: Vec<usize> = Vec::with_capacity(targets.len());
    for t in targets {
        let j = resolve_one_target(path, t, &first, names.as_deref(), width, &mut notices)?;
        if let Some(k) = cols.iter().position(|&c| c == j) {
            let (first, again) = (target_text(&targets[k]), target_text(t));
            let msg = if first == again {
                format!("--target {first} is given twice (column {j}, 0-based)")
            } else {
                format!("--target {first} and --target {again} are the same column ({j}, 0-based)")
            };
            return Err(Error::Format {
                path: path.to_path_buf(),
                msg: format!("{msg}: each response is one column"),
            });
        }
        if Some(j) == index {
            return Err(Error::Format {
                path: path.to_path_buf(),
                msg: format!(
                    "the target {} is column {j} (0-based), which is also the index column \
                     (pass --index-col none to use it)",
                    target_text(t)
                ),
            });
        }
        cols.push(j);
    }
    let x_cols = width - cols.len() - usize::from(index.is_some());
    if single_column && cols.is_empty() && x_cols != 1 {
        return Err(first_ctx.err(
            2,
            format!("expected one column of values, found {x_cols} (select one with --target)"),
        ));
    }

    let mut sink = RowSink::new(width, &cols, index);
    if !has_header {
        sink.push_line(&first_ctx, &first_line, delim, &mut scratch)
            .map_err(|e| match (e, &guess) {
                (
                    Error::Parse {
                        path,
                        line,
                        col,
                        msg,
                    },
                    Some(g),
                ) => Error::Parse {
                    path,
                    line,
                    col,
                    msg: format!("{msg} ({g})"),
                },
                (e, _) => e,
            })?;
    }
    if let Some((ctx, text)) = &second {
        sink.push_line(ctx, text, delim, &mut scratch)?;
    }
    while let Some((ctx, text)) = lines.next_nonblank(b" ")? {
        sink.push_line(&ctx, text, delim, &mut scratch)?;
    }

    if let Some(i) = index {
        let how = match opts.index_col {
            IndexCol::Auto => {
                "its name is empty, as pandas writes its index; pass --index-col none to keep it"
            }
            _ => "--index-col",
        };
        let values = if sink.index_counts && sink.rows > 0 {
            format!(", values 0 to {}", sink.rows - 1)
        } else {
            String::new()
        };
        notices.push(Notice {
            warning: false,
            text: format!(
                "{}: column {} (0-based{values}) is row labels and is left out ({how})",
                path.display(),
                i
            ),
        });
    }
    let y_names = names
        .as_ref()
        .map(|all| cols.iter().map(|&j| all[j].clone()).collect());
    let names: Option<Vec<String>> = names.map(|all| {
        all.into_iter()
            .enumerate()
            .filter(|&(j, _)| !cols.contains(&j) && Some(j) != index)
            .map(|(_, name)| name)
            .collect()
    });
    if let Some(text) = names.as_deref().and_then(repeated_name) {
        notices.push(Notice {
            warning: true,
            text: format!("{}: {text}", path.display()),
        });
    }
    Ok(Table {
        rows: sink.rows,
        x_cols,
        x: sink.x,
        ys: sink.ys,
        y_names,
        names,
        header: Some(choice),
        notices,
    })
}

/// Collects the numbers of data rows, checking that every row has the first row's width.
struct RowSink {
    width: usize,
    /// `slot[j]`: which target column `j` is, if any.
    slot: Vec<Option<usize>>,
    /// The index column: not parsed as a number (row labels may be any text).
    index: Option<usize>,
    /// Whether the index column has read 0, 1, 2, ... so far (pandas' default index).
    index_counts: bool,
    rows: usize,
    x: Vec<f64>,
    ys: Vec<Vec<f64>>,
}

impl RowSink {
    fn new(width: usize, targets: &[usize], index: Option<usize>) -> Self {
        let mut slot = vec![None; width];
        for (k, &j) in targets.iter().enumerate() {
            slot[j] = Some(k);
        }
        RowSink {
            width,
            slot,
            index,
            index_counts: true,
            rows: 0,
            x: Vec::new(),
            ys: vec![Vec::new(); targets.len()],
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
            slot,
            index,
            index_counts,
            rows,
            x,
            ys,
        } = self;
        // Fields past the expected width are only counted, for the message below.
        let count = for_each_field(ctx, line, delim, scratch, |j, text| {
            if Some(j) == *index {
                *index_counts &= text.trim().parse::<usize>() == Ok(*rows);
            } else if j < *width {
                let v = parse_number(ctx, j + 1, text)?;
                match slot[j] {
                    Some(k) => ys[k].push(v),
                    None => x.push(v),
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

fn resolve_index(
    path: &Path,
    index: IndexCol,
    names: Option<&[String]>,
    width: usize,
) -> Result<Option<usize>> {
    match index {
        IndexCol::None => Ok(None),
        IndexCol::Auto => Ok(names.filter(|n| n.len() > 1 && n[0].is_empty()).map(|_| 0)),
        IndexCol::Column(i) if i < width && width > 1 => Ok(Some(i)),
        IndexCol::Column(i) if i >= width => Err(Error::Format {
            path: path.to_path_buf(),
            msg: format!(
                "--index-col {i} is not a column: the file has {width} column(s) (0-based \
                 indices 0 to {})",
                width - 1
            ),
        }),
        IndexCol::Column(i) => Err(Error::Format {
            path: path.to_path_buf(),
            msg: format!(
                "--index-col {i} leaves no data: the file has {width} column(s) \
                 (0-based indices 0 to {})",
                width - 1
            ),
        }),
    }
}

/// How a target was given, for messages.
fn target_text(t: &Target) -> String {
    match t {
        Target::Name(s) | Target::Column(s) => s.clone(),
        Target::Index(i) => i.to_string(),
    }
}

/// The 0-based column of one target. `first` is the first row (a header when `names` is
/// given); when it was read as data and holds the target's text elsewhere, the user may well
/// think of that row as names (`2019,2020,2021` reads as numbers), so say so: in a warning
/// when the text is also a valid index, in the error when it is not.
fn resolve_one_target(
    path: &Path,
    target: &Target,
    first: &[String],
    names: Option<&[String]>,
    width: usize,
    notices: &mut Vec<Notice>,
) -> Result<usize> {
    let in_data_row = match (target, names) {
        // Not when the field sits at the very index T names: both readings agree.
        (Target::Column(t), None) => first
            .iter()
            .enumerate()
            .position(|(j, f)| f == t && t.parse() != Ok(j))
            .map(|j| {
                format!(
                    "the first row, read as data, has a field '{t}' (0-based column {j}); pass \
                 --header if that row is a header"
                )
            }),
        _ => None,
    };
    let j = resolve_target(path, target, names, width, notices).map_err(|e| {
        match (e, &in_data_row) {
            (Error::Format { path, msg }, Some(hint)) => Error::Format {
                path,
                msg: format!("{msg}; {hint}"),
            },
            (e, _) => e,
        }
    })?;
    if let (Some(hint), Target::Column(t)) = (&in_data_row, target) {
        notices.push(Notice {
            warning: true,
            text: format!(
                "{}: --target {t} is taken as the 0-based column index {t}, but {hint}",
                path.display()
            ),
        });
    }
    Ok(j)
}

fn resolve_target(
    path: &Path,
    target: &Target,
    names: Option<&[String]>,
    width: usize,
    notices: &mut Vec<Notice>,
) -> Result<usize> {
    let fail = |msg: String| {
        Err(Error::Format {
            path: path.to_path_buf(),
            msg,
        })
    };
    let by_index = |i: usize| {
        if i < width {
            Ok(i)
        } else {
            fail(format!(
                "target column index {i} is out of range: the file has {width} columns \
                 (0-based indices 0 to {})",
                width - 1
            ))
        }
    };
    let hits = |name: &str| -> Vec<usize> {
        names.map_or_else(Vec::new, |n| {
            (0..n.len()).filter(|&j| n[j] == name).collect()
        })
    };
    let by_name = |name: &str, hits: &[usize]| match (names, hits) {
        (None, _) => fail(format!(
            "target '{name}' is a column name, but the file has no header row \
             (give a 0-based column index instead)"
        )),
        (Some(_), [j]) => Ok(*j),
        (Some(n), []) => fail(format!(
            "no column named '{name}'; the columns are {}",
            preview(n)
        )),
        (Some(_), _) => fail(format!(
            "column name '{name}' appears {} times (0-based indices {hits:?}); \
             give an index instead",
            hits.len()
        )),
    };
    match target {
        Target::Index(i) => by_index(*i),
        Target::Name(name) => by_name(name, &hits(name)),
        Target::Column(s) => {
            let found = hits(s);
            match (s.parse::<usize>(), &found[..]) {
                (Ok(i), []) => by_index(i),
                (Ok(i), [j]) if *j != i => {
                    // The name wins (the documented rule); say so, since the user may have
                    // meant the position.
                    notices.push(Notice {
                        warning: true,
                        text: format!(
                            "{}: --target {s} is the column named '{s}' (0-based index {j}), \
                             not the column at index {i}",
                            path.display()
                        ),
                    });
                    Ok(*j)
                }
                _ => by_name(s, &found),
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

/// Fields in the first non-blank line of the CSV at `path` less a pandas index (an empty
/// first field), or `None` when it cannot be read.
pub fn first_row_width(path: &Path, opts: &ReadOptions) -> Option<usize> {
    let file = std::fs::File::open(path).ok()?;
    let mut lines = Lines::new(path, BufReader::new(file));
    let fields = first_row(&mut lines, opts).ok()??.fields;
    Some(fields.len() - usize::from(fields.len() > 1 && fields[0].is_empty()))
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
    if delim == b' ' {
        // Space-separated (np.savetxt): runs of spaces are one separator, and spaces at the
        // ends separate nothing; no quoting.
        let mut count = 0;
        for (i, field) in line.split(' ').filter(|s| !s.is_empty()).enumerate() {
            f(i, field)?;
            count = i + 1;
        }
        return Ok(count);
    }
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

/// The first feature name that repeats, said with its columns (of X, 0-based): a model
/// fitted on such columns cannot be matched by name later (`predict` refuses the file unless
/// `--by-position`).
fn repeated_name(names: &[String]) -> Option<String> {
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    names.iter().enumerate().find_map(|(j, name)| {
        first.insert(name, j).map(|i| {
            format!(
                "columns {i} and {j} of X are both named '{name}'; the model's columns can then \
                 only be matched by position (predict --by-position)"
            )
        })
    })
}

fn parse_number(ctx: &LineCtx, col: usize, text: &str) -> Result<f64> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ctx.err(col, "empty field"));
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(ctx.non_finite("non-finite", v, col, t)),
        Err(_) => {
            // The usual reasons a cell is not a number, said where the cell is.
            const MISSING: [&str; 8] = ["NA", "N/A", "na", "n/a", "null", "NULL", "None", "?"];
            let thousands = t.contains(',') && {
                // 1,000 or -12,345,678.5: groups of three digits after each comma.
                let int = t
                    .trim_start_matches(['+', '-'])
                    .split('.')
                    .next()
                    .unwrap_or("");
                let mut groups = int.split(',');
                let lead = groups.next().unwrap_or("");
                (1..=3).contains(&lead.len())
                    && lead.bytes().all(|b| b.is_ascii_digit())
                    && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
            };
            let hint = if thousands && !t.contains('.') && t.matches(',').count() == 1 {
                // 1,000 and 1,5 read alike: a thousands separator or a decimal comma.
                " (a thousands separator or a decimal comma: neither is supported; write \
                 plain numbers with '.' for decimals)"
            } else if thousands {
                " (thousands separators are not supported; write plain numbers)"
            } else if t.contains(',') && t.replacen(',', ".", 1).parse::<f64>().is_ok() {
                // European spreadsheets pair ';' delimiters with decimal commas.
                " (decimal commas are not supported; use '.')"
            } else if let Some(name) = other_delimiter(t) {
                // A header and a body written with different delimiters (the delimiter is
                // found on line 1), or a line pasted from another file.
                return Err(ctx.err(
                    col,
                    format!(
                        "cannot parse '{}' as a number (its numbers are separated by {name}, \
                         not by the delimiter found on line 1: use one delimiter in the whole \
                         file)",
                        shorten(t)
                    ),
                ));
            } else if t.split_whitespace().count() > 1
                && t.split_whitespace().all(|f| f.parse::<f64>().is_ok())
            {
                // np.savetxt's default: numbers separated by spaces.
                " (its numbers are separated by spaces, which lariat does not guess: pass \
                 --delimiter space)"
            } else if MISSING.contains(&t) {
                " (missing values are not supported: impute or drop them first)"
            } else if col == 1 {
                " (if the first column holds row labels, pass --index-col 0)"
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

/// The delimiter, other than the file's, that splits `t` into two or more numbers.
fn other_delimiter(t: &str) -> Option<&'static str> {
    [
        (',', "commas"),
        (';', "semicolons"),
        ('\t', "tabs"),
        ('|', "'|'"),
    ]
    .into_iter()
    .find(|&(c, _)| t.contains(c) && t.split(c).all(|f| f.trim().parse::<f64>().is_ok()))
    .map(|(_, name)| name)
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
    fn several_targets_in_the_order_given() {
        let t = file("a,u,b,v\n1,10,2,20\n3,30,4,40\n");
        let targets = [Target::parse("v"), Target::parse("1")];
        let (ds, cols) = read_dataset_targets(t.path(), &ReadOptions::default(), &targets).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 2.0, 4.0]);
        assert_eq!(ds.feature_names.unwrap(), ["a", "b"]);
        assert_eq!(cols.ys, [vec![20.0, 40.0], vec![10.0, 30.0]]);
        assert_eq!(cols.names, ["v", "u"]);
        let twice = [Target::parse("u"), Target::parse("1")];
        let Err(e) = read_dataset_targets(t.path(), &ReadOptions::default(), &twice) else {
            panic!("a column named twice must be refused");
        };
        assert!(
            format!("{e}").contains("--target u and --target 1 are the same column"),
            "{e}"
        );
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
        // A header and a body with different delimiters: the body's is named.
        for (text, name) in [
            ("a;b;y\n1,2,3\n", "commas"),
            ("a,b,y\n1;2;3\n", "semicolons"),
            ("a,b,y\n1\t2\t3\n", "tabs"),
        ] {
            let msg = err_text(text, &ReadOptions::default());
            assert!(
                msg.contains(":2:1: cannot parse")
                    && msg.contains(&format!(
                        "separated by {name}, not by the delimiter found on line 1"
                    )),
                "{msg}"
            );
        }
        // np.savetxt's default delimiter, a space, is named; given, it reads (runs of spaces
        // are one separator).
        let msg = err_text("a b\n1.5 2\n", &ReadOptions::default());
        assert!(msg.contains("pass --delimiter space"), "{msg}");
        let spaced = ReadOptions {
            delimiter: Some(b' '),
            ..Default::default()
        };
        let ds = read_dataset_from(
            "a  b\n 1.5   2\n3 4.5  \n".as_bytes(),
            Path::new("s.txt"),
            &spaced,
        )
        .unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.5, 3.0, 2.0, 4.5]);
        // Groups of three digits are a thousands separator, or (one group, no point) either.
        let msg = err_text("a;b\n12,345,678.5;2\n", &ReadOptions::default());
        assert!(
            msg.contains("thousands separators are not supported"),
            "{msg}"
        );
        let msg = err_text("a;b\n1,000;2\n", &ReadOptions::default());
        assert!(
            msg.contains("a thousands separator or a decimal comma"),
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
    fn common_reasons_for_a_bad_cell_are_hinted() {
        let msg = err_text("a,b\n1,NA\n", &ReadOptions::default());
        assert!(msg.ends_with(":2:2: cannot parse 'NA' as a number (missing values are not supported: impute or drop them first)"), "{msg}");
        let msg = err_text("id,b\ng1,2\n", &ReadOptions::default());
        assert!(msg.ends_with(":2:1: cannot parse 'g1' as a number (if the first column holds row labels, pass --index-col 0)"), "{msg}");
    }

    #[test]
    fn non_finite_values_name_line_and_column() {
        let msg = err_text("a,b\n1,2\n3,NaN\n", &ReadOptions::default());
        assert!(msg.contains("NaN at line 3, column 2"), "{msg}");
        let msg = err_text("1,-inf\n", &ReadOptions::default());
        assert!(msg.contains("-inf at line 1, column 2"), "{msg}");
        // A number written beyond f64 parses as infinity; it is named as what it is.
        let msg = err_text("1,2\n3,-1e400\n", &ReadOptions::default());
        assert!(
            msg.contains(":2:2: -1e400 is beyond the range of f64"),
            "{msg}"
        );
    }

    #[test]
    fn repeated_names_are_a_warning() {
        let t = file("a,b,a,y\n1,2,3,4\n5,6,7,9\n");
        let opts = ReadOptions {
            target: Some(Target::Name("y".into())),
            ..ReadOptions::default()
        };
        let ds = read_dataset(t.path(), &opts).unwrap();
        let warned: Vec<&Notice> = ds.notices.iter().filter(|n| n.warning).collect();
        assert_eq!(
            warned.len(),
            1,
            "{:?}",
            ds.notices.iter().map(|n| &n.text).collect::<Vec<_>>()
        );
        assert!(warned[0]
            .text
            .contains("columns 0 and 2 of X are both named 'a'"));
        let t = file("a,b,c\n1,2,3\n");
        let ds = read_dataset(t.path(), &ReadOptions::default()).unwrap();
        assert!(ds.notices.iter().all(|n| !n.warning));
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
            msg.contains(":1:2: expected one column of values, found 2"),
            "{msg}"
        );
        let y = read_vector(t.path(), &with_target(Target::Name("y".into()))).unwrap();
        assert_eq!(y, [2.0, 4.0]);
        // pandas' Series.to_csv(): an unnamed index, then the values.
        let t = file(",0\n0,1.5\n1,2.5\n");
        assert_eq!(
            read_vector(t.path(), &ReadOptions::default()).unwrap(),
            [1.5, 2.5]
        );
    }

    fn names_of(text: &str, opts: &ReadOptions) -> (Option<Vec<String>>, usize, Vec<Notice>) {
        let (ds, _t) = read(text, opts).unwrap();
        (ds.feature_names, ds.x.n_rows(), ds.notices)
    }

    /// Issue 9: `DataFrame.to_csv(index=False)` of an unnamed frame writes `0,1,2,...`.
    #[test]
    fn pandas_numeric_names_are_a_header() {
        let (names, rows, notices) = names_of("0,1,2,3\n5,6,7,8\n", &ReadOptions::default());
        assert_eq!(names.unwrap(), ["0", "1", "2", "3"]);
        assert_eq!(rows, 1);
        assert!(notices.is_empty(), "{notices:?}");
        // Short: a header still, but warned about.
        let (names, rows, notices) = names_of("0,1\n5,6\n", &ReadOptions::default());
        assert_eq!((names.unwrap().len(), rows), (2, 1));
        assert!(notices[0].warning && notices[0].text.contains("pass --no-header"));
        // Not counting from 0: data; from 1, with a warning (column numbers, or data).
        let (names, rows, notices) = names_of("1,2,3,4\n5,6,7,8\n", &ReadOptions::default());
        assert_eq!((names, rows), (None, 2));
        assert!(
            notices[0].warning && notices[0].text.contains("'1,2,3,4' was taken as data"),
            "{notices:?}"
        );
        let (names, rows, notices) = names_of("1,2,3\n5,6,7\n", &ReadOptions::default());
        assert_eq!((names, rows), (None, 2));
        assert!(notices.is_empty(), "{notices:?}");
        let (names, rows, notices) = names_of("0,1,3\n5,6,7\n", &ReadOptions::default());
        assert_eq!((names, rows), (None, 2));
        assert!(notices.is_empty(), "{notices:?}");
        let (names, rows, _) = names_of("0.0,1,2\n5,6,7\n", &ReadOptions::default());
        assert_eq!((names, rows), (None, 2));
    }

    /// Issue 9: a header-less file with one bad cell in its first row must not lose that row
    /// to become the names; the bad cell is reported.
    #[test]
    fn one_bad_cell_in_a_data_row_is_an_error_not_a_header() {
        let msg = err_text("1,2,x,4\n5,6,7,8\n", &ReadOptions::default());
        assert!(
            msg.ends_with(
                ":1:3: cannot parse 'x' as a number (the first row was taken as data because \
                 3 of its 4 fields are numbers; pass --header if it is a header)"
            ),
            "{msg}"
        );
        // Mostly names: a header, with a warning since some names are numbers.
        let (names, rows, notices) = names_of(
            "gene,2019,2020,age,sex\n1,2,3,4,5\n",
            &ReadOptions::default(),
        );
        assert_eq!(names.unwrap()[1], "2019");
        assert_eq!(rows, 1);
        assert!(
            notices[0].warning
                && notices[0]
                    .text
                    .contains("3 of its 5 fields are not numbers, though 2 are"),
            "{notices:?}"
        );
    }

    #[test]
    fn the_summary_says_what_was_chosen() {
        let (ds, _t) = read("a,b\n1,2\n", &ReadOptions::default()).unwrap();
        let h = ds.header.unwrap();
        assert!(h.present);
        assert_eq!(h.reason, "none of its 2 fields is a number");
        let (ds, _t) = read("1,2\n", &ReadOptions::default()).unwrap();
        assert!(!ds.header.unwrap().present);
    }

    /// Issue 9: pandas' default `to_csv()` writes an unnamed index column first.
    #[test]
    fn pandas_index_column_is_left_out_with_a_note() {
        let text = ",a,b\n0,1.5,2\n1,3,4\n2,5,6\n";
        let (ds, _t) = read(text, &ReadOptions::default()).unwrap();
        assert_eq!(ds.feature_names.as_deref().unwrap(), ["a", "b"]);
        assert_eq!(col_major(ds.x.as_ref()), [1.5, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert_eq!(ds.notices.len(), 1);
        assert!(
            ds.notices[0]
                .text
                .contains("column 0 (0-based, values 0 to 2) is row labels"),
            "{:?}",
            ds.notices
        );
        // Row labels of any kind (a filtered frame, gene ids) are left out without parsing.
        let (ds, _t) = read(",a\ng7,1\ng9,2\n", &ReadOptions::default()).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 2.0]);
        // Numeric names after an unnamed index: a header too.
        let (ds, _t) = read(",0,1,2\n0,1,2,3\n1,4,5,6\n", &ReadOptions::default()).unwrap();
        assert_eq!(ds.feature_names.unwrap(), ["0", "1", "2"]);
        assert_eq!(ds.x.n_rows(), 2);
        // Kept on request; chosen explicitly.
        let opts = ReadOptions {
            index_col: IndexCol::None,
            ..Default::default()
        };
        let msg = err_text(",a\ng7,1\n", &opts);
        assert!(msg.contains(":2:1: cannot parse 'g7' as a number"), "{msg}");
        let opts = ReadOptions {
            index_col: IndexCol::Column(1),
            header: Header::No,
            ..Default::default()
        };
        let (ds, _t) = read("1,id1,2\n3,id2,4\n", &opts).unwrap();
        assert_eq!(col_major(ds.x.as_ref()), [1.0, 3.0, 2.0, 4.0]);
        let msg = err_text(
            "a,b\n1,2\n",
            &ReadOptions {
                index_col: IndexCol::Column(2),
                ..Default::default()
            },
        );
        assert!(msg.contains("--index-col 2 is not a column"), "{msg}");
        let msg = err_text(
            "a\n1\n",
            &ReadOptions {
                index_col: IndexCol::Column(0),
                ..Default::default()
            },
        );
        assert!(msg.contains("--index-col 0 leaves no data"), "{msg}");
        let msg = err_text(
            ",y\n0,1\n",
            &ReadOptions {
                target: Some(Target::parse("0")),
                ..Default::default()
            },
        );
        assert!(msg.contains("also the index column"), "{msg}");
    }

    /// Issue 9: `--target 3` is the column named `3` when there is one.
    #[test]
    fn target_names_win_over_positions() {
        let opts = with_target(Target::parse("1"));
        let (ds, _t) = read("1,0\n10,20\n30,40\n", &opts).unwrap();
        // The header is 1,0 (not counting from 0): data, so "1" is the index.
        assert_eq!(ds.y.unwrap(), [0.0, 20.0, 40.0]);
        let (ds, _t) = read("0,1,2,3\n10,20,30,40\n", &opts).unwrap();
        assert_eq!(ds.y.unwrap(), [20.0]);
        assert!(ds.notices.is_empty());
        // Named '1' at index 2: the name wins, with a warning.
        let opts = ReadOptions {
            header: Header::Yes,
            target: Some(Target::parse("1")),
            ..Default::default()
        };
        let (ds, _t) = read("a,b,1\n10,20,30\n", &opts).unwrap();
        assert_eq!(ds.y.unwrap(), [30.0]);
        assert_eq!(ds.feature_names.unwrap(), ["a", "b"]);
        assert!(
            ds.notices[0].warning
                && ds.notices[0]
                    .text
                    .contains("--target 1 is the column named '1' (0-based index 2), not the column at index 1"),
            "{:?}",
            ds.notices
        );
        // No such name: an integer is an index.
        let (ds, _t) = read("a,b,c\n10,20,30\n", &with_target(Target::parse("0"))).unwrap();
        assert_eq!(ds.y.unwrap(), [10.0]);
        // Year-like names read as data: the target that matches one of them is pointed out.
        let msg = err_text(
            "2019,2020,2021\n1,2,3\n",
            &with_target(Target::parse("2020")),
        );
        assert!(
            msg.contains("target column index 2020 is out of range")
                && msg.contains("has a field '2020' (0-based column 1); pass --header"),
            "{msg}"
        );
        let (ds, _t) = read("5,3,1\n1,2,3\n", &with_target(Target::parse("1"))).unwrap();
        assert_eq!(ds.y.unwrap(), [3.0, 2.0]);
        assert!(
            ds.notices[0].warning
                && ds.notices[0].text.contains(
                    "--target 1 is taken as the 0-based column index 1, but the first row"
                ),
            "{:?}",
            ds.notices
        );
    }
}
