//! Periodic housekeeping of the run loop: the orphan sweep of temporary files, resource
//! statistics to `performance.log`, the memory and disk checks that act, and the final leak
//! report.
//!
//! Every [`CHECK_EVERY`] of the loop's time the process's memory and the free space of its
//! disks are read. Memory over `resources.memory_limit_mb` stops frame saving and empties the
//! frame store's in-memory buffer until it is back under 90% of the limit; a disk below
//! `frames.min_free_disk_percent` stops frame saving and sweeps orphaned temporary files older
//! than a minute (again every ten minutes while it stays low). Each is a recovery in the
//! ledger, logged when it begins and when it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use semaforo_resources::{sweep_orphans, FrameStore, ResourceTracker, SweepOptions};

use super::recovery::Recoveries;
use super::timings::StageTimings;
use crate::config::Config;
use crate::logging::PERFORMANCE_TARGET;

/// How often temporary files are swept while running (the original's watchdog did it hourly).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How often memory and disks are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// On a low disk, temporary files older than this are orphans: semaforo's own live for the
/// milliseconds of an atomic write.
const LOW_DISK_ORPHAN_AGE: Duration = Duration::from_secs(60);

/// How often a disk that stays low is swept again.
const LOW_DISK_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Memory is back under its limit below this share of it (so a process near its limit does
/// not flap between saving and not).
const MEMORY_BACK_UNDER: f64 = 0.9;

/// The recoveries' names, as `/health` and `/api/status` show them.
pub const MEMORY_ACTION: &str = "frame saving stopped, frame buffer emptied";
pub const DISK_ACTION: &str = "frame saving stopped, orphaned temporary files swept";

pub struct Housekeeping {
    sweep: SweepOptions,
    next_sweep: Duration,
    statistics_every: Duration,
    next_statistics: Duration,
    memory_limit_mb: u64,
    min_free_disk_percent: f64,
    next_check: Duration,
    /// Memory is over its limit (frames are not saved).
    memory_over: bool,
    /// A disk is below its minimum (frames are not saved).
    low_disk: bool,
    /// While one is: when orphans were last swept for it.
    low_disk_swept: Option<Duration>,
}

impl Housekeeping {
    /// Sweeps orphans once at start.
    pub fn new(config: &Config, now: Duration) -> Self {
        let sweep = SweepOptions {
            dir: config.temp.dir.clone(),
            prefix: config.temp.prefix.clone(),
            max_age: config.temp.max_age,
            dry_run: false,
        };
        let mut this = Housekeeping {
            sweep,
            next_sweep: now,
            statistics_every: config.resources.statistics_interval,
            next_statistics: now + config.resources.statistics_interval,
            memory_limit_mb: config.resources.memory_limit_mb,
            min_free_disk_percent: config.frames.min_free_disk_percent,
            next_check: now,
            memory_over: false,
            low_disk: false,
            low_disk_swept: None,
        };
        if let Err(e) = std::fs::create_dir_all(&this.sweep.dir) {
            tracing::warn!(
                "cannot create the temp directory {}: {e}",
                this.sweep.dir.display()
            );
        }
        this.sweep_orphans();
        this.next_sweep = now + SWEEP_EVERY;
        this
    }

    /// Sweeps the temporary directory of orphans older than `max_age` (the configured age,
    /// or less on a low disk); how many were removed.
    fn sweep_orphans_older_than(&self, max_age: Duration) -> usize {
        let options = SweepOptions {
            max_age,
            ..self.sweep.clone()
        };
        match sweep_orphans(&options) {
            Ok(report) if !report.removed.is_empty() => {
                tracing::info!(
                    "removed {} orphaned temporary entries older than {} from {}",
                    report.removed.len(),
                    humantime::format_duration(max_age),
                    self.sweep.dir.display()
                );
                report.removed.len()
            }
            Ok(_) => {
                tracing::debug!(
                    "no orphaned temporary files in {}",
                    self.sweep.dir.display()
                );
                0
            }
            Err(e) => {
                tracing::warn!("orphan sweep skipped: {e}");
                0
            }
        }
    }

    fn sweep_orphans(&self) {
        self.sweep_orphans_older_than(self.sweep.max_age);
    }

    /// Runs whatever is due at `now`; memory and disk recoveries go to `recoveries`, and
    /// `saving_paused` stops the cameras' frame saving while either lasts.
    pub fn tick(
        &mut self,
        now: Duration,
        tracker: &ResourceTracker,
        store: Option<&FrameStore>,
        timings: &mut StageTimings,
        (saving_paused, recoveries): (&AtomicBool, &mut Recoveries),
    ) {
        if now >= self.next_sweep {
            self.sweep_orphans();
            self.next_sweep = now + SWEEP_EVERY;
        }
        if now >= self.next_check {
            self.next_check = now + CHECK_EVERY;
            self.check_resources(now, tracker, store, recoveries);
            let paused = self.memory_over || self.low_disk;
            saving_paused.store(paused, Ordering::Relaxed);
        }
        if now >= self.next_statistics {
            timings.log_and_reset();
            self.statistics(tracker, store);
            self.next_statistics = now + self.statistics_every;
        }
    }

    /// Memory over its limit empties the frame buffer and stops saving; a low disk stops
    /// saving and sweeps orphans.
    fn check_resources(
        &mut self,
        now: Duration,
        tracker: &ResourceTracker,
        store: Option<&FrameStore>,
        recoveries: &mut Recoveries,
    ) {
        let stats = tracker.statistics();
        let limit = self.memory_limit_mb as f64;
        let was_over = self.memory_over;
        self.memory_over = if was_over {
            stats.rss_mb >= limit * MEMORY_BACK_UNDER
        } else {
            stats.rss_mb > limit
        };
        if self.memory_over && !was_over {
            if let Some(store) = store {
                store.clear();
            }
        }
        let memory = self.memory_over.then(|| {
            format!(
                "{:.1} MB resident, above resources.memory_limit_mb = {} MB; saving resumes \
                 under {:.0} MB",
                stats.rss_mb,
                self.memory_limit_mb,
                limit * MEMORY_BACK_UNDER
            )
        });
        recoveries.set(now, "memory", MEMORY_ACTION, memory.as_deref());
        let mut low = Vec::new();
        for disk in &stats.disks {
            let check = format!("disk {}", disk.path.display());
            let is_low = disk.free_percent < self.min_free_disk_percent;
            if is_low {
                low.push(format!("{check} ({:.1}% free)", disk.free_percent));
            }
            let detail = is_low.then(|| {
                format!(
                    "{:.1}% free, below frames.min_free_disk_percent = {}%",
                    disk.free_percent, self.min_free_disk_percent
                )
            });
            recoveries.set(now, &check, DISK_ACTION, detail.as_deref());
        }
        // One sweep when a disk turns low, and again every ten minutes while one stays low.
        let sweep_due = self
            .low_disk_swept
            .is_none_or(|at| now >= at + LOW_DISK_SWEEP_EVERY);
        if !low.is_empty() && sweep_due {
            let removed = self.sweep_orphans_older_than(LOW_DISK_ORPHAN_AGE);
            tracing::info!(
                "{} low: swept {removed} orphaned temporary file(s) from {}",
                low.join(", "),
                self.sweep.dir.display()
            );
            self.low_disk_swept = Some(now);
        }
        if low.is_empty() {
            self.low_disk_swept = None;
        }
        self.low_disk = !low.is_empty();
    }

    fn statistics(&mut self, tracker: &ResourceTracker, store: Option<&FrameStore>) {
        tracker.log_statistics();
        if let Some(store) = store {
            let u = store.usage();
            tracing::info!(
                target: PERFORMANCE_TARGET,
                buffer_frames = u.buffer_frames,
                buffer_bytes = u.buffer_bytes,
                disk_frames = u.disk_frames,
                disk_bytes = u.disk_bytes,
                "frame store"
            );
        }
    }

    /// Releases what is still tracked, logs the final statistics and returns how many
    /// potential leaks the tracker saw.
    pub fn finish(
        &mut self,
        tracker: &ResourceTracker,
        store: Option<&FrameStore>,
        timings: &mut StageTimings,
    ) -> usize {
        timings.log_and_reset();
        let leaks = tracker.statistics().potential_leaks.len();
        let released = tracker.release_all();
        if released > 0 {
            tracing::warn!("released {released} handle(s) still open at shutdown");
        }
        if leaks > 0 {
            tracing::warn!("{leaks} potential resource leak(s) at shutdown: see performance.log");
        }
        self.statistics(tracker, store);
        leaks
    }
}
