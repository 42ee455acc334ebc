//! Stage timings for `performance.log`: how long each stage of the loop takes (count, mean,
//! maximum), summed between two statistics lines and then reset.
//!
//! These measure the CPU's real work, so they use `Instant` even when the loop runs on a
//! manual clock in tests.

use std::time::{Duration, Instant};

use crate::logging::PERFORMANCE_TARGET;

#[derive(Debug, Default, Clone, Copy)]
struct Stage {
    count: u64,
    total: Duration,
    max: Duration,
}

/// Accumulates timings per named stage.
#[derive(Debug, Default)]
pub struct StageTimings {
    stages: Vec<(&'static str, Stage)>,
}

impl StageTimings {
    /// Runs `f`, recording how long it took under `stage`.
    pub fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.record(stage, start.elapsed());
        out
    }

    pub fn record(&mut self, stage: &'static str, took: Duration) {
        let entry = self.entry(stage);
        entry.count += 1;
        entry.total += took;
        entry.max = entry.max.max(took);
    }

    fn entry(&mut self, stage: &'static str) -> &mut Stage {
        let at = match self.stages.iter().position(|(name, _)| *name == stage) {
            Some(at) => at,
            None => {
                self.stages.push((stage, Stage::default()));
                self.stages.len() - 1
            }
        };
        &mut self.stages[at].1
    }

    /// Adds another set of timings (a camera worker's) to these and empties it.
    pub fn absorb(&mut self, other: &mut StageTimings) {
        for (name, s) in other.stages.drain(..) {
            let entry = self.entry(name);
            entry.count += s.count;
            entry.total += s.total;
            entry.max = entry.max.max(s.max);
        }
    }

    /// Writes one line per stage to `performance.log` and starts counting again.
    pub fn log_and_reset(&mut self) {
        for (name, s) in &self.stages {
            if s.count == 0 {
                continue;
            }
            let mean_us = s.total.as_secs_f64() * 1e6 / s.count as f64;
            tracing::info!(
                target: PERFORMANCE_TARGET,
                stage = name,
                count = s.count,
                mean_us = format!("{mean_us:.1}"),
                max_us = s.max.as_micros() as u64,
                "stage timing"
            );
        }
        for (_, s) in &mut self.stages {
            *s = Stage::default();
        }
    }

    #[cfg(test)]
    fn count(&self, stage: &str) -> u64 {
        self.stages
            .iter()
            .find(|(n, _)| *n == stage)
            .map_or(0, |(_, s)| s.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_accumulate_until_reset() {
        let mut t = StageTimings::default();
        t.record("read", Duration::from_micros(10));
        t.record("read", Duration::from_micros(30));
        assert_eq!(t.time("save", || 7), 7);
        assert_eq!((t.count("read"), t.count("save")), (2, 1));
        t.log_and_reset();
        assert_eq!(t.count("read"), 0);
    }
}
