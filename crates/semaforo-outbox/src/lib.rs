//! The durable outbox of semaforo: every message for the orchestrator (decisions, statuses,
//! signal events) is written to disk before any link sends it, and deleted only once every
//! link has acknowledged it, so a restart, a crash or a power cut while the orchestrator or the
//! MQTT broker is away loses nothing.
//!
//! - **Store**: one SQLite file in write-ahead-log mode (`rusqlite`, SQLite built in), held
//!   exclusively by the daemon. A push is one transaction, synced before `push` returns
//!   ([`Durability::PowerLoss`], `synchronous = FULL`).
//! - **Seq**: each message gets a [`Seq`], one more than the last, continuing across restarts
//!   and never reused (the high-water mark outlives the rows). The stored body is the caller's
//!   JSON object with `"seq"` first.
//! - **Cursors**: each transport (`"tcp"`, `"websocket"`, `"mqtt"`) reads through its own
//!   [`Cursor`] and acknowledges what its peer has. Delivery is at least once and in seq
//!   order; receivers deduplicate by seq.
//! - **Bound**: [`Limits`] by messages and bytes; when full, the oldest statuses are dropped
//!   first, decisions and events only when no status is left; drops are counted (persistently)
//!   for the next status's `dropped` field.
//! - **Damage**: an unreadable, corrupt or foreign file at open is moved aside
//!   ([`SetAside`]) and a fresh outbox starts, with seqs past the old ones, so the daemon never
//!   stops controlling the intersection because of its outbox.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use semaforo_outbox::{Limits, MessageKind, Outbox, Seq};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let outbox = Outbox::open(dir.path().join("outbox.db"), Limits::default(), "5th-and-main")?;
//! if let Some(moved) = outbox.set_aside() {
//!     eprintln!("{moved}"); // the daemon logs it and carries on
//! }
//! let tcp = outbox.register_cursor("tcp")?;
//!
//! // The control loop, at a green:
//! let green = serde_json::json!({"type": "decision", "direction": "A", "timestamp": 1764052981.3});
//! let pushed = outbox.push(MessageKind::Decision, &green, SystemTime::now())?;
//! assert_eq!(pushed.seq, Seq::new(1));
//!
//! // The TCP link's thread:
//! for entry in outbox.wait_pending(&tcp, Seq::ZERO, 64, Duration::from_secs(1))? {
//!     assert!(entry.body.starts_with(r#"{"seq":1,"#));
//!     // … write `entry.body` to the orchestrator …
//!     outbox.ack(&tcp, entry.seq)?;
//! }
//! assert_eq!(outbox.depth(&tcp)?, 0);
//! # Ok(())
//! # }
//! ```

mod error;
mod message;
mod open;
mod outbox;

pub use error::OutboxError;
pub use message::{Entry, MessageKind, Pushed, Seq};
pub use open::{SetAside, Unusable};
pub use outbox::{Cursor, CursorStatistics, Durability, Limits, Outbox, Statistics};
