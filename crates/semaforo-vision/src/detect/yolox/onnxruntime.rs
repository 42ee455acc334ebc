//! The YOLOX network on ONNX Runtime (feature `onnxruntime`): the `ort` crate with ONNX
//! Runtime's shared library loaded at run time, so the build needs none and downloads nothing.
//!
//! Which library, in order ([`library_candidates`]): the configured path
//! (`YoloxOptions::onnxruntime_library`, semaforo's `detection.onnxruntime_library`); else
//! `ORT_DYLIB_PATH`; else the one the `onnxruntime` wheel of `python3` ships
//! (`<package>/capi/libonnxruntime.so*`, found by asking `python3` where the package is, without
//! importing it); else the system's `libonnxruntime.so`. A path that is given (setting or
//! variable) is the only one tried; python is asked only when none is. Any ONNX Runtime from
//! 1.17 on loads (ort's API level 17); `pip install onnxruntime` ships one for x86-64 and
//! aarch64 Linux.
//!
//! ONNX Runtime is process-wide in `ort`: the first library loaded serves every detector after
//! it and is never replaced, so a detector that names a different library is refused (and
//! falls back to tract in `build_detector`) rather than silently run on another one.
//!
//! ```no_run
//! use semaforo_vision::detect::yolox::{Runtime, Yolox, YoloxOptions};
//!
//! let detector = Yolox::new(YoloxOptions {
//!     runtime: Runtime::OnnxRuntime,
//!     ..YoloxOptions::default()
//! })?;
//! assert_eq!(detector.runtime(), Runtime::OnnxRuntime);
//! # Ok::<(), semaforo_vision::DetectError>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::{Letterbox, Network, Runtime, ANCHORS, ANCHOR_VALUES, EXPECTED_MODEL, INPUT_SIZE};
use crate::detect::DetectError;

/// The variable `ort` itself reads, honoured here in the same place of the order.
pub const LIBRARY_VARIABLE: &str = "ORT_DYLIB_PATH";

/// How to get a library, ending every "cannot load" error.
pub const REMEDY: &str = "Install ONNX Runtime with `pip install onnxruntime` (its wheel ships \
     the library for x86-64 and aarch64 Linux), or give the library's path (the \
     onnxruntime_library setting, semaforo's detection.onnxruntime_library, or ORT_DYLIB_PATH); \
     or use the tract runtime";

/// The library names the system's loader is asked for when nothing else is found.
#[cfg(target_os = "macos")]
const SYSTEM_NAMES: &[&str] = &["libonnxruntime.dylib"];
#[cfg(target_os = "windows")]
const SYSTEM_NAMES: &[&str] = &["onnxruntime.dll"];
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const SYSTEM_NAMES: &[&str] = &["libonnxruntime.so", "libonnxruntime.so.1"];

/// Asks python where the `onnxruntime` package is without importing it (an import loads the
/// whole runtime and numpy): prints the package's directory, or nothing.
const WHEEL_QUERY: &str = "import importlib.util, os\n\
     s = importlib.util.find_spec('onnxruntime')\n\
     print(os.path.dirname(s.origin) if s and s.origin else '')";

/// Where a candidate library came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibrarySource {
    /// `YoloxOptions::onnxruntime_library`.
    Configured,
    /// `ORT_DYLIB_PATH`.
    Environment,
    /// The `onnxruntime` wheel installed for `python3`.
    PythonWheel,
    /// A bare library name, found (or not) by the system's loader.
    System,
}

impl fmt::Display for LibrarySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LibrarySource::Configured => "the configured onnxruntime_library",
            LibrarySource::Environment => LIBRARY_VARIABLE,
            LibrarySource::PythonWheel => "python3's onnxruntime wheel",
            LibrarySource::System => "the system's library search path",
        })
    }
}

/// One library to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryCandidate {
    pub path: PathBuf,
    pub source: LibrarySource,
}

/// The libraries to try, in order, for a detector configured with `configured` (see the
/// module's documentation). Runs `python3` only when no path is given.
pub fn library_candidates(configured: Option<&Path>) -> Vec<LibraryCandidate> {
    candidates(
        configured,
        std::env::var_os(LIBRARY_VARIABLE),
        python_wheel_package,
    )
}

