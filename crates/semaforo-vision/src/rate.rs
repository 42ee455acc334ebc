//! How often a camera's detector runs, apart from how often its frames arrive.
//!
//! Signal control needs fresh counts a few times a second, not fifteen: the network runs at
//! [`AnalysisRate`]'s rate on the newest frame, and the counter carries the vehicles on the
//! frames between ([`crate::ZoneCounter::carry`]). When the detector cannot keep the rate (a
//! slow board, a busy core), the rate is lowered step by step, and raised again once the
//! detector has been fast enough for a while; frames are never queued behind the detector.
//!
//! Everything here runs on the caller's clock (frame times and measured detector times are
//! passed in), so it is tested with made-up times.

use std::time::Duration;

/// Share of the time between two runs the detector may take: above it (as the median of the
/// last [`WINDOW`] runs) the rate is lowered.
pub const BUSY_LIMIT: f64 = 0.8;
/// The rate is raised a step when the detector would take less than this share of the time
/// between runs at the higher rate, over [`CALM_FOR`].
pub const CALM_LIMIT: f64 = 0.5;
/// How long the detector must have been fast enough before the rate is raised a step.
pub const CALM_FOR: Duration = Duration::from_secs(10);
/// Runs whose median time is judged.
pub const WINDOW: usize = 5;
/// Each step down multiplies the rate by this (each step up divides by it).
pub const STEP: f64 = 0.7;
/// The rate is never lowered below this (or the configured rate, if lower): a detector that
/// cannot keep even this is a case for `detection.max_latency` (the background model).
pub const FLOOR_HZ: f64 = 1.0;

/// A change of a camera's analysis rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateChange {
    /// The detector took `busy` (a share) of the time between runs: the rate went down.
    Lowered { from: f64, to: f64, busy: f64 },
    /// The detector has been fast enough: the rate went back up.
    Raised { from: f64, to: f64 },
}

/// A camera's analysis rate: when its detector is due, and how the rate follows the
/// detector's measured times.
#[derive(Debug, Clone)]
pub struct AnalysisRate {
    configured: Option<f64>,
    current: f64,
    next_run: Option<Duration>,
    recent: Vec<Duration>,
    calm_since: Option<Duration>,
}

impl AnalysisRate {
    /// Runs at `hz` times a second; `None`: on every frame (and never adapts).
    pub fn new(hz: Option<f64>) -> Self {
        let hz = hz.filter(|hz| hz.is_finite() && *hz > 0.0);
        AnalysisRate {
            configured: hz,
            current: hz.unwrap_or(0.0),
            next_run: None,
            recent: Vec::with_capacity(WINDOW),
            calm_since: None,
        }
    }

    /// The configured rate (`None`: every frame).
    pub fn configured(&self) -> Option<f64> {
        self.configured
    }

    /// The rate the detector runs at now (`None`: every frame).
    pub fn current(&self) -> Option<f64> {
        self.configured.map(|_| self.current)
    }

    /// Whether the rate is below the configured one.
    pub fn lowered(&self) -> bool {
        self.configured.is_some_and(|c| self.current < c)
    }

    /// Whether the detector runs on the frame of time `at`. Runs are due one period apart on
    /// the frames' clock; a late frame runs at once and the next is a period after it (no
    /// burst of catching up).
    pub fn due(&mut self, at: Duration) -> bool {
        if self.configured.is_none() {
            return true;
        }
        let period = Duration::from_secs_f64(1.0 / self.current);
        match self.next_run {
            Some(next) if at < next => false,
            Some(next) => {
                // On time: the schedule keeps its beat; late by more than a period: restart it.
                let next = next + period;
                self.next_run = Some(if next > at { next } else { at + period });
                true
            }
            None => {
                self.next_run = Some(at + period);
                true
            }
        }
    }

    /// Takes the time one run of the detector took, finishing at `at` on the frames' clock;
    /// says when the rate changed.
    pub fn observe(&mut self, at: Duration, took: Duration) -> Option<RateChange> {
        let configured = self.configured?;
        if self.recent.len() == WINDOW {
            self.recent.remove(0);
        }
        self.recent.push(took);
        if self.recent.len() < WINDOW {
            return None;
        }
        let mut sorted = self.recent.clone();
        sorted.sort_unstable();
        let median = sorted[WINDOW / 2].as_secs_f64();
        let floor = FLOOR_HZ.min(configured);
        let busy = median * self.current;
        if busy > BUSY_LIMIT && self.current > floor {
            let from = self.current;
            self.current = (self.current * STEP).max(floor);
            self.restart();
            return Some(RateChange::Lowered {
                from,
                to: self.current,
                busy,
            });
        }
        if self.current >= configured {
            return None;
        }
        let higher = (self.current / STEP).min(configured);
        if median * higher >= CALM_LIMIT {
            self.calm_since = None;
            return None;
        }
        let since = *self.calm_since.get_or_insert(at);
        if at.saturating_sub(since) < CALM_FOR {
            return None;
        }
        let from = self.current;
        // Within a hair of the configured rate is the configured rate.
        self.current = if higher > configured * 0.99 {
            configured
        } else {
            higher
        };
        self.restart();
        Some(RateChange::Raised {
            from,
            to: self.current,
        })
    }

