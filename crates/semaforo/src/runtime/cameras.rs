//! The cameras of the run loop, each on its own thread with its detector: one worker per
//! camera reads the frames that are due, detects vehicles, counts them in the camera's zones
//! (each zone counts for the signal group its `approach` names; one camera may watch several
//! groups) and saves every `save_interval`th frame. The camera sits behind a [`ManagedCamera`] guard
//! (opened on the worker's thread, released when the worker ends), so the resource tracker
//! sees it open while it runs and released after.
//!
//! The loop asks every worker to catch up to "now" once per tick and collects their reports.
//! On the real clock it waits for them no longer than [`REPORT_WAIT`]: a slow detector gets its
//! counts in a later tick and never holds up the signal. On a simulated clock the loop waits
//! for every report, so a run is the same every time.
//!
//! A camera that cannot be opened, or a detector that cannot be built, is logged and its groups
//! report "no detection"; the others keep running, and the controller serves a group without
//! detection on recall (all of them without: its fixed-time plan).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use semaforo_camera::synthetic::LAYOUT;
use semaforo_camera::{
    kind_of, redact, FrameReader, LiveConfig, LiveSource, LiveState, NetworkOptions, Requested,
    Source,
};
use semaforo_resources::{
    encode_jpeg, AtomicFile, CameraProperty, FrameStore, ManagedCamera, ResourceTracker,
    SaveOutcome,
};
use semaforo_signal::HeadState;
use semaforo_vision::{
    annotate, build_detector, AnalysisRate, BackgroundSubtractor, Detection, Detector,
    DetectorKind, DetectorSettings, QueueSource, RateChange, TrackerOptions, ZoneCounter, ZoneSet,
};

use super::camera_view::{CameraView, Picture};
use super::signal::aspect_of;
use super::snapshot::{Histogram, LATENCY_BUCKETS};
use super::timings::StageTimings;
use crate::config::{CameraConfig, Config};

/// Longest the loop waits for the workers' reports in a tick on the real clock.
pub const REPORT_WAIT: Duration = Duration::from_millis(40);

/// More frames than this in one catch-up means the camera fell behind; the rest are skipped.
const MAX_FRAMES_PER_POLL: u32 = 16;

/// JPEG quality of the annotated pictures the HTTP API serves.
const PICTURE_QUALITY: u8 = 80;

/// Detections in a row that fail before the background model replaces the detector.
const FAILURES_IN_A_ROW: u32 = 3;

/// The detections whose median time is compared with `detection.max_latency`.
const LATENCY_WINDOW: usize = 10;

/// How often a camera's background model is saved while running (it is saved at shutdown
/// too): a crash or a power cut restores one at most this old.
const STATE_EVERY: Duration = Duration::from_secs(15 * 60);

/// What one worker did since its last report.
#[derive(Debug, Default)]
pub struct Report {
    pub frames: u64,
    pub saved: u64,
    /// Vehicles in each watched group's queue zones after the last frame.
    pub queues: Vec<u32>,
    /// Vehicles that crossed each watched group's lines since the last report.
    pub arrivals: Vec<u32>,
    /// Whether the counts mean something (camera and detector working).
    pub healthy: bool,
    pub timings: StageTimings,
    /// For a gated detector: frames seen and frames inferred, since the start.
    pub usage: Option<(u64, u64)>,
    /// Frames the detector ran on.
    pub analysed: u64,
    /// Frames skipped (the worker fell behind, or a newer frame was waiting).
    pub dropped: u64,
    /// The detector's name, once it runs.
    pub detector: Option<&'static str>,
    /// The loop time of the last good frame, once there was one.
    pub last_frame: Option<Duration>,
    /// Each detection's duration, seconds.
    pub latencies: Vec<f64>,
    /// While the camera is being reopened: the attempts, the next try and the last error.
    pub reopening: Option<String>,
    /// Once the configured detector was replaced by the background model: why.
    pub fallback: Option<String>,
    /// The network's runs a second now (`None`: every analysed frame).
    pub rate: Option<f64>,
    /// While the network runs below `detection.rate` because it cannot keep it: how and why.
    pub rate_lowered: Option<String>,
    /// CPU time the worker's thread used for this report.
    pub cpu: Duration,
    /// Each queue zone as the camera's background model measured it in the last frame (empty
    /// without a background model).
    pub zones: Vec<ZoneMeasure>,
}

/// One queue zone as a camera's background model measured it ([`semaforo_vision::cover`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ZoneMeasure {
    pub zone: String,
    /// Share of the zone its vehicles cover, 0 to 1.
    pub covered: f64,
    /// The covered area in vehicles, once the network has shown their size.
    pub estimate: Option<f64>,
    /// While the background model counts alone: whether the queue is its blobs or the estimate.
    pub counted_by: Option<&'static str>,
}

/// CPU time this thread has used (zero if the clock cannot be read), with the time YOLOX's
/// network thread, shared by the cameras, spent on this thread's network runs.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    ) + semaforo_vision::detect::yolox::network_cpu_of_this_thread()
}

enum Request {
    /// Catch up to this time, showing the scene this head.
    Poll { now: Duration, head: HeadState },
}

/// The loop's handle on one camera worker.
pub struct Worker<'scope> {
    /// The camera's name (`cameras.<name>`).
    pub camera: String,
    /// Its health check's name, `camera <name>`.
    pub health_check: String,
    /// The signal groups it watches, in the order of its counts.
    pub groups: Vec<String>,
    requests: Sender<Request>,
    reports: Receiver<Report>,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
    /// A request is out and its report has not come back.
    busy: bool,
    /// Frames read so far, for the status line.
    pub frames: u64,
    /// The latest counts per watched group, and whether they mean something.
    pub queues: Vec<u32>,
    pub healthy: bool,
    /// Arrivals per watched group reported and not yet handed to the controller.
    pub arrivals: Vec<u32>,
    pub usage: Option<(u64, u64)>,
    /// Its source, the password hidden.
    pub source: String,
    /// Frames analysed and dropped so far.
    pub analysed: u64,
    pub dropped: u64,
    pub detector: Option<&'static str>,
    /// The loop time of its last good frame.
    pub last_frame: Option<Duration>,
    /// Detector latency since the start.
    pub latency: Histogram,
    /// The recoveries its worker is taking (see [`Report`]).
    pub reopening: Option<String>,
    pub fallback: Option<String>,
    pub rate_lowered: Option<String>,
    /// The network's runs a second now (`None`: every analysed frame).
    pub rate: Option<f64>,
    /// CPU time its thread used since the start.
    pub cpu: Duration,
    /// Its queue zones as its background model measured them (see [`Report::zones`]).
    pub zones: Vec<ZoneMeasure>,
}

