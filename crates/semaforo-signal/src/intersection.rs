//! The intersection's layout: signal groups, phases and which groups conflict.
//!
//! A *signal group* is one set of heads that always show the same colour (one per approach in
//! the original two-camera system, or one per movement). A *phase* is a set of groups that may be
//! green together. The *conflict matrix* says which groups must never show green or yellow at
//! the same time; the state machine sequences phases and the conflict monitor checks every output
//! against this matrix. Layouts are validated once, when built, so the controller never runs an
//! intersection that greens two conflicting groups.

use std::fmt;

/// The most signal groups (and phases) an intersection may have: sets of them are `u64` masks.
pub const MAX_SIGNAL_GROUPS: usize = 64;

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

/// A layout the controller refuses to run.
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
        /// The limit.
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
        /// The limit.
        max: usize,
    },
    /// An empty group or phase name.
    #[error("a signal group or phase has an empty name")]
    EmptyName,
    /// Two groups share a name.
    #[error("signal group {name:?} is defined twice")]
    DuplicateGroup {
        /// The repeated name.
        name: String,
    },
    /// Two phases share a name.
    #[error("phase {name:?} is defined twice")]
    DuplicatePhase {
        /// The repeated name.
        name: String,
    },
    /// A phase greens no group.
    #[error("phase {phase:?} greens no signal group")]
    EmptyPhase {
        /// The phase.
        phase: String,
    },
    /// A phase names a group that does not exist.
    #[error("phase {phase:?} names signal group {group:?}, which is not defined")]
    UnknownGroupInPhase {
        /// The phase.
        phase: String,
        /// The unknown group name.
        group: String,
    },
    /// A phase lists a group twice.
    #[error("phase {phase:?} lists signal group {group:?} twice")]
    GroupRepeatedInPhase {
        /// The phase.
        phase: String,
        /// The repeated group.
        group: String,
    },
    /// A conflict pair names a group that does not exist.
    #[error("the conflict list names signal group {group:?}, which is not defined")]
    UnknownGroupInConflicts {
        /// The unknown group name.
        group: String,
    },
    /// A group is said to conflict with itself.
    #[error("signal group {group:?} is listed as conflicting with itself")]
    SelfConflict {
        /// The group.
        group: String,
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
    },
    /// A group is in no phase, so it would never be served.
    #[error("signal group {group:?} is in no phase, so it would never get green")]
    GroupNeverServed {
        /// The group.
        group: String,
    },
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

    /// Builds and validates a layout from configuration.
    pub fn from_spec(spec: &IntersectionSpec) -> Result<Self, IntersectionError> {
        let n = spec.groups.len();
        if n == 0 {
            return Err(IntersectionError::NoGroups);
        }
        if n > MAX_SIGNAL_GROUPS {
            return Err(IntersectionError::TooManyGroups {
                count: n,
                max: MAX_SIGNAL_GROUPS,
            });
        }
        if spec.phases.len() < 2 {
            return Err(IntersectionError::TooFewPhases {
                count: spec.phases.len(),
            });
        }
        if spec.phases.len() > MAX_SIGNAL_GROUPS {
            return Err(IntersectionError::TooManyPhases {
                count: spec.phases.len(),
                max: MAX_SIGNAL_GROUPS,
            });
        }
        for (i, name) in spec.groups.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(IntersectionError::EmptyName);
            }
            if spec.groups[..i].contains(name) {
                return Err(IntersectionError::DuplicateGroup { name: name.clone() });
            }
        }
        let lookup = |name: &str| spec.groups.iter().position(|g| g == name);

        let mut phases = Vec::with_capacity(spec.phases.len());
        for (i, p) in spec.phases.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(IntersectionError::EmptyName);
            }
            if spec.phases[..i].iter().any(|q| q.name == p.name) {
                return Err(IntersectionError::DuplicatePhase {
                    name: p.name.clone(),
                });
            }
            if p.groups.is_empty() {
                return Err(IntersectionError::EmptyPhase {
                    phase: p.name.clone(),
                });
            }
            let mut set = GroupSet::EMPTY;
            for g in &p.groups {
                let idx = lookup(g).ok_or_else(|| IntersectionError::UnknownGroupInPhase {
                    phase: p.name.clone(),
                    group: g.clone(),
                })?;
                let id = SignalGroupId(idx as u8);
                if set.contains(id) {
                    return Err(IntersectionError::GroupRepeatedInPhase {
                        phase: p.name.clone(),
                        group: g.clone(),
                    });
                }
                set = set.with(id);
            }
            phases.push(Phase {
                name: p.name.clone(),
                groups: set,
            });
        }

        let mut conflicts = vec![GroupSet::EMPTY; n];
        match &spec.conflicts {
            ConflictSpec::UnlessSharingAPhase => {
                let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
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
                for (a, b) in pairs {
                    let ia = lookup(a).ok_or_else(|| {
                        IntersectionError::UnknownGroupInConflicts { group: a.clone() }
                    })?;
                    let ib = lookup(b).ok_or_else(|| {
                        IntersectionError::UnknownGroupInConflicts { group: b.clone() }
                    })?;
                    if ia == ib {
                        return Err(IntersectionError::SelfConflict { group: a.clone() });
                    }
                    conflicts[ia] = conflicts[ia].with(SignalGroupId(ib as u8));
                    conflicts[ib] = conflicts[ib].with(SignalGroupId(ia as u8));
                }
            }
        }

        for p in &phases {
            for g in p.groups.iter() {
                let clash = GroupSet(conflicts[g.index()].0 & p.groups.0);
                if let Some(other) = clash.iter().next() {
                    return Err(IntersectionError::ConflictingGroupsInPhase {
                        phase: p.name.clone(),
                        first: spec.groups[g.index()].clone(),
                        second: spec.groups[other.index()].clone(),
                    });
                }
            }
        }
        for (g, name) in spec.groups.iter().enumerate() {
            let id = SignalGroupId(g as u8);
            if !phases.iter().any(|p| p.groups.contains(id)) {
                return Err(IntersectionError::GroupNeverServed {
                    group: name.clone(),
                });
            }
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
    fn overlapping_phases_make_shared_groups_compatible() {
        // A right-turn group R runs in both phases, so it conflicts with nothing.
        let s = spec(&["A", "B", "R"], &[("A", &["A", "R"]), ("B", &["B", "R"])]);
        let i = Intersection::from_spec(&s).unwrap();
        let r = i.group_id("R").unwrap();
        assert!(i.conflicts_of(r).is_empty());
        assert!(i.conflicts(i.group_id("A").unwrap(), i.group_id("B").unwrap()));
    }
}
