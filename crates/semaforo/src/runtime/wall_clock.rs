//! The wall clock against the loop's monotonic clock: signal timing runs on the monotonic
//! clock, and what is stamped for people and peers (messages, `events.csv`, the API) is the
//! wall-clock time of the loop's zero plus loop time. When the wall clock is stepped (an NTP
//! correction after a long time offline, an operator setting the date, a board without a
//! real-time clock booting in 1970 and then syncing), the zero is moved so that the stamps
//! follow the wall clock again; a step of [`STEP`] or more is logged. Signal timing does not
//! notice.

use std::time::{Duration, SystemTime};

/// A difference this large between the wall clock and the stamps is a step, and logged.
pub const STEP: Duration = Duration::from_secs(2);
/// Smaller differences (NTP slewing the clock over weeks) move the zero without a word once
/// they pass this.
pub const DRIFT: Duration = Duration::from_millis(100);

/// How far the wall clock moved from where the stamps expected it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Forward(Duration),
    Back(Duration),
}

/// Watches the wall clock against `zero` + loop time.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    zero: SystemTime,
}

impl WallClock {
    /// `zero` is the wall-clock time at loop time zero.
    pub fn new(zero: SystemTime) -> Self {
        WallClock { zero }
    }

    /// The wall-clock time at loop time zero: stamps are this plus loop time.
    pub fn zero(&self) -> SystemTime {
        self.zero
    }

    /// Compares the wall clock `wall` read at loop time `now` with the stamps; when they
    /// differ by [`DRIFT`] or more the zero moves to match, and a move of [`STEP`] or more is
    /// returned (to be logged).
    pub fn check(&mut self, now: Duration, wall: SystemTime) -> Option<Moved> {
        let expected = self.zero + now;
        let moved = match wall.duration_since(expected) {
            Ok(ahead) => Moved::Forward(ahead),
            Err(behind) => Moved::Back(behind.duration()),
        };
        let by = match moved {
            Moved::Forward(d) | Moved::Back(d) => d,
        };
        if by < DRIFT {
            return None;
        }
        self.zero = match moved {
            Moved::Forward(d) => self.zero + d,
            Moved::Back(d) => self.zero - d,
        };
        (by >= STEP).then_some(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_back_and_forward_move_the_stamps_and_are_reported_and_drift_is_absorbed() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut clock = WallClock::new(start);
        let s = Duration::from_secs;
        assert_eq!(clock.check(s(10), start + s(10)), None);
        // Slewed by 150 ms over a long time: absorbed quietly.
        assert_eq!(
            clock.check(s(1000), start + s(1000) + Duration::from_millis(150)),
            None
        );
        assert_eq!(clock.zero(), start + Duration::from_millis(150));
        // Back an hour.
        let wall = start + s(1010) - s(3600);
        assert_eq!(
            clock.check(s(1010), wall),
            Some(Moved::Back(s(3600) + Duration::from_millis(150)))
        );
        assert_eq!(clock.zero() + s(1010), wall, "stamps follow the wall clock");
        assert_eq!(clock.check(s(1011), wall + s(1)), None);
        // Forward a day.
        let wall = wall + s(2) + s(86_400);
        assert_eq!(clock.check(s(1012), wall), Some(Moved::Forward(s(86_400))));
        assert_eq!(clock.zero() + s(1012), wall);
    }
}
