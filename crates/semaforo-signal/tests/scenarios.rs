//! Deterministic scenarios with hand-checked timelines, one or more per policy, through the
//! public API only. Ticks are every 100 ms; timelines list the phase events (codes 1 and 4–12)
//! as `(seconds, code, signal group number)`.

use std::time::Duration;

use semaforo_signal::{
    Controller, DetectorReading, EventCode, HeadState, HiResEvent, Intersection, Mode, PolicyKind,
    SignalTime, Termination, Timings,
};

const A: u8 = 1;
const B: u8 = 2;

/// Runs `ctl` for `secs` seconds at 10 Hz; `readings(tenth)` gives the readings of each tick.
fn run(
    ctl: &mut Controller,
    secs: u64,
    mut readings: impl FnMut(u64) -> Vec<DetectorReading>,
) -> Vec<HiResEvent> {
    let mut events = Vec::new();
    for tenth in 0..=secs * 10 {
        let out = ctl.tick(SignalTime::from_millis(tenth * 100), &readings(tenth));
        events.extend(out.events);
    }
    events
}

fn phase_timeline(events: &[HiResEvent]) -> Vec<(f64, u8, u8)> {
    events
        .iter()
        .filter(|e| e.code.0 == 1 || (4..=12).contains(&e.code.0))
        .map(|e| (e.at.as_secs_f64(), e.code.0, e.parameter))
        .collect()
}

/// The events of one group's green ending at `t` for `reason` (4, 5 or 6), its yellow ending
/// at `t + y`, its red clearance ending at `t + y + r`, and `next` beginning green then.
fn change(t: f64, g: u8, reason: u8, next: u8, y: f64, r: f64) -> Vec<(f64, u8, u8)> {
    vec![
        (t, reason, g),
        (t, 7, g),
        (t, 8, g),
        (t + y, 9, g),
        (t + y, 10, g),
        (t + y + r, 11, g),
        (t + y + r, 12, g),
        (t + y + r, 1, next),
    ]
}

fn two(policy: PolicyKind) -> Controller {
    Controller::new(
        Intersection::two_approach(),
        Timings::default(),
        policy,
        SignalTime::ZERO,
    )
    .unwrap()
}

fn r(queue: u32, arrivals: u32) -> DetectorReading {
    DetectorReading::new(queue, arrivals)
}

