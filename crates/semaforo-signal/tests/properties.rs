//! Property tests: thousands of random demand sequences for every policy and every built-in
//! intersection (plus a three-phase layout from a spec), each checked tick by tick by a checker
//! written independently of the controller:
//!
//! - no conflicting groups are ever green or yellow together, and the controller's own monitor
//!   never trips (no flashing red, mode never `Flash`);
//! - every green lasts at least minimum green, every yellow the yellow time, and a group turns
//!   green only after all conflicting groups have been red for the red clearance;
//! - no green runs maximum green past the first conflicting call (NEMA max timer);
//! - every call is served within [`Controller::max_wait`] (plus one tick per interval change);
//! - nothing panics, with random timings, jittered tick spacing, noisy counts and detectors that
//!   fail and recover (including all at once, which forces the fail-safe plan);
//! - in half the cases a stop is requested at a random time (at a tick, as the daemon does): no
//!   head is green from that tick on (minimum green may be cut short, yellow and red clearance
//!   may not), the controller reports all red within yellow + red clearance + two tick spacings
//!   (the request's tick ends the green; only the yellow's and the red clearance's last ticks
//!   may overshoot), never before every head has been red for the red clearance, and stays so.
//!
//! Demand comes from a small queue model: vehicles arrive at a per-segment rate and leave at
//! saturation flow (one per 2 s) while their group is green, so queues build and clear as they
//! would in front of a camera.
//!
//! The second half runs configured intersections: every case generates its own random valid
//! layout (2 to 12 signal groups in 2 to 8 phases, groups shared between phases, conflicts
//! explicit or "every pair no phase greens together"), its own per-group timings within range
//! and recall modes, and checks, per policy and for at least 1,000 cases each, with a checker
//! that knows only the generated layout and timings (not the controller's `Intersection`):
//!
//! - no conflicting groups are ever green or yellow together, and the monitor never trips;
//! - every group's green lasts at least its own minimum green (unless a stop cuts it), its
//!   yellow its own yellow time, and it turns green only after every conflicting group has been
//!   red for that group's own red clearance;
//! - a group in a single phase never runs that phase's maximum green (the largest of its
//!   groups') past the first conflicting call, and a group on max recall is held green at
//!   least its own maximum green after the first conflicting call (adaptive operation);
//! - bounded wait: every call (detector, recall or failed detector) is served within
//!   `2 C + M` with two phases and `M + C + (phases - 1) (M + C)` with more, where `M` is the
//!   longest phase maximum green and `C` the longest yellow + red clearance of any group, plus
//!   one tick spacing per interval change;
//! - after a stop, no green, and all red within the longest yellow + red clearance.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

use proptest::prelude::*;
use semaforo_signal::{
    BuiltinPolicy, ConflictMonitor, ConflictSpec, Controller, DetectorReading, GroupTiming,
    GroupTimings, HeadState, Intersection, IntersectionSpec, Mode, PhaseSpec, PolicyKind, Recall,
    SignalTime, Timings,
};

#[derive(Debug, Clone)]
struct Segment {
    secs: u32,
    /// Arrival rate class per group (0: none ... 4: heavy).
    rates: Vec<u8>,
    healthy: Vec<bool>,
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    tick_ms: u64,
    timings: Timings,
    segments: Vec<Segment>,
    /// When to request a stop, in thousandths of the run.
    stop_permille: Option<u16>,
}

fn timings() -> impl Strategy<Value = Timings> {
    (5u64..=15, 5u64..=45, 30u64..=50, 0u64..=30, 5u64..=40).prop_map(
        |(min_s, extra_s, yellow_ds, red_ds, passage_ds)| Timings {
            min_green: Duration::from_secs(min_s),
            max_green: Duration::from_secs(min_s + extra_s),
            passage: Duration::from_millis(passage_ds * 100),
            yellow: Duration::from_millis(yellow_ds * 100),
            red_clearance: Duration::from_millis(red_ds * 100),
        },
    )
}

