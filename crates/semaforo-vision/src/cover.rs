//! What a background model measures: how much of each queue zone is covered, and how many
//! vehicles that area holds once the network has shown how big a vehicle is.
//!
//! A background model sees change, not vehicles: two cars side by side are one blob, a car at
//! night is its headlights and their glare on the road, a car half hidden is a piece. Counting
//! its blobs counts those pieces (on two unseen night clips, about twice the vehicles). What it
//! measures honestly is the share of a zone its foreground covers ([`ZoneCover::covered`]).
//! That becomes a number of vehicles with the size of a vehicle at each place in the picture:
//! [`VehicleScale`] learns it from the cars the network finds, where both ran (`auto` runs the
//! background model beside the network), and the ratio of the network's count to the covered
//! area in cars is learned there too ([`ZoneCover::estimate`]).
//!
//! Which of the two counts a zone's queue when the background model counts alone (the network
//! failed, or was too slow, and the background model took over) is measured, not assumed: on
//! the frames both ran, [`Cover::compare`] keeps how often the blob count and the estimate were
//! within one vehicle of the network's, and the estimate counts the queue only where it agreed
//! clearly more often ([`QueueSource`]). On street-a, the clip the blob filter was tuned on,
//! the blobs agree more often and keep counting (BENCHMARKS.md).

use std::io::{self, Write};

use crate::detect::{BBox, Detection, ObjectClass};
use crate::zones::{ZoneRole, ZoneSet};

/// Cars needed before the scale is used.
pub const MIN_CARS: f64 = 30.0;

/// Least score of a car the scale learns from.
const MIN_SCORE: f32 = 0.5;

/// When the cars' weights add up to this, the sums are halved: the scale's memory, in cars.
const MEMORY: f64 = 4000.0;

/// Below this spread of rows (pixels, standard deviation) the cars are too close together to
/// tell how size changes with the row: one size is used everywhere.
const MIN_ROW_SPREAD: f64 = 12.0;

/// The share of its box a car's silhouette covers.
const CAR_FILL: f32 = 0.8;

/// Frames compared (both detectors ran, the scale ready) before the estimate may count a queue.
pub const MIN_COMPARED: u32 = 100;

/// Weight of one compared frame in the running agreement and ratio: about the last 200
/// compared frames count (a minute at 3 network runs a second).
const AGREEMENT_WEIGHT: f32 = 1.0 / 200.0;

/// The estimate takes over a zone's count when it agreed with the network this much more often
/// than the blobs, and hands it back when its lead falls under [`HAND_BACK`].
const TAKE_OVER: f32 = 0.15;
const HAND_BACK: f32 = 0.05;

/// The size of a car by the row of its bottom edge: a least-squares line through the cars the
/// network saw (the square root of the box's area, pixels, against its bottom row). On a camera
/// looking down a road, a car's box shrinks about linearly with its height in the picture. The
/// line forgets old cars slowly, so it follows a camera that was moved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VehicleScale {
    /// Sums of the weights, rows, sizes, rows squared and rows times sizes.
    n: f64,
    sy: f64,
    ss: f64,
    syy: f64,
    sys: f64,
    /// The lowest and highest rows seen: the line is not extended beyond them.
    rows: Option<(f32, f32)>,
}

impl VehicleScale {
    /// An empty scale: [`VehicleScale::size_at`] says nothing until [`MIN_CARS`] cars are seen.
    pub fn new() -> Self {
        VehicleScale::default()
    }

    /// Learns from a frame's detections: the confident cars among them. A background model's
    /// blobs (class [`ObjectClass::Vehicle`]) teach nothing: their size is what is in doubt.
    pub fn learn(&mut self, detections: &[Detection]) {
        for d in detections {
            if d.class == ObjectClass::Car && d.score >= MIN_SCORE {
                self.observe(&d.bbox);
            }
        }
    }

