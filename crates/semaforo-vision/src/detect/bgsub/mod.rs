//! The background-model detector (`bgsub`): an adaptive per-pixel Gaussian mixture in the
//! spirit of OpenCV's MOG2 (Zivkovic 2004/2006), shadow suppression, morphology and connected
//! components. No model file; cheap enough for a Pi.
//!
//! What differs from a plain MOG2 is the reason this detector exists at a signal: a car that
//! stops at red must not fade into the background. Pixels in the queue zones (and a margin
//! above them, where a car's body stands over its ground point) that are foreground are *held*:
//! the model does not learn them while they stay foreground, for at most
//! [`BgSubOptions::hold_max_s`] (after that they are learned, so a parked car or a ghost left by
//! a car that was there at start-up does not stay forever). Everywhere else the model learns
//! as usual. The picture is processed at `1/scale` of its size (2 by default): vehicles are
//! large, and a quarter of the pixels is a quarter of the work.
//!
//! Three things keep the road from being counted, each measured on real footage (street-a,
//! BENCHMARKS.md): the camera's sub-pixel sway at edges (a pixel that is its neighbour's
//! background, with the frame beyond it showing its own, is the picture sliding, not an
//! object), light moving over the road (a blob that is the background times one gain is sun
//! or a cloud's shadow, and is learned at once rather than held in a queue zone), and road
//! revealed where a vehicle learned at start-up has left (a whole blob, or the tiles of a blob
//! it shares with a vehicle that stopped beside it).
//!
//! The work is split by concern, one module each: `mixture` (the per-pixel model, its update,
//! and what tells background, shadow, sway and foreground apart), `stabilize` (the camera's
//! drift, and sampling the frame where the model is), `ghosts` (light on the road, revealed
//! road and other blobs learned at once) and `blobs` (morphology and connected components into
//! boxes). This module holds the settings, the detector's state and the order in which a frame
//! goes through them.

mod blobs;
mod ghosts;
mod mixture;
mod stabilize;
mod state;

pub use state::{Restored, StateError, SAME_VIEW};

use semaforo_camera::Frame;

use crate::cover::{Cover, ZoneCover};
use crate::detect::{check_frame, DetectError, Detection, Detector};
use crate::zones::{ZoneRole, ZoneSet};
use blobs::Run;
use mixture::{Mode, MODES};

/// Settings of the background model and the blob filter.
#[derive(Debug, Clone, PartialEq)]
pub struct BgSubOptions {
    /// Process every `scale`-th pixel in each direction (after averaging): 1, 2 or 4.
    pub scale: u32,
    /// Frames over which the background adapts (the learning rate is 1/history once warm).
    pub history: u32,
    /// Squared distance, in variances, under which a pixel matches the background.
    pub var_threshold: f32,
    /// Mark shadows (darker, same colour) as background.
    pub detect_shadows: bool,
    /// Darkest a shadow can make the background (a ratio, 0..1).
    pub shadow_threshold: f32,
    /// Smallest blob kept, as a share of the picture's area.
    pub min_area: f32,
    /// Largest width/height (or height/width) ratio of a blob kept.
    pub max_aspect: f32,
    /// Longest a queue-zone pixel is held out of learning while foreground, seconds.
    pub hold_max_s: f32,
    /// The camera's frame rate (turns `hold_max_s` and `warmup_s` into frames).
    pub fps: f32,
    /// Seconds of plain learning before queue-zone pixels are held (vehicles that were in the
    /// picture at start-up and drive off are learned away, not left as ghosts).
    pub warmup_s: f32,
    /// Follow a camera that sways or drifts: each frame's shift against the background is
    /// estimated (whole pixels) and the frame is sampled where the background is.
    pub stabilize: bool,
    /// Largest shift followed, pixels; beyond it the model starts again.
    pub max_shift: u32,
}

