//! Links that lose nothing, checked with real peers the tests start themselves: a TCP
//! orchestrator in the original's framing, a WebSocket orchestrator, and a real Mosquitto
//! broker (Debian's `mosquitto`, on a free loopback port). The daemon runs on simulated time
//! (`--fast`), so an hour of the intersection's messages takes seconds; the peers go away and
//! come back, the daemon is killed with SIGKILL and restarted, and every message is checked
//! for: all delivered, in `seq` order, no gap, duplicates only where the contract allows.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

mod common;
use common::{semaforo, text};
use semaforo_testkit::peers::{wait_until, Broker, Subscriber, TcpPeer, WsPeer};

/// The daemon, fast, with small synthetic pictures and its outbox in `dir`.
fn daemon(dir: &Path, run_for: &str) -> Command {
    let mut cmd = semaforo(dir);
    cmd.args(["run", "--fast", "--for", run_for])
        .env("INTERSECTION_ID", "corner-7")
        .env("LOG_TO_CONSOLE", "false")
        .env("SAVE_FRAMES", "false")
        .env("CAMERA_WIDTH", "160")
        .env("CAMERA_HEIGHT", "120")
        .env("OUTBOX_PATH", dir.join("outbox/outbox.db"))
        .env("ORCHESTRATOR_HEARTBEAT", "0.2")
        .stderr(Stdio::piped());
    cmd
}

/// How long a peer stays away: the twenty seconds of real time (on simulated time
/// that is many minutes of the intersection's messages).
const OUTAGE: Duration = Duration::from_secs(20);

/// Asks the daemon to stop (SIGTERM) once the returned peer has caught up, and checks that it
/// stopped cleanly: its exit code and standard error.
fn stop(child: &mut Child) -> (Option<i32>, String) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM failed");
    wait_with_output(child)
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("logs/traffic_light.log")).unwrap_or_default()
}

/// Checks a peer's messages: deduplicated by seq they are 1, 2, 3, ... with no gap, and each
/// message's seq is at most one more than the highest before it (a resend goes back, never
/// skips ahead). Returns the number of duplicates.
fn check_in_order_without_gap(messages: &[serde_json::Value]) -> usize {
    let mut highest = 0u64;
    let mut duplicates = 0;
    for m in messages {
        let seq = m["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {m}"));
        assert!(seq <= highest + 1, "seq {seq} after {highest}: a gap");
        if seq <= highest {
            duplicates += 1;
        }
        highest = highest.max(seq);
    }
    assert!(highest > 0, "no message");
    duplicates
}

#[test]
fn a_tcp_peer_away_for_a_while_gets_every_message_in_order_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = TcpPeer::tcp(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut child = daemon(dir.path(), "100h")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", peer.port.to_string())
        .spawn()
        .unwrap();
    wait_until("the first messages", Duration::from_secs(60), || {
        peer.count() >= 20
    });
    peer.go_away();
    let during = peer.count();
    // The intersection goes on while the orchestrator is away.
    thread::sleep(OUTAGE);
    peer.come_back();
    wait_until(
        "the messages made meanwhile",
        Duration::from_secs(60),
        || peer.count() > during + 50,
    );
    let out = stop(&mut child);
    assert_eq!(out.0, Some(0), "{}", out.1);
    let messages = peer.messages();
    let duplicates = check_in_order_without_gap(&messages);
    assert!(
        messages.len() > during + 50,
        "{} after {during}",
        messages.len()
    );
    // What was written in the last heartbeat before the peer went away comes again (at least
    // once); on simulated time that is many messages a heartbeat, but never most of them.
    assert!(duplicates * 2 < messages.len(), "{duplicates} duplicates");
    let log = log(dir.path());
    assert!(log.contains("tcp link to 127.0.0.1"), "{log}");
    assert!(log.contains("delivered, 0 waiting in the outbox"), "{log}");
    // The status carries the outbox's drops (none here) beside the original's fields.
    let status = messages.iter().find(|m| m["type"] == "status").unwrap();
    assert_eq!(status["dropped"], 0);
    assert!(status["count_a"].is_u64() || status["count_a"].is_null());
}

/// Waits for the child; its exit code and standard error.
fn wait_with_output(child: &mut Child) -> (Option<i32>, String) {
    let status = child.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (status.code(), err)
}

