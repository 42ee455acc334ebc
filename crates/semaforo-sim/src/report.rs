//! The evaluation's outputs: the table, the JSON document and the delay-over-time SVG.

use std::fmt::Write as _;
use std::path::PathBuf;

use semaforo_signal::{GroupTiming, Recall, Timings};

use crate::detection_errors::DetectionErrors;
use crate::metrics::{RunMetrics, SERIES_BIN_S};

/// One contender's runs on one scenario.
#[derive(Debug, Clone)]
pub struct ContenderRuns {
    /// `max-pressure`, `sumo-actuated`...
    pub name: &'static str,
    /// Whether it is semaforo's controller (not one of SUMO's programs).
    pub semaforo: bool,
    /// (seed, figures).
    pub runs: Vec<(u64, RunMetrics)>,
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// Scenario name.
    pub scenario: String,
    /// The network's file name.
    pub net: String,
    /// The demand's file names.
    pub routes: Vec<String>,
    /// The traffic lights semaforo drives.
    pub lights: Vec<String>,
    /// When the runs began, simulated seconds.
    pub begin_s: f64,
    /// Simulated seconds per run.
    pub duration_s: f64,
    /// The timings semaforo's policies ran with.
    pub timings: Timings,
    /// Where the yellow and red clearance came from.
    pub timing_source: String,
    /// The configuration file semaforo's intersection, per-group timings and policy parameters
    /// came from (`semaforo sim --config`); `None`: the network's program and the flags.
    pub configuration: Option<PathBuf>,
    /// With a configuration, each signal group's own timings (name, timing), in the light's
    /// group order; empty otherwise (`timings` serves every group).
    pub group_timings: Vec<(String, GroupTiming)>,
    /// The counting errors drawn into what semaforo's policies saw (`--detection-errors`;
    /// none: SUMO's exact counts).
    pub detection_errors: DetectionErrors,
    /// The contenders, in run order.
    pub contenders: Vec<ContenderRuns>,
}

/// A contender's figures over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Mean over seeds of the mean delay, s.
    pub mean_delay_s: f64,
    /// Mean over seeds of the 95th-percentile wait, s.
    pub p95_wait_s: f64,
    /// Longest wait in any seed, s.
    pub max_wait_s: f64,
    /// Mean vehicles served per run.
    pub throughput: f64,
    /// Mean queue.
    pub mean_queue: f64,
    /// Mean vehicles counted per run (inserted or not).
    pub vehicles: f64,
    /// Mean vehicles never inserted per run.
    pub not_inserted: f64,
    /// Mean teleports per run.
    pub teleports: f64,
    /// Conflicting greens, all seeds.
    pub conflicts: u64,
    /// Sequence faults, all seeds.
    pub sequence_faults: u64,
}

impl ContenderRuns {
    /// The figures over the seeds.
    pub fn summary(&self) -> Summary {
        let n = self.runs.len().max(1) as f64;
        let mean =
            |f: &dyn Fn(&RunMetrics) -> f64| self.runs.iter().map(|(_, m)| f(m)).sum::<f64>() / n;
        Summary {
            mean_delay_s: mean(&|m| m.mean_delay_s),
            p95_wait_s: mean(&|m| m.p95_wait_s),
            max_wait_s: self
                .runs
                .iter()
                .map(|(_, m)| m.max_wait_s)
                .fold(0.0, f64::max),
            throughput: mean(&|m| m.throughput as f64),
            mean_queue: mean(&|m| m.mean_queue),
            vehicles: mean(&|m| m.vehicles as f64),
            not_inserted: mean(&|m| m.not_inserted as f64),
            teleports: mean(&|m| m.teleports as f64),
            conflicts: self.runs.iter().map(|(_, m)| m.conflicts).sum(),
            sequence_faults: self.runs.iter().map(|(_, m)| m.sequence_faults).sum(),
        }
    }

    /// Mean delay per departure-time bin, over all seeds' vehicles.
    pub fn series(&self) -> Vec<Option<f64>> {
        let bins = self
            .runs
            .iter()
            .map(|(_, m)| m.series.len())
            .max()
            .unwrap_or(0);
        (0..bins)
            .map(|b| {
                let (sum, n) = self
                    .runs
                    .iter()
                    .filter_map(|(_, m)| m.series.get(b))
                    .fold((0.0, 0u64), |(s, n), (bs, bn)| (s + bs, n + bn));
                (n > 0).then(|| sum / n as f64)
            })
            .collect()
    }
}

