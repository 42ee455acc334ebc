//! `/metrics`: the latest snapshot in Prometheus' text format (0.0.4), written by the
//! `prometheus` crate's encoder from metric families built off the snapshot at each scrape,
//! so the metrics, the API and the page show the same tick.
//!
//! Why not `prometheus-client`: it writes OpenMetrics text, whose counters (`# TYPE x
//! counter` with samples `x_total`) Prometheus' own `promtool check metrics` (2.42, Debian's)
//! reports as metrics without help; this format passes it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use super::handlers::error;
use super::Context;
use crate::runtime::snapshot::{CameraState, GroupState, Histogram, Snapshot};

/// One value of a family: its labels and what it holds.
enum Value {
    Counter(f64),
    Gauge(f64),
    Histogram(Histogram),
}

/// The families of one scrape, in order.
struct Families(Vec<MetricFamily>);

impl Families {
    /// A family with one value per label set; nothing when there are no values.
    fn add<'a>(
        &mut self,
        name: &str,
        help: &str,
        values: impl IntoIterator<Item = (Option<(&'static str, &'a str)>, Value)>,
    ) {
        let values = values
            .into_iter()
            .map(|(label, value)| (label.into_iter().collect(), value));
        self.add_labelled(name, help, values);
    }

    /// A family whose values have any number of labels each.
    fn add_labelled<'a>(
        &mut self,
        name: &str,
        help: &str,
        values: impl IntoIterator<Item = (Vec<(&'static str, &'a str)>, Value)>,
    ) {
        let mut family = MetricFamily::default();
        family.set_name(name.to_string());
        family.set_help(help.to_string());
        let mut metrics = Vec::new();
        for (label, value) in values {
            let mut metric = proto::Metric::default();
            let pairs: Vec<LabelPair> = label
                .into_iter()
                .map(|(key, val)| {
                    let mut pair = LabelPair::default();
                    pair.set_name(key.to_string());
                    pair.set_value(val.to_string());
                    pair
                })
                .collect();
            if !pairs.is_empty() {
                metric.set_label(pairs);
            }
            match value {
                Value::Counter(v) => {
                    family.set_field_type(MetricType::COUNTER);
                    let mut c = proto::Counter::default();
                    c.set_value(v);
                    metric.set_counter(c);
                }
                Value::Gauge(v) => {
                    family.set_field_type(MetricType::GAUGE);
                    let mut g = proto::Gauge::default();
                    g.set_value(v);
                    metric.set_gauge(g);
                }
                Value::Histogram(h) => {
                    family.set_field_type(MetricType::HISTOGRAM);
                    metric.set_histogram(histogram(&h));
                }
            }
            metrics.push(metric);
        }
        if !metrics.is_empty() {
            family.set_metric(metrics);
            self.0.push(family);
        }
    }

    fn one(&mut self, name: &str, help: &str, value: Value) {
        self.add(name, help, [(None, value)]);
    }
}

