//! `/api/events`: the recent high-resolution events (the controller's ATSPM log, as
//! `logs/events.csv` has them) as JSON, and `/api/events/stream` (or `/api/events?stream`):
//! the same events live, as Server-Sent Events, each with its `seq` as the event id, so a
//! client that reconnects with `Last-Event-ID` (browsers do) misses nothing the ring still
//! holds.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use semaforo_signal::events::COUNT_CHANNEL_OFFSET;

use super::handlers::error;
use super::Context;
use crate::runtime::snapshot::{EventRecord, EventRing, Snapshot, RECENT_EVENTS};

/// Events `/api/events` returns without `limit`.
const DEFAULT_LIMIT: usize = 100;

/// One event as the API shows it; `group` names the signal group its parameter is about.
fn to_json(record: &EventRecord, ring: &EventRing, snapshot: &Snapshot) -> Value {
    let e = &record.event;
    let code = e.code.0;
    let group_number = match code {
        1..=12 | 43 => Some(e.parameter),
        81..=84 if e.parameter > COUNT_CHANNEL_OFFSET => Some(e.parameter - COUNT_CHANNEL_OFFSET),
        81..=84 => Some(e.parameter),
        _ => None,
    };
    let group = group_number
        .and_then(|n| snapshot.groups.get(usize::from(n).checked_sub(1)?))
        .map(|g| g.name.as_str());
    let wall = ring.epoch.map(|epoch| epoch.wall_time(e.at));
    json!({
        "seq": record.seq,
        "time": wall.map(|w| w.to_string()),
        "time_unix_ms": wall.map(|w| w.0 * 100),
        "code": code,
        "name": e.code.name(),
        "parameter": e.parameter,
        "group": group,
    })
}

/// The query's `name=value` pairs (`stream` alone counts as `stream=`).
fn query_pairs(query: Option<&str>) -> Vec<(&str, &str)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

fn number(name: &str, value: &str, max: u64) -> Result<u64, Box<Response>> {
    let message = || format!("{name}={value}: expected a whole number from 0 to {max}");
    value
        .parse::<u64>()
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| Box::new(error(StatusCode::BAD_REQUEST, message())))
}

/// `GET /api/events[?after=SEQ][&limit=N]`, or the live stream with `?stream`.
pub async fn recent(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    if pairs.iter().any(|(k, _)| *k == "stream") {
        return stream(State(context), headers, RawQuery(query)).await;
    }
    let mut after = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in pairs {
        match key {
            "after" => match number(key, value, u64::MAX) {
                Ok(v) => after = Some(v),
                Err(response) => return *response,
            },
            "limit" => match number(key, value, RECENT_EVENTS as u64) {
                Ok(v) => limit = v as usize,
                Err(response) => return *response,
            },
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter `{other}`: expected after, limit or stream"),
                )
            }
        }
    }
    let snapshot = context.snapshots.borrow().clone();
    let ring = &snapshot.events;
    let matching: Vec<&EventRecord> = ring.after(after).collect();
    let events: Vec<Value> = matching[matching.len().saturating_sub(limit)..]
        .iter()
        .map(|r| to_json(r, ring, &snapshot))
        .collect();
    Json(json!({ "total": ring.total, "kept": RECENT_EVENTS, "events": events })).into_response()
}

/// `GET /api/events/stream[?after=SEQ]`: each new event as an SSE `event` with its seq as id;
/// without `after` (or `Last-Event-ID`) it starts with the next event. A client so slow that
/// the ring moved past it gets a `lagged` event saying how many it missed.
pub async fn stream(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    for (key, value) in query_pairs(query.as_deref()) {
        match key {
            "after" => match number(key, value, u64::MAX) {
                Ok(v) => after = Some(v),
                Err(response) => return *response,
            },
            "stream" => {}
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter `{other}`: expected after"),
                )
            }
        }
    }
    let mut snapshots = context.snapshots.clone();
    let last = after.or_else(|| snapshots.borrow_and_update().events.total.checked_sub(1));
    let state = Live {
        snapshots,
        closing: context.closing.clone(),
        last,
        pending: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(state, |mut live| async move {
        loop {
            if let Some(event) = live.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), live));
            }
            tokio::select! {
                changed = live.snapshots.changed() => if changed.is_err() {
                    return None; // the run loop ended
                },
                _ = live.closing.wait_for(|closing| *closing) => return None,
            }
            let snapshot = live.snapshots.borrow_and_update().clone();
            live.take_new(&snapshot);
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// A live stream's state between events.
struct Live {
    snapshots: crate::runtime::snapshot::Snapshots,
    closing: tokio::sync::watch::Receiver<bool>,
    /// The last event sent.
    last: Option<u64>,
    pending: VecDeque<Event>,
}

impl Live {
    fn take_new(&mut self, snapshot: &Snapshot) {
        let ring = &snapshot.events;
        let oldest = ring.events.front().map(|r| r.seq);
        let first_wanted = self.last.map_or(0, |l| l + 1);
        if let Some(oldest) = oldest.filter(|o| *o > first_wanted) {
            let missed = oldest - first_wanted;
            self.pending.push_back(
                Event::default()
                    .event("lagged")
                    .data(json!({ "missed": missed }).to_string()),
            );
        }
        for record in ring.after(self.last) {
            self.pending.push_back(
                Event::default()
                    .id(record.seq.to_string())
                    .data(to_json(record, ring, snapshot).to_string()),
            );
            self.last = Some(record.seq);
        }
    }
}