/// [`library_candidates`] with its inputs given: the variable's value and a way to find the
/// wheel's package directory.
fn candidates(
    configured: Option<&Path>,
    variable: Option<OsString>,
    wheel_package: impl FnOnce() -> Option<PathBuf>,
) -> Vec<LibraryCandidate> {
    if let Some(path) = configured {
        return vec![LibraryCandidate {
            path: path.to_path_buf(),
            source: LibrarySource::Configured,
        }];
    }
    if let Some(path) = variable.filter(|v| !v.is_empty()) {
        return vec![LibraryCandidate {
            path: PathBuf::from(path),
            source: LibrarySource::Environment,
        }];
    }
    let mut out: Vec<LibraryCandidate> = wheel_package()
        .map(|package| wheel_libraries(&package.join("capi")))
        .unwrap_or_default()
        .into_iter()
        .map(|path| LibraryCandidate {
            path,
            source: LibrarySource::PythonWheel,
        })
        .collect();
    out.extend(SYSTEM_NAMES.iter().map(|name| LibraryCandidate {
        path: PathBuf::from(name),
        source: LibrarySource::System,
    }));
    out
}

/// The `onnxruntime` package directory of `python3`, if it has one (and python3 runs).
fn python_wheel_package() -> Option<PathBuf> {
    let output = Command::new("python3")
        .args(["-c", WHEEL_QUERY])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// ONNX Runtime's library files in a wheel's `capi` directory, the highest version first
/// (`libonnxruntime.so.1.32.0`; not `libonnxruntime_providers_shared.so`, a plug-in).
pub fn wheel_libraries(capi: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(capi) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = library_version(&name)?;
            Some((version, entry.path()))
        })
        .collect();
    found.sort_by(|a, b| b.cmp(a));
    found.into_iter().map(|(_, path)| path).collect()
}

/// The version numbers in an ONNX Runtime library's file name (`libonnxruntime.so.1.32.0`,
/// `libonnxruntime.1.32.0.dylib`, `onnxruntime.dll`), or `None` for any other file.
fn library_version(name: &str) -> Option<Vec<u64>> {
    let rest = if let Some(rest) = name.strip_prefix("libonnxruntime.so") {
        rest
    } else if let Some(rest) = name
        .strip_prefix("libonnxruntime")
        .and_then(|r| r.strip_suffix(".dylib"))
    {
        rest
    } else if name.eq_ignore_ascii_case("onnxruntime.dll") {
        ""
    } else {
        return None;
    };
    let numbers: Option<Vec<u64>> = rest
        .split('.')
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().ok())
        .collect();
    numbers
}

/// Where this process stands with ONNX Runtime. `ort` keeps the loaded library in a
/// process-wide cell of its own, set once and never replaced; this records which file that was
/// and serialises the loading.
enum Loaded {
    Nothing,
    Library(PathBuf),
    /// `ort` failed to take a library this module had checked. ort 2.0.0-rc.11 to rc.14 mark
    /// their cell as set even when loading fails, and read it uninitialised afterwards, so once
    /// that has happened nothing of ort may be called again in this process.
    Broken(String),
}

fn loaded() -> &'static Mutex<Loaded> {
    static LOADED: Mutex<Loaded> = Mutex::new(Loaded::Nothing);
    &LOADED
}

fn runtime_error(reason: String) -> DetectError {
    DetectError::Runtime {
        runtime: "onnxruntime",
        reason,
        remedy: REMEDY.into(),
    }
}

