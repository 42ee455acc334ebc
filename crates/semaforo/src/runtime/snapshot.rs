//! The state the run loop publishes once per tick, for the HTTP API, `/metrics`, `/health`
//! and the dashboard (and later MQTT): one immutable [`Snapshot`] behind an `Arc`, handed
//! over through a `tokio::sync::watch` channel.
//!
//! Publishing is a pointer swap: the loop builds the new snapshot from what it already holds
//! (heads, counts, the cameras' reports, the link's counters) and replaces the `Arc`; the
//! channel's lock is held only for that swap, and a reader holds it only to clone the `Arc`.
//! Handlers read the snapshot and never touch the controller, so a slow or stuck client can
//! never delay the 10 Hz tick. With the HTTP server off nobody subscribes and nothing is
//! built.
//!
//! Everything a reader derives (rates, histograms, the ten-minute timeline of greens, the
//! recent high-resolution events) is tracked here, on the loop's clock, so the API, the
//! metrics and the page always agree.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use semaforo_resources::ResourceTracker;
use semaforo_signal::{HeadState, HiResEvent, LogEpoch};

use super::cameras::Worker;
use super::signal::Signal;
use crate::config::Config;

/// How many high-resolution events the snapshot keeps for `/api/events`.
pub const RECENT_EVENTS: usize = 1000;

/// How far back the timeline of greens reaches.
pub const TIMELINE_WINDOW: Duration = Duration::from_secs(600);

/// How often resource statistics (RSS, descriptors, disk) are read, in real time: reading
/// `/proc` at every tick would cost more than the tick.
const RESOURCES_EVERY: Duration = Duration::from_secs(1);

/// Rates (frames per second) are measured over this much of the loop's time.
const RATE_WINDOW: Duration = Duration::from_secs(2);

/// Upper bounds of the detector latency histogram, seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Upper bounds of the green duration histogram, seconds.
pub const GREEN_BUCKETS: &[f64] = &[5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0];

/// A Prometheus-style histogram: counts per bucket (not cumulative; the last is `+Inf`).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bounds: &'static [f64],
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += value;
        self.count += 1;
    }

    /// The mean observation, `None` before the first.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// What the intersection, its cameras, its link and the process look like at one tick.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub intersection: String,
    pub version: &'static str,
    /// Ticks since the start.
    pub tick: u64,
    /// Seconds since the start, on the loop's clock (simulated time under `run --fast`).
    pub uptime_s: f64,
    /// Wall-clock time of this tick, Unix milliseconds, on the loop's clock.
    pub time_unix_ms: i64,
    /// The loop runs on simulated time (`run --fast`).
    pub simulated: bool,
    /// normal, fail-safe, flash or stopped.
    pub mode: String,
    /// The policy deciding now (`fixed` in fail-safe).
    pub policy: &'static str,
    /// The phase green or being cleared.
    pub phase: Option<String>,
    pub next_phase: Option<String>,
    /// green, yellow, red clearance, flash or all red.
    pub interval: String,
    pub interval_s: f64,
    /// A stop was requested: the last green is being cleared.
    pub stopping: bool,
    pub groups: Vec<GroupState>,
    pub phases: Vec<PhaseState>,
    pub cameras: Vec<CameraState>,
    /// The links (TCP and WebSocket orchestrators, MQTT), those configured.
    pub links: Vec<LinkState>,
    /// Messages the outbox dropped to stay within its bound (or could not store).
    pub outbox_dropped: u64,
    pub resources: ResourceState,
    /// The longest any group with demand has waited for its green, seconds.
    pub max_wait_s: f64,
    pub limits: Limits,
    /// The recoveries under way (health that acts), in the order they began.
    pub actions: Vec<super::recovery::Action>,
    /// The last recoveries that ended, oldest first.
    pub actions_ended: Vec<super::recovery::Ended>,
    /// Recoveries begun since the start.
    pub actions_begun: u64,
    /// The last ten minutes of greens and yellows per group.
    pub timeline: Arc<Timeline>,
    /// When it was published, in real time (the health check "the controller ticks").
    #[serde(skip)]
    pub published: Instant,
    /// The recent high-resolution events (`/api/events`).
    #[serde(skip)]
    pub events: Arc<EventRing>,
}