#[test]
fn fixed_time_runs_twenty_second_splits_whatever_the_counts() {
    let mut ctl = two(PolicyKind::Fixed);
    let events = run(&mut ctl, 80, |t| vec![r((t % 7) as u32, 0), r(0, 0)]);
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(22.0, A, 6, B, 3.0, 2.0));
    want.extend(change(47.0, B, 6, A, 3.0, 2.0));
    want.extend(change(72.0, A, 6, B, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    // The plan is announced as pattern 1 at start.
    assert_eq!(events[0].code, EventCode::COORD_PATTERN_CHANGE);
    assert_eq!(events[0].parameter, 1);
}

#[test]
fn compare_a_has_5_b_has_3_b_waits_at_most_max_wait() {
    let mut ctl = two(PolicyKind::Compare);
    let events = run(&mut ctl, 200, |_| vec![r(5, 0), r(3, 0)]);
    // Start-up all-red 2 s, A (more cars) first. A's 5 never beats B's 3 by the margin (8), and
    // neither empties, so each green runs to max green, timed from the other's call: A from its
    // green at 2 s (B called at 0) to 62 s; B from 67 s (A called again at 62.1 s) to 127 s;
    // A from 132 s to 192 s.
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(62.0, A, 5, B, 3.0, 2.0));
    want.extend(change(127.0, B, 5, A, 3.0, 2.0));
    want.extend(change(192.0, A, 5, B, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    // B's wait: called at 0 s (or 127.1 s), green at 67 s (197 s): 67 s (69.9 s), within the
    // max wait of 70 s (yellow + red clearance + max green + yellow + red clearance).
    assert_eq!(ctl.max_wait(), Duration::from_secs(70));
}

#[test]
fn compare_hands_over_when_the_waiting_side_has_margin_more() {
    let mut ctl = two(PolicyKind::Compare);
    // A 3 throughout; B 20 from 30 s: 20 >= 3 + 8, so A is forced off at once (A's minimum
    // green long done). Then A's 3 never beats B's 20: B runs to max green from A's call.
    let events = run(&mut ctl, 40, |t| {
        vec![r(3, 0), r(if t < 300 { 0 } else { 20 }, 0)]
    });
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(30.0, A, 6, B, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
}

#[test]
fn compare_does_not_thrash_on_equalish_counts() {
    let mut ctl = two(PolicyKind::Compare);
    // A 4, B 5: within the margin, so whichever is green keeps it until max out.
    let events = run(&mut ctl, 140, |_| vec![r(4, 0), r(5, 0)]);
    let terminations: Vec<(f64, u8)> = phase_timeline(&events)
        .into_iter()
        .filter(|e| (4..=6).contains(&e.1))
        .map(|e| (e.0, e.1))
        .collect();
    // Start-up picks B (5 > 4); B holds to max out at 62; A holds to max out at 67 + 60.
    assert_eq!(terminations, vec![(62.0, 5), (127.0, 5)]);
}

#[test]
fn compare_ends_an_empty_green_at_minimum_green() {
    let mut ctl = two(PolicyKind::Compare);
    // A's queue clears at 5 s; B has one car from 8 s.
    let events = run(&mut ctl, 30, |t| {
        vec![r(if t < 50 { 3 } else { 0 }, 0), r(u32::from(t >= 80), 0)]
    });
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(12.0, A, 4, B, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
}

#[test]
fn actuated_extends_on_arrivals_gaps_out_and_maxes_out() {
    let mut ctl = two(PolicyKind::Actuated);
    // A: one arrival every 2 s until 28 s. B: one car waiting throughout (it keeps B's green
    // extended once served). A: a car waiting again from 50 s.
    let events = run(&mut ctl, 120, |t| {
        let a_arrival = u32::from(t % 20 == 0 && t <= 280);
        vec![r(u32::from(t >= 500), a_arrival), r(1, 0)]
    });
    // A gaps out 3 s (passage) after its last arrival at 28 s. B rests in green until A's call
    // at 50 s starts its max timer: max out at 110 s.
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(31.0, A, 4, B, 3.0, 2.0));
    want.extend(change(110.0, B, 5, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(ctl.status().last_termination, Some(Termination::MaxOut));
}

#[test]
fn max_pressure_gaps_out_on_a_cleared_queue_and_switches_with_hysteresis() {
    let mut ctl = two(PolicyKind::MaxPressure);
    let events = run(&mut ctl, 50, |t| {
        let a = match t {
            0..=199 => 8, // A's queue, served until it clears at 20 s
            200..=299 => 0,
            300..=399 => 8, // A builds up again: 8 < 3 x 2 + 3, B holds
            _ => 9,         // 9 >= 3 x 2 + 3: A takes over
        };
        // B: 1 car (too few to force A off: 1 < 3 x 0 + 3), then 2 from 30 s.
        vec![r(a, 0), r(if t < 300 { 1 } else { 2 }, 0)]
    });
    // A (8 > 1) first; its queue clears at 20.0 s, 1 s of empty zone gaps it out at 20.9 s.
    // B green at 25.9 s; A reaches the threshold at 40 s (B's minimum green ended at 35.9 s).
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(20.9, A, 4, B, 3.0, 2.0));
    want.extend(change(40.0, B, 6, A, 3.0, 2.0));
    let got = phase_timeline(&events);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g.0 - w.0).abs() < 1e-9 && g.1 == w.1 && g.2 == w.2,
            "{got:?}"
        );
    }
}

#[test]
fn max_pressure_serves_the_phase_with_the_largest_pressure_on_four_arms() {
    let mut ctl = Controller::new(
        Intersection::four_arm_two_phase(),
        Timings::default(),
        PolicyKind::MaxPressure,
        SignalTime::ZERO,
    )
    .unwrap();
    // N 1 + S 1 = 2 against E 0 + W 3 = 3: EW first although N/S come first in cycle order.
    let out = run(&mut ctl, 3, |_| vec![r(1, 0), r(1, 0), r(0, 0), r(3, 0)]);
    let greens: Vec<u8> = phase_timeline(&out)
        .into_iter()
        .filter(|e| e.1 == 1)
        .map(|e| e.2)
        .collect();
    assert_eq!(greens, vec![3, 4]);
}

#[test]
fn a_failed_detector_is_on_recall_and_gets_the_plan_green() {
    let mut ctl = two(PolicyKind::Actuated);
    // A has no traffic; B's detector is dead. B must still be served, for the fail-safe plan's
    // 20 s green, and A (no calls) is not served in between: B rests in green.
    let events = run(&mut ctl, 60, |_| vec![r(0, 0), DetectorReading::FAILED]);
    assert_eq!(events[1].code, EventCode::DETECTOR_FAULT_OTHER);
    assert_eq!(events[1].parameter, B);
    // Start-up: only B calls, so B first; it rests in green (nobody else calls).
    assert_eq!(phase_timeline(&events), vec![(2.0, 1, B)]);
    assert_eq!(ctl.mode(), Mode::Normal);

    // Now a car on A: B's green ends once its plan green (20 s) has run.
    let mut ctl = two(PolicyKind::Actuated);
    let events = run(&mut ctl, 40, |t| {
        vec![r(u32::from(t >= 50), 0), DetectorReading::FAILED]
    });
    let mut want = vec![(2.0, 1, B)];
    want.extend(change(22.0, B, 6, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
}

#[test]
fn losing_all_detection_runs_the_fixed_plan_until_a_detector_recovers() {
    let mut ctl = two(PolicyKind::MaxPressure);
    let mut modes = Vec::new();
    let events = run(&mut ctl, 150, |t| {
        if (300..1000).contains(&t) {
            vec![DetectorReading::FAILED, DetectorReading::FAILED]
        } else {
            vec![r(2, 0), r(2, 0)]
        }
    });
    for e in &events {
        if e.code == EventCode::COORD_PATTERN_CHANGE {
            modes.push((e.at.as_secs_f64(), e.parameter));
        }
    }
    // 254 free at start, 253 fail-safe at 30 s, 254 again at 100 s.
    assert_eq!(modes, vec![(0.0, 254), (30.0, 253), (100.0, 254)]);
    // In fail-safe every green ends by force off after the plan's 20 s.
    let fail_safe_terms: Vec<(f64, u8)> = phase_timeline(&events)
        .into_iter()
        .filter(|e| (4..=6).contains(&e.1) && e.0 > 30.0 && e.0 < 100.0)
        .map(|e| (e.0, e.1))
        .collect();
    assert!(!fail_safe_terms.is_empty());
    assert!(
        fail_safe_terms.iter().all(|e| e.1 == 6),
        "{fail_safe_terms:?}"
    );
    assert_eq!(ctl.mode(), Mode::Normal);
}

#[test]
fn missing_readings_count_as_failed_detectors_and_nothing_panics() {
    let mut ctl = two(PolicyKind::Compare);
    let out = ctl.tick(SignalTime::ZERO, &[]);
    assert_eq!(out.status.mode, Mode::FailSafe);
    // Time running backwards, absurd counts.
    let out = ctl.tick(
        SignalTime::from_millis(10_000),
        &[r(u32::MAX, u32::MAX), r(u32::MAX, 0)],
    );
    assert_eq!(out.status.mode, Mode::Normal);
    let out = ctl.tick(SignalTime::from_millis(5_000), &[r(1, 0), r(1, 0)]);
    // Clamped to 10 s: A's green, which began then, has run for no time.
    assert_eq!(out.status.time_in_interval, Duration::ZERO);
    assert_eq!(out.heads, vec![HeadState::Green, HeadState::Red]);
}

#[test]
fn head_states_follow_the_intervals() {
    let mut ctl = two(PolicyKind::Fixed);
    let at = |ctl: &mut Controller, s: f64| {
        ctl.tick(SignalTime::from_secs_f64(s), &[r(0, 0), r(0, 0)])
            .heads
    };
    use HeadState::{Green as G, Red as R, Yellow as Y};
    assert_eq!(at(&mut ctl, 0.0), vec![R, R]);
    assert_eq!(at(&mut ctl, 2.0), vec![G, R]);
    assert_eq!(at(&mut ctl, 22.0), vec![Y, R]);
    assert_eq!(at(&mut ctl, 25.0), vec![R, R]);
    assert_eq!(at(&mut ctl, 27.0), vec![R, G]);
}

#[test]
fn the_monitor_latches_flash_on_a_corrupted_copy_of_a_real_output_sequence() {
    use semaforo_signal::{ConflictFault, ConflictMonitor};
    let mut ctl = two(PolicyKind::Compare);
    let mut outputs = Vec::new();
    for tenth in 0..=1200u64 {
        let now = SignalTime::from_millis(tenth * 100);
        let out = ctl.tick(now, &[r(3, 0), r(4, 0)]);
        outputs.push((now, out.heads));
    }
    // The real sequence passes an independent monitor.
    let mut monitor = ConflictMonitor::new(ctl.intersection(), ctl.timings(), SignalTime::ZERO);
    for (now, heads) in &outputs {
        assert_eq!(monitor.check(*now, heads), Ok(()), "at {now}");
    }
    // Corrupt it: during the first yellow, B shows green too early.
    let yellow_at = outputs
        .iter()
        .position(|(_, h)| h.contains(&HeadState::Yellow))
        .unwrap();
    let mut corrupted = outputs.clone();
    let mut bad = corrupted[yellow_at + 5].1.clone();
    let yellow_group = bad.iter().position(|h| *h == HeadState::Yellow).unwrap();
    bad[1 - yellow_group] = HeadState::Green;
    corrupted[yellow_at + 5].1 = bad;
    let mut monitor = ConflictMonitor::new(ctl.intersection(), ctl.timings(), SignalTime::ZERO);
    let verdicts: Vec<bool> = corrupted
        .iter()
        .map(|(now, heads)| monitor.check(*now, heads).is_ok())
        .collect();
    let first_fault = verdicts.iter().position(|ok| !ok).unwrap();
    assert_eq!(first_fault, yellow_at + 5);
    assert!(verdicts[first_fault..].iter().all(|ok| !ok), "latched");
    assert!(matches!(
        monitor.fault(),
        Some(ConflictFault::Conflict { .. })
    ));
}

#[test]
fn a_group_in_consecutive_phases_stays_green_through_the_change() {
    use semaforo_signal::{IntersectionSpec, PhaseSpec};
    // R (say, a right turn) runs with A and with B; A and B conflict.
    let layout = Intersection::from_spec(&IntersectionSpec {
        groups: vec!["A".into(), "B".into(), "R".into()],
        phases: vec![
            PhaseSpec::new("A+R", &["A", "R"]),
            PhaseSpec::new("B+R", &["B", "R"]),
        ],
        conflicts: Default::default(),
    })
    .unwrap();
    let mut ctl = Controller::new(
        layout,
        Timings::default(),
        PolicyKind::Fixed,
        SignalTime::ZERO,
    )
    .unwrap();
    let mut r_heads = Vec::new();
    let events = run(&mut ctl, 60, |_| vec![r(0, 0); 3]);
    for tenth in 0..10 {
        let out = ctl.tick(SignalTime::from_millis(60_100 + tenth * 100), &[r(0, 0); 3]);
        r_heads.push(out.heads[2]);
    }
    // R began green once, at the end of start-up, and never changed since.
    let r_events: Vec<(f64, u8)> = phase_timeline(&events)
        .into_iter()
        .filter(|e| e.2 == 3)
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(r_events, vec![(2.0, 1)]);
    assert!(r_heads.iter().all(|h| *h == HeadState::Green));
    // A and B alternate as usual.
    let mut want = vec![(2.0, 1, A), (2.0, 1, 3)];
    want.extend(change(22.0, A, 6, B, 3.0, 2.0));
    want.extend(change(47.0, B, 6, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(ctl.mode(), Mode::Normal);
}
