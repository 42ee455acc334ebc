//! The per-pixel Gaussian mixture: MOG2's model and update (Zivkovic 2004/2006). Each pixel
//! holds up to three components, heaviest first; a pixel is background when a component that
//! belongs to the background matches it, a shadow when it is such a component darkened
//! (Prati et al.), the camera's sub-pixel sway when it is a neighbour's background with the
//! picture slid towards it, and foreground otherwise. Foreground pixels in the queue zones are
//! held out of learning for a while, so a car stopped at red stays foreground.

use super::{BackgroundSubtractor, BACKGROUND, FOREGROUND};

/// Mixture components per pixel.
pub(super) const MODES: usize = 3;
/// Initial, smallest and largest variance of a component (grey levels squared).
pub(super) const VAR_INIT: f32 = 15.0;
const VAR_MIN: f32 = 4.0;
const VAR_MAX: f32 = 75.0;
/// Share of the weight that the background's components hold (OpenCV's backgroundRatio).
const BACKGROUND_RATIO: f32 = 0.9;
/// Distance (squared, in variances) under which a sample updates a component.
const VAR_THRESHOLD_GEN: f32 = 9.0;
/// Complexity-reduction prior: components whose weight falls under it are dropped.
const CT: f32 = 0.05;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Mode {
    pub(super) weight: f32,
    pub(super) var: f32,
    pub(super) mean: [f32; 3],
}

impl BackgroundSubtractor {
    /// Classifies every pixel and updates the model (MOG2's update, with held pixels).
    pub(super) fn model_update(&mut self) {
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
///
/// Inlined into [`BackgroundSubtractor::model_update`]'s pixel loop, where it runs for every
/// pixel of every frame: once `model_update` was in its own module and inlined into `detect`,
/// the compiler stopped inlining this and [`update_first`] into it, and the detector lost 5%.
#[inline(always)]
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
/// the others all lose the same share, so they keep their order. Inlined as [`update_modes`]
/// is, for the same reason.
#[inline(always)]
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
