//! Policies: what decides when a green should end and which phase goes next.
//!
//! A policy only *requests*. The controller asks it, once minimum green has elapsed and some
//! other phase has a call, whether to hold the green or end it; and, when a green ends, which of
//! the called phases to serve next. The state machine enforces every timing (minimum and maximum
//! green, yellow, red clearance, the maximum wait) whatever the policy answers, so a policy
//! cannot make the intersection unsafe or starve an approach.
//!
//! Four policies are built in ([`PolicyKind`] names them): [`FixedTime`], [`Compare`],
//! [`Actuated`] and [`MaxPressure`]. [`BuiltinPolicy`] holds any of them; other policies
//! implement [`Policy`].

mod actuated;
mod compare;
mod fixed;
mod max_pressure;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use actuated::Actuated;
pub use compare::Compare;
pub use fixed::{FixedTime, PlanError, DEFAULT_SPLIT_GREEN};
pub use max_pressure::MaxPressure;

use crate::detection::DetectorReading;
use crate::heads::HeadState;
use crate::intersection::{Intersection, PhaseId, PhaseSet};
use crate::time::SignalTime;
use crate::timing::Timings;

/// A policy's answer while a green runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Keep the green.
    Hold,
    /// End the green: demand on it has ended (logged as a gap out).
    GapOut,
    /// End the green for another reason: the plan's split is used, another phase needs it more
    /// (logged as a force off).
    ForceOff,
}

/// What the controller knows about one signal group, as policies see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupState {
    /// This tick's detector reading.
    pub reading: DetectorReading,
    /// The indication the group shows (before this tick's transitions).
    pub head: HeadState,
    /// When the group's current call was registered (locking memory: a call placed while the
    /// group is not green stays until the group turns green). `None`: no call.
    pub call_since: Option<SignalTime>,
    /// The last tick at which its healthy detector saw a vehicle (present or arriving).
    pub last_active: Option<SignalTime>,
    /// The last tick at which a vehicle left its zone (the zone's count fell by more than the
    /// vehicles that entered): a vehicle crossed the stop line.
    pub last_departure: Option<SignalTime>,
}

/// The controller's state, as a policy sees it when asked.
#[derive(Debug, Clone, Copy)]
pub struct PolicyView<'a> {
    /// Now.
    pub now: SignalTime,
    /// The layout.
    pub intersection: &'a Intersection,
    /// The interval lengths.
    pub timings: &'a Timings,
    /// The phase that is green (or, when choosing the next phase, the one being left; at
    /// start-up, the last phase, so that cyclic policies start from the first).
    pub phase: PhaseId,
    /// When that phase's green began.
    pub green_since: SignalTime,
    /// Every group's state, in group order.
    pub groups: &'a [GroupState],
    /// The phases that have a call and could be served next (never includes `phase`).
    pub candidates: PhaseSet,
}

