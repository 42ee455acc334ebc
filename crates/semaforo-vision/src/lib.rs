//! Frames and the sources that produce them.
//!
//! Today this crate holds the [`Frame`] type, the `synthetic:` traffic scene
//! ([`SyntheticCamera`], deterministic, with ground truth) and the `testsrc:` test pattern
//! ([`TestPatternCamera`]). Video files, RTSP, USB cameras, zones and vehicle detection arrive
//! with the frame-sources and detection issues, behind the same
//! [`semaforo_resources::CameraDevice`] trait.
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

mod frame;
mod source;
pub mod synthetic;
mod test_pattern;

pub use frame::Frame;
pub use source::{kind_of, Requested, Source};
pub use synthetic::{
    Aspect, AspectFeed, GroundTruth, SceneConfig, SyntheticCamera, SyntheticScene,
};
pub use test_pattern::{TestPattern, TestPatternCamera};

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
}
