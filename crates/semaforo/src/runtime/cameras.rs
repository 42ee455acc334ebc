//! The cameras of the run loop: one per approach, each behind a [`ManagedCamera`] guard so the
//! resource tracker sees it open while it runs and released after.
//!
//! A camera that cannot be opened is logged and left out; the others keep running (the
//! controller falls back to its fixed-time plan for an approach without detection).

use std::time::Duration;

use semaforo_resources::{FrameStore, ManagedCamera, ResourceTracker, SaveOutcome};
use semaforo_signal::HeadState;
use semaforo_vision::{AspectFeed, Requested, Source};

use super::signal::aspect_of;
use super::timings::StageTimings;
use crate::config::load::redact_credentials;
use crate::config::Config;

struct Slot {
    approach: String,
    camera: ManagedCamera<Source>,
    /// Set for synthetic scenes: how the signal's aspect reaches the scene.
    feed: Option<AspectFeed>,
    period: Duration,
    next_due: Duration,
    frames: u64,
}

pub struct Cameras {
    slots: Vec<Slot>,
    save_interval: u64,
}

/// What one poll produced.
#[derive(Debug, Default)]
pub struct Polled {
    pub frames: u64,
    pub saved: u64,
}

impl Cameras {
    pub fn open(config: &Config, tracker: &ResourceTracker, now: Duration) -> Self {
        let c = &config.cameras;
        let mut slots = Vec::new();
        let requested = Requested {
            width: c.width,
            height: c.height,
            fps: c.fps,
        };
        let mut failed = 0;
        for (approach, source) in &c.sources {
            let shown = redact_credentials(source);
            let label = format!("camera {approach} ({shown})");
            let mut feed = None;
            let source = with_scene_defaults(source, slots.len() + failed);
            let opened = ManagedCamera::open(tracker, label, || {
                let opened = Source::open(&source, requested)?;
                feed = opened.aspect_feed();
                Ok(opened)
            });
            match opened {
                Ok(camera) => {
                    tracing::info!(
                        "camera {approach}: {shown} open, {}x{} at {} fps",
                        c.width,
                        c.height,
                        c.fps
                    );
                    slots.push(Slot {
                        approach: approach.clone(),
                        camera,
                        feed,
                        period: Duration::from_secs_f64(1.0 / c.fps),
                        next_due: now,
                        frames: 0,
                    });
                }
                // One bad camera does not stop the others.
                Err(e) => {
                    failed += 1;
                    tracing::error!("{e}; approach {approach} has no camera");
                }
            }
        }
        Cameras {
            slots,
            save_interval: config.frames.save_interval,
        }
    }

    /// Shows each approach's head to its camera's scene (synthetic scenes obey it; real
    /// cameras watch real signals).
    pub fn show(&self, groups: &[String], heads: &[HeadState]) {
        for slot in &self.slots {
            let Some(feed) = &slot.feed else { continue };
            if let Some(i) = groups.iter().position(|g| *g == slot.approach) {
                feed.set(aspect_of(heads[i]));
            }
        }
    }

    /// Frames read per camera so far, for the status line's frame rates.
    pub fn frame_counts(&self) -> Vec<(&str, u64)> {
        self.slots
            .iter()
            .map(|s| (s.approach.as_str(), s.frames))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Reads every frame that is due by `now` (a camera faster than the tick gives several
    /// per tick), and saves every `save_interval`th frame.
    pub fn poll(
        &mut self,
        now: Duration,
        store: Option<&FrameStore>,
        timings: &mut StageTimings,
    ) -> Polled {
        let mut polled = Polled::default();
        for slot in &mut self.slots {
            let mut read_this_tick = 0;
            while now >= slot.next_due {
                if read_this_tick == MAX_FRAMES_PER_POLL {
                    // Fell behind (a stalled loop): skip ahead rather than burst.
                    slot.next_due = now + slot.period;
                    break;
                }
                slot.next_due += slot.period;
                read_this_tick += 1;
                if slot.read_one(self.save_interval, store, timings) {
                    polled.saved += 1;
                }
                polled.frames += 1;
            }
        }
        polled
    }
}

/// Gives each approach's synthetic scene its own seed and demand (A busier than B, so the
/// default intersection has something to decide); parameters the user wrote come after these
/// and so win.
fn with_scene_defaults(source: &str, index: usize) -> String {
    match source.trim().strip_prefix("synthetic:") {
        Some(params) => {
            let rate = if index == 0 { 14 } else { 7 };
            format!("synthetic:seed={},rate={rate},{params}", index + 1)
        }
        None => source.to_string(),
    }
}

/// More frames than this in one poll means the loop stalled; the rest are skipped.
const MAX_FRAMES_PER_POLL: u32 = 16;

impl Slot {
    /// Reads one frame and saves it if it is the `save_interval`th; true if one was saved.
    fn read_one(
        &mut self,
        save_interval: u64,
        store: Option<&FrameStore>,
        timings: &mut StageTimings,
    ) -> bool {
        let frame = match timings.time("camera_read", || self.camera.read()) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!("camera {}: {e}", self.approach);
                return false;
            }
        };
        self.frames += 1;
        let Some(store) = store else { return false };
        if self.frames % save_interval != 0 {
            return false;
        }
        let image = match frame.image() {
            Ok(image) => image,
            Err(e) => {
                tracing::warn!("camera {}: frame not saved: {e}", self.approach);
                return false;
            }
        };
        let cycle = self.frames / save_interval;
        match timings.time("frame_save", || {
            store.save_current(image, &self.approach, cycle)
        }) {
            Ok(SaveOutcome::Saved { path, .. }) => {
                tracing::debug!("camera {}: saved {}", self.approach, path.display());
                true
            }
            Ok(SaveOutcome::Skipped(why)) => {
                tracing::warn!("camera {}: frame not saved: {why}", self.approach);
                false
            }
            Err(e) => {
                tracing::warn!("camera {}: frame not saved: {e}", self.approach);
                false
            }
        }
    }
}
