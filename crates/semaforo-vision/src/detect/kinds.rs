//! Choosing and building a camera's detector from its settings (`bgsub`, `yolox`, `auto`).

use std::path::PathBuf;

use super::auto::{AutoDetector, MotionGateOptions};
use super::bgsub::{BackgroundSubtractor, BgSubOptions};
use super::yolox::{Runtime, Yolox, YoloxOptions};
use super::{DetectError, Detector};
use crate::zones::ZoneSet;

/// Which detector a camera runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorKind {
    /// The background model: no model file, cheapest.
    Bgsub,
    /// YOLOX-Nano on every frame.
    Yolox,
    /// YOLOX-Nano behind a motion gate; the background model when the model is missing.
    Auto,
}

impl DetectorKind {
    pub const NAMES: &'static str = "bgsub, yolox or auto";

    pub fn parse(text: &str) -> Option<DetectorKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bgsub" => Some(DetectorKind::Bgsub),
            "yolox" => Some(DetectorKind::Yolox),
            "auto" => Some(DetectorKind::Auto),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Bgsub => "bgsub",
            DetectorKind::Yolox => "yolox",
            DetectorKind::Auto => "auto",
        }
    }
}

/// Everything needed to build a camera's detector.
#[derive(Debug, Clone)]
pub struct DetectorSettings {
    pub kind: DetectorKind,
    /// The YOLOX model; `None` looks in the usual places.
    pub model: Option<PathBuf>,
    /// Least score of a YOLOX detection.
    pub min_score: f32,
    /// What runs the YOLOX network.
    pub runtime: Runtime,
    /// ONNX Runtime's library for [`Runtime::OnnxRuntime`]; `None` looks for it.
    pub onnxruntime_library: Option<PathBuf>,
    /// The camera's frame rate (the background model's hold time is in seconds).
    pub fps: f32,
    pub bgsub: BgSubOptions,
    pub gate: MotionGateOptions,
    /// `auto` runs the background model beside the network ([`AutoDetector::with_background`]).
    pub background_beside: bool,
}

impl DetectorSettings {
    pub fn new(kind: DetectorKind) -> Self {
        DetectorSettings {
            kind,
            model: None,
            min_score: 0.3,
            runtime: Runtime::Tract,
            onnxruntime_library: None,
            fps: 15.0,
            bgsub: BgSubOptions::default(),
            gate: MotionGateOptions::default(),
            background_beside: true,
        }
    }
}

/// A built detector, and the warning to log when it is not the one asked for.
pub struct BuiltDetector {
    pub detector: Box<dyn Detector>,
    pub fallback: Option<String>,
}

/// Builds the detector for `width` x `height` frames with `zones`. `yolox` fails when the model
/// cannot be loaded; `auto` falls back to `bgsub` and says why in [`BuiltDetector::fallback`].
/// On the onnxruntime runtime, a library that cannot be loaded means tract runs the network
/// instead, said the same way; a build without the runtime is an error.
pub fn build_detector(
    settings: &DetectorSettings,
    width: u32,
    height: u32,
    zones: &ZoneSet,
) -> Result<BuiltDetector, DetectError> {
    let model = || {
        let options = BgSubOptions {
            fps: settings.fps,
            ..settings.bgsub.clone()
        };
        BackgroundSubtractor::new(width, height, zones, options)
    };
    let bgsub = || -> Result<Box<dyn Detector>, DetectError> { Ok(Box::new(model()?)) };
    match settings.kind {
        DetectorKind::Bgsub => Ok(BuiltDetector {
            detector: bgsub()?,
            fallback: None,
        }),
        DetectorKind::Yolox => {
            let (detector, fallback) = neural(settings, zones)?;
            Ok(BuiltDetector {
                detector: Box::new(detector),
                fallback,
            })
        }
        DetectorKind::Auto => match neural(settings, zones) {
            Ok((inner, fallback)) => {
                let auto = AutoDetector::new(Box::new(inner), settings.gate.clone(), Some(zones));
                let auto = if settings.background_beside {
                    auto.with_background(model()?)
                } else {
                    auto
                };
                Ok(BuiltDetector {
                    detector: Box::new(auto),
                    fallback,
                })
            }
            // A runtime this build lacks is a configuration to fix, not a camera to degrade.
            Err(
                e @ DetectError::Setting {
                    setting: "runtime", ..
                },
            ) => Err(e),
            Err(e) => Ok(BuiltDetector {
                detector: bgsub()?,
                fallback: Some(format!("{e}; using the background model (bgsub) instead")),
            }),
        },
    }
}

