//! Process and file-system figures the tracker reports: resident memory, open file
//! descriptors and free disk space. Read from `/proc` and `statvfs` on Linux, so no
//! sampling thread and no extra dependency; elsewhere the process figures are `None`.

use std::io;
use std::path::Path;

/// Resident set size of this process in bytes (`/proc/self/statm`), `None` where unavailable.
///
/// ```
/// if let Some(rss) = semaforo_resources::process_rss_bytes() {
///     assert!(rss > 0);
/// }
/// ```
pub fn process_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * rustix::param::page_size() as u64)
}

/// Number of file descriptors this process has open (entries of `/proc/self/fd`, not
/// counting the one used to list them), `None` where unavailable.
///
/// ```
/// let before = semaforo_resources::open_fd_count();
/// let file = std::fs::File::open("Cargo.toml").unwrap();
/// if let (Some(before), Some(after)) = (before, semaforo_resources::open_fd_count()) {
///     assert!(after >= before + 1 || after > 0);
/// }
/// drop(file);
/// ```
pub fn open_fd_count() -> Option<usize> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    // The directory listing itself holds one descriptor while we count.
    Some(entries.count().saturating_sub(1))
}

/// Free and total space of the file system holding a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskSpace {
    /// Bytes an unprivileged process may still write (`f_bavail`, not `f_bfree`: the blocks
    /// reserved for root are no use to us).
    pub free_bytes: u64,
    /// Size of the file system in bytes.
    pub total_bytes: u64,
}

impl DiskSpace {
    /// Free share in percent (0–100); 0 for a file system that reports no size.
    ///
    /// ```
    /// let d = semaforo_resources::DiskSpace { free_bytes: 25, total_bytes: 100 };
    /// assert_eq!(d.free_percent(), 25.0);
    /// ```
    pub fn free_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            self.free_bytes as f64 * 100.0 / self.total_bytes as f64
        }
    }
}

/// Free and total space of the file system that holds `path` (`statvfs`).
///
/// ```
/// let d = semaforo_resources::disk_space(std::path::Path::new(".")).unwrap();
/// assert!(d.total_bytes >= d.free_bytes);
/// ```
pub fn disk_space(path: &Path) -> io::Result<DiskSpace> {
    let st = rustix::fs::statvfs(path).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("statvfs({}): {e}", path.display()),
        )
    })?;
    Ok(DiskSpace {
        free_bytes: st.f_bavail.saturating_mul(st.f_frsize),
        total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_reported_and_grows_with_touched_memory() {
        let before = process_rss_bytes().expect("linux has /proc/self/statm");
        let block = vec![1u8; 64 << 20];
        let after = process_rss_bytes().expect("statm");
        assert!(after > before + (32 << 20), "{before} -> {after}");
        drop(block);
    }

    #[test]
    fn open_fd_count_sees_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let before = open_fd_count().unwrap();
        let files: Vec<_> = (0..5)
            .map(|i| std::fs::File::create(dir.path().join(i.to_string())).unwrap())
            .collect();
        let after = open_fd_count().unwrap();
        // Other test threads open and close files too, so only a lower bound holds.
        assert!(before > 0 && after >= 5, "{before} -> {after}");
        drop(files);
    }

    #[test]
    fn disk_space_of_a_missing_path_names_it() {
        let err = disk_space(Path::new("/no/such/dir/xyz")).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir/xyz"), "{err}");
    }
}