fn case(groups: usize) -> impl Strategy<Value = Case> {
    let segment = (
        5u32..150,
        prop::collection::vec(0u8..5, groups),
        prop::collection::vec(prop::bool::weighted(0.85), groups),
    )
        .prop_map(|(secs, rates, healthy)| Segment {
            secs,
            rates,
            healthy,
        });
    (
        any::<u64>(),
        prop_oneof![Just(100u64), Just(250), Just(1000)],
        timings(),
        prop::collection::vec(segment, 2..7),
        prop::option::of(0u16..1000),
    )
        .prop_map(|(seed, tick_ms, timings, segments, stop_permille)| Case {
            seed,
            tick_ms,
            timings,
            segments,
            stop_permille,
        })
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The test's own record of one group, kept from the outputs alone.
#[derive(Debug, Clone, Copy)]
struct Seen {
    head: HeadState,
    since: SignalTime,
    red_since: SignalTime,
    call_since: Option<SignalTime>,
}

fn simulate(intersection: Intersection, policy: PolicyKind, case: &Case) -> Result<(), String> {
    let n = intersection.groups().len();
    let t = case.timings;
    let mut ctl = Controller::new(intersection.clone(), t, policy, SignalTime::ZERO)
        .map_err(|e| e.to_string())?;
    let mut monitor = ConflictMonitor::new(&intersection, &t, SignalTime::ZERO);
    let max_tick_ms = case.tick_ms + case.tick_ms / 2;
    let slop = Duration::from_millis(6 * max_tick_ms);
    let max_wait = ctl.max_wait() + slop;
    let ms = |d: Duration| d.as_millis() as u64;

    let mut rng = Rng(case.seed | 1);
    let mut queue = vec![0u32; n];
    let mut discharge = vec![0f64; n];
    let mut seen = vec![
        Seen {
            head: HeadState::Red,
            since: SignalTime::ZERO,
            red_since: SignalTime::ZERO,
            call_since: None,
        };
        n
    ];
    let mut readings = vec![DetectorReading::FAILED; n];
    let mut out = ctl.new_output();
    let mut now_ms = 0u64;
    let run_ms: u64 = case.segments.iter().map(|s| u64::from(s.secs) * 1000).sum();
    let stop_ms = case.stop_permille.map(|p| run_ms * u64::from(p) / 1000);
    let stop_bound = ms(t.yellow + t.red_clearance) + 2 * max_tick_ms;
    let mut stopped_at: Option<SignalTime> = None;
    let mut all_red_at: Option<SignalTime> = None;
    for seg in &case.segments {
        let end = now_ms + u64::from(seg.secs) * 1000;
        while now_ms < end {
            let now = SignalTime::from_millis(now_ms);
            // Demand for this tick.
            for g in 0..n {
                let p_per_s = [0.0, 0.05, 0.15, 0.3, 0.6][usize::from(seg.rates[g])];
                let arrivals = u32::from(rng.unit() < p_per_s * case.tick_ms as f64 / 1000.0);
                queue[g] += arrivals;
                let mut shown = queue[g];
                if rng.unit() < 0.02 {
                    shown = if rng.next() & 1 == 0 {
                        shown.saturating_sub(1)
                    } else {
                        shown + 1
                    };
                }
                readings[g] = if seg.healthy[g] {
                    DetectorReading::new(shown, arrivals)
                } else {
                    DetectorReading::FAILED
                };
            }
            if stopped_at.is_none() && stop_ms.is_some_and(|s| now_ms >= s) {
                ctl.request_stop(now);
                stopped_at = Some(now);
            }
            ctl.tick_into(now, &readings, &mut out);

            if out.status.mode == Mode::Flash {
                return Err(format!(
                    "controller latched flash at {now}: {:?}",
                    out.status.fault
                ));
            }
            if let Err(f) = monitor.check(now, &out.heads) {
                return Err(format!("independent monitor tripped: {f}"));
            }
            // Calls as the controller should register them: demand while not green.
            for (s, r) in seen.iter_mut().zip(&readings) {
                let demand =
                    policy == PolicyKind::Fixed || !r.healthy || r.queue > 0 || r.arrivals > 0;
                if demand && s.head != HeadState::Green && s.call_since.is_none() {
                    s.call_since = Some(now);
                }
            }
            // Conflicts.
            for a in intersection.group_ids() {
                for b in intersection.group_ids() {
                    if a < b
                        && intersection.conflicts(a, b)
                        && out.heads[a.index()].is_permissive()
                        && out.heads[b.index()].is_permissive()
                    {
                        return Err(format!("conflict at {now}: {:?}", out.heads));
                    }
                }
            }
            // Interval lengths and transitions.
            for g in 0..n {
                let (before, after) = (seen[g].head, out.heads[g]);
                let held = now.as_millis() - seen[g].since.as_millis();
                match (before, after) {
                    (x, y) if x == y => {}
                    (HeadState::Green, HeadState::Yellow) => {
                        if held < ms(t.min_green) && stopped_at.is_none() {
                            return Err(format!("group {g} green {held} ms < min at {now}"));
                        }
                    }
                    (HeadState::Yellow, HeadState::Red) => {
                        if held < ms(t.yellow) {
                            return Err(format!("group {g} yellow {held} ms at {now}"));
                        }
                    }
                    (HeadState::Red, HeadState::Green) => {
                        for c in intersection
                            .conflicts_of(intersection.group_ids().nth(g).unwrap())
                            .iter()
                        {
                            let red = now.as_millis() - seen[c.index()].red_since.as_millis();
                            if red < ms(t.red_clearance) {
                                return Err(format!(
                                    "group {g} green {red} ms after conflicting {} at {now}",
                                    c.index()
                                ));
                            }
                        }
                    }
                    (x, y) => return Err(format!("group {g}: {x} -> {y} at {now}")),
                }
                if before != after {
                    seen[g].head = after;
                    seen[g].since = now;
                    if after == HeadState::Red {
                        seen[g].red_since = now;
                    }
                    if after == HeadState::Green {
                        seen[g].call_since = None;
                    }
                }
            }
            // Maximum green, timed from the first conflicting call.
            let earliest_call = seen.iter().filter_map(|s| s.call_since).min();
            for (g, (s, h)) in seen.iter().zip(&out.heads).enumerate() {
                if *h != HeadState::Green {
                    continue;
                }
                if let Some(c) = earliest_call {
                    let from = c.max(s.since);
                    let run = now.as_millis().saturating_sub(from.as_millis());
                    if run >= ms(t.max_green) {
                        return Err(format!("group {g} green {run} ms past a call at {now}"));
                    }
                }
            }
            // The stop.
            if let Some(stop) = stopped_at {
                if out.heads.contains(&HeadState::Green) {
                    return Err(format!("green at {now} after the stop at {stop}"));
                }
                let since_stop = now.as_millis() - stop.as_millis();
                match (all_red_at, ctl.is_all_red()) {
                    (None, true) => {
                        for (g, s) in seen.iter().enumerate() {
                            let red = now.as_millis() - s.red_since.as_millis();
                            if s.head != HeadState::Red || red < ms(t.red_clearance) {
                                return Err(format!(
                                    "all red claimed at {now}, group {g} {} for {red} ms",
                                    s.head
                                ));
                            }
                        }
                        all_red_at = Some(now);
                    }
                    (None, false) if since_stop > stop_bound => {
                        return Err(format!("not all red {since_stop} ms after the stop"));
                    }
                    (Some(at), false) => return Err(format!("all red at {at}, not at {now}")),
                    _ => {}
                }
                if all_red_at.is_some() && since_stop > stop_bound + 10_000 {
                    return Ok(());
                }
            }
            // Maximum wait (calls after a stop are never served).
            for (g, s) in seen.iter().enumerate().filter(|_| stopped_at.is_none()) {
                if let Some(c) = s.call_since {
                    let waited = now.saturating_since(c);
                    if waited > max_wait {
                        return Err(format!(
                            "group {g} waited {waited:?} > {max_wait:?} (at {now})"
                        ));
                    }
                }
            }
            // Vehicles leave at saturation flow while green.
            for g in 0..n {
                if out.heads[g] == HeadState::Green && queue[g] > 0 {
                    discharge[g] += case.tick_ms as f64 / 2000.0;
                    while discharge[g] >= 1.0 && queue[g] > 0 {
                        discharge[g] -= 1.0;
                        queue[g] -= 1;
                    }
                } else {
                    discharge[g] = 0.0;
                }
            }
            let jitter = rng.next() % (case.tick_ms / 2 + 1);
            now_ms += case.tick_ms + jitter;
        }
    }
    Ok(())
}

fn three_phase() -> Intersection {
    Intersection::from_spec(&IntersectionSpec {
        groups: vec!["A".into(), "B".into(), "C".into()],
        phases: vec![
            PhaseSpec::new("A", &["A"]),
            PhaseSpec::new("B", &["B"]),
            PhaseSpec::new("C", &["C"]),
        ],
        conflicts: Default::default(),
    })
    .unwrap()
}

macro_rules! property {
    ($name:ident, $intersection:expr, $groups:expr, $policy:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn $name(c in case($groups)) {
                if let Err(e) = simulate($intersection, $policy, &c) {
                    prop_assert!(false, "{}", e);
                }
            }
        }
    };
}

