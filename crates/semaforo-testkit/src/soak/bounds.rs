//! What a soak must not show: memory that keeps growing after the warm-up, descriptors or
//! threads that pile up, temporary files, frames or outbox messages past their bounds. The
//! figures a report gives come from the same samples.

use super::sample::Sample;

/// The limits a soak is held to. Everything but the ceilings is judged after the warm-up.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// The share of the run (by the daemon's clock) that is warm-up: allocator arenas,
    /// buffers and the frame store filling up.
    pub warmup: f64,
    /// How much resident memory may grow from just after the warm-up to the end: the median of
    /// the last tenth of the samples against the median of the first tenth after the warm-up
    /// (medians, so that one busy moment is not taken for growth).
    pub rss_growth_kb: u64,
    /// How far descriptors and threads may spread over the settled samples (every link and
    /// camera up, so the same connections are open each time): the sampler's own HTTP
    /// connection and a frame being written can be counted or not.
    pub fd_spread: u64,
    pub thread_spread: u64,
    /// Ceilings over the whole run.
    pub temp_files: u64,
    pub frame_files: u64,
    pub frame_bytes: u64,
    pub outbox_depth: u64,
}

impl Bounds {
    /// The ceilings a plot draws across its figures' panels.
    pub fn drawn(&self) -> [(&'static str, u64); 4] {
        [
            ("temp_files", self.temp_files),
            ("frame_files", self.frame_files),
            ("frame_bytes", self.frame_bytes),
            ("outbox_depth", self.outbox_depth),
        ]
    }
}

/// The figures of a run, for the report and the bound checks.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub samples: usize,
    pub settled: usize,
    pub daemon_s: f64,
    pub wall_s: f64,
    /// Medians of the first and last tenth after the warm-up, and the largest sample.
    pub rss_after_warmup_kb: u64,
    pub rss_end_kb: u64,
    pub rss_max_kb: u64,
    /// (min, max) after the warm-up, over all samples and over the settled ones.
    pub fds: (u64, u64),
    pub fds_settled: (u64, u64),
    pub threads: (u64, u64),
    pub threads_settled: (u64, u64),
    /// Largest over the whole run.
    pub temp_files: u64,
    pub frame_files: u64,
    pub frame_bytes: u64,
    pub outbox_depth: u64,
}

