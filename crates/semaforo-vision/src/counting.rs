//! From detections to counts: a small IoU tracker that turns per-frame detections into
//! vehicles with ids, and a zone counter that says, per zone, how many vehicles are present
//! (queue), how many crossed its line (arrivals, each vehicle once), how often the zone was
//! occupied, and by class.
//!
//! A detector need not run on every frame. On the frames between two of its runs the counter
//! is *carried* ([`ZoneCounter::carry`]): each vehicle moves on at the speed it was last seen
//! at, so queue counts follow the picture frame by frame; at the next run the detections are
//! matched to where the vehicles are predicted to be (by overlap, or by distance for a vehicle
//! that moved further than its own length), and a vehicle that crossed a count line since it
//! was last seen is counted then, once, from its two observed positions.

use std::collections::BTreeMap;

use crate::cover::{QueueSource, ZoneCover};
use crate::detect::{BBox, Detection, ObjectClass};
use crate::zones::{ZoneRole, ZoneSet};

/// Tracker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerOptions {
    /// Least IoU for a detection to continue a track.
    pub min_iou: f32,
    /// Frames a track must be seen before it counts (filters one-frame flickers).
    pub min_hits: u32,
    /// Frames a track survives without a detection before it is dropped.
    pub max_age: u32,
    /// Detector runs a confirmed track still counts as present without a detection (detector
    /// blinks).
    pub coast: u32,
    /// Detector runs a track must be seen in to be established: see `coast_established`.
    pub established: u32,
    /// Detector runs an established track still counts as present without a detection. A
    /// vehicle seen for a while does not vanish from a queue because the network missed it a
    /// few times in a row (a motorcycle beside a car, a car half hidden by a bus): at 3 runs a
    /// second, 4 runs is 1.3 s. On street-a at 3 runs a second this is the difference between
    /// 17-23 and 23-24 of 25 hand-counted frames within one (BENCHMARKS.md).
    pub coast_established: u32,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        TrackerOptions {
            min_iou: 0.2,
            min_hits: 2,
            max_age: 8,
            coast: 2,
            established: 5,
            coast_established: 4,
        }
    }
}

/// One vehicle followed over frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: u64,
    /// Where it is: where it was last seen, or where it is predicted to be on a carried frame.
    pub bbox: BBox,
    /// Where it was the previous time it was seen.
    pub previous: Option<BBox>,
    /// Where it was last seen.
    observed: BBox,
    /// Its box's movement per frame, from its last two sightings (zero until seen twice).
    velocity: (f32, f32),
    /// Frames since it was last seen.
    since_seen: u32,
    /// Carried frames since it was last seen (frames the detector did not run on).
    carried: u32,
    /// Frames it was matched in.
    pub hits: u32,
    /// Frames since it was last matched (0: matched in this frame).
    pub misses: u32,
    /// Best score of its latest detection.
    pub score: f32,
    /// Summed detection scores per class: the track's class is the largest.
    class_votes: BTreeMap<ObjectClass, f32>,
    /// Lines (by index in the zone set) crossed, and those already counted.
    crossed: u64,
    counted: u64,
}

impl Track {
    /// The class the detections of this track agree on most.
    pub fn class(&self) -> ObjectClass {
        self.class_votes
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(ObjectClass::Vehicle, |(c, _)| *c)
    }

    /// Whether it has been seen often enough to count.
    pub fn confirmed(&self, options: &TrackerOptions) -> bool {
        self.hits >= options.min_hits
    }

    /// Whether it still counts as present: confirmed, and seen in the last `coast` detector
    /// runs (`coast_established` once it is established and classified: a background model's
    /// blob that is gone has most often split or merged with another, and the blobs it became
    /// are counted already).
    pub fn present(&self, options: &TrackerOptions) -> bool {
        let classified = self.class() != ObjectClass::Vehicle;
        let coast = if classified && self.hits >= options.established {
            options.coast.max(options.coast_established)
        } else {
            options.coast
        };
        self.confirmed(options) && self.misses <= coast
    }
}

