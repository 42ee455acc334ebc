//! The `auto` detector: a motion gate in front of an expensive detector.
//!
//! A cheap frame difference on a small grey copy of the picture decides whether a frame needs
//! the neural network at all. The reference is the last frame the network saw (not the
//! previous frame), so slow changes add up and are caught; and the network runs at least once
//! every [`MotionGateOptions::max_skip`] frames whatever the gate says. Unchanged frames reuse
//! the last detections, so counts stay where they were (a queue standing at red is still there).

use crate::detect::{check_frame, DetectError, Detection, Detector};
use semaforo_camera::Frame;

/// Motion-gate settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionGateOptions {
    /// Width of the grey thumbnail compared (its height keeps the aspect).
    pub thumb_width: u32,
    /// A thumbnail cell has changed when its grey level moved by more than this.
    pub cell_threshold: u8,
    /// The frame has changed when more than this share of cells changed.
    pub min_changed: f32,
    /// Longest run of frames without running the detector.
    pub max_skip: u32,
}

impl Default for MotionGateOptions {
    fn default() -> Self {
        MotionGateOptions {
            thumb_width: 96,
            cell_threshold: 14,
            min_changed: 0.002,
            max_skip: 30,
        }
    }
}

/// Decides whether a frame differs enough from the last one inferred.
#[derive(Debug, Clone)]
pub struct MotionGate {
    options: MotionGateOptions,
    reference: Vec<u8>,
    thumb: Vec<u8>,
    size: (u32, u32),
    skipped: u32,
}

impl MotionGate {
    pub fn new(options: MotionGateOptions) -> Self {
        MotionGate {
            options,
            reference: Vec::new(),
            thumb: Vec::new(),
            size: (0, 0),
            skipped: 0,
        }
    }

    /// Whether `frame` needs the detector. When it says yes, the frame becomes the reference.
    pub fn needs_detection(&mut self, frame: &Frame) -> bool {
        let tw = self.options.thumb_width.clamp(8, frame.width.max(8));
        let th = ((u64::from(frame.height) * u64::from(tw)) / u64::from(frame.width.max(1))).max(1)
            as u32;
        thumbnail(frame, tw, th, &mut self.thumb);
        let fresh = self.size != (tw, th) || self.reference.len() != self.thumb.len();
        let changed = !fresh && {
            let threshold = self.options.cell_threshold;
            let cells = self
                .thumb
                .iter()
                .zip(&self.reference)
                .filter(|(a, b)| a.abs_diff(**b) > threshold)
                .count();
            cells as f32 > self.options.min_changed * self.thumb.len() as f32
        };
        if fresh || changed || self.skipped >= self.options.max_skip {
            std::mem::swap(&mut self.reference, &mut self.thumb);
            self.size = (tw, th);
            self.skipped = 0;
            true
        } else {
            self.skipped += 1;
            false
        }
    }
}

/// Block-averaged grey thumbnail (BT.601 luma, integer).
fn thumbnail(frame: &Frame, tw: u32, th: u32, out: &mut Vec<u8>) {
    out.clear();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (tw, th) = (tw as usize, th as usize);
    for ty in 0..th {
        let (y0, y1) = (ty * h / th, ((ty + 1) * h / th).max(ty * h / th + 1));
        for tx in 0..tw {
            let (x0, x1) = (tx * w / tw, ((tx + 1) * w / tw).max(tx * w / tw + 1));
            let (mut sum, mut n) = (0u32, 0u32);
            // Every other row and column of the block: plenty for a motion test.
            for y in (y0..y1).step_by(2) {
                let row = &frame.rgb[y * w * 3..(y + 1) * w * 3];
                for x in (x0..x1).step_by(2) {
                    let p = &row[x * 3..x * 3 + 3];
                    sum +=
                        (77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8;
                    n += 1;
                }
            }
            out.push((sum / n.max(1)) as u8);
        }
    }
}

/// A detector behind a motion gate (`auto`).
pub struct AutoDetector {
    inner: Box<dyn Detector>,
    gate: MotionGate,
    last: Vec<Detection>,
    frames: u64,
    inferences: u64,
}

impl AutoDetector {
    pub fn new(inner: Box<dyn Detector>, gate: MotionGateOptions) -> Self {
        AutoDetector {
            inner,
            gate: MotionGate::new(gate),
            last: Vec::new(),
            frames: 0,
            inferences: 0,
        }
    }

    /// Frames seen and frames the inner detector ran on.
    pub fn usage(&self) -> (u64, u64) {
        (self.frames, self.inferences)
    }

    /// The detector behind the gate.
    pub fn inner_name(&self) -> &'static str {
        self.inner.name()
    }
}

