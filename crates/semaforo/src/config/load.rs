//! Resolving settings from their four layers: built-in defaults, the TOML file, the
//! environment (a `.env` file fills in variables that are not set), and command-line flags,
//! each overriding the one before; then checking each value against its setting.
//!
//! Resolution is a pure function of [`Inputs`] so tests never touch the process environment.
//! Every problem is collected, so one run of `semaforo config check` shows all of them. A value
//! that fails its check is reported and replaced by its default, so that the typed
//! configuration can still be built and checked as a whole in the same round
//! ([`super::checks`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use semaforo_camera::redact;

use super::dotenv;
use super::layout::{self, LayoutInput};
use super::schema::{self, Default, Kind, Owner, Spec, DEFAULT_CAMERAS, GROUP_TIMINGS, SETTINGS};

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

/// A checked setting value.
#[derive(Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// A [`Kind::Secret`]'s text: shown as `***` (`Debug` too), never as itself.
    Secret(super::Secret),
}

/// How a secret's value is shown: `***` when set, `""` when empty (none).
fn hidden(secret: &str) -> &'static str {
    if secret.is_empty() {
        "\"\""
    } else {
        "***"
    }
}

impl Value {
    fn to_toml(&self) -> toml::Value {
        match self {
            Value::Int(v) => toml::Value::Integer(*v),
            Value::Float(v) => toml::Value::Float(*v),
            Value::Bool(v) => toml::Value::Boolean(*v),
            Value::Text(v) => toml::Value::String(v.clone()),
            Value::Secret(v) => toml::Value::String(v.expose().to_string()),
        }
    }
}

impl fmt::Debug for Value {
    /// As `Display`: a secret is never shown, even in a debug print of the configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "\"{}\"", redact(v)),
            Value::Secret(v) => f.write_str(hidden(v.expose())),
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
                redact(value),
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
    /// The value as an error shows it: a secret's never.
    fn shown_as(&self, kind: Kind) -> String {
        if kind.is_secret() {
            return "*** (hidden)".to_string();
        }
        self.shown()
    }

    fn shown(&self) -> String {
        match self {
            Raw::Toml(v) => v.to_string().trim().to_string(),
            Raw::Text(t) => format!("\"{t}\""),
        }
    }
}

/// One setting's checked value and where it came from.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key, with the camera's name for per-camera settings (`cameras.a.source`).
    pub key: String,
    pub value: Value,
    pub origin: Origin,
}

/// Every setting's value and origin, in schema order (per-camera settings camera by camera).
#[derive(Debug, Clone, std::default::Default)]
pub struct Settings {
    entries: Vec<Setting>,
    /// Keys whose given value was refused (their default stands in), so that the checks
    /// across settings do not report a second problem about the same value.
    refused: BTreeSet<String>,
    /// `[intersection]`'s groups, phases and conflicts as the file gives them.
    pub layout: LayoutInput,
}

impl Settings {
    /// The settings in order.
    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.entries.iter()
    }

    /// Where the value of `key` came from; `None` for a key that is not a setting.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries
            .iter()
            .find(|s| s.key == key)
            .map(|s| &s.origin)
    }

    /// The origin of `key`, or [`Origin::Default`] for a key that is not a setting.
    pub fn origin_or_default(&self, key: &str) -> Origin {
        self.origin(key).cloned().unwrap_or(Origin::Default)
    }

    /// Whether the value given for `key` was refused (and an error already says so).
    pub fn is_refused(&self, key: &str) -> bool {
        self.refused.contains(key)
    }

    /// The settings as one TOML table (`[signal] min_green = 10`, `[cameras.a] source = …`),
    /// the document the typed configuration is read from.
    pub fn to_document(&self) -> toml::Table {
        let mut root = toml::Table::new();
        // Camera names are checked when read (never `width` or `a.b`), so a leaf never sits
        // where a table is; were one to, the later key would be left out.
        'settings: for setting in &self.entries {
            // Per-group timings are read from the settings themselves (a group's name may
            // hold a dot, which would split its table here).
            if setting.key.starts_with(GROUP_TIMINGS) {
                continue;
            }
            let mut table = &mut root;
            let mut parts: Vec<&str> = setting.key.split('.').collect();
            let leaf = parts.pop().unwrap_or_default();
            for part in parts {
                let entry = table
                    .entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => table = t,
                    _ => continue 'settings,
                }
            }
            table.insert(leaf.to_string(), setting.value.to_toml());
        }
        root
    }
}

