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

use crate::detect::{check_frame, BBox, DetectError, Detection, Detector, ObjectClass};
use crate::zones::{ZoneRole, ZoneSet};
use semaforo_camera::Frame;

/// Mixture components per pixel.
const MODES: usize = 3;
/// Initial, smallest and largest variance of a component (grey levels squared).
const VAR_INIT: f32 = 15.0;
const VAR_MIN: f32 = 4.0;
const VAR_MAX: f32 = 75.0;
/// Share of the weight that the background's components hold (OpenCV's backgroundRatio).
const BACKGROUND_RATIO: f32 = 0.9;
/// Distance (squared, in variances) under which a sample updates a component.
const VAR_THRESHOLD_GEN: f32 = 9.0;
/// Complexity-reduction prior: components whose weight falls under it are dropped.
const CT: f32 = 0.05;

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

#[derive(Debug, Clone, Copy, Default)]
struct Mode {
    weight: f32,
    var: f32,
    mean: [f32; 3],
}

/// A run of foreground pixels in row `y`, columns `x1..=x2`, and its component label.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: usize,
    x1: usize,
    x2: usize,
    label: u32,
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

    /// Averages `scale` x `scale` blocks of the frame, sampled where the model's pixels are
    /// now (the frame shifted by [`Self::shift`]); pixels that fall outside are marked.
    fn downscale(&mut self, frame: &Frame) {
        let s = self.options.scale as usize;
        let (fw, fh) = (frame.width as i64, frame.height as i64);
        let stride = frame.width as usize * 3;
        let inv = 1.0 / (s * s) as f32;
        let (ox, oy) = (i64::from(self.shift.0), i64::from(self.shift.1));
        // Output columns whose block lies inside the frame: x*s + ox >= 0 and x*s + ox + s <= fw.
        let x_lo = if ox < 0 {
            ((-ox) as usize).div_ceil(s)
        } else {
            0
        }
        .min(self.w);
        let x_hi = (((fw - ox - s as i64).max(-1) + s as i64) as usize / s).clamp(x_lo, self.w);
        for y in 0..self.h {
            let fy = (y * s) as i64 + oy;
            let row_inside = fy >= 0 && fy + s as i64 <= fh;
            let flags = &mut self.inside[y * self.w..(y + 1) * self.w];
            if !row_inside {
                flags.fill(false);
                continue;
            }
            flags[..x_lo].fill(false);
            flags[x_lo..x_hi].fill(true);
            flags[x_hi..].fill(false);
            let fy = fy as usize;
            let out = &mut self.small[y * self.w + x_lo..y * self.w + x_hi];
            let first = (x_lo as i64 * s as i64 + ox) as usize * 3;
            let span = (x_hi - x_lo) * s * 3;
            if s == 2 {
                // The common case, two rows of pixel pairs at a time.
                let r0 = &frame.rgb[fy * stride + first..][..span];
                let r1 = &frame.rgb[(fy + 1) * stride + first..][..span];
                for ((o, a), b) in out
                    .iter_mut()
                    .zip(r0.chunks_exact(6))
                    .zip(r1.chunks_exact(6))
                {
                    let sum = |c: usize| {
                        u32::from(a[c])
                            + u32::from(a[c + 3])
                            + u32::from(b[c])
                            + u32::from(b[c + 3])
                    };
                    *o = [
                        sum(0) as f32 * inv,
                        sum(1) as f32 * inv,
                        sum(2) as f32 * inv,
                    ];
                }
                continue;
            }
            if s == 1 {
                // No averaging: a conversion the compiler vectorises.
                let row = &frame.rgb[fy * stride + first..][..span];
                for (o, &p) in out.as_flattened_mut().iter_mut().zip(row) {
                    *o = f32::from(p);
                }
                continue;
            }
            for (k, o) in out.iter_mut().enumerate() {
                let mut acc = [0u32; 3];
                for dy in 0..s {
                    let row = &frame.rgb[(fy + dy) * stride + first + k * s * 3..][..s * 3];
                    for p in row.chunks_exact(3) {
                        acc[0] += u32::from(p[0]);
                        acc[1] += u32::from(p[1]);
                        acc[2] += u32::from(p[2]);
                    }
                }
                *o = [
                    acc[0] as f32 * inv,
                    acc[1] as f32 * inv,
                    acc[2] as f32 * inv,
                ];
            }
        }
    }

    /// Re-estimates the camera's shift: the whole-pixel offset, within 2 pixels of the last
    /// one, at which the frame best matches the background (sparse samples of background
    /// pixels, differences clipped so moving vehicles do not pull the estimate).
    fn track_camera(&mut self, frame: &Frame) {
        if !self.options.stabilize || self.frames < 2 {
            return;
        }
        let s = self.options.scale as i64;
        let (fw, fh) = (i64::from(frame.width), i64::from(frame.height));
        let luma =
            |p: &[u8]| (77 * i32::from(p[0]) + 150 * i32::from(p[1]) + 29 * i32::from(p[2])) >> 8;
        let step = (16 / self.options.scale as usize).max(2);
        let mut samples = Vec::with_capacity((self.w / step) * (self.h / step));
        for y in (4..self.h.saturating_sub(4)).step_by(step) {
            for x in (4..self.w.saturating_sub(4)).step_by(step) {
                let i = y * self.w + x;
                if self.used[i] == 0 || self.fg[i] != BACKGROUND || self.region[i] == 2 {
                    continue;
                }
                let m = &self.modes[i][0].mean;
                let bg = (77.0 * m[0] + 150.0 * m[1] + 29.0 * m[2]) as i32 >> 8;
                samples.push((x as i64 * s, y as i64 * s, bg));
            }
        }
        if samples.len() < 64 {
            return;
        }
        // The cost of each of the 25 shifts (row by row, dy then dx), built sample by sample:
        // each sample reads its 5x5 window of the frame once, row by row.
        let (sx, sy) = (i64::from(self.shift.0), i64::from(self.shift.1));
        let mut costs = [0i64; 25];
        // A frame pixel's brightness against the background's, clipped so that a vehicle
        // passing over a sample does not outweigh the road around it.
        let difference = |p: &[u8], bg: i32| i64::from((luma(p) - bg).abs().min(40));
        for &(x, y, bg) in &samples {
            let (x0, y0) = (x + sx - 2, y + sy - 2);
            if x0 >= 0 && y0 >= 0 && x0 + 5 <= fw && y0 + 5 <= fh {
                for (dy, row_costs) in costs.chunks_exact_mut(5).enumerate() {
                    let at = (((y0 + dy as i64) * fw + x0) * 3) as usize;
                    let row = &frame.rgb[at..at + 15];
                    for (cost, p) in row_costs.iter_mut().zip(row.chunks_exact(3)) {
                        *cost += difference(p, bg);
                    }
                }
                continue;
            }
            // Near the frame's edge: a shift that samples outside costs the most.
            for (k, cost) in costs.iter_mut().enumerate() {
                let (fx, fy) = (x0 + (k % 5) as i64, y0 + (k / 5) as i64);
                *cost += if fx < 0 || fy < 0 || fx >= fw || fy >= fh {
                    40
                } else {
                    let i = ((fy * fw + fx) * 3) as usize;
                    difference(&frame.rgb[i..i + 3], bg)
                };
            }
        }
        let stay = costs[12];
        let mut best = (i64::MAX, self.shift);
        for (k, &cost) in costs.iter().enumerate() {
            if cost < best.0 {
                let (dx, dy) = ((k % 5) as i32 - 2, (k / 5) as i32 - 2);
                best = (cost, (self.shift.0 + dx, self.shift.1 + dy));
            }
        }
        // Move only for a clear gain: on a picture with little texture in one direction
        // (a road with lane lines) noise alone must not walk the estimate away.
        let margin = (samples.len() as i64 / 2).max(stay / 33);
        if best.0 < stay - margin {
            self.shift = best.1;
        }
        let limit = self.options.max_shift as i32;
        if self.shift.0.abs() > limit || self.shift.1.abs() > limit {
            // Too far to follow (the camera was moved): learn the new view from scratch.
            self.shift = (0, 0);
            self.used.iter_mut().for_each(|u| *u = 0);
            self.held_for.iter_mut().for_each(|h| *h = 0);
            self.frames = 0;
        }
    }

    /// Classifies every pixel and updates the model (MOG2's update, with held pixels).
    fn model_update(&mut self) {
        self.frames += 1;
        let alpha = 1.0 / (self.frames as f32 * 2.0).min(self.options.history as f32);
        let tb = self.options.var_threshold;
        let tau = self.options.shadow_threshold;
        let shadows = self.options.detect_shadows;
        // Hold only once the model has seen a little of the scene.
        let holding = self.frames > self.warmup_frames;
        // Background and matched by the heaviest component: under both thresholds times its
        // variance (a positive number), so under the smaller.
        let first_limit = tb.min(VAR_THRESHOLD_GEN);
        for i in 0..self.w * self.h {
            if self.region[i] == 2 || !self.inside[i] {
                self.fg[i] = BACKGROUND;
                continue;
            }
            let pix = self.small[i];
            let modes = &mut self.modes[i];
            let used = self.used[i] as usize;
            if used > 0 {
                // Most pixels are road that matches its heaviest component: background, and
                // that component is the one updated; nothing else needs to be looked at.
                let d = dist2(&modes[0].mean, &pix);
                if d < first_limit * modes[0].var {
                    self.fg[i] = BACKGROUND;
                    self.held_for[i] = 0;
                    self.used[i] = update_first(modes, used, &pix, d, alpha) as u8;
                    continue;
                }
            }
            // Distances to every component, once; then classify against the current model.
            let mut d2 = [0.0f32; MODES];
            for (d, m) in d2.iter_mut().zip(&modes[..used]) {
                *d = dist2(&m.mean, &pix);
            }
            let mut background = false;
            let mut total = 0.0;
            for (m, &d) in modes[..used].iter().zip(&d2) {
                if d < tb * m.var {
                    background = true;
                    break;
                }
                total += m.weight;
                if total >= BACKGROUND_RATIO {
                    break;
                }
            }
            let shadow = !background && shadows && is_shadow(&modes[..used], &pix, tb, tau);
            // Sway at an edge (a lane line, a kerb, a pole) is not foreground.
            let foreground =
                !background && !shadow && used > 0 && !self.matches_a_neighbour(i, &pix, tb);
            let modes = &mut self.modes[i];
            self.fg[i] = if foreground { FOREGROUND } else { BACKGROUND };
            if foreground && holding && self.region[i] == 1 {
                self.held_for[i] = self.held_for[i].saturating_add(1);
                if self.held_for[i] <= self.hold_max_frames {
                    continue;
                }
            } else {
                self.held_for[i] = 0;
            }
            self.used[i] = update_modes(modes, used, &pix, &d2, alpha) as u8;
        }
    }

    /// Whether `pix`, seen at pixel `i`, is the camera's sub-pixel sway rather than something
    /// on the road: it is the background (heaviest component) of a neighbour `j`, *and* the
    /// frame at the pixel on the other side, `k`, shows `i`'s own background, as when the
    /// picture has slid by up to a pixel from `k` towards `j`. A vehicle over a road marking can
    /// match the marking one pixel away (a white car on a white stop line), but the frame
    /// beyond it shows the vehicle again, not the road that slid.
    fn matches_a_neighbour(&self, i: usize, pix: &[f32; 3], tb: f32) -> bool {
        let w = self.w;
        let (x, y) = (i % w, i / w);
        // A pixel on the picture's edge lacks the pixel beyond for some neighbours: skipped.
        if x == 0 || y == 0 || x + 1 >= w || y + 1 >= self.h {
            return false;
        }
        let own = &self.modes[i][0];
        let own_limit = tb * own.var;
        // Each neighbour j and the pixel k opposite it, as offsets in both directions.
        [w + 1, w, w - 1, 1].into_iter().any(|off| {
            [(i - off, i + off), (i + off, i - off)]
                .into_iter()
                .any(|(j, k)| {
                    let theirs = &self.modes[j][0];
                    self.used[j] > 0
                        && dist2(&theirs.mean, pix) < tb * theirs.var
                        && dist2(&own.mean, &self.small[k]) < own_limit
                })
        })
    }

    /// Closing 5 wide by 3 tall (joins the scattered pixels of a rider, a windscreen's edges, a
    /// dark car's parts into one region), then opening 3x3 (removes what is still a speck), then
    /// closing 3x3 (fills the holes the opening left). Closing first: after the neighbour test
    /// a vehicle's foreground is dense but not solid, and an opening first would erase a
    /// motorcycle. Only 3 tall: queued vehicles stand one behind the other, a few pixels
    /// apart, and must stay apart.
    fn morphology(&mut self) {
        let (w, h) = (self.w, self.h);
        let tmp = &mut self.morph_tmp;
        let steps: [MorphStep; 8] = [
            dilate,
            dilate_rows,
            erode,
            erode_rows,
            erode,
            dilate,
            dilate,
            erode,
        ];
        for step in steps {
            step(&self.fg, &mut self.scratch, tmp, w, h);
            std::mem::swap(&mut self.fg, &mut self.scratch);
        }
    }

    /// Connected components (8-neighbourhood) into boxes, filtered by area and aspect.
    fn blobs(&mut self, out: &mut Vec<Detection>) {
        let (w, h) = (self.w, self.h);
        let mut stats = components(&self.fg, w, &mut self.runs, &mut self.parent);
        if self.learn_revealed_tiles(&stats) {
            stats = components(&self.fg, w, &mut self.runs, &mut self.parent);
        }
        let scale = self.options.scale as f32;
        let (sx, sy) = (self.shift.0 as f32, self.shift.1 as f32);
        let min_area = self.options.min_area * (w * h) as f32;
        let (fw, fh) = (self.frame_size.0 as f32, self.frame_size.1 as f32);
        for (x1, y1, x2, y2, area) in stats.into_iter().filter(|s| s.4 > 0) {
            let (bw, bh) = ((x2 - x1 + 1) as f32, (y2 - y1 + 1) as f32);
            if (area as f32) < min_area
                || bw / bh > self.options.max_aspect
                || bh / bw > self.options.max_aspect
            {
                continue;
            }
            if self.is_ghost((x1 as usize, y1 as usize, x2 as usize, y2 as usize)) {
                continue;
            }
            out.push(Detection {
                class: ObjectClass::Vehicle,
                score: area as f32 / (bw * bh),
                bbox: BBox::new(
                    (x1 as f32 * scale + sx).clamp(0.0, fw),
                    (y1 as f32 * scale + sy).clamp(0.0, fh),
                    ((x2 + 1) as f32 * scale + sx).clamp(0.0, fw),
                    ((y2 + 1) as f32 * scale + sy).clamp(0.0, fh),
                ),
            });
        }
    }
}