property!(
    fixed_two_approach_is_safe_and_serves_every_call,
    Intersection::two_approach(),
    2,
    PolicyKind::Fixed
);
property!(
    compare_two_approach_is_safe_and_serves_every_call,
    Intersection::two_approach(),
    2,
    PolicyKind::Compare
);
property!(
    actuated_two_approach_is_safe_and_serves_every_call,
    Intersection::two_approach(),
    2,
    PolicyKind::Actuated
);
property!(
    max_pressure_two_approach_is_safe_and_serves_every_call,
    Intersection::two_approach(),
    2,
    PolicyKind::MaxPressure
);
property!(
    fixed_four_arm_is_safe_and_serves_every_call,
    Intersection::four_arm_two_phase(),
    4,
    PolicyKind::Fixed
);
property!(
    compare_four_arm_is_safe_and_serves_every_call,
    Intersection::four_arm_two_phase(),
    4,
    PolicyKind::Compare
);
property!(
    actuated_four_arm_is_safe_and_serves_every_call,
    Intersection::four_arm_two_phase(),
    4,
    PolicyKind::Actuated
);
property!(
    max_pressure_four_arm_is_safe_and_serves_every_call,
    Intersection::four_arm_two_phase(),
    4,
    PolicyKind::MaxPressure
);
property!(
    compare_three_phase_serves_every_call_within_max_wait,
    three_phase(),
    3,
    PolicyKind::Compare
);
property!(
    max_pressure_three_phase_serves_every_call_within_max_wait,
    three_phase(),
    3,
    PolicyKind::MaxPressure
);

