//! YOLOX-Nano, the neural detector (`yolox`): classified road users from one frame, run with
//! `tract-onnx` (pure Rust: nothing to download, no native runtime) or, in a build with the
//! `onnxruntime` feature, with ONNX Runtime's shared library loaded at run time.
//!
//! The model (`models/yolox_nano.onnx`, Apache-2.0, see `models/README.md`) takes one BGR image
//! letterboxed into the top-left corner of a 416x416 square (scale = min(416/w, 416/h), the
//! rest filled with 114, values 0..255) and answers 3549 anchor points (the grids of strides 8,
//! 16 and 32), each `[cx, cy, w, h, objectness, 80 class scores]`. The network is fully
//! convolutional, so on tract the square's padding is left out: the input is the letterboxed
//! picture rounded up to a multiple of 32 (416x256 for a 640x352 frame, 38% less work) and the
//! grids shrink with it ([`Letterbox::fitted`], [`YoloxOptions::fit_input`]). [`Yolox`]
//! letterboxes every frame into one reused input buffer, decodes the anchors ([`decode`]),
//! keeps the road-user classes above the confidence threshold and suppresses duplicates: one
//! suppression across all vehicle classes (so a vehicle the network cannot decide between car
//! and truck counts once) and one among persons.
//!
//! Only the network's run depends on the [`Runtime`]: letterboxing, decoding and suppression
//! are this module's, the same code for both, so the two runtimes' detections differ only by
//! the network's float rounding.
//!
//! ```no_run
//! use semaforo_camera::Frame;
//! use semaforo_vision::detect::yolox::{Yolox, YoloxOptions};
//! use semaforo_vision::Detector;
//!
//! let mut detector = Yolox::new(YoloxOptions::default())?;
//! let mut found = Vec::new();
//! detector.detect(&Frame::black(640, 352), &mut found)?;
//! assert!(found.is_empty());
//! # Ok::<(), semaforo_vision::DetectError>(())
//! ```

#[cfg(feature = "onnxruntime")]
pub mod onnxruntime;
mod tract;
pub use tract::{loaded_models, network_cpu_of_this_thread, network_threads};

use std::path::{Path, PathBuf};

use super::{check_frame, BBox, DetectError, Detection, Detector, ObjectClass, Region};
use semaforo_camera::Frame;

/// Side of the square network input, pixels.
pub const INPUT_SIZE: usize = 416;
/// Anchor points the network answers on the 416x416 square: 52x52 + 26x26 + 13x13 (see
/// [`anchors`] for other input sizes).
pub const ANCHORS: usize = 3549;
/// Values per anchor: box (4), objectness (1), COCO class scores (80).
pub const ANCHOR_VALUES: usize = 85;
/// The grids' strides, in input pixels, in the order of the output's anchors.
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// What an input side is rounded up to when the input is fitted to the picture: the coarsest
/// grid's stride, so that every grid covers the input exactly.
pub const INPUT_STEP: usize = 32;

/// Anchor points the network answers for a `width` x `height` input (multiples of
/// [`INPUT_STEP`]): one per cell of each stride's grid.
pub fn anchors(width: usize, height: usize) -> usize {
    STRIDES.iter().map(|s| (width / s) * (height / s)).sum()
}
/// Value of the letterbox's padding (the value YOLOX was trained with).
pub const PAD_VALUE: f32 = 114.0;
/// File name of the model in the project's `models/` directory.
pub const MODEL_FILE: &str = "yolox_nano.onnx";
/// SHA-256 of the YOLOX-Nano release the project ships.
pub const MODEL_SHA256: &str = "e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd";

/// What a model file must be, for error messages.
pub(crate) const EXPECTED_MODEL: &str =
    "a YOLOX-Nano ONNX model: one input, float32 [1, 3, 416, 416], \
                              and one output, float32 [1, 3549, 85]";

