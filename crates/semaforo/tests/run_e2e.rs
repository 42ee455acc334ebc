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
use std::process::Stdio;
use std::thread;

mod common;
use common::{check_events, events, semaforo, text, Event, GroupRules, Rules};
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
            // The link's heartbeats ({"type":"heartbeat"}) are not messages of the intersection.
            if message["type"] != "heartbeat" {
                messages.push(message);
            }
        }
    })
}

/// Green time per group (tenths of a second), after checking every safety rule on the events
/// of the original's intersection: A and B never green or yellow at once, each green at least
/// `min_green`, each yellow exactly `yellow`, each red clearance at least `red_clearance` (all
/// in tenths).
fn check_safety(
    events: &[Event],
    min_green: i64,
    yellow: i64,
    red_clearance: i64,
) -> BTreeMap<u32, i64> {
    let group = GroupRules {
        min_green,
        yellow,
        red_clearance,
    };
    let rules = Rules {
        groups: vec![group; 2],
        phases: vec![("A".into(), vec![1]), ("B".into(), vec![2])],
    };
    check_events(events, &rules).green_time
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
    // The default policy is actuated, and each green says why it was given.
    assert!(
        log.contains(
            "group A green (normal mode, actuated plan, because no call: first phase); queues A "
        ),
        "{log}"
    );
    assert!(
        log.contains("plan, because actuated: next phase with a call, after gap-out"),
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
    assert!(log.contains("camera a: file:"), "{log}");
    // `auto` on real footage: YOLOX-Nano behind the motion gate, at 15 analysed frames a second.
    assert!(
        log.contains("camera a: detector auto on 640x352 frames"),
        "{log}"
    );
    assert!(
        log.contains("camera a: the detector's network ran on"),
        "{log}"
    );
    assert!(
        !log.contains("no zones file"),
        "camera A uses the shipped zones: {log}"
    );
}