impl Default for BgSubOptions {
    fn default() -> Self {
        BgSubOptions {
            scale: 2,
            history: 500,
            var_threshold: 30.0,
            detect_shadows: true,
            shadow_threshold: 0.5,
            min_area: 0.0012,
            max_aspect: 5.0,
            hold_max_s: 150.0,
            fps: 15.0,
            warmup_s: 5.0,
            stabilize: true,
            max_shift: 48,
        }
    }
}

impl BgSubOptions {
    fn check(&self) -> Result<(), DetectError> {
        let bad = |setting: &'static str, value: String, expected: &str| {
            Err(DetectError::Setting {
                setting,
                value,
                expected: expected.into(),
            })
        };
        if ![1, 2, 4].contains(&self.scale) {
            return bad("bgsub.scale", self.scale.to_string(), "1, 2 or 4");
        }
        if self.history < 2 {
            return bad(
                "bgsub.history",
                self.history.to_string(),
                "at least 2 frames",
            );
        }
        if !(self.var_threshold > 0.0 && self.var_threshold.is_finite()) {
            return bad(
                "bgsub.var_threshold",
                self.var_threshold.to_string(),
                "a positive number",
            );
        }
        if !(0.0..1.0).contains(&self.shadow_threshold) {
            return bad(
                "bgsub.shadow_threshold",
                self.shadow_threshold.to_string(),
                "0 <= t < 1",
            );
        }
        if !(0.0..0.5).contains(&self.min_area) {
            return bad(
                "bgsub.min_area",
                self.min_area.to_string(),
                "0 <= area < 0.5 of the picture",
            );
        }
        if self.max_aspect.is_nan() || self.max_aspect < 1.0 {
            return bad(
                "bgsub.max_aspect",
                self.max_aspect.to_string(),
                "at least 1",
            );
        }
        if !(self.hold_max_s >= 0.0 && self.fps > 0.0) {
            return bad(
                "bgsub.hold_max_s",
                format!("{} at {} fps", self.hold_max_s, self.fps),
                "a hold of 0 s or more at a positive frame rate",
            );
        }
        Ok(())
    }
}

/// What the model made of a pixel.
const BACKGROUND: u8 = 0;
const FOREGROUND: u8 = 255;

/// The `bgsub` detector. Build it for the camera's picture size and zones.
#[derive(Debug)]
pub struct BackgroundSubtractor {
    options: BgSubOptions,
    frame_size: (u32, u32),
    /// Processed (scaled) size.
    w: usize,
    h: usize,
    /// Each pixel's mixture, heaviest component first; only the first `used` are in use.
    modes: Vec<[Mode; MODES]>,
    used: Vec<u8>,
    /// Consecutive foreground frames of a held pixel.
    held_for: Vec<u32>,
    /// 1 where a pixel may be held (queue zones and the margin above), 2 where masked.
    region: Vec<u8>,
    small: Vec<[f32; 3]>,
    fg: Vec<u8>,
    scratch: Vec<u8>,
    morph_tmp: Vec<u8>,
    /// Foreground runs of the last mask, row by row (connected components).
    runs: Vec<Run>,
    parent: Vec<u32>,
    frames: u64,
    hold_max_frames: u32,
    warmup_frames: u64,
    /// Where the model's pixel (0, 0) is in the current frame, in frame pixels.
    shift: (i32, i32),
    /// Whether each processed pixel was sampled inside the frame.
    inside: Vec<bool>,
    ghosts: u64,
    /// Which component labels of the last mask became detections.
    kept: Vec<bool>,
    /// How much of each queue zone the kept blobs cover, and what the network taught about it.
    cover: Cover,
}

