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

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

use proptest::prelude::*;
use semaforo_signal::{
    ConflictMonitor, Controller, DetectorReading, HeadState, Intersection, IntersectionSpec, Mode,
    PhaseSpec, PolicyKind, SignalTime, Timings,
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
