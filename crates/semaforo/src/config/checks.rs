//! Rules across settings, checked on the typed configuration in the same round as the single
//! values, so one `semaforo config check` lists every problem. A rule about a value that was
//! already refused on its own is skipped: that value's default stands in, and a second message
//! about it would only mislead.

use semaforo_camera::redact;

use super::load::{ConfigError, Origin, Settings};
use super::{CameraConfig, Config, MAX_CAMERAS};

/// Adds every broken rule to `errors`.
pub(super) fn across_settings(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    min_green_below_max_green(config, settings, errors);
    policy_parameters(config, settings, errors);
    runtime_is_built_in(config, settings, errors);
    model_is_a_file(config, settings, errors);
    sweep_stays_in_its_own(config, settings, errors);
    camera_count(config, settings, errors);
    links(config, settings, errors);
    no_local_camera_twice(config, settings, errors);
    http_token_beyond_loopback(config, settings, errors);
}

/// The API shows the intersection to whoever reaches it: beyond loopback it needs a token.
fn http_token_beyond_loopback(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let key = "http.addr";
    if settings.is_refused(key) || settings.is_refused("http.token") {
        return;
    }
    let Some(addr) = config.http.addr else {
        return;
    };
    if addr.ip().is_loopback() || config.http.token.is_some() {
        return;
    }
    errors.push(error_at(
        settings,
        key,
        format!("\"{addr}\""),
        "is not a loopback address, so the API would be open to the network: set http.token \
         (HTTP_TOKEN, at least 16 characters) or listen on 127.0.0.1"
            .to_string(),
    ));
}

/// An error about `key`, whose value is `value`, located where that value came from.
fn error_at(settings: &Settings, key: &str, value: String, message: String) -> ConfigError {
    ConfigError {
        key: Some(key.to_string()),
        origin: settings.origin_or_default(key),
        value: Some(value),
        message,
    }
}

fn min_green_below_max_green(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let (min, max) = ("signal.min_green", "signal.max_green");
    if settings.is_refused(min) || settings.is_refused(max) {
        return;
    }
    let s = &config.signal;
    if s.min_green >= s.max_green {
        errors.push(error_at(
            settings,
            min,
            s.min_green.as_secs_f64().to_string(),
            format!(
                "must be less than {max} = {} (from {})",
                s.max_green.as_secs_f64(),
                settings.origin_or_default(max)
            ),
        ));
    }
}

/// What the policies' own checks refuse beyond each setting's range (a stall gap between 0,
/// which turns it off, and its least 0.5 s), for every policy, not only the one chosen: a
/// setting is either valid or reported.
fn policy_parameters(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let s = &config.signal;
    let problems = s.actuated().problems().into_iter();
    let problems = problems.chain(s.compare().problems());
    for problem in problems.chain(s.max_pressure().problems()) {
        let key = format!(
            "signal.{}_{}",
            problem.policy.name().replace('-', "_"),
            problem.name
        );
        if settings.is_refused(&key) {
            continue;
        }
        errors.push(ConfigError {
            key: Some(key.clone()),
            origin: settings.origin_or_default(&key),
            value: Some(problem.value.to_string()),
            message: format!("{problem}"),
        });
    }
}

fn runtime_is_built_in(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let runtime = config.detection.runtime;
    if runtime.is_built_in() {
        return;
    }
    errors.push(error_at(
        settings,
        "detection.runtime",
        format!("\"{}\"", runtime.name()),
        format!(
            "this build of semaforo has no {0} backend: rebuild with `--features {0}` \
             (e.g. cargo build --release --features {0}), or use tract",
            runtime.name()
        ),
    ));
}

/// A model that was asked for must be there: quietly running without it (or with the
/// shipped one) would count with a network the user did not choose.
fn model_is_a_file(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let key = "detection.model";
    let Some(model) = &config.detection.model else {
        return;
    };
    if settings.is_refused(key) || model.is_file() {
        return;
    }
    errors.push(error_at(
        settings,
        key,
        format!("\"{}\"", model.display()),
        "no such file: expected the YOLOX-Nano ONNX model (models/yolox_nano.onnx in the \
         project), or leave it empty to use that one"
            .to_string(),
    ));
}

/// The orphan sweep removes files: its directory and prefix must not reach other programs'.
fn sweep_stays_in_its_own(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    if settings.is_refused("temp.dir") || settings.is_refused("temp.prefix") {
        return;
    }
    let t = &config.temp;
    if let Err(e) = semaforo_resources::check_sweep(&t.dir, &t.prefix) {
        // The prefix is what to change (the directory is most often the system's).
        errors.push(error_at(
            settings,
            "temp.prefix",
            format!("\"{}\"", t.prefix),
            e.to_string(),
        ));
    }
}