/// Everything a worker needs from the loop, shared by reference.
pub struct Shared<'env> {
    pub config: &'env Config,
    pub tracker: &'env ResourceTracker,
    pub store: Option<Arc<FrameStore>>,
    /// Each camera's annotated picture, by camera name, for the HTTP API.
    pub views: Vec<Arc<CameraView>>,
    /// Frames are not saved: memory is over its limit or the disk is low (set by
    /// housekeeping, which logs why).
    pub saving_paused: AtomicBool,
}

impl Shared<'_> {
    fn view(&self, camera: &str) -> Option<Arc<CameraView>> {
        self.views.iter().find(|v| v.camera == camera).cloned()
    }
}

/// Starts one worker per configured camera inside `scope`.
pub fn start<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    shared: &'env Shared<'env>,
    now: Duration,
) -> Vec<Worker<'scope>> {
    let mut workers = Vec::new();
    let config = shared.config;
    if config.cameras.generated {
        tracing::info!(
            "no camera configured: each signal group gets a synthetic camera of its own ({})",
            config
                .cameras
                .cameras
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (index, (name, camera)) in config.cameras.cameras.iter().enumerate() {
        let (request_tx, request_rx) = mpsc::channel();
        let (report_tx, report_rx) = mpsc::channel();
        let groups = config.watches.get(name).cloned().unwrap_or_default();
        let watched = Watched {
            camera: name.clone(),
            groups: groups.clone(),
        };
        let source = with_scene_defaults(&camera.source, index, config.cameras.generated);
        let spawned = std::thread::Builder::new()
            .name(format!("camera-{name}"))
            .spawn_scoped(scope, move || {
                worker(shared, watched, camera, &source, now, request_rx, report_tx)
            });
        match spawned {
            Ok(thread) => workers.push(Worker {
                camera: name.clone(),
                health_check: format!("camera {name}"),
                requests: request_tx,
                reports: report_rx,
                thread: Some(thread),
                busy: false,
                frames: 0,
                queues: vec![0; groups.len()],
                healthy: false,
                arrivals: vec![0; groups.len()],
                groups,
                usage: None,
                source: redact(&camera.source),
                analysed: 0,
                dropped: 0,
                detector: None,
                last_frame: None,
                latency: Histogram::new(LATENCY_BUCKETS),
                reopening: None,
                fallback: None,
                rate_lowered: None,
                rate: None,
                cpu: Duration::ZERO,
                zones: Vec::new(),
            }),
            Err(e) => tracing::error!("camera {name}: cannot start its thread: {e}"),
        }
    }
    workers
}

impl Worker<'_> {
    /// Asks the worker to catch up to `now` (unless it is still busy with the last request).
    pub fn request(&mut self, now: Duration, head: HeadState) {
        if self.busy || self.thread.is_none() {
            return;
        }
        if self.requests.send(Request::Poll { now, head }).is_ok() {
            self.busy = true;
        } else {
            self.ended();
        }
    }

    /// Takes the worker's report if it is back within `wait` (`None`: wait for it).
    pub fn collect(
        &mut self,
        wait: Option<Duration>,
        timings: &mut StageTimings,
    ) -> Option<Report> {
        if !self.busy {
            return None;
        }
        let report = match wait {
            None => self
                .reports
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
            Some(w) => self.reports.recv_timeout(w),
        };
        match report {
            Ok(mut report) => {
                self.busy = false;
                self.frames += report.frames;
                self.healthy = report.healthy && report.queues.len() == self.groups.len();
                if self.healthy {
                    self.queues.copy_from_slice(&report.queues);
                    for (sum, n) in self.arrivals.iter_mut().zip(&report.arrivals) {
                        *sum += n;
                    }
                }
                self.usage = report.usage;
                self.analysed += report.analysed;
                self.dropped += report.dropped;
                self.detector = report.detector.or(self.detector);
                self.last_frame = report.last_frame.or(self.last_frame);
                for &took in &report.latencies {
                    self.latency.observe(took);
                }
                self.reopening = report.reopening.take();
                self.cpu += report.cpu;
                self.fallback = report.fallback.clone();
                self.rate_lowered = report.rate_lowered.take();
                self.rate = report.rate;
                if report.frames > 0 {
                    self.zones = std::mem::take(&mut report.zones);
                }
                timings.absorb(&mut report.timings);
                Some(report)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended();
                None
            }
        }
    }

    /// The worker's thread is gone (it panicked).
    fn ended(&mut self) {
        self.busy = false;
        self.healthy = false;
        self.reopening = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(
                    "camera {}: its thread panicked; no detection for it",
                    self.camera
                );
            }
        }
    }

    /// Stops the worker and waits for its thread (the camera is released on it).
    pub fn stop(mut self) {
        drop(self.requests);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("camera {}: its thread panicked", self.camera);
            }
        }
    }
}

