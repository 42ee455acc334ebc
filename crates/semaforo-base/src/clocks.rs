//! The time every part of semaforo reads, injected so that tests can run hours of controller
//! time in milliseconds and check backoffs and pacing without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::{Shutdown, Wake};

/// Monotonic and wall-clock time, and a way to wait for it.
pub trait Clocks: Send + Sync + fmt::Debug {
    /// Monotonic time since this clock's origin (its creation, for the real one).
    fn monotonic(&self) -> Duration;

    /// The wall-clock time, for stamping what is written and sent.
    fn realtime(&self) -> SystemTime;

    /// Waits until [`monotonic`](Clocks::monotonic) reaches `deadline`, or until `shutdown` is
    /// requested, whichever comes first.
    fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> Wake;

    /// Waits `duration` from now, or until `shutdown` is requested.
    fn sleep(&self, duration: Duration, shutdown: &Shutdown) -> Wake {
        self.sleep_until(self.monotonic().saturating_add(duration), shutdown)
    }

    /// Whether time moves only when someone sleeps (simulated time): then a loop waits for its
    /// workers instead of leaving them behind, and a run is the same every time.
    fn is_simulated(&self) -> bool {
        false
    }
}

/// The machine's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClocks {
    origin: Instant,
}

impl SystemClocks {
    pub fn new() -> Self {
        SystemClocks {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClocks {
    fn default() -> Self {
        Self::new()
    }
}

impl Clocks for SystemClocks {
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn realtime(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> Wake {
        let now = self.monotonic();
        if deadline > now {
            shutdown.wait_timeout(deadline - now)
        } else if shutdown.is_requested() {
            Wake::Shutdown
        } else {
            Wake::Deadline
        }
    }
}

/// Simulated time: it starts at zero and jumps to each deadline when someone sleeps, never
/// backwards. Its wall clock is the real time at its creation plus the simulated time, so what
/// a simulated run stamps reads as a plausible day. Clones share one timeline.
#[derive(Debug, Clone)]
pub struct SimulatedClocks {
    nanos: Arc<AtomicU64>,
    wall_origin: SystemTime,
}

impl SimulatedClocks {
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A timeline whose wall clock reads `wall_origin` at simulated time zero (deterministic
    /// stamps for tests).
    pub fn starting_at(wall_origin: SystemTime) -> Self {
        SimulatedClocks {
            nanos: Arc::new(AtomicU64::new(0)),
            wall_origin,
        }
    }

    /// Moves time forward by `by` without anyone sleeping.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(nanos(by), Ordering::SeqCst);
    }
}

impl Default for SimulatedClocks {
    fn default() -> Self {
        Self::new()
    }
}

/// Durations as nanoseconds, saturating (u64 nanoseconds last 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clocks for SimulatedClocks {
    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn realtime(&self) -> SystemTime {
        self.wall_origin + self.monotonic()
    }

    fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> Wake {
        if shutdown.is_requested() {
            return Wake::Shutdown;
        }
        self.nanos.fetch_max(nanos(deadline), Ordering::SeqCst);
        Wake::Deadline
    }

    fn is_simulated(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_time_jumps_to_deadlines_and_never_goes_back() {
        let clocks = SimulatedClocks::starting_at(SystemTime::UNIX_EPOCH);
        let shutdown = Shutdown::new();
        assert_eq!(
            clocks.sleep_until(Duration::from_secs(3600), &shutdown),
            Wake::Deadline
        );
        assert_eq!(clocks.monotonic(), Duration::from_secs(3600));
        assert_eq!(
            clocks.sleep_until(Duration::from_secs(10), &shutdown),
            Wake::Deadline
        );
        assert_eq!(clocks.monotonic(), Duration::from_secs(3600));
        assert_eq!(
            clocks.realtime(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(3600)
        );
        let _ = clocks.sleep(Duration::from_secs(5), &shutdown);
        assert_eq!(clocks.monotonic(), Duration::from_secs(3605));
    }

    #[test]
    fn a_simulated_sleep_after_a_shutdown_request_does_not_move_time() {
        let clocks = SimulatedClocks::new();
        let shutdown = Shutdown::new();
        shutdown.request("stop");
        assert_eq!(
            clocks.sleep_until(Duration::from_secs(60), &shutdown),
            Wake::Shutdown
        );
        assert_eq!(clocks.monotonic(), Duration::ZERO);
    }

    #[test]
    fn the_system_clock_wakes_on_shutdown_and_reports_past_deadlines_at_once() {
        let clocks = SystemClocks::new();
        let shutdown = Shutdown::new();
        assert_eq!(
            clocks.sleep_until(Duration::ZERO, &shutdown),
            Wake::Deadline
        );
        shutdown.request("stop");
        assert_eq!(
            clocks.sleep_until(Duration::from_secs(3600), &shutdown),
            Wake::Shutdown
        );
    }
}