#[test]
fn sigkill_while_the_peer_is_away_loses_nothing_and_seq_continues_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (socket, port) = semaforo_testkit::refusing_port();
    let mut first = daemon(dir.path(), "10h")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", port.to_string())
        .spawn()
        .unwrap();
    let greens = |log: &str| log.matches(" green (").count();
    wait_until("greens before the kill", Duration::from_secs(60), || {
        greens(&log(dir.path())) >= 8
    });
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let greens_first = greens(&log(dir.path()));

    socket.listen(16).unwrap();
    let peer = TcpPeer::tcp(socket.into());
    let second = daemon(dir.path(), "2m")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", port.to_string())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let messages = peer.messages();
    let duplicates = check_in_order_without_gap(&messages);
    assert_eq!(duplicates, 0, "nothing was in flight: the peer was away");
    // Every green of both runs has its decision: those of the killed run were stored before it
    // died (at most the one being logged at the kill may be missing).
    let decisions = messages.iter().filter(|m| m["type"] == "decision").count();
    let all_greens = greens(&log(dir.path()));
    assert!(
        decisions + 1 >= all_greens && greens_first >= 8,
        "{decisions} decisions for {all_greens} greens"
    );
}

#[test]
fn a_full_outbox_drops_statuses_first_and_a_corrupt_one_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    // A corrupt outbox file where the outbox goes.
    std::fs::create_dir_all(dir.path().join("outbox")).unwrap();
    std::fs::write(
        dir.path().join("outbox/outbox.db"),
        b"this is not a database",
    )
    .unwrap();
    let (socket, port) = semaforo_testkit::refusing_port();
    let first = daemon(dir.path(), "20m")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", port.to_string())
        .env("OUTBOX_MAX_MESSAGES", "20")
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let log_first = log(dir.path());
    assert!(
        log_first.contains("was not a SQLite database")
            && log_first.contains("a new outbox was started"),
        "{log_first}"
    );
    assert!(log_first.contains("outbox full"), "{log_first}");
    let aside = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".corrupt-")
        })
        .count();
    assert!(aside >= 1, "the corrupt file is kept beside the new outbox");

    socket.listen(16).unwrap();
    let peer = TcpPeer::tcp(socket.into());
    let second = daemon(dir.path(), "10s")
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", port.to_string())
        .env("OUTBOX_MAX_MESSAGES", "20")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let messages = peer.messages();
    // The twenty kept from the first run: 20 minutes gave ~600 statuses and a few dozen
    // decisions; the bound dropped statuses first, so the kept ones are mostly decisions.
    let kept = &messages[..20.min(messages.len())];
    let decisions = kept.iter().filter(|m| m["type"] == "decision").count();
    assert!(decisions >= 15, "{kept:#?}");
    let status = messages
        .iter()
        .find(|m| m["type"] == "status" && m["dropped"].as_u64().unwrap_or(0) > 0);
    assert!(status.is_some(), "a status says how many were dropped");
}

// --- WebSocket -------------------------------------------------------------------------------

#[test]
fn a_websocket_peer_away_for_a_while_gets_every_message_in_order_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = WsPeer::websocket(TcpListener::bind("127.0.0.1:0").unwrap());
    let mut child = daemon(dir.path(), "100h")
        .env(
            "ORCHESTRATOR_URL",
            format!("ws://127.0.0.1:{}/feed", peer.port),
        )
        .spawn()
        .unwrap();
    wait_until("the first messages", Duration::from_secs(60), || {
        peer.count() >= 20
    });
    peer.go_away();
    let during = peer.count();
    thread::sleep(OUTAGE);
    peer.come_back();
    wait_until(
        "the messages made meanwhile",
        Duration::from_secs(60),
        || peer.count() > during + 50,
    );
    let out = stop(&mut child);
    assert_eq!(out.0, Some(0), "{}", out.1);
    let messages = peer.messages();
    check_in_order_without_gap(&messages);
    assert!(
        messages.len() > during + 50,
        "{} after {during}",
        messages.len()
    );
    let log = log(dir.path());
    assert!(log.contains("websocket link to ws://127.0.0.1"), "{log}");
    assert!(log.contains("delivered, 0 waiting in the outbox"), "{log}");
}

// --- MQTT with a real Mosquitto ----------------------------------------------------------------

