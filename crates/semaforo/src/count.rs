//! `semaforo count VIDEO`: detection and counting on a video file, offline, as fast as it can.
//!
//! Per frame it records each zone's figures (vehicles present, arrivals, by class) and the
//! detections; at the end it prints a summary, and writes JSON and CSV when asked, plus
//! annotated JPEG frames for a person to check the zones and the counts.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use semaforo_camera::{Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::{
    atomic_write_with, encode_jpeg, AtomicFile, CameraDevice, CameraProperty, Durability,
};
use semaforo_vision::detect::yolox::Runtime;
use semaforo_vision::{
    annotate, build_detector, AnalysisRate, Detector, DetectorKind, DetectorSettings,
    TrackerOptions, ZoneCounter, ZoneRole, ZoneSet,
};
use serde_json::{json, Value};

/// The approaches zones may name.
pub const APPROACHES: [&str; 2] = ["A", "B"];

/// The range of `--rate`, network runs a second (detection.rate's).
const MIN_RATE: f64 = 0.5;
const MAX_RATE: f64 = 60.0;

#[derive(Debug, clap::Args)]
pub struct CountArgs {
    /// The video file (MP4/MOV, H.264).
    pub video: PathBuf,
    /// Zones file (TOML, `[[zone]]` entries); without it the whole frame is one queue zone `all`.
    #[arg(long, value_name = "ZONES.toml")]
    pub zones: Option<PathBuf>,
    /// Detector: bgsub, yolox or auto.
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub detector: String,
    /// Least score of a YOLOX detection (0..1; default: detection.min_score, 0.3).
    #[arg(long, value_name = "S")]
    pub min_score: Option<f32>,
    /// The YOLOX model file (default: detection.model from the configuration, the
    /// environment's DETECTION_MODEL or `--set`, else models/yolox_nano.onnx).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// What runs the YOLOX network: tract, or onnxruntime (a build with the `onnxruntime`
    /// feature; tract when ONNX Runtime's library cannot be loaded, with a warning). Default:
    /// detection.runtime.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// ONNX Runtime's shared library (default: detection.onnxruntime_library, else
    /// ORT_DYLIB_PATH, else python3's onnxruntime wheel, else the system's libonnxruntime.so).
    #[arg(long, value_name = "FILE")]
    pub onnxruntime_library: Option<PathBuf>,
    /// Run the network (yolox, auto) this many times a second of video, on the frame due, and
    /// carry the vehicles on the frames between, as `run` does with detection.rate (default:
    /// every frame).
    #[arg(long, value_name = "HZ")]
    pub rate: Option<f64>,
    /// Write per-frame counts and detections, and the summary, as JSON.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write per-frame counts as CSV (one row per frame and zone).
    #[arg(long, value_name = "OUT")]
    pub csv: Option<PathBuf>,
    /// Write annotated frames (zones, boxes, track ids, counts) as JPEGs into this directory.
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
}

/// Zone figures accumulated over the run.
#[derive(Default)]
struct ZoneSummary {
    present_sum: u64,
    present_max: u32,
    arrivals: u64,
    occupancy: f64,
    by_class: BTreeMap<String, u64>,
    /// Sum of the covered share over the frames a background model measured it, and frames.
    covered_sum: f64,
    covered_frames: u64,
}

