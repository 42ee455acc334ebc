//! Temporary files and directories (the Guide's TempFileManager) and the orphan sweep.
//!
//! [`TempFiles`] is a guard: everything it creates is removed when it drops, on every path
//! out of the scope, panics included. [`sweep_orphans`] removes what crashed runs left
//! behind, and only that: entries whose name starts with the prefix, older than the maximum
//! age, owned by this user; symlinks are never followed (the original's sweep worked on a
//! hard-coded directory and could delete other programs' files).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Errors of temp-file handling; each names the path or input concerned.
#[derive(Debug, thiserror::Error)]
pub enum TempError {
    /// The prefix is empty or is not a plain file-name part.
    #[error("temp file prefix {prefix:?} is not usable: {reason}")]
    InvalidPrefix {
        prefix: String,
        reason: &'static str,
    },
    /// The suffix contains a path separator or NUL.
    #[error("temp file suffix {suffix:?} is not usable: it must not contain '/' or NUL")]
    InvalidSuffix { suffix: String },
    /// A temp file or directory could not be created.
    #[error("cannot create temporary {what} in {dir}: {source}")]
    Create {
        what: &'static str,
        dir: PathBuf,
        source: io::Error,
    },
    /// The directory and prefix would let a sweep reach what is not semaforo's.
    #[error("will not sweep {dir} for entries starting with {prefix:?}: {reason}")]
    UnsafeSweep {
        dir: PathBuf,
        prefix: String,
        reason: &'static str,
    },
    /// The directory to sweep is missing or unreadable.
    #[error("cannot read directory {dir} to sweep orphaned temporary files: {source}")]
    ReadDir { dir: PathBuf, source: io::Error },
}

fn validate_prefix(prefix: &str) -> Result<(), TempError> {
    let reason = if prefix.is_empty() {
        "it is empty (an empty prefix would match every entry of the directory)"
    } else if prefix.contains('/') || prefix.contains('\0') {
        "it must not contain '/' or NUL"
    } else if prefix == "." || prefix == ".." {
        "'.' and '..' are not file names"
    } else {
        return Ok(());
    };
    Err(TempError::InvalidPrefix {
        prefix: prefix.to_owned(),
        reason,
    })
}

/// The shortest prefix a sweep accepts in a directory every program shares.
pub const MIN_SHARED_PREFIX: usize = 4;

/// Directories every program on the machine writes into.
fn shared_temp_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![std::env::temp_dir()];
    dirs.extend(["/tmp", "/var/tmp", "/dev/shm"].map(PathBuf::from));
    dirs.iter().filter_map(|d| d.canonicalize().ok()).collect()
}

/// Whether a sweep of `dir` for `prefix` stays within what semaforo owns: never the root
/// directory, and in a shared temporary directory (the system's, `/tmp`, `/var/tmp`,
/// `/dev/shm`) only with a prefix of at least [`MIN_SHARED_PREFIX`] characters, which other
/// programs' names are unlikely to start with (a sweep also keeps symlinks, other users'
/// entries and young ones).
pub fn check_sweep(dir: &Path, prefix: &str) -> Result<(), TempError> {
    validate_prefix(prefix)?;
    let unsafe_sweep = |reason| TempError::UnsafeSweep {
        dir: dir.to_owned(),
        prefix: prefix.to_owned(),
        reason,
    };
    // A directory that does not exist yet is created for semaforo alone.
    let Ok(canonical) = dir.canonicalize() else {
        return Ok(());
    };
    if canonical.parent().is_none() {
        return Err(unsafe_sweep("the root directory is never swept"));
    }
    if prefix.chars().count() < MIN_SHARED_PREFIX && shared_temp_dirs().contains(&canonical) {
        return Err(unsafe_sweep(
            "it is a temporary directory every program shares, where a prefix needs at least \
             4 characters so that no other program's files match it (semaforo's default is \
             traffic_)",
        ));
    }
    Ok(())
}