/// At most [`MAX_CAMERAS`] configured cameras (the generated ones, one per signal group, are
/// cheap synthetic scenes and not limited).
fn camera_count(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let count = config.cameras.cameras.len();
    if config.cameras.generated || count <= MAX_CAMERAS {
        return;
    }
    let names: Vec<&str> = config.cameras.cameras.keys().map(String::as_str).collect();
    let last = &names[names.len() - 1];
    let origin = settings
        .iter()
        .find(|s| s.key.starts_with(&format!("cameras.{last}.")) && s.origin != Origin::Default)
        .map_or(Origin::Default, |s| s.origin.clone());
    errors.push(ConfigError {
        key: Some("cameras".to_string()),
        origin,
        value: None,
        message: format!(
            "{count} cameras ({}): at most {MAX_CAMERAS} are supported",
            names.join(", ")
        ),
    });
}

/// The device a source opens, if it is a local camera (so two cameras cannot share it: the
/// original could read camera 0 for both approaches).
fn local_device(source: &str) -> Option<String> {
    let s = source.trim();
    let s = s.strip_prefix("v4l2:").unwrap_or(s);
    if let Ok(index) = s.parse::<u32>() {
        return Some(format!("/dev/video{index}"));
    }
    s.starts_with("/dev/video").then(|| s.to_string())
}

fn no_local_camera_twice(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    let cameras: Vec<(&String, &CameraConfig)> = config.cameras.cameras.iter().collect();
    for (i, (name, camera)) in cameras.iter().enumerate() {
        let key = format!("cameras.{name}.source");
        let Some(device) = local_device(&camera.source).filter(|_| !settings.is_refused(&key))
        else {
            continue;
        };
        let earlier = cameras[..i].iter().find(|(other, c)| {
            !settings.is_refused(&format!("cameras.{other}.source"))
                && local_device(&c.source).as_ref() == Some(&device)
        });
        if let Some((other, c)) = earlier {
            let other_key = format!("cameras.{other}.source");
            errors.push(error_at(
                settings,
                &key,
                format!("\"{}\"", camera.source),
                format!(
                    "opens {device}, the same device as {other_key} = \"{}\" (from {}); each \
                     camera needs its own device",
                    redact(&c.source),
                    settings.origin_or_default(&other_key)
                ),
            ));
        }
    }
}

/// The links' addresses and files: a WebSocket URL, the TLS files, a client certificate with
/// its key. Files are checked here so that a typo is an error at start, not a link that
/// never connects.
fn links(config: &Config, settings: &Settings, errors: &mut Vec<ConfigError>) {
    if let Some(url) = &config.orchestrator.url {
        let key = "orchestrator.url";
        let lower = url.to_ascii_lowercase();
        let host = lower
            .strip_prefix("ws://")
            .or_else(|| lower.strip_prefix("wss://"))
            .map(|rest| rest.split(['/', '?']).next().unwrap_or(""));
        let problem = match host {
            None => Some("expected a WebSocket URL, ws://HOST:PORT/PATH or wss://HOST/PATH"),
            Some(h) if h.is_empty() || h.starts_with(':') => Some("no host in the URL"),
            Some(_) => None,
        };
        if let (Some(problem), false) = (problem, settings.is_refused(key)) {
            errors.push(error_at(
                settings,
                key,
                format!("\"{}\"", redact(url)),
                problem.into(),
            ));
        }
    }
    let m = &config.mqtt;
    let files = [
        ("orchestrator.ca_file", config.orchestrator.ca_file.as_ref()),
        ("mqtt.ca_file", m.ca_file.as_ref()),
        ("mqtt.client_cert", m.client_cert.as_ref()),
        ("mqtt.client_key", m.client_key.as_ref()),
    ];
    for (key, path) in files {
        let Some(path) = path else { continue };
        if let Err(e) = std::fs::metadata(path) {
            errors.push(error_at(
                settings,
                key,
                format!("\"{}\"", path.display()),
                format!("cannot read it: {e}"),
            ));
        }
    }
    if m.client_cert.is_some() != m.client_key.is_some() {
        let (given, missing) = if m.client_cert.is_some() {
            ("mqtt.client_cert", "mqtt.client_key")
        } else {
            ("mqtt.client_key", "mqtt.client_cert")
        };
        errors.push(ConfigError {
            key: Some(given.to_string()),
            origin: settings.origin_or_default(given),
            value: None,
            message: format!("a client certificate needs its key: set {missing} too"),
        });
    }
}
