//! Closed-loop evaluation of semaforo's signal policies against the SUMO traffic simulator.
//!
//! SUMO runs the intersection (or a network of them); semaforo's controller (the same
//! [`semaforo_signal`] code the daemon runs) reads SUMO's lane-area detectors in place of camera
//! zones and drives the traffic light over TraCI, one step at a time; with `--tls J1,J4` or
//! `--tls all`, one controller per light. SUMO's own fixed-time and actuated programs run the same
//! demand and seeds as baselines. `semaforo sim` is this crate behind a command line. The parts:
//!
//! - [`evaluation`]: [`evaluate`] runs every scenario, contender and seed of its [`Options`];
//! - [`traci`]: the TraCI wire protocol (a small client of our own);
//! - [`sumo`]: the `sumo` process as a guard (started on a free port, always stopped);
//! - [`network`]: a network's traffic light read as signal groups and phases, and the detector
//!   and baseline program files;
//! - [`scenario`]: the shipped scenarios and a user's own network;
//! - [`configured`]: a configured intersection ([`Configured`], `--config FILE`) checked against
//!   the network's traffic light, then driving it;
//! - [`runner`]: one run, from starting SUMO to its figures;
//! - [`detection_errors`]: camera-like counting errors laid over SUMO's exact counts
//!   (`--detection-errors`);
//! - [`metrics`]: delay, waits, throughput and queue from SUMO's trip information;
//! - [`report`]: the table, JSON and SVG.
//!
//! Each part has its own error type ([`sumo::SumoError`], [`network::NetworkError`],
//! [`scenario::ScenarioError`], [`runner::PrepareError`], [`runner::RunError`],
//! [`metrics::TripinfoError`], [`traci::TraciError`]), gathered in [`EvaluationError`]. Each
//! names the file, traffic light, scenario, run or option concerned (options by their
//! `semaforo sim` flag) and keeps its cause as its [`source`](std::error::Error::source), so a
//! caller that prints the chain (`anyhow`'s `{:#}`) reads the whole story.
//!
//! Max-pressure against the fixed-time plan on one shipped scenario, five simulated minutes
//! (`no_run`: it needs `sumo` on the PATH):
//!
//! ```no_run
//! use std::time::Duration;
//! use semaforo_sim::{evaluate, Contender, Options, Scenarios};
//!
//! let options = Options {
//!     scenarios: Scenarios::Shipped {
//!         names: vec!["two-approach-asymmetric".into()],
//!         dir: None,
//!     },
//!     contenders: vec!["max-pressure".parse()?, Contender::SumoActuated],
//!     seeds: 1,
//!     duration: Some(Duration::from_secs(300)),
//!     ..Options::default()
//! };
//! let reports = evaluate(&options, &|_progress| {})?;
//! // max-pressure, then SUMO's sumo-actuated and sumo-static (the baselines always run).
//! print!("{}", reports[0].table());
//! assert_eq!(reports[0].conflicts(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod configured;
pub mod detection_errors;
pub mod evaluation;
pub mod metrics;
pub mod network;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sumo;
pub mod traci;

pub use configured::Configured;
pub use detection_errors::DetectionErrors;
pub use evaluation::{evaluate, EvaluationError, Options, Progress, Scenarios};
pub use metrics::RunMetrics;
pub use report::{ContenderRuns, ScenarioReport, Summary};
pub use runner::{Contender, TimingOverrides};

/// An error and its sources, joined by `: ` (as the binary prints them), for tests' messages.
#[cfg(test)]
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
