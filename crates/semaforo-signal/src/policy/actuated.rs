//! `actuated`: NEMA-style fully actuated control, gap-out and max-out.
//!
//! After minimum green, each detection on a green group (a vehicle in its stop-line zone or
//! crossing its count line) extends that group's green by its own passage time; the phase gaps
//! out when every one of its groups has gone its passage time without a vehicle (NEMA: a group
//! that is done first waits at the barrier for its concurrent groups). The state machine's
//! max-out ends it at maximum green if vehicles keep coming. Phases are served in cycle order,
//! skipping those without a call.

use super::{Policy, PolicyView, Request};
use crate::decision::GreenReason;
use crate::intersection::PhaseId;

/// Fully actuated control. It has no parameter of its own: each group's passage time (a
/// per-group timing, [`Timings::passage`](crate::Timings::passage)) is what it extends by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actuated;

impl Policy for Actuated {
    fn name(&self) -> &'static str {
        "actuated"
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        if view.gapped_out(view.phase) {
            Request::GapOut
        } else {
            Request::Hold
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        view.next_in_cycle().unwrap_or(view.phase)
    }

    fn reason(&self, _view: &PolicyView<'_>, _chosen: PhaseId) -> GreenReason {
        GreenReason::NextCall
    }
}
