//! Every built-in policy's parameters as data: name, unit, accepted range and default.
//!
//! A configuration loader validates and documents the policies' settings from
//! [`POLICY_PARAMETERS`] (as it does the timings from
//! [`TIMING_RANGES`](crate::timing::TIMING_RANGES)); the policies' own `problems` methods check
//! a value against the same table, and a controller refuses a policy outside it.
//!
//! `actuated` extends each group's green by that group's passage time, a per-group timing; its
//! own parameters time the gap reduction. `fixed`'s cycle is not a parameter either: it is the sum of the
//! planned greens and each phase's clearance ([`FixedTime::cycle_length`]).
//!
//! [`FixedTime::cycle_length`]: crate::FixedTime::cycle_length

use std::fmt;

use super::PolicyKind;

/// The unit of a policy parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterUnit {
    /// A count of vehicles.
    Vehicles,
    /// A dimensionless ratio.
    Ratio,
    /// Seconds.
    Seconds,
}

impl ParameterUnit {
    /// The unit as written after a value ("vehicles", "" for a ratio, "s").
    pub fn symbol(self) -> &'static str {
        match self {
            ParameterUnit::Vehicles => " vehicles",
            ParameterUnit::Ratio => "",
            ParameterUnit::Seconds => " s",
        }
    }
}

impl fmt::Display for ParameterUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParameterUnit::Vehicles => "vehicles",
            ParameterUnit::Ratio => "ratio",
            ParameterUnit::Seconds => "seconds",
        })
    }
}

/// One policy parameter: where it lives, its unit, accepted range (inclusive) and default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParameterRange {
    /// The policy.
    pub policy: PolicyKind,
    /// The field name, as in the policy's struct.
    pub name: &'static str,
    /// Its unit.
    pub unit: ParameterUnit,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// The built-in default.
    pub default: f64,
    /// What it does, in a sentence.
    pub meaning: &'static str,
}

impl ParameterRange {
    /// Whether `value` is accepted (a number within the range).
    pub fn accepts(&self, value: f64) -> bool {
        value.is_finite() && (self.min..=self.max).contains(&value)
    }

    /// `value` checked against the range.
    pub fn check(&self, value: f64) -> Result<(), ParameterError> {
        if self.accepts(value) {
            Ok(())
        } else {
            Err(ParameterError {
                policy: self.policy,
                name: self.name,
                unit: self.unit,
                value,
                min: self.min,
                max: self.max,
            })
        }
    }
}

const fn param(
    policy: PolicyKind,
    name: &'static str,
    unit: ParameterUnit,
    (min, max, default): (f64, f64, f64),
    meaning: &'static str,
) -> ParameterRange {
    ParameterRange {
        policy,
        name,
        unit,
        min,
        max,
        default,
        meaning,
    }
}

/// Every built-in policy's parameters. The defaults are the policies' `Default`s (a test checks
/// it); why they are what they are is in each policy's documentation.
pub const POLICY_PARAMETERS: [ParameterRange; 9] = [
    param(
        PolicyKind::Fixed,
        "greens",
        ParameterUnit::Seconds,
        (1.0, 600.0, 20.0),
        "each phase's planned green, in phase order; also between that phase's min_green and \
         max_green (the largest of its groups'); the default is clamped to them",
    ),
    param(
        PolicyKind::Compare,
        "margin",
        ParameterUnit::Vehicles,
        (0.0, 100.0, 8.0),
        "how many more vehicles the waiting side's busiest approach needs than the green's \
         before the green is forced off",
    ),
    param(
        PolicyKind::Actuated,
        "time_before_reduction",
        ParameterUnit::Seconds,
        (0.0, 300.0, 5.0),
        "how long a conflicting call waits before the green's allowed gap starts to shrink \
         (gap reduction)",
    ),
    param(
        PolicyKind::Actuated,
        "time_to_reduce",
        ParameterUnit::Seconds,
        (0.0, 300.0, 15.0),
        "over how long the allowed gap then shrinks from the passage time to minimum_gap",
    ),
    param(
        PolicyKind::Actuated,
        "minimum_gap",
        ParameterUnit::Seconds,
        (0.0, 30.0, 1.5),
        "the smallest allowed gap after reduction",
    ),
    param(
        PolicyKind::MaxPressure,
        "ratio",
        ParameterUnit::Ratio,
        (1.0, 10.0, 3.0),
        "a waiting phase forces the green off when its pressure is at least ratio x the \
         green's pressure + margin",
    ),
    param(
        PolicyKind::MaxPressure,
        "margin",
        ParameterUnit::Vehicles,
        (0.0, 100.0, 3.0),
        "see ratio",
    ),
    param(
        PolicyKind::MaxPressure,
        "empty_gap",
        ParameterUnit::Seconds,
        (0.1, 30.0, 1.0),
        "the green gaps out when its detectors have seen no vehicle for this long",
    ),
    param(
        PolicyKind::MaxPressure,
        "stall_gap",
        ParameterUnit::Seconds,
        (0.5, 60.0, 3.0),
        "the green gaps out when vehicles crossed the stop line during it but none has for \
         this long; may be off (None)",
    ),
];

/// The range of `policy`'s parameter `name`.
pub fn parameter_range(policy: PolicyKind, name: &str) -> Option<&'static ParameterRange> {
    POLICY_PARAMETERS
        .iter()
        .find(|p| p.policy == policy && p.name == name)
}

/// The range of a built-in parameter; the table is a constant, so a miss is a bug in this crate.
pub(crate) fn range_of(policy: PolicyKind, name: &str) -> &'static ParameterRange {
    match parameter_range(policy, name) {
        Some(r) => r,
        None => panic!("no range for {policy}.{name} in POLICY_PARAMETERS"),
    }
}

/// A policy parameter outside its accepted range.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "{policy}.{name} is {value}{}; accepted range is {min}{} to {max}{}",
    unit.symbol(),
    unit.symbol(),
    unit.symbol()
)]
pub struct ParameterError {
    /// The policy.
    pub policy: PolicyKind,
    /// The parameter.
    pub name: &'static str,
    /// Its unit.
    pub unit: ParameterUnit,
    /// The rejected value.
    pub value: f64,
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
}