/// Settings of the `yolox` detector.
#[derive(Debug, Clone, PartialEq)]
pub struct YoloxOptions {
    /// The model file; `None` looks in the project's `models/` (see [`find_model`]).
    pub model: Option<PathBuf>,
    /// Lowest score (objectness × class score) kept, in 0..1.
    pub min_score: f32,
    /// Overlap (IoU) above which the weaker of two detections is suppressed, in 0..1.
    pub nms_iou: f32,
    /// Also report persons (pedestrians), suppressed among themselves, not against vehicles.
    pub include_person: bool,
    /// Threads for the network's matrix products: 1 (the default) runs inference on the
    /// calling thread alone, leaving the other cores to decoding and the other camera; 0 means
    /// one per core (for onnxruntime: its own default, one per physical core).
    pub threads: usize,
    /// What runs the network.
    pub runtime: Runtime,
    /// Run the network on the letterboxed picture rounded up to a multiple of 32 (416x256 for a
    /// 640x352 frame) instead of the 416x416 square with its padding rows: the same detections
    /// within a pixel or so on street-a, for about 38% less work and memory (BENCHMARKS.md).
    /// tract only: onnxruntime runs the model at the square shape it declares.
    pub fit_input: bool,
    /// ONNX Runtime's shared library, for [`Runtime::OnnxRuntime`]; `None` looks for it (see
    /// `onnxruntime::library_candidates`, in a build with the `onnxruntime` feature).
    pub onnxruntime_library: Option<PathBuf>,
}

impl Default for YoloxOptions {
    fn default() -> Self {
        YoloxOptions {
            model: None,
            min_score: 0.3,
            nms_iou: 0.45,
            include_person: false,
            threads: 1,
            runtime: Runtime::Tract,
            fit_input: true,
            onnxruntime_library: None,
        }
    }
}

/// What runs the YOLOX network. The detector around it (letterbox, decoding, suppression) is
/// the same whichever runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runtime {
    /// `tract-onnx`: pure Rust, always built in.
    #[default]
    Tract,
    /// ONNX Runtime's shared library, loaded at run time: only in a build with the
    /// `onnxruntime` feature.
    OnnxRuntime,
}

impl Runtime {
    pub const NAMES: &'static str = "tract or onnxruntime";

    pub fn parse(text: &str) -> Option<Runtime> {
        match text.trim().to_ascii_lowercase().as_str() {
            "tract" => Some(Runtime::Tract),
            "onnxruntime" => Some(Runtime::OnnxRuntime),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tract => "tract",
            Runtime::OnnxRuntime => "onnxruntime",
        }
    }

    /// Whether this build can run it (onnxruntime needs the `onnxruntime` feature).
    pub fn is_built_in(self) -> bool {
        match self {
            Runtime::Tract => true,
            Runtime::OnnxRuntime => cfg!(feature = "onnxruntime"),
        }
    }

    /// The error for choosing a runtime this build does not have, saying how to get it.
    pub fn not_built_in(self) -> DetectError {
        DetectError::Setting {
            setting: "runtime",
            value: self.name().into(),
            expected: format!(
                "tract: this build has no {} backend (rebuild with `--features {}`)",
                self.name(),
                self.name()
            ),
        }
    }
}

/// One runtime's hold on the loaded network: the input it reads, the run, the output it wrote.
/// Everything before and after the run is [`Yolox`]'s, shared by every runtime.
trait Network: Send {
    fn runtime(&self) -> Runtime;

    /// Makes the network ready for `letterbox`'s input size, or answers the letterbox it takes
    /// instead (the same picture in another input size: onnxruntime takes only the square).
    fn fit(&mut self, letterbox: Letterbox) -> Result<Letterbox, DetectError>;

    /// The last input: planar BGR, `3 * width * height` values of the fitted letterbox.
    fn input(&self) -> &[f32];

    /// Lets `write` fill the input (`3 * width * height` values of the fitted letterbox); the
    /// last output is then gone.
    fn write_input(&mut self, write: &mut dyn FnMut(&mut [f32])) -> Result<(), DetectError>;

    /// Runs the network on the input.
    fn run(&mut self) -> Result<(), DetectError>;

    /// The last run's raw output, [`anchors`] `* 85` values; `None` before a run or after a
    /// failed one.
    fn output(&self) -> Option<&[f32]>;
}

impl YoloxOptions {
    /// Checks the thresholds, naming the setting and its value when one is out of range.
    pub fn validate(&self) -> Result<(), DetectError> {
        for (setting, value) in [("min_score", self.min_score), ("nms_iou", self.nms_iou)] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(DetectError::Setting {
                    setting,
                    value: value.to_string(),
                    expected: "a number above 0 and at most 1".into(),
                });
            }
        }
        Ok(())
    }

    /// The number of threads `threads` stands for on this machine.
    pub fn effective_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Where [`find_model`] looks when no path is configured, in order: `models/yolox_nano.onnx`
