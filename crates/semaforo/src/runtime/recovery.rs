//! Health that acts: the recoveries the daemon is taking by itself, in one ledger.
//!
//! Each recovery answers one health check (`camera b`, `memory`, `disk detection_frames`,
//! `controller`) with an action that really acts: the camera is reopened with backoff, the
//! detector is replaced by the background model, frame saving stops and the frame buffer is
//! emptied, orphaned temporary files are swept, the fixed-time plan runs. Whoever sees the
//! condition (a camera's worker, housekeeping, the signal) says each tick what is being done
//! for its check; the ledger logs an action once when it begins and once when it ends (the
//! attempts and figures in between only update its detail), and the snapshot carries what is
//! active and what ended lately, for `/health` and `/api/status`.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

/// Ended actions kept for `/api/status`.
const ENDED_KEPT: usize = 20;

/// A recovery under way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The health check it answers, as `/health` names it.
    pub check: String,
    /// What is done, in a few words ("reopening with backoff").
    pub action: String,
    /// Why, and how it goes (the error, the attempts, the next try).
    pub detail: String,
    /// When it began, seconds on the loop's clock.
    pub since_s: f64,
}

/// A recovery that ended, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ended {
    #[serde(flatten)]
    pub action: Action,
    pub ended_s: f64,
}

/// The ledger of recoveries.
#[derive(Debug, Default)]
pub struct Recoveries {
    active: Vec<Action>,
    ended: VecDeque<Ended>,
    begun: u64,
}

impl Recoveries {
    /// Says what is being done for `check` by `action` now: `Some(detail)` while it acts,
    /// `None` when it does not (or no longer) act. A beginning is logged as a warning, an end
    /// as information, each once.
    pub fn set(&mut self, now: Duration, check: &str, action: &str, detail: Option<&str>) {
        let at = self
            .active
            .iter()
            .position(|a| a.check == check && a.action == action);
        match (at, detail) {
            // Called every tick: the detail is copied only when it changed.
            (Some(i), Some(detail)) => {
                if self.active[i].detail != detail {
                    self.active[i].detail = detail.to_string();
                }
            }
            (None, Some(detail)) => {
                tracing::warn!("{check}: {action} ({detail})");
                self.begun += 1;
                self.active.push(Action {
                    check: check.to_string(),
                    action: action.to_string(),
                    detail: detail.to_string(),
                    since_s: now.as_secs_f64(),
                });
            }
            (Some(i), None) => {
                let action = self.active.remove(i);
                tracing::info!(
                    "{}: {} ended after {:.1} s",
                    action.check,
                    action.action,
                    now.as_secs_f64() - action.since_s
                );
                if self.ended.len() == ENDED_KEPT {
                    self.ended.pop_front();
                }
                self.ended.push_back(Ended {
                    action,
                    ended_s: now.as_secs_f64(),
                });
            }
            (None, None) => {}
        }
    }

    /// The actions under way, in the order they began.
    pub fn active(&self) -> &[Action] {
        &self.active
    }

    /// Actions begun since the start.
    pub fn begun(&self) -> u64 {
        self.begun
    }

    /// The last ended actions, oldest first.
    pub fn ended(&self) -> impl Iterator<Item = &Ended> {
        self.ended.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_action_begins_updates_and_ends_once() {
        let mut r = Recoveries::default();
        r.set(at(1), "camera b", "reopening with backoff", None);
        assert!(r.active().is_empty(), "nothing to do, nothing recorded");
        r.set(
            at(2),
            "camera b",
            "reopening with backoff",
            Some("attempt 1"),
        );
        r.set(
            at(3),
            "camera b",
            "reopening with backoff",
            Some("attempt 2"),
        );
        r.set(at(3), "memory", "frame saving stopped", Some("600 MB"));
        assert_eq!((r.active().len(), r.begun()), (2, 2));
        assert_eq!(r.active()[0].detail, "attempt 2");
        assert_eq!(r.active()[0].since_s, 2.0, "an update keeps the beginning");
        r.set(at(9), "camera b", "reopening with backoff", None);
        r.set(at(10), "camera b", "reopening with backoff", None);
        assert_eq!(r.active().len(), 1);
        let ended: Vec<_> = r.ended().collect();
        assert_eq!(ended.len(), 1, "ended once");
        assert_eq!((ended[0].action.since_s, ended[0].ended_s), (2.0, 9.0));
    }

    #[test]
    fn the_ended_list_is_bounded() {
        let mut r = Recoveries::default();
        for i in 0..50 {
            r.set(at(i), "memory", "frame saving stopped", Some("over"));
            r.set(at(i), "memory", "frame saving stopped", None);
        }
        assert_eq!(r.ended().count(), ENDED_KEPT);
        assert_eq!(r.ended().next().map(|e| e.ended_s), Some(30.0));
    }
}