/// One signal group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupState {
    pub name: String,
    /// green, yellow, red, flashing-red or dark.
    pub head: &'static str,
    /// Vehicles queued; `None` without working detection.
    pub count: Option<u32>,
    /// Served on recall for want of detection.
    pub on_recall: bool,
    /// The cameras that watch it.
    pub cameras: Vec<String>,
    /// Greens started since the start.
    pub greens: u64,
    /// How long it has waited for its green with demand (0 while green or without demand).
    pub wait_s: f64,
    #[serde(skip)]
    pub green_durations: Histogram,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseState {
    pub name: String,
    pub groups: Vec<String>,
}

/// One camera and its detector.
#[derive(Debug, Clone, Serialize)]
pub struct CameraState {
    pub name: String,
    /// The source, its password hidden.
    pub source: String,
    pub groups: Vec<String>,
    /// Its frames arrive and its detector counts.
    pub working: bool,
    pub frames: u64,
    pub analysed: u64,
    /// Frames skipped because the worker fell behind or a newer one was waiting.
    pub dropped: u64,
    pub fps_read: f64,
    pub fps_analysed: f64,
    /// Seconds since its last frame (loop clock); `None` before the first.
    pub last_frame_age_s: Option<f64>,
    pub detector: Option<&'static str>,
    /// The network's runs a second now (`detection.rate`, or lower when it cannot keep it);
    /// `None`: the detector runs on every analysed frame.
    pub network_rate_hz: Option<f64>,
    /// Mean detector latency, milliseconds, since the start.
    pub latency_ms: Option<f64>,
    #[serde(skip)]
    pub latency: Histogram,
    /// Its queue zones as its background model measured them in the last frame: the share
    /// covered, the estimate in vehicles, and while the model counts alone what it counts by.
    pub zones: Vec<super::cameras::ZoneMeasure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkState {
    /// `tcp`, `websocket` or `mqtt`.
    pub name: String,
    pub target: String,
    pub connected: bool,
    /// Messages its peer has acknowledged since the start.
    pub delivered: u64,
    /// Messages stored in the outbox and not yet acknowledged by its peer.
    pub waiting: u64,
    /// The last problem, while it lasts.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceState {
    pub rss_mb: f64,
    pub rss_delta_mb: f64,
    pub open_fds: usize,
    pub potential_leaks: usize,
    pub disks: Vec<DiskState>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskState {
    pub path: String,
    pub free_percent: f64,
    pub free_bytes: u64,
}

/// The thresholds the health checks compare with.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub memory_limit_mb: u64,
    pub min_free_disk_percent: f64,
    pub camera_stale_s: f64,
}

/// One interval of a group's timeline, seconds on the loop's clock.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Segment {
    /// green or yellow.
    pub head: &'static str,
    pub from_s: f64,
    /// `None` while it lasts.
    pub to_s: Option<f64>,
}

/// Greens and yellows of each group over [`TIMELINE_WINDOW`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    pub window_s: f64,
    /// Per group, in group order.
    pub groups: Vec<Vec<Segment>>,
}

impl Timeline {
    /// No interval yet.
    pub fn empty() -> Self {
        Timeline {
            window_s: TIMELINE_WINDOW.as_secs_f64(),
            groups: Vec::new(),
        }
    }
}

/// One high-resolution event, numbered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRecord {
    /// Counts events from the start, without gaps.
    pub seq: u64,
    pub event: HiResEvent,
}

/// The last [`RECENT_EVENTS`] events.
#[derive(Debug, Clone, Default)]
pub struct EventRing {
    pub events: VecDeque<EventRecord>,
    /// Events ever recorded (the next one's `seq`).
    pub total: u64,
    pub epoch: Option<LogEpoch>,
}

impl EventRing {
    /// The events after `seq` (all of the ring when `seq` is older than it).
    pub fn after(&self, seq: Option<u64>) -> impl Iterator<Item = &EventRecord> {
        self.events
            .iter()
            .filter(move |e| seq.is_none_or(|s| e.seq > s))
    }
}

