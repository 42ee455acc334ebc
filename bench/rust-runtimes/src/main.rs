//! YOLOX-Nano on tract (what semaforo runs by default) and on rten, another maintained
//! pure-Rust ONNX runtime, one thread each, on the same 1x3x416x416 input, in alternating
//! rounds. Prints each runtime's median latency, their ratio per round, and the largest
//! difference between their raw outputs (both must compute the same network).
//!
//! candle-onnx (0.11) was tried as well and cannot run the model: it reads the file, but its
//! MaxPool does not support the padding YOLOX's spatial pyramid pooling uses ("MaxPool with
//! pads != 0").

use std::time::Instant;

use rten_tensor::prelude::*;
use tract_onnx::prelude::*;

const SIDE: usize = 416;
const ROUNDS: usize = 5;
const RUNS: usize = 10;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let Some(model_path) = std::env::args().nth(1) else {
        return Err("usage: semaforo-bench-rust-runtimes MODEL.onnx (the YOLOX-Nano model)".into());
    };
    // A deterministic picture-like input: values 0-255, as the model expects its pixels.
    // A convolutional network's latency does not depend on the values.
    let input: Vec<f32> = (0..3 * SIDE * SIDE)
        .map(|i| ((i as u64 * 2_654_435_761) % 256) as f32)
        .collect();

    let start = Instant::now();
    let tract_plan = tract_onnx::onnx()
        .model_for_path(&model_path)
        .map_err(|e| format!("{model_path}: tract cannot read it: {e:#}"))?
        .with_input_fact(0, f32::fact([1, 3, SIDE, SIDE]).into())?
        .into_optimized()?
        .into_runnable()?;
    let tract_load_ms = ms(start);
    let tract_input: Tensor =
        tract_ndarray::Array4::from_shape_vec((1, 3, SIDE, SIDE), input.clone())?.into();

    let start = Instant::now();
    let mut options = rten::ModelOptions::with_all_ops();
    options.prepack_weights(true);
    let rten_model = options
        .load_file(&model_path)
        .map_err(|e| format!("{model_path}: rten cannot load it: {e}"))?;
    let rten_load_ms = ms(start);
    let one_thread = std::sync::Arc::new(rten::ThreadPool::with_num_threads(1));
    let rten_input = rten_tensor::NdTensor::from_data([1, 3, SIDE, SIDE], input);

    let run_tract = || -> Result<Vec<f32>, Error> {
        let out = tract_plan.run(tvec!(tract_input.clone().into()))?;
        Ok(out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect())
    };
    let run_rten = || -> Result<Vec<f32>, Error> {
        let opts = rten::RunOptions::default().with_thread_pool(Some(one_thread.clone()));
        let out = rten_model.run_one(rten_input.view().into(), Some(opts))?;
        let out: rten_tensor::NdTensor<f32, 3> = out.try_into()?;
        Ok(out.iter().copied().collect())
    };

    // Warm-up, and the outputs compared.
    let (a, b) = (run_tract()?, run_rten()?);
    if a.len() != b.len() {
        return Err(format!("tract gave {} values, rten {}", a.len(), b.len()).into());
    }
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);

    let (mut tract_ms, mut rten_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = median_ms(&run_tract)?;
        let r = median_ms(&run_rten)?;
        tract_ms.push(t);
        rten_ms.push(r);
        ratios.push(r / t);
    }
    println!("model loads: tract {tract_load_ms:.0} ms (optimised), rten {rten_load_ms:.0} ms (prepacked)");
    println!("largest difference between the two outputs: {diff:.2e}");
    println!(
        "one thread, median of {ROUNDS} rounds of {RUNS} runs: tract {:.2} ms, rten {:.2} ms; \
         rten / tract per round {} (median {:.2}x)",
        median(&mut tract_ms),
        median(&mut rten_ms),
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        median(&mut ratios)
    );
    Ok(())
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn median_ms(run: &dyn Fn() -> Result<Vec<f32>, Error>) -> Result<f64, Error> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        run()?;
        times.push(ms(start));
    }
    Ok(median(&mut times))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
