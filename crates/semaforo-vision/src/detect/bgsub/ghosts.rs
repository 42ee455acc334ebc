//! Blobs that are the model's mistake rather than vehicles, learned at once: light on the road
//! (sun or a cloud's shadow: the background times one gain), road revealed where a vehicle
//! learned at start-up has driven off (a whole blob, or tile by tile inside a blob it shares
//! with a vehicle), and held blobs that look like the road around them. Each was measured on
//! real footage (street-a, BENCHMARKS.md).

use super::mixture::{Mode, VAR_INIT};
use super::{BackgroundSubtractor, BACKGROUND};

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
    pub(super) fn is_ghost(&mut self, b: (usize, usize, usize, usize)) -> bool {
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
    pub(super) fn learn_revealed_tiles(&mut self, stats: &[(u32, u32, u32, u32, u32)]) -> bool {
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

/// Brightness of an RGB value (BT.601 weights).
fn luma(p: &[f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}