/// What a background model that ran beside the network brings when it takes over: how long it
/// has learned, the cars that sized it and what each queue zone will count.
fn warm_model(model: &BackgroundSubtractor) -> String {
    let cover = model.cover();
    let zones: Vec<String> = cover
        .zones()
        .iter()
        .map(|z| {
            format!(
                "{} counted by its {} ({} frames compared with the network: blobs within one \
                 {:.0}%, estimate {:.0}%)",
                z.zone,
                z.source.name(),
                z.compared,
                100.0 * z.blobs_agree,
                100.0 * z.estimate_agree
            )
        })
        .collect();
    format!(
        "warm: {} frames learned, sized from {:.0} cars; {}",
        model.frames(),
        cover.scale().cars(),
        if zones.is_empty() {
            "no queue zone".to_string()
        } else {
            zones.join(", ")
        }
    )
}

/// What came back of what the network had taught a restored background model, for its log
/// line (nothing when it had learned nothing: a `bgsub` camera, or a file from before).
fn taught_summary(restored: &semaforo_vision::Restored) -> String {
    if restored.cars == 0.0 {
        String::new()
    } else {
        format!(
            "; sized from {:.0} cars, {} queue zone(s) keep their comparison with the network",
            restored.cars, restored.zones
        )
    }
}

/// Gives each synthetic scene its own seed and demand, so the intersection has something to
/// decide: for the original's two cameras a main road A (24 vehicles a minute, more than a
/// minimum green clears) and a side road B (8 a minute); for cameras generated one per signal
/// group, demands from 20 down to 6 a minute in turn. Parameters the user wrote come after
/// these and win.
fn with_scene_defaults(source: &str, index: usize, generated: bool) -> String {
    const GENERATED_RATES: [u32; 4] = [20, 14, 10, 6];
    match source.trim().strip_prefix("synthetic:") {
        Some(params) => {
            let rate = match (generated, index) {
                (true, i) => GENERATED_RATES[i % GENERATED_RATES.len()],
                (false, 0) => 24,
                (false, _) => 8,
            };
            format!("synthetic:seed={},rate={rate},{params}", index + 1)
        }
        None => source.to_string(),
    }
}

/// A camera's name and the signal groups it watches.
#[derive(Clone)]
struct Watched {
    camera: String,
    groups: Vec<String>,
}

/// Where a worker's frames come from.
enum Input {
    /// Read on the worker's thread when due: generated scenes and files, which wait for the
    /// loop's clock (simulated time included).
    Direct(ManagedCamera<Source>),
    /// Network and USB cameras: read on their own thread into a small ring; the worker takes
    /// the newest frame each tick and never waits for the camera (stale frames are dropped and
    /// counted); the camera reconnects by itself.
    /// (The camera logs its own state changes; it is kept here for its lifetime.)
    Live {
        camera: LiveSource,
        reader: FrameReader,
        /// The reader's skipped frames already reported.
        skipped: u64,
    },
}

/// Camera kinds that run on their own thread ([`Input::Live`]).
fn is_live(kind: &str) -> bool {
    matches!(kind, "rtsp" | "mjpeg-http" | "v4l2" | "ffmpeg")
}

/// The worker's state on its own thread.
struct Camera {
    /// Its name and the groups it counts for.
    watched: Watched,
    source: String,
    input: Input,
    feed: Option<semaforo_camera::AspectFeed>,
    /// Built when the first frame gives the picture's size.
    detection: DetectionState,
    detections: Vec<Detection>,
    fps: f64,
    period: Duration,
    next_due: Duration,
    /// Detection runs at most at the configured camera rate (`cameras.fps`): a 60 fps file
    /// is read at its own rate and analysed at 15 frames a second.
    detect_period: Duration,
    next_detect: Duration,
    frames: u64,
    last_good: Duration,
    /// Whether a frame ever arrived (`last_good` is the start until then).
    any_frame: bool,
    detector_failed: bool,
    /// Its annotated picture for the HTTP API.
    view: Option<Arc<CameraView>>,
    /// Saves skipped since saving last worked (low disk, write errors): the first is a
    /// warning, the rest are counted and reported when saving resumes, so a full disk
    /// does not fill the log for months.
    saves_failing: u64,
    /// A file that does not loop reached its end: not read again, not reopened.
    ended: bool,
    /// The last read failed (logged once until a read works again).
    read_failing: bool,
    /// The configured detector was replaced by the background model, and why.
    fallback: Option<String>,
    /// Watches the detector for failures and slowness.
    watch: DetectorWatch,
    /// The camera's settings, to build its detection again at another picture size.
    camera_config: CameraConfig,
    /// The picture size the zones and the detector were built for.
    detect_size: (u32, u32),
    /// When the network runs (`detection.rate`); the counter carries the frames between.
    rate: AnalysisRate,
    /// Why the rate is below `detection.rate`, while it is.
    rate_lowered: Option<String>,
    /// Where its background model is kept across restarts (`detection.state_dir`).
    state_path: Option<PathBuf>,
    /// When its background model is saved next.
    next_state_save: Duration,
}

/// Watches a camera's detector for what makes the background model the better choice:
/// [`FAILURES_IN_A_ROW`] failed detections, or a median time over the last
/// [`LATENCY_WINDOW`] detections above `detection.max_latency` (counts that old are worth
/// less to the controller than the background model's fresh ones).
struct DetectorWatch {
    max_latency: Duration,
    failures: u32,
    recent: VecDeque<Duration>,
}

impl DetectorWatch {
    fn new(max_latency: Duration) -> Self {
        DetectorWatch {
            max_latency,
            failures: 0,
            recent: VecDeque::with_capacity(LATENCY_WINDOW),
        }
    }

    /// Takes one detection's time and its error, if it failed; says why the detector
    /// should be replaced, when it should.
    fn observe(&mut self, took: Duration, failure: Option<&str>) -> Option<String> {
        match failure {
            Some(e) => {
                self.failures += 1;
                if self.failures >= FAILURES_IN_A_ROW {
                    return Some(format!(
                        "{} detections in a row failed, the last with: {e}",
                        self.failures
                    ));
                }
            }
            None => self.failures = 0,
        }
        if self.recent.len() == LATENCY_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(took);
        if self.recent.len() < LATENCY_WINDOW {
            return None;
        }
        let mut sorted: Vec<Duration> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        let median = sorted[LATENCY_WINDOW / 2];
        (median > self.max_latency).then(|| {
            format!(
                "its median detection took {:.0} ms over the last {LATENCY_WINDOW} frames, more \
                 than detection.max_latency = {:.0} ms",
                median.as_secs_f64() * 1000.0,
                self.max_latency.as_secs_f64() * 1000.0
            )
        })
    }
}

