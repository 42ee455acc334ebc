//! The configuration as `semaforo` loads it: a TOML file and a `.env` file, layered over the
//! defaults and checked by `Config::from_inputs` (what `config check`, `run` and `count` call).
//!
//! Input: the TOML text, then optionally a NUL byte and the `.env` text.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use semaforo::config::{Config, Inputs};

/// Whether the text could make the loader read a device or a kernel file: it reads the zones
/// file a camera names, and `/dev/zero` or `/dev/stdin` would never end. Those are the
/// operator's choice, not input to survive; escapes (`\u002f`) could spell such a path.
fn could_name_a_device(text: &str) -> bool {
    ["dev", "proc", "sys", "\\u", "\\U"]
        .iter()
        .any(|word| text.contains(word))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if could_name_a_device(text) {
        return;
    }
    let (toml, dotenv) = match text.split_once('\0') {
        Some((toml, dotenv)) => (toml, Some(dotenv)),
        None => (text, None),
    };
    let inputs = Inputs {
        file: Some(("fuzz.toml".into(), toml.to_string())),
        dotenv: dotenv.map(|text| (".env".into(), text.to_string())),
        env: HashMap::new(),
        flags: Vec::new(),
    };
    match Config::from_inputs(&inputs) {
        Ok(config) => {
            let _ = config.describe();
            let _ = config.unwatched_groups();
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refused configuration says why");
            for error in &errors {
                let _ = error.to_string();
            }
        }
    }
});
