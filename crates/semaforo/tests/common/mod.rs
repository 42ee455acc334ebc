//! What the end-to-end tests share: the binary in a clean environment, and its output as text.

#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
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
