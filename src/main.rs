//! `lariat`: the command-line shell over the library. Exit codes, one rule
//! ([`lariat::Error::exit_code`]): 2 for a usage error (clap's refusals of the command line, an
//! invalid parameter value, an output that would replace an input), 1 for any other error (one
//! line naming the cause), 0 on success, and 0 when stdout's reader went away (`| head`).

#[macro_use]
mod console;
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
    // A run ended by a signal removes the temporaries of outputs it had not published.
    lariat::cleanup::remove_on_signals();
    // clap prints its own message and exits with 2 for a command line it refuses (1 never:
    // its exit code for --help and --version is 0).
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<console::StdoutClosed>().is_some() => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The library's rule for its own errors; anything the shell itself raises is a runtime error.
fn exit_code(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| c.downcast_ref::<lariat::Error>())
        .map_or(lariat::error::EXIT_FAILURE, lariat::Error::exit_code)
}
