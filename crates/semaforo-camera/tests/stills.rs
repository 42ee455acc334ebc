//! Sources made of still images: image folders (`dir:`) and HTTP MJPEG streams and snapshot
//! URLs, the latter against a small HTTP server this test runs on loopback (its JPEGs come from
//! the project's own encoder). Also the camera thread reconnecting to an MJPEG stream.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod fixtures;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use semaforo_camera::{
    Backoff, LiveConfig, LiveSource, NetworkOptions, Requested, Source, SourceError,
};
use semaforo_resources::{encode_jpeg, CameraDevice, ImageRef, PixelFormat, ResourceTracker};

const REQ: Requested = Requested {
    width: 32,
    height: 16,
    fps: 1000.0,
};
const LIMIT: Duration = Duration::from_secs(10);

/// A 32x16 JPEG of one grey level.
fn jpeg(level: u8) -> Vec<u8> {
    let rgb = vec![level; 32 * 16 * 3];
    let mut out = Vec::new();
    encode_jpeg(
        ImageRef::new(32, 16, PixelFormat::Rgb8, &rgb).unwrap(),
        90,
        &mut out,
    )
    .unwrap();
    out
}

fn level(frame: &semaforo_camera::Frame) -> u8 {
    let sum: u64 = frame.rgb.iter().map(|&v| v as u64).sum();
    (sum / frame.rgb.len() as u64) as u8
}

/// Serves HTTP on loopback; each connection is answered by `respond(path, auth header)`.
fn serve(respond: fn(&str, Option<&str>, &mut TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut auth = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Authorization: ") {
                        auth = Some(v.trim().to_string());
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                respond(&path, auth.as_deref(), &mut stream);
            });
        }
    });
    port
}

fn multipart(stream: &mut TcpStream, header_boundary: &str, with_length: bool, frames: u8) {
    let _ = write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={header_boundary}\r\n\r\n"
    );
    for i in 0..frames {
        let body = jpeg(20 + 40 * i);
        let _ = write!(stream, "--frame\r\nContent-Type: image/jpeg\r\n");
        if with_length {
            let _ = write!(stream, "Content-Length: {}\r\n", body.len());
        }
        let _ = stream.write_all(b"\r\n");
        let _ = stream.write_all(&body);
        let _ = stream.write_all(b"\r\n");
    }
    let _ = stream.write_all(b"--frame--\r\n");
}

fn respond(path: &str, auth: Option<&str>, stream: &mut TcpStream) {
    match path {
        "/stream" => multipart(stream, "frame", true, 4),
        // Some cameras put the dashes in the header and omit Content-Length.
        "/quirky" => multipart(stream, "--frame", false, 3),
        "/snapshot.jpg" => {
            let body = jpeg(200);
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
        "/private" if auth == Some("Basic YWRtaW46czNjcmV0") => multipart(stream, "frame", true, 1),
        "/private" => {
            let _ = stream.write_all(
                b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n",
            );
        }
        "/stall" => {
            let _ = stream.write_all(
                b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n",
            );
            // Send nothing more, but keep the connection open for a while.
            std::thread::sleep(Duration::from_secs(3));
        }
        _ => {
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>");
        }
    }
}

#[test]
fn an_mjpeg_stream_gives_its_frames_in_order_then_says_it_ended() {
    let port = serve(respond);
    let uri = format!("http://127.0.0.1:{port}/stream");
    let mut camera = Source::open(&uri, REQ).unwrap();
    assert_eq!(camera.codec(), Some("Motion JPEG"));
    assert_eq!(
        camera.get(semaforo_resources::CameraProperty::FrameWidth),
        Some(32.0)
    );
    for i in 0..4u8 {
        let frame = camera.read().unwrap();
        assert_eq!((frame.seq, frame.width, frame.height), (i as u64, 32, 16));
        assert!(
            level(&frame).abs_diff(20 + 40 * i) <= 2,
            "frame {i}: level {}",
            level(&frame)
        );
        camera.recycle(frame);
    }
    let err = camera.read().unwrap_err();
    assert!(matches!(err, SourceError::Disconnected { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{uri}: disconnected: the server ended the stream")
    );
}

#[test]
fn parts_without_length_and_a_dashed_boundary_are_read() {
    let port = serve(respond);
    let mut camera = Source::open(&format!("http://127.0.0.1:{port}/quirky"), REQ).unwrap();
    let levels: Vec<u8> = (0..3).map(|_| level(&camera.read().unwrap())).collect();
    for (got, want) in levels.iter().zip([20u8, 60, 100]) {
        assert!(got.abs_diff(want) <= 2, "{levels:?}");
    }
}

#[test]
fn a_snapshot_url_is_polled_once_per_frame() {
    let port = serve(respond);
    let mut camera = Source::open(&format!("http://127.0.0.1:{port}/snapshot.jpg"), REQ).unwrap();
    for seq in 0..3 {
        let frame = camera.read().unwrap();
        assert_eq!(frame.seq, seq);
        assert!(level(&frame).abs_diff(200) <= 2);
    }
    assert_eq!(
        camera.get(semaforo_resources::CameraProperty::Fps),
        Some(1000.0)
    );
}

#[test]
fn credentials_from_the_url_are_sent_and_never_shown() {
    let port = serve(respond);
    let mut ok = Source::open(
        &format!("http://admin:s3cret@127.0.0.1:{port}/private"),
        REQ,
    )
    .unwrap();
    assert!(ok.read().is_ok());
    let err =
        Source::open(&format!("http://admin:wrong@127.0.0.1:{port}/private"), REQ).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "http://admin:***@127.0.0.1:{port}/private: the camera refused"
        )),
        "{text}"
    );
    assert!(!text.contains("wrong"), "{text}");
}