    /// After a change, the new rate is judged on its own runs.
    fn restart(&mut self) {
        self.recent.clear();
        self.calm_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Frames at 15 a second for `seconds` from `start`; the detector takes `took` on each
    /// frame it runs on. Returns the runs and the changes.
    fn drive(
        rate: &mut AnalysisRate,
        start: Duration,
        seconds: u64,
        took: Duration,
    ) -> (u32, Vec<RateChange>) {
        let (mut runs, mut changes) = (0, Vec::new());
        for frame in 0..seconds * 15 {
            let at = start + Duration::from_secs_f64(frame as f64 / 15.0);
            if rate.due(at) {
                runs += 1;
                changes.extend(rate.observe(at + took, took));
            }
        }
        (runs, changes)
    }

    #[test]
    fn a_rate_of_four_runs_the_detector_on_four_frames_a_second_of_fifteen() {
        let mut rate = AnalysisRate::new(Some(4.0));
        let (runs, changes) = drive(&mut rate, Duration::ZERO, 10, ms(30));
        assert!((39..=41).contains(&runs), "{runs}");
        assert!(changes.is_empty());
        let mut every = AnalysisRate::new(None);
        assert_eq!(drive(&mut every, Duration::ZERO, 2, ms(30)).0, 30);
    }

    #[test]
    fn a_slow_detector_lowers_the_rate_step_by_step_and_it_climbs_back_when_fast_again() {
        let mut rate = AnalysisRate::new(Some(4.0));
        // 400 ms a run: 160% of the time between runs at 4 Hz.
        let (_, changes) = drive(&mut rate, Duration::ZERO, 30, ms(400));
        let lowered: Vec<f64> = changes
            .iter()
            .map(|c| match c {
                RateChange::Lowered { to, .. } => *to,
                RateChange::Raised { .. } => panic!("raised while slow: {c:?}"),
            })
            .collect();
        // 4 Hz, 2.8 Hz (112%), then 1.96 Hz (78%): kept.
        assert_eq!(lowered.len(), 2, "{changes:?}");
        let settled = rate.current().unwrap();
        assert!(
            400.0e-3 * settled <= BUSY_LIMIT,
            "settles where the detector keeps up: {settled}"
        );
        assert!(rate.lowered());
        // Fast again: back up a step at a time, each after CALM_FOR.
        let (_, changes) = drive(&mut rate, Duration::from_secs(30), 60, ms(40));
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, RateChange::Raised { .. })),
            "{changes:?}"
        );
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(rate.current(), Some(4.0));
        assert!(!rate.lowered());
    }

    #[test]
    fn a_detector_slow_once_in_a_while_does_not_move_the_rate() {
        let mut rate = AnalysisRate::new(Some(4.0));
        let mut changes = Vec::new();
        for frame in 0..15 * 60u64 {
            let at = Duration::from_secs_f64(frame as f64 / 15.0);
            if rate.due(at) {
                // One run in five takes 600 ms (a page fault storm, a busy neighbour).
                let took = if frame % 5 == 0 { ms(600) } else { ms(60) };
                changes.extend(rate.observe(at + took, took));
            }
        }
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn the_rate_never_goes_below_the_floor() {
        let mut rate = AnalysisRate::new(Some(4.0));
        drive(&mut rate, Duration::ZERO, 120, ms(5_000));
        assert_eq!(rate.current(), Some(FLOOR_HZ));
    }

    #[test]
    fn a_late_frame_runs_at_once_without_a_burst_after_it() {
        let mut rate = AnalysisRate::new(Some(4.0));
        assert!(rate.due(ms(0)));
        assert!(!rate.due(ms(200)));
        assert!(rate.due(ms(260)));
        // Nothing for two seconds: the next frame runs, the one after waits a period.
        assert!(rate.due(ms(2_300)));
        assert!(!rate.due(ms(2_400)));
        assert!(rate.due(ms(2_550)));
    }
}
