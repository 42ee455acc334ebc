//! The intersection's layout: signal groups, phases and which groups conflict.
//!
//! A *signal group* is one set of heads that always show the same colour (one per approach in
//! the original two-camera system, or one per movement). A *phase* is a set of groups that may be
//! green together. The *conflict matrix* says which groups must never show green or yellow at
//! the same time; the state machine sequences phases and the conflict monitor checks every output
//! against this matrix. Layouts are validated once, when built, so the controller never runs an
//! intersection that greens two conflicting groups; [`Intersection::from_spec_all`] reports every
//! problem of a configured layout at once, each with the entry it is about ([`SpecEntry`]).
//!
//! An intersection has at most [`MAX_SIGNAL_GROUPS`] groups and [`MAX_PHASES`] phases (64 each:
//! the controller keeps sets of them as bit masks), far more than a real intersection needs: a
//! four-arm crossing with protected lefts is eight vehicle groups in four to eight phases.

use std::fmt;

/// The most signal groups an intersection may have: sets of groups are `u64` masks. (Hi-res
/// events number groups 1 to 64 and their count-line channels 65 to 128, so they fit a byte.)
pub const MAX_SIGNAL_GROUPS: usize = 64;

/// The most phases an intersection may have: sets of phases are `u64` masks too.
pub const MAX_PHASES: usize = 64;

/// Index of a signal group in [`Intersection::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignalGroupId(pub(crate) u8);

impl SignalGroupId {
    /// Position in [`Intersection::groups`] (and in the controller's head and reading slices).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The 1-based number used as the "phase" and detector channel parameter of hi-res events
    /// (ATSPM's NEMA phase is a movement, i.e. one of our signal groups).
    pub fn number(self) -> u8 {
        self.0 + 1
    }
}

/// Index of a phase in [`Intersection::phases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhaseId(pub(crate) u8);

impl PhaseId {
    /// Position in [`Intersection::phases`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A set of signal groups (or, in [`PhaseSet`], phases) as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupSet(pub(crate) u64);

impl GroupSet {
    /// No groups.
    pub const EMPTY: GroupSet = GroupSet(0);

    /// Whether `g` is in the set.
    pub fn contains(self, g: SignalGroupId) -> bool {
        self.0 & (1u64 << g.0) != 0
    }

    /// Number of groups in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The groups in index order.
    pub fn iter(self) -> impl Iterator<Item = SignalGroupId> {
        BitIter(self.0).map(SignalGroupId)
    }

    pub(crate) fn with(self, g: SignalGroupId) -> GroupSet {
        GroupSet(self.0 | (1u64 << g.0))
    }
}

/// A set of phases as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PhaseSet(pub(crate) u64);

impl PhaseSet {
    /// Whether `p` is in the set.
    pub fn contains(self, p: PhaseId) -> bool {
        self.0 & (1u64 << p.0) != 0
    }

    /// Number of phases in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The phases in index order.
    pub fn iter(self) -> impl Iterator<Item = PhaseId> {
        BitIter(self.0).map(PhaseId)
    }
}

struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as u8;
        self.0 &= self.0 - 1;
        Some(i)
    }
}

/// One signal group: heads that always show the same indication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalGroup {
    name: String,
}

impl SignalGroup {
    /// The group's name ("A", "N", a SUMO link index...).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One phase: the groups it greens together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    name: String,
    groups: GroupSet,
}

impl Phase {
    /// The phase's name ("A", "NS"...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The groups this phase greens.
    pub fn groups(&self) -> GroupSet {
        self.groups
    }
}

/// How a specification says which groups conflict.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConflictSpec {
    /// Two groups conflict unless some phase greens both. Right for layouts read from a signal
    /// program (e.g. SUMO's), where phases are the only record of what may run together.
    #[default]
    UnlessSharingAPhase,
    /// Exactly these pairs conflict (by group name); all other pairs are compatible.
    Pairs(Vec<(String, String)>),
}

/// An intersection layout as configuration describes it, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntersectionSpec {
    /// Signal group names, in the order detector readings and heads use.
    pub groups: Vec<String>,
    /// Phases, in the order the fixed-time plan and actuated control cycle through them.
    pub phases: Vec<PhaseSpec>,
    /// Which groups conflict.
    pub conflicts: ConflictSpec,
}

/// One phase of an [`IntersectionSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseSpec {
    /// Phase name.
    pub name: String,
    /// Names of the groups it greens.
    pub groups: Vec<String>,
}

