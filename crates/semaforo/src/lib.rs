//! `semaforo`'s own modules: the command line, the configuration, the commands and the
//! runtime that wires the library crates into the controller. The `semaforo` binary
//! (`src/main.rs`) only parses the command line and hands over to a command; the modules live
//! in this library so that the fuzz targets (`fuzz/` at the repository root) reach the
//! configuration loader and the orchestrator's framing the way the binary does.
//!
//! ```no_run
//! use semaforo::config::{Config, Inputs};
//!
//! let text = std::fs::read_to_string("semaforo.toml").expect("a readable file");
//! let inputs = Inputs {
//!     file: Some(("semaforo.toml".into(), text)),
//!     dotenv: None,
//!     env: Default::default(),
//!     flags: Vec::new(),
//! };
//! match Config::from_inputs(&inputs) {
//!     Ok(config) => print!("{}", config.describe()),
//!     Err(errors) => errors.iter().for_each(|e| eprintln!("{e}")),
//! }
//! ```

pub mod cli;
pub mod commands;
pub mod config;
pub mod count;
mod http;
mod links;
mod logging;
pub mod orchestrator;
mod runtime;
pub mod sim;

/// Exit code for a configuration or usage error (clap uses 2 for usage errors too).
pub const EXIT_CONFIG: u8 = 2;
