//! A quick comparison of the policies on a point-queue model of the two-approach intersection.
//!
//! Not the evaluation (that is SUMO's job, `semaforo sim`): a sanity check that runs in seconds.
//! Vehicles arrive at random (Bernoulli per 0.1 s tick), wait in a queue the camera counts, and
//! leave at saturation flow (one per 2 s) once a green has run 2 s (start-up lost time). Mean
//! delay is the time from arrival to departure, averaged over departed vehicles. Besides the
//! four policies with their defaults, a few other parameter choices are shown for comparison.
//!
//! `cargo run --release -p semaforo-signal --example queue_model [MIN_GREEN YELLOW RED]`

#![allow(clippy::unwrap_used)] // a example: an unwrap that fails stops it at its line

use std::time::Duration;

use semaforo_signal::policy::{Compare, MaxPressure};
use semaforo_signal::{
    BuiltinPolicy, Controller, DetectorReading, HeadState, Intersection, PolicyKind, SignalTime,
    Timings,
};

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Mean delay (s), 95th percentile delay (s), switches per hour.
fn run(policy: BuiltinPolicy, timings: Timings, rates: [f64; 2], seed: u64) -> (f64, f64, f64) {
    let mut ctl = match Controller::with_policy(
        Intersection::two_approach(),
        timings,
        policy,
        SignalTime::ZERO,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut queues: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut green_for = [0u64; 2];
    let mut credit = [0f64; 2];
    let mut delays = Vec::new();
    let mut greens = 0u64;
    let hours = 4;
    let ticks = hours * 36_000;
    let mut out = ctl.new_output();
    for k in 0..ticks {
        let now_ms = k * 100;
        let mut readings = [DetectorReading::new(0, 0); 2];
        for g in 0..2 {
            let arrived = rng.unit() < rates[g] * 0.1;
            if arrived {
                queues[g].push(now_ms);
            }
            readings[g] = DetectorReading::new(queues[g].len() as u32, u32::from(arrived));
        }
        ctl.tick_into(SignalTime::from_millis(now_ms), &readings, &mut out);
        greens += out.events.iter().filter(|e| e.code.0 == 1).count() as u64;
        for g in 0..2 {
            if out.heads[g] == HeadState::Green {
                green_for[g] += 100;
                if green_for[g] > 2_000 && !queues[g].is_empty() {
                    credit[g] += 0.05;
                    if credit[g] >= 1.0 {
                        credit[g] -= 1.0;
                        let t = queues[g].remove(0);
                        if now_ms > 600_000 {
                            delays.push((now_ms - t) as f64 / 1000.0);
                        }
                    }
                } else {
                    credit[g] = 0.0;
                }
            } else {
                green_for[g] = 0;
                credit[g] = 0.0;
            }
        }
    }
    // Vehicles still queued count with their delay so far.
    for q in &queues {
        for &t in q {
            delays.push((ticks * 100 - t) as f64 / 1000.0);
        }
    }
    delays.sort_by(f64::total_cmp);
    let mean = delays.iter().sum::<f64>() / delays.len().max(1) as f64;
    let p95 = delays.get(delays.len() * 95 / 100).copied().unwrap_or(0.0);
    (mean, p95, greens as f64 / hours as f64)
}

fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let secs =
        |i: usize, default: f64| Duration::from_secs_f64(args.get(i).copied().unwrap_or(default));
    let timings = Timings {
        min_green: secs(0, 5.0),
        yellow: secs(1, 3.0),
        red_clearance: secs(2, 0.0),
        ..Timings::default()
    };
    println!(
        "min green {:?}, yellow {:?}, red clearance {:?}, max green {:?}; 4 h, 5 seeds",
        timings.min_green, timings.yellow, timings.red_clearance, timings.max_green
    );
    for (name, rates) in [
        ("balanced 0.15/0.15 veh/s", [0.15, 0.15]),
        ("balanced 0.2/0.2 veh/s", [0.2, 0.2]),
        ("asymmetric 0.3/0.1 veh/s", [0.3, 0.1]),
        ("light 0.05/0.05 veh/s", [0.05, 0.05]),
    ] {
        println!("{name}");
        let i = Intersection::two_approach();
        let mut variants: Vec<(String, BuiltinPolicy)> = PolicyKind::ALL
            .iter()
            .map(|&k| (k.name().to_string(), BuiltinPolicy::new(k, &i, &timings)))
            .collect();
        for (ratio, margin) in [(1.5, 2), (2.0, 2)] {
            variants.push((
                format!("mp {ratio}/{margin}"),
                BuiltinPolicy::MaxPressure(MaxPressure {
                    ratio,
                    margin,
                    ..MaxPressure::default()
                }),
            ));
        }
        for margin in [2, 6] {
            variants.push((
                format!("compare {margin}"),
                BuiltinPolicy::Compare(Compare { margin }),
            ));
        }
        for (name, policy) in variants {
            let mut acc = (0.0, 0.0, 0.0);
            for seed in 1..=5 {
                let r = run(policy.clone(), timings, rates, seed);
                acc = (acc.0 + r.0 / 5.0, acc.1 + r.1 / 5.0, acc.2 + r.2 / 5.0);
            }
            println!(
                "  {:<16} mean delay {:>6.1} s   p95 {:>6.1} s   greens/h {:>5.0}",
                name, acc.0, acc.1, acc.2
            );
        }
    }
}