/// A unique name part: process id, a process-wide counter and the clock's nanoseconds, so
/// two processes or two threads never race for the same name (creation is exclusive anyway).
fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{n}_{nanos:09}", std::process::id())
}

/// Temporary files and directories removed when this guard drops (also while a panic
/// unwinds). Thread-safe: several threads may create through one guard.
///
/// ```
/// use semaforo_resources::TempFiles;
/// let dir = tempfile::tempdir().unwrap();
/// let path;
/// {
///     let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
///     path = tmp.create_file(".jpg").unwrap();
///     std::fs::write(&path, b"frame").unwrap();
///     assert!(path.exists());
/// }
/// assert!(!path.exists());
/// ```
#[derive(Debug)]
pub struct TempFiles {
    dir: PathBuf,
    prefix: String,
    tracked: Mutex<Vec<PathBuf>>,
}

impl TempFiles {
    /// A guard creating entries in the system temp directory, names starting with `prefix`.
    pub fn new(prefix: &str) -> Result<Self, TempError> {
        Self::in_dir(std::env::temp_dir(), prefix)
    }

    /// A guard creating entries in `dir`, names starting with `prefix`.
    pub fn in_dir(dir: impl Into<PathBuf>, prefix: &str) -> Result<Self, TempError> {
        validate_prefix(prefix)?;
        Ok(TempFiles {
            dir: dir.into(),
            prefix: prefix.to_owned(),
            tracked: Mutex::new(Vec::new()),
        })
    }

    /// The directory entries are created in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates an empty file `{prefix}{unique}{suffix}` (exclusively: never an existing
    /// file) and tracks it.
    ///
    /// ```
    /// let tmp = semaforo_resources::TempFiles::new("traffic_doc_").unwrap();
    /// let p = tmp.create_file(".txt").unwrap();
    /// assert!(p.file_name().unwrap().to_str().unwrap().starts_with("traffic_doc_"));
    /// assert_eq!(tmp.cleanup(), 1);
    /// assert!(!p.exists());
    /// ```
    pub fn create_file(&self, suffix: &str) -> Result<PathBuf, TempError> {
        if suffix.contains('/') || suffix.contains('\0') {
            return Err(TempError::InvalidSuffix {
                suffix: suffix.to_owned(),
            });
        }
        let path = self.create_with(
            |p| {
                fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(p)
                    .map(drop)
            },
            suffix,
            "file",
        )?;
        Ok(path)
    }

    /// Creates an empty directory `{prefix}{unique}` and tracks it; it is removed with all
    /// its contents.
    ///
    /// ```
    /// let tmp = semaforo_resources::TempFiles::new("traffic_doc_").unwrap();
    /// let d = tmp.create_dir().unwrap();
    /// std::fs::write(d.join("inner.txt"), b"x").unwrap();
    /// drop(tmp);
    /// assert!(!d.exists());
    /// ```
    pub fn create_dir(&self) -> Result<PathBuf, TempError> {
        self.create_with(|p| fs::create_dir(p), "", "directory")
    }

