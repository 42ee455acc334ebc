//! The resource tracker (the Guide's ResourceTracker): live handles per kind, leaks that are
//! measured rather than guessed, process memory, open descriptors and free disk.
//!
//! A handle is registered through a [`HandleGuard`]; dropping the guard releases the entry,
//! so a handle released by its guard can never show as leaked (the original kept released
//! cameras "tracked" and reported false leaks). A handle may name an *owner* (any `Arc`):
//! the tracker keeps only a `Weak` to it, and a handle whose owner is gone while the handle
//! is still registered is a potential leak (its guard was `mem::forget`-ed or leaked with
//! an `Arc` cycle). Handles may carry a release hook, which [`ResourceTracker::release_all`]
//! runs at shutdown.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::process::{disk_space, open_fd_count, process_rss_bytes};

/// What a tracked handle is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HandleKind {
    /// A camera or other frame source.
    Camera,
    /// A display window.
    Window,
    /// Any other kind, by name.
    Other(String),
}

impl HandleKind {
    /// The kind's name as reported in statistics (`camera`, `window`, or the given name).
    pub fn name(&self) -> &str {
        match self {
            HandleKind::Camera => "camera",
            HandleKind::Window => "window",
            HandleKind::Other(name) => name,
        }
    }
}

impl fmt::Display for HandleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<&str> for HandleKind {
    fn from(name: &str) -> Self {
        match name {
            "camera" => HandleKind::Camera,
            "window" => HandleKind::Window,
            other => HandleKind::Other(other.to_owned()),
        }
    }
}

type ReleaseHook = Box<dyn FnOnce() + Send>;

struct Entry {
    kind: HandleKind,
    label: String,
    registered: Instant,
    owner: Option<Weak<dyn Any + Send + Sync>>,
    release: Option<ReleaseHook>,
}

#[derive(Default, Clone, Copy)]
struct KindTotals {
    registered: u64,
    released: u64,
}

#[derive(Default)]
struct Registry {
    entries: HashMap<u64, Entry>,
    totals: BTreeMap<HandleKind, KindTotals>,
    watched_disks: Vec<PathBuf>,
}

struct Shared {
    registry: Mutex<Registry>,
    next_id: AtomicU64,
    created: Instant,
    baseline_rss: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        // Registry updates are single inserts/removes: a panic elsewhere while the lock was
        // held cannot leave it inconsistent, and losing the tracker would hide leaks.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, id: u64) -> Option<Entry> {
        let mut reg = self.lock();
        let entry = reg.entries.remove(&id)?;
        reg.totals.entry(entry.kind.clone()).or_default().released += 1;
        Some(entry)
    }
}

/// Counts tracked handles, measures leaks and reports process resources. Thread-safe;
/// use [`global_tracker`] in the program and [`ResourceTracker::new`] in tests.
///
/// ```
/// use semaforo_resources::{HandleKind, ResourceTracker};
/// let tracker = ResourceTracker::new();
/// let guard = tracker.register(HandleKind::Window, "preview A");
/// assert_eq!(tracker.statistics().kind("window").tracked, 1);
/// drop(guard);
/// let stats = tracker.statistics();
/// assert_eq!(stats.kind("window").tracked, 0);
/// assert!(stats.potential_leaks.is_empty());
/// ```
#[derive(Clone)]
pub struct ResourceTracker {
    shared: Arc<Shared>,
}

impl Default for ResourceTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ResourceTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTracker")
            .field("tracked", &self.shared.lock().entries.len())
            .finish()
    }
}

/// The process-wide tracker (created on first use; its RSS baseline is taken then).
///
/// ```
/// let a = semaforo_resources::global_tracker();
/// let b = semaforo_resources::global_tracker();
/// assert!(std::ptr::eq(a, b));
/// ```
pub fn global_tracker() -> &'static ResourceTracker {
    static GLOBAL: OnceLock<ResourceTracker> = OnceLock::new();
    GLOBAL.get_or_init(ResourceTracker::new)
}