/// `semaforo count`: the detection settings its flags leave out come from the configuration
/// (file, environment, `--set`), as `run` reads them; a configuration error is exit code 2.
pub fn count(args: &CountArgs, sources: &crate::config::Sources) -> ExitCode {
    let config = match crate::commands::load_or_report(sources) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run(args, &config.detection) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CountArgs, configured: &crate::config::DetectionConfig) -> Result<(), String> {
    let kind = DetectorKind::parse(&args.detector).ok_or_else(|| {
        format!(
            "--detector {}: expected {}",
            args.detector,
            DetectorKind::NAMES
        )
    })?;
    let runtime = match &args.runtime {
        Some(text) => Runtime::parse(text)
            .ok_or_else(|| format!("--runtime {text}: expected {}", Runtime::NAMES))?,
        None => configured.runtime,
    };
    let min_score = args.min_score.unwrap_or(configured.min_score);
    // The configuration's model was checked when it was read; a flag's is checked here, so a
    // model that is not there is an error whichever way it was given (never a quiet fallback
    // to the shipped one).
    let model = match &args.model {
        Some(path) if !path.is_file() => {
            return Err(format!(
                "--model {}: no such file (expected the YOLOX-Nano ONNX model)",
                path.display()
            ))
        }
        Some(path) => Some(path.clone()),
        None => configured.model.clone(),
    };
    let onnxruntime_library = args
        .onnxruntime_library
        .clone()
        .or_else(|| configured.onnxruntime_library.clone());
    if !runtime.is_built_in() {
        return Err(format!(
            "--runtime {0}: this build of semaforo has no {0} backend; rebuild with \
             `--features {0}` (e.g. cargo build --release --features {0}), or use tract",
            runtime.name()
        ));
    }
    if !(0.0..=1.0).contains(&min_score) {
        return Err(format!(
            "--min-score {min_score}: expected a score from 0 to 1"
        ));
    }
    if let Some(hz) = args.rate {
        if !(hz.is_finite() && (MIN_RATE..=MAX_RATE).contains(&hz)) {
            return Err(format!(
                "--rate {hz}: expected {MIN_RATE} to {MAX_RATE} network runs a second"
            ));
        }
        if kind == DetectorKind::Bgsub {
            return Err(format!(
                "--rate {hz}: the background model (bgsub) learns from every frame and is what \
                 carries the vehicles between network runs; --rate is for yolox and auto"
            ));
        }
    }
    if let Some(dir) = &args.annotate {
        if dir
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mp4"))
        {
            return Err(format!(
                "--annotate {}: writing video is not supported; give a directory for JPEG frames",
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "--annotate {}: cannot create the directory: {e}",
                dir.display()
            )
        })?;
    }
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(&args.video, options).map_err(|e| e.to_string())?;
    let width = video.get(CameraProperty::FrameWidth).unwrap_or(0.0) as u32;
    let height = video.get(CameraProperty::FrameHeight).unwrap_or(0.0) as u32;
    let fps = video.get(CameraProperty::Fps).unwrap_or(15.0);
    let total = video
        .get(semaforo_camera::video::property::FRAME_COUNT)
        .unwrap_or(0.0) as u64;
    let zones = match &args.zones {
        Some(path) => ZoneSet::load(path, width, height, &APPROACHES).map_err(|e| e.to_string())?,
        None => ZoneSet::whole_frame(width, height, "A"),
    };
    let settings = DetectorSettings {
        model,
        min_score,
        runtime,
        onnxruntime_library,
        fps: fps as f32,
        background_beside: configured.background_beside,
        ..DetectorSettings::new(kind)
    };
    let built = build_detector(&settings, width, height, &zones).map_err(|e| e.to_string())?;
    if let Some(warning) = &built.fallback {
        eprintln!("warning: {warning}");
    }
    let mut detector = built.detector;
    let tracker = TrackerOptions::default();
    let min_hits = tracker.min_hits;
    let mut counter = ZoneCounter::new(zones.clone(), tracker);
    let mut detections = Vec::new();
    let mut rate = AnalysisRate::new(args.rate);
    let mut analysed = 0u64;
    // The JSON and the CSV are written frame by frame as they are counted (memory does not
    // grow with the video's length), and put in place whole when the count ends.
    let mut json_out = match &args.json {
        Some(path) => {
            let mut out = AtomicFile::create(path).map_err(|e| e.to_string())?;
            let head = json!({
                "video": args.video.display().to_string(),
                "detector": detector.name(),
                "width": width,
                "height": height,
                "fps": fps,
            })
            .to_string();
            // The header's fields, then the frames as they come, then the summary.
            let fields = head.strip_suffix('}').unwrap_or(&head);
            write!(out, "{fields},\"frames\":[").map_err(|e| written(path, e))?;
            Some(out)
        }
        None => None,
    };
    let mut csv_out = match &args.csv {
        Some(path) => {
            let mut out = AtomicFile::create(path).map_err(|e| e.to_string())?;
            out.write_all(
                b"frame,time_s,zone,approach,role,present,new_arrivals,arrivals,occupancy,covered,estimate\n",
            )
            .map_err(|e| written(path, e))?;
            Some(out)
        }
        None => None,
    };
    let mut summary: Vec<ZoneSummary> = counter
        .counts()
        .iter()
        .map(|_| ZoneSummary::default())
        .collect();
    let mut progress = Progress::new(total);
    let mut jpeg = Vec::new();
    let start = Instant::now();
    let mut index = 0u64;
    let mut truncated = None;
    loop {
        let mut frame = match video.read() {
            Ok(frame) => frame,
            Err(SourceError::EndOfStream { .. }) => break,
            // A file cut short: the frames that are there are counted, and the count says
            // where and why it stopped.
            Err(e @ SourceError::Truncated { .. }) => {
                truncated = Some(e.to_string());
                break;
            }
            Err(e) => return Err(format!("frame {index}: {e}")),
        };
        let time_s = index as f64 / fps;
        let ran = rate.due(Duration::from_secs_f64(time_s));
        if ran {
            detector
                .detect(&frame, &mut detections)
                .map_err(|e| format!("frame {index}: {e}"))?;
            analysed += 1;
            counter.update(&detections);
        } else {
            // Between two runs the detections of the last run are what was seen; a background
            // model beside the network keeps learning.
            detector
                .between(&frame)
                .map_err(|e| format!("frame {index}: {e}"))?;
            counter.carry();
        }
        let counts = counter.apply_cover_of(detector.as_ref());
        for (c, s) in counts.iter().zip(&mut summary) {
            s.present_sum += u64::from(c.present);
            s.present_max = s.present_max.max(c.present);
            s.arrivals = c.arrivals;
            s.occupancy = c.occupancy;
            if let Some(covered) = c.covered {
                s.covered_sum += f64::from(covered);
                s.covered_frames += 1;
            }
            if c.role == ZoneRole::Queue {
                for (class, n) in &c.by_class {
                    *s.by_class.entry(class.name().to_string()).or_insert(0) += n;
                }
            }
            if c.role == ZoneRole::Line {
                s.by_class = c
                    .by_class
                    .iter()
                    .map(|(k, v)| (k.name().to_string(), *v))
                    .collect();
            }
            if let Some(out) = &mut csv_out {
                writeln!(
                    out,
                    "{index},{time_s:.3},{},{},{},{},{},{},{:.4},{},{}",
                    c.zone,
                    c.approach.as_deref().unwrap_or(""),
                    c.role.name(),
                    c.present,
                    c.new_arrivals,
                    c.arrivals,
                    c.occupancy,
                    c.covered.map_or(String::new(), |v| format!("{v:.4}")),
                    c.estimate.map_or(String::new(), |v| format!("{v:.2}")),
                )
                .map_err(|e| written(out.path(), e))?;
            }
        }
        if let Some(out) = &mut json_out {
            let zones: serde_json::Map<String, Value> = counts
                .iter()
                .map(|c| {
                    let by_class: serde_json::Map<String, Value> = c
                        .by_class
                        .iter()
                        .map(|(k, v)| (k.name().to_string(), json!(v)))
                        .collect();
                    let mut zone = json!({
                        "role": c.role.name(),
                        "approach": c.approach,
                        "present": c.present,
                        "arrivals": c.new_arrivals,
                        "arrivals_total": c.arrivals,
                        "occupancy": round4(c.occupancy),
                        "by_class": by_class,
                    });
                    // What the background model measured, where there is one.
                    if let Some(covered) = c.covered {
                        zone["covered"] = json!(round4(f64::from(covered)));
                        zone["estimate"] = json!(c.estimate.map(|e| round4(f64::from(e))));
                    }
                    if let Some(source) = c.counted_by {
                        zone["counted_by"] = json!(source.name());
                    }
                    (c.zone.clone(), zone)
                })
                .collect();
            // A carried frame has no detections of its own.
            let seen = if ran { &detections[..] } else { &[] };
            let dets: Vec<Value> = seen
                .iter()
                .map(|d| {
                    json!({
                        "class": d.class.name(),
                        "score": round4(f64::from(d.score)),
                        "box": [round1(d.bbox.x1), round1(d.bbox.y1), round1(d.bbox.x2), round1(d.bbox.y2)],
                    })
                })
                .collect();
            let frame = json!({"index": index, "time_s": round4(time_s), "analysed": ran, "zones": zones, "detections": dets});
            let separator = if index == 0 { "" } else { "," };
            write!(out, "{separator}{frame}").map_err(|e| written(out.path(), e))?;
        }
        if let Some(dir) = &args.annotate {
            let counts = counts.to_vec();
            annotate::annotate(
                &mut frame,
                &zones,
                counter.tracker().tracks(),
                min_hits,
                &counts,
            );
            let image = frame.image().map_err(|e| format!("frame {index}: {e}"))?;
            encode_jpeg(image, 85, &mut jpeg).map_err(|e| format!("frame {index}: {e}"))?;
            let path = dir.join(format!("frame_{index:06}.jpg"));
            // One file per frame: an fsync each would cost more than the count itself.
            atomic_write_with(&path, &jpeg, Durability::RenameOnly).map_err(|e| e.to_string())?;
        }
        video.recycle(frame);
        index += 1;
        progress.update(index, start.elapsed().as_secs_f64());
    }
    progress.finish();
    if let Some(why) = &truncated {
        eprintln!("warning: {why}; the count covers those frames");
    }
    let seconds = start.elapsed().as_secs_f64();
    if index == 0 {
        return Err(format!("{}: no frame could be read", args.video.display()));
    }
    let mut summary_json = print_summary(
        args,
        &counter,
        &summary,
        (index, analysed),
        seconds,
        detector.as_ref(),
    );
    if let Some(why) = truncated {
        summary_json["truncated"] = json!(why);
    }
    if let Some(mut out) = json_out {
        write!(out, "],\"summary\":{summary_json}}}").map_err(|e| written(out.path(), e))?;
        let path = out.path().to_owned();
        out.commit().map_err(|e| e.to_string())?;
        println!("wrote {}", path.display());
    }
    if let Some(out) = csv_out {
        let path = out.path().to_owned();
        out.commit().map_err(|e| e.to_string())?;
        println!("wrote {}", path.display());
    }
    if let Some(dir) = &args.annotate {
        println!("wrote {index} annotated frames to {}", dir.display());
    }
    Ok(())
}

