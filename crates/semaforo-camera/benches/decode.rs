//! Video-file decoding benchmark (a plain timing loop, `harness = false`).
//!
//! Decodes every frame of `../shared/media/street-a.mp4` (H.264 High, 640x352, 1038 frames)
//! to RGB on one thread through [`VideoFile`] with `pace=fast`, frames handed back for reuse
//! as a pipeline would, and in the same run OpenCV's `cv2.VideoCapture` (FFmpeg inside, one
//! thread) reading every frame to BGR via `bench/opencv_decode.py`. Rounds alternate Rust and
//! peer so machine drift hits both; medians are reported. Each side's clock runs from its first
//! read to the end of the file (the open excluded, as the peer times it), and each also counts
//! the CPU time of its decoding thread, which other work on the machine disturbs less.
//!
//! With `--features ffmpeg`, the `ffmpeg:` source joins the 640x352 rounds, and a 1920x1056
//! copy of street-a made with `ffmpeg` (libx264) in a temporary directory is decoded with one
//! thread and with 2 frame threads (`threads=2`), against OpenCV with 1 and 2 threads.
//!
//! Prints a Markdown section and writes it to `crates/semaforo-camera/BENCH_RESULTS.md`.
//! Run with `cargo bench -p semaforo-camera --bench decode [--features ffmpeg]`.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use semaforo_camera::{Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use support::{clip, json_field, machine, median, report, run_python, script, today};

const ROUNDS: usize = 5;

/// One whole pass over a file: frames, frames per second of the wall clock, per CPU-second
/// of the reading thread, and per CPU-second of the whole process (decoder threads included).
#[derive(Debug, Clone, Copy)]
struct Pass {
    frames: u64,
    fps: f64,
    cpu_fps: f64,
    process_cpu_fps: f64,
}

