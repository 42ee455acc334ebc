//! Unit tests of the frame store: bounds, rotation order, recovery, bad inputs.

use super::*;
use std::io::Cursor;
use std::path::Path;

fn cfg(dir: &Path) -> FrameStoreConfig {
    FrameStoreConfig {
        dir: dir.to_path_buf(),
        max_frames: 3,
        min_free_disk_percent: 0.0,
        ..FrameStoreConfig::default()
    }
}

fn gradient(w: u32, h: u32) -> Vec<u8> {
    (0..w * h)
        .flat_map(|i| [(i % w * 255 / w) as u8, (i / w * 255 / h) as u8, 60])
        .collect()
}

fn save(store: &FrameStore, camera: &str, cycle: u64) -> PathBuf {
    let px = gradient(32, 16);
    let img = ImageRef::new(32, 16, PixelFormat::Rgb8, &px).unwrap();
    match store.save_current(img, camera, cycle).unwrap() {
        SaveOutcome::Saved { path, .. } => path,
        SaveOutcome::Skipped(why) => panic!("skipped: {why}"),
    }
}

fn cycles(store: &FrameStore, camera: &str) -> Vec<u64> {
    store
        .saved_frames(camera)
        .iter()
        .map(|p| {
            naming::parse_frame_file_name(p.file_name().unwrap().to_str().unwrap())
                .unwrap()
                .cycle
        })
        .collect()
}

fn jpgs_on_disk(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .ends_with(".jpg")
        })
        .count()
}

fn decode(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(bytes));
    let px = d.decode().unwrap();
    let (w, h) = d.dimensions().unwrap();
    (w, h, px)
}

#[test]
fn rotation_keeps_the_newest_frames_by_age_not_by_name_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    // cycle_10 sorts before cycle_9 as text: the original deleted the newest frame here.
    for cycle in [8, 9, 10, 11] {
        save(&store, "A", cycle);
    }
    assert_eq!(cycles(&store, "A"), vec![9, 10, 11]);
    assert_eq!(jpgs_on_disk(dir.path()), 3);
    let usage = store.usage();
    assert_eq!(
        (usage.disk_frames, usage.frames_saved, usage.frames_rotated),
        (3, 4, 1)
    );
}

#[test]
fn bound_is_per_camera() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    for cycle in 0..5 {
        save(&store, "A", cycle);
        save(&store, "north_1", cycle);
    }
    save(&store, "B", 0);
    let usage = store.usage();
    assert_eq!(usage.disk_frames, 7);
    assert_eq!(
        usage.disk_frames_per_camera,
        BTreeMap::from([("A".into(), 3), ("B".into(), 1), ("north_1".into(), 3)])
    );
    assert_eq!(usage.disk_bytes, store_bytes(dir.path()));
    assert_eq!(cycles(&store, "north_1"), vec![2, 3, 4]);
}

fn store_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_str().unwrap().ends_with(".jpg"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn saved_jpeg_decodes_to_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    let (w, h) = (64u32, 48u32);
    let rgb: Vec<u8> = (0..w * h).flat_map(|_| [200u8, 40, 40]).collect();
    let bgr: Vec<u8> = (0..w * h).flat_map(|_| [40u8, 40, 200]).collect();
    let gray = vec![77u8; (w * h) as usize];
    for (format, data) in [(PixelFormat::Rgb8, &rgb), (PixelFormat::Bgr8, &bgr)] {
        let img = ImageRef::new(w, h, format, data).unwrap();
        let SaveOutcome::Saved { path, bytes, .. } = store.save_current(img, "A", 1).unwrap()
        else {
            panic!("skipped")
        };
        assert_eq!(bytes, fs::metadata(&path).unwrap().len());
        let (dw, dh, px) = decode(&path);
        assert_eq!((dw, dh), (64, 48));
        let mid = px.len() / 2 / 3 * 3;
        let (r, g, b) = (px[mid] as i32, px[mid + 1] as i32, px[mid + 2] as i32);
        assert!(
            (r - 200).abs() < 8 && (g - 40).abs() < 8 && (b - 40).abs() < 8,
            "{format:?}: {r} {g} {b}"
        );
    }
    let img = ImageRef::new(w, h, PixelFormat::Gray8, &gray).unwrap();
    let SaveOutcome::Saved { path, .. } = store.save_current(img, "A", 2).unwrap() else {
        panic!()
    };
    let (_, _, px) = decode(&path);
    assert!(px.iter().all(|&v| (v as i32 - 77).abs() < 4));
}

