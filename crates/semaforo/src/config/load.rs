//! Resolving settings from their four layers: built-in defaults, the TOML file, the
//! environment (a `.env` file fills in variables that are not set), and command-line flags,
//! each overriding the one before.
//!
//! Resolution is a pure function of [`Inputs`] so tests never touch the process environment.
//! Every problem is collected, so one run of `semaforo config check` shows all of them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use semaforo_vision::detect::yolox::Runtime;

use super::dotenv;
use super::schema::{self, Default, Kind, Spec, SETTINGS};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    DotEnv {
        path: PathBuf,
        line: usize,
        var: String,
    },
    Env {
        var: String,
    },
    Flag {
        flag: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File { path, line } => write!(f, "{} line {line}", path.display()),
            Origin::DotEnv { path, line, var } => {
                write!(f, "{} line {line}, {var}", path.display())
            }
            Origin::Env { var } => write!(f, "environment variable {var}"),
            Origin::Flag { flag } => write!(f, "command-line flag {flag}"),
        }
    }
}

/// A resolved setting value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "\"{}\"", redact_credentials(v)),
        }
    }
}

/// One problem with the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The setting (or unknown key) concerned; `None` for a file that cannot be read at all.
    pub key: Option<String>,
    pub origin: Origin,
    /// The offending value as given.
    pub value: Option<String>,
    /// What was expected, or what is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.key, &self.value) {
            (Some(key), Some(value)) => write!(
                f,
                "{key} = {} (from {}): {}",
                redact_credentials(value),
                self.origin,
                self.message
            ),
            (Some(key), None) => write!(f, "{key} (from {}): {}", self.origin, self.message),
            (None, _) => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Everything resolution reads, gathered by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// The TOML file's path and text, if one is used.
    pub file: Option<(PathBuf, String)>,
    /// The `.env` file's path and text, if present.
    pub dotenv: Option<(PathBuf, String)>,
    /// The process environment (only the names in the schema are looked at).
    pub env: HashMap<String, String>,
    /// Command-line overrides in order: (flag as the user wrote it, key, value).
    pub flags: Vec<(String, String, String)>,
}

#[cfg(test)]
impl Inputs {
    /// No file, no environment, no flags: the built-in defaults.
    pub fn defaults() -> Self {
        Inputs {
            file: None,
            dotenv: None,
            env: HashMap::new(),
            flags: Vec::new(),
        }
    }
}

/// A raw value before it is checked against its setting's [`Kind`].
#[derive(Debug, Clone)]
enum Raw {
    /// A typed TOML value.
    Toml(toml_edit::Value),
    /// Text from the environment or a flag.
    Text(String),
}

impl Raw {
    fn shown(&self) -> String {
        match self {
            Raw::Toml(v) => v.to_string().trim().to_string(),
            Raw::Text(t) => format!("\"{t}\""),
        }
    }
}

/// Every setting's value and where it came from, in schema order.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub entries: Vec<(&'static Spec, Value, Origin)>,
    index: BTreeMap<&'static str, usize>,
}

impl Resolved {
    /// The value of `key`. Panics only if `key` is not in the schema (a programming error,
    /// caught by the tests that build a configuration from defaults).
    pub fn value(&self, key: &str) -> &Value {
        match self.index.get(key) {
            Some(&i) => &self.entries[i].1,
            None => panic!("setting {key} is not in the schema"),
        }
    }

    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.index.get(key).map(|&i| &self.entries[i].2)
    }

    pub fn int(&self, key: &str) -> i64 {
        match self.value(key) {
            Value::Int(v) => *v,
            other => panic!("setting {key} is {other:?}, not a whole number"),
        }
    }

    pub fn float(&self, key: &str) -> f64 {
        match self.value(key) {
            Value::Float(v) => *v,
            Value::Int(v) => *v as f64,
            other => panic!("setting {key} is {other:?}, not a number"),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        match self.value(key) {
            Value::Bool(v) => *v,
            other => panic!("setting {key} is {other:?}, not true/false"),
        }
    }

    pub fn text(&self, key: &str) -> &str {
        match self.value(key) {
            Value::Text(v) => v,
            other => panic!("setting {key} is {other:?}, not text"),
        }
    }
}

