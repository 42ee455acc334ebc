//! `max-pressure`: serve the phase with the largest queue pressure (Varaiya), with hysteresis.
//!
//! A phase's pressure is the number of vehicles queued on its groups (an isolated intersection
//! has no downstream queue to subtract, so Varaiya's `upstream - downstream` weight is the
//! queue). The textbook rule switches to the highest-pressure phase at every decision; near
//! saturation that thrashes, losing a yellow and red clearance on every switch. So, once minimum
//! green has run, the green phase keeps its green until either
//!
//! - its queue has cleared: no vehicle seen on it for `empty_gap` (logged as a gap out), or
//! - its discharge has stalled: vehicles crossed the stop line during this green, but none has
//!   for `stall_gap` although the zone still holds vehicles (logged as a gap out). A zone
//!   counts moving vehicles too, so without this a long zone with a steady trickle, or a lane
//!   blocked by a vehicle waiting to turn, held the green while nothing crossed. In SUMO
//!   (`semaforo sim`, BENCHMARKS.md) this rule cut max-pressure's mean delay on the four-arm
//!   intersection by 10-40%. A zone that never discharges (no departure at all this green) is
//!   left to the other rules, so a detector that sees a standing queue cannot gap it out, or
//! - a waiting phase's pressure reaches `ratio` times the green phase's plus `margin` (logged as
//!   a force off). The threshold grows with the queue being served, so long queues are allowed
//!   long greens (few switches, little lost time) while a trickle cannot hold a long queue back.
//!
//! The next phase is the waiting phase of highest pressure; ties go to the one that has waited
//! longest. The state machine's max-out bounds every wait.
//!
//! Defaults (ratio 3, margin 3) come from a point-queue model (`examples/queue_model.rs`): near
//! saturation, ratio 1.5 / margin 2 lost twice the delay of 3 / 3 by switching while the green
//! queue was still discharging at saturation flow. A camera zone holds a limited number of
//! vehicles and also counts moving ones, so a green discharging a queue (several vehicles moving
//! through the zone) is rarely forced off by a full zone opposite, while a green serving a
//! trickle (zero or one vehicle in the zone) gives way to a handful of waiting vehicles.

use std::time::Duration;

use super::parameters::{range_of, ParameterError};
use super::{Policy, PolicyKind, PolicyView, Request};
use crate::decision::GreenReason;
use crate::intersection::PhaseId;
use crate::time::duration_ms;

/// The max-pressure policy's parameters (ranges and defaults also in
/// [`POLICY_PARAMETERS`](super::POLICY_PARAMETERS)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxPressure {
    /// A waiting phase forces the green off when its pressure is at least `ratio` x the green's
    /// pressure + `margin` (hysteresis). A ratio, 1 to 10; default 3.
    pub ratio: f64,
    /// See `ratio`. Vehicles, 0 to 100; default 3.
    pub margin: u32,
    /// The green gaps out when its detectors have seen no vehicle for this long (its queue has
    /// cleared). 0.1 s to 30 s; default 1 s.
    pub empty_gap: Duration,
    /// The green gaps out when, after vehicles have crossed the stop line during it, none has
    /// for this long (its discharge has stalled); `None`: never. 0.5 s to 60 s; default 3 s.
    pub stall_gap: Option<Duration>,
}

impl MaxPressure {
    /// Every parameter outside its range in [`POLICY_PARAMETERS`](super::POLICY_PARAMETERS).
    pub fn problems(&self) -> Vec<ParameterError> {
        let mut values = vec![
            ("ratio", self.ratio),
            ("margin", f64::from(self.margin)),
            ("empty_gap", self.empty_gap.as_secs_f64()),
        ];
        if let Some(stall) = self.stall_gap {
            values.push(("stall_gap", stall.as_secs_f64()));
        }
        values
            .into_iter()
            .filter_map(|(name, v)| range_of(PolicyKind::MaxPressure, name).check(v).err())
            .collect()
    }
}

impl Default for MaxPressure {
    /// `ratio` 3, `margin` 3 vehicles, `empty_gap` 1 s, `stall_gap` 3 s.
    fn default() -> Self {
        MaxPressure {
            ratio: 3.0,
            margin: 3,
            empty_gap: Duration::from_secs(1),
            stall_gap: Some(Duration::from_secs(3)),
        }
    }
}

impl Policy for MaxPressure {
    fn name(&self) -> &'static str {
        "max-pressure"
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        let cleared = match view.since_activity(view.phase) {
            Some(gap) => duration_ms(gap) >= duration_ms(self.empty_gap),
            None => true,
        };
        if cleared {
            return Request::GapOut;
        }
        // A stalled discharge: vehicles crossed the stop line during this green but none has
        // for `stall_gap`, though the zone is not empty (a turning vehicle blocks the lane, or
        // only a trickle is left). The green is not being used.
        if let (Some(stall), Some(last)) = (self.stall_gap, view.last_departure(view.phase)) {
            if last >= view.green_since
                && duration_ms(view.now.saturating_since(last)) >= duration_ms(stall)
            {
                return Request::GapOut;
            }
        }
        let current = view.queue(view.phase) as f64;
        let waiting = view
            .candidates
            .iter()
            .map(|p| view.queue(p))
            .max()
            .unwrap_or(0) as f64;
        let ratio = if self.ratio.is_finite() {
            self.ratio.max(0.0)
        } else {
            1.0
        };
        if waiting >= ratio * current + f64::from(self.margin) {
            Request::ForceOff
        } else {
            Request::Hold
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        view.best_candidate_by(|p| view.queue(p))
            .unwrap_or(view.phase)
    }

    fn reason(&self, view: &PolicyView<'_>, chosen: PhaseId) -> GreenReason {
        GreenReason::MaxPressure {
            pressure: view.queue(chosen),
            against: view.best_other_by(chosen, |p| view.queue(p)),
        }
    }
}
