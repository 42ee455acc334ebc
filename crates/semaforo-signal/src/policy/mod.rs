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
//! implement [`Policy`]. Their parameters are public fields whose units, accepted ranges and
//! defaults are listed in [`POLICY_PARAMETERS`]. Each policy also says why it chose a phase
//! ([`Policy::reason`]), which the controller reports with the green.

mod actuated;
mod compare;
mod fixed;
mod max_pressure;
mod parameters;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use actuated::Actuated;
pub use compare::Compare;
pub use fixed::{FixedTime, PlanError, DEFAULT_SPLIT_GREEN};
pub use max_pressure::MaxPressure;
pub use parameters::{
    parameter_range, ParameterError, ParameterRange, ParameterUnit, POLICY_PARAMETERS,
};

use crate::decision::GreenReason;
use crate::detection::DetectorReading;
use crate::group_timing::{GroupTimings, TimingsByGroup};
use crate::heads::HeadState;
use crate::intersection::{Intersection, PhaseId, PhaseSet, SignalGroupId};
use crate::time::{duration_ms, SignalTime};

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
    /// The last tick at which a vehicle crossed its count line (an arrival).
    pub last_arrival: Option<SignalTime>,
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
    /// Each group's timings and recall.
    pub timings: &'a GroupTimings,
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

    /// The last actuation of `group` since `since`: a vehicle crossing its count line or
    /// leaving its zone across the stop line, seen by a healthy detector. A vehicle standing
    /// in the zone is no actuation: a queue that does not move (a turn waiting for a gap, a
    /// lane blocked downstream) does not use the green.
    pub fn last_actuation(&self, group: SignalGroupId, since: SignalTime) -> Option<SignalTime> {
        let g = &self.groups[group.index()];
        g.last_arrival
            .into_iter()
            .chain(g.last_departure)
            .filter(|&t| t >= since)
            .max()
    }

    /// Whether every group of the phase is done, NEMA-style (a group done first waits at the
    /// barrier for the others): a group is done when its healthy detector sees its zone empty
    /// (no vehicle within the zone's length is left to serve: the camera sees the whole
    /// distance a loop detector's passage time would have to cover), or when it has gone its
    /// own passage time without an actuation ([`last_actuation`](Self::last_actuation)),
    /// counting the start of the green as one.
    pub fn gapped_out(&self, phase: PhaseId) -> bool {
        self.gapped_out_within(phase, |passage| passage)
    }

    /// [`gapped_out`](Self::gapped_out) with each group's allowed gap `gap(its passage)`
    /// instead of its passage (a gap reduced while a conflicting call waits).
    pub fn gapped_out_within(&self, phase: PhaseId, gap: impl Fn(Duration) -> Duration) -> bool {
        self.intersection.phase(phase).groups().iter().all(|g| {
            let state = &self.groups[g.index()];
            if state.reading.healthy && !state.reading.is_active() {
                return true;
            }
            let last = self
                .last_actuation(g, self.green_since)
                .unwrap_or(self.green_since);
            let allowed = duration_ms(gap(self.timings.get(g).timings.passage));
            duration_ms(self.now.saturating_since(last)) >= allowed
        })
    }

    /// When the oldest call on any candidate phase was registered, or the green began if that
    /// is later: what maximum green and gap reduction are timed from.
    pub fn conflicting_call_since(&self) -> Option<SignalTime> {
        self.candidates
            .iter()
            .filter_map(|p| self.waiting_since(p))
            .min()
            .map(|t| t.max(self.green_since))
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

    /// The highest `score` among the phases other than `chosen` that were waiting (the
    /// candidates) or green (the phase being left): what `chosen` was preferred to, for a
    /// policy's [`Policy::reason`].
    pub fn best_other_by(&self, chosen: PhaseId, score: impl Fn(PhaseId) -> u64) -> u64 {
        let others = (self.candidates.0 | (1u64 << self.phase.0)) & !(1u64 << chosen.0);
        PhaseSet(others).iter().map(score).max().unwrap_or(0)
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

    /// Why `chosen`, this policy's answer to [`Policy::choose_next`] for the same `view`, was
    /// chosen: reported with the green ([`GreenDecision`](crate::GreenDecision)).
    fn reason(&self, view: &PolicyView<'_>, chosen: PhaseId) -> GreenReason {
        let _ = (view, chosen);
        GreenReason::Policy { name: self.name() }
    }
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
    /// The policy `kind` with default parameters for this layout and timing (one
    /// [`Timings`](crate::Timings) for all groups, or a [`GroupTimings`] table).
    pub fn new<T: TimingsByGroup + ?Sized>(
        kind: PolicyKind,
        intersection: &Intersection,
        timings: &T,
    ) -> Self {
        match kind {
            PolicyKind::Fixed => {
                BuiltinPolicy::Fixed(FixedTime::equal_splits(intersection, timings))
            }
            PolicyKind::Compare => BuiltinPolicy::Compare(Compare::default()),
            PolicyKind::Actuated => BuiltinPolicy::Actuated(Actuated::default()),
            PolicyKind::MaxPressure => BuiltinPolicy::MaxPressure(MaxPressure::default()),
        }
    }

    /// Every parameter outside its range in [`POLICY_PARAMETERS`] (empty when the policy can
    /// run). A fixed-time plan's greens are also checked against each phase's minimum and
    /// maximum green when the controller is built.
    pub fn problems(&self) -> Vec<ParameterError> {
        match self {
            BuiltinPolicy::Fixed(p) => p.problems(),
            BuiltinPolicy::Compare(p) => p.problems(),
            BuiltinPolicy::Actuated(p) => p.problems(),
            BuiltinPolicy::MaxPressure(p) => p.problems(),
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

    fn reason(&self, view: &PolicyView<'_>, chosen: PhaseId) -> GreenReason {
        match self {
            BuiltinPolicy::Fixed(p) => p.reason(view, chosen),
            BuiltinPolicy::Compare(p) => p.reason(view, chosen),
            BuiltinPolicy::Actuated(p) => p.reason(view, chosen),
            BuiltinPolicy::MaxPressure(p) => p.reason(view, chosen),
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

    #[test]
    fn the_parameter_table_holds_the_policies_defaults() {
        let compare = Compare::default();
        let mp = MaxPressure::default();
        let actuated = Actuated::default();
        let default = |k, n| parameter_range(k, n).unwrap().default;
        assert_eq!(
            default(PolicyKind::Compare, "margin"),
            f64::from(compare.margin)
        );
        assert_eq!(default(PolicyKind::MaxPressure, "ratio"), mp.ratio);
        assert_eq!(
            default(PolicyKind::MaxPressure, "margin"),
            f64::from(mp.margin)
        );
        assert_eq!(
            default(PolicyKind::MaxPressure, "empty_gap"),
            mp.empty_gap.as_secs_f64()
        );
        assert_eq!(
            default(PolicyKind::MaxPressure, "stall_gap"),
            mp.stall_gap.unwrap().as_secs_f64()
        );
        assert_eq!(
            default(PolicyKind::Actuated, "time_before_reduction"),
            actuated.time_before_reduction.as_secs_f64()
        );
        assert_eq!(
            default(PolicyKind::Actuated, "time_to_reduce"),
            actuated.time_to_reduce.as_secs_f64()
        );
        assert_eq!(
            default(PolicyKind::Actuated, "minimum_gap"),
            actuated.minimum_gap.as_secs_f64()
        );
        assert_eq!(
            default(PolicyKind::Fixed, "greens"),
            DEFAULT_SPLIT_GREEN.as_secs_f64()
        );
        for r in POLICY_PARAMETERS {
            assert!(r.accepts(r.default), "{}.{}", r.policy, r.name);
        }
        // Every default policy is within its ranges.
        let i = Intersection::four_arm_two_phase();
        for k in PolicyKind::ALL {
            let p = BuiltinPolicy::new(k, &i, &crate::Timings::default());
            assert_eq!(p.problems(), vec![], "{k}");
        }
    }

    #[test]
    fn out_of_range_parameters_are_all_reported_with_unit_and_range() {
        let p = BuiltinPolicy::MaxPressure(MaxPressure {
            ratio: 0.5,
            margin: 101,
            empty_gap: Duration::ZERO,
            stall_gap: Some(Duration::from_secs(61)),
        });
        let text: Vec<String> = p.problems().iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "max-pressure.ratio is 0.5; accepted range is 1 to 10",
                "max-pressure.margin is 101 vehicles; accepted range is 0 vehicles to 100 vehicles",
                "max-pressure.empty_gap is 0 s; accepted range is 0.1 s to 30 s",
                "max-pressure.stall_gap is 61 s; accepted range is 0.5 s to 60 s",
            ]
        );
        let p = BuiltinPolicy::Compare(Compare { margin: 1_000 });
        assert_eq!(p.problems()[0].name, "margin");
        let nan = BuiltinPolicy::MaxPressure(MaxPressure {
            ratio: f64::NAN,
            ..MaxPressure::default()
        });
        assert_eq!(nan.problems().len(), 1);
    }
}
