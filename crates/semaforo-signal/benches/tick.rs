//! Cost of one `Controller::tick` per policy and built-in intersection, in release mode.
//!
//! `cargo bench -p semaforo-signal` (harness = false: plain `std::time::Instant`, no framework).
//! Each run drives the controller at 10 Hz through 10 simulated hours of a varying demand
//! (queues that build at red and clear at green, arrivals, a detector that fails now and then),
//! so the figure includes interval changes, policy decisions, events and the conflict monitor.
//! Reported: the median of 7 runs, in ns per tick, for `tick_into` (reused output buffer, what
//! the daemon and the SUMO bridge should call) and `tick` (allocates a fresh output).

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

use std::hint::black_box;
use std::time::Instant;

use semaforo_signal::{
    Controller, DetectorReading, HeadState, Intersection, PolicyKind, SignalTime, Timings,
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

fn controller(intersection: &Intersection, policy: PolicyKind) -> Controller {
    match Controller::new(
        intersection.clone(),
        Timings::default(),
        policy,
        SignalTime::ZERO,
    ) {
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
        "{:<26} {:<13} {:>16} {:>12} {:>14}",
        "intersection", "policy", "tick_into ns", "tick ns", "greens"
    );
    for (name, intersection) in [
        ("two_approach", Intersection::two_approach()),
        ("four_arm_two_phase", Intersection::four_arm_two_phase()),
    ] {
        for policy in PolicyKind::ALL {
            let (reused, greens) = bench(&intersection, policy, true);
            let (fresh, _) = bench(&intersection, policy, false);
            println!(
                "{name:<26} {:<13} {reused:>16.1} {fresh:>12.1} {greens:>14}",
                policy.name()
            );
        }
    }
}