/// What a blob's foreground pixels are, against the background the model holds under them.
#[derive(Debug, Clone, Copy)]
struct BlobFit {
    /// Brightness (luma) standard deviation of the frame in the blob.
    frame_sd: f64,
    /// Brightness standard deviation of the background under the blob.
    background_sd: f64,
    /// How far the frame is from the background times one gain (RGB, grey levels, RMS).
    gain_residual: f64,
    /// That gain (frame over background).
    gain: f64,
}

/// Most a frame may differ from the background times one gain, grey levels RMS, for the change
/// to be light on the road (sun, a cloud's shadow). On street-a, blobs of light measure 2-12
/// (2-9 in its first 800 frames, 10-12 where the sun comes and goes later), the least
/// structured vehicle blob 20.
const LIGHT_RESIDUAL: f64 = 13.0;
/// The range of brightness change light on the road can make before the model has learned it;
/// street-a's measure 1.04-1.27. A flat bright or dark vehicle on flat road is further off.
const GAIN_LOW: f64 = 0.75;
const GAIN_HIGH: f64 = 1.33;
/// Flattest a frame region with a vehicle in it is (luma standard deviation, grey levels).
const FLAT_SD: f64 = 10.0;
/// Side of the tiles a blob is searched in for revealed road, processed pixels (16 frame
/// pixels at the default scale: a quarter of a near car's width).
const TILE: usize = 8;
/// Share of a second a tile's pixels must have been held for before it may be learned as
/// revealed road (a fifth: 3 frames at 15 a second), so that a vehicle passing over a ghost
/// is not taken for it.
const TILE_SETTLED_SHARE: u32 = 5;

