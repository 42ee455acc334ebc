//! Power cuts, as near as a test can make them: the daemon is killed with SIGKILL again and
//! again at seeded random moments while it saves a frame on every frame, stores every message
//! in its outbox (the orchestrator is away) and rotates its logs every few kilobytes. After
//! each kill no saved JPEG is half-written and the logs read as whole lines; after all of them
//! the outbox opens as it was (nothing moved aside) and a returning orchestrator gets every
//! message of every run, in order, with no gap in `seq`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::semaforo;
use semaforo_testkit::peers::{wait_until, TcpPeer};

/// Kills per run of the test, and the seed of their moments.
const KILLS: usize = 12;
const SEED: u64 = 0x5EED_F00D;

fn daemon(dir: &Path, port: u16) -> Command {
    let mut cmd = semaforo(dir);
    cmd.args(["run", "--fast", "--for", "1000h"])
        .env("INTERSECTION_ID", "corner-9")
        .env("LOG_TO_CONSOLE", "false")
        .env("LOG_LEVEL", "debug")
        .env("MAX_LOG_FILE_SIZE_MB", "0.01")
        .env("LOG_BACKUP_COUNT", "3")
        .env("SAVE_FRAMES", "true")
        .env("FRAME_SAVE_INTERVAL", "1")
        .env("MAX_FRAMES_SAVED", "10")
        .env("MIN_FREE_DISK_PERCENT", "0")
        .env("CAMERA_WIDTH", "160")
        .env("CAMERA_HEIGHT", "120")
        .env("OUTBOX_PATH", dir.join("outbox/outbox.db"))
        .env("ORCHESTRATOR_HOST", "127.0.0.1")
        .env("ORCHESTRATOR_PORT", port.to_string())
        .env("ORCHESTRATOR_HEARTBEAT", "0.2")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Every saved frame is a whole JPEG: its start-of-image marker first, its end-of-image last.
fn check_frames(dir: &Path, kill: usize) -> usize {
    let Ok(entries) = std::fs::read_dir(dir.join("detection_frames")) else {
        return 0;
    };
    let mut whole = 0;
    for entry in entries.map_while(Result::ok) {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "jpg") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]),
            "kill {kill}: {} is not a whole JPEG ({} bytes)",
            path.display(),
            bytes.len()
        );
        whole += 1;
    }
    whole
}

/// Every log file reads as UTF-8 whose lines each begin with a timestamp, except perhaps a
/// last line cut by the kill.
fn check_logs(dir: &Path, kill: usize) {
    for entry in std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map_while(Result::ok)
    {
        let path = entry.path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".log") || name.starts_with("events") {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let whole = lines.len().saturating_sub(1);
        for line in &lines[..whole] {
            assert!(
                line.starts_with("[20"),
                "kill {kill}: {name} has a broken line: {line:?}"
            );
        }
    }
}

#[test]
fn sigkill_at_random_moments_leaves_no_half_written_frame_and_loses_no_message() {
    let dir = tempfile::tempdir().unwrap();
    let (socket, port) = semaforo_testkit::refusing_port();
    let mut state = SEED;
    let mut frames_seen = 0;
    for kill in 0..KILLS {
        // A moment 0.3 to 1.5 s into the run (xorshift on the seed).
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let moment = Duration::from_millis(300 + state % 1200);
        let mut child = daemon(dir.path(), port).spawn().unwrap();
        std::thread::sleep(moment);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        frames_seen += check_frames(dir.path(), kill);
        check_logs(dir.path(), kill);
    }
    assert!(frames_seen > 0, "frames were saved between the kills");

    // The orchestrator returns: every message of every run arrives, in order, no gap.
    socket.listen(16).unwrap();
    let peer = TcpPeer::tcp(TcpListener::from(socket));
    let mut last = daemon(dir.path(), port).spawn().unwrap();
    wait_until("the stored messages", Duration::from_secs(60), || {
        peer.count() > 20
    });
    let sent = Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(last.wait().unwrap().code(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    assert!(
        !log.contains("moved aside"),
        "the outbox survived every kill: {log}"
    );
    let messages = peer.messages();
    let mut highest = 0u64;
    for m in &messages {
        let seq = m["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {m}"));
        assert!(
            seq <= highest + 1,
            "seq {seq} after {highest}: a message lost"
        );
        highest = highest.max(seq);
    }
    assert!(highest > 20, "{highest} messages");
    assert_eq!(messages[0]["seq"], 1, "from the first run's first message");
}
