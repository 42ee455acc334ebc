//! The frame store (the Guide's FrameBuffer): JPEG snapshots of camera frames on disk,
//! bounded per camera, plus a bounded in-memory ring of recent raw frames.
//!
//! What it guarantees, and why (each point is a bug of the original):
//!
//! - **Rotation by true age.** Every saved frame gets the next number of a store-wide
//!   sequence; each camera's frames are kept in a queue in that order, and the oldest is
//!   deleted when a camera has more than `max_frames`. O(1) per save: no directory scan,
//!   no sort of file names (the original sorted names as text and deleted `cycle_10`
//!   before `cycle_9`).
//! - **No lost or overwritten saves.** Names carry the sequence number, never only a
//!   one-second timestamp; a camera's saves are serialised by its own lock from sequence
//!   allocation to rotation, while the expensive JPEG encoding runs outside any lock.
//! - **Atomic files.** A frame is written to a hidden `.partial` file in the same directory
//!   and renamed into place ([`atomic_write_with`](crate::atomic_write_with)): a crash never
//!   leaves a truncated `.jpg`. Leftover `.partial` files are removed at open. With
//!   `sync_writes` the file and the directory are fsynced too, which also covers power loss.
//! - **Cheap rotation.** When a camera is full, its oldest file is renamed to the new frame's
//!   `.partial` name and overwritten in place rather than deleted: creating a file and
//!   freeing another's blocks cost about ten times the write itself on ext4 (measured on
//!   the development machine: ~150–300 µs against ~20 µs). A crash in the middle of such a
//!   save costs that oldest frame (it was leaving anyway), never a partial JPEG.
//! - **Its own bytes.** The ring's limit counts the frames it holds, not the process RSS.
//! - **Free disk is checked** before every write; a skipped save says why.
//! - **Recovery.** At open, the index is rebuilt from the directory in age order (also
//!   across a wrap of the sequence), and the directory is locked against a second store.
//!
//! File-name layout: see [`naming`].

mod image;
mod jpeg;
mod naming;

pub use image::{ImageError, ImageRef, PixelFormat};
pub use jpeg::{encode_jpeg, EncodeError};

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::atomic::{atomic_write_with, partial_path, AtomicWriteError, Durability};
use crate::process::disk_space;

const MIB: f64 = 1024.0 * 1024.0;
const LOCK_FILE: &str = ".frame_store.lock";

/// Settings of a [`FrameStore`]. `Default` gives the Guide's values.
///
/// ```
/// use semaforo_resources::FrameStoreConfig;
/// let cfg = FrameStoreConfig { dir: "frames/camera_a".into(), max_frames: 50, ..FrameStoreConfig::default() };
/// assert_eq!(cfg.jpeg_quality, 85);
/// assert_eq!(cfg.min_free_disk_percent, 10.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FrameStoreConfig {
    /// Directory of the JPEG files (created if missing). One store per directory.
    pub dir: PathBuf,
    /// Frames kept on disk per camera, and frames held by the in-memory ring (≥ 1).
    pub max_frames: usize,
    /// Limit of the in-memory ring's own bytes (pixels and metadata), in MiB (> 0).
    pub max_memory_mb: f64,
    /// JPEG quality, 1 to 100.
    pub jpeg_quality: u8,
    /// A save is skipped when the file system has less than this share free (0 to 100).
    pub min_free_disk_percent: f64,
    /// fsync each frame and the directory before a save returns (survives power loss; slower
    /// on SD cards). Without it a process crash still never leaves a partial file.
    pub sync_writes: bool,
    /// Sequence numbers in file names run from 0 to `sequence_modulus - 1` and then wrap;
    /// the name is zero-padded to that width. Must exceed 2 × `max_frames` × cameras; the
    /// default (10^10) lasts 30 years at 10 saves per second. Small values are for tests.
    pub sequence_modulus: u64,
}

