//! The background model against the neural network on real footage: per analysed frame of
//! `../shared/media/street-a.mp4` (15 a second, as the run loop analyses a 60 fps file), the
//! vehicles each counts in the shipped queue zone (`zones/street-a.toml`), after a 5 s warm-up.
//!
//! The detection issue's goal is bgsub within ±1 of yolox on at least 90% of frames; this clip
//! gets to 89% (see BENCHMARKS.md: vehicles standing in the picture from its first frame are
//! background to a background model until they move, they break into pieces as they pull
//! away, and motorcyclists beside a car merge with it), so the test prints the measured
//! agreement and holds the line it reached, to catch regressions.
//!
//! YOLOX is not the truth either, so both are also judged against hand counts of 25 frames
//! ([`HAND_COUNTS`]): the vehicles whose bottom middle is inside the queue zone, counted by
//! eye on the frames with the zone drawn. A range where a vehicle stands on the zone's edge.
//!
//! YOLOX at `detection.rate`'s default, 3 runs a second of the 15 analysed, sees one fifth of
//! the frames, and which fifth is luck: all five are counted from the same detections (each
//! carried between its runs, as the daemon does) and each is held against the hand counts too.
//!
//! `SEMAFORO_TRACE=1 cargo test -p semaforo-vision --test agreement -- --nocapture` prints
//! both counts and both detectors' boxes for every analysed frame.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

mod fixtures;

use std::path::Path;

use semaforo_camera::{Pacing, SourceError, VideoFile, VideoFileOptions};
use semaforo_resources::CameraDevice;
use semaforo_vision::detect::kinds::REGION_MARGIN;
use semaforo_vision::detect::yolox::{Yolox, YoloxOptions};
use semaforo_vision::{
    BackgroundSubtractor, BgSubOptions, Detection, Detector, TrackerOptions, ZoneCounter, ZoneSet,
};

/// Frame number (0-based, every 4th frame from the warm-up's end, about every half second)
/// → the least and most vehicles a careful observer counts in the `a-queue` zone.
const HAND_COUNTS: [(u64, u32, u32); 25] = [
    (300, 3, 4),
    (328, 4, 4),
    (360, 4, 4),
    (388, 4, 4),
    (420, 4, 4),
    (448, 4, 4),
    (480, 4, 4),
    (508, 3, 4),
    (540, 4, 4),
    (568, 4, 5),
    (600, 5, 6),
    (628, 6, 6),
    (660, 6, 6),
    (688, 4, 5),
    (720, 5, 6),
    (748, 5, 5),
    (780, 5, 5),
    (808, 5, 5),
    (840, 5, 6),
    (868, 5, 6),
    (900, 5, 5),
    (928, 4, 5),
    (960, 4, 4),
    (988, 3, 4),
    (1020, 3, 3),
];

/// Analysed frames per network run at `detection.rate`'s default (3 a second of 15).
const RATE_EVERY: usize = 5;

/// How far a count is from the hand count's range (0 inside it).
fn miss(count: u32, low: u32, high: u32) -> u32 {
    low.saturating_sub(count).max(count.saturating_sub(high))
}

