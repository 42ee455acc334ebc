//! Time and stopping, shared by every crate that waits: one [`Clocks`] trait, real
//! ([`SystemClocks`]) or simulated ([`SimulatedClocks`], which jumps to each deadline so tests
//! and `semaforo run --fast` cover hours in milliseconds), and one [`Shutdown`] request that
//! blocking code waits on. A wait ends in a [`Wake`] that says which came first, the deadline or
//! the request, so no caller has to remember what `true` means.
//!
//! The shape follows Moonfire NVR's `base` crate, where the recorder's threads take their time
//! from a `Clocks` so that tests can fake it.
//!
//! ```
//! use std::time::Duration;
//! use semaforo_base::{Clocks, Shutdown, SimulatedClocks, Wake};
//!
//! let clocks = SimulatedClocks::new();
//! let shutdown = Shutdown::new();
//! // An hour of simulated time passes at once.
//! assert_eq!(clocks.sleep_until(Duration::from_secs(3600), &shutdown), Wake::Deadline);
//! assert_eq!(clocks.monotonic(), Duration::from_secs(3600));
//! shutdown.request("test over");
//! assert_eq!(clocks.sleep_until(Duration::from_secs(7200), &shutdown), Wake::Shutdown);
//! ```

mod clocks;
mod shutdown;

pub use clocks::{Clocks, SimulatedClocks, SystemClocks};
pub use shutdown::{Shutdown, Wake};
