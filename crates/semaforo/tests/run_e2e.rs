//! The first end-to-end path: cameras → detection and counts → the signal controller → the
//! orchestrator, checked from outside the binary: a real TCP peer reads the framed JSON, and
//! the high-resolution events in `logs/events.csv` are parsed back and checked for safety.
//!
//! The runs use `run --fast` (simulated time, as fast as the machine computes), so a minute or
//! more of intersection time takes seconds and is the same on every run.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::thread;

mod common;
use common::{semaforo, text};
use semaforo_testkit::{repository, street_a};

/// Every framed message the peer receives until the binary closes the connection.
fn read_all_messages(listener: TcpListener) -> thread::JoinHandle<Vec<serde_json::Value>> {
    thread::spawn(move || {
        let (mut peer, _) = listener.accept().expect("semaforo connects");
        let mut messages = Vec::new();
        loop {
            let mut len = [0u8; 4];
            if peer.read_exact(&mut len).is_err() {
                return messages; // closed: the run ended
            }
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            peer.read_exact(&mut body)
                .expect("a whole message follows its length");
            let message: serde_json::Value =
                serde_json::from_slice(&body).expect("each message is UTF-8 JSON");
            messages.push(message);
        }
    })
}

/// One row of `events.csv`: time in tenths of a second since midnight, code, parameter.
#[derive(Debug, Clone, Copy)]
struct Event {
    tenths: i64,
    code: u32,
    parameter: u32,
}

fn events(dir: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(dir.join("logs/events.csv")).expect("events.csv exists");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,event_code,parameter"));
    lines
        .map(|line| {
            let mut parts = line.split(',');
            let stamp = parts.next().expect("timestamp");
            let time = stamp.split(' ').nth(1).expect("date and time");
            let mut hms = time.split(':');
            let h: i64 = hms.next().unwrap().parse().unwrap();
            let m: i64 = hms.next().unwrap().parse().unwrap();
            let s: f64 = hms.next().unwrap().parse().unwrap();
            Event {
                tenths: (h * 3600 + m * 60) * 10 + (s * 10.0).round() as i64,
                code: parts.next().unwrap().parse().unwrap(),
                parameter: parts.next().unwrap().parse().unwrap(),
            }
        })
        .collect()
}

/// Green time per phase (tenths of a second), after checking every safety rule on the events:
/// no two phases green or yellow at once, each green at least `min_green`, each yellow exactly
/// `yellow`, each red clearance at least `red_clearance` (all in tenths).
fn check_safety(
    events: &[Event],
    min_green: i64,
    yellow: i64,
    red_clearance: i64,
) -> BTreeMap<u32, i64> {
    // Phase events (ATSPM): 1 green begins, 8 yellow begins, 10 red clearance begins, 11 it ends.
    let mut showing: BTreeMap<u32, (&str, i64)> = BTreeMap::new();
    let mut green_time = BTreeMap::new();
    // Event 131 with pattern 252: the controller was asked to stop (end of the run); the green
    // then showing may end before its minimum, as a controller going dark must.
    let mut stopping = false;
    for e in events {
        let phase = e.parameter;
        match e.code {
            131 if e.parameter == 252 => stopping = true,
            1 => {
                let others: Vec<_> = showing
                    .iter()
                    .filter(|(p, (state, _))| {
                        **p != phase && (*state == "green" || *state == "yellow")
                    })
                    .collect();
                assert!(
                    others.is_empty(),
                    "phase {phase} green while {others:?} at {}",
                    e.tenths
                );
                showing.insert(phase, ("green", e.tenths));
            }
            8 => {
                let (state, since) = showing.get(&phase).copied().expect("yellow after green");
                assert_eq!(state, "green", "phase {phase}: yellow must follow green");
                let green = e.tenths - since;
                assert!(
                    green >= min_green || stopping,
                    "phase {phase}: green of {green} tenths < minimum"
                );
                *green_time.entry(phase).or_insert(0) += green;
                showing.insert(phase, ("yellow", e.tenths));
            }
            10 => {
                let (state, since) = showing
                    .get(&phase)
                    .copied()
                    .expect("red clearance after yellow");
                assert_eq!(
                    state, "yellow",
                    "phase {phase}: red clearance must follow yellow"
                );
                assert_eq!(
                    e.tenths - since,
                    yellow,
                    "phase {phase}: yellow lasts {yellow} tenths"
                );
                showing.insert(phase, ("red clearance", e.tenths));
            }
            11 => {
                let (state, since) = showing
                    .get(&phase)
                    .copied()
                    .expect("end after red clearance");
                assert_eq!(state, "red clearance");
                assert!(
                    e.tenths - since >= red_clearance,
                    "phase {phase}: red clearance too short"
                );
                showing.insert(phase, ("red", e.tenths));
            }
            _ => {}
        }
    }
    green_time
}