    fn create_with(
        &self,
        create: impl Fn(&Path) -> io::Result<()>,
        suffix: &str,
        what: &'static str,
    ) -> Result<PathBuf, TempError> {
        let mut attempts = 0;
        loop {
            let path = self
                .dir
                .join(format!("{}{}{suffix}", self.prefix, unique_token()));
            match create(&path) {
                Ok(()) => {
                    self.lock_tracked().push(path.clone());
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => {
                    attempts += 1
                }
                Err(source) => {
                    return Err(TempError::Create {
                        what,
                        dir: self.dir.clone(),
                        source,
                    })
                }
            }
        }
    }

    fn lock_tracked(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        // A panic while holding this lock cannot leave the list half-updated (push/take
        // only), so a poisoned lock is still good to use, and cleanup must run regardless.
        self.tracked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Paths currently tracked (created and not yet cleaned up).
    pub fn tracked(&self) -> Vec<PathBuf> {
        self.lock_tracked().clone()
    }

    /// Removes every tracked entry now; returns how many were removed. Entries already gone
    /// (removed by their user) are not counted; failures are logged and not retried.
    pub fn cleanup(&self) -> usize {
        let paths = std::mem::take(&mut *self.lock_tracked());
        let mut removed = 0;
        for path in paths {
            let result = match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
                Ok(_) => fs::remove_file(&path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot remove temporary {}: {e}", path.display()),
            }
        }
        if removed > 0 {
            tracing::debug!(
                "removed {removed} temporary entries from {}",
                self.dir.display()
            );
        }
        removed
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// What [`sweep_orphans`] looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// Directory to sweep (not recursed into, except to remove a qualifying directory).
    pub dir: PathBuf,
    /// Only entries whose name starts with this are considered (must not be empty).
    pub prefix: String,
    /// Only entries last modified longer ago than this are removed.
    pub max_age: Duration,
    /// List what would be removed, remove nothing.
    pub dry_run: bool,
}

/// What [`sweep_orphans`] did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Entries removed, or that would be removed in a dry run.
    pub removed: Vec<PathBuf>,
    /// Matching entries younger than the maximum age.
    pub kept_young: usize,
    /// Matching entries owned by another user.
    pub kept_foreign: usize,
    /// Matching entries that are symbolic links (never followed, never removed).
    pub kept_symlinks: usize,
    /// Entries whose name does not start with the prefix.
    pub other_prefix: usize,
    /// Entries that qualified but could not be examined or removed, with the reason.
    pub errors: Vec<(PathBuf, String)>,
}

/// Removes orphaned temporary entries from `opts.dir`: names starting with `opts.prefix`,
/// last modified more than `opts.max_age` ago, owned by the current user. Symbolic links
/// are left alone (and counted), qualifying directories are removed with their contents
/// without following links inside them.
///
/// ```
/// use semaforo_resources::{sweep_orphans, SweepOptions};
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("traffic_fresh.jpg"), b"x").unwrap();
/// let report = sweep_orphans(&SweepOptions {
///     dir: dir.path().into(),
///     prefix: "traffic_".into(),
///     max_age: Duration::from_secs(3600),
///     dry_run: false,
/// }).unwrap();
/// assert!(report.removed.is_empty());
/// assert_eq!(report.kept_young, 1);
/// ```
pub fn sweep_orphans(opts: &SweepOptions) -> Result<SweepReport, TempError> {
    check_sweep(&opts.dir, &opts.prefix)?;
    let read_dir = |source| TempError::ReadDir {
        dir: opts.dir.clone(),
        source,
    };
    let entries = fs::read_dir(&opts.dir).map_err(read_dir)?;
    let uid = rustix::process::getuid().as_raw();
    let now = SystemTime::now();
    let mut report = SweepReport::default();
    for entry in entries {
        let entry = entry.map_err(read_dir)?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(opts.prefix.as_bytes()) {
            report.other_prefix += 1;
            continue;
        }
        let path = entry.path();
        // lstat: the entry itself, never what a symlink points to.
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                report.errors.push((path, e.to_string()));
                continue;
            }
        };
        if meta.file_type().is_symlink() {
            report.kept_symlinks += 1;
            continue;
        }
        if std::os::unix::fs::MetadataExt::uid(&meta) != uid {
            report.kept_foreign += 1;
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or(Duration::ZERO);
        if age <= opts.max_age {
            report.kept_young += 1;
            continue;
        }
        if !opts.dry_run {
            // std's remove_dir_all does not follow symlinks inside the tree.
            let removed = if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            if let Err(e) = removed {
                report.errors.push((path, e.to_string()));
                continue;
            }
        }
        report.removed.push(path);
    }
    report.removed.sort();
    tracing::debug!(
        dir = %opts.dir.display(),
        removed = report.removed.len(),
        kept_young = report.kept_young,
        kept_foreign = report.kept_foreign,
        kept_symlinks = report.kept_symlinks,
        errors = report.errors.len(),
        dry_run = opts.dry_run,
        "orphan sweep"
    );
    Ok(report)
}