impl Figures {
    pub fn of(samples: &[Sample], warmup: f64) -> Figures {
        let Some(last) = samples.last() else {
            return Figures::default();
        };
        let after: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.daemon_s >= last.daemon_s * warmup)
            .collect();
        let settled: Vec<&Sample> = after.iter().copied().filter(|s| s.settled).collect();
        let tenth = (after.len() / 10).max(1);
        let rss = |part: &[&Sample]| median(part.iter().map(|s| s.rss_kb).collect());
        let range = |part: &[&Sample], f: fn(&Sample) -> u64| {
            let values = part.iter().map(|s| f(s));
            (values.clone().min().unwrap_or(0), values.max().unwrap_or(0))
        };
        let most = |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0);
        Figures {
            samples: samples.len(),
            settled: settled.len(),
            daemon_s: last.daemon_s,
            wall_s: last.wall_s,
            rss_after_warmup_kb: rss(&after[..tenth.min(after.len())]),
            rss_end_kb: rss(&after[after.len().saturating_sub(tenth)..]),
            rss_max_kb: most(|s| s.rss_kb),
            fds: range(&after, |s| s.fds),
            fds_settled: range(&settled, |s| s.fds),
            threads: range(&after, |s| s.threads),
            threads_settled: range(&settled, |s| s.threads),
            temp_files: most(|s| s.temp_files),
            frame_files: most(|s| s.frame_files),
            frame_bytes: most(|s| s.frame_bytes),
            outbox_depth: most(|s| s.outbox_depth),
        }
    }

    /// The figures in a few lines.
    pub fn summary(&self) -> String {
        let mb = |kb: u64| kb as f64 / 1024.0;
        format!(
            "{:.0} s of daemon time in {:.0} s, {} samples ({} settled)\n\
             RSS after warm-up {:.1} MB, at the end {:.1} MB, growth {:+.2} MB, peak {:.1} MB\n\
             open descriptors {}..{} ({}..{} settled), threads {}..{} ({}..{} settled)\n\
             temporary files at most {}, frame store at most {} files and {:.0} kB, outbox \
             depth at most {}",
            self.daemon_s,
            self.wall_s,
            self.samples,
            self.settled,
            mb(self.rss_after_warmup_kb),
            mb(self.rss_end_kb),
            self.rss_growth_kb() as f64 / 1024.0,
            mb(self.rss_max_kb),
            self.fds.0,
            self.fds.1,
            self.fds_settled.0,
            self.fds_settled.1,
            self.threads.0,
            self.threads.1,
            self.threads_settled.0,
            self.threads_settled.1,
            self.temp_files,
            self.frame_files,
            self.frame_bytes as f64 / 1000.0,
            self.outbox_depth,
        )
    }

    /// RSS growth after the warm-up, kB (negative when it shrank).
    pub fn rss_growth_kb(&self) -> i64 {
        self.rss_end_kb as i64 - self.rss_after_warmup_kb as i64
    }

    /// Every bound the figures break, in words; empty when the run passed.
    pub fn broken(&self, b: &Bounds) -> Vec<String> {
        let mut broken = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                broken.push(what);
            }
        };
        check(
            self.samples >= 10 && self.settled >= 3,
            format!(
                "too few samples to judge: {} ({} settled)",
                self.samples, self.settled
            ),
        );
        check(
            self.rss_growth_kb() < b.rss_growth_kb as i64,
            format!(
                "RSS grew {} kB after the warm-up ({} -> {} kB), bound {} kB",
                self.rss_growth_kb(),
                self.rss_after_warmup_kb,
                self.rss_end_kb,
                b.rss_growth_kb
            ),
        );
        let (lo, hi) = self.fds_settled;
        check(
            hi - lo <= b.fd_spread,
            format!(
                "open descriptors spread {lo}..{hi} over the settled samples, bound {}",
                b.fd_spread
            ),
        );
        let (lo, hi) = self.threads_settled;
        check(
            hi - lo <= b.thread_spread,
            format!(
                "threads spread {lo}..{hi} over the settled samples, bound {}",
                b.thread_spread
            ),
        );
        for (name, value, bound) in [
            ("temporary files", self.temp_files, b.temp_files),
            ("frame-store files", self.frame_files, b.frame_files),
            ("frame-store bytes", self.frame_bytes, b.frame_bytes),
            ("outbox depth", self.outbox_depth, b.outbox_depth),
        ] {
            check(
                value <= bound,
                format!("{name} reached {value}, bound {bound}"),
            );
        }
        broken
    }
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rss: impl Fn(usize) -> u64, fds: impl Fn(usize) -> u64) -> Vec<Sample> {
        (0..100)
            .map(|i| Sample {
                wall_s: i as f64,
                daemon_s: i as f64,
                rss_kb: rss(i),
                fds: fds(i),
                threads: 20,
                temp_files: 0,
                frame_files: 40,
                frame_bytes: 400_000,
                outbox_depth: 3,
                settled: i % 3 == 0,
            })
            .collect()
    }

    const BOUNDS: Bounds = Bounds {
        warmup: 0.1,
        rss_growth_kb: 2048,
        fd_spread: 2,
        thread_spread: 2,
        temp_files: 4,
        frame_files: 80,
        frame_bytes: 8_000_000,
        outbox_depth: 500,
    };

    #[test]
    fn a_steady_run_after_its_warm_up_passes() {
        // Memory climbs in the warm-up, then holds; a connection comes and goes unsettled.
        let samples = run(
            |i| 30_000 + 500 * i.min(10) as u64,
            |i| 30 + (i % 3 != 0) as u64,
        );
        let figures = Figures::of(&samples, BOUNDS.warmup);
        assert_eq!(figures.broken(&BOUNDS), Vec::<String>::new());
        assert_eq!(figures.rss_growth_kb(), 0);
        assert_eq!(figures.fds, (30, 31));
        assert_eq!(figures.fds_settled, (30, 30));
    }

    #[test]
    fn memory_that_keeps_growing_and_a_descriptor_per_cycle_fail() {
        let samples = run(|i| 30_000 + 50 * i as u64, |i| 30 + i as u64 / 20);
        let broken = Figures::of(&samples, BOUNDS.warmup).broken(&BOUNDS);
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(broken[0].starts_with("RSS grew"), "{broken:?}");
        assert!(
            broken[1].starts_with("open descriptors spread 30..34"),
            "{broken:?}"
        );
    }
}
