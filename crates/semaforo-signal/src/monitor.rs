//! The conflict monitor: an independent check of every output, latching flashing red on a fault.
//!
//! In a real cabinet the malfunction management unit (MMU, or conflict monitor) watches the
//! load-switch outputs, not the controller's intentions, and puts the intersection into flash
//! when the outputs are unsafe. This module is that second opinion: it sees only the head states
//! the controller is about to show plus the layout's conflict matrix and the clearance times,
//! and shares no code or state with the state machine. It checks that:
//!
//! - no two conflicting groups are ever green or yellow at the same time;
//! - a green is always followed by its yellow (never straight to red), a yellow lasts at least
//!   the group's own yellow time and never returns to green, and red does not jump to yellow;
//! - a group turns green only after every conflicting group has been red for at least that
//!   conflicting group's own red clearance (the all-red that follows its yellow);
//! - every head shows something (dark is a fault) and there is one head state per group.
//!
//! A fault latches: [`ConflictMonitor::check`] keeps returning it until
//! [`ConflictMonitor::reset`], the "explicit reset" a technician performs at the cabinet.

use std::time::Duration;

use crate::group_timing::TimingsByGroup;
use crate::heads::HeadState;
use crate::intersection::Intersection;
use crate::time::{duration_ms, Secs, SignalTime};

/// An unsafe output sequence the monitor caught.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConflictFault {
    /// Two conflicting groups showed green or yellow together.
    #[error("conflict at {at}: signal groups {first:?} ({first_state}) and {second:?} ({second_state}) conflict")]
    Conflict {
        /// When.
        at: SignalTime,
        /// One group.
        first: String,
        /// Its indication.
        first_state: HeadState,
        /// The other group.
        second: String,
        /// Its indication.
        second_state: HeadState,
    },
    /// A group went from green straight to red.
    #[error("at {at}: signal group {group:?} went from green to red without a yellow")]
    GreenWithoutYellow {
        /// When.
        at: SignalTime,
        /// The group.
        group: String,
    },
    /// A yellow ended too soon.
    #[error("at {at}: signal group {group:?} showed yellow for {} (at least {} required)", Secs(*shown), Secs(*required))]
    ShortYellow {
        /// When.
        at: SignalTime,
        /// The group.
        group: String,
        /// How long the yellow was shown.
        shown: Duration,
        /// The group's configured yellow time.
        required: Duration,
    },
    /// A yellow went back to green, or a red went to yellow.
    #[error("at {at}: signal group {group:?} went from {from} to {to}")]
    BadTransition {
        /// When.
        at: SignalTime,
        /// The group.
        group: String,
        /// Previous indication.
        from: HeadState,
        /// New indication.
        to: HeadState,
    },
    /// A group turned green before a conflicting group had been red for the red clearance.
    #[error("at {at}: signal group {group:?} turned green {} after conflicting group {conflicting:?} turned red (red clearance is {})", Secs(*red_for), Secs(*required))]
    ShortRedClearance {
        /// When.
        at: SignalTime,
        /// The group that turned green.
        group: String,
        /// The conflicting group that was cleared too recently.
        conflicting: String,
        /// How long the conflicting group had been red.
        red_for: Duration,
        /// The conflicting group's configured red clearance.
        required: Duration,
    },
    /// A head showed nothing.
    #[error("at {at}: signal group {group:?} is dark")]
    Dark {
        /// When.
        at: SignalTime,
        /// The group.
        group: String,
    },
    /// The output did not have one head state per group.
    #[error("at {at}: {got} head states for {expected} signal groups")]
    HeadCount {
        /// When.
        at: SignalTime,
        /// Groups in the layout.
        expected: usize,
        /// Head states received.
        got: usize,
    },
}

/// What the monitor remembers about one group's indication.
#[derive(Debug, Clone, Copy)]
struct Observed {
    state: HeadState,
    since: SignalTime,
    /// When the group last became red (its yellow ended), for red clearance checks.
    red_since: SignalTime,
}

