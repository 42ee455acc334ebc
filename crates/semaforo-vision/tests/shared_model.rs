//! Cameras share one YOLOX model: the weights and the optimised plan are loaded once per
//! process, model file and input size, and one thread runs it for every camera (one run state,
//! one set of intermediate tensors); each camera's detector keeps only its input and output.
//! Alone in its test binary, its tests one at a time, so no other test loads or drops a model
//! meanwhile. (What that saves in
//! memory is measured in BENCHMARKS.md, not here: `--nocapture` prints this run's figures.)

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::sync::{Mutex, PoisonError};

use semaforo_camera::Frame;
use semaforo_resources::process_rss_bytes;
use semaforo_vision::detect::yolox::{loaded_models, network_threads, Yolox, YoloxOptions};
use semaforo_vision::Detector;

/// A detector, run once so that its scratch buffers exist.
fn running(options: &YoloxOptions) -> Yolox {
    let mut yolox = Yolox::new(options.clone()).unwrap();
    yolox
        .detect(&Frame::black(640, 352), &mut Vec::new())
        .unwrap();
    yolox
}

/// The tests count the process's models: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn rss_mb() -> f64 {
    process_rss_bytes().unwrap() as f64 / 1e6
}

#[test]
fn two_cameras_load_the_model_once_and_it_is_released_with_the_last() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let model = semaforo_testkit::repository().join("models/yolox_nano.onnx");
    let options = YoloxOptions {
        model: Some(model),
        ..YoloxOptions::default()
    };
    assert_eq!((loaded_models(), network_threads()), (0, 0));
    let before = rss_mb();
    let first = running(&options);
    let with_one = rss_mb();
    let second = running(&options);
    let with_two = rss_mb();
    assert_eq!(loaded_models(), 1, "one model for both cameras");
    assert_eq!(network_threads(), 1, "one run state for both cameras");
    let first_cost = with_one - before;
    let second_cost = with_two - with_one;
    eprintln!("first detector {first_cost:.1} MB, second {second_cost:.1} MB");
    // The peer: a detector on two threads is another plan, loaded whole beside the first.
    let other = running(&YoloxOptions {
        threads: 2,
        ..options.clone()
    });
    let unshared_cost = rss_mb() - with_two;
    assert_eq!((loaded_models(), network_threads()), (2, 2));
    eprintln!("a detector that loads its own model: {unshared_cost:.1} MB");
    drop(other);
    drop(first);
    assert_eq!(loaded_models(), 1, "still held by the second");
    drop(second);
    assert_eq!(loaded_models(), 0, "released with the last detector");
    assert_eq!(network_threads(), 0, "its thread ended with it");
    // Loaded again when a camera comes back.
    let again = running(&options);
    assert_eq!((loaded_models(), network_threads()), (1, 1));
    drop(again);
    assert_eq!(network_threads(), 0);
}

#[test]
fn cameras_on_their_own_threads_take_turns_on_the_one_network_and_get_their_own_answers() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let model = semaforo_testkit::repository().join("models/yolox_nano.onnx");
    let options = YoloxOptions {
        model: Some(model),
        ..YoloxOptions::default()
    };
    // Two different pictures, so that an answer given to the wrong camera would show.
    let mut bright = Frame::black(640, 352);
    bright.rgb.fill(200);
    let pictures = [Frame::black(640, 352), bright];
    let alone: Vec<Vec<f32>> = pictures
        .iter()
        .map(|p| {
            let mut yolox = Yolox::new(options.clone()).unwrap();
            yolox.detect(p, &mut Vec::new()).unwrap();
            yolox.last_output().unwrap().to_vec()
        })
        .collect();
    std::thread::scope(|scope| {
        let cameras: Vec<_> = pictures
            .iter()
            .zip(&alone)
            .map(|(picture, expected)| {
                let mut yolox = Yolox::new(options.clone()).unwrap();
                scope.spawn(move || {
                    for _ in 0..5 {
                        yolox.detect(picture, &mut Vec::new()).unwrap();
                        assert!(yolox.last_output().unwrap() == expected.as_slice());
                    }
                    yolox
                })
            })
            .collect();
        let detectors: Vec<Yolox> = cameras.into_iter().map(|c| c.join().unwrap()).collect();
        assert_eq!((loaded_models(), network_threads()), (1, 1));
        drop(detectors);
    });
    assert_eq!(network_threads(), 0);
}