/// A generated layout with per-group timings: what the checker knows.
#[derive(Debug, Clone)]
struct Layout {
    groups: usize,
    /// Each phase's groups.
    phases: Vec<Vec<usize>>,
    /// `conflict[a][b]`: the two groups must never be green or yellow together.
    conflict: Vec<Vec<bool>>,
    /// Whether the spec lists the conflicts explicitly (else the default rule derives them).
    explicit: bool,
    timings: Vec<GroupTiming>,
}

impl Layout {
    fn spec(&self) -> IntersectionSpec {
        let name = |g: usize| format!("G{g}");
        let mut pairs = Vec::new();
        for a in 0..self.groups {
            for b in a + 1..self.groups {
                if self.conflict[a][b] {
                    pairs.push((name(a), name(b)));
                }
            }
        }
        IntersectionSpec {
            groups: (0..self.groups).map(name).collect(),
            phases: self
                .phases
                .iter()
                .enumerate()
                .map(|(k, gs)| PhaseSpec {
                    name: format!("P{k}"),
                    groups: gs.iter().map(|&g| name(g)).collect(),
                })
                .collect(),
            conflicts: if self.explicit {
                ConflictSpec::Pairs(pairs)
            } else {
                ConflictSpec::UnlessSharingAPhase
            },
        }
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    fn t(&self, g: usize) -> Timings {
        self.timings[g].timings
    }

    /// The phases that green `g`.
    fn phases_of(&self, g: usize) -> Vec<usize> {
        (0..self.phases.len())
            .filter(|&k| self.phases[k].contains(&g))
            .collect()
    }

    /// A phase's maximum green: the largest of its groups'.
    fn phase_max_green(&self, k: usize) -> u64 {
        self.phases[k]
            .iter()
            .map(|&g| Self::ms(self.t(g).max_green))
            .max()
            .unwrap_or(0)
    }

    /// The wait bound, derived from the timings alone (see the module documentation).
    fn wait_bound_ms(&self) -> u64 {
        let m = (0..self.phases.len())
            .map(|k| self.phase_max_green(k))
            .max()
            .unwrap_or(0);
        let c = (0..self.groups)
            .map(|g| Self::ms(self.t(g).yellow + self.t(g).red_clearance))
            .max()
            .unwrap_or(0);
        let n = self.phases.len() as u64;
        if n <= 2 {
            2 * c + m
        } else {
            m + c + (n - 1) * (m + c)
        }
    }
}

fn group_timing() -> impl Strategy<Value = GroupTiming> {
    (
        (2u64..=30, 2u64..=90, 0u64..=50),
        (10u64..=60, 0u64..=40),
        prop_oneof![6 => Just(Recall::None), 3 => Just(Recall::Min), 2 => Just(Recall::Max)],
    )
        .prop_map(
            |((min_hs, extra_hs, passage_ds), (yellow_ds, red_ds), recall)| GroupTiming {
                timings: Timings {
                    min_green: Duration::from_millis(min_hs * 500),
                    max_green: Duration::from_millis((min_hs + extra_hs) * 500),
                    passage: Duration::from_millis(passage_ds * 100),
                    yellow: Duration::from_millis(yellow_ds * 100),
                    red_clearance: Duration::from_millis(red_ds * 100),
                },
                recall,
            },
        )
}

fn layout() -> impl Strategy<Value = Layout> {
    (2usize..=12, 2usize..=8)
        .prop_flat_map(|(groups, phases)| {
            (
                Just(groups),
                prop::collection::vec(
                    prop::collection::vec(prop::bool::weighted(0.25), groups),
                    phases,
                ),
                prop::collection::vec(0..phases, groups),
                prop::option::of(prop::collection::vec(
                    prop::bool::weighted(0.8),
                    groups * groups,
                )),
                prop::collection::vec(group_timing(), groups),
            )
        })
        .prop_map(|(groups, member, home, keep, timings)| {
            let p = member.len();
            let mut phases: Vec<Vec<usize>> = (0..p)
                .map(|k| {
                    (0..groups)
                        .filter(|&g| member[k][g] || home[g] == k)
                        .collect()
                })
                .collect();
            for (k, gs) in phases.iter_mut().enumerate() {
                if gs.is_empty() {
                    gs.push(k % groups);
                }
            }
            let share =
                |a: usize, b: usize| phases.iter().any(|gs| gs.contains(&a) && gs.contains(&b));
            let mut conflict = vec![vec![false; groups]; groups];
            for a in 0..groups {
                for b in 0..groups {
                    if a != b && !share(a, b) {
                        let kept = keep
                            .as_ref()
                            .is_none_or(|k| k[a.min(b) * groups + a.max(b)]);
                        conflict[a][b] = kept;
                    }
                }
            }
            Layout {
                groups,
                phases,
                conflict,
                explicit: keep.is_some(),
                timings,
            }
        })
}

fn configured_case() -> impl Strategy<Value = (Layout, Case)> {
    layout().prop_flat_map(|l| {
        let n = l.groups;
        (Just(l), case(n))
    })
}

/// Runs a configured intersection under `policy` and checks every tick against `layout` alone.
fn simulate_configured(layout: &Layout, policy: PolicyKind, case: &Case) -> Result<(), String> {
    let n = layout.groups;
    let intersection = Intersection::from_spec(&layout.spec()).map_err(|e| e.to_string())?;
    let table =
        GroupTimings::new(&intersection, layout.timings.clone()).map_err(|e| format!("{e:?}"))?;
    let built = BuiltinPolicy::new(policy, &intersection, &table);
    let mut ctl = Controller::with_group_timings(intersection, table, built, SignalTime::ZERO)
        .map_err(|e| e.to_string())?;
    let ms = Layout::ms;
    let max_tick_ms = case.tick_ms + case.tick_ms / 2;
    // One tick spacing per interval change: three per phase served, and the first change.
    let slop = (3 * layout.phases.len() as u64 + 3) * max_tick_ms;
    let wait_bound = layout.wait_bound_ms() + slop;
    let longest_clearance = (0..n)
        .map(|g| ms(layout.t(g).yellow + layout.t(g).red_clearance))
        .max()
        .unwrap_or(0);
    let stop_bound = longest_clearance + 2 * max_tick_ms;
    let single_phase: Vec<Option<usize>> = (0..n)
        .map(|g| match layout.phases_of(g)[..] {
            [k] => Some(k),
            _ => None,
        })
        .collect();

    let mut rng = Rng(case.seed | 1);
    let mut queue = vec![0u32; n];
    let mut discharge = vec![0f64; n];
    let mut seen = vec![
        Seen {
            head: HeadState::Red,
            since: SignalTime::ZERO,
            red_since: SignalTime::ZERO,
            call_since: None,
        };
        n
    ];
    let mut readings = vec![DetectorReading::FAILED; n];
    let mut out = ctl.new_output();
    let mut now_ms = 0u64;
    let run_ms: u64 = case.segments.iter().map(|s| u64::from(s.secs) * 1000).sum();
    let stop_ms = case.stop_permille.map(|p| run_ms * u64::from(p) / 1000);
    let mut stopped_at: Option<SignalTime> = None;
    let mut all_red_at: Option<SignalTime> = None;
    for seg in &case.segments {
        let end = now_ms + u64::from(seg.secs) * 1000;
        while now_ms < end {
            let now = SignalTime::from_millis(now_ms);
            for g in 0..n {
                let p_per_s = [0.0, 0.05, 0.15, 0.3, 0.6][usize::from(seg.rates[g])];
                let arrivals = u32::from(rng.unit() < p_per_s * case.tick_ms as f64 / 1000.0);
                queue[g] += arrivals;
                readings[g] = if seg.healthy[g] {
                    DetectorReading::new(queue[g], arrivals)
                } else {
                    DetectorReading::FAILED
                };
            }
            if stopped_at.is_none() && stop_ms.is_some_and(|s| now_ms >= s) {
                ctl.request_stop(now);
                stopped_at = Some(now);
            }
            ctl.tick_into(now, &readings, &mut out);
            let heads = &out.heads;
            if out.status.mode == Mode::Flash {
                return Err(format!("flash at {now}: {:?}", out.status.fault));
            }
            if heads.len() != n {
                return Err(format!("{} heads for {n} groups", heads.len()));
            }
            // Calls as the controller should register them.
            for (g, (s, r)) in seen.iter_mut().zip(&readings).enumerate() {
                let demand = policy == PolicyKind::Fixed
                    || !r.healthy
                    || r.queue > 0
                    || r.arrivals > 0
                    || layout.timings[g].recall != Recall::None;
                if demand && s.head != HeadState::Green && s.call_since.is_none() {
                    s.call_since = Some(now);
                }
            }
            // No conflicting permissive indications.
            for a in 0..n {
                for b in a + 1..n {
                    if layout.conflict[a][b] && heads[a].is_permissive() && heads[b].is_permissive()
                    {
                        return Err(format!("G{a} and G{b} conflict at {now}: {heads:?}"));
                    }
                }
            }
            // Each group's own minimum green, yellow and the conflicting groups' red clearance.
            let earliest_call = seen.iter().filter_map(|s| s.call_since).min();
            for g in 0..n {
                let (before, after) = (seen[g].head, heads[g]);
                let held = now.as_millis() - seen[g].since.as_millis();
                let t = layout.t(g);
                match (before, after) {
                    (x, y) if x == y => {}
                    (HeadState::Green, HeadState::Yellow) => {
                        if stopped_at.is_none() {
                            if held < ms(t.min_green) {
                                return Err(format!("G{g} green {held} ms < its min at {now}"));
                            }
                            let adaptive =
                                policy != PolicyKind::Fixed && out.status.mode == Mode::Normal;
                            if layout.timings[g].recall == Recall::Max
                                && adaptive
                                && single_phase[g].is_some()
                            {
                                let from = earliest_call.map_or(now, |c| c.max(seen[g].since));
                                let run = now.as_millis().saturating_sub(from.as_millis());
                                if run < ms(t.max_green) {
                                    return Err(format!(
                                        "G{g} on max recall ended {run} ms after a call at {now}"
                                    ));
                                }
                            }
                        }
                    }
                    (HeadState::Yellow, HeadState::Red) => {
                        if held < ms(t.yellow) {
                            return Err(format!("G{g} yellow {held} ms at {now}"));
                        }
                    }
                    (HeadState::Red, HeadState::Green) => {
                        for c in (0..n).filter(|&c| layout.conflict[g][c]) {
                            // A conflicting group that turns red at this very tick has been
                            // red for no time (allowed only with no red clearance).
                            let red_since = if seen[c].head == HeadState::Red {
                                seen[c].red_since
                            } else {
                                now
                            };
                            let red = now.as_millis() - red_since.as_millis();
                            if heads[c] != HeadState::Red || red < ms(layout.t(c).red_clearance) {
                                return Err(format!(
                                    "G{g} green {red} ms after conflicting G{c} at {now}"
                                ));
                            }
                        }
                    }
                    (x, y) => return Err(format!("G{g}: {x} -> {y} at {now}")),
                }
            }
            for g in 0..n {
                if seen[g].head != heads[g] {
                    seen[g].head = heads[g];
                    seen[g].since = now;
                    if heads[g] == HeadState::Red {
                        seen[g].red_since = now;
                    }
                    if heads[g] == HeadState::Green {
                        seen[g].call_since = None;
                    }
                }
            }
            // A single-phase group's green never runs its phase's maximum past a call.
            for g in 0..n {
                let Some(k) = single_phase[g] else { continue };
                if heads[g] != HeadState::Green {
                    continue;
                }
                if let Some(c) = earliest_call {
                    let run = now
                        .as_millis()
                        .saturating_sub(c.max(seen[g].since).as_millis());
                    if run >= layout.phase_max_green(k) {
                        return Err(format!("G{g} green {run} ms past a call at {now}"));
                    }
                }
            }
            if let Some(stop) = stopped_at {
                if heads.contains(&HeadState::Green) {
                    return Err(format!("green at {now} after the stop at {stop}"));
                }
                let since_stop = now.as_millis() - stop.as_millis();
                match (all_red_at, ctl.is_all_red()) {
                    (None, true) => {
                        if heads.iter().any(|h| *h != HeadState::Red) {
                            return Err(format!("all red claimed at {now}: {heads:?}"));
                        }
                        all_red_at = Some(now);
                    }
                    (None, false) if since_stop > stop_bound => {
                        return Err(format!("not all red {since_stop} ms after the stop"));
                    }
                    (Some(at), false) => return Err(format!("all red at {at}, not at {now}")),
                    _ => {}
                }
                if all_red_at.is_some() && since_stop > stop_bound + 10_000 {
                    return Ok(());
                }
            } else {
                // Bounded wait.
                for (g, s) in seen.iter().enumerate() {
                    if let Some(c) = s.call_since {
                        let waited = now.as_millis() - c.as_millis();
                        if waited > wait_bound {
                            return Err(format!(
                                "G{g} waited {waited} ms > {wait_bound} ms (at {now})"
                            ));
                        }
                    }
                }
            }
            for g in 0..n {
                if heads[g] == HeadState::Green && queue[g] > 0 {
                    discharge[g] += case.tick_ms as f64 / 2000.0;
                    while discharge[g] >= 1.0 && queue[g] > 0 {
                        discharge[g] -= 1.0;
                        queue[g] -= 1;
                    }
                } else {
                    discharge[g] = 0.0;
                }
            }
            let jitter = rng.next() % (case.tick_ms / 2 + 1);
            now_ms += case.tick_ms + jitter;
        }
    }
    Ok(())
}

macro_rules! configured_property {
    ($name:ident, $policy:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn $name((l, c) in configured_case()) {
                if let Err(e) = simulate_configured(&l, $policy, &c) {
                    prop_assert!(false, "{}", e);
                }
            }
        }
    };
}

