//! The controller: the phase state machine that turns detector readings into head states.
//!
//! Each [`Controller::tick`] takes the time and one [`DetectorReading`] per signal group and
//! returns every group's [`HeadState`], the hi-res events of the tick and a status. Inside, a
//! phase runs through the intervals traffic engineers time: green (at least minimum green, at
//! most maximum green once another phase has a call), yellow change, red clearance, then the next
//! phase's green. The policy only requests the end of a green and picks the next phase; the
//! state machine decides when that is allowed.
//!
//! Every group has its own timings and recall mode ([`GroupTimings`]); a phase combines its
//! groups' values as a real controller does (see [`group_timing`](crate::group_timing)): it ends
//! no earlier than every group's own minimum green, maxes out at the largest maximum green of
//! its groups, and each ending group times its own yellow change and red clearance; the next
//! green starts when all of them have cleared. [`Controller::new`] still takes one [`Timings`]
//! for every group; [`Controller::with_group_timings`] takes the table.
//!
//! Calls use locking memory: a vehicle seen on a group that is not green places a call that stays
//! until the group turns green, so the "maximum wait" of every call is bounded
//! ([`Controller::max_wait`]). A group on min or max recall calls whenever it is not green. A
//! group whose detector is unhealthy is on recall (it always calls) and, while it is green, gets
//! the fail-safe plan's green instead of the policy's decision. When every detector is unhealthy
//! the whole controller runs the fail-safe fixed-time plan ([`Mode::FailSafe`]) until any
//! detector recovers.
//!
//! Every green comes with the reason its phase was chosen ([`GreenDecision`]: the policy's, or
//! the controller's when it overrode the policy), in [`TickOutput::green_began`] and
//! [`ControllerStatus::green`].
//!
//! Every output passes through the [`ConflictMonitor`] before it is returned; on a fault the
//! controller latches flashing red on all heads ([`Mode::Flash`]) until
//! [`Controller::reset_conflict_monitor`].
//!
//! For a shutdown, [`Controller::request_stop`] ends service safely: the green ends at once (its
//! minimum green may be cut short, as when a controller enters flash) but its yellow change and
//! red clearance are always timed in full, then every head holds red ([`Mode::Stopped`],
//! [`Interval::AllRed`]) and [`Controller::is_all_red`] tells the caller it may let go.

use std::fmt;
use std::time::Duration;

use crate::decision::{GreenDecision, GreenReason};
use crate::detection::DetectorReading;
use crate::events::{flash_status, pattern, EventCode, HiResEvent, COUNT_CHANNEL_OFFSET};
use crate::group_timing::{GroupTiming, GroupTimingError, GroupTimings, PhaseTiming, Recall};
use crate::heads::HeadState;
use crate::intersection::{GroupSet, Intersection, PhaseId, PhaseSet, SignalGroupId};
use crate::monitor::{ConflictFault, ConflictMonitor};
use crate::policy::{
    BuiltinPolicy, FixedTime, GroupState, ParameterError, PlanError, Policy, PolicyKind,
    PolicyView, Request,
};
use crate::time::{duration_ms, SignalTime};
use crate::timing::{TimingError, Timings};

/// At most this many count-line on/off pairs are logged per group and tick (a burst of counts
/// from a confused detector must not flood the event log).
pub const MAX_COUNT_EVENTS_PER_TICK: u32 = 16;

/// How the controller is operating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The configured policy runs.
    Normal,
    /// All detection is lost: the fixed-time fail-safe plan runs.
    FailSafe,
    /// The conflict monitor tripped: all heads flash red until an explicit reset.
    Flash,
    /// A stop was requested ([`Controller::request_stop`]): the last green is being cleared, or
    /// all heads hold red; no green starts until [`Controller::resume`].
    Stopped,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Normal => "normal",
            Mode::FailSafe => "fail-safe",
            Mode::Flash => "flash",
            Mode::Stopped => "stopped",
        })
    }
}

/// The interval being timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// A phase is green.
    Green,
    /// Ending groups show yellow (each for its own yellow time; the interval lasts until the
    /// last of them turns red).
    YellowChange,
    /// Ending groups are red, each timing its own red clearance, before the next green (also
    /// the start-up all-red).
    RedClearance,
    /// Flashing red after a conflict monitor fault.
    Flash,
    /// Every head holds red after a stop, its last clearance timed; no green follows.
    AllRed,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Interval::Green => "green",
            Interval::YellowChange => "yellow",
            Interval::RedClearance => "red clearance",
            Interval::Flash => "flash",
            Interval::AllRed => "all red",
        })
    }
}

/// Why a green ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Termination {
    /// Demand on the green ended.
    GapOut,
    /// Maximum green expired with a call waiting.
    MaxOut,
    /// The plan or the policy ended it.
    ForceOff,
}

impl Termination {
    fn event_code(self) -> EventCode {
        match self {
            Termination::GapOut => EventCode::PHASE_GAP_OUT,
            Termination::MaxOut => EventCode::PHASE_MAX_OUT,
            Termination::ForceOff => EventCode::PHASE_FORCE_OFF,
        }
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Termination::GapOut => "gap-out",
            Termination::MaxOut => "max-out",
            Termination::ForceOff => "force-off",
        })
    }
}

/// The controller's state after a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerStatus {
    /// Operating mode.
    pub mode: Mode,
    /// The phase that is green or being cleared; `None` during start-up, in flash and once
    /// stopped.
    pub phase: Option<PhaseId>,
    /// The phase that will be green after the current clearance, once chosen.
    pub next_phase: Option<PhaseId>,
    /// The interval being timed.
    pub interval: Interval,
    /// Time spent in it so far.
    pub time_in_interval: Duration,
    /// Why the last green ended.
    pub last_termination: Option<Termination>,
    /// The policy deciding now (`"fixed"` in fail-safe).
    pub policy: &'static str,
    /// The conflict monitor's latched fault, in flash.
    pub fault: Option<ConflictFault>,
    /// Why `phase` got its green; `None` whenever `phase` is.
    pub green: Option<GreenDecision>,
}

