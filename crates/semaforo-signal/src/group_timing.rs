//! Per-group timings: each signal group's own interval lengths and recall mode, and how a phase
//! combines the values of the groups it greens.
//!
//! A signal group is what NEMA calls a phase and European practice a signal group: one movement
//! with its own heads, detector and timing (minimum green, passage, maximum green, yellow change,
//! red clearance, recall). What this crate calls a *phase* is a set of groups that are green
//! together: NEMA's concurrent phases between two barriers (one per ring), or a European stage.
//! A real controller times each group on its own inside a phase:
//!
//! - **Minimum green**: every group shows at least its own minimum green. The phase cannot end
//!   before the last of its groups has done so; for groups that turned green together that is
//!   the *largest* of their minimum greens ([`PhaseTiming::min_green`]). A group that stays green
//!   from the previous phase counts its minimum green from its own start.
//! - **Passage (gap-out)**: each group is extended by its own detector and passage time; the
//!   phase gaps out when *every* group has gapped out. A NEMA phase that is done first waits at
//!   the barrier (still green) until its concurrent phase is done too, so both cross together.
//! - **Maximum green**: each group's maximum green runs from the first conflicting call. For the
//!   same reason (the barrier), the phase maxes out when the last of its groups does: the
//!   *largest* of their maximum greens ([`PhaseTiming::max_green`]).
//! - **Yellow change and red clearance**: each group times its own as its head leaves green
//!   (its hi-res events 8–12 carry its own times). The next phase's greens start when every
//!   ending group has finished its yellow and red clearance, as a barrier crossing waits for both
//!   rings' clearances and an entering stage waits for its intergreens: the change lasts the
//!   *largest* yellow + red clearance of the ending groups (at most
//!   [`PhaseTiming::clearance`]). The conflict monitor checks each group's own yellow, and before
//!   a green each conflicting group's own red clearance.
//! - **Recall** ([`Recall`]), per group: `min` and `max` place a call whenever the group is not
//!   green; `max` also holds the phase green until that group's own maximum green has run (from
//!   the first conflicting call), as a group with no working detector is served. In fixed-time
//!   operation (the `fixed` policy and the fail-safe plan) every group is on recall already and
//!   the plan times the greens, so recall modes change nothing there.
//!
//! The start-up all-red (and the all-red after a conflict monitor reset or a resumed stop) lasts
//! the longest red clearance of any group.
//!
//! [`GroupTimings`] is the validated table, one [`GroupTiming`] per group of an intersection;
//! its validation reports every problem at once, each naming the group, the field, the value and
//! the accepted range ([`GroupTimingError`]). One [`Timings`] for every group is still accepted
//! wherever a table is ([`TimingsByGroup`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::intersection::{Intersection, PhaseId, SignalGroupId};
use crate::time::Secs;
use crate::timing::{TimingError, Timings};

/// A group's recall mode (NEMA recall): whether it is called without detector demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Recall {
    /// `none`: served only on demand (a detector call, or a failed detector).
    #[default]
    None,
    /// `min`: called whenever it is not green, so it is served, for at least its minimum green,
    /// in every cycle.
    Min,
    /// `max`: called whenever it is not green, and once green it holds its phase green to its
    /// own maximum green (timed from the first conflicting call), as a group without a working
    /// detector is served.
    Max,
}

impl Recall {
    /// Every mode.
    pub const ALL: [Recall; 3] = [Recall::None, Recall::Min, Recall::Max];

    /// The name `FromStr` accepts: `none`, `min`, `max`.
    pub fn name(self) -> &'static str {
        match self {
            Recall::None => "none",
            Recall::Min => "min",
            Recall::Max => "max",
        }
    }
}

impl fmt::Display for Recall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A recall mode name that is not one of `none`, `min`, `max`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown recall mode {value:?}; accepted: none, min, max")]
pub struct UnknownRecall {
    /// The rejected name.
    pub value: String,
}

impl FromStr for Recall {
    type Err = UnknownRecall;

    /// Accepts the names case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase();
        Recall::ALL
            .into_iter()
            .find(|r| r.name() == norm)
            .ok_or_else(|| UnknownRecall {
                value: s.to_string(),
            })
    }
}

/// One signal group's timings and recall mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupTiming {
    /// Its minimum green, maximum green, passage, yellow change and red clearance, each within
    /// [`TIMING_RANGES`](crate::timing::TIMING_RANGES), minimum green below maximum green.
    pub timings: Timings,
    /// Its recall mode.
    pub recall: Recall,
}

