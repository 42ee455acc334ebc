//! Configuration: one TOML file, overridden by the environment (and a `.env` file), overridden
//! by command-line flags; validated as a whole at start.
//!
//! [`schema`] lists every setting, [`load`] resolves the layers and checks each value,
//! [`Config`] is the typed result the rest of the program reads (read with serde from the
//! checked settings, so every enumeration is parsed once, here), and [`checks`] holds the rules
//! across settings. Every problem of every stage is reported at once.

mod checks;
pub mod dotenv;
pub mod layout;
pub mod load;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use semaforo_signal::policy::{Actuated, Compare, MaxPressure};
use semaforo_signal::{BuiltinPolicy, GroupTimings, Intersection, PolicyKind, Timings};
use semaforo_vision::detect::yolox::Runtime;
use semaforo_vision::DetectorKind;

pub use layout::{Layout, LayoutSource};
pub use load::{ConfigError, Inputs, Origin, Settings};

/// The most cameras a box runs (each is a thread with its own detector).
pub const MAX_CAMERAS: usize = 8;

/// The name of the file read from the working directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "semaforo.toml";

/// How log file lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    #[serde(deserialize_with = "log_level")]
    pub level: tracing::Level,
    pub dir: PathBuf,
    pub format: LogFormat,
    #[serde(rename = "max_file_size_mb", deserialize_with = "megabytes")]
    pub max_file_bytes: u64,
    pub backup_count: usize,
    pub to_console: bool,
    pub to_file: bool,
    pub performance: bool,
    pub queue_capacity: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesConfig {
    pub memory_limit_mb: u64,
    #[serde(deserialize_with = "seconds")]
    pub statistics_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempConfig {
    pub dir: PathBuf,
    pub prefix: String,
    #[serde(rename = "max_age_hours", deserialize_with = "hours")]
    pub max_age: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramesConfig {
    pub save: bool,
    pub save_interval: u64,
    pub max_saved: usize,
    /// Draw zones, boxes and counts on saved frames.
    pub annotate: bool,
    pub dir: PathBuf,
    pub jpeg_quality: u8,
    pub buffer_memory_mb: f64,
    pub min_free_disk_percent: f64,
}

/// One camera: `[cameras.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// What it watches (a URI or path, see `semaforo_vision::Source`).
    pub source: String,
    /// `None`: the synthetic scene's zones, or the whole picture.
    #[serde(deserialize_with = "optional_path")]
    pub zones: Option<PathBuf>,
    #[serde(deserialize_with = "detector_kind")]
    pub detector: DetectorKind,
    /// Network runs a second for this camera; `None`: `detection.rate`.
    #[serde(default)]
    pub detection_rate: Option<f64>,
}

impl CameraConfig {
    /// How often this camera's network runs: its own `detection_rate`, else `detection.rate`.
    pub fn network_rate(&self, detection: &DetectionConfig) -> f64 {
        self.detection_rate.unwrap_or(detection.rate)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CamerasConfig {
    /// The cameras by name (`a`, `b`, ...), in name order.
    #[serde(flatten)]
    pub cameras: BTreeMap<String, CameraConfig>,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Without a good frame for this long a camera counts as failed (and is reopened).
    #[serde(deserialize_with = "seconds")]
    pub stale_after: Duration,
    /// No camera was configured for a layout other than the original's: these are synthetic
    /// cameras, one per signal group, named after it.
    #[serde(skip)]
    pub generated: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    /// `None`: look in the usual places.
    #[serde(deserialize_with = "optional_path")]
    pub model: Option<PathBuf>,
    pub min_score: f32,
    /// Network runs a second per camera (the tracker carries the frames between).
    pub rate: f64,
    /// Where the background models are kept across restarts; `None`: they are not.
    #[serde(deserialize_with = "optional_path")]
    pub state_dir: Option<PathBuf>,
    /// A detector slower than this (median) is replaced by the background model.
    #[serde(deserialize_with = "seconds")]
    pub max_latency: Duration,
    /// `auto` runs the background model beside the network.
    pub background_beside: bool,
    /// What runs the YOLOX network.
    #[serde(deserialize_with = "runtime")]
    pub runtime: Runtime,
    /// ONNX Runtime's library; `None`: look for it.
    #[serde(deserialize_with = "optional_path")]
    pub onnxruntime_library: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// `None` when `orchestrator.host` is empty: no TCP orchestrator link.
    #[serde(deserialize_with = "optional_text")]
    pub host: Option<String>,
    pub port: u16,
    #[serde(deserialize_with = "seconds")]
    pub timeout: Duration,
    #[serde(deserialize_with = "seconds")]
    pub heartbeat: Duration,
    /// A WebSocket orchestrator (`ws://`, `wss://`); `None` when empty.
    #[serde(deserialize_with = "optional_text")]
    pub url: Option<String>,
    #[serde(deserialize_with = "optional_path")]
    pub ca_file: Option<PathBuf>,
}

/// The durable outbox: `[outbox]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub path: PathBuf,
    pub max_messages: u64,
    #[serde(rename = "max_mb", deserialize_with = "megabytes")]
    pub max_bytes: u64,
}

/// The MQTT broker link: `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `None` when empty: no MQTT.
    #[serde(deserialize_with = "optional_text")]
    pub host: Option<String>,
    pub port: u16,
    /// `3.1.1` or `5`.
    pub protocol: String,
    #[serde(deserialize_with = "optional_text")]
    pub username: Option<String>,
    /// `None` when empty.
    #[serde(deserialize_with = "secret")]
    pub password: Option<Secret>,
    pub topic_prefix: String,
    #[serde(deserialize_with = "optional_text")]
    pub client_id: Option<String>,
    pub tls: bool,
    #[serde(deserialize_with = "optional_path")]
    pub ca_file: Option<PathBuf>,
    #[serde(deserialize_with = "optional_path")]
    pub client_cert: Option<PathBuf>,
    #[serde(deserialize_with = "optional_path")]
    pub client_key: Option<PathBuf>,
    pub home_assistant: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalConfig {
    #[serde(deserialize_with = "policy")]
    pub policy: PolicyKind,
    #[serde(deserialize_with = "seconds")]
    pub min_green: Duration,
    #[serde(deserialize_with = "seconds")]
    pub max_green: Duration,
    #[serde(deserialize_with = "seconds")]
    pub yellow: Duration,
    #[serde(deserialize_with = "seconds")]
    pub red_clearance: Duration,
    #[serde(deserialize_with = "seconds")]
    pub decision_interval: Duration,
    #[serde(deserialize_with = "seconds")]
    pub passage: Duration,
    #[serde(deserialize_with = "seconds")]
    pub actuated_time_before_reduction: Duration,
    #[serde(deserialize_with = "seconds")]
    pub actuated_time_to_reduce: Duration,
    #[serde(deserialize_with = "seconds")]
    pub actuated_minimum_gap: Duration,
    pub compare_margin: u32,
    pub max_pressure_ratio: f64,
    pub max_pressure_margin: u32,
    #[serde(deserialize_with = "seconds")]
    pub max_pressure_empty_gap: Duration,
    /// Zero: the stall gap-out is off.
    #[serde(deserialize_with = "seconds")]
    pub max_pressure_stall_gap: Duration,
}

impl SignalConfig {
    /// The interval lengths every group is timed with.
    pub fn timings(&self) -> Timings {
        Timings {
            min_green: self.min_green,
            max_green: self.max_green,
            passage: self.passage,
            yellow: self.yellow,
            red_clearance: self.red_clearance,
        }
    }

    /// `actuated` with the configured gap reduction.
    pub fn actuated(&self) -> Actuated {
        Actuated {
            time_before_reduction: self.actuated_time_before_reduction,
            time_to_reduce: self.actuated_time_to_reduce,
            minimum_gap: self.actuated_minimum_gap,
        }
    }

    /// `compare` with the configured margin.
    pub fn compare(&self) -> Compare {
        Compare {
            margin: self.compare_margin,
        }
    }

    /// `max-pressure` with the configured parameters.
    pub fn max_pressure(&self) -> MaxPressure {
        MaxPressure {
            ratio: self.max_pressure_ratio,
            margin: self.max_pressure_margin,
            empty_gap: self.max_pressure_empty_gap,
            stall_gap: (!self.max_pressure_stall_gap.is_zero())
                .then_some(self.max_pressure_stall_gap),
        }
    }

    /// The configured policy with its configured parameters, for `intersection` timed by
    /// `timings`.
    pub fn policy(&self, intersection: &Intersection, timings: &GroupTimings) -> BuiltinPolicy {
        match self.policy {
            PolicyKind::Actuated => BuiltinPolicy::Actuated(self.actuated()),
            PolicyKind::Compare => BuiltinPolicy::Compare(self.compare()),
            PolicyKind::MaxPressure => BuiltinPolicy::MaxPressure(self.max_pressure()),
            kind => BuiltinPolicy::new(kind, intersection, timings),
        }
    }
}

/// The intersection this box controls: `[intersection]`'s single values (its groups, phases,
/// conflicts and per-group timings are read into [`Config::layout`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntersectionConfig {
    /// Its name in messages.
    pub id: String,
    /// The built-in layout's name, when neither groups nor a SUMO light is given.
    pub builtin: String,
    /// `PATH.net.xml#TLS`; `None` when empty.
    #[serde(deserialize_with = "optional_text")]
    pub from_sumo: Option<String>,
}

/// A secret setting's text. Its `Debug` and `Display` show `***`, so it cannot reach a log or
/// an error by accident; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The HTTP API, metrics and dashboard: `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `None` when `http.addr = "off"`.
    #[serde(deserialize_with = "listen_address")]
    pub addr: Option<std::net::SocketAddr>,
    /// `None` when empty: no token asked for (loopback only, see `checks`).
    #[serde(deserialize_with = "secret")]
    pub token: Option<Secret>,
}

