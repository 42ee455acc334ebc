//! Signal control for semaforo: phases, intervals, the controller state machine, its policies,
//! an independent conflict monitor and hi-res event logging.
//!
//! This crate is pure logic: no I/O and no clock. The caller passes the time ([`SignalTime`],
//! milliseconds since an origin of its choice) and the detector readings to
//! [`Controller::tick`], and gets back every signal head's state, the tick's hi-res events
//! (Indiana enumerations) and a status. The daemon drives it at 10 Hz from the cameras' counts,
//! the SUMO evaluation from simulation steps, tests from a fake clock, hours in milliseconds.
//!
//! - [`Intersection`]: signal groups, phases, conflict matrix (built-ins or a validated spec,
//!   every problem of which is reported at once); up to [`MAX_SIGNAL_GROUPS`] groups and
//!   [`MAX_PHASES`] phases.
//! - [`Timings`]: minimum/maximum green, passage, yellow change, red clearance.
//! - [`GroupTimings`]: each signal group's own [`Timings`] and [`Recall`] mode, and how a phase
//!   combines its groups' values ([`group_timing`]).
//! - [`policy`]: `fixed`, `compare`, `actuated`, `max-pressure`; a policy only requests. Their
//!   parameters, units, ranges and defaults are data ([`POLICY_PARAMETERS`]).
//! - [`Controller`]: the state machine that enforces every timing, recall, fail-safe and the
//!   safe stop ([`Controller::request_stop`]: clear the green, then hold all red); every green
//!   comes with why its phase was chosen ([`GreenDecision`]).
//! - [`ConflictMonitor`]: a second, independent check of every output against each group's
//!   own yellow and red clearance; latches flashing red.
//! - [`events`]: hi-res event codes and the `timestamp,event_code,parameter` CSV line format.
//!
//! A configured intersection, each group with its own timings, is built from a spec and a table
//! (the binary reports every problem of each at once, then runs):
//!
//! ```
//! use std::time::Duration;
//! use semaforo_signal::{
//!     BuiltinPolicy, Controller, GroupTiming, GroupTimings, Intersection, IntersectionSpec,
//!     PhaseSpec, PolicyKind, Recall, SignalTime, Timings,
//! };
//!
//! let spec = IntersectionSpec {
//!     groups: vec!["NT".into(), "ST".into(), "NL".into(), "EW".into()],
//!     phases: vec![
//!         PhaseSpec::new("NS", &["NT", "ST"]),
//!         PhaseSpec::new("N+left", &["NT", "NL"]),
//!         PhaseSpec::new("EW", &["EW"]),
//!     ],
//!     conflicts: Default::default(), // every pair that no phase greens together
//! };
//! let intersection = Intersection::from_spec_all(&spec).map_err(|all| all[0].clone())?;
//! let through = GroupTiming::new(Timings::default()).with_recall(Recall::Min);
//! let left = GroupTiming::new(Timings {
//!     min_green: Duration::from_secs(5),
//!     max_green: Duration::from_secs(20),
//!     ..Timings::default()
//! });
//! let timings = GroupTimings::new(&intersection, vec![through, through, left, through])
//!     .map_err(|all| all[0].clone())?;
//! let policy = BuiltinPolicy::new(PolicyKind::MaxPressure, &intersection, &timings);
//! let mut ctl = Controller::with_group_timings(intersection, timings, policy, SignalTime::ZERO)?;
//! let out = ctl.tick(SignalTime::from_millis(2_000), &[Default::default(); 4]);
//! // All detectors failed: the fail-safe plan runs, and the green says so.
//! assert_eq!(out.green_began.unwrap().to_string(), "fail-safe plan");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```
//! use semaforo_signal::{
//!     Controller, DetectorReading, HeadState, Intersection, PolicyKind, SignalTime, Timings,
//! };
//!
//! let policy: PolicyKind = "compare".parse()?;
//! let mut ctl = Controller::new(
//!     Intersection::two_approach(),
//!     Timings::default(),
//!     policy,
//!     SignalTime::ZERO,
//! )?;
//! // Five cars wait on A, three on B; tick at 10 Hz for two minutes.
//! let readings = [DetectorReading::new(5, 0), DetectorReading::new(3, 0)];
//! let mut b_green_at = None;
//! for tenth in 0..1200u64 {
//!     let out = ctl.tick(SignalTime::from_millis(tenth * 100), &readings);
//!     if out.heads[1] == HeadState::Green && b_green_at.is_none() {
//!         b_green_at = Some(tenth);
//!     }
//! }
//! // A wins the comparison, but B is served once A's maximum green (60 s, counted from B's
//! // call) runs out: 2 s start-up all-red + 60 s + 3 s yellow + 2 s red clearance.
//! assert_eq!(b_green_at, Some(670));
//! assert!(std::time::Duration::from_secs(67) <= ctl.max_wait());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod controller;
pub mod decision;
pub mod detection;
pub mod events;
pub mod group_timing;
pub mod heads;
pub mod intersection;
pub mod monitor;
pub mod policy;
pub mod time;
pub mod timing;

pub use controller::{
    Controller, ControllerError, ControllerStatus, Interval, Mode, Termination, TickOutput,
};
pub use decision::{GreenDecision, GreenReason};
pub use detection::DetectorReading;
pub use events::{EventCode, HiResEvent, HiResRecord, LogEpoch, WallTime, CSV_HEADER};
pub use group_timing::{
    GroupTiming, GroupTimingError, GroupTimings, PhaseTiming, Recall, TimingsByGroup, UnknownRecall,
};
pub use heads::HeadState;
pub use intersection::{
    ConflictSpec, GroupSet, Intersection, IntersectionError, IntersectionSpec, Phase, PhaseId,
    PhaseSet, PhaseSpec, SignalGroup, SignalGroupId, SpecEntry, MAX_PHASES, MAX_SIGNAL_GROUPS,
};
pub use monitor::{ConflictFault, ConflictMonitor};
pub use policy::{
    BuiltinPolicy, FixedTime, ParameterError, ParameterRange, ParameterUnit, PlanError, Policy,
    PolicyKind, UnknownPolicy, POLICY_PARAMETERS,
};
pub use time::SignalTime;
pub use timing::{TimingError, TimingRange, Timings, TIMING_RANGES};