impl BackgroundSubtractor {
    /// A detector for `width` x `height` frames; `zones` decide which pixels are held (queue
    /// zones) and ignored (masks).
    pub fn new(
        width: u32,
        height: u32,
        zones: &ZoneSet,
        options: BgSubOptions,
    ) -> Result<Self, DetectError> {
        options.check()?;
        if width < options.scale * 8 || height < options.scale * 8 {
            return Err(DetectError::Frame {
                width,
                height,
                reason: format!("too small for bgsub at scale {}", options.scale),
            });
        }
        let zones = zones.scaled_to(width, height);
        let s = options.scale as usize;
        let (w, h) = (width as usize / s, height as usize / s);
        let mut region = vec![0u8; w * h];
        // A vehicle's body stands above its ground point: hold a margin above each queue zone.
        let margin = h / 8;
        for zone in zones.with_role(ZoneRole::Queue) {
            let mask = zone.rasterize(width, height, options.scale);
            let cols = (width as usize).div_ceil(s);
            for y in 0..h {
                for x in 0..w {
                    if mask[y * cols + x] {
                        for yy in y.saturating_sub(margin)..=y {
                            region[yy * w + x] = 1;
                        }
                    }
                }
            }
        }
        for zone in zones.with_role(ZoneRole::Mask) {
            let mask = zone.rasterize(width, height, options.scale);
            let cols = (width as usize).div_ceil(s);
            for y in 0..h {
                for x in 0..w {
                    if mask[y * cols + x] {
                        region[y * w + x] = 2;
                    }
                }
            }
        }
        let hold_max_frames = (options.hold_max_s * options.fps).round() as u32;
        let warmup_frames = (options.warmup_s * options.fps).round().max(1.0) as u64;
        Ok(BackgroundSubtractor {
            frame_size: (width, height),
            w,
            h,
            modes: vec![[Mode::default(); MODES]; w * h],
            used: vec![0; w * h],
            held_for: vec![0; w * h],
            region,
            small: vec![[0.0; 3]; w * h],
            fg: vec![0; w * h],
            scratch: vec![0; w * h],
            morph_tmp: vec![0; w * h],
            runs: Vec::new(),
            parent: Vec::new(),
            frames: 0,
            hold_max_frames,
            warmup_frames,
            shift: (0, 0),
            inside: vec![true; w * h],
            ghosts: 0,
            kept: Vec::new(),
            cover: Cover::new(&zones, options.scale),
            options,
        })
    }

    /// The foreground mask of the last frame at the processed size (0 background, 255
    /// foreground), after morphology.
    pub fn foreground(&self) -> (&[u8], usize, usize) {
        (&self.fg, self.w, self.h)
    }

    /// Frames seen.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The camera's shift against the model (frame pixels), after the last frame.
    pub fn shift(&self) -> (i32, i32) {
        self.shift
    }

    /// How much of each queue zone the last frame's vehicles cover, and the estimate from it.
    pub fn cover(&self) -> &Cover {
        &self.cover
    }

    /// Learns from a frame the network also ran on (see [`Cover::compare`]): `network` is its
    /// detections, `blobs` this model's for the same frame.
    pub fn compare(&mut self, network: &[Detection], blobs: &[Detection]) {
        self.cover.compare(network, blobs);
    }
}

