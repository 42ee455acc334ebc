//! `synthetic:` — a small deterministic traffic scene: one approach lane seen from a camera on a
//! pole, a stop line near the bottom of the picture, vehicles of several sizes and colours that
//! arrive at random (seeded) times, queue at red and leave at green, with sensor noise and a slow
//! drift of the light.
//!
//! It is the default camera when nothing is configured, so a newcomer sees the whole chain
//! working, and the fixture of the detection and counting tests: [`SyntheticScene::ground_truth`]
//! says exactly which vehicles are where, and how many have crossed the count line.
//!
//! The scene keeps its own time: every frame advances it by `1 / fps` seconds, so the same seed
//! and the same signal inputs give the same frames, whatever the machine's speed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use semaforo_resources::{CameraDevice, CameraProperty};

use crate::frame::Frame;
use crate::test_pattern::{check_fps, check_size, size_and_rate};
use crate::SourceError;

/// What the approach's signal head shows, as the scene's drivers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Aspect {
    Green = 0,
    Yellow = 1,
    Red = 2,
}

/// A shared handle through which the controller sets a synthetic camera's [`Aspect`] while the
/// camera itself is owned by its guard (and, later, its own thread).
#[derive(Debug, Clone)]
pub struct AspectFeed(Arc<AtomicU8>);

impl AspectFeed {
    fn new(aspect: Aspect) -> Self {
        AspectFeed(Arc::new(AtomicU8::new(aspect as u8)))
    }

    pub fn set(&self, aspect: Aspect) {
        self.0.store(aspect as u8, Ordering::Relaxed);
    }

    pub fn get(&self) -> Aspect {
        match self.0.load(Ordering::Relaxed) {
            0 => Aspect::Green,
            1 => Aspect::Yellow,
            _ => Aspect::Red,
        }
    }
}

/// Vehicle classes with their size in lane-relative units (length as a share of the picture
/// height, width as a share of the lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleClass {
    Car,
    Van,
    Bus,
    Motorcycle,
}

impl VehicleClass {
    fn length(self) -> f64 {
        match self {
            VehicleClass::Car => 0.07,
            VehicleClass::Van => 0.09,
            VehicleClass::Bus => 0.16,
            VehicleClass::Motorcycle => 0.04,
        }
    }

    fn width(self) -> f64 {
        match self {
            VehicleClass::Car => 0.58,
            VehicleClass::Van => 0.66,
            VehicleClass::Bus => 0.8,
            VehicleClass::Motorcycle => 0.2,
        }
    }

    /// The COCO name a detector would give it.
    pub fn name(self) -> &'static str {
        match self {
            VehicleClass::Car | VehicleClass::Van => "car",
            VehicleClass::Bus => "bus",
            VehicleClass::Motorcycle => "motorcycle",
        }
    }
}

/// Scene settings; `synthetic:seed=7,rate=20,noise=3` in configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneConfig {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Seed of every random choice (arrivals, classes, colours, noise).
    pub seed: u64,
    /// Mean arrivals per minute (a Poisson process).
    pub arrivals_per_minute: f64,
    /// Amplitude of the per-pixel sensor noise, in grey levels.
    pub noise: f64,
    /// Period of the slow illumination drift, in seconds (0 turns it off).
    pub drift_period_s: f64,
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            width: 640,
            height: 480,
            fps: 15.0,
            seed: 1,
            arrivals_per_minute: 12.0,
            noise: 4.0,
            drift_period_s: 600.0,
        }
    }
}