/// Resolves every setting. Returns the settings (a refused value replaced by its default) and
/// every problem found; the caller decides whether there were any.
pub fn resolve(inputs: &Inputs) -> (Settings, Vec<ConfigError>) {
    let mut errors = Vec::new();
    // key -> (raw, origin); later layers overwrite earlier ones.
    let mut chosen: HashMap<String, (Raw, Origin)> = HashMap::new();
    let mut cameras: Vec<String> = DEFAULT_CAMERAS.iter().map(|c| c.to_string()).collect();

    let mut layout = LayoutInput::default();
    let file = match &inputs.file {
        Some((path, text)) => read_toml(path, text, &mut layout, &mut errors),
        None => Vec::new(),
    };
    let flags = inputs
        .flags
        .iter()
        .map(|(flag, key, value)| {
            // `--set http.token=...` as written would show the secret wherever the origin is.
            let secret = schema::spec(key).is_some_and(|(spec, _)| spec.kind.is_secret());
            let flag = if secret && !value.is_empty() {
                flag.replace(value.as_str(), "***")
            } else {
                flag.clone()
            };
            let origin = Origin::Flag { flag };
            (key.clone(), Raw::Text(value.clone()), origin)
        })
        .collect();
    // The file's and the flags' keys name the cameras; the environment then sets values of
    // those cameras (`CAMERA_A_SOURCE`).
    let file = known_settings(file, &mut cameras, &mut errors);
    let flags = known_settings(flags, &mut cameras, &mut errors);
    chosen.extend(file);
    read_environment(inputs, &cameras, &mut chosen, &mut errors);
    chosen.extend(flags);

    let mut settings = Settings::default();
    for (spec, _, key) in instances(&cameras) {
        let (value, origin) = match chosen.remove(&key) {
            Some((raw, origin)) => match check(spec, &raw) {
                Ok(value) => (value, origin),
                Err(message) => {
                    errors.push(ConfigError {
                        key: Some(key.clone()),
                        origin: origin.clone(),
                        value: Some(raw.shown_as(spec.kind)),
                        message,
                    });
                    settings.refused.insert(key.clone());
                    if spec.is_given_only() {
                        continue;
                    }
                    (default_value(spec.default), origin)
                }
            },
            // A per-camera setting that defaults to another one exists only where given.
            None if spec.is_given_only() => continue,
            None => (default_value(spec.default), Origin::Default),
        };
        settings.entries.push(Setting { key, value, origin });
    }
    // Per-group timings exist only for the groups the configuration names, group by group.
    let mut per_group: Vec<(String, (Raw, Origin))> = chosen.into_iter().collect();
    per_group.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, (raw, origin)) in per_group {
        let Some((spec, Some(Owner::Group(_)))) = schema::spec(&key) else {
            continue;
        };
        match check(spec, &raw) {
            Ok(value) => settings.entries.push(Setting { key, value, origin }),
            Err(message) => {
                errors.push(ConfigError {
                    key: Some(key.clone()),
                    origin,
                    value: Some(raw.shown()),
                    message,
                });
                settings.refused.insert(key);
            }
        }
    }
    settings.layout = layout;
    (settings, errors)
}

/// Every setting with its key, in schema order, the per-camera settings camera by camera
/// where the first of them stands in the schema.
/// Each comes with its camera's name (empty for the others).
fn instances(cameras: &[String]) -> Vec<(&'static Spec, &str, String)> {
    let per_camera = || SETTINGS.iter().filter(|s| s.is_per_camera());
    let mut out = Vec::new();
    for spec in SETTINGS {
        if spec.is_per_group() || spec.is_layout() {
            continue;
        }
        if !spec.is_per_camera() {
            out.push((spec, "", spec.key.to_string()));
        } else if per_camera()
            .next()
            .is_some_and(|first| first.key == spec.key)
        {
            for camera in cameras {
                out.extend(per_camera().map(|s| (s, camera.as_str(), s.key_for(camera))));
            }
        }
    }
    out
}

