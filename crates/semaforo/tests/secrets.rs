//! Credentials never leave the process: a daemon configured with known secrets (a camera URL's
//! password, the MQTT password, the HTTP token, a WebSocket orchestrator URL's password), whose
//! camera and broker refuse it so that every error path runs, is read from outside through
//! everything it writes and serves: standard output and error, `config check`, its log
//! files, its outbox, its saved frames, the API, the metrics, the health, the events, a
//! camera's picture and the dashboard. None of them may hold a secret.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::Path;
use std::time::Duration;

mod common;
use common::daemon::Daemon;
use common::{semaforo, text};
use semaforo_testkit::peers::Broker;

const CAMERA_PASSWORD: &str = "CamPass-7f3a9c";
const MQTT_PASSWORD: &str = "MqttPass-52be1d";
const HTTP_TOKEN: &str = "HttpToken-0c8e4b2a9f";
const WS_PASSWORD: &str = "WsPass-91d2e6";
const SECRETS: [&str; 4] = [CAMERA_PASSWORD, MQTT_PASSWORD, HTTP_TOKEN, WS_PASSWORD];

/// Panics naming the place and the secret when `bytes` hold one.
fn assert_no_secret(place: &str, bytes: &[u8]) {
    for secret in SECRETS {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(
            !found,
            "{place} holds the secret {secret}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn no_credential_appears_in_any_output_file_or_answer_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    // A broker that knows the user under another password: the daemon is refused.
    let Some(broker) = Broker::start(dir.path(), Some(("semaforo", "the-broker-password"))) else {
        return;
    };
    let (_camera_port_holder, camera_port) = semaforo_testkit::refusing_port();
    let (_ws_port_holder, ws_port) = semaforo_testkit::refusing_port();
    let camera = format!("rtsp://admin:{CAMERA_PASSWORD}@127.0.0.1:{camera_port}/stream");
    let ws = format!("ws://feed:{WS_PASSWORD}@127.0.0.1:{ws_port}/feed");
    let broker_port = broker.port.to_string();
    let home = dir.path().join("run");
    std::fs::create_dir_all(&home).unwrap();
    let env: Vec<(&str, &str)> = vec![
        ("CAMERA_B_SOURCE", camera.as_str()),
        ("ORCHESTRATOR_URL", ws.as_str()),
        ("MQTT_HOST", "127.0.0.1"),
        ("MQTT_PORT", broker_port.as_str()),
        ("MQTT_USERNAME", "semaforo"),
        ("MQTT_PASSWORD", MQTT_PASSWORD),
        ("HTTP_TOKEN", HTTP_TOKEN),
        ("CAMERA_WIDTH", "320"),
        ("CAMERA_HEIGHT", "240"),
        ("CAMERA_FPS", "5"),
        ("SAVE_FRAMES", "true"),
        ("FRAME_SAVE_INTERVAL", "5"),
        ("LOG_LEVEL", "debug"),
        ("YELLOW_TIME", "3"),
        ("RED_TIME", "1"),
    ];

    // `config check`, valid and with an error beside the secrets.
    for extra in [None, Some(("MQTT_PORT", "99999"))] {
        let mut cmd = semaforo(&home);
        cmd.args(["config", "check"]);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        if let Some((k, v)) = extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_no_secret("config check's output", &out.stdout);
        assert_no_secret("config check's errors", &out.stderr);
        if extra.is_none() {
            assert!(text(&out.stdout).contains("***"), "{}", text(&out.stdout));
        }
    }

    let mut daemon = Daemon::start(&home, &["--http", "127.0.0.1:0"], &env);
    let bearer = format!("Bearer {HTTP_TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    // Every error path has run: the camera refused, the broker refused, the orchestrator away.
    daemon.wait_for("/api/status", &auth, Duration::from_secs(60), |r| {
        let s = r.json();
        let links = s["links"].as_array().cloned().unwrap_or_default();
        let problems = links.iter().filter(|l| l["problem"].is_string()).count();
        problems == 2 && s["groups"][0]["count"].is_u64()
    });
    daemon.wait_for_line("camera b", Duration::from_secs(60));
    for path in [
        "/api/status",
        "/metrics",
        "/health",
        "/api/events",
        "/api/cameras/a/snapshot.jpg",
        "/api/cameras/b/snapshot.jpg",
        "/",
        "/dashboard.js",
        "/no-such-page",
    ] {
        let answer = daemon.get(path, &auth);
        assert_no_secret(&format!("GET {path}"), &answer.body);
        for (name, value) in &answer.headers {
            assert_no_secret(&format!("GET {path}'s header {name}"), value.as_bytes());
        }
    }
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
    let stderr = daemon.stderr();
    assert!(
        stderr.contains("127.0.0.1"),
        "the errors were said: {stderr}"
    );
    assert_no_secret("standard error", stderr.as_bytes());
    let written = files(&home);
    assert!(
        written
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "jpg")),
        "frames were saved: {written:?}"
    );
    assert!(
        written.iter().any(|p| p.ends_with("traffic_light.log")),
        "{written:?}"
    );
    for path in written {
        let bytes = std::fs::read(&path).unwrap();
        assert_no_secret(&path.display().to_string(), &bytes);
    }
}
