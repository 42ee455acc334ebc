//! A request to stop that blocking code can wait on and any thread can raise.
//!
//! Waiting on it is how loops sleep: a Ctrl-C, SIGTERM or a camera being closed wakes the
//! sleeper at once instead of after its sleep.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Why a wait ended.
#[must_use = "a wait that ended on a shutdown request should stop what it is doing"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The time asked for passed.
    Deadline,
    /// Stopping was requested (before or during the wait).
    Shutdown,
}

/// Cloneable handle; every clone sees the same request, and the first reason given is kept.
#[derive(Debug, Clone, Default)]
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

    /// Why stopping was requested, if it was.
    pub fn reason(&self) -> Option<String> {
        let (lock, _) = &*self.inner;
        lock.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_requested(&self) -> bool {
        self.reason().is_some()
    }

    /// Waits up to `timeout` on the real clock; [`Wake::Shutdown`] as soon as stopping is
    /// requested.
    pub fn wait_timeout(&self, timeout: Duration) -> Wake {
        let deadline = Instant::now().checked_add(timeout);
        let (lock, cvar) = &*self.inner;
        let mut slot = lock.lock().unwrap_or_else(|e| e.into_inner());
        while slot.is_none() {
            // A timeout too long to add to `now` is as good as forever.
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(u32::MAX.into()),
            };
            if left.is_zero() {
                return Wake::Deadline;
            }
            slot = cvar
                .wait_timeout(slot, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        Wake::Shutdown
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
        assert_eq!(waiter.join().unwrap(), Wake::Shutdown);
        assert_eq!(shutdown.reason().as_deref(), Some("first"));
    }

    #[test]
    fn waiting_without_a_request_ends_at_the_deadline() {
        assert_eq!(
            Shutdown::new().wait_timeout(Duration::from_millis(1)),
            Wake::Deadline
        );
    }

    #[test]
    fn a_request_made_before_the_wait_ends_it_at_once() {
        let shutdown = Shutdown::new();
        shutdown.request("early");
        assert_eq!(shutdown.wait_timeout(Duration::MAX), Wake::Shutdown);
    }
}
