//! `/health`: every check and its state, read off the latest snapshot. `ok`, `degraded` (the
//! intersection runs safely with less: a group on recall, low disk, the orchestrator away) or
//! `failing` (the controller does not tick or flashes, a camera gives no frames); 503 when
//! any check is failing, so a load balancer or a monitoring probe can act on the code alone.
//! It asks for no token: it says what is wrong, not what the intersection does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::Context;
use crate::runtime::snapshot::Snapshot;

/// The controller counts as ticking while its last snapshot is this recent (real time): the
/// tick is 0.1 s, so this is twenty missed ticks.
pub const TICKING_WITHIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Ok,
    Degraded,
    Failing,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub detail: String,
    /// What the daemon is doing about it by itself ("reopening with backoff: 3 failed
    /// attempts ..."), while it does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: CheckState,
    pub checks: Vec<Check>,
}

fn check(name: impl Into<String>, state: CheckState, detail: String) -> Check {
    Check {
        name: name.into(),
        state,
        detail,
        actions: Vec::new(),
    }
}

/// Every check on a snapshot published `age` ago.
pub fn evaluate(s: &Snapshot, age: Duration) -> Health {
    let mut checks = Vec::new();
    let ticking = age <= TICKING_WITHIN;
    let controller = match (ticking, s.mode.as_str()) {
        (false, _) => check(
            "controller",
            CheckState::Failing,
            format!("no tick for {:.1} s (tick {})", age.as_secs_f64(), s.tick),
        ),
        (true, "flash") => check(
            "controller",
            CheckState::Failing,
            "flashing red: the conflict monitor tripped".into(),
        ),
        (true, "fail-safe") => check(
            "controller",
            CheckState::Degraded,
            "fixed-time fail-safe plan: no group has working detection".into(),
        ),
        (true, mode) => check(
            "controller",
            CheckState::Ok,
            format!("ticking (tick {}), {mode} mode, {}", s.tick, s.interval),
        ),
    };
    checks.push(controller);
    for c in &s.cameras {
        let (state, detail) = match c.last_frame_age_s {
            None => (CheckState::Failing, "no frame yet".to_string()),
            Some(age) if age > s.limits.camera_stale_s => {
                (CheckState::Failing, format!("no frame for {age:.1} s"))
            }
            Some(_) if !c.working => (
                CheckState::Failing,
                "frames arrive, but its detector does not count".to_string(),
            ),
            Some(age) => (
                CheckState::Ok,
                format!(
                    "{:.1} frames/s read, {:.1} analysed, last {age:.1} s ago",
                    c.fps_read, c.fps_analysed
                ),
            ),
        };
        checks.push(check(format!("camera {}", c.name), state, detail));
    }
    for g in &s.groups {
        let (state, detail) = match g.count {
            Some(1) => (CheckState::Ok, "1 vehicle queued".to_string()),
            Some(n) => (CheckState::Ok, format!("{n} vehicles queued")),
            None if g.cameras.is_empty() => (
                CheckState::Degraded,
                "no camera watches it: served on recall".to_string(),
            ),
            None => (
                CheckState::Degraded,
                format!(
                    "no working detection (camera {}): served on recall",
                    g.cameras.join(", ")
                ),
            ),
        };
        checks.push(check(format!("detection {}", g.name), state, detail));
    }
    let r = &s.resources;
    let limit = s.limits.memory_limit_mb as f64;
    checks.push(if r.rss_mb > limit {
        check(
            "memory",
            CheckState::Degraded,
            format!("{:.1} MB resident, above the limit of {limit} MB", r.rss_mb),
        )
    } else {
        check(
            "memory",
            CheckState::Ok,
            format!(
                "{:.1} MB resident of {limit} MB, {} open files",
                r.rss_mb, r.open_fds
            ),
        )
    });
    for d in &r.disks {
        let low = d.free_percent < s.limits.min_free_disk_percent;
        checks.push(check(
            format!("disk {}", d.path),
            if low {
                CheckState::Degraded
            } else {
                CheckState::Ok
            },
            format!(
                "{:.1}% free{}",
                d.free_percent,
                if low { ": frames are not saved" } else { "" }
            ),
        ));
    }
    for link in &s.links {
        let name = format!("{} link", link.name);
        checks.push(if link.connected {
            check(
                &name,
                CheckState::Ok,
                format!(
                    "connected to {}, {} delivered, {} waiting",
                    link.target, link.delivered, link.waiting
                ),
            )
        } else {
            check(
                &name,
                CheckState::Degraded,
                format!(
                    "{} unreachable ({}), {} messages waiting in the outbox",
                    link.target,
                    link.problem.as_deref().unwrap_or("connecting"),
                    link.waiting
                ),
            )
        });
    }
    // Health that acts: each recovery under way is shown with the check it answers, which is
    // at least degraded while it lasts.
    for action in &s.actions {
        let text = format!(
            "{}: {} (for {:.0} s)",
            action.action,
            action.detail,
            (s.uptime_s - action.since_s).max(0.0)
        );
        let at = match checks.iter().position(|c| c.name == action.check) {
            Some(at) => at,
            None => {
                checks.push(check(
                    &action.check,
                    CheckState::Degraded,
                    action.action.clone(),
                ));
                checks.len() - 1
            }
        };
        let c = &mut checks[at];
        c.state = c.state.max(CheckState::Degraded);
        c.actions.push(text);
    }
    let status = checks
        .iter()
        .map(|c| c.state)
        .max()
        .unwrap_or(CheckState::Ok);
    Health { status, checks }
}

pub async fn health(State(context): State<Arc<Context>>) -> Response {
    let snapshot = context.snapshots.borrow().clone();
    let health = evaluate(&snapshot, snapshot.published.elapsed());
    let code = if health.status == CheckState::Failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, [(header::CACHE_CONTROL, "no-store")], Json(health)).into_response()
}