impl Detector for BackgroundSubtractor {
    fn name(&self) -> &'static str {
        "bgsub"
    }

    fn background(&mut self) -> Option<&mut BackgroundSubtractor> {
        Some(self)
    }

    fn cover(&self) -> Option<&[ZoneCover]> {
        Some(self.cover.zones())
    }

    fn into_background(self: Box<Self>) -> Option<BackgroundSubtractor> {
        Some(*self)
    }

    fn detect(&mut self, frame: &Frame, out: &mut Vec<Detection>) -> Result<(), DetectError> {
        check_frame(frame)?;
        if (frame.width, frame.height) != self.frame_size {
            return Err(DetectError::Frame {
                width: frame.width,
                height: frame.height,
                reason: format!(
                    "the background model was built for {}x{} frames",
                    self.frame_size.0, self.frame_size.1
                ),
            });
        }
        out.clear();
        self.track_camera(frame);
        self.downscale(frame);
        self.model_update();
        self.morphology();
        self.blobs(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(width: u32, height: u32, rgb: [u8; 3]) -> Frame {
        let mut frame = Frame::black(width, height);
        for p in frame.rgb.chunks_exact_mut(3) {
            p.copy_from_slice(&rgb);
        }
        frame
    }

    /// Grey road with a fine, fixed texture (140-162 grey levels).
    fn asphalt(width: u32, height: u32) -> Frame {
        let mut road = Frame::black(width, height);
        for (k, p) in road.rgb.chunks_exact_mut(3).enumerate() {
            let v = 140 + ((k * 7919) % 23) as u8;
            p.copy_from_slice(&[v, v, v - 5]);
        }
        road
    }

    fn paint(frame: &mut Frame, b: (u32, u32, u32, u32), rgb: [u8; 3]) {
        for y in b.1..b.3 {
            for x in b.0..b.2 {
                let i = (y * frame.width + x) as usize * 3;
                frame.rgb[i..i + 3].copy_from_slice(&rgb);
            }
        }
    }

    #[test]
    fn a_box_on_a_learned_background_is_one_blob_with_its_box() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, BgSubOptions::default()).unwrap();
        let road = flat(160, 120, [90, 90, 90]);
        let mut out = Vec::new();
        for _ in 0..50 {
            bg.detect(&road, &mut out).unwrap();
        }
        assert!(out.is_empty(), "{out:?}");
        let mut car = road.clone();
        paint(&mut car, (40, 30, 80, 60), [200, 30, 30]);
        bg.detect(&car, &mut out).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        let b = out[0].bbox;
        assert!(
            (b.x1 - 40.0).abs() <= 2.0 && (b.y1 - 30.0).abs() <= 2.0,
            "{b:?}"
        );
        assert!(
            (b.x2 - 80.0).abs() <= 2.0 && (b.y2 - 60.0).abs() <= 2.0,
            "{b:?}"
        );
    }

    #[test]
    fn a_shadow_is_not_a_vehicle() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, BgSubOptions::default()).unwrap();
        let road = flat(160, 120, [120, 120, 120]);
        let mut out = Vec::new();
        for _ in 0..50 {
            bg.detect(&road, &mut out).unwrap();
        }
        let mut shaded = road.clone();
        paint(&mut shaded, (40, 30, 80, 60), [80, 80, 80]);
        bg.detect(&shaded, &mut out).unwrap();
        assert!(
            out.is_empty(),
            "a darker patch of the same colour is a shadow: {out:?}"
        );
    }

    /// A road with lane lines every 8 pixels, shifted `dx` pixels right.
    fn striped(width: u32, height: u32, dx: u32) -> Frame {
        let mut frame = flat(width, height, [90, 90, 90]);
        for y in 0..height {
            for x in 0..width {
                if (x + 8 - dx % 8) % 8 < 2 {
                    let i = (y * width + x) as usize * 3;
                    frame.rgb[i..i + 3].copy_from_slice(&[230, 230, 230]);
                }
            }
        }
        frame
    }

    #[test]
    fn a_road_slid_by_a_pixel_is_not_foreground_but_a_car_on_its_lines_is() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let options = BgSubOptions {
            scale: 1,
            stabilize: false,
            ..BgSubOptions::default()
        };
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, options).unwrap();
        let road = striped(160, 120, 0);
        let mut out = Vec::new();
        for _ in 0..50 {
            bg.detect(&road, &mut out).unwrap();
        }
        // Every line's edge moves by one pixel: only sway, nowhere foreground.
        bg.detect(&striped(160, 120, 1), &mut out).unwrap();
        let (mask, _, _) = bg.foreground();
        let lit = mask.iter().filter(|&&m| m == FOREGROUND).count();
        assert_eq!(lit, 0, "{lit} pixels of a slid road are foreground");
        assert!(out.is_empty(), "{out:?}");
        // A white car as bright as the lines, standing across them: still one vehicle.
        let mut car = road.clone();
        paint(&mut car, (40, 30, 90, 60), [230, 230, 230]);
        paint(&mut car, (46, 34, 84, 42), [20, 20, 30]);
        bg.detect(&car, &mut out).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        let b = out[0].bbox;
        assert!(
            b.x1 <= 42.0 && b.x2 >= 88.0 && b.y1 <= 32.0 && b.y2 >= 58.0,
            "{b:?}"
        );
    }

    #[test]
    fn light_on_the_road_is_learned_at_once_but_a_flat_bright_car_is_a_vehicle() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, BgSubOptions::default()).unwrap();
        // Textured road, so that light has a texture to scale.
        let road = asphalt(160, 120);
        let mut out = Vec::new();
        for _ in 0..50 {
            bg.detect(&road, &mut out).unwrap();
        }
        // Sun on a patch: the same road 20% brighter.
        let mut sunny = road.clone();
        for y in 30..70 {
            for x in 40..100 {
                let i = (y * 160 + x) * 3;
                for c in &mut sunny.rgb[i..i + 3] {
                    *c = (f32::from(*c) * 1.2) as u8;
                }
            }
        }
        bg.detect(&sunny, &mut out).unwrap();
        assert!(out.is_empty(), "light is not a vehicle: {out:?}");
        let ghosts = bg.ghosts();
        assert_eq!(ghosts, 1, "the patch is learned, once");
        bg.detect(&sunny, &mut out).unwrap();
        assert!(out.is_empty() && bg.ghosts() == ghosts, "{out:?}");
        // A flat white car body is no scaled copy of the road: a vehicle.
        let mut car = road.clone();
        paint(&mut car, (40, 30, 80, 60), [245, 245, 245]);
        bg.detect(&car, &mut out).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn road_revealed_beside_a_stopped_car_is_learned_and_the_car_kept() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, BgSubOptions::default()).unwrap();
        let road = asphalt(160, 120);
        // A yellow taxi (dark windows across its body) stands there from start-up, past the
        // warm-up: it is background.
        let mut start = road.clone();
        paint(&mut start, (40, 40, 80, 70), [240, 210, 60]);
        for y in [42, 50, 58, 66] {
            paint(&mut start, (40, y, 80, y + 4), [30, 30, 40]);
        }
        let mut out = Vec::new();
        for _ in 0..100 {
            bg.detect(&start, &mut out).unwrap();
        }
        assert!(out.is_empty(), "{out:?}");
        // It drives off as a dark car stops right beside where it stood: one blob of revealed
        // road and car, which the whole-blob tests cannot take apart.
        let mut now = road.clone();
        paint(&mut now, (80, 40, 112, 70), [40, 40, 60]);
        for _ in 0..15 {
            bg.detect(&now, &mut out).unwrap();
        }
        assert!(bg.ghosts() > 0);
        assert_eq!(out.len(), 1, "{out:?}");
        let car = out[0].bbox;
        assert!(
            car.x1 >= 76.0 && car.x2 <= 116.0 && car.y1 >= 36.0 && car.y2 <= 74.0,
            "the car alone, not the road it stands beside: {car:?}"
        );
    }

    #[test]
    fn bad_settings_and_frames_are_refused_with_their_values() {
        let zones = ZoneSet::whole_frame(160, 120, "A");
        let options = BgSubOptions {
            scale: 3,
            ..BgSubOptions::default()
        };
        let err = BackgroundSubtractor::new(160, 120, &zones, options)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bgsub.scale = 3") && err.contains("1, 2 or 4"),
            "{err}"
        );
        let mut bg = BackgroundSubtractor::new(160, 120, &zones, BgSubOptions::default()).unwrap();
        let err = bg
            .detect(&Frame::black(320, 240), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("built for 160x120"), "{err}");
    }
}