/// How far around the zones the neural detector looks, as a fraction of the picture's width
/// and height: enough to see a vehicle standing on a zone's edge whole.
pub const REGION_MARGIN: f32 = 0.05;

/// The neural detector: YOLOX-Nano with the configured model (or the shipped one) on the
/// configured runtime, or on tract when ONNX Runtime's library cannot be had (the second value
/// says why). It looks at the zones' surroundings only: on the street clip the zones span 415
/// of 640 pixels, so the network sees them at 0.87 of their size instead of 0.65 and finds the
/// motorcycles it missed (measured against hand counts: BENCHMARKS.md).
fn neural(
    settings: &DetectorSettings,
    zones: &ZoneSet,
) -> Result<(Yolox, Option<String>), DetectError> {
    let options = YoloxOptions {
        model: settings.model.clone(),
        min_score: settings.min_score,
        runtime: settings.runtime,
        onnxruntime_library: settings.onnxruntime_library.clone(),
        ..YoloxOptions::default()
    };
    match Yolox::new(options.clone()) {
        Err(e @ DetectError::Runtime { .. }) => {
            let tract = Yolox::new(YoloxOptions {
                runtime: Runtime::Tract,
                ..options
            })?;
            Ok((
                tract,
                Some(format!("{e}; using tract to run the network instead")),
            ))
        }
        other => other.map(|detector| (detector, None)),
    }
    .map(|(mut detector, fallback)| {
        detector.set_region(Some(zones.region_of_interest(REGION_MARGIN)));
        (detector, fallback)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_without_the_model_falls_back_to_bgsub_and_says_why() {
        let settings = DetectorSettings {
            model: Some(PathBuf::from("/nonexistent/yolox_nano.onnx")),
            ..DetectorSettings::new(DetectorKind::Auto)
        };
        let zones = ZoneSet::whole_frame(320, 240, "A");
        let built = build_detector(&settings, 320, 240, &zones).unwrap();
        assert_eq!(built.detector.name(), "bgsub");
        let why = built.fallback.unwrap();
        assert!(
            why.contains("/nonexistent/yolox_nano.onnx") && why.contains("bgsub"),
            "{why}"
        );

        let settings = DetectorSettings {
            kind: DetectorKind::Yolox,
            ..settings
        };
        let err = build_detector(&settings, 320, 240, &zones)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no such file"),
            "yolox alone does not fall back: {err}"
        );
    }

    #[test]
    fn auto_with_the_shipped_model_runs_yolox_behind_the_gate() {
        let zones = ZoneSet::whole_frame(320, 240, "A");
        let settings = DetectorSettings::new(DetectorKind::Auto);
        let built = build_detector(&settings, 320, 240, &zones).unwrap();
        assert_eq!(built.detector.name(), "auto");
        assert!(built.fallback.is_none());
        for kind in ["bgsub", "yolox", "auto"] {
            assert_eq!(DetectorKind::parse(kind).unwrap().name(), kind);
        }
        assert_eq!(DetectorKind::parse("magic"), None);
    }

    #[cfg(not(feature = "onnxruntime"))]
    #[test]
    fn onnxruntime_without_the_feature_is_an_error_saying_how_to_build_it() {
        let zones = ZoneSet::whole_frame(320, 240, "A");
        for kind in [DetectorKind::Yolox, DetectorKind::Auto] {
            let settings = DetectorSettings {
                runtime: Runtime::OnnxRuntime,
                ..DetectorSettings::new(kind)
            };
            let err = build_detector(&settings, 320, 240, &zones)
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("runtime = onnxruntime") && err.contains("--features onnxruntime"),
                "{err}"
            );
        }
    }

    #[cfg(feature = "onnxruntime")]
    #[test]
    fn onnxruntime_without_its_library_falls_back_to_tract_and_says_why() {
        let zones = ZoneSet::whole_frame(320, 240, "A");
        let settings = DetectorSettings {
            runtime: Runtime::OnnxRuntime,
            onnxruntime_library: Some(PathBuf::from("/nonexistent/libonnxruntime.so")),
            ..DetectorSettings::new(DetectorKind::Yolox)
        };
        let built = build_detector(&settings, 320, 240, &zones).unwrap();
        assert_eq!(built.detector.name(), "yolox");
        let why = built.fallback.unwrap();
        assert!(
            why.contains("/nonexistent/libonnxruntime.so")
                && why.contains("pip install onnxruntime")
                && why.contains("using tract"),
            "{why}"
        );
    }
}