impl Default for FrameStoreConfig {
    fn default() -> Self {
        FrameStoreConfig {
            dir: PathBuf::from("detection_frames"),
            max_frames: 100,
            max_memory_mb: 100.0,
            jpeg_quality: 85,
            min_free_disk_percent: 10.0,
            sync_writes: false,
            sequence_modulus: 10_000_000_000,
        }
    }
}

/// Errors of the frame store; each names the setting, path or camera concerned.
#[derive(Debug, thiserror::Error)]
pub enum FrameStoreError {
    /// A setting is out of range.
    #[error("frame store setting {setting} = {value} is out of range: expected {expected}")]
    InvalidConfig {
        setting: &'static str,
        value: String,
        expected: &'static str,
    },
    /// The directory could not be created.
    #[error("cannot create frame directory {dir}: {source}")]
    CreateDir { dir: PathBuf, source: io::Error },
    /// The directory exists but files cannot be created in it.
    #[error("frame directory {dir} is not writable: {source}")]
    NotWritable { dir: PathBuf, source: io::Error },
    /// Another frame store (in this or another process) uses the directory.
    #[error(
        "frame directory {dir} is already used by another frame store (lock on {lock} is held)"
    )]
    InUse { dir: PathBuf, lock: PathBuf },
    /// The directory could not be listed at open.
    #[error("cannot read frame directory {dir}: {source}")]
    ReadDir { dir: PathBuf, source: io::Error },
    /// A camera name that cannot be part of a file name.
    #[error("camera name {name:?} cannot be used in a frame file name: {reason}; use 1 to 64 letters, digits, '_' or '-'")]
    InvalidCameraName { name: String, reason: &'static str },
    /// Free disk space could not be read.
    #[error("cannot check free disk space of {dir}: {source}")]
    DiskCheck { dir: PathBuf, source: io::Error },
    /// The JPEG encoder failed.
    #[error("camera {camera}: {source}")]
    Encode { camera: String, source: EncodeError },
    /// Writing or renaming the file failed (the error names the frame file and the step).
    #[error(transparent)]
    Write(AtomicWriteError),
}

/// Why a frame was not saved or buffered.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The file system's free share is below the minimum.
    LowDisk { free_percent: f64, min_percent: f64 },
    /// The encoded frame does not fit in the free space.
    NoSpace { needed_bytes: u64, free_bytes: u64 },
    /// One frame is larger than the whole in-memory limit.
    LargerThanMemoryLimit {
        frame_bytes: usize,
        limit_bytes: usize,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::LowDisk { free_percent, min_percent } => write!(
                f,
                "disk low: {free_percent:.1}% free, below the minimum of {min_percent:.1}%"
            ),
            SkipReason::NoSpace { needed_bytes, free_bytes } => {
                write!(f, "no space: the frame needs {needed_bytes} bytes, {free_bytes} are free")
            }
            SkipReason::LargerThanMemoryLimit { frame_bytes, limit_bytes } => write!(
                f,
                "frame of {frame_bytes} bytes is larger than the buffer limit of {limit_bytes} bytes"
            ),
        }
    }
}

/// Result of [`FrameStore::save_current`].
#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    /// Written to `path`; `rotated` older frames of the camera were deleted to stay in bounds.
    Saved {
        path: PathBuf,
        bytes: u64,
        rotated: usize,
    },
    /// Not written, and why.
    Skipped(SkipReason),
}

/// Result of [`FrameStore::add_frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    /// Held in the ring; `evicted` older frames were dropped to stay in bounds.
    Added { evicted: usize },
    /// Not held, and why.
    Skipped(SkipReason),
}

/// A raw frame held by the in-memory ring.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferedFrame {
    pub camera: String,
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    pub pixels: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
    pub added: SystemTime,
}