impl SceneConfig {
    /// Applies `key=value` pairs separated by commas (the part of `synthetic:...` after the
    /// colon): `seed`, `rate` (arrivals per minute), `noise`, `drift` (seconds).
    pub fn with_params(mut self, params: &str) -> Result<Self, SourceError> {
        for pair in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = |expected: &str| SourceError::BadParameter {
                source_kind: "synthetic:",
                parameter: pair.to_string(),
                expected: expected.to_string(),
            };
            let (key, value) = pair.split_once('=').ok_or_else(|| bad("key=value"))?;
            let number = || value.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            match key.trim() {
                "seed" => {
                    self.seed = value
                        .trim()
                        .parse()
                        .map_err(|_| bad("seed=<whole number>"))?
                }
                "rate" => {
                    self.arrivals_per_minute = number()
                        .filter(|v| (0.0..=120.0).contains(v))
                        .ok_or_else(|| bad("rate=<0 to 120 vehicles per minute>"))?
                }
                "noise" => {
                    self.noise = number()
                        .filter(|v| (0.0..=64.0).contains(v))
                        .ok_or_else(|| bad("noise=<0 to 64 grey levels>"))?
                }
                "drift" => {
                    self.drift_period_s = number()
                        .filter(|v| *v >= 0.0)
                        .ok_or_else(|| bad("drift=<period in seconds, 0 for none>"))?
                }
                _ => return Err(bad("one of seed, rate, noise, drift")),
            }
        }
        Ok(self)
    }
}

/// A vehicle in the scene, in picture units: `front` and `rear` are rows (0 at the top,
/// 1 at the bottom); vehicles drive down the picture, towards the stop line and the camera.
#[derive(Debug, Clone)]
struct Vehicle {
    id: u64,
    class: VehicleClass,
    colour: [u8; 3],
    front: f64,
    speed: f64,
    /// Offset of the vehicle's centre from the lane's centre, as a share of the lane width.
    lateral: f64,
    counted: bool,
}

impl Vehicle {
    fn rear(&self) -> f64 {
        self.front - self.class.length()
    }
}

/// Where things are, as shares of the picture. `semaforo-vision` turns it into the scene's
/// zones (`ZoneSet::of_synthetic_scene`), so that counts can be checked against the ground truth.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Left and right edges of the approach lane.
    pub lane: (f64, f64),
    /// Row of the stop line.
    pub stop_line: f64,
    /// Rows of the queue zone (from its far end to the stop line).
    pub queue_zone: (f64, f64),
    /// Row of the count line that arrivals cross.
    pub count_line: f64,
}

/// The scene's fixed geometry.
pub const LAYOUT: Layout = Layout {
    lane: (0.40, 0.60),
    stop_line: 0.78,
    queue_zone: (0.20, 0.78),
    count_line: 0.15,
};

/// One vehicle as the scene knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleTruth {
    pub id: u64,
    pub class: VehicleClass,
    /// Pixel box `[x1, y1, x2, y2]`, clipped to the picture.
    pub bbox: [u32; 4],
    /// Whether the vehicle's centre is in the queue zone.
    pub in_queue_zone: bool,
    /// Whether it is stopped (speed below 2% of the picture height per second).
    pub stopped: bool,
}

/// What is really in the frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroundTruth {
    /// Scene time of the frame, seconds.
    pub time_s: f64,
    pub vehicles: Vec<VehicleTruth>,
    /// Vehicles present in the queue zone now.
    pub queue: usize,
    /// Vehicles that have crossed the count line since the scene started.
    pub arrivals: u64,
    /// Vehicles that have crossed the stop line since the scene started.
    pub departures: u64,
}

/// A small, fast, seedable generator (SplitMix64): the scene must not depend on a random
/// crate's version to stay reproducible.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const COLOURS: [[u8; 3]; 8] = [
    [200, 30, 30],
    [30, 60, 170],
    [225, 225, 225],
    [25, 25, 25],
    [150, 150, 155],
    [220, 180, 40],
    [40, 120, 60],
    [120, 70, 30],
];

/// Free-flow speed, picture heights per second.
const FREE_SPEED: f64 = 0.22;
/// Gap kept to the vehicle ahead when stopped, picture heights.
const STANDSTILL_GAP: f64 = 0.018;
/// Time headway when following, seconds.
const HEADWAY_S: f64 = 1.0;
const MAX_ACCEL: f64 = 0.12;
const MAX_DECEL: f64 = 0.5;

/// The scene: vehicles, their motion and the picture.
#[derive(Debug, Clone)]
pub struct SyntheticScene {
    config: SceneConfig,
    rng: Rng,
    noise_rng: Rng,
    vehicles: Vec<Vehicle>,
    time_s: f64,
    next_arrival_s: f64,
    next_id: u64,
    aspect: Aspect,
    arrivals: u64,
    departures: u64,
    background: Vec<u8>,
}

