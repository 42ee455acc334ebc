//! `DetectorReading`: what the detection stage reports for one signal group each tick.

/// One signal group's detection since the previous tick: the camera zone's queue count, the
/// vehicles that crossed its count line, and whether the detection is trustworthy.
///
/// An unhealthy reading is never mistaken for "no cars" (the original's dead camera counted as
/// zero): the group is placed on recall, and if every group is unhealthy the controller runs its
/// fixed-time fail-safe plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetectorReading {
    /// Vehicles present in the stop-line zone now (stopped or moving).
    pub queue: u32,
    /// Vehicles that crossed the count line since the previous tick.
    pub arrivals: u32,
    /// Whether the detector for this group is working. `false` (the `Default`) means the counts
    /// are meaningless.
    pub healthy: bool,
}

impl DetectorReading {
    /// A failed detector: no usable counts.
    pub const FAILED: DetectorReading = DetectorReading {
        queue: 0,
        arrivals: 0,
        healthy: false,
    };

    /// A healthy reading.
    pub const fn new(queue: u32, arrivals: u32) -> Self {
        DetectorReading {
            queue,
            arrivals,
            healthy: true,
        }
    }

    /// Whether a healthy detector sees any vehicle (present or arriving).
    pub fn is_active(self) -> bool {
        self.healthy && (self.queue > 0 || self.arrivals > 0)
    }
}
