//! The `yolox` detector on ONNX Runtime (feature `onnxruntime`): on street-a it sees the very
//! input tract sees (one letterbox) and its detections equal tract's within a pixel and 1e-3 of
//! score (one decoder, one suppression: only the network's float rounding differs); and a
//! library that is not there is an error naming it and saying how to get one.
//!
//! Needs ONNX Runtime's shared library (`pip install onnxruntime`, or `ORT_DYLIB_PATH`): without
//! it the comparison says SKIPPED, and fails under `CI=true`.

#![cfg(feature = "onnxruntime")]

mod fixtures;

use std::path::{Path, PathBuf};

use semaforo_resources::CameraDevice;
use semaforo_vision::detect::yolox::{onnxruntime, Runtime, Yolox, YoloxOptions};
use semaforo_vision::{
    DetectError, Detection, Detector, Frame, Pacing, SourceError, VideoFile, VideoFileOptions,
};

/// Frames of street-a compared, spread over the clip.
const FRAMES: [u64; 8] = [0, 150, 300, 450, 600, 750, 900, 1000];
/// Box corners may differ by this many frame pixels between the runtimes.
const MAX_BOX_DIFF: f32 = 1.0;
/// Scores may differ by this much between the runtimes.
const MAX_SCORE_DIFF: f32 = 1e-3;

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
            fixtures::missing(
                &format!("ONNX Runtime's shared library ({reason})"),
                "Install it: python3 -m pip install onnxruntime (the wheel ships \
                 libonnxruntime.so), or set ORT_DYLIB_PATH to the library.",
            );
            None
        }
        Err(e) => panic!("the detector on onnxruntime failed to build: {e}"),
    }
}

/// The frames `FRAMES` of street-a.
fn street_frames(clip: &Path) -> Vec<Frame> {
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(clip, options).unwrap();
    let mut frames = Vec::new();
    let last = *FRAMES.last().unwrap();
    loop {
        match video.read() {
            Ok(frame) if FRAMES.contains(&frame.seq) => frames.push(frame),
            Ok(frame) if frame.seq > last => break,
            Ok(frame) => video.recycle(frame),
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("street-a did not decode: {e}"),
        }
    }
    assert_eq!(frames.len(), FRAMES.len());
    frames
}

/// Whether a detection is so close to the score threshold that the runtimes' rounding may put
/// it on either side.
fn on_the_threshold(d: &Detection, min_score: f32) -> bool {
    (d.score - min_score).abs() <= MAX_SCORE_DIFF
}

#[test]
fn street_a_detections_on_onnxruntime_equal_tracts() {
    let Some(clip) = fixtures::street_a() else {
        return;
    };
    let Some(mut ort) = onnxruntime_detector() else {
        return;
    };
    assert_eq!(ort.runtime(), Runtime::OnnxRuntime);
    assert_eq!(ort.name(), "yolox");
    let mut tract = Yolox::new(options(Runtime::Tract)).unwrap();
    let min_score = tract.options().min_score;

    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let (mut compared, mut max_raw_diff) = (0, 0.0f32);
    for (index, frame) in FRAMES.iter().zip(street_frames(&clip)) {
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

        let mut unmatched: Vec<&Detection> = theirs.iter().collect();
        for o in &ours {
            let best = unmatched
                .iter()
                .enumerate()
                .filter(|(_, t)| t.class == o.class)
                .max_by(|a, b| a.1.bbox.iou(&o.bbox).total_cmp(&b.1.bbox.iou(&o.bbox)));
            let Some((at, t)) = best else {
                assert!(
                    on_the_threshold(o, min_score),
                    "frame {index}: tract found {o:?}, onnxruntime did not ({theirs:?})"
                );
                continue;
            };
            let corner_diff = [
                o.bbox.x1 - t.bbox.x1,
                o.bbox.y1 - t.bbox.y1,
                o.bbox.x2 - t.bbox.x2,
                o.bbox.y2 - t.bbox.y2,
            ]
            .into_iter()
            .map(f32::abs)
            .fold(0.0, f32::max);
            assert!(
                corner_diff <= MAX_BOX_DIFF && (o.score - t.score).abs() <= MAX_SCORE_DIFF,
                "frame {index}: tract {o:?}, onnxruntime {t:?}"
            );
            unmatched.remove(at);
            compared += 1;
        }
        for t in unmatched {
            assert!(
                on_the_threshold(t, min_score),
                "frame {index}: onnxruntime found {t:?}, tract did not ({ours:?})"
            );
        }
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