/// Loads ONNX Runtime's library for a detector configured with `configured`, or returns the
/// one already loaded; the file in use. The error lists every library tried and why each
/// failed, and says how to get one.
///
/// Each candidate is first opened and checked here ([`probe`]); only one that passes is handed
/// to `ort`, whose own loading cannot recover from a failure (see [`Loaded::Broken`]).
pub fn load_library(configured: Option<&Path>) -> Result<PathBuf, DetectError> {
    if let Some(path) = configured {
        if !path.is_file() {
            return Err(runtime_error(format!(
                "the configured ONNX Runtime library {} {}",
                path.display(),
                if path.exists() {
                    "is not a file"
                } else {
                    "does not exist"
                }
            )));
        }
    }
    let mut loaded = loaded().lock().unwrap_or_else(PoisonError::into_inner);
    match &*loaded {
        Loaded::Nothing => {}
        Loaded::Library(current) => {
            if let Some(path) = configured {
                if !same_file(path, current) {
                    return Err(runtime_error(format!(
                        "this process already runs ONNX Runtime from {}, and a process holds \
                         one ONNX Runtime library, so {} cannot be loaded too (configure the \
                         same library for every detector)",
                        current.display(),
                        path.display()
                    )));
                }
            }
            return Ok(current.clone());
        }
        Loaded::Broken(why) => {
            return Err(runtime_error(format!(
                "ONNX Runtime failed to start earlier in this process ({why}); restart to try \
                 again"
            )))
        }
    }
    let candidates = library_candidates(configured);
    let searched_wheel =
        configured.is_none() && std::env::var_os(LIBRARY_VARIABLE).is_none_or(|v| v.is_empty());
    let mut tried = Vec::new();
    for candidate in &candidates {
        let path = as_ort_opens(&candidate.path);
        let (library, version) = match probe(&path) {
            Ok(checked) => checked,
            Err(why) => {
                tried.push(format!(
                    "{} (from {}): {why}",
                    candidate.path.display(),
                    candidate.source
                ));
                continue;
            }
        };
        let taken = ort::init_from(&path);
        // `ort` holds its own handle now (or failed): the check's handle can go.
        drop(library);
        return match taken {
            Ok(environment) => {
                environment.with_name("semaforo").commit();
                tracing::info!(
                    "ONNX Runtime {version} loaded from {} (found through {})",
                    path.display(),
                    candidate.source
                );
                *loaded = Loaded::Library(path.clone());
                Ok(path)
            }
            Err(e) => {
                let why = format!("{} (from {}): {e}", path.display(), candidate.source);
                *loaded = Loaded::Broken(why.clone());
                Err(runtime_error(format!(
                    "ONNX Runtime {version} passed its checks but failed to start: {why}"
                )))
            }
        };
    }
    let wheel_note = if searched_wheel
        && !candidates
            .iter()
            .any(|c| c.source == LibrarySource::PythonWheel)
    {
        "; python3 has no onnxruntime wheel (or no python3 runs)"
    } else {
        ""
    };
    Err(runtime_error(format!(
        "no ONNX Runtime library could be loaded; tried {}{wheel_note}",
        tried.join("; ")
    )))
}

/// The path `ort` will open for `path`: a relative path with a directory part is made absolute
/// against the working directory here (`ort` would look beside the executable first); a bare
/// file name is left to the system's loader, as `ort` leaves it unless the executable's
/// directory holds that name.
fn as_ort_opens(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if path.components().count() > 1 {
        return std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    }
    let beside_executable = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(path)));
    match beside_executable {
        Some(candidate) if candidate.exists() => candidate,
        _ => path.to_path_buf(),
    }
}

/// Why a library is not an ONNX Runtime `ort` can use. The caller names the library's path
/// and where it was found.
#[derive(Debug, thiserror::Error)]
enum Rejected {
    /// The system's loader refused it (its own reason).
    #[error("{reason}")]
    Open { reason: String },
    #[error("it does not export OrtGetApiBase, so it is not ONNX Runtime")]
    NotOnnxRuntime,
    #[error("its OrtGetApiBase returned nothing")]
    NoApiBase,
    #[error(
        "it is ONNX Runtime {version}; 1.{} or later is needed",
        ort::MINOR_VERSION
    )]
    TooOld { version: String },
    #[error(
        "ONNX Runtime {version} does not serve API version {}",
        ort::MINOR_VERSION
    )]
    NoApi { version: String },
}

/// Opens `path` and checks that it is an ONNX Runtime `ort` can use: it exports
/// `OrtGetApiBase`, its version is 1.x with x at least `ort::MINOR_VERSION`, and it serves that
/// API version. Returns the open library (to keep it loaded until `ort` has its own handle)
/// and the version. These are the checks `ort` makes, done where a failure can be survived.
fn probe(path: &Path) -> Result<(libloading::Library, String), Rejected> {
    // SAFETY: opening a shared library runs its initialisers; this is the library the detector
    // is configured to run (or found where ONNX Runtime is installed), the one `ort` opens next
    // with the same call, so nothing runs here that would not run anyway.
    let library = unsafe { libloading::Library::new(path) }.map_err(|e| Rejected::Open {
        // libloading's own text is only "dlopen failed"; the system's reason is its source.
        reason: std::error::Error::source(&e).map_or_else(|| e.to_string(), |why| why.to_string()),
    })?;
    // SAFETY: `OrtGetApiBase` is ONNX Runtime's one exported entry point, declared in its C API
    // as `const OrtApiBase* OrtGetApiBase(void)`, the signature `ort_sys` gives it.
    let get_api_base: libloading::Symbol<
        unsafe extern "system" fn() -> *const ort::sys::OrtApiBase,
    > = unsafe { library.get(b"OrtGetApiBase") }.map_err(|_| Rejected::NotOnnxRuntime)?;
    // SAFETY: the entry point takes no arguments and returns a pointer to a static table, or
    // null, which is checked.
    let base = unsafe { get_api_base() };
    if base.is_null() {
        return Err(Rejected::NoApiBase);
    }
    // SAFETY: `base` is non-null and points to the library's static `OrtApiBase`, whose
    // `GetVersionString` returns a static NUL-terminated string ("1.32.0"), alive while the
    // library is loaded (`library` is held until the end of this function and beyond).
    let version = unsafe { std::ffi::CStr::from_ptr(((*base).GetVersionString)()) }
        .to_string_lossy()
        .into_owned();
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
    let (major, minor) = (numbers.next().flatten(), numbers.next().flatten());
    if major != Some(1) || minor.is_none_or(|m| m < ort::MINOR_VERSION) {
        return Err(Rejected::TooOld { version });
    }
    // SAFETY: as above, `base` points to the static `OrtApiBase`; `GetApi` takes the API
    // version and returns a pointer to a static table or null, only compared with null here.
    let api = unsafe { ((*base).GetApi)(ort::MINOR_VERSION) };
    if api.is_null() {
        return Err(Rejected::NoApi { version });
    }
    Ok((library, version))
}