impl PolicyView<'_> {
    /// How long the current green has run.
    pub fn time_in_green(&self) -> Duration {
        self.now.saturating_since(self.green_since)
    }

    /// Vehicles queued on the phase's groups (healthy detectors only): the phase's pressure.
    pub fn queue(&self, phase: PhaseId) -> u64 {
        self.intersection
            .phase(phase)
            .groups()
            .iter()
            .map(|g| {
                let r = self.groups[g.index()].reading;
                if r.healthy {
                    u64::from(r.queue)
                } else {
                    0
                }
            })
            .sum()
    }

    /// The readings of the phase's groups whose detectors are healthy.
    fn healthy_readings(&self, phase: PhaseId) -> impl Iterator<Item = DetectorReading> + '_ {
        self.intersection
            .phase(phase)
            .groups()
            .iter()
            .map(|g| self.groups[g.index()].reading)
            .filter(|r| r.healthy)
    }

    /// The largest queue on any one of the phase's groups (healthy detectors only).
    pub fn busiest_approach(&self, phase: PhaseId) -> u32 {
        self.healthy_readings(phase)
            .map(|r| r.queue)
            .max()
            .unwrap_or(0)
    }

    /// Vehicles counted arriving on the phase's groups this tick.
    pub fn arrivals(&self, phase: PhaseId) -> u64 {
        self.healthy_readings(phase)
            .map(|r| u64::from(r.arrivals))
            .sum()
    }

    /// When the oldest call on the phase's groups was registered.
    pub fn waiting_since(&self, phase: PhaseId) -> Option<SignalTime> {
        self.intersection
            .phase(phase)
            .groups()
            .iter()
            .filter_map(|g| self.groups[g.index()].call_since)
            .min()
    }

    /// Time since any of the phase's detectors last saw a vehicle (`None`: never).
    pub fn since_activity(&self, phase: PhaseId) -> Option<Duration> {
        self.intersection
            .phase(phase)
            .groups()
            .iter()
            .filter_map(|g| self.groups[g.index()].last_active)
            .max()
            .map(|t| self.now.saturating_since(t))
    }

    /// When a vehicle last left any of the phase's zones (`None`: never).
    pub fn last_departure(&self, phase: PhaseId) -> Option<SignalTime> {
        self.intersection
            .phase(phase)
            .groups()
            .iter()
            .filter_map(|g| self.groups[g.index()].last_departure)
            .max()
    }

    /// Among `among`, the phase whose oldest call is oldest (ties: the first in cycle order
    /// after the current phase).
    pub fn longest_waiting(&self, among: PhaseSet) -> Option<PhaseId> {
        self.in_cycle_order(among).min_by_key(|&p| {
            self.waiting_since(p)
                .unwrap_or(SignalTime::from_millis(u64::MAX))
        })
    }

    /// The first candidate after the current phase in cycle order.
    pub fn next_in_cycle(&self) -> Option<PhaseId> {
        self.in_cycle_order(self.candidates).next()
    }

    /// The phases of `set`, starting after the current phase and wrapping around.
    pub fn in_cycle_order(&self, set: PhaseSet) -> impl Iterator<Item = PhaseId> {
        let n = self.intersection.phases().len() as u8;
        let start = self.phase.0;
        (1..=n)
            .map(move |k| PhaseId((start + k) % n))
            .filter(move |p| set.contains(*p))
    }

    /// Among the candidates, the one with the highest `score`; ties go to the longest-waiting,
    /// then to cycle order.
    pub fn best_candidate_by(&self, score: impl Fn(PhaseId) -> u64) -> Option<PhaseId> {
        let mut best: Option<(PhaseId, u64, SignalTime)> = None;
        for p in self.in_cycle_order(self.candidates) {
            let s = score(p);
            let w = self
                .waiting_since(p)
                .unwrap_or(SignalTime::from_millis(u64::MAX));
            let better = match best {
                None => true,
                Some((_, bs, bw)) => s > bs || (s == bs && w < bw),
            };
            if better {
                best = Some((p, s, w));
            }
        }
        best.map(|(p, _, _)| p)
    }
}

/// Decides when greens end and what comes next; the controller enforces the timing.
pub trait Policy {
    /// Short name for logs and status ("max-pressure").
    fn name(&self) -> &'static str;

    /// Whether every phase is on recall (always has a call), as in fixed-time operation.
    fn recalls_every_phase(&self) -> bool {
        false
    }

    /// Asked each tick once minimum green has elapsed and another phase has a call.
    fn request(&mut self, view: &PolicyView<'_>) -> Request;

    /// Asked when a green ends (and after start-up): which of `view.candidates` goes next. An
    /// answer outside the candidates is replaced by the longest-waiting candidate.
    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId;
}

/// The built-in policies by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// `fixed`: a fixed-time plan.
    Fixed,
    /// `compare`: the original rule made safe.
    Compare,
    /// `actuated`: gap-out / max-out.
    Actuated,
    /// `max-pressure`: Varaiya's rule with hysteresis.
    MaxPressure,
}

