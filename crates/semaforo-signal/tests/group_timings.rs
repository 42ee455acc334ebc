//! Deterministic scenarios for per-group timings, recall modes, policy parameters and the reason
//! reported with every green, through the public API only. Ticks are every 100 ms; timelines
//! list the phase events (codes 1 and 4–12) as `(seconds, code, signal group number)`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

use semaforo_signal::{
    BuiltinPolicy, ConflictMonitor, Controller, ControllerError, DetectorReading, GreenReason,
    GroupTiming, GroupTimings, HeadState, HiResEvent, Intersection, IntersectionSpec, Interval,
    PhaseSpec, PolicyKind, Recall, SignalTime, Termination, TickOutput, Timings,
};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A group timing: min, max, yellow, red clearance in seconds; default passage (3 s).
fn gt(min: f64, max: f64, yellow: f64, red: f64) -> GroupTiming {
    GroupTiming::new(Timings {
        min_green: secs(min),
        max_green: secs(max),
        yellow: secs(yellow),
        red_clearance: secs(red),
        ..Timings::default()
    })
}

fn r(queue: u32, arrivals: u32) -> DetectorReading {
    DetectorReading::new(queue, arrivals)
}

fn controller(
    intersection: Intersection,
    entries: Vec<GroupTiming>,
    policy: PolicyKind,
) -> Controller {
    let timings = GroupTimings::new(&intersection, entries).unwrap();
    let policy = BuiltinPolicy::new(policy, &intersection, &timings);
    Controller::with_group_timings(intersection, timings, policy, SignalTime::ZERO).unwrap()
}

/// Runs `ctl` at 10 Hz for `secs` seconds; every output is also checked by an independent
/// conflict monitor given the controller's per-group timings.
fn run(
    ctl: &mut Controller,
    secs: u64,
    mut readings: impl FnMut(u64) -> Vec<DetectorReading>,
) -> Vec<(u64, TickOutput)> {
    let mut monitor = ConflictMonitor::new(ctl.intersection(), ctl.timings(), SignalTime::ZERO);
    let mut outs = Vec::new();
    for tenth in 0..=secs * 10 {
        let now = SignalTime::from_millis(tenth * 100);
        let out = ctl.tick(now, &readings(tenth));
        assert_eq!(monitor.check(now, &out.heads), Ok(()), "at {now}");
        outs.push((tenth, out));
    }
    outs
}

fn events(outs: &[(u64, TickOutput)]) -> Vec<HiResEvent> {
    outs.iter().flat_map(|(_, o)| o.events.clone()).collect()
}

fn phase_timeline(outs: &[(u64, TickOutput)]) -> Vec<(f64, u8, u8)> {
    events(outs)
        .iter()
        .filter(|e| e.code.0 == 1 || (4..=12).contains(&e.code.0))
        .map(|e| (e.at.as_secs_f64(), e.code.0, e.parameter))
        .collect()
}

fn greens(outs: &[(u64, TickOutput)]) -> Vec<(f64, String, String)> {
    outs.iter()
        .filter_map(|(t, o)| {
            o.green_began
                .map(|d| (*t as f64 / 10.0, format!("{:?}", d.phase), d.to_string()))
        })
        .collect()
}

fn four_arm() -> Intersection {
    Intersection::four_arm_two_phase()
}

#[test]
fn each_group_times_its_own_yellow_and_red_clearance() {
    // A: 4 s yellow, 1 s red clearance; B: 3 s yellow, 3 s red clearance. Fixed plan, 20 s
    // greens. Start-up all-red: the longest red clearance, 3 s.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![gt(10.0, 60.0, 4.0, 1.0), gt(10.0, 60.0, 3.0, 3.0)],
        PolicyKind::Fixed,
    );
    let outs = run(&mut ctl, 60, |_| vec![r(0, 0), r(0, 0)]);
    let (a, b) = (1, 2);
    let want = vec![
        (3.0, 1, a),
        (23.0, 6, a),
        (23.0, 7, a),
        (23.0, 8, a),
        (27.0, 9, a),
        (27.0, 10, a),
        (28.0, 11, a),
        (28.0, 12, a),
        (28.0, 1, b),
        (48.0, 6, b),
        (48.0, 7, b),
        (48.0, 8, b),
        (51.0, 9, b),
        (51.0, 10, b),
        (54.0, 11, b),
        (54.0, 12, b),
        (54.0, 1, a),
    ];
    assert_eq!(phase_timeline(&outs), want);
    assert_eq!(
        ctl.fail_safe_plan()
            .cycle_length_for(ctl.intersection(), ctl.timings()),
        secs(51.0)
    );
}

