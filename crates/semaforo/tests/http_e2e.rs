//! The HTTP API of `semaforo run`, from outside the binary over loopback: the token rule,
//! `/api/status` on the four-arm example, the live event stream, a camera's annotated
//! picture, `/metrics` through `promtool check metrics`, a port already taken, and SIGTERM
//! with the server (and a live stream) open.
//!
//! The daemon runs on real time with its cameras small and slow (the tests need seconds of
//! intersection, not minutes); every wait polls with a deadline.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::time::Duration;

mod common;
use common::daemon::{get, Daemon, EventStream, LIGHT};
use common::{semaforo, text};
use semaforo_testkit::repository;

const TOKEN: &str = "correct-horse-battery-staple";

#[test]
fn a_public_address_without_a_token_is_refused_naming_http_addr() {
    let dir = tempfile::tempdir().unwrap();
    let out = semaforo(dir.path())
        .args(["run", "--http", "0.0.0.0:8080", "--for", "1s"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("http.addr = \"0.0.0.0:8080\" (from command-line flag --http 0.0.0.0:8080)")
            && err.contains("set http.token"),
        "{err}"
    );
    // A token too short is refused without being shown.
    let out = semaforo(dir.path())
        .args(["config", "check"])
        .env("HTTP_TOKEN", "short-secret")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("http.token = *** (hidden) (from environment variable HTTP_TOKEN)")
            && err.contains("it has 12 characters"),
        "{err}"
    );
    assert!(!err.contains("short-secret"), "{err}");
    // A good one is shown as *** by config check.
    let out = semaforo(dir.path())
        .args(["config", "check"])
        .env("HTTP_TOKEN", TOKEN)
        .env("HTTP_ADDR", "0.0.0.0:8080")
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(shown.contains("token = ***"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[test]
fn with_a_token_every_endpoint_but_health_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = LIGHT.to_vec();
    env.push(("HTTP_TOKEN", TOKEN));
    // Every interface (not loopback), so the token is required; the test talks to 127.0.0.1.
    let mut daemon = Daemon::start(dir.path(), &["--http", "0.0.0.0:0", "--for", "5m"], &env);
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], daemon.addr.port()));
    let bearer = format!("Bearer {TOKEN}");
    for path in [
        "/api/status",
        "/api/events",
        "/api/events/stream",
        "/metrics",
        "/api/cameras/a/snapshot.jpg",
    ] {
        let none = get(local, path, &[]);
        assert_eq!(none.status, 401, "{path} without a token: {}", none.text());
        assert!(none.header("www-authenticate").is_some(), "{path}");
        let wrong = get(
            local,
            path,
            &[("Authorization", "Bearer correct-horse-battery-staplf")],
        );
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
    }
    let status = get(local, "/api/status", &[("Authorization", &bearer)]);
    assert_eq!(status.status, 200, "{}", status.text());
    let metrics = get(local, "/metrics", &[("Authorization", &bearer)]);
    assert_eq!(metrics.status, 200, "{}", metrics.text());
    let health = get(local, "/health", &[]);
    assert!(
        [200, 503].contains(&health.status),
        "/health needs no token: {}",
        health.status
    );
    assert_eq!(
        get(local, "/", &[]).status,
        200,
        "the page's static files are open"
    );
    let (status, _) = daemon.terminate(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    let err = daemon.stderr();
    assert!(
        err.contains("a bearer token (http.token) is asked for"),
        "{err}"
    );
    assert!(
        !err.contains(TOKEN),
        "the token must never be logged:\n{err}"
    );
    let logs = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    assert!(!logs.contains(TOKEN), "the token must never be logged");
}