/// Whether two paths name the same file (either may be a link to the other).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A loaded session, its reused input and a copy of its last output.
pub(super) struct OrtNetwork {
    session: Session,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Whether `output` holds the last run's result.
    has_output: bool,
}

impl OrtNetwork {
    /// Loads the library (see [`load_library`]) and the model at `path`, checked for the
    /// fixed 1x3x416x416 input, on `threads` intra-operator threads (0: ONNX Runtime's own
    /// default, one per physical core).
    pub(super) fn load(
        path: &Path,
        threads: usize,
        library: Option<&Path>,
    ) -> Result<OrtNetwork, DetectError> {
        load_library(library)?;
        let options =
            |e: ort::Error<_>| DetectError::Inference(format!("onnxruntime session options: {e}"));
        let mut builder = Session::builder()
            .map_err(|e| DetectError::Inference(format!("onnxruntime session: {e}")))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(options)?;
        if threads > 0 {
            builder = builder.with_intra_threads(threads).map_err(options)?;
        }
        if threads == 1 {
            builder = builder.with_inter_threads(1).map_err(options)?;
        }
        let wrong = |reason: String| DetectError::Model {
            path: path.to_path_buf(),
            reason,
            expected: EXPECTED_MODEL.into(),
        };
        let session = builder
            .commit_from_file(path)
            .map_err(|e| wrong(format!("onnxruntime cannot load it: {e}")))?;
        if session.inputs().len() != 1 || session.outputs().len() != 1 {
            return Err(wrong(format!(
                "it has {} inputs and {} outputs",
                session.inputs().len(),
                session.outputs().len()
            )));
        }
        let input = describe(session.inputs()[0].dtype());
        if !fits(session.inputs()[0].dtype(), &[1, 3, INPUT_SIZE, INPUT_SIZE]) {
            return Err(wrong(format!("its input is {input}")));
        }
        let output = describe(session.outputs()[0].dtype());
        if !fits(session.outputs()[0].dtype(), &[1, ANCHORS, ANCHOR_VALUES]) {
            return Err(wrong(format!("its output is {output}")));
        }
        Ok(OrtNetwork {
            session,
            input: vec![0.0; 3 * INPUT_SIZE * INPUT_SIZE],
            output: vec![0.0; ANCHORS * ANCHOR_VALUES],
            has_output: false,
        })
    }
}

/// Whether a declared input or output is a float32 tensor that can have `shape` (dimensions
/// the model leaves open, -1, fit any size).
fn fits(dtype: &ValueType, shape: &[usize]) -> bool {
    match (dtype.tensor_type(), dtype.tensor_shape()) {
        (Some(TensorElementType::Float32), Some(declared)) => {
            declared.len() == shape.len()
                && declared
                    .iter()
                    .zip(shape)
                    .all(|(&d, &s)| d < 0 || d as usize == s)
        }
        _ => false,
    }
}

fn describe(dtype: &ValueType) -> String {
    match (dtype.tensor_type(), dtype.tensor_shape()) {
        (Some(element), Some(shape)) => format!("{element:?} {shape}"),
        _ => format!("{dtype:?}"),
    }
}

impl Network for OrtNetwork {
    fn runtime(&self) -> Runtime {
        Runtime::OnnxRuntime
    }

    /// The session was checked for the square input the model declares: always that.
    fn fit(&mut self, letterbox: Letterbox) -> Result<Letterbox, DetectError> {
        Ok(letterbox.square())
    }

