//! Frames and the sources that produce them.
//!
//! This crate holds the [`Frame`] type, the pixel-buffer pool sources decode into, and every
//! frame source, each a [`semaforo_resources::CameraDevice`] opened from a URI by
//! [`Source::open`]: the `synthetic:` traffic scene ([`SyntheticCamera`], deterministic, with
//! ground truth), the `testsrc:` test pattern ([`TestPatternCamera`]), video files
//! ([`VideoFile`]: MP4/MOV with H.264), RTSP cameras ([`RtspCamera`]), HTTP MJPEG
//! ([`MjpegStream`]), image folders ([`ImageFolder`]) and, with the `v4l2` feature, USB cameras
//! (with the `ffmpeg` feature, anything the system's FFmpeg decodes). [`LiveSource`] runs any
//! of them on its own thread, hands consumers the newest frame and reconnects by itself.
//! What is done with the frames (zones, detectors, counting) is `semaforo-vision`'s.
//!
//! ```
//! use semaforo_resources::{ManagedCamera, ResourceTracker};
//! use semaforo_camera::TestPatternCamera;
//!
//! let tracker = ResourceTracker::new();
//! let mut camera = ManagedCamera::open(&tracker, "A", || TestPatternCamera::open(320, 240, 15.0)).unwrap();
//! let frame = camera.read().unwrap();
//! assert_eq!((frame.width, frame.height, frame.seq), (320, 240, 0));
//! ```

#[cfg(feature = "ffmpeg")]
pub mod ffmpeg;
mod frame;
pub mod image_dir;
pub mod live;
pub mod mjpeg;
mod net;
mod redact;
pub mod rtsp;
mod source;
mod still;
pub mod synthetic;
mod test_pattern;
#[cfg(feature = "v4l2")]
pub mod v4l2;
pub mod video;

pub use frame::Frame;
pub use image_dir::{ImageFolder, ImageFolderOptions};
pub use live::{
    Backoff, FrameReader, LiveConfig, LiveDevice, LiveSource, LiveState, LiveStats, Opener,
    SetError, StateChange, WaitError,
};
pub use mjpeg::MjpegStream;
pub use net::NetworkOptions;
pub use redact::redact;
pub use rtsp::{RtspCamera, RtspTransport};
pub use source::{kind_of, Requested, Source};
pub use synthetic::{
    Aspect, AspectFeed, GroundTruth, SceneConfig, SyntheticCamera, SyntheticScene,
};
pub use test_pattern::{TestPattern, TestPatternCamera};
pub use video::{Pacing, VideoFile, VideoFileOptions};

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
    /// A video file is cut short: the frames before `sample` were read, that one is not all
    /// there. Like the end of the file, it ends a file that does not loop.
    #[error(
        "{} is cut short at byte {size}: frame {sample} of the {samples} its index lists is not \
         all there; the {frames} frames before it were read",
        path.display()
    )]
    Truncated {
        path: PathBuf,
        size: u64,
        sample: u32,
        samples: u32,
        frames: u64,
    },
    /// A file source reached its last frame and is not looping.
    #[error("end of {} after {frames} frames", path.display())]
    EndOfStream { path: PathBuf, frames: u64 },
    /// An image folder (`dir:`) cannot be listed or holds no JPEG/PNG frame.
    #[error("image folder {}: {reason}", path.display())]
    ImageFolder { path: PathBuf, reason: String },
    /// A still image (a frame of an image folder or of an MJPEG stream) did not decode.
    #[error("{camera}: cannot decode {what}: {reason}")]
    Image {
        /// The source, credentials hidden.
        camera: String,
        what: String,
        reason: String,
    },
    /// A network camera's host cannot be reached.
    #[error("{camera}: cannot connect to {address}: {reason}")]
    Unreachable {
        camera: String,
        address: String,
        reason: String,
    },
    /// The camera refused the credentials (or asked for some and none were given).
    #[error("{camera}: the camera refused the credentials: {detail}")]
    Unauthorized { camera: String, detail: String },
    /// The camera answered, but not with what was expected.
    #[error("{camera}: unexpected answer: {reason}")]
    Protocol { camera: String, reason: String },
    /// No frame arrived in time (a stalled stream).
    #[error("{camera}: no frame for {:.1} s (the stall timeout); the stream is stalled", waited.as_secs_f64())]
    Timeout {
        camera: String,
        waited: std::time::Duration,
    },
    /// A live stream ended or its connection broke.
    #[error("{camera}: disconnected: {reason}")]
    Disconnected { camera: String, reason: String },
    /// A frame of a live stream did not decode; the next read goes on with the next frame.
    #[error("{camera}: cannot decode {what}: {reason}")]
    StreamDecode {
        camera: String,
        what: String,
        reason: String,
    },
    /// A live stream carries a codec this build does not decode.
    #[error("{camera}: {codec} video is not supported: {supported}")]
    UnsupportedStream {
        camera: String,
        codec: String,
        supported: &'static str,
    },
    /// The source's kind needs a cargo feature this build was made without.
    #[error(
        "{kind} sources need the `{feature}` cargo feature, which this build was made without: \
         build with `cargo build --release --features semaforo-camera/{feature}` ({why})"
    )]
    FeatureNotBuilt {
        kind: &'static str,
        feature: &'static str,
        why: &'static str,
    },
    /// A local capture device cannot be opened or used.
    #[error("camera device {device}: {reason}")]
    Device { device: String, reason: String },
}