/// in the current directory, then in the project this crate was built from.
pub fn model_search_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        paths.push(dir.join("models").join(MODEL_FILE));
    }
    paths.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../models")
            .join(MODEL_FILE),
    );
    paths
}

/// The model file to load: `configured` if given (it must exist), else the first of
/// [`model_search_paths`] that exists. The error names the path(s) and what was expected.
pub fn find_model(configured: Option<&Path>) -> Result<PathBuf, DetectError> {
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(DetectError::Model {
                path: path.to_path_buf(),
                reason: if path.exists() {
                    "it is not a file".into()
                } else {
                    "no such file".into()
                },
                expected: EXPECTED_MODEL.into(),
            })
        };
    }
    let candidates = model_search_paths();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let searched: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(DetectError::Model {
        path: candidates.last().cloned().unwrap_or_default(),
        reason: format!(
            "no model configured and none found (searched {})",
            searched.join(", ")
        ),
        expected: format!(
            "{EXPECTED_MODEL}, at one of those paths or at a configured path (the project ships \
             it as models/{MODEL_FILE})"
        ),
    })
}

/// How a frame sits in the network input: its `region` (the whole frame unless the zones
/// ask for less) resized to `width` x `height` pixels at the top left of an `input_width` x
/// `input_height` input, the rest padding. Maps network coordinates back to the frame's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// The frame's size.
    pub frame_width: u32,
    pub frame_height: u32,
    /// The part of the frame the network sees.
    pub region: Region,
    /// The resized region's size inside the input.
    pub width: usize,
    pub height: usize,
    /// The network input's size, padding included: 416x416, or multiples of [`INPUT_STEP`]
    /// when [`Letterbox::fitted`].
    pub input_width: usize,
    pub input_height: usize,
}

impl Letterbox {
    /// The letterbox of a whole `frame_width` x `frame_height` frame: scale = min(416/w,
    /// 416/h), the resized size truncated to whole pixels (as YOLOX's own pre-processing does).
    pub fn for_frame(frame_width: u32, frame_height: u32) -> Letterbox {
        Letterbox::for_region(
            frame_width,
            frame_height,
            Region::whole(frame_width, frame_height),
        )
    }

    /// The letterbox of `region` of a frame (cut to the frame): the region is scaled as a
    /// whole frame would be, so a small region is seen at a larger scale (up to 416 / its
    /// longer side, which may enlarge it).
    pub fn for_region(frame_width: u32, frame_height: u32, region: Region) -> Letterbox {
        let region = region.clamped_to(frame_width, frame_height);
        let scale =
            (INPUT_SIZE as f64 / region.width as f64).min(INPUT_SIZE as f64 / region.height as f64);
        let side = |v: u32| ((v as f64 * scale) as usize).clamp(1, INPUT_SIZE);
        Letterbox {
            frame_width,
            frame_height,
            region,
            width: side(region.width),
            height: side(region.height),
            input_width: INPUT_SIZE,
            input_height: INPUT_SIZE,
        }
    }

    /// The same picture in the smallest input that holds it: each side rounded up to a
    /// multiple of [`INPUT_STEP`] (416x256 for a 416x228 picture), so that little padding is
    /// computed. YOLOX was trained with its padding at the right and bottom, as here.
    pub fn fitted(self) -> Letterbox {
        let round_up = |v: usize| v.div_ceil(INPUT_STEP).max(1) * INPUT_STEP;
        Letterbox {
            input_width: round_up(self.width),
            input_height: round_up(self.height),
            ..self
        }
    }

    /// The same picture in the 416x416 square the model was exported for.
    pub fn square(self) -> Letterbox {
        Letterbox {
            input_width: INPUT_SIZE,
            input_height: INPUT_SIZE,
            ..self
        }
    }

    /// Anchor points the network answers for this input.
    pub fn anchors(&self) -> usize {
        anchors(self.input_width, self.input_height)
    }

    /// Frame pixels per network pixel, horizontally and vertically (the exact inverse of the
    /// resize, which maps the region's width onto `width` pixels).
    pub fn inverse_scale(&self) -> (f32, f32) {
        (
            self.region.width as f32 / self.width as f32,
            self.region.height as f32 / self.height as f32,
        )
    }
}

/// Bilinear sampling positions along one axis: for each destination pixel, the two source
/// pixels and the weight of the second (half-pixel centres, like OpenCV's `INTER_LINEAR`).
#[derive(Debug, Default)]
struct Taps {
    first: Vec<usize>,
    second: Vec<usize>,
    weight: Vec<f32>,
}

