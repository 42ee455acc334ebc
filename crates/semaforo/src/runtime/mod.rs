//! The run loop: wires cameras, the frame store, the signal controller and resource
//! monitoring together, at a fixed tick, until `--for` runs out or shutdown is requested.

mod clock;
mod shutdown;

pub use clock::{Clock, ManualClock, SystemClock};
pub use shutdown::Shutdown;

use std::fmt;
use std::time::Duration;

use crate::config::Config;

/// The controller's tick: 10 Hz, as DESIGN.md sets it.
pub const TICK: Duration = Duration::from_millis(100);

/// What a run did, logged when it ends.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub ran_for: Duration,
    pub ticks: u64,
    pub stop_reason: String,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped after {:.1} s ({}): {} ticks",
            self.ran_for.as_secs_f64(),
            self.stop_reason,
            self.ticks
        )
    }
}

/// Runs until `run_for` has passed on `clock` or `shutdown` is requested.
pub fn run(
    config: &Config,
    clock: &dyn Clock,
    shutdown: &Shutdown,
    run_for: Option<Duration>,
) -> anyhow::Result<RunSummary> {
    let _ = config;
    let mut summary = RunSummary::default();
    let mut next = clock.elapsed();
    loop {
        if let Some(limit) = run_for {
            if clock.elapsed() >= limit {
                summary.stop_reason = format!("--for {}", humantime::format_duration(limit));
                break;
            }
        }
        summary.ticks += 1;
        next += TICK;
        if clock.sleep_until(next, shutdown) {
            summary.stop_reason = shutdown.reason().unwrap_or_default();
            break;
        }
    }
    summary.ran_for = clock.elapsed();
    Ok(summary)
}
