//! The figures of one run, from SUMO's trip information and the per-step queue samples.
//!
//! Delay is SUMO's `timeLoss` (time lost against driving at the desired speed: the standard
//! delay measure) plus `departDelay` (time spent waiting to enter the network, so a queue that
//! spills back beyond the modelled approach still counts), over every vehicle that finished and
//! every vehicle still in the network at the end (`--tripinfo-output.write-unfinished`). Wait is
//! SUMO's `waitingTime` (time stopped) per vehicle. A vehicle still waiting to be inserted at
//! the end has no trip and is not counted; the shipped scenarios' 400 m approaches hold their
//! queues, so insertion waits are short and show up in `departDelay`.

use std::io;
use std::path::{Path, PathBuf};

/// Width of the bins of the delay-over-time series, seconds.
pub const SERIES_BIN_S: f64 = 300.0;

/// SUMO's trip information could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TripinfoError {
    /// The file could not be read.
    #[error("cannot read SUMO's trip information {}", .path.display())]
    Read {
        /// The tripinfo file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file does not parse.
    #[error("in {}", .path.display())]
    Parse {
        /// The tripinfo file.
        path: PathBuf,
        /// What is wrong in it.
        source: TripinfoParseError,
    },
}

/// What is wrong in a tripinfo document.
#[derive(Debug, thiserror::Error)]
pub enum TripinfoParseError {
    /// Not XML.
    #[error("the trip information is not valid XML")]
    Xml(#[source] roxmltree::Error),
    /// A `<tripinfo>` lacks an attribute.
    #[error("tripinfo of vehicle {vehicle:?} has no {attribute}")]
    MissingAttribute {
        /// The vehicle's id (`?` when it has none).
        vehicle: String,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute is not a finite number.
    #[error("tripinfo {attribute}=\"{value}\" is not a number")]
    NotANumber {
        /// The attribute.
        attribute: &'static str,
        /// Its text.
        value: String,
    },
}

/// One vehicle's trip, as SUMO reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    /// Departure time, s.
    pub depart: f64,
    /// Whether it reached its destination before the end.
    pub arrived: bool,
    /// `timeLoss + departDelay`, s.
    pub delay: f64,
    /// `waitingTime`, s.
    pub wait: f64,
}

/// Reads a tripinfo file.
pub fn read_tripinfo(path: &Path) -> Result<Vec<Trip>, TripinfoError> {
    let text = std::fs::read_to_string(path).map_err(|source| TripinfoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_tripinfo(&text).map_err(|source| TripinfoError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses tripinfo XML.
pub fn parse_tripinfo(text: &str) -> Result<Vec<Trip>, TripinfoParseError> {
    let doc = roxmltree::Document::parse(text).map_err(TripinfoParseError::Xml)?;
    let mut trips = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("tripinfo")) {
        let get = |attribute: &'static str| -> Result<f64, TripinfoParseError> {
            let v = n
                .attribute(attribute)
                .ok_or_else(|| TripinfoParseError::MissingAttribute {
                    vehicle: n.attribute("id").unwrap_or("?").to_string(),
                    attribute,
                })?;
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| TripinfoParseError::NotANumber {
                    attribute,
                    value: v.to_string(),
                })
        };
        let depart = get("depart")?;
        if depart < 0.0 {
            // Loaded but never inserted: SUMO has no trip for it.
            continue;
        }
        trips.push(Trip {
            depart,
            arrived: get("arrival")? >= 0.0,
            delay: get("timeLoss")? + get("departDelay").unwrap_or(0.0).max(0.0),
            wait: get("waitingTime")?,
        });
    }
    Ok(trips)
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    /// Mean delay per vehicle, s.
    pub mean_delay_s: f64,
    /// 95th percentile of the vehicles' waits, s.
    pub p95_wait_s: f64,
    /// Longest wait, s.
    pub max_wait_s: f64,
    /// Vehicles that reached their destination.
    pub throughput: u64,
    /// Vehicles counted (finished and still in the network).
    pub vehicles: u64,
    /// Mean number of halted vehicles on the incoming lanes, per step.
    pub mean_queue: f64,
    /// Times the conflict monitor tripped.
    pub conflicts: u64,
    /// Delay by departure time: (sum of delays, vehicles) per [`SERIES_BIN_S`] bin.
    pub series: Vec<(f64, u64)>,
}

/// The `q`-quantile (0..=1) of `values`, by linear interpolation; 0 for no values.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

impl RunMetrics {
    /// The figures from the trips, the queue samples and the conflict count.
    pub fn from_trips(trips: &[Trip], queue_sum: f64, samples: u64, conflicts: u64) -> Self {
        let n = trips.len();
        let mut waits: Vec<f64> = trips.iter().map(|t| t.wait).collect();
        let bins = trips
            .iter()
            .map(|t| (t.depart / SERIES_BIN_S) as usize + 1)
            .max()
            .unwrap_or(0);
        let mut series = vec![(0.0, 0u64); bins];
        for t in trips {
            let b = &mut series[(t.depart / SERIES_BIN_S) as usize];
            b.0 += t.delay;
            b.1 += 1;
        }
        RunMetrics {
            mean_delay_s: if n == 0 {
                0.0
            } else {
                trips.iter().map(|t| t.delay).sum::<f64>() / n as f64
            },
            p95_wait_s: quantile(&mut waits, 0.95),
            max_wait_s: waits.iter().copied().fold(0.0, f64::max),
            throughput: trips.iter().filter(|t| t.arrived).count() as u64,
            vehicles: n as u64,
            mean_queue: if samples == 0 {
                0.0
            } else {
                queue_sum / samples as f64
            },
            conflicts,
            series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIPINFO: &str = r#"<tripinfos>
        <tripinfo id="a" depart="10.00" departDelay="0.50" arrival="60.00" waitingTime="20.00" timeLoss="25.00"/>
        <tripinfo id="b" depart="400.00" departDelay="0.00" arrival="-1.00" waitingTime="5.00" timeLoss="7.50"/>
        <tripinfo id="c" depart="-1.00" departDelay="3.00" arrival="-1.00" waitingTime="0.00" timeLoss="0.00"/>
    </tripinfos>"#;

    #[test]
    fn tripinfo_counts_unfinished_vehicles_and_adds_insertion_delay() {
        let trips = parse_tripinfo(TRIPINFO).unwrap();
        assert_eq!(trips.len(), 2);
        assert_eq!(trips[0].delay, 25.5);
        assert!(trips[0].arrived && !trips[1].arrived);
        let m = RunMetrics::from_trips(&trips, 30.0, 10, 0);
        assert_eq!(m.mean_delay_s, (25.5 + 7.5) / 2.0);
        assert_eq!(m.throughput, 1);
        assert_eq!(m.vehicles, 2);
        assert_eq!(m.max_wait_s, 20.0);
        assert_eq!(m.mean_queue, 3.0);
        assert_eq!(m.series, vec![(25.5, 1), (7.5, 1)]);
    }

    #[test]
    fn a_bad_number_names_the_attribute_and_value() {
        let bad = TRIPINFO.replace("timeLoss=\"25.00\"", "timeLoss=\"lots\"");
        let e = parse_tripinfo(&bad).unwrap_err().to_string();
        assert!(e.contains("timeLoss=\"lots\" is not a number"), "{e}");
    }

    #[test]
    fn an_unreadable_or_bad_tripinfo_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("run.tripinfo.xml");
        let e = crate::error_chain(&read_tripinfo(&missing).unwrap_err());
        assert!(
            e.starts_with(&format!(
                "cannot read SUMO's trip information {}: ",
                missing.display()
            )),
            "{e}"
        );
        let bad = dir.path().join("bad.tripinfo.xml");
        std::fs::write(&bad, "<tripinfos><tripinfo id=\"v7\"/></tripinfos>").unwrap();
        let e = crate::error_chain(&read_tripinfo(&bad).unwrap_err());
        assert_eq!(
            e,
            format!(
                "in {}: tripinfo of vehicle \"v7\" has no depart",
                bad.display()
            )
        );
    }

    #[test]
    fn quantiles_interpolate_and_handle_empty_input() {
        let mut v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.95), 95.0);
        assert_eq!(quantile(&mut [1.0, 2.0], 0.5), 1.5);
        assert_eq!(quantile(&mut [], 0.95), 0.0);
        let m = RunMetrics::from_trips(&[], 0.0, 0, 0);
        assert_eq!(m.mean_delay_s, 0.0);
        assert!(m.series.is_empty());
    }
}
