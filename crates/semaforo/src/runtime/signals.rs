//! SIGINT and SIGTERM as a [`Shutdown`] request: the run loop sleeps on the request, so a
//! Ctrl-C wakes it at once instead of after its sleep.

use semaforo_base::Shutdown;

/// Turns SIGINT and SIGTERM into a shutdown request, from a thread of its own (a signal
/// handler itself must not take locks).
pub fn stop_on_termination_signals(shutdown: &Shutdown) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let shutdown = shutdown.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let name = if signal == SIGINT {
                    "SIGINT (Ctrl-C)"
                } else {
                    "SIGTERM"
                };
                shutdown.request(format!("{name} received"));
            }
        })?;
    Ok(())
}
