//! A disk that fills up and frees again, on the binary: the frame store and the log files sit
//! on a small tmpfs the test mounts (root only; CI runs as root), which the test then fills to
//! the last byte and empties.
//!
//! While it is full the controller goes on (ticks and greens), frame saving stops (the disk
//! action in `/health`), and the log lines the files cannot take reach the console; once it is
//! free, saving resumes, the log files are written again and say how many lines went to the
//! console meanwhile. Afterwards every saved JPEG and every log line is whole.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::daemon::{Daemon, Response, LIGHT};

const WITHIN: Duration = Duration::from_secs(90);
const DISK_ACTION: &str = "frame saving stopped, orphaned temporary files swept";

/// A tmpfs of `size` mounted at `path` for the test's life.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(SmallDisk(path.to_path_buf())),
            Ok(out) => {
                semaforo_testkit::skip(
                    &format!(
                        "disk_faults: cannot mount a tmpfs ({})",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                    "run the test as root (CI does), where `mount -t tmpfs` works",
                );
                None
            }
            Err(e) => {
                semaforo_testkit::skip(
                    &format!("disk_faults: cannot run mount: {e}"),
                    "install util-linux's mount and run as root",
                );
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the disk refuses more.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.flush();
}

/// Whether `/health` shows the frame store's disk acting (its check is `disk <path>`).
fn acting(r: &Response, frames: &Path) -> bool {
    r.acting(&format!("disk {}", frames.display()), DISK_ACTION)
}

/// The frame store's file names.
fn names(frames: &Path) -> Vec<String> {
    std::fs::read_dir(frames)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_full_disk_stops_saving_and_sends_log_lines_to_the_console_and_the_controller_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let Some(_disk) = SmallDisk::mount(&small, "4m") else {
        return;
    };
    let frames = small.join("frames");
    let logs = small.join("logs");
    // The temporary directory on the small disk too: every disk the daemon watches is the one
    // the test fills and frees, whatever the host's own disk holds (a host disk under 10% free
    // would keep saving stopped after the small disk is freed).
    let temp = small.join("tmp");
    let (frames_dir, logs_dir, temp_dir) = (
        frames.display().to_string(),
        logs.display().to_string(),
        temp.display().to_string(),
    );
    let mut env = LIGHT.to_vec();
    env.extend([
        ("SAVE_FRAMES", "true"),
        ("FRAME_SAVE_INTERVAL", "1"),
        ("MAX_FRAMES_SAVED", "20"),
        ("FRAME_DIR", frames_dir.as_str()),
        ("LOG_DIR", logs_dir.as_str()),
        ("TEMP_DIR", temp_dir.as_str()),
        ("MIN_FREE_DISK_PERCENT", "10"),
        ("RESOURCE_STATS_INTERVAL", "1"),
    ]);
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    daemon.wait_for("/health", &[], WITHIN, |r| {
        r.check("camera a")["state"] == "ok"
    });

    // Full to the last byte.
    let filler = small.join("filler");
    fill(&filler);
    daemon.wait_for("/health", &[], WITHIN, |r| acting(r, &frames));
    daemon.wait_for_line("cannot write the log file", WITHIN);
    let stderr = daemon.stderr();
    assert!(
        stderr.contains("No space left on device"),
        "the reason is given: {stderr}"
    );
    // The controller goes on: ticks advance and greens are given while the disk is full.
    let (ticks, greens) = (
        daemon.metric("semaforo_ticks_total"),
        daemon.metric("semaforo_greens_total"),
    );
    let deadline = Instant::now() + WITHIN;
    while daemon.metric("semaforo_greens_total") < greens + 1.0 {
        assert!(
            Instant::now() < deadline,
            "no green while the disk was full"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(daemon.metric("semaforo_ticks_total") > ticks);
    // Lines only the files take (performance statistics) reach the console meanwhile.
    daemon.wait_for_line("alive", WITHIN);

    // Free again: saving resumes, the files are written again and say so.
    std::fs::remove_file(&filler).unwrap();
    daemon.wait_for("/health", &[], WITHIN, |r| !acting(r, &frames));
    daemon.wait_for_line("the log files are written again", WITHIN);
    let before = names(&frames);
    let deadline = Instant::now() + WITHIN;
    while names(&frames).iter().all(|n| before.contains(n)) {
        assert!(
            Instant::now() < deadline,
            "saving did not resume: {}",
            daemon.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, _) = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{}", daemon.stderr());

    let main = std::fs::read_to_string(logs.join("traffic_light.log")).unwrap();
    assert!(
        main.contains("the log files are written again")
            && main.contains("line(s) went to the console"),
        "{main}"
    );
    assert!(main.ends_with('\n'), "the last line is whole");
    for line in main.lines() {
        assert!(line.starts_with('['), "a whole line: {line:?}");
    }
    let jpegs: Vec<PathBuf> = std::fs::read_dir(&frames)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    assert!(!jpegs.is_empty());
    for path in jpegs {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]),
            "{} is a whole JPEG",
            path.display()
        );
    }
}

#[test]
fn a_log_directory_removed_or_made_unusable_is_made_again_and_the_console_gets_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut env = LIGHT.to_vec();
    env.push(("RESOURCE_STATS_INTERVAL", "1"));
    let mut daemon = Daemon::start(dir.path(), &["--http", "127.0.0.1:0"], &env);
    daemon.wait_for("/health", &[], WITHIN, |r| {
        r.check("camera a")["state"] == "ok"
    });

    // Removed by hand: the files are made again where they were, and go on.
    std::fs::remove_dir_all(&logs).unwrap();
    let deadline = Instant::now() + WITHIN;
    while !std::fs::read_to_string(logs.join("performance.log")).is_ok_and(|t| t.contains("alive"))
    {
        assert!(
            Instant::now() < deadline,
            "performance.log was not made again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Unusable (a file where the directory was: even root cannot make it again): the lines
    // go to the console, then to the files once the directory can be made.
    std::fs::remove_dir_all(&logs).unwrap();
    std::fs::write(&logs, "not a directory").unwrap();
    daemon.wait_for_line("cannot write the log file", WITHIN);
    let alive = daemon.lines_with(" alive");
    let deadline = Instant::now() + WITHIN;
    while daemon.lines_with(" alive") < alive + 2 {
        assert!(
            Instant::now() < deadline,
            "performance lines did not reach the console"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::remove_file(&logs).unwrap();
    daemon.wait_for_line("the log files are written again", WITHIN);
    let (status, _) = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{}", daemon.stderr());
    let main = std::fs::read_to_string(logs.join("traffic_light.log")).unwrap();
    assert!(
        main.contains("line(s) went to the console meanwhile"),
        "{main}"
    );
    assert!(main.contains("stopped after"), "{main}");
}
