//! Following a camera that sways or drifts on its pole: each frame's whole-pixel shift against
//! the background is searched (`track_camera`), and the frame is averaged down to the model's
//! scale where the model's pixels are now (`downscale`). A camera moved further than
//! [`super::BgSubOptions::max_shift`] starts the model again.

use semaforo_camera::Frame;

use super::{BackgroundSubtractor, BACKGROUND};

impl BackgroundSubtractor {
    /// Averages `scale` x `scale` blocks of the frame, sampled where the model's pixels are
    /// now (the frame shifted by [`Self::shift`]); pixels that fall outside are marked.
    pub(super) fn downscale(&mut self, frame: &Frame) {
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
    pub(super) fn track_camera(&mut self, frame: &Frame) {
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
}
