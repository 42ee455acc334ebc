//! `compare`: the original rule ("the approach with more cars gets green") made safe.
//!
//! The original flipped a variable every cycle: more cars wins, ties flip. Here the comparison
//! only *requests* a change once minimum green has run, and it needs a clear majority: the
//! waiting side's busiest approach must exceed the green side's busiest approach by at least
//! `margin` vehicles (hysteresis, so 4 against 5 does not thrash). A green whose approaches are
//! empty ends as soon as anyone else waits. Among waiting phases the one with the busiest
//! approach goes next; ties go to the one that has waited longest. The maximum wait is enforced
//! by the state machine's max-out, whatever the counts.

use super::parameters::{range_of, ParameterError};
use super::{Policy, PolicyKind, PolicyView, Request};
use crate::decision::GreenReason;
use crate::intersection::PhaseId;

/// The compare policy's parameters.
///
/// The default margin is large on purpose. On a point-queue model of the two-approach
/// intersection near saturation (`examples/queue_model.rs`: 0.2 veh/s per approach, saturation
/// flow 0.5 veh/s, 5 s minimum green, 3 s yellow, no all-red), a margin of 2 switched every few
/// seconds as the served queue shrank below the growing one and mean delay ran away (over
/// 1,800 s); 6 gave 42 s, 8 gave 24 s (actuated: 28 s). Light traffic is unaffected: an empty
/// green ends as soon as anyone else waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    /// How many more vehicles the waiting side's busiest approach needs than the green's before
    /// the green is forced off. Vehicles, 0 to 100; default 8.
    pub margin: u32,
}

impl Compare {
    /// Every parameter outside its range in [`POLICY_PARAMETERS`](super::POLICY_PARAMETERS).
    pub fn problems(&self) -> Vec<ParameterError> {
        range_of(PolicyKind::Compare, "margin")
            .check(f64::from(self.margin))
            .err()
            .into_iter()
            .collect()
    }
}

impl Default for Compare {
    /// A margin of 8 vehicles.
    fn default() -> Self {
        Compare { margin: 8 }
    }
}

impl Policy for Compare {
    fn name(&self) -> &'static str {
        "compare"
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        let current = view.busiest_approach(view.phase);
        if current == 0 && view.arrivals(view.phase) == 0 {
            return Request::GapOut;
        }
        let waiting = view
            .candidates
            .iter()
            .map(|p| view.busiest_approach(p))
            .max()
            .unwrap_or(0);
        if u64::from(waiting) >= u64::from(current) + u64::from(self.margin) {
            Request::ForceOff
        } else {
            Request::Hold
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        view.best_candidate_by(|p| u64::from(view.busiest_approach(p)))
            .unwrap_or(view.phase)
    }

    fn reason(&self, view: &PolicyView<'_>, chosen: PhaseId) -> GreenReason {
        let against = view.best_other_by(chosen, |p| u64::from(view.busiest_approach(p)));
        GreenReason::Compare {
            queue: view.busiest_approach(chosen),
            against: u32::try_from(against).unwrap_or(u32::MAX),
            margin: self.margin,
        }
    }
}
