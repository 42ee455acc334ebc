//! The signal controller of the run loop: `semaforo-signal`'s state machine, driven at the
//! loop's tick, its head states handed to the cameras' scenes.
//!
//! The cameras' counts arrive as detector readings, one per approach; an approach whose camera
//! or detector is not working reads "failed", and the controller does what a real one does:
//! it serves that approach on recall, and runs its fixed-time fail-safe plan when every
//! approach has lost detection, and says so.

use std::time::Duration;

use anyhow::Context as _;
use semaforo_base::Clocks;
use semaforo_signal::{
    Controller, DetectorReading, HeadState, Intersection, LogEpoch, PolicyKind, SignalTime,
    TickOutput,
};

use super::events::EventLog;
use semaforo_camera::Aspect;

use crate::config::Config;
use crate::orchestrator::Situation;

pub struct Signal {
    controller: Controller,
    /// Reused every tick: the loop runs for months, so no allocation per tick.
    output: TickOutput,
    events: EventLog,
    groups: Vec<String>,
    heads: Vec<HeadState>,
    readings: Vec<DetectorReading>,
    /// Greens started per group, for the run summary.
    pub greens: Vec<u64>,
}

/// What a driver does with a head state.
pub fn aspect_of(head: HeadState) -> Aspect {
    match head {
        HeadState::Green => Aspect::Green,
        HeadState::Yellow => Aspect::Yellow,
        HeadState::Red | HeadState::FlashingRed | HeadState::Dark => Aspect::Red,
    }
}

fn signal_time(t: Duration) -> SignalTime {
    SignalTime::from_secs_f64(t.as_secs_f64())
}

impl Signal {
    /// The original's intersection (approaches A and B) with the configured timings.
    pub fn new(config: &Config, clock: &dyn Clocks) -> anyhow::Result<Signal> {
        // Signal time is the loop's clock; the wall clock at its zero stamps the events.
        let now = clock.monotonic();
        let zero = clock
            .realtime()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(now);
        let l = &config.logging;
        let events = EventLog::open(
            &l.dir,
            l.max_file_bytes,
            l.backup_count,
            LogEpoch::from_unix_millis(zero.as_millis() as i64),
        );
        let s = &config.signal;
        let timings = s.timings();
        let intersection = Intersection::two_approach();
        let policy = s.policy(&intersection);
        let groups: Vec<String> = intersection
            .groups()
            .iter()
            .map(|g| g.name().to_string())
            .collect();
        let controller = Controller::with_policy(intersection, timings, policy, signal_time(now))
            .context("the signal controller cannot run with these timings")?;
        let parameters = match s.policy {
            PolicyKind::Compare => format!(" (margin {} vehicles)", s.compare_margin),
            PolicyKind::MaxPressure => {
                let p = s.max_pressure();
                format!(
                    " (ratio {}, margin {} vehicles, empty gap {:?}, stall gap {})",
                    p.ratio,
                    p.margin,
                    p.empty_gap,
                    p.stall_gap.map_or("off".to_string(), |d| format!("{d:?}"))
                )
            }
            PolicyKind::Fixed | PolicyKind::Actuated => String::new(),
        };
        tracing::info!(
            "signal controller: approaches {}, policy {}{parameters}, min green {:?}, max green \
             {:?}, passage {:?}, yellow {:?}, red clearance {:?}",
            groups.join(" and "),
            s.policy,
            s.min_green,
            s.max_green,
            s.passage,
            s.yellow,
            s.red_clearance
        );
        let n = groups.len();
        Ok(Signal {
            output: controller.new_output(),
            events,
            controller,
            groups,
            heads: vec![HeadState::Red; n],
            readings: vec![DetectorReading::FAILED; n],
            greens: vec![0; n],
        })
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Advances the controller to `now`; returns the groups whose green began.
    pub fn tick(&mut self, now: Duration) -> Vec<usize> {
        let mut began = Vec::new();
        self.controller
            .tick_into(signal_time(now), &self.readings, &mut self.output);
        let out = &self.output;
        self.events.write(&out.events);
        for (i, (&new, old)) in out.heads.iter().zip(self.heads.iter_mut()).enumerate() {
            if new != *old {
                if new == HeadState::Green {
                    self.greens[i] += 1;
                    began.push(i);
                    let why = out
                        .green_began
                        .as_ref()
                        .map_or(String::new(), |d| format!(", because {d}"));
                    tracing::info!(
                        "approach {} green ({} mode, {} plan{why}); {}",
                        self.groups[i],
                        out.status.mode,
                        out.status.policy,
                        describe_readings(&self.groups, &self.readings)
                    );
                } else {
                    tracing::debug!("approach {} {new}", self.groups[i]);
                }
                *old = new;
            }
        }
        began
    }

    /// The head shown to `approach` (red for an unknown one).
    pub fn head_of(&self, approach: &str) -> HeadState {
        self.groups
            .iter()
            .position(|g| g == approach)
            .map_or(HeadState::Red, |i| self.heads[i])
    }

    /// Sets the detector reading the next tick uses for `approach`.
    pub fn set_reading(&mut self, approach: &str, reading: DetectorReading) {
        if let Some(i) = self.groups.iter().position(|g| g == approach) {
            self.readings[i] = reading;
        }
    }

    /// The queue counted on `approach`, `None` when its detection is not working.
    pub fn counted(&self, approach: &str) -> Option<u32> {
        let i = self.groups.iter().position(|g| g == approach)?;
        let r = self.readings[i];
        r.healthy.then_some(r.queue)
    }

    /// What a message to the orchestrator says of the intersection now.
    pub fn situation(&self, intersection: &str) -> Situation {
        let status = self.controller.status();
        let layout = self.controller.intersection();
        Situation {
            intersection: intersection.to_string(),
            phase: status.phase.map(|p| layout.phase(p).name().to_string()),
            green: self
                .groups
                .iter()
                .zip(&self.heads)
                .filter(|(_, h)| **h == HeadState::Green)
                .map(|(g, _)| g.clone())
                .collect(),
            counts: self
                .groups
                .iter()
                .map(|g| (g.clone(), self.counted(g)))
                .collect(),
        }
    }

    /// The counts behind the decisions, for the status line and the log.
    pub fn queues(&self) -> String {
        describe_readings(&self.groups, &self.readings)
    }

    /// Ends the current interval safely: the green (if any) gets its yellow and red clearance,
    /// then every head holds red.
    pub fn request_stop(&mut self, now: Duration) {
        self.controller.request_stop(signal_time(now));
    }

    /// True once every head is red after [`Signal::request_stop`] (or in flash).
    pub fn is_all_red(&self) -> bool {
        self.controller.is_all_red()
    }

    /// One line on the signal's state, for the periodic status.
    pub fn describe(&self) -> String {
        let status = self.controller.status();
        let heads: Vec<String> = self
            .groups
            .iter()
            .zip(&self.heads)
            .map(|(g, h)| format!("{g} {h}"))
            .collect();
        format!(
            "{}; {} for {:.1} s, {} mode",
            heads.join(", "),
            status.interval,
            status.time_in_interval.as_secs_f64(),
            status.mode
        )
    }
}

/// `queues A 5, B 2` (`A -` for an approach without working detection).
fn describe_readings(groups: &[String], readings: &[DetectorReading]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .zip(readings)
        .map(|(g, r)| {
            if r.healthy {
                format!("{g} {}", r.queue)
            } else {
                format!("{g} -")
            }
        })
        .collect();
    format!("queues {}", parts.join(", "))
}