/// A write to an output file that failed, naming the file.
fn written(path: &std::path::Path, e: std::io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

fn print_summary(
    args: &CountArgs,
    counter: &ZoneCounter,
    summary: &[ZoneSummary],
    (frames, analysed): (u64, u64),
    seconds: f64,
    detector: &dyn Detector,
) -> Value {
    let usage = detector.usage();
    let cover = detector.cover().unwrap_or_default();
    let detector = detector.name();
    println!("video: {}", args.video.display());
    println!(
        "{frames} frames in {seconds:.2} s ({:.1} frames/s), detector {detector}",
        frames as f64 / seconds.max(1e-9)
    );
    if let Some(hz) = args.rate {
        println!(
            "the detector ran {hz} times a second of video: on {analysed} of {frames} frames; \
             the tracker carried the vehicles on the others"
        );
    }
    if let Some((seen, ran)) = usage {
        println!(
            "the neural network ran on {ran} of {seen} frames ({:.1}%); the motion gate skipped the rest",
            100.0 * ran as f64 / seen.max(1) as f64
        );
    }
    let mut zones = serde_json::Map::new();
    for (c, s) in counter.counts().iter().zip(summary) {
        let mean = s.present_sum as f64 / frames as f64;
        let classes = s
            .by_class
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        match c.role {
            ZoneRole::Line => println!(
                "  {} (line, approach {}): {} arrivals [{classes}]",
                c.zone,
                c.approach.as_deref().unwrap_or("-"),
                s.arrivals
            ),
            _ => println!(
                "  {} (queue, approach {}): mean {mean:.2} present, max {}, occupied {:.1}% of frames",
                c.zone,
                c.approach.as_deref().unwrap_or("-"),
                s.present_max,
                100.0 * s.occupancy
            ),
        }
        let mut zone = json!({
            "role": c.role.name(),
            "approach": c.approach,
            "mean_present": round4(mean),
            "max_present": s.present_max,
            "arrivals": s.arrivals,
            "occupancy": round4(s.occupancy),
            "by_class": s.by_class,
        });
        if s.covered_frames > 0 {
            let mean_covered = s.covered_sum / s.covered_frames as f64;
            println!(
                "    the background model saw {:.1}% of it covered on average",
                100.0 * mean_covered
            );
            zone["mean_covered"] = json!(round4(mean_covered));
        }
        if let Some(z) = cover.iter().find(|z| z.zone == c.zone && z.compared > 0) {
            println!(
                "    against the network on {} frames both ran, its count was within one vehicle \
                 by its blobs on {:.0}% (of the last couple of hundred), by its covered area on \
                 {:.0}%: alone, it would count by its {}",
                z.compared,
                100.0 * z.blobs_agree,
                100.0 * z.estimate_agree,
                z.source.name()
            );
            zone["background_model"] = json!({
                "compared": z.compared,
                "blobs_within_one": round4(f64::from(z.blobs_agree)),
                "estimate_within_one": round4(f64::from(z.estimate_agree)),
                "counts_by": z.source.name(),
            });
        }
        zones.insert(c.zone.clone(), zone);
    }
    json!({
        "frames": frames,
        "seconds": round4(seconds),
        "frames_per_second": round4(frames as f64 / seconds.max(1e-9)),
        "analysed": analysed,
        "rate": args.rate,
        "inferences": usage.map_or(analysed, |u| u.1),
        "zones": zones,
    })
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn round1(v: f32) -> f64 {
    (f64::from(v) * 10.0).round() / 10.0
}

/// A progress line on standard error: a bar on a terminal, a line every 10% otherwise.
struct Progress {
    total: u64,
    terminal: bool,
    last_shown: f64,
    last_decile: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        Progress {
            total,
            terminal: std::io::stderr().is_terminal(),
            last_shown: -1.0,
            last_decile: 0,
        }
    }

    fn update(&mut self, done: u64, seconds: f64) {
        let fps = done as f64 / seconds.max(1e-9);
        let share = if self.total > 0 {
            (done as f64 / self.total as f64).min(1.0)
        } else {
            0.0
        };
        if self.terminal {
            if seconds - self.last_shown < 0.2 {
                return;
            }
            self.last_shown = seconds;
            let filled = (share * 30.0) as usize;
            let bar = format!("{}{}", "=".repeat(filled), " ".repeat(30 - filled));
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r[{bar}] {done}/{} frames {:>3.0}% {fps:>6.1} frames/s",
                self.total,
                share * 100.0
            );
            let _ = err.flush();
        } else {
            let decile = (share * 10.0) as u64;
            if decile > self.last_decile {
                self.last_decile = decile;
                eprintln!(
                    "{done}/{} frames ({:.0}%), {fps:.1} frames/s",
                    self.total,
                    share * 100.0
                );
            }
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
