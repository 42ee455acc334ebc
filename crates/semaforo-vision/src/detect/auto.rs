//! The `auto` detector: a motion gate in front of an expensive detector.
//!
//! A cheap frame difference on a small grey copy of the picture decides whether a frame needs
//! the neural network at all. The reference is the last frame the network saw (not the
//! previous frame), so slow changes add up and are caught; and the network runs at least once
//! every [`MotionGateOptions::max_skip`] frames whatever the gate says. Unchanged frames reuse
//! the last detections, so counts stay where they were (a queue standing at red is still there).
//!
//! With zones, the gate looks at each zone on its own ([`MotionGate::with_zones`]): motion
//! outside every zone (a pavement, the other carriageway, trees in the wind) does not open it,
//! and a small zone (a count line) opens it with motion on a share of its own cells, not lost
//! in the whole picture's.

use crate::cover::ZoneCover;
use crate::detect::bgsub::BackgroundSubtractor;
use crate::detect::{check_frame, DetectError, Detection, Detector};
use crate::zones::{ZoneRole, ZoneSet};
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
    /// The zones looked at (`None`: the whole picture).
    zones: Option<ZoneSet>,
    /// Each zone's thumbnail cells, for the thumbnail size in `cells_size`.
    cells: Vec<Vec<u32>>,
    cells_size: (u32, u32),
}

impl MotionGate {
    pub fn new(options: MotionGateOptions) -> Self {
        MotionGate {
            options,
            reference: Vec::new(),
            thumb: Vec::new(),
            size: (0, 0),
            skipped: 0,
            zones: None,
            cells: Vec::new(),
            cells_size: (0, 0),
        }
    }

    /// Looks at each counting zone on its own (masks are left out): the gate opens when one
    /// of them has motion on more than `min_changed` of its cells.
    pub fn with_zones(mut self, zones: &ZoneSet) -> Self {
        self.zones = Some(zones.clone());
        self
    }