impl PhaseSpec {
    /// A phase named `name` greening `groups`.
    pub fn new(name: &str, groups: &[&str]) -> Self {
        PhaseSpec {
            name: name.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// The entry of an [`IntersectionSpec`] a layout error is about, so that a configuration loader
/// can point at the line that holds it. Indices are positions in the spec's lists (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecEntry {
    /// The group list as a whole (empty, too long).
    Groups,
    /// `spec.groups[i]`.
    Group(usize),
    /// The phase list as a whole (too short, too long).
    Phases,
    /// `spec.phases[i]`.
    Phase(usize),
    /// The `i`-th pair of [`ConflictSpec::Pairs`].
    Conflict(usize),
}

impl fmt::Display for SpecEntry {
    /// In words, numbered from 1 as a person counts entries: "phase 3".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecEntry::Groups => f.write_str("the signal group list"),
            SpecEntry::Group(i) => write!(f, "signal group {}", i + 1),
            SpecEntry::Phases => f.write_str("the phase list"),
            SpecEntry::Phase(i) => write!(f, "phase {}", i + 1),
            SpecEntry::Conflict(i) => write!(f, "conflict pair {}", i + 1),
        }
    }
}

/// A layout the controller refuses to run. [`IntersectionError::entry`] says which entry of the
/// spec it is about; [`Intersection::from_spec_all`] reports every one at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntersectionError {
    /// No signal groups.
    #[error("the intersection has no signal groups")]
    NoGroups,
    /// More groups than a mask holds.
    #[error("the intersection has {count} signal groups; at most {max} are supported")]
    TooManyGroups {
        /// Groups configured.
        count: usize,
        /// The limit, [`MAX_SIGNAL_GROUPS`].
        max: usize,
    },
    /// Fewer than two phases: nothing to alternate.
    #[error("the intersection has {count} phase(s); at least 2 are needed")]
    TooFewPhases {
        /// Phases configured.
        count: usize,
    },
    /// More phases than a mask holds.
    #[error("the intersection has {count} phases; at most {max} are supported")]
    TooManyPhases {
        /// Phases configured.
        count: usize,
        /// The limit, [`MAX_PHASES`].
        max: usize,
    },
    /// An empty (or all-blank) group or phase name.
    #[error("{entry} has an empty name")]
    EmptyName {
        /// The group or phase.
        entry: SpecEntry,
    },
    /// Two groups share a name.
    #[error("signal group {name:?} is defined twice")]
    DuplicateGroup {
        /// The repeated name.
        name: String,
        /// Position of the repetition in `spec.groups`.
        index: usize,
    },
    /// Two phases share a name.
    #[error("phase {name:?} is defined twice")]
    DuplicatePhase {
        /// The repeated name.
        name: String,
        /// Position of the repetition in `spec.phases`.
        index: usize,
    },
    /// A phase greens no group.
    #[error("phase {phase:?} greens no signal group")]
    EmptyPhase {
        /// The phase.
        phase: String,
        /// Its position in `spec.phases`.
        index: usize,
    },
    /// A phase names a group that does not exist.
    #[error("phase {phase:?} names signal group {group:?}, which is not defined")]
    UnknownGroupInPhase {
        /// The phase.
        phase: String,
        /// The unknown group name.
        group: String,
        /// The phase's position in `spec.phases`.
        index: usize,
    },
    /// A phase lists a group twice.
    #[error("phase {phase:?} lists signal group {group:?} twice")]
    GroupRepeatedInPhase {
        /// The phase.
        phase: String,
        /// The repeated group.
        group: String,
        /// The phase's position in `spec.phases`.
        index: usize,
    },
    /// A conflict pair names a group that does not exist.
    #[error("the conflict list names signal group {group:?}, which is not defined")]
    UnknownGroupInConflicts {
        /// The unknown group name.
        group: String,
        /// The pair's position in [`ConflictSpec::Pairs`].
        index: usize,
    },
    /// A group is said to conflict with itself.
    #[error("signal group {group:?} is listed as conflicting with itself")]
    SelfConflict {
        /// The group.
        group: String,
        /// The pair's position in [`ConflictSpec::Pairs`].
        index: usize,
    },
    /// A phase greens two conflicting groups.
    #[error("phase {phase:?} greens signal groups {first:?} and {second:?}, which conflict")]
    ConflictingGroupsInPhase {
        /// The phase.
        phase: String,
        /// One of the two groups.
        first: String,
        /// The other group.
        second: String,
        /// The phase's position in `spec.phases`.
        index: usize,
    },
    /// A group is in no phase, so it would never be served.
    #[error("signal group {group:?} is in no phase, so it would never get green")]
    GroupNeverServed {
        /// The group.
        group: String,
        /// Its position in `spec.groups`.
        index: usize,
    },
}