/// The CPU time `clock` (`CLOCK_THREAD_CPUTIME_ID` or `CLOCK_PROCESS_CPUTIME_ID`) has counted.
fn cpu(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration, and both clocks
    // this bench asks for are ones every Linux has.
    let status = unsafe { libc::clock_gettime(clock, &mut now) };
    assert_eq!(status, 0, "clock_gettime({clock})");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn thread_cpu() -> Duration {
    cpu(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn process_cpu() -> Duration {
    cpu(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Reads `source` to its end, handing frames back, and times it.
fn timed_pass<S: CameraDevice<Frame = semaforo_camera::Frame, Error = SourceError>>(
    source: &mut S,
    recycle: impl Fn(&mut S, semaforo_camera::Frame),
) -> Pass {
    let (start, cpu_start, process_start) = (Instant::now(), thread_cpu(), process_cpu());
    let mut frames = 0u64;
    loop {
        match source.read() {
            Ok(frame) => {
                frames += 1;
                recycle(source, frame);
            }
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("decode failed: {e}"),
        }
    }
    let (wall, cpu) = (start.elapsed(), thread_cpu() - cpu_start);
    let process = process_cpu() - process_start;
    Pass {
        frames,
        fps: frames as f64 / wall.as_secs_f64(),
        cpu_fps: frames as f64 / cpu.as_secs_f64(),
        process_cpu_fps: frames as f64 / process.as_secs_f64(),
    }
}

/// The default build's decoder: OpenH264 through [`VideoFile`].
fn rust_pass(path: &Path) -> Pass {
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(path, options).expect("open the clip");
    timed_pass(&mut video, |v, f| v.recycle(f))
}

/// `uri` through the `ffmpeg:` source (feature `ffmpeg`).
#[cfg(feature = "ffmpeg")]
fn ffmpeg_pass(uri: &str) -> Pass {
    let requested = semaforo_camera::Requested {
        width: 640,
        height: 352,
        fps: 30.0,
    };
    let mut source =
        semaforo_camera::Source::open(uri, requested).expect("open the clip through FFmpeg");
    timed_pass(&mut source, |s, f| s.recycle(f))
}

#[cfg(not(feature = "ffmpeg"))]
fn ffmpeg_pass(_uri: &str) -> Pass {
    Pass {
        frames: 0,
        fps: 0.0,
        cpu_fps: 0.0,
        process_cpu_fps: 0.0,
    }
}

struct Peer {
    pass: Pass,
    version: String,
    threads_property: bool,
}

fn run_peer(script: &Path, clip: &Path, threads: usize) -> Result<Peer, String> {
    let line = run_python(
        script,
        &[
            "--input",
            &clip.display().to_string(),
            "--passes",
            "1",
            "--threads",
            &threads.to_string(),
        ],
    )?;
    let line = line.as_str();
    let number = |key| json_field(line, key).and_then(|v| v.parse().ok());
    match (
        number("fps"),
        number("cpu_fps"),
        number("process_cpu_fps"),
        number("frames"),
    ) {
        (Some(fps), Some(cpu_fps), Some(process_cpu_fps), Some(frames)) => Ok(Peer {
            pass: Pass {
                frames: frames as u64,
                fps,
                cpu_fps,
                process_cpu_fps,
            },
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

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The passes of one decoder over the rounds.
#[derive(Default)]
struct Series(Vec<Pass>);

impl Series {
    fn median_fps(&self) -> f64 {
        median(&mut self.0.iter().map(|p| p.fps).collect::<Vec<_>>())
    }
    fn median_cpu_fps(&self) -> f64 {
        median(&mut self.0.iter().map(|p| p.cpu_fps).collect::<Vec<_>>())
    }
    fn median_process_cpu_fps(&self) -> f64 {
        median(&mut self.0.iter().map(|p| p.process_cpu_fps).collect::<Vec<_>>())
    }
    /// Each round's frames/s over `peer`'s in the same round.
    fn ratios(&self, peer: &Series) -> String {
        let ratios: Vec<_> = (self.0.iter().zip(&peer.0))
            .map(|(a, b)| format!("{:.2}", a.fps / b.fps))
            .collect();
        ratios.join(", ")
    }
    /// A table row; `threaded`: the decoder runs threads of its own, so the CPU column counts
    /// the whole process.
    fn row(&self, name: &str, threaded: bool) -> String {
        let fps = self.median_fps();
        let cpu = if threaded {
            format!("{:.0} (whole process)", self.median_process_cpu_fps())
        } else {
            format!("{:.0}", self.median_cpu_fps())
        };
        format!("| {name} | {fps:.0} | {:.3} | {cpu} |\n", 1e3 / fps)
    }
}

const TABLE_HEAD: &str = "| decoder | frames/s | ms/frame | frames per CPU-second of the \
                          decoding thread |\n|---|---:|---:|---:|\n";

/// street-a scaled to 1920x1056 (a multiple of 16 rows near 1080, as cameras' 1080p is coded)
/// by libx264 into `dir`, or why not.
#[cfg(feature = "ffmpeg")]
fn large_copy(clip: &Path, dir: &Path) -> Result<std::path::PathBuf, String> {
    let out = dir.join("street-a-1080p.mp4");
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(clip)
        .args([
            "-vf",
            "scale=1920:1056",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-an",
        ])
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "ffmpeg could not make the 1080p copy: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(out)
}

/// The 1080p rounds: the `ffmpeg:` source with 1 and 2 threads against OpenCV with 1 and 2.
#[cfg(feature = "ffmpeg")]
fn large_rounds(clip: &Path, script: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let large = match large_copy(clip, dir.path()) {
        Ok(path) => path,
        Err(e) => return format!("\n1080p rounds skipped: {e}.\n"),
    };
    let encode = started.elapsed();
    let uri = |threads: &str| format!("ffmpeg:{}?threads={threads}", large.display());
    ffmpeg_pass(&uri("1")); // warm-up: page cache
    let (mut one, mut two, mut auto) = (Series::default(), Series::default(), Series::default());
    let (mut peer_one, mut peer_two) = (Series::default(), Series::default());
    let mut peer_version = String::from("?");
    for round in 1..=ROUNDS {
        for (threads, series) in [("1", &mut one), ("2", &mut two), ("auto", &mut auto)] {
            let pass = ffmpeg_pass(&uri(threads));
            assert_eq!(
                pass.frames, 1038,
                "every 1080p frame decodes (threads={threads})"
            );
            series.0.push(pass);
        }
        for (threads, series) in [(1, &mut peer_one), (2, &mut peer_two)] {
            match run_peer(script, &large, threads) {
                Ok(p) => {
                    series.0.push(p.pass);
                    peer_version = p.version;
                }
                Err(e) => {
                    return format!("\n1080p rounds stopped: OpenCV peer unavailable: {e}.\n")
                }
            }
        }
        eprintln!(
            "1080p round {round}: semaforo ffmpeg 1 thread {:.0} frames/s, 2 frame threads {:.0}, \
             auto {:.0}; OpenCV 1 thread {:.0}, 2 threads {:.0}",
            one.0[round - 1].fps,
            two.0[round - 1].fps,
            auto.0[round - 1].fps,
            peer_one.0[round - 1].fps,
            peer_two.0[round - 1].fps,
        );
    }
    let mut md = String::from("## Video-file decode at 1080p: FFmpeg's frame threading\n\n");
    md += &format!(
        "street-a scaled to 1920x1056 by libx264 (`-preset veryfast`, High profile with \
         B-frames, 1038 frames; made in a temporary directory in {:.0} s). Median of {ROUNDS} \
         alternating rounds.\n\n",
        encode.as_secs_f64()
    );
    md += TABLE_HEAD;
    md += &one.row("semaforo `ffmpeg:` source, `threads=1`", false);
    md += &two.row(
        "semaforo `ffmpeg:` source, `threads=2` (FFmpeg frame threads)",
        true,
    );
    md += &auto.row(
        "semaforo `ffmpeg:` source, `threads=auto` (the default: 2 at 1080p)",
        true,
    );
    md += &peer_one.row(&format!("OpenCV {peer_version}, 1 thread (peer)"), false);
    md += &peer_two.row(&format!("OpenCV {peer_version}, 2 threads (peer)"), true);
    md += &format!(
        "\nRatios in the same run: `threads=1` / OpenCV 1 thread **{:.2}x** (rounds: {}); \
         `threads=2` / OpenCV 2 threads **{:.2}x** (rounds: {}); `threads=2` / `threads=1` \
         **{:.2}x** (rounds: {}), at {:.2}x the CPU time a frame. Frame threads gain only \
         where a core is free: this machine's other work shows in the rounds.\n",
        one.median_fps() / peer_one.median_fps(),
        one.ratios(&peer_one),
        two.median_fps() / peer_two.median_fps(),
        two.ratios(&peer_two),
        two.median_fps() / one.median_fps(),
        two.ratios(&one),
        one.median_cpu_fps() / two.median_process_cpu_fps(),
    );
    md
}

#[cfg(not(feature = "ffmpeg"))]
fn large_rounds(_clip: &Path, _script: &Path) -> String {
    String::new()
}

fn main() {
    let Some(clip) = clip() else { return };
    let script = script("opencv_decode.py");
    let load_before = load();

    rust_pass(&clip); // warm-up: page cache, allocator
    let (mut rust, mut via_ffmpeg, mut peer) =
        (Series::default(), Series::default(), Series::default());
    let (mut peer_info, mut peer_error) = (None, None);
    let ffmpeg_uri = format!("ffmpeg:{}", clip.display());
    for round in 1..=ROUNDS {
        let pass = rust_pass(&clip);
        assert_eq!(pass.frames, 1038, "every frame decodes");
        rust.0.push(pass);
        if cfg!(feature = "ffmpeg") {
            let pass = ffmpeg_pass(&ffmpeg_uri);
            assert_eq!(pass.frames, 1038, "every frame decodes through FFmpeg");
            eprintln!(
                "round {round}: semaforo with the ffmpeg feature {:.0} frames/s",
                pass.fps
            );
            via_ffmpeg.0.push(pass);
        }
        match run_peer(&script, &clip, 1) {
            Ok(p) => {
                eprintln!(
                    "round {round}: semaforo {:.0} frames/s, OpenCV {:.0}",
                    pass.fps, p.pass.fps
                );
                peer.0.push(p.pass);
                peer_info = Some(p);
            }
            Err(e) => {
                eprintln!(
                    "round {round}: semaforo {:.0} frames/s, peer unavailable: {e}",
                    pass.fps
                );
                peer_error = Some(e);
            }
        }
    }
    let large = match peer_info {
        Some(_) => large_rounds(&clip, &script),
        None => String::new(),
    };

    let (model, cpus) = machine();
    let rust_fps = rust.median_fps();
    let mut md = String::from("# semaforo-camera benchmark results\n\n");
    md += "Written by `cargo bench -p semaforo-camera --bench decode`.\n\n";
    md += &format!(
        "Machine: {model}, {cpus} CPUs (shared with other work while measured); {}; load \
         average {load_before} before the run, {} after.\n\n",
        today(),
        load()
    );
    md += "## Video-file decode: street-a.mp4 to RGB on one thread\n\n";
    md += "H.264 High profile with B-frames, 640x352, 1038 frames. Median of ";
    md += &format!("{ROUNDS} alternating rounds, each a whole pass over the file.\n\n");
    md += TABLE_HEAD;
    md += &rust.row(
        &format!(
            "semaforo `VideoFile` (OpenH264 0.9 + mp4 0.14, nasm: {})",
            if nasm() { "yes" } else { "no, C fallback" }
        ),
        false,
    );
    let with_ffmpeg = !via_ffmpeg.0.is_empty();
    if with_ffmpeg {
        md += &via_ffmpeg.row(
            "semaforo `ffmpeg:` source (feature `ffmpeg`: system FFmpeg via ffmpeg-next 9, 1 \
             thread, swscale bicubic to RGB)",
            false,
        );
    }
    match (&peer_info, peer.0.is_empty()) {
        (Some(p), false) => {
            let peer_fps = peer.median_fps();
            md += &peer.row(
                &format!(
                    "OpenCV {} `cv2.VideoCapture` (FFmpeg, 1 thread{}) (peer)",
                    p.version,
                    if p.threads_property {
                        ", CAP_PROP_N_THREADS=1"
                    } else {
                        ""
                    },
                ),
                false,
            );
            assert_eq!(p.pass.frames, 1038, "the peer read every frame");
            md += &format!(
                "\nRatio semaforo / OpenCV: **{:.2}x** (goal: at least 1.5x).\n\n",
                rust_fps / peer_fps
            );
            if with_ffmpeg {
                md += &format!(
                    "Ratio with the `ffmpeg` feature / OpenCV: **{:.2}x** (issue 19's goal: at \
                     least 0.95x); rounds: {}; per CPU-second of the decoding thread: \
                     {:.2}x.\n\n",
                    via_ffmpeg.median_fps() / peer_fps,
                    via_ffmpeg.ratios(&peer),
                    via_ffmpeg.median_cpu_fps() / peer.median_cpu_fps(),
                );
            }
            md += "Where the time goes (perf): OpenH264's CABAC entropy decoding and motion \
                   compensation; the YUV to RGB conversion (AVX2) is about 3%, container \
                   parsing and the AVCC to Annex B copy are negligible. FFmpeg's H.264 decoder \
                   (inside OpenCV) is simply faster per frame than OpenH264 on one thread, so \
                   the 1.5x goal is out of reach of the default build's decoder. The `ffmpeg` \
                   feature decodes with FFmpeg itself (Debian's 5.1 libraries), the same \
                   decoder OpenCV wraps (its own newer FFmpeg build), and converts with the \
                   same swscale path (SSSE3, unscaled): about 85% of its time is libavcodec, \
                   11% swscale, as in OpenCV.\n";
        }
        _ => {
            md += &format!(
                "\nOpenCV peer unavailable: {} (pip install opencv-python-headless).\n",
                peer_error.unwrap_or_else(|| "no result".into())
            );
        }
    }
    if !large.is_empty() {
        md += "\n";
        md += &large;
    }
    report("BENCH_RESULTS.md", &md);
}