/// The independent output checker. See the module documentation.
#[derive(Debug, Clone)]
pub struct ConflictMonitor {
    names: Vec<String>,
    /// Row `g`: bit mask of the groups conflicting with `g`, copied from the layout.
    conflict_masks: Vec<u64>,
    /// Each group's own minimum yellow.
    yellow_ms: Vec<u64>,
    /// Each group's own red clearance.
    red_clearance_ms: Vec<u64>,
    observed: Vec<Observed>,
    fault: Option<ConflictFault>,
}

impl ConflictMonitor {
    /// A monitor for `intersection` that assumes every head has shown red since `start`, checking
    /// each group's own yellow and red clearance from `timings`: a per-group table
    /// ([`GroupTimings`](crate::GroupTimings)) or one [`Timings`](crate::Timings) for all.
    pub fn new<T: TimingsByGroup + ?Sized>(
        intersection: &Intersection,
        timings: &T,
        start: SignalTime,
    ) -> Self {
        let n = intersection.groups().len();
        let conflict_masks = intersection
            .group_ids()
            .map(|g| {
                intersection
                    .group_ids()
                    .filter(|&h| intersection.conflicts(g, h))
                    .fold(0u64, |m, h| m | (1u64 << h.index()))
            })
            .collect();
        ConflictMonitor {
            names: intersection
                .groups()
                .iter()
                .map(|g| g.name().to_string())
                .collect(),
            conflict_masks,
            yellow_ms: intersection
                .group_ids()
                .map(|g| duration_ms(timings.timing_of(g).timings.yellow))
                .collect(),
            red_clearance_ms: intersection
                .group_ids()
                .map(|g| duration_ms(timings.timing_of(g).timings.red_clearance))
                .collect(),
            observed: vec![
                Observed {
                    state: HeadState::Red,
                    since: start,
                    red_since: start,
                };
                n
            ],
            fault: None,
        }
    }

    /// The latched fault, if any.
    pub fn fault(&self) -> Option<&ConflictFault> {
        self.fault.as_ref()
    }

    /// Whether a fault is latched (the heads must flash red).
    pub fn is_latched(&self) -> bool {
        self.fault.is_some()
    }

    /// Clears a latched fault. The heads flashed red until `now`, so every group counts as red
    /// since `now`: a controller restarting from all-red must still time a red clearance.
    pub fn reset(&mut self, now: SignalTime) {
        self.fault = None;
        for o in &mut self.observed {
            *o = Observed {
                state: HeadState::Red,
                since: now,
                red_since: now,
            };
        }
    }

    /// Checks the head states about to be shown at `now`. Returns the latched fault, new or old.
    pub fn check(&mut self, now: SignalTime, heads: &[HeadState]) -> Result<(), ConflictFault> {
        if let Some(f) = &self.fault {
            return Err(f.clone());
        }
        match self.find_fault(now, heads) {
            Some(f) => {
                self.fault = Some(f.clone());
                Err(f)
            }
            None => {
                self.record(now, heads);
                Ok(())
            }
        }
    }

