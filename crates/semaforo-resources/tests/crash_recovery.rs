//! A writer killed with SIGKILL in the middle of saving leaves no partial JPEG, and the
//! store reopens with the right index.
//!
//! The test re-runs its own binary as the child (selected by an environment variable): the
//! child saves frames in a loop and prints a line per save; the parent reads those lines
//! (no sleeping) and kills the child after a number of them, at whatever point of a write
//! it happens to be.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use semaforo_resources::{FrameStore, FrameStoreConfig, ImageRef, PixelFormat, SaveOutcome};

const CHILD_ENV: &str = "SEMAFORO_CRASH_TEST_CHILD_DIR";
const W: usize = 320;
const H: usize = 240;
const MAX_FRAMES: usize = 12;

fn config(dir: &Path) -> FrameStoreConfig {
    FrameStoreConfig {
        dir: dir.into(),
        max_frames: MAX_FRAMES,
        min_free_disk_percent: 0.0,
        ..FrameStoreConfig::default()
    }
}

fn child(dir: &Path) -> ! {
    let store = FrameStore::open(config(dir)).unwrap();
    let pixels = common::scene::road_scene(W, H);
    let img = ImageRef::new(W as u32, H as u32, PixelFormat::Rgb8, &pixels).unwrap();
    for cycle in 0.. {
        let SaveOutcome::Saved { .. } = store.save_current(img, "A", cycle).unwrap() else {
            panic!("skipped")
        };
        println!("saved {cycle}");
    }
    unreachable!()
}

#[test]
fn killed_writer_leaves_no_partial_jpeg_and_the_store_recovers() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut saved_before = 0u64;
    for (round, kill_after) in [5u64, 17, 30].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "killed_writer_leaves_no_partial_jpeg_and_the_store_recovers",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            if line.unwrap().starts_with("saved ") {
                seen += 1;
                if seen == kill_after {
                    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs
                    break;
                }
            }
        }
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the child was killed");
        assert_eq!(
            seen, kill_after,
            "round {round}: the child saved as expected"
        );
        saved_before += kill_after;

        for p in common::jpgs(dir.path()) {
            common::assert_complete_jpeg(&p, W, H);
        }
        let store = FrameStore::open(config(dir.path())).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
        let on_disk = common::jpgs(dir.path());
        assert_eq!(
            store.saved_frames("A"),
            on_disk,
            "round {round}: index in age order"
        );
        // A save killed while recycling a full camera's oldest file has already rotated
        // that frame out: one fewer than the bound then, never a partial file.
        let expected_min = MAX_FRAMES.min(saved_before as usize) - 1;
        assert!(
            on_disk.len() <= MAX_FRAMES && on_disk.len() >= expected_min,
            "round {round}: {} frames on disk",
            on_disk.len()
        );
        drop(store);
    }
    assert!(saved_before > MAX_FRAMES as u64);
}