#[test]
fn the_default_intersection_serves_the_busier_approach_longer_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let peer = read_all_messages(listener);
    let out = semaforo(dir.path())
        .args(["run", "--fast", "--for", "150s"])
        .env("INTERSECTION_ID", "corner-7")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", &port)
        .env("LOG_TO_CONSOLE", "false")
        .env("CAMERA_WIDTH", "320")
        .env("CAMERA_HEIGHT", "240")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let messages = peer.join().unwrap();

    let decisions: Vec<_> = messages
        .iter()
        .filter(|m| m["type"] == "decision")
        .collect();
    let statuses: Vec<_> = messages.iter().filter(|m| m["type"] == "status").collect();
    assert_eq!(
        decisions.len() + statuses.len(),
        messages.len(),
        "only the two types"
    );
    assert_eq!(decisions[0]["direction"], "A", "the first green goes to A");
    // Beyond the original's fields, every message says where it is from and what is green.
    for m in &messages {
        assert_eq!(m["intersection"], "corner-7", "{m}");
    }
    assert_eq!(decisions[0]["green"], serde_json::json!(["A"]));
    assert_eq!(decisions[0]["phase"], "A");
    assert!(
        decisions.len() >= 6,
        "several greens in 150 s: {decisions:?}"
    );
    // DECISION_INTERVAL defaults to 2 s: one status at the start and every 2 s after.
    assert!(
        (74..=77).contains(&statuses.len()),
        "{} statuses",
        statuses.len()
    );
    for s in &statuses {
        assert!(
            s["count_a"].is_u64() && s["count_b"].is_u64(),
            "both cameras count: {s}"
        );
        assert_eq!(
            (&s["counts"]["A"], &s["counts"]["B"]),
            (&s["count_a"], &s["count_b"]),
            "the counts per group are the original's counts: {s}"
        );
        assert!(s["timestamp"].as_f64().unwrap() > 1.7e9);
    }
    assert!(
        statuses.iter().any(|s| s["count_a"].as_u64().unwrap() > 0),
        "vehicles are counted on A"
    );

    // Timings are the defaults: min green 10 s, yellow 3 s, red clearance 2 s.
    let green = check_safety(&events(dir.path()), 100, 30, 20);
    let (a, b) = (green[&1], green[&2]);
    assert!(
        a > b,
        "A (24 vehicles/min) gets more green than B (8/min): {a} vs {b} tenths"
    );

    let log = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    // The default policy is max-pressure, and each green says why it was given.
    assert!(
        log.contains("approach A green (normal mode, max-pressure plan, because no call: first phase); queues A "),
        "{log}"
    );
    assert!(
        log.contains("plan, because max-pressure: pressure "),
        "{log}"
    );
}

#[test]
fn camera_a_on_real_footage_with_its_shipped_zones_counts_and_drives_the_signal() {
    let Some(clip) = street_a() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zones = repository().join("zones/street-a.toml");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let peer = read_all_messages(listener);
    let out = semaforo(dir.path())
        .args(["run", "--fast", "--for", "60s"])
        .env(
            "CAMERA_A_SOURCE",
            format!("file:{}?loop=true", clip.display()),
        )
        .env("CAMERA_A_ZONES", &zones)
        .env("CAMERA_WIDTH", "320")
        .env("CAMERA_HEIGHT", "240")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", &port)
        .env("LOG_TO_CONSOLE", "false")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let messages = peer.join().unwrap();
    let counts_a: Vec<u64> = messages
        .iter()
        .filter(|m| m["type"] == "status")
        .map(|m| m["count_a"].as_u64().expect("camera A counts on the clip"))
        .collect();
    assert!(counts_a.len() >= 12, "{counts_a:?}");
    // The clip has vehicles on approach A throughout (3 to 5 in the queue zone).
    let busy = counts_a.iter().skip(1).filter(|&&n| n > 0).count();
    assert!(
        busy * 10 >= (counts_a.len() - 1) * 8,
        "A is seen queueing: {counts_a:?}"
    );
    check_safety(&events(dir.path()), 100, 30, 20);
    let log = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    assert!(log.contains("camera A: file:"), "{log}");
    // `auto` on real footage: YOLOX-Nano behind the motion gate, at 15 analysed frames a second.
    assert!(
        log.contains("camera A: detector auto on 640x352 frames"),
        "{log}"
    );
    assert!(
        log.contains("camera A: the detector's network ran on"),
        "{log}"
    );
    assert!(
        !log.contains("no zones file"),
        "camera A uses the shipped zones: {log}"
    );
}
