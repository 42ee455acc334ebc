//! Frames and the sources that produce them.
//!
//! Today this crate holds the [`Frame`] type, the `synthetic:` traffic scene
//! ([`SyntheticCamera`], deterministic, with ground truth), the `testsrc:` test pattern
//! ([`TestPatternCamera`]) and video files ([`VideoFile`]: MP4/MOV with H.264, `file:PATH`).
//! RTSP, USB cameras, zones and vehicle detection arrive with the frame-sources and detection
//! issues, behind the same [`semaforo_resources::CameraDevice`] trait.
//!
//! ```
//! use semaforo_resources::{ManagedCamera, ResourceTracker};
//! use semaforo_vision::TestPatternCamera;
//!
//! let tracker = ResourceTracker::new();
//! let mut camera = ManagedCamera::open(&tracker, "A", || TestPatternCamera::open(320, 240, 15.0)).unwrap();
//! let frame = camera.read().unwrap();
//! assert_eq!((frame.width, frame.height, frame.seq), (320, 240, 0));
//! ```

pub mod annotate;
pub mod auto;
pub mod bgsub;
pub mod counting;
pub mod detect;
pub mod detectors;
mod frame;
mod source;
pub mod synthetic;
mod test_pattern;
pub mod video;
pub mod zones;

pub use auto::{AutoDetector, MotionGate, MotionGateOptions};
pub use bgsub::{BackgroundSubtractor, BgSubOptions};
pub use counting::{ApproachCount, Track, Tracker, TrackerOptions, ZoneCount, ZoneCounter};
pub use detect::{BBox, DetectError, Detection, Detector, ObjectClass};
pub use detectors::{build_detector, BuiltDetector, DetectorKind, DetectorSettings};
pub use frame::Frame;
pub use source::{kind_of, Requested, Source};
pub use synthetic::{
    Aspect, AspectFeed, GroundTruth, SceneConfig, SyntheticCamera, SyntheticScene,
};
pub use test_pattern::{TestPattern, TestPatternCamera};
pub use video::{Pacing, PlaybackClock, SystemPlaybackClock, VideoFile, VideoFileOptions};
pub use zones::{Anchor, Zone, ZoneError, ZoneErrors, ZoneFileError, ZoneRole, ZoneSet, ZoneSpec};

use std::path::PathBuf;

/// Why a source could not open, read or change a setting. Each variant names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A requested setting is outside what the source can do.
    #[error("{property} = {value} is not possible: expected {expected}")]
    BadSetting {
        property: &'static str,
        value: f64,
        expected: String,
    },
    /// A parameter in the source's URI is malformed or out of range.
    #[error("{source_kind} parameter `{parameter}` is not valid: expected {expected}")]
    BadParameter {
        source_kind: &'static str,
        parameter: String,
        expected: String,
    },
    /// The source's kind is recognised but not in this build.
    #[error("{kind} sources are not in this build yet (the frame-sources issue brings them)")]
    NotInThisBuild { kind: &'static str },
    /// The source was released and cannot be read.
    #[error("the source is closed")]
    Closed,
    /// A video file could not be opened or read from disk.
    #[error("cannot read video file {}: {source}", path.display())]
    FileAccess {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a video container this build reads (MP4/MOV, ISO base media).
    #[error("{} is not an MP4/MOV video file: {reason}", path.display())]
    NotVideo { path: PathBuf, reason: String },
    /// The container holds no video track.
    #[error("{} has no video track (it holds: {found})", path.display())]
    NoVideoTrack { path: PathBuf, found: String },
    /// The video track's codec (or the H.264 profile) cannot be decoded by this build.
    #[error("{}: {codec} video is not supported: {supported}", path.display())]
    UnsupportedCodec {
        path: PathBuf,
        /// The codec as the file names it, e.g. `H.265/HEVC (hvc1)` or `H.264 High 4:4:4 (profile 244)`.
        codec: String,
        /// What this build decodes instead.
        supported: &'static str,
    },
    /// A frame could not be decoded; the next read goes on with the next frame.
    #[error("{}: cannot decode {what}: {reason}", path.display())]
    Decode {
        path: PathBuf,
        what: String,
        reason: String,
    },
    /// A file source reached its last frame and is not looping.
    #[error("end of {} after {frames} frames", path.display())]
    EndOfStream { path: PathBuf, frames: u64 },
}
