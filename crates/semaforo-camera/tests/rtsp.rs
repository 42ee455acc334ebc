//! RTSP against a real RTSP server on loopback: GStreamer's gst-rtsp-server (through Debian's
//! Python bindings, `tests/fixtures/rtsp_server.py`) serving a clip FFmpeg made. Frames come
//! over TCP interleaved and UDP and decode like FFmpeg's decode of the same clip; wrong
//! credentials are refused without showing the password; and a camera whose server goes away
//! and comes back reconnects by itself.
//!
//! Needs `ffmpeg` (with libx264) and `/usr/bin/python3` with GStreamer's RTSP server
//! (`apt-get install gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good
//! gstreamer1.0-plugins-bad python3-gi`); without them the tests say so loudly, and fail
//! under `CI=true`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod fixtures;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use semaforo_camera::{
    Backoff, LiveConfig, LiveSource, LiveState, NetworkOptions, Requested, Source, SourceError,
};
use semaforo_resources::{CameraDevice, CameraProperty, ResourceTracker};

const REQ: Requested = Requested {
    width: 160,
    height: 120,
    fps: 25.0,
};
const LIMIT: Duration = Duration::from_secs(20);
const PYTHON: &str = "/usr/bin/python3";

/// The GStreamer RTSP server, killed on drop.
struct RtspServer {
    child: Child,
    port: u16,
}

impl RtspServer {
    /// Starts the server on `port` (0: any free one) and waits until it listens.
    fn start(clip: &Path, port: u16, credentials: Option<(&str, &str)>) -> RtspServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rtsp_server.py");
        let mut command = Command::new(PYTHON);
        command.arg(script).arg(port.to_string()).arg(clip);
        if let Some((user, password)) = credentials {
            command.args([user, password]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its port");
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the RTSP server did not start: {line:?}"));
        RtspServer { child, port }
    }

    fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/clip", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 20 s 160x120 H.264 Main clip (no B-frames, as cameras stream) in `dir`, or `None` after
/// reporting what is missing.
fn clip(dir: &Path) -> Option<PathBuf> {
    if !fixtures::ffmpeg()
        || !fixtures::ffmpeg_encoder("libx264")
        || !semaforo_testkit::peers::RtspServer::available()
    {
        return None;
    }
    let path = dir.join("camera.mp4");
    fixtures::run_ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25",
        "-t",
        "20",
        "-c:v",
        "libx264",
        "-profile:v",
        "main",
        "-bf",
        "0",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        path.to_str().expect("a UTF-8 path"),
    ]);
    Some(path)
}

#[test]
fn frames_arrive_over_tcp_and_udp_and_decode_like_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let Some(clip) = clip(dir.path()) else {
        return;
    };
    let reference = fixtures::ffmpeg_rgb_frames(&clip, &[0], dir.path());
    let server = RtspServer::start(&clip, 0, None);
    for suffix in ["", "#udp"] {
        let uri = format!("{}{suffix}", server.url());
        let mut camera = Source::open(&uri, REQ).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(camera.codec(), Some("H.264 Main (profile 77)"), "{uri}");
        let first = camera.read().unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!((first.width, first.height), (160, 120), "{uri}");
        // The server starts each client at the clip's first frame.
        let diff = fixtures::mean_abs_diff(&first.rgb, &reference[0]);
        assert!(
            diff.iter().all(|&d| d < 1.5),
            "{uri}: mean difference {diff:?}"
        );
        for seq in 1..10 {
            let frame = camera.read().unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(frame.seq, seq);
            camera.recycle(frame);
        }
        assert_eq!(camera.get(CameraProperty::FrameWidth), Some(160.0));
    }
}

#[test]
fn wrong_credentials_are_refused_and_the_password_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let Some(clip) = clip(dir.path()) else {
        return;
    };
    let server = RtspServer::start(&clip, 0, Some(("viewer", "s3cret")));
    let port = server.port;
    let mut ok = Source::open(&format!("rtsp://viewer:s3cret@127.0.0.1:{port}/clip"), REQ)
        .expect("the right credentials open the camera");
    assert!(ok.read().is_ok());
    let err = Source::open(&format!("rtsp://viewer:guess@127.0.0.1:{port}/clip"), REQ).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{text}");
    assert!(
        text.starts_with(&format!("rtsp://viewer:***@127.0.0.1:{port}/clip: ")),
        "{text}"
    );
    assert!(!text.contains("guess"), "{text}");
    let err = Source::open(&format!("rtsp://127.0.0.1:{port}/clip"), REQ).unwrap_err();
    assert!(
        err.to_string().contains("put user:password@ in the URL"),
        "{err}"
    );
}

#[test]
fn a_camera_whose_server_goes_away_reconnects_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(clip) = clip(dir.path()) else {
        return;
    };
    let server = RtspServer::start(&clip, 0, None);
    let port = server.port;
    let tracker = ResourceTracker::new();
    let config = LiveConfig {
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
        ..LiveConfig::new("A")
    };
    let network = NetworkOptions {
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(2),
    };
    let live = LiveSource::open(&server.url(), REQ, network, config, &tracker);
    let changes = live.subscribe();
    let mut reader = live.reader();
    let before = reader.wait_newer(LIMIT).unwrap().seq;

    drop(server);
    let state = live.wait_for_state(LIMIT, |s| matches!(s, LiveState::Reconnecting { .. }));
    assert!(state.is_ok(), "{state:?}");
    let server = RtspServer::start(&clip, port, None);
    let after = loop {
        let frame = reader.wait_newer(LIMIT).unwrap();
        if live.stats().reconnects >= 1 {
            break frame.seq;
        }
    };
    assert!(after > before);
    let states: Vec<LiveState> = changes.try_iter().map(|c| c.state).collect();
    let reason = states
        .iter()
        .find_map(|s| match s {
            LiveState::Reconnecting { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        reason.starts_with(&format!("rtsp://127.0.0.1:{port}/clip: ")),
        "{reason}"
    );
    assert_eq!(states.last(), Some(&LiveState::Streaming), "{states:?}");
    assert_eq!(tracker.statistics().kind("camera").alive, 1);
    drop(live);
    assert_eq!(tracker.statistics().kind("camera").tracked, 0);
    drop(server);
}

#[test]
fn an_unreachable_camera_is_named_with_its_address() {
    let (_held, free) = semaforo_testkit::refusing_port();
    let err = Source::open(&format!("rtsp://admin:pw@127.0.0.1:{free}/live"), REQ).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "rtsp://admin:***@127.0.0.1:{free}/live: cannot connect to 127.0.0.1:{free}"
        )),
        "{text}"
    );
    assert!(!text.contains(":pw@"), "{text}");
}

#[cfg(feature = "ffmpeg")]
#[test]
fn the_ffmpeg_feature_reads_the_same_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(clip) = clip(dir.path()) else {
        return;
    };
    let reference = fixtures::ffmpeg_rgb_frames(&clip, &[0], dir.path());
    let server = RtspServer::start(&clip, 0, None);
    let mut camera = Source::open(&format!("ffmpeg:{}", server.url()), REQ).unwrap();
    assert!(!camera.ends());
    assert!(
        camera.codec().is_some_and(|c| c.starts_with("H.264")),
        "{:?}",
        camera.codec()
    );
    let first = camera.read().unwrap();
    assert_eq!((first.width, first.height), (160, 120));
    assert_eq!(fixtures::max_abs_diff(&first.rgb, &reference[0]), 0);
    for seq in 1..10 {
        assert_eq!(camera.read().unwrap().seq, seq);
    }
}