#[test]
fn the_four_arm_example_is_served_live_and_sigterm_stops_everything_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = repository().join("examples/four-arm.toml");
    let config = config.to_str().unwrap();
    let mut daemon = Daemon::start(
        dir.path(),
        &["--config", config, "--http", "127.0.0.1:0"],
        LIGHT,
    );
    // Every camera working: each group counted.
    let status = daemon.wait_for("/api/status", &[], Duration::from_secs(60), |r| {
        r.status == 200
            && r.json()["groups"]
                .as_array()
                .is_some_and(|g| g.len() == 8 && g.iter().all(|g| g["count"].is_u64()))
    });
    let s = status.json();
    assert_eq!(s["intersection"], "main-and-5th");
    assert_eq!(s["policy"], "actuated");
    assert!(
        ["normal", "starting"].contains(&s["mode"].as_str().unwrap()),
        "{s}"
    );
    let names: Vec<&str> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "north",
            "south",
            "east",
            "west",
            "north-left",
            "south-left",
            "east-left",
            "west-left"
        ]
    );
    for g in s["groups"].as_array().unwrap() {
        assert!(
            ["green", "yellow", "red"].contains(&g["head"].as_str().unwrap()),
            "{g}"
        );
        assert_eq!(g["on_recall"], false, "{g}");
        assert_eq!(g["cameras"], serde_json::json!([g["name"]]), "{g}");
    }
    let phases: Vec<&str> = s["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["ns-left", "ns", "ew-left", "ew"]);
    let cameras = s["cameras"].as_array().unwrap();
    assert_eq!(cameras.len(), 8);
    for c in cameras {
        assert_eq!(c["working"], true, "{c}");
        assert_eq!(c["detector"], "bgsub", "{c}");
        assert!(c["last_frame_age_s"].as_f64().unwrap() < 3.0, "{c}");
        assert!(c["latency_ms"].as_f64().unwrap() > 0.0, "{c}");
    }
    assert!(s["resources"]["rss_mb"].as_f64().unwrap() > 1.0, "{s}");
    assert!(s["resources"]["open_fds"].as_u64().unwrap() > 3, "{s}");
    assert_eq!(
        s["link"],
        serde_json::Value::Null,
        "no orchestrator configured"
    );
    for key in [
        "interval",
        "interval_s",
        "max_wait_s",
        "timeline",
        "uptime_s",
        "tick",
    ] {
        assert!(!s[key].is_null(), "{key} missing from {s}");
    }

    // The health of a working intersection.
    let health = daemon.wait_for("/health", &[], Duration::from_secs(30), |r| r.status == 200);
    let checks = health.json()["checks"].as_array().unwrap().clone();
    let named = |prefix: &str| {
        checks
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    assert_eq!(
        (named("controller"), named("camera "), named("detection ")),
        (1, 8, 8)
    );
    assert!(named("memory") == 1 && named("disk ") >= 1, "{checks:?}");

    // The live stream delivers events as the controller makes them (the first green comes
    // within the start-up clearance and a minimum green or so).
    let mut stream = EventStream::open(daemon.addr, "/api/events/stream", &[]);
    assert_eq!(stream.status, 200);
    assert!(stream
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("text/event-stream")));
    let first: serde_json::Value = serde_json::from_str(&stream.next_data().unwrap()).unwrap();
    for key in ["seq", "time", "code", "name", "parameter"] {
        assert!(!first[key].is_null(), "{key} missing from {first}");
    }
    let recent = daemon.get("/api/events?limit=5", &[]).json();
    assert!(recent["total"].as_u64().unwrap() >= 1, "{recent}");
    assert!(recent["events"].as_array().unwrap().len() <= 5);
    assert_eq!(daemon.get("/api/events?limit=x", &[]).status, 400);

    // A camera's annotated picture, and an unknown camera named.
    let picture = daemon.get("/api/cameras/north-left/snapshot.jpg", &[]);
    assert_eq!(picture.status, 200, "{}", picture.text());
    assert_eq!(picture.header("content-type"), Some("image/jpeg"));
    assert!(picture.body.starts_with(&[0xFF, 0xD8]) && picture.body.ends_with(&[0xFF, 0xD9]));
    let unknown = daemon.get("/api/cameras/nowhere/snapshot.jpg", &[]);
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("no camera named `nowhere`"),
        "{}",
        unknown.text()
    );

    // The metrics, checked by Prometheus' own linter.
    let metrics = daemon.get("/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let m = metrics.text();
    for name in [
        "semaforo_camera_frames_total{camera=\"north\"}",
        "semaforo_camera_frames_dropped_total{camera=\"north\"}",
        "semaforo_detector_latency_seconds_bucket{camera=\"west-left\",le=\"+Inf\"}",
        "semaforo_greens_total{group=\"north\"}",
        "semaforo_green_duration_seconds_count{group=\"east\"}",
        "semaforo_max_wait_seconds",
        "semaforo_resident_memory_bytes",
        "semaforo_open_fds",
        "semaforo_mode{mode=\"normal\"}",
    ] {
        assert!(m.contains(name), "{name} missing from\n{m}");
    }
    if semaforo_testkit::tool("promtool", "apt-get install prometheus") {
        let mut check = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(metrics.body.as_slice())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    // SIGTERM with a live stream still open: exit 0 within 5 s, the server stopped, no leak.
    // The console says what the stop does, and a second SIGTERM that it is still running.
    let sent = std::time::Instant::now();
    daemon.send_sigterm();
    daemon.wait_for_line("stopping: ", Duration::from_secs(2));
    daemon.send_sigterm();
    let status = daemon.wait_exit(sent, Duration::from_secs(5));
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr());
    let err = daemon.stderr();
    assert!(err.contains("SIGTERM received"), "{err}");
    assert!(
        err.contains("all red") && err.contains("SIGTERM again: the safe stop is still running"),
        "{err}"
    );
    assert!(
        err.contains(&format!("HTTP API on {} stopped", daemon.addr)),
        "{err}"
    );
    assert!(err.contains(" 0 potential leaks"), "{err}");
    assert!(
        !err.contains("still open"),
        "the stream must end with the server:\n{err}"
    );
    assert!(took < Duration::from_secs(5));
    // The stream ended with the server.
    while stream.next_data().is_some() {}
}

#[test]
fn a_port_already_taken_is_logged_and_the_intersection_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = semaforo(dir.path())
        .args(["run", "--fast", "--for", "2m", "--http", &addr])
        .envs(LIGHT.iter().copied())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("HTTP API: cannot listen on {addr} (http.addr)")),
        "{err}"
    );
    assert!(err.contains("greens A: "), "the intersection ran: {err}");
}