impl PolicyKind {
    /// All built-in policies.
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::Fixed,
        PolicyKind::Compare,
        PolicyKind::Actuated,
        PolicyKind::MaxPressure,
    ];

    /// The name `FromStr` accepts.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Fixed => "fixed",
            PolicyKind::Compare => "compare",
            PolicyKind::Actuated => "actuated",
            PolicyKind::MaxPressure => "max-pressure",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy name that is not built in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {name:?}; accepted: fixed, compare, actuated, max-pressure")]
pub struct UnknownPolicy {
    /// The rejected name.
    pub name: String,
}

impl FromStr for PolicyKind {
    type Err = UnknownPolicy;

    /// Accepts the names case-insensitively, and `_` for `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        PolicyKind::ALL
            .into_iter()
            .find(|k| k.name() == norm)
            .ok_or_else(|| UnknownPolicy {
                name: s.to_string(),
            })
    }
}

/// Any built-in policy, with its parameters. `Clone`, so a controller can be cloned.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinPolicy {
    /// See [`FixedTime`].
    Fixed(FixedTime),
    /// See [`Compare`].
    Compare(Compare),
    /// See [`Actuated`].
    Actuated(Actuated),
    /// See [`MaxPressure`].
    MaxPressure(MaxPressure),
}

impl BuiltinPolicy {
    /// The policy `kind` with default parameters for this layout and timing.
    pub fn new(kind: PolicyKind, intersection: &Intersection, timings: &Timings) -> Self {
        match kind {
            PolicyKind::Fixed => {
                BuiltinPolicy::Fixed(FixedTime::equal_splits(intersection, timings))
            }
            PolicyKind::Compare => BuiltinPolicy::Compare(Compare::default()),
            PolicyKind::Actuated => BuiltinPolicy::Actuated(Actuated),
            PolicyKind::MaxPressure => BuiltinPolicy::MaxPressure(MaxPressure::default()),
        }
    }

    /// Which built-in this is.
    pub fn kind(&self) -> PolicyKind {
        match self {
            BuiltinPolicy::Fixed(_) => PolicyKind::Fixed,
            BuiltinPolicy::Compare(_) => PolicyKind::Compare,
            BuiltinPolicy::Actuated(_) => PolicyKind::Actuated,
            BuiltinPolicy::MaxPressure(_) => PolicyKind::MaxPressure,
        }
    }
}

impl Policy for BuiltinPolicy {
    fn name(&self) -> &'static str {
        self.kind().name()
    }

    fn recalls_every_phase(&self) -> bool {
        matches!(self, BuiltinPolicy::Fixed(_))
    }

    fn request(&mut self, view: &PolicyView<'_>) -> Request {
        match self {
            BuiltinPolicy::Fixed(p) => p.request(view),
            BuiltinPolicy::Compare(p) => p.request(view),
            BuiltinPolicy::Actuated(p) => p.request(view),
            BuiltinPolicy::MaxPressure(p) => p.request(view),
        }
    }

    fn choose_next(&mut self, view: &PolicyView<'_>) -> PhaseId {
        match self {
            BuiltinPolicy::Fixed(p) => p.choose_next(view),
            BuiltinPolicy::Compare(p) => p.choose_next(view),
            BuiltinPolicy::Actuated(p) => p.choose_next(view),
            BuiltinPolicy::MaxPressure(p) => p.choose_next(view),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_parse_and_unknown_names_list_the_accepted_ones() {
        for k in PolicyKind::ALL {
            assert_eq!(k.name().parse::<PolicyKind>(), Ok(k));
        }
        assert_eq!("MAX_PRESSURE".parse(), Ok(PolicyKind::MaxPressure));
        let e = "webster".parse::<PolicyKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown policy \"webster\"; accepted: fixed, compare, actuated, max-pressure"
        );
    }
}