    fn find_fault(&self, now: SignalTime, heads: &[HeadState]) -> Option<ConflictFault> {
        if heads.len() != self.observed.len() {
            return Some(ConflictFault::HeadCount {
                at: now,
                expected: self.observed.len(),
                got: heads.len(),
            });
        }
        let mut permissive = 0u64;
        for (g, &h) in heads.iter().enumerate() {
            if h == HeadState::Dark {
                return Some(ConflictFault::Dark {
                    at: now,
                    group: self.names[g].clone(),
                });
            }
            if h.is_permissive() {
                permissive |= 1u64 << g;
            }
        }
        for (g, &h) in heads.iter().enumerate() {
            if !h.is_permissive() {
                continue;
            }
            let clash = self.conflict_masks[g] & permissive;
            if clash != 0 {
                let other = clash.trailing_zeros() as usize;
                return Some(ConflictFault::Conflict {
                    at: now,
                    first: self.names[g].clone(),
                    first_state: h,
                    second: self.names[other].clone(),
                    second_state: heads[other],
                });
            }
        }
        for (g, &h) in heads.iter().enumerate() {
            let before = self.observed[g];
            let from = class(before.state);
            let to = class(h);
            if from == to {
                continue;
            }
            let group = || self.names[g].clone();
            match (from, to) {
                (HeadState::Green, HeadState::Yellow) => {}
                (HeadState::Green, _) => {
                    return Some(ConflictFault::GreenWithoutYellow {
                        at: now,
                        group: group(),
                    })
                }
                (HeadState::Yellow, HeadState::Red) => {
                    let shown = now.as_millis().saturating_sub(before.since.as_millis());
                    if shown < self.yellow_ms[g] {
                        return Some(ConflictFault::ShortYellow {
                            at: now,
                            group: group(),
                            shown: Duration::from_millis(shown),
                            required: Duration::from_millis(self.yellow_ms[g]),
                        });
                    }
                }
                (HeadState::Red, HeadState::Green) => {
                    let mut mask = self.conflict_masks[g];
                    while mask != 0 {
                        let c = mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        let red_for = now
                            .as_millis()
                            .saturating_sub(self.observed[c].red_since.as_millis());
                        if red_for < self.red_clearance_ms[c] {
                            return Some(ConflictFault::ShortRedClearance {
                                at: now,
                                group: group(),
                                conflicting: self.names[c].clone(),
                                red_for: Duration::from_millis(red_for),
                                required: Duration::from_millis(self.red_clearance_ms[c]),
                            });
                        }
                    }
                }
                (from, to) => {
                    return Some(ConflictFault::BadTransition {
                        at: now,
                        group: group(),
                        from,
                        to,
                    })
                }
            }
        }
        None
    }

    fn record(&mut self, now: SignalTime, heads: &[HeadState]) {
        for (o, &h) in self.observed.iter_mut().zip(heads) {
            let to = class(h);
            if class(o.state) != to {
                if to == HeadState::Red {
                    o.red_since = now;
                }
                o.since = now;
            }
            o.state = h;
        }
    }
}

