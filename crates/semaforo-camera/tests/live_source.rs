//! The camera thread ([`LiveSource`]) against a scripted fake device: newest frame to each
//! consumer with stale frames counted, reconnects with capped backoff and their state
//! changes, decode errors, the tracker's count, and stopping. Nothing here sleeps: the test
//! drives the fake through channels, and the backoff clock only records its waits.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use semaforo_base::{Clocks, Shutdown, SimulatedClocks, Wake};
use semaforo_camera::{
    Backoff, Frame, LiveConfig, LiveDevice, LiveSource, LiveState, Opener, SetError, SourceError,
};
use semaforo_resources::{CameraDevice, CameraProperty, ResourceTracker};

/// Upper bound for anything to happen; never reached when the code works.
const LIMIT: Duration = Duration::from_secs(10);

enum Step {
    Frame,
    Fail(SourceError),
}

/// A device whose reads are scripted by the test; it tells the test each time it is asked
/// for a frame (so the test knows the previous one was published).
struct FakeDevice {
    steps: Receiver<Step>,
    asked: Sender<()>,
    releases: Arc<AtomicUsize>,
    recycled: Arc<AtomicUsize>,
    width: f64,
}

impl CameraDevice for FakeDevice {
    type Frame = Frame;
    type Error = SourceError;
    fn read(&mut self) -> Result<Frame, SourceError> {
        let _ = self.asked.send(());
        match self.steps.recv_timeout(LIMIT) {
            Ok(Step::Frame) => Ok(Frame::black(self.width as u32, 2)),
            Ok(Step::Fail(e)) => Err(e),
            Err(_) => Err(SourceError::Disconnected {
                camera: "fake".into(),
                reason: "the test stopped scripting".into(),
            }),
        }
    }
    fn get(&self, p: CameraProperty) -> Option<f64> {
        (p == CameraProperty::FrameWidth).then_some(self.width)
    }
    fn set(&mut self, p: CameraProperty, v: f64) -> Result<(), SourceError> {
        match p {
            CameraProperty::FrameWidth => {
                self.width = v;
                Ok(())
            }
            _ => Err(SourceError::BadSetting {
                property: "property",
                value: v,
                expected: "width only".into(),
            }),
        }
    }
    fn is_opened(&self) -> bool {
        true
    }
    fn release(&mut self) {
        self.releases.fetch_add(1, Ordering::SeqCst);
    }
}

impl LiveDevice for FakeDevice {
    fn recycle(&mut self, _frame: Frame) {
        self.recycled.fetch_add(1, Ordering::SeqCst);
    }
}

