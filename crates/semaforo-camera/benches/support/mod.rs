//! What the benchmarks share: the footage, the machine's description, medians, and the
//! one-line JSON their Python peers print. `semaforo-vision`'s benches include this file
//! (`#[path]`) rather than keeping a copy.

#![allow(dead_code)] // each benchmark uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/media/street-a.mp4`, or `None` after saying loudly that it is missing (under
/// `CI=true` a missing clip is a failure).
pub fn clip() -> Option<PathBuf> {
    let shared = match std::env::var_os("SEMAFORO_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let path = shared.join("media/street-a.mp4");
    if path.is_file() {
        return Some(path);
    }
    let message = "SKIPPED: ../shared/media/street-a.mp4 is missing (put shared/ beside the \
                   checkout or set SEMAFORO_SHARED)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: a missing fixture is a failure)");
    }
    eprintln!("\n==== {message} ====\n");
    None
}

/// A `bench/` script of the repository.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench")
        .join(name)
}

/// The value of `key` in a one-line JSON object (numbers, booleans and plain strings).
pub fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = line[at..].trim_start();
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest.find(['"', ',', '}']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Runs `python3 script args…` and returns its last output line, or why it failed (the
/// script's own `"error"` field included).
pub fn run_python(script: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run python3 {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default().to_owned();
    if let Some(err) = json_field(&line, "error") {
        return Err(err.to_owned());
    }
    if line.is_empty() {
        return Err(format!(
            "no output (stderr: {})",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(line)
}

#[allow(unused_imports)] // each bench uses its own part
pub use semaforo_testkit::{machine, today};

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Writes a benchmark's Markdown section to `<name>` in its crate's directory, and prints it.
pub fn report(name: &str, md: &str) {
    println!("{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if let Err(e) = std::fs::write(&out, md) {
        eprintln!("cannot write {}: {e}", out.display());
    }
}
