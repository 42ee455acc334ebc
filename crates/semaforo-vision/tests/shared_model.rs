//! Cameras share one YOLOX model: the weights and the optimised plan are loaded once per
//! process and model file, and each camera's detector keeps only its own run state. Alone in
//! its test binary, so no other test loads or drops a model meanwhile. (What that saves in
//! memory is measured in BENCHMARKS.md, not here: `--nocapture` prints this run's figures.)

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use semaforo_camera::Frame;
use semaforo_resources::process_rss_bytes;
use semaforo_vision::detect::yolox::{loaded_models, Yolox, YoloxOptions};
use semaforo_vision::Detector;

/// A detector, run once so that its scratch buffers exist.
fn running(options: &YoloxOptions) -> Yolox {
    let mut yolox = Yolox::new(options.clone()).unwrap();
    yolox
        .detect(&Frame::black(640, 352), &mut Vec::new())
        .unwrap();
    yolox
}

fn rss_mb() -> f64 {
    process_rss_bytes().unwrap() as f64 / 1e6
}

#[test]
fn two_cameras_load_the_model_once_and_it_is_released_with_the_last() {
    let model = semaforo_testkit::repository().join("models/yolox_nano.onnx");
    let options = YoloxOptions {
        model: Some(model),
        ..YoloxOptions::default()
    };
    assert_eq!(loaded_models(), 0);
    let before = rss_mb();
    let first = running(&options);
    let with_one = rss_mb();
    let second = running(&options);
    let with_two = rss_mb();
    assert_eq!(loaded_models(), 1, "one model for both cameras");
    let first_cost = with_one - before;
    let second_cost = with_two - with_one;
    eprintln!("first detector {first_cost:.1} MB, second {second_cost:.1} MB");
    // The peer: a detector on two threads is another plan, loaded whole beside the first.
    let other = running(&YoloxOptions {
        threads: 2,
        ..options.clone()
    });
    let unshared_cost = rss_mb() - with_two;
    assert_eq!(loaded_models(), 2);
    eprintln!("a detector that loads its own model: {unshared_cost:.1} MB");
    drop(other);
    drop(first);
    assert_eq!(loaded_models(), 1, "still held by the second");
    drop(second);
    assert_eq!(loaded_models(), 0, "released with the last detector");
    // Loaded again when a camera comes back.
    let again = Yolox::new(options).unwrap();
    assert_eq!(loaded_models(), 1);
    drop(again);
}