/// `HOST:PORT` with an IP address or `localhost` (taken as 127.0.0.1: a name that resolves to
/// several addresses would make "loopback only" a guess).
pub fn parse_listen_address(text: &str) -> Option<std::net::SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Some(addr);
    }
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    host.eq_ignore_ascii_case("localhost")
        .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The validated, typed configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub logging: LoggingConfig,
    pub resources: ResourcesConfig,
    pub temp: TempConfig,
    pub frames: FramesConfig,
    pub cameras: CamerasConfig,
    pub detection: DetectionConfig,
    pub orchestrator: OrchestratorConfig,
    pub outbox: OutboxConfig,
    pub mqtt: MqttConfig,
    pub intersection: IntersectionConfig,
    pub signal: SignalConfig,
    pub http: HttpConfig,
    /// The intersection's groups, phases, conflicts and per-group timings.
    #[serde(skip, default = "default_layout")]
    pub layout: Layout,
    /// The signal groups each camera watches, by camera name.
    #[serde(skip)]
    pub watches: BTreeMap<String, Vec<String>>,
    /// Every value with its origin, for `config check` and the start-up log.
    #[serde(skip)]
    pub settings: Settings,
    /// The TOML file that was read, if any.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl Config {
    /// Resolves and validates; all problems at once, those of single values and those across
    /// settings alike.
    pub fn from_inputs(inputs: &Inputs) -> Result<Config, Vec<ConfigError>> {
        let (settings, mut errors) = load::resolve(inputs);
        let mut config = match Config::deserialize(settings.to_document()) {
            Ok(config) => config,
            Err(e) => {
                // Every value was checked against its setting, so this is a setting whose
                // check and type disagree: a fault of semaforo's, reported as plainly.
                errors.push(ConfigError {
                    key: None,
                    origin: Origin::Default,
                    value: None,
                    message: format!("the checked settings do not make a configuration: {e}"),
                });
                return Err(errors);
            }
        };
        let file = inputs.file.as_ref().map(|(p, _)| p.as_path());
        let layout = layout::build(&config, &settings, file, &mut errors);
        if let Some(layout) = &layout {
            config.cameras.generated = choose_cameras(&mut config.cameras, layout, &settings);
        }
        config.watches = layout::watched_groups(
            &config.cameras.cameras,
            layout.as_ref(),
            &settings,
            &mut errors,
        );
        if let Some(layout) = layout {
            config.layout = layout;
        }
        checks::across_settings(&config, &settings, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        config.settings = settings;
        config.file = inputs.file.as_ref().map(|(p, _)| p.clone());
        Ok(config)
    }

    /// The signal groups no camera watches (served on recall).
    pub fn unwatched_groups(&self) -> Vec<String> {
        self.layout
            .group_names()
            .into_iter()
            .filter(|g| !self.watches.values().any(|w| w.contains(g)))
            .collect()
    }

    /// Where the value of `key` came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.settings.origin(key)
    }

    /// The effective configuration as TOML-like lines, each value with its origin.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut section = "";
        for setting in self.settings.iter() {
            let (table, leaf) = setting.key.rsplit_once('.').unwrap_or(("", &setting.key));
            if table != section {
                let _ = writeln!(
                    out,
                    "{}[{table}]",
                    if section.is_empty() { "" } else { "\n" }
                );
                section = table;
            }
            let line = format!("{leaf} = {}", setting.value);
            let _ = writeln!(out, "{line:<44} # {}", setting.origin);
        }
        let _ = writeln!(
            out,
            "\n[intersection] # its layout\n{}",
            self.layout.describe()
        );
        for (camera, groups) in &self.watches {
            let _ = writeln!(out, "# camera {camera} watches {}", groups.join(", "));
        }
        out
    }
}

