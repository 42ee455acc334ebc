//! The background model against the neural network on real footage: per analysed frame of
//! `../shared/media/street-a.mp4` (15 a second, as the run loop analyses a 60 fps file), the
//! vehicles each counts in the shipped queue zone (`zones/street-a.toml`), after a 5 s warm-up.
//!
//! The detection issue's goal is bgsub within ±1 of yolox on at least 90% of frames; this clip
//! does not get there (see BENCHMARKS.md: vehicles standing in the picture from its first frame
//! are background to a background model until they move, and the camera drifts), so the test
//! prints the measured agreement and holds the line it reached, to catch regressions.

mod fixtures;

use std::path::Path;

use semaforo_resources::CameraDevice;
use semaforo_vision::detect::yolox::{Yolox, YoloxOptions};
use semaforo_vision::{
    BackgroundSubtractor, BgSubOptions, Detector, Pacing, SourceError, TrackerOptions, VideoFile,
    VideoFileOptions, ZoneCounter, ZoneSet,
};

#[test]
fn bgsub_and_yolox_queue_counts_on_street_a() {
    let Some(clip) = fixtures::street_a() else {
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
    let mut bg_counter = ZoneCounter::new(zones.clone(), TrackerOptions::default());
    let mut nn_counter = ZoneCounter::new(zones, TrackerOptions::default());
    let (mut bg_dets, mut nn_dets) = (Vec::new(), Vec::new());
    let (mut judged, mut within_one, mut exact) = (0u32, 0u32, 0u32);
    let mut index = 0u64;
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
        video.recycle(frame);
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
    assert!(judged >= 180, "{judged}");
    assert!(
        share >= 0.5,
        "agreement fell below the measured level: {share:.2}"
    );
}
