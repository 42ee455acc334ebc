//! The YOLOX network on `tract-onnx`: pure Rust, built in, the default runtime.
//!
//! The model is checked (one input of `[1, 3, 416, 416]`, one float32 output of
//! `[1, 3549, 85]`) and optimised once for that fixed shape. The optimised plan (the weights
//! and the plan of the computation) is loaded once per process and model file and shared by
//! every camera's detector; each detector runs it from a state of its own (its scratch
//! buffers) with its own reused input tensor, so a second camera costs its buffers, not a
//! second copy of the model.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, Weak};

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;

use super::{Network, Runtime, ANCHORS, ANCHOR_VALUES, EXPECTED_MODEL, INPUT_SIZE};
use crate::detect::DetectError;

/// The optimised network, its run state and its reused input tensor.
pub(super) struct TractNetwork {
    state: TypedSimpleState,
    /// The input tensor, reused frame after frame (tract holds a second reference only while
    /// a run lasts).
    input: Arc<Tensor>,
    /// The last run's raw output; `None` once the input is being rewritten.
    output: Option<TValue>,
}

impl TractNetwork {
    /// Reads, checks and optimises the model at `path` for the fixed 1x3x416x416 input, to run
    /// on `threads` threads.
    pub(super) fn load(path: &Path, threads: usize) -> Result<TractNetwork, DetectError> {
        let plan = shared_plan(path, threads)?;
        let state = plan.spawn().map_err(|e| DetectError::Model {
            path: path.to_path_buf(),
            reason: format!("it cannot be planned: {e:#}"),
            expected: EXPECTED_MODEL.into(),
        })?;
        let input = Arc::new(
            Tensor::zero::<f32>(&[1, 3, INPUT_SIZE, INPUT_SIZE]).map_err(|e| {
                DetectError::Inference(format!("cannot allocate the input tensor: {e}"))
            })?,
        );
        Ok(TractNetwork {
            state,
            input,
            output: None,
        })
    }
}

impl Network for TractNetwork {
    fn runtime(&self) -> Runtime {
        Runtime::Tract
    }

    fn input(&self) -> &[f32] {
        self.input
            .as_plain_ram()
            .and_then(|view| view.as_slice::<f32>().ok())
            .unwrap_or(&[])
    }

    fn write_input(&mut self, write: &mut dyn FnMut(&mut [f32])) -> Result<(), DetectError> {
        self.output = None;
        if Arc::get_mut(&mut self.input).is_none() {
            // Tract kept a reference to the last input: start a new tensor rather than wait.
            self.input = Arc::new((*self.input).clone());
        }
        let tensor = Arc::get_mut(&mut self.input)
            .ok_or_else(|| DetectError::Inference("the input tensor is shared".into()))?;
        let mut view = tensor
            .try_as_plain_ram_mut()
            .map_err(|e| DetectError::Inference(format!("input tensor: {e}")))?;
        let values = view
            .as_slice_mut::<f32>()
            .map_err(|e| DetectError::Inference(format!("input tensor: {e}")))?;
        write(values);
        Ok(())
    }

    fn run(&mut self) -> Result<(), DetectError> {
        self.output = None;
        let mut outputs = self
            .state
            .run(tvec!(TValue::from_const(self.input.clone())))
            .map_err(|e| DetectError::Inference(format!("{e:#}")))?;
        let output = outputs
            .pop()
            .ok_or_else(|| DetectError::Inference("the network gave no output".into()))?;
        if output.len() != ANCHORS * ANCHOR_VALUES {
            return Err(DetectError::Inference(format!(
                "the network gave {} values, expected {}",
                output.len(),
                ANCHORS * ANCHOR_VALUES
            )));
        }
        self.output = Some(output);
        Ok(())
    }

    fn output(&self) -> Option<&[f32]> {
        self.output
            .as_ref()
            .and_then(|o| o.as_plain_ram())
            .and_then(|view| view.as_slice::<f32>().ok())
    }
}

/// The plans loaded in this process: model file (canonical path) and threads, and the plan
/// while any detector holds it.
type Loaded = Vec<((PathBuf, usize), Weak<TypedSimplePlan>)>;

static LOADED: Mutex<Loaded> = Mutex::new(Vec::new());

/// The plan of the model at `path` for `threads` threads: the one already loaded when a
/// detector still holds it, else loaded now (under the lock, so two cameras starting at once
/// load it once).
fn shared_plan(path: &Path, threads: usize) -> Result<Arc<TypedSimplePlan>, DetectError> {
    let key = (
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        threads,
    );
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    loaded.retain(|(_, plan)| plan.strong_count() > 0);
    if let Some(plan) = loaded
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, plan)| plan.upgrade())
    {
        return Ok(plan);
    }
    let plan = load(path, threads)?;
    loaded.push((key, Arc::downgrade(&plan)));
    Ok(plan)
}

/// How many YOLOX models (tract plans) are loaded in this process now: one per model file and
/// thread count, however many cameras run it.
pub fn loaded_models() -> usize {
    let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    loaded
        .iter()
        .filter(|(_, plan)| plan.strong_count() > 0)
        .count()
}

/// Reads, checks and optimises the model at `path` for the fixed 1x3x416x416 input, to run on
/// `threads` threads.
fn load(path: &Path, threads: usize) -> Result<Arc<TypedSimplePlan>, DetectError> {
    let wrong = |reason: String| DetectError::Model {
        path: path.to_path_buf(),
        reason,
        expected: EXPECTED_MODEL.into(),
    };
    let bytes = std::fs::read(path).map_err(|e| wrong(format!("cannot read it: {e}")))?;
    let model = tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .map_err(|e| wrong(format!("not a readable ONNX model: {e:#}")))?;
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(wrong(format!(
            "it has {} inputs and {} outputs",
            model.inputs.len(),
            model.outputs.len()
        )));
    }
    let declared = model
        .input_fact(0)
        .map_err(|e| wrong(format!("its input cannot be read: {e:#}")))?;
    let expected_input = [1, 3, INPUT_SIZE, INPUT_SIZE];
    if let Ok(Some(shape)) = declared.shape.as_concrete_finite() {
        if shape.as_slice() != expected_input {
            return Err(wrong(format!("its input is {shape:?}")));
        }
    }
    let model = model
        .with_input_fact(0, f32::fact(expected_input).into())
        .and_then(|m| m.into_optimized())
        .map_err(|e| {
            wrong(format!(
                "it cannot be prepared for a [1, 3, 416, 416] input: {e:#}"
            ))
        })?;
    let output = model
        .output_fact(0)
        .map_err(|e| wrong(format!("its output cannot be read: {e:#}")))?;
    let shape = output.shape.as_concrete().map(<[usize]>::to_vec);
    if output.datum_type != f32::datum_type()
        || shape.as_deref() != Some(&[1, ANCHORS, ANCHOR_VALUES])
    {
        return Err(wrong(format!("its output is {output:?}")));
    }
    let executor = if threads > 1 {
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|n| format!("yolox-{n}"))
            .num_threads(threads)
            .build()
            .map_err(|e| DetectError::Inference(format!("cannot start {threads} threads: {e}")))?;
        Executor::MultiThread(Arc::new(pool))
    } else {
        Executor::SingleThread
    };
    let run_options = RunOptions {
        executor: Some(executor),
        ..RunOptions::default()
    };
    model
        .into_runnable_with_options(&run_options)
        .map_err(|e| wrong(format!("it cannot be planned: {e:#}")))
}
