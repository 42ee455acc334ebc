//! The YOLOX network on `tract-onnx`: pure Rust, built in, the default runtime.
//!
//! The model file is checked when a detector is made (one input, declared `[1, 3, 416, 416]`
//! or open; one output, declared `[1, 3549, 85]` or open) and optimised, at the first frame,
//! for each input size a camera's letterbox asks for ([`Letterbox::fitted`]: 416x256 for a 640x352 frame). YOLOX is fully
//! convolutional and the shipped export's slices and reshapes take any multiple of 32; only
//! its annotations (the ONNX `value_info` and declared output) say 416x416, and tract is told
//! to ignore them.
//!
//! One [`NetworkThread`] per model file, thread count and input size loads the optimised plan
//! and runs it for every camera that uses it: a camera writes its own input tensor, sends it
//! and waits for the output (as long as running the network itself would block it, plus the
//! other cameras' turns). So the plan's weights and the run's intermediate tensors exist once
//! in the process, in that one thread's malloc arena (where the memory the loading used and
//! freed is reused by the runs), however many cameras there are; each camera keeps only its
//! input and its last output. The thread ends with the last detector that uses it. The CPU
//! time of each run is counted to the thread that asked for it
//! ([`network_cpu_of_this_thread`]), so a camera's cost still includes its network runs.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;

use super::{Letterbox, Network, Runtime, ANCHORS, ANCHOR_VALUES, EXPECTED_MODEL, INPUT_SIZE};
use crate::detect::DetectError;

/// A camera's hold on the network: its model, its input tensor and last output, and the
/// thread that runs the plan for its input size.
pub(super) struct TractNetwork {
    path: PathBuf,
    threads: usize,
    /// The input size (width, height) and the thread running the plan for it; `None` before
    /// the first frame.
    network: Option<((usize, usize), Arc<NetworkThread>)>,
    /// The input tensor, reused frame after frame (the network thread holds a second
    /// reference only while a run lasts).
    input: Arc<Tensor>,
    /// The last run's raw output; `None` once the input is being rewritten.
    output: Option<TValue>,
}

impl TractNetwork {
    /// Reads and checks the model file at `path` (unless a running network has it: another
    /// camera checked it), to run on `threads` threads. The plan for an input size is loaded
    /// (or shared) at the first frame that needs it.
    pub(super) fn load(path: &Path, threads: usize) -> Result<TractNetwork, DetectError> {
        if !NetworkThread::runs(path) {
            check(path)?;
        }
        Ok(TractNetwork {
            path: path.to_path_buf(),
            threads,
            network: None,
            input: Arc::new(Tensor::default()),
            output: None,
        })
    }
}

impl Network for TractNetwork {
    fn runtime(&self) -> Runtime {
        Runtime::Tract
    }

    fn fit(&mut self, letterbox: Letterbox) -> Result<Letterbox, DetectError> {
        let size = (letterbox.input_width, letterbox.input_height);
        if self.network.as_ref().map(|(s, _)| *s) == Some(size) {
            return Ok(letterbox);
        }
        self.output = None;
        // Let go of the last size's network first: if this was its last camera, its memory
        // is free for the new one.
        self.network = None;
        let network = NetworkThread::shared(&self.path, self.threads, size)?;
        let (width, height) = size;
        self.input = Arc::new(Tensor::zero::<f32>(&[1, 3, height, width]).map_err(|e| {
            DetectError::Inference(format!("cannot allocate the input tensor: {e}"))
        })?);
        self.network = Some((size, network));
        Ok(letterbox)
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
        let Some((_, network)) = &self.network else {
            return Err(DetectError::Inference(
                "the network was not fitted to an input size".into(),
            ));
        };
        self.output = Some(network.run(self.input.clone())?);
        Ok(())
    }

    fn output(&self) -> Option<&[f32]> {
        self.output
            .as_ref()
            .and_then(|o| o.as_plain_ram())
            .and_then(|view| view.as_slice::<f32>().ok())
    }
}