impl SyntheticScene {
    pub fn new(config: SceneConfig) -> Self {
        let mut rng = Rng(config.seed);
        let noise_rng = Rng(config.seed ^ 0xA5A5_5A5A_DEAD_BEEF);
        let first = exponential(&mut rng, config.arrivals_per_minute);
        let background = render_background(config.width as usize, config.height as usize);
        SyntheticScene {
            config,
            rng,
            noise_rng,
            vehicles: Vec::new(),
            time_s: 0.0,
            next_arrival_s: first,
            next_id: 0,
            aspect: Aspect::Red,
            arrivals: 0,
            departures: 0,
            background,
        }
    }

    pub fn config(&self) -> &SceneConfig {
        &self.config
    }

    /// What the approach's signal shows from now on.
    pub fn set_aspect(&mut self, aspect: Aspect) {
        self.aspect = aspect;
    }

    /// Advances the scene by `dt` seconds.
    pub fn step(&mut self, dt: f64) {
        self.time_s += dt;
        while self.time_s >= self.next_arrival_s {
            self.spawn();
            self.next_arrival_s += exponential(&mut self.rng, self.config.arrivals_per_minute);
        }
        // Leaders first: vehicles sorted by front, furthest down the picture first.
        self.vehicles.sort_by(|a, b| b.front.total_cmp(&a.front));
        let stop_for_signal = self.aspect != Aspect::Green;
        let mut ahead_rear: Option<f64> = None;
        for v in &mut self.vehicles {
            // The distance to what this vehicle must not pass: the vehicle ahead, or the stop
            // line while the signal is not green and the vehicle can still stop before it.
            let mut limit = ahead_rear.map(|r| r - STANDSTILL_GAP);
            let before_line = v.front <= LAYOUT.stop_line + 0.002;
            let can_stop =
                v.speed * v.speed / (2.0 * MAX_DECEL) <= LAYOUT.stop_line - v.front + 0.01;
            if stop_for_signal && before_line && (self.aspect == Aspect::Red || can_stop) {
                let line = LAYOUT.stop_line;
                limit = Some(limit.map_or(line, |l: f64| l.min(line)));
            }
            let desired = match limit {
                Some(l) => ((l - v.front).max(0.0) / HEADWAY_S).min(FREE_SPEED),
                None => FREE_SPEED,
            };
            let dv = (desired - v.speed).clamp(-MAX_DECEL * dt, MAX_ACCEL * dt);
            v.speed = (v.speed + dv).max(0.0);
            let mut next_front = v.front + v.speed * dt;
            if let Some(l) = limit {
                if next_front > l && v.front <= l {
                    next_front = l.max(v.front);
                    v.speed = 0.0;
                }
            }
            if v.front <= LAYOUT.stop_line && next_front > LAYOUT.stop_line {
                self.departures += 1;
            }
            if !v.counted && next_front >= LAYOUT.count_line {
                v.counted = true;
                self.arrivals += 1;
            }
            v.front = next_front;
            ahead_rear = Some(v.rear());
        }
        self.vehicles.retain(|v| v.rear() < 1.05);
    }

    fn spawn(&mut self) {
        // A vehicle enters above the picture; if the lane is backed up to the top, it waits
        // there (joins the back of the queue) as in a real approach.
        let r = self.rng.unit();
        let class = if r < 0.70 {
            VehicleClass::Car
        } else if r < 0.82 {
            VehicleClass::Van
        } else if r < 0.90 {
            VehicleClass::Bus
        } else {
            VehicleClass::Motorcycle
        };
        let colour = COLOURS[(self.rng.next_u64() % COLOURS.len() as u64) as usize];
        let lateral = (self.rng.unit() - 0.5) * (1.0 - class.width()) * 0.6;
        let last_rear = self
            .vehicles
            .iter()
            .map(Vehicle::rear)
            .fold(f64::INFINITY, f64::min);
        let front = (last_rear - STANDSTILL_GAP).min(-0.01);
        self.vehicles.push(Vehicle {
            id: self.next_id,
            class,
            colour,
            front,
            speed: FREE_SPEED,
            lateral,
            counted: false,
        });
        self.next_id += 1;
    }

