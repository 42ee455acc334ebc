//! The run loop: wires cameras, the frame store, the signal controller and resource
//! monitoring together, at a fixed tick, until `--for` runs out or shutdown is requested.
//!
//! Everything here takes its time from a [`Clocks`], so a test can run an hour of the loop in
//! milliseconds with [`SimulatedClocks`](semaforo_base::SimulatedClocks).

pub mod camera_view;
mod cameras;
mod costs;
mod events;
mod housekeeping;
pub mod recovery;
mod signal;
mod signals;
pub mod snapshot;
mod status_line;
mod systemd;
mod timings;
mod wall_clock;

pub use signals::stop_on_termination_signals;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use semaforo_base::{Clocks, Shutdown, Wake};

use semaforo_resources::{global_tracker, FrameStore, FrameStoreConfig, ResourceTracker};
use semaforo_signal::{DetectorReading, HeadState};

use crate::config::Config;
use crate::links::{Links, SignalState};
use crate::orchestrator::Message;
use camera_view::CameraView;
use housekeeping::Housekeeping;
use recovery::Recoveries;
use signal::Signal;
use status_line::StatusLine;
use timings::StageTimings;

/// The controller's tick: 10 Hz, as DESIGN.md sets it.
pub const TICK: Duration = Duration::from_millis(100);

/// What a run did, logged when it ends.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub ran_for: Duration,
    pub ticks: u64,
    pub frames: u64,
    pub frames_saved: u64,
    pub stop_reason: String,
    pub leaks: usize,
    /// Greens started per signal group.
    pub greens: Vec<(String, u64)>,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped after {:.1} s ({}): {} ticks, {} camera frames, {} frames saved, {} potential \
             leaks, greens {}",
            self.ran_for.as_secs_f64(),
            self.stop_reason,
            self.ticks,
            self.frames,
            self.frames_saved,
            self.leaks,
            self.greens.iter().map(|(g, n)| format!("{g}: {n}")).collect::<Vec<_>>().join(", ")
        )
    }
}

/// The signal's state for MQTT's retained topics; the arrivals are those counted since the
/// last status (`reset` starts the next interval).
fn signal_state(signal: &mut Signal, reset: bool) -> SignalState {
    let status = signal.status();
    let state = SignalState {
        groups: signal
            .groups()
            .iter()
            .enumerate()
            .map(|(g, name)| {
                (
                    name.clone(),
                    signal.head(g).to_string(),
                    signal.counted(name),
                    signal.arrivals()[g],
                )
            })
            .collect(),
        phase: status
            .phase
            .map(|p| signal.intersection().phase(p).name().to_string()),
        mode: status.mode.to_string(),
    };
    if reset {
        signal.restart_arrivals();
    }
    state
}

/// Which cameras watch each signal group, worked out once at start so a tick allocates nothing.
struct Watchers {
    /// Per group: (worker, slot in the worker's groups) of every camera watching it.
    of_group: Vec<Vec<(usize, usize)>>,
    /// Per worker: the group whose head its scene shows (a synthetic scene's traffic obeys it).
    scenes: Vec<Option<usize>>,
}