impl BlobFit {
    /// Light changed on the road: the frame is the background brighter or darker, nothing more.
    fn is_light(&self) -> bool {
        self.gain_residual < LIGHT_RESIDUAL
            && self.frame_sd < 2.0 * FLAT_SD
            && (GAIN_LOW..GAIN_HIGH).contains(&self.gain)
    }

    /// Road revealed: the model holds a vehicle's structure here and the frame is flat road
    /// (a vehicle that stood here while the model learned has driven off).
    fn is_revealed_road(&self) -> bool {
        self.frame_sd < FLAT_SD && self.background_sd > 3.0 * self.frame_sd + 20.0
    }
}

impl BackgroundSubtractor {
    /// Fits the foreground pixels in a box against the background under them.
    fn fit(&self, (x1, y1, x2, y2): (usize, usize, usize, usize)) -> BlobFit {
        let (mut n, mut fl, mut fl2, mut bl, mut bl2) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
        let (mut ff, mut fb, mut bb) = (0.0f64, 0.0, 0.0);
        for y in y1..=y2 {
            for x in x1..=x2 {
                let i = y * self.w + x;
                if self.fg[i] == BACKGROUND {
                    continue;
                }
                let (f, b) = (&self.small[i], &self.modes[i][0].mean);
                n += 1.0;
                let (lf, lb) = (f64::from(luma(f)), f64::from(luma(b)));
                (fl, fl2, bl, bl2) = (fl + lf, fl2 + lf * lf, bl + lb, bl2 + lb * lb);
                for (&f, &b) in f.iter().zip(b) {
                    let (f, b) = (f64::from(f), f64::from(b));
                    (ff, fb, bb) = (ff + f * f, fb + f * b, bb + b * b);
                }
            }
        }
        let n = n.max(1.0);
        let sd = |sum: f64, sq: f64| (sq / n - (sum / n).powi(2)).max(0.0).sqrt();
        let gain = if bb > 0.0 { fb / bb } else { 0.0 };
        BlobFit {
            frame_sd: sd(fl, fl2),
            background_sd: sd(bl, bl2),
            // Least squares: the sum of (f - gain b)^2 is ff - gain fb at the best gain.
            gain_residual: ((ff - gain * fb).max(0.0) / (3.0 * n)).sqrt(),
            gain,
        }
    }

