//! Reconnecting without hammering a peer that is away: waits that double from a floor to a
//! ceiling, reset by a success, and end early at shutdown; and the connect-exchange-reconnect
//! loop the TCP and WebSocket links share.

use std::time::Duration;

use semaforo_base::{Shutdown, Wake};
use semaforo_outbox::Cursor;

use super::LinkContext;

pub struct Backoff {
    floor: Duration,
    ceiling: Duration,
    next: Duration,
    /// Failures since the last success.
    pub failures: u32,
}

impl Backoff {
    pub fn new(floor: Duration, ceiling: Duration) -> Self {
        Backoff {
            floor,
            ceiling,
            next: floor,
            failures: 0,
        }
    }

    /// The peer answered: the next failure waits the floor again.
    pub fn succeeded(&mut self) {
        self.next = self.floor;
        self.failures = 0;
    }

    /// Whether this failure is worth a log line: the first, then at 2, 4, 8, ... failures.
    pub fn failed(&mut self) -> bool {
        self.failures += 1;
        self.failures == 1 || self.failures.is_power_of_two()
    }

    /// How long the next wait is.
    pub fn delay(&self) -> Duration {
        self.next
    }

    /// Waits the current delay (doubling the next) unless `stop` is requested; true if it is.
    pub fn wait(&mut self, stop: &Shutdown) -> bool {
        let d = self.next;
        self.next = (self.next * 2).min(self.ceiling);
        stop.wait_timeout(d) == Wake::Shutdown
    }
}

/// The loop of a link that keeps one connection to its peer (TCP, WebSocket): until a stop,
/// `open` a connection (with backoff while it cannot, saying so at 1, 2, 4, ... failures),
/// then `exchange` on it (write what the outbox holds, take the peer's acknowledgements)
/// until that fails, and connect again; the link's state follows. Returns the connection
/// still open at the stop, for the link to close cleanly.
pub fn keep_connected<C>(
    ctx: &LinkContext,
    cursor: &Cursor,
    (peer, connected): (&str, &str),
    mut backoff: Backoff,
    mut open: impl FnMut() -> Result<C, String>,
    mut exchange: impl FnMut(&mut C) -> Result<(), String>,
) -> Option<C> {
    let mut connection: Option<C> = None;
    while !ctx.stop.is_requested() {
        ctx.refresh_waiting(cursor);
        let Some(conn) = connection.as_mut() else {
            match open() {
                Ok(conn) => {
                    tracing::info!("orchestrator {peer}: {connected}");
                    backoff.succeeded();
                    ctx.update(|s| {
                        s.connected = true;
                        s.problem = None;
                    });
                    connection = Some(conn);
                }
                Err(e) => {
                    if backoff.failed() {
                        tracing::warn!(
                            "orchestrator {peer}: cannot connect ({e}); retrying in {:?} ({} \
                             attempts so far; messages wait in the outbox)",
                            backoff.delay(),
                            backoff.failures
                        );
                    }
                    ctx.update(|s| s.problem = Some(format!("cannot connect: {e}")));
                    backoff.wait(&ctx.stop);
                }
            }
            continue;
        };
        if let Err(why) = exchange(conn) {
            tracing::warn!(
                "orchestrator {peer}: {why}; reconnecting (what it had not acknowledged goes \
                 again)"
            );
            ctx.update(|s| {
                s.connected = false;
                s.problem = Some(why);
            });
            connection = None;
            backoff.wait(&ctx.stop);
        }
    }
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_to_the_ceiling_and_a_success_resets_them() {
        let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));
        let stop = Shutdown::new();
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(b.delay());
            assert!(!b.wait(&stop));
        }
        assert_eq!(seen, [1, 2, 4, 4].map(Duration::from_millis));
        b.succeeded();
        assert_eq!(b.delay(), Duration::from_millis(1));
        assert!(b.failed() && b.failed() && !b.failed() && b.failed());
        stop.request("test");
        assert!(b.wait(&stop), "a stop ends the wait");
    }
}
