//! Configuration: one TOML file, overridden by the environment (and a `.env` file), overridden
//! by command-line flags; validated as a whole at start.
//!
//! [`schema`] lists every setting, [`load`] resolves the layers and collects every error, and
//! [`Config`] is the typed result the rest of the program reads.

pub mod dotenv;
pub mod load;
pub mod schema;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use load::{ConfigError, Inputs, Origin, Resolved};

/// The name of the file read from the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "semaforo.toml";

/// The log level names accepted by `logging.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LoggingConfig {
    pub level: tracing::Level,
    pub dir: PathBuf,
    pub format: LogFormat,
    pub max_file_bytes: u64,
    pub backup_count: usize,
    pub to_console: bool,
    pub to_file: bool,
    pub performance: bool,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone)]
pub struct ResourcesConfig {
    pub memory_limit_mb: u64,
    pub statistics_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct TempConfig {
    pub dir: PathBuf,
    pub prefix: String,
    pub max_age: Duration,
}

#[derive(Debug, Clone)]
pub struct FramesConfig {
    pub save: bool,
    pub save_interval: u64,
    pub max_saved: usize,
    pub dir: PathBuf,
    pub jpeg_quality: u8,
    pub buffer_memory_mb: f64,
    pub min_free_disk_percent: f64,
}

#[derive(Debug, Clone)]
pub struct CamerasConfig {
    /// Camera sources per approach, A then B.
    pub sources: Vec<(String, String)>,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// One camera's detection settings.
#[derive(Debug, Clone)]
pub struct CameraDetection {
    pub approach: String,
    pub detector: semaforo_vision::DetectorKind,
    /// `None`: the synthetic scene's zones, or the whole picture.
    pub zones: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DetectionConfig {
    pub cameras: Vec<CameraDetection>,
    /// `None`: look in the usual places.
    pub model: Option<PathBuf>,
    pub min_score: f32,
    /// What runs the YOLOX network.
    pub runtime: semaforo_vision::detect::yolox::Runtime,
    /// ONNX Runtime's library; `None`: look for it.
    pub onnxruntime_library: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct OrchestratorConfig {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone)]
pub struct SignalConfig {
    pub policy: String,
    pub min_green: Duration,
    pub max_green: Duration,
    pub yellow: Duration,
    pub red_clearance: Duration,
    pub decision_interval: Duration,
}

/// The validated, typed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub logging: LoggingConfig,
    pub resources: ResourcesConfig,
    pub temp: TempConfig,
    pub frames: FramesConfig,
    pub cameras: CamerasConfig,
    pub detection: DetectionConfig,
    /// `None` when `orchestrator.host` is empty: no orchestrator link.
    pub orchestrator: Option<OrchestratorConfig>,
    pub signal: SignalConfig,
    /// Every value with its origin, for `config check` and the start-up log.
    pub resolved: Resolved,
    /// The TOML file that was read, if any.
    pub file: Option<PathBuf>,
}

fn seconds(v: f64) -> Duration {
    Duration::from_secs_f64(v)
}

impl Config {
    /// Resolves and validates; all problems at once.
    pub fn from_inputs(inputs: &Inputs) -> Result<Config, Vec<ConfigError>> {
        let r = load::resolve(inputs)?;
        let level = match r.text("logging.level") {
            "trace" => tracing::Level::TRACE,
            "debug" => tracing::Level::DEBUG,
            "warn" => tracing::Level::WARN,
            "error" => tracing::Level::ERROR,
            _ => tracing::Level::INFO,
        };
        let host = r.text("orchestrator.host").to_string();
        Ok(Config {
            logging: LoggingConfig {
                level,
                dir: PathBuf::from(r.text("logging.dir")),
                format: if r.text("logging.format") == "json" {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                },
                max_file_bytes: (r.float("logging.max_file_size_mb") * 1024.0 * 1024.0) as u64,
                backup_count: r.int("logging.backup_count") as usize,
                to_console: r.bool("logging.to_console"),
                to_file: r.bool("logging.to_file"),
                performance: r.bool("logging.performance"),
                queue_capacity: r.int("logging.queue_capacity") as usize,
            },
            resources: ResourcesConfig {
                memory_limit_mb: r.int("resources.memory_limit_mb") as u64,
                statistics_interval: seconds(r.float("resources.statistics_interval")),
            },
            temp: TempConfig {
                dir: PathBuf::from(r.text("temp.dir")),
                prefix: r.text("temp.prefix").to_string(),
                max_age: seconds(r.float("temp.max_age_hours") * 3600.0),
            },
            frames: FramesConfig {
                save: r.bool("frames.save"),
                save_interval: r.int("frames.save_interval") as u64,
                max_saved: r.int("frames.max_saved") as usize,
                dir: PathBuf::from(r.text("frames.dir")),
                jpeg_quality: r.int("frames.jpeg_quality") as u8,
                buffer_memory_mb: r.float("frames.buffer_memory_mb"),
                min_free_disk_percent: r.float("frames.min_free_disk_percent"),
            },
            cameras: CamerasConfig {
                sources: vec![
                    ("A".to_string(), r.text("cameras.a.source").to_string()),
                    ("B".to_string(), r.text("cameras.b.source").to_string()),
                ],
                width: r.int("cameras.width") as u32,
                height: r.int("cameras.height") as u32,
                fps: r.float("cameras.fps"),
            },
            detection: DetectionConfig {
                cameras: ["a", "b"]
                    .iter()
                    .map(|c| CameraDetection {
                        approach: c.to_ascii_uppercase(),
                        detector: semaforo_vision::DetectorKind::parse(
                            r.text(&format!("cameras.{c}.detector")),
                        )
                        .unwrap_or(semaforo_vision::DetectorKind::Auto),
                        zones: non_empty_path(r.text(&format!("cameras.{c}.zones"))),
                    })
                    .collect(),
                model: non_empty_path(r.text("detection.model")),
                min_score: r.float("detection.min_score") as f32,
                runtime: semaforo_vision::detect::yolox::Runtime::parse(
                    r.text("detection.runtime"),
                )
                .unwrap_or_default(),
                onnxruntime_library: non_empty_path(r.text("detection.onnxruntime_library")),
            },
            orchestrator: (!host.is_empty()).then(|| OrchestratorConfig {
                host,
                port: r.int("orchestrator.port") as u16,
                timeout: seconds(r.float("orchestrator.timeout")),
                queue_capacity: r.int("orchestrator.queue_capacity") as usize,
            }),
            signal: SignalConfig {
                policy: r.text("signal.policy").to_string(),
                min_green: seconds(r.float("signal.min_green")),
                max_green: seconds(r.float("signal.max_green")),
                yellow: seconds(r.float("signal.yellow")),
                red_clearance: seconds(r.float("signal.red_clearance")),
                decision_interval: seconds(r.float("signal.decision_interval")),
            },
            file: inputs.file.as_ref().map(|(p, _)| p.clone()),
            resolved: r,
        })
    }