/// The given values whose keys are settings, as `(key, (value, origin))`; the others are
/// reported. A per-camera key adds its camera to `cameras`.
fn known_settings(
    given: Vec<(String, Raw, Origin)>,
    cameras: &mut Vec<String>,
    errors: &mut Vec<ConfigError>,
) -> Vec<(String, (Raw, Origin))> {
    let mut known = Vec::new();
    for (key, raw, origin) in given {
        match schema::spec(&key) {
            Some((spec, _)) if spec.is_layout() => errors.push(ConfigError {
                key: Some(key.clone()),
                origin,
                value: None,
                message: "part of the intersection's layout, which is set in the configuration \
                          file only ([intersection] groups, [[intersection.phases]], conflicts)"
                    .to_string(),
            }),
            Some((_, Some(Owner::Group(_)))) => known.push((key, (raw, origin))),
            Some((_, Some(Owner::Camera(camera)))) => {
                if let Err(message) = check_camera_name(camera) {
                    errors.push(ConfigError {
                        key: Some(key.clone()),
                        origin,
                        value: None,
                        message,
                    });
                    continue;
                }
                if !cameras.iter().any(|c| c == camera) {
                    cameras.push(camera.to_string());
                }
                known.push((key, (raw, origin)));
            }
            Some((_, None)) => known.push((key, (raw, origin))),
            None => errors.push(unknown_key(&key, origin)),
        }
    }
    known
}

/// A camera's name is a table name and part of variable names: lower-case letters, digits,
/// `-` and `_`, and not a setting of `[cameras]` itself.
fn check_camera_name(name: &str) -> Result<(), String> {
    let well_formed = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !well_formed {
        return Err(format!(
            "camera name `{name}` is not valid: expected lower-case letters, digits, '-' and '_'"
        ));
    }
    if schema::spec(&format!("cameras.{name}")).is_some() {
        return Err(format!(
            "`{name}` is a setting of [cameras], not a camera's name"
        ));
    }
    Ok(())
}

fn unknown_key(key: &str, origin: Origin) -> ConfigError {
    let message = match schema::suggest(key) {
        Some(s) => format!("unknown setting; did you mean {s}?"),
        None => "unknown setting (`semaforo config keys` lists them all)".to_string(),
    };
    ConfigError {
        key: Some(key.to_string()),
        origin,
        value: None,
        message,
    }
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The file's settings as (dotted key, value, origin with its line).
fn read_toml(
    path: &Path,
    text: &str,
    layout: &mut LayoutInput,
    errors: &mut Vec<ConfigError>,
) -> Vec<(String, Raw, Origin)> {
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
            return Vec::new();
        }
    };
    let mut leaves = Vec::new();
    let mut file = TomlFile {
        path,
        text,
        layout,
        errors,
    };
    collect_leaves(doc.as_table(), "", &mut file, &mut leaves);
    leaves
        .into_iter()
        .map(|(key, value, line)| {
            let origin = Origin::File {
                path: path.to_path_buf(),
                line,
            };
            (key, Raw::Toml(value), origin)
        })
        .collect()
}

/// The file being read, and where its layout and problems go.
struct TomlFile<'a> {
    path: &'a Path,
    text: &'a str,
    layout: &'a mut LayoutInput,
    errors: &'a mut Vec<ConfigError>,
}

