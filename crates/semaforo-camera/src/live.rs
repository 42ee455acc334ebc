//! A camera on its own thread: [`LiveSource`] reads a source continuously into a small ring
//! and hands each consumer the newest frame, reconnecting by itself when the source fails.
//!
//! Why: a detector that takes 200 ms per frame must never be handed a frame that waited
//! seconds in a queue, a dashboard and a detector must be able to watch the same camera
//! without fighting over its reads, and a network camera that drops must come back without
//! anyone calling `open` again (the original did none of these).
//!
//! - **Newest frame.** The thread keeps the last `ring` frames (default 2). A
//!   [`FrameReader`] (one per consumer, as many as wanted) takes the newest frame it has not
//!   seen; the frames it skipped are counted ([`FrameReader::skipped`]), and frames no
//!   consumer ever took are counted for the camera ([`LiveStats::unread`]). The camera never
//!   waits for a consumer and memory stays bounded.
//! - **Sequence numbers** are renumbered by the thread: gap-free across reconnects, so a gap
//!   seen by a consumer is exactly the frames it skipped.
//! - **Reconnects.** A read that fails with a disconnect, a stall ([`SourceError::Timeout`],
//!   which network sources return after their stall timeout) or any error other than a
//!   single undecodable frame closes the device and opens it again after a capped
//!   exponential backoff ([`Backoff`]); `max_decode_errors` undecodable frames in a row count
//!   as a failure too. A non-looping file that ends is [`LiveState::Ended`], not reopened.
//! - **State changes** ([`LiveState`]) go to the log (`tracing`, target
//!   `semaforo_camera::live`) and to every [`LiveSource::subscribe`]r, with the reason.
//! - **Resources.** The camera is one `camera` handle with the resource tracker from start to
//!   drop, whatever its connection state; the tracker's `release_all()` stops the thread
//!   too. Frames evicted from the ring that no consumer still holds go back to the device's
//!   buffer pool ([`LiveDevice::recycle`]).
//! - **Time is injected** ([`Clocks`](semaforo_base::Clocks)): tests check the backoff without
//!   sleeping.
//!
//! ```
//! use std::time::Duration;
//! use semaforo_resources::ResourceTracker;
//! use semaforo_camera::{LiveConfig, LiveSource, Requested};
//!
//! let tracker = ResourceTracker::new();
//! let requested = Requested { width: 320, height: 240, fps: 30.0 };
//! let camera = LiveSource::open("testsrc:", requested, Default::default(), LiveConfig::new("A"), &tracker);
//! let mut detector = camera.reader();
//! let mut dashboard = camera.reader();
//! let frame = detector.wait_newer(Duration::from_secs(5)).unwrap();
//! assert_eq!((frame.width, frame.height), (320, 240));
//! assert!(dashboard.wait_newer(Duration::from_secs(5)).is_ok());
//! drop(camera); // joins the thread, releases the device and the tracker handle
//! assert_eq!(tracker.statistics().kind("camera").tracked, 0);
//! ```
//!
//! **Wiring it into a run loop.** One `LiveSource` per camera, opened where the loop opens its
//! cameras; the loop keeps one [`FrameReader`] per stage (detector, frame store, dashboard) and
//! calls `latest()` each tick, so it never blocks on a camera. `subscribe()` gives the state
//! changes for the log and the status line, `stats()` the counters for `performance.log`.
//! Where something must be taken from each newly opened device (the synthetic scene's
//! [`crate::AspectFeed`], say), open it with [`LiveSource::start`] and a custom [`Opener`]:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use semaforo_resources::ResourceTracker;
//! use semaforo_camera::{
//!     AspectFeed, LiveConfig, LiveDevice, LiveSource, Opener, Requested, Source,
//! };
//! use semaforo_base::SystemClocks;
//!
//! let requested = Requested { width: 320, height: 240, fps: 15.0 };
//! let feed: Arc<Mutex<Option<AspectFeed>>> = Arc::default();
//! let slot = feed.clone();
//! let opener: Opener = Box::new(move || {
//!     let source = Source::open("synthetic:seed=1", requested)?;
//!     *slot.lock().unwrap() = source.aspect_feed();
//!     Ok(Box::new(source) as Box<dyn LiveDevice>)
//! });
//! let tracker = ResourceTracker::new();
//! let camera = LiveSource::start(LiveConfig::new("A"), &tracker, opener, Box::new(SystemClocks::new()));
//! let mut detector = camera.reader();
//! detector.wait_newer(std::time::Duration::from_secs(5)).unwrap();
//! assert!(feed.lock().unwrap().is_some());
//! ```

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use semaforo_base::{Clocks, Shutdown, SystemClocks, Wake};
use semaforo_resources::{CameraDevice, CameraProperty, HandleGuard, HandleKind, ResourceTracker};

