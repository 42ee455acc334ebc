//! Periodic housekeeping of the run loop: the orphan sweep of temporary files, resource
//! statistics to `performance.log`, the memory limit check, and the final leak report.

use std::time::Duration;

use semaforo_resources::{sweep_orphans, FrameStore, ResourceTracker, SweepOptions};

use super::timings::StageTimings;
use crate::config::Config;
use crate::logging::PERFORMANCE_TARGET;

/// How often temporary files are swept while running (the original's watchdog did it hourly).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub struct Housekeeping {
    sweep: SweepOptions,
    next_sweep: Duration,
    statistics_every: Duration,
    next_statistics: Duration,
    memory_limit_mb: u64,
    over_limit: bool,
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
            over_limit: false,
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

    fn sweep_orphans(&self) {
        match sweep_orphans(&self.sweep) {
            Ok(report) if !report.removed.is_empty() => tracing::info!(
                "removed {} orphaned temporary entries older than {:.1} h from {}",
                report.removed.len(),
                self.sweep.max_age.as_secs_f64() / 3600.0,
                self.sweep.dir.display()
            ),
            Ok(_) => tracing::debug!(
                "no orphaned temporary files in {}",
                self.sweep.dir.display()
            ),
            Err(e) => tracing::warn!("orphan sweep skipped: {e}"),
        }
    }

    /// Runs whatever is due at `now`.
    pub fn tick(
        &mut self,
        now: Duration,
        tracker: &ResourceTracker,
        store: Option<&FrameStore>,
        timings: &mut StageTimings,
    ) {
        if now >= self.next_sweep {
            self.sweep_orphans();
            self.next_sweep = now + SWEEP_EVERY;
        }
        if now >= self.next_statistics {
            timings.log_and_reset();
            self.statistics(tracker, store);
            self.next_statistics = now + self.statistics_every;
        }
    }

    fn statistics(&mut self, tracker: &ResourceTracker, store: Option<&FrameStore>) {
        tracker.log_statistics();
        let stats = tracker.statistics();
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
        let over = stats.rss_mb > self.memory_limit_mb as f64;
        if over && !self.over_limit {
            tracing::warn!(
                "process memory {:.1} MB is above resources.memory_limit_mb = {} MB (change since \
                 start {:+.1} MB)",
                stats.rss_mb,
                self.memory_limit_mb,
                stats.rss_delta_mb
            );
        } else if !over && self.over_limit {
            tracing::info!(
                "process memory {:.1} MB is back under the limit",
                stats.rss_mb
            );
        }
        self.over_limit = over;
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
