//! MJPEG over HTTP: the response head, `multipart/x-mixed-replace` parts (with and without
//! `Content-Length`, boundaries with or without their dashes), chunked bodies and snapshot
//! answers, then the JPEG decoder, all through `MjpegStream` as a camera reads them.
//!
//! Input: the HTTP response a camera sends. `MjpegStream` reads from a socket, so a server on
//! loopback answers every connection with the current input and then closes it.

#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use semaforo_camera::{MjpegStream, NetworkOptions};
use semaforo_resources::CameraDevice;

/// Frames read after the first (which `open` reads).
const FRAMES: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(2);

struct Camera {
    port: u16,
    response: Arc<Mutex<Vec<u8>>>,
}

fn camera() -> &'static Camera {
    static CAMERA: OnceLock<Camera> = OnceLock::new();
    CAMERA.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the camera");
        let port = listener.local_addr().expect("the port bound").port();
        let response = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::clone(&response);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &answer);
            }
        });
        Camera { port, response }
    })
}

/// Reads the request head, writes the response and closes.
fn serve(mut stream: TcpStream, response: &Mutex<Vec<u8>>) {
    let timeouts = stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)));
    if timeouts.is_err() {
        return;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = response
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let _ = stream.write_all(&body);
    let _ = stream.shutdown(Shutdown::Write);
}

fuzz_target!(|data: &[u8]| {
    let camera = camera();
    *camera
        .response
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = data.to_vec();
    let options = NetworkOptions {
        connect_timeout: TIMEOUT,
        stall_timeout: TIMEOUT,
    };
    let url = format!("http://127.0.0.1:{}/video", camera.port);
    // A snapshot URL is polled at this rate: fast, so that the target does not wait.
    let mut stream = match MjpegStream::open(&url, 1000.0, options) {
        Ok(stream) => stream,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for _ in 0..=FRAMES {
        match stream.read() {
            Ok(frame) => stream.recycle(frame),
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
});