impl Taps {
    /// Taps for `destination` pixels sampling the `source` pixels that start at `offset`.
    fn build(&mut self, offset: usize, source: usize, destination: usize) {
        self.first.clear();
        self.second.clear();
        self.weight.clear();
        let ratio = source as f64 / destination as f64;
        for d in 0..destination {
            let position = ((d as f64 + 0.5) * ratio - 0.5).max(0.0);
            let first = (position.floor() as usize).min(source - 1);
            let second = (first + 1).min(source - 1);
            self.first.push(offset + first);
            self.second.push(offset + second);
            self.weight.push((position - first as f64) as f32);
        }
    }
}

/// The letterboxing step, with its sampling tables kept between frames of the same size.
#[derive(Debug, Default)]
struct Letterboxer {
    letterbox: Option<Letterbox>,
    columns: Taps,
    rows: Taps,
}

impl Letterboxer {
    /// Writes `frame` (RGB) into `input` (planar BGR, `3 * input_width * input_height`
    /// values) as `letterbox` (made for this frame's size) says. Allocates only when the
    /// frame's size or the region changes.
    fn apply(&mut self, frame: &Frame, letterbox: Letterbox, input: &mut [f32]) {
        if self.letterbox != Some(letterbox) {
            let r = letterbox.region;
            let (x, width) = (r.x as usize, r.width as usize);
            let (y, height) = (r.y as usize, r.height as usize);
            self.columns.build(x, width, letterbox.width);
            self.rows.build(y, height, letterbox.height);
            self.letterbox = Some(letterbox);
        }
        let (input_width, input_height) = (letterbox.input_width, letterbox.input_height);
        let plane = input_width * input_height;
        let stride = frame.width as usize * 3;
        let (blue, rest) = input.split_at_mut(plane);
        let (green, red) = rest.split_at_mut(plane);
        for y in 0..input_height {
            let out = y * input_width..(y + 1) * input_width;
            let (b, g, r) = (
                &mut blue[out.clone()],
                &mut green[out.clone()],
                &mut red[out],
            );
            if y >= letterbox.height {
                b.fill(PAD_VALUE);
                g.fill(PAD_VALUE);
                r.fill(PAD_VALUE);
                continue;
            }
            let wy = self.rows.weight[y];
            let top = &frame.rgb[self.rows.first[y] * stride..][..stride];
            let bottom = &frame.rgb[self.rows.second[y] * stride..][..stride];
            for x in 0..letterbox.width {
                let (left, right) = (self.columns.first[x] * 3, self.columns.second[x] * 3);
                let wx = self.columns.weight[x];
                let sample = |c: usize| {
                    let t =
                        top[left + c] as f32 + (top[right + c] as f32 - top[left + c] as f32) * wx;
                    let u = bottom[left + c] as f32
                        + (bottom[right + c] as f32 - bottom[left + c] as f32) * wx;
                    t + (u - t) * wy
                };
                r[x] = sample(0);
                g[x] = sample(1);
                b[x] = sample(2);
            }
            b[letterbox.width..].fill(PAD_VALUE);
            g[letterbox.width..].fill(PAD_VALUE);
            r[letterbox.width..].fill(PAD_VALUE);
        }
    }
}

