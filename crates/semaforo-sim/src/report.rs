//! The evaluation's outputs: the table, the JSON document and the delay-over-time SVG.

use std::fmt::Write as _;

use semaforo_signal::Timings;

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
    /// Simulated seconds per run.
    pub duration_s: f64,
    /// The timings semaforo's policies ran with.
    pub timings: Timings,
    /// Where the yellow and red clearance came from.
    pub timing_source: String,
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
    /// Conflict monitor trips, all seeds.
    pub conflicts: u64,
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
            conflicts: self.runs.iter().map(|(_, m)| m.conflicts).sum(),
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

fn secs(d: std::time::Duration) -> String {
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

    /// Times the conflict monitor tripped, every contender and seed (must be 0).
    pub fn conflicts(&self) -> u64 {
        self.contenders.iter().map(|c| c.summary().conflicts).sum()
    }

    /// The best semaforo policy by mean delay.
    pub fn best_semaforo(&self) -> Option<(&'static str, Summary)> {
        self.contenders
            .iter()
            .filter(|c| c.semaforo)
            .map(|c| (c.name, c.summary()))
            .min_by(|a, b| a.1.mean_delay_s.total_cmp(&b.1.mean_delay_s))
    }

    /// The table, as printed.
    pub fn table(&self) -> String {
        let t = &self.timings;
        let seeds = self.contenders.first().map_or(0, |c| c.runs.len());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}: {} seed{} x {:.0} s simulated; semaforo timings: min green {}, max green {}, \
             yellow {}, red clearance {}, passage {} ({})",
            self.scenario,
            seeds,
            if seeds == 1 { "" } else { "s" },
            self.duration_s,
            secs(t.min_green),
            secs(t.max_green),
            secs(t.yellow),
            secs(t.red_clearance),
            secs(t.passage),
            self.timing_source
        );
        let _ = writeln!(
            out,
            "{:<14} {:>12} {:>12} {:>11} {:>11} {:>11} {:>11} {:>10}",
            "policy",
            "mean delay s",
            "vs actuated",
            "p95 wait s",
            "max wait s",
            "throughput",
            "mean queue",
            "conflicts"
        );
        let actuated = self.find("sumo-actuated").map(|s| s.mean_delay_s);
        for c in &self.contenders {
            let s = c.summary();
            let ratio = match actuated {
                Some(a) if a > 0.0 => format!("{:.2}x", s.mean_delay_s / a),
                _ => "-".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<14} {:>12.1} {:>12} {:>11.1} {:>11.1} {:>11.0} {:>11.2} {:>10}",
                c.name,
                s.mean_delay_s,
                ratio,
                s.p95_wait_s,
                s.max_wait_s,
                s.throughput,
                s.mean_queue,
                s.conflicts
            );
        }
        if let Some((name, best)) = self.best_semaforo() {
            let mut parts = Vec::new();
            for other in ["sumo-actuated", "sumo-static", "fixed"] {
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
                "best semaforo policy: {name}, {:.1} s{}{}",
                best.mean_delay_s,
                if parts.is_empty() { "" } else { " = " },
                parts.join(", ")
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
                        "mean_queue": round(m.mean_queue),
                        "conflicts": m.conflicts,
                    })
                })
            })
            .collect();
        serde_json::json!({ "scenario": self.scenario, "runs": runs })
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
            mean_queue: 1.5,
            conflicts: 0,
            series,
        }
    }

    fn report() -> ScenarioReport {
        ScenarioReport {
            scenario: "two-approach-balanced".into(),
            duration_s: 600.0,
            timings: Timings::default(),
            timing_source: "test".into(),
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
                "max_wait_s",
                "mean_delay_s",
                "mean_queue",
                "p95_wait_s",
                "policy",
                "seed",
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
}