#[test]
fn bgsub_and_yolox_queue_counts_on_street_a() {
    let Some(clip) = semaforo_testkit::street_a() else {
        return;
    };
    let zones_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../zones/street-a.toml");
    let zones = ZoneSet::load(&zones_file, 640, 352, &["A", "B"]).unwrap();
    let options = VideoFileOptions {
        looping: false,
        pacing: Pacing::AsFastAsPossible,
    };
    let mut video = VideoFile::open(&clip, options).unwrap();
    let bg_options = BgSubOptions {
        fps: 15.0,
        ..BgSubOptions::default()
    };
    let mut bgsub = BackgroundSubtractor::new(640, 352, &zones, bg_options).unwrap();
    let mut yolox = Yolox::new(YoloxOptions::default()).unwrap();
    // As the product builds it: looking at the zones' surroundings.
    yolox.set_region(Some(zones.region_of_interest(REGION_MARGIN)));
    let mut bg_counter = ZoneCounter::new(zones.clone(), TrackerOptions::default());
    let mut nn_counter = ZoneCounter::new(zones.clone(), TrackerOptions::default());
    // The network at 3 runs a second (`detection.rate`'s default) on these 15 analysed frames a
    // second: every fifth frame, carried between. Which fifth is luck, so all five are run:
    // counter `p` takes the network's detections on the frames `p` of every five.
    let mut at_rate: Vec<ZoneCounter> = (0..RATE_EVERY)
        .map(|_| ZoneCounter::new(zones.clone(), TrackerOptions::default()))
        .collect();
    let mut rate_hand = [0u32; RATE_EVERY];
    let (mut bg_dets, mut nn_dets) = (Vec::new(), Vec::new());
    let (mut judged, mut within_one, mut exact) = (0u32, 0u32, 0u32);
    // Per detector (bgsub, yolox): frames within one of the hand count, and exactly in range.
    let mut against_hand = [(0u32, 0u32); 2];
    let mut index = 0u64;
    // SEMAFORO_TRACE=1 prints both counts of every analysed frame, to see where they differ.
    let trace = std::env::var_os("SEMAFORO_TRACE").is_some();
    loop {
        let frame = match video.read() {
            Ok(frame) => frame,
            Err(SourceError::EndOfStream { .. }) => break,
            Err(e) => panic!("{e}"),
        };
        index += 1;
        if index % 4 != 1 {
            video.recycle(frame);
            continue;
        }
        bgsub.detect(&frame, &mut bg_dets).unwrap();
        yolox.detect(&frame, &mut nn_dets).unwrap();
        let b = bg_counter.update(&bg_dets)[0].present;
        let n = nn_counter.update(&nn_dets)[0].present;
        let phase = (index / 4) as usize % RATE_EVERY;
        let rated: Vec<u32> = at_rate
            .iter_mut()
            .enumerate()
            .map(|(p, counter)| {
                if p == phase {
                    counter.update(&nn_dets)[0].present
                } else {
                    counter.carry()[0].present
                }
            })
            .collect();
        video.recycle(frame);
        if trace {
            let boxes = |dets: &[Detection]| {
                dets.iter()
                    .map(|d| d.bbox.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            eprintln!(
                "frame {} bgsub {b} yolox {n} | bg [{}] | nn [{}]",
                index - 1,
                boxes(&bg_dets),
                boxes(&nn_dets)
            );
        }
        if let Some(&(_, low, high)) = HAND_COUNTS.iter().find(|h| h.0 == index - 1) {
            for (tally, count) in against_hand.iter_mut().zip([b, n]) {
                tally.0 += u32::from(miss(count, low, high) <= 1);
                tally.1 += u32::from(miss(count, low, high) == 0);
            }
            for (tally, count) in rate_hand.iter_mut().zip(&rated) {
                *tally += u32::from(miss(*count, low, high) <= 1);
            }
        }
        if index < 300 {
            continue; // warm-up: 5 s of the clip
        }
        judged += 1;
        within_one += u32::from(b.abs_diff(n) <= 1);
        exact += u32::from(b == n);
    }
    let share = f64::from(within_one) / f64::from(judged);
    eprintln!(
        "bgsub within ±1 of yolox on {within_one} of {judged} analysed frames ({:.0}%), equal on \
         {exact} ({:.0}%)",
        100.0 * share,
        100.0 * f64::from(exact) / f64::from(judged)
    );
    for ((name, (near, right)), floor) in ["bgsub", "yolox"]
        .into_iter()
        .zip(against_hand)
        .zip([22, 21])
    {
        eprintln!(
            "{name}: within ±1 of the hand count on {near} of {} frames, in its range on {right}",
            HAND_COUNTS.len()
        );
        assert!(
            near >= floor,
            "{name} fell below the measured level against hand counts: {near} < {floor}"
        );
    }
    // Measured 22-24 of 25 on each fifth (2026-12-06, the fitted 416x288 input; 23-24 on the
    // square one); 17-23 before a vehicle the network has seen for a while was kept through a
    // few missed runs (`coast_established`). The floor leaves one frame of margin.
    eprintln!("yolox at 3 runs a second, each fifth of the frames: within ±1 of the hand count on {rate_hand:?} of 25");
    for (p, near) in rate_hand.iter().enumerate() {
        assert!(
            *near >= 21,
            "yolox at 3 runs a second (fifth {p}) fell below the measured level against hand \
             counts: {near} < 21"
        );
    }
    assert!(judged >= 180, "{judged}");
    assert!(
        share >= 0.87,
        "agreement fell below the measured level: {share:.2}"
    );
}
