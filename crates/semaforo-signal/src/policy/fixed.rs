//! `fixed`: a fixed-time plan, also the controller's fail-safe when detection is lost.
//!
//! Each phase gets its planned green, in cycle order, whatever the detectors say (every phase is
//! on recall). Greens come from the operator, or from Webster's formula given each phase's
//! critical flow ratio, or default to equal splits. A phase's minimum and maximum green, which
//! bound its planned green, are the largest of its groups' ([`PhaseTiming`]).

use std::time::Duration;

use super::parameters::{range_of, ParameterError};
use super::{Policy, PolicyKind, PolicyView, Request};
use crate::decision::GreenReason;
use crate::group_timing::{PhaseTiming, TimingsByGroup};
use crate::intersection::{Intersection, PhaseId};
use crate::time::{duration_ms, Secs};
use crate::timing::Timings;

/// The default green of an equal-split plan, clamped to each phase's minimum and maximum green.
pub const DEFAULT_SPLIT_GREEN: Duration = Duration::from_secs(20);

/// A fixed-time plan: one green time per phase.
///
/// The cycle is not a parameter of its own: it is the sum of the greens and each phase's
/// clearance ([`FixedTime::cycle_length`]); a phase's split is its green plus its clearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedTime {
    /// Each phase's planned green, in phase order. Seconds, 1 s to 600 s
    /// ([`POLICY_PARAMETERS`](super::POLICY_PARAMETERS)), and within the phase's minimum and
    /// maximum green (checked when a controller is built); default [`DEFAULT_SPLIT_GREEN`].
    pub greens: Vec<Duration>,
}

/// A plan the controller will not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Not one value per phase.
    #[error("the plan has {got} values for {expected} phases")]
    PhaseCount {
        /// Phases in the layout.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A green outside the phase's minimum/maximum green.
    #[error("the plan's green for phase {phase:?} is {}; it must be between min_green ({}) and max_green ({})", Secs(*value), Secs(*min), Secs(*max))]
    GreenOutOfRange {
        /// The phase.
        phase: String,
        /// The planned green.
        value: Duration,
        /// The phase's minimum green (the largest of its groups').
        min: Duration,
        /// The phase's maximum green (the largest of its groups').
        max: Duration,
    },
    /// A flow ratio that is not a number in [0, 1).
    #[error(
        "the critical flow ratio of phase {phase:?} is {value}; it must be at least 0 and below 1"
    )]
    FlowRatio {
        /// The phase.
        phase: String,
        /// The ratio given.
        value: f64,
    },
    /// The flow ratios add up to saturation or more: no cycle can serve them.
    #[error("the critical flow ratios add up to {total:.3}; Webster's formula needs less than 1 (the demand exceeds capacity)")]
    Oversaturated {
        /// Their sum.
        total: f64,
    },
}

impl FixedTime {
    /// Every phase gets [`DEFAULT_SPLIT_GREEN`], clamped to its minimum and maximum green.
    pub fn equal_splits<T: TimingsByGroup + ?Sized>(
        intersection: &Intersection,
        timings: &T,
    ) -> Self {
        FixedTime {
            greens: intersection
                .phase_ids()
                .map(|p| {
                    let t = PhaseTiming::of(intersection, timings, p);
                    DEFAULT_SPLIT_GREEN.clamp(t.min_green, t.max_green)
                })
                .collect(),
        }
    }

    /// A plan with these greens, one per phase in phase order, each between its phase's
    /// minimum and maximum green.
    pub fn with_greens<T: TimingsByGroup + ?Sized>(
        intersection: &Intersection,
        timings: &T,
        greens: &[Duration],
    ) -> Result<Self, PlanError> {
        let n = intersection.phases().len();
        if greens.len() != n {
            return Err(PlanError::PhaseCount {
                expected: n,
                got: greens.len(),
            });
        }
        for (p, &g) in intersection.phase_ids().zip(greens) {
            let t = PhaseTiming::of(intersection, timings, p);
            if g < t.min_green || g > t.max_green {
                return Err(PlanError::GreenOutOfRange {
                    phase: intersection.phase(p).name().to_string(),
                    value: g,
                    min: t.min_green,
                    max: t.max_green,
                });
            }
        }
        Ok(FixedTime {
            greens: greens
                .iter()
                .map(|&g| Duration::from_millis(duration_ms(g)))
                .collect(),
        })
    }