impl BufferedFrame {
    /// Bytes this frame counts against the ring's limit.
    fn cost(&self) -> usize {
        self.pixels.len()
            + self.camera.len()
            + self
                .metadata
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// What the store holds and has done, from [`FrameStore::usage`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameStoreUsage {
    /// Frames in the in-memory ring.
    pub buffer_frames: usize,
    /// Bytes of the frames in the ring.
    pub buffer_bytes: usize,
    /// The ring's byte limit.
    pub buffer_limit_bytes: usize,
    /// JPEG files on disk (all cameras).
    pub disk_frames: usize,
    /// Bytes of those files.
    pub disk_bytes: u64,
    /// JPEG files on disk per camera.
    pub disk_frames_per_camera: BTreeMap<String, usize>,
    /// `save_current` calls.
    pub frames_processed: u64,
    /// Frames written.
    pub frames_saved: u64,
    /// Saves skipped (low disk, no space).
    pub saves_skipped: u64,
    /// Files deleted by rotation.
    pub frames_rotated: u64,
    /// `add_frame` calls that put a frame in the ring.
    pub frames_buffered: u64,
}

#[derive(Debug)]
struct DiskFrame {
    ordinal: u64,
    path: PathBuf,
    bytes: u64,
}

#[derive(Debug, Default)]
struct CameraFrames {
    /// Oldest first, by ordinal.
    frames: VecDeque<DiskFrame>,
}

#[derive(Debug, Default)]
struct Ring {
    frames: VecDeque<BufferedFrame>,
    bytes: usize,
}

/// Bounded, rotating JPEG snapshots per camera plus a bounded ring of raw frames.
/// `Send + Sync`: share it with `Arc` and save from several threads.
///
/// ```
/// use semaforo_resources::{FrameStore, FrameStoreConfig, ImageRef, PixelFormat, SaveOutcome};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FrameStore::open(FrameStoreConfig {
///     dir: dir.path().into(),
///     max_frames: 2,
///     min_free_disk_percent: 0.0,
///     ..FrameStoreConfig::default()
/// }).unwrap();
/// let pixels = vec![128u8; 64 * 48 * 3];
/// let image = ImageRef::new(64, 48, PixelFormat::Rgb8, &pixels).unwrap();
/// for cycle in 0..3 {
///     let outcome = store.save_current(image, "A", cycle).unwrap();
///     assert!(matches!(outcome, SaveOutcome::Saved { .. }));
/// }
/// let usage = store.usage();
/// assert_eq!(usage.disk_frames, 2);
/// assert_eq!(usage.frames_rotated, 1);
/// ```
#[derive(Debug)]
pub struct FrameStore {
    cfg: FrameStoreConfig,
    seq_width: usize,
    /// File sequence number of ordinal 0 (the oldest file found at open).
    seq_base: u64,
    next_ordinal: AtomicU64,
    cameras: Mutex<HashMap<String, Arc<Mutex<CameraFrames>>>>,
    ring: Mutex<Ring>,
    ring_limit: usize,
    disk_frames: AtomicUsize,
    disk_bytes: AtomicU64,
    processed: AtomicU64,
    saved: AtomicU64,
    skipped: AtomicU64,
    rotated: AtomicU64,
    buffered: AtomicU64,
    /// Holds the directory's advisory lock for the store's lifetime.
    _lock: fs::File,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves its data consistent between statements that can
    // panic (push/pop of whole entries), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn validate(cfg: &FrameStoreConfig) -> Result<(), FrameStoreError> {
    let invalid = |setting, value: String, expected| {
        Err(FrameStoreError::InvalidConfig {
            setting,
            value,
            expected,
        })
    };
    if cfg.max_frames == 0 {
        return invalid("max_frames", "0".into(), "at least 1");
    }
    if !(1..=100).contains(&cfg.jpeg_quality) {
        return invalid("jpeg_quality", cfg.jpeg_quality.to_string(), "1 to 100");
    }
    if !cfg.max_memory_mb.is_finite() || cfg.max_memory_mb <= 0.0 {
        return invalid(
            "max_memory_mb",
            cfg.max_memory_mb.to_string(),
            "a finite number of MiB above 0",
        );
    }
    if !cfg.min_free_disk_percent.is_finite() || !(0.0..=100.0).contains(&cfg.min_free_disk_percent)
    {
        return invalid(
            "min_free_disk_percent",
            cfg.min_free_disk_percent.to_string(),
            "0 to 100",
        );
    }
    if cfg.sequence_modulus < 10 || cfg.sequence_modulus / 2 <= cfg.max_frames as u64 {
        return invalid(
            "sequence_modulus",
            cfg.sequence_modulus.to_string(),
            "at least 10 and more than 2 x max_frames",
        );
    }
    Ok(())
}

thread_local! {
    /// Each saving thread reuses one encode buffer instead of allocating per frame.
    static ENCODE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl FrameStore {
    /// Validates the settings, creates and locks the directory, removes leftovers of
    /// interrupted writes and empty frame files, and rebuilds the index (rotating down to
    /// `max_frames` per camera if the directory holds more).
    pub fn open(cfg: FrameStoreConfig) -> Result<FrameStore, FrameStoreError> {
        validate(&cfg)?;
        let dir = cfg.dir.clone();
        if let Ok(meta) = fs::metadata(&dir) {
            if !meta.is_dir() {
                return Err(FrameStoreError::CreateDir {
                    dir,
                    source: io::Error::new(
                        io::ErrorKind::NotADirectory,
                        "it exists and is not a directory",
                    ),
                });
            }
        }
        fs::create_dir_all(&dir).map_err(|source| FrameStoreError::CreateDir {
            dir: dir.clone(),
            source,
        })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| FrameStoreError::NotWritable {
                dir: dir.clone(),
                source,
            })?;
        if rustix::fs::flock(
            &lock_file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .is_err()
        {
            return Err(FrameStoreError::InUse {
                dir,
                lock: lock_path,
            });
        }

        let (seq_base, next_ordinal, cameras, disk_frames, disk_bytes) = Self::recover(&cfg)?;
        let ring_limit = (cfg.max_memory_mb * MIB) as usize;
        let store = FrameStore {
            seq_width: naming::sequence_width(cfg.sequence_modulus),
            seq_base,
            next_ordinal: AtomicU64::new(next_ordinal),
            cameras: Mutex::new(cameras),
            ring: Mutex::new(Ring::default()),
            ring_limit,
            disk_frames: AtomicUsize::new(disk_frames),
            disk_bytes: AtomicU64::new(disk_bytes),
            processed: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            rotated: AtomicU64::new(0),
            buffered: AtomicU64::new(0),
            cfg,
            _lock: lock_file,
        };
        // A smaller max_frames than last run: bring every camera within bounds now.
        let names: Vec<String> = lock(&store.cameras).keys().cloned().collect();
        for name in names {
            let frames = store.camera(&name);
            let doomed = store.trim(&mut lock(&frames));
            store.delete(doomed);
        }
        tracing::info!(
            dir = %store.cfg.dir.display(),
            disk_frames = store.disk_frames.load(Ordering::Relaxed),
            "frame store opened"
        );
        Ok(store)
    }

    #[allow(clippy::type_complexity)]
    fn recover(
        cfg: &FrameStoreConfig,
    ) -> Result<
        (
            u64,
            u64,
            HashMap<String, Arc<Mutex<CameraFrames>>>,
            usize,
            u64,
        ),
        FrameStoreError,
    > {
        let dir = &cfg.dir;
        let read_err = |source| FrameStoreError::ReadDir {
            dir: dir.clone(),
            source,
        };
        let mut found: Vec<(u64, String, PathBuf, u64)> = Vec::new();
        let (mut partials, mut empties) = (0usize, 0usize);
        for entry in fs::read_dir(dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = entry.path();
            if naming::is_partial_file_name(name) {
                match fs::remove_file(&path) {
                    Ok(()) => partials += 1,
                    Err(e) => {
                        tracing::warn!("cannot remove unfinished frame {}: {e}", path.display())
                    }
                }
                continue;
            }
            let Some(parsed) = naming::parse_frame_file_name(name) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            if meta.len() == 0 {
                // What a power cut can leave of a frame written without sync_writes.
                if fs::remove_file(&path).is_ok() {
                    empties += 1;
                }
                continue;
            }
            found.push((
                parsed.seq % cfg.sequence_modulus,
                parsed.camera,
                path,
                meta.len(),
            ));
        }
        if partials + empties > 0 {
            tracing::info!(
                "frame store {}: removed {partials} unfinished and {empties} empty frame files",
                dir.display()
            );
        }
        let modulus = cfg.sequence_modulus;
        let mut seqs: Vec<u64> = found.iter().map(|f| f.0).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let seq_base = naming::oldest_on_circle(&seqs, modulus).unwrap_or(0);
        let mut next_ordinal = 0;
        let mut per_camera: HashMap<String, Vec<DiskFrame>> = HashMap::new();
        let (mut count, mut bytes) = (0usize, 0u64);
        for (seq, camera, path, len) in found {
            let ordinal = (seq + modulus - seq_base) % modulus;
            next_ordinal = next_ordinal.max(ordinal + 1);
            count += 1;
            bytes += len;
            per_camera.entry(camera).or_default().push(DiskFrame {
                ordinal,
                path,
                bytes: len,
            });
        }
        let cameras = per_camera
            .into_iter()
            .map(|(name, mut frames)| {
                frames.sort_by_key(|f| f.ordinal);
                (
                    name,
                    Arc::new(Mutex::new(CameraFrames {
                        frames: frames.into(),
                    })),
                )
            })
            .collect();
        Ok((seq_base, next_ordinal, cameras, count, bytes))
    }

    /// The settings the store runs with.
    pub fn config(&self) -> &FrameStoreConfig {
        &self.cfg
    }

    fn camera(&self, name: &str) -> Arc<Mutex<CameraFrames>> {
        let mut cameras = lock(&self.cameras);
        if let Some(c) = cameras.get(name) {
            return c.clone();
        }
        cameras.entry(name.to_owned()).or_default().clone()
    }

    /// Pops the oldest frames beyond `max_frames`; returns them for deletion outside the lock.
    fn trim(&self, frames: &mut CameraFrames) -> Vec<DiskFrame> {
        let mut doomed = Vec::new();
        while frames.frames.len() > self.cfg.max_frames {
            if let Some(f) = frames.frames.pop_front() {
                doomed.push(f);
            }
        }
        doomed
    }

    fn delete(&self, doomed: Vec<DiskFrame>) -> usize {
        let n = doomed.len();
        for f in doomed {
            self.forget(&f);
            if let Err(e) = fs::remove_file(&f.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!("cannot delete rotated frame {}: {e}", f.path.display());
                }
            }
        }
        self.rotated.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Encodes `image` as JPEG and saves it as camera `camera`'s frame of `cycle`, deleting
    /// the camera's oldest frames beyond `max_frames`. Skipped (with the reason) when the
    /// disk is low.
    pub fn save_current(
        &self,
        image: ImageRef<'_>,
        camera: &str,
        cycle: u64,
    ) -> Result<SaveOutcome, FrameStoreError> {
        self.processed.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = naming::camera_name_problem(camera) {
            return Err(FrameStoreError::InvalidCameraName {
                name: camera.to_owned(),
                reason,
            });
        }
        let dir = &self.cfg.dir;
        let space = disk_space(dir).map_err(|source| FrameStoreError::DiskCheck {
            dir: dir.clone(),
            source,
        })?;
        if space.free_percent() < self.cfg.min_free_disk_percent {
            return Ok(self.skip(SkipReason::LowDisk {
                free_percent: space.free_percent(),
                min_percent: self.cfg.min_free_disk_percent,
            }));
        }
        ENCODE_BUFFER.with(|buffer| {
            let mut jpeg = buffer.borrow_mut();
            jpeg::encode_jpeg(image, self.cfg.jpeg_quality, &mut jpeg).map_err(|source| {
                FrameStoreError::Encode {
                    camera: camera.to_owned(),
                    source,
                }
            })?;
            if jpeg.len() as u64 >= space.free_bytes {
                return Ok(self.skip(SkipReason::NoSpace {
                    needed_bytes: jpeg.len() as u64,
                    free_bytes: space.free_bytes,
                }));
            }
            self.write_and_rotate(&jpeg, camera, cycle)
        })
    }

    fn skip(&self, reason: SkipReason) -> SaveOutcome {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        SaveOutcome::Skipped(reason)
    }

    fn write_and_rotate(
        &self,
        jpeg: &[u8],
        camera: &str,
        cycle: u64,
    ) -> Result<SaveOutcome, FrameStoreError> {
        let frames = self.camera(camera);
        // The camera's lock spans sequence allocation to rotation, so its queue is always in
        // age order and a save can never delete a newer frame than itself.
        let mut frames = lock(&frames);
        let ordinal = self.next_ordinal.fetch_add(1, Ordering::Relaxed);
        let seq = (self.seq_base + ordinal) % self.cfg.sequence_modulus;
        let name = naming::frame_file_name(seq, self.seq_width, camera, cycle, SystemTime::now());
        let path = self.cfg.dir.join(&name);
        let partial = partial_path(&path).expect("a frame path ends in its file name");
        // A full camera's oldest file is recycled for the new frame: renamed to the partial
        // name (it leaves the frame namespace atomically: that is its rotation), where
        // `atomic_write_with` overwrites it in place. Reusing an inode and its blocks avoids
        // creating a file and freeing another's blocks, which cost ten times the write itself
        // on ext4.
        let mut rotated = 0;
        if frames.frames.len() >= self.cfg.max_frames {
            if let Some(oldest) = frames.frames.pop_front() {
                rotated += 1;
                self.forget(&oldest);
                if let Err(e) = fs::rename(&oldest.path, &partial) {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(
                            "cannot recycle rotated frame {}: {e}",
                            oldest.path.display()
                        );
                        let _ = fs::remove_file(&oldest.path);
                    }
                }
            }
        }
        let durability = if self.cfg.sync_writes {
            Durability::Synced
        } else {
            Durability::RenameOnly
        };
        if let Err(e) = atomic_write_with(&path, jpeg, durability) {
            self.rotated.fetch_add(rotated as u64, Ordering::Relaxed);
            return Err(FrameStoreError::Write(e));
        }
        let bytes = jpeg.len() as u64;
        frames.frames.push_back(DiskFrame {
            ordinal,
            path: path.clone(),
            bytes,
        });
        self.disk_frames.fetch_add(1, Ordering::Relaxed);
        self.disk_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rotated.fetch_add(rotated as u64, Ordering::Relaxed);
        let doomed = self.trim(&mut frames);
        rotated += self.delete(doomed);
        drop(frames);
        self.saved.fetch_add(1, Ordering::Relaxed);
        Ok(SaveOutcome::Saved {
            path,
            bytes,
            rotated,
        })
    }

    /// Takes a frame out of the disk totals.
    fn forget(&self, frame: &DiskFrame) {
        self.disk_frames.fetch_sub(1, Ordering::Relaxed);
        self.disk_bytes.fetch_sub(frame.bytes, Ordering::Relaxed);
    }

    /// Puts a copy of `image` with its metadata in the in-memory ring, evicting the oldest
    /// frames to stay within `max_frames` and `max_memory_mb` (the ring's own bytes).
    ///
    /// ```
    /// use semaforo_resources::{AddOutcome, FrameStore, FrameStoreConfig, ImageRef, PixelFormat};
    /// use std::collections::BTreeMap;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = FrameStore::open(FrameStoreConfig { dir: dir.path().into(), ..Default::default() }).unwrap();
    /// let pixels = vec![0u8; 8 * 8];
    /// let image = ImageRef::new(8, 8, PixelFormat::Gray8, &pixels).unwrap();
    /// let meta = BTreeMap::from([("count".to_string(), "5".to_string())]);
    /// assert_eq!(store.add_frame(image, "A", meta), AddOutcome::Added { evicted: 0 });
    /// assert_eq!(store.latest("A").unwrap().metadata["count"], "5");
    /// ```
    pub fn add_frame(
        &self,
        image: ImageRef<'_>,
        camera: &str,
        metadata: BTreeMap<String, String>,
    ) -> AddOutcome {
        let frame = BufferedFrame {
            camera: camera.to_owned(),
            width: image.width(),
            height: image.height(),
            format: image.format(),
            pixels: image.data().to_vec(),
            metadata,
            added: SystemTime::now(),
        };
        let cost = frame.cost();
        if cost > self.ring_limit {
            return AddOutcome::Skipped(SkipReason::LargerThanMemoryLimit {
                frame_bytes: cost,
                limit_bytes: self.ring_limit,
            });
        }
        let mut ring = lock(&self.ring);
        let mut evicted = 0;
        while ring.frames.len() >= self.cfg.max_frames || ring.bytes + cost > self.ring_limit {
            match ring.frames.pop_front() {
                Some(old) => {
                    ring.bytes -= old.cost();
                    evicted += 1;
                }
                None => break,
            }
        }
        ring.bytes += cost;
        ring.frames.push_back(frame);
        drop(ring);
        self.buffered.fetch_add(1, Ordering::Relaxed);
        AddOutcome::Added { evicted }
    }

    /// The newest frame of `camera` in the ring.
    pub fn latest(&self, camera: &str) -> Option<BufferedFrame> {
        lock(&self.ring)
            .frames
            .iter()
            .rev()
            .find(|f| f.camera == camera)
            .cloned()
    }

    /// Empties the in-memory ring (files on disk stay).
    pub fn clear(&self) {
        let mut ring = lock(&self.ring);
        ring.frames.clear();
        ring.bytes = 0;
    }

    /// Paths of `camera`'s frames on disk, oldest first.
    pub fn saved_frames(&self, camera: &str) -> Vec<PathBuf> {
        let frames = lock(&self.cameras).get(camera).cloned();
        frames
            .map(|f| lock(&f).frames.iter().map(|d| d.path.clone()).collect())
            .unwrap_or_default()
    }

    /// What the store holds and has done.
    pub fn usage(&self) -> FrameStoreUsage {
        let (buffer_frames, buffer_bytes) = {
            let ring = lock(&self.ring);
            (ring.frames.len(), ring.bytes)
        };
        let cameras: Vec<(String, Arc<Mutex<CameraFrames>>)> = lock(&self.cameras)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let disk_frames_per_camera = cameras
            .into_iter()
            .map(|(name, frames)| (name, lock(&frames).frames.len()))
            .filter(|(_, n)| *n > 0)
            .collect();
        FrameStoreUsage {
            buffer_frames,
            buffer_bytes,
            buffer_limit_bytes: self.ring_limit,
            disk_frames: self.disk_frames.load(Ordering::Relaxed),
            disk_bytes: self.disk_bytes.load(Ordering::Relaxed),
            disk_frames_per_camera,
            frames_processed: self.processed.load(Ordering::Relaxed),
            frames_saved: self.saved.load(Ordering::Relaxed),
            saves_skipped: self.skipped.load(Ordering::Relaxed),
            frames_rotated: self.rotated.load(Ordering::Relaxed),
            frames_buffered: self.buffered.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests;