/// Resolves every setting, or returns every problem found.
pub fn resolve(inputs: &Inputs) -> Result<Resolved, Vec<ConfigError>> {
    let mut errors = Vec::new();
    // key -> (raw, origin); later layers overwrite earlier ones.
    let mut chosen: HashMap<&'static str, (Raw, Origin)> = HashMap::new();

    if let Some((path, text)) = &inputs.file {
        read_toml(path, text, &mut chosen, &mut errors);
    }
    read_environment(inputs, &mut chosen, &mut errors);
    for (flag, key, value) in &inputs.flags {
        match schema::spec(key) {
            Some(spec) => {
                chosen.insert(
                    spec.key,
                    (
                        Raw::Text(value.clone()),
                        Origin::Flag { flag: flag.clone() },
                    ),
                );
            }
            None => errors.push(unknown_key(key, Origin::Flag { flag: flag.clone() })),
        }
    }

    let mut entries = Vec::with_capacity(SETTINGS.len());
    for spec in SETTINGS {
        let (value, origin) = match chosen.remove(spec.key) {
            Some((raw, origin)) => match check(spec, &raw) {
                Ok(value) => (value, origin),
                Err(message) => {
                    errors.push(ConfigError {
                        key: Some(spec.key.to_string()),
                        origin,
                        value: Some(raw.shown()),
                        message,
                    });
                    continue;
                }
            },
            None => (default_value(spec.default), Origin::Default),
        };
        entries.push((spec, value, origin));
    }
    let index = entries
        .iter()
        .enumerate()
        .map(|(i, (spec, _, _))| (spec.key, i))
        .collect();
    let resolved = Resolved { entries, index };
    if errors.is_empty() {
        cross_checks(&resolved, &mut errors);
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

fn unknown_key(key: &str, origin: Origin) -> ConfigError {
    let message = match schema::suggest(key) {
        Some(s) => format!("unknown setting; did you mean {s}?"),
        None => "unknown setting (`semaforo config check` lists them all)".to_string(),
    };
    ConfigError {
        key: Some(key.to_string()),
        origin,
        value: None,
        message,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn read_toml(
    path: &Path,
    text: &str,
    chosen: &mut HashMap<&'static str, (Raw, Origin)>,
    errors: &mut Vec<ConfigError>,
) {
    let doc = match toml_edit::ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let message = e.message().to_string();
            errors.push(ConfigError {
                key: None,
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line,
                },
                value: None,
                message: format!("not valid TOML: {message}"),
            });
            return;
        }
    };
    let mut leaves = Vec::new();
    collect_leaves(doc.as_table(), "", text, &mut leaves);
    for (key, value, line) in leaves {
        let origin = Origin::File {
            path: path.to_path_buf(),
            line,
        };
        match schema::spec(&key) {
            Some(spec) => {
                chosen.insert(spec.key, (Raw::Toml(value), origin));
            }
            None => errors.push(unknown_key(&key, origin)),
        }
    }
}

/// Flattens tables (standard and inline) into dotted keys with the line each value is on.
fn collect_leaves(
    table: &dyn toml_edit::TableLike,
    prefix: &str,
    text: &str,
    out: &mut Vec<(String, toml_edit::Value, usize)>,
) {
    for (name, item) in table.iter() {
        let key = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let span = table
            .key(name)
            .and_then(|k| k.span())
            .or_else(|| item.span());
        let line = span.map(|s| line_of(text, s.start)).unwrap_or(1);
        match item {
            toml_edit::Item::Table(t) => collect_leaves(t, &key, text, out),
            toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                collect_leaves(t, &key, text, out)
            }
            toml_edit::Item::Value(v) => out.push((key, v.clone(), line)),
            toml_edit::Item::ArrayOfTables(_) | toml_edit::Item::None => {
                out.push((key, toml_edit::Value::from("[array of tables]"), line))
            }
        }
    }
}

