//! Background-model detector benchmark (a plain timing loop, `harness = false`).
//!
//! Decodes the first 300 frames of `../shared/media/street-a.mp4` into memory, then times
//! semaforo's `bgsub` detector (mixture model, shadows, camera-drift tracking, morphology,
//! components, blob filter) on one thread, at its default half scale and at full scale, and in
//! the same run OpenCV's MOG2 pipeline in Python (`bench/opencv_bgsub.py`: MOG2, shadow
//! threshold, opening and closing, contours, boxes) at full and half scale, one thread.
//! Rounds alternate Rust and peer; medians are reported.
//!
//! Run with `cargo bench -p semaforo-vision --bench bgsub`; writes `BENCH_BGSUB.md`. With
//! `SEMAFORO_BENCH_OURS_ONLY=1` it times only semaforo's side (the median of 15 passes at the
//! default scale), writes nothing, and needs no Python: for comparing two builds of the
//! detector, run one after the other a few times.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

// One copy of the helpers, in semaforo-camera (whose decode bench uses them too).
#[path = "../../semaforo-camera/benches/support/mod.rs"]
mod support;

use std::time::Instant;

use semaforo_camera::{Frame, Pacing, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use semaforo_vision::{BackgroundSubtractor, BgSubOptions, Detector, ZoneSet};
use support::{clip, json_field, machine, median, report, run_python, script, today};

const FRAMES: usize = 300;
const ROUNDS: usize = 11;
/// Passes of our side alone with `SEMAFORO_BENCH_OURS_ONLY=1`.
const OURS_ONLY_PASSES: usize = 15;

/// One scale's figures over the rounds: our frames/s, the peer's, and each round's ratio (the
/// host's load moves both sides of a round alike, so the ratio per round is steadier).
struct Rounds {
    scale: u32,
    rust: Vec<f64>,
    opencv: Vec<f64>,
    ratios: Vec<f64>,
}

fn rust_pass(frames: &[Frame], scale: u32) -> f64 {
    let (w, h) = (frames[0].width, frames[0].height);
    let options = BgSubOptions {
        scale,
        fps: 59.94,
        ..BgSubOptions::default()
    };
    let mut detector =
        BackgroundSubtractor::new(w, h, &ZoneSet::whole_frame(w, h, "A"), options).unwrap();
    let mut out = Vec::new();
    let start = Instant::now();
    for frame in frames {
        detector.detect(frame, &mut out).unwrap();
    }
    frames.len() as f64 / start.elapsed().as_secs_f64()
}

fn peer(clip: &str, scale: u32) -> Result<(f64, String), String> {
    let scale = scale.to_string();
    let frames = FRAMES.to_string();
    let line = run_python(
        &script("opencv_bgsub.py"),
        &[
            "--input", clip, "--frames", &frames, "--scale", &scale, "--warmup", "1", "--passes",
            "1",
        ],
    )?;
    let fps = json_field(&line, "fps")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unexpected peer output {line:?}"))?;
    Ok((fps, json_field(&line, "version").unwrap_or("?").to_owned()))
}

fn main() {
    let Some(clip) = clip() else { return };
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(&clip, options).expect("open the clip");
    let frames: Vec<Frame> = (0..FRAMES)
        .map(|_| video.read().expect("a frame"))
        .collect();
    let clip_text = clip.display().to_string();
    let mut results: Vec<Rounds> = [2, 1]
        .iter()
        .map(|&scale| Rounds {
            scale,
            rust: Vec::new(),
            opencv: Vec::new(),
            ratios: Vec::new(),
        })
        .collect();
    let mut version = String::from("?");
    let mut peer_error = None;
    rust_pass(&frames, 2); // warm-up
    if std::env::var_os("SEMAFORO_BENCH_OURS_ONLY").is_some() {
        // Only our side, to compare two builds of the detector: run their bench binaries in
        // turn (target/release/deps/bgsub-*), as the host's load moves from minute to minute.
        let mut passes: Vec<f64> = (0..OURS_ONLY_PASSES)
            .map(|_| rust_pass(&frames, 2))
            .collect();
        eprintln!(
            "semaforo bgsub at 320x176: median {:.0} frames/s over {OURS_ONLY_PASSES} passes",
            median(&mut passes)
        );
        return;
    }
    for round in 1..=ROUNDS {
        for rounds in &mut results {
            let scale = rounds.scale;
            let fps = rust_pass(&frames, scale);
            rounds.rust.push(fps);
            match peer(&clip_text, scale) {
                Ok((p, v)) => {
                    eprintln!(
                        "round {round}, scale {scale}: semaforo {fps:.0} frames/s, OpenCV {p:.0}"
                    );
                    rounds.opencv.push(p);
                    rounds.ratios.push(fps / p);
                    version = v;
                }
                Err(e) => {
                    eprintln!("round {round}, scale {scale}: semaforo {fps:.0} frames/s, peer unavailable: {e}");
                    peer_error = Some(e);
                }
            }
        }
    }
    let (model, cpus) = machine();
    let mut md = String::from("## Background-model detector (bgsub): street-a.mp4, one thread\n\n");
    md += &format!(
        "Machine: {model}, {cpus} CPUs (shared with other work while measured); {}. \
         {FRAMES} frames of 640x352, decoded beforehand; median of {ROUNDS} alternating rounds.\n\n",
        today()
    );
    md += "| pipeline | processed at | frames/s | ms/frame | ratio |\n|---|---|---:|---:|---:|\n";
    let mut spread = String::new();
    for Rounds {
        scale,
        rust,
        opencv,
        ratios,
    } in &mut results
    {
        let size = format!("{}x{}", 640 / *scale, 352 / *scale);
        let r = median(rust);
        if opencv.is_empty() {
            md += &format!(
                "| semaforo bgsub | {size} | {r:.0} | {:.2} | peer unavailable |\n",
                1e3 / r
            );
            continue;
        }
        let p = median(opencv);
        md += &format!(
            "| semaforo bgsub (mixture + shadows + drift tracking + morphology + components) | {size} | {r:.0} | {:.2} | **{:.2}x** |\n",
            1e3 / r,
            r / p
        );
        md += &format!(
            "| OpenCV {version} MOG2 + threshold + open/close + contours, 1 thread (peer) | {size} | {p:.0} | {:.2} | 1 |\n",
            1e3 / p
        );
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        spread += &format!(
            "\nAt {size}, the ratio of each round: median **{:.2}x**, from {lo:.2}x to {hi:.2}x.\n",
            median(ratios)
        );
    }
    md += &spread;
    if let Some(e) = peer_error {
        md += &format!("\nOpenCV peer unavailable: {e} (pip install opencv-python-headless).\n");
    }
    report("BENCH_BGSUB.md", &md);
}