    fn bbox(&self, v: &Vehicle) -> Option<[u32; 4]> {
        let (w, h) = (self.config.width as f64, self.config.height as f64);
        let lane_w = (LAYOUT.lane.1 - LAYOUT.lane.0) * w;
        let centre = (LAYOUT.lane.0 + LAYOUT.lane.1) / 2.0 * w + v.lateral * lane_w;
        let half = v.class.width() * lane_w / 2.0;
        let y1 = (v.rear() * h).max(0.0);
        let y2 = (v.front * h).min(h);
        if y2 <= y1 + 1.0 {
            return None;
        }
        Some([
            (centre - half) as u32,
            y1 as u32,
            (centre + half) as u32,
            y2 as u32,
        ])
    }

    /// Which vehicles are where right now.
    pub fn ground_truth(&self) -> GroundTruth {
        let h = self.config.height as f64;
        let mut truth = GroundTruth {
            time_s: self.time_s,
            arrivals: self.arrivals,
            departures: self.departures,
            ..GroundTruth::default()
        };
        for v in &self.vehicles {
            let Some(bbox) = self.bbox(v) else { continue };
            let centre = (bbox[1] + bbox[3]) as f64 / 2.0 / h;
            let in_queue_zone = centre >= LAYOUT.queue_zone.0 && centre <= LAYOUT.queue_zone.1;
            truth.queue += usize::from(in_queue_zone);
            truth.vehicles.push(VehicleTruth {
                id: v.id,
                class: v.class,
                bbox,
                in_queue_zone,
                stopped: v.speed < 0.02,
            });
        }
        truth
    }

    /// Draws the current scene into `rgb` (`width * height * 3` bytes).
    pub fn render_into(&mut self, rgb: &mut Vec<u8>) {
        rgb.clear();
        rgb.extend_from_slice(&self.background);
        let w = self.config.width as usize;
        for v in &self.vehicles {
            let Some([x1, y1, x2, y2]) = self.bbox(v) else {
                continue;
            };
            let (x1, y1, x2, y2) = (x1 as usize, y1 as usize, x2 as usize, y2 as usize);
            // A shadow to the right, the body, and a dark windscreen near the front.
            fill(rgb, w, (x2, y1 + 2, (x2 + 3).min(w), y2), [45, 45, 48]);
            fill(rgb, w, (x1, y1, x2, y2), v.colour);
            let glass = y2 - (y2 - y1) / 4;
            let inset = (x2 - x1) / 8;
            fill(
                rgb,
                w,
                (x1 + inset, glass, x2 - inset, glass + (y2 - y1) / 8),
                [35, 45, 60],
            );
        }
        let gain = if self.config.drift_period_s > 0.0 {
            1.0 + 0.12 * (std::f64::consts::TAU * self.time_s / self.config.drift_period_s).sin()
        } else {
            1.0
        };
        apply_light_and_noise(rgb, gain, self.config.noise, &mut self.noise_rng);
    }
}

fn exponential(rng: &mut Rng, per_minute: f64) -> f64 {
    if per_minute <= 0.0 {
        return f64::INFINITY;
    }
    -(1.0 - rng.unit()).ln() * 60.0 / per_minute
}

fn fill(rgb: &mut [u8], w: usize, (x1, y1, x2, y2): (usize, usize, usize, usize), colour: [u8; 3]) {
    let h = rgb.len() / (w * 3);
    for y in y1.min(h)..y2.min(h) {
        for x in x1.min(w)..x2.min(w) {
            rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&colour);
        }
    }
}