fn read_environment(
    inputs: &Inputs,
    chosen: &mut HashMap<&'static str, (Raw, Origin)>,
    errors: &mut Vec<ConfigError>,
) {
    let mut from_dotenv: HashMap<String, (String, usize)> = HashMap::new();
    let mut dotenv_path = PathBuf::new();
    if let Some((path, text)) = &inputs.dotenv {
        dotenv_path = path.clone();
        match dotenv::parse(text) {
            Ok(entries) => {
                for e in entries {
                    from_dotenv.insert(e.key, (e.value, e.line));
                }
            }
            Err(bad) => errors.extend(bad.into_iter().map(|e| ConfigError {
                key: None,
                origin: Origin::DotEnv {
                    path: path.clone(),
                    line: e.line,
                    var: String::new(),
                },
                value: None,
                message: format!("{} (in `{}`)", e.reason, e.text),
            })),
        }
    }
    for spec in SETTINGS {
        // Aliases are listed after the preferred name; the preferred name wins. An empty value
        // means "not set" (the original crashed on empty values its own example file showed).
        let found = spec.env.iter().find_map(|&var| {
            if let Some(v) = inputs.env.get(var).filter(|v| !v.trim().is_empty()) {
                return Some((
                    v.clone(),
                    Origin::Env {
                        var: var.to_string(),
                    },
                ));
            }
            if inputs.env.contains_key(var) {
                return None;
            }
            from_dotenv
                .get(var)
                .filter(|(v, _)| !v.trim().is_empty())
                .map(|(v, line)| {
                    let origin = Origin::DotEnv {
                        path: dotenv_path.clone(),
                        line: *line,
                        var: var.to_string(),
                    };
                    (v.clone(), origin)
                })
        });
        if let Some((value, origin)) = found {
            chosen.insert(spec.key, (Raw::Text(value), origin));
        }
    }
}

fn default_value(default: Default) -> Value {
    match default {
        Default::Int(v) => Value::Int(v),
        Default::Float(v) => Value::Float(v),
        Default::Bool(v) => Value::Bool(v),
        Default::Text(v) => Value::Text(v.to_string()),
        Default::SystemTempDir => {
            Value::Text(std::env::temp_dir().join("semaforo").display().to_string())
        }
    }
}

/// Checks one raw value against its setting; the error is "expected …".
fn check(spec: &Spec, raw: &Raw) -> Result<Value, String> {
    let expected = || format!("expected {}", spec.kind.expected());
    match spec.kind {
        Kind::Int { min, max, .. } => {
            let v = match raw {
                Raw::Toml(toml_edit::Value::Integer(i)) => *i.value(),
                Raw::Text(t) => t.trim().parse::<i64>().map_err(|_| expected())?,
                _ => return Err(expected()),
            };
            if (min..=max).contains(&v) {
                Ok(Value::Int(v))
            } else {
                Err(expected())
            }
        }
        Kind::Float { min, max, .. } => {
            let v = match raw {
                Raw::Toml(toml_edit::Value::Integer(i)) => *i.value() as f64,
                Raw::Toml(toml_edit::Value::Float(f)) => *f.value(),
                Raw::Text(t) => t.trim().parse::<f64>().map_err(|_| expected())?,
                _ => return Err(expected()),
            };
            if v.is_finite() && v >= min && v <= max {
                Ok(Value::Float(v))
            } else {
                Err(expected())
            }
        }
        Kind::Bool => match raw {
            Raw::Toml(toml_edit::Value::Boolean(b)) => Ok(Value::Bool(*b.value())),
            Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
                "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
                _ => Err(expected()),
            },
            _ => Err(expected()),
        },
        _ => {
            let text = match raw {
                Raw::Toml(toml_edit::Value::String(s)) => s.value().clone(),
                // A camera index may be written as a bare number in the file.
                Raw::Toml(toml_edit::Value::Integer(i)) if spec.kind == Kind::CameraSource => {
                    i.value().to_string()
                }
                Raw::Text(t) => t.clone(),
                _ => return Err(expected()),
            };
            check_text(spec.kind, text.trim()).map(Value::Text)
        }
    }
}

