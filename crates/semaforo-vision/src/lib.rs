//! What a camera's frames are made into: zones, vehicle detections, tracks and counts.
//!
//! The frames come from `semaforo-camera`. A [`ZoneSet`] says where in the picture vehicles are
//! counted; a [`Detector`] turns each frame into boxes (the background model
//! [`BackgroundSubtractor`], YOLOX-Nano in [`detect::yolox`], or [`AutoDetector`], YOLOX behind
//! a motion gate; [`build_detector`] picks one from a camera's settings); a [`ZoneCounter`]
//! tracks the boxes from frame to frame and counts the vehicles queued in each approach's zones
//! and those crossing its count lines. [`annotate`] draws all of it on a frame.
//!
//! ```
//! use semaforo_camera::synthetic::LAYOUT;
//! use semaforo_camera::{SceneConfig, SyntheticCamera};
//! use semaforo_resources::CameraDevice;
//! use semaforo_vision::{
//!     BackgroundSubtractor, BgSubOptions, Detector, TrackerOptions, ZoneCounter, ZoneSet,
//! };
//!
//! let config = SceneConfig { width: 320, height: 240, ..SceneConfig::default() };
//! let mut camera = SyntheticCamera::open(config).unwrap();
//! let zones = ZoneSet::of_synthetic_scene(&LAYOUT, 320, 240, "A");
//! let mut bgsub = BackgroundSubtractor::new(320, 240, &zones, BgSubOptions::default()).unwrap();
//! let mut counter = ZoneCounter::new(zones, TrackerOptions::default());
//! let mut detections = Vec::new();
//! for _ in 0..30 {
//!     let frame = camera.read().unwrap();
//!     bgsub.detect(&frame, &mut detections).unwrap();
//!     counter.update(&detections);
//! }
//! let a = counter.approach("A");
//! println!("approach A: {} queued, {} arrived", a.queue, a.arrivals);
//! ```

pub mod annotate;
pub mod counting;
pub mod cover;
pub mod detect;
pub mod rate;
pub mod zones;

pub use counting::{ApproachCount, Track, Tracker, TrackerOptions, ZoneCount, ZoneCounter};
pub use cover::{Cover, QueueSource, VehicleScale, ZoneCover};
pub use detect::auto::{AutoDetector, MotionGate, MotionGateOptions};
pub use detect::bgsub::{BackgroundSubtractor, BgSubOptions, Restored, StateError};
pub use detect::kinds::{build_detector, BuiltDetector, DetectorKind, DetectorSettings};
pub use detect::{BBox, DetectError, Detection, Detector, ObjectClass, Region};
pub use rate::{AnalysisRate, RateChange};
pub use zones::{Anchor, Zone, ZoneError, ZoneErrors, ZoneFileError, ZoneRole, ZoneSet, ZoneSpec};