fn render_background(w: usize, h: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; w * h * 3];
    fill(&mut rgb, w, (0, 0, w, h), [70, 110, 60]); // verge
    let px = |f: f64, n: usize| (f * n as f64) as usize;
    let road = (px(0.26, w), 0, px(0.74, w), h);
    fill(&mut rgb, w, road, [92, 92, 96]);
    // Lane edges, a dashed centre line for the opposite lane, the stop line.
    fill(
        &mut rgb,
        w,
        (px(LAYOUT.lane.0, w) - 2, 0, px(LAYOUT.lane.0, w), h),
        [200, 200, 200],
    );
    fill(
        &mut rgb,
        w,
        (px(LAYOUT.lane.1, w), 0, px(LAYOUT.lane.1, w) + 2, h),
        [200, 200, 200],
    );
    let stop = px(LAYOUT.stop_line, h);
    fill(
        &mut rgb,
        w,
        (px(LAYOUT.lane.0, w), stop, px(LAYOUT.lane.1, w), stop + 4),
        [235, 235, 235],
    );
    rgb
}

fn apply_light_and_noise(rgb: &mut [u8], gain: f64, amplitude: f64, rng: &mut Rng) {
    let gain_q8 = (gain * 256.0) as i32;
    let amp = amplitude.round() as i32;
    if amp == 0 && gain_q8 == 256 {
        return;
    }
    // Eight noise samples per random draw keeps this cheap enough for 15 fps on a Pi.
    for chunk in rgb.chunks_mut(8) {
        let bits = rng.next_u64();
        for (i, p) in chunk.iter_mut().enumerate() {
            let r = ((bits >> (i * 8)) & 0xFF) as i32; // 0..255
            let noise = if amp == 0 {
                0
            } else {
                (r * (2 * amp + 1)) / 256 - amp
            };
            *p = (((*p as i32 * gain_q8) >> 8) + noise).clamp(0, 255) as u8;
        }
    }
}

/// The scene as a camera: each read advances it by one frame time.
#[derive(Debug)]
pub struct SyntheticCamera {
    scene: SyntheticScene,
    feed: AspectFeed,
    seq: u64,
    open: bool,
    last_truth: GroundTruth,
}

impl SyntheticCamera {
    pub fn open(config: SceneConfig) -> Result<Self, SourceError> {
        check_size("width", config.width as f64, 7680)?;
        check_size("height", config.height as f64, 4320)?;
        check_fps(config.fps)?;
        Ok(SyntheticCamera {
            scene: SyntheticScene::new(config),
            feed: AspectFeed::new(Aspect::Red),
            seq: 0,
            open: true,
            last_truth: GroundTruth::default(),
        })
    }

    /// The handle that sets what the approach's signal shows (the daemon feeds its
    /// controller's output here, which closes the loop: vehicles queue while it is red). The
    /// scene starts at red.
    pub fn aspect_feed(&self) -> AspectFeed {
        self.feed.clone()
    }

    /// The ground truth of the last frame read.
    pub fn ground_truth(&self) -> &GroundTruth {
        &self.last_truth
    }
}

impl CameraDevice for SyntheticCamera {
    type Frame = Frame;
    type Error = SourceError;