enum DetectionState {
    /// Waiting for the first frame.
    Pending(CameraConfig),
    Running(Box<dyn Detector>, ZoneCounter),
    /// Not configured, or could not be built (logged).
    Off,
}

fn worker(
    shared: &Shared<'_>,
    watched: Watched,
    config: &CameraConfig,
    source: &str,
    now: Duration,
    requests: Receiver<Request>,
    reports: Sender<Report>,
) {
    let name = watched.camera.clone();
    let stale_after = shared.config.cameras.stale_after;
    let save_interval = shared.config.frames.save_interval;
    let mut reopen = Reopen::default();
    // Replacing the detector outlives a reopen: the camera comes back with the background model.
    let mut fallback: Option<String> = None;
    let mut camera = match open_camera(shared, watched.clone(), config, source, now) {
        Ok(camera) => Some(camera),
        Err(e) => {
            tracing::error!(
                "{e}; group(s) {} lose this camera's detection until it opens (tried again with \
                 backoff)",
                watched.groups.join(", ")
            );
            reopen.failed(now, e);
            None
        }
    };
    let mut frames = 0;
    while let Ok(Request::Poll { now, head }) = requests.recv() {
        let cpu_before = thread_cpu();
        if camera.is_none() && reopen.due(now) {
            match open_camera(shared, watched.clone(), config, source, now) {
                Ok(mut opened) => {
                    opened.fallback = fallback.clone();
                    reopen = Reopen::default();
                    camera = Some(opened);
                }
                Err(e) => {
                    tracing::debug!("camera {name}: attempt {} failed: {e}", reopen.attempts);
                    reopen.failed(now, e);
                }
            }
        }
        let mut report = Report::default();
        if let Some(c) = &mut camera {
            if let Some(feed) = &c.feed {
                feed.set(aspect_of(head));
            }
            report = c.poll(shared.config, now, save_interval, shared);
            fallback = c.fallback.clone();
            // A camera read on this thread that gives no frame is closed and opened again; a
            // camera on its own thread reconnects by itself (its state is in the report).
            if let Some(silent) = c.silent_for(now).filter(|s| *s >= stale_after) {
                frames += c.frames;
                camera = None;
                reopen.failed(now, format!("no frame for {:.1} s", silent.as_secs_f64()));
            }
        }
        if camera.is_none() {
            report.reopening = reopen.describe(now);
            report.fallback = fallback.clone();
        }
        report.cpu = thread_cpu().saturating_sub(cpu_before);
        if reports.send(report).is_err() {
            break;
        }
    }
    frames += camera.as_ref().map_or(0, |c| c.frames);
    if let Some(c) = &mut camera {
        c.save_background();
    }
    drop(camera);
    tracing::debug!("camera {name}: released after {frames} frames");
}

/// A camera that must be opened again: attempts with the live cameras' backoff (0.5 s,
/// doubling, at most 30 s), on the loop's clock.
#[derive(Debug, Default)]
struct Reopen {
    attempts: u32,
    next: Duration,
    since: Duration,
    last_error: String,
}

impl Reopen {
    fn failed(&mut self, now: Duration, error: String) {
        if self.attempts == 0 {
            self.since = now;
        }
        self.attempts += 1;
        self.next = now + semaforo_camera::Backoff::default().delay(self.attempts);
        self.last_error = error;
    }

    fn due(&self, now: Duration) -> bool {
        self.attempts > 0 && now >= self.next
    }

    /// What the recovery looks like, while it lasts.
    fn describe(&self, now: Duration) -> Option<String> {
        (self.attempts > 0).then(|| {
            format!(
                "{} failed attempt(s) in {:.0} s, next in {:.1} s; last: {}",
                self.attempts,
                now.saturating_sub(self.since).as_secs_f64(),
                self.next.saturating_sub(now).as_secs_f64(),
                self.last_error
            )
        })
    }
}

fn open_camera(
    shared: &Shared<'_>,
    watched: Watched,
    camera_config: &CameraConfig,
    source: &str,
    now: Duration,
) -> Result<Camera, String> {
    let config = shared.config;
    let c = &config.cameras;
    let shown = redact(source);
    let name = watched.camera.as_str();
    let label = format!("camera {name} ({shown})");
    let requested = Requested {
        width: c.width,
        height: c.height,
        fps: c.fps,
    };
    let mut feed = None;
    let (input, fps) = if is_live(kind_of(source)) {
        let camera = LiveSource::open(
            source,
            requested,
            NetworkOptions::default(),
            LiveConfig::new(name),
            shared.tracker,
        );
        let reader = camera.reader();
        tracing::info!("camera {name}: {shown} starting on its own thread");
        (
            Input::Live {
                camera,
                reader,
                skipped: 0,
            },
            c.fps,
        )
    } else {
        let camera = match ManagedCamera::open(shared.tracker, label, || {
            let opened = Source::open(source, requested)?;
            feed = opened.aspect_feed();
            Ok(opened)
        }) {
            Ok(camera) => camera,
            // One bad camera does not stop the others.
            Err(e) => return Err(e.to_string()),
        };
        let prop = |p, default: f64| camera.get(p).unwrap_or(default);
        let fps = prop(CameraProperty::Fps, c.fps);
        tracing::info!(
            "camera {name}: {shown} open, {}x{} at {fps} fps, watching {}",
            prop(CameraProperty::FrameWidth, f64::from(c.width)),
            prop(CameraProperty::FrameHeight, f64::from(c.height)),
            watched.groups.join(", ")
        );
        (Input::Direct(camera), fps)
    };
    let detection = DetectionState::Pending(camera_config.clone());
    let view = shared.view(name);
    let state_path = config
        .detection
        .state_dir
        .as_ref()
        .map(|dir| dir.join(format!("background-{name}.bin")));
    Ok(Camera {
        watched,
        source: source.to_string(),
        input,
        feed,
        detection,
        detections: Vec::new(),
        fps,
        // The source's own rate: a file's frames are its frame rate apart.
        period: Duration::from_secs_f64(1.0 / fps.clamp(1.0, 240.0)),
        next_due: now,
        detect_period: Duration::from_secs_f64(1.0 / c.fps.min(fps).max(1.0)),
        next_detect: now,
        frames: 0,
        last_good: now,
        any_frame: false,
        detector_failed: false,
        view,
        saves_failing: 0,
        ended: false,
        read_failing: false,
        fallback: None,
        watch: DetectorWatch::new(config.detection.max_latency),
        camera_config: camera_config.clone(),
        detect_size: (0, 0),
        rate: AnalysisRate::new(None),
        rate_lowered: None,
        state_path,
        next_state_save: now + STATE_EVERY,
    })
}

