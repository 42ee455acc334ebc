//! The detector at a few runs a second, the counter carrying the vehicles on the frames
//! between: on the synthetic scene, whose ground truth says where every vehicle is and how many
//! crossed the count line, every vehicle is counted once at the line whatever the rate, and
//! the queue follows the picture on the frames the detector did not see.
//!
//! The "detector" here is the scene's ground truth (every vehicle's true box), so what is
//! tested is the rate, the tracker's motion model and the counter, not a detector's eye.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod common;

use std::time::Duration;

use semaforo_camera::synthetic::{Aspect, LAYOUT};
use semaforo_camera::{SceneConfig, SyntheticScene};
use semaforo_vision::{AnalysisRate, TrackerOptions, ZoneCounter, ZoneSet};

const FPS: f64 = 15.0;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

/// What a run of the scene gave: arrivals counted, the ground truth's, detector runs, and how
/// far the queue count was from the truth (frames off by more than one, frames judged).
struct Run {
    counted: u64,
    truth: u64,
    runs: u64,
    queue_off: (u64, u64),
}

/// Five minutes of the scene at 15 frames a second, the light changing every 20 s, the
/// detector (the ground truth) running at `hz` (`None`: every frame).
fn run(seed: u64, arrivals_per_minute: f64, hz: Option<f64>) -> Run {
    let mut scene = SyntheticScene::new(SceneConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        seed,
        arrivals_per_minute,
        ..SceneConfig::default()
    });
    let zones = ZoneSet::of_synthetic_scene(&LAYOUT, WIDTH, HEIGHT, "A");
    let mut counter = ZoneCounter::new(zones, TrackerOptions::default());
    let mut rate = AnalysisRate::new(hz);
    let (mut counted, mut runs, mut off, mut judged) = (0u64, 0u64, 0u64, 0u64);
    let mut detections = Vec::new();
    for frame in 0..(300.0 * FPS) as u64 {
        let t = frame as f64 / FPS;
        let green = (t / 20.0) as u64 % 2 == 1;
        scene.set_aspect(if green { Aspect::Green } else { Aspect::Red });
        scene.step(1.0 / FPS);
        let truth = scene.ground_truth();
        if rate.due(Duration::from_secs_f64(t)) {
            runs += 1;
            detections.clear();
            detections.extend(common::seen_by_a_perfect_network(&truth));
            counter.update(&detections);
        } else {
            counter.carry();
        }
        counted += counter.approach("A").arrivals as u64;
        if t >= 10.0 {
            judged += 1;
            let queue = counter.approach("A").queue;
            off += u64::from(queue.abs_diff(truth.queue as u32) > 1);
        }
    }
    Run {
        counted,
        truth: scene.ground_truth().arrivals,
        runs,
        queue_off: (off, judged),
    }
}

#[test]
fn every_vehicle_crossing_the_count_line_between_two_runs_is_counted_once() {
    for seed in [1, 2, 3] {
        for hz in [None, Some(4.0), Some(2.0)] {
            let r = run(seed, 14.0, hz);
            eprintln!(
                "seed {seed}, rate {hz:?}: {} runs, {} arrivals counted, {} true, queue off by \
                 more than one on {} of {} frames",
                r.runs, r.counted, r.truth, r.queue_off.0, r.queue_off.1
            );
            assert!(r.truth >= 40, "the scene must be busy: {}", r.truth);
            // A vehicle on the line when the run ends may be counted by one and not the other.
            assert!(
                r.counted.abs_diff(r.truth) <= 1,
                "seed {seed}, rate {hz:?}: {} counted against {} true",
                r.counted,
                r.truth
            );
            assert!(
                r.queue_off.0 * 50 <= r.queue_off.1,
                "seed {seed}, rate {hz:?}: queue off by more than one on {} of {} frames",
                r.queue_off.0,
                r.queue_off.1
            );
            if let Some(hz) = hz {
                let expected = (300.0 * hz) as u64;
                assert!(r.runs.abs_diff(expected) <= 1, "{} runs", r.runs);
            }
        }
    }
}
