//! The outputs of one run, published all or nothing, and never over an input.
//!
//! ```no_run
//! # use std::path::Path;
//! # fn main() -> lariat::Result<()> {
//! use lariat::outputs::Outputs;
//! // Before any work: resolve every output, refuse one that would replace an input or
//! // another output (a usage error, exit code 2).
//! let mut outs = Outputs::plan(
//!     &[("--x", Some(Path::new("X.npy"))), ("--y", Some(Path::new("y.npy")))],
//!     &[("--out", Some(Path::new("path.json"))), ("--csv", None)],
//! )?;
//! // ... the solve ...
//! outs.stage("--out", b"{}")?;   // written in full to a temporary beside path.json
//! outs.publish()?;               // every staged output put in place; dropped: none
//! # Ok(()) }
//! ```
//!
//! Dropping an `Outputs` without publishing it removes its temporaries, so a run that fails
//! anywhere (an error, a `?`, a panic that unwinds) leaves the output paths as they were.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::{Destination, Staged};

/// A planned set of outputs, each named by its flag (`"--out"`, `"--csv"`, ...).
#[derive(Debug)]
pub struct Outputs {
    planned: Vec<(&'static str, Destination)>,
    staged: Vec<(&'static str, Staged)>,
}

impl Outputs {
    /// Resolves each given output and checks, before any work, that none would replace an
    /// input or another output of the run. `None` entries (flags not given) are skipped.
    ///
    /// Two paths are the same file when they resolve to one path (through `..` and symlinks)
    /// or, on Unix, name one inode (hard links). Only outputs that replace a file are
    /// compared: a FIFO or a device (`/dev/stdout`) replaces nothing.
    pub fn plan(
        inputs: &[(&'static str, Option<&Path>)],
        outputs: &[(&'static str, Option<&Path>)],
    ) -> Result<Outputs> {
        let inputs: Vec<(&str, &Path, Identity)> = inputs
            .iter()
            .filter_map(|&(flag, p)| p.map(|p| (flag, p, Identity::of(p))))
            .collect();
        let mut planned: Vec<(&'static str, Destination)> = Vec::new();
        let mut seen: Vec<(&str, &Path, Identity)> = Vec::new();
        for &(flag, path) in outputs {
            let Some(path) = path else { continue };
            let dest = Destination::resolve(path)?;
            if let Some(real) = dest.replaced_file() {
                let id = Identity::of_output(real);
                if let Some((iflag, ipath, _)) = inputs.iter().find(|(_, _, i)| i.same(&id)) {
                    return Err(Error::Usage(format!(
                        "{flag} {} is the input {iflag} {}: refusing to overwrite an input \
                         (choose another output path)",
                        path.display(),
                        ipath.display()
                    )));
                }
                if let Some((oflag, opath, _)) = seen.iter().find(|(_, _, o)| o.same(&id)) {
                    return Err(Error::Usage(format!(
                        "{flag} {} and {oflag} {} are the same file: give each output its own \
                         path",
                        path.display(),
                        opath.display()
                    )));
                }
                seen.push((flag, path, id));
            }
            planned.push((flag, dest));
        }
        Ok(Outputs {
            planned,
            staged: Vec::new(),
        })
    }

    /// Whether the output of this flag was given.
    pub fn wants(&self, flag: &str) -> bool {
        self.planned.iter().any(|(f, _)| *f == flag)
    }

    /// The path given for this flag's output, if any.
    pub fn path(&self, flag: &str) -> Option<&Path> {
        self.planned
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, d)| d.path())
    }

    /// Stages the bytes of one output: a file is written in full to a temporary beside it
    /// (nothing visible changes yet). Staging a flag that was not planned (not given) does
    /// nothing, so callers need not test [`Outputs::wants`] for cheap outputs.
    pub fn stage(&mut self, flag: &'static str, bytes: &[u8]) -> Result<()> {
        let Some((_, dest)) = self.planned.iter().find(|(f, _)| *f == flag) else {
            return Ok(());
        };
        debug_assert!(
            !self.staged.iter().any(|(f, _)| *f == flag),
            "{flag} staged twice"
        );
        let staged = dest.stage(bytes)?;
        self.staged.push((flag, staged));
        Ok(())
    }

    /// Publishes every staged output. Streams (FIFOs, devices) go first: they are the only
    /// writes that can fail halfway, and nothing has been replaced yet when they do. The
    /// renames that follow are within one directory each and do not fail in practice; if one
    /// does, the outputs already renamed stay and the error names the one that failed.
    pub fn publish(mut self) -> Result<Vec<PathBuf>> {
        debug_assert_eq!(
            self.staged.len(),
            self.planned.len(),
            "every planned output is staged before publishing"
        );
        let mut staged = std::mem::take(&mut self.staged);
        staged.sort_by_key(|(_, s)| !s.is_stream());
        let mut written = Vec::with_capacity(staged.len());
        // Publishing consumes them one by one; the rest drop (and clean up) on an error.
        for (_, s) in staged {
            let path = s.destination().path().to_path_buf();
            s.publish()?;
            written.push(path);
        }
        Ok(written)
    }
}

/// What makes two paths the same file.
#[derive(Debug)]
struct Identity {
    real: Option<PathBuf>,
    #[cfg(unix)]
    inode: Option<(u64, u64)>,
}

impl Identity {
    /// An input: its canonical path and inode when it exists (a missing input fails later,
    /// with its own message, when it is read).
    fn of(path: &Path) -> Identity {
        Identity {
            real: std::fs::canonicalize(path).ok(),
            #[cfg(unix)]
            inode: inode(path),
        }
    }

    /// An output that replaces the file at `real` (already resolved; it may not exist yet).
    fn of_output(real: &Path) -> Identity {
        Identity {
            real: Some(real.to_path_buf()),
            #[cfg(unix)]
            inode: inode(real),
        }
    }

    fn same(&self, other: &Identity) -> bool {
        #[cfg(unix)]
        if let (Some(a), Some(b)) = (self.inode, other.inode) {
            return a == b;
        }
        matches!((&self.real, &other.real), (Some(a), Some(b)) if a == b)
    }
}

#[cfg(unix)]
fn inode(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::testing::{entries as names, temp_dir};

    #[test]
    fn nothing_is_published_until_all_are_staged_and_a_drop_cleans_up() {
        let d = temp_dir("outputs-drop");
        let (a, b) = (d.join("a.json"), d.join("b.csv"));
        std::fs::write(&a, "old").unwrap();
        let mut outs = Outputs::plan(&[], &[("--out", Some(&a)), ("--csv", Some(&b))]).unwrap();
        outs.stage("--out", b"new").unwrap();
        // The run fails before --csv is staged: the old a.json stays, no b.csv, no temporary.
        drop(outs);
        assert_eq!(names(&d), vec!["a.json"]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");

        let mut outs = Outputs::plan(&[], &[("--out", Some(&a)), ("--csv", Some(&b))]).unwrap();
        outs.stage("--out", b"new").unwrap();
        outs.stage("--csv", b"x,y").unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
        let written = outs.publish().unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(names(&d), vec!["a.json", "b.csv"]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new");
    }

    #[test]
    fn flags_not_given_are_skipped() {
        let d = temp_dir("outputs-skip");
        let mut outs = Outputs::plan(&[("--y", None)], &[("--csv", None)]).unwrap();
        assert!(!outs.wants("--csv"));
        outs.stage("--csv", b"ignored").unwrap();
        assert!(outs.publish().unwrap().is_empty());
        assert!(names(&d).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn an_output_may_not_be_an_input_by_any_name() {
        let d = temp_dir("outputs-collide");
        let x = d.join("x.csv");
        std::fs::write(&x, "1,2\n").unwrap();
        std::fs::hard_link(&x, d.join("hard.csv")).unwrap();
        std::os::unix::fs::symlink("x.csv", d.join("soft.csv")).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        for out in ["x.csv", "hard.csv", "soft.csv", "sub/../x.csv"] {
            let o = d.join(out);
            let e = Outputs::plan(&[("--x", Some(&x))], &[("--out", Some(&o))]).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{out}: {e}");
            assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
            assert!(e.to_string().contains("is the input --x"), "{e}");
        }
        let (p, q) = (d.join("p.json"), d.join("sub/../p.json"));
        let e = Outputs::plan(&[], &[("--out", Some(&p)), ("--csv", Some(&q))]).unwrap_err();
        assert!(e.to_string().contains("are the same file"), "{e}");
        // A device replaces nothing, so it may appear as an input and an output.
        let null = Path::new("/dev/null");
        assert!(Outputs::plan(&[("--x", Some(null))], &[("--out", Some(null))]).is_ok());
    }
}