/// One camera's request to the network thread: its input, and where to answer (the output,
/// and the CPU time the run took).
struct Job {
    input: Arc<Tensor>,
    answer: mpsc::SyncSender<(Result<TValue, DetectError>, Duration)>,
}

thread_local! {
    /// CPU time network threads have spent on this thread's runs.
    static NETWORK_CPU: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// CPU time the network threads have spent running networks for this thread's detectors: the
/// network runs on a thread shared by the cameras, so a camera's own thread CPU time plus this
/// is what its detection costs.
pub fn network_cpu_of_this_thread() -> Duration {
    NETWORK_CPU.with(Cell::get)
}

/// CPU time this thread has used (zero if the clock cannot be read).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The thread that runs one optimised plan (one model file, thread count and input size) for
/// every camera holding it, from one run state. Dropping the last holder ends the thread and
/// frees the plan.
struct NetworkThread {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Values of the output the plan was checked for.
    output_len: usize,
}

/// The network threads of this process: model file (canonical path), threads and input size,
/// and the thread while any detector holds it.
type Loaded = Vec<((PathBuf, usize, (usize, usize)), Weak<NetworkThread>)>;

static LOADED: Mutex<Loaded> = Mutex::new(Vec::new());

/// Network threads running now (each one run state: one set of intermediate tensors).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The key of a model file in [`LOADED`]: its canonical path.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl NetworkThread {
    /// Whether a network thread runs the model at `path` now (for any threads and size).
    fn runs(path: &Path) -> bool {
        let path = canonical(path);
        let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        loaded
            .iter()
            .any(|((p, _, _), network)| *p == path && network.strong_count() > 0)
    }

    /// The thread running the model at `path` on `threads` threads for a `size` (width,
    /// height) input: the one already running when a detector still holds it, else started
    /// now (under the lock, so two cameras starting at once load the plan once).
    fn shared(
        path: &Path,
        threads: usize,
        size: (usize, usize),
    ) -> Result<Arc<NetworkThread>, DetectError> {
        let key = (canonical(path), threads, size);
        let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        loaded.retain(|(_, network)| network.strong_count() > 0);
        if let Some(network) = loaded
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, network)| network.upgrade())
        {
            return Ok(network);
        }
        let network = Arc::new(NetworkThread::start(path, threads, size)?);
        loaded.push((key, Arc::downgrade(&network)));
        Ok(network)
    }

    /// Starts the thread, which loads the plan (in its own malloc arena) and then serves;
    /// answers once the plan is loaded, or why it cannot be.
    fn start(
        path: &Path,
        threads: usize,
        (width, height): (usize, usize),
    ) -> Result<NetworkThread, DetectError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (loaded, load_result) = mpsc::sync_channel(1);
        let model = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name(format!("yolox-{width}x{height}"))
            .spawn(move || {
                let started = std::time::Instant::now();
                let run_state = plan(&model, threads, width, height).and_then(|plan| {
                    let state = plan.spawn().map_err(|e| DetectError::Model {
                        path: model.clone(),
                        reason: format!("it cannot be planned: {e:#}"),
                        expected: EXPECTED_MODEL.into(),
                    })?;
                    Ok((plan, state))
                });
                match run_state {
                    Ok((plan, state)) => {
                        tracing::info!(
                            "YOLOX network planned for a {width}x{height} input in {} ms ({}, \
                             {threads} thread(s)); one thread runs it for every camera",
                            started.elapsed().as_millis(),
                            model.display()
                        );
                        let _ = loaded.send(Ok(()));
                        serve(plan, state, queue);
                    }
                    Err(e) => {
                        let _ = loaded.send(Err(e));
                    }
                }
            })
            .map_err(|e| {
                DetectError::Inference(format!("cannot start the network's thread: {e}"))
            })?;
        let network = NetworkThread {
            jobs: Some(jobs),
            thread: Some(thread),
            output_len: super::anchors(width, height) * ANCHOR_VALUES,
        };
        // On an error the thread has ended; dropping `network` joins it.
        load_result.recv().map_err(|_| {
            DetectError::Inference("the network's thread stopped while loading".into())
        })??;
        Ok(network)
    }

    /// Runs the network on `input` (in the network thread, after any other camera's run
    /// queued before) and answers its raw output.
    fn run(&self, input: Arc<Tensor>) -> Result<TValue, DetectError> {
        let stopped = || DetectError::Inference("the network's thread has stopped".into());
        let (answer, answered) = mpsc::sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job { input, answer })
            .map_err(|_| stopped())?;
        let (output, cpu) = answered.recv().map_err(|_| stopped())?;
        NETWORK_CPU.with(|total| total.set(total.get() + cpu));
        let output = output?;
        if output.len() != self.output_len {
            return Err(DetectError::Inference(format!(
                "the network gave {} values, expected {}",
                output.len(),
                self.output_len
            )));
        }
        Ok(output)
    }
}