#[test]
fn index_is_recovered_at_open_and_rotation_continues_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FrameStore::open(cfg(dir.path())).unwrap();
        for cycle in 0..3 {
            save(&store, "A", cycle);
        }
        save(&store, "B", 0);
    }
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    assert_eq!(cycles(&store, "A"), vec![0, 1, 2]);
    let usage = store.usage();
    assert_eq!(
        (usage.disk_frames, usage.disk_bytes),
        (4, store_bytes(dir.path()))
    );
    // Cycle numbers restart with the program; age order must not.
    save(&store, "A", 0);
    assert_eq!(cycles(&store, "A"), vec![1, 2, 0]);
}

#[test]
fn smaller_max_frames_at_open_rotates_the_oldest_away() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FrameStore::open(FrameStoreConfig {
            max_frames: 10,
            ..cfg(dir.path())
        })
        .unwrap();
        for cycle in 0..6 {
            save(&store, "A", cycle);
        }
    }
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    assert_eq!(cycles(&store, "A"), vec![3, 4, 5]);
    assert_eq!(jpgs_on_disk(dir.path()), 3);
}

#[test]
fn rotation_order_holds_across_a_sequence_wrap_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let small = FrameStoreConfig {
        sequence_modulus: 10,
        ..cfg(dir.path())
    };
    let mut cycle = 0;
    // Stop, reopen, continue, at every position of the wrap.
    for _round in 0..8 {
        let store = FrameStore::open(small.clone()).unwrap();
        for _ in 0..3 {
            save(&store, "A", cycle);
            cycle += 1;
        }
        assert_eq!(cycles(&store, "A"), vec![cycle - 3, cycle - 2, cycle - 1]);
        assert_eq!(jpgs_on_disk(dir.path()), 3);
    }
    // One digit of sequence, wrapped at least twice by now.
    let names: Vec<String> = FrameStore::open(small.clone())
        .unwrap()
        .saved_frames("A")
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().all(|n| n.as_bytes()[1] == b'_'), "{names:?}");
    assert_eq!(cycle, 24);
    // 24 saves: sequence numbers 21..23 mod 10 = 1, 2, 3 now on disk.
    assert!(
        names[0].starts_with("1_") && names[2].starts_with("3_"),
        "{names:?}"
    );
}

#[test]
fn wrap_in_the_middle_of_the_kept_frames_is_ordered_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let small = FrameStoreConfig {
        sequence_modulus: 10,
        ..cfg(dir.path())
    };
    {
        let store = FrameStore::open(small.clone()).unwrap();
        for cycle in 0..11 {
            save(&store, "A", cycle); // seqs 0..=9, then 0: kept 8, 9, 0
        }
        assert_eq!(cycles(&store, "A"), vec![8, 9, 10]);
    }
    let store = FrameStore::open(small).unwrap();
    assert_eq!(cycles(&store, "A"), vec![8, 9, 10]);
    save(&store, "A", 11);
    assert_eq!(cycles(&store, "A"), vec![9, 10, 11]);
}