/// What one tick produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickOutput {
    /// One head state per signal group, in group order.
    pub heads: Vec<HeadState>,
    /// Hi-res events of this tick, in order.
    pub events: Vec<HiResEvent>,
    /// The state after the tick.
    pub status: ControllerStatus,
    /// The green that began in this tick, and why its phase was chosen (at most one per tick).
    pub green_began: Option<GreenDecision>,
}

/// A controller configuration that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControllerError {
    /// Bad timings.
    #[error(transparent)]
    Timing(#[from] TimingError),
    /// Bad per-group timings, or a table built for another intersection.
    #[error(transparent)]
    GroupTiming(#[from] GroupTimingError),
    /// A policy parameter out of range (the first; [`BuiltinPolicy::problems`] lists all).
    #[error(transparent)]
    Parameter(#[from] ParameterError),
    /// A bad fixed-time plan.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// One group's timings in milliseconds, as the state machine counts them.
#[derive(Debug, Clone, Copy)]
struct GroupMs {
    min_green: u64,
    yellow: u64,
    red_clearance: u64,
}

/// One phase's combined timings in milliseconds ([`PhaseTiming`]).
#[derive(Debug, Clone, Copy)]
struct PhaseMs {
    max_green: u64,
    /// 0 when no group of the phase is on max recall.
    max_recall_hold: u64,
}

/// When each group's current indication and its last red began.
#[derive(Debug, Clone, Copy)]
struct GroupClock {
    green_since: SignalTime,
    yellow_since: SignalTime,
    red_since: SignalTime,
}

/// The signal controller. See the module documentation.
#[derive(Debug, Clone)]
pub struct Controller {
    intersection: Intersection,
    timings: GroupTimings,
    group_ms: Vec<GroupMs>,
    phase_ms: Vec<PhaseMs>,
    /// The start-up all-red: the longest red clearance of any group.
    startup_red_ms: u64,
    /// The longest maximum green of any phase: a call that has waited this long is served
    /// before any younger one (more than two phases).
    longest_max_green_ms: u64,
    /// Groups on min or max recall.
    recalled: GroupSet,
    policy: BuiltinPolicy,
    fail_safe_plan: FixedTime,
    monitor: ConflictMonitor,
    groups: Vec<GroupState>,
    clocks: Vec<GroupClock>,
    mode: Mode,
    /// The phase green or being cleared; `None` during start-up.
    phase: Option<PhaseId>,
    next: Option<PhaseId>,
    /// Why `next` was chosen.
    next_reason: GreenReason,
    interval: Interval,
    interval_start: SignalTime,
    green_start: SignalTime,
    /// The green may not end before this: every group's own minimum green has run.
    min_green_until: SignalTime,
    /// How long the current all-red must last although no group is clearing (start-up, reset,
    /// resume); zero after a change.
    all_red_ms: u64,
    /// Groups showing green.
    green: GroupSet,
    /// Groups in the yellow or red clearance of the last termination.
    clearing: GroupSet,
    /// The clearing groups still in yellow.
    yellow: GroupSet,
    /// Groups whose call came from a detector (not only from recall or a failed detector).
    detector_calls: GroupSet,
    last_termination: Option<Termination>,
    /// How the previous green ended, for the next green's decision.
    ended: Option<Termination>,
    decision: Option<GreenDecision>,
    began: Option<GreenDecision>,
    last_now: SignalTime,
    /// Events raised between ticks (start-up, reset), delivered with the next tick.
    pending: Vec<HiResEvent>,
}

impl Controller {
    /// A controller running the built-in `policy` with its default parameters, with the same
    /// `timings` (and no recall) for every signal group, starting with an all-red start-up
    /// interval (the red clearance) at `start`.
    pub fn new(
        intersection: Intersection,
        timings: Timings,
        policy: PolicyKind,
        start: SignalTime,
    ) -> Result<Self, ControllerError> {
        let policy = BuiltinPolicy::new(policy, &intersection, &timings);
        Self::with_policy(intersection, timings, policy, start)
    }

    /// A controller running `policy` as configured, with the same `timings` (and no recall) for
    /// every signal group.
    pub fn with_policy(
        intersection: Intersection,
        timings: Timings,
        policy: BuiltinPolicy,
        start: SignalTime,
    ) -> Result<Self, ControllerError> {
        timings.validate()?;
        let table = GroupTimings::uniform(&intersection, GroupTiming::new(timings))
            .map_err(|mut problems| problems.swap_remove(0))?;
        Self::with_group_timings(intersection, table, policy, start)
    }

    /// A controller running `policy` as configured on `intersection`, each signal group timed
    /// by its own entry of `timings` (built for this intersection), starting with the start-up
    /// all-red (the longest red clearance of any group) at `start`. Refuses a table built for
    /// another intersection, a policy parameter out of range, and a fixed-time plan whose
    /// greens are outside their phases' minimum and maximum greens.
    pub fn with_group_timings(
        intersection: Intersection,
        timings: GroupTimings,
        policy: BuiltinPolicy,
        start: SignalTime,
    ) -> Result<Self, ControllerError> {
        timings.check_fits(&intersection)?;
        if let Some(e) = policy.problems().into_iter().next() {
            return Err(e.into());
        }
        if let BuiltinPolicy::Fixed(plan) = &policy {
            check_plan(&intersection, &timings, plan)?;
        }
        let fail_safe_plan = match &policy {
            BuiltinPolicy::Fixed(plan) => plan.clone(),
            _ => FixedTime::equal_splits(&intersection, &timings),
        };
        let monitor = ConflictMonitor::new(&intersection, &timings, start);
        let group_ms: Vec<GroupMs> = timings
            .entries()
            .iter()
            .map(|e| GroupMs {
                min_green: duration_ms(e.timings.min_green),
                yellow: duration_ms(e.timings.yellow),
                red_clearance: duration_ms(e.timings.red_clearance),
            })
            .collect();
        let phase_ms: Vec<PhaseMs> = intersection
            .phase_ids()
            .map(|p| {
                let t = PhaseTiming::of(&intersection, &timings, p);
                PhaseMs {
                    max_green: duration_ms(t.max_green),
                    max_recall_hold: t.max_recall_hold.map_or(0, duration_ms),
                }
            })
            .collect();
        let startup_red_ms = group_ms.iter().map(|g| g.red_clearance).max().unwrap_or(0);
        let longest_max_green_ms = phase_ms.iter().map(|p| p.max_green).max().unwrap_or(0);
        let recalled = intersection
            .group_ids()
            .filter(|&g| timings.get(g).recall != Recall::None)
            .fold(GroupSet::EMPTY, GroupSet::with);
        let n = intersection.groups().len();
        let pattern = pattern_of(&policy);
        Ok(Controller {
            group_ms,
            phase_ms,
            startup_red_ms,
            longest_max_green_ms,
            recalled,
            monitor,
            groups: vec![
                GroupState {
                    // Detectors are presumed healthy until a reading says otherwise, so the
                    // first tick logs faults but not "restored".
                    reading: DetectorReading::new(0, 0),
                    ..GroupState::default()
                };
                n
            ],
            clocks: vec![
                GroupClock {
                    green_since: start,
                    yellow_since: start,
                    red_since: start,
                };
                n
            ],
            mode: Mode::Normal,
            phase: None,
            next: None,
            next_reason: GreenReason::NoCall,
            interval: Interval::RedClearance,
            interval_start: start,
            green_start: start,
            min_green_until: start,
            all_red_ms: startup_red_ms,
            green: GroupSet::EMPTY,
            clearing: GroupSet::EMPTY,
            yellow: GroupSet::EMPTY,
            detector_calls: GroupSet::EMPTY,
            last_termination: None,
            ended: None,
            decision: None,
            began: None,
            last_now: start,
            pending: vec![HiResEvent {
                at: start,
                code: EventCode::COORD_PATTERN_CHANGE,
                parameter: pattern,
            }],
            intersection,
            timings,
            policy,
            fail_safe_plan,
        })
    }

    /// Replaces the fail-safe plan (by default equal splits, or the policy's own plan when the
    /// policy is `fixed`).
    pub fn with_fail_safe_plan(mut self, plan: FixedTime) -> Result<Self, ControllerError> {
        check_plan(&self.intersection, &self.timings, &plan)?;
        self.fail_safe_plan = plan;
        Ok(self)
    }

    /// The layout.
    pub fn intersection(&self) -> &Intersection {
        &self.intersection
    }

    /// Each group's timings and recall.
    pub fn timings(&self) -> &GroupTimings {
        &self.timings
    }

    /// A phase's timing, combined from its groups'.
    pub fn phase_timing(&self, phase: PhaseId) -> PhaseTiming {
        PhaseTiming::of(&self.intersection, &self.timings, phase)
    }

    /// The configured policy.
    pub fn policy(&self) -> &BuiltinPolicy {
        &self.policy
    }

    /// The fail-safe plan.
    pub fn fail_safe_plan(&self) -> &FixedTime {
        &self.fail_safe_plan
    }

    /// Operating mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Every group's state (readings, calls, last activity).
    pub fn groups(&self) -> &[GroupState] {
        &self.groups
    }

    /// The longest a call can wait for green, whatever the policy and the demand, give or take
    /// one tick per interval change (transitions happen at ticks).
    ///
    /// Let `M` be the longest maximum green of any phase and `C` the longest yellow + red
    /// clearance of any group (no change lasts longer; the start-up all-red is shorter). With
    /// two phases, a call placed as its own green ends waits at most one change, the other
    /// phase's maximum green and its change: `2 C + M`. With more phases, a call that has
    /// waited `M` is served before any younger one, and each phase with an older call is served
    /// at most once before it, which bounds the wait by `M + C + (phases - 1) (M + C)`.
    pub fn max_wait(&self) -> Duration {
        let clear = (0..self.group_ms.len())
            .map(|g| self.group_ms[g].yellow + self.group_ms[g].red_clearance)
            .max()
            .unwrap_or(0);
        let mg = self.longest_max_green_ms;
        let n = self.intersection.phases().len() as u64;
        let ms = if n <= 2 {
            2 * clear + mg
        } else {
            mg + clear + (mg + clear) * (n - 1)
        };
        Duration::from_millis(ms)
    }

    /// The status as of the last tick.
    pub fn status(&self) -> ControllerStatus {
        ControllerStatus {
            mode: self.mode,
            phase: self.phase,
            next_phase: self.next,
            interval: self.interval,
            time_in_interval: self.last_now.saturating_since(self.interval_start),
            last_termination: self.last_termination,
            policy: if self.mode == Mode::FailSafe {
                "fixed"
            } else {
                self.policy.name()
            },
            fault: self.monitor.fault().cloned(),
            green: self.decision,
        }
    }

    /// An output buffer sized for this controller, for [`Controller::tick_into`].
    pub fn new_output(&self) -> TickOutput {
        TickOutput {
            heads: Vec::with_capacity(self.groups.len()),
            events: Vec::with_capacity(32),
            status: self.status(),
            green_began: None,
        }
    }

    /// Advances the controller to `now` with one reading per signal group (group order; a
    /// missing reading counts as a failed detector). Time that runs backwards is treated as no
    /// time passing.
    pub fn tick(&mut self, now: SignalTime, readings: &[DetectorReading]) -> TickOutput {
        let mut out = self.new_output();
        self.tick_into(now, readings, &mut out);
        out
    }

    /// [`Controller::tick`] writing into a reused buffer (no allocation in steady state).
    pub fn tick_into(
        &mut self,
        now: SignalTime,
        readings: &[DetectorReading],
        out: &mut TickOutput,
    ) {
        out.events.clear();
        out.events.append(&mut self.pending);
        let now = now.max(self.last_now);
        self.last_now = now;
        self.began = None;

        if self.mode != Mode::Flash {
            let all_lost = self.ingest(now, readings, &mut out.events);
            self.update_mode(now, all_lost, &mut out.events);
            self.advance(now, &mut out.events);
        }
        self.write_heads(&mut out.heads);
        if self.mode != Mode::Flash && self.monitor.check(now, &out.heads).is_err() {
            self.enter_flash(now, &mut out.events);
            self.write_heads(&mut out.heads);
        }
        for (g, &h) in self.groups.iter_mut().zip(out.heads.iter()) {
            g.head = h;
        }
        out.status = self.status();
        out.green_began = self.began;
    }

    /// Clears a latched conflict monitor fault and restarts from the start-up all-red at
    /// `now`. Does nothing unless in flash.
    pub fn reset_conflict_monitor(&mut self, now: SignalTime) {
        if self.mode != Mode::Flash {
            return;
        }
        let now = now.max(self.last_now);
        self.last_now = now;
        self.monitor.reset(now);
        self.mode = Mode::Normal;
        self.phase = None;
        self.next = None;
        self.decision = None;
        self.ended = None;
        self.interval = Interval::RedClearance;
        self.interval_start = now;
        self.all_red_ms = self.startup_red_ms;
        self.green = GroupSet::EMPTY;
        self.clearing = GroupSet::EMPTY;
        self.yellow = GroupSet::EMPTY;
        for (g, c) in self.groups.iter_mut().zip(self.clocks.iter_mut()) {
            g.head = HeadState::Red;
            c.red_since = now;
        }
        self.pending.push(HiResEvent {
            at: now,
            code: EventCode::UNIT_FLASH_STATUS_CHANGE,
            parameter: flash_status::NOT_FLASH,
        });
        self.pending.push(HiResEvent {
            at: now,
            code: EventCode::COORD_PATTERN_CHANGE,
            parameter: pattern_of(&self.policy),
        });
    }

    /// Ends service safely, for a shutdown. At the next tick whatever is green ends by force
    /// off (event 6), even before its minimum green (as a controller entering flash does); its
    /// yellow change and red clearance are then timed in full, and after that every head holds
    /// red ([`Mode::Stopped`], [`Interval::AllRed`]) and no green starts again, whatever the
    /// demand, until [`Controller::resume`]. A yellow change or red clearance already under way
    /// (the start-up all-red included) just completes. The stop is logged as a pattern change
    /// to [`pattern::STOPPED`] (event 131, parameter 252) at `now`.
    ///
    /// Ticked every `tick`, the controller is [`Controller::is_all_red`] at most the longest
    /// yellow + red clearance of the ending groups + `tick` after the request (plus one tick per
    /// interval change when ticks do not land on the interval ends). Fail-safe stops the same
    /// way. In flash, or when already stopped, it does nothing: flash stays latched, and
    /// flashing red is already a stop.
    ///
    /// Where a group stays green from one phase into the next (it belongs to both), the stop
    /// can find it green during the change: it begins its yellow at once, and groups already
    /// in yellow restart theirs with it (a longer yellow is safe, a shorter one never happens);
    /// groups already in red clearance end it there, since no green follows it.
    pub fn request_stop(&mut self, now: SignalTime) {
        if matches!(self.mode, Mode::Flash | Mode::Stopped) {
            return;
        }
        let now = now.max(self.last_now);
        self.last_now = now;
        self.mode = Mode::Stopped;
        self.next = None;
        self.pending.push(HiResEvent {
            at: now,
            code: EventCode::COORD_PATTERN_CHANGE,
            parameter: pattern::STOPPED,
        });
    }

    /// Takes a stopped controller back into service at `now`, with the configured policy (the
    /// next tick switches to fail-safe if all detection is lost). From the all-red hold it
    /// restarts with the start-up all-red, like a new controller; during the stop's clearance
    /// the clearance completes and then the policy picks among the calls, as at start-up;
    /// before the stop took effect (no tick since the request) the green simply continues.
    /// Does nothing unless stopped.
    pub fn resume(&mut self, now: SignalTime) {
        if self.mode != Mode::Stopped {
            return;
        }
        let now = now.max(self.last_now);
        self.last_now = now;
        self.mode = Mode::Normal;
        if self.interval == Interval::AllRed {
            self.interval = Interval::RedClearance;
            self.interval_start = now;
            self.all_red_ms = self.startup_red_ms;
            self.ended = None;
        }
        self.pending.push(HiResEvent {
            at: now,
            code: EventCode::COORD_PATTERN_CHANGE,
            parameter: pattern_of(&self.policy),
        });
    }

    /// Whether every head shows red and will keep showing it: a requested stop has completed
    /// ([`Interval::AllRed`]: the last yellow change and red clearance timed in full), or the
    /// conflict monitor latched flash (flashing red). The condition for a daemon to exit after
    /// [`Controller::request_stop`]. False during the start-up all-red and any red clearance
    /// that a green follows. As of the last tick.
    pub fn is_all_red(&self) -> bool {
        self.interval == Interval::AllRed || self.mode == Mode::Flash
    }

    /// Takes in the readings: detector events, call registration, activity. Returns whether
    /// every detector is unhealthy.
    fn ingest(
        &mut self,
        now: SignalTime,
        readings: &[DetectorReading],
        events: &mut Vec<HiResEvent>,
    ) -> bool {
        let recall_all = self.policy.recalls_every_phase();
        let mut all_lost = true;
        for (i, st) in self.groups.iter_mut().enumerate() {
            let r = readings.get(i).copied().unwrap_or(DetectorReading::FAILED);
            let id = SignalGroupId(i as u8);
            let num = id.number();
            let ev = |code, parameter| HiResEvent {
                at: now,
                code,
                parameter,
            };
            if r.healthy != st.reading.healthy {
                events.push(ev(
                    if r.healthy {
                        EventCode::DETECTOR_RESTORED
                    } else {
                        EventCode::DETECTOR_FAULT_OTHER
                    },
                    num,
                ));
            }
            let occupied = r.healthy && r.queue > 0;
            let was_occupied = st.reading.healthy && st.reading.queue > 0;
            if occupied != was_occupied {
                events.push(ev(
                    if occupied {
                        EventCode::DETECTOR_ON
                    } else {
                        EventCode::DETECTOR_OFF
                    },
                    num,
                ));
            }
            if r.healthy {
                all_lost = false;
                for _ in 0..r.arrivals.min(MAX_COUNT_EVENTS_PER_TICK) {
                    events.push(ev(EventCode::DETECTOR_ON, COUNT_CHANNEL_OFFSET + num));
                    events.push(ev(EventCode::DETECTOR_OFF, COUNT_CHANNEL_OFFSET + num));
                }
            }
            let active = r.is_active();
            if active {
                st.last_active = Some(now);
            }
            if r.healthy && r.arrivals > 0 {
                st.last_arrival = Some(now);
            }
            // Vehicles that left the zone since the last tick (crossed the stop line): the zone
            // held `queue` and gained `arrivals`, and now holds fewer.
            if r.healthy
                && st.reading.healthy
                && u64::from(st.reading.queue) + u64::from(r.arrivals) > u64::from(r.queue)
            {
                st.last_departure = Some(now);
            }
            let green = self.green.contains(id);
            let demand = recall_all || !r.healthy || active || self.recalled.contains(id);
            if demand && !green && st.call_since.is_none() {
                st.call_since = Some(now);
                if active && !recall_all {
                    events.push(ev(EventCode::PHASE_CALL_REGISTERED, num));
                }
            }
            if active && !green {
                self.detector_calls = self.detector_calls.with(id);
            }
            st.reading = r;
        }
        all_lost
    }

    fn update_mode(&mut self, now: SignalTime, all_lost: bool, events: &mut Vec<HiResEvent>) {
        let parameter = match (self.mode, all_lost) {
            (Mode::Normal, true) => {
                self.mode = Mode::FailSafe;
                pattern::FAIL_SAFE
            }
            (Mode::FailSafe, false) => {
                self.mode = Mode::Normal;
                pattern_of(&self.policy)
            }
            _ => return,
        };
        events.push(HiResEvent {
            at: now,
            code: EventCode::COORD_PATTERN_CHANGE,
            parameter,
        });
    }

    /// Runs the interval state machine up to `now`. Zero-length intervals (no red clearance)
    /// complete in the same tick, so one tick may pass yellow -> red -> next green.
    fn advance(&mut self, now: SignalTime, events: &mut Vec<HiResEvent>) {
        if self.mode == Mode::Stopped {
            self.end_greens_for_stop(now, events);
        }
        for _ in 0..4 {
            match self.interval {
                Interval::YellowChange | Interval::RedClearance => {
                    if !self.time_clearance(now, events) {
                        return;
                    }
                    if self.mode == Mode::Stopped {
                        self.interval = Interval::AllRed;
                        self.interval_start = now;
                        self.phase = None;
                        self.next = None;
                        self.decision = None;
                        return;
                    }
                    let next = match self.next {
                        Some(q) => q,
                        None => {
                            let q = self.start_up_phase(now);
                            self.next = Some(q);
                            q
                        }
                    };
                    if !self.clear_to_start(next, now) {
                        return;
                    }
                    self.begin_green(next, now, events);
                }
                Interval::Green => {
                    match self.termination(now) {
                        Some((reason, next)) => self.terminate(reason, next, now, events),
                        None => return,
                    }
                    if self.interval == Interval::Green {
                        // Went straight to the next phase (nothing to clear): it is timing its
                        // minimum green now.
                        return;
                    }
                }
                Interval::Flash | Interval::AllRed => return,
            }
        }
    }

    /// Times every clearing group's own yellow and red clearance up to `now`, logging each
    /// group's ends (yellow ends first, for every group, then red clearances). Returns whether
    /// the change (or the start-up all-red) is complete.
    fn time_clearance(&mut self, now: SignalTime, events: &mut Vec<HiResEvent>) -> bool {
        let at = now.as_millis();
        for g in self.yellow.iter() {
            let c = &mut self.clocks[g.index()];
            if at.saturating_sub(c.yellow_since.as_millis()) >= self.group_ms[g.index()].yellow {
                push(
                    events,
                    now,
                    EventCode::PHASE_END_YELLOW_CLEARANCE,
                    g.number(),
                );
                push(
                    events,
                    now,
                    EventCode::PHASE_BEGIN_RED_CLEARANCE,
                    g.number(),
                );
                c.red_since = now;
                self.yellow = GroupSet(self.yellow.0 & !(1u64 << g.index()));
            }
        }
        if self.interval == Interval::YellowChange && self.yellow.is_empty() {
            self.interval = Interval::RedClearance;
            self.interval_start = now;
        }
        let in_red = GroupSet(self.clearing.0 & !self.yellow.0);
        for g in in_red.iter() {
            let red_for = at.saturating_sub(self.clocks[g.index()].red_since.as_millis());
            if red_for >= self.group_ms[g.index()].red_clearance {
                push(events, now, EventCode::PHASE_END_RED_CLEARANCE, g.number());
                push(events, now, EventCode::PHASE_INACTIVE, g.number());
                self.clearing = GroupSet(self.clearing.0 & !(1u64 << g.index()));
            }
        }
        self.clearing.is_empty()
            && at.saturating_sub(self.interval_start.as_millis()) >= self.all_red_ms
    }

    /// Whether every group conflicting with a group that `next` turns green has been red for
    /// its own red clearance: what the conflict monitor will check. The clearance timing above
    /// makes it so after every change; this also covers the groups whose red clearance a stop
    /// cut short, should the controller resume before they are done.
    fn clear_to_start(&self, next: PhaseId, now: SignalTime) -> bool {
        let starting = self.intersection.phase(next).groups().0 & !self.green.0;
        let mut guarded = 0u64;
        for g in GroupSet(starting).iter() {
            guarded |= self.intersection.conflicts_of(g).0;
        }
        GroupSet(guarded).iter().all(|c| {
            let red_for = now
                .as_millis()
                .saturating_sub(self.clocks[c.index()].red_since.as_millis());
            !self.green.contains(c)
                && !self.clearing.contains(c)
                && red_for >= self.group_ms[c.index()].red_clearance
        })
    }

    /// Phases with a call, except `except`.
    fn candidates(&self, except: Option<PhaseId>) -> PhaseSet {
        let called = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.call_since.is_some())
            .fold(0u64, |m, (i, _)| m | (1u64 << i));
        let mut set = 0u64;
        for (i, p) in self.intersection.phases().iter().enumerate() {
            if p.groups().0 & called != 0 && except.map(|e| e.index()) != Some(i) {
                set |= 1u64 << i;
            }
        }
        PhaseSet(set)
    }

    /// Whether (and why) the green should end now, and which phase follows.
    fn termination(&mut self, now: SignalTime) -> Option<(Termination, PhaseId)> {
        let p = self.phase?;
        if now < self.min_green_until {
            return None;
        }
        let in_green = now.as_millis().saturating_sub(self.green_start.as_millis());
        let candidates = self.candidates(Some(p));
        if candidates.is_empty() {
            return None;
        }
        let earliest_call = self.groups.iter().filter_map(|g| g.call_since).min()?;
        let max_from = earliest_call.max(self.green_start);
        let since_call = now.as_millis().saturating_sub(max_from.as_millis());
        let fixed_time = self.mode == Mode::FailSafe || self.policy.recalls_every_phase();
        let timing = self.phase_ms[p.index()];
        let reason = if since_call >= timing.max_green {
            Termination::MaxOut
        } else if !fixed_time && since_call < timing.max_recall_hold {
            return None;
        } else if self.mode == Mode::Normal && !fixed_time && self.phase_has_failed_detector(p) {
            if in_green < self.fail_safe_plan.green_ms(p) {
                return None;
            }
            Termination::ForceOff
        } else {
            let view = PolicyView {
                now,
                intersection: &self.intersection,
                timings: &self.timings,
                phase: p,
                green_since: self.green_start,
                groups: &self.groups,
                candidates,
            };
            let request = if self.mode == Mode::FailSafe {
                self.fail_safe_plan.request(&view)
            } else {
                self.policy.request(&view)
            };
            match request {
                Request::Hold => return None,
                Request::GapOut => Termination::GapOut,
                Request::ForceOff => Termination::ForceOff,
            }
        };
        Some((reason, self.select_next(now, p, candidates)))
    }

    fn phase_has_failed_detector(&self, p: PhaseId) -> bool {
        self.intersection
            .phase(p)
            .groups()
            .iter()
            .any(|g| !self.groups[g.index()].reading.healthy)
    }

    /// The policy's choice among `candidates`, overruled when it is not a candidate, and (with
    /// more than two phases) when some call has waited the longest maximum green: then the
    /// oldest call goes first, which is what bounds every wait. Records why in `next_reason`.
    fn select_next(&mut self, now: SignalTime, from: PhaseId, candidates: PhaseSet) -> PhaseId {
        let view = PolicyView {
            now,
            intersection: &self.intersection,
            timings: &self.timings,
            phase: from,
            green_since: self.green_start,
            groups: &self.groups,
            candidates,
        };
        let (proposed, mut reason) = if self.mode == Mode::FailSafe {
            let q = self.fail_safe_plan.choose_next(&view);
            (q, GreenReason::FailSafePlan)
        } else {
            let q = self.policy.choose_next(&view);
            (q, self.policy.reason(&view, q))
        };
        let oldest = view.longest_waiting(candidates);
        let waited = |q: PhaseId| {
            view.waiting_since(q)
                .map_or(0, |t| now.as_millis().saturating_sub(t.as_millis()))
        };
        let mut next = proposed;
        if !candidates.contains(proposed) {
            next = oldest.unwrap_or(from);
            reason = GreenReason::LongestWait {
                waited: Duration::from_millis(waited(next)),
            };
        }
        if self.intersection.phases().len() > 2 {
            if let Some(o) = oldest {
                let w = waited(o);
                if w >= self.longest_max_green_ms && o != next {
                    next = o;
                    reason = GreenReason::LongestWait {
                        waited: Duration::from_millis(w),
                    };
                }
            }
        }
        // A policy's reason is about detected demand; where the phase had none, recall is why.
        let detector_demand = self.intersection.phase(next).groups().0 & self.detector_calls.0;
        let adaptive = self.mode == Mode::Normal && !self.policy.recalls_every_phase();
        let policy_reason = !matches!(reason, GreenReason::LongestWait { .. });
        if adaptive && policy_reason && detector_demand == 0 && candidates.contains(next) {
            reason = GreenReason::Recall;
        }
        self.next_reason = reason;
        next
    }

    /// The first phase after start-up: the policy's pick among called phases, else the first.
    fn start_up_phase(&mut self, now: SignalTime) -> PhaseId {
        let candidates = self.candidates(None);
        if candidates.is_empty() {
            self.next_reason = GreenReason::NoCall;
            return PhaseId(0);
        }
        let last = PhaseId((self.intersection.phases().len() - 1) as u8);
        self.select_next(now, last, candidates)
    }

    fn terminate(
        &mut self,
        reason: Termination,
        next: PhaseId,
        now: SignalTime,
        events: &mut Vec<HiResEvent>,
    ) {
        let next_groups = self.intersection.phase(next).groups();
        let ending = GroupSet(self.green.0 & !next_groups.0);
        push_green_ends(events, now, reason, ending);
        self.last_termination = Some(reason);
        self.ended = Some(reason);
        if ending.is_empty() {
            self.begin_green(next, now, events);
            return;
        }
        for g in ending.iter() {
            self.clocks[g.index()].yellow_since = now;
        }
        self.green = GroupSet(self.green.0 & next_groups.0);
        self.clearing = ending;
        self.yellow = ending;
        self.all_red_ms = 0;
        self.next = Some(next);
        self.interval = Interval::YellowChange;
        self.interval_start = now;
    }

    /// Ends every green for a stop (see [`Controller::request_stop`]).
    fn end_greens_for_stop(&mut self, now: SignalTime, events: &mut Vec<HiResEvent>) {
        let ending = self.green;
        if ending.is_empty() {
            return;
        }
        let in_red = GroupSet(self.clearing.0 & !self.yellow.0);
        for g in in_red.iter() {
            push(events, now, EventCode::PHASE_END_RED_CLEARANCE, g.number());
            push(events, now, EventCode::PHASE_INACTIVE, g.number());
        }
        let reason = Termination::ForceOff;
        push_green_ends(events, now, reason, ending);
        self.last_termination = Some(reason);
        self.ended = Some(reason);
        self.green = GroupSet::EMPTY;
        self.yellow = GroupSet(self.yellow.0 | ending.0);
        self.clearing = self.yellow;
        for g in self.yellow.iter() {
            self.clocks[g.index()].yellow_since = now;
        }
        self.all_red_ms = 0;
        self.next = None;
        self.interval = Interval::YellowChange;
        self.interval_start = now;
    }

    fn begin_green(&mut self, q: PhaseId, now: SignalTime, events: &mut Vec<HiResEvent>) {
        let groups = self.intersection.phase(q).groups();
        let starting = GroupSet(groups.0 & !self.green.0);
        for g in starting.iter() {
            push(events, now, EventCode::PHASE_BEGIN_GREEN, g.number());
            self.groups[g.index()].call_since = None;
            self.clocks[g.index()].green_since = now;
        }
        self.detector_calls = GroupSet(self.detector_calls.0 & !starting.0);
        let min_green_until = groups
            .iter()
            .map(|g| {
                let since = self.clocks[g.index()].green_since;
                since.as_millis() + self.group_ms[g.index()].min_green
            })
            .max()
            .unwrap_or(0);
        let decision = GreenDecision {
            phase: q,
            at: now,
            reason: self.next_reason,
            after: self.ended.take(),
        };
        self.decision = Some(decision);
        self.began = Some(decision);
        self.min_green_until = SignalTime::from_millis(min_green_until);
        self.green = groups;
        self.phase = Some(q);
        self.next = None;
        self.interval = Interval::Green;
        self.interval_start = now;
        self.green_start = now;
    }

    fn enter_flash(&mut self, now: SignalTime, events: &mut Vec<HiResEvent>) {
        self.mode = Mode::Flash;
        self.interval = Interval::Flash;
        self.interval_start = now;
        self.phase = None;
        self.next = None;
        self.decision = None;
        self.began = None;
        self.green = GroupSet::EMPTY;
        self.clearing = GroupSet::EMPTY;
        self.yellow = GroupSet::EMPTY;
        push(events, now, EventCode::COORD_PATTERN_CHANGE, pattern::FLASH);
        push(
            events,
            now,
            EventCode::UNIT_FLASH_STATUS_CHANGE,
            flash_status::MMU,
        );
    }

    fn write_heads(&self, heads: &mut Vec<HeadState>) {
        heads.clear();
        for i in 0..self.groups.len() {
            let id = SignalGroupId(i as u8);
            heads.push(if self.mode == Mode::Flash {
                HeadState::FlashingRed
            } else if self.green.contains(id) {
                HeadState::Green
            } else if self.yellow.contains(id) {
                HeadState::Yellow
            } else {
                HeadState::Red
            });
        }
    }
}

fn push(events: &mut Vec<HiResEvent>, at: SignalTime, code: EventCode, parameter: u8) {
    events.push(HiResEvent {
        at,
        code,
        parameter,
    });
}

/// The events of greens ending: how they ended (gap out, max out, force off), green
/// termination, and the start of their yellow change.
fn push_green_ends(
    events: &mut Vec<HiResEvent>,
    now: SignalTime,
    reason: Termination,
    ending: GroupSet,
) {
    for g in ending.iter() {
        push(events, now, reason.event_code(), g.number());
        push(events, now, EventCode::PHASE_GREEN_TERMINATION, g.number());
        push(
            events,
            now,
            EventCode::PHASE_BEGIN_YELLOW_CLEARANCE,
            g.number(),
        );
    }
}

fn pattern_of(policy: &BuiltinPolicy) -> u8 {
    if policy.recalls_every_phase() {
        pattern::FIXED_TIME
    } else {
        pattern::FREE
    }
}

fn check_plan(
    intersection: &Intersection,
    timings: &GroupTimings,
    plan: &FixedTime,
) -> Result<(), PlanError> {
    if plan.phase_count() != intersection.phases().len() {
        return Err(PlanError::PhaseCount {
            expected: intersection.phases().len(),
            got: plan.phase_count(),
        });
    }
    FixedTime::with_greens(intersection, timings, &plan.greens()).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings() -> [DetectorReading; 2] {
        [DetectorReading::new(1, 0), DetectorReading::new(1, 0)]
    }

    #[test]
    fn a_corrupted_state_trips_the_monitor_and_latches_flash_until_reset() {
        let mut ctl = Controller::new(
            Intersection::two_approach(),
            Timings::default(),
            PolicyKind::Fixed,
            SignalTime::ZERO,
        )
        .unwrap();
        let t = SignalTime::from_millis;
        for k in 0..=50 {
            ctl.tick(t(k * 100), &readings());
        }
        assert_eq!(ctl.status().interval, Interval::Green);

        // A state machine bug greens both groups: the monitor, not the state machine, catches it.
        ctl.green = GroupSet(0b11);
        let out = ctl.tick(t(5_100), &readings());
        assert_eq!(out.heads, vec![HeadState::FlashingRed; 2]);
        assert_eq!(out.status.mode, Mode::Flash);
        assert_eq!(out.status.interval, Interval::Flash);
        let fault = out.status.fault.clone().expect("fault reported");
        assert!(
            fault
                .to_string()
                .contains("\"A\" (green) and \"B\" (green)"),
            "{fault}"
        );
        let codes: Vec<(u8, u8)> = out.events.iter().map(|e| (e.code.0, e.parameter)).collect();
        assert!(codes.contains(&(131, pattern::FLASH)), "{codes:?}");
        assert!(codes.contains(&(173, flash_status::MMU)), "{codes:?}");

        // Latched: minutes later, still flashing.
        for k in 52..=1_000 {
            let out = ctl.tick(t(k * 100), &readings());
            assert_eq!(out.heads, vec![HeadState::FlashingRed; 2]);
        }

        // Explicit reset: all-red start-up (red clearance), then a green.
        ctl.reset_conflict_monitor(t(100_000));
        let out = ctl.tick(t(100_100), &readings());
        assert_eq!(out.heads, vec![HeadState::Red; 2]);
        assert_eq!(out.status.mode, Mode::Normal);
        assert_eq!(out.events[0].code, EventCode::UNIT_FLASH_STATUS_CHANGE);
        assert_eq!(out.events[0].parameter, flash_status::NOT_FLASH);
        let out = ctl.tick(t(102_000), &readings());
        assert_eq!(
            out.heads.iter().filter(|h| **h == HeadState::Green).count(),
            1
        );
    }

    #[test]
    fn a_stop_in_flash_leaves_flash_latched_and_reports_all_red() {
        let mut ctl = Controller::new(
            Intersection::two_approach(),
            Timings::default(),
            PolicyKind::Compare,
            SignalTime::ZERO,
        )
        .unwrap();
        let t = SignalTime::from_millis;
        for k in 0..=50 {
            ctl.tick(t(k * 100), &readings());
        }
        ctl.green = GroupSet(0b11);
        ctl.tick(t(5_100), &readings());
        assert_eq!(ctl.mode(), Mode::Flash);
        assert!(ctl.is_all_red());

        ctl.request_stop(t(5_150));
        ctl.resume(t(5_160));
        let out = ctl.tick(t(5_200), &readings());
        assert_eq!(out.heads, vec![HeadState::FlashingRed; 2]);
        assert_eq!(out.status.mode, Mode::Flash);
        assert!(out
            .events
            .iter()
            .all(|e| e.code != EventCode::COORD_PATTERN_CHANGE));
        assert!(ctl.is_all_red());
    }

    #[test]
    fn controller_and_outputs_are_clone_and_debug() {
        let mut ctl = Controller::new(
            Intersection::four_arm_two_phase(),
            Timings::default(),
            PolicyKind::MaxPressure,
            SignalTime::ZERO,
        )
        .unwrap();
        let mut copy = ctl.clone();
        let r = [DetectorReading::new(2, 1); 4];
        let a = ctl.tick(SignalTime::from_millis(2_000), &r);
        let b = copy.tick(SignalTime::from_millis(2_000), &r);
        assert_eq!(a, b);
        assert!(format!("{ctl:?}").contains("MaxPressure"));
    }

    #[test]
    fn bad_timings_and_plans_are_rejected_at_construction() {
        let i = Intersection::two_approach();
        let bad = Timings {
            red_clearance: Duration::from_secs(30),
            ..Timings::default()
        };
        let e =
            Controller::new(i.clone(), bad, PolicyKind::Actuated, SignalTime::ZERO).unwrap_err();
        assert!(e.to_string().starts_with("red_clearance is 30 s"), "{e}");

        let four = Intersection::four_arm_two_phase();
        let plan = FixedTime::equal_splits(&four, &Timings::default());
        let three = Intersection::from_spec(&crate::IntersectionSpec {
            groups: vec!["A".into(), "B".into(), "C".into()],
            phases: vec![
                crate::PhaseSpec::new("A", &["A"]),
                crate::PhaseSpec::new("B", &["B"]),
                crate::PhaseSpec::new("C", &["C"]),
            ],
            conflicts: Default::default(),
        })
        .unwrap();
        let e = Controller::new(
            three,
            Timings::default(),
            PolicyKind::Compare,
            SignalTime::ZERO,
        )
        .unwrap()
        .with_fail_safe_plan(plan)
        .unwrap_err();
        assert_eq!(e.to_string(), "the plan has 2 values for 3 phases");
    }
}