/// What a snapshot reads beside the signal and the cameras: the links, the process's
/// resources, and the recoveries under way.
#[derive(Clone, Copy)]
pub struct Around<'a> {
    pub links: &'a crate::links::Links,
    pub tracker: &'a ResourceTracker,
    pub recoveries: &'a super::recovery::Recoveries,
}

/// A [`Snapshot`]'s receiving end.
pub type Snapshots = watch::Receiver<Arc<Snapshot>>;

/// Per camera, what the publisher derives from the worker's totals.
struct CameraTrack {
    rate_from: Duration,
    frames_then: u64,
    analysed_then: u64,
    fps_read: f64,
    fps_analysed: f64,
}

/// Per group, what the publisher tracks from the heads.
struct GroupTrack {
    head: HeadState,
    since: Duration,
    waiting_since: Option<Duration>,
    green_durations: Histogram,
    timeline: VecDeque<Segment>,
}

/// Builds and publishes the loop's snapshots.
pub struct Publisher {
    sender: watch::Sender<Arc<Snapshot>>,
    intersection: String,
    simulated: bool,
    limits: Limits,
    cameras: Vec<CameraTrack>,
    groups: Vec<GroupTrack>,
    phases: Vec<PhaseState>,
    watchers: Vec<Vec<String>>,
    events: Arc<EventRing>,
    timeline: Arc<Timeline>,
    resources: ResourceState,
    resources_read: Option<Instant>,
    tick: u64,
}

impl Publisher {
    pub fn new(config: &Config, signal: &Signal, simulated: bool) -> Self {
        let groups = signal.groups();
        let watchers = groups
            .iter()
            .map(|g| {
                config
                    .watches
                    .iter()
                    .filter(|(_, watched)| watched.contains(g))
                    .map(|(camera, _)| camera.clone())
                    .collect()
            })
            .collect();
        let limits = Limits {
            memory_limit_mb: config.resources.memory_limit_mb,
            min_free_disk_percent: config.frames.min_free_disk_percent,
            camera_stale_s: config.cameras.stale_after.as_secs_f64(),
        };
        let first = Snapshot {
            intersection: config.intersection.id.clone(),
            version: env!("CARGO_PKG_VERSION"),
            tick: 0,
            uptime_s: 0.0,
            time_unix_ms: 0,
            simulated,
            mode: "starting".into(),
            policy: "",
            phase: None,
            next_phase: None,
            interval: "red clearance".into(),
            interval_s: 0.0,
            stopping: false,
            groups: Vec::new(),
            phases: Vec::new(),
            cameras: Vec::new(),
            links: Vec::new(),
            outbox_dropped: 0,
            resources: ResourceState::default(),
            max_wait_s: 0.0,
            limits: limits.clone(),
            actions: Vec::new(),
            actions_ended: Vec::new(),
            actions_begun: 0,
            timeline: Arc::new(Timeline::empty()),
            published: Instant::now(),
            events: Arc::default(),
        };
        let (sender, _) = watch::channel(Arc::new(first));
        Publisher {
            sender,
            intersection: config.intersection.id.clone(),
            simulated,
            limits,
            cameras: Vec::new(),
            groups: groups
                .iter()
                .map(|_| GroupTrack {
                    head: HeadState::Red,
                    since: Duration::ZERO,
                    waiting_since: None,
                    green_durations: Histogram::new(GREEN_BUCKETS),
                    timeline: VecDeque::new(),
                })
                .collect(),
            phases: signal
                .phases()
                .into_iter()
                .map(|(name, groups)| PhaseState { name, groups })
                .collect(),
            watchers,
            events: Arc::new(EventRing {
                epoch: Some(signal.epoch()),
                ..EventRing::default()
            }),
            timeline: Arc::new(Timeline::empty()),
            resources: ResourceState::default(),
            resources_read: None,
            tick: 0,
        }
    }