#[test]
fn leftover_partial_and_empty_files_are_removed_at_open_and_foreign_files_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let partial = d.join(".0000000007_camera_A_cycle_3_20251125T072242.123456Z.jpg.partial");
    // The name the atomic writer gives a frame's temporary file.
    let frame = d.join("0000000007_camera_A_cycle_3_20251125T072242.123456Z.jpg");
    assert_eq!(partial_path(&frame).as_ref(), Some(&partial));
    let empty = d.join("0000000008_camera_A_cycle_4_20251125T072242.123456Z.jpg");
    let foreign = d.join("notes.jpg");
    fs::write(&partial, b"\xff\xd8 half a frame").unwrap();
    fs::write(&empty, b"").unwrap();
    fs::write(&foreign, b"mine").unwrap();
    let store = FrameStore::open(cfg(d)).unwrap();
    assert!(!partial.exists() && !empty.exists());
    assert!(foreign.exists());
    assert_eq!(store.usage().disk_frames, 0);
}

#[test]
fn second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = FrameStore::open(cfg(dir.path())).unwrap();
    let err = FrameStore::open(cfg(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains(&dir.path().display().to_string()) && err.contains("already used"),
        "{err}"
    );
}

#[test]
fn bad_settings_are_named_with_the_value_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let base = cfg(dir.path());
    let cases = [
        (
            FrameStoreConfig {
                jpeg_quality: 0,
                ..base.clone()
            },
            "jpeg_quality = 0 is out of range: expected 1 to 100",
        ),
        (
            FrameStoreConfig {
                jpeg_quality: 101,
                ..base.clone()
            },
            "jpeg_quality = 101 is out of range: expected 1 to 100",
        ),
        (
            FrameStoreConfig {
                max_frames: 0,
                ..base.clone()
            },
            "max_frames = 0 is out of range: expected at least 1",
        ),
        (
            FrameStoreConfig {
                max_memory_mb: -5.0,
                ..base.clone()
            },
            "max_memory_mb = -5 is out of range",
        ),
        (
            FrameStoreConfig {
                max_memory_mb: f64::NAN,
                ..base.clone()
            },
            "max_memory_mb = NaN is out of range",
        ),
        (
            FrameStoreConfig {
                min_free_disk_percent: 150.0,
                ..base.clone()
            },
            "min_free_disk_percent = 150 is out of range: expected 0 to 100",
        ),
        (
            FrameStoreConfig {
                sequence_modulus: 4,
                ..base.clone()
            },
            "sequence_modulus = 4 is out of range",
        ),
    ];
    for (cfg, expected) in cases {
        let err = FrameStore::open(cfg).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
}

#[test]
fn unusable_directory_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    fs::write(&file, b"x").unwrap();
    for bad in [file.clone(), file.join("frames")] {
        let err = FrameStore::open(cfg(&bad)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot create frame directory {}", bad.display())),
            "{err}"
        );
    }
}

#[test]
fn bad_camera_name_is_refused_with_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    let px = gradient(8, 8);
    let img = ImageRef::new(8, 8, PixelFormat::Rgb8, &px).unwrap();
    let err = store.save_current(img, "../A", 1).unwrap_err().to_string();
    assert_eq!(
        err,
        "camera name \"../A\" cannot be used in a frame file name: it contains a character other than \
         letters, digits, '_' and '-'; use 1 to 64 letters, digits, '_' or '-'"
    );
    assert_eq!(jpgs_on_disk(dir.path()), 0);
}

#[test]
fn low_disk_skips_the_save_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // No real file system has 100% free: every save is below this minimum.
    let store = FrameStore::open(FrameStoreConfig {
        min_free_disk_percent: 100.0,
        ..cfg(dir.path())
    })
    .unwrap();
    let px = gradient(8, 8);
    let img = ImageRef::new(8, 8, PixelFormat::Rgb8, &px).unwrap();
    let SaveOutcome::Skipped(why) = store.save_current(img, "A", 1).unwrap() else {
        panic!("saved")
    };
    assert!(matches!(why, SkipReason::LowDisk { min_percent, .. } if min_percent == 100.0));
    assert!(
        why.to_string().starts_with("disk low: ")
            && why.to_string().ends_with("below the minimum of 100.0%"),
        "{why}"
    );
    let usage = store.usage();
    assert_eq!(
        (
            usage.frames_processed,
            usage.frames_saved,
            usage.saves_skipped
        ),
        (1, 0, 1)
    );
    assert_eq!(jpgs_on_disk(dir.path()), 0);
}

