//! Time for the run loop, injected so tests can run hours of controller time in milliseconds.
//!
//! [`SystemClock`] is the real one; `ManualClock` (tests) advances only when the code under
//! test sleeps, so a loop that ticks at 10 Hz for an hour finishes as fast as it can compute.

use std::time::{Duration, Instant};

use super::shutdown::Shutdown;

/// A source of monotonic time since the clock started.
pub trait Clock: Send + Sync {
    /// Monotonic time since the clock was created.
    fn elapsed(&self) -> Duration;
    /// Sleeps until `elapsed() >= deadline` or shutdown is requested; true if shutdown was.
    fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> bool;
    /// Whether time only moves when the loop sleeps (simulated time): then the loop waits for
    /// its workers instead of leaving them behind, and a run is the same every time.
    fn is_simulated(&self) -> bool {
        false
    }
}

pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> bool {
        let now = self.elapsed();
        if deadline > now {
            shutdown.wait_timeout(deadline - now)
        } else {
            shutdown.is_requested()
        }
    }
}

pub use manual::ManualClock;

mod manual {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Clock, Shutdown};

    /// A clock that jumps to each deadline at once: simulated time for tests and for
    /// `semaforo run --fast` (synthetic scenes and files, as fast as the machine computes).
    #[derive(Clone, Default)]
    pub struct ManualClock {
        nanos: Arc<AtomicU64>,
    }

    impl Clock for ManualClock {
        fn elapsed(&self) -> Duration {
            Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
        }

        fn sleep_until(&self, deadline: Duration, shutdown: &Shutdown) -> bool {
            self.nanos
                .fetch_max(deadline.as_nanos() as u64, Ordering::SeqCst);
            shutdown.is_requested()
        }

        fn is_simulated(&self) -> bool {
            true
        }
    }

    #[cfg(test)]
    #[test]
    fn manual_clock_jumps_to_deadlines_and_never_goes_back() {
        let clock = ManualClock::default();
        let shutdown = Shutdown::new();
        assert!(!clock.sleep_until(Duration::from_secs(3600), &shutdown));
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        clock.sleep_until(Duration::from_secs(10), &shutdown);
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
    }
}
