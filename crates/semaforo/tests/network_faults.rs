//! The orchestrator misbehaving, from outside the binary: a peer that accepts and never reads,
//! one that closes every connection at once, one that sends garbage back, and one that stalls
//! half-way through a frame of its own. In each case the intersection goes on (greens keep
//! coming), the daemon's memory does not grow with what it cannot send, and SIGTERM still stops
//! it cleanly within seconds, the undelivered messages kept in the outbox for the next start.
//! (A peer that goes away and comes back is `links_e2e.rs`.)

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::semaforo;
use semaforo_testkit::peers::wait_until;

/// How a peer treats each connection it accepts.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    NeverReads,
    ClosesAtOnce,
    SendsGarbage,
    StallsMidFrame,
}

/// A peer on a free loopback port, misbehaving on every connection until dropped.
struct BadPeer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BadPeer {
    fn start(how: Misbehaviour) -> BadPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            // Connections kept open (never read, or stalled) until the peer stops.
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                match how {
                    Misbehaviour::NeverReads => held.push(stream),
                    Misbehaviour::ClosesAtOnce => drop(stream),
                    Misbehaviour::SendsGarbage => {
                        let _ = stream.write_all(b"\xff\xfe not the protocol at all \x00\x01");
                        let _ = stream.write_all(&[0xAB; 4096]);
                        // Reads what comes, so the daemon's writes go through.
                        let _ = stream.set_nonblocking(true);
                        held.push(stream);
                    }
                    Misbehaviour::StallsMidFrame => {
                        // A length prefix of 1,000 bytes, then 3 of them, then nothing.
                        let _ = stream.write_all(&1000u32.to_be_bytes());
                        let _ = stream.write_all(b"{\"t");
                        let _ = stream.set_nonblocking(true);
                        held.push(stream);
                    }
                }
                let mut sink = [0u8; 65536];
                for s in &mut held {
                    if matches!(
                        how,
                        Misbehaviour::SendsGarbage | Misbehaviour::StallsMidFrame
                    ) {
                        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
                    }
                }
            }
        });
        BadPeer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for BadPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("logs/traffic_light.log")).unwrap_or_default()
}

fn greens(dir: &Path) -> usize {
    log(dir).matches(" green (").count()
}

/// Resident memory of a process, MB.
fn rss_mb(child: &Child) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    kb / 1024.0
}

fn survives(how: Misbehaviour) {
    let dir = tempfile::tempdir().unwrap();
    let peer = BadPeer::start(how);
    let mut child: Child = semaforo(dir.path())
        .args(["run", "--fast", "--for", "1000h"])
        .env("LOG_TO_CONSOLE", "false")
        .env("SAVE_FRAMES", "false")
        .env("CAMERA_WIDTH", "160")
        .env("CAMERA_HEIGHT", "120")
        .env("OUTBOX_PATH", dir.path().join("outbox/outbox.db"))
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", peer.port.to_string())
        .env("ORCHESTRATOR_HEARTBEAT", "0.2")
        .env("NETWORK_TIMEOUT", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Warmed up: the intersection runs and the link has met the peer several times.
    wait_until("greens", Duration::from_secs(60), || {
        greens(dir.path()) >= 20
    });
    let (greens_then, rss_then) = (greens(dir.path()), rss_mb(&child));
    // Many more simulated minutes against the bad peer: the intersection goes on, and memory
    // holds (what cannot be sent waits on disk, not in memory).
    wait_until("more greens", Duration::from_secs(120), || {
        greens(dir.path()) >= greens_then + 100
    });
    let rss_now = rss_mb(&child);
    assert!(
        rss_now < rss_then + 10.0,
        "{how:?}: RSS {rss_then:.1} MB -> {rss_now:.1} MB"
    );
    let sent = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{how:?}: still running 10 s after SIGTERM:\n{}",
            log(dir.path())
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{how:?}:\n{}", log(dir.path()));
    let log = log(dir.path());
    assert!(
        log.contains("waiting in the outbox for the next start"),
        "{how:?}: the link's final report:\n{log}"
    );
    drop(peer);
}

#[test]
fn a_peer_that_accepts_and_never_reads_blocks_nothing() {
    survives(Misbehaviour::NeverReads);
}

#[test]
fn a_peer_that_closes_every_connection_at_once_blocks_nothing() {
    survives(Misbehaviour::ClosesAtOnce);
}

#[test]
fn a_peer_that_sends_garbage_back_blocks_nothing() {
    survives(Misbehaviour::SendsGarbage);
}

#[test]
fn a_peer_that_stalls_mid_frame_blocks_nothing() {
    survives(Misbehaviour::StallsMidFrame);
}
