//! Where YOLOX-Nano's inference time goes in tract: times every node of the optimised plan over
//! a few runs and prints the total per operator kind, largest first.
//!
//! `cargo run --release -p semaforo-vision --example yolox_profile [MODEL] [RUNS] [WxH]`
//! (the model defaults to the project's `models/yolox_nano.onnx`, the input to 416x416; the
//! detector's fitted input for a 640x352 frame is 416x256).

#![allow(clippy::unwrap_used)] // a example: an unwrap that fails stops it at its line

use std::collections::HashMap;
use std::time::{Duration, Instant};

use semaforo_vision::detect::yolox::{find_model, INPUT_SIZE};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, OpState};

fn main() -> TractResult<()> {
    let mut args = std::env::args().skip(1);
    let model = find_model(args.next().as_deref().map(std::path::Path::new))?;
    let runs: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let (width, height) = args
        .next()
        .and_then(|size| {
            let (w, h) = size.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        })
        .unwrap_or((INPUT_SIZE, INPUT_SIZE));
    let load = Instant::now();
    let plan = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .with_ignore_output_shapes(true)
        .model_for_path(&model)?
        .with_input_fact(0, f32::fact([1, 3, height, width]).into())?
        .into_optimized()?
        .into_runnable()?;
    println!(
        "{} at {width}x{height}: loaded and optimised in {:.0} ms",
        model.display(),
        load.elapsed().as_secs_f64() * 1e3
    );
    let mut state = plan.spawn()?;
    let input: TValue = Tensor::zero::<f32>(&[1, 3, height, width])?.into();
    state.run(tvec!(input.clone()))?; // warm-up

    let mut by_op: HashMap<String, (Duration, usize)> = HashMap::new();
    let start = Instant::now();
    for _ in 0..runs {
        state.run_plan_with_eval(
            tvec!(input.clone()),
            |ctx: &EvalContext,
             op_state: Option<&mut (dyn OpState + 'static)>,
             node: &TypedNode,
             inputs: TVec<TValue>|
             -> TractResult<TVec<TValue>> {
                let t = Instant::now();
                let out = match op_state {
                    Some(s) => s.eval(ctx, node.op(), inputs),
                    None => node.op().eval(ctx, inputs),
                };
                let entry = by_op.entry(node.op().name().to_string()).or_default();
                entry.0 += t.elapsed();
                entry.1 += 1;
                out
            },
        )?;
    }
    let total = start.elapsed();
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1 .0));
    println!(
        "{} runs, {:.2} ms per run (with timing overhead)",
        runs,
        total.as_secs_f64() * 1e3 / runs as f64
    );
    println!(
        "{:<28} {:>10} {:>7} {:>6}",
        "op", "ms/run", "nodes", "share"
    );
    let sum: Duration = rows.iter().map(|r| r.1 .0).sum();
    for (op, (time, count)) in rows {
        println!(
            "{op:<28} {:>10.3} {:>7} {:>5.1}%",
            time.as_secs_f64() * 1e3 / runs as f64,
            count / runs as usize,
            100.0 * time.as_secs_f64() / sum.as_secs_f64()
        );
    }
    Ok(())
}
