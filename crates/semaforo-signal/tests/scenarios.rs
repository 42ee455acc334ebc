//! Deterministic scenarios with hand-checked timelines, one or more per policy, through the
//! public API only. Ticks are every 100 ms; timelines list the phase events (codes 1 and 4–12)
//! as `(seconds, code, signal group number)`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

use semaforo_signal::{
    Controller, DetectorReading, EventCode, HeadState, HiResEvent, Intersection, Interval, Mode,
    PolicyKind, SignalTime, Termination, Timings,
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
    // A: one arrival every second until 28 s, a vehicle in its zone until 31 s. B: a vehicle
    // in the zone and one arrival every second throughout (B calls from the start, and keeps
    // its own green extended once served).
    let events = run(&mut ctl, 100, |t| {
        let a_arrival = u32::from(t % 10 == 0 && t <= 280);
        vec![
            r(u32::from(t <= 310), a_arrival),
            r(1, u32::from(t % 10 == 0)),
        ]
    });
    // A is extended by its arrivals to 28 s; B's call has waited 26 s by then, so A's allowed
    // gap is down from the 3 s passage to the 1.5 s minimum gap: A gaps out at 29.5 s. A's
    // vehicle still in the zone calls A again during its yellow, and B, extended by its
    // arrivals, maxes out 60 s after its green began at 34.5 s.
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(29.5, A, 4, B, 3.0, 2.0));
    want.extend(change(94.5, B, 5, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(ctl.status().last_termination, Some(Termination::MaxOut));
}

#[test]
fn actuated_does_not_hold_the_green_for_a_queue_that_does_not_move() {
    let mut ctl = two(PolicyKind::Actuated);
    // A: three vehicles standing in the zone all along (a lane blocked downstream), never
    // crossing a line. B: a car arrives at 20 s and waits.
    let events = run(&mut ctl, 30, |t| {
        vec![r(3, 0), r(u32::from(t >= 200), u32::from(t == 200))]
    });
    // A's presence calls it first, but nothing moves: with B's call at 20 s, A gaps out at
    // once (its minimum green and a passage time long gone); the presence-extended actuated
    // would have held A to 80 s (max green from B's call).
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(20.0, A, 4, B, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(ctl.status().last_termination, Some(Termination::GapOut));
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
fn max_pressure_gaps_out_when_the_discharge_stalls_behind_a_blocked_lane() {
    let mut ctl = two(PolicyKind::MaxPressure);
    let events = run(&mut ctl, 30, |t| {
        // A: 8 queued; from 8 s one leaves every 2 s until 12 s, then a turning vehicle blocks
        // the lane and 5 stay in the zone. B: one car waiting.
        let a = match t {
            0..=79 => 8,
            80..=99 => 7,
            100..=119 => 6,
            _ => 5,
        };
        vec![r(a, 0), r(1, 0)]
    });
    // Last departure at 12 s; 3 s (stall_gap) without one gaps A out at 15 s, although its
    // zone is not empty and B's single car could never force it off (1 < 3 x 5 + 3).
    let mut want = vec![(2.0, 1, A)];
    want.extend(change(15.0, A, 4, B, 3.0, 2.0));
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

    // Now a car on A: B's green ends once its plan green (20 s) has run. The car stands still
    // (it never crosses a line), so A gaps out after its minimum green and B, on recall, is
    // called again.
    let mut ctl = two(PolicyKind::Actuated);
    let events = run(&mut ctl, 40, |t| {
        vec![r(u32::from(t >= 50), 0), DetectorReading::FAILED]
    });
    let mut want = vec![(2.0, 1, B)];
    want.extend(change(22.0, B, 6, A, 3.0, 2.0));
    want.extend(&change(37.0, A, 4, B, 3.0, 2.0)[..5]);
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

/// Runs `ctl` at 10 Hz for `secs` seconds, requesting a stop at `stop_tenth` (just before that
/// tick, as the daemon does); returns the events and the first tenth at which the controller
/// reported all red. Checks on the way that no head turns green after the request.
fn run_with_stop(
    ctl: &mut Controller,
    secs: u64,
    stop_tenth: u64,
    mut readings: impl FnMut(u64) -> Vec<DetectorReading>,
) -> (Vec<HiResEvent>, Option<u64>) {
    let mut events = Vec::new();
    let mut all_red_at = None;
    let mut before: Vec<HeadState> = Vec::new();
    for tenth in 0..=secs * 10 {
        let now = SignalTime::from_millis(tenth * 100);
        if tenth == stop_tenth {
            ctl.request_stop(now);
        }
        let out = ctl.tick(now, &readings(tenth));
        if tenth >= stop_tenth {
            for (g, (b, a)) in before.iter().zip(&out.heads).enumerate() {
                assert!(
                    *a != HeadState::Green || *b == HeadState::Green,
                    "group {g} turned green at {now} after the stop"
                );
            }
            if ctl.is_all_red() && all_red_at.is_none() {
                all_red_at = Some(tenth);
                assert!(out.heads.iter().all(|h| *h == HeadState::Red), "{out:?}");
            }
        }
        before = out.heads.clone();
        events.extend(out.events);
    }
    assert_eq!(ctl.status().mode, Mode::Stopped);
    (events, all_red_at)
}

/// The events of one group's green forced off at `t` for a stop: yellow, red clearance, and no
/// green after.
fn stop_change(t: f64, g: u8, y: f64, r: f64) -> Vec<(f64, u8, u8)> {
    let mut events = change(t, g, 6, 0, y, r);
    events.pop();
    events
}

fn patterns(events: &[HiResEvent]) -> Vec<(f64, u8)> {
    events
        .iter()
        .filter(|e| e.code == EventCode::COORD_PATTERN_CHANGE)
        .map(|e| (e.at.as_secs_f64(), e.parameter))
        .collect()
}

#[test]
fn a_stop_after_minimum_green_ends_the_green_at_once_then_holds_all_red() {
    let mut ctl = two(PolicyKind::Compare);
    // A green from 2 s (it would run to 62 s); stop at 30 s: force off, yellow 30-33 s, red
    // clearance 33-35 s, all red from 35 s (request + yellow + red clearance) for good.
    let (events, all_red_at) = run_with_stop(&mut ctl, 200, 300, |_| vec![r(5, 0), r(3, 0)]);
    let mut want = vec![(2.0, 1, A)];
    want.extend(stop_change(30.0, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(all_red_at, Some(350));
    assert_eq!(patterns(&events), vec![(0.0, 254), (30.0, 252)]);
    let status = ctl.status();
    assert_eq!(
        (status.interval, status.phase, status.next_phase),
        (Interval::AllRed, None, None)
    );
    assert_eq!(status.last_termination, Some(Termination::ForceOff));
    assert_eq!(status.time_in_interval, Duration::from_secs(165));
    assert_eq!(status.mode.to_string(), "stopped");
    assert_eq!(status.interval.to_string(), "all red");

    // A second request changes nothing; resume restarts with the start-up all-red (2 s) and
    // the policy's pick (A, more cars).
    ctl.request_stop(SignalTime::from_millis(200_000));
    let out = ctl.tick(SignalTime::from_millis(200_100), &[r(5, 0), r(3, 0)]);
    assert!(out.events.is_empty(), "{:?}", out.events);
    ctl.resume(SignalTime::from_millis(201_000));
    let out = ctl.tick(SignalTime::from_millis(201_000), &[r(5, 0), r(3, 0)]);
    assert_eq!(out.status.mode, Mode::Normal);
    assert!(!ctl.is_all_red());
    assert_eq!(patterns(&out.events), vec![(201.0, 254)]);
    let out = ctl.tick(SignalTime::from_millis(202_900), &[r(5, 0), r(3, 0)]);
    assert_eq!(out.heads, vec![HeadState::Red; 2]);
    let out = ctl.tick(SignalTime::from_millis(203_000), &[r(5, 0), r(3, 0)]);
    assert_eq!(out.heads, vec![HeadState::Green, HeadState::Red]);
}

#[test]
fn a_stop_before_minimum_green_cuts_the_green_short_but_not_the_clearance() {
    let mut ctl = two(PolicyKind::Compare);
    // A green from 2 s, minimum green until 12 s; stop at 5 s: a 3 s green, then the full
    // 3 s yellow and 2 s red clearance. The controller's own monitor does not object.
    let (events, all_red_at) = run_with_stop(&mut ctl, 60, 50, |_| vec![r(5, 0), r(3, 0)]);
    let mut want = vec![(2.0, 1, A)];
    want.extend(stop_change(5.0, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(all_red_at, Some(100));
    assert_eq!(ctl.status().fault, None);
}

#[test]
fn a_stop_during_yellow_completes_the_yellow_and_red_clearance() {
    let mut ctl = two(PolicyKind::Compare);
    // A maxes out at 62 s toward B; stop at 63.5 s in A's yellow: the yellow ends at 65 s as
    // timed, the red clearance at 67 s, and B does not turn green.
    let (events, all_red_at) = run_with_stop(&mut ctl, 120, 635, |_| vec![r(5, 0), r(3, 0)]);
    let mut want = vec![(2.0, 1, A)];
    let mut a_out = change(62.0, A, 5, B, 3.0, 2.0);
    a_out.pop();
    want.extend(a_out);
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(all_red_at, Some(670));
    assert_eq!(ctl.status().last_termination, Some(Termination::MaxOut));
}

#[test]
fn a_stop_during_red_clearance_or_start_up_completes_it() {
    let mut ctl = two(PolicyKind::Compare);
    // Stop at 66 s, in the red clearance after A's max out (65-67 s): all red at 67 s.
    let (events, all_red_at) = run_with_stop(&mut ctl, 120, 660, |_| vec![r(5, 0), r(3, 0)]);
    let mut want = vec![(2.0, 1, A)];
    let mut a_out = change(62.0, A, 5, B, 3.0, 2.0);
    a_out.pop();
    want.extend(a_out);
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(all_red_at, Some(670));

    // Stop at 1 s, in the start-up all-red (0-2 s): all red at 2 s, nothing ever green.
    let mut ctl = two(PolicyKind::Compare);
    let (events, all_red_at) = run_with_stop(&mut ctl, 60, 10, |_| vec![r(5, 0), r(3, 0)]);
    assert_eq!(phase_timeline(&events), vec![]);
    assert_eq!(all_red_at, Some(20));
    assert!(ctl.is_all_red());
}

#[test]
fn a_stop_in_fail_safe_ends_the_plan_green_like_normal() {
    let mut ctl = two(PolicyKind::Actuated);
    // All detection lost from the start: fail-safe (pattern 253), plan green A from 2 s (to
    // 22 s). Stop at 10 s: force off, 3 s yellow, 2 s red clearance, all red at 15 s, and it
    // stays stopped although every detector still calls (recall).
    let failed = |_| vec![DetectorReading::FAILED; 2];
    let (events, all_red_at) = run_with_stop(&mut ctl, 120, 100, failed);
    let mut want = vec![(2.0, 1, A)];
    want.extend(stop_change(10.0, A, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), want);
    assert_eq!(all_red_at, Some(150));
    assert_eq!(patterns(&events), vec![(0.0, 254), (0.0, 253), (10.0, 252)]);
}

#[test]
fn a_stop_during_a_change_clears_a_group_that_stays_green_across_it() {
    use semaforo_signal::{IntersectionSpec, PhaseSpec};
    // R runs with A and with B. At 22 s A ends toward B and R stays green.
    let layout = Intersection::from_spec(&IntersectionSpec {
        groups: vec!["A".into(), "B".into(), "R".into()],
        phases: vec![
            PhaseSpec::new("A+R", &["A", "R"]),
            PhaseSpec::new("B+R", &["B", "R"]),
        ],
        conflicts: Default::default(),
    })
    .unwrap();
    let fixed = || {
        Controller::new(
            layout.clone(),
            Timings::default(),
            PolicyKind::Fixed,
            SignalTime::ZERO,
        )
        .unwrap()
    };
    let mut want = vec![(2.0, 1, A), (2.0, 1, 3)];
    want.extend([(22.0, 6, A), (22.0, 7, A), (22.0, 8, A)]);

    // Stop at 23 s, in A's yellow: R's yellow begins, A's restarts with it (4 s of yellow for
    // A, never less than 3 s for anyone); both clear together, all red at 28 s.
    let mut ctl = fixed();
    let (events, all_red_at) = run_with_stop(&mut ctl, 60, 230, |_| vec![r(0, 0); 3]);
    let mut during_yellow = want.clone();
    during_yellow.extend([(23.0, 6, 3), (23.0, 7, 3), (23.0, 8, 3)]);
    for g in [A, 3] {
        during_yellow.extend([(26.0, 9, g), (26.0, 10, g)]);
    }
    for g in [A, 3] {
        during_yellow.extend([(28.0, 11, g), (28.0, 12, g)]);
    }
    assert_eq!(phase_timeline(&events), during_yellow);
    assert_eq!(all_red_at, Some(280));

    // Stop at 26 s, in A's red clearance (25-27 s): A's ends there (no green follows it), R
    // gets its full yellow and red clearance, all red at 31 s.
    let mut ctl = fixed();
    let (events, all_red_at) = run_with_stop(&mut ctl, 60, 260, |_| vec![r(0, 0); 3]);
    let mut during_red = want;
    during_red.extend([(25.0, 9, A), (25.0, 10, A), (26.0, 11, A), (26.0, 12, A)]);
    during_red.extend(stop_change(26.0, 3, 3.0, 2.0));
    assert_eq!(phase_timeline(&events), during_red);
    assert_eq!(all_red_at, Some(310));
}
