//! `lariat`: the command-line shell over the library. Exit codes: 0 success, 1 error
//! (one line naming the cause), 2 usage error (from clap).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Mesa's software Vulkan driver prints "XDG_RUNTIME_DIR is invalid" on every adapter
    // enumeration without it; give it a private directory before any thread starts.
    #[cfg(unix)]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join("lariat-xdg-runtime");
        let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        if made.is_ok() || dir.is_dir() {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