#[test]
fn mosquitto_gets_retained_state_availability_with_last_will_and_every_decision_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut broker) = Broker::start(dir.path(), None) else {
        return;
    };
    let subscriber = Subscriber::start(broker.port, "test-subscriber", "#");
    let mut child = daemon(dir.path(), "10h")
        .env("MQTT_HOST", "127.0.0.1")
        .env("MQTT_PORT", broker.port.to_string())
        .env("MQTT_PROTOCOL", "5")
        .env("MQTT_HOME_ASSISTANT", "true")
        .spawn()
        .unwrap();
    let base = "semaforo/corner-7";
    wait_until("online", Duration::from_secs(60), || {
        subscriber
            .on(&format!("{base}/available"))
            .last()
            .map(String::as_str)
            == Some("online")
    });
    wait_until("decisions", Duration::from_secs(60), || {
        subscriber.on(&format!("{base}/decision")).len() >= 3
    });
    // The broker goes away and comes back (its persistence keeps the subscriber's session).
    broker.stop();
    thread::sleep(OUTAGE);
    let signals = subscriber.on(&format!("{base}/signal")).len();
    let queues = subscriber.on(&format!("{base}/A/queue")).len();
    broker.run();
    wait_until(
        "decisions after the restart",
        Duration::from_secs(60),
        || subscriber.on(&format!("{base}/decision")).len() >= 10,
    );
    // The restarted broker lost the retained state with its memory: the daemon publishes it
    // again on its new connection.
    wait_until(
        "the state again after the restart",
        Duration::from_secs(60),
        || {
            subscriber.on(&format!("{base}/signal")).len() > signals
                && subscriber.on(&format!("{base}/A/queue")).len() > queues
        },
    );
    // SIGKILL: the broker publishes the last will.
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the last will", Duration::from_secs(30), || {
        subscriber
            .on(&format!("{base}/available"))
            .last()
            .map(String::as_str)
            == Some("offline")
    });

    let decisions: Vec<serde_json::Value> = subscriber
        .on(&format!("{base}/decision"))
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    check_in_order_decisions(&decisions);
    let signal = subscriber.on(&format!("{base}/signal"));
    let last: serde_json::Value = serde_json::from_str(signal.last().unwrap()).unwrap();
    assert!(
        last["heads"]["A"].is_string() && last["heads"]["B"].is_string(),
        "{last}"
    );
    assert!(!subscriber.on(&format!("{base}/A/queue")).is_empty());
    assert!(!subscriber.on(&format!("{base}/B/arrivals")).is_empty());
    assert!(!subscriber.on(&format!("{base}/events")).is_empty());
    // Home Assistant discovery: a queue sensor per group, under one device.
    let discovery = subscriber.on("homeassistant/sensor/corner_7_A_queue/config");
    let config: serde_json::Value = serde_json::from_str(discovery.last().unwrap()).unwrap();
    assert_eq!(config["state_topic"], format!("{base}/A/queue"));
    assert_eq!(config["availability_topic"], format!("{base}/available"));

    // A new subscriber gets the retained state at once.
    let late = Subscriber::start(broker.port, "late-subscriber", "semaforo/corner-7/#");
    wait_until("retained topics", Duration::from_secs(20), || {
        !late.on(&format!("{base}/signal")).is_empty()
            && !late.on(&format!("{base}/A/queue")).is_empty()
    });
    assert!(late
        .got
        .lock()
        .unwrap()
        .iter()
        .all(|(_, _, retained, _)| *retained));
}

/// Decisions and statuses share one seq; the decisions' seqs only increase, none is missing
/// between two statuses... here: seqs strictly increase after deduplication.
fn check_in_order_decisions(decisions: &[serde_json::Value]) {
    let mut last = 0;
    for d in decisions {
        let seq = d["seq"].as_u64().unwrap();
        assert!(seq >= last, "decision seq {seq} after {last}");
        last = seq;
    }
}

#[test]
fn wrong_mqtt_credentials_are_said_clearly_and_the_intersection_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let Some(broker) = Broker::start(dir.path(), Some(("semaforo", "right-password"))) else {
        return;
    };
    let out = daemon(dir.path(), "10m")
        .env("MQTT_HOST", "127.0.0.1")
        .env("MQTT_PORT", broker.port.to_string())
        .env("MQTT_USERNAME", "semaforo")
        .env("MQTT_PASSWORD", "wrong-s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = log(dir.path());
    assert!(
        log.contains("the broker refused the connection (")
            && log.contains("check mqtt.username and mqtt.password"),
        "{log}"
    );
    assert!(
        log.matches(" green (").count() >= 3,
        "the signal ran: {log}"
    );
    for file in ["traffic_light.log", "errors.log"] {
        let text = std::fs::read_to_string(dir.path().join("logs").join(file)).unwrap_or_default();
        assert!(!text.contains("wrong-s3cret"), "the password is in {file}");
    }
    assert!(!text(&out.stderr).contains("wrong-s3cret"));
}
