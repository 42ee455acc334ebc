//! YOLOX-Nano latency benchmark (a plain timing loop, `harness = false`).
//!
//! Takes 20 frames spread over `../shared/media/street-a.mp4`, letterboxes them as the `yolox`
//! detector does, and times one inference per frame with tract (the detector's
//! [`Yolox::infer`]: letterbox + network; decoding and suppression are timed apart) and, in the
//! same run on the very same input tensors, onnxruntime through `bench/onnxruntime_yolox.py`.
//! tract runs the fitted input (416x256, the default) and the 416x416 square; the peer runs the
//! square the model declares, and the fitted input too when Python has the `onnx` package.
//! With the `onnxruntime` feature, the detector on its onnxruntime runtime is timed the same
//! way as tract, in the same rounds. Both on one thread and on their default thread counts.
//! Rounds alternate tract, in-process onnxruntime and the Python peer so machine drift hits
//! all; medians are reported.
//!
//! Prints a Markdown section and writes it to `crates/semaforo-vision/BENCH_RESULTS_YOLOX.md`.
//! Run with `cargo bench -p semaforo-vision --bench yolox [--features onnxruntime]`.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

// One copy of the helpers, in semaforo-camera (whose decode bench uses them too).
#[path = "../../semaforo-camera/benches/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Instant;