#[test]
fn bad_answers_unreachable_hosts_and_stalls_are_named() {
    let port = serve(respond);
    let err = Source::open(&format!("http://127.0.0.1:{port}/index.html"), REQ).unwrap_err();
    assert!(
        err.to_string().contains("content type `text/html`"),
        "{err}"
    );

    let (_held, free) = semaforo_testkit::refusing_port();
    let err = Source::open(&format!("http://127.0.0.1:{free}/video"), REQ).unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("cannot connect to 127.0.0.1:{free}")),
        "{err}"
    );

    let stall = NetworkOptions {
        stall_timeout: Duration::from_millis(200),
        ..NetworkOptions::default()
    };
    let err = Source::open_with(&format!("http://127.0.0.1:{port}/stall"), REQ, stall).unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err}");

    let err = Source::open("https://127.0.0.1/video", REQ).unwrap_err();
    assert!(
        err.to_string()
            .contains("https:// MJPEG is not in this build"),
        "{err}"
    );
}

#[test]
fn a_live_mjpeg_camera_reconnects_when_the_stream_ends() {
    let port = serve(respond);
    let tracker = ResourceTracker::new();
    let config = LiveConfig {
        backoff: Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
        },
        ring: 8,
        ..LiveConfig::new("A")
    };
    let live = LiveSource::open(
        &format!("http://127.0.0.1:{port}/stream"),
        REQ,
        NetworkOptions::default(),
        config,
        &tracker,
    );
    let mut reader = live.reader();
    // Each connection gives 4 frames; 10 frames need at least two reconnects.
    let mut last = None;
    while last.is_none_or(|seq| seq < 9) {
        let frame = reader.wait_newer(LIMIT).unwrap();
        last = Some(frame.seq);
    }
    assert!(live.stats().reconnects >= 2, "{:?}", live.stats());
    assert_eq!(tracker.statistics().kind("camera").alive, 1);
    drop(live);
    assert_eq!(tracker.statistics().kind("camera").tracked, 0);
}

fn write_still(dir: &Path, name: &str, level: u8) {
    let bytes = if name.ends_with(".png") {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 32, 16);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![level; 32 * 16 * 3]).unwrap();
        drop(writer);
        out
    } else {
        jpeg(level)
    };
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn an_image_folder_plays_jpeg_and_png_in_natural_name_order_and_loops() {
    let dir = tempfile::tempdir().unwrap();
    write_still(dir.path(), "frame_10.jpg", 100);
    write_still(dir.path(), "frame_9.png", 90);
    write_still(dir.path(), "frame_1.jpg", 10);
    std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();
    let uri = format!("dir:{}?loop=true&pace=fast", dir.path().display());
    let mut folder = Source::open(&uri, REQ).unwrap();
    assert!(!folder.ends());
    let levels: Vec<u8> = (0..4).map(|_| level(&folder.read().unwrap())).collect();
    let expected = [10u8, 90, 100, 10];
    for (got, want) in levels.iter().zip(expected) {
        assert!(
            got.abs_diff(want) <= 2,
            "levels {levels:?}, expected {expected:?}"
        );
    }
    assert_eq!(levels[1], 90, "the PNG decodes exactly");
}

#[test]
fn a_broken_frame_names_its_file_and_the_folder_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write_still(dir.path(), "a1.jpg", 50);
    std::fs::write(dir.path().join("a2.jpg"), b"\xff\xd8 truncated").unwrap();
    write_still(dir.path(), "a3.jpg", 150);
    let mut folder = Source::open(&format!("dir:{}?pace=fast", dir.path().display()), REQ).unwrap();
    assert!(folder.ends());
    folder.read().unwrap();
    let err = folder.read().unwrap_err();
    assert!(err.to_string().contains("a2.jpg"), "{err}");
    assert!(level(&folder.read().unwrap()).abs_diff(150) <= 2);
    let err = folder.read().unwrap_err();
    assert!(
        matches!(err, SourceError::EndOfStream { frames: 2, .. }),
        "{err}"
    );
}

#[test]
fn missing_and_empty_folders_say_so() {
    let err = Source::open("dir:/no/such/folder", REQ).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("image folder /no/such/folder: cannot list it"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = Source::open(&format!("dir:{}", dir.path().display()), REQ).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds no .jpg, .jpeg or .png file"),
        "{err}"
    );
    let err = Source::open(&format!("dir:{}?fps=fast", dir.path().display()), REQ).unwrap_err();
    assert!(err.to_string().contains("`fps=fast`"), "{err}");
}