fn check_text(kind: Kind, text: &str) -> Result<String, String> {
    let expected = || format!("expected {}", kind.expected());
    match kind {
        Kind::Choice(words) => {
            let lower = text.to_ascii_lowercase();
            // Python logging names, as the original's LOG_LEVEL used them.
            let lower = match lower.as_str() {
                "warning" if words.contains(&"warn") => "warn".to_string(),
                "critical" | "fatal" if words.contains(&"error") => "error".to_string(),
                _ => lower,
            };
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(expected())
            }
        }
        Kind::Path if text.is_empty() => Err(expected()),
        Kind::FilePrefix => {
            let ok = !text.is_empty()
                && text.len() <= 64
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                && text != "."
                && text != "..";
            if ok {
                Ok(text.to_string())
            } else {
                Err(expected())
            }
        }
        Kind::CameraSource => {
            check_camera_source(text).map_err(|why| format!("{why}; {}", expected()))
        }
        _ => Ok(text.to_string()),
    }
}

/// Checks the form of a camera source; whether it opens is the camera's business at start.
fn check_camera_source(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("empty source".to_string());
    }
    let lower = text.to_ascii_lowercase();
    if let Some((scheme, rest)) = lower.split_once("://") {
        if !["rtsp", "rtsps", "http", "https"].contains(&scheme) {
            return Err(format!("unknown scheme {scheme}://"));
        }
        let authority = rest.split('/').next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return Err("no host in the URL".to_string());
        }
        return Ok(text.to_string());
    }
    for prefix in ["synthetic:", "testsrc:", "v4l2:", "file:", "dir:"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            if (prefix == "file:" || prefix == "dir:") && rest.is_empty() {
                return Err(format!("{prefix} needs a path"));
            }
            return Ok(text.to_string());
        }
    }
    Ok(text.to_string())
}

/// The device a source opens, if it is a local camera (so two approaches cannot share it).
fn local_device(source: &str) -> Option<String> {
    let s = source.trim();
    let s = s.strip_prefix("v4l2:").unwrap_or(s);
    if let Ok(index) = s.parse::<u32>() {
        return Some(format!("/dev/video{index}"));
    }
    s.starts_with("/dev/video").then(|| s.to_string())
}

fn cross_checks(resolved: &Resolved, errors: &mut Vec<ConfigError>) {
    let min = resolved.float("signal.min_green");
    let max = resolved.float("signal.max_green");
    if min >= max {
        errors.push(ConfigError {
            key: Some("signal.min_green".to_string()),
            origin: resolved
                .origin("signal.min_green")
                .cloned()
                .unwrap_or(Origin::Default),
            value: Some(min.to_string()),
            message: format!(
                "must be less than signal.max_green = {max} (from {})",
                resolved
                    .origin("signal.max_green")
                    .cloned()
                    .unwrap_or(Origin::Default)
            ),
        });
    }
    let runtime = resolved.text("detection.runtime");
    if let Some(runtime) = Runtime::parse(runtime).filter(|r| !r.is_built_in()) {
        errors.push(ConfigError {
            key: Some("detection.runtime".to_string()),
            origin: resolved
                .origin("detection.runtime")
                .cloned()
                .unwrap_or(Origin::Default),
            value: Some(format!("\"{}\"", runtime.name())),
            message: format!(
                "this build of semaforo has no {0} backend: rebuild with `--features {0}` \
                 (e.g. cargo build --release --features {0}), or use tract",
                runtime.name()
            ),
        });
    }
    let (a, b) = (
        resolved.text("cameras.a.source"),
        resolved.text("cameras.b.source"),
    );
    if let (Some(da), Some(db)) = (local_device(a), local_device(b)) {
        if da == db {
            errors.push(ConfigError {
                key: Some("cameras.b.source".to_string()),
                origin: resolved
                    .origin("cameras.b.source")
                    .cloned()
                    .unwrap_or(Origin::Default),
                value: Some(b.to_string()),
                message: format!(
                    "opens {db}, the same device as cameras.a.source = \"{a}\" (from {}); \
                     each approach needs its own camera",
                    resolved
                        .origin("cameras.a.source")
                        .cloned()
                        .unwrap_or(Origin::Default)
                ),
            });
        }
    }
}