impl IntersectionError {
    /// The entry of the spec this error is about.
    pub fn entry(&self) -> SpecEntry {
        use IntersectionError as E;
        match self {
            E::NoGroups | E::TooManyGroups { .. } => SpecEntry::Groups,
            E::TooFewPhases { .. } | E::TooManyPhases { .. } => SpecEntry::Phases,
            E::EmptyName { entry } => *entry,
            E::DuplicateGroup { index, .. } | E::GroupNeverServed { index, .. } => {
                SpecEntry::Group(*index)
            }
            E::DuplicatePhase { index, .. }
            | E::EmptyPhase { index, .. }
            | E::UnknownGroupInPhase { index, .. }
            | E::GroupRepeatedInPhase { index, .. }
            | E::ConflictingGroupsInPhase { index, .. } => SpecEntry::Phase(*index),
            E::UnknownGroupInConflicts { index, .. } | E::SelfConflict { index, .. } => {
                SpecEntry::Conflict(*index)
            }
        }
    }
}

/// A validated intersection layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intersection {
    groups: Vec<SignalGroup>,
    phases: Vec<Phase>,
    /// `conflicts[g]` is the set of groups that conflict with group `g`.
    conflicts: Vec<GroupSet>,
}

impl Intersection {
    /// The original system: two one-way streets crossing, groups `A` and `B` (conflicting),
    /// phases `A` and `B`.
    pub fn two_approach() -> Self {
        Self::built_in(&["A", "B"], &[("A", &["A"]), ("B", &["B"])])
    }

    /// A four-arm intersection run in two phases: groups `N`, `S`, `E`, `W`; phase `NS` greens
    /// north and south, phase `EW` east and west; north-south conflicts with east-west.
    pub fn four_arm_two_phase() -> Self {
        Self::built_in(
            &["N", "S", "E", "W"],
            &[("NS", &["N", "S"]), ("EW", &["E", "W"])],
        )
    }

    fn built_in(groups: &[&str], phases: &[(&str, &[&str])]) -> Self {
        let spec = IntersectionSpec {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            phases: phases.iter().map(|(n, g)| PhaseSpec::new(n, g)).collect(),
            conflicts: ConflictSpec::UnlessSharingAPhase,
        };
        match Self::from_spec(&spec) {
            Ok(i) => i,
            // The built-in layouts are constants checked by tests.
            Err(e) => panic!("built-in intersection is invalid: {e}"),
        }
    }

    /// Builds and validates a layout from configuration; on failure, the first problem
    /// ([`Intersection::from_spec_all`] reports them all).
    pub fn from_spec(spec: &IntersectionSpec) -> Result<Self, IntersectionError> {
        Self::from_spec_all(spec).map_err(|mut problems| problems.swap_remove(0))
    }