use semaforo_camera::{Frame, Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use semaforo_vision::detect::yolox::{self, Runtime, Yolox, YoloxOptions};
use support::{clip, json_field, machine, median, run_python, today};

const ROUNDS: usize = 5;
const FRAMES: usize = 20;
const FRAME_STEP: u64 = 50;

fn street_frames(path: &Path) -> Vec<Frame> {
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(path, options).expect("open the clip");
    let mut frames = Vec::new();
    while frames.len() < FRAMES {
        match video.read() {
            Ok(frame) if frame.seq % FRAME_STEP == 0 => frames.push(frame),
            Ok(frame) => video.recycle(frame),
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("decode failed: {e}"),
        }
    }
    frames
}

/// Milliseconds per inference (letterbox + network) and per decode, median over the frames,
/// on either runtime.
fn detector_round(detector: &mut Yolox, frames: &[Frame]) -> (f64, f64) {
    let (mut infer, mut decode) = (Vec::new(), Vec::new());
    let mut found = Vec::new();
    for frame in frames {
        let start = Instant::now();
        let letterbox = detector.infer(frame).expect("inference");
        let middle = Instant::now();
        let output = detector.last_output().expect("an output");
        yolox::decode(output, &letterbox, detector.options(), &mut found);
        infer.push((middle - start).as_secs_f64() * 1e3);
        decode.push(middle.elapsed().as_secs_f64() * 1e3);
    }
    (median(&mut infer), median(&mut decode))
}

/// Onnxruntime's median milliseconds per inference on `threads` threads (0: its default), with
/// graph optimisations up to `level`.
fn peer_round(
    script: &Path,
    model: &Path,
    (inputs, shape): (&Path, &str),
    threads: usize,
    level: &str,
) -> Result<(f64, String), String> {
    let (model, inputs) = (model.display().to_string(), inputs.display().to_string());
    let threads = threads.to_string();
    let line = run_python(
        script,
        &[
            "--model",
            &model,
            "--input",
            &inputs,
            "--threads",
            &threads,
            "--passes",
            "1",
            "--optimization",
            level,
            "--shape",
            shape,
        ],
    )?;
    let line = line.as_str();
    match json_field(line, "median_ms").and_then(|v| v.parse().ok()) {
        Some(ms) => Ok((ms, json_field(line, "version").unwrap_or("?").to_owned())),
        None => Err(format!("unexpected peer output {line:?}")),
    }
}

/// One configuration's results: tract's, the in-process onnxruntime's and the Python peer's
/// medians over the rounds.
struct Line {
    label: String,
    tract_ms: f64,
    decode_ms: f64,
    in_process_ms: Option<f64>,
    peer_ms: Option<f64>,
}

/// Which ONNX Runtime library the in-process runtime loaded.
#[cfg(feature = "onnxruntime")]
fn in_process_library() -> String {
    match yolox::onnxruntime::load_library(None) {
        Ok(path) => format!("the `onnxruntime` feature, library {}", path.display()),
        Err(e) => format!("unavailable: {e}"),
    }
}

#[cfg(not(feature = "onnxruntime"))]
fn in_process_library() -> String {
    "not in this build (`--features onnxruntime`)".into()
}

/// The detector on onnxruntime with `threads`, or why it cannot be had in this build or on
/// this machine.
fn onnxruntime_detector(threads: usize) -> Result<Yolox, String> {
    if !Runtime::OnnxRuntime.is_built_in() {
        return Err("not in this build (`--features onnxruntime`)".into());
    }
    Yolox::new(YoloxOptions {
        threads,
        runtime: Runtime::OnnxRuntime,
        ..YoloxOptions::default()
    })
    .map_err(|e| e.to_string())
}

fn main() {
    let Some(clip) = clip() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("bench/onnxruntime_yolox.py");
    let frames = street_frames(&clip);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let load_start = Instant::now();
    let mut single = Yolox::new(YoloxOptions {
        threads: 1,
        ..YoloxOptions::default()
    })
    .expect("the model loads");
    // The plan is loaded at the first frame.
    let fitted = single.infer(&frames[0]).expect("inference");
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let fitted = format!("{}x{}", fitted.input_width, fitted.input_height);
    let all_cores = Yolox::new(YoloxOptions {
        threads: 0,
        ..YoloxOptions::default()
    })
    .expect("the model loads");
    let square = Yolox::new(YoloxOptions {
        threads: 1,
        fit_input: false,
        ..YoloxOptions::default()
    })
    .expect("the model loads");
    let model = single.model_path().to_path_buf();

    // The same input tensors for the peer: what the detectors fed the network, fitted and
    // square.
    let dir = std::env::temp_dir().join(format!("semaforo-yolox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut detectors = [single, all_cores, square];
    let mut input_files = Vec::new();
    for (index, name) in [(0, "fitted"), (2, "square")] {
        let path = dir.join(format!("{name}.f32"));
        let mut inputs = Vec::new();
        let mut shape = String::new();
        for frame in &frames {
            let l = detectors[index].infer(frame).expect("inference");
            shape = format!("{},{}", l.input_height, l.input_width);
            inputs.extend(
                detectors[index]
                    .last_input()
                    .iter()
                    .flat_map(|v| v.to_le_bytes()),
            );
        }
        std::fs::write(&path, &inputs).expect("write the inputs");
        input_files.push((path, shape));
    }
    let [(fitted_inputs, fitted_shape), (square_inputs, square_shape)] =
        [input_files[0].clone(), input_files[1].clone()];

    let mut lines = Vec::new();
    let mut peer_version = None;
    let mut peer_error = None;
    let ort_start = Instant::now();
    let ort_single = onnxruntime_detector(1);
    let ort_load_ms = ort_start.elapsed().as_secs_f64() * 1e3;
    let ort_default = onnxruntime_detector(0);
    let in_process_error = ort_single.as_ref().err().cloned();
    let mut in_process = [ort_single.ok(), ort_default.ok()];
    // (label, tract detector, in-process onnxruntime detector, peer threads, peer inputs);
    // onnxruntime in-process always runs the square.
    let square_peer = (square_inputs.as_path(), square_shape.as_str());
    let fitted_peer = (fitted_inputs.as_path(), fitted_shape.as_str());
    let configurations = [
        (
            format!("1 thread; tract {fitted} (the default), onnxruntime 416x416"),
            0,
            Some(0),
            1,
            square_peer,
        ),
        (format!("1 thread; both {fitted}"), 0, None, 1, fitted_peer),
        (
            "1 thread; both 416x416 (as before)".to_string(),
            2,
            None,
            1,
            square_peer,
        ),
        (
            format!("default threads; tract {fitted}, onnxruntime 416x416"),
            1,
            Some(1),
            0,
            square_peer,
        ),
    ];
    for (label, index, ort_index, peer_threads, peer_inputs) in configurations {
        let detector = &mut detectors[index];
        let mut ort = match ort_index {
            Some(i) => in_process[i].as_mut(),
            None => None,
        };
        detector_round(detector, &frames); // warm-up
        if let Some(ort) = ort.as_deref_mut() {
            detector_round(ort, &frames);
        }
        let (mut tract, mut decode, mut ours, mut peer) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 1..=ROUNDS {
            let (ms, decode_ms) = detector_round(detector, &frames);
            tract.push(ms);
            decode.push(decode_ms);
            let mut report = format!("{label}, round {round}: tract {ms:.2} ms");
            if let Some(ort) = ort.as_deref_mut() {
                let (ort_ms, _) = detector_round(ort, &frames);
                ours.push(ort_ms);
                report += &format!(", onnxruntime in-process {ort_ms:.2} ms");
            }
            match peer_round(&script, &model, peer_inputs, peer_threads, "all") {
                Ok((peer_ms, version)) => {
                    report += &format!(", onnxruntime (Python) {peer_ms:.2} ms");
                    peer.push(peer_ms);
                    peer_version = Some(version);
                }
                Err(e) => {
                    report += &format!(", peer unavailable: {e}");
                    peer_error = Some(e);
                }
            }
            eprintln!("{report}");
        }
        lines.push(Line {
            label,
            tract_ms: median(&mut tract),
            decode_ms: median(&mut decode),
            in_process_ms: (!ours.is_empty()).then(|| median(&mut ours)),
            peer_ms: (!peer.is_empty()).then(|| median(&mut peer)),
        });
    }
    let [_, all_cores, _] = detectors;
    let _ = std::fs::remove_dir_all(&dir);

    let (cpu, cpus) = machine();
    let mut md = String::from("# semaforo-vision YOLOX benchmark results\n\n");
    md += &format!(
        "Written by `cargo bench -p semaforo-vision --bench yolox{}`.\n\n",
        if cfg!(feature = "onnxruntime") {
            " --features onnxruntime"
        } else {
            ""
        }
    );
    md += &format!(
        "Machine: {cpu}, {cpus} CPUs (shared with other work while measured); {}.\n\n",
        today()
    );
    md += "### YOLOX-Nano latency per inference, street-a.mp4 frames\n\n";
    md += &format!(
        "{} frames (every {FRAME_STEP}th from the start), 640x352 letterboxed to 416x228 in a \
         {fitted} input (the default) or the 416x416 square; median \
         of {ROUNDS} alternating rounds, each round the median over the frames. tract and \
         onnxruntime in-process: the `yolox` detector's [`Yolox::infer`] on that runtime \
         (letterbox + network, and for onnxruntime the output's copy); onnxruntime (Python): \
         `session.run` alone on the same input tensors, through `bench/onnxruntime_yolox.py`. \
         tract model check, load and optimisation (the plan at the first frame): {load_ms:.0} ms{}. Decode + suppression: see the \
         last column.\n\n",
        frames.len(),
        if in_process_error.is_none() {
            format!(
                "; onnxruntime's first session, loading the library included: {ort_load_ms:.0} ms"
            )
        } else {
            String::new()
        }
    );
    md += "| threads | tract 0.23 ms | onnxruntime in-process ms | onnxruntime (Python) ms \
           | tract / Python | in-process / Python | decode ms |\n";
    md += "|---|---:|---:|---:|---:|---:|---:|\n";
    let ms = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("**{:.2}x**", a / b),
        _ => "n/a".into(),
    };
    for line in &lines {
        md += &format!(
            "| {} | {:.2} | {} | {} | {} | {} | {:.3} |\n",
            line.label,
            line.tract_ms,
            ms(line.in_process_ms),
            ms(line.peer_ms),
            ratio(Some(line.tract_ms), line.peer_ms),
            ratio(line.in_process_ms, line.peer_ms),
            line.decode_ms
        );
    }
    md += &format!(
        "\nDefault threads: tract `threads = 0` (one per core: {} threads on {cores} cores), \
         onnxruntime its default (intra-op threads 0), in-process and in Python. onnxruntime \
         (Python) {}. onnxruntime in-process: {}. Goal: at most 1.5x onnxruntime's latency.\n",
        all_cores.options().effective_threads(),
        peer_version.unwrap_or_else(|| format!(
            "unavailable: {} (pip install onnxruntime numpy)",
            peer_error.unwrap_or_else(|| "no result".into())
        )),
        match in_process_error {
            None => in_process_library(),
            Some(e) => format!("unavailable: {e}"),
        }
    );
    println!("{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCH_RESULTS_YOLOX.md");
    if let Err(e) = std::fs::write(&out, &md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
}
