//! Video-file decoding benchmark (a plain timing loop, `harness = false`).
//!
//! Decodes every frame of `../shared/media/street-a.mp4` (H.264 High, 640x352, 1038 frames)
//! to RGB on one thread through [`VideoFile`] with `pace=fast`, frames handed back for reuse
//! as a pipeline would, and in the same run OpenCV's `cv2.VideoCapture` (FFmpeg inside, one
//! thread) reading every frame to BGR via `bench/opencv_decode.py`. Rounds alternate Rust and
//! peer so machine drift hits both; medians are reported.
//!
//! Prints a Markdown section and writes it to `crates/semaforo-camera/BENCH_RESULTS.md`.
//! Run with `cargo bench -p semaforo-camera --bench decode`.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use semaforo_camera::{Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use support::{clip, json_field, machine, median, report, run_python, script, today};

const ROUNDS: usize = 5;

/// Frames per second decoding the whole file once.
fn rust_pass(path: &Path) -> (u64, f64) {
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let start = Instant::now();
    let mut video = VideoFile::open(path, options).expect("open the clip");
    let mut frames = 0u64;
    loop {
        match video.read() {
            Ok(frame) => {
                frames += 1;
                video.recycle(frame);
            }
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("decode failed: {e}"),
        }
    }
    (frames, frames as f64 / start.elapsed().as_secs_f64())
}

/// Frames per second decoding the whole file once through FFmpeg (feature `ffmpeg`).
#[cfg(feature = "ffmpeg")]
fn ffmpeg_pass(path: &Path) -> (u64, f64) {
    let requested = semaforo_camera::Requested {
        width: 640,
        height: 352,
        fps: 30.0,
    };
    let start = Instant::now();
    let mut source =
        semaforo_camera::Source::open(&format!("ffmpeg:{}", path.display()), requested)
            .expect("open the clip through FFmpeg");
    let mut frames = 0u64;
    loop {
        match source.read() {
            Ok(frame) => {
                frames += 1;
                source.recycle(frame);
            }
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("decode failed: {e}"),
        }
    }
    (frames, frames as f64 / start.elapsed().as_secs_f64())
}

#[cfg(not(feature = "ffmpeg"))]
fn ffmpeg_pass(_path: &Path) -> (u64, f64) {
    (0, 0.0)
}

struct Peer {
    fps: f64,
    frames: u64,
    version: String,
    threads_property: bool,
}

fn run_peer(script: &Path, clip: &Path) -> Result<Peer, String> {
    let line = run_python(
        script,
        &["--input", &clip.display().to_string(), "--passes", "1"],
    )?;
    let line = line.as_str();
    match (
        json_field(line, "fps").and_then(|v| v.parse().ok()),
        json_field(line, "frames").and_then(|v| v.parse().ok()),
    ) {
        (Some(fps), Some(frames)) => Ok(Peer {
            fps,
            frames,
            version: json_field(line, "version").unwrap_or("?").to_owned(),
            threads_property: json_field(line, "threads_property") == Some("true"),
        }),
        _ => Err(format!("unexpected peer output {line:?}")),
    }
}

