//! JPEG encoders for the dashboard's live snapshots (a plain timing loop, `harness = false`).
//!
//! The dashboard will show annotated snapshots of 2–4 cameras at 5 frames/s each, 640x480 and
//! 1280x720 RGB, at the frame store's quality 85 (4:2:0): up to 20 encodes a second. This
//! bench times the encoders that could do it on the same frames, one encode at a time, in
//! rounds that rotate the encoders' order so the shared machine's drift hits all of them:
//!
//! - `semaforo_resources::encode_jpeg` (what the frame store writes: MozJPEG 4 through the
//!   `mozjpeg` crate, at libjpeg's v6 defaults);
//! - `jpeg-encoder` 0.7 with its `simd` feature (AVX2 chosen at run time), 4:2:0 box-averaged
//!   chroma as libjpeg does: the fastest pure-Rust encoder, which needs no C compiler.
//!
//! The comparison that chose MozJPEG (against the project's former own encoder and
//! libjpeg-turbo 3.1 through the `turbojpeg` crate) is in BENCHMARKS.md; its bench is this
//! file at commit 8f65c96 (features `turbojpeg-peer`, `mozjpeg-peer`). libjpeg-turbo cannot
//! be linked beside MozJPEG (the same C symbols), so it is not a peer here any more; the
//! `frame_store` bench still runs it as OpenCV's `imencode`.
//!
//! Frames: the synthetic road scene of the tests (sensor noise everywhere, a hard case) and,
//! when `ffmpeg` and `../shared/media/street-a.mp4` are there, 8 frames spread over that clip,
//! scaled by ffmpeg to each size (the clip is 640x352, so its 1280x720 frames are upscaled and
//! smoother than a native 720p camera's). Every frame gets a few annotation boxes, as the
//! dashboard's snapshots will. Frames live in a temporary directory and are deleted after.
//!
//! Reports per encoder and frame set: median and 95th-percentile milliseconds per encode,
//! mean bytes, and PSNR against the source (decoded with `zune-jpeg`, all three channels).
//! Prints a Markdown section and writes it to `crates/semaforo-resources/BENCH_JPEG.md`.
//! Run with `cargo bench -p semaforo-resources --bench jpeg_encoders`.

#![allow(clippy::unwrap_used)] // a bench: an unwrap that fails stops it at its line

#[path = "../tests/common/scene.rs"]
mod scene;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use semaforo_resources::{encode_jpeg, ImageRef, PixelFormat};
use semaforo_testkit::{machine, today};

const QUALITY: u8 = 85;
/// Timed encodes per encoder and frame set (spread evenly over the set's frames).
const SAMPLES: usize = 240;
const REAL_FRAMES: usize = 8;
/// The dashboard's worst case: 4 cameras at 5 frames/s.
const ENCODES_PER_SECOND: f64 = 20.0;

struct FrameSet {
    name: String,
    width: usize,
    height: usize,
    frames: Vec<Vec<u8>>,
}

/// One candidate encoder.
enum Encoder {
    Ours,
    JpegEncoderCrate,
}

impl Encoder {
    fn all() -> Vec<Encoder> {
        vec![Encoder::Ours, Encoder::JpegEncoderCrate]
    }

    fn name(&self) -> &'static str {
        match self {
            Encoder::Ours => "semaforo `encode_jpeg` (MozJPEG 4 via `mozjpeg` 0.10)",
            Encoder::JpegEncoderCrate => "`jpeg-encoder` 0.7 (simd: AVX2)",
        }
    }

    /// Encodes RGB `pixels` into `out` (replacing its contents), as the product would: the
    /// result ends up in a `Vec<u8>`.
    fn encode(&mut self, pixels: &[u8], width: usize, height: usize, out: &mut Vec<u8>) {
        match self {
            Encoder::Ours => {
                let image = ImageRef::new(width as u32, height as u32, PixelFormat::Rgb8, pixels)
                    .expect("frame");
                encode_jpeg(image, QUALITY, out).expect("encode");
            }
            Encoder::JpegEncoderCrate => {
                out.clear();
                let mut e = jpeg_encoder::Encoder::new(&mut *out, QUALITY);
                e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
                e.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
                e.encode(
                    pixels,
                    width as u16,
                    height as u16,
                    jpeg_encoder::ColorType::Rgb,
                )
                .expect("encode");
            }
        }
    }
}

