//! `SignalTime`: the controller's notion of "now", always supplied by the caller.
//!
//! The crate never reads a clock. The daemon passes a monotonic clock reading, the SUMO bridge
//! passes simulation time and tests pass whatever they like, so hours of signal operation run in
//! milliseconds. Intervals are timed in whole milliseconds; hi-res events are logged to 0.1 s.

use std::fmt;
use std::time::Duration;

/// A point in signal time: milliseconds since an origin the caller chooses (normally the moment
/// the controller started). Only differences matter to the controller; the hi-res event log maps
/// it to wall-clock time through a [`LogEpoch`](crate::LogEpoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignalTime(u64);

impl SignalTime {
    /// The origin.
    pub const ZERO: SignalTime = SignalTime(0);

    /// `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        SignalTime(ms)
    }

    /// `secs` seconds after the origin, rounded to the nearest millisecond. Negative or NaN
    /// values give the origin, so a bad clock reading cannot panic the controller.
    pub fn from_secs_f64(secs: f64) -> Self {
        if secs.is_finite() && secs > 0.0 {
            SignalTime((secs * 1000.0).round().min(u64::MAX as f64) as u64)
        } else {
            SignalTime::ZERO
        }
    }

    /// Milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Seconds since the origin.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SignalTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self` moved forward by `d` (whole milliseconds), saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> SignalTime {
        SignalTime(self.0.saturating_add(duration_ms(d)))
    }
}

impl fmt::Display for SignalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} s", self.0 / 1000, self.0 % 1000)
    }
}

/// A duration in whole milliseconds, saturating instead of overflowing.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Formats a duration as seconds with up to three decimals, trailing zeros dropped ("2.5 s").
pub(crate) struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = duration_ms(self.0);
        let whole = ms / 1000;
        let frac = ms % 1000;
        if frac == 0 {
            write!(f, "{whole} s")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{whole}.{} s", s.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_secs_rounds_and_clamps_bad_readings() {
        assert_eq!(SignalTime::from_secs_f64(1.2345).as_millis(), 1235);
        assert_eq!(SignalTime::from_secs_f64(-3.0), SignalTime::ZERO);
        assert_eq!(SignalTime::from_secs_f64(f64::NAN), SignalTime::ZERO);
    }

    #[test]
    fn since_saturates_when_time_runs_backwards() {
        let a = SignalTime::from_millis(500);
        let b = SignalTime::from_millis(200);
        assert_eq!(a.saturating_since(b), Duration::from_millis(300));
        assert_eq!(b.saturating_since(a), Duration::ZERO);
    }

    #[test]
    fn secs_display_drops_trailing_zeros() {
        assert_eq!(Secs(Duration::from_millis(2500)).to_string(), "2.5 s");
        assert_eq!(Secs(Duration::from_secs(10)).to_string(), "10 s");
        assert_eq!(Secs(Duration::from_millis(100)).to_string(), "0.1 s");
    }
}