    /// Learns one car's box.
    pub fn observe(&mut self, bbox: &BBox) {
        let (y, s) = (f64::from(bbox.y2), f64::from(bbox.area()).sqrt());
        if !(y.is_finite() && s.is_finite() && s >= 1.0) {
            return;
        }
        if self.n >= MEMORY {
            for sum in [
                &mut self.n,
                &mut self.sy,
                &mut self.ss,
                &mut self.syy,
                &mut self.sys,
            ] {
                *sum *= 0.5;
            }
        }
        self.n += 1.0;
        self.sy += y;
        self.ss += s;
        self.syy += y * y;
        self.sys += y * s;
        let y = bbox.y2;
        self.rows = Some(match self.rows {
            Some((low, high)) => (low.min(y), high.max(y)),
            None => (y, y),
        });
    }

    /// Cars learned from (halved with the sums as the line forgets).
    pub fn cars(&self) -> f64 {
        self.n
    }

    /// Whether enough cars were seen to use the scale.
    pub fn ready(&self) -> bool {
        self.n >= MIN_CARS
    }

    /// The size (square root of the box area, pixels) of a car whose bottom edge is on row `y`,
    /// once [`VehicleScale::ready`]. Rows beyond those seen take the nearest seen row's size.
    pub fn size_at(&self, y: f32) -> Option<f32> {
        let (low, high) = self.rows?;
        if !self.ready() {
            return None;
        }
        let n = self.n;
        let mean_y = self.sy / n;
        let mean_s = self.ss / n;
        let var_y = (self.syy / n - mean_y * mean_y).max(0.0);
        let slope = if var_y.sqrt() >= MIN_ROW_SPREAD {
            (self.sys / n - mean_y * mean_s) / var_y
        } else {
            0.0
        };
        let y = f64::from(y.clamp(low, high));
        let size = mean_s + slope * (y - mean_y);
        // A line through noisy cars can dip near zero at a far end: no car is smaller than a
        // tenth of the average one.
        Some(size.max(0.1 * mean_s).max(1.0) as f32)
    }
}

/// Which count a queue zone's figure is when the background model counts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSource {
    /// Its blobs, tracked, one vehicle each.
    #[default]
    Blobs,
    /// The covered area in vehicles ([`ZoneCover::estimate`]), rounded.
    Estimate,
}

impl QueueSource {
    pub fn name(self) -> &'static str {
        match self {
            QueueSource::Blobs => "blobs",
            QueueSource::Estimate => "estimate",
        }
    }
}

/// One queue zone as the background model saw it in the last frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneCover {
    pub zone: String,
    /// Share of the zone's area the model's vehicles cover (its kept blobs: not specks, not
    /// light on the road, not road revealed), 0 to 1.
    pub covered: f32,
    /// The covered area in vehicles: each covered pixel over a car's area where it is, times the
    /// ratio of the network's count to that figure on the frames both ran. `None` until the
    /// network has shown [`MIN_CARS`] cars.
    pub estimate: Option<f32>,
    /// What the queue count is when the background model counts alone.
    pub source: QueueSource,
    /// Frames compared with the network, and how often the blobs and the estimate were within
    /// one vehicle of its count (a running share of the last couple of hundred).
    pub compared: u32,
    pub blobs_agree: f32,
    pub estimate_agree: f32,
}

/// One queue zone's pixels and what was learned about it.
#[derive(Debug, Clone)]
struct CoverZone {
    /// Index in the zone set.
    index: usize,
    /// The zone's cells at the model's step, in frame coordinates (`cols` x `rows`).
    mask: Vec<bool>,
    cells: u32,
    /// This frame: covered cells, and their car areas.
    lit: u32,
    cars: f32,
    /// The network's count over the covered area in cars, learned; `None` until first seen.
    ratio: Option<f32>,
}

/// The covered share of every queue zone, frame by frame, and what the network taught about it.
#[derive(Debug, Clone)]
pub struct Cover {
    zones: ZoneSet,
    step: u32,
    cols: usize,
    rows: usize,
    list: Vec<CoverZone>,
    scale: VehicleScale,
    /// A car's area in cells at each cell row (0 where unknown), for the current scale.
    row_cars: Vec<f32>,
    out: Vec<ZoneCover>,
}