    /// A receiver of the snapshots, for the HTTP server.
    pub fn subscribe(&self) -> Snapshots {
        self.sender.subscribe()
    }

    /// Records this tick and, when anyone listens, publishes its snapshot. `wall_zero` is the
    /// wall-clock time of the loop's zero.
    pub fn publish(
        &mut self,
        now: Duration,
        wall_zero: std::time::SystemTime,
        signal: &Signal,
        workers: &[Worker<'_>],
        around: Around<'_>,
    ) {
        let Around {
            links,
            tracker,
            recoveries,
        } = around;
        self.tick += 1;
        self.record_events(signal.last_events());
        self.record_heads(now, signal);
        if self.sender.receiver_count() == 0 {
            return;
        }
        let cameras = self.cameras(now, workers);
        if self
            .resources_read
            .is_none_or(|at| at.elapsed() >= RESOURCES_EVERY)
        {
            self.resources = read_resources(tracker);
            self.resources_read = Some(Instant::now());
        }
        let status = signal.status();
        let groups: Vec<GroupState> = signal
            .groups()
            .iter()
            .enumerate()
            .map(|(g, name)| {
                let track = &self.groups[g];
                GroupState {
                    name: name.clone(),
                    head: head_name(signal.head(g)),
                    count: signal.counted(name),
                    on_recall: signal.counted(name).is_none(),
                    cameras: self.watchers[g].clone(),
                    greens: signal.greens[g],
                    wait_s: track
                        .waiting_since
                        .map_or(0.0, |since| (now - since).as_secs_f64()),
                    green_durations: track.green_durations.clone(),
                }
            })
            .collect();
        let max_wait_s = groups.iter().map(|g| g.wait_s).fold(0.0, f64::max);
        let wall = wall_zero + now;
        let snapshot = Snapshot {
            intersection: self.intersection.clone(),
            version: env!("CARGO_PKG_VERSION"),
            tick: self.tick,
            uptime_s: now.as_secs_f64(),
            time_unix_ms: wall
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            simulated: self.simulated,
            mode: status.mode.to_string(),
            policy: status.policy,
            phase: status.phase.map(|p| signal.phase_name(p)),
            next_phase: status.next_phase.map(|p| signal.phase_name(p)),
            interval: status.interval.to_string(),
            interval_s: status.time_in_interval.as_secs_f64(),
            stopping: signal.stopping(),
            groups,
            phases: self.phases.clone(),
            cameras,
            links: links
                .states()
                .into_iter()
                .map(|l| LinkState {
                    name: l.name.to_string(),
                    target: l.peer,
                    connected: l.connected,
                    delivered: l.delivered,
                    waiting: l.waiting,
                    problem: l.problem,
                })
                .collect(),
            outbox_dropped: links.dropped(),
            resources: self.resources.clone(),
            max_wait_s,
            limits: self.limits.clone(),
            actions: recoveries.active().to_vec(),
            actions_ended: recoveries.ended().cloned().collect(),
            actions_begun: recoveries.begun(),
            timeline: self.timeline.clone(),
            published: Instant::now(),
            events: self.events.clone(),
        };
        self.sender.send_replace(Arc::new(snapshot));
    }

    /// Adds the tick's events to the ring (a new `Arc` only on ticks that had any).
    fn record_events(&mut self, events: &[HiResEvent]) {
        if events.is_empty() {
            return;
        }
        let ring = Arc::make_mut(&mut self.events);
        for &event in events {
            if ring.events.len() == RECENT_EVENTS {
                ring.events.pop_front();
            }
            ring.events.push_back(EventRecord {
                seq: ring.total,
                event,
            });
            ring.total += 1;
        }
    }

    /// Head changes: green durations, waits and the timeline.
    fn record_heads(&mut self, now: Duration, signal: &Signal) {
        let mut changed = false;
        for (g, track) in self.groups.iter_mut().enumerate() {
            let head = signal.head(g);
            let demand = signal
                .counted(&signal.groups()[g])
                .is_none_or(|count| count > 0);
            match (head, track.waiting_since) {
                (HeadState::Green, _) => track.waiting_since = None,
                (_, None) if demand => track.waiting_since = Some(now),
                _ => {}
            }
            if head == track.head {
                continue;
            }
            changed = true;
            if track.head == HeadState::Green {
                track
                    .green_durations
                    .observe((now - track.since).as_secs_f64());
            }
            if let Some(open) = track.timeline.back_mut().filter(|s| s.to_s.is_none()) {
                open.to_s = Some(now.as_secs_f64());
            }
            if matches!(head, HeadState::Green | HeadState::Yellow) {
                track.timeline.push_back(Segment {
                    head: head_name(head),
                    from_s: now.as_secs_f64(),
                    to_s: None,
                });
            }
            track.head = head;
            track.since = now;
        }
        let oldest = now.saturating_sub(TIMELINE_WINDOW).as_secs_f64();
        for track in &mut self.groups {
            while track
                .timeline
                .front()
                .is_some_and(|s| s.to_s.is_some_and(|to| to < oldest))
            {
                track.timeline.pop_front();
                changed = true;
            }
        }
        if changed {
            self.timeline = Arc::new(Timeline {
                window_s: TIMELINE_WINDOW.as_secs_f64(),
                groups: self
                    .groups
                    .iter()
                    .map(|t| t.timeline.iter().copied().collect())
                    .collect(),
            });
        }
    }

    fn cameras(&mut self, now: Duration, workers: &[Worker<'_>]) -> Vec<CameraState> {
        self.cameras.resize_with(workers.len(), || CameraTrack {
            rate_from: now,
            frames_then: 0,
            analysed_then: 0,
            fps_read: 0.0,
            fps_analysed: 0.0,
        });
        workers
            .iter()
            .zip(&mut self.cameras)
            .map(|(w, track)| {
                let span = now.saturating_sub(track.rate_from);
                if span >= RATE_WINDOW {
                    let secs = span.as_secs_f64();
                    track.fps_read = (w.frames - track.frames_then) as f64 / secs;
                    track.fps_analysed = (w.analysed - track.analysed_then) as f64 / secs;
                    track.frames_then = w.frames;
                    track.analysed_then = w.analysed;
                    track.rate_from = now;
                }
                CameraState {
                    name: w.camera.clone(),
                    source: w.source.clone(),
                    groups: w.groups.clone(),
                    working: w.healthy,
                    frames: w.frames,
                    analysed: w.analysed,
                    dropped: w.dropped,
                    fps_read: track.fps_read,
                    fps_analysed: track.fps_analysed,
                    last_frame_age_s: w.last_frame.map(|at| now.saturating_sub(at).as_secs_f64()),
                    detector: w.detector,
                    network_rate_hz: w.rate,
                    latency_ms: w.latency.mean().map(|s| s * 1000.0),
                    latency: w.latency.clone(),
                    zones: w.zones.clone(),
                }
            })
            .collect()
    }
}

fn read_resources(tracker: &ResourceTracker) -> ResourceState {
    let stats = tracker.statistics();
    ResourceState {
        rss_mb: stats.rss_mb,
        rss_delta_mb: stats.rss_delta_mb,
        open_fds: stats.open_fds,
        potential_leaks: stats.potential_leaks.len(),
        disks: stats
            .disks
            .iter()
            .map(|d| DiskState {
                path: d.path.display().to_string(),
                free_percent: d.free_percent,
                free_bytes: d.free_bytes,
            })
            .collect(),
    }
}

/// A head's name in the API: green, yellow, red, flashing-red, dark.
pub fn head_name(head: HeadState) -> &'static str {
    match head {
        HeadState::Green => "green",
        HeadState::Yellow => "yellow",
        HeadState::Red => "red",
        HeadState::FlashingRed => "flashing-red",
        HeadState::Dark => "dark",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_each_observation_in_its_first_bucket_that_holds_it() {
        let mut h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 9.0] {
            h.observe(v);
        }
        assert_eq!(h.counts, [2, 1, 1]);
        assert_eq!((h.count, h.sum), (4, 12.0));
        assert_eq!(h.mean(), Some(3.0));
    }
}
