//! Detection and counting against the synthetic scene's ground truth: the background model,
//! the tracker and the zone counter together, on rendered frames with noise and drift.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod common;

use semaforo_camera::synthetic::LAYOUT;
use semaforo_camera::{Aspect, Frame, GroundTruth, SceneConfig, SyntheticScene};
use semaforo_vision::{
    BackgroundSubtractor, BgSubOptions, Detection, Detector, TrackerOptions, ZoneCounter, ZoneRole,
    ZoneSet,
};

const FPS: f64 = 15.0;

struct Run {
    scene: SyntheticScene,
    detector: BackgroundSubtractor,
    counter: ZoneCounter,
    frame: Frame,
    detections: Vec<Detection>,
    arrivals: u64,
}

impl Run {
    fn new(seed: u64, rate: f64, options: BgSubOptions) -> Run {
        let config = SceneConfig {
            width: 640,
            height: 480,
            fps: FPS,
            seed,
            arrivals_per_minute: rate,
            ..SceneConfig::default()
        };
        let zones = ZoneSet::of_synthetic_scene(&LAYOUT, 640, 480, "A");
        Run {
            scene: SyntheticScene::new(config),
            detector: BackgroundSubtractor::new(640, 480, &zones, options).unwrap(),
            counter: ZoneCounter::new(zones, TrackerOptions::default()),
            frame: Frame::black(640, 480),
            detections: Vec::new(),
            arrivals: 0,
        }
    }

    /// One frame: the scene moves, is drawn, detected and counted. Returns the truth and the
    /// counted queue.
    fn step(&mut self, aspect: Aspect) -> (GroundTruth, u32) {
        self.scene.set_aspect(aspect);
        self.scene.step(1.0 / FPS);
        self.scene.render_into(&mut self.frame.rgb);
        self.detector
            .detect(&self.frame, &mut self.detections)
            .unwrap();
        self.counter.update(&self.detections);
        let counts = self.counter.approach("A");
        self.arrivals += u64::from(counts.arrivals);
        (self.scene.ground_truth(), counts.queue)
    }
}

/// Whether every vehicle in the picture is clear of the queue zone's edges and of its
/// neighbours (the frames on which an exact count is a fair demand).
fn separated(truth: &GroundTruth) -> bool {
    let h = 480.0;
    let edges = [LAYOUT.queue_zone.0 * h, LAYOUT.queue_zone.1 * h];
    let mut rows: Vec<(u32, u32)> = truth
        .vehicles
        .iter()
        .map(|v| (v.bbox[1], v.bbox[3]))
        .collect();
    rows.sort();
    let near_edge = truth.vehicles.iter().any(|v| {
        let centre = f64::from(v.bbox[1] + v.bbox[3]) / 2.0;
        edges.iter().any(|e| (centre - e).abs() < 6.0)
    });
    // Closing bridges gaps of 2 processed pixels (4 at scale 2), and shadows widen blobs.
    let touching = rows.windows(2).any(|w| w[1].0 < w[0].1 + 10);
    !near_edge && !touching
}

#[test]
fn queue_counts_are_exact_and_arrivals_equal_the_ground_truth_in_a_signal_cycle() {
    let mut run = Run::new(3, 14.0, BgSubOptions::default());
    let (mut fair, mut exact) = (0, 0);
    let mut misses = Vec::new();
    // Two cycles: 30 s red, 20 s green.
    for frame in 0..(100.0 * FPS) as u32 {
        let t = f64::from(frame) / FPS;
        let aspect = if t % 50.0 < 30.0 {
            Aspect::Red
        } else {
            Aspect::Green
        };
        let (truth, queue) = run.step(aspect);
        if t < 2.0 || !separated(&truth) {
            continue;
        }
        fair += 1;
        if queue as usize == truth.queue {
            exact += 1;
        } else if misses.len() < 5 {
            misses.push((frame, truth.queue, queue));
        }
    }
    let truth = run.scene.ground_truth();
    assert!(
        truth.arrivals >= 25,
        "the scene should have traffic: {}",
        truth.arrivals
    );
    assert!(fair > 500, "too few separated frames to judge: {fair}");
    assert_eq!(
        exact, fair,
        "frames with the wrong queue (frame, truth, counted): {misses:?}"
    );
    // A vehicle that crossed the line in the last frames may not be confirmed yet.
    assert!(
        truth.arrivals.abs_diff(run.arrivals) <= 1,
        "arrivals: truth {}, counted {}",
        truth.arrivals,
        run.arrivals
    );
}