impl std::fmt::Debug for AutoDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoDetector")
            .field("inner", &self.inner.name())
            .field("frames", &self.frames)
            .field("inferences", &self.inferences)
            .finish()
    }
}

impl Detector for AutoDetector {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn detect(&mut self, frame: &Frame, out: &mut Vec<Detection>) -> Result<(), DetectError> {
        check_frame(frame)?;
        self.frames += 1;
        if self.gate.needs_detection(frame) {
            self.inner.detect(frame, &mut self.last)?;
            self.inferences += 1;
        }
        out.clear();
        out.extend_from_slice(&self.last);
        Ok(())
    }

    fn usage(&self) -> Option<(u64, u64)> {
        Some(self.usage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{BBox, ObjectClass};

    /// Counts its calls and reports one box.
    struct Counting(u32);

    impl Detector for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn detect(&mut self, _: &Frame, out: &mut Vec<Detection>) -> Result<(), DetectError> {
            self.0 += 1;
            out.clear();
            out.push(Detection {
                class: ObjectClass::Car,
                score: 0.5,
                bbox: BBox::new(0.0, 0.0, 1.0, 1.0),
            });
            Ok(())
        }
    }

    fn frame_with_square(x: usize) -> Frame {
        let mut frame = Frame::black(160, 90);
        for y in 30..50 {
            for xx in x..x + 20 {
                let i = (y * 160 + xx) * 3;
                frame.rgb[i..i + 3].copy_from_slice(&[220, 220, 220]);
            }
        }
        frame
    }

    #[test]
    fn still_frames_reuse_detections_and_motion_or_the_skip_limit_runs_the_detector() {
        let mut auto = AutoDetector::new(
            Box::new(Counting(0)),
            MotionGateOptions {
                max_skip: 10,
                ..MotionGateOptions::default()
            },
        );
        let mut out = Vec::new();
        let still = frame_with_square(20);
        for _ in 0..6 {
            auto.detect(&still, &mut out).unwrap();
            assert_eq!(out.len(), 1, "unchanged frames keep the last detections");
        }
        assert_eq!(auto.usage(), (6, 1));
        auto.detect(&frame_with_square(60), &mut out).unwrap();
        assert_eq!(auto.usage(), (7, 2), "a moved object runs the detector");
        for _ in 0..11 {
            auto.detect(&frame_with_square(60), &mut out).unwrap();
        }
        assert_eq!(
            auto.usage(),
            (18, 3),
            "at most 10 frames are skipped in a row"
        );
    }

    #[test]
    fn sensor_noise_does_not_open_the_gate() {
        let mut gate = MotionGate::new(MotionGateOptions::default());
        let base = frame_with_square(20);
        assert!(gate.needs_detection(&base));
        let mut seed = 7u32;
        for _ in 0..5 {
            let mut noisy = base.clone();
            for p in &mut noisy.rgb {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = (seed >> 24) as i32 % 13 - 6;
                *p = (i32::from(*p) + n).clamp(0, 255) as u8;
            }
            assert!(!gate.needs_detection(&noisy));
        }
    }
}
