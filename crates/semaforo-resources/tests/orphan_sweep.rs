//! The orphan sweep end to end: what `semaforo clean-temp` runs.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use filetime::{set_symlink_file_times, FileTime};
use semaforo_resources::{cleanup_orphaned, sweep_orphans, SweepOptions, TempFiles};

fn make_old(path: &Path, hours: u64) {
    let t = FileTime::from_system_time(SystemTime::now() - Duration::from_secs(hours * 3600));
    set_symlink_file_times(path, t, t).unwrap();
}

#[test]
fn sweep_leaves_young_foreign_prefix_other_owner_and_symlinked_entries_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("important.db");
    fs::write(&victim, b"data").unwrap();
    make_old(&victim, 48);

    fs::write(d.join("traffic_old.jpg"), b"x").unwrap();
    fs::create_dir(d.join("traffic_old_dir")).unwrap();
    fs::write(d.join("traffic_old_dir/inner"), b"x").unwrap();
    std::os::unix::fs::symlink(victim_dir.path(), d.join("traffic_old_dir/link_out")).unwrap();
    fs::write(d.join("traffic_young.jpg"), b"x").unwrap();
    fs::write(d.join("other_old.jpg"), b"x").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("traffic_x")).unwrap();
    std::os::unix::fs::symlink(victim_dir.path(), d.join("traffic_dirlink")).unwrap();
    let foreign = d.join("traffic_foreign");
    fs::write(&foreign, b"x").unwrap();
    // Only root can give a file away; elsewhere the other-owner case is not exercised.
    let root = rustix::process::getuid().is_root();
    if root {
        rustix::fs::chown(&foreign, Some(rustix::process::Uid::from_raw(65534)), None).unwrap();
    }
    for name in [
        "traffic_old.jpg",
        "traffic_old_dir/inner",
        "traffic_old_dir/link_out",
        "traffic_old_dir",
        "other_old.jpg",
        "traffic_x",
        "traffic_dirlink",
        "traffic_foreign",
    ] {
        make_old(&d.join(name), 2);
    }

    let opts = SweepOptions {
        dir: d.into(),
        prefix: "traffic_".into(),
        max_age: Duration::from_secs(3600),
        dry_run: true,
    };
    let dry = sweep_orphans(&opts).unwrap();
    let expected_removed = if root { 2 } else { 3 };
    assert_eq!(dry.removed.len(), expected_removed, "{dry:?}");
    assert!(
        d.join("traffic_old.jpg").exists(),
        "dry run removes nothing"
    );

    let report = sweep_orphans(&SweepOptions {
        dry_run: false,
        ..opts
    })
    .unwrap();
    assert_eq!(report.removed, dry.removed);
    assert_eq!(report.kept_young, 1);
    assert_eq!(report.kept_symlinks, 2);
    assert_eq!(report.kept_foreign, usize::from(root));
    assert_eq!(report.other_prefix, 1);
    assert!(report.errors.is_empty());
    assert!(!d.join("traffic_old.jpg").exists() && !d.join("traffic_old_dir").exists());
    assert!(d.join("traffic_young.jpg").exists() && d.join("other_old.jpg").exists());
    assert_eq!(foreign.exists(), root);
    assert_eq!(
        fs::read(&victim).unwrap(),
        b"data",
        "nothing reached through a link"
    );
    assert!(fs::symlink_metadata(d.join("traffic_x")).is_ok());
}

#[test]
fn guard_files_are_young_and_survive_a_sweep_running_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
    let live = tmp.create_file(".jpg").unwrap();
    assert_eq!(
        cleanup_orphaned(dir.path(), "traffic_", Duration::from_secs(3600)).unwrap(),
        0
    );
    assert!(live.exists());
    make_old(&live, 30);
    assert_eq!(
        cleanup_orphaned(dir.path(), "traffic_", Duration::from_secs(86_400)).unwrap(),
        1
    );
    assert_eq!(tmp.cleanup(), 0, "already gone: not counted twice");
}