#[test]
fn a_phase_change_waits_for_the_slowest_ending_group() {
    // N: 3 s yellow + 2 s red clearance; S: 5 s yellow, no red clearance. NS ends at 22 s: N is
    // yellow to 25 s and red-clearing to 27 s, S yellow to 27 s; EW starts at 27 s.
    let mut ctl = controller(
        four_arm(),
        vec![
            gt(10.0, 60.0, 3.0, 2.0),
            gt(10.0, 60.0, 5.0, 0.0),
            gt(10.0, 60.0, 3.0, 2.0),
            gt(10.0, 60.0, 3.0, 2.0),
        ],
        PolicyKind::Fixed,
    );
    let outs = run(&mut ctl, 30, |_| vec![r(0, 0); 4]);
    let (n, s, e, w) = (1, 2, 3, 4);
    let mut want = vec![(2.0, 1, n), (2.0, 1, s)];
    for g in [n, s] {
        want.extend([(22.0, 6, g), (22.0, 7, g), (22.0, 8, g)]);
    }
    want.extend([(25.0, 9, n), (25.0, 10, n)]);
    want.extend([(27.0, 9, s), (27.0, 10, s)]);
    want.extend([(27.0, 11, n), (27.0, 12, n), (27.0, 11, s), (27.0, 12, s)]);
    want.extend([(27.0, 1, e), (27.0, 1, w)]);
    assert_eq!(phase_timeline(&outs), want);
    // The interval is the yellow change while any ending group is yellow.
    let at = |s: u64| &outs[s as usize * 10].1;
    assert_eq!(at(26).status.interval, Interval::YellowChange);
    assert_eq!(
        at(26).heads,
        vec![
            HeadState::Red,
            HeadState::Yellow,
            HeadState::Red,
            HeadState::Red
        ]
    );
}

#[test]
fn a_phase_ends_no_earlier_than_every_groups_own_minimum_green() {
    // N 5 s, S 15 s minimum green; NS has no traffic, EW calls from the start: compare ends
    // the empty green at the largest minimum green, 15 s after it began.
    let mut ctl = controller(
        four_arm(),
        vec![
            gt(5.0, 60.0, 3.0, 2.0),
            gt(15.0, 60.0, 3.0, 2.0),
            gt(10.0, 60.0, 3.0, 2.0),
            gt(10.0, 60.0, 3.0, 2.0),
        ],
        PolicyKind::Compare,
    );
    let outs = run(&mut ctl, 30, |t| {
        // NS has a car until start-up ends only (a tie with EW, so cycle order serves it first).
        let ns = u32::from(t <= 20);
        vec![r(ns, 0), r(ns, 0), r(1, 0), r(1, 0)]
    });
    let ends: Vec<(f64, u8, u8)> = phase_timeline(&outs)
        .into_iter()
        .filter(|e| e.1 == 4)
        .collect();
    assert_eq!(ends, vec![(17.0, 4, 1), (17.0, 4, 2)]);
    assert_eq!(
        ctl.phase_timing(ctl.intersection().phase_ids().next().unwrap())
            .min_green,
        secs(15.0)
    );
}

#[test]
fn max_recall_holds_the_green_to_its_groups_maximum_without_any_vehicle() {
    // A on max recall (max green 40 s) and never sees a vehicle; B has a car in its zone and
    // one arriving every second throughout. Actuated: without recall A would not be served at
    // all; with it A is served first (cycle order), held to max out 40 s after B's call (its
    // empty zone would have gapped it out at once), then B.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![
            gt(10.0, 40.0, 3.0, 2.0).with_recall(Recall::Max),
            gt(10.0, 60.0, 3.0, 2.0),
        ],
        PolicyKind::Actuated,
    );
    let outs = run(&mut ctl, 100, |t| {
        vec![r(0, 0), r(1, u32::from(t.is_multiple_of(10)))]
    });
    let mut want = vec![(2.0, 1, 1)];
    want.extend([(42.0, 5, 1), (42.0, 7, 1), (42.0, 8, 1)]);
    want.extend([(45.0, 9, 1), (45.0, 10, 1), (47.0, 11, 1), (47.0, 12, 1)]);
    want.push((47.0, 1, 2));
    // B holds (its arrivals keep it extended) until A's recall call maxes it out, 60 s later.
    assert_eq!(&phase_timeline(&outs)[..want.len()], &want[..]);
    let g = greens(&outs);
    assert_eq!(g[0].2, "recall", "{g:?}");
    assert_eq!(
        g[1].2, "actuated: next phase with a call, after max-out",
        "{g:?}"
    );
}

