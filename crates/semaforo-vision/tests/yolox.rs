//! The `yolox` detector end to end: the shipped model is the YOLOX-Nano release, a missing or
//! wrong model is refused with its path and what was expected, and on street-a.mp4 the
//! detections match onnxruntime running the same model on the same input tensors
//! (`bench/yolox_reference.py`).

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message;
use semaforo_vision::detect::yolox::{
    self, Letterbox, Yolox, YoloxOptions, ANCHORS, ANCHOR_VALUES, INPUT_SIZE, MODEL_SHA256,
};
use semaforo_vision::{DetectError, Detection, Detector, ObjectClass};
use sha2::Digest;

/// Frames of street-a checked against onnxruntime: spread over the clip, a few (each is one
/// inference on each side).
const FRAMES: [u64; 4] = [0, 300, 600, 900];

fn shipped_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/yolox_nano.onnx")
}

fn options() -> YoloxOptions {
    YoloxOptions {
        model: Some(shipped_model()),
        ..YoloxOptions::default()
    }
}

#[test]
fn shipped_model_is_the_yolox_nano_release() {
    let bytes = std::fs::read(shipped_model()).expect("models/yolox_nano.onnx is in the project");
    assert_eq!(bytes.len(), 3_678_356);
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, MODEL_SHA256);
    let licence = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/LICENSE");
    let licence = std::fs::read_to_string(licence).expect("models/LICENSE is in the project");
    assert!(licence.contains("Apache License") && licence.contains("Version 2.0"));
}

#[test]
fn without_a_configured_path_the_project_model_is_found() {
    let found = yolox::find_model(None).unwrap();
    assert!(
        found.ends_with("models/yolox_nano.onnx"),
        "{}",
        found.display()
    );
    assert_eq!(
        std::fs::canonicalize(found).unwrap(),
        std::fs::canonicalize(shipped_model()).unwrap()
    );
}

fn model_error(path: &Path) -> String {
    let options = YoloxOptions {
        model: Some(path.to_path_buf()),
        ..YoloxOptions::default()
    };
    match Yolox::new(options) {
        Err(e @ DetectError::Model { .. }) => e.to_string(),
        Err(other) => panic!("expected a model error for {}, got {other}", path.display()),
        Ok(_) => panic!("{} was accepted as a model", path.display()),
    }
}

