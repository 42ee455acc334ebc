//! `actuated`: NEMA-style fully actuated control, gap-out and max-out.
//!
//! A NEMA actuated controller extends a green on detector *actuations*: each vehicle that
//! crosses a detector restarts the group's passage timer, and the phase gaps out when the timer
//! runs out. Here an actuation is a vehicle crossing the group's count line (an arrival) or
//! leaving its zone across the stop line (a departure, seen as the zone's count falling by more
//! than the vehicles that entered). A vehicle merely standing in the zone is not one: a stopped
//! queue that does not move (a left turn waiting for a gap, a lane blocked downstream) does not
//! hold the green, which an earlier version, extending on any vehicle present in the 60 m zone,
//! did until maximum green.
//!
//! - After minimum green, each actuation on a green group extends that group's green by its own
//!   passage time; the start of the green counts as an actuation, so a green that begins on a
//!   queue gives its first vehicle the passage time to move.
//! - A group whose zone is empty is done at once: a loop detector's passage time is there to
//!   carry a vehicle from the loop to the stop bar, and a camera zone that sees the whole
//!   approach shows directly that no vehicle is on the way (in the SUMO scenarios, waiting out
//!   the passage after the last vehicle left cost 12–26% more delay, 64% on the four-arm
//!   intersection near saturation).
//! - Gap reduction (NEMA's volume-density operation): once a conflicting call has waited
//!   [`Actuated::time_before_reduction`], the allowed gap shrinks linearly from the passage
//!   time to [`Actuated::minimum_gap`] over [`Actuated::time_to_reduce`], so a busy green that
//!   a waiting vehicle would otherwise watch run to maximum green ends at the first real gap
//!   in its traffic.
//! - The phase gaps out when every one of its groups is done (a group done first waits at the
//!   barrier for its concurrent groups).
//! - The state machine's max-out ends it at maximum green (timed from the first conflicting
//!   call) if vehicles keep coming.
//! - Only called phases are served, in cycle order: a phase none of whose groups has a call is
//!   skipped. Calls come from the detectors (locking memory), from a group's recall (`min`:
//!   called whenever not green; `max`: also held to its maximum green) and from a failed
//!   detector; the controller places them, this policy only picks among the called phases.

use std::time::Duration;

use super::parameters::range_of;
use super::{ParameterError, Policy, PolicyKind, PolicyView, Request};
use crate::decision::GreenReason;
use crate::intersection::PhaseId;
use crate::time::duration_ms;

/// Fully actuated control. Each group extends by its own passage time (a per-group timing,
/// [`Timings::passage`](crate::Timings::passage)); the fields time the gap reduction. The
/// defaults (5 s, 15 s, 1.5 s) are what measured best in `semaforo sim`'s shipped scenarios
/// (BENCHMARKS.md): shorter waits for the side that waits, without more delay overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actuated {
    /// How long a conflicting call waits (from the later of the call and the start of the
    /// green) before the allowed gap starts to shrink.
    pub time_before_reduction: Duration,
    /// Over how long the allowed gap then shrinks from the passage time to `minimum_gap`.
    pub time_to_reduce: Duration,
    /// The smallest allowed gap (a group whose passage time is shorter keeps its own).
    pub minimum_gap: Duration,
}

impl Default for Actuated {
    fn default() -> Self {
        Actuated {
            time_before_reduction: Duration::from_secs(5),
            time_to_reduce: Duration::from_secs(15),
            minimum_gap: Duration::from_millis(1500),
        }
    }
}

impl Actuated {
    /// Every parameter outside its range in
    /// [`POLICY_PARAMETERS`](super::POLICY_PARAMETERS).
    pub fn problems(&self) -> Vec<ParameterError> {
        [
            ("time_before_reduction", self.time_before_reduction),
            ("time_to_reduce", self.time_to_reduce),
            ("minimum_gap", self.minimum_gap),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            range_of(PolicyKind::Actuated, name)
                .check(value.as_secs_f64())
                .err()
        })
        .collect()
    }

    /// The allowed gap of a group whose passage time is `passage`, `waited` after the first
    /// conflicting call (`None`: no call waits).
    pub fn allowed_gap(&self, passage: Duration, waited: Option<Duration>) -> Duration {
        let Some(waited) = waited else {
            return passage;
        };
        if passage <= self.minimum_gap || waited <= self.time_before_reduction {
            return passage;
        }
        let into = duration_ms(waited - self.time_before_reduction);
        let over = duration_ms(self.time_to_reduce).max(1);
        let span = duration_ms(passage - self.minimum_gap);
        let cut = span * into.min(over) / over;
        passage - Duration::from_millis(cut)
    }
}