fn default_layout() -> Layout {
    Layout::two_approach(Timings::default())
}

/// The cameras a layout other than the original's runs with: the ones configured (cameras
/// `a` and `b` only when something of theirs is set), else one synthetic camera per signal
/// group, named after it. Returns whether the cameras were generated.
fn choose_cameras(cameras: &mut CamerasConfig, layout: &Layout, settings: &Settings) -> bool {
    if layout.is_two_approach() {
        return false;
    }
    let configured = |name: &str| {
        settings
            .iter()
            .any(|s| s.key.starts_with(&format!("cameras.{name}.")) && s.origin != Origin::Default)
    };
    cameras
        .cameras
        .retain(|name, _| !schema::DEFAULT_CAMERAS.contains(&name.as_str()) || configured(name));
    if !cameras.cameras.is_empty() {
        return false;
    }
    for group in layout.group_names() {
        cameras.cameras.insert(
            group,
            CameraConfig {
                source: "synthetic:".into(),
                zones: None,
                detector: DetectorKind::Auto,
                detection_rate: None,
            },
        );
    }
    true
}

// How settings are read into their types. The values were checked against their settings
// already (range, choice), so these only convert.

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = f64::deserialize(d)?;
    Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
}

fn hours<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = f64::deserialize(d)?;
    Duration::try_from_secs_f64(v * 3600.0).map_err(serde::de::Error::custom)
}

