//! `Timings`: the interval lengths every phase is timed with, and their validation.
//!
//! Traffic engineers time a phase with a minimum green (so a started green is long enough to be
//! used safely), a maximum green (so conflicting demand is not starved), a passage or gap time
//! (how long an actuated green waits for the next vehicle), a yellow change interval and a red
//! clearance (all-red) interval. The original system read `MIN_GREEN_TIME`, `MAX_GREEN_TIME`,
//! `YELLOW_TIME` and `RED_TIME` and never used them; here they are enforced by the state machine
//! and checked again by the conflict monitor.
//!
//! One `Timings` is one signal group's set; [`GroupTimings`](crate::GroupTimings) gives each
//! group its own, and one `Timings` still serves every group where a table is not needed.

use std::time::Duration;

use crate::time::Secs;

/// Interval lengths: one signal group's, or every group's where they all share them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// Minimum green: no green ends earlier, whatever the policy asks.
    pub min_green: Duration,
    /// Maximum green, timed from the first conflicting call (NEMA semantics): with a call waiting
    /// elsewhere, no green runs longer than this.
    pub max_green: Duration,
    /// Passage (gap) time: an actuated green gaps out when no vehicle was detected for this long.
    pub passage: Duration,
    /// Yellow change interval.
    pub yellow: Duration,
    /// Red clearance (all-red) after the yellow, before any conflicting green. May be zero.
    pub red_clearance: Duration,
}

impl Default for Timings {
    /// The original's configuration defaults: `MIN_GREEN_TIME` 10 s, `MAX_GREEN_TIME` 60 s,
    /// `YELLOW_TIME` 3 s, `RED_TIME` 2 s, and a 3 s passage time.
    fn default() -> Self {
        Timings {
            min_green: Duration::from_secs(10),
            max_green: Duration::from_secs(60),
            passage: Duration::from_secs(3),
            yellow: Duration::from_secs(3),
            red_clearance: Duration::from_secs(2),
        }
    }
}

/// The accepted range of one timing field, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingRange {
    /// Field name as in [`Timings`].
    pub field: &'static str,
    /// Smallest accepted value.
    pub min: Duration,
    /// Largest accepted value.
    pub max: Duration,
}

const fn range(field: &'static str, min_ms: u64, max_ms: u64) -> TimingRange {
    TimingRange {
        field,
        min: Duration::from_millis(min_ms),
        max: Duration::from_millis(max_ms),
    }
}

/// Accepted ranges. These are the signal core's limits (wide enough for the SUMO evaluation's
/// 5 s minimum green and zero all-red); the daemon's configuration may be stricter.
pub const TIMING_RANGES: [TimingRange; 5] = [
    range("min_green", 1_000, 300_000),
    range("max_green", 2_000, 600_000),
    range("passage", 0, 30_000),
    range("yellow", 1_000, 10_000),
    range("red_clearance", 0, 10_000),
];

/// A timing value the controller will not run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// A field is outside its accepted range.
    #[error("{field} is {}; accepted range is {} to {}", Secs(*value), Secs(*min), Secs(*max))]
    OutOfRange {
        /// Field name as in [`Timings`].
        field: &'static str,
        /// The rejected value.
        value: Duration,
        /// Smallest accepted value.
        min: Duration,
        /// Largest accepted value.
        max: Duration,
    },
    /// Minimum green is not below maximum green.
    #[error(
        "min_green ({}) must be less than max_green ({})",
        Secs(*min_green),
        Secs(*max_green)
    )]
    MinGreenNotBelowMaxGreen {
        /// The configured minimum green.
        min_green: Duration,
        /// The configured maximum green.
        max_green: Duration,
    },
}

impl Timings {
    fn field(&self, name: &str) -> Duration {
        match name {
            "min_green" => self.min_green,
            "max_green" => self.max_green,
            "passage" => self.passage,
            "yellow" => self.yellow,
            _ => self.red_clearance,
        }
    }

    /// Every problem with these timings (empty when they are usable), so a configuration
    /// loader can report them all at once.
    pub fn problems(&self) -> Vec<TimingError> {
        let mut out = Vec::new();
        for r in TIMING_RANGES {
            let value = self.field(r.field);
            if value < r.min || value > r.max {
                out.push(TimingError::OutOfRange {
                    field: r.field,
                    value,
                    min: r.min,
                    max: r.max,
                });
            }
        }
        if self.min_green >= self.max_green {
            out.push(TimingError::MinGreenNotBelowMaxGreen {
                min_green: self.min_green,
                max_green: self.max_green,
            });
        }
        out
    }

    /// The first problem with these timings, if any.
    pub fn validate(&self) -> Result<(), TimingError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_original_configuration_and_valid() {
        let t = Timings::default();
        assert_eq!(t.min_green, Duration::from_secs(10));
        assert_eq!(t.max_green, Duration::from_secs(60));
        assert_eq!(t.yellow, Duration::from_secs(3));
        assert_eq!(t.red_clearance, Duration::from_secs(2));
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn sumo_timings_with_no_all_red_are_accepted() {
        let t = Timings {
            min_green: Duration::from_secs(5),
            yellow: Duration::from_secs(3),
            red_clearance: Duration::ZERO,
            ..Timings::default()
        };
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn out_of_range_error_names_field_value_and_range() {
        let t = Timings {
            yellow: Duration::from_millis(500),
            ..Timings::default()
        };
        let e = t.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "yellow is 0.5 s; accepted range is 1 s to 10 s"
        );
    }

    #[test]
    fn min_not_below_max_is_an_error_and_all_problems_are_listed() {
        let t = Timings {
            min_green: Duration::from_secs(30),
            max_green: Duration::from_secs(20),
            red_clearance: Duration::from_secs(11),
            ..Timings::default()
        };
        let p = t.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].to_string().starts_with("red_clearance is 11 s"));
        assert_eq!(
            p[1].to_string(),
            "min_green (30 s) must be less than max_green (20 s)"
        );
    }
}