/// Flattens tables (standard and inline) into dotted keys with the line each value is on; the
/// intersection's layout (lists and arrays of tables) goes to [`layout::read_item`].
fn collect_leaves(
    table: &dyn toml_edit::TableLike,
    prefix: &str,
    file: &mut TomlFile<'_>,
    out: &mut Vec<(String, toml_edit::Value, usize)>,
) {
    let text = file.text;
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
        if schema::spec(&key).is_some_and(|(spec, _)| spec.is_layout()) {
            layout::read_item(&key, item, line, text, file.path, file.layout, file.errors);
            continue;
        }
        match item {
            toml_edit::Item::Table(t) => collect_leaves(t, &key, file, out),
            toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                collect_leaves(t, &key, file, out)
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
    cameras: &[String],
    chosen: &mut HashMap<String, (Raw, Origin)>,
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
    for (spec, camera, key) in instances(cameras) {
        // Aliases are listed after the preferred name; the preferred name wins. An empty value
        // means "not set" (the original crashed on empty values its own example file showed).
        let found = spec.env_for(camera).into_iter().find_map(|var| {
            if let Some(v) = inputs.env.get(&var).filter(|v| !v.trim().is_empty()) {
                return Some((v.clone(), Origin::Env { var }));
            }
            if inputs.env.contains_key(&var) {
                return None;
            }
            let (v, line) = from_dotenv
                .get(&var)
                .filter(|(v, _)| !v.trim().is_empty())?;
            let origin = Origin::DotEnv {
                path: dotenv_path.clone(),
                line: *line,
                var,
            };
            Some((v.clone(), origin))
        });
        if let Some((value, origin)) = found {
            chosen.insert(key, (Raw::Text(value), origin));
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
        Default::HostName => Value::Text(host_name()),
        // Never materialised: per-group settings exist only where given, and the layout's
        // parts are not single values.
        Default::Inherit(_) | Default::Described(_) => Value::Text(String::new()),
    }
}

/// The machine's host name (uname's node name, which needs no /proc), as `intersection.id`'s
/// default; `semaforo` when it is not a valid identifier.
fn host_name() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .trim()
        .to_string();
    if check_text(Kind::Identifier, &name).is_ok() {
        name
    } else {
        "semaforo".to_string()
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
            match spec.kind {
                Kind::Token => {
                    return check_token(text.trim()).map(|t| Value::Secret(super::Secret(t)))
                }
                // A password may begin or end with spaces: it is kept as given.
                Kind::Secret => return Ok(Value::Secret(super::Secret(text))),
                _ => {}
            }
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
        Kind::FilePrefix | Kind::Identifier => {
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
        Kind::Topic => {
            let ok = !text.is_empty()
                && text.split('/').all(|level| {
                    !level.is_empty()
                        && level
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                });
            if ok {
                Ok(text.to_string())
            } else {
                Err(expected())
            }
        }
        Kind::ListenAddress => check_listen_address(text),
        _ => Ok(text.to_string()),
    }
}

/// A token: empty (none), or at least 16 visible ASCII characters, as an HTTP header carries
/// them. The message never repeats the value.
fn check_token(text: &str) -> Result<String, String> {
    let expected = format!("expected {}", Kind::Token.expected());
    if text.is_empty() {
        return Ok(String::new());
    }
    if !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "it holds a space or a character that is not visible ASCII; {expected}"
        ));
    }
    if text.len() < 16 {
        return Err(format!("it has {} characters; {expected}", text.len()));
    }
    Ok(text.to_string())
}

/// `off`, or `HOST:PORT` with an IP address or `localhost`.
fn check_listen_address(text: &str) -> Result<String, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok("off".to_string());
    }
    match super::parse_listen_address(text) {
        Some(_) => Ok(text.to_string()),
        None => Err(format!("expected {}", Kind::ListenAddress.expected())),
    }
}

/// Checks the form of a camera source; whether it opens is the camera's business at start.
/// A URL's part after `scheme://` names a host.
fn check_host(after_scheme: &str) -> Result<(), String> {
    let authority = after_scheme.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("no host in the URL".to_string());
    }
    Ok(())
}