/// When a camera's detector runs: the network (`yolox`, `auto`) at the camera's
/// `detection_rate` or else `detection.rate`, unless that is as fast as the frames are
/// analysed anyway; the background model on every frame.
fn analysis_rate(
    config: &Config,
    camera: &CameraConfig,
    detector: &str,
    source_fps: f64,
) -> AnalysisRate {
    let analysed = config.cameras.fps.min(source_fps);
    let hz = camera.network_rate(&config.detection);
    AnalysisRate::new((detector != "bgsub" && hz < analysed).then_some(hz))
}

/// Logs a change of a camera's analysis rate; returns what the status says while the rate is
/// below the configured one. (The recoveries' ledger logs the lowering once, when it begins,
/// and once when it ends; the steps between are debug lines.)
fn rate_changed(
    camera: &str,
    own_rate: bool,
    rate: &AnalysisRate,
    change: RateChange,
) -> Option<String> {
    let configured = rate.configured().unwrap_or(0.0);
    let busy = match change {
        RateChange::Lowered { from, to, busy } => {
            tracing::debug!(
                "camera {camera}: the network's rate goes from {from:.2} to {to:.2} a second \
                 (its runs took {:.0}% of the time between them)",
                100.0 * busy
            );
            Some(busy)
        }
        RateChange::Raised { from, to } => {
            tracing::debug!(
                "camera {camera}: the network's rate goes back from {from:.2} to {to:.2} a second"
            );
            None
        }
    };
    rate.lowered().then(|| {
        let setting = if own_rate {
            format!("cameras.{camera}.detection_rate")
        } else {
            "detection.rate".to_string()
        };
        let mut why = format!(
            "the network runs {:.2} times a second instead of {setting} = {configured}",
            rate.current().unwrap_or(0.0)
        );
        if let Some(busy) = busy {
            why.push_str(&format!(
                ": its runs took {:.0}% of the time between them",
                100.0 * busy
            ));
        }
        why.push_str("; back up step by step when it can keep up");
        why
    })
}

/// The camera's zones and detector.
fn detection_for(
    config: &Config,
    watched: &Watched,
    source: &str,
    d: &CameraConfig,
    kind: Option<DetectorKind>,
    (width, height, fps): (u32, u32, f64),
) -> Result<(Box<dyn Detector>, ZoneCounter), String> {
    let name = &watched.camera;
    let groups = config.layout.group_names();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    // Without a zones file a camera watches the one group of its own name (checked with the
    // configuration).
    let own = watched.groups.first().map_or(name.as_str(), String::as_str);
    let zones = match &d.zones {
        Some(path) => ZoneSet::load(path, width, height, &groups).map_err(|e| e.to_string())?,
        None if kind_of(source) == "synthetic" => {
            ZoneSet::of_synthetic_scene(&LAYOUT, width, height, own)
        }
        None => {
            tracing::warn!(
                "camera {name}: no zones file (cameras.{name}.zones): the whole picture counts as \
                 group {own}'s queue"
            );
            ZoneSet::whole_frame(width, height, own)
        }
    };
    // The synthetic scene's flat-shaded boxes are not what YOLOX learned vehicles from (it
    // finds none there), so `auto` means the background model on it; an explicit `yolox` is
    // still honoured.
    let kind = if let Some(kind) = kind {
        kind
    } else if d.detector == DetectorKind::Auto && kind_of(source) == "synthetic" {
        tracing::info!(
            "camera {name}: synthetic scene, so `auto` uses the background model (bgsub): \
             YOLOX does not see its drawn vehicles as vehicles"
        );
        DetectorKind::Bgsub
    } else {
        d.detector
    };
    let settings = DetectorSettings {
        model: config.detection.model.clone(),
        min_score: config.detection.min_score,
        runtime: config.detection.runtime,
        onnxruntime_library: config.detection.onnxruntime_library.clone(),
        fps: fps as f32,
        background_beside: config.detection.background_beside,
        ..DetectorSettings::new(kind)
    };
    let built = build_detector(&settings, width, height, &zones).map_err(|e| e.to_string())?;
    if let Some(warning) = built.fallback {
        tracing::warn!("camera {name}: {warning}");
    }
    Ok((
        built.detector,
        ZoneCounter::new(zones, TrackerOptions::default()),
    ))
}