impl GroupTiming {
    /// `timings` with no recall.
    pub const fn new(timings: Timings) -> Self {
        GroupTiming {
            timings,
            recall: Recall::None,
        }
    }

    /// `self` with recall mode `recall`.
    pub const fn with_recall(self, recall: Recall) -> Self {
        GroupTiming { recall, ..self }
    }

    /// Every problem with these timings (empty when usable), as errors naming `group`.
    pub fn problems(&self, group: &str) -> Vec<GroupTimingError> {
        self.timings
            .problems()
            .into_iter()
            .map(|e| GroupTimingError::of_group(group, e))
            .collect()
    }
}

/// A per-group timing the controller will not run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupTimingError {
    /// A field is outside its accepted range.
    #[error(
        "signal group {group:?}: {field} is {}; accepted range is {} to {}",
        Secs(*value),
        Secs(*min),
        Secs(*max)
    )]
    OutOfRange {
        /// The group.
        group: String,
        /// Field name as in [`Timings`].
        field: &'static str,
        /// The rejected value.
        value: Duration,
        /// Smallest accepted value.
        min: Duration,
        /// Largest accepted value.
        max: Duration,
    },
    /// Minimum green is not below maximum green.
    #[error(
        "signal group {group:?}: min_green ({}) must be less than max_green ({})",
        Secs(*min_green),
        Secs(*max_green)
    )]
    MinGreenNotBelowMaxGreen {
        /// The group.
        group: String,
        /// Its minimum green.
        min_green: Duration,
        /// Its maximum green.
        max_green: Duration,
    },
    /// Not one entry per signal group.
    #[error("{got} per-group timings for {expected} signal groups")]
    GroupCount {
        /// Groups in the intersection.
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// The table was built for another intersection.
    #[error("the per-group timings are for signal groups {table:?}; the intersection has {intersection:?}")]
    OtherIntersection {
        /// The table's groups.
        table: Vec<String>,
        /// The intersection's groups.
        intersection: Vec<String>,
    },
}

impl GroupTimingError {
    fn of_group(group: &str, e: TimingError) -> Self {
        match e {
            TimingError::OutOfRange {
                field,
                value,
                min,
                max,
            } => GroupTimingError::OutOfRange {
                group: group.to_string(),
                field,
                value,
                min,
                max,
            },
            TimingError::MinGreenNotBelowMaxGreen {
                min_green,
                max_green,
            } => GroupTimingError::MinGreenNotBelowMaxGreen {
                group: group.to_string(),
                min_green,
                max_green,
            },
        }
    }

    /// The signal group the error is about, if it is about one.
    pub fn group(&self) -> Option<&str> {
        match self {
            GroupTimingError::OutOfRange { group, .. }
            | GroupTimingError::MinGreenNotBelowMaxGreen { group, .. } => Some(group),
            GroupTimingError::GroupCount { .. } | GroupTimingError::OtherIntersection { .. } => {
                None
            }
        }
    }
}

/// Validated per-group timings for one intersection: one [`GroupTiming`] per signal group, in
/// group order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTimings {
    names: Vec<String>,
    entries: Vec<GroupTiming>,
    /// The longest of every interval in the table: what a group the table does not cover gets.
    strictest: GroupTiming,
}

