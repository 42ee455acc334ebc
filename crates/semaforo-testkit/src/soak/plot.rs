//! A soak's samples written out: a CSV with one row per sample, and an SVG with one panel per
//! figure over the daemon's time, its bound drawn across the panel where it has one.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;

use super::sample::{Sample, FIGURES};

/// The samples as CSV, a row written (and flushed) as each is taken, so that a run stopped
/// half-way still leaves its figures: the times, every figure, and whether it was settled.
pub struct Csv(std::io::BufWriter<std::fs::File>);

impl Csv {
    pub fn create(path: &Path) -> std::io::Result<Csv> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let names: Vec<&str> = FIGURES.iter().map(|(name, _)| *name).collect();
        writeln!(out, "wall_s,daemon_s,{},settled", names.join(","))?;
        out.flush()?;
        Ok(Csv(out))
    }

    pub fn write(&mut self, s: &Sample) -> std::io::Result<()> {
        let values: Vec<String> = FIGURES
            .iter()
            .map(|(name, _)| s.figure(name).to_string())
            .collect();
        writeln!(
            self.0,
            "{:.1},{:.1},{},{}",
            s.wall_s,
            s.daemon_s,
            values.join(","),
            u8::from(s.settled)
        )?;
        self.0.flush()
    }
}

/// Reads back what [`Csv`] wrote (to plot it again, or judge it again).
pub fn read_csv(path: &Path) -> Result<Vec<Sample>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let bad = || {
            format!(
                "{} line {}: not a soak sample: {line:?}",
                path.display(),
                i + 1
            )
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != FIGURES.len() + 3 {
            return Err(bad());
        }
        let time = |k: usize| fields[k].parse::<f64>().map_err(|_| bad());
        let figure = |k: usize| fields[k + 2].parse::<u64>().map_err(|_| bad());
        samples.push(Sample {
            wall_s: time(0)?,
            daemon_s: time(1)?,
            rss_kb: figure(0)?,
            fds: figure(1)?,
            threads: figure(2)?,
            temp_files: figure(3)?,
            frame_files: figure(4)?,
            frame_bytes: figure(5)?,
            outbox_depth: figure(6)?,
            settled: fields[FIGURES.len() + 2] == "1",
        });
    }
    Ok(samples)
}

/// Plots every figure over the daemon's time (hours when the run is longer than three, else
/// minutes) into an SVG at `path`: `bounds` gives a ceiling to draw (red) for some figures,
/// and a grey line marks the end of the warm-up (`warmup`, a share of the run).
pub fn write_svg(
    path: &Path,
    title: &str,
    samples: &[Sample],
    bounds: &[(&str, u64)],
    warmup: f64,
) -> Result<(), String> {
    let span = samples.last().map_or(1.0, |s| s.daemon_s).max(1.0);
    let warm = span * warmup;
    let (unit, scale) = if span > 3.0 * 3600.0 {
        ("h", 3600.0)
    } else {
        ("min", 60.0)
    };
    let root = SVGBackend::new(path, (1000, 1500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let panels = root.split_evenly((FIGURES.len(), 1));
    for (panel, (name, what)) in panels.iter().zip(FIGURES) {
        let points: Vec<(f64, f64)> = samples
            .iter()
            .map(|s| (s.daemon_s / scale, s.figure(name) as f64))
            .collect();
        let bound = bounds
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b as f64);
        // The scale is the judged part's (after the warm-up), so that a growth of a few
        // hundred kB shows; the start climbs in from below.
        let judged = || {
            samples
                .iter()
                .filter(|s| s.daemon_s >= warm)
                .map(|s| s.figure(name) as f64)
        };
        let high = judged().fold(bound.unwrap_or(0.0), f64::max);
        let low = judged().fold(high, f64::min);
        // Some room above and below, so that a flat line is not drawn on the frame.
        let pad = ((high - low) * 0.1).max(high.abs() * 0.02).max(1.0);
        let (bottom, top) = ((low - pad).max(0.0), high + pad);
        // No more labels than whole numbers in the range: counts are whole.
        let labels = ((top - bottom).floor() as usize).clamp(2, 5);
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{name} ({what})"), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..span / scale, bottom..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(format!("daemon time ({unit})"))
            .y_labels(labels)
            .x_labels(10)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(warm / scale, bottom), (warm / scale, top)],
                &BLACK.mix(0.4),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(points, &BLUE))
            .map_err(|e| e.to_string())?;
        if let Some(bound) = bound {
            chart
                .draw_series(LineSeries::new([(0.0, bound), (span / scale, bound)], &RED))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_csv_holds_reads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("soak-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.csv");
        let sample = Sample {
            wall_s: 2.0,
            daemon_s: 7200.5,
            rss_kb: 30_000,
            fds: 24,
            threads: 12,
            temp_files: 1,
            frame_files: 80,
            frame_bytes: 1_234_567,
            outbox_depth: 9,
            settled: true,
        };
        let mut csv = Csv::create(&path).unwrap();
        csv.write(&sample).unwrap();
        csv.write(&Sample {
            settled: false,
            ..sample
        })
        .unwrap();
        drop(csv);
        let back = read_csv(&path).unwrap();
        assert_eq!(
            back,
            vec![
                sample,
                Sample {
                    settled: false,
                    ..sample
                }
            ]
        );
        std::fs::write(&path, "header\n1,2,3\n").unwrap();
        assert!(read_csv(&path).unwrap_err().contains("line 2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