impl Policy for Actuated {
    fn name(&self) -> &'static str {
        "actuated"
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        let waited = view
            .conflicting_call_since()
            .map(|t| view.now.saturating_since(t));
        if view.gapped_out_within(view.phase, |passage| self.allowed_gap(passage, waited)) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::detection::DetectorReading;
    use crate::group_timing::{GroupTiming, GroupTimings};
    use crate::intersection::{Intersection, IntersectionSpec, PhaseSet, PhaseSpec};
    use crate::policy::GroupState;
    use crate::time::SignalTime;
    use crate::timing::Timings;

    fn at(s: f64) -> SignalTime {
        SignalTime::from_secs_f64(s)
    }

    /// A group seen by a healthy detector with `queue` vehicles in its zone, its last arrival
    /// and departure at the given times (seconds).
    fn group(queue: u32, arrival: Option<f64>, departure: Option<f64>) -> GroupState {
        GroupState {
            reading: DetectorReading::new(queue, 0),
            last_arrival: arrival.map(at),
            last_departure: departure.map(at),
            ..GroupState::default()
        }
    }

    /// Asks `Actuated` about phase 0 of `intersection` (green since 10 s) at `now` seconds,
    /// with a 3 s passage for every group and every other phase called.
    fn request(intersection: &Intersection, groups: &[GroupState], now: f64) -> Request {
        let timings = GroupTimings::uniform(
            intersection,
            GroupTiming::new(Timings {
                passage: Duration::from_secs(3),
                ..Timings::default()
            }),
        )
        .unwrap();
        let view = PolicyView {
            now: at(now),
            intersection,
            timings: &timings,
            phase: PhaseId(0),
            green_since: at(10.0),
            groups,
            candidates: PhaseSet(!1 & ((1 << intersection.phases().len()) - 1)),
        };
        Actuated::default().request(&view)
    }

    #[test]
    fn each_arrival_extends_the_green_by_the_passage_time_then_it_gaps_out() {
        let i = Intersection::two_approach();
        let idle = group(0, None, None);
        // Last arrival at 20 s: held until 23 s, gapped out from 23 s on.
        let a = group(1, Some(20.0), None);
        assert_eq!(request(&i, &[a, idle], 22.9), Request::Hold);
        assert_eq!(request(&i, &[a, idle], 23.0), Request::GapOut);
    }

    #[test]
    fn a_vehicle_leaving_across_the_stop_line_extends_the_green() {
        let i = Intersection::two_approach();
        let idle = group(0, None, None);
        // A queue discharging: the last vehicle left at 24 s, none arrived since 12 s.
        let a = group(4, Some(12.0), Some(24.0));
        assert_eq!(request(&i, &[a, idle], 26.5), Request::Hold);
        assert_eq!(request(&i, &[a, idle], 27.0), Request::GapOut);
    }

    #[test]
    fn a_queue_standing_in_the_zone_without_moving_does_not_hold_the_green() {
        let i = Intersection::two_approach();
        let idle = group(0, None, None);
        // Five vehicles in the zone all along (a blocked lane): nothing crosses a line, so the
        // green gaps out one passage time after it began, though the zone is occupied.
        let a = group(5, None, None);
        assert!(a.reading.is_active());
        assert_eq!(request(&i, &[a, idle], 12.9), Request::Hold);
        assert_eq!(request(&i, &[a, idle], 13.0), Request::GapOut);
    }

    #[test]
    fn actuations_before_the_green_began_do_not_extend_it() {
        let i = Intersection::two_approach();
        let idle = group(0, None, None);
        // Arrivals up to 9 s, while red; green from 10 s: gapped out at 13 s as with none.
        let a = group(2, Some(9.0), Some(9.5));
        assert_eq!(request(&i, &[a, idle], 12.0), Request::Hold);
        assert_eq!(request(&i, &[a, idle], 13.0), Request::GapOut);
    }

    #[test]
    fn a_group_whose_zone_is_empty_is_done_at_once() {
        let i = Intersection::two_approach();
        let idle = group(0, None, None);
        // The last vehicle arrived at 20 s and left at 22 s: nothing is left in the zone, so
        // the green ends without waiting for the passage time after either.
        let a = group(0, Some(20.0), Some(22.0));
        assert_eq!(request(&i, &[a, idle], 22.0), Request::GapOut);
    }