fn histogram(h: &Histogram) -> proto::Histogram {
    let mut out = proto::Histogram::default();
    out.set_sample_count(h.count);
    out.set_sample_sum(h.sum);
    let mut cumulative = 0;
    let buckets = h
        .bounds
        .iter()
        .zip(&h.counts)
        .map(|(&bound, &n)| {
            cumulative += n;
            let mut b = proto::Bucket::default();
            b.set_upper_bound(bound);
            b.set_cumulative_count(cumulative);
            b
        })
        .collect();
    out.set_bucket(buckets);
    out
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

/// Every metric of a snapshot.
fn families(s: &Snapshot) -> Vec<MetricFamily> {
    use Value::{Counter, Gauge};
    let mut f = Families(Vec::new());
    f.one(
        "semaforo_ticks_total",
        "Controller ticks since the start",
        Counter(s.tick as f64),
    );
    f.add(
        "semaforo_mode",
        "1 for the controller's current mode",
        ["starting", "normal", "fail-safe", "flash", "stopped"]
            .map(|m| (Some(("mode", m)), Gauge(flag(s.mode == m)))),
    );
    fn camera(c: &CameraState) -> Option<(&'static str, &str)> {
        Some(("camera", c.name.as_str()))
    }
    let cams = &s.cameras;
    f.add(
        "semaforo_camera_frames_total",
        "Frames read per camera",
        cams.iter().map(|c| (camera(c), Counter(c.frames as f64))),
    );
    f.add(
        "semaforo_camera_frames_analysed_total",
        "Frames the detector ran on, per camera",
        cams.iter().map(|c| (camera(c), Counter(c.analysed as f64))),
    );
    f.add(
        "semaforo_camera_frames_dropped_total",
        "Frames skipped because the worker fell behind or a newer frame was waiting",
        cams.iter().map(|c| (camera(c), Counter(c.dropped as f64))),
    );
    f.add(
        "semaforo_camera_working",
        "1 while the camera gives frames and its detector counts",
        cams.iter().map(|c| (camera(c), Gauge(flag(c.working)))),
    );
    f.add(
        "semaforo_camera_last_frame_age_seconds",
        "Seconds since the camera's last frame",
        cams.iter()
            .filter_map(|c| Some((camera(c), Gauge(c.last_frame_age_s?)))),
    );
    f.add(
        "semaforo_detector_latency_seconds",
        "Time the detector took per analysed frame",
        cams.iter()
            .map(|c| (camera(c), Value::Histogram(c.latency.clone()))),
    );
    let zones = || {
        cams.iter()
            .flat_map(|c| c.zones.iter().map(move |z| (c.name.as_str(), z)))
    };
    f.add_labelled(
        "semaforo_zone_covered_ratio",
        "Share of each queue zone the camera's background model sees covered by vehicles",
        zones().map(|(c, z)| (zone_labels(c, &z.zone), Gauge(z.covered))),
    );
    f.add_labelled(
        "semaforo_zone_estimate_vehicles",
        "The covered area of each queue zone in vehicles, sized and calibrated by the network",
        zones().filter_map(|(c, z)| Some((zone_labels(c, &z.zone), Gauge(z.estimate?)))),
    );
    fn zone_labels<'a>(camera: &'a str, zone: &'a str) -> Vec<(&'static str, &'a str)> {
        vec![("camera", camera), ("zone", zone)]
    }
    fn group(g: &GroupState) -> Option<(&'static str, &str)> {
        Some(("group", g.name.as_str()))
    }
    let groups = &s.groups;
    f.add(
        "semaforo_greens_total",
        "Greens started per signal group (the controller's decisions)",
        groups.iter().map(|g| (group(g), Counter(g.greens as f64))),
    );
    f.add(
        "semaforo_green_duration_seconds",
        "Length of each ended green, per signal group",
        groups
            .iter()
            .map(|g| (group(g), Value::Histogram(g.green_durations.clone()))),
    );
    f.add(
        "semaforo_queue_vehicles",
        "Vehicles queued per signal group (groups with working detection)",
        groups
            .iter()
            .filter_map(|g| Some((group(g), Gauge(f64::from(g.count?))))),
    );
    f.add(
        "semaforo_group_on_recall",
        "1 while the group has no working detection and is served on recall",
        groups.iter().map(|g| (group(g), Gauge(flag(g.on_recall)))),
    );
    f.add(
        "semaforo_wait_seconds",
        "How long the group has waited for its green with demand",
        groups.iter().map(|g| (group(g), Gauge(g.wait_s))),
    );
    f.one(
        "semaforo_max_wait_seconds",
        "The longest current wait of any group with demand",
        Gauge(s.max_wait_s),
    );
    let r = &s.resources;
    f.one(
        "semaforo_resident_memory_bytes",
        "Resident memory of the process",
        Gauge((r.rss_mb * 1024.0 * 1024.0).round()),
    );
    f.one(
        "semaforo_open_fds",
        "Open file descriptors of the process",
        Gauge(r.open_fds as f64),
    );
    f.one(
        "semaforo_potential_leaks",
        "Handles still registered whose owner is gone",
        Gauge(r.potential_leaks as f64),
    );
    f.add(
        "semaforo_disk_free_ratio",
        "Free space of the watched directories' file systems, 0 to 1",
        r.disks.iter().map(|d| {
            (
                Some(("path", d.path.as_str())),
                Gauge(d.free_percent / 100.0),
            )
        }),
    );
    let by_link = |value: &dyn Fn(&crate::runtime::snapshot::LinkState) -> f64| {
        s.links
            .iter()
            .map(|l| (Some(("link", l.name.as_str())), value(l)))
            .collect::<Vec<_>>()
    };
    f.add(
        "semaforo_link_connected",
        "1 while the link (tcp, websocket, mqtt) is connected",
        by_link(&|l| flag(l.connected))
            .into_iter()
            .map(|(k, v)| (k, Gauge(v))),
    );
    f.add(
        "semaforo_link_delivered_total",
        "Messages the link's peer acknowledged since the start",
        by_link(&|l| l.delivered as f64)
            .into_iter()
            .map(|(k, v)| (k, Counter(v))),
    );
    f.add(
        "semaforo_link_waiting_messages",
        "Messages in the outbox the link's peer has not acknowledged",
        by_link(&|l| l.waiting as f64)
            .into_iter()
            .map(|(k, v)| (k, Gauge(v))),
    );
    f.one(
        "semaforo_outbox_dropped_total",
        "Messages the outbox dropped to stay within its bound (statuses first)",
        Counter(s.outbox_dropped as f64),
    );
    let mut acting: Vec<(&str, f64)> = Vec::new();
    for a in &s.actions {
        match acting.iter_mut().find(|(check, _)| *check == a.check) {
            Some((_, n)) => *n += 1.0,
            None => acting.push((a.check.as_str(), 1.0)),
        }
    }
    f.add(
        "semaforo_recovery_active",
        "Recoveries the daemon is taking by itself for the check (camera reopened, detector \
         replaced, frame saving stopped, fail-safe plan); see /health",
        acting
            .into_iter()
            .map(|(c, n)| (Some(("check", c)), Gauge(n))),
    );
    f.one(
        "semaforo_recoveries_total",
        "Recoveries begun since the start",
        Counter(s.actions_begun as f64),
    );
    f.one(
        "semaforo_events_total",
        "High-resolution events recorded since the start",
        Counter(s.events.total as f64),
    );
    f.0
}

/// The text of a scrape of `snapshot`.
pub fn render(snapshot: &Snapshot) -> Result<String, prometheus::Error> {
    let mut text = Vec::new();
    TextEncoder::new().encode(&families(snapshot), &mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

pub async fn scrape(State(context): State<Arc<Context>>) -> Response {
    let snapshot = context.snapshots.borrow().clone();
    match render(&snapshot) {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the metrics: {e}"),
        ),
    }
}
