//! The output seam: every file lariat writes goes through here, so an error or a crash never
//! leaves a half-written file where the user expects a result, and never damages what sits at
//! the output path.
//!
//! What a path names decides how it is written ([`Destination::resolve`]):
//!
//! - a regular file, or nothing yet: the bytes go to a temporary file in the directory of the
//!   final file and are renamed over it (atomic on POSIX file systems). A symlink is followed
//!   to its target, which is replaced (the link stays a link); an existing file keeps its
//!   permissions;
//! - a FIFO or a character device (`/dev/null`, `/dev/stdout`, a terminal, `>(gzip > f)`):
//!   nothing there can be replaced, so the bytes are streamed into it;
//! - a directory, a block device or a socket: refused.
//!
//! Several outputs of one run are published together by [`crate::outputs::Outputs`].

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cleanup;
use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (see the module doc for what `path` may name).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dest = Destination::resolve(path)?;
    let staged = dest.stage(bytes)?;
    staged.publish()
}

/// Where the bytes of one output end up, resolved once before anything is written.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The path as the user gave it (for messages).
    given: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A regular file, existing or not, at this absolute path with every symlink resolved;
    /// the permissions of the file it replaces, if any.
    File {
        real: PathBuf,
        keep: Option<Permissions>,
    },
    /// A FIFO or character device, written in place.
    Stream,
}

/// Symlink hops followed before giving up (Linux's own limit, ELOOP).
const MAX_LINKS: usize = 40;

impl Destination {
    /// Decides how `path` will be written, without writing anything. Fails on what can never
    /// be written (a directory, a block device, a missing parent directory).
    pub fn resolve(path: &Path) -> Result<Destination> {
        let io = |e| Error::io(path, e);
        let kind = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Kind::File {
                // canonicalize follows every link, so the rename lands where the data lives.
                real: std::fs::canonicalize(path).map_err(io)?,
                keep: Some(m.permissions()),
            },
            Ok(m) if m.is_dir() => return Err(refuse(path, "is a directory")),
            Ok(m) if is_stream(&m) => Kind::Stream,
            Ok(_) => {
                return Err(refuse(
                    path,
                    "is not a regular file, a FIFO or a character device (a block device or a \
                     socket); refusing to write to it",
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kind::File {
                real: new_file_path(path)?,
                keep: None,
            },
            Err(e) => return Err(io(e)),
        };
        Ok(Destination {
            given: path.to_path_buf(),
            kind,
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.given
    }

    /// The file that will be replaced (absolute, links resolved), or `None` for a stream,
    /// which replaces nothing.
    pub fn replaced_file(&self) -> Option<&Path> {
        match &self.kind {
            Kind::File { real, .. } => Some(real),
            Kind::Stream => None,
        }
    }

    /// Makes the output ready to publish. A file is written in full to a temporary next to it
    /// now (so a full disk fails here, before anything is published); a stream keeps the
    /// bytes until [`Staged::publish`].
    pub fn stage(&self, bytes: &[u8]) -> Result<Staged> {
        match &self.kind {
            Kind::Stream => Ok(Staged {
                dest: self.clone(),
                state: State::Stream(bytes.to_vec()),
            }),
            Kind::File { real, keep } => {
                let (tmp, reg) = write_temp(real, bytes, keep.as_ref())
                    .map_err(|e| Error::io(&self.given, e))?;
                Ok(Staged {
                    dest: self.clone(),
                    state: State::Temp(tmp, reg),
                })
            }
        }
    }
}

/// An output whose bytes are ready: publish it, or drop it to leave the destination as it was
/// (its temporary file is removed).
#[derive(Debug)]
pub struct Staged {
    dest: Destination,
    state: State,
}

#[derive(Debug)]
enum State {
    /// A finished temporary, and its entry in the table a fatal signal cleans up.
    Temp(PathBuf, cleanup::Registered),
    Stream(Vec<u8>),
    Done,
}

impl Staged {
    /// The destination this output goes to.
    pub fn destination(&self) -> &Destination {
        &self.dest
    }

    /// Whether publishing streams the bytes (which cannot be undone or made atomic) rather
    /// than renaming a finished file into place.
    pub fn is_stream(&self) -> bool {
        matches!(self.state, State::Stream(_))
    }

    /// Puts the output in place: renames the temporary over the final file, or streams the
    /// bytes into the FIFO or device.
    pub fn publish(mut self) -> Result<()> {
        let mut state = std::mem::replace(&mut self.state, State::Done);
        let result = match (&mut state, &self.dest.kind) {
            (State::Temp(tmp, reg), Kind::File { real, .. }) => {
                rename_into_place(tmp, real).inspect(|()| cleanup::forget(reg))
            }
            (State::Stream(bytes), Kind::Stream) => OpenOptions::new()
                .write(true)
                .open(&self.dest.given)
                .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush())),
            _ => unreachable!("a staged output matches its destination's kind"),
        };
        if result.is_err() {
            // Let Drop remove the temporary.
            self.state = state;
        }
        result.map_err(|e| Error::io(&self.dest.given, e))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let State::Temp(tmp, reg) = &mut self.state {
            let _ = std::fs::remove_file(&*tmp);
            cleanup::forget(reg);
        }
    }
}

fn refuse(path: &Path, why: &str) -> Error {
    Error::io(path, std::io::Error::other(why.to_string()))
}

#[cfg(unix)]
fn is_stream(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    m.file_type().is_fifo() || m.file_type().is_char_device()
}

#[cfg(not(unix))]
fn is_stream(_: &std::fs::Metadata) -> bool {
    false
}

/// The absolute path a new file at `path` will have: a dangling symlink is followed to where
/// it points (so the link is kept and its target created), and the parent directory is
/// canonicalized, which also makes it an error for the directory not to exist.
fn new_file_path(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|e| Error::io(path, e))?;
                p = match p.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => break,
        }
    }
    let name = p.file_name().ok_or_else(|| refuse(path, "names no file"))?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(path, e))?;
    Ok(dir.join(name))
}