    /// Builds and validates a layout from configuration, reporting every problem at once (never
    /// an empty list), each naming the group, phase or conflict pair it is about and its
    /// position in the spec ([`IntersectionError::entry`]), so a configuration loader can show
    /// each with the line of the offending entry.
    pub fn from_spec_all(spec: &IntersectionSpec) -> Result<Self, Vec<IntersectionError>> {
        type E = IntersectionError;
        let mut problems = Vec::new();
        let n = spec.groups.len();
        if n == 0 {
            problems.push(E::NoGroups);
        }
        // Group sets are u64 masks: with too many groups, the checks that need them are skipped.
        let masks_fit = n <= MAX_SIGNAL_GROUPS;
        if !masks_fit {
            problems.push(E::TooManyGroups {
                count: n,
                max: MAX_SIGNAL_GROUPS,
            });
        }
        if spec.phases.len() < 2 {
            problems.push(E::TooFewPhases {
                count: spec.phases.len(),
            });
        }
        if spec.phases.len() > MAX_PHASES {
            problems.push(E::TooManyPhases {
                count: spec.phases.len(),
                max: MAX_PHASES,
            });
        }
        for (i, name) in spec.groups.iter().enumerate() {
            if name.trim().is_empty() {
                problems.push(E::EmptyName {
                    entry: SpecEntry::Group(i),
                });
            } else if spec.groups[..i].contains(name) {
                problems.push(E::DuplicateGroup {
                    name: name.clone(),
                    index: i,
                });
            }
        }
        let lookup = |name: &str| spec.groups.iter().position(|g| g == name);

        let mut phases = Vec::with_capacity(spec.phases.len());
        for (i, p) in spec.phases.iter().enumerate() {
            if p.name.trim().is_empty() {
                problems.push(E::EmptyName {
                    entry: SpecEntry::Phase(i),
                });
            } else if spec.phases[..i].iter().any(|q| q.name == p.name) {
                problems.push(E::DuplicatePhase {
                    name: p.name.clone(),
                    index: i,
                });
            }
            if p.groups.is_empty() {
                problems.push(E::EmptyPhase {
                    phase: p.name.clone(),
                    index: i,
                });
            }
            let mut set = GroupSet::EMPTY;
            let mut listed: Vec<usize> = Vec::with_capacity(p.groups.len());
            for g in &p.groups {
                let Some(idx) = lookup(g) else {
                    problems.push(E::UnknownGroupInPhase {
                        phase: p.name.clone(),
                        group: g.clone(),
                        index: i,
                    });
                    continue;
                };
                if listed.contains(&idx) {
                    problems.push(E::GroupRepeatedInPhase {
                        phase: p.name.clone(),
                        group: g.clone(),
                        index: i,
                    });
                    continue;
                }
                listed.push(idx);
                if masks_fit {
                    set = set.with(SignalGroupId(idx as u8));
                }
            }
            phases.push(Phase {
                name: p.name.clone(),
                groups: set,
            });
        }

        let mut conflicts = vec![GroupSet::EMPTY; if masks_fit { n } else { 0 }];
        match &spec.conflicts {
            ConflictSpec::UnlessSharingAPhase => {
                let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
                for (g, c) in conflicts.iter_mut().enumerate() {
                    let id = SignalGroupId(g as u8);
                    let mut compatible = 1u64 << g;
                    for p in &phases {
                        if p.groups.contains(id) {
                            compatible |= p.groups.0;
                        }
                    }
                    *c = GroupSet(all & !compatible);
                }
            }
            ConflictSpec::Pairs(pairs) => {
                for (k, (a, b)) in pairs.iter().enumerate() {
                    let ia = lookup(a);
                    let ib = lookup(b);
                    for (name, found) in [(a, ia), (b, ib)] {
                        if found.is_none() {
                            problems.push(E::UnknownGroupInConflicts {
                                group: name.clone(),
                                index: k,
                            });
                        }
                    }
                    let (Some(ia), Some(ib)) = (ia, ib) else {
                        continue;
                    };
                    if ia == ib {
                        problems.push(E::SelfConflict {
                            group: a.clone(),
                            index: k,
                        });
                    } else if masks_fit {
                        conflicts[ia] = conflicts[ia].with(SignalGroupId(ib as u8));
                        conflicts[ib] = conflicts[ib].with(SignalGroupId(ia as u8));
                    }
                }
            }
        }

        if masks_fit {
            for (i, p) in phases.iter().enumerate() {
                for g in p.groups.iter() {
                    let clash = GroupSet(conflicts[g.index()].0 & p.groups.0);
                    for other in clash.iter().filter(|o| *o > g) {
                        problems.push(E::ConflictingGroupsInPhase {
                            phase: p.name.clone(),
                            first: spec.groups[g.index()].clone(),
                            second: spec.groups[other.index()].clone(),
                            index: i,
                        });
                    }
                }
            }
            for (g, name) in spec.groups.iter().enumerate() {
                let id = SignalGroupId(g as u8);
                let duplicate = spec.groups[..g].contains(name);
                if !duplicate && !phases.iter().any(|p| p.groups.contains(id)) {
                    problems.push(E::GroupNeverServed {
                        group: name.clone(),
                        index: g,
                    });
                }
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Intersection {
            groups: spec
                .groups
                .iter()
                .map(|name| SignalGroup { name: name.clone() })
                .collect(),
            phases,
            conflicts,
        })
    }

    /// The signal groups, in reading and head order.
    pub fn groups(&self) -> &[SignalGroup] {
        &self.groups
    }

    /// The phases, in cycle order.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// One signal group.
    pub fn group(&self, id: SignalGroupId) -> &SignalGroup {
        &self.groups[id.index()]
    }

    /// One phase.
    pub fn phase(&self, id: PhaseId) -> &Phase {
        &self.phases[id.index()]
    }

    /// The group called `name`.
    pub fn group_id(&self, name: &str) -> Option<SignalGroupId> {
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| SignalGroupId(i as u8))
    }

