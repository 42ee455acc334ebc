//! What the board is given: the systemd unit (`packaging/semaforo.service`), checked by
//! systemd's own `systemd-analyze verify` and for its hardening, and the commented
//! configuration the Debian package installs (`packaging/semaforo.toml`), checked by
//! `semaforo config check`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod common;
use common::{semaforo, text};
use semaforo_testkit::repository;

fn unit() -> String {
    std::fs::read_to_string(repository().join("packaging/semaforo.service")).unwrap()
}

#[test]
fn the_unit_is_a_hardened_notify_service_with_a_watchdog() {
    let unit = unit();
    for line in [
        "Type=notify",
        "WatchdogSec=10s",
        "Restart=on-failure",
        "User=semaforo",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/semaforo /var/log/semaforo",
        "NoNewPrivileges=true",
        "ExecStart=/usr/bin/semaforo run --config /etc/semaforo/semaforo.toml",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} missing");
    }
}

#[test]
fn systemd_accepts_the_unit() {
    if !semaforo_testkit::tool("systemd-analyze", "apt-get install systemd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The unit as installed, but starting this build's binary (verify checks it exists).
    let unit = unit().replace("/usr/bin/semaforo", env!("CARGO_BIN_EXE_semaforo"));
    let path = dir.path().join("semaforo.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn the_packaged_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let file = repository().join("packaging/semaforo.toml");
    let out = semaforo(dir.path())
        .args(["config", "check"])
        .arg(&file)
        .env_remove("HTTP_ADDR")
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        shown.contains("model = \"/usr/share/semaforo/models/yolox_nano.onnx\""),
        "{shown}"
    );
    assert!(shown.contains("addr = \"127.0.0.1:8080\""), "{shown}");
}
