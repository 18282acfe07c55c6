//! The `--lambdas` file of `lariat path`: a `.npy` vector, or text with one value per line.
//!
//! Text: blank lines and `#` comments are skipped; the first line may be a name (a single field
//! that is not a number, such as `lambda`); every value must be finite and > 0. Its own reader, not the CSV reader's target
//! machinery, so that a wrong file gets a message about lambdas (a comma-separated list used to
//! be reported as a `--target` problem).

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::lines::Lines;
use super::{npy, Format};
use crate::error::{Error, Result};

/// Reads the lambdas of `path`: a `.npy` by its extension, text otherwise.
pub fn read(path: &Path) -> Result<Vec<f64>> {
    let values = match Format::from_path(path) {
        Ok(Format::Npy) => {
            let values = npy::read_vector(path)?;
            // The text reader checks this per line; here the place is an index.
            if let Some(i) = values.iter().position(|&v| v <= 0.0) {
                return Err(Error::Format {
                    path: path.to_path_buf(),
                    msg: format!("lambda {} at index {i} (0-based) is not > 0", values[i]),
                });
            }
            values
        }
        _ => read_text(BufReader::new(super::open(path)?), path)?,
    };
    if values.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            msg: "no lambdas in the file (expected one value per line)".into(),
        });
    }
    Ok(values)
}

/// The text form, from any reader; `path` only names the input in messages.
pub fn read_text(reader: impl BufRead, path: &Path) -> Result<Vec<f64>> {
    let mut lines = Lines::new(path, reader);
    let mut values = Vec::new();
    let mut first = true;
    while let Some((ctx, bytes)) = lines.next_line()? {
        let content = bytes.split(|&b| b == b'#').next().unwrap_or_default();
        let text = ctx.utf8(content)?;
        let lead = text.len() - text.trim_start().len();
        let field = text.trim();
        if field.is_empty() {
            continue;
        }
        let col = text[..lead].chars().count() + 1;
        let is_first = std::mem::replace(&mut first, false);
        if let Some(k) = field.find([',', ';', '\t', ' ']) {
            let sep = match field.as_bytes()[k] {
                b'\t' => "tabs".to_string(),
                b' ' => "spaces".to_string(),
                c => format!("'{}'", c as char),
            };
            return Err(ctx.err(
                col + field[..k].chars().count(),
                format!(
                    "a lambdas file has one value per line, but this line has several \
                     separated by {sep}; put each lambda on its own line"
                ),
            ));
        }
        match field.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => values.push(v),
            // Checked here too (the fit refuses it as well), so the message has the line.
            Ok(v) if v.is_finite() => {
                return Err(ctx.err(col, format!("lambda {v} is not > 0")));
            }
            Ok(v) => return Err(ctx.non_finite("non-finite lambda", v, col, field)),
            // A name on the first line, as a one-column CSV or pandas would write it.
            Err(_) if is_first => {}
            Err(_) => {
                return Err(ctx.err(
                    col,
                    format!(
                        "cannot parse '{}' as a lambda (a number)",
                        field.chars().take(40).collect::<String>()
                    ),
                ))
            }
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<f64>> {
        read_text(text.as_bytes(), Path::new("grid.txt"))
    }

    #[test]
    fn one_value_per_line_with_a_name_comments_and_blank_lines() {
        let got = parse("lambda\n# from glmnet\n0.5\n\n 0.25 # half\n1e-3\r\n").unwrap();
        assert_eq!(got, [0.5, 0.25, 1e-3]);
    }

    #[test]
    fn commas_are_named_as_the_problem() {
        let e = parse("0.5,0.25,0.1\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "grid.txt:1:4: a lambdas file has one value per line, but this line has several \
             separated by ','; put each lambda on its own line"
        );
        assert!(!e.contains("target"));
    }

    #[test]
    fn bad_values_name_line_and_column() {
        let e = parse("0.5\n  abc\n").unwrap_err().to_string();
        assert_eq!(e, "grid.txt:2:3: cannot parse 'abc' as a lambda (a number)");
        let e = parse("0.5\ninf\n").unwrap_err().to_string();
        assert!(
            e.contains("non-finite lambda value inf at line 2, column 1"),
            "{e}"
        );
        let e = parse("0.5\n\n-0.1\n").unwrap_err().to_string();
        assert_eq!(e, "grid.txt:3:1: lambda -0.1 is not > 0");
        let e = parse("0.5\r0.2\r").unwrap_err().to_string();
        assert!(e.contains("grid.txt:1:4: carriage return"), "{e}");
    }
}