#[test]
fn a_missing_model_is_an_error_naming_the_path_and_what_was_expected() {
    let message = model_error(Path::new("/nonexistent/yolox_nano.onnx"));
    assert!(
        message.contains("/nonexistent/yolox_nano.onnx")
            && message.contains("no such file")
            && message.contains("expected a YOLOX-Nano ONNX model")
            && message.contains("[1, 3, 416, 416]"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_onnx_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.onnx");
    std::fs::write(&path, b"this is not a neural network\n").unwrap();
    let message = model_error(&path);
    assert!(
        message.contains(&path.display().to_string())
            && message.contains("not a readable ONNX model")
            && message.contains("expected a YOLOX-Nano ONNX model"),
        "{message}"
    );
}

/// A valid ONNX model that is not YOLOX-Nano: one `Identity` node over a float32 `input_shape`.
fn identity_model(input_shape: &[i64]) -> Vec<u8> {
    use tract_onnx::pb;
    let tensor = |name: &str| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: input_shape
                        .iter()
                        .map(|&d| pb::tensor_shape_proto::Dimension {
                            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 6,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 11,
        }],
        graph: Some(pb::GraphProto {
            name: "identity".into(),
            node: vec![pb::NodeProto {
                input: vec!["images".into()],
                output: vec!["output".into()],
                op_type: "Identity".into(),
                ..Default::default()
            }],
            input: vec![tensor("images")],
            output: vec![tensor("output")],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn an_onnx_model_of_other_shapes_is_refused_naming_what_it_has() {
    let dir = tempfile::tempdir().unwrap();
    // A YOLOX-S-sized input: refused on its declared input.
    let path = dir.path().join("yolox_s.onnx");
    std::fs::write(&path, identity_model(&[1, 3, 640, 640])).unwrap();
    let message = model_error(&path);
    assert!(
        message.contains(&path.display().to_string())
            && message.contains("its input is [1, 3, 640, 640]"),
        "{message}"
    );
    // The right input, the wrong output: refused on the output.
    let path = dir.path().join("identity.onnx");
    std::fs::write(&path, identity_model(&[1, 3, 416, 416])).unwrap();
    let message = model_error(&path);
    assert!(
        message.contains("its output is") && message.contains("[1, 3549, 85]"),
        "{message}"
    );
}

#[test]
fn street_a_vehicles_are_found_inside_the_frame() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let mut detector = Yolox::new(options()).unwrap();
    assert_eq!(detector.name(), "yolox");
    let mut found = Vec::new();
    let mut cars = 0;
    for frame in fixtures::video_frames(&clip, &FRAMES) {
        detector.detect(&frame, &mut found).unwrap();
        for d in &found {
            assert!(d.class.is_vehicle() && d.score >= 0.3, "{d:?}");
            let b = d.bbox;
            assert!(0.0 <= b.x1 && b.x1 < b.x2 && b.x2 <= 640.0, "{d:?}");
            assert!(0.0 <= b.y1 && b.y1 < b.y2 && b.y2 <= 352.0, "{d:?}");
        }
        cars += found.iter().filter(|d| d.class == ObjectClass::Car).count();
    }
    assert!(cars >= FRAMES.len(), "street-a has cars in view throughout");
}

/// Onnxruntime's answer for one frame, from the reference script's JSON.
fn reference_detections(frame: &serde_json::Value) -> Vec<Detection> {
    frame
        .as_array()
        .expect("a list of detections")
        .iter()
        .map(|d| {
            let class = d["class"].as_u64().expect("a class index") as usize;
            let b: Vec<f32> = d["box"]
                .as_array()
                .expect("a box")
                .iter()
                .map(|v| v.as_f64().expect("a number") as f32)
                .collect();
            Detection {
                class: ObjectClass::from_coco(class).expect("a road-user class"),
                score: d["score"].as_f64().expect("a score") as f32,
                bbox: semaforo_vision::BBox::new(b[0], b[1], b[2], b[3]),
            }
        })
        .collect()
}

#[test]
fn street_a_detections_match_onnxruntime_on_the_same_input() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/yolox_reference.py");
    let dir = tempfile::tempdir().unwrap();
    // The square input the reference script letterboxes into.
    let options = YoloxOptions {
        include_person: true,
        fit_input: false,
        ..options()
    };
    let mut detector = Yolox::new(options.clone()).unwrap();

    let mut inputs = Vec::new();
    let mut raw = Vec::new();
    let mut ours = Vec::new();
    let mut boxes = Vec::new();
    for frame in fixtures::video_frames(&clip, &FRAMES) {
        let mut found = Vec::new();
        detector.detect(&frame, &mut found).unwrap();
        inputs.extend(detector.last_input().iter().flat_map(|v| v.to_le_bytes()));
        raw.extend_from_slice(detector.last_output().unwrap());
        let l = Letterbox::for_frame(frame.width, frame.height);
        boxes.push(format!(
            "{}x{}:{}x{}",
            frame.width, frame.height, l.width, l.height
        ));
        ours.push(found);
    }
    assert_eq!(inputs.len(), FRAMES.len() * 3 * INPUT_SIZE * INPUT_SIZE * 4);
    let input_path = dir.path().join("inputs.f32");
    let raw_path = dir.path().join("outputs.f32");
    let json_path = dir.path().join("detections.json");
    std::fs::write(&input_path, &inputs).unwrap();

    let output = Command::new("python3")
        .arg(&script)
        .arg("--model")
        .arg(shipped_model())
        .arg("--input")
        .arg(&input_path)
        .args(["--frames", &boxes.join(",")])
        .arg("--raw-output")
        .arg(&raw_path)
        .arg("--detections")
        .arg(&json_path)
        .args(["--min-score", &options.min_score.to_string()])
        .args(["--nms-iou", &options.nms_iou.to_string()])
        .arg("--include-person")
        .output();
    let output = match output {
        Ok(o) if o.status.code() == Some(2) => {
            semaforo_testkit::skip(
                &format!(
                    "python3's onnxruntime ({})",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                "Install it: python3 -m pip install onnxruntime numpy. The comparison with \
                 onnxruntime did not run.",
            );
            return;
        }
        Err(e) => {
            semaforo_testkit::skip(
                &format!("python3 ({e})"),
                "Install python3 with onnxruntime (python3 -m pip install onnxruntime numpy).",
            );
            return;
        }
        Ok(o) => o,
    };
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );

    // The raw outputs: same network, same input, float rounding apart.
    let theirs_raw: Vec<f32> = std::fs::read(&raw_path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(theirs_raw.len(), FRAMES.len() * ANCHORS * ANCHOR_VALUES);
    let max_raw_diff = raw
        .iter()
        .zip(&theirs_raw)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("largest raw-output difference from onnxruntime: {max_raw_diff:e}");
    assert!(max_raw_diff < 2e-3, "raw outputs differ by {max_raw_diff}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let frames = json["frames"].as_array().expect("a list of frames");
    assert_eq!(frames.len(), FRAMES.len());
    let mut compared = 0;
    for ((index, ours), theirs) in FRAMES.iter().zip(&ours).zip(frames) {
        let theirs = reference_detections(theirs);
        compared += fixtures::same_detections(
            *index,
            ("onnxruntime", &theirs),
            ("we", ours),
            options.min_score,
        );
    }
    eprintln!(
        "{compared} detections on {} street-a frames match onnxruntime {}",
        FRAMES.len(),
        json["onnxruntime"]
    );
    assert!(
        compared >= FRAMES.len(),
        "the frames have vehicles to compare"
    );
}

/// How two runs' detections on the same frames differ: pairs (same class, IoU at least 0.5),
/// detections without a partner, the largest and the summed corner difference of the pairs
/// (frame pixels), the largest score difference.
#[derive(Debug, Default)]
struct Difference {
    pairs: usize,
    unpaired: usize,
    max_corner: f32,
    corner_sum: f32,
    max_score: f32,
}

impl Difference {
    fn add(&mut self, a: &[Detection], b: &[Detection]) {
        let mut left: Vec<&Detection> = b.iter().collect();
        for x in a {
            let Some((at, y)) = fixtures::best_partner(x, &left, 0.5) else {
                self.unpaired += 1;
                continue;
            };
            let corner = fixtures::corner_diff(x, y);
            self.pairs += 1;
            self.max_corner = self.max_corner.max(corner);
            self.corner_sum += corner;
            self.max_score = self.max_score.max((x.score - y.score).abs());
            left.remove(at);
        }
        self.unpaired += left.len();
    }
}

#[test]
fn street_a_detections_on_the_fitted_input_equal_the_squares_closely() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    // Every 50th frame, as the latency bench takes them.
    let frames: Vec<u64> = (0..21).map(|i| i * 50).collect();
    let mut fitted = Yolox::new(options()).unwrap();
    let mut square = Yolox::new(YoloxOptions {
        fit_input: false,
        ..options()
    })
    .unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut difference = Difference::default();
    let (mut counted, mut worst_count) = ((0, 0), 0);
    for frame in fixtures::video_frames(&clip, &frames) {
        fitted.detect(&frame, &mut ours).unwrap();
        assert_eq!(fitted.last_input().len(), 3 * 416 * 256, "a 416x256 input");
        square.detect(&frame, &mut theirs).unwrap();
        counted = (counted.0 + ours.len(), counted.1 + theirs.len());
        worst_count = worst_count.max(ours.len().abs_diff(theirs.len()));
        difference.add(&theirs, &ours);
    }
    eprintln!(
        "{} street-a frames: 416x416 found {}, 416x256 {}; {} pairs, {} unpaired, corners up to \
         {:.2} px (mean {:.3}), scores up to {:.4} apart",
        frames.len(),
        counted.1,
        counted.0,
        difference.pairs,
        difference.unpaired,
        difference.max_corner,
        difference.corner_sum / difference.pairs.max(1) as f32,
        difference.max_score
    );
    assert!(counted.1 >= frames.len(), "the frames have vehicles");
    assert!(worst_count <= 1, "a frame's count differs by {worst_count}");
    assert!(
        difference.unpaired * 20 <= counted.1,
        "more than 5% of the detections differ: {difference:?}"
    );
    assert!(
        difference.corner_sum / (difference.pairs.max(1) as f32) < 1.0,
        "{difference:?}"
    );
}
