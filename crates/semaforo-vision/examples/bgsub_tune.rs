//! Replays the `bgsub` half of the agreement test (`tests/agreement.rs`) in about a second, to
//! try a change to the background model against YOLOX's counts without running the network:
//!
//! ```text
//! cargo run --release -p semaforo-vision --example bgsub_tune            # from the workspace root
//! V=1 ... (every disagreeing frame, with both detectors' boxes)
//! VT=25 MINA=0.001 HIST=300 SCALE=1 HOLD=60 WARM=5 ASPECT=4 ... (BgSubOptions overrides)
//! DUMP=600,724 ... (those frames with the boxes drawn, and the foreground mask, as PPM/PGM)
//! TRACKS=900,904 ... (bgsub's tracks after those frames)
//! MINIOU=0.3 MINHITS=3 MAXAGE=8 COAST=1 ESTABLISHED=5 COASTEST=4 ... (TrackerOptions overrides,
//! for both detectors)
//! ```
//!
//! The first run decodes every 4th frame of `../shared/media/street-a.mp4` (as the test does)
//! into `$TUNE_DIR` (default `target/bgsub-tune`) and runs YOLOX once over them, keeping its
//! boxes (and its count, which `V=1` compares with the count recomputed from the boxes, rounded
//! to whole pixels, through this run's tracker); later runs read both from there. The hand counts are read from the test's source, so both stay one.
//! It prints the share of analysed frames after the warm-up where `bgsub` is within one of
//! `yolox`, per 100 frames of the clip, and how many of the hand-counted frames it gets within
//! one of the eye, and a digest of every foreground mask and box `bgsub` produced (a change
//! meant to leave the output alone, such as a speed-up, must leave the digest alone).

#![allow(clippy::unwrap_used)] // a example: an unwrap that fails stops it at its line

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use semaforo_camera::{Frame, Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use semaforo_vision::detect::kinds::REGION_MARGIN;
use semaforo_vision::detect::yolox::{Yolox, YoloxOptions};
use semaforo_vision::{
    BBox, BackgroundSubtractor, BgSubOptions, Detection, Detector, ObjectClass, TrackerOptions,
    ZoneCounter, ZoneSet,
};

type Error = Box<dyn std::error::Error>;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 352;

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var_os("TUNE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bgsub-tune"));
    std::fs::create_dir_all(&dir)?;
    let zones = ZoneSet::load(
        &root.join("zones/street-a.toml"),
        WIDTH,
        HEIGHT,
        &["A", "B"],
    )?;
    let frames = frames(&root, &dir)?;
    let nn = yolox_lines(&dir, &zones, &frames)?;
    let hand = hand_counts(&root)?;
    let d = BgSubOptions::default();
    let options = BgSubOptions {
        fps: 15.0,
        var_threshold: setting("VT", d.var_threshold)?,
        min_area: setting("MINA", d.min_area)?,
        history: setting("HIST", d.history)?,
        scale: setting("SCALE", d.scale)?,
        hold_max_s: setting("HOLD", d.hold_max_s)?,
        warmup_s: setting("WARM", d.warmup_s)?,
        max_aspect: setting("ASPECT", d.max_aspect)?,
        ..d
    };
    let dump = frame_list("DUMP")?;
    let verbose = std::env::var_os("V").is_some();
    // TRACKS=900,904: bgsub's tracks after those frames.
    let trace = frame_list("TRACKS")?;
    let mut bgsub = BackgroundSubtractor::new(WIDTH, HEIGHT, &zones, options)?;
    let t = TrackerOptions::default();
    let tracker = TrackerOptions {
        min_iou: setting("MINIOU", t.min_iou)?,
        min_hits: setting("MINHITS", t.min_hits)?,
        max_age: setting("MAXAGE", t.max_age)?,
        coast: setting("COAST", t.coast)?,
        established: setting("ESTABLISHED", t.established)?,
        coast_established: setting("COASTEST", t.coast_established)?,
    };
    let mut nn_counter = ZoneCounter::new(zones.clone(), tracker.clone());
    let mut counter = ZoneCounter::new(zones, tracker);
    let mut dets = Vec::new();
    let (mut judged, mut within) = (0u32, 0u32);
    let (mut hand_near, mut hand_right) = (0u32, 0u32);
    let mut segments = std::collections::BTreeMap::<u64, (u32, u32)>::new();
    let mut digest = Digest::default();
    for (frame, (cached, boxes)) in frames.into_iter().zip(nn) {
        let index = frame.seq;
        // YOLOX's count again from its cached boxes, through this run's tracker settings.
        let count = nn_counter.update(&boxes)[0].present;
        if verbose && count != cached {
            println!("frame {index}: yolox {count} from the cached boxes, {cached} cached");
        }
        bgsub.detect(&frame, &mut dets)?;
        let b = counter.update(&dets)[0].present;
        digest.add(bgsub.foreground().0);
        for d in &dets {
            for v in [d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2, d.score] {
                digest.add(&v.to_le_bytes());
            }
        }
        if trace.contains(&index) {
            for t in counter.tracker().tracks() {
                println!(
                    "  {index} track {} hits {} misses {} box {}",
                    t.id, t.hits, t.misses, t.bbox
                );
            }
        }
        if let Some(&(_, low, high)) = hand.iter().find(|h| h.0 == index) {
            let miss = low.saturating_sub(b).max(b.saturating_sub(high));
            hand_near += u32::from(miss <= 1);
            hand_right += u32::from(miss == 0);
        }
        if dump.contains(&index) {
            write_dump(&dir, &frame, &dets, &boxes, &bgsub)?;
        }
        if index < 300 {
            continue; // the test's warm-up
        }
        let agrees = b.abs_diff(count) <= 1;
        judged += 1;
        within += u32::from(agrees);
        let segment = segments.entry((index / 100 * 100).min(900)).or_default();
        segment.0 += u32::from(agrees);
        segment.1 += 1;
        if verbose && !agrees {
            println!(
                "frame {index} bgsub {b} yolox {count} bg [{}] nn [{}]",
                format_boxes(&dets),
                format_boxes(&boxes)
            );
        }
    }
    let segments: Vec<String> = segments
        .iter()
        .map(|(from, (near, all))| format!("{from}:{near}/{all}"))
        .collect();
    println!(
        "agree {within}/{judged} = {:.1}%  hand {hand_near}/{} (in range {hand_right})  {}  digest {:016x}",
        100.0 * f64::from(within) / f64::from(judged.max(1)),
        hand.len(),
        segments.join(" "),
        digest.0
    );
    Ok(())
}