/// The Guide's `cleanup_orphaned_files`: [`sweep_orphans`] without a dry run, returning how
/// many entries were removed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let n = semaforo_resources::cleanup_orphaned(dir.path(), "traffic_", std::time::Duration::from_secs(86400)).unwrap();
/// assert_eq!(n, 0);
/// ```
pub fn cleanup_orphaned(dir: &Path, prefix: &str, max_age: Duration) -> Result<usize, TempError> {
    let report = sweep_orphans(&SweepOptions {
        dir: dir.to_path_buf(),
        prefix: prefix.to_owned(),
        max_age,
        dry_run: false,
    })?;
    for (path, why) in &report.errors {
        tracing::warn!("orphan sweep could not remove {}: {why}", path.display());
    }
    Ok(report.removed.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use filetime::{set_symlink_file_times, FileTime};

    fn age(path: &Path, secs_ago: u64) {
        let t = FileTime::from_system_time(SystemTime::now() - Duration::from_secs(secs_ago));
        set_symlink_file_times(path, t, t).unwrap();
    }

    fn opts(dir: &Path, dry_run: bool) -> SweepOptions {
        SweepOptions {
            dir: dir.into(),
            prefix: "traffic_".into(),
            max_age: Duration::from_secs(3600),
            dry_run,
        }
    }

    #[test]
    fn temp_file_and_dir_are_removed_when_the_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
        let f = tmp.create_file(".jpg").unwrap();
        let d = tmp.create_dir().unwrap();
        fs::write(d.join("x"), b"x").unwrap();
        assert!(f.to_str().unwrap().ends_with(".jpg"));
        assert_eq!(tmp.tracked(), vec![f.clone(), d.clone()]);
        drop(tmp);
        assert!(!f.exists() && !d.exists());
    }

    #[test]
    fn temp_file_is_removed_when_a_panic_unwinds() {
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path().to_path_buf();
        let result = std::panic::catch_unwind(move || {
            let tmp = TempFiles::in_dir(&dir_path, "traffic_").unwrap();
            let p = tmp.create_file(".jpg").unwrap();
            assert!(p.exists());
            panic!("processing failed");
        });
        assert!(result.is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn cleanup_on_demand_counts_and_forgets_entries() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
        let a = tmp.create_file("").unwrap();
        tmp.create_file(".png").unwrap();
        fs::remove_file(&a).unwrap(); // removed by its user: not counted
        assert_eq!(tmp.cleanup(), 1);
        assert!(tmp.tracked().is_empty());
        assert_eq!(tmp.cleanup(), 0);
    }

    #[test]
    fn names_are_unique_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        tmp.create_file(".tmp").unwrap();
                    }
                });
            }
        });
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 200);
        assert_eq!(tmp.cleanup(), 200);
    }

    #[test]
    fn bad_prefix_and_suffix_are_named_in_the_error() {
        let err = TempFiles::new("").unwrap_err().to_string();
        assert!(err.contains("\"\"") && err.contains("empty"), "{err}");
        let err = TempFiles::new("a/b").unwrap_err().to_string();
        assert!(err.contains("\"a/b\""), "{err}");
        let tmp = TempFiles::new("traffic_").unwrap();
        let err = tmp.create_file("/x").unwrap_err().to_string();
        assert!(err.contains("\"/x\""), "{err}");
    }

    #[test]
    fn create_in_a_missing_dir_names_the_dir() {
        let tmp = TempFiles::in_dir("/no/such/dir", "traffic_").unwrap();
        let err = tmp.create_file(".jpg").unwrap_err().to_string();
        assert!(err.contains("/no/such/dir"), "{err}");
    }

    #[test]
    fn the_root_directory_and_a_short_prefix_in_a_shared_temp_dir_are_refused() {
        let sweep = |dir: &str, prefix: &str| {
            sweep_orphans(&SweepOptions {
                dir: PathBuf::from(dir),
                prefix: prefix.into(),
                max_age: Duration::ZERO,
                dry_run: true,
            })
        };
        let err = sweep("/", "traffic_").unwrap_err().to_string();
        assert!(err.contains("the root directory is never swept"), "{err}");
        assert!(
            sweep("/usr/..", "traffic_").is_err(),
            "the root by another name"
        );
        for shared in ["/tmp", "/var/tmp"] {
            let err = sweep(shared, "t").unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "will not sweep {shared} for entries starting with \"t\""
                )),
                "{err}"
            );
            assert!(sweep(shared, "tmp").is_err());
            assert!(
                sweep(shared, "traffic_").is_ok(),
                "{shared} with the default prefix"
            );
        }
        // A directory of semaforo's own may use a short prefix.
        let own = tempfile::tempdir().unwrap();
        let own = own.path().join("semaforo-temp");
        fs::create_dir_all(&own).unwrap();
        assert!(sweep(own.to_str().unwrap(), "t").is_ok());
    }

    #[test]
    fn another_users_entries_are_kept() {
        if rustix::process::getuid().as_raw() != 0 {
            eprintln!(
                "another_users_entries_are_kept: skipped (giving a file to another user needs \
                 root; CI runs as root)"
            );
            assert!(std::env::var("CI").is_err(), "CI runs as root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("traffic_theirs.tmp");
        fs::write(&theirs, b"not ours").unwrap();
        // nobody:nogroup
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let report = sweep_orphans(&SweepOptions {
            dir: dir.path().to_owned(),
            prefix: "traffic_".into(),
            max_age: Duration::ZERO,
            dry_run: false,
        })
        .unwrap();
        assert!(theirs.exists());
        assert_eq!((report.kept_foreign, report.removed.len()), (1, 0));
    }

    #[test]
    fn sweep_removes_only_old_matching_entries_and_leaves_links_alone() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let d = dir.path();
        let old_file = d.join("traffic_old.jpg");
        let young_file = d.join("traffic_young.jpg");
        let foreign_prefix = d.join("other_old.jpg");
        let old_dir = d.join("traffic_olddir");
        let link = d.join("traffic_link");
        let target = outside.path().join("precious");
        fs::write(&old_file, b"x").unwrap();
        fs::write(&young_file, b"x").unwrap();
        fs::write(&foreign_prefix, b"x").unwrap();
        fs::create_dir(&old_dir).unwrap();
        fs::write(&target, b"keep me").unwrap();
        // A link inside a removed directory must not lead the sweep outside it.
        std::os::unix::fs::symlink(&target, old_dir.join("inner_link")).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for p in [&old_file, &foreign_prefix, &link, &target] {
            age(p, 7200);
        }
        age(&old_dir, 7200); // after filling it: adding entries updates its mtime
        age(&young_file, 60);

        let dry = sweep_orphans(&opts(d, true)).unwrap();
        assert_eq!(dry.removed, vec![old_file.clone(), old_dir.clone()]);
        assert!(old_file.exists() && old_dir.exists());

        let report = sweep_orphans(&opts(d, false)).unwrap();
        assert_eq!(report.removed, vec![old_file.clone(), old_dir.clone()]);
        assert_eq!(report.kept_young, 1);
        assert_eq!(report.kept_symlinks, 1);
        assert_eq!(report.other_prefix, 1);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(!old_file.exists() && !old_dir.exists());
        assert!(young_file.exists() && foreign_prefix.exists());
        assert!(fs::symlink_metadata(&link).is_ok());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
    }

    #[test]
    fn cleanup_orphaned_returns_the_count() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let p = dir.path().join(format!("traffic_{i}"));
            fs::write(&p, b"x").unwrap();
            age(&p, 90_000);
        }
        let n = cleanup_orphaned(dir.path(), "traffic_", Duration::from_secs(86_400)).unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn sweep_of_a_missing_dir_names_it() {
        let err = sweep_orphans(&opts(Path::new("/no/such/sweep/dir"), false)).unwrap_err();
        assert!(err.to_string().contains("/no/such/sweep/dir"), "{err}");
        let mut o = opts(Path::new("/tmp"), true);
        o.prefix.clear();
        let err = sweep_orphans(&o).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