    /// The group whose [`SignalGroupId::number`] is `number` (as hi-res events carry it).
    pub fn group_by_number(&self, number: u8) -> Option<SignalGroupId> {
        let index = usize::from(number.checked_sub(1)?);
        (index < self.groups.len()).then_some(SignalGroupId(index as u8))
    }

    /// The phase called `name`.
    pub fn phase_id(&self, name: &str) -> Option<PhaseId> {
        self.phases
            .iter()
            .position(|p| p.name == name)
            .map(|i| PhaseId(i as u8))
    }

    /// All group ids, in order.
    pub fn group_ids(&self) -> impl Iterator<Item = SignalGroupId> {
        (0..self.groups.len() as u8).map(SignalGroupId)
    }

    /// All phase ids, in order.
    pub fn phase_ids(&self) -> impl Iterator<Item = PhaseId> {
        (0..self.phases.len() as u8).map(PhaseId)
    }

    /// Whether groups `a` and `b` must never show green or yellow together.
    pub fn conflicts(&self, a: SignalGroupId, b: SignalGroupId) -> bool {
        self.conflicts[a.index()].contains(b)
    }

    /// The groups that conflict with `g`.
    pub fn conflicts_of(&self, g: SignalGroupId) -> GroupSet {
        self.conflicts[g.index()]
    }
}

