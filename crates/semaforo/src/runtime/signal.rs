//! The signal controller of the run loop: `semaforo-signal`'s state machine, driven at the
//! loop's tick, its head states handed to the cameras' scenes.
//!
//! The intersection is the configured one ([`crate::config::Layout`]): its signal groups,
//! phases and each group's timings. The cameras' counts arrive as detector readings, one per
//! group; a group whose cameras or detector are not working (or that no camera watches) reads
//! "failed", and the controller does what a real one does: it serves that group on recall,
//! and runs its fixed-time fail-safe plan when every group has lost detection. Each change of
//! a group's detection is logged, and the status line lists the groups on recall.

use std::time::Duration;

use anyhow::Context as _;
use semaforo_base::Clocks;
use semaforo_signal::{
    Controller, ControllerStatus, DetectorReading, HeadState, HiResEvent, LogEpoch, PhaseId,
    PolicyKind, SignalTime, TickOutput,
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
    /// The wall-clock time of signal time zero (the events' timestamps).
    epoch: LogEpoch,
    /// A stop was requested.
    stopping: bool,
    groups: Vec<String>,
    heads: Vec<HeadState>,
    readings: Vec<DetectorReading>,
    /// Whether each group's detection has worked at all yet (its first failure after start is
    /// a camera still opening, not a loss worth a warning).
    seen_working: Vec<bool>,
    /// Arrivals per group since [`Signal::restart_arrivals`].
    arrivals: Vec<u32>,
    /// Whether the last tick changed a head.
    heads_changed: bool,
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
    /// The configured intersection, each group with its own timings, under the configured
    /// policy.
    pub fn new(config: &Config, clock: &dyn Clocks) -> anyhow::Result<Signal> {
        // Signal time is the loop's clock; the wall clock at its zero stamps the events.
        let now = clock.monotonic();
        let zero = clock
            .realtime()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(now);
        let l = &config.logging;
        let epoch = LogEpoch::from_unix_millis(zero.as_millis() as i64);
        let events = EventLog::open(&l.dir, l.max_file_bytes, l.backup_count, epoch);
        let s = &config.signal;
        let layout = &config.layout;
        let intersection = layout.intersection.clone();
        let policy = s.policy(&intersection, &layout.timings);
        let groups = layout.group_names();
        let controller = Controller::with_group_timings(
            intersection,
            layout.timings.clone(),
            policy,
            signal_time(now),
        )
        .context("the signal controller cannot run this intersection")?;
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
            PolicyKind::Actuated => {
                let p = s.actuated();
                format!(
                    " (gap reduction: after {:?}, over {:?}, to {:?})",
                    p.time_before_reduction, p.time_to_reduce, p.minimum_gap
                )
            }
            PolicyKind::Fixed => String::new(),
        };
        let phases: Vec<String> = controller
            .intersection()
            .phases()
            .iter()
            .map(|p| {
                let members: Vec<&str> = p
                    .groups()
                    .iter()
                    .map(|g| groups[g.index()].as_str())
                    .collect();
                format!("{} ({})", p.name(), members.join(", "))
            })
            .collect();
        tracing::info!(
            "signal controller: intersection {} from {}: groups {}; phases {}; policy {}{parameters}",
            config.intersection.id,
            layout.source,
            groups.join(", "),
            phases.join(", "),
            s.policy,
        );
        for (name, entry) in groups.iter().zip(layout.timings.entries()) {
            let t = &entry.timings;
            tracing::info!(
                "group {name}: min green {:?}, max green {:?}, passage {:?}, yellow {:?}, red \
                 clearance {:?}, recall {}",
                t.min_green,
                t.max_green,
                t.passage,
                t.yellow,
                t.red_clearance,
                entry.recall
            );
        }
        for group in config.unwatched_groups() {
            tracing::warn!(
                "group {group}: no camera watches it, so it has no detection: it is served on \
                 recall every cycle"
            );
        }
        let n = groups.len();
        Ok(Signal {
            output: controller.new_output(),
            events,
            epoch,
            stopping: false,
            controller,
            groups,
            heads: vec![HeadState::Red; n],
            readings: vec![DetectorReading::FAILED; n],
            seen_working: vec![false; n],
            arrivals: vec![0; n],
            heads_changed: false,
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
        self.heads_changed = false;
        for (i, (&new, old)) in out.heads.iter().zip(self.heads.iter_mut()).enumerate() {
            if new != *old {
                self.heads_changed = true;
                if new == HeadState::Green {
                    self.greens[i] += 1;
                    began.push(i);
                    let why = out
                        .green_began
                        .as_ref()
                        .map_or(String::new(), |d| format!(", because {d}"));
                    tracing::info!(
                        "group {} green ({} mode, {} plan{why}); {}",
                        self.groups[i],
                        out.status.mode,
                        out.status.policy,
                        describe_readings(&self.groups, &self.readings)
                    );
                } else {
                    tracing::debug!("group {} {new}", self.groups[i]);
                }
                *old = new;
            }
        }
        began
    }

    /// The head shown to group `g` (by index).
    pub fn head(&self, g: usize) -> HeadState {
        self.heads.get(g).copied().unwrap_or(HeadState::Red)
    }

    /// Sets the detector reading the next tick uses for group `g`; `why` says, when the reading
    /// is "failed", which camera failed it. A change of the group's detection is logged.
    pub fn set_reading(
        &mut self,
        g: usize,
        reading: DetectorReading,
        why: impl FnOnce() -> String,
    ) {
        let Some(old) = self.readings.get_mut(g) else {
            return;
        };
        let group = &self.groups[g];
        match (old.healthy, reading.healthy) {
            (false, true) if self.seen_working[g] => {
                tracing::info!("group {group}: detection is back; it is served on demand again");
            }
            (false, true) => {
                self.seen_working[g] = true;
                tracing::info!("group {group}: detection working");
            }
            (true, false) => tracing::warn!(
                "group {group}: detection lost ({}): it is served on recall until it returns",
                why()
            ),
            _ => {}
        }
        if reading.healthy {
            self.arrivals[g] = self.arrivals[g].saturating_add(reading.arrivals);
        }
        *old = reading;
    }

    /// Arrivals per group since the last [`Signal::restart_arrivals`].
    pub fn arrivals(&self) -> &[u32] {
        &self.arrivals
    }

    pub fn restart_arrivals(&mut self) {
        self.arrivals.iter_mut().for_each(|a| *a = 0);
    }

    /// Whether the last tick changed any head.
    pub fn heads_changed(&self) -> bool {
        self.heads_changed
    }

    pub fn intersection(&self) -> &semaforo_signal::Intersection {
        self.controller.intersection()
    }

    /// The queue counted on group `group`, `None` when its detection is not working.
    pub fn counted(&self, group: &str) -> Option<u32> {
        let i = self.groups.iter().position(|g| g == group)?;
        let r = self.readings[i];
        r.healthy.then_some(r.queue)
    }

    /// The groups without working detection (served on recall).
    pub fn on_recall(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .zip(&self.readings)
            .filter(|(_, r)| !r.healthy)
            .map(|(g, _)| g.as_str())
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
        self.stopping = true;
        self.controller.request_stop(signal_time(now));
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// The high-resolution events of the last tick.
    pub fn last_events(&self) -> &[HiResEvent] {
        &self.output.events
    }

    /// The wall-clock time of signal time zero.
    pub fn epoch(&self) -> LogEpoch {
        self.epoch
    }

    /// Moves the wall-clock time of signal time zero (the wall clock was stepped): events
    /// are stamped from it from now on.
    pub fn set_wall_zero(&mut self, zero: std::time::SystemTime) {
        let ms = match zero.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        self.epoch = LogEpoch::from_unix_millis(ms);
        self.events.set_epoch(self.epoch);
    }

    /// The controller's mode, interval, phase and policy now.
    pub fn status(&self) -> ControllerStatus {
        self.controller.status()
    }

    /// A phase's name.
    pub fn phase_name(&self, phase: PhaseId) -> String {
        self.controller
            .intersection()
            .phase(phase)
            .name()
            .to_string()
    }

    /// The phases, each with the names of its groups, in the plan's order.
    pub fn phases(&self) -> Vec<(String, Vec<String>)> {
        self.controller
            .intersection()
            .phases()
            .iter()
            .map(|p| {
                let groups = p
                    .groups()
                    .iter()
                    .map(|g| self.groups[g.index()].clone())
                    .collect();
                (p.name().to_string(), groups)
            })
            .collect()
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
        let recall: Vec<&str> = self.on_recall().collect();
        let recall = if recall.is_empty() {
            String::new()
        } else {
            format!("; on recall (no detection): {}", recall.join(", "))
        };
        format!(
            "{}; {} for {:.1} s, {} mode{recall}",
            heads.join(", "),
            status.interval,
            status.time_in_interval.as_secs_f64(),
            status.mode
        )
    }

    /// What a safe stop will do from here: `B yellow 3 s, then red clearance 2 s; then all
    /// red`, for each group green or yellow now.
    pub fn stop_plan(&self) -> String {
        let entries = self.controller.timings().entries();
        let parts: Vec<String> = self
            .groups
            .iter()
            .zip(&self.heads)
            .zip(entries)
            .filter_map(|((group, head), entry)| {
                let t = &entry.timings;
                let clearance = t.red_clearance.as_secs_f64();
                match head {
                    HeadState::Green => Some(format!(
                        "{group} yellow {} s, then red clearance {clearance} s",
                        t.yellow.as_secs_f64()
                    )),
                    HeadState::Yellow => Some(format!(
                        "{group} ends its yellow, then red clearance {clearance} s"
                    )),
                    _ => None,
                }
            })
            .collect();
        if parts.is_empty() {
            "no green showing: all red at once".to_string()
        } else {
            format!("{}; then all red", parts.join(", "))
        }
    }

    /// The longest yellow plus red clearance of any group: how long a safe stop can take.
    pub fn longest_clearance(&self) -> Duration {
        self.controller
            .timings()
            .entries()
            .iter()
            .map(|e| e.timings.yellow + e.timings.red_clearance)
            .max()
            .unwrap_or_default()
    }
}

/// `queues A 5, B 2` (`A -` for a group without working detection).
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