#[test]
fn cars_stopped_at_red_for_a_minute_stay_counted() {
    let queue_after_minute = |options: BgSubOptions| {
        let mut run = Run::new(5, 12.0, options);
        // Vehicles arrive and queue while red; the first stops after about 5 s, then 70 s more.
        let mut last = (GroundTruth::default(), 0);
        for _ in 0..(75.0 * FPS) as u32 {
            last = run.step(Aspect::Red);
        }
        let stopped = last
            .0
            .vehicles
            .iter()
            .filter(|v| v.stopped && v.in_queue_zone)
            .count();
        (last.0.queue, stopped, last.1)
    };
    let (truth, stopped, counted) = queue_after_minute(BgSubOptions::default());
    assert!(
        stopped >= 5,
        "the scene should hold a stopped queue, has {stopped}"
    );
    assert_eq!(counted as usize, truth, "stopped cars must keep counting");

    // The same scene without the hold (as a plain MOG2 would run, learning everywhere with a
    // short history) loses the stopped cars: the test can tell the difference.
    let (truth, _, plain) = queue_after_minute(BgSubOptions {
        hold_max_s: 0.0,
        history: 200,
        ..BgSubOptions::default()
    });
    assert!(
        (plain as usize) < truth,
        "without the hold the queue should fade: truth {truth}, counted {plain}"
    );
}