/// IoU tracker: greedy association of detections to tracks by IoU, highest first.
#[derive(Debug, Clone)]
pub struct Tracker {
    options: TrackerOptions,
    tracks: Vec<Track>,
    next_id: u64,
    pairs: Vec<(f32, usize, usize)>,
    matched: Vec<bool>,
}

impl Tracker {
    pub fn new(options: TrackerOptions) -> Self {
        Tracker {
            options,
            tracks: Vec::new(),
            next_id: 1,
            pairs: Vec::new(),
            matched: Vec::new(),
        }
    }

    pub fn options(&self) -> &TrackerOptions {
        &self.options
    }

    /// Current tracks (confirmed or not).
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Advances by one frame with its detections.
    pub fn update(&mut self, detections: &[Detection]) {
        self.pairs.clear();
        for (t, track) in self.tracks.iter().enumerate() {
            // A vehicle carried since the detector last saw it may have moved further than its
            // prediction says (it sped up, or was seen once and has no speed yet), and a
            // sliver of a vehicle entering the picture may overlap its box: it is matched by
            // nearness and likeness of size as well as overlap. One the detector has missed
            // since is matched by overlap only: where it is now is anyone's guess.
            let carried = track.carried > 0 && track.misses == 0;
            for (d, det) in detections.iter().enumerate() {
                let iou = track.bbox.iou(&det.bbox);
                let iou = if iou >= self.options.min_iou {
                    iou
                } else {
                    0.0
                };
                let near = if carried {
                    nearness(track, &det.bbox).unwrap_or(0.0)
                } else {
                    0.0
                };
                let score = iou.max(near);
                if score > 0.0 {
                    self.pairs.push((score, t, d));
                }
            }
        }
        // Best match first; ties by index so the result never depends on sort stability.
        self.pairs
            .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        self.matched.clear();
        self.matched.resize(detections.len(), false);
        let mut track_done = vec![false; self.tracks.len()];
        for &(_, t, d) in &self.pairs {
            if track_done[t] || self.matched[d] {
                continue;
            }
            track_done[t] = true;
            self.matched[d] = true;
            let det = &detections[d];
            let track = &mut self.tracks[t];
            let elapsed = (track.since_seen + 1) as f32;
            let (from, to) = (track.observed.center(), det.bbox.center());
            let seen = ((to.0 - from.0) / elapsed, (to.1 - from.1) / elapsed);
            // Smoothed once there is a speed to smooth: one bad box must not fling it.
            track.velocity = if track.hits >= 2 {
                (
                    0.5 * (track.velocity.0 + seen.0),
                    0.5 * (track.velocity.1 + seen.1),
                )
            } else {
                seen
            };
            track.previous = Some(track.observed);
            track.observed = det.bbox;
            track.since_seen = 0;
            track.carried = 0;
            track.bbox = det.bbox;
            track.hits += 1;
            track.misses = 0;
            track.score = det.score;
            *track.class_votes.entry(det.class).or_insert(0.0) += det.score;
        }
        for (t, track) in self.tracks.iter_mut().enumerate() {
            if !track_done[t] {
                track.misses += 1;
                track.since_seen += 1;
            }
        }
        let max_age = self.options.max_age;
        self.tracks.retain(|t| t.misses <= max_age);
        for (d, det) in detections.iter().enumerate() {
            if self.matched[d] {
                continue;
            }
            self.tracks.push(Track {
                id: self.next_id,
                bbox: det.bbox,
                previous: None,
                observed: det.bbox,
                velocity: (0.0, 0.0),
                since_seen: 0,
                carried: 0,
                hits: 1,
                misses: 0,
                score: det.score,
                class_votes: BTreeMap::from([(det.class, det.score)]),
                crossed: 0,
                counted: 0,
            });
            self.next_id += 1;
        }
    }
}