use crate::{redact, Frame, NetworkOptions, Requested, Source, SourceError};

/// A device a [`LiveSource`] can drive: any frame source, plus a way to give buffers back.
pub trait LiveDevice: CameraDevice<Frame = Frame, Error = SourceError> {
    /// Takes back a frame's buffer for reuse (sources without a pool just drop it).
    fn recycle(&mut self, frame: Frame) {
        drop(frame);
    }
    /// The codec, where the source decodes one.
    fn codec(&self) -> Option<String> {
        None
    }
}

impl LiveDevice for Source {
    fn recycle(&mut self, frame: Frame) {
        Source::recycle(self, frame);
    }
    fn codec(&self) -> Option<String> {
        Source::codec(self).map(str::to_string)
    }
}

/// Opens (and, after a failure, reopens) the device; called on the camera's thread.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn LiveDevice>, SourceError> + Send>;

/// Where a live camera is.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveState {
    /// Opening the device (attempt 1 at start, then after each failure).
    Connecting { attempt: u32 },
    /// Frames are arriving.
    Streaming,
    /// The device failed (or could not open) for `reason`; the next attempt comes after
    /// `retry_in`.
    Reconnecting {
        attempt: u32,
        retry_in: Duration,
        reason: String,
    },
    /// The source ended (a file that does not loop) and is not reopened.
    Ended { reason: String },
    /// The camera was stopped (dropped, or released by the tracker).
    Stopped,
}

impl std::fmt::Display for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            LiveState::Streaming => f.write_str("streaming"),
            LiveState::Reconnecting {
                attempt,
                retry_in,
                reason,
            } => write!(
                f,
                "reconnecting in {:.1} s (attempt {attempt}) after: {reason}",
                retry_in.as_secs_f64()
            ),
            LiveState::Ended { reason } => write!(f, "ended: {reason}"),
            LiveState::Stopped => f.write_str("stopped"),
        }
    }
}

/// One state change of one camera.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// The camera's label.
    pub camera: String,
    pub state: LiveState,
    pub at: SystemTime,
}

/// Capped exponential backoff between reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Wait before the first retry.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 0.5 s, doubling, at most 30 s: a camera that reboots (about a minute) is back within
    /// 30 s of being up, and a dead one costs one attempt every 30 s.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before retry number `failures` (1 for the first): `initial * 2^(failures-1)`,
    /// at most `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// How a [`LiveSource`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// The camera's name in the tracker, the log and state changes (`A`, `north`).
    pub label: String,
    /// Frames kept for consumers (at least 1). More does not make frames older for
    /// [`FrameReader::latest`], it only lets a consumer that wants every frame lag a little.
    pub ring: usize,
    pub backoff: Backoff,
    /// Undecodable frames in a row that count as a failed device (reconnect).
    pub max_decode_errors: u32,
}

impl LiveConfig {
    pub fn new(label: impl Into<String>) -> Self {
        LiveConfig {
            label: label.into(),
            ring: 2,
            backoff: Backoff::default(),
            max_decode_errors: 25,
        }
    }
}