#[test]
fn ring_is_bounded_by_count_and_by_its_own_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // 1000 bytes per 10x10 gray frame (+1 for the camera name), limit ~3.5 frames.
    let store = FrameStore::open(FrameStoreConfig {
        max_frames: 5,
        max_memory_mb: 3500.0 / MIB,
        ..cfg(dir.path())
    })
    .unwrap();
    let px = vec![0u8; 1000];
    let img = ImageRef::new(100, 10, PixelFormat::Gray8, &px).unwrap();
    let outcomes: Vec<_> = (0..5)
        .map(|_| store.add_frame(img, "A", BTreeMap::new()))
        .collect();
    assert_eq!(outcomes[2], AddOutcome::Added { evicted: 0 });
    assert_eq!(outcomes[3], AddOutcome::Added { evicted: 1 });
    let usage = store.usage();
    assert_eq!((usage.buffer_frames, usage.buffer_bytes), (3, 3003));
    assert!(usage.buffer_bytes <= usage.buffer_limit_bytes);

    let big = vec![0u8; 4000];
    let img = ImageRef::new(40, 100, PixelFormat::Gray8, &big).unwrap();
    let out = store.add_frame(img, "A", BTreeMap::new());
    assert_eq!(
        out,
        AddOutcome::Skipped(SkipReason::LargerThanMemoryLimit {
            frame_bytes: 4001,
            limit_bytes: 3500
        })
    );
    store.clear();
    assert_eq!(store.usage().buffer_frames, 0);
    assert_eq!(store.latest("A"), None);
}

#[test]
fn ring_is_bounded_by_max_frames_and_keeps_the_latest_per_camera() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(cfg(dir.path())).unwrap();
    for i in 0..10u8 {
        let px = vec![i; 4];
        let img = ImageRef::new(2, 2, PixelFormat::Gray8, &px).unwrap();
        let camera = if i % 2 == 0 { "A" } else { "B" };
        store.add_frame(img, camera, BTreeMap::from([("i".into(), i.to_string())]));
    }
    assert_eq!(store.usage().buffer_frames, 3);
    assert_eq!(store.latest("A").unwrap().pixels, vec![8; 4]);
    assert_eq!(store.latest("B").unwrap().metadata["i"], "9");
    assert_eq!(store.usage().frames_buffered, 10);
}

#[test]
fn recycled_files_hold_exactly_the_new_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(FrameStoreConfig {
        max_frames: 1,
        ..cfg(dir.path())
    })
    .unwrap();
    let big = crate::frame_store::tests::gradient(256, 128);
    let small = vec![10u8; 16 * 8 * 3];
    let frames = [(256, 128, &big), (16, 8, &small), (256, 128, &big)];
    for (cycle, (w, h, px)) in frames.into_iter().enumerate() {
        let img = ImageRef::new(w, h, PixelFormat::Rgb8, px).unwrap();
        let SaveOutcome::Saved {
            path,
            bytes,
            rotated,
        } = store.save_current(img, "A", cycle as u64).unwrap()
        else {
            panic!("skipped")
        };
        assert_eq!(rotated, usize::from(cycle > 0));
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            bytes,
            "cut to the new length"
        );
        let (dw, dh, _) = decode(&path);
        assert_eq!((dw as u32, dh as u32), (w, h));
        assert_eq!(jpgs_on_disk(dir.path()), 1);
        assert_eq!(store.usage().disk_bytes, bytes);
    }
    assert_eq!(store.usage().frames_rotated, 2);
}

#[test]
fn synced_writes_save_and_rotate_like_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = FrameStore::open(FrameStoreConfig {
        sync_writes: true,
        ..cfg(dir.path())
    })
    .unwrap();
    for cycle in 0..5 {
        save(&store, "A", cycle);
    }
    assert_eq!(cycles(&store, "A"), vec![2, 3, 4]);
    assert_eq!(jpgs_on_disk(dir.path()), 3);
}
