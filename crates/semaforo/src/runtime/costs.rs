//! What each camera costs, written to `performance.log` every statistics interval and, over
//! the whole run, at exit: frames read and analysed per second, the network's rate now
//! (`detection.rate`, or lower when it cannot keep it), the detector's mean time per frame,
//! and the share of one core its worker thread used (its own CPU clock, so the figure is the
//! camera's, not the process's).
//!
//! Rates and shares are per second of real time (a run on simulated time reads faster than
//! its cameras would).

use std::time::{Duration, Instant};

use super::cameras::Worker;
use crate::logging::PERFORMANCE_TARGET;

/// One camera's totals at a point in time.
#[derive(Clone, Copy, Default)]
struct Totals {
    frames: u64,
    analysed: u64,
    cpu: Duration,
    detect_s: f64,
    detections: u64,
}

impl Totals {
    fn of(w: &Worker<'_>) -> Self {
        Totals {
            frames: w.frames,
            analysed: w.analysed,
            cpu: w.cpu,
            detect_s: w.latency.sum,
            detections: w.latency.count,
        }
    }
}

pub struct CameraCosts {
    every: Duration,
    next: Duration,
    started: Instant,
    since: Instant,
    last: Vec<Totals>,
}

impl CameraCosts {
    pub fn new(every: Duration, now: Duration, cameras: usize) -> Self {
        CameraCosts {
            every,
            next: now + every,
            started: Instant::now(),
            since: Instant::now(),
            last: vec![Totals::default(); cameras],
        }
    }

    /// Logs the last interval's figures when one is due at `now` (loop time).
    pub fn tick(&mut self, now: Duration, workers: &[Worker<'_>]) {
        if now < self.next {
            return;
        }
        self.next = now + self.every;
        let seconds = self.since.elapsed().as_secs_f64();
        for (w, last) in workers.iter().zip(&mut self.last) {
            let totals = Totals::of(w);
            log(w, "interval", seconds, totals, *last);
            *last = totals;
        }
        self.since = Instant::now();
    }

    /// Logs each camera's figures over the whole run.
    pub fn finish(&self, workers: &[Worker<'_>]) {
        let seconds = self.started.elapsed().as_secs_f64();
        for w in workers {
            log(w, "run", seconds, Totals::of(w), Totals::default());
        }
    }
}

fn log(w: &Worker<'_>, over: &str, seconds: f64, now: Totals, then: Totals) {
    let seconds = seconds.max(1e-3);
    let detections = now.detections.saturating_sub(then.detections);
    let detect_ms =
        (detections > 0).then(|| 1000.0 * (now.detect_s - then.detect_s) / detections as f64);
    tracing::info!(
        target: PERFORMANCE_TARGET,
        camera = %w.camera,
        over,
        detector = w.detector.unwrap_or("none"),
        network_rate_hz = w.rate.map_or("every frame".to_string(), |hz| format!("{hz:.2}")),
        read_per_s = format!("{:.2}", now.frames.saturating_sub(then.frames) as f64 / seconds),
        analysed_per_s =
            format!("{:.2}", now.analysed.saturating_sub(then.analysed) as f64 / seconds),
        detect_ms = detect_ms.map_or("-".to_string(), |ms| format!("{ms:.1}")),
        cpu_percent_of_a_core = format!(
            "{:.1}",
            100.0 * now.cpu.saturating_sub(then.cpu).as_secs_f64() / seconds
        ),
        "camera cost"
    );
}