/// Counters of a live camera.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Frames read from the device (all connections).
    pub frames: u64,
    /// Frames evicted from the ring without any consumer taking them.
    pub unread: u64,
    /// Read errors (undecodable frames, disconnects, stalls) and failed opens.
    pub errors: u64,
    /// Successful opens after the first.
    pub reconnects: u64,
}

/// Why [`FrameReader::wait_newer`] returned no frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    #[error("camera {camera}: no new frame within {:.1} s (camera {state})", waited.as_secs_f64())]
    Timeout {
        camera: String,
        waited: Duration,
        state: LiveState,
    },
    #[error("camera {camera} is {state}")]
    Finished { camera: String, state: LiveState },
}

/// Why [`LiveSource::set`] did not apply a setting.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The device refused the value (its error names the setting and the value).
    #[error("camera {camera}: {source}")]
    Refused { camera: String, source: SourceError },
    /// The camera thread did not apply it in time: it is reconnecting, or a read is blocked.
    #[error("camera {camera}: the setting was not applied within {:.1} s (camera {state})", waited.as_secs_f64())]
    NotApplied {
        camera: String,
        waited: Duration,
        state: LiveState,
    },
}

struct Slot {
    frame: Arc<Frame>,
    taken: bool,
}

type Reply = mpsc::Sender<Result<(), SetError>>;

struct Inner {
    ring: VecDeque<Slot>,
    next_seq: u64,
    state: LiveState,
    stats: LiveStats,
    properties: [Option<f64>; 3],
    codec: Option<String>,
    last_error: Option<String>,
    subscribers: Vec<mpsc::Sender<StateChange>>,
    /// Settings asked for by `set`, applied by the thread before its next read.
    pending: Vec<(CameraProperty, f64, Reply)>,
}

struct Shared {
    label: String,
    inner: Mutex<Inner>,
    changed: Condvar,
    /// Raised when the camera is dropped or released: the thread stops reading, and its wait
    /// between reconnects ends at once.
    stop: Shutdown,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Updates are small and complete; a panicking consumer must not take the camera down.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn request_stop(&self) {
        self.stop.request(format!("camera {} closed", self.label));
        // Under the lock, so that no waiter checks the state and then misses this wake-up.
        let _inner = self.lock();
        self.changed.notify_all();
    }

    fn set_state(&self, state: LiveState) {
        let mut inner = self.lock();
        if inner.state == state {
            return;
        }
        match &state {
            LiveState::Reconnecting { .. } | LiveState::Ended { .. } => {
                tracing::warn!(target: "semaforo_camera::live", "camera {}: {state}", self.label)
            }
            _ => tracing::info!(target: "semaforo_camera::live", "camera {}: {state}", self.label),
        }
        let change = StateChange {
            camera: self.label.clone(),
            state: state.clone(),
            at: SystemTime::now(),
        };
        inner.subscribers.retain(|s| s.send(change.clone()).is_ok());
        inner.state = state;
        drop(inner);
        self.changed.notify_all();
    }
}

/// A camera read on its own thread. See the [module documentation](self).
pub struct LiveSource {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    guard: Option<HandleGuard>,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("label", &self.shared.label)
            .field("state", &self.state())
            .finish()
    }
}

impl LiveSource {
    /// Starts a camera on `uri` (any source [`Source::open_with`] opens), reopened with the
    /// same arguments after a failure. Returns at once; the state says how opening goes.
    pub fn open(
        uri: &str,
        requested: Requested,
        network: NetworkOptions,
        config: LiveConfig,
        tracker: &ResourceTracker,
    ) -> LiveSource {
        let uri = uri.to_string();
        let opener: Opener = Box::new(move || {
            Source::open_with(&uri, requested, network).map(|s| Box::new(s) as Box<dyn LiveDevice>)
        });
        Self::start(config, tracker, opener, Box::new(SystemClocks::new()))
    }