/// Writes `bytes` to a new temporary file beside `real` (same directory, so the rename stays
/// on one file system), with the permissions of the file it will replace.
fn write_temp(
    real: &Path,
    bytes: &[u8],
    keep: Option<&Permissions>,
) -> std::io::Result<(PathBuf, cleanup::Registered)> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = real.parent().unwrap_or(Path::new("."));
    let name = real
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The pid and a counter keep two lariat processes, and two outputs of one, apart;
    // create_new makes sure nothing else's file is ever truncated.
    let tmp = dir.join(format!(
        ".{name}.lariat-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // Registered once created, not before: a signal between the two leaves a stray
    // temporary, where the other order could remove a file of that name that is not ours.
    let mut f: File = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let mut reg = cleanup::register(&tmp);
    let result = (|| {
        f.write_all(bytes)?;
        if let Some(perm) = keep {
            f.set_permissions(perm.clone())?;
        }
        f.sync_all()
    })();
    match result {
        Ok(()) => Ok((tmp, reg)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            cleanup::forget(&mut reg);
            Err(e)
        }
    }
}

fn rename_into_place(tmp: &Path, real: &Path) -> std::io::Result<()> {
    std::fs::rename(tmp, real)?;
    // Make the rename itself durable; a file system that cannot sync a directory still has
    // the file, so a failure here is not an error.
    #[cfg(unix)]
    if let Some(dir) = real.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Helpers of the output tests (here and in `outputs`).
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    /// A fresh, empty directory under the system temp dir.
    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lariat-output-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The names in a directory, sorted.
    pub(crate) fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{entries, temp_dir};
    use super::*;

    #[test]
    fn dropped_stage_leaves_nothing_and_keeps_the_old_file() {
        let d = temp_dir("drop");
        let f = d.join("m.json");
        std::fs::write(&f, "old").unwrap();
        let staged = Destination::resolve(&f).unwrap().stage(b"new").unwrap();
        assert_eq!(entries(&d).len(), 2, "the temporary exists while staged");
        drop(staged);
        assert_eq!(entries(&d), vec!["m.json"]);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "old");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_target_is_replaced_and_the_link_kept_with_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = temp_dir("link");
        let target = d.join("real.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o640)).unwrap();
        let link = d.join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(entries(&d), vec!["link.json", "real.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_creates_its_target() {
        let d = temp_dir("dangling");
        let link = d.join("link.json");
        std::os::unix::fs::symlink("made.json", &link).unwrap();
        write_atomic(&link, b"x").unwrap();
        assert_eq!(std::fs::read_to_string(d.join("made.json")).unwrap(), "x");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[cfg(unix)]
    #[test]
    fn character_device_is_a_stream_that_replaces_nothing() {
        // Resolved only: a regression that renamed over /dev/null would break the machine
        // (the catalogue writes to devices through symlinks in a temporary directory).
        let dest = Destination::resolve(Path::new("/dev/null")).unwrap();
        assert!(dest.replaced_file().is_none());
        assert!(matches!(dest.kind, Kind::Stream));
    }

    #[test]
    fn directory_and_missing_parent_are_refused() {
        let d = temp_dir("dir");
        let e = Destination::resolve(&d).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let e = Destination::resolve(&d.join("no/such/m.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no/such/m.json"), "{e}");
    }
}