#[test]
fn min_recall_serves_a_group_without_demand_every_cycle_for_its_minimum_green() {
    // A on min recall (minimum green 6 s), no vehicle ever; B busy with arrivals that keep it
    // extended, maximum green 30 s. Every cycle: B maxes out, A gets 6 s and gaps out.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![
            gt(6.0, 40.0, 3.0, 1.0).with_recall(Recall::Min),
            gt(10.0, 30.0, 3.0, 1.0),
        ],
        PolicyKind::Actuated,
    );
    let outs = run(&mut ctl, 200, |t| {
        vec![r(0, 0), r(3, u32::from(t.is_multiple_of(10)))]
    });
    let a_greens: Vec<(f64, u8)> = phase_timeline(&outs)
        .into_iter()
        .filter(|e| e.2 == 1 && (e.1 == 1 || e.1 == 4))
        .map(|e| (e.0, e.1))
        .collect();
    // Start-up: A first (cycle order), gaps out at its 6 s minimum green; then B max-outs 30 s
    // after A's recall call (placed as A's yellow began), and A again: 6 s of green each cycle.
    assert_eq!(
        a_greens,
        vec![
            (1.0, 1),
            (7.0, 4),
            (45.0, 1),
            (51.0, 4),
            (89.0, 1),
            (95.0, 4),
            (133.0, 1),
            (139.0, 4),
            (177.0, 1),
            (183.0, 4)
        ]
    );
}

#[test]
fn every_green_says_why_its_phase_was_chosen() {
    // Max-pressure on four arms: N 1 + S 1 = 2 against E 0 + W 3 = 3.
    let mut ctl = controller(
        four_arm(),
        vec![gt(10.0, 60.0, 3.0, 2.0); 4],
        PolicyKind::MaxPressure,
    );
    let outs = run(&mut ctl, 3, |_| vec![r(1, 0), r(1, 0), r(0, 0), r(3, 0)]);
    let g = greens(&outs);
    assert_eq!(
        g,
        vec![(
            2.0,
            "PhaseId(1)".into(),
            "max-pressure: pressure 3 against 2".into()
        )]
    );
    let status = ctl.status();
    let d = status
        .green
        .expect("the green's decision stays in the status");
    assert_eq!(
        d.reason,
        GreenReason::MaxPressure {
            pressure: 3,
            against: 2
        }
    );
    assert_eq!(d.after, None);

    // Compare on two approaches: A 5, B 20 from 30 s; A is forced off and B's green says why.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![gt(10.0, 60.0, 3.0, 2.0); 2],
        PolicyKind::Compare,
    );
    let outs = run(&mut ctl, 40, |t| {
        vec![r(5, 0), r(if t < 300 { 0 } else { 20 }, 0)]
    });
    let g = greens(&outs);
    assert_eq!(g[0].2, "compare: queue 5 vs 0, margin 8");
    assert_eq!(g[1].2, "compare: queue 20 vs 5, margin 8, after force-off");
    // B is green: the status carries B's decision.
    assert_eq!(
        ctl.status().green.unwrap().after,
        Some(Termination::ForceOff)
    );

    // All detection lost: the fail-safe plan.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![gt(10.0, 60.0, 3.0, 2.0); 2],
        PolicyKind::Compare,
    );
    let outs = run(&mut ctl, 30, |_| vec![DetectorReading::FAILED; 2]);
    let g = greens(&outs);
    assert_eq!(g[0].2, "fail-safe plan");
    assert_eq!(g[1].2, "fail-safe plan, after force-off");

    // Nobody calls at start-up: the first phase.
    let mut ctl = controller(
        Intersection::two_approach(),
        vec![gt(10.0, 60.0, 3.0, 2.0); 2],
        PolicyKind::Actuated,
    );
    let outs = run(&mut ctl, 3, |_| vec![r(0, 0); 2]);
    assert_eq!(greens(&outs)[0].2, "no call: first phase");
}