impl Cover {
    /// For frames of `zones`' size, looked at every `step` pixels.
    pub fn new(zones: &ZoneSet, step: u32) -> Self {
        let step = step.max(1);
        let (width, height) = (zones.width, zones.height);
        let (cols, rows) = (
            width.div_ceil(step) as usize,
            height.div_ceil(step) as usize,
        );
        let list: Vec<CoverZone> = zones
            .zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.role == ZoneRole::Queue)
            .map(|(index, z)| {
                let mask = z.rasterize(width, height, step);
                let cells = mask.iter().filter(|&&m| m).count() as u32;
                CoverZone {
                    index,
                    mask,
                    cells,
                    lit: 0,
                    cars: 0.0,
                    ratio: None,
                }
            })
            .collect();
        let out = list
            .iter()
            .map(|z| ZoneCover {
                zone: zones.zones[z.index].name.clone(),
                covered: 0.0,
                estimate: None,
                source: QueueSource::Blobs,
                compared: 0,
                blobs_agree: 0.0,
                estimate_agree: 0.0,
            })
            .collect();
        Cover {
            zones: zones.clone(),
            step,
            cols,
            rows,
            list,
            scale: VehicleScale::new(),
            row_cars: Vec::new(),
            out,
        }
    }

    /// The figures after the last frame, one per queue zone in the file's order.
    pub fn zones(&self) -> &[ZoneCover] {
        &self.out
    }

    /// The vehicle scale learned so far.
    pub fn scale(&self) -> &VehicleScale {
        &self.scale
    }

    /// Starts a frame: nothing covered yet.
    pub(crate) fn begin(&mut self) {
        for z in &mut self.list {
            z.lit = 0;
            z.cars = 0.0;
        }
    }

    /// Adds a covered run of frame cells: row `row`, columns `x1..=x2` (cells of the model's
    /// step, in frame coordinates; outside the frame is ignored).
    pub(crate) fn add_run(&mut self, row: i64, x1: i64, x2: i64) {
        if row < 0 || row as usize >= self.rows {
            return;
        }
        let (x1, x2) = (x1.max(0) as usize, x2.min(self.cols as i64 - 1));
        if x2 < 0 || x1 > x2 as usize {
            return;
        }
        let start = row as usize * self.cols;
        let per_cell = self.row_cars.get(row as usize).copied().unwrap_or(0.0);
        for z in &mut self.list {
            let lit = z.mask[start + x1..=start + x2 as usize]
                .iter()
                .filter(|&&m| m)
                .count() as u32;
            z.lit += lit;
            z.cars += lit as f32 * per_cell;
        }
    }

    /// Ends a frame: the covered shares and estimates.
    pub(crate) fn finish(&mut self) {
        let ready = self.scale.ready();
        for (z, out) in self.list.iter().zip(&mut self.out) {
            out.covered = if z.cells == 0 {
                0.0
            } else {
                z.lit as f32 / z.cells as f32
            };
            out.estimate = ready.then(|| z.cars * z.ratio.unwrap_or(1.0));
        }
    }

    /// A frame both ran on: learns the vehicle scale from the network's cars, the ratio of the
    /// network's count to the covered area in cars, and how often the blobs and the estimate
    /// were within one of the network's count. Call it after the frame's [`Cover::finish`].
    pub fn compare(&mut self, network: &[Detection], blobs: &[Detection]) {
        let was_ready = self.scale.ready();
        self.scale.learn(network);
        if self.scale.ready() {
            self.size_rows();
        }
        if !was_ready {
            return;
        }
        for (z, out) in self.list.iter_mut().zip(&mut self.out) {
            let zone = &self.zones.zones[z.index];
            let seen = |dets: &[Detection]| {
                dets.iter()
                    .filter(|d| {
                        d.class.is_vehicle()
                            && zone.contains(self.zones.anchor_point(zone, &d.bbox))
                            && !self
                                .zones
                                .with_role(ZoneRole::Mask)
                                .any(|m| m.contains(self.zones.anchor_point(m, &d.bbox)))
                    })
                    .count() as u32
            };
            let (truth, blob_count) = (seen(network), seen(blobs));
            let Some(estimate) = out.estimate else {
                continue;
            };
            let near = |count: u32| if count.abs_diff(truth) <= 1 { 1.0 } else { 0.0 };
            let estimate_count = estimate.round().max(0.0) as u32;
            let w = if out.compared == 0 {
                1.0
            } else {
                AGREEMENT_WEIGHT.max(1.0 / (out.compared + 1) as f32)
            };
            out.blobs_agree += w * (near(blob_count) - out.blobs_agree);
            out.estimate_agree += w * (near(estimate_count) - out.estimate_agree);
            out.compared = out.compared.saturating_add(1);
            // The ratio is learned where both see a queue: an empty zone says nothing of it.
            if z.cars > 0.3 && truth > 0 {
                let r = truth as f32 / z.cars;
                z.ratio = Some(match z.ratio {
                    Some(k) => k + 4.0 * AGREEMENT_WEIGHT * (r - k),
                    None => r,
                });
            }
            let lead = out.estimate_agree - out.blobs_agree;
            out.source = match out.source {
                QueueSource::Blobs if out.compared >= MIN_COMPARED && lead > TAKE_OVER => {
                    QueueSource::Estimate
                }
                QueueSource::Estimate if lead < HAND_BACK => QueueSource::Blobs,
                other => other,
            };
        }
    }

    /// What was learned, to be saved with the background model: the scale, and per zone the
    /// ratio, the comparison with the network and the source it chose.
    pub(crate) fn learned(&self) -> Learned {
        Learned {
            scale: self.scale.clone(),
            zones: self
                .list
                .iter()
                .zip(&self.out)
                .map(|(z, out)| LearnedZone {
                    name: out.zone.clone(),
                    cells: z.cells,
                    ratio: z.ratio,
                    source: out.source,
                    compared: out.compared,
                    blobs_agree: out.blobs_agree,
                    estimate_agree: out.estimate_agree,
                })
                .collect(),
        }
    }

    /// Takes back what a saved model had learned: the scale, and each zone's figures where a
    /// zone of the same name covers the same cells (a zone redrawn since learns afresh).
    /// Returns the zones taken back.
    pub(crate) fn restore(&mut self, learned: &Learned) -> usize {
        self.scale = learned.scale.clone();
        if self.scale.ready() {
            self.size_rows();
        }
        let mut restored = 0;
        for (z, out) in self.list.iter_mut().zip(&mut self.out) {
            let Some(saved) = learned
                .zones
                .iter()
                .find(|s| s.name == out.zone && s.cells == z.cells)
            else {
                continue;
            };
            z.ratio = saved.ratio;
            out.source = saved.source;
            out.compared = saved.compared;
            out.blobs_agree = saved.blobs_agree;
            out.estimate_agree = saved.estimate_agree;
            restored += 1;
        }
        restored
    }

    /// A car's area in cells at each cell row, from the scale (the size of a car whose bottom
    /// edge is on that row).
    fn size_rows(&mut self) {
        let step = self.step as f32;
        self.row_cars.resize(self.rows, 0.0);
        for (r, cars) in self.row_cars.iter_mut().enumerate() {
            let row = (r as f32 + 0.5) * step;
            *cars = self.scale.size_at(row).map_or(0.0, |size| {
                step * step / (CAR_FILL * size * size).max(f32::MIN_POSITIVE)
            });
        }
    }
}