fn nasm() -> bool {
    Command::new("nasm")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let Some(clip) = clip() else { return };
    let script = script("opencv_decode.py");

    rust_pass(&clip); // warm-up: page cache, allocator
    let (mut rust, mut peer_fps, mut via_ffmpeg) = (Vec::new(), Vec::new(), Vec::new());
    let (mut peer_info, mut peer_error) = (None, None);
    for round in 1..=ROUNDS {
        let (frames, fps) = rust_pass(&clip);
        assert_eq!(frames, 1038, "every frame decodes");
        rust.push(fps);
        if cfg!(feature = "ffmpeg") {
            let (frames, fps) = ffmpeg_pass(&clip);
            assert_eq!(frames, 1038, "every frame decodes through FFmpeg");
            eprintln!("round {round}: semaforo with the ffmpeg feature {fps:.0} frames/s");
            via_ffmpeg.push(fps);
        }
        match run_peer(&script, &clip) {
            Ok(p) => {
                eprintln!(
                    "round {round}: semaforo {fps:.0} frames/s, OpenCV {:.0}",
                    p.fps
                );
                peer_fps.push(p.fps);
                peer_info = Some(p);
            }
            Err(e) => {
                eprintln!("round {round}: semaforo {fps:.0} frames/s, peer unavailable: {e}");
                peer_error = Some(e);
            }
        }
    }

    let (model, cpus) = machine();
    let rust_fps = median(&mut rust);
    let mut md = String::from("# semaforo-camera benchmark results\n\n");
    md += "Written by `cargo bench -p semaforo-camera --bench decode`.\n\n";
    md += &format!(
        "Machine: {model}, {cpus} CPUs (shared with other work while measured); {}.\n\n",
        today()
    );
    md += "## Video-file decode: street-a.mp4 to RGB on one thread\n\n";
    md += "H.264 High profile with B-frames, 640x352, 1038 frames. Median of ";
    md += &format!("{ROUNDS} alternating rounds, each a whole pass over the file.\n\n");
    md += "| decoder | frames/s | ms/frame |\n|---|---:|---:|\n";
    md += &format!(
        "| semaforo `VideoFile` (OpenH264 0.9 + mp4 0.14, nasm: {}) | {rust_fps:.0} | {:.3} |\n",
        if nasm() { "yes" } else { "no, C fallback" },
        1e3 / rust_fps
    );
    let ffmpeg_fps = (!via_ffmpeg.is_empty()).then(|| median(&mut via_ffmpeg));
    if let Some(fps) = ffmpeg_fps {
        md += &format!(
            "| semaforo `ffmpeg:` source (feature `ffmpeg`: system FFmpeg via ffmpeg-next 9, 1 \
             thread, swscale bicubic to RGB) | {fps:.0} | {:.3} |\n",
            1e3 / fps
        );
    }
    match (&peer_info, peer_fps.is_empty()) {
        (Some(p), false) => {
            let peer = median(&mut peer_fps);
            md += &format!(
                "| OpenCV {} `cv2.VideoCapture` (FFmpeg, 1 thread{}) (peer) | {peer:.0} | {:.3} |\n\n",
                p.version,
                if p.threads_property {
                    ", CAP_PROP_N_THREADS=1"
                } else {
                    ""
                },
                1e3 / peer
            );
            assert_eq!(p.frames, 1038, "the peer read every frame");
            md += &format!(
                "Ratio semaforo / OpenCV: **{:.2}x** (goal: at least 1.5x).\n\n",
                rust_fps / peer
            );
            if let Some(fps) = ffmpeg_fps {
                md += &format!(
                    "Ratio with the `ffmpeg` feature / OpenCV: **{:.2}x** (goal: at least \
                     2.5x).\n\n",
                    fps / peer
                );
            }
            md += "Where the time goes (perf): OpenH264's CABAC entropy decoding and motion \
                   compensation; the YUV to RGB conversion (AVX2) is about 3%, container \
                   parsing and the AVCC to Annex B copy are negligible. FFmpeg's H.264 decoder \
                   (inside OpenCV) is simply faster per frame than OpenH264 on one thread, so \
                   the 1.5x goal is out of reach of the default build's decoder. The `ffmpeg` \
                   feature decodes with FFmpeg itself (Debian's 5.1 libraries), the same \
                   decoder OpenCV wraps (its own newer FFmpeg build): at best about 1x, so the \
                   2.5x goal cannot be met on one thread by either build.\n";
        }
        _ => {
            md += &format!(
                "\nOpenCV peer unavailable: {} (pip install opencv-python-headless).\n",
                peer_error.unwrap_or_else(|| "no result".into())
            );
        }
    }
    report("BENCH_RESULTS.md", &md);
}
