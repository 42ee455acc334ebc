//! A shutdown request that blocking code can wait on and that a signal thread can raise.
//!
//! Waiting on it is how the run loop sleeps between ticks: a Ctrl-C or SIGTERM wakes the loop
//! at once instead of after its sleep.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Cloneable handle; every clone sees the same request.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<(Mutex<Option<String>>, Condvar)>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything waiting on this to stop, saying why (the first reason is kept).
    pub fn request(&self, reason: impl Into<String>) {
        let (lock, cvar) = &*self.inner;
        let mut slot = lock.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(reason.into());
        }
        cvar.notify_all();
    }

    /// Why shutdown was requested, if it was.
    pub fn reason(&self) -> Option<String> {
        let (lock, _) = &*self.inner;
        lock.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_requested(&self) -> bool {
        self.reason().is_some()
    }

    /// Waits up to `timeout`; returns true as soon as shutdown is requested.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let (lock, cvar) = &*self.inner;
        let slot = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (slot, _) = cvar
            .wait_timeout_while(slot, timeout, |s| s.is_none())
            .unwrap_or_else(|e| e.into_inner());
        slot.is_some()
    }

    /// Turns SIGINT and SIGTERM into a shutdown request, from a thread of its own (a signal
    /// handler itself must not take locks).
    pub fn on_termination_signals(&self) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let shutdown = self.clone();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_wakes_a_waiter_and_keeps_the_first_reason() {
        let shutdown = Shutdown::new();
        let waiter = {
            let s = shutdown.clone();
            std::thread::spawn(move || s.wait_timeout(Duration::from_secs(3600)))
        };
        shutdown.request("first");
        shutdown.request("second");
        assert!(waiter.join().unwrap());
        assert_eq!(shutdown.reason().as_deref(), Some("first"));
    }

    #[test]
    fn waiting_without_a_request_times_out_false() {
        assert!(!Shutdown::new().wait_timeout(Duration::from_millis(1)));
    }
}