/// Simulated time that also records each backoff wait.
#[derive(Debug)]
struct RecordingClocks {
    time: SimulatedClocks,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl Clocks for RecordingClocks {
    fn monotonic(&self) -> Duration {
        self.time.monotonic()
    }
    fn realtime(&self) -> std::time::SystemTime {
        self.time.realtime()
    }
    fn sleep_until(&self, deadline: Duration, stop: &Shutdown) -> Wake {
        let wait = deadline.saturating_sub(self.time.monotonic());
        self.waits.lock().unwrap().push(wait);
        self.time.sleep_until(deadline, stop)
    }
}

/// The test's side of the fake camera.
struct Script {
    /// Each open takes one entry: a connection's steps, or the error the open fails with.
    opens: Sender<Result<Receiver<Step>, SourceError>>,
    asked: Receiver<()>,
    releases: Arc<AtomicUsize>,
    recycled: Arc<AtomicUsize>,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl Script {
    /// Opens a connection and returns its step sender.
    fn connect(&self) -> Sender<Step> {
        let (tx, rx) = mpsc::channel();
        self.opens.send(Ok(rx)).unwrap();
        tx
    }
    fn refuse(&self) {
        self.opens
            .send(Err(SourceError::Unreachable {
                camera: "fake".into(),
                address: "192.0.2.1:554".into(),
                reason: "connection refused".into(),
            }))
            .unwrap();
    }
    /// Waits until the device asks for its next frame: everything before is published.
    fn wait_asked(&self) {
        self.asked.recv_timeout(LIMIT).expect("the device is read");
    }
    /// Sends `n` frames and waits until all are published.
    fn frames(&self, conn: &Sender<Step>, n: usize) {
        for _ in 0..n {
            conn.send(Step::Frame).unwrap();
            self.wait_asked();
        }
    }
}

fn start(config: LiveConfig, tracker: &ResourceTracker) -> (LiveSource, Script) {
    let (opens_tx, opens_rx) = mpsc::channel::<Result<Receiver<Step>, SourceError>>();
    let (asked_tx, asked_rx) = mpsc::channel();
    let releases = Arc::new(AtomicUsize::new(0));
    let recycled = Arc::new(AtomicUsize::new(0));
    let waits = Arc::new(Mutex::new(Vec::new()));
    let (r, c) = (releases.clone(), recycled.clone());
    let opener: Opener = Box::new(move || {
        let steps = opens_rx
            .recv_timeout(LIMIT)
            .map_err(|_| SourceError::Closed)??;
        Ok(Box::new(FakeDevice {
            steps,
            asked: asked_tx.clone(),
            releases: r.clone(),
            recycled: c.clone(),
            width: 4.0,
        }) as Box<dyn LiveDevice>)
    });
    let live = LiveSource::start(
        config,
        tracker,
        opener,
        Box::new(RecordingClocks {
            time: SimulatedClocks::new(),
            waits: waits.clone(),
        }),
    );
    let script = Script {
        opens: opens_tx,
        asked: asked_rx,
        releases,
        recycled,
        waits,
    };
    (live, script)
}

fn config() -> LiveConfig {
    LiveConfig {
        backoff: Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(2),
        },
        max_decode_errors: 3,
        ..LiveConfig::new("north")
    }
}

#[test]
fn each_consumer_gets_the_newest_frame_and_stale_frames_are_counted() {
    let tracker = ResourceTracker::new();
    let (live, script) = start(config(), &tracker);
    let mut detector = live.reader();
    let mut dashboard = live.reader();
    let conn = script.connect();
    script.wait_asked();
    script.frames(&conn, 5);

    let frame = detector.latest().expect("a frame");
    assert_eq!(frame.seq, 4, "the newest of frames 0..=4");
    assert_eq!(detector.skipped(), 4, "frames 0 to 3 were stale");
    assert!(detector.latest().is_none(), "nothing newer yet");
    assert_eq!(
        dashboard.latest().unwrap().seq,
        4,
        "a second consumer sees it too"
    );
    // The ring held 2 frames: 0, 1 and 2 were evicted unread, and went back to the device's
    // pool (nobody held them).
    let stats = live.stats();
    assert_eq!((stats.frames, stats.unread), (5, 3));
    assert_eq!(script.recycled.load(Ordering::SeqCst), 3);

    script.frames(&conn, 1);
    let next = detector.wait_newer(LIMIT).unwrap();
    assert_eq!((next.seq, detector.skipped()), (5, 4));
    assert_eq!(live.get(CameraProperty::FrameWidth), Some(4.0));
    drop(frame);
}

#[test]
fn a_failing_camera_reconnects_with_capped_backoff_and_reports_each_state() {
    let tracker = ResourceTracker::new();
    let (live, script) = start(config(), &tracker);
    let changes = live.subscribe();
    let mut reader = live.reader();

    // Three refused opens: waits 0.5, 1, 2 s (capped at 2).
    for _ in 0..4 {
        script.refuse();
    }
    let conn = script.connect();
    script.wait_asked();
    assert_eq!(
        tracker.statistics().kind("camera").alive,
        1,
        "one handle whatever the state"
    );
    script.frames(&conn, 2);
    assert_eq!(reader.wait_newer(LIMIT).unwrap().seq, 1);
    // The stream stalls: the camera reconnects, the backoff starts again from 0.5 s.
    conn.send(Step::Fail(SourceError::Timeout {
        camera: "fake".into(),
        waited: Duration::from_secs(5),
    }))
    .unwrap();
    let conn = script.connect();
    script.wait_asked();
    script.frames(&conn, 1);
    let frame = reader.wait_newer(LIMIT).unwrap();
    assert_eq!(frame.seq, 2, "sequence numbers continue across reconnects");
    assert_eq!(live.stats().reconnects, 1);

    let ms = |v: &[Duration]| v.iter().map(|d| d.as_millis()).collect::<Vec<_>>();
    assert_eq!(
        ms(&script.waits.lock().unwrap()),
        [500, 1000, 2000, 2000, 500]
    );
    let states: Vec<LiveState> = changes.try_iter().map(|c| c.state).collect();
    let summary: Vec<String> = states
        .iter()
        .map(|s| match s {
            LiveState::Connecting { attempt } => format!("connecting {attempt}"),
            LiveState::Streaming => "streaming".into(),
            LiveState::Reconnecting {
                attempt, retry_in, ..
            } => format!("retry {attempt} in {}", retry_in.as_millis()),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "connecting 1",
            "retry 2 in 500",
            "connecting 2",
            "retry 3 in 1000",
            "connecting 3",
            "retry 4 in 2000",
            "connecting 4",
            "retry 5 in 2000",
            "connecting 5",
            "streaming",
            "retry 2 in 500",
            "connecting 2",
            "streaming",
        ]
    );
    match &states[10] {
        LiveState::Reconnecting { reason, .. } => {
            assert!(reason.contains("no frame for 5.0 s"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(live.last_error().unwrap().contains("stalled"));

    // No more connections: the thread's next open fails at once instead of waiting.
    drop(script.opens);
    drop(conn);
    drop(live);
    assert_eq!(
        script.releases.load(Ordering::SeqCst),
        2,
        "both devices were released"
    );
    let stats = tracker.statistics();
    assert_eq!(stats.kind("camera").tracked, 0);
    assert!(stats.potential_leaks.is_empty());
}

#[test]
fn single_undecodable_frames_are_skipped_but_a_run_of_them_reconnects() {
    let tracker = ResourceTracker::new();
    let (live, script) = start(config(), &tracker);
    let states = live.subscribe();
    let conn = script.connect();
    script.wait_asked();
    let broken = || {
        Step::Fail(SourceError::StreamDecode {
            camera: "fake".into(),
            what: "a frame".into(),
            reason: "broken slice".into(),
        })
    };
    script.frames(&conn, 1);
    for _ in 0..2 {
        conn.send(broken()).unwrap();
        script.wait_asked();
    }
    script.frames(&conn, 1);
    assert!(matches!(live.state(), LiveState::Streaming));
    for _ in 0..3 {
        conn.send(broken()).unwrap();
    }
    let reason = states
        .iter()
        .find_map(|c| match c.state {
            LiveState::Reconnecting { reason, .. } => Some(reason),
            _ => None,
        })
        .unwrap();
    assert!(
        reason.starts_with("3 frames in a row did not decode"),
        "{reason}"
    );
    assert_eq!(live.stats().errors, 5);
}

/// Asks for a setting, then lets one frame through: the camera thread applies settings
/// between reads, so the answer is there once it asks for the next frame.
fn set_between_reads(
    live: &LiveSource,
    script: &Script,
    conn: &Sender<Step>,
    property: CameraProperty,
    value: f64,
) -> Result<(), SetError> {
    let reply = live.request_set(property, value);
    conn.send(Step::Frame).unwrap();
    script.wait_asked();
    reply.recv_timeout(LIMIT).expect("an answer")
}

#[test]
fn settings_apply_on_the_thread_and_survive_a_reconnect() {
    let tracker = ResourceTracker::new();
    let (live, script) = start(config(), &tracker);
    let conn = script.connect();
    script.wait_asked();
    set_between_reads(&live, &script, &conn, CameraProperty::FrameWidth, 8.0).unwrap();
    assert_eq!(live.get(CameraProperty::FrameWidth), Some(8.0));
    let err = set_between_reads(&live, &script, &conn, CameraProperty::Exposure, 1.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("width only"), "{err}");
    // The connection breaks; the new device gets the width again.
    drop(conn);
    let conn = script.connect();
    script.wait_asked();
    assert_eq!(live.get(CameraProperty::FrameWidth), Some(8.0));
    drop(conn);
}

#[test]
fn the_trackers_release_all_stops_the_camera_thread() {
    let tracker = ResourceTracker::new();
    let (live, script) = start(config(), &tracker);
    let conn = script.connect();
    script.wait_asked();
    assert_eq!(tracker.release_all(), 1);
    // The blocked read returns; the thread sees the stop and releases the device.
    conn.send(Step::Frame).unwrap();
    let state = live.wait_for_state(LIMIT, |s| *s == LiveState::Stopped);
    assert_eq!(state, Ok(LiveState::Stopped));
    assert_eq!(script.releases.load(Ordering::SeqCst), 1);
    let mut reader = live.reader();
    assert!(reader
        .wait_newer(LIMIT)
        .unwrap_err()
        .to_string()
        .contains("stopped"));
    drop(live);
    assert_eq!(tracker.statistics().kind("camera").tracked, 0);
    let _ = SystemTime::now();
}

#[test]
fn an_image_folder_that_ends_is_ended_not_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let rgb = vec![90u8; 16 * 8 * 3];
    let image =
        semaforo_resources::ImageRef::new(16, 8, semaforo_resources::PixelFormat::Rgb8, &rgb)
            .unwrap();
    for name in ["f1.jpg", "f2.jpg"] {
        let mut jpeg = Vec::new();
        semaforo_resources::encode_jpeg(image, 90, &mut jpeg).unwrap();
        std::fs::write(dir.path().join(name), jpeg).unwrap();
    }
    let tracker = ResourceTracker::new();
    let uri = format!("dir:{}?pace=fast", dir.path().display());
    let requested = semaforo_camera::Requested {
        width: 16,
        height: 8,
        fps: 10.0,
    };
    let live = LiveSource::open(
        &uri,
        requested,
        Default::default(),
        LiveConfig::new("replay"),
        &tracker,
    );
    let state = live.wait_for_state(LIMIT, |s| matches!(s, LiveState::Ended { .. }));
    let Ok(LiveState::Ended { reason }) = state else {
        panic!("{state:?}")
    };
    assert!(reason.contains("after 2 frames"), "{reason}");
    assert_eq!(live.stats().frames, 2);
    assert_eq!(live.codec().as_deref(), Some("JPEG/PNG stills"));
}
