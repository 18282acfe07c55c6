//! The only way the binary writes to the terminal. `println!` panics (exit 101) when stdout is
//! a pipe whose reader has gone (`lariat predict ... | head`), and `eprintln!` when stderr is;
//! here a closed stdout becomes the error [`StdoutClosed`], which `main` turns into a quiet
//! exit 0 (as ripgrep does), after the outputs are published or their temporaries removed.
//! stderr failures are ignored: there is nowhere left to report them.

use std::fmt;
use std::io::Write;

/// stdout was closed by its reader; not a failure of the run.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes to stdout; a closed pipe gives [`StdoutClosed`], any other failure an error that
/// says it was stdout.
pub fn out(args: fmt::Arguments) -> anyhow::Result<()> {
    let mut lock = std::io::stdout().lock();
    lock.write_fmt(args)
        .and_then(|_| lock.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
            _ => anyhow::Error::new(e).context("writing to standard output"),
        })
}

/// Writes to stderr, ignoring failure. Messages quote the user's files (a field that failed
/// to parse, a header name), so control characters other than line breaks and tabs are
/// written escaped (`\u{1b}`): a file's bytes never drive the terminal.
pub fn err(args: fmt::Arguments) {
    let text = args.to_string();
    let _ = std::io::stderr().lock().write_all(inert(&text).as_bytes());
}

/// `text` with its control characters escaped, line breaks and tabs kept. A carriage return
/// (which would let a field overwrite the line) and the bidirectional overrides and isolates
/// (which reorder what the terminal shows) count as control characters.
pub fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let keep = |c: char| (!c.is_control() || matches!(c, '\n' | '\t')) && !bidi(c);
    if text.chars().all(keep) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if keep(c) {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `println!` through [`out`]: evaluates to `anyhow::Result<()>`.
macro_rules! outln {
    () => {
        $crate::console::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`err`].
macro_rules! errln {
    () => {
        $crate::console::err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`err`].
macro_rules! errout {
    ($($arg:tt)*) => {
        $crate::console::err(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn carriage_returns_and_bidi_overrides_are_escaped_line_breaks_kept() {
        assert_eq!(
            super::inert("a\rb\u{202e}c\u{2066}d"),
            "a\\u{d}b\\u{202e}c\\u{2066}d"
        );
        assert_eq!(super::inert("line\n\tnext"), "line\n\tnext");
    }
}