impl ResourceTracker {
    /// A tracker with no handles; the process RSS now is the baseline for `rss_delta_mb`.
    pub fn new() -> Self {
        ResourceTracker {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                next_id: AtomicU64::new(1),
                created: Instant::now(),
                baseline_rss: process_rss_bytes().unwrap_or(0),
            }),
        }
    }

    fn insert(&self, entry: Entry) -> HandleGuard {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut reg = self.shared.lock();
        reg.totals.entry(entry.kind.clone()).or_default().registered += 1;
        reg.entries.insert(id, entry);
        HandleGuard {
            shared: Arc::downgrade(&self.shared),
            id,
        }
    }

    /// Registers a handle; it stays tracked until the returned guard drops.
    pub fn register(&self, kind: impl Into<HandleKind>, label: impl Into<String>) -> HandleGuard {
        self.insert(Entry {
            kind: kind.into(),
            label: label.into(),
            registered: Instant::now(),
            owner: None,
            release: None,
        })
    }

    /// Registers a handle belonging to `owner`. If `owner` is dropped while the handle is
    /// still registered (its guard was forgotten or leaked), statistics report it as a
    /// potential leak.
    ///
    /// ```
    /// use semaforo_resources::{HandleKind, ResourceTracker};
    /// use std::sync::Arc;
    /// let tracker = ResourceTracker::new();
    /// let owner = Arc::new("detector worker");
    /// let guard = tracker.register_owned(HandleKind::Other("model".into()), "yolox", &owner);
    /// std::mem::forget(guard); // a bug: the guard never runs
    /// drop(owner);
    /// assert_eq!(tracker.statistics().potential_leaks.len(), 1);
    /// ```
    pub fn register_owned<T: Any + Send + Sync>(
        &self,
        kind: impl Into<HandleKind>,
        label: impl Into<String>,
        owner: &Arc<T>,
    ) -> HandleGuard {
        let owner: Arc<dyn Any + Send + Sync> = owner.clone();
        self.insert(Entry {
            kind: kind.into(),
            label: label.into(),
            registered: Instant::now(),
            owner: Some(Arc::downgrade(&owner)),
            release: None,
        })
    }

    /// Registers a handle with a release hook that [`release_all`](Self::release_all) runs
    /// (once) if the handle is still registered then. Dropping the guard first releases
    /// the entry without running the hook: the owner releases its own resource.
    pub fn register_releasable(
        &self,
        kind: impl Into<HandleKind>,
        label: impl Into<String>,
        release: impl FnOnce() + Send + 'static,
    ) -> HandleGuard {
        self.insert(Entry {
            kind: kind.into(),
            label: label.into(),
            registered: Instant::now(),
            owner: None,
            release: Some(Box::new(release)),
        })
    }

    /// Adds a directory whose file system's free space the statistics report.
    pub fn watch_disk(&self, path: impl Into<PathBuf>) {
        let path = path.into();
        let mut reg = self.shared.lock();
        if !reg.watched_disks.contains(&path) {
            reg.watched_disks.push(path);
        }
    }

    /// Runs the release hook of every registered handle that has one and unregisters those
    /// handles; returns how many were released. Handles without a hook stay registered.
    pub fn release_all(&self) -> usize {
        let hooks: Vec<(HandleKind, String, ReleaseHook)> = {
            let mut reg = self.shared.lock();
            let ids: Vec<u64> = reg
                .entries
                .iter()
                .filter(|(_, e)| e.release.is_some())
                .map(|(id, _)| *id)
                .collect();
            let mut hooks = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(mut e) = reg.entries.remove(&id) {
                    reg.totals.entry(e.kind.clone()).or_default().released += 1;
                    if let Some(hook) = e.release.take() {
                        hooks.push((e.kind, e.label, hook));
                    }
                }
            }
            hooks
        };
        // Hooks run without the registry lock: a hook may take its resource's own lock, and
        // that resource's owner may be dropping its guard (taking the registry lock) now.
        let n = hooks.len();
        for (kind, label, hook) in hooks {
            tracing::info!("releasing {kind} {label:?} at release_all");
            hook();
        }
        n
    }

    /// Handles, leaks, memory, descriptors and disks now.
    pub fn statistics(&self) -> TrackerStatistics {
        let (kinds, potential_leaks, watched) = {
            let reg = self.shared.lock();
            let mut kinds: BTreeMap<String, KindStatistics> = BTreeMap::new();
            for (kind, totals) in &reg.totals {
                let k = kinds.entry(kind.name().to_owned()).or_default();
                k.registered_total = totals.registered;
                k.released_total = totals.released;
            }
            let mut leaks = Vec::new();
            for e in reg.entries.values() {
                let k = kinds.entry(e.kind.name().to_owned()).or_default();
                k.tracked += 1;
                let owner_gone = e.owner.as_ref().is_some_and(|w| w.strong_count() == 0);
                if owner_gone {
                    leaks.push(PotentialLeak {
                        kind: e.kind.clone(),
                        label: e.label.clone(),
                        age: e.registered.elapsed(),
                    });
                } else {
                    k.alive += 1;
                }
            }
            leaks.sort_by_key(|l| std::cmp::Reverse(l.age));
            (kinds, leaks, reg.watched_disks.clone())
        };
        let rss = process_rss_bytes().unwrap_or(0);
        let disks = watched
            .into_iter()
            .filter_map(|path| match disk_space(&path) {
                Ok(d) => Some(DiskStat {
                    free_percent: d.free_percent(),
                    free_bytes: d.free_bytes,
                    total_bytes: d.total_bytes,
                    path,
                }),
                Err(e) => {
                    tracing::debug!("no disk statistics for {}: {e}", path.display());
                    None
                }
            })
            .collect();
        TrackerStatistics {
            kinds,
            potential_leaks,
            rss_mb: rss as f64 / MIB,
            rss_delta_mb: (rss as f64 - self.shared.baseline_rss as f64) / MIB,
            open_fds: open_fd_count().unwrap_or(0),
            disks,
            uptime: self.shared.created.elapsed(),
        }
    }

    /// Writes the statistics as one line to the `performance` log target, and a warning
    /// per potential leak.
    pub fn log_statistics(&self) {
        let stats = self.statistics();
        tracing::info!(target: "performance", "resources: {stats}");
        for leak in &stats.potential_leaks {
            tracing::warn!(
                "potential leak: {} {:?} registered {:.0} s ago, its owner is gone and it was never released",
                leak.kind,
                leak.label,
                leak.age.as_secs_f64()
            );
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// Keeps a handle registered with a [`ResourceTracker`]; dropping it unregisters the handle.
#[must_use = "the handle is unregistered as soon as the guard is dropped"]
pub struct HandleGuard {
    shared: Weak<Shared>,
    id: u64,
}

impl HandleGuard {
    /// Unregisters now (same as dropping the guard).
    pub fn release(self) {}
}

impl fmt::Debug for HandleGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleGuard").field("id", &self.id).finish()
    }
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            // Already gone if release_all released it: nothing to do then.
            let _ = shared.release(self.id);
        }
    }
}