impl Watchers {
    fn new(workers: &[cameras::Worker<'_>], groups: &[String]) -> Self {
        let of_group = groups
            .iter()
            .map(|group| {
                workers
                    .iter()
                    .enumerate()
                    .filter_map(|(w, worker)| {
                        let slot = worker.groups.iter().position(|g| g == group)?;
                        Some((w, slot))
                    })
                    .collect()
            })
            .collect();
        let scenes = workers
            .iter()
            .map(|w| {
                let first = w.groups.first()?;
                groups.iter().position(|g| g == first)
            })
            .collect();
        Watchers { of_group, scenes }
    }

    /// Hands each group its reading: the sums of its cameras' counts when every camera that
    /// watches it works, else "failed" (served on recall: a partial count would starve it).
    fn read(&self, workers: &mut [cameras::Worker<'_>], signal: &mut Signal) {
        for (g, watching) in self.of_group.iter().enumerate() {
            let working = !watching.is_empty() && watching.iter().all(|&(w, _)| workers[w].healthy);
            let mut reading = DetectorReading::new(0, 0);
            for &(w, slot) in watching {
                let worker = &mut workers[w];
                reading.queue += worker.queues[slot];
                reading.arrivals += std::mem::take(&mut worker.arrivals[slot]);
            }
            if !working {
                reading = DetectorReading::FAILED;
            }
            signal.set_reading(g, reading, || {
                let failed: Vec<&str> = watching
                    .iter()
                    .filter(|&&(w, _)| !workers[w].healthy)
                    .map(|&(w, _)| workers[w].camera.as_str())
                    .collect();
                match failed.as_slice() {
                    [] => "no camera watches it".to_string(),
                    [one] => format!("camera {one} is not working"),
                    many => format!("cameras {} are not working", many.join(", ")),
                }
            });
        }
    }
}

/// The recoveries the cameras' workers and the controller are taking, into the ledger (the
/// memory and disk ones are housekeeping's).
fn act_on_health(
    now: Duration,
    workers: &[cameras::Worker<'_>],
    signal: &Signal,
    recoveries: &mut Recoveries,
) {
    for w in workers {
        let check = &w.health_check;
        recoveries.set(now, check, REOPEN_ACTION, w.reopening.as_deref());
        recoveries.set(now, check, FALLBACK_ACTION, w.fallback.as_deref());
        recoveries.set(now, check, RATE_ACTION, w.rate_lowered.as_deref());
    }
    let fail_safe = signal.status().mode == semaforo_signal::Mode::FailSafe;
    recoveries.set(
        now,
        "controller",
        FAIL_SAFE_ACTION,
        fail_safe.then_some("no group has working detection; normal mode returns with it"),
    );
}

/// Moves the stamps' zero when the wall clock moved (logging a step); signal timing stays on
/// the monotonic clock.
fn follow_the_wall_clock(
    wall: &mut wall_clock::WallClock,
    now: Duration,
    realtime: std::time::SystemTime,
    signal: &mut Signal,
) {
    let before = wall.zero();
    let moved = wall.check(now, realtime);
    if wall.zero() == before {
        return;
    }
    signal.set_wall_zero(wall.zero());
    let (direction, by) = match moved {
        Some(wall_clock::Moved::Forward(by)) => ("forward", by),
        Some(wall_clock::Moved::Back(by)) => ("back", by),
        None => return,
    };
    let by = Duration::from_secs(by.as_secs_f64().round() as u64);
    tracing::warn!(
        "the wall clock stepped {direction} by {} (now {}): signal timing runs on the monotonic \
         clock and is not affected; messages and events are stamped with the new time",
        humantime::format_duration(by),
        humantime::format_rfc3339_seconds(realtime)
    );
}

/// The recoveries' names, as `/health` and `/api/status` show them.
pub const REOPEN_ACTION: &str = "reopening with backoff";
pub const FALLBACK_ACTION: &str = "detector replaced by the background model";
pub const FAIL_SAFE_ACTION: &str = "fixed-time fail-safe plan";
pub const RATE_ACTION: &str = "network rate lowered";

/// Says what is starting and from which configuration.
fn announce(config: &Config) {
    tracing::info!(
        "semaforo {} starting (configuration: {})",
        env!("CARGO_PKG_VERSION"),
        config
            .file
            .as_ref()
            .map_or("built-in defaults, environment and flags".into(), |p| p
                .display()
                .to_string())
    );
    for line in config.describe().lines().filter(|l| !l.is_empty()) {
        tracing::debug!("config {line}");
    }
}

fn open_frame_store(config: &Config) -> Option<FrameStore> {
    if !config.frames.save {
        tracing::info!("frame saving is off (frames.save = false)");
        return None;
    }
    let store_config = FrameStoreConfig {
        dir: config.frames.dir.clone(),
        max_frames: config.frames.max_saved,
        max_memory_mb: config.frames.buffer_memory_mb,
        jpeg_quality: config.frames.jpeg_quality,
        min_free_disk_percent: config.frames.min_free_disk_percent,
        ..FrameStoreConfig::default()
    };
    match FrameStore::open(store_config) {
        Ok(store) => Some(store),
        Err(e) => {
            // Saving frames is a diagnostic aid: without it the controller still runs.
            tracing::error!("frames will not be saved: {e}");
            None
        }
    }
}

/// Ends the current interval safely before exit, as a controller going dark must: the green
/// gets its full yellow and red clearance, then all heads are red. Bounded by yellow + red
/// clearance + one second; this wait ignores the shutdown request that got us here.
fn stop_safely(
    clock: &dyn Clocks,
    signal: &mut Signal,
    mut next: Duration,
    mut on_tick: impl FnMut(&Signal, Duration),
) {
    let start = clock.monotonic();
    tracing::info!("stopping: {}", signal.stop_plan());
    signal.request_stop(start);
    let limit = start + signal.longest_clearance() + Duration::from_secs(1);
    let keep_waiting = Shutdown::new();
    while !signal.is_all_red() && clock.monotonic() < limit {
        next += TICK;
        let _ = clock.sleep_until(next, &keep_waiting);
        signal.tick(clock.monotonic());
        on_tick(signal, clock.monotonic());
    }
    if signal.is_all_red() {
        tracing::info!(
            "signal stopped safely after {:.1} s: {}",
            (clock.monotonic() - start).as_secs_f64(),
            signal.describe()
        );
    } else {
        tracing::error!(
            "the signal did not reach all red in time: {}",
            signal.describe()
        );
    }
}

/// Runs until `run_for` has passed on `clock` or `shutdown` is requested.
pub fn run(
    config: &Config,
    clock: &dyn Clocks,
    shutdown: &Shutdown,
    run_for: Option<Duration>,
) -> anyhow::Result<RunSummary> {
    run_with_tracker(config, clock, shutdown, run_for, global_tracker())
}

/// [`run`] with an explicit tracker, so tests can check their own counts.
pub fn run_with_tracker(
    config: &Config,
    clock: &dyn Clocks,
    shutdown: &Shutdown,
    run_for: Option<Duration>,
    tracker: &ResourceTracker,
) -> anyhow::Result<RunSummary> {
    announce(config);
    tracker.watch_disk(config.logging.dir.clone());
    tracker.watch_disk(config.frames.dir.clone());
    tracker.watch_disk(config.temp.dir.clone());
    let mut housekeeping = Housekeeping::new(config, clock.monotonic());
    let views: Vec<Arc<CameraView>> = config
        .cameras
        .cameras
        .keys()
        .map(|n| CameraView::new(n))
        .collect();
    let shared = cameras::Shared {
        config,
        tracker,
        store: open_frame_store(config).map(Arc::new),
        views: views.clone(),
        saving_paused: std::sync::atomic::AtomicBool::new(false),
    };
    let mut signal = Signal::new(config, clock)?;
    let mut links = Links::start(config);
    let mut publisher = snapshot::Publisher::new(config, &signal, clock.is_simulated());
    let http = crate::http::start(&config.http, publisher.subscribe(), views, tracker);
    let mut service = systemd::ServiceManager::from_environment();
    // Wall-clock time of the loop's zero: messages are stamped with it plus loop time, so a
    // run on simulated time stamps them in simulated time. It moves when the wall clock is
    // stepped; signal timing does not.
    let mut wall = wall_clock::WallClock::new(clock.realtime() - clock.monotonic());
    let mut summary = RunSummary::default();
    let mut timings = StageTimings::default();
    let mut recoveries = Recoveries::default();
    std::thread::scope(|scope| {
        let mut workers = cameras::start(scope, &shared, clock.monotonic());
        let watchers = Watchers::new(&workers, signal.groups());
        let mut costs = costs::CameraCosts::new(
            config.resources.statistics_interval,
            clock.monotonic(),
            workers.len(),
        );
        tracing::info!(
            "running: {} camera(s), tick {} ms{}",
            workers.len(),
            TICK.as_millis(),
            run_for.map_or(String::new(), |d| format!(
                ", for {}",
                humantime::format_duration(d)
            ))
        );
        // On simulated time nothing moves while the loop waits, so it waits for every report.
        let wait = (!clock.is_simulated()).then_some(cameras::REPORT_WAIT);
        let mut next_status = clock.monotonic();
        // The original's count_a and count_b, on the original's intersection.
        let two_approach = signal.groups() == ["A", "B"];
        let mut status_line = StatusLine::new(config.logging.to_console, clock.monotonic());
        let mut next = clock.monotonic();
        loop {
            let now = clock.monotonic();
            follow_the_wall_clock(&mut wall, now, clock.realtime(), &mut signal);
            let wall_zero = wall.zero();
            if let Some(limit) = run_for {
                if now >= limit {
                    summary.stop_reason = format!("--for {}", humantime::format_duration(limit));
                    break;
                }
            }
            for (worker, scene) in workers.iter_mut().zip(&watchers.scenes) {
                let head = scene.map_or(HeadState::Red, |g| signal.head(g));
                worker.request(now, head);
            }
            for worker in &mut workers {
                if let Some(report) = worker.collect(wait, &mut timings) {
                    summary.frames += report.frames;
                    summary.frames_saved += report.saved;
                }
            }
            watchers.read(&mut workers, &mut signal);
            let began = timings.time("signal_tick", || signal.tick(now));
            act_on_health(now, &workers, &signal, &mut recoveries);
            let stamp = wall_zero + now;
            if !links.is_empty() {
                links.publish_events(signal.intersection(), signal.last_events());
                for &group in &began {
                    let direction = signal.groups()[group].clone();
                    links.send(&Message::Decision {
                        direction,
                        timestamp: stamp,
                        situation: signal.situation(&config.intersection.id),
                    });
                }
            }
            let status_due = now >= next_status;
            if status_due {
                let count = |approach: &str| signal.counted(approach);
                tracing::debug!("status: {}", signal.describe());
                if !links.is_empty() {
                    links.send(&Message::Status {
                        original_counts: two_approach.then(|| [count("A"), count("B")]),
                        timestamp: stamp,
                        situation: signal.situation(&config.intersection.id),
                    });
                }
                next_status = now + config.signal.decision_interval;
            }
            if !links.is_empty() && (status_due || signal.heads_changed()) {
                links.publish_state(&signal_state(&mut signal, status_due));
            }
            housekeeping.tick(
                now,
                tracker,
                shared.store.as_deref(),
                &mut timings,
                (&shared.saving_paused, &mut recoveries),
            );
            costs.tick(now, &workers);
            if status_line.due(now) {
                let counts: Vec<(&str, u64, u64)> = workers
                    .iter()
                    .map(|w| (w.camera.as_str(), w.frames, w.analysed))
                    .collect();
                let rates = status_line.rates(now, &counts);
                let link_state: String = links
                    .states()
                    .iter()
                    .map(|s| {
                        let state = if s.connected { "connected" } else { "away" };
                        format!(" | {} {state}, {} waiting", s.name, s.waiting)
                    })
                    .collect();
                let text = format!(
                    "{} | {} | {rates}{link_state}",
                    signal.describe(),
                    signal.queues()
                );
                status_line.draw(now, &text);
            }
            publisher.publish(
                now,
                wall_zero,
                &signal,
                &workers,
                snapshot::Around {
                    links: &links,
                    tracker,
                    recoveries: &recoveries,
                },
            );
            if let Some(service) = &mut service {
                service.ticked(|| signal.describe());
            }
            summary.ticks += 1;
            next += TICK;
            if clock.sleep_until(next, shutdown) == Wake::Shutdown {
                summary.stop_reason = shutdown.reason().unwrap_or_default();
                break;
            }
        }
        // Before the safe stop, which reads no frame.
        costs.finish(&workers);
        status_line.finish();
        if let Some(service) = &mut service {
            service.stopping(&summary.stop_reason);
        }
        let wall_zero = wall.zero();
        stop_safely(clock, &mut signal, next, |signal, now| {
            publisher.publish(
                now,
                wall_zero,
                signal,
                &workers,
                snapshot::Around {
                    links: &links,
                    tracker,
                    recoveries: &recoveries,
                },
            );
            if let Some(service) = &mut service {
                service.ticked(|| signal.describe());
            }
        });
        for worker in workers {
            if let Some((seen, ran)) = worker.usage {
                tracing::info!(
                    "camera {}: the detector's network ran on {ran} of {seen} frames ({:.1}%), \
                     the motion gate skipped the rest",
                    worker.camera,
                    100.0 * ran as f64 / seen.max(1) as f64
                );
            }
            worker.stop();
        }
    });
    drop(http);
    summary.ran_for = clock.monotonic();
    summary.greens = signal
        .groups()
        .iter()
        .cloned()
        .zip(signal.greens.iter().copied())
        .collect();
    drop(links);
    summary.leaks = housekeeping.finish(tracker, shared.store.as_deref(), &mut timings);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Inputs};
    use semaforo_base::SimulatedClocks;

    fn config_in(dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
        let mut inputs = Inputs::defaults();
        let d = |name: &str| dir.join(name).display().to_string();
        let mut set = vec![
            ("temp.dir", d("tmp")),
            ("frames.dir", d("frames")),
            ("logging.dir", d("logs")),
            ("detection.state_dir", d("state")),
            ("cameras.width", "160".into()),
            ("cameras.height", "120".into()),
            ("http.addr", "off".into()),
        ];
        set.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        for (key, value) in set {
            inputs
                .flags
                .push((format!("--set {key}={value}"), key.into(), value));
        }
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        Config::from_inputs(&inputs).unwrap()
    }

    /// Runs the loop for `seconds` of manual-clock time.
    fn run_on_manual_clock(config: &Config, seconds: u64, tracker: &ResourceTracker) -> RunSummary {
        let clock = SimulatedClocks::new();
        let run_for = Some(Duration::from_secs(seconds));
        run_with_tracker(config, &clock, &Shutdown::new(), run_for, tracker).unwrap()
    }

    #[test]
    fn ten_minutes_of_the_loop_read_save_and_release_every_camera() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(
            dir.path(),
            &[
                ("cameras.fps", "10"),
                ("frames.save_interval", "50"),
                ("frames.max_saved", "5"),
                // The saves must not depend on how full this machine's disk is (a CI
                // machine after a full build can sit below the default 10% free).
                ("frames.min_free_disk_percent", "0"),
            ],
        );
        let tracker = ResourceTracker::new();
        let summary = run_on_manual_clock(&config, 600, &tracker);
        assert_eq!(summary.ticks, 6000);
        // Two cameras at 10 fps for 600 s, each read on its own schedule.
        assert_eq!(summary.frames, 2 * 6000);
        assert_eq!(summary.frames_saved, 2 * 6000 / 50);
        assert_eq!(summary.leaks, 0);
        // Detection on both synthetic scenes: the compare policy serves both approaches.
        assert!(
            summary.greens.iter().all(|(_, n)| *n >= 5),
            "{:?}",
            summary.greens
        );
        let saved = std::fs::read_dir(dir.path().join("frames"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "jpg")
            })
            .count();
        assert_eq!(saved, 2 * 5, "the store keeps max_saved frames per camera");
        let cameras = tracker.statistics().kind("camera");
        assert_eq!(
            (cameras.alive, cameras.tracked),
            (0, 0),
            "cameras are released at the end"
        );
    }