    fn read(&mut self) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Closed);
        }
        let dt = 1.0 / self.scene.config.fps;
        self.scene.set_aspect(self.feed.get());
        self.scene.step(dt);
        let mut rgb = Vec::new();
        self.scene.render_into(&mut rgb);
        self.last_truth = self.scene.ground_truth();
        let frame = Frame {
            seq: self.seq,
            captured: SystemTime::now(),
            width: self.scene.config.width,
            height: self.scene.config.height,
            rgb,
        };
        self.seq += 1;
        Ok(frame)
    }

    fn get(&self, property: CameraProperty) -> Option<f64> {
        let c = &self.scene.config;
        size_and_rate(property, c.width, c.height, c.fps)
    }

    fn set(&mut self, property: CameraProperty, value: f64) -> Result<(), SourceError> {
        Err(SourceError::BadSetting {
            property: "property",
            value,
            expected: format!("nothing: synthetic: is configured at open ({property:?} is fixed)"),
        })
    }

    fn is_opened(&self) -> bool {
        self.open
    }

    fn release(&mut self) {
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(rate: f64) -> SyntheticScene {
        SyntheticScene::new(SceneConfig {
            arrivals_per_minute: rate,
            seed: 7,
            ..SceneConfig::default()
        })
    }

    fn run(scene: &mut SyntheticScene, seconds: f64, aspect: Aspect) {
        scene.set_aspect(aspect);
        for _ in 0..(seconds * 15.0).round() as usize {
            scene.step(1.0 / 15.0);
        }
    }

    #[test]
    fn vehicles_queue_at_red_and_leave_at_green() {
        let mut s = scene(20.0);
        run(&mut s, 60.0, Aspect::Red);
        let red = s.ground_truth();
        assert!(
            red.queue >= 5,
            "a minute of red at 20 veh/min builds a queue: {}",
            red.queue
        );
        assert_eq!(red.departures, 0, "nobody crosses the stop line at red");
        let queued: Vec<_> = red.vehicles.iter().filter(|v| v.in_queue_zone).collect();
        assert!(
            queued.iter().all(|v| v.stopped),
            "queued vehicles stand still"
        );
        // Nobody overlaps: stopped vehicles keep a gap.
        let mut boxes: Vec<_> = red.vehicles.iter().map(|v| v.bbox).collect();
        boxes.sort_by_key(|b| b[1]);
        assert!(boxes.windows(2).all(|p| p[0][3] <= p[1][1]), "{boxes:?}");

        run(&mut s, 30.0, Aspect::Green);
        let green = s.ground_truth();
        assert!(
            green.departures >= red.queue as u64,
            "the queue discharges at green"
        );
        assert!(green.queue < red.queue);
    }

    #[test]
    fn the_same_seed_gives_the_same_frames_and_truth() {
        let render = || {
            let mut s = scene(15.0);
            run(&mut s, 20.0, Aspect::Red);
            let mut rgb = Vec::new();
            s.render_into(&mut rgb);
            (rgb, s.ground_truth())
        };
        assert_eq!(render(), render());
    }

    #[test]
    fn arrivals_follow_the_configured_rate() {
        let mut s = scene(30.0);
        run(&mut s, 600.0, Aspect::Green);
        let arrivals = s.ground_truth().arrivals;
        // 300 expected; a Poisson count's standard deviation is about 17.
        assert!((240..=360).contains(&arrivals), "{arrivals}");
    }

    #[test]
    fn drawn_vehicles_are_where_the_truth_says() {
        let mut s = SyntheticScene::new(SceneConfig {
            noise: 0.0,
            drift_period_s: 0.0,
            seed: 3,
            arrivals_per_minute: 20.0,
            ..SceneConfig::default()
        });
        run(&mut s, 40.0, Aspect::Red);
        let truth = s.ground_truth();
        let mut rgb = Vec::new();
        s.render_into(&mut rgb);
        let w = s.config().width as usize;
        for v in &truth.vehicles {
            let [x1, y1, x2, y2] = v.bbox;
            let (cx, cy) = (((x1 + x2) / 2) as usize, ((y1 + y2) / 2) as usize);
            let px = &rgb[(cy * w + cx) * 3..(cy * w + cx) * 3 + 3];
            assert_ne!(px, &[92, 92, 96], "vehicle {} is drawn at its box", v.id);
        }
    }

    #[test]
    fn parameters_are_parsed_and_bad_ones_named() {
        let c = SceneConfig::default()
            .with_params("seed=9, rate=30,noise=0")
            .unwrap();
        assert_eq!((c.seed, c.arrivals_per_minute, c.noise), (9, 30.0, 0.0));
        let err = SceneConfig::default().with_params("rate=fast").unwrap_err();
        assert_eq!(
            err.to_string(),
            "synthetic: parameter `rate=fast` is not valid: expected rate=<0 to 120 vehicles per minute>"
        );
    }

    #[test]
    fn the_camera_reads_frames_with_truth_and_counts_up() {
        let mut cam = SyntheticCamera::open(SceneConfig::default()).unwrap();
        let a = cam.read().unwrap();
        let b = cam.read().unwrap();
        assert_eq!((a.seq, b.seq), (0, 1));
        assert_eq!(a.rgb.len(), 640 * 480 * 3);
        assert!((cam.ground_truth().time_s - 2.0 / 15.0).abs() < 1e-9);
        cam.release();
        assert!(cam.read().is_err());
    }
}
