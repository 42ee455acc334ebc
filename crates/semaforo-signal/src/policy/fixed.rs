//! `fixed`: a fixed-time plan, also the controller's fail-safe when detection is lost.
//!
//! Each phase gets its planned green, in cycle order, whatever the detectors say (every phase is
//! on recall). Greens come from the operator, or from Webster's formula given each phase's
//! critical flow ratio, or default to equal splits.

use std::time::Duration;

use super::{Policy, PolicyView, Request};
use crate::intersection::{Intersection, PhaseId};
use crate::time::{duration_ms, Secs};
use crate::timing::Timings;

/// The default green of an equal-split plan, clamped to the minimum and maximum green.
pub const DEFAULT_SPLIT_GREEN: Duration = Duration::from_secs(20);

/// A fixed-time plan: one green time per phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedTime {
    greens_ms: Vec<u64>,
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
    /// A green outside the minimum/maximum green.
    #[error("the plan's green for phase {phase:?} is {}; it must be between min_green ({}) and max_green ({})", Secs(*value), Secs(*min), Secs(*max))]
    GreenOutOfRange {
        /// The phase.
        phase: String,
        /// The planned green.
        value: Duration,
        /// Minimum green.
        min: Duration,
        /// Maximum green.
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
    /// Every phase gets [`DEFAULT_SPLIT_GREEN`], clamped to the minimum and maximum green.
    pub fn equal_splits(intersection: &Intersection, timings: &Timings) -> Self {
        let g = DEFAULT_SPLIT_GREEN.clamp(timings.min_green, timings.max_green);
        FixedTime {
            greens_ms: vec![duration_ms(g); intersection.phases().len()],
        }
    }

    /// A plan with these greens, one per phase in phase order, each between the minimum and
    /// maximum green.
    pub fn with_greens(
        intersection: &Intersection,
        timings: &Timings,
        greens: &[Duration],
    ) -> Result<Self, PlanError> {
        let n = intersection.phases().len();
        if greens.len() != n {
            return Err(PlanError::PhaseCount {
                expected: n,
                got: greens.len(),
            });
        }
        for (p, &g) in intersection.phases().iter().zip(greens) {
            if g < timings.min_green || g > timings.max_green {
                return Err(PlanError::GreenOutOfRange {
                    phase: p.name().to_string(),
                    value: g,
                    min: timings.min_green,
                    max: timings.max_green,
                });
            }
        }
        Ok(FixedTime {
            greens_ms: greens.iter().map(|&g| duration_ms(g)).collect(),
        })
    }

    /// Webster's plan from each phase's critical flow ratio (flow / saturation flow of its
    /// busiest group). Lost time per phase is taken as yellow + red clearance; the optimal cycle
    /// is `C = (1.5 L + 5) / (1 - Y)`, effective green is shared in proportion to the ratios, and
    /// each green is clamped to the minimum and maximum green.
    pub fn webster(
        intersection: &Intersection,
        timings: &Timings,
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
        let lost = n as f64 * (timings.yellow + timings.red_clearance).as_secs_f64();
        let cycle = (1.5 * lost + 5.0) / (1.0 - total);
        let effective = (cycle - lost).max(0.0);
        let greens_ms = flow_ratios
            .iter()
            .map(|&y| {
                let g = if total > 0.0 {
                    effective * y / total
                } else {
                    0.0
                };
                let g = Duration::from_secs_f64(g.min(1.0e6));
                duration_ms(g.clamp(timings.min_green, timings.max_green))
            })
            .collect();
        Ok(FixedTime { greens_ms })
    }

    /// The planned green of `phase`.
    pub fn green(&self, phase: PhaseId) -> Duration {
        Duration::from_millis(self.green_ms(phase))
    }

    pub(crate) fn green_ms(&self, phase: PhaseId) -> u64 {
        self.greens_ms.get(phase.index()).copied().unwrap_or(0)
    }

    /// The planned greens in phase order.
    pub fn greens(&self) -> Vec<Duration> {
        self.greens_ms
            .iter()
            .map(|&g| Duration::from_millis(g))
            .collect()
    }

    /// Cycle length: greens plus each phase's yellow and red clearance.
    pub fn cycle_length(&self, timings: &Timings) -> Duration {
        let clear = timings.yellow + timings.red_clearance;
        self.greens()
            .into_iter()
            .map(|g| g + clear)
            .sum::<Duration>()
    }

    pub(crate) fn phase_count(&self) -> usize {
        self.greens_ms.len()
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
}