fn megabytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok((f64::deserialize(d)? * 1024.0 * 1024.0) as u64)
}

fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    Ok(optional_text(d)?.map(PathBuf::from))
}

fn listen_address<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    parse_listen_address(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("not HOST:PORT"))
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(optional_text(d)?.map(Secret))
}

fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<tracing::Level, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn detector_kind<'de, D: Deserializer<'de>>(d: D) -> Result<DetectorKind, D::Error> {
    let name = String::deserialize(d)?;
    DetectorKind::parse(&name).ok_or_else(|| {
        serde::de::Error::custom(format!("{name}: expected {}", DetectorKind::NAMES))
    })
}

fn runtime<'de, D: Deserializer<'de>>(d: D) -> Result<Runtime, D::Error> {
    let name = String::deserialize(d)?;
    Runtime::parse(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("{name}: not a YOLOX runtime")))
}

fn policy<'de, D: Deserializer<'de>>(d: D) -> Result<PolicyKind, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_configuration_builds_and_describes_every_setting() {
        let config = Config::from_inputs(&Inputs::defaults()).unwrap();
        assert_eq!(config.signal.min_green, Duration::from_secs(10));
        assert_eq!(config.logging.max_file_bytes, 10 * 1024 * 1024);
        assert_eq!(config.orchestrator.host, None);
        assert_eq!(
            config.cameras.cameras.keys().collect::<Vec<_>>(),
            ["a", "b"],
            "the original's two cameras"
        );
        let text = config.describe();
        // A camera's own detection_rate is shown where given; else detection.rate is its.
        let given_only = |spec: &&schema::Spec| spec.is_per_camera() && spec.is_given_only();
        for spec in schema::SETTINGS.iter().filter(|s| !given_only(s)) {
            let leaf = spec.key.rsplit('.').next().unwrap();
            assert!(
                text.contains(&format!("{leaf} = ")),
                "{} missing from\n{text}",
                spec.key
            );
        }
        for section in ["[signal]", "[cameras.a]", "[cameras.b]", "[cameras]"] {
            assert_eq!(text.matches(section).count(), 1, "{section} in\n{text}");
        }
    }

    #[test]
    fn enumerations_are_read_once_into_their_types() {
        let dir = tempfile::tempdir().unwrap();
        let zones = dir.path().join("z.toml");
        std::fs::write(
            &zones,
            "[[zone]]\nname = \"b-queue\"\napproach = \"B\"\nrole = \"queue\"\n\
             points = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]\n",
        )
        .unwrap();
        let mut inputs = Inputs::defaults();
        inputs.file = Some((
            PathBuf::from("semaforo.toml"),
            format!(
                "[signal]\npolicy = \"max-pressure\"\n[cameras.b]\ndetector = \"yolox\"\n\
                 zones = \"{}\"\n[logging]\nlevel = \"WARNING\"\nformat = \"json\"\n",
                zones.display()
            ),
        ));
        let config = Config::from_inputs(&inputs).unwrap();
        assert_eq!(config.signal.policy.to_string(), "max-pressure");
        let b = &config.cameras.cameras["b"];
        assert_eq!(b.detector, DetectorKind::Yolox);
        assert_eq!(b.zones.as_deref(), Some(zones.as_path()));
        assert_eq!(config.watches["b"], ["B"]);
        assert_eq!(config.cameras.cameras["a"].zones, None);
        assert_eq!(config.logging.level, tracing::Level::WARN);
        assert_eq!(config.logging.format, LogFormat::Json);
    }

    #[test]
    fn a_public_http_address_needs_a_token_that_is_never_shown() {
        let with = |pairs: &[(&str, &str)]| {
            let mut inputs = Inputs::defaults();
            for (key, value) in pairs {
                inputs.flags.push((
                    format!("--set {key}={value}"),
                    key.to_string(),
                    value.to_string(),
                ));
            }
            Config::from_inputs(&inputs)
        };
        let config = with(&[]).unwrap();
        assert_eq!(config.http.addr, "127.0.0.1:8080".parse().ok());
        assert!(config.http.token.is_none());
        assert_eq!(with(&[("http.addr", "OFF")]).unwrap().http.addr, None);
        assert_eq!(
            with(&[("http.addr", "localhost:9")]).unwrap().http.addr,
            "127.0.0.1:9".parse().ok()
        );
        let errors = with(&[("http.addr", "[::]:8080")]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .to_string()
                .starts_with("http.addr = \"[::]:8080\""),
            "{}",
            errors[0]
        );
        let errors = with(&[("http.addr", "board.local:80")]).unwrap_err();
        assert!(errors[0].message.contains("HOST:PORT"), "{errors:?}");
        let token = "0123456789abcdef-secret";
        let config = with(&[("http.addr", "0.0.0.0:80"), ("http.token", token)]).unwrap();
        assert_eq!(config.http.token.as_ref().map(Secret::expose), Some(token));
        let shown = format!("{}{config:?}", config.describe());
        assert!(
            shown.contains("token = ***") && !shown.contains(token),
            "{shown}"
        );
        let errors = with(&[("http.token", "0123 456789abcdef")]).unwrap_err();
        let shown = errors[0].to_string();
        assert!(
            shown.contains("*** (hidden)") && !shown.contains("456789"),
            "{shown}"
        );
    }

    #[test]
    fn every_choice_of_the_schema_reads_into_its_type() {
        for spec in schema::SETTINGS {
            let schema::Kind::Choice(words) = spec.kind else {
                continue;
            };
            for word in words {
                let mut inputs = Inputs::defaults();
                let key = spec.key_for("a");
                inputs
                    .flags
                    .push((format!("--set {key}={word}"), key.clone(), word.to_string()));
                let built = Config::from_inputs(&inputs);
                // The onnxruntime runtime is refused by a build without its feature, and
                // says so; every other word must read.
                if let Err(errors) = built {
                    assert!(
                        *word == "onnxruntime" && !Runtime::OnnxRuntime.is_built_in(),
                        "{key} = {word}: {errors:?}"
                    );
                }
            }
        }
    }
}