impl fmt::Display for Intersection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.phases.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{}:", p.name)?;
            for g in p.groups.iter() {
                write!(f, " {}", self.groups[g.index()].name)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(groups: &[&str], phases: &[(&str, &[&str])]) -> IntersectionSpec {
        IntersectionSpec {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            phases: phases.iter().map(|(n, g)| PhaseSpec::new(n, g)).collect(),
            conflicts: ConflictSpec::UnlessSharingAPhase,
        }
    }

    #[test]
    fn built_ins_have_the_documented_layout() {
        let two = Intersection::two_approach();
        let a = two.group_id("A").unwrap();
        let b = two.group_id("B").unwrap();
        assert!(two.conflicts(a, b));
        assert_eq!(two.to_string(), "A: A | B: B");
        assert_eq!(two.group_by_number(2), Some(b));
        assert_eq!(two.group_by_number(0), None);
        assert_eq!(two.group_by_number(3), None);

        let four = Intersection::four_arm_two_phase();
        let n = four.group_id("N").unwrap();
        let s = four.group_id("S").unwrap();
        let e = four.group_id("E").unwrap();
        assert!(!four.conflicts(n, s));
        assert!(four.conflicts(n, e));
        assert_eq!(four.to_string(), "NS: N S | EW: E W");
    }

    #[test]
    fn a_phase_greening_conflicting_groups_names_both() {
        let mut s = spec(
            &["N", "S", "E"],
            &[("NS", &["N", "S"]), ("NE", &["N", "E"])],
        );
        s.conflicts = ConflictSpec::Pairs(vec![("N".into(), "E".into())]);
        let e = Intersection::from_spec(&s).unwrap_err();
        assert_eq!(
            e.to_string(),
            "phase \"NE\" greens signal groups \"N\" and \"E\", which conflict"
        );
    }

    #[test]
    fn layout_errors_name_what_is_wrong() {
        let cases: Vec<(IntersectionSpec, &str)> = vec![
            (spec(&[], &[]), "no signal groups"),
            (spec(&["A"], &[("A", &["A"])]), "1 phase(s)"),
            (
                spec(&["A", "A"], &[("A", &["A"]), ("B", &["A"])]),
                "\"A\" is defined twice",
            ),
            (
                spec(&["A", "B"], &[("A", &["A"]), ("B", &["C"])]),
                "phase \"B\" names signal group \"C\"",
            ),
            (
                spec(&["A", "B", "C"], &[("A", &["A"]), ("B", &["B"])]),
                "\"C\" is in no phase",
            ),
            (
                spec(&["A", "B"], &[("A", &["A"]), ("B", &[])]),
                "phase \"B\" greens no signal group",
            ),
            (
                spec(&["A", "B"], &[("A", &["A", "A"]), ("B", &["B"])]),
                "lists signal group \"A\" twice",
            ),
        ];
        for (s, want) in cases {
            let e = Intersection::from_spec(&s).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }

    #[test]
    fn every_layout_problem_is_reported_at_once_with_its_entry() {
        let mut s = spec(
            &["N", "S", "E", "W", "N", "X"],
            &[
                ("NS", &["N", "S", "Q"]),
                ("EW", &["E", "W", "E"]),
                ("NE", &["N", "E"]),
                ("", &[]),
            ],
        );
        s.conflicts = ConflictSpec::Pairs(vec![
            ("N".into(), "E".into()),
            ("S".into(), "S".into()),
            ("W".into(), "Z".into()),
        ]);
        let problems = Intersection::from_spec_all(&s).unwrap_err();
        let got: Vec<(String, SpecEntry)> = problems
            .iter()
            .map(|e| (e.to_string(), e.entry()))
            .collect();
        let want = [
            ("signal group \"N\" is defined twice", SpecEntry::Group(4)),
            (
                "phase \"NS\" names signal group \"Q\", which is not defined",
                SpecEntry::Phase(0),
            ),
            (
                "phase \"EW\" lists signal group \"E\" twice",
                SpecEntry::Phase(1),
            ),
            ("phase 4 has an empty name", SpecEntry::Phase(3)),
            ("phase \"\" greens no signal group", SpecEntry::Phase(3)),
            (
                "signal group \"S\" is listed as conflicting with itself",
                SpecEntry::Conflict(1),
            ),
            (
                "the conflict list names signal group \"Z\", which is not defined",
                SpecEntry::Conflict(2),
            ),
            (
                "phase \"NE\" greens signal groups \"N\" and \"E\", which conflict",
                SpecEntry::Phase(2),
            ),
            (
                "signal group \"X\" is in no phase, so it would never get green",
                SpecEntry::Group(5),
            ),
        ];
        let want: Vec<(String, SpecEntry)> =
            want.iter().map(|(m, e)| (m.to_string(), *e)).collect();
        assert_eq!(got, want);
        // `from_spec` reports the first of them.
        assert_eq!(Intersection::from_spec(&s).unwrap_err(), problems[0]);
    }

    #[test]
    fn the_limits_are_the_masks_and_are_reported_with_the_list() {
        let names: Vec<String> = (0..=MAX_SIGNAL_GROUPS).map(|i| format!("G{i}")).collect();
        let s = IntersectionSpec {
            groups: names.clone(),
            phases: names
                .iter()
                .map(|n| PhaseSpec {
                    name: n.clone(),
                    groups: vec![n.clone()],
                })
                .collect(),
            conflicts: ConflictSpec::UnlessSharingAPhase,
        };
        let problems = Intersection::from_spec_all(&s).unwrap_err();
        assert_eq!(
            problems,
            vec![
                IntersectionError::TooManyGroups { count: 65, max: 64 },
                IntersectionError::TooManyPhases { count: 65, max: 64 },
            ]
        );
        assert_eq!(problems[0].entry(), SpecEntry::Groups);
        assert_eq!(problems[1].entry(), SpecEntry::Phases);

        // 64 groups in 64 phases is accepted, every pair conflicting.
        let s = IntersectionSpec {
            groups: names[..MAX_PHASES].to_vec(),
            phases: s.phases[..MAX_PHASES].to_vec(),
            conflicts: ConflictSpec::UnlessSharingAPhase,
        };
        let i = Intersection::from_spec(&s).unwrap();
        let last = i.group_id("G63").unwrap();
        assert_eq!(i.conflicts_of(last).len(), 63);
        assert_eq!(last.number(), 64);
    }

    #[test]
    fn overlapping_phases_make_shared_groups_compatible() {
        // A right-turn group R runs in both phases, so it conflicts with nothing.
        let s = spec(&["A", "B", "R"], &[("A", &["A", "R"]), ("B", &["B", "R"])]);
        let i = Intersection::from_spec(&s).unwrap();
        let r = i.group_id("R").unwrap();
        assert!(i.conflicts_of(r).is_empty());
        assert!(i.conflicts(i.group_id("A").unwrap(), i.group_id("B").unwrap()));
    }
}