/// Flashing red stops traffic like red; the monitor times them as one.
fn class(h: HeadState) -> HeadState {
    match h {
        HeadState::FlashingRed => HeadState::Red,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::Timings;
    use HeadState::{Dark, Green as G, Red as R, Yellow as Y};

    fn monitor() -> ConflictMonitor {
        ConflictMonitor::new(
            &Intersection::two_approach(),
            &Timings::default(),
            SignalTime::ZERO,
        )
    }

    fn at(s: f64) -> SignalTime {
        SignalTime::from_secs_f64(s)
    }

    /// A correct two-approach sequence: A green, yellow 3 s, all-red 2 s, B green.
    fn good_sequence() -> Vec<(f64, [HeadState; 2])> {
        vec![
            (0.0, [R, R]),
            (2.0, [G, R]),
            (12.0, [Y, R]),
            (15.0, [R, R]),
            (17.0, [R, G]),
            (27.0, [R, Y]),
            (30.0, [R, R]),
            (32.0, [G, R]),
        ]
    }

    #[test]
    fn a_correct_sequence_passes() {
        let mut m = monitor();
        for (t, heads) in good_sequence() {
            assert_eq!(m.check(at(t), &heads), Ok(()), "at {t}");
        }
    }

    #[test]
    fn corrupted_sequences_latch_flash_until_reset() {
        let corruptions: Vec<(usize, [HeadState; 2], &str)> = vec![
            (4, [Y, G], "conflict"),
            (2, [R, R], "without a yellow"),
            (3, [G, R], "from yellow to green"),
        ];
        for (i, bad, want) in corruptions {
            let mut m = monitor();
            let mut seq = good_sequence();
            seq[i].1 = bad;
            let mut tripped_at = None;
            for (k, (t, heads)) in seq.iter().enumerate() {
                let r = m.check(at(*t), heads);
                if let Err(f) = r {
                    assert!(f.to_string().contains(want), "{f}");
                    tripped_at.get_or_insert(k);
                }
            }
            let k = tripped_at.expect("monitor must trip");
            assert_eq!(k, i);
            // Latched: still faulted after correct outputs.
            assert!(m.check(at(100.0), &[R, R]).is_err());
            m.reset(at(100.0));
            assert_eq!(m.check(at(100.0), &[R, R]), Ok(()));
            assert!(
                m.check(at(101.0), &[G, R]).is_err(),
                "red clearance after reset"
            );
        }
    }

    #[test]
    fn short_yellow_and_short_red_clearance_are_faults() {
        let mut m = monitor();
        m.check(at(2.0), &[G, R]).unwrap();
        m.check(at(12.0), &[Y, R]).unwrap();
        let e = m.check(at(14.9), &[R, R]).unwrap_err();
        assert!(e.to_string().contains("yellow for 2.9 s"), "{e}");

        let mut m = monitor();
        m.check(at(2.0), &[G, R]).unwrap();
        m.check(at(12.0), &[Y, R]).unwrap();
        m.check(at(15.0), &[R, R]).unwrap();
        let e = m.check(at(16.5), &[R, G]).unwrap_err();
        assert!(
            e.to_string()
                .contains("turned green 1.5 s after conflicting group \"A\""),
            "{e}"
        );
    }

    #[test]
    fn dark_heads_and_wrong_head_counts_are_faults() {
        let mut m = monitor();
        assert!(matches!(
            m.check(at(1.0), &[R, Dark]),
            Err(ConflictFault::Dark { .. })
        ));
        let mut m = monitor();
        assert!(matches!(
            m.check(at(1.0), &[R]),
            Err(ConflictFault::HeadCount {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn each_group_is_checked_against_its_own_yellow_and_red_clearance() {
        use crate::group_timing::{GroupTiming, GroupTimings};
        let i = Intersection::two_approach();
        let a = Timings {
            yellow: Duration::from_secs(4),
            red_clearance: Duration::from_secs(1),
            ..Timings::default()
        };
        let b = Timings {
            yellow: Duration::from_secs(3),
            red_clearance: Duration::from_secs(3),
            ..Timings::default()
        };
        let t = GroupTimings::new(&i, vec![GroupTiming::new(a), GroupTiming::new(b)]).unwrap();

        // A: 4 s yellow, then B may start after A's own 1 s red clearance.
        let mut m = ConflictMonitor::new(&i, &t, SignalTime::ZERO);
        for (s, heads) in [
            (3.0, [G, R]),
            (13.0, [Y, R]),
            (17.0, [R, R]),
            (18.0, [R, G]),
        ] {
            assert_eq!(m.check(at(s), &heads), Ok(()), "at {s}");
        }
        // B: its yellow of 3 s is enough for B, and A must wait B's own 3 s red clearance.
        assert_eq!(m.check(at(28.0), &[R, Y]), Ok(()));
        assert_eq!(m.check(at(31.0), &[R, R]), Ok(()));
        let e = m.check(at(33.5), &[G, R]).unwrap_err();
        assert!(
            e.to_string()
                .contains("2.5 s after conflicting group \"B\" turned red (red clearance is 3 s)"),
            "{e}"
        );

        // A 3.5 s yellow is short for A (4 s).
        let mut m = ConflictMonitor::new(&i, &t, SignalTime::ZERO);
        m.check(at(3.0), &[G, R]).unwrap();
        m.check(at(13.0), &[Y, R]).unwrap();
        let e = m.check(at(16.5), &[R, R]).unwrap_err();
        assert!(
            e.to_string()
                .contains("yellow for 3.5 s (at least 4 s required)"),
            "{e}"
        );
    }
}
