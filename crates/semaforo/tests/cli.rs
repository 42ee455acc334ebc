//! End-to-end tests of the `semaforo` binary: configuration checking, the run command's
//! lifecycle and log files, and the orphan sweep.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

mod common;
use common::{semaforo, text};
use semaforo_testkit::street_a;

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the semaforo binary runs")
}

#[test]
fn config_check_reports_three_bad_values_with_key_source_value_and_range() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("semaforo.toml"),
        "[frames]\njpeg_quality = 0\n\n[signal]\nyellow = 30\n",
    )
    .unwrap();
    let out = run(semaforo(dir.path())
        .args(["config", "check"])
        .env("MIN_GREEN_TIME", "1"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let errors: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(stderr.contains(
        "error: frames.jpeg_quality = 0 (from semaforo.toml line 2): expected a whole number of percent from 1 to 100"
    ));
    assert!(stderr.contains(
        "error: signal.yellow = 30 (from semaforo.toml line 5): expected a number of seconds from 1 to 10"
    ));
    assert!(stderr.contains(
        "error: signal.min_green = \"1\" (from environment variable MIN_GREEN_TIME): expected a number of seconds from 5 to 300"
    ));
    assert!(stderr.contains("3 configuration problems found"));
}

#[test]
fn config_check_of_a_named_file_prints_each_value_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), "[signal]\nmin_green = 12\n").unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "YELLOW_TIME=4\nMIN_GREEN_TIME=20\n",
    )
    .unwrap();
    let out = run(semaforo(dir.path())
        .args([
            "config",
            "check",
            "site.toml",
            "--set",
            "signal.red_clearance=1",
        ])
        .env("MIN_GREEN_TIME", "15"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {stdout}"))
            .to_string()
    };
    assert!(line("min_green = 15").ends_with("# environment variable MIN_GREEN_TIME"));
    assert!(line("yellow = 4").ends_with("# .env line 1, YELLOW_TIME"));
    assert!(line("red_clearance = 1").ends_with("# command-line flag --set signal.red_clearance=1"));
    assert!(line("max_green = 60").ends_with("# default"));
    assert!(stdout.contains("# the configuration is valid"));
}

#[test]
fn unknown_keys_and_missing_files_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("semaforo.toml"),
        "[signal]\nmax_gren = 50\n",
    )
    .unwrap();
    let out = run(semaforo(dir.path()).args(["config", "check"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean signal.max_green?"),
        "{}",
        text(&out.stderr)
    );

    let out = run(semaforo(dir.path()).args(["config", "check", "nowhere.toml"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nowhere.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_with_a_bad_setting_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path())
        .args(["run", "--for", "1s"])
        .env("YELLOW_TIME", "0.2"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("signal.yellow"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(not(feature = "onnxruntime"))]
#[test]
fn the_onnxruntime_runtime_in_a_build_without_it_refuses_to_start_saying_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path())
        .args(["run", "--for", "1s"])
        .env("DETECTION_RUNTIME", "onnxruntime"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "detection.runtime = \"onnxruntime\" (from environment variable DETECTION_RUNTIME)"
        ) && stderr.contains("--features onnxruntime"),
        "{stderr}"
    );
}

#[cfg(feature = "onnxruntime")]
#[test]
fn a_camera_whose_onnxruntime_library_is_missing_runs_yolox_on_tract_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path())
        .args(["run", "--for", "1s"])
        .env("CAMERA_A_DETECTOR", "yolox")
        .env("DETECTION_RUNTIME", "onnxruntime")
        .env(
            "DETECTION_ONNXRUNTIME_LIBRARY",
            "/nonexistent/libonnxruntime.so",
        ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("camera a: onnxruntime cannot run the detector")
            && stderr.contains("/nonexistent/libonnxruntime.so")
            && stderr.contains("pip install onnxruntime")
            && stderr.contains("using tract to run the network instead"),
        "{stderr}"
    );
}

