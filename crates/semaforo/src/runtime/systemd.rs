//! systemd's service notifications (`sd_notify`, `Type=notify`): `READY=1` once the
//! controller has ticked, `WATCHDOG=1` from the tick itself, `STOPPING=1` when a stop
//! begins, and a `STATUS=` line `systemctl status` shows. Nothing at all when the process is
//! not run by systemd (no `NOTIFY_SOCKET`).
//!
//! The watchdog is pinged from the run loop's tick and nowhere else: a loop that hangs (a
//! deadlock, a camera call that never returns) stops pinging, and systemd kills and restarts
//! the process after `WatchdogSec=`. Pings go out at half the interval systemd asks for
//! (`WATCHDOG_USEC`), as sd_watchdog_enabled(3) advises.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// How often the `STATUS=` line is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

pub struct ServiceManager {
    /// Half of `WATCHDOG_USEC`, when systemd watches this process.
    watchdog_every: Option<Duration>,
    last_ping: Option<Instant>,
    last_status: Option<Instant>,
    ready: bool,
    stopping: bool,
    failed: bool,
}

/// The watchdog interval systemd set for this process: `WATCHDOG_USEC`, when
/// `WATCHDOG_PID` is absent or names this process.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    let for_us = std::env::var("WATCHDOG_PID")
        .ok()
        .is_none_or(|pid| pid.trim().parse() == Ok(std::process::id()));
    (usec > 0 && for_us).then(|| Duration::from_micros(usec))
}

impl ServiceManager {
    /// `None` unless systemd runs the process (`NOTIFY_SOCKET` is set).
    pub fn from_environment() -> Option<ServiceManager> {
        std::env::var_os("NOTIFY_SOCKET")?;
        let watchdog = watchdog_interval();
        tracing::info!(
            "run by systemd: READY, STATUS and STOPPING are sent{}",
            watchdog.map_or(String::new(), |w| format!(
                ", and WATCHDOG from every tick (WatchdogSec {:.1} s)",
                w.as_secs_f64()
            ))
        );
        Some(ServiceManager {
            watchdog_every: watchdog.map(|w| w / 2),
            last_ping: None,
            last_status: None,
            ready: false,
            stopping: false,
            failed: false,
        })
    }

    fn send(&mut self, states: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(false, states) {
            if !self.failed {
                tracing::warn!("cannot notify systemd (NOTIFY_SOCKET): {e}");
            }
            self.failed = true;
        }
    }

    /// Called by the run loop after each tick; `status` says what the signal shows.
    pub fn ticked(&mut self, status: impl FnOnce() -> String) {
        let now = Instant::now();
        if !self.ready {
            self.ready = true;
            self.last_ping = Some(now);
            self.last_status = Some(now);
            let line = status();
            self.send(&[NotifyState::Ready, NotifyState::Status(&line)]);
            return;
        }
        if let Some(every) = self.watchdog_every {
            if self.last_ping.is_none_or(|at| now - at >= every) {
                self.last_ping = Some(now);
                self.send(&[NotifyState::Watchdog]);
            }
        }
        if !self.stopping && self.last_status.is_none_or(|at| now - at >= STATUS_EVERY) {
            self.last_status = Some(now);
            let line = status();
            self.send(&[NotifyState::Status(&line)]);
        }
    }

    /// A stop begins: `why` (SIGTERM, `--for`).
    pub fn stopping(&mut self, why: &str) {
        self.stopping = true;
        let line = format!("stopping safely ({why})");
        self.send(&[NotifyState::Stopping, NotifyState::Status(&line)]);
    }
}
