//! A log file that rotates by size, the way Python's `RotatingFileHandler` (and so the
//! original system's operators) expect: `name.log` is current, `name.log.1` the newest backup,
//! `name.log.N` the oldest; at most `backups` are kept.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backups: usize,
    out: BufWriter<File>,
    size: u64,
}

fn open_append(path: &Path) -> io::Result<(BufWriter<File>, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let size = file.metadata()?.len();
    Ok((BufWriter::with_capacity(64 * 1024, file), size))
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl RotatingFile {
    /// Opens (appending) `path`, creating it if needed.
    pub fn open(path: PathBuf, max_bytes: u64, backups: usize) -> io::Result<Self> {
        let (out, size) = open_append(&path)?;
        Ok(RotatingFile {
            path,
            max_bytes: max_bytes.max(1),
            backups,
            out,
            size,
        })
    }

    /// Appends one line (a newline is added). Rotates first if the line would push the file
    /// past its size; a single line longer than the limit is still written whole.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and asks the kernel to put the data on disk (used at shutdown).
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }

    /// Opens the file again when it is no longer at its path (the log directory was removed
    /// or the file moved away by hand): lines written to a file nobody can find are lost.
    /// The directory is created again if need be; when that fails (it became unwritable) the
    /// error says why, and the lines go elsewhere until it works.
    pub fn reopen_if_gone(&mut self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let open = self.out.get_ref().metadata()?;
        let here = fs::metadata(&self.path);
        if here.is_ok_and(|m| m.dev() == open.dev() && m.ino() == open.ino()) {
            return Ok(());
        }
        // What the old file's buffer holds goes to it (and is lost with it), not to the new.
        let _ = self.out.flush();
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let (out, size) = open_append(&self.path)?;
        self.out = out;
        self.size = size;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.backups == 0 {
            // No backups wanted: start the same file again.
            let file = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            self.out = BufWriter::with_capacity(64 * 1024, file);
            self.size = 0;
            return Ok(());
        }
        let oldest = numbered(&self.path, self.backups);
        if oldest.exists() {
            fs::remove_file(&oldest)?;
        }
        for n in (1..self.backups).rev() {
            let from = numbered(&self.path, n);
            if from.exists() {
                fs::rename(&from, numbered(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, numbered(&self.path, 1))?;
        let (out, size) = open_append(&self.path)?;
        self.out = out;
        self.size = size;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_by_size_and_keeps_the_newest_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let mut log = RotatingFile::open(path.clone(), 20, 2).unwrap();
        for i in 0..10 {
            log.write_line(&format!("line {i:04}")).unwrap(); // 10 bytes each with newline
        }
        log.flush().unwrap();
        assert_eq!(read(&path), "line 0008\nline 0009\n");
        assert_eq!(read(&numbered(&path, 1)), "line 0006\nline 0007\n");
        assert_eq!(read(&numbered(&path, 2)), "line 0004\nline 0005\n");
        assert!(!numbered(&path, 3).exists(), "only two backups are kept");
    }

    #[test]
    fn a_file_removed_with_its_directory_is_opened_again_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/main.log");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut log = RotatingFile::open(path.clone(), 1000, 1).unwrap();
        log.write_line("before").unwrap();
        log.flush().unwrap();
        log.reopen_if_gone().unwrap();
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
        log.reopen_if_gone().unwrap();
        log.write_line("after").unwrap();
        log.flush().unwrap();
        assert_eq!(read(&path), "after\n");
    }

    #[test]
    fn continues_an_existing_file_and_counts_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        fs::write(&path, "0123456789012345678\n").unwrap(); // already 20 bytes
        let mut log = RotatingFile::open(path.clone(), 20, 1).unwrap();
        log.write_line("new").unwrap();
        log.flush().unwrap();
        assert_eq!(read(&path), "new\n");
        assert_eq!(read(&numbered(&path, 1)), "0123456789012345678\n");
    }

    #[test]
    fn zero_backups_truncates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let mut log = RotatingFile::open(path.clone(), 10, 0).unwrap();
        for line in ["aaaa", "bbbb", "cccc"] {
            log.write_line(line).unwrap();
        }
        log.flush().unwrap();
        assert_eq!(read(&path), "cccc\n");
        assert!(!numbered(&path, 1).exists());
    }
}