    #[test]
    fn saved_frames_carry_the_annotations_unless_turned_off() {
        let saved = |annotate: &str| {
            let dir = tempfile::tempdir().unwrap();
            let config = config_in(
                dir.path(),
                &[
                    ("frames.save_interval", "40"),
                    ("frames.annotate", annotate),
                    ("frames.min_free_disk_percent", "0"),
                    ("cameras.b.source", "testsrc:"),
                ],
            );
            run_on_manual_clock(&config, 10, &ResourceTracker::new());
            let mut files: Vec<_> = std::fs::read_dir(dir.path().join("frames"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains("_a_"))
                .collect();
            files.sort();
            let last = files.last().expect("camera a saved frames").clone();
            // `0000000004_camera_a_cycle_3_<wall time>.jpg`: the frame, without the store's
            // sequence number (the two cameras' saves take their numbers in whichever order
            // their threads get there) and the time.
            let name = last.file_name().unwrap().to_string_lossy().into_owned();
            let frame = name.rsplit_once('_').unwrap().0;
            let frame = frame.split_once('_').unwrap().1.to_string();
            (frame, std::fs::read(last).unwrap())
        };
        let (name, drawn) = saved("true");
        let (raw_name, raw) = saved("false");
        assert_eq!(name, raw_name, "the same frame of the same scene");
        assert_ne!(
            drawn, raw,
            "zones, boxes and counts are drawn on the saved frame"
        );
    }

    #[test]
    fn a_camera_that_cannot_open_leaves_the_other_running() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(
            dir.path(),
            &[("cameras.b.source", "rtsp://camera.invalid/stream")],
        );
        let summary = run_on_manual_clock(&config, 10, &ResourceTracker::new());
        // Camera A alone at 15 fps: frames are due at k/15 s, read by the ticks at 0.0 to 9.9 s.
        assert_eq!(summary.frames, 149);
    }