/// What a [`Cover`] learned from the network, as saved with its background model, so that a
/// restart does not begin again from no car (a minute of a busy road before the scale is
/// ready, and 100 compared frames before the estimate may count).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Learned {
    scale: VehicleScale,
    zones: Vec<LearnedZone>,
}

#[derive(Debug, Clone, PartialEq)]
struct LearnedZone {
    name: String,
    cells: u32,
    ratio: Option<f32>,
    source: QueueSource,
    compared: u32,
    blobs_agree: f32,
    estimate_agree: f32,
}

impl Learned {
    /// Little-endian: the scale's five sums (f64), whether rows were seen and the lowest and
    /// highest (u8, f32, f32); the zones' count (u32), then each zone's name (u16 length and
    /// UTF-8), cells (u32), ratio (u8 flag, f32), source (u8: 0 blobs, 1 estimate), compared
    /// frames (u32) and the two agreements (f32).
    pub(crate) fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let s = &self.scale;
        for v in [s.n, s.sy, s.ss, s.syy, s.sys] {
            out.write_all(&v.to_le_bytes())?;
        }
        let (seen, (low, high)) = match s.rows {
            Some(rows) => (1u8, rows),
            None => (0, (0.0, 0.0)),
        };
        out.write_all(&[seen])?;
        out.write_all(&low.to_le_bytes())?;
        out.write_all(&high.to_le_bytes())?;
        out.write_all(&(self.zones.len() as u32).to_le_bytes())?;
        for z in &self.zones {
            // A zone name longer than 65 535 bytes is cut (it would not match at restore).
            let name = &z.name.as_bytes()[..z.name.len().min(usize::from(u16::MAX))];
            out.write_all(&(name.len() as u16).to_le_bytes())?;
            out.write_all(name)?;
            out.write_all(&z.cells.to_le_bytes())?;
            out.write_all(&[u8::from(z.ratio.is_some())])?;
            out.write_all(&z.ratio.unwrap_or(0.0).to_le_bytes())?;
            out.write_all(&[u8::from(z.source == QueueSource::Estimate)])?;
            out.write_all(&z.compared.to_le_bytes())?;
            out.write_all(&z.blobs_agree.to_le_bytes())?;
            out.write_all(&z.estimate_agree.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads what [`Learned::write`] wrote, all of `data` and nothing more; a value no cover
    /// could have learned (not a number, a share outside 0 to 1) is an error.
    pub(crate) fn parse(data: &[u8]) -> Result<Learned, String> {
        let mut r = Reader { data };
        let mut sums = [0f64; 5];
        for v in &mut sums {
            *v = r.f64()?;
        }
        let [n, sy, ss, syy, sys] = sums;
        let seen = r.u8()?;
        let (low, high) = (r.f32()?, r.f32()?);
        if !sums.iter().all(|v| v.is_finite())
            || n < 0.0
            || seen > 1
            || !(low.is_finite() && high.is_finite() && low <= high)
        {
            return Err("a vehicle scale no camera learned".into());
        }
        let scale = VehicleScale {
            n,
            sy,
            ss,
            syy,
            sys,
            rows: (seen == 1).then_some((low, high)),
        };
        let count = r.u32()?;
        let mut zones = Vec::new();
        for _ in 0..count {
            let len = usize::from(r.u16()?);
            let name = std::str::from_utf8(r.bytes(len)?)
                .map_err(|_| "a zone name that is not UTF-8".to_string())?
                .to_string();
            let cells = r.u32()?;
            let has_ratio = r.u8()?;
            let ratio = r.f32()?;
            let source = match r.u8()? {
                0 => QueueSource::Blobs,
                1 => QueueSource::Estimate,
                other => return Err(format!("zone {name:?}: queue source {other}")),
            };
            let compared = r.u32()?;
            let (blobs_agree, estimate_agree) = (r.f32()?, r.f32()?);
            let share = |v: f32| (0.0..=1.0).contains(&v);
            let learnable = has_ratio <= 1
                && ratio.is_finite()
                && ratio >= 0.0
                && share(blobs_agree)
                && share(estimate_agree);
            if !learnable {
                return Err(format!("zone {name:?}: figures no camera learned"));
            }
            zones.push(LearnedZone {
                name,
                cells,
                ratio: (has_ratio == 1).then_some(ratio),
                source,
                compared,
                blobs_agree,
                estimate_agree,
            });
        }
        if !r.data.is_empty() {
            let n = r.data.len();
            let plural = if n == 1 { "" } else { "s" };
            return Err(format!("{n} byte{plural} after the zones"));
        }
        Ok(Learned { scale, zones })
    }

    /// Cars the scale was learned from.
    pub(crate) fn cars(&self) -> f64 {
        self.scale.n
    }
}

/// Reads little-endian values off the front of a byte slice.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.data.len() < n {
            return Err("it ends within what the network taught".into());
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn f32(&mut self) -> Result<f32, String> {
        self.array().map(f32::from_le_bytes)
    }

    fn f64(&mut self) -> Result<f64, String> {
        self.array().map(f64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A car on a road seen in perspective: 20 px at row 50, 100 px at row 350.
    fn car_at(x: f32, bottom: f32) -> BBox {
        let size = 20.0 + (bottom - 50.0) * (80.0 / 300.0);
        let (w, h) = (size * 1.25, size * 0.8);
        BBox::new(x, bottom - h, x + w, bottom)
    }

    fn car(bbox: BBox) -> Detection {
        Detection {
            class: ObjectClass::Car,
            score: 0.8,
            bbox,
        }
    }

    #[test]
    fn the_size_of_a_car_follows_its_row_once_enough_cars_were_seen() {
        let mut scale = VehicleScale::new();
        for i in 0..29 {
            scale.observe(&car_at(0.0, 100.0 + i as f32));
        }
        assert_eq!(scale.size_at(120.0), None, "29 cars are not enough");
        let mut scale = VehicleScale::new();
        for i in 0..60 {
            scale.learn(&[car(car_at(10.0, 50.0 + (i * 5) as f32))]);
        }
        for (row, size) in [(50.0, 20.0), (200.0, 60.0), (345.0, 98.7)] {
            let got = scale.size_at(row).unwrap();
            assert!((got - size).abs() < 0.5, "row {row}: {got} against {size}");
        }
        assert_eq!(scale.size_at(10.0), scale.size_at(50.0), "not extended");
    }

    #[test]
    fn blobs_and_unsure_detections_teach_the_scale_nothing() {
        let mut scale = VehicleScale::new();
        for i in 0..100 {
            let bbox = car_at(0.0, 60.0 + i as f32);
            scale.learn(&[
                Detection {
                    class: ObjectClass::Vehicle,
                    score: 1.0,
                    bbox,
                },
                Detection {
                    class: ObjectClass::Car,
                    score: 0.3,
                    bbox,
                },
            ]);
        }
        assert_eq!(scale.cars(), 0.0);
    }

    /// Covers the cells of `bbox` (frame pixels) in `cover`.
    fn paint(cover: &mut Cover, bbox: BBox) {
        let step = cover.step as f32;
        let (r1, r2) = ((bbox.y1 / step) as i64, (bbox.y2 / step) as i64 - 1);
        for row in r1..=r2 {
            cover.add_run(row, (bbox.x1 / step) as i64, (bbox.x2 / step) as i64 - 1);
        }
    }

    /// One frame: `cars` painted as foreground, the network seeing `seen` of them, the blobs
    /// being `blobs`.
    fn frame(cover: &mut Cover, cars: &[BBox], seen: usize, blobs: &[BBox]) {
        cover.begin();
        for &c in cars {
            paint(cover, c);
        }
        cover.finish();
        let network: Vec<Detection> = cars.iter().take(seen).map(|&b| car(b)).collect();
        let blobs: Vec<Detection> = blobs
            .iter()
            .map(|&bbox| Detection {
                class: ObjectClass::Vehicle,
                score: 1.0,
                bbox,
            })
            .collect();
        cover.compare(&network, &blobs);
    }

    /// A cover of a 400x360 picture, one queue zone, and three cars queued in it.
    fn three_queued() -> (Cover, [BBox; 3]) {
        let zones = ZoneSet::whole_frame(400, 360, "A");
        let queue = [
            car_at(20.0, 120.0),
            car_at(150.0, 200.0),
            car_at(250.0, 300.0),
        ];
        (Cover::new(&zones, 2), queue)
    }

    #[test]
    fn the_covered_share_is_measured_and_the_estimate_counts_cars_once_the_network_showed_them() {
        let (mut cover, queue) = three_queued();
        frame(&mut cover, &queue, 3, &queue);
        let first = cover.zones()[0].clone();
        let area: f32 = queue.iter().map(BBox::area).sum();
        assert!(
            (first.covered - area / (400.0 * 360.0)).abs() < 0.01,
            "{first:?}"
        );
        assert_eq!(first.estimate, None, "no scale yet");
        for _ in 0..20 {
            frame(&mut cover, &queue, 3, &queue);
        }
        let z = cover.zones()[0].clone();
        let estimate = z.estimate.unwrap();
        assert!((estimate - 3.0).abs() < 0.5, "{z:?}");
        // The network agrees with both; the blobs keep counting.
        assert_eq!(z.source, QueueSource::Blobs);
        assert!(z.blobs_agree > 0.99 && z.estimate_agree > 0.99, "{z:?}");
    }

    #[test]
    fn where_the_blobs_count_pieces_the_estimate_takes_over_and_hands_back_when_they_do_not() {
        let (mut cover, queue) = three_queued();
        // Each car is three blobs, as a car at night is its two headlights and their glare.
        let pieces: Vec<BBox> = queue
            .iter()
            .flat_map(|b| {
                let third = b.width() / 3.0;
                (0..3).map(move |k| {
                    let x = b.x1 + k as f32 * third;
                    BBox::new(x, b.y1, x + third, b.y2)
                })
            })
            .collect();
        for _ in 0..MIN_COMPARED + 40 {
            frame(&mut cover, &queue, 3, &pieces);
            let z = &cover.zones()[0];
            if z.compared < MIN_COMPARED {
                assert_eq!(
                    z.source,
                    QueueSource::Blobs,
                    "not before enough frames: {z:?}"
                );
            }
        }
        let z = cover.zones()[0].clone();
        assert_eq!(z.source, QueueSource::Estimate, "{z:?}");
        assert!(z.blobs_agree < 0.1 && z.estimate_agree > 0.9, "{z:?}");
        // The scene changes: the blobs are whole cars again. The estimate keeps counting while
        // it still agreed clearly more often over the last couple of hundred frames.
        for _ in 0..200 {
            frame(&mut cover, &queue, 3, &queue);
        }
        assert_eq!(cover.zones()[0].source, QueueSource::Estimate);
        for _ in 0..600 {
            frame(&mut cover, &queue, 3, &queue);
        }
        assert_eq!(
            cover.zones()[0].source,
            QueueSource::Blobs,
            "{:?}",
            cover.zones()[0]
        );
    }

    #[test]
    fn what_was_learned_reads_back_as_written_and_values_no_cover_learns_are_refused() {
        let (mut cover, queue) = three_queued();
        for _ in 0..40 {
            frame(&mut cover, &queue, 3, &queue);
        }
        let learned = cover.learned();
        let mut bytes = Vec::new();
        learned.write(&mut bytes).unwrap();
        assert_eq!(Learned::parse(&bytes), Ok(learned.clone()));
        let fresh = Cover::new(&ZoneSet::whole_frame(400, 360, "A"), 2).learned();
        let mut empty = Vec::new();
        fresh.write(&mut empty).unwrap();
        assert_eq!(Learned::parse(&empty), Ok(fresh));

        // The last zone's bytes: ... source (u8), compared (u32), two agreements (f32).
        let at_source = bytes.len() - 13;
        let mut bad = bytes.clone();
        bad[at_source] = 7;
        assert!(Learned::parse(&bad).unwrap_err().contains("queue source 7"));
        let mut bad = bytes.clone();
        let end = bad.len();
        bad[end - 4..].copy_from_slice(&1.5f32.to_le_bytes());
        assert!(Learned::parse(&bad)
            .unwrap_err()
            .contains("figures no camera learned"));
        let mut bad = bytes.clone();
        bad[..8].copy_from_slice(&f64::NAN.to_le_bytes());
        assert!(Learned::parse(&bad).unwrap_err().contains("vehicle scale"));
        let mut long = bytes.clone();
        long.push(0);
        assert!(Learned::parse(&long).unwrap_err().contains("1 byte after"));
        assert!(Learned::parse(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("ends within"));
    }
}
