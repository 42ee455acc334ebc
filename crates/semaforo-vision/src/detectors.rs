//! Choosing and building a camera's detector from its settings (`bgsub`, `yolox`, `auto`).

use std::path::PathBuf;

use crate::auto::{AutoDetector, MotionGateOptions};
use crate::bgsub::{BackgroundSubtractor, BgSubOptions};
use crate::detect::yolox::{Yolox, YoloxOptions};
use crate::detect::{DetectError, Detector};
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
    /// The camera's frame rate (the background model's hold time is in seconds).
    pub fps: f32,
    pub bgsub: BgSubOptions,
    pub gate: MotionGateOptions,
}

impl DetectorSettings {
    pub fn new(kind: DetectorKind) -> Self {
        DetectorSettings {
            kind,
            model: None,
            min_score: 0.3,
            fps: 15.0,
            bgsub: BgSubOptions::default(),
            gate: MotionGateOptions::default(),
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
pub fn build_detector(
    settings: &DetectorSettings,
    width: u32,
    height: u32,
    zones: &ZoneSet,
) -> Result<BuiltDetector, DetectError> {
    let bgsub = || -> Result<Box<dyn Detector>, DetectError> {
        let options = BgSubOptions {
            fps: settings.fps,
            ..settings.bgsub.clone()
        };
        Ok(Box::new(BackgroundSubtractor::new(
            width, height, zones, options,
        )?))
    };
    match settings.kind {
        DetectorKind::Bgsub => Ok(BuiltDetector {
            detector: bgsub()?,
            fallback: None,
        }),
        DetectorKind::Yolox => Ok(BuiltDetector {
            detector: neural(settings, zones)?,
            fallback: None,
        }),
        DetectorKind::Auto => match neural(settings, zones) {
            Ok(inner) => Ok(BuiltDetector {
                detector: Box::new(AutoDetector::new(inner, settings.gate.clone())),
                fallback: None,
            }),
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

/// The neural detector: YOLOX-Nano with the configured model (or the shipped one), looking at
/// the zones' surroundings only. On the street clip the zones span 415 of 640 pixels, so the
/// network sees them at 0.87 of their size instead of 0.65, and finds the motorcycles it
/// missed (measured against hand counts: BENCHMARKS.md).
fn neural(settings: &DetectorSettings, zones: &ZoneSet) -> Result<Box<dyn Detector>, DetectError> {
    let options = YoloxOptions {
        model: settings.model.clone(),
        min_score: settings.min_score,
        ..YoloxOptions::default()
    };
    let mut yolox = Yolox::new(options)?;
    yolox.set_region(Some(zones.region_of_interest(REGION_MARGIN)));
    Ok(Box::new(yolox))
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
}