/// Decodes the network's raw output ([`Letterbox::anchors`] `* 85` values, the grids of the
/// letterbox's input size) into detections in frame pixels:
/// each anchor's best road-user class (car, bus, truck, motorcycle, bicycle, and person when
/// `options.include_person`), score = objectness × class score, kept at `min_score` and above,
/// boxes clipped to the region the network saw, in frame pixels, then non-maximum suppression at `nms_iou`: across all vehicle
/// classes together, and among persons. `out` is replaced, strongest first.
pub fn decode(
    output: &[f32],
    letterbox: &Letterbox,
    options: &YoloxOptions,
    out: &mut Vec<Detection>,
) {
    out.clear();
    let classes: &[usize] = if options.include_person {
        &[0, 1, 2, 3, 5, 7]
    } else {
        &[1, 2, 3, 5, 7]
    };
    let (sx, sy) = letterbox.inverse_scale();
    let r = letterbox.region;
    let (left, top) = (r.x as f32, r.y as f32);
    let (right, bottom) = (left + r.width as f32, top + r.height as f32);
    let mut anchors = output.chunks_exact(ANCHOR_VALUES);
    for stride in STRIDES {
        let (columns, rows) = (
            letterbox.input_width / stride,
            letterbox.input_height / stride,
        );
        for gy in 0..rows {
            for gx in 0..columns {
                let Some(a) = anchors.next() else {
                    return;
                };
                let objectness = a[4];
                // A class score is at most 1, so a weak objectness cannot reach the threshold.
                if objectness < options.min_score {
                    continue;
                }
                let mut best = (0usize, f32::MIN);
                for &c in classes {
                    if a[5 + c] > best.1 {
                        best = (c, a[5 + c]);
                    }
                }
                let score = objectness * best.1;
                if score < options.min_score {
                    continue;
                }
                let Some(class) = ObjectClass::from_coco(best.0) else {
                    continue;
                };
                let s = stride as f32;
                let cx = (a[0] + gx as f32) * s;
                let cy = (a[1] + gy as f32) * s;
                let w = a[2].exp() * s;
                let h = a[3].exp() * s;
                let bbox = BBox::new(
                    (left + (cx - w * 0.5) * sx).clamp(left, right),
                    (top + (cy - h * 0.5) * sy).clamp(top, bottom),
                    (left + (cx + w * 0.5) * sx).clamp(left, right),
                    (top + (cy + h * 0.5) * sy).clamp(top, bottom),
                );
                out.push(Detection { class, score, bbox });
            }
        }
    }
    suppress(out, options.nms_iou);
}

/// Greedy non-maximum suppression, in place: strongest first, a detection is dropped when it
/// overlaps a kept one of the same group (vehicles, or persons) by more than `iou`.
fn suppress(detections: &mut Vec<Detection>, iou: f32) {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = 0;
    for i in 0..detections.len() {
        let candidate = detections[i];
        let overlapped = detections[..kept].iter().any(|k| {
            k.class.is_vehicle() == candidate.class.is_vehicle()
                && k.bbox.iou(&candidate.bbox) > iou
        });
        if !overlapped {
            detections[kept] = candidate;
            kept += 1;
        }
    }
    detections.truncate(kept);
}

/// The YOLOX-Nano detector: the loaded network (on its runtime) and the letterbox's tables.
pub struct Yolox {
    options: YoloxOptions,
    model_path: PathBuf,
    network: Box<dyn Network>,
    letterboxer: Letterboxer,
    /// The part of the frame the network sees; `None` for the whole frame.
    region: Option<Region>,
}

impl std::fmt::Debug for Yolox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Yolox")
            .field("model_path", &self.model_path)
            .field("runtime", &self.network.runtime())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Yolox {
    /// Finds (see [`find_model`]), checks and loads the model on `options.runtime`. Errors name
    /// the model's path and what was expected of it, the setting out of range, or (for
    /// onnxruntime) the libraries tried and how to get one ([`DetectError::Runtime`]).
    pub fn new(options: YoloxOptions) -> Result<Yolox, DetectError> {
        options.validate()?;
        if !options.runtime.is_built_in() {
            return Err(options.runtime.not_built_in());
        }
        let model_path = find_model(options.model.as_deref())?;
        let network: Box<dyn Network> = match options.runtime {
            Runtime::Tract => Box::new(tract::TractNetwork::load(
                &model_path,
                options.effective_threads(),
            )?),
            #[cfg(feature = "onnxruntime")]
            Runtime::OnnxRuntime => Box::new(onnxruntime::OrtNetwork::load(
                &model_path,
                options.threads,
                options.onnxruntime_library.as_deref(),
            )?),
            #[cfg(not(feature = "onnxruntime"))]
            Runtime::OnnxRuntime => return Err(options.runtime.not_built_in()),
        };
        Ok(Yolox {
            options,
            model_path,
            network,
            letterboxer: Letterboxer::default(),
            region: None,
        })
    }

    /// Looks only at `region` of each frame (cut to the frame), at the larger scale that
    /// allows; `None` looks at the whole frame. Detections stay in frame pixels. See
    /// [`crate::ZoneSet::region_of_interest`].
    pub fn set_region(&mut self, region: Option<Region>) {
        self.region = region;
    }

    /// The model file in use.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    pub fn options(&self) -> &YoloxOptions {
        &self.options
    }

    /// What runs the network.
    pub fn runtime(&self) -> Runtime {
        self.network.runtime()
    }

    /// The last frame's network input: planar BGR, `3 * input_width * input_height` values of
    /// the letterbox [`Yolox::infer`] answered.
    pub fn last_input(&self) -> &[f32] {
        self.network.input()
    }

    /// The last frame's raw network output ([`Letterbox::anchors`] `* 85` values), if a frame
    /// was processed.
    pub fn last_output(&self) -> Option<&[f32]> {
        self.network.output()
    }

    /// Letterboxes `frame` into the input and runs the network; the raw output is then
    /// [`Yolox::last_output`].
    pub fn infer(&mut self, frame: &Frame) -> Result<Letterbox, DetectError> {
        check_frame(frame)?;
        let region = self
            .region
            .unwrap_or(Region::whole(frame.width, frame.height));
        let letterbox = Letterbox::for_region(frame.width, frame.height, region);
        let letterbox = self.network.fit(if self.options.fit_input {
            letterbox.fitted()
        } else {
            letterbox
        })?;
        let letterboxer = &mut self.letterboxer;
        self.network
            .write_input(&mut |input| letterboxer.apply(frame, letterbox, input))?;
        self.network.run()?;
        Ok(letterbox)
    }
}

