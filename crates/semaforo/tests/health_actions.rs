//! Health that acts, from outside the binary: a camera whose source is not there is reopened
//! with backoff until it is; a detector slower than `detection.max_latency` is replaced by the
//! background model; memory over its limit stops frame saving; a low disk stops frame saving
//! and sweeps orphaned temporary files. Each action is seen in `/health` and `/api/status`
//! while it lasts, and logged once when it begins and once when it ends.
//!
//! The daemon runs on real time with small, slow cameras; every wait polls with a deadline.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::Path;
use std::time::{Duration, SystemTime};

mod common;
use common::daemon::{Daemon, Response, LIGHT};
use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};
use semaforo_testkit::{repository, street_a};

const WITHIN: Duration = Duration::from_secs(90);

/// Writes `n` JPEG frames (grey pictures of different shades) into `dir`.
fn write_frames(dir: &Path, n: u8) {
    write_sized_frames(dir, &[(n, (320, 240))]);
}

/// Writes runs of JPEG frames, each run `(count, (width, height))`, in name order into `dir`.
fn write_sized_frames(dir: &Path, runs: &[(u8, (u32, u32))]) {
    let tmp = dir.with_extension("partial");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut i = 0u8;
    for &(n, (w, h)) in runs {
        for _ in 0..n {
            let rgb = vec![40 + (i % 6) * 30; (w * h * 3) as usize];
            let image = ImageRef::new(w, h, PixelFormat::Rgb8, &rgb).unwrap();
            let mut jpeg = Vec::new();
            encode_jpeg(image, 80, &mut jpeg).unwrap();
            std::fs::write(tmp.join(format!("frame_{i:03}.jpg")), jpeg).unwrap();
            i += 1;
        }
    }
    // The folder appears whole, as a mounted drive would.
    std::fs::rename(&tmp, dir).unwrap();
}