    /// Whether a blob is the model's mistake rather than a vehicle; if so its pixels are
    /// learned at once (they become background, and are neither counted nor held):
    /// - light on the road ([`BlobFit::is_light`]): sun or a cloud's shadow moving over the
    ///   road is foreground until learned, and in a queue zone it would be held;
    /// - road revealed ([`BlobFit::is_revealed_road`]) where a vehicle learned as background
    ///   drove off;
    /// - a held blob that looks like the road around it (revealed road the fit misses, such
    ///   as a ghost on a textured surface). A vehicle differs from the road around it.
    fn is_ghost(&mut self, b: (usize, usize, usize, usize)) -> bool {
        let fit = self.fit(b);
        // What the fit calls revealed road must also look like the road around it; any other
        // blob must look like it and have been held.
        let held_for = (!fit.is_revealed_road()).then_some(self.settled());
        if fit.is_light() || self.like_its_surroundings(b, held_for) {
            self.learn(b);
            self.ghosts += 1;
            return true;
        }
        false
    }

    /// Road revealed inside a blob that also holds vehicles (a ghost merged with a car that
    /// stopped beside it, or left behind by a car that crept forward), tile by tile: where the
    /// fit says revealed road (flat frame, structured model) and the tile looks like the road
    /// just around it. Learns those tiles; true if it learned any. Tiles at a blob's edge go
    /// first, and the next frame can take the tiles behind them, so a ghost is eaten from its
    /// edges inwards.
    fn learn_revealed_tiles(&mut self, stats: &[(u32, u32, u32, u32, u32)]) -> bool {
        let (w, h) = (self.w, self.h);
        let min_area = self.options.min_area * (w * h) as f32;
        let settled = (self.settled() / TILE_SETTLED_SHARE).max(1);
        let mut learned = false;
        for &(x1, y1, x2, y2, area) in stats {
            if area == 0 || (area as f32) < min_area {
                continue;
            }
            for ty in (y1 as usize / TILE)..=(y2 as usize / TILE) {
                for tx in (x1 as usize / TILE)..=(x2 as usize / TILE) {
                    let (ax, ay) = (tx * TILE, ty * TILE);
                    let tile = (
                        ax,
                        ay,
                        (ax + TILE - 1).min(w - 1),
                        (ay + TILE - 1).min(h - 1),
                    );
                    if self.fit(tile).is_revealed_road()
                        && self.like_its_surroundings(tile, Some(settled))
                    {
                        self.learn(tile);
                        self.ghosts += 1;
                        learned = true;
                    }
                }
            }
        }
        learned
    }