impl Detector for Yolox {
    fn name(&self) -> &'static str {
        "yolox"
    }

    fn detect(&mut self, frame: &Frame, out: &mut Vec<Detection>) -> Result<(), DetectError> {
        let letterbox = self.infer(frame)?;
        let output = self
            .last_output()
            .ok_or_else(|| DetectError::Inference("the network's output is not float32".into()))?;
        decode(output, &letterbox, &self.options, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw output with every anchor empty (objectness 0).
    fn empty_output() -> Vec<f32> {
        vec![0.0; ANCHORS * ANCHOR_VALUES]
    }

    /// Sets the anchor at `(gx, gy)` of the stride-8 grid to a box centred on that cell's
    /// origin plus `(dx, dy)` cells, `w` x `h` input pixels, with `objectness` and class
    /// scores `scores` (COCO index, score).
    fn put(
        output: &mut [f32],
        gx: usize,
        gy: usize,
        w: f32,
        h: f32,
        objectness: f32,
        scores: &[(usize, f32)],
    ) {
        let a = &mut output[(gy * 52 + gx) * ANCHOR_VALUES..][..ANCHOR_VALUES];
        a[0] = 0.5;
        a[1] = 0.5;
        a[2] = (w / 8.0).ln();
        a[3] = (h / 8.0).ln();
        a[4] = objectness;
        for &(c, s) in scores {
            a[5 + c] = s;
        }
    }

    fn street_letterbox() -> Letterbox {
        Letterbox::for_frame(640, 352)
    }

    #[test]
    fn letterbox_of_a_640x352_frame_is_416x228_at_the_top_left() {
        let l = street_letterbox();
        assert_eq!((l.width, l.height), (416, 228));
        let (sx, sy) = l.inverse_scale();
        assert!((sx - 640.0 / 416.0).abs() < 1e-6 && (sy - 352.0 / 228.0).abs() < 1e-6);
    }

    #[test]
    fn a_fitted_letterbox_rounds_the_picture_up_to_multiples_of_32() {
        let l = street_letterbox().fitted();
        assert_eq!((l.width, l.height), (416, 228), "the same picture");
        assert_eq!((l.input_width, l.input_height), (416, 256));
        assert_eq!(l.anchors(), 52 * 32 + 26 * 16 + 13 * 8);
        assert_eq!(street_letterbox().anchors(), ANCHORS);
        // A portrait region: its width rounded up, its height the full side.
        let tall = Letterbox::for_region(
            640,
            352,
            Region {
                x: 0,
                y: 0,
                width: 100,
                height: 300,
            },
        )
        .fitted();
        assert_eq!((tall.width, tall.height), (138, 416));
        assert_eq!((tall.input_width, tall.input_height), (160, 416));
        assert_eq!(l.square(), street_letterbox());
    }

    #[test]
    fn anchors_decode_on_the_grids_of_a_non_square_input() {
        // 416x256: strides 8, 16 and 32 have 52x32, 26x16 and 13x8 cells, in that order.
        let l = street_letterbox().fitted();
        let mut output = vec![0.0; l.anchors() * ANCHOR_VALUES];
        let mut put = |offset: usize, columns: usize, gx: usize, gy: usize, stride: f32| {
            let a = &mut output[(offset + gy * columns + gx) * ANCHOR_VALUES..][..ANCHOR_VALUES];
            a[0] = 0.5;
            a[1] = 0.5;
            a[2] = (24.0 / stride).ln();
            a[3] = (24.0 / stride).ln();
            a[4] = 0.9;
            a[5 + 2] = 0.9;
        };
        put(0, 52, 49, 25, 8.0); // centre (396, 204)
        put(52 * 32, 26, 3, 13, 16.0); // centre (56, 216)
        put(52 * 32 + 26 * 16, 13, 6, 2, 32.0); // centre (208, 80)
        let mut found = Vec::new();
        decode(&output, &l, &YoloxOptions::default(), &mut found);
        let (sx, sy) = l.inverse_scale();
        let mut centres: Vec<(f32, f32)> = found
            .iter()
            .map(|d| ((d.bbox.x1 + 12.0 * sx) / sx, (d.bbox.y1 + 12.0 * sy) / sy))
            .collect();
        centres.sort_by(|a, b| a.0.total_cmp(&b.0));
        let expected = [(56.0, 216.0), (208.0, 80.0), (396.0, 204.0)];
        assert_eq!(centres.len(), 3, "{found:?}");
        for (got, want) in centres.iter().zip(expected) {
            assert!(
                (got.0 - want.0).abs() < 0.01 && (got.1 - want.1).abs() < 0.01,
                "{centres:?}"
            );
        }
    }

    #[test]
    fn a_car_anchor_decodes_to_a_box_in_frame_pixels() {
        let mut output = empty_output();
        // Cell (10, 5) of stride 8: centre (84, 44) in the input, 40x20 input pixels.
        put(&mut output, 10, 5, 40.0, 20.0, 0.9, &[(2, 0.8)]);
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        assert_eq!(found.len(), 1);
        let d = found[0];
        assert_eq!(d.class, ObjectClass::Car);
        assert!((d.score - 0.72).abs() < 1e-6);
        let (sx, sy) = street_letterbox().inverse_scale();
        let expected = BBox::new(64.0 * sx, 34.0 * sy, 104.0 * sx, 54.0 * sy);
        for (got, want) in [
            (d.bbox.x1, expected.x1),
            (d.bbox.y1, expected.y1),
            (d.bbox.x2, expected.x2),
            (d.bbox.y2, expected.y2),
        ] {
            assert!((got - want).abs() < 1e-3, "{:?} vs {expected:?}", d.bbox);
        }
    }

    #[test]
    fn a_vehicle_the_network_calls_both_car_and_truck_counts_once() {
        let mut output = empty_output();
        put(&mut output, 10, 5, 40.0, 20.0, 0.9, &[(2, 0.6)]);
        put(&mut output, 11, 5, 40.0, 20.0, 0.9, &[(7, 0.7)]);
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].class,
            ObjectClass::Truck,
            "the stronger reading wins"
        );
    }

    #[test]
    fn separate_vehicles_survive_suppression_and_come_strongest_first() {
        let mut output = empty_output();
        put(&mut output, 10, 5, 40.0, 20.0, 0.9, &[(2, 0.6)]);
        put(&mut output, 30, 5, 40.0, 20.0, 0.9, &[(5, 0.9)]);
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        let classes: Vec<_> = found.iter().map(|d| d.class).collect();
        assert_eq!(classes, [ObjectClass::Bus, ObjectClass::Car]);
    }

    #[test]
    fn persons_only_when_asked_and_never_suppressing_a_vehicle() {
        let mut output = empty_output();
        put(&mut output, 10, 5, 40.0, 40.0, 0.9, &[(3, 0.8)]);
        put(&mut output, 11, 5, 40.0, 40.0, 0.9, &[(0, 0.95)]);
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class, ObjectClass::Motorcycle);
        let with_persons = YoloxOptions {
            include_person: true,
            ..YoloxOptions::default()
        };
        decode(&output, &street_letterbox(), &with_persons, &mut found);
        let classes: Vec<_> = found.iter().map(|d| d.class).collect();
        assert_eq!(
            classes,
            [ObjectClass::Person, ObjectClass::Motorcycle],
            "a rider and a motorcycle"
        );
    }

    #[test]
    fn weak_detections_and_other_classes_are_dropped() {
        let mut output = empty_output();
        put(&mut output, 10, 5, 40.0, 20.0, 0.5, &[(2, 0.5)]); // 0.25 < 0.3
        put(&mut output, 30, 5, 40.0, 20.0, 0.9, &[(4, 0.9)]); // an airplane
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        assert!(found.is_empty(), "{found:?}");
        let lenient = YoloxOptions {
            min_score: 0.2,
            ..YoloxOptions::default()
        };
        decode(&output, &street_letterbox(), &lenient, &mut found);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn boxes_are_clipped_to_the_frame() {
        let mut output = empty_output();
        put(&mut output, 0, 0, 60.0, 60.0, 0.9, &[(2, 0.9)]);
        let mut found = Vec::new();
        decode(
            &output,
            &street_letterbox(),
            &YoloxOptions::default(),
            &mut found,
        );
        assert_eq!((found[0].bbox.x1, found[0].bbox.y1), (0.0, 0.0));
    }

    #[test]
    fn letterboxing_converts_rgb_to_planar_bgr_and_pads_with_114() {
        let mut frame = Frame::black(832, 416); // exactly half size: 416x208
        for px in frame.rgb.chunks_exact_mut(3) {
            px.copy_from_slice(&[10, 20, 30]);
        }
        let mut input = vec![0.0; 3 * INPUT_SIZE * INPUT_SIZE];
        let l = Letterbox::for_frame(832, 416);
        Letterboxer::default().apply(&frame, l, &mut input);
        assert_eq!((l.width, l.height), (416, 208));
        let plane = INPUT_SIZE * INPUT_SIZE;
        let at = |c: usize, x: usize, y: usize| input[c * plane + y * INPUT_SIZE + x];
        assert_eq!((at(0, 5, 5), at(1, 5, 5), at(2, 5, 5)), (30.0, 20.0, 10.0));
        assert_eq!(
            (at(0, 5, 300), at(1, 415, 415), at(2, 0, 208)),
            (114.0, 114.0, 114.0)
        );
    }

    #[test]
    fn a_region_is_letterboxed_alone_at_its_own_scale_and_boxes_come_back_in_frame_pixels() {
        // Left half dark, right half bright; the region is a 208x104 piece of the right half.
        let mut frame = Frame::black(640, 352);
        for (i, px) in frame.rgb.chunks_exact_mut(3).enumerate() {
            let v = if i % 640 >= 320 { 200 } else { 10 };
            px.copy_from_slice(&[v, v, v]);
        }
        let region = Region {
            x: 400,
            y: 100,
            width: 208,
            height: 104,
        };
        let mut input = vec![0.0; 3 * INPUT_SIZE * INPUT_SIZE];
        let l = Letterbox::for_region(640, 352, region);
        Letterboxer::default().apply(&frame, l, &mut input);
        assert_eq!((l.width, l.height), (416, 208), "enlarged twice");
        assert!(input[..INPUT_SIZE * 208].iter().all(|&v| v == 200.0));
        assert_eq!(l.inverse_scale(), (0.5, 0.5));

        // A box at network (96, 48)-(136, 88) is frame (448, 124)-(468, 144); one reaching
        // past the region is cut at the region's edge, not the frame's.
        let mut output = empty_output();
        put(&mut output, 14, 8, 40.0, 40.0, 0.9, &[(2, 0.9)]);
        put(&mut output, 50, 24, 40.0, 40.0, 0.9, &[(2, 0.9)]);
        let mut found = Vec::new();
        decode(&output, &l, &YoloxOptions::default(), &mut found);
        let mut boxes: Vec<_> = found.iter().map(|d| d.bbox).collect();
        boxes.sort_by(|a, b| a.x1.total_cmp(&b.x1));
        let b = boxes[0];
        assert!(
            (b.x1 - 448.0).abs() < 0.01 && (b.y1 - 124.0).abs() < 0.01,
            "{b:?}"
        );
        assert!(
            (b.x2 - 468.0).abs() < 0.01 && (b.y2 - 144.0).abs() < 0.01,
            "{b:?}"
        );
        assert_eq!((boxes[1].x2, boxes[1].y2), (608.0, 204.0));
    }

    #[test]
    fn the_detector_can_move_to_a_camera_thread() {
        fn send<T: Send>() {}
        send::<Yolox>();
    }

    #[test]
    fn thresholds_out_of_range_name_the_setting() {
        let bad = YoloxOptions {
            min_score: 1.5,
            ..YoloxOptions::default()
        };
        let message = bad.validate().unwrap_err().to_string();
        assert!(message.contains("min_score = 1.5"), "{message}");
        let bad = YoloxOptions {
            nms_iou: 0.0,
            ..YoloxOptions::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("nms_iou = 0"));
    }
}
