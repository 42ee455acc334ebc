//! `actuated`: NEMA-style fully actuated control, gap-out and max-out.
//!
//! After minimum green, each detection on the green phase (a vehicle in its stop-line zone or
//! crossing its count line) extends the green by the passage time; when no vehicle has been seen
//! for the passage time the green gaps out. The state machine's max-out ends it at maximum green
//! if vehicles keep coming. Phases are served in cycle order, skipping those without a call.

use super::{Policy, PolicyView, Request};
use crate::intersection::PhaseId;
use crate::time::duration_ms;

/// Fully actuated control; its only parameter is the timing plan's passage time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Actuated;

impl Policy for Actuated {
    fn name(&self) -> &'static str {
        "actuated"
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        let passage = duration_ms(view.timings.passage);
        match view.since_activity(view.phase) {
            Some(gap) if duration_ms(gap) < passage => Request::Hold,
            _ => Request::GapOut,
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        view.next_in_cycle().unwrap_or(view.phase)
    }
}
