//! Several threads saving into one store at once: nothing lost, nothing duplicated, every
//! file whole, the per-camera bound held, and the index equal to the directory.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use semaforo_resources::{FrameStore, FrameStoreConfig, ImageRef, PixelFormat, SaveOutcome};

#[test]
fn concurrent_saves_lose_nothing_and_keep_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        FrameStore::open(FrameStoreConfig {
            dir: dir.path().into(),
            max_frames: 15,
            min_free_disk_percent: 0.0,
            ..FrameStoreConfig::default()
        })
        .unwrap(),
    );
    let (w, h) = (160, 120);
    let pixels = Arc::new(common::scene::road_scene(w, h));
    const THREADS: usize = 6;
    const SAVES: u64 = 40;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            let pixels = pixels.clone();
            std::thread::spawn(move || {
                // Two cameras shared by three threads each: same-camera races and
                // cross-camera parallelism at once.
                let camera = if t % 2 == 0 { "A" } else { "B_left" };
                let img = ImageRef::new(w as u32, h as u32, PixelFormat::Rgb8, &pixels).unwrap();
                let mut paths = Vec::new();
                for i in 0..SAVES {
                    match store
                        .save_current(img, camera, t as u64 * 1000 + i)
                        .unwrap()
                    {
                        SaveOutcome::Saved { path, .. } => paths.push(path),
                        SaveOutcome::Skipped(why) => panic!("skipped: {why}"),
                    }
                }
                paths
            })
        })
        .collect();
    let all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        unique.len(),
        THREADS * SAVES as usize,
        "every save got its own file"
    );

    let usage = store.usage();
    assert_eq!(usage.frames_saved, THREADS as u64 * SAVES);
    assert_eq!(usage.disk_frames, 30);
    assert_eq!(usage.frames_rotated, THREADS as u64 * SAVES - 30);
    let on_disk = common::jpgs(dir.path());
    assert_eq!(on_disk.len(), 30);
    for p in &on_disk {
        common::assert_complete_jpeg(p, w, h);
    }
    let mut indexed: Vec<_> = store.saved_frames("A");
    indexed.extend(store.saved_frames("B_left"));
    indexed.sort();
    assert_eq!(indexed, on_disk, "index matches the directory");
    assert_eq!(
        usage.disk_bytes,
        on_disk
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .sum::<u64>()
    );
    // The kept frames are each camera's newest: names sort by sequence, and the index is
    // in that order.
    for camera in ["A", "B_left"] {
        let kept = store.saved_frames(camera);
        let mut sorted = kept.clone();
        sorted.sort();
        assert_eq!(kept, sorted);
        let newest_saved = all
            .iter()
            .filter(|p| {
                p.to_str()
                    .unwrap()
                    .contains(&format!("_camera_{camera}_cycle_"))
            })
            .max();
        assert_eq!(kept.last(), newest_saved);
    }
}
