//! The signal controller of the run loop: `semaforo-signal`'s state machine, driven at the
//! loop's tick, its head states handed to the cameras' scenes.
//!
//! This build has no vehicle detection, so every detector reading is "failed": the controller
//! does what a real one does when detection is lost, runs its fixed-time fail-safe plan, and
//! says so. The configured policy takes over when detection arrives (the detection issue).

use std::time::Duration;

use anyhow::Context as _;
use semaforo_signal::{
    Controller, DetectorReading, HeadState, Intersection, LogEpoch, PolicyKind, SignalTime,
    TickOutput, Timings,
};

use super::events::EventLog;
use semaforo_vision::Aspect;

use crate::config::Config;

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
    pub fn new(config: &Config, now: Duration) -> anyhow::Result<Signal> {
        // Signal time is the loop's clock; the wall clock at its zero stamps the events.
        let zero = std::time::SystemTime::now()
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
        let policy: PolicyKind = s.policy.parse().context("signal.policy")?;
        let timings = Timings {
            min_green: s.min_green,
            max_green: s.max_green,
            yellow: s.yellow,
            red_clearance: s.red_clearance,
            ..Timings::default()
        };
        let intersection = Intersection::two_approach();
        let groups: Vec<String> = intersection
            .groups()
            .iter()
            .map(|g| g.name().to_string())
            .collect();
        let controller = Controller::new(intersection, timings, policy, signal_time(now))
            .context("the signal controller cannot run with these timings")?;
        tracing::info!(
            "signal controller: approaches {}, policy {policy}, min green {:?}, max green {:?}, \
             yellow {:?}, red clearance {:?}; no detection in this build, so it runs its \
             fixed-time fail-safe plan",
            groups.join(" and "),
            s.min_green,
            s.max_green,
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

    /// The heads after the last tick, one per group.
    pub fn heads(&self) -> &[HeadState] {
        &self.heads
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
                    tracing::info!(
                        "approach {} green ({} mode, {} plan)",
                        self.groups[i],
                        out.status.mode,
                        out.status.policy
                    );
                } else {
                    tracing::debug!("approach {} {new}", self.groups[i]);
                }
                *old = new;
            }
        }
        began
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
