//! A network camera misbehaving, from outside the binary: an MJPEG camera (served by the test
//! on loopback) that streams, then stalls with its connection open, then sends garbage instead
//! of pictures, coming back after each. Its group goes on recall and comes back each time; the
//! other camera is untouched; the recovery is logged once when it begins and once when it ends,
//! however many reconnection attempts it took.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::daemon::{Daemon, Response};
use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};

const STREAMING: u8 = 0;
const STALLED: u8 = 1;
const GARBAGE: u8 = 2;

const WITHIN: Duration = Duration::from_secs(90);

/// An MJPEG camera on a free loopback port whose behaviour the test switches.
struct Camera {
    port: u16,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

impl Camera {
    fn start() -> Camera {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(STREAMING));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (mode.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (m, s) = (m.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &m, &s));
            }
        });
        Camera { port, mode, stop }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn picture(shade: u8) -> Vec<u8> {
    let rgb = vec![shade; 320 * 240 * 3];
    let image = ImageRef::new(320, 240, PixelFormat::Rgb8, &rgb).unwrap();
    let mut jpeg = Vec::new();
    encode_jpeg(image, 80, &mut jpeg).unwrap();
    jpeg
}

/// One connection: the request, then parts at 5 a second as the mode says, until it fails.
fn serve(mut stream: TcpStream, mode: &AtomicU8, stop: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let head =
        b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n";
    if stream.write_all(head).is_err() {
        return;
    }
    let mut i = 0u8;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let body = match mode.load(Ordering::SeqCst) {
            STALLED => continue,
            GARBAGE => vec![0x5A; 3000],
            _ => picture(40 + (i % 5) * 40),
        };
        i = i.wrapping_add(1);
        let part = format!(
            "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let sent = stream
            .write_all(part.as_bytes())
            .and_then(|()| stream.write_all(&body))
            .and_then(|()| stream.write_all(b"\r\n"));
        if sent.is_err() {
            return;
        }
    }
}

fn reopening(health: &Response) -> bool {
    health.acting("camera b", "reopening with backoff")
}

#[test]
fn a_network_camera_that_stalls_or_sends_garbage_is_recovered_and_the_other_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let camera = Camera::start();
    let source = format!("http://127.0.0.1:{}/video", camera.port);
    let env = [
        ("CAMERA_WIDTH", "320"),
        ("CAMERA_HEIGHT", "240"),
        ("CAMERA_FPS", "5"),
        ("SAVE_FRAMES", "false"),
        ("CAMERA_B_SOURCE", source.as_str()),
        ("CAMERA_B_DETECTOR", "bgsub"),
        ("YELLOW_TIME", "3"),
        ("RED_TIME", "1"),
    ];
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let b_counted = |r: &Response| r.check("detection B")["state"] == "ok";
    daemon.wait_for("/health", &[], WITHIN, b_counted);

    for (fault, name) in [(STALLED, "stalled"), (GARBAGE, "garbage")] {
        camera.set(fault);
        let health = daemon.wait_for("/health", &[], WITHIN, reopening);
        assert_eq!(health.check("camera b")["state"], "failing", "{name}");
        assert_eq!(
            health.check("detection B")["state"],
            "degraded",
            "{name}: on recall"
        );
        assert_eq!(
            health.check("camera a")["state"],
            "ok",
            "{name}: the other camera"
        );
        assert_eq!(health.check("detection A")["state"], "ok", "{name}");
        camera.set(STREAMING);
        daemon.wait_for("/health", &[], WITHIN, |r| b_counted(r) && !reopening(r));
    }
    // Each fault: one beginning and one end, whatever the attempts in between.
    assert_eq!(
        daemon.lines_with("camera b: reopening with backoff ("),
        2,
        "{}",
        daemon.stderr()
    );
    assert_eq!(
        daemon.lines_with("camera b: reopening with backoff ended after"),
        2
    );
    assert_eq!(daemon.lines_with("group B: detection lost"), 2);
    assert_eq!(daemon.lines_with("group B: detection is back"), 2);
    assert_eq!(daemon.lines_with("group A: detection lost"), 0);
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}