/// A mean count: whole when it is, else with one decimal.
fn count(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A long id cut to its first and last characters, for the table's header line.
fn short_id(id: &str) -> String {
    const KEEP: usize = 12;
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 2 * KEEP + 1 {
        return id.to_string();
    }
    let head: String = chars[..KEEP].iter().collect();
    let tail: String = chars[chars.len() - KEEP..].iter().collect();
    format!("{head}…{tail}")
}

/// A semaforo policy whose longest wait is over this many times the baseline's is flagged.
pub const MAX_WAIT_FACTOR: f64 = 2.0;

/// Among the policies not flagged, those within this share of the best throughput compete on
/// mean delay.
pub const THROUGHPUT_TOLERANCE: f64 = 0.02;

pub(crate) fn secs(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

impl ScenarioReport {
    fn find(&self, name: &str) -> Option<Summary> {
        self.contenders
            .iter()
            .find(|c| c.name == name)
            .map(ContenderRuns::summary)
    }

    /// Conflicting greens, every contender and seed (SUMO's programs included).
    pub fn conflicts(&self) -> u64 {
        self.contenders.iter().map(|c| c.summary().conflicts).sum()
    }

    /// Conflicts and sequence faults of semaforo's controller, every policy and seed (must be
    /// 0; a baseline's faults are reported, not counted here).
    pub fn semaforo_faults(&self) -> u64 {
        self.contenders
            .iter()
            .filter(|c| c.semaforo)
            .map(|c| {
                let s = c.summary();
                s.conflicts + s.sequence_faults
            })
            .sum()
    }

    /// The baseline the flags compare with: SUMO's actuated program, else its static one.
    pub fn baseline(&self) -> Option<(&'static str, Summary)> {
        ["sumo-actuated", "sumo-static"]
            .into_iter()
            .find_map(|name| self.find(name).map(|s| (name, s)))
    }

    /// Why a semaforo policy cannot be "best": faults, more vehicles left out or teleported
    /// than the baseline, or a longest wait over [`MAX_WAIT_FACTOR`] times the baseline's.
    pub fn flags(&self, c: &ContenderRuns) -> Vec<String> {
        let mut flags = Vec::new();
        if !c.semaforo {
            return flags;
        }
        let s = c.summary();
        if s.conflicts > 0 {
            flags.push("conflicts".to_string());
        }
        if s.sequence_faults > 0 {
            flags.push("sequence faults".to_string());
        }
        if let Some((name, b)) = self.baseline() {
            if s.not_inserted > b.not_inserted {
                flags.push(format!("more not inserted than {name}"));
            }
            if s.teleports > b.teleports {
                flags.push(format!("more teleports than {name}"));
            }
            if s.max_wait_s > MAX_WAIT_FACTOR * b.max_wait_s.max(1.0) {
                flags.push(format!("max wait over {MAX_WAIT_FACTOR}x {name}'s"));
            }
        }
        flags
    }

    /// The best semaforo policy: of those without [`flags`](Self::flags), the ones within
    /// [`THROUGHPUT_TOLERANCE`] of the best throughput, then the least mean delay. `None`
    /// when every policy is flagged.
    pub fn best_semaforo(&self) -> Option<(&'static str, Summary)> {
        let eligible: Vec<(&'static str, Summary)> = self
            .contenders
            .iter()
            .filter(|c| c.semaforo && self.flags(c).is_empty())
            .map(|c| (c.name, c.summary()))
            .collect();
        let top = eligible
            .iter()
            .map(|(_, s)| s.throughput)
            .fold(0.0, f64::max);
        eligible
            .into_iter()
            .filter(|(_, s)| s.throughput >= (1.0 - THROUGHPUT_TOLERANCE) * top)
            .min_by(|a, b| {
                a.1.mean_delay_s
                    .total_cmp(&b.1.mean_delay_s)
                    .then(a.1.max_wait_s.total_cmp(&b.1.max_wait_s))
            })
    }

    /// What semaforo's policies were timed with, for the table's header line: one set of
    /// timings, or with a configuration, its file and each group's own (groups timed alike
    /// listed together).
    fn timings_line(&self) -> String {
        let line = |t: &Timings| {
            format!(
                "min green {}, max green {}, yellow {}, red clearance {}, passage {}",
                secs(t.min_green),
                secs(t.max_green),
                secs(t.yellow),
                secs(t.red_clearance),
                secs(t.passage)
            )
        };
        let Some(config) = &self.configuration else {
            return format!(
                "semaforo timings: {} ({})",
                line(&self.timings),
                self.timing_source
            );
        };
        let mut alike: Vec<(Vec<&str>, GroupTiming)> = Vec::new();
        for (name, timing) in &self.group_timings {
            match alike.iter_mut().find(|(_, t)| t == timing) {
                Some((names, _)) => names.push(name),
                None => alike.push((vec![name], *timing)),
            }
        }
        let groups: Vec<String> = alike
            .iter()
            .map(|(names, t)| {
                let recall = match t.recall {
                    Recall::None => String::new(),
                    r => format!(", recall {r}"),
                };
                format!("{}: {}{recall}", names.join(", "), line(&t.timings))
            })
            .collect();
        format!(
            "configuration: {}; semaforo timings per signal group: {} ({})",
            config.display(),
            groups.join("; "),
            self.timing_source
        )
    }

    /// The table, as printed.
    pub fn table(&self) -> String {
        let seeds = self.contenders.first().map_or(0, |c| c.runs.len());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {} (network {}, demand {}, {} {}): {} seed{} x {:.0} s simulated from \
             {:.0} s; {}",
            self.scenario,
            self.net,
            self.routes.join(", "),
            if self.lights.len() == 1 {
                "light"
            } else {
                "lights"
            },
            self.lights
                .iter()
                .map(|l| short_id(l))
                .collect::<Vec<_>>()
                .join(", "),
            seeds,
            if seeds == 1 { "" } else { "s" },
            self.duration_s,
            self.begin_s,
            self.timings_line()
        );
        if !self.detection_errors.is_none() {
            let _ = writeln!(
                out,
                "detection errors in what semaforo's policies see (--detection-errors {}): {}; \
                 SUMO's baselines count exactly",
                self.detection_errors,
                self.detection_errors.describe()
            );
        }
        let _ = writeln!(
            out,
            "{:<16} {:>12} {:>12} {:>11} {:>11} {:>11} {:>8} {:>8} {:>9} {:>11} {:>10} {:>10}  flags",
            "policy",
            "mean delay s",
            "vs actuated",
            "p95 wait s",
            "max wait s",
            "throughput",
            "loaded",
            "not ins.",
            "teleports",
            "mean queue",
            "conflicts",
            "seq faults",
        );
        let actuated = self.find("sumo-actuated").map(|s| s.mean_delay_s);
        for c in &self.contenders {
            let s = c.summary();
            let ratio = match actuated {
                Some(a) if a > 0.0 => format!("{:.2}x", s.mean_delay_s / a),
                _ => "-".to_string(),
            };
            let flags = self.flags(c);
            let _ = writeln!(
                out,
                "{:<16} {:>12.1} {:>12} {:>11.1} {:>11.1} {:>11.0} {:>8} {:>8} {:>9} {:>11.2} {:>10} {:>10}  {}",
                c.name,
                s.mean_delay_s,
                ratio,
                s.p95_wait_s,
                s.max_wait_s,
                s.throughput,
                count(s.vehicles),
                count(s.not_inserted),
                count(s.teleports),
                s.mean_queue,
                s.conflicts,
                s.sequence_faults,
                if flags.is_empty() { "-".to_string() } else { flags.join("; ") }
            );
        }
        if let Some((name, best)) = self.best_semaforo() {
            let mut parts = Vec::new();
            for other in ["sumo-actuated", "sumo-delay-based", "sumo-static", "fixed"] {
                if let Some(o) = self.find(other) {
                    if o.mean_delay_s > 0.0 && other != name {
                        parts.push(format!(
                            "{:.2}x {other}",
                            best.mean_delay_s / o.mean_delay_s
                        ));
                    }
                }
            }
            let _ = writeln!(
                out,
                "best semaforo policy: {name}, {:.1} s{}{} (throughput {:.0}, {} not inserted, \
                 max wait {:.1} s)",
                best.mean_delay_s,
                if parts.is_empty() { "" } else { " = " },
                parts.join(", "),
                best.throughput,
                count(best.not_inserted),
                best.max_wait_s
            );
        } else if self.contenders.iter().any(|c| c.semaforo) {
            let _ = writeln!(
                out,
                "best semaforo policy: none (every policy is flagged; see the flags column)"
            );
        }
        out
    }

    /// The JSON object of the issue's schema.
    pub fn json(&self) -> serde_json::Value {
        let runs: Vec<serde_json::Value> = self
            .contenders
            .iter()
            .flat_map(|c| {
                c.runs.iter().map(move |(seed, m)| {
                    serde_json::json!({
                        "policy": c.name,
                        "seed": seed,
                        "mean_delay_s": round(m.mean_delay_s),
                        "p95_wait_s": round(m.p95_wait_s),
                        "max_wait_s": round(m.max_wait_s),
                        "throughput": m.throughput,
                        "loaded": m.vehicles,
                        "inserted": m.inserted,
                        "not_inserted": m.not_inserted,
                        "teleports": m.teleports,
                        "mean_queue": round(m.mean_queue),
                        "conflicts": m.conflicts,
                        "sequence_faults": m.sequence_faults,
                        "flags": self.flags(c),
                    })
                })
            })
            .collect();
        let mut doc = serde_json::json!({
            "scenario": self.scenario,
            "network": self.net,
            "demand": self.routes,
            "lights": self.lights,
            "begin_s": self.begin_s,
            "duration_s": self.duration_s,
            "detection_errors": {
                "miss": self.detection_errors.miss,
                "arrival_miss": self.detection_errors.arrival_miss,
                "ghost": self.detection_errors.ghost,
            },
            "runs": runs,
        });
        if let (Some(config), Some(map)) = (&self.configuration, doc.as_object_mut()) {
            map.insert("configuration".into(), config.display().to_string().into());
        }
        doc
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The `--json` document: the issue's object for one scenario, an array of them for several.
pub fn json_document(reports: &[ScenarioReport]) -> serde_json::Value {
    match reports {
        [one] => one.json(),
        many => serde_json::Value::Array(many.iter().map(ScenarioReport::json).collect()),
    }
}

const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f", "#111111", "#9467bd", "#8c564b",
];

/// An SVG of mean delay over time (by departure time, 5-minute bins), one panel per scenario,
/// one line per contender.
pub fn svg(reports: &[ScenarioReport]) -> String {
    let (w, ph) = (760.0, 300.0);
    let (left, right, top, bottom) = (60.0, 170.0, 30.0, 40.0);
    let height = ph * reports.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (k, r) in reports.iter().enumerate() {
        let y0 = k as f64 * ph;
        let series: Vec<(&str, Vec<Option<f64>>)> =
            r.contenders.iter().map(|c| (c.name, c.series())).collect();
        let bins = series
            .iter()
            .map(|(_, s)| s.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let ymax = series
            .iter()
            .flat_map(|(_, s)| s.iter().flatten().copied())
            .fold(1.0, f64::max);
        let ymax = nice_ceiling(ymax);
        let px = |bin: f64| left + (w - left - right) * bin / bins as f64;
        let py = |v: f64| y0 + top + (ph - top - bottom) * (1.0 - v / ymax);
        let _ = writeln!(
            out,
            r#"<text x="{left}" y="{}" font-weight="bold">{}: mean delay (s) by departure time</text>"#,
            y0 + 18.0,
            escape(&r.scenario)
        );
        // Axes and grid.
        for i in 0..=4 {
            let v = ymax * f64::from(i) / 4.0;
            let y = py(v);
            let _ = writeln!(
                out,
                r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
                w - right,
                left - 6.0,
                y + 4.0
            );
        }
        let minutes = bins as f64 * SERIES_BIN_S / 60.0;
        let step = if minutes > 120.0 { 30.0 } else { 10.0 };
        let mut m = 0.0;
        while m <= minutes + 1e-9 {
            let x = px(m * 60.0 / SERIES_BIN_S);
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{m:.0}</text>"#,
                y0 + ph - bottom + 16.0
            );
            m += step;
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">minutes</text>"#,
            (left + w - right) / 2.0,
            y0 + ph - 6.0
        );
        let _ = writeln!(
            out,
            r#"<line x1="{left}" y1="{:.1}" x2="{left}" y2="{:.1}" stroke="black"/><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
            py(ymax),
            py(0.0),
            py(0.0),
            w - right,
            py(0.0)
        );
        for (i, (name, s)) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let points: Vec<String> = s
                .iter()
                .enumerate()
                .filter_map(|(b, v)| v.map(|v| format!("{:.1},{:.1}", px(b as f64 + 0.5), py(v))))
                .collect();
            let dash = if name.starts_with("sumo-") {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
                points.join(" ")
            );
            let ly = y0 + top + 16.0 * i as f64;
            let lx = w - right + 12.0;
            let _ = writeln!(
                out,
                r#"<line x1="{lx}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                lx + 24.0,
                lx + 30.0,
                ly + 4.0,
                escape(name)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(delay: f64, series: Vec<(f64, u64)>) -> RunMetrics {
        RunMetrics {
            mean_delay_s: delay,
            p95_wait_s: 2.0 * delay,
            max_wait_s: 3.0 * delay,
            throughput: 100,
            vehicles: 110,
            inserted: 110,
            not_inserted: 0,
            teleports: 0,
            mean_queue: 1.5,
            conflicts: 0,
            sequence_faults: 0,
            series,
        }
    }

    fn report() -> ScenarioReport {
        ScenarioReport {
            scenario: "two-approach-balanced".into(),
            net: "two-approach.net.xml".into(),
            routes: vec!["balanced.rou.xml".into()],
            lights: vec!["J".into()],
            begin_s: 0.0,
            duration_s: 600.0,
            timings: Timings::default(),
            timing_source: "test".into(),
            configuration: None,
            group_timings: Vec::new(),
            detection_errors: DetectionErrors::default(),
            contenders: vec![
                ContenderRuns {
                    name: "max-pressure",
                    semaforo: true,
                    runs: vec![
                        (1, metrics(8.0, vec![(80.0, 10)])),
                        (2, metrics(12.0, vec![(120.0, 10), (5.0, 1)])),
                    ],
                },
                ContenderRuns {
                    name: "sumo-actuated",
                    semaforo: false,
                    runs: vec![(1, metrics(20.0, vec![])), (2, metrics(20.0, vec![]))],
                },
            ],
        }
    }

    #[test]
    fn summaries_average_seeds_and_keep_the_longest_wait() {
        let r = report();
        let s = r.contenders[0].summary();
        assert_eq!(s.mean_delay_s, 10.0);
        assert_eq!(s.max_wait_s, 36.0);
        assert_eq!(r.contenders[0].series(), vec![Some(10.0), Some(5.0)]);
        let table = r.table();
        assert!(table.contains("max-pressure"), "{table}");
        assert!(table.contains("0.50x"), "{table}");
        assert!(
            table.contains("best semaforo policy: max-pressure, 10.0 s = 0.50x sumo-actuated"),
            "{table}"
        );
    }

    #[test]
    fn the_title_names_network_demand_and_a_shortened_light() {
        let mut r = report();
        r.lights = vec!["cluster_1234567890_2345678901_3456789012_4567890123".into()];
        r.begin_s = 3600.0;
        let table = r.table();
        let title = table.lines().next().unwrap();
        assert!(
            title.starts_with(
                "scenario two-approach-balanced (network two-approach.net.xml, demand \
                 balanced.rou.xml, light cluster_1234…2_4567890123): 2 seeds x 600 s simulated \
                 from 3600 s;"
            ),
            "{title}"
        );
        assert_eq!(r.json()["lights"][0], r.lights[0].as_str());
    }

    #[test]
    fn a_policy_leaving_vehicles_out_teleporting_or_starving_is_flagged_never_best() {
        let mut r = report();
        let mut worse = r.contenders[0].clone();
        worse.name = "actuated";
        for (_, m) in &mut worse.runs {
            m.mean_delay_s = 1.0;
            m.not_inserted = 5;
        }
        r.contenders.push(worse);
        let mut teleporting = r.contenders[0].clone();
        teleporting.name = "fixed";
        for (_, m) in &mut teleporting.runs {
            m.mean_delay_s = 2.0;
            m.teleports = 1;
            m.max_wait_s = 500.0;
        }
        r.contenders.push(teleporting);
        assert_eq!(
            r.flags(&r.contenders[2]),
            vec!["more not inserted than sumo-actuated"]
        );
        assert_eq!(
            r.flags(&r.contenders[3]),
            vec![
                "more teleports than sumo-actuated",
                "max wait over 2x sumo-actuated's"
            ]
        );
        assert_eq!(r.best_semaforo().unwrap().0, "max-pressure");
        let table = r.table();
        assert!(
            table.contains("more not inserted than sumo-actuated"),
            "{table}"
        );
        assert_eq!(
            r.json()["runs"][4]["flags"][0],
            "more not inserted than sumo-actuated"
        );

        // A policy with clearly less throughput does not win on delay alone.
        let mut r = report();
        let mut starving = r.contenders[0].clone();
        starving.name = "compare";
        for (_, m) in &mut starving.runs {
            m.mean_delay_s = 1.0;
            m.throughput = 90;
        }
        r.contenders.push(starving);
        assert_eq!(r.best_semaforo().unwrap().0, "max-pressure");

        // Every policy flagged: no best.
        let mut r = report();
        r.contenders[0].runs[0].1.conflicts = 1;
        assert!(r.best_semaforo().is_none());
        assert_eq!(r.semaforo_faults(), 1);
        assert!(r.table().contains("best semaforo policy: none"));
    }

    #[test]
    fn a_baselines_faults_are_reported_but_are_not_semaforos() {
        let mut r = report();
        r.contenders[1].runs[0].1.sequence_faults = 3;
        r.contenders[1].runs[1].1.conflicts = 1;
        assert_eq!(r.semaforo_faults(), 0);
        assert_eq!(r.conflicts(), 1);
        assert_eq!(r.contenders[1].summary().sequence_faults, 3);
        assert_eq!(r.json()["runs"][2]["sequence_faults"], 3);
    }

    #[test]
    fn json_follows_the_documented_schema() {
        let j = report().json();
        assert_eq!(j["scenario"], "two-approach-balanced");
        let run = &j["runs"][0];
        let mut keys: Vec<&str> = run
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "conflicts",
                "flags",
                "inserted",
                "loaded",
                "max_wait_s",
                "mean_delay_s",
                "mean_queue",
                "not_inserted",
                "p95_wait_s",
                "policy",
                "seed",
                "sequence_faults",
                "teleports",
                "throughput"
            ]
        );
        assert_eq!(run["policy"], "max-pressure");
        assert_eq!(j["runs"].as_array().unwrap().len(), 4);
        assert!(json_document(&[report(), report()]).is_array());
    }

    #[test]
    fn the_plot_is_an_svg_with_one_line_per_contender() {
        let s = svg(&[report()]);
        assert!(s.starts_with("<svg"));
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(s.contains("two-approach-balanced"));
        assert_eq!(nice_ceiling(37.0), 50.0);
    }

    #[test]
    fn a_configured_run_names_its_file_and_each_groups_timings_in_the_title_and_json() {
        let mut r = report();
        assert!(r.json().get("configuration").is_none());
        let timing = |min: u64| {
            GroupTiming::new(Timings {
                min_green: std::time::Duration::from_secs(min),
                ..Timings::default()
            })
        };
        r.configuration = Some("/sites/main-and-5th.toml".into());
        r.group_timings = vec![
            ("B".into(), timing(5)),
            ("A".into(), timing(8).with_recall(Recall::Min)),
        ];
        r.timing_source = "each signal group's own, from the configuration".into();
        let table = r.table();
        let title = table.lines().next().unwrap();
        assert!(
            title.ends_with(
                "from 0 s; configuration: /sites/main-and-5th.toml; semaforo timings per signal \
                 group: B: min green 5 s, max green 60 s, yellow 3 s, red clearance 2 s, passage \
                 3 s; A: min green 8 s, max green 60 s, yellow 3 s, red clearance 2 s, passage \
                 3 s, recall min (each signal group's own, from the configuration)"
            ),
            "{title}"
        );
        assert_eq!(r.json()["configuration"], "/sites/main-and-5th.toml");

        // Groups timed alike are listed together.
        r.group_timings[1].1 = timing(5);
        let table = r.table();
        assert!(
            table.contains("per signal group: B, A: min green 5 s, max green 60 s"),
            "{table}"
        );
    }
}