    /// Whether a blob's colour, brightness and texture match the road in a ring around it
    /// (with `held_for`, only a blob whose pixels have mostly been held for more than that
    /// many frames).
    fn like_its_surroundings(
        &self,
        (x1, y1, x2, y2): (usize, usize, usize, usize),
        held_for: Option<u32>,
    ) -> bool {
        let (w, h) = (self.w, self.h);
        let settled = held_for.unwrap_or(0);
        let (mut n_in, mut held, mut sum_in, mut sq_in) = (0u32, 0u32, 0.0f32, 0.0f32);
        let mut rgb_in = [0.0f32; 3];
        for y in y1..=y2 {
            for x in x1..=x2 {
                let i = y * w + x;
                if self.fg[i] == 0 {
                    continue;
                }
                n_in += 1;
                held += u32::from(self.held_for[i] > settled);
                let l = luma(&self.small[i]);
                for (acc, v) in rgb_in.iter_mut().zip(self.small[i]) {
                    *acc += v;
                }
                sum_in += l;
                sq_in += l * l;
            }
        }
        if n_in == 0 || (held_for.is_some() && held * 2 < n_in) {
            return false;
        }
        let ring = 4;
        let (rx1, ry1) = (x1.saturating_sub(ring), y1.saturating_sub(ring));
        let (rx2, ry2) = ((x2 + ring).min(w - 1), (y2 + ring).min(h - 1));
        let (mut n_out, mut sum_out, mut sq_out) = (0u32, 0.0f32, 0.0f32);
        let mut rgb_out = [0.0f32; 3];
        for y in ry1..=ry2 {
            for x in rx1..=rx2 {
                let i = y * w + x;
                let in_box = (x1..=x2).contains(&x) && (y1..=y2).contains(&y);
                if in_box || self.fg[i] != 0 || !self.inside[i] || self.region[i] == 2 {
                    continue;
                }
                n_out += 1;
                for (acc, v) in rgb_out.iter_mut().zip(self.small[i]) {
                    *acc += v;
                }
                let l = luma(&self.small[i]);
                sum_out += l;
                sq_out += l * l;
            }
        }
        if n_out < 16 {
            return false;
        }
        let (m_in, m_out) = (sum_in / n_in as f32, sum_out / n_out as f32);
        let sd_in = (sq_in / n_in as f32 - m_in * m_in).max(0.0).sqrt();
        let sd_out = (sq_out / n_out as f32 - m_out * m_out).max(0.0).sqrt();
        let same_colour = rgb_in
            .iter()
            .zip(&rgb_out)
            .all(|(a, b)| (a / n_in as f32 - b / n_out as f32).abs() < 10.0);
        same_colour && (m_in - m_out).abs() < 10.0 && sd_in < sd_out.max(6.0) * 1.2 + 4.0
    }