    #[test]
    fn a_phase_gaps_out_only_when_every_one_of_its_groups_has() {
        let i = Intersection::four_arm_two_phase();
        let idle = group(0, None, None);
        // N's last arrival at 15 s, S's at 20 s, both still approaching: N is done at 18 s but
        // waits for S (23 s).
        let n = group(1, Some(15.0), None);
        let s = group(1, Some(20.0), None);
        assert_eq!(request(&i, &[n, s, idle, idle], 19.0), Request::Hold);
        assert_eq!(request(&i, &[n, s, idle, idle], 23.0), Request::GapOut);
        // With S's zone empty, N alone holds the phase.
        let s = group(0, Some(20.0), None);
        assert_eq!(request(&i, &[n, s, idle, idle], 17.0), Request::Hold);
        assert_eq!(request(&i, &[n, s, idle, idle], 18.0), Request::GapOut);
    }

    #[test]
    fn the_allowed_gap_shrinks_from_the_passage_to_the_minimum_gap_while_a_call_waits() {
        let a = Actuated::default();
        let p = Duration::from_secs(3);
        let s = Duration::from_secs_f64;
        assert_eq!(a.allowed_gap(p, None), p);
        assert_eq!(a.allowed_gap(p, Some(s(5.0))), p);
        // 5 s before reduction, then 1.5 s taken off over 15 s.
        assert_eq!(a.allowed_gap(p, Some(s(12.5))), s(2.25));
        assert_eq!(a.allowed_gap(p, Some(s(20.0))), s(1.5));
        assert_eq!(a.allowed_gap(p, Some(s(600.0))), s(1.5));
        // A passage already below the minimum gap is kept.
        assert_eq!(a.allowed_gap(s(1.0), Some(s(600.0))), s(1.0));
    }

    #[test]
    fn a_waiting_call_ends_a_green_at_a_gap_its_passage_would_have_bridged() {
        let i = Intersection::two_approach();
        // A: a vehicle arriving every 2.5 s (the last at 40 s), within the 3 s passage. B: a
        // call since 20 s, 10 s into A's green.
        let a = group(2, Some(40.0), None);
        let mut b = group(1, Some(20.0), None);
        b.call_since = Some(at(20.0));
        // At 42.4 s the call has waited 22.4 s: the allowed gap is down to 1.5 s, and A's
        // 2.4 s without an arrival ends the green.
        assert_eq!(request(&i, &[a, b], 42.4), Request::GapOut);
        // Without the waiting call, the same gap holds the green.
        let b = group(1, Some(20.0), None);
        assert_eq!(request(&i, &[a, b], 42.4), Request::Hold);
        // With it, but 2 s after the call began to wait (no reduction yet): held too.
        let mut b = group(1, Some(20.0), None);
        b.call_since = Some(at(40.0));
        assert_eq!(request(&i, &[a, b], 42.4), Request::Hold);
    }

    #[test]
    fn gap_reduction_parameters_out_of_range_are_reported() {
        let a = Actuated {
            time_to_reduce: Duration::from_secs(301),
            minimum_gap: Duration::from_secs(31),
            ..Actuated::default()
        };
        let text: Vec<String> = a.problems().iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "actuated.time_to_reduce is 301 s; accepted range is 0 s to 300 s",
                "actuated.minimum_gap is 31 s; accepted range is 0 s to 30 s",
            ]
        );
        assert_eq!(Actuated::default().problems(), vec![]);
    }

    #[test]
    fn only_called_phases_are_served_in_cycle_order() {
        let spec = IntersectionSpec {
            groups: vec!["A".into(), "B".into(), "C".into()],
            phases: vec![
                PhaseSpec::new("A", &["A"]),
                PhaseSpec::new("B", &["B"]),
                PhaseSpec::new("C", &["C"]),
            ],
            conflicts: Default::default(),
        };
        let i = Intersection::from_spec(&spec).unwrap();
        let timings = GroupTimings::uniform(&i, GroupTiming::new(Timings::default())).unwrap();
        let groups = [group(0, None, None); 3];
        let view = |phase: u8, candidates: u64| PolicyView {
            now: at(30.0),
            intersection: &i,
            timings: &timings,
            phase: PhaseId(phase),
            green_since: at(10.0),
            groups: &groups,
            candidates: PhaseSet(candidates),
        };
        // From A, with only C called, B (no call) is skipped.
        assert_eq!(Actuated::default().choose_next(&view(0, 0b100)), PhaseId(2));
        // With B and C called, B comes first; from C, the cycle wraps to A before B.
        assert_eq!(Actuated::default().choose_next(&view(0, 0b110)), PhaseId(1));
        assert_eq!(Actuated::default().choose_next(&view(2, 0b011)), PhaseId(0));
    }
}