/// FNV-1a over bytes: enough to tell whether two runs produced the same output.
struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// An override from the environment, or the default.
fn setting<T: std::str::FromStr>(key: &str, default: T) -> Result<T, Error> {
    match std::env::var(key) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{key}={v}: not a number of the setting's type").into()),
        Err(_) => Ok(default),
    }
}

/// Frame numbers from the environment (`KEY=600,724`), none if unset.
fn frame_list(key: &str) -> Result<Vec<u64>, Error> {
    match std::env::var(key) {
        Ok(list) => list
            .split(',')
            .map(|f| {
                f.trim().parse().map_err(|_| {
                    format!("{key}={list}: expected frame numbers like 600,724").into()
                })
            })
            .collect(),
        Err(_) => Ok(Vec::new()),
    }
}

/// Every 4th frame of the clip (frames 0, 4, 8, ...: the test's analysed frames), `seq` set
/// to the frame's number in the clip; decoded once into `dir/frames.rgb`.
fn frames(root: &Path, dir: &Path) -> Result<Vec<Frame>, Error> {
    let cache = dir.join("frames.rgb");
    if !cache.exists() {
        let shared = std::env::var_os("SEMAFORO_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("../shared"));
        let clip = shared.join("media/street-a.mp4");
        let options = VideoFileOptions {
            looping: false,
            pacing: Pacing::AsFastAsPossible,
        };
        let mut video = VideoFile::open(&clip, options)
            .map_err(|e| format!("{}: {e} (the clip is in ../shared/media)", clip.display()))?;
        let mut raw = Vec::new();
        for index in 0u64.. {
            let frame = match video.read() {
                Ok(frame) => frame,
                Err(SourceError::EndOfStream { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            if index % 4 == 0 {
                raw.extend_from_slice(&frame.rgb);
            }
            video.recycle(frame);
        }
        std::fs::write(&cache, raw)?;
    }
    let raw = std::fs::read(&cache)?;
    let size = (WIDTH * HEIGHT * 3) as usize;
    Ok(raw
        .chunks_exact(size)
        .enumerate()
        .map(|(k, rgb)| Frame {
            seq: k as u64 * 4,
            captured: SystemTime::UNIX_EPOCH,
            width: WIDTH,
            height: HEIGHT,
            rgb: rgb.to_vec(),
        })
        .collect())
}

/// YOLOX's queue count and detections per analysed frame, run once into `dir/yolox.txt`
/// (`count|x1,y1,x2,y2 ...` per line).
fn yolox_lines(
    dir: &Path,
    zones: &ZoneSet,
    frames: &[Frame],
) -> Result<Vec<(u32, Vec<Detection>)>, Error> {
    let cache = dir.join("yolox.txt");
    if !cache.exists() {
        let mut yolox = Yolox::new(YoloxOptions::default())?;
        yolox.set_region(Some(zones.region_of_interest(REGION_MARGIN)));
        let mut counter = ZoneCounter::new(zones.clone(), TrackerOptions::default());
        let mut dets = Vec::new();
        let mut text = String::new();
        for frame in frames {
            yolox.detect(frame, &mut dets)?;
            let count = counter.update(&dets)[0].present;
            text.push_str(&format!("{count}|{}\n", format_boxes(&dets)));
        }
        std::fs::write(&cache, text)?;
    }
    let text = std::fs::read_to_string(&cache)?;
    text.lines()
        .map(|line| {
            let (count, boxes) = line.split_once('|').ok_or("a line without '|'")?;
            let boxes = boxes
                .split_whitespace()
                .map(|b| {
                    let v: Vec<f32> = b.split(',').map(str::parse).collect::<Result<_, _>>()?;
                    let [x1, y1, x2, y2] = v[..] else {
                        return Err(format!("{b}: not a box").into());
                    };
                    Ok(Detection {
                        class: ObjectClass::Vehicle,
                        score: 1.0,
                        bbox: BBox::new(x1, y1, x2, y2),
                    })
                })
                .collect::<Result<_, Error>>()?;
            Ok((count.parse()?, boxes))
        })
        .collect()
}

/// The test's `HAND_COUNTS`, read from its source: lines `    (frame, low, high),`.
fn hand_counts(root: &Path) -> Result<Vec<(u64, u32, u32)>, Error> {
    let source = std::fs::read_to_string(root.join("crates/semaforo-vision/tests/agreement.rs"))?;
    let counts: Vec<(u64, u32, u32)> = source
        .lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix('(')?.strip_suffix("),")?;
            let v: Vec<u64> = inner
                .split(',')
                .map(|x| x.trim().parse().ok())
                .collect::<Option<_>>()?;
            let [frame, low, high] = v[..] else {
                return None;
            };
            Some((frame, low as u32, high as u32))
        })
        .collect();
    if counts.is_empty() {
        return Err("no hand counts found in tests/agreement.rs".into());
    }
    Ok(counts)
}

fn format_boxes(dets: &[Detection]) -> String {
    dets.iter()
        .map(|d| d.bbox.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `f<frame>.ppm`: the frame with `bgsub`'s boxes in red and YOLOX's in green; `m<frame>.pgm`:
/// the foreground mask after morphology (at the model's scale).
fn write_dump(
    dir: &Path,
    frame: &Frame,
    bg: &[Detection],
    nn: &[Detection],
    bgsub: &BackgroundSubtractor,
) -> Result<(), Error> {
    let mut rgb = frame.rgb.clone();
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut outline = |d: &Detection, colour: [u8; 3], inset: f32| {
        let b = d.bbox;
        let x1 = ((b.x1 + inset).max(0.0) as usize).min(w - 1);
        let y1 = ((b.y1 + inset).max(0.0) as usize).min(h - 1);
        let x2 = ((b.x2 - inset).max(0.0) as usize).min(w - 1);
        let y2 = ((b.y2 - inset).max(0.0) as usize).min(h - 1);
        let mut put = |x: usize, y: usize| {
            let i = (y * w + x) * 3;
            rgb[i..i + 3].copy_from_slice(&colour);
        };
        for x in x1..=x2 {
            put(x, y1);
            put(x, y2);
        }
        for y in y1..=y2 {
            put(x1, y);
            put(x2, y);
        }
    };
    bg.iter().for_each(|d| outline(d, [255, 0, 0], 0.0));
    nn.iter().for_each(|d| outline(d, [0, 255, 0], 1.0));
    let mut ppm = format!("P6\n{w} {h}\n255\n").into_bytes();
    ppm.extend_from_slice(&rgb);
    std::fs::write(dir.join(format!("f{}.ppm", frame.seq)), ppm)?;
    let (mask, mw, mh) = bgsub.foreground();
    let mut pgm = format!("P5\n{mw} {mh}\n255\n").into_bytes();
    pgm.extend_from_slice(mask);
    std::fs::write(dir.join(format!("m{}.pgm", frame.seq)), pgm)?;
    Ok(())
}
