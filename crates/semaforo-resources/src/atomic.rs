//! Replacing a file so that no reader, and no crash, ever sees half of it: the bytes go to a
//! hidden temporary file beside the target (`.NAME.partial`, in the same directory so the
//! rename stays on one file system), which is fsynced and then renamed over the target (one
//! atomic step on POSIX), and the directory is fsynced so the rename itself survives a power
//! cut. Every file semaforo writes whole goes through here: frames, reports, annotated frames.
//!
//! ```
//! use semaforo_resources::atomic_write;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("report.json");
//! atomic_write(&path, b"{}").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"{}");
//!
//! let err = atomic_write(&dir.path().join("missing/report.json"), b"{}").unwrap_err();
//! assert!(err.to_string().contains("missing/report.json"));
//! ```

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How long [`atomic_write_with`] waits for the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file before the rename and the directory after it: once the call returns,
    /// the new content survives a power cut. What [`atomic_write`] does.
    Synced,
    /// Rename only: a crash of the process still never leaves half a file, but after a power
    /// cut the target may hold its old content or be empty. For many small files where an
    /// fsync each would cost more than the write itself (0.3–5 ms against 0.05 ms per 60 kB
    /// file on the development machine's ext4).
    RenameOnly,
}

/// The step of an atomic write that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStep {
    /// The path ends in no file name (`/`, `..`).
    NoFileName,
    /// Creating, writing or syncing the temporary file; the target is untouched.
    WriteTemporary,
    /// Renaming the temporary file over the target; the target is untouched.
    Rename,
    /// Syncing the directory after the rename: the new content is in place, but may not
    /// survive a power cut.
    SyncDirectory,
}

impl fmt::Display for WriteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteStep::NoFileName => "the path names no file",
            WriteStep::WriteTemporary => "writing its temporary file",
            WriteStep::Rename => "renaming its temporary file over it",
            WriteStep::SyncDirectory => "syncing its directory after the rename",
        })
    }
}

/// Why an atomic write failed, naming the file and the step. The temporary file is gone.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {} ({step}): {source}", path.display())]
pub struct AtomicWriteError {
    /// The file that was to be written.
    pub path: PathBuf,
    pub step: WriteStep,
    #[source]
    pub source: io::Error,
}

/// Replaces (or creates) the file at `path` with `bytes`, atomically and durably: a reader sees
/// the old content or the new, never a mix, and once this returns the new content survives a
/// crash or a power cut. On error the temporary file is removed and, unless the error's step is
/// [`WriteStep::SyncDirectory`], `path` is as it was.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    atomic_write_with(path, bytes, Durability::Synced)
}

/// [`atomic_write`] with the choice of [`Durability`].
///
/// If the temporary file ([`partial_path`]) already exists, it is overwritten in place and cut
/// to length rather than created anew: the frame store renames its oldest frame there to reuse
/// its inode and blocks (freeing one file's blocks and allocating another's cost ten times the
/// write on ext4).
pub fn atomic_write_with(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), AtomicWriteError> {
    let fail = |step, source| AtomicWriteError {
        path: path.to_owned(),
        step,
        source,
    };
    let Some(temp) = partial_path(path) else {
        return Err(fail(
            WriteStep::NoFileName,
            io::Error::new(io::ErrorKind::InvalidInput, "no file name at its end"),
        ));
    };
    let synced = durability == Durability::Synced;
    let written = write_temporary(&temp, bytes, synced)
        .map_err(|e| fail(WriteStep::WriteTemporary, e))
        .and_then(|()| fs::rename(&temp, path).map_err(|e| fail(WriteStep::Rename, e)));
    if let Err(e) = written {
        // Nothing to remove when the temporary file could not even be created.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if synced {
        sync_directory(path).map_err(|e| fail(WriteStep::SyncDirectory, e))?;
    }
    Ok(())
}

/// The hidden temporary file [`atomic_write`] writes beside `path`: `.NAME.partial` in the same
/// directory. `None` when `path` ends in no file name.
pub fn partial_path(path: &Path) -> Option<PathBuf> {
    let mut name = OsString::from(".");
    name.push(path.file_name()?);
    name.push(".partial");
    Some(path.with_file_name(name))
}

fn write_temporary(temp: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    // Not `truncate`: a recycled file keeps its blocks, and is cut to length after the write.
    // Not through a symbolic link planted at the temporary name: that would write elsewhere.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(temp)?;
    file.write_all(bytes)?;
    file.set_len(bytes.len() as u64)?;
    if sync {
        file.sync_all()?;
    }
    Ok(())
}

/// A file written a piece at a time and put in place atomically, for output too large to hold
/// in memory (a count's per-frame JSON over an hour of video): the pieces go to the hidden
/// temporary file beside the target through a buffer, and [`AtomicFile::commit`] syncs it,
/// renames it over the target and syncs the directory, as [`atomic_write`] does. Dropped
/// without a commit (an error half-way), the temporary file is removed and the target is as
/// it was.
///
/// ```
/// use std::io::Write;
/// use semaforo_resources::AtomicFile;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("frames.csv");
/// let mut out = AtomicFile::create(&path).unwrap();
/// for i in 0..3 {
///     writeln!(out, "{i}").unwrap();
/// }
/// assert!(!path.exists(), "nothing in place before the commit");
/// out.commit().unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n1\n2\n");
/// ```
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    out: Option<io::BufWriter<fs::File>>,
}