impl Drop for NetworkThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has answered what was sent.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The network thread's loop: every job in turn, until the last holder closes the queue. A
/// failed or panicking run answers an error (a panic also starts a fresh run state).
fn serve(plan: Arc<TypedSimplePlan>, mut state: TypedSimpleState, queue: mpsc::Receiver<Job>) {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    RUNNING.fetch_add(1, Ordering::SeqCst);
    let _running = Running;
    for Job { input, answer } in queue {
        let started = thread_cpu();
        let run = catch_unwind(AssertUnwindSafe(|| {
            state.run(tvec!(TValue::from_const(input)))
        }));
        let result = match run {
            Ok(Ok(mut outputs)) => outputs
                .pop()
                .ok_or_else(|| DetectError::Inference("the network gave no output".into())),
            Ok(Err(e)) => Err(DetectError::Inference(format!("{e:#}"))),
            Err(_) => {
                match plan.spawn() {
                    Ok(fresh) => state = fresh,
                    Err(_) => {
                        let _ = answer.send((
                            Err(DetectError::Inference(
                                "the network panicked and cannot be restarted".into(),
                            )),
                            thread_cpu().saturating_sub(started),
                        ));
                        return;
                    }
                }
                Err(DetectError::Inference("the network panicked".into()))
            }
        };
        // A camera that stopped waiting is no reason to stop serving the others.
        let _ = answer.send((result, thread_cpu().saturating_sub(started)));
    }
}

/// How many YOLOX models (tract plans) are loaded in this process now: one per model file,
/// thread count and input size, however many cameras run it.
pub fn loaded_models() -> usize {
    let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    loaded
        .iter()
        .filter(|(_, network)| network.strong_count() > 0)
        .count()
}

/// How many YOLOX run states (network threads, each with its one set of intermediate
/// tensors) exist in this process now: one per loaded model, however many cameras run it.
pub fn network_threads() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Checks the model file at `path` without planning it: readable ONNX, one input (besides
/// the weights) declared `[1, 3, 416, 416]` or with open dimensions, one output declared
/// `[1, 3549, 85]` or open.
fn check(path: &Path) -> Result<(), DetectError> {
    let wrong = |reason: String| DetectError::Model {
        path: path.to_path_buf(),
        reason,
        expected: EXPECTED_MODEL.into(),
    };
    let bytes = std::fs::read(path).map_err(|e| wrong(format!("cannot read it: {e}")))?;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| wrong(format!("not a readable ONNX model: {e:#}")))?;
    let graph = proto
        .graph
        .ok_or_else(|| wrong("not a readable ONNX model: it has no graph".into()))?;
    let weights: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !weights.contains(&i.name.as_str()))
        .collect();
    if inputs.len() != 1 || graph.output.len() != 1 {
        return Err(wrong(format!(
            "it has {} inputs and {} outputs",
            inputs.len(),
            graph.output.len()
        )));
    }
    let expected_output = [1, ANCHORS as i64, ANCHOR_VALUES as i64];
    let expected_input = [1, 3, INPUT_SIZE as i64, INPUT_SIZE as i64];
    for (what, value, expected) in [
        ("input", inputs[0], &expected_input[..]),
        ("output", &graph.output[0], &expected_output[..]),
    ] {
        if let Some(declared) = declared_shape(value) {
            if declared != expected {
                return Err(wrong(format!("its {what} is {declared:?}")));
            }
        }
    }
    Ok(())
}

