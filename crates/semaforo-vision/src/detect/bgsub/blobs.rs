//! From the foreground mask to boxes: morphology (closing, opening, closing), connected
//! components labelled run by run, the area and aspect filter, and the ghost test on each blob
//! (`ghosts`) before it becomes a detection.

use crate::detect::{BBox, Detection, ObjectClass};

use super::BackgroundSubtractor;

/// A run of foreground pixels in row `y`, columns `x1..=x2`, and its component label.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    y: usize,
    x1: usize,
    x2: usize,
    label: u32,
}

impl BackgroundSubtractor {
    /// Closing 5 wide by 3 tall (joins the scattered pixels of a rider, a windscreen's edges, a
    /// dark car's parts into one region), then opening 3x3 (removes what is still a speck), then
    /// closing 3x3 (fills the holes the opening left). Closing first: after the neighbour test
    /// a vehicle's foreground is dense but not solid, and an opening first would erase a
    /// motorcycle. Only 3 tall: queued vehicles stand one behind the other, a few pixels
    /// apart, and must stay apart.
    pub(super) fn morphology(&mut self) {
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
    pub(super) fn blobs(&mut self, out: &mut Vec<Detection>) {
        let (w, h) = (self.w, self.h);
        let mut stats = components(&self.fg, w, &mut self.runs, &mut self.parent);
        if self.learn_revealed_tiles(&stats) {
            stats = components(&self.fg, w, &mut self.runs, &mut self.parent);
        }
        let scale = self.options.scale as f32;
        let (sx, sy) = (self.shift.0 as f32, self.shift.1 as f32);
        let min_area = self.options.min_area * (w * h) as f32;
        let (fw, fh) = (self.frame_size.0 as f32, self.frame_size.1 as f32);
        self.kept.clear();
        self.kept.resize(stats.len(), false);
        for (label, (x1, y1, x2, y2, area)) in stats.into_iter().enumerate().filter(|s| s.1 .4 > 0)
        {
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
            self.kept[label] = true;
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
        self.measure_cover();
    }

    /// The share of each queue zone the kept blobs cover (specks, light on the road and
    /// revealed road left out), in frame coordinates.
    fn measure_cover(&mut self) {
        let s = i64::from(self.options.scale);
        let (dx, dy) = (
            i64::from(self.shift.0).div_euclid(s),
            i64::from(self.shift.1).div_euclid(s),
        );
        self.cover.begin();
        for &Run { y, x1, x2, label } in self.runs.iter() {
            if self.kept[find(&mut self.parent, label) as usize] {
                self.cover
                    .add_run(y as i64 + dy, x1 as i64 + dx, x2 as i64 + dx);
            }
        }
        self.cover.finish();
    }
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
