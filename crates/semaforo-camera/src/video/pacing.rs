//! Playing a file at its own frame rate, so that a pipeline fed from a recording sees time pass
//! as it would with a live camera.
//!
//! Each frame has a presentation time in the file (from `stts`/`ctts`). Paced at the real
//! rate, `read()` waits until that time has passed since the source was opened (plus one file
//! duration per completed loop). A reader that falls behind is not made to wait and no frame
//! is skipped: a file hands out every frame; dropping stale frames is the job of the ring
//! between a source's thread and its consumers. Time comes from a [`Clocks`], so tests drive
//! simulated time instead of sleeping.

use std::time::Duration;

use semaforo_base::{Clocks, Shutdown};

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
    clock: Box<dyn Clocks>,
    opened_at: Duration,
    /// Never raised: a paced read waits its frame's time out (a camera thread is stopped
    /// between reads, not inside one).
    no_stop: Shutdown,
}

impl Pacer {
    /// Starts the playback timeline now.
    pub fn new(pacing: Pacing, clock: Box<dyn Clocks>) -> Self {
        let opened_at = clock.monotonic();
        Pacer {
            pacing,
            clock,
            opened_at,
            no_stop: Shutdown::new(),
        }
    }

    /// Starts the timeline again from now (after a rewind).
    pub fn restart(&mut self) {
        self.opened_at = self.clock.monotonic();
    }

    /// Waits until `presentation` (time since the start of playback) has been reached, when
    /// paced; returns how long it waited.
    pub fn wait_for(&self, presentation: Duration) -> Duration {
        if self.pacing == Pacing::AsFastAsPossible {
            return Duration::ZERO;
        }
        let elapsed = self.clock.monotonic().saturating_sub(self.opened_at);
        let wait = presentation.saturating_sub(elapsed);
        if !wait.is_zero() {
            let _ = self.clock.sleep(wait, &self.no_stop);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use semaforo_base::SimulatedClocks;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_paced_read_waits_until_the_frame_is_due_measured_from_open() {
        let clock = SimulatedClocks::new();
        clock.advance(1000 * MS);
        let pacer = Pacer::new(Pacing::RealTime, Box::new(clock.clone()));
        assert_eq!(pacer.wait_for(Duration::ZERO), Duration::ZERO);
        assert_eq!(pacer.wait_for(40 * MS), 40 * MS);
        assert_eq!(clock.monotonic(), 1040 * MS);
        // The consumer spends 25 ms; the next frame (due at 80 ms) waits only the rest.
        clock.advance(25 * MS);
        assert_eq!(pacer.wait_for(80 * MS), 15 * MS);
    }

    #[test]
    fn a_reader_behind_schedule_is_not_made_to_wait() {
        let clock = SimulatedClocks::new();
        let pacer = Pacer::new(Pacing::RealTime, Box::new(clock.clone()));
        clock.advance(500 * MS);
        assert_eq!(pacer.wait_for(40 * MS), Duration::ZERO);
        assert_eq!(clock.monotonic(), 500 * MS, "no sleep");
    }

    #[test]
    fn fast_pacing_never_waits() {
        let clock = SimulatedClocks::new();
        let pacer = Pacer::new(Pacing::AsFastAsPossible, Box::new(clock.clone()));
        assert_eq!(pacer.wait_for(Duration::from_secs(10)), Duration::ZERO);
        assert_eq!(clock.monotonic(), Duration::ZERO, "no sleep");
    }
}