/// A declared tensor's shape, when the file gives every dimension as a number.
fn declared_shape(value: &tract_onnx::pb::ValueInfoProto) -> Option<Vec<i64>> {
    use tract_onnx::pb::{tensor_shape_proto::dimension::Value, type_proto};
    let Some(type_proto::Value::TensorType(tensor)) = value.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    tensor
        .shape
        .as_ref()?
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Value::DimValue(v)) => Some(v),
            _ => None,
        })
        .collect()
}

/// Reads the model at `path` and types it for a 1x3x`height`x`width` input: its output must
/// then be float32 `[1, anchors, 85]`.
fn typed(path: &Path, width: usize, height: usize) -> Result<TypedModel, DetectError> {
    let wrong = |reason: String| DetectError::Model {
        path: path.to_path_buf(),
        reason,
        expected: EXPECTED_MODEL.into(),
    };
    let bytes = std::fs::read(path).map_err(|e| wrong(format!("cannot read it: {e}")))?;
    // The export's value_info and declared output say 416x416 for every tensor; the graph
    // itself takes any multiple of 32, so the shapes are inferred from the input instead.
    let model = tract_onnx::onnx()
        .with_ignore_value_info(true)
        .with_ignore_output_shapes(true)
        .model_for_read(&mut bytes.as_slice())
        .map_err(|e| wrong(format!("not a readable ONNX model: {e:#}")))?;
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(wrong(format!(
            "it has {} inputs and {} outputs",
            model.inputs.len(),
            model.outputs.len()
        )));
    }
    let input = [1, 3, height, width];
    let model = model
        .with_input_fact(0, f32::fact(input).into())
        .and_then(|m| m.into_typed())
        .map_err(|e| {
            wrong(format!(
                "it cannot be prepared for a {input:?} input: {e:#}"
            ))
        })?;
    let output = model
        .output_fact(0)
        .map_err(|e| wrong(format!("its output cannot be read: {e:#}")))?;
    let shape = output.shape.as_concrete().map(<[usize]>::to_vec);
    let anchors = super::anchors(width, height);
    if output.datum_type != f32::datum_type()
        || shape.as_deref() != Some(&[1, anchors, ANCHOR_VALUES])
    {
        return Err(wrong(format!(
            "its output is {output:?} for a {input:?} input (expected [1, {anchors}, 85])"
        )));
    }
    Ok(model)
}

/// The model at `path` optimised for a 1x3x`height`x`width` input, to run on `threads`
/// threads.
fn plan(
    path: &Path,
    threads: usize,
    width: usize,
    height: usize,
) -> Result<Arc<TypedSimplePlan>, DetectError> {
    let wrong = |reason: String| DetectError::Model {
        path: path.to_path_buf(),
        reason,
        expected: EXPECTED_MODEL.into(),
    };
    let model = typed(path, width, height)?
        .into_optimized()
        .map_err(|e| wrong(format!("it cannot be optimised: {e:#}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_model() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/yolox_nano.onnx")
    }

    #[test]
    fn a_failed_run_answers_its_camera_an_error_and_the_thread_serves_the_next() {
        let network = NetworkThread::shared(&shipped_model(), 1, (416, 256)).unwrap();
        let wrong = Arc::new(Tensor::zero::<f32>(&[1, 3, 10, 10]).unwrap());
        assert!(matches!(network.run(wrong), Err(DetectError::Inference(_))));
        let right = Arc::new(Tensor::zero::<f32>(&[1, 3, 256, 416]).unwrap());
        let before = network_cpu_of_this_thread();
        let output = network.run(right).unwrap();
        assert_eq!(output.len(), (52 * 32 + 26 * 16 + 13 * 8) * ANCHOR_VALUES);
        assert!(
            network_cpu_of_this_thread() > before,
            "the run's CPU time is counted to the thread that asked for it"
        );
    }
}
