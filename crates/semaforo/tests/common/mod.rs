//! What the end-to-end tests share: the binary in a clean environment, and the shared footage.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary, run in `dir` with a clean environment (no inherited LOG_LEVEL and the like).
pub fn semaforo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_semaforo"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The repository's root (zones and models are found from it).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/media/street-a.mp4`, or `None` after saying loudly that it is missing; under
/// `CI=true` a missing clip fails the test instead.
pub fn street_a() -> Option<PathBuf> {
    let shared = std::env::var_os("SEMAFORO_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("../shared"));
    let clip = shared.join("media/street-a.mp4");
    if clip.exists() {
        return Some(clip);
    }
    let message = format!(
        "SKIPPED: {} is missing; put the project's shared/ folder beside the clone or set SEMAFORO_SHARED",
        clip.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("{message}");
    None
}
