//! The Resource Management Guide in Rust: everything semaforo opens, it releases.
//!
//! Guards with `Drop` take the place of the Guide's context managers, so release happens on
//! every path out of a scope, early returns and panics included:
//!
//! - [`TempFiles`]: temporary files and directories removed with the guard;
//!   [`sweep_orphans`] / [`cleanup_orphaned`] remove what crashed runs left behind (only
//!   this user's old entries with the prefix, never through a symlink).
//! - [`ResourceTracker`] ([`global_tracker`]): live handles per kind, leaks measured from
//!   owners that are gone, process RSS, open descriptors and free disk; one-line statistics
//!   for `performance.log`.
//! - [`FrameStore`]: the Guide's FrameBuffer: rotating JPEG snapshots per camera, written
//!   atomically, bounded by count and by its own bytes, checked against free disk.
//!   [`encode_jpeg`] is its JPEG encoder (MozJPEG at libjpeg's defaults: baseline, 4:2:0),
//!   public for other JPEG consumers.
//! - [`atomic_write`]: a file replaced whole (temporary file beside it, fsync, rename, fsync of
//!   the directory), so no reader and no crash sees half of it; the frame store and the
//!   binary's reports write through it.
//! - [`ManagedCamera`]: a camera guard registered with the tracker.
//! - [`process_rss_bytes`], [`open_fd_count`], [`disk_space`]: the raw figures.
//!
//! ```
//! use semaforo_resources::{FrameStore, FrameStoreConfig, ImageRef, PixelFormat, SaveOutcome, TempFiles};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FrameStore::open(FrameStoreConfig {
//!     dir: dir.path().join("frames"),
//!     max_frames: 100,
//!     min_free_disk_percent: 0.0,
//!     ..FrameStoreConfig::default()
//! }).unwrap();
//! let pixels = vec![90u8; 320 * 240 * 3];
//! let frame = ImageRef::new(320, 240, PixelFormat::Rgb8, &pixels).unwrap();
//! match store.save_current(frame, "A", 1).unwrap() {
//!     SaveOutcome::Saved { path, .. } => assert!(path.exists()),
//!     SaveOutcome::Skipped(why) => println!("not saved: {why}"),
//! }
//!
//! let tmp = TempFiles::in_dir(dir.path(), "traffic_").unwrap();
//! let scratch = tmp.create_file(".jpg").unwrap();
//! drop(tmp); // removed here, also if a panic unwinds through this scope
//! assert!(!scratch.exists());
//! ```

mod atomic;
mod camera;
mod frame_store;
mod process;
mod temp;
mod tracker;

pub use atomic::{
    atomic_write, atomic_write_with, partial_path, AtomicFile, AtomicWriteError, Durability,
    WriteStep,
};
pub use camera::{CameraDevice, CameraError, CameraProperty, ManagedCamera};
pub use frame_store::{
    encode_jpeg, AddOutcome, BufferedFrame, EncodeError, FrameStore, FrameStoreConfig,
    FrameStoreError, FrameStoreUsage, ImageError, ImageRef, PixelFormat, SaveOutcome, SkipReason,
};
pub use process::{disk_space, open_fd_count, process_rss_bytes, DiskSpace};
pub use temp::{
    check_sweep, cleanup_orphaned, sweep_orphans, SweepOptions, SweepReport, TempError, TempFiles,
};
pub use tracker::{
    global_tracker, DiskStat, HandleGuard, HandleKind, KindStatistics, PotentialLeak,
    ResourceTracker, TrackerStatistics,
};