impl Camera {
    /// Takes the frames due by `now` (a direct source) or the newest frame (a live one),
    /// detecting and counting on each.
    fn poll(
        &mut self,
        config: &Config,
        now: Duration,
        save_interval: u64,
        shared: &Shared<'_>,
    ) -> Report {
        let mut report = Report::default();
        // Saving stops while memory is over its limit or the disk is low (housekeeping).
        let store = shared
            .store
            .as_deref()
            .filter(|_| !shared.saving_paused.load(Ordering::Relaxed));
        match &mut self.input {
            Input::Direct(_) => {
                let mut read_this_poll = 0;
                while now >= self.next_due && !self.ended {
                    if read_this_poll == MAX_FRAMES_PER_POLL {
                        // Fell behind (a stalled loop): skip ahead rather than burst.
                        let behind = (now - self.next_due).as_secs_f64();
                        report.dropped += 1 + (behind / self.period.as_secs_f64()) as u64;
                        self.next_due = now + self.period;
                        break;
                    }
                    // The frame's own time on the schedule (several may be read in one poll).
                    let at = self.next_due;
                    self.next_due += self.period;
                    read_this_poll += 1;
                    let Input::Direct(camera) = &mut self.input else {
                        break;
                    };
                    let frame = match report.timings.time("camera_read", || camera.read()) {
                        Ok(frame) => {
                            self.read_failing = false;
                            frame
                        }
                        Err(
                            e @ semaforo_resources::CameraError::Device {
                                source:
                                    semaforo_camera::SourceError::EndOfStream { .. }
                                    | semaforo_camera::SourceError::Truncated { .. },
                                ..
                            },
                        ) => {
                            tracing::warn!(
                                "camera {}: {e}; group(s) {} lose its detection (a file camera \
                                 replays with ?loop=true)",
                                self.watched.camera,
                                self.watched.groups.join(", ")
                            );
                            self.ended = true;
                            break;
                        }
                        Err(e) => {
                            // Once until a read works again: a camera without a frame for
                            // `cameras.stale_after` is reopened, and that is logged.
                            if !self.read_failing {
                                tracing::warn!("camera {}: {e}", self.watched.camera);
                            }
                            self.read_failing = true;
                            continue;
                        }
                    };
                    self.process(config, at, &frame, save_interval, store, &mut report);
                    if let Input::Direct(camera) = &mut self.input {
                        camera.with_open(|source| source.recycle(frame));
                    }
                }
            }
            Input::Live {
                camera,
                reader,
                skipped,
            } => {
                // Waiting to reconnect, or connecting again after a failure: one recovery
                // until a frame arrives (not one per attempt).
                report.reopening = match camera.state() {
                    LiveState::Reconnecting {
                        attempt,
                        retry_in,
                        reason,
                    } => Some(format!(
                        "{} failed attempt(s), next in {:.1} s; last: {reason}",
                        attempt - 1,
                        retry_in.as_secs_f64()
                    )),
                    LiveState::Connecting { attempt } if attempt > 1 => Some(format!(
                        "{} failed attempt(s), connecting again; last: {}",
                        attempt - 1,
                        camera.last_error().unwrap_or_else(|| "no frame".into())
                    )),
                    _ => None,
                };
                let latest = reader.latest();
                report.dropped += reader.skipped() - *skipped;
                *skipped = reader.skipped();
                if let Some(frame) = latest {
                    self.process(config, now, &frame, save_interval, store, &mut report);
                }
            }
        }
        let counting =
            matches!(self.detection, DetectionState::Running(..)) && !self.detector_failed;
        report.healthy =
            counting && now.saturating_sub(self.last_good) < config.cameras.stale_after;
        if let DetectionState::Running(detector, counter) = &self.detection {
            report.queues = self
                .watched
                .groups
                .iter()
                .map(|g| counter.approach(g).queue)
                .collect();
            report.usage = detector.usage();
            report.detector = Some(detector.name());
            report.zones = counter
                .counts()
                .iter()
                .filter_map(|c| {
                    let round = |v: f32| (f64::from(v) * 1e4).round() / 1e4;
                    Some(ZoneMeasure {
                        zone: c.zone.clone(),
                        covered: round(c.covered?),
                        estimate: c.estimate.map(round),
                        counted_by: c.counted_by.map(QueueSource::name),
                    })
                })
                .collect();
        }
        report.last_frame = self.any_frame.then_some(self.last_good);
        report.arrivals.resize(self.watched.groups.len(), 0);
        report.fallback = self.fallback.clone();
        report.rate = self.rate.current();
        report.rate_lowered = self.rate_lowered.clone();
        report
    }

    /// How long a camera read on the worker's thread has given no frame (`None` for a camera
    /// on its own thread, which reconnects by itself, and for a file that ended).
    fn silent_for(&self, now: Duration) -> Option<Duration> {
        match self.input {
            Input::Direct(_) if !self.ended => Some(now.saturating_sub(self.last_good)),
            _ => None,
        }
    }

    /// Replaces a failing or slow detector by the background model on the same zones (the
    /// counter and its tracks stay).
    fn fall_back(&mut self, why: String, width: u32, height: u32) {
        let DetectionState::Running(detector, counter) = &mut self.detection else {
            return;
        };
        let settings = DetectorSettings {
            fps: self.fps as f32,
            ..DetectorSettings::new(DetectorKind::Bgsub)
        };
        match build_detector(&settings, width, height, counter.zones()) {
            Ok(built) => {
                let name = detector.name();
                // The background model that ran beside the network takes over warm: it knows
                // the view, the size of a vehicle and which of its counts to trust.
                let warm = std::mem::replace(detector, built.detector).into_background();
                let how = match warm {
                    Some(model) => {
                        let how = warm_model(&model);
                        *detector = Box::new(model);
                        how
                    }
                    None => "learning the view afresh".to_string(),
                };
                tracing::info!(
                    "camera {}: the background model takes over from {name} ({how})",
                    self.watched.camera
                );
                self.fallback = Some(format!("{name} replaced by bgsub: {why}"));
                self.detector_failed = false;
                // The background model runs on every frame.
                self.rate = AnalysisRate::new(None);
                self.rate_lowered = None;
            }
            Err(e) => tracing::error!(
                "camera {}: {why}, and the background model cannot replace it: {e}",
                self.watched.camera
            ),
        }
    }