/// Counts for one kind of handle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindStatistics {
    /// Registered now (guards not yet dropped).
    pub tracked: usize,
    /// Registered now and whose owner, if any, is still alive.
    pub alive: usize,
    /// Ever registered.
    pub registered_total: u64,
    /// Ever unregistered (guard dropped or released by `release_all`).
    pub released_total: u64,
}

/// A handle still registered although its owner is gone.
#[derive(Debug, Clone, PartialEq)]
pub struct PotentialLeak {
    pub kind: HandleKind,
    pub label: String,
    /// Time since the handle was registered.
    pub age: Duration,
}

/// Free space of one watched directory's file system.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskStat {
    pub path: PathBuf,
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub free_percent: f64,
}

/// A snapshot of [`ResourceTracker::statistics`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerStatistics {
    /// Per kind name (`camera`, `window`, ...), every kind ever registered.
    pub kinds: BTreeMap<String, KindStatistics>,
    /// Handles whose owner is gone but that were never released, oldest first.
    pub potential_leaks: Vec<PotentialLeak>,
    /// Process resident memory in MiB.
    pub rss_mb: f64,
    /// Change of resident memory since the tracker was created, in MiB.
    pub rss_delta_mb: f64,
    /// Open file descriptors of the process (0 where unknown).
    pub open_fds: usize,
    /// Watched directories' free space.
    pub disks: Vec<DiskStat>,
    /// Time since the tracker was created.
    pub uptime: Duration,
}

impl TrackerStatistics {
    /// Counts for a kind by name; zeros for a kind never registered.
    pub fn kind(&self, name: &str) -> KindStatistics {
        self.kinds.get(name).copied().unwrap_or_default()
    }
}

