//! Cost of one `Controller::tick` per policy and intersection, in release mode.
//!
//! `cargo bench -p semaforo-signal` (harness = false: plain `std::time::Instant`, no framework).
//! Each run drives the controller at 10 Hz through 10 simulated hours of a varying demand
//! (queues that build at red and clear at green, arrivals, a detector that fails now and then),
//! so the figure includes interval changes, policy decisions, events and the conflict monitor.
//! Reported: the median of 7 runs, in ns per tick, for `tick_into` (reused output buffer, what
//! the daemon and the SUMO bridge should call) and `tick` (allocates a fresh output).
//!
//! Intersections: the two built-ins with one `Timings` for every group, and a NEMA eight-phase
//! intersection (eight movements, dual ring, the eight concurrent pairs as phases) with
//! per-group timings and recall. The last column is each row's `tick_into` over the
//! two-approach figure of the same policy in the same run, so machine load and frequency
//! cancel out of the comparison.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

use std::hint::black_box;
use std::time::{Duration, Instant};

use semaforo_signal::{
    BuiltinPolicy, Controller, DetectorReading, GroupTiming, GroupTimings, HeadState, Intersection,
    IntersectionSpec, PhaseSpec, PolicyKind, Recall, SignalTime, Timings,
};

/// 10 h at 10 Hz in release; a quick smoke run in debug builds (`cargo test --benches`).
const TICKS: u64 = if cfg!(debug_assertions) {
    3_600
} else {
    360_000
};
const RUNS: usize = if cfg!(debug_assertions) { 1 } else { 7 };

/// Pre-computed readings: a queue model per group, so the controller sees realistic demand.
fn demand(groups: usize) -> Vec<Vec<DetectorReading>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut queue = vec![0u32; groups];
    (0..4096)
        .map(|k| {
            (0..groups)
                .map(|g| {
                    let arrivals = u32::from(rnd() % 100 < 3 + 2 * g as u64);
                    queue[g] += arrivals;
                    if rnd() % 100 < 4 {
                        queue[g] = queue[g].saturating_sub(3);
                    }
                    if k % 1500 > 1450 && g == 0 {
                        DetectorReading::FAILED
                    } else {
                        DetectorReading::new(queue[g], arrivals)
                    }
                })
                .collect()
        })
        .collect()
}

/// NEMA's standard eight-phase layout: movements 1-8 (odd: left turns, even: throughs; 1, 2,
/// 5, 6 on the main street), rings 1-2-3-4 and 5-6-7-8, a barrier between 2|6 and 3|7. Each
/// concurrent pair is a phase; conflicts are every pair no phase greens together.
fn nema_eight_phase() -> Intersection {
    let groups: Vec<String> = (1..=8).map(|g| g.to_string()).collect();
    let pairs = [
        (1, 5),
        (1, 6),
        (2, 5),
        (2, 6),
        (3, 7),
        (3, 8),
        (4, 7),
        (4, 8),
    ];
    let phases = pairs
        .iter()
        .map(|(a, b)| PhaseSpec::new(&format!("{a}+{b}"), &[&a.to_string(), &b.to_string()]))
        .collect();
    match Intersection::from_spec(&IntersectionSpec {
        groups,
        phases,
        conflicts: Default::default(),
    }) {
        Ok(i) => i,
        Err(e) => panic!("bench layout: {e}"),
    }
}

/// Lefts short, main-street throughs on min recall, side-street throughs in between.
fn nema_timings(intersection: &Intersection) -> GroupTimings {
    let t = |min: u64, max: u64, passage_ms: u64, yellow_ms: u64, red_ms: u64| Timings {
        min_green: Duration::from_secs(min),
        max_green: Duration::from_secs(max),
        passage: Duration::from_millis(passage_ms),
        yellow: Duration::from_millis(yellow_ms),
        red_clearance: Duration::from_millis(red_ms),
    };
    let left = GroupTiming::new(t(5, 20, 2_000, 3_000, 1_000));
    let main = GroupTiming::new(t(10, 50, 3_000, 4_000, 1_500)).with_recall(Recall::Min);
    let side = GroupTiming::new(t(8, 35, 3_000, 3_500, 2_000));
    let entries = vec![left, main, left, side, left, main, left, side];
    match GroupTimings::new(intersection, entries) {
        Ok(t) => t,
        Err(e) => panic!("bench timings: {e:?}"),
    }
}

fn controller(intersection: &Intersection, policy: PolicyKind) -> Controller {
    let made = if intersection.phases().len() == 8 {
        let timings = nema_timings(intersection);
        let policy = BuiltinPolicy::new(policy, intersection, &timings);
        Controller::with_group_timings(intersection.clone(), timings, policy, SignalTime::ZERO)
    } else {
        Controller::new(
            intersection.clone(),
            Timings::default(),
            policy,
            SignalTime::ZERO,
        )
    };
    match made {
        Ok(c) => c,
        Err(e) => panic!("bench controller: {e}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(intersection: &Intersection, policy: PolicyKind, reuse: bool) -> (f64, u64) {
    let readings = demand(intersection.groups().len());
    let mut per_tick = Vec::with_capacity(RUNS);
    let mut greens = 0u64;
    for _ in 0..RUNS {
        let mut ctl = controller(intersection, policy);
        let mut out = ctl.new_output();
        greens = 0;
        let start = Instant::now();
        for k in 0..TICKS {
            let now = SignalTime::from_millis(k * 100);
            let r = &readings[(k % readings.len() as u64) as usize];
            if reuse {
                ctl.tick_into(black_box(now), black_box(r), &mut out);
            } else {
                out = ctl.tick(black_box(now), black_box(r));
            }
            greens += out.events.iter().filter(|e| e.code.0 == 1).count() as u64;
            black_box(&out);
        }
        let elapsed = start.elapsed();
        assert!(out.heads.iter().all(|h| *h != HeadState::FlashingRed));
        per_tick.push(elapsed.as_nanos() as f64 / TICKS as f64);
    }
    (median(per_tick), greens)
}

fn main() {
    if cfg!(debug_assertions) {
        println!("debug build: a smoke run, not a measurement (use cargo bench)");
    }
    println!(
        "{:<26} {:<13} {:>16} {:>12} {:>14} {:>10}",
        "intersection", "policy", "tick_into ns", "tick ns", "greens", "ratio"
    );
    let mut two_approach = [0.0f64; PolicyKind::ALL.len()];
    for (name, intersection) in [
        ("two_approach", Intersection::two_approach()),
        ("four_arm_two_phase", Intersection::four_arm_two_phase()),
        ("nema_eight_phase", nema_eight_phase()),
    ] {
        for (k, policy) in PolicyKind::ALL.into_iter().enumerate() {
            let (reused, greens) = bench(&intersection, policy, true);
            let (fresh, _) = bench(&intersection, policy, false);
            if name == "two_approach" {
                two_approach[k] = reused;
            }
            let ratio = reused / two_approach[k];
            println!(
                "{name:<26} {:<13} {reused:>16.1} {fresh:>12.1} {greens:>14} {ratio:>10.2}",
                policy.name()
            );
        }
    }
}