    /// Restores the background model saved by the last run, when there is one and the camera
    /// shows the same view (a queue waiting at red is then still counted).
    fn restore_background(&self, detector: &mut dyn Detector, frame: &semaforo_camera::Frame) {
        let (Some(path), Some(model)) = (&self.state_path, detector.background()) else {
            return;
        };
        let camera = &self.watched.camera;
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::warn!(
                    "camera {camera}: background model not restored: {}: {e}",
                    path.display()
                );
                return;
            }
        };
        match model.restore_state(&data, frame) {
            Ok(restored) => tracing::info!(
                "camera {camera}: background model restored from {} ({:.0}% of the view \
                 matches{})",
                path.display(),
                100.0 * restored.matching,
                taught_summary(&restored)
            ),
            Err(e) => tracing::warn!(
                "camera {camera}: background model in {} not restored: {e}; it learns the view \
                 afresh",
                path.display()
            ),
        }
    }

    /// Saves the background model (when the camera has one), whole or not at all.
    fn save_background(&mut self) {
        let (Some(path), DetectionState::Running(detector, _)) =
            (&self.state_path, &mut self.detection)
        else {
            return;
        };
        let Some(model) = detector.background() else {
            return;
        };
        // Written as it is serialized, through a temporary file put in place whole.
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let mut file = AtomicFile::create(path).map_err(|e| e.to_string())?;
                let size = model
                    .write_state(&mut file)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                file.commit().map_err(|e| e.to_string())?;
                Ok(size)
            });
        match saved {
            Ok(size) => tracing::debug!(
                "camera {}: background model saved to {} ({} kB)",
                self.watched.camera,
                path.display(),
                size / 1024
            ),
            Err(e) => tracing::warn!(
                "camera {}: background model not saved: {e}",
                self.watched.camera
            ),
        }
    }

    /// Detects, counts and maybe saves one frame.
    fn process(
        &mut self,
        config: &Config,
        now: Duration,
        frame: &semaforo_camera::Frame,
        save_interval: u64,
        store: Option<&FrameStore>,
        report: &mut Report,
    ) {
        self.frames += 1;
        report.frames += 1;
        self.last_good = now;
        self.any_frame = true;
        let size = (frame.width, frame.height);
        if matches!(self.detection, DetectionState::Running(..)) && size != self.detect_size {
            tracing::warn!(
                "camera {}: the picture changed size from {}x{} to {}x{}: its zones and detector \
                 start again at the new size",
                self.watched.camera,
                self.detect_size.0,
                self.detect_size.1,
                size.0,
                size.1
            );
            self.detection = DetectionState::Pending(self.camera_config.clone());
        }
        if let DetectionState::Pending(d) = &self.detection {
            self.detect_size = size;
            let build = |kind: Option<DetectorKind>| {
                detection_for(
                    config,
                    &self.watched,
                    &self.source,
                    d,
                    kind,
                    (frame.width, frame.height, self.fps),
                )
            };
            let forced = self.fallback.is_some().then_some(DetectorKind::Bgsub);
            let built = build(forced).or_else(|e| {
                if forced.is_some() || d.detector == DetectorKind::Bgsub {
                    return Err(e);
                }
                let built = build(Some(DetectorKind::Bgsub))?;
                self.fallback = Some(format!("{} replaced by bgsub: {e}", d.detector.name()));
                Ok(built)
            });
            self.detection = match built {
                Ok((mut detector, counter)) => {
                    self.restore_background(detector.as_mut(), frame);
                    self.rate =
                        analysis_rate(config, &self.camera_config, detector.name(), self.fps);
                    self.rate_lowered = None;
                    let runs = match self.rate.configured() {
                        Some(hz) => format!(", the network {hz} times a second"),
                        None => String::new(),
                    };
                    tracing::info!(
                        "camera {}: detector {} on {}x{} frames{runs}",
                        self.watched.camera,
                        detector.name(),
                        frame.width,
                        frame.height
                    );
                    DetectionState::Running(detector, counter)
                }
                Err(e) => {
                    tracing::error!("camera {}: no detection: {e}", self.watched.camera);
                    DetectionState::Off
                }
            };
        }
        let timings = &mut report.timings;
        let due = now >= self.next_detect;
        if due {
            self.next_detect = (self.next_detect + self.detect_period).max(now);
        }
        let mut replace = None;
        let network_due = due && self.rate.due(now);
        if let (true, false, DetectionState::Running(detector, counter)) =
            (due, network_due, &mut self.detection)
        {
            // Between two runs of the network the vehicles move on as last seen, and a
            // background model beside the network keeps learning the view.
            if detector.cover().is_some() {
                if let Err(e) = timings.time("background", || detector.between(frame)) {
                    tracing::debug!("camera {}: {e}", self.watched.camera);
                }
            }
            timings.time("count", || {
                counter.carry();
                counter.apply_cover_of(detector.as_ref());
            });
        }
        if let (true, DetectionState::Running(detector, counter)) =
            (network_due, &mut self.detection)
        {
            let detections = &mut self.detections;
            let started = Instant::now();
            let detected = detector.detect(frame, detections);
            let took = started.elapsed();
            timings.record("detect", took);
            report.analysed += 1;
            report.latencies.push(took.as_secs_f64());
            if detector.name() != "bgsub" {
                let failure = detected.as_ref().err().map(ToString::to_string);
                replace = self.watch.observe(took, failure.as_deref());
            }
            if let Some(change) = self.rate.observe(now + took, took) {
                self.rate_lowered = rate_changed(
                    &self.watched.camera,
                    self.camera_config.detection_rate.is_some(),
                    &self.rate,
                    change,
                );
            }
            match detected {
                Ok(()) => {
                    self.detector_failed = false;
                    timings.time("count", || {
                        counter.update(detections);
                        counter.apply_cover_of(detector.as_ref());
                    });
                    let groups = &self.watched.groups;
                    report.arrivals.resize(groups.len(), 0);
                    for (sum, g) in report.arrivals.iter_mut().zip(groups) {
                        *sum += counter.approach(g).arrivals;
                    }
                }
                Err(e) => {
                    if !self.detector_failed {
                        tracing::error!("camera {}: detection failed: {e}", self.watched.camera);
                    }
                    self.detector_failed = true;
                }
            }
        }
        if let Some(why) = replace {
            self.fall_back(why, frame.width, frame.height);
        }
        if now >= self.next_state_save {
            self.next_state_save = now + STATE_EVERY;
            self.save_background();
        }
        self.draw_if_wanted(frame);
        if !self.frames.is_multiple_of(save_interval) {
            return;
        }
        let annotate = config.frames.annotate;
        match store.map(|store| self.save(frame, store, save_interval, annotate, timings)) {
            Some(Ok(())) => {
                report.saved += 1;
                if self.saves_failing > 0 {
                    tracing::info!(
                        "camera {}: frame saving resumed after {} skipped saves",
                        self.watched.camera,
                        self.saves_failing
                    );
                    self.saves_failing = 0;
                }
            }
            Some(Err(why)) => {
                if self.saves_failing == 0 {
                    tracing::warn!(
                        "camera {}: frame not saved: {why} (further skips are counted \
                         until saving resumes)",
                        self.watched.camera
                    );
                }
                self.saves_failing += 1;
            }
            None => {}
        }
    }

    /// Draws and encodes the frame for the HTTP API when someone asked and the last picture
    /// is old enough (see [`CameraView`]).
    fn draw_if_wanted(&self, frame: &semaforo_camera::Frame) {
        let Some(view) = &self.view else {
            return;
        };
        if !view.due() || !view.take_wanted() {
            return;
        }
        let picture = self.annotated(frame);
        let mut jpeg = Vec::new();
        let encoded = picture
            .image()
            .map_err(|e| e.to_string())
            .and_then(|image| {
                encode_jpeg(image, PICTURE_QUALITY, &mut jpeg).map_err(|e| e.to_string())
            });
        match encoded {
            Ok(()) => view.store(Picture {
                jpeg,
                taken: Instant::now(),
                frame: self.frames,
            }),
            Err(e) => tracing::warn!(
                "camera {}: cannot encode its picture: {e}",
                self.watched.camera
            ),
        }
    }

    /// A copy of the frame with the zones, the tracked boxes with their ids, and the counts
    /// drawn on it (the frame as it is while detection is not running).
    fn annotated(&self, frame: &semaforo_camera::Frame) -> semaforo_camera::Frame {
        let mut picture = frame.clone();
        if let DetectionState::Running(_, counter) = &self.detection {
            let tracker = counter.tracker();
            annotate::annotate(
                &mut picture,
                counter.zones(),
                tracker.tracks(),
                tracker.options().min_hits,
                counter.counts(),
            );
        }
        picture
    }

    /// Saves the frame to the store (annotated, unless `frames.annotate` is off), or says
    /// why it was not saved.
    fn save(
        &self,
        frame: &semaforo_camera::Frame,
        store: &FrameStore,
        save_interval: u64,
        annotate: bool,
        timings: &mut StageTimings,
    ) -> Result<(), String> {
        let annotated = annotate.then(|| self.annotated(frame));
        let image = annotated
            .as_ref()
            .unwrap_or(frame)
            .image()
            .map_err(|e| e.to_string())?;
        let cycle = self.frames / save_interval;
        match timings.time("frame_save", || {
            store.save_current(image, &self.watched.camera, cycle)
        }) {
            Ok(SaveOutcome::Saved { path, .. }) => {
                tracing::debug!("camera {}: saved {}", self.watched.camera, path.display());
                Ok(())
            }
            Ok(SaveOutcome::Skipped(why)) => Err(why.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_detector_is_replaced_after_three_failures_in_a_row_not_after_scattered_ones() {
        let mut watch = DetectorWatch::new(ms(1000));
        assert_eq!(watch.observe(ms(10), Some("bad frame")), None);
        assert_eq!(watch.observe(ms(10), Some("bad frame")), None);
        assert_eq!(
            watch.observe(ms(10), None),
            None,
            "a success resets the run"
        );
        assert_eq!(watch.observe(ms(10), Some("bad frame")), None);
        assert_eq!(watch.observe(ms(10), Some("bad frame")), None);
        let why = watch.observe(ms(10), Some("session error")).unwrap();
        assert_eq!(
            why,
            "3 detections in a row failed, the last with: session error"
        );
    }

    #[test]
    fn a_detector_is_replaced_when_its_median_time_passes_the_limit() {
        let mut watch = DetectorWatch::new(ms(500));
        // A few slow frames among fast ones do not count: the median does.
        for i in 0..30 {
            let took = if i % 4 == 0 { ms(900) } else { ms(100) };
            assert_eq!(watch.observe(took, None), None, "frame {i}");
        }
        // Slow for good: once most of the last ten are slow.
        let mut replaced = None;
        for i in 0..10 {
            if let Some(why) = watch.observe(ms(800), None) {
                replaced = Some((i, why));
                break;
            }
        }
        let (after, why) = replaced.expect("replaced");
        // The third: with two slow ones still in the window, six of ten are slow.
        assert_eq!(after, 2, "replaced at the {after}th slow frame");
        assert!(why.starts_with("its median detection took 800 ms"), "{why}");
    }

    #[test]
    fn a_camera_is_reopened_with_doubling_waits_on_the_loop_clock() {
        let mut reopen = Reopen::default();
        assert!(!reopen.due(ms(0)) && reopen.describe(ms(0)).is_none());
        reopen.failed(ms(1000), "no such folder".into());
        assert!(!reopen.due(ms(1499)) && reopen.due(ms(1500)));
        reopen.failed(ms(1500), "no such folder".into());
        assert!(!reopen.due(ms(2499)) && reopen.due(ms(2500)));
        for _ in 0..10 {
            reopen.failed(ms(2500), "no such folder".into());
        }
        assert!(
            reopen.due(ms(32_500)) && !reopen.due(ms(32_499)),
            "at most 30 s"
        );
        assert_eq!(
            reopen.describe(ms(4000)).unwrap(),
            "12 failed attempt(s) in 3 s, next in 28.5 s; last: no such folder"
        );
    }
}
