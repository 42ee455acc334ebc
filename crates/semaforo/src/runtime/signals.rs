//! SIGINT and SIGTERM as a [`Shutdown`] request: the run loop sleeps on the request, so a
//! Ctrl-C wakes it at once instead of after its sleep. A second one while the safe stop runs
//! says so and how long it can still take, instead of seeming ignored.

use std::time::{Duration, Instant};

use semaforo_base::Shutdown;

/// Turns SIGINT and SIGTERM into a shutdown request, from a thread of its own (a signal
/// handler itself must not take locks). `longest_stop` bounds the safe stop (the longest
/// yellow and red clearance, and a second).
pub fn stop_on_termination_signals(
    shutdown: &Shutdown,
    longest_stop: Duration,
) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let shutdown = shutdown.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut first = None;
            for signal in signals.forever() {
                let name = if signal == SIGINT {
                    "SIGINT (Ctrl-C)"
                } else {
                    "SIGTERM"
                };
                match first {
                    None => {
                        first = Some(Instant::now());
                        shutdown.request(format!("{name} received"));
                    }
                    Some(at) => {
                        let left = longest_stop.saturating_sub(at.elapsed());
                        tracing::warn!(
                            "{name} again: the safe stop is still running (the green's yellow \
                             and red clearance, then all red); at most {:.0} s left",
                            left.as_secs_f64().ceil()
                        );
                    }
                }
            }
        })?;
    Ok(())
}