impl AtomicFile {
    /// Starts writing `path`'s new content (its temporary file is created, not through a
    /// symbolic link planted at its name).
    pub fn create(path: &Path) -> Result<AtomicFile, AtomicWriteError> {
        let fail = |step, source| AtomicWriteError {
            path: path.to_owned(),
            step,
            source,
        };
        let temp = partial_path(path).ok_or_else(|| {
            fail(
                WriteStep::NoFileName,
                io::Error::new(io::ErrorKind::InvalidInput, "no file name at its end"),
            )
        })?;
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&temp)
            .map_err(|e| fail(WriteStep::WriteTemporary, e))?;
        Ok(AtomicFile {
            path: path.to_owned(),
            temp,
            out: Some(io::BufWriter::new(file)),
        })
    }

    /// The file this writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and puts the file in place; the content survives a power cut once this
    /// returns.
    pub fn commit(mut self) -> Result<(), AtomicWriteError> {
        let fail = |step, source| AtomicWriteError {
            path: self.path.clone(),
            step,
            source,
        };
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let written = out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(|file| file.sync_all())
            .map_err(|e| fail(WriteStep::WriteTemporary, e))
            .and_then(|()| {
                fs::rename(&self.temp, &self.path).map_err(|e| fail(WriteStep::Rename, e))
            });
        if let Err(e) = written {
            let _ = fs::remove_file(&self.temp);
            return Err(e);
        }
        sync_directory(&self.path).map_err(|e| fail(WriteStep::SyncDirectory, e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(out) => out.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

fn sync_directory(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_written_in_pieces_appears_whole_at_its_commit_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        atomic_write(&path, b"old").unwrap();
        let mut out = AtomicFile::create(&path).unwrap();
        out.write_all(b"new ").unwrap();
        out.write_all(b"content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old");
        out.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        // Abandoned half-way: the old content stays, no temporary file is left.
        let mut out = AtomicFile::create(&path).unwrap();
        out.write_all(b"half").unwrap();
        drop(out);
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        atomic_write(&path, b"old content, longer").unwrap();
        atomic_write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        atomic_write_with(&path, b"newer", Durability::RenameOnly).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_leftover_temporary_file_is_overwritten_and_cut_to_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.jpg");
        fs::write(partial_path(&path).unwrap(), vec![7u8; 4096]).unwrap();
        atomic_write(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert_eq!(names(dir.path()), ["frame.jpg"]);
    }

    #[test]
    fn a_missing_parent_is_named_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/out.json");
        let err = atomic_write(&path, b"x").unwrap_err();
        assert_eq!(err.step, WriteStep::WriteTemporary);
        assert_eq!(err.path, path);
        assert_eq!(err.source.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing/out.json"), "{err}");
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_rename_keeps_the_old_content_and_removes_the_temporary_file() {
        // The target is a non-empty directory: the temporary file is written, the rename fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("kept"), b"old").unwrap();
        let err = atomic_write(&path, b"new").unwrap_err();
        assert_eq!(err.step, WriteStep::Rename, "{err}");
        assert_eq!(fs::read(path.join("kept")).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn a_temporary_file_that_cannot_be_created_keeps_the_old_content() {
        // A directory where the temporary file would go: opening it for writing fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        atomic_write(&path, b"old").unwrap();
        fs::create_dir(partial_path(&path).unwrap()).unwrap();
        let err = atomic_write(&path, b"new").unwrap_err();
        assert_eq!(err.step, WriteStep::WriteTemporary, "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), [".out.csv.partial", "out.csv"]);
    }

    #[test]
    fn a_symbolic_link_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"untouched").unwrap();
        let path = dir.path().join("out.json");
        std::os::unix::fs::symlink(&elsewhere, partial_path(&path).unwrap()).unwrap();
        let err = atomic_write(&path, b"new").unwrap_err();
        assert_eq!(err.step, WriteStep::WriteTemporary, "{err}");
        assert_eq!(fs::read(&elsewhere).unwrap(), b"untouched");
        // The link is removed with the failed write, so the next write succeeds.
        assert_eq!(names(dir.path()), ["elsewhere"]);
        atomic_write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = atomic_write(Path::new("/"), b"x").unwrap_err();
        assert_eq!(err.step, WriteStep::NoFileName);
        assert!(err.to_string().starts_with("cannot write / "), "{err}");
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_directory() {
        assert_eq!(
            partial_path(Path::new("out.json")).unwrap(),
            Path::new(".out.json.partial")
        );
        assert_eq!(
            partial_path(Path::new("/a/b/out.json")).unwrap(),
            Path::new("/a/b/.out.json.partial")
        );
    }
}