/// Box outlines 2 px wide in saturated colours, where the dashboard draws detections.
fn annotate(rgb: &mut [u8], width: usize, height: usize) {
    let boxes = [
        (0.10, 0.55, 0.28, 0.80, [255, 220, 0]),
        (0.35, 0.45, 0.50, 0.62, [0, 255, 0]),
        (0.55, 0.60, 0.78, 0.92, [255, 0, 0]),
        (0.70, 0.35, 0.82, 0.48, [0, 200, 255]),
    ];
    for (x0, y0, x1, y1, colour) in boxes {
        let (x0, x1) = ((x0 * width as f64) as usize, (x1 * width as f64) as usize);
        let (y0, y1) = ((y0 * height as f64) as usize, (y1 * height as f64) as usize);
        for y in y0..y1 {
            for x in x0..x1 {
                let edge = y < y0 + 2 || y + 2 >= y1 || x < x0 + 2 || x + 2 >= x1;
                if edge {
                    let i = (y * width + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
    }
}

fn read_ppm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).expect("read a dumped frame");
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P6", "{} is not a binary PPM", path.display());
    let width: usize = fields[1].parse().expect("PPM width");
    let height: usize = fields[2].parse().expect("PPM height");
    let pixels = bytes[pos + 1..].to_vec();
    assert_eq!(pixels.len(), width * height * 3, "{}", path.display());
    (width, height, pixels)
}

/// `REAL_FRAMES` frames spread over the clip, scaled to `width`x`height`, or why not.
fn street_frames(
    clip: &Path,
    tmp: &Path,
    width: usize,
    height: usize,
) -> Result<Vec<Vec<u8>>, String> {
    if !clip.exists() {
        return Err(format!("{} is missing", clip.display()));
    }
    let dir = tmp.join(format!("street_{width}x{height}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(clip)
        .args(["-an", "-vf"])
        .arg(format!("select=not(mod(n\\,130)),scale={width}:{height}"))
        .args([
            "-fps_mode",
            "passthrough",
            "-frames:v",
            &REAL_FRAMES.to_string(),
        ])
        .arg(dir.join("f_%02d.ppm"))
        .status()
        .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
    if !status.success() {
        return Err(format!("ffmpeg failed ({status})"));
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    Ok(paths
        .iter()
        .map(|p| {
            let (w, h, mut px) = read_ppm(p);
            assert_eq!((w, h), (width, height));
            annotate(&mut px, w, h);
            px
        })
        .collect())
}

fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = zune_jpeg::JpegDecoder::new(Cursor::new(jpeg.to_vec()));
    let px = d.decode().expect("the output decodes");
    let (w, h) = d.dimensions().expect("dimensions");
    (w, h, px)
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Row {
    median_ms: f64,
    p95_ms: f64,
    bytes: f64,
    psnr_db: f64,
}

/// Times every encoder on `set`, rotating which goes first in each pass over the frames.
fn measure(set: &FrameSet, encoders: &mut [Encoder]) -> Vec<Row> {
    let mut out = Vec::new();
    let mut quality = Vec::new();
    for e in encoders.iter_mut() {
        let (mut bytes, mut db) = (0.0, 0.0);
        for frame in &set.frames {
            e.encode(frame, set.width, set.height, &mut out);
            let (w, h, px) = decode(&out);
            assert_eq!((w, h), (set.width, set.height), "{}", e.name());
            bytes += out.len() as f64;
            db += psnr(frame, &px);
        }
        let n = set.frames.len() as f64;
        quality.push((bytes / n, db / n));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); encoders.len()];
    let passes = SAMPLES.div_ceil(set.frames.len());
    for pass in 0..passes {
        for frame in &set.frames {
            for k in 0..encoders.len() {
                let i = (k + pass) % encoders.len();
                let start = Instant::now();
                encoders[i].encode(frame, set.width, set.height, &mut out);
                times[i].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    times
        .iter_mut()
        .zip(quality)
        .map(|(t, (bytes, psnr_db))| Row {
            median_ms: percentile(t, 0.5),
            p95_ms: percentile(t, 0.95),
            bytes,
            psnr_db,
        })
        .collect()
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let clip = manifest.join("../../../shared/media/street-a.mp4");
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut sets = Vec::new();
    let mut notes = Vec::new();
    for (width, height) in [(640, 480), (1280, 720)] {
        let mut synthetic = scene::road_scene(width, height);
        annotate(&mut synthetic, width, height);
        sets.push(FrameSet {
            name: "synthetic road scene".into(),
            width,
            height,
            frames: vec![synthetic],
        });
        match street_frames(&clip, tmp.path(), width, height) {
            Ok(frames) => sets.push(FrameSet {
                name: format!("street-a.mp4, {} frames", frames.len()),
                width,
                height,
                frames,
            }),
            Err(e) => notes.push(format!(
                "street-a.mp4 frames at {width}x{height} not measured: {e}."
            )),
        }
    }
    drop(tmp);

    let mut encoders = Encoder::all();
    for e in &mut encoders {
        let mut out = Vec::new();
        for _ in 0..10 {
            e.encode(&sets[0].frames[0], sets[0].width, sets[0].height, &mut out);
        }
    }

    let (cpu, cpus) = machine();
    let mut md = String::from("## JPEG encoders for live snapshots (`semaforo-resources`)\n\n");
    md += &format!(
        "Machine: {cpu}, {cpus} CPUs (shared with other work while measured). Date: {}. \
         `cargo bench -p semaforo-resources --bench jpeg_encoders`.\n\n\
         Quality {QUALITY}, 4:2:0, baseline, RGB in, bytes in a `Vec<u8>` out, one thread. \
         {SAMPLES} timed encodes per encoder and frame set, the encoders' order rotating every \
         pass. PSNR: decoded with `zune-jpeg`, against the source, mean over the set's frames. \
         Load: {ENCODES_PER_SECOND} encodes/s (4 cameras at 5 frames/s) at the median time, \
         in % of one core.\n\n",
        today()
    );
    md += "| frames | size | encoder | median ms | p95 ms | bytes | PSNR dB | load % | median ÷ ours |\n";
    md += "|---|---|---|---:|---:|---:|---:|---:|---:|\n";
    for set in &sets {
        let rows = measure(set, &mut encoders);
        for (e, r) in encoders.iter().zip(&rows) {
            md += &format!(
                "| {} | {}x{} | {} | {:.3} | {:.3} | {:.0} | {:.2} | {:.1} | {:.2} |\n",
                set.name,
                set.width,
                set.height,
                e.name(),
                r.median_ms,
                r.p95_ms,
                r.bytes,
                r.psnr_db,
                r.median_ms * ENCODES_PER_SECOND / 10.0,
                r.median_ms / rows[0].median_ms,
            );
        }
        eprintln!("{}x{} {} done", set.width, set.height, set.name);
    }
    md += "\nSaturated colours, a flat 64x64 frame each, encoded and decoded:\n\n";
    for e in &mut encoders {
        let decoded: Vec<String> = [[255u8, 0, 0], [0, 0, 255], [255, 255, 0]]
            .iter()
            .map(|colour| {
                let pixels: Vec<u8> = colour.repeat(64 * 64);
                let mut out = Vec::new();
                e.encode(&pixels, 64, 64, &mut out);
                let (_, _, px) = decode(&out);
                format!("{colour:?} → {:?}", &px[..3])
            })
            .collect();
        md += &format!("- {}: {}\n", e.name(), decoded.join(", "));
    }
    for note in notes {
        md += &format!("\n{note}\n");
    }
    println!("{md}");
    let out = manifest.join("BENCH_JPEG.md");
    if let Err(e) = std::fs::write(&out, &md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
}