#[test]
fn a_restart_at_red_keeps_the_queue_when_the_background_model_is_restored() {
    // A queue forms at red for 40 s; then the process restarts (a new detector and counter)
    // while the queue still waits.
    let mut run = Run::new(5, 12.0, BgSubOptions::default());
    for _ in 0..(40.0 * FPS) as u32 {
        run.step(Aspect::Red);
    }
    let saved = run.detector.save_state();
    let zones = ZoneSet::of_synthetic_scene(&LAYOUT, 640, 480, "A");
    // Ten seconds after the restart, still red: what each new detector counts.
    let after_restart = |run: &Run, restore: bool| {
        let mut run = Run {
            scene: run.scene.clone(),
            detector: BackgroundSubtractor::new(640, 480, &zones, BgSubOptions::default()).unwrap(),
            counter: ZoneCounter::new(zones.clone(), TrackerOptions::default()),
            frame: Frame::black(640, 480),
            detections: Vec::new(),
            arrivals: 0,
        };
        if restore {
            run.scene.render_into(&mut run.frame.rgb);
            let restored = run.detector.restore_state(&saved, &run.frame).unwrap();
            assert!(restored.matching > 0.9, "{restored:?}");
        }
        let mut last = (GroundTruth::default(), 0);
        for _ in 0..(10.0 * FPS) as u32 {
            last = run.step(Aspect::Red);
        }
        (last.0.queue, last.1)
    };
    let (truth, restored) = after_restart(&run, true);
    assert!(truth >= 4, "the scene should hold a queue, has {truth}");
    assert_eq!(
        restored as usize, truth,
        "the restored model keeps the queue"
    );
    let (_, fresh) = after_restart(&run, false);
    assert!(
        (fresh as usize) < truth,
        "a fresh model takes the standing queue for road: counted {fresh} of {truth}"
    );

    // What is not restored, and why.
    let mut detector =
        BackgroundSubtractor::new(640, 480, &zones, BgSubOptions::default()).unwrap();
    let mut frame = Frame::black(640, 480);
    run.scene.render_into(&mut frame.rgb);
    let torn = detector
        .restore_state(&saved[..saved.len() / 2], &frame)
        .unwrap_err()
        .to_string();
    assert!(torn.contains("checksum"), "{torn}");
    let mut flipped = saved.clone();
    flipped[100] ^= 1;
    assert!(detector.restore_state(&flipped, &frame).is_err());
    // Another view: the camera turned to a blank wall.
    let wall = Frame::black(640, 480);
    let other = detector
        .restore_state(&saved, &wall)
        .unwrap_err()
        .to_string();
    assert!(other.contains("the view changed"), "{other}");
    let mut small = BackgroundSubtractor::new(320, 240, &zones, BgSubOptions::default()).unwrap();
    let other = small
        .restore_state(&saved, &Frame::black(320, 240))
        .unwrap_err()
        .to_string();
    assert!(other.contains("saved for 640x480"), "{other}");

    // The model is written as it is serialized (no copy of it in memory): the same bytes, and
    // a writer that fails part way (a full disk) is an error, not a short file taken as whole.
    struct FullAfter(usize);
    impl std::io::Write for FullAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.0 {
                return Err(std::io::Error::other("no space left on device"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut streamed = Vec::new();
    let size = run.detector.write_state(&mut streamed).unwrap();
    assert_eq!(streamed, saved);
    assert_eq!(size, saved.len() as u64);
    assert!(run.detector.write_state(&mut FullAfter(4096)).is_err());
}

#[test]
fn what_the_network_taught_the_background_model_survives_a_restart() {
    // The model runs beside a network that sees the scene's cars as they are (the ground
    // truth's boxes), as `auto` runs it: the scale and the zone's comparison are learned.
    let mut run = Run::new(7, 12.0, BgSubOptions::default());
    for i in 0..(40.0 * FPS) as u32 {
        let (truth, _) = run.step(if i < 300 { Aspect::Green } else { Aspect::Red });
        let network: Vec<Detection> = common::seen_by_a_perfect_network(&truth).collect();
        let blobs = run.detections.clone();
        run.detector.compare(&network, &blobs);
    }
    let taught = run.detector.cover();
    assert!(taught.scale().ready(), "{:?}", taught.scale());
    assert!(taught.zones()[0].compared > 0, "{:?}", taught.zones());
    let saved = run.detector.save_state();

    let zones = ZoneSet::of_synthetic_scene(&LAYOUT, 640, 480, "A");
    let fresh = || BackgroundSubtractor::new(640, 480, &zones, BgSubOptions::default()).unwrap();
    let mut frame = Frame::black(640, 480);
    run.scene.render_into(&mut frame.rgb);
    let mut restarted = fresh();
    let restored = restarted.restore_state(&saved, &frame).unwrap();
    assert_eq!(restored.cars, taught.scale().cars(), "{restored:?}");
    assert_eq!(restored.zones, taught.zones().len(), "{restored:?}");
    let back = restarted.cover();
    assert_eq!(back.scale(), taught.scale());
    for (b, t) in back.zones().iter().zip(taught.zones()) {
        assert_eq!(
            (b.source, b.compared, b.blobs_agree, b.estimate_agree),
            (t.source, t.compared, t.blobs_agree, t.estimate_agree)
        );
    }

    // A file written before the network's lessons were saved (version 1: the pixels only) is
    // still restored; its model learns the scale afresh.
    let header = 48;
    let u32_at = |at: usize| u32::from_le_bytes(saved[at..at + 4].try_into().unwrap()) as usize;
    let pixels = u32_at(20) * u32_at(24) * (6 + 3 * 20);
    let with_crc = |mut body: Vec<u8>| {
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    };
    let mut v1 = saved[..header + pixels].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    let mut old = fresh();
    let restored = old.restore_state(&with_crc(v1), &frame).unwrap();
    assert_eq!((restored.cars, restored.zones), (0.0, 0), "{restored:?}");
    assert!(restored.matching > 0.9, "{restored:?}");
    assert!(!old.cover().scale().ready());

    // The lessons cut short, under a checksum that matches: refused whole, saying why.
    let cut = with_crc(saved[..saved.len() - 4 - 1].to_vec());
    let why = fresh().restore_state(&cut, &frame).unwrap_err().to_string();
    assert!(why.contains("ends within what the network taught"), "{why}");
    // A zone redrawn since (the same name, another outline) keeps its own, fresh figures.
    let mut redrawn_zones = zones.clone();
    for zone in &mut redrawn_zones.zones {
        if zone.role == ZoneRole::Queue {
            for point in &mut zone.points {
                point.1 *= 0.9;
            }
        }
    }
    let mut redrawn =
        BackgroundSubtractor::new(640, 480, &redrawn_zones, BgSubOptions::default()).unwrap();
    let r = redrawn.restore_state(&saved, &frame).unwrap();
    assert_eq!((r.cars, r.zones), (taught.scale().cars(), 0), "{r:?}");
    assert_eq!(redrawn.cover().zones()[0].compared, 0);
}