impl Tracker {
    /// Advances by one frame the detector did not run on: every vehicle moves on at the speed
    /// it was last seen at (one seen only once stays where it was). A vehicle the detector
    /// missed at its last run stays where it was predicted to be then: most often it is a
    /// queued vehicle the network did not find this time, and sliding it on with the jitter of
    /// its last boxes would take it out of its queue.
    pub fn carry(&mut self) {
        for track in &mut self.tracks {
            track.since_seen += 1;
            track.carried += 1;
            if track.misses > 0 {
                continue;
            }
            let frames = track.since_seen as f32;
            let (dx, dy) = (track.velocity.0 * frames, track.velocity.1 * frames);
            let o = track.observed;
            track.bbox = BBox::new(o.x1 + dx, o.y1 + dy, o.x2 + dx, o.y2 + dy);
        }
    }
}

/// How near a detection is to a carried vehicle's predicted box, in (0, 1] (1: same centre
/// and size), or `None` when it is too far or of another size to be the same vehicle.
///
/// How far a vehicle may be from its prediction grows with the frames carried since it was seen, in
/// lengths of its own box: a vehicle seen only once (no speed yet) may have moved 0.6 of its
/// length a frame (a motorcycle at 60 km/h filmed at 15 frames a second); one whose speed is
/// known, 0.3 (it sped up or braked). One side of the boxes must be alike (at most twice the
/// other's): a vehicle entering the picture grows along one side only.
fn nearness(track: &Track, detected: &BBox) -> Option<f32> {
    let predicted = &track.bbox;
    let alike = |a: f32, b: f32| a > 0.0 && b > 0.0 && a.max(b) <= 2.0 * a.min(b);
    if !alike(predicted.width(), detected.width()) && !alike(predicted.height(), detected.height())
    {
        return None;
    }
    let per_frame = if track.hits >= 2 { 0.3 } else { 0.6 };
    let side = predicted
        .width()
        .max(predicted.height())
        .max(detected.width())
        .max(detected.height());
    let reach = side * (per_frame * track.carried as f32).max(1.0);
    let (p, d) = (predicted.center(), detected.center());
    let distance = (p.0 - d.0).hypot(p.1 - d.1);
    // Of two candidates, the one of its size wins over a nearer sliver of a vehicle entering
    // the picture.
    let (a, b) = (predicted.area(), detected.area());
    let size = (a.min(b) / a.max(b)).sqrt();
    (distance < reach).then(|| (1.0 - distance / reach) * size)
}

/// One zone's figures after a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneCount {
    pub zone: String,
    pub approach: Option<String>,
    pub role: ZoneRole,
    /// Vehicles in the zone now (queue zones).
    pub present: u32,
    /// Vehicles that crossed the line in this frame (line zones).
    pub new_arrivals: u32,
    /// Vehicles that crossed the line since the counter started.
    pub arrivals: u64,
    /// Share of frames the zone was occupied, since the counter started.
    pub occupancy: f64,
    /// Present vehicles (queue) or arrivals (line, cumulative) per class.
    pub by_class: BTreeMap<ObjectClass, u64>,
    /// Queue zones with a background model (`bgsub`, or `auto` with one beside the network):
    /// the share of the zone its vehicles cover in the last frame, 0 to 1 ([`crate::cover`]).
    pub covered: Option<f32>,
    /// The covered area in vehicles, once the network has shown their size.
    pub estimate: Option<f32>,
    /// Where the background model counts alone, what `present` is: its blobs or the estimate.
    pub counted_by: Option<QueueSource>,
}

/// Per-approach figures, the controller's input.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ApproachCount {
    /// Vehicles present in the approach's queue zones.
    pub queue: u32,
    /// Vehicles that crossed the approach's lines in this frame.
    pub arrivals: u32,
}

/// Counts vehicles in a camera's zones from its tracker's tracks.
#[derive(Debug, Clone)]
pub struct ZoneCounter {
    zones: ZoneSet,
    tracker: Tracker,
    counts: Vec<ZoneCount>,
    occupied_frames: Vec<u64>,
    frames: u64,
    kept: Vec<Detection>,
}

