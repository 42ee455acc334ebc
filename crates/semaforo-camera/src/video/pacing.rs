//! Playing a file at its own frame rate, so that a pipeline fed from a recording sees time pass
//! as it would with a live camera.
//!
//! Each frame has a presentation time in the file (from `stts`/`ctts`). Paced at the real
//! rate, `read()` waits until that time has passed since the source was opened (plus one file
//! duration per completed loop). A reader that falls behind is not made to wait and no frame
//! is skipped: a file hands out every frame; dropping stale frames is the job of the ring
//! between a source's thread and its consumers. Time comes from a [`PlaybackClock`], so tests
//! drive a fake one instead of sleeping.

use std::fmt;
use std::time::{Duration, Instant};

/// A monotonic clock that can wait. [`SystemPlaybackClock`] in production, a fake in tests.
pub trait PlaybackClock: Send + fmt::Debug {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemPlaybackClock {
    origin: Instant,
}

impl SystemPlaybackClock {
    pub fn new() -> Self {
        SystemPlaybackClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemPlaybackClock {
    fn default() -> Self {
        Self::new()
    }
}

impl PlaybackClock for SystemPlaybackClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Whether reads follow the file's frame rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Each frame is returned no earlier than its presentation time after open (`pace=real`).
    #[default]
    RealTime,
    /// Frames are returned as fast as they decode, for offline work (`pace=fast`).
    AsFastAsPossible,
}

/// Decides how long to wait before handing out a frame.
#[derive(Debug)]
pub struct Pacer {
    pacing: Pacing,
    clock: Box<dyn PlaybackClock>,
    opened_at: Duration,
}

impl Pacer {
    /// Starts the playback timeline now.
    pub fn new(pacing: Pacing, clock: Box<dyn PlaybackClock>) -> Self {
        let opened_at = clock.now();
        Pacer {
            pacing,
            clock,
            opened_at,
        }
    }

    /// Starts the timeline again from now (after a rewind).
    pub fn restart(&mut self) {
        self.opened_at = self.clock.now();
    }

    /// Waits until `presentation` (time since the start of playback) has been reached, when
    /// paced; returns how long it waited.
    pub fn wait_for(&self, presentation: Duration) -> Duration {
        if self.pacing == Pacing::AsFastAsPossible {
            return Duration::ZERO;
        }
        let elapsed = self.clock.now().saturating_sub(self.opened_at);
        let wait = presentation.saturating_sub(elapsed);
        if !wait.is_zero() {
            self.clock.sleep(wait);
        }
        wait
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A clock that only moves when told to, or when something sleeps on it.
    #[derive(Debug, Clone, Default)]
    pub struct FakeClock {
        pub inner: Arc<Mutex<FakeTime>>,
    }

    #[derive(Debug, Default)]
    pub struct FakeTime {
        pub now: Duration,
        pub sleeps: Vec<Duration>,
    }

    impl FakeClock {
        pub fn advance(&self, by: Duration) {
            self.inner.lock().unwrap().now += by;
        }
        pub fn now(&self) -> Duration {
            self.inner.lock().unwrap().now
        }
        pub fn sleeps(&self) -> Vec<Duration> {
            self.inner.lock().unwrap().sleeps.clone()
        }
    }

    impl PlaybackClock for FakeClock {
        fn now(&self) -> Duration {
            self.inner.lock().unwrap().now
        }
        fn sleep(&self, duration: Duration) {
            let mut t = self.inner.lock().unwrap();
            t.now += duration;
            t.sleeps.push(duration);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeClock;
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_paced_read_waits_until_the_frame_is_due_measured_from_open() {
        let clock = FakeClock::default();
        clock.advance(1000 * MS);
        let pacer = Pacer::new(Pacing::RealTime, Box::new(clock.clone()));
        assert_eq!(pacer.wait_for(Duration::ZERO), Duration::ZERO);
        assert_eq!(pacer.wait_for(40 * MS), 40 * MS);
        assert_eq!(clock.now(), 1040 * MS);
        // The consumer spends 25 ms; the next frame (due at 80 ms) waits only the rest.
        clock.advance(25 * MS);
        assert_eq!(pacer.wait_for(80 * MS), 15 * MS);
    }

    #[test]
    fn a_reader_behind_schedule_is_not_made_to_wait() {
        let clock = FakeClock::default();
        let pacer = Pacer::new(Pacing::RealTime, Box::new(clock.clone()));
        clock.advance(500 * MS);
        assert_eq!(pacer.wait_for(40 * MS), Duration::ZERO);
        assert!(clock.sleeps().is_empty());
    }

    #[test]
    fn fast_pacing_never_waits() {
        let clock = FakeClock::default();
        let pacer = Pacer::new(Pacing::AsFastAsPossible, Box::new(clock.clone()));
        assert_eq!(pacer.wait_for(Duration::from_secs(10)), Duration::ZERO);
        assert!(clock.sleeps().is_empty());
    }
}