fn check_camera_source(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("empty source".to_string());
    }
    let lower = text.to_ascii_lowercase();
    // `ffmpeg:` opens whatever FFmpeg opens: a file, or a URL of any scheme it knows (rtsp,
    // rtmp, srt, udp, ...); its `threads=` parameter is checked when the camera opens.
    if let Some(rest) = lower.strip_prefix("ffmpeg:") {
        if !cfg!(feature = "ffmpeg") {
            return Err(
                "ffmpeg: sources need a build with the `ffmpeg` feature (cargo build \
                        --release --features ffmpeg, with Debian's libavcodec-dev \
                        libavformat-dev libavutil-dev libswscale-dev pkg-config libclang-dev)"
                    .to_string(),
            );
        }
        if rest.trim().is_empty() {
            return Err("ffmpeg: needs a file path or a URL".to_string());
        }
        if let Some((_, rest)) = rest.split_once("://") {
            check_host(rest)?;
        }
        return Ok(text.to_string());
    }
    if let Some((scheme, rest)) = lower.split_once("://") {
        if !["rtsp", "rtsps", "http", "https"].contains(&scheme) {
            return Err(format!("unknown scheme {scheme}://"));
        }
        check_host(rest)?;
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

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
    use semaforo_vision::detect::yolox::Runtime;

    fn with_file(text: &str) -> Inputs {
        Inputs {
            file: Some((PathBuf::from("semaforo.toml"), text.to_string())),
            ..Inputs::defaults()
        }
    }

    fn errors_of(inputs: &Inputs) -> Vec<String> {
        Config::from_inputs(inputs)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn config(inputs: &Inputs) -> Config {
        Config::from_inputs(inputs).unwrap()
    }

    fn origin(config: &Config, key: &str) -> String {
        config.origin(key).unwrap().to_string()
    }

    #[test]
    fn defaults_resolve_without_errors() {
        let (settings, errors) = resolve(&Inputs::defaults());
        assert!(errors.is_empty(), "{errors:?}");
        // Per-group timings and a camera's own detection rate exist only where given; the
        // layout is not a single value.
        let given_only = |s: &&Spec| s.is_per_camera() && s.is_given_only();
        let per_camera = SETTINGS
            .iter()
            .filter(|s| s.is_per_camera() && !given_only(s))
            .count();
        let elsewhere = SETTINGS
            .iter()
            .filter(|s| s.is_per_group() || s.is_layout() || given_only(s))
            .count();
        assert_eq!(
            settings.iter().count(),
            SETTINGS.len() - elsewhere + per_camera * (DEFAULT_CAMERAS.len() - 1)
        );
        assert!(settings.iter().all(|s| s.origin == Origin::Default));
        assert_eq!(config(&Inputs::defaults()).signal.min_green.as_secs(), 10);
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
        let c = config(&inputs);
        assert_eq!(c.signal.min_green.as_secs_f64(), 15.0);
        assert_eq!(
            origin(&c, "signal.min_green"),
            "command-line flag --set signal.min_green=15"
        );
        // The real environment wins over .env, .env over the file.
        assert_eq!(c.signal.yellow.as_secs_f64(), 4.5);
        assert_eq!(c.signal.red_clearance.as_secs_f64(), 3.0);
        assert_eq!(origin(&c, "signal.red_clearance"), ".env line 2, RED_TIME");
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
        let c = config(&with_file(
            "cameras = { a = { source = \"testsrc:\" } }\nsignal.yellow = 4\n",
        ));
        assert_eq!(c.cameras.cameras["a"].source, "testsrc:");
        assert_eq!(c.signal.yellow.as_secs_f64(), 4.0);
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
        // Set-but-empty in the environment still blocks .env, as "already set" should.
        assert_eq!(config(&inputs).signal.min_green.as_secs_f64(), 10.0);
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
    fn ffmpeg_sources_take_any_url_ffmpeg_opens_in_a_build_that_has_ffmpeg() {
        let source = |value: &str| {
            let mut inputs = Inputs::defaults();
            inputs.env.insert("CAMERA_A_SOURCE".into(), value.into());
            Config::from_inputs(&inputs).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        };
        for good in [
            "ffmpeg:rtsp://admin:s3cret@10.0.0.5:554/h264?threads=1",
            "ffmpeg:srt://10.0.0.6:9000",
            "ffmpeg:clips/junction.mkv",
        ] {
            let result = source(good);
            if cfg!(feature = "ffmpeg") {
                assert!(result.is_ok(), "{good}: {result:?}");
            } else {
                let err = result.unwrap_err();
                assert!(
                    err.contains("--features ffmpeg") && !err.contains("s3cret"),
                    "{good}: {err}"
                );
            }
        }
        if cfg!(feature = "ffmpeg") {
            for (bad, why) in [
                ("ffmpeg:", "ffmpeg: needs a file path or a URL"),
                ("ffmpeg:rtsp://:554/x", "no host in the URL"),
            ] {
                let err = source(bad).unwrap_err();
                assert!(err.contains(why), "{bad}: {err}");
            }
        }
    }

    #[test]
    fn credentials_never_appear_in_messages() {
        assert_eq!(
            redact("rtsp://admin:s3cret@10.0.0.5:554/h264"),
            "rtsp://admin:***@10.0.0.5:554/h264"
        );
        assert_eq!(redact("rtsp://cam/h264"), "rtsp://cam/h264");
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
            assert_eq!(config(&inputs).detection.runtime, Runtime::OnnxRuntime);
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
        assert_eq!(config(&inputs).logging.level, tracing::Level::WARN);
    }

    #[test]
    fn problems_across_settings_come_with_the_others_at_once() {
        // Before, min green against max green and a shared camera were only checked once
        // every single value was right: a second round of errors after the first was fixed.
        let mut inputs = with_file("[frames]\njpeg_quality = 0\n[cameras.b]\nsource = 0\n");
        inputs.env.insert("MIN_GREEN_TIME".into(), "60".into());
        inputs.env.insert("MAX_GREEN_TIME".into(), "30".into());
        inputs.env.insert("CAMERA_A_INDEX".into(), "0".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].starts_with("frames.jpeg_quality = 0 (from semaforo.toml line 2)"));
        assert!(errors.iter().any(|e| e.starts_with(
            "signal.min_green = 60 (from environment variable MIN_GREEN_TIME): must be less than"
        )));
        assert!(errors.iter().any(|e| e.starts_with(
            "cameras.b.source = \"0\" (from semaforo.toml line 4): opens /dev/video0, the same \
             device as cameras.a.source = \"0\" (from environment variable CAMERA_A_INDEX)"
        )));
    }

    #[test]
    fn a_refused_value_is_not_reported_twice() {
        // min_green is out of range; its default (10) stands in, and the rule against
        // max_green does not add a second message about the same value.
        let mut inputs = Inputs::defaults();
        inputs.env.insert("MIN_GREEN_TIME".into(), "900".into());
        inputs.env.insert("MAX_GREEN_TIME".into(), "12".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("expected a number of seconds from 5 to 300"));
    }

    #[test]
    fn camera_tables_take_any_name_and_bad_names_are_named() {
        let errors = errors_of(&with_file(
            "[cameras.north]\nsource = \"testsrc:\"\n[cameras.Bad]\nsource = \"testsrc:\"\n\
             [cameras.width]\nsource = \"testsrc:\"\n",
        ));
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].contains("camera name `Bad` is not valid"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("`width` is a setting of [cameras]"),
            "{}",
            errors[1]
        );
        // Every name is read; a camera must watch a signal group of the intersection.
        assert!(
            errors[2].starts_with(
                "cameras.north (from semaforo.toml line 2): camera north watches no signal \
                 group: give it a zones file (cameras.north.zones)"
            ),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn the_environment_sets_cameras_the_file_names() {
        let mut inputs = with_file("[cameras.c]\nsource = \"testsrc:\"\n");
        inputs
            .env
            .insert("CAMERA_C_DETECTOR".into(), "yolox".into());
        let (settings, errors) = resolve(&inputs);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            settings.origin("cameras.c.detector").unwrap().to_string(),
            "environment variable CAMERA_C_DETECTOR"
        );
        assert_eq!(
            settings.origin("cameras.c.source").unwrap().to_string(),
            "semaforo.toml line 2"
        );
    }

    #[test]
    fn policy_parameters_are_settings_checked_by_the_policies_themselves() {
        let c = config(&with_file(
            "[signal]\npolicy = \"compare\"\ncompare_margin = 2\nmax_pressure_stall_gap = 0\n",
        ));
        assert_eq!(c.signal.compare().margin, 2);
        assert_eq!(c.signal.max_pressure().stall_gap, None, "0 turns it off");
        // Within the setting's range (0 to 60) but below the policy's least stall gap (0.5 s):
        // reported even though `compare` is the policy chosen.
        let errors = errors_of(&with_file(
            "[signal]\npolicy = \"compare\"\nmax_pressure_stall_gap = 0.2\n",
        ));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .starts_with("signal.max_pressure_stall_gap = 0.2 (from semaforo.toml line 3)"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn link_settings_are_checked_and_the_password_is_never_shown() {
        let mut inputs = with_file(
            "[orchestrator]\nurl = \"http://orchestrator/feed\"\n[mqtt]\nhost = \"broker\"\n\
             password = \"s3cret\"\nclient_cert = \"/nonexistent/cert.pem\"\n\
             topic_prefix = \"city/#\"\n",
        );
        inputs.env.insert("MQTT_PORT".into(), "0".into());
        let errors = errors_of(&inputs);
        assert_eq!(errors.len(), 5, "{errors:#?}");
        let has = |s: &str| errors.iter().any(|e| e.contains(s));
        assert!(has("orchestrator.url = \"http://orchestrator/feed\" (from semaforo.toml line 2): expected a WebSocket URL"));
        assert!(has("mqtt.client_cert = \"/nonexistent/cert.pem\""));
        assert!(has(
            "a client certificate needs its key: set mqtt.client_key too"
        ));
        assert!(has("mqtt.topic_prefix = \"city/#\""));
        assert!(has(
            "mqtt.port = \"0\" (from environment variable MQTT_PORT)"
        ));
        assert!(errors.iter().all(|e| !e.contains("s3cret")));

        let c = config(&with_file(
            "[mqtt]\nhost = \"broker\"\npassword = \"s3cret\"\n",
        ));
        assert_eq!(c.mqtt.password.as_ref().map(|p| p.expose()), Some("s3cret"));
        assert!(!c.describe().contains("s3cret"), "{}", c.describe());
        assert!(c.describe().contains("password = ***"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