    /// Starts a camera thread that opens its device with `opener` (called again for each
    /// reconnect) and waits between attempts on `clocks`.
    pub fn start(
        config: LiveConfig,
        tracker: &ResourceTracker,
        opener: Opener,
        clocks: Box<dyn Clocks>,
    ) -> LiveSource {
        let shared = Arc::new(Shared {
            label: config.label.clone(),
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                next_seq: 0,
                state: LiveState::Connecting { attempt: 1 },
                stats: LiveStats::default(),
                properties: [None; 3],
                codec: None,
                last_error: None,
                subscribers: Vec::new(),
                pending: Vec::new(),
            }),
            changed: Condvar::new(),
            stop: Shutdown::new(),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        let guard =
            tracker.register_releasable(HandleKind::Camera, redact(&config.label), move || {
                if let Some(shared) = weak.upgrade() {
                    shared.request_stop();
                }
            });
        let worker = Worker {
            shared: shared.clone(),
            config: LiveConfig {
                ring: config.ring.max(1),
                ..config
            },
            opener,
            clocks,
            settings: Vec::new(),
        };
        let name = format!("camera-{}", shared.label);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker.run());
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                shared.set_state(LiveState::Ended {
                    reason: format!("cannot start the camera thread: {e}"),
                });
                None
            }
        };
        LiveSource {
            shared,
            thread,
            guard: Some(guard),
        }
    }

    /// The camera's label.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// A new consumer; it sees frames from now on.
    pub fn reader(&self) -> FrameReader {
        let last_seq = self.shared.lock().next_seq.checked_sub(1);
        FrameReader {
            shared: self.shared.clone(),
            last_seq,
            skipped: 0,
        }
    }

    /// Every state change from now on (the current state first).
    pub fn subscribe(&self) -> mpsc::Receiver<StateChange> {
        let (tx, rx) = mpsc::channel();
        let mut inner = self.shared.lock();
        let _ = tx.send(StateChange {
            camera: self.shared.label.clone(),
            state: inner.state.clone(),
            at: SystemTime::now(),
        });
        inner.subscribers.push(tx);
        rx
    }

    pub fn state(&self) -> LiveState {
        self.shared.lock().state.clone()
    }

    pub fn stats(&self) -> LiveStats {
        self.shared.lock().stats
    }

    /// The last read or open error, for status displays.
    pub fn last_error(&self) -> Option<String> {
        self.shared.lock().last_error.clone()
    }

    /// Waits until `done(state)` holds, at most `timeout`; the state then.
    pub fn wait_for_state(
        &self,
        timeout: Duration,
        done: impl Fn(&LiveState) -> bool,
    ) -> Result<LiveState, LiveState> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.shared.lock();
        loop {
            if done(&inner.state) {
                return Ok(inner.state.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(inner.state.clone());
            }
            inner = self
                .shared
                .changed
                .wait_timeout(inner, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Width, height or fps of the current (or last) device; `None` before it opened.
    pub fn get(&self, property: CameraProperty) -> Option<f64> {
        let index = property_index(property)?;
        self.shared.lock().properties[index]
    }

    /// The codec of the current (or last) device.
    pub fn codec(&self) -> Option<String> {
        self.shared.lock().codec.clone()
    }

    /// Sets a property on the device, waiting up to `timeout` for the camera thread to apply
    /// it (between two reads); a setting that took is applied again after every reconnect.
    pub fn set(
        &self,
        property: CameraProperty,
        value: f64,
        timeout: Duration,
    ) -> Result<(), SetError> {
        self.request_set(property, value)
            .recv_timeout(timeout)
            .unwrap_or_else(|_| {
                Err(SetError::NotApplied {
                    camera: self.shared.label.clone(),
                    waited: timeout,
                    state: self.state(),
                })
            })
    }

    /// Asks the camera thread to set a property before its next read, without waiting; the
    /// answer comes on the returned channel.
    pub fn request_set(
        &self,
        property: CameraProperty,
        value: f64,
    ) -> mpsc::Receiver<Result<(), SetError>> {
        let (tx, rx) = mpsc::channel();
        self.shared.lock().pending.push((property, value, tx));
        rx
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.shared.request_stop();
        if let Some(thread) = self.thread.take() {
            // The thread checks the stop between reads; a read blocks at most for the
            // source's stall timeout.
            let _ = thread.join();
        }
        drop(self.guard.take());
    }
}

fn property_index(property: CameraProperty) -> Option<usize> {
    match property {
        CameraProperty::FrameWidth => Some(0),
        CameraProperty::FrameHeight => Some(1),
        CameraProperty::Fps => Some(2),
        _ => None,
    }
}

/// One consumer of a [`LiveSource`]: takes the newest frame it has not seen yet.
pub struct FrameReader {
    shared: Arc<Shared>,
    last_seq: Option<u64>,
    skipped: u64,
}

impl FrameReader {
    /// The newest frame not yet seen by this reader, if any; never waits.
    pub fn latest(&mut self) -> Option<Arc<Frame>> {
        let shared = self.shared.clone();
        let mut inner = shared.lock();
        self.take(&mut inner)
    }

    fn take(&mut self, inner: &mut Inner) -> Option<Arc<Frame>> {
        let slot = inner.ring.back_mut()?;
        let seq = slot.frame.seq;
        if self.last_seq.is_some_and(|last| seq <= last) {
            return None;
        }
        let first_unseen = self.last_seq.map_or(0, |l| l + 1);
        // Frames seen by nobody before this reader existed are not its skips.
        self.skipped += seq.saturating_sub(first_unseen);
        self.last_seq = Some(seq);
        slot.taken = true;
        Some(slot.frame.clone())
    }

    /// Waits up to `timeout` for a frame newer than the last one this reader took.
    pub fn wait_newer(&mut self, timeout: Duration) -> Result<Arc<Frame>, WaitError> {
        let deadline = Instant::now() + timeout;
        let shared = self.shared.clone();
        let mut inner = shared.lock();
        loop {
            if let Some(frame) = self.take(&mut inner) {
                return Ok(frame);
            }
            if matches!(inner.state, LiveState::Ended { .. } | LiveState::Stopped) {
                return Err(WaitError::Finished {
                    camera: self.shared.label.clone(),
                    state: inner.state.clone(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WaitError::Timeout {
                    camera: self.shared.label.clone(),
                    waited: timeout,
                    state: inner.state.clone(),
                });
            }
            inner = shared
                .changed
                .wait_timeout(inner, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Frames this reader skipped because newer ones had arrived (stale frames dropped).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// The camera thread.
struct Worker {
    shared: Arc<Shared>,
    config: LiveConfig,
    opener: Opener,
    clocks: Box<dyn Clocks>,
    /// Settings that took, applied again after a reconnect.
    settings: Vec<(CameraProperty, f64)>,
}

enum Outcome {
    /// Stopped from outside.
    Stopped,
    /// The source ended for good.
    Ended(String),
    /// The device failed; reconnect.
    Failed(String),
}

impl Worker {
    fn run(mut self) {
        let mut failures = 0u32;
        let mut opened_before = false;
        loop {
            if self.shared.stop.is_requested() {
                break;
            }
            self.shared.set_state(LiveState::Connecting {
                attempt: failures + 1,
            });
            let reason = match (self.opener)() {
                Ok(mut device) => {
                    if opened_before {
                        self.shared.lock().stats.reconnects += 1;
                    }
                    opened_before = true;
                    let outcome = self.stream(&mut *device, &mut failures);
                    device.release();
                    match outcome {
                        Outcome::Stopped => break,
                        Outcome::Ended(reason) => {
                            self.shared.set_state(LiveState::Ended { reason });
                            return;
                        }
                        Outcome::Failed(reason) => reason,
                    }
                }
                Err(e) => {
                    let mut inner = self.shared.lock();
                    inner.stats.errors += 1;
                    inner.last_error = Some(e.to_string());
                    e.to_string()
                }
            };
            failures = failures.saturating_add(1);
            let retry_in = self.config.backoff.delay(failures);
            self.shared.set_state(LiveState::Reconnecting {
                attempt: failures + 1,
                retry_in,
                reason,
            });
            if self.clocks.sleep(retry_in, &self.shared.stop) == Wake::Shutdown {
                break;
            }
        }
        self.shared.set_state(LiveState::Stopped);
    }

    /// Reads until the device fails, ends or the camera is stopped.
    fn stream(&mut self, device: &mut dyn LiveDevice, failures: &mut u32) -> Outcome {
        for &(property, value) in &self.settings {
            if let Err(e) = device.set(property, value) {
                tracing::warn!(target: "semaforo_camera::live",
                    "camera {}: a setting did not take after reconnecting: {e}", self.shared.label);
            }
        }
        {
            let mut inner = self.shared.lock();
            for (i, p) in [
                CameraProperty::FrameWidth,
                CameraProperty::FrameHeight,
                CameraProperty::Fps,
            ]
            .into_iter()
            .enumerate()
            {
                inner.properties[i] = device.get(p);
            }
            inner.codec = device.codec();
        }
        let mut decode_errors = 0u32;
        let mut streaming = false;
        loop {
            let pending = {
                let mut inner = self.shared.lock();
                if self.shared.stop.is_requested() {
                    return Outcome::Stopped;
                }
                std::mem::take(&mut inner.pending)
            };
            for (property, value, reply) in pending {
                let result = device
                    .set(property, value)
                    .map_err(|source| SetError::Refused {
                        camera: self.shared.label.clone(),
                        source,
                    });
                if result.is_ok() {
                    self.settings.retain(|(p, _)| *p != property);
                    self.settings.push((property, value));
                    if let Some(i) = property_index(property) {
                        self.shared.lock().properties[i] = device.get(property);
                    }
                }
                let _ = reply.send(result);
            }
            match device.read() {
                Ok(frame) => {
                    if !streaming {
                        streaming = true;
                        *failures = 0;
                        self.shared.set_state(LiveState::Streaming);
                    }
                    decode_errors = 0;
                    if let Some(old) = self.publish(frame) {
                        device.recycle(old);
                    }
                }
                Err(SourceError::EndOfStream { path, frames }) => {
                    return Outcome::Ended(format!(
                        "end of {} after {frames} frames",
                        path.display()
                    ));
                }
                Err(
                    e @ (SourceError::Decode { .. }
                    | SourceError::StreamDecode { .. }
                    | SourceError::Image { .. }),
                ) => {
                    decode_errors += 1;
                    let text = e.to_string();
                    {
                        let mut inner = self.shared.lock();
                        inner.stats.errors += 1;
                        inner.last_error = Some(text.clone());
                    }
                    tracing::debug!(target: "semaforo_camera::live", "camera {}: {text}", self.shared.label);
                    if decode_errors >= self.config.max_decode_errors {
                        return Outcome::Failed(format!(
                            "{decode_errors} frames in a row did not decode, the last: {text}"
                        ));
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    let mut inner = self.shared.lock();
                    inner.stats.errors += 1;
                    inner.last_error = Some(text.clone());
                    return Outcome::Failed(text);
                }
            }
        }
    }

    /// Puts `frame` in the ring; returns an evicted frame's buffer when no one holds it.
    fn publish(&mut self, mut frame: Frame) -> Option<Frame> {
        let mut inner = self.shared.lock();
        frame.seq = inner.next_seq;
        inner.next_seq += 1;
        inner.stats.frames += 1;
        inner.properties[0] = Some(frame.width as f64);
        inner.properties[1] = Some(frame.height as f64);
        inner.ring.push_back(Slot {
            frame: Arc::new(frame),
            taken: false,
        });
        let mut recycled = None;
        while inner.ring.len() > self.config.ring {
            if let Some(old) = inner.ring.pop_front() {
                if !old.taken {
                    inner.stats.unread += 1;
                }
                recycled = Arc::try_unwrap(old.frame).ok();
            }
        }
        drop(inner);
        self.shared.changed.notify_all();
        recycled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(4),
        };
        let delays: Vec<u128> = (1..=6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(4));
    }
}