    /// Whether `frame` needs the detector. When it says yes, the frame becomes the reference.
    pub fn needs_detection(&mut self, frame: &Frame) -> bool {
        let tw = self.options.thumb_width.clamp(8, frame.width.max(8));
        let th = ((u64::from(frame.height) * u64::from(tw)) / u64::from(frame.width.max(1))).max(1)
            as u32;
        thumbnail(frame, tw, th, &mut self.thumb);
        let fresh = self.size != (tw, th) || self.reference.len() != self.thumb.len();
        let changed = !fresh && self.moved(frame, (tw, th));
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

impl MotionGate {
    /// Whether the thumbnail moved from the reference: in the whole picture, or in a zone.
    fn moved(&mut self, frame: &Frame, (tw, th): (u32, u32)) -> bool {
        let threshold = self.options.cell_threshold;
        let min_changed = self.options.min_changed;
        let (thumb, reference) = (&self.thumb, &self.reference);
        let differs = |i: usize| thumb[i].abs_diff(reference[i]) > threshold;
        let Some(zones) = &self.zones else {
            let cells = (0..thumb.len()).filter(|&i| differs(i)).count();
            return cells as f32 > min_changed * thumb.len() as f32;
        };
        if self.cells_size != (tw, th) {
            self.cells = zone_cells(zones, (frame.width, frame.height), (tw, th));
            self.cells_size = (tw, th);
        }
        self.cells.iter().any(|cells| {
            let moved = cells.iter().filter(|&&i| differs(i as usize)).count();
            moved > 0 && moved as f32 > min_changed * cells.len() as f32
        })
    }
}

/// Each counting zone's thumbnail cells: those a queue zone covers part of, and those a
/// count line passes through and their neighbours (a vehicle crossing it spans them).
fn zone_cells(zones: &ZoneSet, (width, height): (u32, u32), (tw, th): (u32, u32)) -> Vec<Vec<u32>> {
    let (cw, ch) = (width as f32 / tw as f32, height as f32 / th as f32);
    let cell_of = |x: f32, y: f32| {
        let cx = ((x / cw) as i64).clamp(0, i64::from(tw) - 1);
        let cy = ((y / ch) as i64).clamp(0, i64::from(th) - 1);
        (cx, cy)
    };
    let index = |cx: i64, cy: i64| (cy * i64::from(tw) + cx) as u32;
    zones
        .zones
        .iter()
        .filter(|z| z.role != ZoneRole::Mask)
        .map(|zone| {
            let mut cells = Vec::new();
            if zone.role == ZoneRole::Line {
                for pair in zone.points.windows(2) {
                    let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
                    let steps = ((x1 - x0).abs() / cw).max((y1 - y0).abs() / ch).ceil() as i64;
                    for s in 0..=steps.max(1) {
                        let t = s as f32 / steps.max(1) as f32;
                        let (cx, cy) = cell_of(x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                        for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
                            let (nx, ny) = (cx + dx, cy + dy);
                            if (0..i64::from(tw)).contains(&nx) && (0..i64::from(th)).contains(&ny)
                            {
                                cells.push(index(nx, ny));
                            }
                        }
                    }
                }
            } else {
                for cy in 0..i64::from(th) {
                    for cx in 0..i64::from(tw) {
                        let (x0, y0) = (cx as f32 * cw, cy as f32 * ch);
                        let corners = [
                            (x0 + 0.5 * cw, y0 + 0.5 * ch),
                            (x0, y0),
                            (x0 + cw, y0),
                            (x0, y0 + ch),
                            (x0 + cw, y0 + ch),
                        ];
                        if corners.iter().any(|&p| zone.contains(p)) {
                            cells.push(index(cx, cy));
                        }
                    }
                }
            }
            cells.sort_unstable();
            cells.dedup();
            cells
        })
        .collect()
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

/// A detector behind a motion gate (`auto`), with a background model beside it when given
/// ([`AutoDetector::with_background`]).
pub struct AutoDetector {
    inner: Box<dyn Detector>,
    gate: MotionGate,
    last: Vec<Detection>,
    frames: u64,
    inferences: u64,
    /// The background model, learning on every frame and from the network where both ran, so
    /// that it takes over warm and sized when the network fails ([`crate::cover`]).
    background: Option<BackgroundSubtractor>,
    blobs: Vec<Detection>,
}

impl AutoDetector {
    /// `inner` behind a gate on the whole picture, or on each of `zones` when given.
    pub fn new(inner: Box<dyn Detector>, gate: MotionGateOptions, zones: Option<&ZoneSet>) -> Self {
        let gate = MotionGate::new(gate);
        AutoDetector {
            inner,
            gate: match zones {
                Some(zones) => gate.with_zones(zones),
                None => gate,
            },
            last: Vec::new(),
            frames: 0,
            inferences: 0,
            background: None,
            blobs: Vec::new(),
        }
    }

    /// Runs `model` beside the network on every frame: it learns the view, and on the frames
    /// the network ran, the size of a vehicle and how its counts compare with the network's.
    pub fn with_background(mut self, model: BackgroundSubtractor) -> Self {
        self.background = Some(model);
        self
    }

    /// Runs the background model on `frame`. It must not stop the network's counting: a model
    /// that fails (it cannot, short of a frame of another size) is dropped, and said so.
    fn run_background(&mut self, frame: &Frame) -> bool {
        let Some(model) = &mut self.background else {
            return false;
        };
        match model.detect(frame, &mut self.blobs) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("the background model beside the network stops: {e}");
                self.background = None;
                false
            }
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
        // The background model first: a network run that fails leaves it learning all the
        // same, and it is what takes over when the network keeps failing.
        let seen = self.run_background(frame);
        if self.gate.needs_detection(frame) {
            self.inner.detect(frame, &mut self.last)?;
            self.inferences += 1;
            if let (true, Some(model)) = (seen, &mut self.background) {
                model.compare(&self.last, &self.blobs);
            }
        }
        out.clear();
        out.extend_from_slice(&self.last);
        Ok(())
    }

    fn usage(&self) -> Option<(u64, u64)> {
        Some(self.usage())
    }

    fn between(&mut self, frame: &Frame) -> Result<(), DetectError> {
        check_frame(frame)?;
        self.run_background(frame);
        Ok(())
    }

    fn background(&mut self) -> Option<&mut BackgroundSubtractor> {
        self.background.as_mut()
    }

    fn cover(&self) -> Option<&[ZoneCover]> {
        self.background.as_ref().map(|m| m.cover().zones())
    }

    fn into_background(self: Box<Self>) -> Option<BackgroundSubtractor> {
        self.background
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{BBox, ObjectClass};
    use crate::zones::ZoneRole;

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

    /// A network that fails every run.
    struct Failing;

    impl Detector for Failing {
        fn name(&self) -> &'static str {
            "failing"
        }
        fn detect(&mut self, _: &Frame, _: &mut Vec<Detection>) -> Result<(), DetectError> {
            Err(DetectError::Setting {
                setting: "test",
                value: "failing".into(),
                expected: "nothing".into(),
            })
        }
    }

    #[test]
    fn the_background_model_beside_a_failing_network_learns_every_frame_and_is_handed_over() {
        let zones = ZoneSet::whole_frame(160, 90, "A");
        let model = BackgroundSubtractor::new(160, 90, &zones, Default::default()).unwrap();
        let mut auto = AutoDetector::new(Box::new(Failing), MotionGateOptions::default(), None)
            .with_background(model);
        let mut out = Vec::new();
        for x in 0..5 {
            assert!(auto.detect(&frame_with_square(x * 20), &mut out).is_err());
            auto.between(&frame_with_square(x * 20 + 10)).unwrap();
        }
        assert_eq!(auto.cover().map(<[ZoneCover]>::len), Some(1));
        let model = Box::new(auto).into_background().unwrap();
        assert_eq!(model.frames(), 10, "every frame, the failed runs' too");
    }

    #[test]
    fn still_frames_reuse_detections_and_motion_or_the_skip_limit_runs_the_detector() {
        let mut auto = AutoDetector::new(
            Box::new(Counting(0)),
            MotionGateOptions {
                max_skip: 10,
                ..MotionGateOptions::default()
            },
            None,
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

    /// A 160x90 picture whose only counting zone is a queue on its left third, beside a
    /// masked right third.
    fn left_zone() -> ZoneSet {
        use crate::zones::{Anchor, ZoneSpec};
        let spec = |name: &str, role, x0: f64, x1: f64| ZoneSpec {
            name: name.into(),
            approach: (role != ZoneRole::Mask).then(|| "A".into()),
            role,
            anchor: Anchor::Bottom,
            fractional: Some(false),
            points: vec![(x0, 0.0), (x1, 0.0), (x1, 90.0), (x0, 90.0)],
        };
        let specs = [
            spec("q", ZoneRole::Queue, 0.0, 50.0),
            spec("m", ZoneRole::Mask, 110.0, 160.0),
        ];
        ZoneSet::build("test", &specs, 160, 90, &["A"]).unwrap()
    }

    #[test]
    fn with_zones_motion_outside_them_keeps_the_gate_shut_and_motion_inside_opens_it() {
        let mut gate = MotionGate::new(MotionGateOptions::default()).with_zones(&left_zone());
        assert!(gate.needs_detection(&frame_with_square(120)));
        // A square moving in the masked right third, and in the middle outside every zone.
        assert!(!gate.needs_detection(&frame_with_square(135)));
        assert!(!gate.needs_detection(&frame_with_square(70)));
        assert!(!gate.needs_detection(&frame_with_square(75)));
        // Into the zone: the detector runs.
        assert!(gate.needs_detection(&frame_with_square(20)));
        // The same motion without zones opens the gate wherever it is.
        let mut whole = MotionGate::new(MotionGateOptions::default());
        assert!(whole.needs_detection(&frame_with_square(120)));
        assert!(whole.needs_detection(&frame_with_square(135)));
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
