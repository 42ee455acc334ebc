//! Why a phase got its green: the typed reason the controller reports with every green.
//!
//! The hi-res event log says *that* a group turned green (event 1) and how the previous green
//! ended (4 gap out, 5 max out, 6 force off), not *why* this phase was picked. A
//! [`GreenDecision`] says both, for the operator's log: the policy's own reason ("max-pressure:
//! pressure 7 against 3", "compare: queue 12 vs 3, margin 8"), or the controller's when it
//! overrode or bypassed the policy (the fail-safe plan, a call on recall only, the longest wait
//! served first). It comes with the tick whose green it began ([`TickOutput::green_began`]) and
//! stays in the status while that phase is green or being cleared
//! ([`ControllerStatus::green`]).
//!
//! [`TickOutput::green_began`]: crate::TickOutput::green_began
//! [`ControllerStatus::green`]: crate::ControllerStatus::green

use std::fmt;
use std::time::Duration;

use crate::controller::Termination;
use crate::intersection::PhaseId;
use crate::time::{Secs, SignalTime};

/// Why a phase was chosen for green.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GreenReason {
    /// No phase had a call when the start-up (or resumed) all-red ended: the first phase.
    NoCall,
    /// `fixed`: the plan's next phase in cycle order.
    Plan,
    /// All detection is lost: the fail-safe fixed-time plan's next phase.
    FailSafePlan,
    /// `actuated`: the next phase in cycle order that has a call.
    NextCall,
    /// `compare`: the chosen phase's busiest approach holds `queue` vehicles against `against`
    /// on the busiest approach of any other phase that was waiting or green; the policy needs
    /// `margin` more than the green's to force a green off.
    Compare {
        /// Vehicles queued on the chosen phase's busiest approach.
        queue: u32,
        /// Vehicles queued on the busiest approach of the other phases (waiting, or the one
        /// left).
        against: u32,
        /// The policy's margin, in vehicles.
        margin: u32,
    },
    /// `max-pressure`: the chosen phase's pressure (vehicles queued on its groups) against the
    /// highest pressure of the other phases that were waiting or green.
    MaxPressure {
        /// The chosen phase's pressure.
        pressure: u64,
        /// The highest pressure of the other phases (waiting, or the one left).
        against: u64,
    },
    /// Only recall calls were waiting on the chosen phase (groups on min or max recall, or with
    /// a failed detector): it is served on recall, not on detected demand.
    Recall,
    /// The state machine served the longest-waiting call first: it had waited a maximum green
    /// (which is what bounds every wait), or the policy named a phase without a call.
    LongestWait {
        /// How long that call had waited when the phase was chosen.
        waited: Duration,
    },
    /// A policy other than the built-ins chose it.
    Policy {
        /// The policy's name.
        name: &'static str,
    },
}

impl fmt::Display for GreenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenReason::NoCall => f.write_str("no call: first phase"),
            GreenReason::Plan => f.write_str("fixed plan"),
            GreenReason::FailSafePlan => f.write_str("fail-safe plan"),
            GreenReason::NextCall => f.write_str("actuated: next phase with a call"),
            GreenReason::Compare {
                queue,
                against,
                margin,
            } => write!(f, "compare: queue {queue} vs {against}, margin {margin}"),
            GreenReason::MaxPressure { pressure, against } => {
                write!(f, "max-pressure: pressure {pressure} against {against}")
            }
            GreenReason::Recall => f.write_str("recall"),
            GreenReason::LongestWait { waited } => {
                write!(f, "longest wait ({})", Secs(*waited))
            }
            GreenReason::Policy { name } => f.write_str(name),
        }
    }
}

/// A green that began, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GreenDecision {
    /// The phase that turned green.
    pub phase: PhaseId,
    /// When its green began.
    pub at: SignalTime,
    /// Why it was chosen (decided when the previous green ended, or when the all-red before it
    /// ended).
    pub reason: GreenReason,
    /// How the previous green ended; `None` after the start-up all-red (or a resumed stop, or a
    /// conflict monitor reset).
    pub after: Option<Termination>,
}

impl fmt::Display for GreenDecision {
    /// The reason, then how the previous green ended: "max-pressure: pressure 7 against 3,
    /// after gap-out".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(t) = self.after {
            write!(f, ", after {t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_the_log_shows_them() {
        let d = GreenDecision {
            phase: PhaseId(1),
            at: SignalTime::from_millis(12_000),
            reason: GreenReason::MaxPressure {
                pressure: 7,
                against: 3,
            },
            after: Some(Termination::GapOut),
        };
        assert_eq!(
            d.to_string(),
            "max-pressure: pressure 7 against 3, after gap-out"
        );
        let c = GreenReason::Compare {
            queue: 6,
            against: 2,
            margin: 8,
        };
        assert_eq!(c.to_string(), "compare: queue 6 vs 2, margin 8");
        let w = GreenReason::LongestWait {
            waited: Duration::from_millis(61_500),
        };
        assert_eq!(w.to_string(), "longest wait (61.5 s)");
        let d = GreenDecision {
            reason: GreenReason::FailSafePlan,
            after: Some(Termination::MaxOut),
            ..d
        };
        assert_eq!(d.to_string(), "fail-safe plan, after max-out");
    }
}