impl GroupTimings {
    /// One entry per group of `intersection`, in group order. Every problem is reported at once
    /// (never an empty list), each naming its group, field, value and accepted range.
    pub fn new(
        intersection: &Intersection,
        entries: Vec<GroupTiming>,
    ) -> Result<Self, Vec<GroupTimingError>> {
        let names: Vec<String> = intersection
            .groups()
            .iter()
            .map(|g| g.name().to_string())
            .collect();
        let mut problems = Vec::new();
        if entries.len() != names.len() {
            problems.push(GroupTimingError::GroupCount {
                expected: names.len(),
                got: entries.len(),
            });
        }
        for (name, entry) in names.iter().zip(&entries) {
            problems.extend(entry.problems(name));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let strictest = strictest(&entries);
        Ok(GroupTimings {
            names,
            entries,
            strictest,
        })
    }

    /// The same timing for every group of `intersection`.
    pub fn uniform(
        intersection: &Intersection,
        timing: GroupTiming,
    ) -> Result<Self, Vec<GroupTimingError>> {
        Self::new(intersection, vec![timing; intersection.groups().len()])
    }

    /// The entries, in group order.
    pub fn entries(&self) -> &[GroupTiming] {
        &self.entries
    }

    /// The names of the groups the table was built for, in group order.
    pub fn group_names(&self) -> &[String] {
        &self.names
    }

    /// One group's entry (for a group the table does not cover, see [`TimingsByGroup`]).
    pub fn get(&self, group: SignalGroupId) -> &GroupTiming {
        self.entries.get(group.index()).unwrap_or(&self.strictest)
    }

    /// Whether the table was built for `intersection` (the same groups in the same order).
    pub fn fits(&self, intersection: &Intersection) -> bool {
        self.names.len() == intersection.groups().len()
            && self
                .names
                .iter()
                .zip(intersection.groups())
                .all(|(a, b)| a == b.name())
    }

    pub(crate) fn check_fits(&self, intersection: &Intersection) -> Result<(), GroupTimingError> {
        if self.fits(intersection) {
            Ok(())
        } else {
            Err(GroupTimingError::OtherIntersection {
                table: self.names.clone(),
                intersection: intersection
                    .groups()
                    .iter()
                    .map(|g| g.name().to_string())
                    .collect(),
            })
        }
    }
}

fn strictest(entries: &[GroupTiming]) -> GroupTiming {
    let mut t = entries.first().copied().unwrap_or_default().timings;
    for e in entries {
        let e = e.timings;
        t.min_green = t.min_green.max(e.min_green);
        t.max_green = t.max_green.max(e.max_green);
        t.passage = t.passage.max(e.passage);
        t.yellow = t.yellow.max(e.yellow);
        t.red_clearance = t.red_clearance.max(e.red_clearance);
    }
    GroupTiming::new(t)
}

/// Each signal group's timing, looked up by group: a [`GroupTimings`] table, or one [`Timings`]
/// that every group shares (no recall). The conflict monitor, the fixed-time plans and the
/// built-in policies' constructors take either.
pub trait TimingsByGroup {
    /// The timing of `group`. A table asked about a group it does not cover (it was built for
    /// another intersection) answers with the longest of each interval it holds, so a conflict
    /// monitor given the wrong table errs on the strict side; the controller refuses such a
    /// table outright.
    fn timing_of(&self, group: SignalGroupId) -> GroupTiming;
}

impl TimingsByGroup for Timings {
    fn timing_of(&self, _group: SignalGroupId) -> GroupTiming {
        GroupTiming::new(*self)
    }
}

impl TimingsByGroup for GroupTimings {
    fn timing_of(&self, group: SignalGroupId) -> GroupTiming {
        *self.get(group)
    }
}

/// A phase's timing, combined from its groups' as a real controller does (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseTiming {
    /// The largest minimum green of its groups: no phase green that starts all of them ends
    /// earlier.
    pub min_green: Duration,
    /// The largest maximum green of its groups: with a conflicting call waiting, the phase maxes
    /// out this long after the call (or after its green began, if later).
    pub max_green: Duration,
    /// The largest yellow + red clearance of its groups: the longest a change away from it lasts.
    pub clearance: Duration,
    /// The largest maximum green of its groups on [`Recall::Max`], if any: the phase is held
    /// green at least this long after the first conflicting call.
    pub max_recall_hold: Option<Duration>,
}