#[test]
fn run_for_a_duration_exits_zero_and_leaves_the_three_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["run", "--for", "1s"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logs = dir.path().join("logs");
    let main = std::fs::read_to_string(logs.join("traffic_light.log")).unwrap();
    assert!(main.contains("starting"), "{main}");
    assert!(
        main.contains("stopped after"),
        "the last line before exit reaches the file: {main}"
    );
    assert!(logs.join("errors.log").exists());
    let perf = std::fs::read_to_string(logs.join("performance.log")).unwrap();
    assert!(
        perf.contains("rss ") && perf.contains("alive"),
        "statistics are written at the end: {perf}"
    );
    // Each camera's cost over the run: rates, the detector's time and its thread's CPU.
    for camera in ["a", "b"] {
        let line = perf
            .lines()
            .find(|l| l.contains(&format!("camera cost camera={camera} over=run")))
            .unwrap_or_else(|| panic!("camera {camera}'s cost: {perf}"));
        for field in [
            "analysed_per_s=",
            "network_rate_hz=",
            "detect_ms=",
            "cpu_percent_of_a_core=",
        ] {
            assert!(line.contains(field), "{field} in {line}");
        }
    }
}

#[test]
fn a_camera_s_own_detection_rate_overrides_detection_rate_for_that_camera_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path())
        .env("DETECTION_RATE", "5")
        .env("CAMERA_A_DETECTION_RATE", "2")
        .args(["run", "--for", "2s"])
        .args(["--set", "cameras.a.source=testsrc:"])
        .args(["--set", "cameras.b.source=testsrc:"])
        .args(["--set", "cameras.a.detector=yolox"])
        .args(["--set", "cameras.b.detector=yolox"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for (camera, hz) in [("a", 2), ("b", 5)] {
        assert!(
            stderr.contains(&format!("camera {camera}: detector yolox on"))
                && stderr.contains(&format!("frames, the network {hz} times a second")),
            "camera {camera} at {hz} a second: {stderr}"
        );
    }
    // Out of range: named with where it came from and what is expected.
    let out = run(semaforo(dir.path())
        .env("CAMERA_B_DETECTION_RATE", "0.1")
        .args(["run", "--for", "1s"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "cameras.b.detection_rate = \"0.1\" (from environment variable \
             CAMERA_B_DETECTION_RATE): expected a number of network runs per second from 0.5 \
             to 60"
        ),
        "{stderr}"
    );
}

#[test]
fn the_background_models_are_saved_at_exit_and_restored_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["run", "--fast", "--for", "20s"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for camera in ["a", "b"] {
        let saved = dir.path().join(format!("state/background-{camera}.bin"));
        assert!(saved.is_file(), "{} is saved", saved.display());
    }
    let out = run(semaforo(dir.path()).args(["run", "--fast", "--for", "2s"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for camera in ["a", "b"] {
        assert!(
            stderr.contains(&format!(
                "camera {camera}: background model restored from state/background-{camera}.bin"
            )),
            "{stderr}"
        );
    }
    // A damaged file is named, and the camera learns its view afresh.
    std::fs::write(dir.path().join("state/background-a.bin"), b"not a model").unwrap();
    let out = run(semaforo(dir.path()).args(["run", "--fast", "--for", "2s"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("camera a: background model in state/background-a.bin not restored: not a saved background model"),
        "{stderr}"
    );
}

#[test]
fn a_disk_below_the_free_minimum_is_warned_once_per_disk_not_at_every_save() {
    let dir = tempfile::tempdir().unwrap();
    // No working disk has 99% free, so saving stops; one save every 5 frames at 15 fps would
    // be about 12 saves per camera in 4 simulated seconds.
    let out = run(semaforo(dir.path()).args([
        "--set",
        "frames.min_free_disk_percent=99",
        "--set",
        "frames.save_interval=5",
        "run",
        "--fast",
        "--for",
        "4s",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let main = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    // The recovery is logged once per watched disk (logs, frames, temporary files), and no
    // save is tried and warned about meanwhile.
    let began: Vec<&str> = main
        .lines()
        .filter(|l| l.contains(": frame saving stopped, orphaned temporary files swept ("))
        .collect();
    assert_eq!(began.len(), 3, "{main}");
    for disk in ["logs", "detection_frames"] {
        let once = began
            .iter()
            .filter(|l| l.contains(&format!("disk {disk}:")))
            .count();
        assert_eq!(once, 1, "disk {disk}: {main}");
    }
    assert!(!main.contains("frame not saved"), "{main}");
    let frames = dir.path().join("frames");
    let saved = std::fs::read_dir(&frames).map_or(0, |d| d.count());
    assert_eq!(saved, 0, "nothing is written below the minimum");
}

#[test]
fn sigterm_stops_a_run_cleanly_with_exit_code_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = semaforo(dir.path())
        .arg("run")
        .env("LOG_LEVEL", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (by reading, not sleeping) until the loop reports that it is running.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let running = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("running"));
    assert!(running, "the run reports that it is running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap();
    assert_eq!(code.code(), Some(0), "{rest:#?}");
    assert!(rest.iter().any(|l| l.contains("SIGTERM")), "{rest:#?}");
}

fn age(path: &Path, hours: u64) {
    let when = SystemTime::now() - Duration::from_secs(hours * 3600);
    filetime::set_symlink_file_times(path, when.into(), when.into()).unwrap();
}

#[test]
fn clean_temp_removes_exactly_the_old_prefixed_entries() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let make = |name: &str, hours: u64| {
        let path = tmp.join(name);
        std::fs::write(&path, b"x").unwrap();
        age(&path, hours);
        path
    };
    let old_file = make("traffic_old.jpg", 3);
    let young = make("traffic_young.jpg", 0);
    let foreign = make("other_old.jpg", 3);
    let old_dir = tmp.join("traffic_olddir");
    std::fs::create_dir(&old_dir).unwrap();
    std::fs::write(old_dir.join("inside"), b"x").unwrap();
    age(&old_dir.join("inside"), 3);
    age(&old_dir, 3);
    let outside = dir.path().join("precious");
    std::fs::write(&outside, b"keep").unwrap();
    let link = tmp.join("traffic_link");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    age(&link, 3);

    let args = [
        "clean-temp",
        "--dir",
        "tmp",
        "--prefix",
        "traffic_",
        "--max-age-hours",
        "1",
    ];
    let dry = run(semaforo(dir.path()).args(args).arg("--dry-run"));
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    assert!(old_file.exists(), "a dry run removes nothing");
    assert!(
        text(&dry.stdout).contains("would remove 2 entries"),
        "{}",
        text(&dry.stdout)
    );

    let out = run(semaforo(dir.path()).args(args));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!old_file.exists() && !old_dir.exists());
    assert!(young.exists() && foreign.exists());
    assert!(
        std::fs::symlink_metadata(&link).is_ok(),
        "symbolic links are left alone"
    );
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
    assert!(
        text(&out.stdout).contains("removed 2 entries"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn clean_temp_refuses_an_empty_prefix_and_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["clean-temp", "--dir", ".", "--prefix", ""]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("temp.prefix"),
        "{}",
        text(&out.stderr)
    );

    let out = run(semaforo(dir.path()).args(["clean-temp", "--dir", "does-not-exist"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does-not-exist"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn probe_reports_a_source_and_names_the_ones_it_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["probe", "synthetic:seed=4", "--for", "0.2s"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kind: synthetic") && stdout.contains("size: 640x480, 15 fps"));
    assert!(
        stdout.contains(" frames in ") && stdout.contains(", 0 errors"),
        "{stdout}"
    );

    let out = run(semaforo(dir.path()).args(["probe", "rtsp://admin:s3cret@cam.invalid/1"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("rtsp://admin:***@cam.invalid/1") && !stderr.contains("s3cret"),
        "{stderr}"
    );

    let out = run(semaforo(dir.path()).args(["probe", "synthetic:", "--all"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no end"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn probe_reads_every_frame_of_a_real_h264_clip() {
    let Some(clip) = street_a() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = format!("file:{}?pace=fast", clip.display());
    let out = run(semaforo(dir.path()).args(["probe", &source, "--all"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("codec: H.264 High"), "{stdout}");
    assert!(
        stdout.contains("read 1038 frames") && stdout.contains(", 0 errors"),
        "{stdout}"
    );
    assert!(stdout.contains("reached the end of the file"), "{stdout}");
}

#[test]
fn the_orphan_sweep_refuses_the_root_directory_and_a_short_prefix_in_the_shared_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    for (temp_dir, prefix, says) in [
        ("/", "traffic_", "will not sweep / for entries starting with \"traffic_\": the root directory is never swept"),
        ("/tmp", "t", "will not sweep /tmp for entries starting with \"t\": it is a temporary directory every program shares"),
    ] {
        for command in [&["clean-temp"][..], &["run", "--fast", "--for", "1s"]] {
            let out = run(semaforo(dir.path())
                .env("TEMP_DIR", temp_dir)
                .env("TEMP_FILE_PREFIX", prefix)
                .args(command));
            assert_eq!(out.status.code(), Some(2), "{command:?} in {temp_dir}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("temp.prefix = \"{prefix}\"")) && stderr.contains(says),
                "{command:?}: {stderr}"
            );
        }
    }
}
