//! The `yolox` detector on ONNX Runtime (feature `onnxruntime`): on street-a it sees the very
//! input tract sees (one letterbox) and its detections equal tract's within a pixel and 1e-3 of
//! score (one decoder, one suppression: only the network's float rounding differs); and a
//! library that is not there is an error naming it and saying how to get one.
//!
//! Needs ONNX Runtime's shared library (`pip install onnxruntime`, or `ORT_DYLIB_PATH`): without
//! it the comparison says SKIPPED, and fails under `CI=true`.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line
#![cfg(feature = "onnxruntime")]

mod fixtures;

use std::path::{Path, PathBuf};

use semaforo_vision::detect::yolox::{onnxruntime, Runtime, Yolox, YoloxOptions};
use semaforo_vision::{DetectError, Detector};

/// Frames of street-a compared, spread over the clip.
const FRAMES: [u64; 8] = [0, 150, 300, 450, 600, 750, 900, 1000];

fn shipped_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/yolox_nano.onnx")
}

fn options(runtime: Runtime) -> YoloxOptions {
    YoloxOptions {
        model: Some(shipped_model()),
        include_person: true,
        runtime,
        ..YoloxOptions::default()
    }
}

/// The detector on ONNX Runtime, or `None` after reporting the library missing.
fn onnxruntime_detector() -> Option<Yolox> {
    match Yolox::new(options(Runtime::OnnxRuntime)) {
        Ok(detector) => Some(detector),
        Err(DetectError::Runtime { reason, .. }) => {
            semaforo_testkit::skip(
                &format!("ONNX Runtime's shared library ({reason})"),
                "Install it: python3 -m pip install onnxruntime (the wheel ships \
                 libonnxruntime.so), or set ORT_DYLIB_PATH to the library.",
            );
            None
        }
        Err(e) => panic!("the detector on onnxruntime failed to build: {e}"),
    }
}

#[test]
fn street_a_detections_on_onnxruntime_equal_tracts() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let Some(mut ort) = onnxruntime_detector() else {
        return;
    };
    assert_eq!(ort.runtime(), Runtime::OnnxRuntime);
    assert_eq!(ort.name(), "yolox");
    // onnxruntime runs the square input the model declares; tract is given the same.
    let mut tract = Yolox::new(YoloxOptions {
        fit_input: false,
        ..options(Runtime::Tract)
    })
    .unwrap();
    let min_score = tract.options().min_score;

    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let (mut compared, mut max_raw_diff) = (0, 0.0f32);
    for (index, frame) in FRAMES.iter().zip(fixtures::video_frames(&clip, &FRAMES)) {
        tract.detect(&frame, &mut ours).unwrap();
        ort.detect(&frame, &mut theirs).unwrap();
        assert!(
            tract.last_input() == ort.last_input(),
            "frame {index}: the runtimes were given different inputs"
        );
        let (a, b) = (tract.last_output().unwrap(), ort.last_output().unwrap());
        assert_eq!(a.len(), b.len());
        max_raw_diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(max_raw_diff, f32::max);

        compared += fixtures::same_detections(
            *index,
            ("tract", &ours),
            ("onnxruntime", &theirs),
            min_score,
        );
    }
    eprintln!(
        "{compared} detections on {} street-a frames equal on both runtimes; largest raw-output \
         difference {max_raw_diff:e}",
        FRAMES.len()
    );
    assert!(
        compared >= FRAMES.len(),
        "the frames have vehicles to compare"
    );
}

#[test]
fn a_missing_library_is_an_error_naming_it_and_how_to_get_one() {
    let missing = Path::new("/nonexistent/onnxruntime/libonnxruntime.so.1.32.0");
    let options = YoloxOptions {
        onnxruntime_library: Some(missing.to_path_buf()),
        ..options(Runtime::OnnxRuntime)
    };
    let message = match Yolox::new(options) {
        Err(e @ DetectError::Runtime { .. }) => e.to_string(),
        Err(other) => panic!("expected a runtime error, got {other}"),
        Ok(_) => panic!("{} was accepted as ONNX Runtime", missing.display()),
    };
    eprintln!("{message}");
    assert!(
        message.contains(&missing.display().to_string())
            && message.contains("does not exist")
            && message.contains("pip install onnxruntime")
            && message.contains("ORT_DYLIB_PATH"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_onnx_runtime_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("libonnxruntime.so");
    std::fs::write(&bogus, b"not a shared library\n").unwrap();
    let message = onnxruntime::load_library(Some(&bogus))
        .unwrap_err()
        .to_string();
    eprintln!("{message}");
    // Whether this process has already loaded the real library (another test) or not, the
    // error names the file and how to get a good one.
    assert!(
        message.contains(&bogus.display().to_string())
            && message.contains("pip install onnxruntime"),
        "{message}"
    );
}