impl fmt::Display for TrackerStatistics {
    /// One line: `camera 2/2 alive, window 0/0 alive, leaks 0, rss 41.2 MB (+3.1), fds 17, disk /data 52.0% free`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, k) in &self.kinds {
            write!(f, "{name} {}/{} alive, ", k.alive, k.tracked)?;
        }
        write!(
            f,
            "leaks {}, rss {:.1} MB ({:+.1}), fds {}",
            self.potential_leaks.len(),
            self.rss_mb,
            self.rss_delta_mb,
            self.open_fds
        )?;
        for d in &self.disks {
            write!(f, ", disk {} {:.1}% free", d.path.display(), d.free_percent)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn guard_drop_releases_and_never_shows_a_leak() {
        let t = ResourceTracker::new();
        let owner = Arc::new(());
        let g1 = t.register_owned(HandleKind::Camera, "A", &owner);
        let g2 = t.register(HandleKind::Camera, "B");
        let s = t.statistics();
        assert_eq!(
            s.kind("camera"),
            KindStatistics {
                tracked: 2,
                alive: 2,
                registered_total: 2,
                released_total: 0
            }
        );
        drop(g1);
        drop(owner);
        g2.release();
        let s = t.statistics();
        assert_eq!(
            s.kind("camera"),
            KindStatistics {
                tracked: 0,
                alive: 0,
                registered_total: 2,
                released_total: 2
            }
        );
        assert!(s.potential_leaks.is_empty());
    }

    #[test]
    fn forgotten_guard_with_dead_owner_is_a_measured_leak() {
        let t = ResourceTracker::new();
        let owner = Arc::new(5u32);
        std::mem::forget(t.register_owned("socket", "orchestrator", &owner));
        // Owner alive: tracked and alive, not a leak.
        assert!(t.statistics().potential_leaks.is_empty());
        drop(owner);
        let s = t.statistics();
        assert_eq!(s.kind("socket").tracked, 1);
        assert_eq!(s.kind("socket").alive, 0);
        assert_eq!(s.potential_leaks.len(), 1);
        assert_eq!(s.potential_leaks[0].label, "orchestrator");
        assert_eq!(
            s.potential_leaks[0].kind,
            HandleKind::Other("socket".into())
        );
    }

    #[test]
    fn guard_leaked_in_an_arc_cycle_is_reported_once_its_owner_is_gone() {
        struct Node {
            _guard: HandleGuard,
            next: Mutex<Option<Arc<Node>>>,
        }
        let t = ResourceTracker::new();
        let owner = Arc::new(());
        let node = Arc::new(Node {
            _guard: t.register_owned(HandleKind::Window, "w", &owner),
            next: Mutex::new(None),
        });
        *node.next.lock().unwrap() = Some(node.clone()); // cycle: never dropped
        drop(node);
        drop(owner);
        assert_eq!(t.statistics().potential_leaks.len(), 1);
    }

    #[test]
    fn release_all_runs_hooks_once_and_counts() {
        let t = ResourceTracker::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let g = t.register_releasable(HandleKind::Camera, "A", move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let _w = t.register(HandleKind::Window, "no hook");
        assert_eq!(t.release_all(), 1);
        assert_eq!(t.release_all(), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        drop(g); // after release_all: a no-op, not a double count
        let s = t.statistics();
        assert_eq!(s.kind("camera").released_total, 1);
        assert_eq!(s.kind("window").tracked, 1);
    }

    #[test]
    fn dropped_guard_does_not_run_its_hook() {
        let t = ResourceTracker::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        drop(t.register_releasable(HandleKind::Camera, "A", move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(t.release_all(), 0);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn registering_from_many_threads_is_counted_exactly() {
        let t = ResourceTracker::new();
        std::thread::scope(|s| {
            for i in 0..8 {
                let t = &t;
                s.spawn(move || {
                    for j in 0..500 {
                        let g = t.register(HandleKind::Window, format!("{i}-{j}"));
                        if j % 2 == 0 {
                            std::mem::forget(g);
                        }
                    }
                });
            }
        });
        let s = t.statistics();
        assert_eq!(s.kind("window").registered_total, 4000);
        assert_eq!(s.kind("window").tracked, 2000);
        assert!(
            s.potential_leaks.is_empty(),
            "no owner given: nothing is guessed"
        );
    }

    #[test]
    fn statistics_report_memory_fds_and_watched_disks_in_one_line() {
        let t = ResourceTracker::new();
        let dir = tempfile::tempdir().unwrap();
        t.watch_disk(dir.path());
        t.watch_disk(dir.path());
        t.watch_disk("/no/such/dir");
        let _g = t.register(HandleKind::Camera, "A");
        let s = t.statistics();
        assert!(s.rss_mb > 0.0);
        assert!(s.open_fds > 0);
        assert_eq!(s.disks.len(), 1);
        assert!(s.disks[0].free_percent >= 0.0 && s.disks[0].free_percent <= 100.0);
        let line = s.to_string();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with("camera 1/1 alive, leaks 0, rss "),
            "{line}"
        );
        assert!(
            line.contains(&format!("disk {}", dir.path().display())),
            "{line}"
        );
    }

    #[test]
    fn guard_outliving_its_tracker_is_harmless() {
        let t = ResourceTracker::new();
        let g = t.register(HandleKind::Camera, "A");
        drop(t);
        drop(g);
    }
}