    fn input(&self) -> &[f32] {
        &self.input
    }

    fn write_input(&mut self, write: &mut dyn FnMut(&mut [f32])) -> Result<(), DetectError> {
        self.has_output = false;
        write(&mut self.input);
        Ok(())
    }

    fn run(&mut self) -> Result<(), DetectError> {
        self.has_output = false;
        let failed = |e: ort::Error| DetectError::Inference(format!("onnxruntime: {e}"));
        let input = TensorRef::from_array_view((
            [1usize, 3, INPUT_SIZE, INPUT_SIZE],
            self.input.as_slice(),
        ))
        .map_err(failed)?;
        let outputs = self.session.run(ort::inputs![input]).map_err(failed)?;
        let (_, values) = outputs[0].try_extract_tensor::<f32>().map_err(failed)?;
        if values.len() != self.output.len() {
            return Err(DetectError::Inference(format!(
                "the network gave {} values, expected {}",
                values.len(),
                self.output.len()
            )));
        }
        self.output.copy_from_slice(values);
        self.has_output = true;
        Ok(())
    }

    fn output(&self) -> Option<&[f32]> {
        self.has_output.then_some(self.output.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(candidates: &[LibraryCandidate]) -> Vec<(String, LibrarySource)> {
        candidates
            .iter()
            .map(|c| (c.path.display().to_string(), c.source))
            .collect()
    }

    #[test]
    fn a_configured_path_is_the_only_one_tried_and_python_is_not_asked() {
        let found = candidates(
            Some(Path::new("/opt/ort/libonnxruntime.so")),
            Some("/elsewhere/libonnxruntime.so".into()),
            || panic!("python was asked"),
        );
        assert_eq!(
            paths(&found),
            [(
                "/opt/ort/libonnxruntime.so".to_string(),
                LibrarySource::Configured
            )]
        );
    }

    #[test]
    fn the_variable_comes_next_and_an_empty_one_is_not_set() {
        let found = candidates(None, Some("/env/libonnxruntime.so".into()), || {
            panic!("python was asked")
        });
        assert_eq!(
            paths(&found),
            [(
                "/env/libonnxruntime.so".to_string(),
                LibrarySource::Environment
            )]
        );
        let found = candidates(None, Some(OsString::new()), || None);
        assert!(found.iter().all(|c| c.source == LibrarySource::System));
        assert!(!found.is_empty());
    }

    #[test]
    fn without_a_path_the_wheel_comes_before_the_system_names() {
        let package = tempfile::tempdir().unwrap();
        let capi = package.path().join("capi");
        std::fs::create_dir(&capi).unwrap();
        for name in [
            "libonnxruntime.so.1.32.0",
            "libonnxruntime_providers_shared.so",
            "onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so",
            "__init__.py",
        ] {
            std::fs::write(capi.join(name), b"").unwrap();
        }
        let found = candidates(None, None, || Some(package.path().to_path_buf()));
        assert_eq!(found[0].path, capi.join("libonnxruntime.so.1.32.0"));
        assert_eq!(found[0].source, LibrarySource::PythonWheel);
        assert!(found[1..].iter().all(|c| c.source == LibrarySource::System));
    }

    #[test]
    fn wheel_libraries_are_ordered_newest_first() {
        assert_eq!(
            library_version("libonnxruntime.so.1.32.0"),
            Some(vec![1, 32, 0])
        );
        assert_eq!(library_version("libonnxruntime.so"), Some(vec![]));
        assert_eq!(
            library_version("libonnxruntime.1.17.1.dylib"),
            Some(vec![1, 17, 1])
        );
        assert_eq!(library_version("libonnxruntime_providers_shared.so"), None);
        assert_eq!(library_version("libonnxruntime.so.bak"), None);
        let capi = tempfile::tempdir().unwrap();
        for name in ["libonnxruntime.so.1.9.0", "libonnxruntime.so.1.32.0"] {
            std::fs::write(capi.path().join(name), b"").unwrap();
        }
        let found = wheel_libraries(capi.path());
        assert_eq!(
            found,
            [
                capi.path().join("libonnxruntime.so.1.32.0"),
                capi.path().join("libonnxruntime.so.1.9.0")
            ]
        );
    }

    #[test]
    fn a_configured_library_that_does_not_exist_names_it_and_how_to_get_one() {
        let message = load_library(Some(Path::new("/nonexistent/libonnxruntime.so")))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("/nonexistent/libonnxruntime.so")
                && message.contains("does not exist")
                && message.contains("pip install onnxruntime"),
            "{message}"
        );
    }
}