#[test]
fn the_longest_waiting_call_is_served_first_and_said_so() {
    // Three phases under max-pressure: A and B carry 10 vehicles each, C one car. A maxes out
    // at 62 s toward B (the policy's pick, also the oldest call in cycle order); B maxes out at
    // 127 s and the policy would go back to A, but C's call has waited 127 s, more than the
    // longest maximum green: C goes first.
    let three = Intersection::from_spec(&IntersectionSpec {
        groups: vec!["A".into(), "B".into(), "C".into()],
        phases: vec![
            PhaseSpec::new("A", &["A"]),
            PhaseSpec::new("B", &["B"]),
            PhaseSpec::new("C", &["C"]),
        ],
        conflicts: Default::default(),
    })
    .unwrap();
    let mut ctl = controller(
        three,
        vec![gt(10.0, 60.0, 3.0, 2.0); 3],
        PolicyKind::MaxPressure,
    );
    let outs = run(&mut ctl, 140, |_| vec![r(10, 0), r(10, 0), r(1, 0)]);
    let g = greens(&outs);
    assert_eq!(g.len(), 3, "{g:?}");
    assert_eq!(g[1].0, 67.0);
    assert_eq!(
        g[2],
        (
            132.0,
            "PhaseId(2)".into(),
            "longest wait (127 s), after max-out".into()
        )
    );
}

#[test]
fn tables_and_parameters_that_cannot_run_are_refused() {
    let two = Intersection::two_approach();
    let four = four_arm();
    let table = GroupTimings::new(&four, vec![GroupTiming::default(); 4]).unwrap();
    let policy = BuiltinPolicy::new(PolicyKind::Actuated, &two, &table);
    let e =
        Controller::with_group_timings(two.clone(), table, policy, SignalTime::ZERO).unwrap_err();
    assert!(matches!(e, ControllerError::GroupTiming(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "the per-group timings are for signal groups [\"N\", \"S\", \"E\", \"W\"]; the \
         intersection has [\"A\", \"B\"]"
    );

    let table = GroupTimings::new(&two, vec![GroupTiming::default(); 2]).unwrap();
    let bad = BuiltinPolicy::Compare(semaforo_signal::policy::Compare { margin: 500 });
    let e = Controller::with_group_timings(two.clone(), table.clone(), bad, SignalTime::ZERO)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "compare.margin is 500 vehicles; accepted range is 0 vehicles to 100 vehicles"
    );

    // A plan green beyond a phase's own maximum green (A's is 15 s).
    let table =
        GroupTimings::new(&two, vec![gt(5.0, 15.0, 3.0, 2.0), GroupTiming::default()]).unwrap();
    let plan = semaforo_signal::FixedTime {
        greens: vec![secs(20.0), secs(20.0)],
    };
    let e =
        Controller::with_group_timings(two, table, BuiltinPolicy::Fixed(plan), SignalTime::ZERO)
            .unwrap_err();
    assert!(e.to_string().contains("phase \"A\" is 20 s"), "{e}");
}

#[test]
fn the_old_constructor_is_the_table_with_one_timing_for_every_group() {
    let timings = Timings {
        min_green: secs(7.0),
        red_clearance: secs(1.5),
        ..Timings::default()
    };
    let readings = |t: u64| {
        vec![
            r((t % 5) as u32, 0),
            r(((t / 7) % 4) as u32, u32::from(t.is_multiple_of(9))),
        ]
    };
    let mut old = Controller::new(
        four_arm(),
        timings,
        PolicyKind::MaxPressure,
        SignalTime::ZERO,
    )
    .unwrap();
    let mut new = controller(
        four_arm(),
        vec![GroupTiming::new(timings); 4],
        PolicyKind::MaxPressure,
    );
    let a = run(&mut old, 600, |t| {
        let mut v = readings(t);
        v.extend(readings(t + 3));
        v
    });
    let b = run(&mut new, 600, |t| {
        let mut v = readings(t);
        v.extend(readings(t + 3));
        v
    });
    assert_eq!(a, b);
    assert_eq!(old.max_wait(), new.max_wait());
}