#[test]
fn a_camera_whose_source_is_missing_is_reopened_with_backoff_until_it_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("later");
    let source = format!("dir:{}?loop=true", later.display());
    let mut env = LIGHT.to_vec();
    env.push(("CAMERA_B_SOURCE", &source));
    env.push(("CAMERA_B_DETECTOR", "bgsub"));
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.acting("camera b", "reopening with backoff")
    });
    assert_eq!(health.check("camera b")["state"], "failing");
    let metrics = daemon.get("/metrics", &[]).text();
    assert!(
        metrics.contains("semaforo_recovery_active{check=\"camera b\"} 1"),
        "{metrics}"
    );
    // Camera a keeps its group counted meanwhile.
    daemon.wait_for("/health", &[], WITHIN, |r| {
        r.check("camera a")["state"] == "ok"
    });
    // The attempts go on with backoff: the detail counts them.
    daemon.wait_for("/api/status", &[], WITHIN, |r| {
        r.json()["actions"].as_array().is_some_and(|a| {
            a.iter().any(|a| {
                a["check"] == "camera b"
                    && a["detail"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("3 failed attempt")
            })
        })
    });
    write_frames(&later, 3);
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.check("camera b")["state"] == "ok"
    });
    assert!(health.check("camera b")["actions"].is_null());
    let status = daemon.get("/api/status", &[]).json();
    let ended = status["actions_ended"].as_array().unwrap();
    assert!(
        ended
            .iter()
            .any(|a| a["check"] == "camera b" && a["action"] == "reopening with backoff"),
        "{ended:?}"
    );
    // Logged once when it began and once when it ended, whatever the number of attempts.
    assert_eq!(daemon.lines_with("camera b: reopening with backoff ("), 1);
    assert_eq!(
        daemon.lines_with("camera b: reopening with backoff ended after"),
        1
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

#[test]
fn a_detector_slower_than_its_limit_is_replaced_by_the_background_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = repository().join("models/yolox_nano.onnx");
    let model = model.to_str().unwrap();
    let mut env = LIGHT.to_vec();
    env.push(("CAMERA_A_DETECTOR", "yolox"));
    env.push(("DETECTION_MODEL", model));
    // Nothing runs YOLOX in a millisecond: the limit is passed after ten frames.
    env.push(("DETECTION_MAX_LATENCY", "0.001"));
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let status = daemon.wait_for("/api/status", &[], WITHIN, |r| {
        r.json()["cameras"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["name"] == "a" && c["detector"] == "bgsub")
        })
    });
    let action = status.json()["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["check"] == "camera a")
        .cloned()
        .unwrap();
    assert_eq!(
        action["action"],
        "detector replaced by the background model"
    );
    let detail = action["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("yolox replaced by bgsub: its median detection took"),
        "{detail}"
    );
    // Still counting: the camera works with the background model, degraded, not failing.
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.check("camera a")["state"] == "degraded"
    });
    assert!(health.acting("camera a", "detector replaced by the background model"));
    assert_eq!(
        daemon.lines_with("camera a: detector replaced by the background model ("),
        1
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

#[test]
fn an_auto_cameras_background_model_measures_its_zone_and_takes_over_warm() {
    let Some(clip) = street_a() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = repository().join("models/yolox_nano.onnx");
    let zones = repository().join("zones/street-a.toml");
    let source = format!("file:{}?loop=true", clip.display());
    let mut env = LIGHT.to_vec();
    env.extend([
        ("CAMERA_A_SOURCE", source.as_str()),
        ("CAMERA_A_ZONES", zones.to_str().unwrap()),
        ("DETECTION_MODEL", model.to_str().unwrap()),
        // The network is replaced after ten runs; the background model beside it has learned
        // the view from every frame until then.
        ("DETECTION_MAX_LATENCY", "0.001"),
    ]);
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let camera_a = |r: &Response| {
        r.json()["cameras"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "a").cloned())
            .unwrap_or_default()
    };
    daemon.wait_for("/api/status", &[], WITHIN, |r| {
        camera_a(r)["detector"] == "bgsub"
    });
    let line = daemon.wait_for_line(
        "camera a: the background model takes over from auto (warm: ",
        WITHIN,
    );
    let learned: u64 = number_after(&line, "(warm: ");
    assert!(learned >= 10, "it learned from the frames before: {line}");
    assert!(line.contains("a-queue counted by its "), "{line}");
    // It measures what a background model can: the share of the zone that is covered, and
    // (the clip's queue is never empty) it counts vehicles there.
    let status = daemon.wait_for("/api/status", &[], WITHIN, |r| {
        let zone = &camera_a(r)["zones"][0];
        zone["covered"].as_f64().is_some_and(|c| c > 0.0)
            && !zone["counted_by"].is_null()
            && r.json()["groups"].as_array().is_some_and(|g| {
                g.iter()
                    .any(|g| g["name"] == "A" && g["count"].as_u64() > Some(0))
            })
    });
    let zone = &camera_a(&status)["zones"][0];
    assert_eq!(zone["zone"], "a-queue");
    assert!(
        zone["counted_by"] == "blobs" || zone["counted_by"] == "estimate",
        "{zone}"
    );
    let metrics = daemon.get("/metrics", &[]).text();
    assert!(
        metrics.contains("semaforo_zone_covered_ratio{camera=\"a\",zone=\"a-queue\"}"),
        "{metrics}"
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
    let sized: f64 = number_after(&line, "sized from ");

    // Saved at exit with what the network taught it: the next run's model is sized from the
    // same cars (and learns on from there), not from none.
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let restored = daemon.wait_for_line("camera a: background model restored from ", WITHIN);
    // Ten network runs on street-a's queue show it well over ten cars.
    assert!(sized >= 10.0, "{line}");
    assert!(
        restored.contains(&format!("sized from {sized:.0} cars, 1 queue zone(s)")),
        "{restored}\n(before: {line})"
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

/// The number that follows `marker` in a log line (up to the next space).
fn number_after<T: std::str::FromStr>(line: &str, marker: &str) -> T {
    line.split(marker)
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{marker}` in: {line}"))
}

#[test]
fn memory_over_its_limit_stops_frame_saving() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    let frames_env = frames.display().to_string();
    let daemon_env = [
        ("CAMERA_WIDTH", "1280"),
        ("CAMERA_HEIGHT", "720"),
        ("CAMERA_FPS", "5"),
        ("SAVE_FRAMES", "true"),
        ("FRAME_SAVE_INTERVAL", "1"),
        ("FRAME_DIR", frames_env.as_str()),
        // The smallest limit allowed: two 720p cameras and their detectors are above it.
        ("MEMORY_LIMIT_MB", "16"),
    ];
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &daemon_env);
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.acting("memory", "frame saving stopped, frame buffer emptied")
    });
    assert_eq!(health.check("memory")["state"], "degraded");
    // No frame is saved while it lasts (a save under way when it began may still land): the
    // count holds over two seconds of ticks.
    let saved = || {
        std::fs::read_dir(&frames).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "jpg"))
            })
            .count()
        })
    };
    let tick = |r: &Response| r.json()["tick"].as_u64().unwrap_or(0);
    let from = tick(&daemon.get("/api/status", &[]));
    daemon.wait_for("/api/status", &[], WITHIN, |r| tick(r) >= from + 5);
    let before = saved();
    daemon.wait_for("/api/status", &[], WITHIN, |r| tick(r) >= from + 25);
    assert_eq!(saved(), before, "frames saved over the memory limit");
    assert!(daemon
        .get("/health", &[])
        .acting("memory", "frame saving stopped"));
    assert_eq!(
        daemon.lines_with("memory: frame saving stopped, frame buffer emptied ("),
        1
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

#[test]
fn a_low_disk_stops_frame_saving_and_sweeps_orphaned_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let temp = dir.path().join("tmp");
    std::fs::create_dir_all(&temp).unwrap();
    // An orphan ten minutes old: younger than the day after which the start's sweep takes
    // orphans, older than the minute after which a low disk's sweep does.
    let orphan = temp.join("traffic_orphan.tmp");
    std::fs::write(&orphan, b"left by a crash").unwrap();
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(ten_minutes_ago)
        .unwrap();
    let temp_env = temp.display().to_string();
    let mut env = LIGHT.to_vec();
    env.push(("TEMP_DIR", &temp_env));
    // No disk here has 99% free: every watched disk is low.
    env.push(("MIN_FREE_DISK_PERCENT", "99"));
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let disk = format!("disk {temp_env}");
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.acting(
            &disk,
            "frame saving stopped, orphaned temporary files swept",
        )
    });
    assert_eq!(health.check(&disk)["state"], "degraded");
    daemon.wait_for_line("swept 1 orphaned temporary file(s)", WITHIN);
    assert!(!orphan.exists(), "the orphan is swept");
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

#[test]
fn without_any_detection_the_fixed_time_plan_runs_until_detection_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let source = |p: &Path| format!("dir:{}?loop=true", p.display());
    let (source_a, source_b) = (source(&a), source(&b));
    let mut env = LIGHT.to_vec();
    env.extend([
        ("CAMERA_A_SOURCE", source_a.as_str()),
        ("CAMERA_B_SOURCE", source_b.as_str()),
        ("CAMERA_A_DETECTOR", "bgsub"),
        ("CAMERA_B_DETECTOR", "bgsub"),
    ]);
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    let health = daemon.wait_for("/health", &[], WITHIN, |r| {
        r.acting("controller", "fixed-time fail-safe plan")
    });
    assert_eq!(health.check("controller")["state"], "degraded");
    assert_eq!(daemon.get("/api/status", &[]).json()["mode"], "fail-safe");
    // One camera back is detection back: normal mode, the other group on recall.
    write_frames(&a, 3);
    daemon.wait_for("/api/status", &[], WITHIN, |r| r.json()["mode"] == "normal");
    daemon.wait_for("/health", &[], WITHIN, |r| {
        !r.acting("controller", "fixed-time fail-safe plan")
    });
    assert_eq!(
        daemon.lines_with("controller: fixed-time fail-safe plan ended after"),
        1
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}

#[test]
fn a_camera_whose_picture_changes_size_goes_on_counting_at_the_new_size() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames-of-two-sizes");
    // Ten frames at 320x240, then ten at 640x480, again and again (the folder loops).
    write_sized_frames(&frames, &[(10, (320, 240)), (10, (640, 480))]);
    let source = format!("dir:{}?loop=true", frames.display());
    let mut env = LIGHT.to_vec();
    env.push(("CAMERA_B_SOURCE", &source));
    env.push(("CAMERA_B_DETECTOR", "bgsub"));
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    // Both ways, each logged when it happens.
    daemon.wait_for_line(
        "camera b: the picture changed size from 320x240 to 640x480",
        WITHIN,
    );
    daemon.wait_for_line(
        "camera b: the picture changed size from 640x480 to 320x240",
        WITHIN,
    );
    // Counting after the changes: the camera works and its group has a count.
    daemon.wait_for("/api/status", &[], WITHIN, |r| {
        let s = r.json();
        let b = s["cameras"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "b").cloned());
        b.is_some_and(|b| b["working"] == true) && s["groups"][1]["count"].is_u64()
    });
    assert_eq!(
        daemon.lines_with("detection failed"),
        0,
        "{}",
        daemon.stderr()
    );
    let (exit, _) = daemon.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{}", daemon.stderr());
}
