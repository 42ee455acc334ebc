//! `semaforo run` under systemd's `Type=notify`, with the test as systemd: a Unix datagram
//! socket it listens on is the `NOTIFY_SOCKET`, and `WATCHDOG_USEC` asks for watchdog pings.
//! The daemon must say READY once it ticks, ping the watchdog from its ticks, say STOPPING
//! when the stop begins, and say nothing when not run by systemd.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

mod common;
use common::{semaforo, text};

const LIGHT: &[(&str, &str)] = &[
    ("CAMERA_WIDTH", "160"),
    ("CAMERA_HEIGHT", "120"),
    ("CAMERA_FPS", "5"),
    ("SAVE_FRAMES", "false"),
];

#[test]
fn ready_watchdog_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut child = semaforo(dir.path())
        .args(["run", "--for", "4s"])
        .envs(LIGHT.iter().copied())
        .env("NOTIFY_SOCKET", &path)
        // systemd's WatchdogSec=1s: a ping at least every 0.5 s.
        .env("WATCHDOG_USEC", "1000000")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut messages: Vec<(Duration, String)> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => messages.push((
                started.elapsed(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            )),
            Err(_) if child.try_wait().unwrap().is_some() => break,
            Err(_) => {}
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{messages:?}");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let index = |what: &str| {
        messages
            .iter()
            .position(|(_, m)| m.lines().any(|l| l == what))
    };
    let ready = index("READY=1").expect("READY=1 was sent");
    let stopping = index("STOPPING=1").expect("STOPPING=1 was sent");
    assert_eq!(ready, 0, "READY comes first: {messages:?}");
    assert!(messages[0].1.contains("STATUS="), "{messages:?}");
    let pings: Vec<Duration> = messages[..stopping]
        .iter()
        .filter(|(_, m)| m.lines().any(|l| l == "WATCHDOG=1"))
        .map(|(at, _)| *at)
        .collect();
    // About 4 s of ticks at a ping every 0.5 s.
    assert!(pings.len() >= 5, "{messages:?}");
    for pair in pings.windows(2) {
        assert!(
            pair[1] - pair[0] < Duration::from_millis(900),
            "a gap in the pings: {pings:?}"
        );
    }
    assert!(
        messages[stopping]
            .1
            .contains("STATUS=stopping safely (--for 4s)"),
        "{messages:?}"
    );
}

#[test]
fn nothing_is_sent_without_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let out = semaforo(dir.path())
        .args(["run", "--fast", "--for", "20s"])
        .envs(LIGHT.iter().copied())
        .env("WATCHDOG_USEC", "1000000")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("run by systemd"), "{err}");
}