    /// The effective configuration as TOML-like lines, each value with its origin.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut section = "";
        for (spec, value, origin) in &self.resolved.entries {
            let (table, leaf) = spec.key.rsplit_once('.').unwrap_or(("", spec.key));
            if table != section {
                let _ = writeln!(
                    out,
                    "{}[{table}]",
                    if section.is_empty() { "" } else { "\n" }
                );
                section = table;
            }
            let line = format!("{leaf} = {value}");
            let _ = writeln!(out, "{line:<44} # {origin}");
        }
        out
    }
}

/// Where settings come from, as the command line and working directory say.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config FILE` (or `config check FILE`).
    pub file: Option<PathBuf>,
    /// `--set KEY=VALUE` and named flags, in order: (flag as written, key, value).
    pub flags: Vec<(String, String, String)>,
    /// The directory searched for `semaforo.toml` and `.env`.
    pub workdir: PathBuf,
}

/// Reads the file, `.env` and the process environment that `sources` point at.
///
/// An explicitly named file that cannot be read is an error; a missing `semaforo.toml` in the
/// working directory just means "built-in defaults".
pub fn gather(sources: &Sources) -> Result<Inputs, Vec<ConfigError>> {
    let read = |path: &Path| std::fs::read_to_string(path);
    let file = match &sources.file {
        Some(path) => match read(path) {
            Ok(text) => Some((path.clone(), text)),
            Err(e) => {
                return Err(vec![ConfigError {
                    key: None,
                    origin: Origin::Flag {
                        flag: format!("--config {}", path.display()),
                    },
                    value: None,
                    message: format!("cannot read the configuration file: {e}"),
                }])
            }
        },
        None => {
            let path = sources.workdir.join(DEFAULT_FILE);
            read(&path)
                .ok()
                .map(|text| (PathBuf::from(DEFAULT_FILE), text))
        }
    };
    let dotenv = read(&sources.workdir.join(".env"))
        .ok()
        .map(|text| (PathBuf::from(".env"), text));
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    Ok(Inputs {
        file,
        dotenv,
        env,
        flags: sources.flags.clone(),
    })
}

/// Gathers and validates in one step.
pub fn load(sources: &Sources) -> Result<Config, Vec<ConfigError>> {
    Config::from_inputs(&gather(sources)?)
}

/// A path setting where empty means "not set".
fn non_empty_path(text: &str) -> Option<PathBuf> {
    let t = text.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_configuration_builds_and_describes_every_setting() {
        let config = Config::from_inputs(&Inputs::defaults()).unwrap();
        assert_eq!(config.signal.min_green, Duration::from_secs(10));
        assert_eq!(config.logging.max_file_bytes, 10 * 1024 * 1024);
        assert!(config.orchestrator.is_none());
        let text = config.describe();
        for spec in schema::SETTINGS {
            let leaf = spec.key.rsplit('.').next().unwrap();
            assert!(
                text.contains(&format!("{leaf} = ")),
                "{} missing from\n{text}",
                spec.key
            );
        }
        assert!(text.contains("[signal]"));
    }
}