    /// Webster's plan from each phase's critical flow ratio (flow / saturation flow of its
    /// busiest group). Lost time per phase is taken as its clearance (the largest yellow + red
    /// clearance of its groups); the optimal cycle is `C = (1.5 L + 5) / (1 - Y)`, effective
    /// green is shared in proportion to the ratios, and each green is clamped to its phase's
    /// minimum and maximum green.
    pub fn webster<T: TimingsByGroup + ?Sized>(
        intersection: &Intersection,
        timings: &T,
        flow_ratios: &[f64],
    ) -> Result<Self, PlanError> {
        let n = intersection.phases().len();
        if flow_ratios.len() != n {
            return Err(PlanError::PhaseCount {
                expected: n,
                got: flow_ratios.len(),
            });
        }
        for (p, &y) in intersection.phases().iter().zip(flow_ratios) {
            if !(y.is_finite() && (0.0..1.0).contains(&y)) {
                return Err(PlanError::FlowRatio {
                    phase: p.name().to_string(),
                    value: y,
                });
            }
        }
        let total: f64 = flow_ratios.iter().sum();
        if total >= 1.0 {
            return Err(PlanError::Oversaturated { total });
        }
        let phases: Vec<PhaseTiming> = intersection
            .phase_ids()
            .map(|p| PhaseTiming::of(intersection, timings, p))
            .collect();
        let lost: f64 = phases.iter().map(|t| t.clearance.as_secs_f64()).sum();
        let cycle = (1.5 * lost + 5.0) / (1.0 - total);
        let effective = (cycle - lost).max(0.0);
        let greens = flow_ratios
            .iter()
            .zip(&phases)
            .map(|(&y, t)| {
                let g = if total > 0.0 {
                    effective * y / total
                } else {
                    0.0
                };
                let g = Duration::from_secs_f64(g.min(1.0e6));
                let g = g.clamp(t.min_green, t.max_green);
                Duration::from_millis(duration_ms(g))
            })
            .collect();
        Ok(FixedTime { greens })
    }

    /// The planned green of `phase`.
    pub fn green(&self, phase: PhaseId) -> Duration {
        Duration::from_millis(self.green_ms(phase))
    }

    pub(crate) fn green_ms(&self, phase: PhaseId) -> u64 {
        self.greens
            .get(phase.index())
            .map_or(0, |&g| duration_ms(g))
    }

    /// The planned greens in phase order.
    pub fn greens(&self) -> Vec<Duration> {
        self.greens.clone()
    }

    /// Cycle length with one [`Timings`] for every group: the greens plus each phase's yellow and
    /// red clearance.
    pub fn cycle_length(&self, timings: &Timings) -> Duration {
        let clear = timings.yellow + timings.red_clearance;
        self.greens.iter().map(|&g| g + clear).sum::<Duration>()
    }

    /// Cycle length with per-group timings: each phase's green plus its clearance (the largest
    /// yellow + red clearance of its groups; a change where some of them stay green is
    /// shorter, so this is the longest the cycle runs).
    pub fn cycle_length_for<T: TimingsByGroup + ?Sized>(
        &self,
        intersection: &Intersection,
        timings: &T,
    ) -> Duration {
        intersection
            .phase_ids()
            .zip(&self.greens)
            .map(|(p, &g)| g + PhaseTiming::of(intersection, timings, p).clearance)
            .sum::<Duration>()
    }

    pub(crate) fn phase_count(&self) -> usize {
        self.greens.len()
    }