    #[test]
    fn groups_that_no_camera_watches_are_served_on_recall() {
        let dir = tempfile::tempdir().unwrap();
        // The built-in four-arm layout (N, S, E, W) with one camera, named after group N.
        let config = config_in(
            dir.path(),
            &[
                ("intersection.builtin", "four-arm"),
                ("cameras.n.source", "synthetic:"),
                ("frames.save", "false"),
            ],
        );
        assert_eq!(config.cameras.cameras.keys().collect::<Vec<_>>(), ["n"]);
        assert_eq!(config.watches["n"], ["N"]);
        assert_eq!(config.unwatched_groups(), ["S", "E", "W"]);
        let summary = run_on_manual_clock(&config, 300, &ResourceTracker::new());
        // Every group gets green: N on demand, the others on recall every cycle.
        assert!(
            summary.greens.iter().all(|(_, n)| *n >= 2),
            "{:?}",
            summary.greens
        );
    }

    #[test]
    fn a_shutdown_request_ends_the_loop_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &[]);
        let shutdown = Shutdown::new();
        shutdown.request("test asked");
        let clock = SimulatedClocks::new();
        let summary =
            run_with_tracker(&config, &clock, &shutdown, None, &ResourceTracker::new()).unwrap();
        assert_eq!(summary.stop_reason, "test asked");
        assert_eq!(summary.ticks, 1);
    }
}