/// Hides the password in `scheme://user:password@host/...` so it never reaches a log.
pub fn redact_credentials(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    format!(
        "{}{}:***@{}",
        &text[..scheme_end + 3],
        user,
        &rest[at + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(text: &str) -> Inputs {
        Inputs {
            file: Some((PathBuf::from("semaforo.toml"), text.to_string())),
            ..Inputs::defaults()
        }
    }

    fn errors_of(inputs: &Inputs) -> Vec<String> {
        resolve(inputs)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn defaults_resolve_without_errors() {
        let resolved = resolve(&Inputs::defaults()).unwrap();
        assert_eq!(resolved.entries.len(), SETTINGS.len());
        assert_eq!(resolved.float("signal.min_green"), 10.0);
        assert!(resolved
            .entries
            .iter()
            .all(|(_, _, o)| *o == Origin::Default));
    }

    #[test]
    fn layers_override_in_order_file_env_flag() {
        let mut inputs = with_file("[signal]\nmin_green = 12\nyellow = 4\nred_clearance = 1.5\n");
        inputs.dotenv = Some((PathBuf::from(".env"), "YELLOW_TIME=5\nRED_TIME=3\n".into()));
        inputs.env.insert("YELLOW_TIME".into(), "4.5".into());
        inputs.flags.push((
            "--set signal.min_green=15".into(),
            "signal.min_green".into(),
            "15".into(),
        ));
        let r = resolve(&inputs).unwrap();
        assert_eq!(r.float("signal.min_green"), 15.0);
        assert_eq!(
            r.origin("signal.min_green").unwrap().to_string(),
            "command-line flag --set signal.min_green=15"
        );
        // The real environment wins over .env, .env over the file.
        assert_eq!(r.float("signal.yellow"), 4.5);
        assert_eq!(r.float("signal.red_clearance"), 3.0);
        assert_eq!(
            r.origin("signal.red_clearance").unwrap().to_string(),
            ".env line 2, RED_TIME"
        );
    }

    #[test]
    fn three_bad_values_give_three_errors_naming_key_source_value_and_range() {
        let mut inputs = with_file("[frames]\njpeg_quality = 101\n\n[signal]\nyellow = \"long\"\n");
        inputs.env.insert("MIN_GREEN_TIME".into(), "2".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors.contains(
            &"frames.jpeg_quality = 101 (from semaforo.toml line 2): expected a whole number of percent from 1 to 100"
                .to_string()
        ));
        assert!(errors.contains(
            &"signal.yellow = \"long\" (from semaforo.toml line 5): expected a number of seconds from 1 to 10"
                .to_string()
        ));
        assert!(errors.contains(
            &"signal.min_green = \"2\" (from environment variable MIN_GREEN_TIME): expected a number of seconds from 5 to 300"
                .to_string()
        ));
    }

    #[test]
    fn unknown_keys_suggest_the_nearest_known_one() {
        let errors = errors_of(&with_file(
            "[logging]\nlevle = \"debug\"\n[signal]\nmin_gren = 12\n",
        ));
        assert_eq!(
            errors,
            vec![
                "logging.levle (from semaforo.toml line 2): unknown setting; did you mean logging.level?",
                "signal.min_gren (from semaforo.toml line 4): unknown setting; did you mean signal.min_green?",
            ]
        );
    }

    #[test]
    fn inline_tables_and_dotted_keys_are_read() {
        let r = resolve(&with_file(
            "cameras = { a = { source = \"testsrc:\" } }\nsignal.yellow = 4\n",
        ))
        .unwrap();
        assert_eq!(r.text("cameras.a.source"), "testsrc:");
        assert_eq!(r.float("signal.yellow"), 4.0);
    }

    #[test]
    fn toml_syntax_error_names_the_line() {
        let errors = errors_of(&with_file("[signal]\nyellow = = 3\n"));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("semaforo.toml line 2: not valid TOML"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn empty_environment_values_mean_default() {
        let mut inputs = Inputs::defaults();
        inputs.env.insert("MIN_GREEN_TIME".into(), "".into());
        inputs.dotenv = Some((PathBuf::from(".env"), "MIN_GREEN_TIME=20\n".into()));
        let r = resolve(&inputs).unwrap();
        // Set-but-empty in the environment still blocks .env, as "already set" should.
        assert_eq!(r.float("signal.min_green"), 10.0);
    }

    #[test]
    fn min_green_must_be_below_max_green() {
        let mut inputs = Inputs::defaults();
        inputs.env.insert("MIN_GREEN_TIME".into(), "60".into());
        inputs.env.insert("MAX_GREEN_TIME".into(), "30".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors, vec![
            "signal.min_green = 60 (from environment variable MIN_GREEN_TIME): must be less than signal.max_green = 30 (from environment variable MAX_GREEN_TIME)"
        ]);
    }

    #[test]
    fn camera_sources_are_checked_and_shared_devices_refused() {
        let mut inputs = Inputs::defaults();
        inputs.env.insert("CAMERA_A_INDEX".into(), "0".into());
        inputs
            .env
            .insert("CAMERA_B_SOURCE".into(), "v4l2:/dev/video0".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("the same device as cameras.a.source"),
            "{}",
            errors[0]
        );

        let mut inputs = Inputs::defaults();
        inputs
            .env
            .insert("CAMERA_A_SOURCE".into(), "ftp://cam/1".into());
        let errors = errors_of(&inputs);
        assert!(errors[0].contains("unknown scheme ftp://"), "{}", errors[0]);
    }

    #[test]
    fn credentials_never_appear_in_messages() {
        assert_eq!(
            redact_credentials("rtsp://admin:s3cret@10.0.0.5:554/h264"),
            "rtsp://admin:***@10.0.0.5:554/h264"
        );
        assert_eq!(redact_credentials("rtsp://cam/h264"), "rtsp://cam/h264");
        let mut inputs = Inputs::defaults();
        inputs.env.insert(
            "CAMERA_A_SOURCE".into(),
            "rtsp://admin:s3cret@:554/x".into(),
        );
        let errors = errors_of(&inputs);
        assert!(!errors[0].contains("s3cret"), "{}", errors[0]);
    }

    #[test]
    fn the_onnxruntime_runtime_needs_a_build_with_its_feature() {
        let inputs = with_file("[detection]\nruntime = \"onnxruntime\"\n");
        if Runtime::OnnxRuntime.is_built_in() {
            let resolved = resolve(&inputs).unwrap();
            assert_eq!(resolved.text("detection.runtime"), "onnxruntime");
        } else {
            let errors = errors_of(&inputs);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].contains("detection.runtime = \"onnxruntime\"")
                    && errors[0].contains("semaforo.toml line 2")
                    && errors[0].contains("--features onnxruntime"),
                "{errors:?}"
            );
        }
        let errors = errors_of(&with_file("[detection]\nruntime = \"cuda\"\n"));
        assert!(
            errors[0].contains("one of tract, onnxruntime"),
            "{errors:?}"
        );
    }

    #[test]
    fn python_level_names_are_accepted() {
        let mut inputs = Inputs::defaults();
        inputs.env.insert("LOG_LEVEL".into(), "WARNING".into());
        assert_eq!(resolve(&inputs).unwrap().text("logging.level"), "warn");
    }
}
