//! Renders the synthetic scene to JPEG files, to look at what the detectors will see:
//! `cargo run -p semaforo-camera --example render_scene -- OUT_DIR [SECONDS_OF_RED]`.

#![allow(clippy::unwrap_used)] // a example: an unwrap that fails stops it at its line

use semaforo_camera::{Aspect, SceneConfig, SyntheticScene};
use semaforo_resources::encode_jpeg;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "scene".into()));
    let red_s: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(40.0);
    std::fs::create_dir_all(&out)?;
    let config = SceneConfig {
        arrivals_per_minute: 18.0,
        ..SceneConfig::default()
    };
    let (w, h, fps) = (config.width, config.height, config.fps);
    let mut scene = SyntheticScene::new(config);
    let mut rgb = Vec::new();
    let mut jpeg = Vec::new();
    for (aspect, seconds, name) in [(Aspect::Red, red_s, "red"), (Aspect::Green, 8.0, "green")] {
        scene.set_aspect(aspect);
        for _ in 0..(seconds * fps) as usize {
            scene.step(1.0 / fps);
        }
        scene.render_into(&mut rgb);
        let image =
            semaforo_resources::ImageRef::new(w, h, semaforo_resources::PixelFormat::Rgb8, &rgb)?;
        encode_jpeg(image, 90, &mut jpeg)?;
        let path = out.join(format!("{name}.jpg"));
        std::fs::write(&path, &jpeg)?;
        let truth = scene.ground_truth();
        println!(
            "{}: queue {}, arrivals {}, departures {}",
            path.display(),
            truth.queue,
            truth.arrivals,
            truth.departures
        );
    }
    Ok(())
}