impl ZoneCounter {
    pub fn new(zones: ZoneSet, tracker: TrackerOptions) -> Self {
        let counts = zones
            .zones
            .iter()
            .filter(|z| z.role != ZoneRole::Mask)
            .map(|z| ZoneCount {
                zone: z.name.clone(),
                approach: z.approach.clone(),
                role: z.role,
                present: 0,
                new_arrivals: 0,
                arrivals: 0,
                occupancy: 0.0,
                by_class: BTreeMap::new(),
                covered: None,
                estimate: None,
                counted_by: None,
            })
            .collect::<Vec<_>>();
        ZoneCounter {
            occupied_frames: vec![0; counts.len()],
            counts,
            zones,
            tracker: Tracker::new(tracker),
            frames: 0,
            kept: Vec::new(),
        }
    }

    pub fn zones(&self) -> &ZoneSet {
        &self.zones
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The figures after the last frame, one per queue or line zone, in the file's order.
    pub fn counts(&self) -> &[ZoneCount] {
        &self.counts
    }

    /// Takes one frame's detections (masked ones are dropped) and updates every count.
    pub fn update(&mut self, detections: &[Detection]) -> &[ZoneCount] {
        self.frames += 1;
        self.kept.clear();
        for det in detections {
            let zones = &self.zones;
            let masked = zones
                .with_role(ZoneRole::Mask)
                .any(|m| m.contains(zones.anchor_point(m, &det.bbox)));
            if !masked {
                self.kept.push(*det);
            }
        }
        self.tracker.update(&self.kept);
        // Line crossings are recorded on every track, counted once it is confirmed.
        let lines: Vec<(usize, &crate::Zone)> = self
            .zones
            .zones
            .iter()
            .filter(|z| z.role == ZoneRole::Line)
            .enumerate()
            .take(64)
            .collect();
        for track in &mut self.tracker.tracks {
            if track.misses != 0 {
                continue;
            }
            if let Some(prev) = track.previous {
                for &(bit, line) in &lines {
                    if line.crossed(line.anchor.of(&prev), line.anchor.of(&track.bbox)) {
                        track.crossed |= 1 << bit;
                    }
                }
            }
        }
        self.tally(true);
        &self.counts
    }

    /// Takes a frame the detector did not run on: vehicles move on as predicted
    /// ([`Tracker::carry`]), queue counts and occupancy follow; nothing crosses a line until
    /// the detector sees it again.
    pub fn carry(&mut self) -> &[ZoneCount] {
        self.frames += 1;
        self.tracker.carry();
        self.tally(false);
        &self.counts
    }

    /// Every zone's figures from the tracks; line crossings are counted only when `crossings`.
    fn tally(&mut self, crossings: bool) {
        let options = self.tracker.options.clone();
        let mut line_bit = 0usize;
        let zones = self.zones.zones.iter().filter(|z| z.role != ZoneRole::Mask);
        for (i, zone) in zones.enumerate() {
            let count = &mut self.counts[i];
            match zone.role {
                ZoneRole::Queue => {
                    count.by_class.clear();
                    let mut present = 0;
                    for track in &self.tracker.tracks {
                        if track.present(&options)
                            && zone.contains(self.zones.anchor_point(zone, &track.bbox))
                        {
                            present += 1;
                            *count.by_class.entry(track.class()).or_insert(0) += 1;
                        }
                    }
                    count.present = present;
                }
                ZoneRole::Line => {
                    let bit = 1u64 << line_bit.min(63);
                    line_bit += 1;
                    count.new_arrivals = 0;
                    // Crossings are judged on observed positions only.
                    let tracks = if crossings {
                        &mut self.tracker.tracks[..]
                    } else {
                        &mut []
                    };
                    for track in tracks {
                        if track.confirmed(&options)
                            && track.crossed & bit != 0
                            && track.counted & bit == 0
                        {
                            track.counted |= bit;
                            count.new_arrivals += 1;
                            *count.by_class.entry(track.class()).or_insert(0) += 1;
                        }
                    }
                    count.arrivals += u64::from(count.new_arrivals);
                    count.present = 0;
                }
                ZoneRole::Mask => {}
            }
            let occupied = match zone.role {
                ZoneRole::Queue => count.present > 0,
                _ => count.new_arrivals > 0,
            };
            self.occupied_frames[i] += u64::from(occupied);
            count.occupancy = self.occupied_frames[i] as f64 / self.frames as f64;
        }
    }

    /// Takes what a background model measured in the frame ([`Detector::cover`]): each queue
    /// zone's covered share and estimate (`None`: no model, nothing reported). When the model is
    /// the camera's detector (`alone`), a zone whose [`ZoneCover::source`] is the estimate
    /// counts its queue from the estimate, rounded, instead of from its blobs.
    ///
    /// [`Detector::cover`]: crate::Detector::cover
    pub fn apply_cover(&mut self, cover: Option<&[ZoneCover]>, alone: bool) -> &[ZoneCount] {
        for count in self.counts.iter_mut().filter(|c| c.role == ZoneRole::Queue) {
            let zone = cover.and_then(|all| all.iter().find(|z| z.zone == count.zone));
            count.covered = zone.map(|z| z.covered);
            count.estimate = zone.and_then(|z| z.estimate);
            count.counted_by = zone.filter(|_| alone).map(|z| z.source);
            if let (Some(QueueSource::Estimate), Some(estimate)) =
                (count.counted_by, count.estimate)
            {
                count.present = estimate.round().max(0.0) as u32;
                count.by_class.clear();
                if count.present > 0 {
                    count
                        .by_class
                        .insert(ObjectClass::Vehicle, u64::from(count.present));
                }
            }
        }
        &self.counts
    }

    /// [`ZoneCounter::apply_cover`] with what `detector` measured: the background model
    /// (`bgsub`) counts alone; beside a network (`auto`) it only reports.
    pub fn apply_cover_of(&mut self, detector: &dyn crate::Detector) -> &[ZoneCount] {
        let alone = detector.name() == "bgsub";
        self.apply_cover(detector.cover(), alone)
    }

    /// The figures of one approach after the last frame.
    pub fn approach(&self, approach: &str) -> ApproachCount {
        let mut out = ApproachCount::default();
        for c in self
            .counts
            .iter()
            .filter(|c| c.approach.as_deref() == Some(approach))
        {
            match c.role {
                ZoneRole::Queue => out.queue += c.present,
                ZoneRole::Line => out.arrivals += c.new_arrivals,
                ZoneRole::Mask => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zones::{Anchor, ZoneSpec};

    fn det(x: f32, y: f32, class: ObjectClass) -> Detection {
        Detection {
            class,
            score: 0.9,
            bbox: BBox::new(x, y, x + 40.0, y + 30.0),
        }
    }

    fn zones() -> ZoneSet {
        let specs = [
            ZoneSpec {
                name: "q".into(),
                approach: Some("A".into()),
                role: ZoneRole::Queue,
                anchor: Anchor::Bottom,
                fractional: Some(false),
                points: vec![(0.0, 200.0), (320.0, 200.0), (320.0, 360.0), (0.0, 360.0)],
            },
            ZoneSpec {
                name: "l".into(),
                approach: Some("A".into()),
                role: ZoneRole::Line,
                anchor: Anchor::Bottom,
                fractional: Some(false),
                points: vec![(0.0, 100.0), (320.0, 100.0)],
            },
        ];
        ZoneSet::build("test", &specs, 320, 360, &["A"]).unwrap()
    }

    #[test]
    fn a_vehicle_driving_down_is_counted_once_at_the_line_then_queues() {
        let mut counter = ZoneCounter::new(zones(), TrackerOptions::default());
        let mut arrivals = 0;
        for step in 0..40 {
            let y = 20.0 + step as f32 * 8.0;
            let classes = [ObjectClass::Car, ObjectClass::Truck, ObjectClass::Car];
            counter.update(&[det(100.0, y.min(300.0), classes[step % 3])]);
            arrivals += counter.approach("A").arrivals;
        }
        assert_eq!(arrivals, 1);
        let counts = counter.counts();
        assert_eq!(counts[1].arrivals, 1);
        assert_eq!(counts[0].present, 1);
        assert_eq!(counts[0].by_class, BTreeMap::from([(ObjectClass::Car, 1)]));
        assert_eq!(
            counter.tracker().tracks().len(),
            1,
            "one vehicle, one track"
        );
    }

    #[test]
    fn a_background_models_estimate_counts_the_queue_only_where_it_counts_alone_by_it() {
        let mut counter = ZoneCounter::new(zones(), TrackerOptions::default());
        // One blob, tracked: one vehicle, where the covered area holds about three.
        for _ in 0..3 {
            counter.update(&[det(10.0, 250.0, ObjectClass::Vehicle)]);
        }
        let cover = |source| {
            vec![ZoneCover {
                zone: "q".into(),
                covered: 0.4,
                estimate: Some(2.6),
                source,
                compared: 150,
                blobs_agree: 0.3,
                estimate_agree: 0.8,
            }]
        };
        // Beside the network, the model only reports: the network's tracks count.
        let counts = counter.apply_cover(Some(&cover(QueueSource::Estimate)), false);
        assert_eq!((counts[0].present, counts[0].counted_by), (1, None));
        assert_eq!(
            (counts[0].covered, counts[0].estimate),
            (Some(0.4), Some(2.6))
        );
        assert_eq!(counts[1].covered, None, "a line has no cover");
        // Counting alone, by its blobs, then by the estimate.
        let counts = counter.apply_cover(Some(&cover(QueueSource::Blobs)), true);
        assert_eq!(counts[0].present, 1);
        assert_eq!(counts[0].counted_by, Some(QueueSource::Blobs));
        let counts = counter.apply_cover(Some(&cover(QueueSource::Estimate)), true);
        assert_eq!(counts[0].present, 3);
        assert_eq!(
            counts[0].by_class,
            BTreeMap::from([(ObjectClass::Vehicle, 3)])
        );
        assert_eq!(counter.approach("A").queue, 3);
        // No background model: nothing reported.
        let counts = counter.apply_cover(None, false);
        assert_eq!((counts[0].covered, counts[0].estimate), (None, None));
    }

    #[test]
    fn a_vehicle_cut_off_by_the_bottom_of_the_picture_is_in_a_zone_drawn_to_the_bottom() {
        // The queue zone ends at y = 360, the picture's bottom edge; the nearest vehicle's box,
        // clipped by the detector, ends there too.
        let mut counter = ZoneCounter::new(zones(), TrackerOptions::default());
        let cut_off = Detection {
            class: ObjectClass::Car,
            score: 0.9,
            bbox: BBox::new(100.0, 300.0, 180.0, 360.0),
        };
        for _ in 0..3 {
            counter.update(&[cut_off]);
        }
        assert_eq!(counter.approach("A").queue, 1);
    }

    #[test]
    fn a_one_frame_flicker_is_not_counted_and_a_blink_does_not_drop_a_vehicle() {
        let mut counter = ZoneCounter::new(zones(), TrackerOptions::default());
        counter.update(&[det(10.0, 250.0, ObjectClass::Car)]);
        assert_eq!(
            counter.approach("A").queue,
            0,
            "seen once: not yet a vehicle"
        );
        counter.update(&[det(10.0, 250.0, ObjectClass::Car)]);
        assert_eq!(counter.approach("A").queue, 1);
        counter.update(&[]);
        assert_eq!(
            counter.approach("A").queue,
            1,
            "one missed frame is coasted"
        );
        for _ in 0..3 {
            counter.update(&[]);
        }
        assert_eq!(counter.approach("A").queue, 0);
        assert!(
            (counter.counts()[0].occupancy - 3.0 / 6.0).abs() < 1e-9,
            "occupied in frames 2 to 4 of 6"
        );
    }

    #[test]
    fn two_vehicles_side_by_side_keep_their_ids() {
        let mut tracker = Tracker::new(TrackerOptions::default());
        for step in 0..10 {
            let y = step as f32 * 5.0;
            tracker.update(&[
                det(0.0, y, ObjectClass::Car),
                det(60.0, y, ObjectClass::Bus),
            ]);
        }
        let ids: Vec<(u64, ObjectClass)> =
            tracker.tracks().iter().map(|t| (t.id, t.class())).collect();
        assert_eq!(ids, vec![(1, ObjectClass::Car), (2, ObjectClass::Bus)]);
    }
}