configured_property!(
    fixed_on_configured_intersections_honours_every_groups_timings,
    PolicyKind::Fixed
);
configured_property!(
    compare_on_configured_intersections_honours_every_groups_timings,
    PolicyKind::Compare
);
configured_property!(
    actuated_on_configured_intersections_honours_every_groups_timings,
    PolicyKind::Actuated
);
configured_property!(
    max_pressure_on_configured_intersections_honours_every_groups_timings,
    PolicyKind::MaxPressure
);

#[test]
fn generated_layouts_span_two_to_eight_phases_with_shared_groups_and_both_conflict_kinds() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut phases, mut shared, mut explicit, mut recalls) = (vec![0; 9], 0, 0, 0);
    for _ in 0..400 {
        let l = layout().new_tree(&mut runner).unwrap().current();
        assert!(Intersection::from_spec(&l.spec()).is_ok(), "{l:?}");
        phases[l.phases.len()] += 1;
        shared += usize::from((0..l.groups).any(|g| l.phases_of(g).len() > 1));
        explicit += usize::from(l.explicit);
        recalls += l
            .timings
            .iter()
            .filter(|t| t.recall != Recall::None)
            .count();
    }
    assert!(phases[2..=8].iter().all(|&c| c > 20), "{phases:?}");
    assert!(shared > 100 && explicit > 100 && explicit < 300 && recalls > 400);
}