    /// Makes the foreground pixels in a box background: their model starts again from the
    /// frame.
    fn learn(&mut self, (x1, y1, x2, y2): (usize, usize, usize, usize)) {
        let w = self.w;
        for y in y1..=y2 {
            for x in x1..=x2 {
                let i = y * w + x;
                if self.fg[i] == 0 {
                    continue;
                }
                self.modes[i][0] = Mode {
                    weight: 1.0,
                    var: VAR_INIT,
                    mean: self.small[i],
                };
                self.used[i] = 1;
                self.held_for[i] = 0;
                self.fg[i] = 0;
            }
        }
    }

    /// Frames a pixel must have been held for to count as standing (one second).
    fn settled(&self) -> u32 {
        (self.options.fps as u32).max(1)
    }

    /// Blobs learned away since the start: light on the road, road revealed, ghosts.
    pub fn ghosts(&self) -> u64 {
        self.ghosts
    }
}

impl Detector for BackgroundSubtractor {
    fn name(&self) -> &'static str {
        "bgsub"
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

/// Brightness of an RGB value (BT.601 weights).
fn luma(p: &[f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn dist2(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    let (d0, d1, d2) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    d0 * d0 + d1 * d1 + d2 * d2
}

/// Whether `pix` is a background colour darkened by a shadow (Prati et al., as MOG2 does it).
fn is_shadow(modes: &[Mode], pix: &[f32; 3], tb: f32, tau: f32) -> bool {
    let mut total = 0.0;
    for m in modes {
        let den = m.mean[0] * m.mean[0] + m.mean[1] * m.mean[1] + m.mean[2] * m.mean[2];
        if den == 0.0 {
            break;
        }
        let a = (pix[0] * m.mean[0] + pix[1] * m.mean[1] + pix[2] * m.mean[2]) / den;
        if (tau..=1.0).contains(&a) {
            let scaled = [m.mean[0] * a, m.mean[1] * a, m.mean[2] * a];
            if dist2(&scaled, pix) < tb * m.var * a * a {
                return true;
            }
        }
        total += m.weight;
        if total > BACKGROUND_RATIO {
            break;
        }
    }
    false
}

/// Updates one pixel's components with `pix` (at squared distances `d2` from them) at
/// learning rate `alpha`; returns how many are in use. Components stay sorted by weight,
/// heaviest first.
fn update_modes(
    modes: &mut [Mode],
    mut used: usize,
    pix: &[f32; 3],
    d2: &[f32; MODES],
    alpha: f32,
) -> usize {
    let prune = -alpha * CT;
    let mut fits = false;
    let mut total = 0.0;
    // The distances follow their components when the loop below drops one.
    let mut dist = *d2;
    let mut m = 0;
    while m < used {
        let mut weight = (1.0 - alpha) * modes[m].weight + prune;
        // Where this component ends up (a matched one moves up past lighter ones).
        let mut at = m;
        if !fits {
            let d2 = dist[m];
            if d2 < VAR_THRESHOLD_GEN * modes[m].var {
                fits = true;
                weight += alpha;
                let k = alpha / weight;
                let mode = &mut modes[m];
                for (mean, p) in mode.mean.iter_mut().zip(pix) {
                    *mean -= k * (*mean - p);
                }
                mode.var = (mode.var + k * (d2 - mode.var)).clamp(VAR_MIN, VAR_MAX);
                while at > 0 && weight > modes[at - 1].weight {
                    modes.swap(at, at - 1);
                    at -= 1;
                }
            }
        }
        // A matched component weighs at least 0.95 alpha and is never dropped here.
        if weight < -prune {
            // Drop it: shift the lighter ones up.
            modes.copy_within(m + 1..used, m);
            dist.copy_within(m + 1..used, m);
            used -= 1;
            continue;
        }
        modes[at].weight = weight.max(0.0);
        total += modes[at].weight;
        m += 1;
    }
    if !fits {
        let slot = if used < MODES { used } else { MODES - 1 };
        if used < MODES {
            used += 1;
        } else {
            total -= modes[slot].weight;
        }
        let weight = if used == 1 { 1.0 } else { alpha };
        modes[slot] = Mode {
            weight,
            var: VAR_INIT,
            mean: *pix,
        };
        total += weight;
    }
    if total > 0.0 {
        let inv = 1.0 / total;
        for mode in &mut modes[..used] {
            mode.weight *= inv;
        }
    }
    used
}

/// [`update_modes`] when `pix` matched the heaviest component (at squared distance `d2`): the
/// same arithmetic in the same order, so the same model to the last bit, without the search,
/// the swaps and the moves. The matched component only gains weight, so it stays first, and
/// the others all lose the same share, so they keep their order.
fn update_first(
    modes: &mut [Mode; MODES],
    used: usize,
    pix: &[f32; 3],
    d2: f32,
    alpha: f32,
) -> usize {
    let prune = -alpha * CT;
    let first = &mut modes[0];
    // Never under 0.95 alpha, so never dropped.
    let weight = (1.0 - alpha) * first.weight + prune + alpha;
    let k = alpha / weight;
    for (mean, p) in first.mean.iter_mut().zip(pix) {
        *mean -= k * (*mean - p);
    }
    first.var = (first.var + k * (d2 - first.var)).clamp(VAR_MIN, VAR_MAX);
    first.weight = weight;
    let mut total = weight;
    let mut kept = 1;
    for m in 1..used {
        let weight = (1.0 - alpha) * modes[m].weight + prune;
        if weight < -prune {
            continue;
        }
        modes[kept] = Mode { weight, ..modes[m] };
        total += weight;
        kept += 1;
    }
    let inv = 1.0 / total;
    for mode in &mut modes[..kept] {
        mode.weight *= inv;
    }
    kept
}

/// The connected components (8-neighbourhood) of a `w` pixels wide mask (non-zero is
/// foreground), as `(x1, y1, x2, y2, area)` per component label, inclusive corners; labels that
/// are not components have area 0. Components come in the order of their first pixel in
/// raster order.
///
/// Labels runs of foreground pixels, not pixels: a run joins every run of the row above that
/// touches it (diagonally included), so a mostly empty mask costs little more than a scan for
/// non-zero bytes. `runs` and `parent` are scratch space, reused between calls.
fn components(
    mask: &[u8],
    w: usize,
    runs: &mut Vec<Run>,
    parent: &mut Vec<u32>,
) -> Vec<(u32, u32, u32, u32, u32)> {
    parent.clear();
    parent.push(0);
    runs.clear();
    let mut above = 0..0;
    for (y, row) in mask.chunks_exact(w).enumerate() {
        let first = runs.len();
        // The first run of the row above that may still touch a run of this row.
        let mut from = above.start;
        let mut x = 0;
        while let Some(k) = row[x..].iter().position(|&v| v != 0) {
            let x1 = x + k;
            let x2 = x1 + row[x1..].iter().position(|&v| v == 0).unwrap_or(w - x1) - 1;
            x = x2 + 1;
            while from < above.end && runs[from].x2 + 1 < x1 {
                from += 1;
            }
            let mut label = 0u32;
            for run in &runs[from..above.end] {
                if run.x1 > x2 + 1 {
                    break;
                }
                let l = find(parent, run.label);
                if label == 0 {
                    label = l;
                } else if l != label {
                    let (lo, hi) = (label.min(l), label.max(l));
                    parent[hi as usize] = lo;
                    label = lo;
                }
            }
            if label == 0 {
                label = parent.len() as u32;
                parent.push(label);
            }
            runs.push(Run { y, x1, x2, label });
        }
        above = first..runs.len();
    }
    let mut stats = vec![(u32::MAX, u32::MAX, 0u32, 0u32, 0u32); parent.len()];
    for &Run { y, x1, x2, label } in runs.iter() {
        let s = &mut stats[find(parent, label) as usize];
        s.0 = s.0.min(x1 as u32);
        s.1 = s.1.min(y as u32);
        s.2 = s.2.max(x2 as u32);
        s.3 = s.3.max(y as u32);
        s.4 += (x2 - x1 + 1) as u32;
    }
    stats
}

fn find(parent: &mut [u32], mut l: u32) -> u32 {
    while parent[l as usize] != l {
        let grand = parent[parent[l as usize] as usize];
        parent[l as usize] = grand;
        l = grand;
    }
    l
}

/// 3x3 erosion of a 0/255 mask (out-of-picture neighbours are left out, so objects touching
/// the border keep their edge). Separable: a row pass into `tmp`, then a column pass.
fn erode(src: &[u8], dst: &mut [u8], tmp: &mut [u8], w: usize, h: usize) {
    morph(src, dst, tmp, w, h, u8::min);
}

/// 3x3 dilation of a 0/255 mask.
fn dilate(src: &[u8], dst: &mut [u8], tmp: &mut [u8], w: usize, h: usize) {
    morph(src, dst, tmp, w, h, u8::max);
}

/// One erosion or dilation of a `w` x `h` mask from `src` into `dst` (`tmp`: scratch).
type MorphStep = fn(src: &[u8], dst: &mut [u8], tmp: &mut [u8], w: usize, h: usize);

/// Erosion by a 3-wide, 1-tall element.
fn erode_rows(src: &[u8], dst: &mut [u8], _tmp: &mut [u8], w: usize, _h: usize) {
    morph_rows(src, dst, w, u8::min);
}

/// Dilation by a 3-wide, 1-tall element.
fn dilate_rows(src: &[u8], dst: &mut [u8], _tmp: &mut [u8], w: usize, _h: usize) {
    morph_rows(src, dst, w, u8::max);
}

/// The horizontal pass of a 3x3 erosion or dilation: each pixel and its left and right
/// neighbours (the picture's edge repeats).
#[inline(always)]
fn morph_rows(src: &[u8], dst: &mut [u8], w: usize, pick: fn(u8, u8) -> u8) {
    for (s, t) in src.chunks_exact(w).zip(dst.chunks_exact_mut(w)) {
        if w == 1 {
            t[0] = s[0];
            continue;
        }
        t[0] = pick(s[0], s[1]);
        t[w - 1] = pick(s[w - 2], s[w - 1]);
        for (o, win) in t[1..w - 1].iter_mut().zip(s.windows(3)) {
            *o = pick(pick(win[0], win[1]), win[2]);
        }
    }
}

#[inline(always)]
fn morph(src: &[u8], dst: &mut [u8], tmp: &mut [u8], w: usize, h: usize, pick: fn(u8, u8) -> u8) {
    morph_rows(src, tmp, w, pick);
    for y in 0..h {
        let out = &mut dst[y * w..(y + 1) * w];
        let mid = &tmp[y * w..(y + 1) * w];
        let up = &tmp[y.saturating_sub(1) * w..(y.saturating_sub(1) + 1) * w];
        let down_y = (y + 1).min(h - 1);
        let down = &tmp[down_y * w..(down_y + 1) * w];
        for (((o, &a), &b), &c) in out.iter_mut().zip(up).zip(mid).zip(down) {
            *o = pick(pick(a, b), c);
        }
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

    /// Components by flood fill, one pixel at a time: the reference the run labelling must
    /// equal, in the same order (the first pixel of each component in raster order).
    fn components_by_flood_fill(mask: &[u8], w: usize) -> Vec<(u32, u32, u32, u32, u32)> {
        let h = mask.len() / w;
        let mut seen = vec![false; mask.len()];
        let mut found = Vec::new();
        for start in 0..mask.len() {
            if mask[start] == 0 || seen[start] {
                continue;
            }
            let mut stack = vec![start];
            seen[start] = true;
            let mut b = (u32::MAX, u32::MAX, 0u32, 0u32, 0u32);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                b = (
                    b.0.min(x as u32),
                    b.1.min(y as u32),
                    b.2.max(x as u32),
                    b.3.max(y as u32),
                    b.4 + 1,
                );
                for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        let j = ny * w + nx;
                        if mask[j] != 0 && !seen[j] {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            found.push(b);
        }
        found
    }

    #[test]
    fn run_labelling_finds_the_components_a_flood_fill_finds_in_the_same_order() {
        // Random masks from sparse to dense (a fixed-seed xorshift), with U shapes and
        // diagonal steps among them: the cases where runs merge late.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut runs, mut parent) = (Vec::new(), Vec::new());
        for case in 0..400 {
            let (w, h) = (1 + (next() % 40) as usize, 1 + (next() % 30) as usize);
            let density = next() % 100;
            let mask: Vec<u8> = (0..w * h)
                .map(|_| if next() % 100 < density { 255 } else { 0 })
                .collect();
            let ours: Vec<_> = components(&mask, w, &mut runs, &mut parent)
                .into_iter()
                .filter(|c| c.4 > 0)
                .collect();
            assert_eq!(
                ours,
                components_by_flood_fill(&mask, w),
                "case {case}: {w}x{h} at {density}%"
            );
        }
        // A U: two runs that meet only at the bottom are one component.
        let u = [255, 0, 255, 255, 0, 255, 255, 255, 255];
        assert_eq!(
            components(&u, 3, &mut runs, &mut parent)
                .into_iter()
                .filter(|c| c.4 > 0)
                .collect::<Vec<_>>(),
            vec![(0, 0, 2, 2, 7)]
        );
    }
}