    /// Every green outside the range in [`POLICY_PARAMETERS`](super::POLICY_PARAMETERS) (the
    /// phases' own minimum and maximum greens are checked against the intersection when the
    /// controller is built, [`FixedTime::with_greens`]).
    pub fn problems(&self) -> Vec<ParameterError> {
        let range = range_of(PolicyKind::Fixed, "greens");
        self.greens
            .iter()
            .filter_map(|g| range.check(g.as_secs_f64()).err())
            .collect()
    }
}

impl Policy for FixedTime {
    fn name(&self) -> &'static str {
        "fixed"
    }

    fn recalls_every_phase(&self) -> bool {
        true
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        if duration_ms(view.time_in_green()) >= self.green_ms(view.phase) {
            Request::ForceOff
        } else {
            Request::Hold
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        view.next_in_cycle().unwrap_or(view.phase)
    }

    fn reason(&self, _view: &PolicyView<'_>, _chosen: PhaseId) -> GreenReason {
        GreenReason::Plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_splits_clamp_to_min_and_max_green() {
        let i = Intersection::two_approach();
        let t = Timings {
            min_green: Duration::from_secs(25),
            max_green: Duration::from_secs(40),
            ..Timings::default()
        };
        let p = FixedTime::equal_splits(&i, &t);
        assert_eq!(p.greens(), vec![Duration::from_secs(25); 2]);
        assert_eq!(p.cycle_length(&t), Duration::from_secs(60));
    }

    #[test]
    fn webster_matches_a_hand_computation() {
        // L = 2 * (3 + 2) = 10 s; Y = 0.3 + 0.2 = 0.5; C = (15 + 5) / 0.5 = 40 s;
        // effective green 30 s split 0.3:0.2 -> 18 s and 12 s.
        let i = Intersection::two_approach();
        let t = Timings::default();
        let p = FixedTime::webster(&i, &t, &[0.3, 0.2]).unwrap();
        assert_eq!(
            p.greens(),
            vec![Duration::from_secs(18), Duration::from_secs(12)]
        );
    }

    #[test]
    fn plan_errors_name_the_phase_and_the_limit() {
        let i = Intersection::four_arm_two_phase();
        let t = Timings::default();
        let e = FixedTime::with_greens(&i, &t, &[Duration::from_secs(30), Duration::from_secs(5)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the plan's green for phase \"EW\" is 5 s; it must be between min_green (10 s) and max_green (60 s)"
        );
        let e = FixedTime::webster(&i, &t, &[0.6, 0.5]).unwrap_err();
        assert!(e.to_string().contains("add up to 1.100"), "{e}");
        let e = FixedTime::webster(&i, &t, &[0.6]).unwrap_err();
        assert_eq!(
            e,
            PlanError::PhaseCount {
                expected: 2,
                got: 1
            }
        );
        let e = FixedTime::webster(&i, &t, &[f64::NAN, 0.1]).unwrap_err();
        assert!(e.to_string().contains("phase \"NS\""), "{e}");
    }

    #[test]
    fn per_group_timings_bound_each_phase_by_its_own_groups() {
        use crate::group_timing::{GroupTiming, GroupTimings};
        let i = Intersection::two_approach();
        let short = Timings {
            min_green: Duration::from_secs(5),
            max_green: Duration::from_secs(15),
            yellow: Duration::from_secs(4),
            red_clearance: Duration::from_secs(1),
            ..Timings::default()
        };
        let t = GroupTimings::new(
            &i,
            vec![
                GroupTiming::new(short),
                GroupTiming::new(Timings::default()),
            ],
        )
        .unwrap();
        // A's green is clamped to its own 15 s maximum, B's default 20 s stands.
        let p = FixedTime::equal_splits(&i, &t);
        assert_eq!(
            p.greens,
            vec![Duration::from_secs(15), Duration::from_secs(20)]
        );
        // A: 15 + 4 + 1; B: 20 + 3 + 2.
        assert_eq!(p.cycle_length_for(&i, &t), Duration::from_secs(45));
        let e = FixedTime::with_greens(&i, &t, &[Duration::from_secs(16), Duration::from_secs(20)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the plan's green for phase \"A\" is 16 s; it must be between min_green (5 s) and max_green (15 s)"
        );
    }
}