impl PhaseTiming {
    /// The timing of `phase` of `intersection`, from each of its groups' timing.
    pub fn of<T: TimingsByGroup + ?Sized>(
        intersection: &Intersection,
        timings: &T,
        phase: PhaseId,
    ) -> Self {
        let mut out = PhaseTiming {
            min_green: Duration::ZERO,
            max_green: Duration::ZERO,
            clearance: Duration::ZERO,
            max_recall_hold: None,
        };
        for g in intersection.phase(phase).groups().iter() {
            let GroupTiming { timings: t, recall } = timings.timing_of(g);
            out.min_green = out.min_green.max(t.min_green);
            out.max_green = out.max_green.max(t.max_green);
            out.clearance = out.clearance.max(t.yellow + t.red_clearance);
            if recall == Recall::Max {
                out.max_recall_hold =
                    Some(out.max_recall_hold.unwrap_or_default().max(t.max_green));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intersection::{ConflictSpec, IntersectionSpec, PhaseSpec};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn protected_left() -> Intersection {
        Intersection::from_spec(&IntersectionSpec {
            groups: vec!["NT".into(), "ST".into(), "NL".into(), "E".into()],
            phases: vec![
                PhaseSpec::new("NS", &["NT", "ST"]),
                PhaseSpec::new("N+L", &["NT", "NL"]),
                PhaseSpec::new("E", &["E"]),
            ],
            conflicts: ConflictSpec::UnlessSharingAPhase,
        })
        .unwrap()
    }

    fn timing(min: u64, max: u64, yellow_ms: u64, red_ms: u64, recall: Recall) -> GroupTiming {
        GroupTiming {
            timings: Timings {
                min_green: secs(min),
                max_green: secs(max),
                yellow: Duration::from_millis(yellow_ms),
                red_clearance: Duration::from_millis(red_ms),
                ..Timings::default()
            },
            recall,
        }
    }

    #[test]
    fn a_phase_takes_the_largest_of_its_groups_values() {
        let i = protected_left();
        let t = GroupTimings::new(
            &i,
            vec![
                timing(10, 50, 4_000, 1_000, Recall::Min),
                timing(12, 40, 3_500, 2_500, Recall::None),
                timing(5, 20, 3_000, 1_000, Recall::Max),
                timing(8, 30, 3_000, 2_000, Recall::None),
            ],
        )
        .unwrap();
        let ns = PhaseTiming::of(&i, &t, i.phase_id("NS").unwrap());
        assert_eq!(ns.min_green, secs(12));
        assert_eq!(ns.max_green, secs(50));
        assert_eq!(ns.clearance, Duration::from_millis(6_000));
        assert_eq!(ns.max_recall_hold, None);
        let nl = PhaseTiming::of(&i, &t, i.phase_id("N+L").unwrap());
        assert_eq!(nl.min_green, secs(10));
        assert_eq!(nl.max_green, secs(50));
        assert_eq!(nl.clearance, Duration::from_millis(5_000));
        assert_eq!(nl.max_recall_hold, Some(secs(20)));

        // One `Timings` for every group combines to itself.
        let e = PhaseTiming::of(&i, &Timings::default(), i.phase_id("E").unwrap());
        assert_eq!(
            (e.min_green, e.max_green, e.clearance),
            (secs(10), secs(60), secs(5))
        );
    }

    #[test]
    fn every_problem_is_reported_with_group_field_value_and_range() {
        let i = protected_left();
        let mut bad = timing(30, 20, 500, 11_000, Recall::None);
        bad.timings.passage = secs(31);
        let problems = GroupTimings::new(
            &i,
            vec![
                timing(10, 50, 4_000, 1_000, Recall::Min),
                bad,
                timing(0, 20, 3_000, 1_000, Recall::Max),
            ],
        )
        .unwrap_err();
        let text: Vec<String> = problems.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "3 per-group timings for 4 signal groups",
                "signal group \"ST\": passage is 31 s; accepted range is 0 s to 30 s",
                "signal group \"ST\": yellow is 0.5 s; accepted range is 1 s to 10 s",
                "signal group \"ST\": red_clearance is 11 s; accepted range is 0 s to 10 s",
                "signal group \"ST\": min_green (30 s) must be less than max_green (20 s)",
                "signal group \"NL\": min_green is 0 s; accepted range is 1 s to 300 s",
            ]
        );
        assert_eq!(problems[1].group(), Some("ST"));
        assert!(matches!(
            &problems[1],
            GroupTimingError::OutOfRange {
                field: "passage",
                ..
            }
        ));
    }

    #[test]
    fn recall_modes_parse_and_unknown_ones_list_the_accepted() {
        for r in Recall::ALL {
            assert_eq!(r.name().parse::<Recall>(), Ok(r));
        }
        assert_eq!(" MAX ".parse(), Ok(Recall::Max));
        assert_eq!(
            "soft".parse::<Recall>().unwrap_err().to_string(),
            "unknown recall mode \"soft\"; accepted: none, min, max"
        );
    }

    #[test]
    fn a_table_answers_for_a_group_it_does_not_cover_with_its_longest_intervals() {
        let two = Intersection::two_approach();
        let t = GroupTimings::new(
            &two,
            vec![
                timing(10, 50, 4_000, 1_000, Recall::Min),
                timing(12, 40, 3_000, 2_500, Recall::None),
            ],
        )
        .unwrap();
        let outside = t.timing_of(SignalGroupId(5));
        assert_eq!(outside.timings.yellow, Duration::from_millis(4_000));
        assert_eq!(outside.timings.red_clearance, Duration::from_millis(2_500));
        assert!(t.fits(&two));
        assert!(!t.fits(&Intersection::four_arm_two_phase()));
    }
}
