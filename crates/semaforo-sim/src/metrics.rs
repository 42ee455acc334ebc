//! The figures of one run, from SUMO's trip information and the per-step queue samples.
//!
//! Delay is SUMO's `timeLoss` (time lost against driving at the desired speed: the standard
//! delay measure) plus `departDelay` (time spent waiting to enter the network, so a queue that
//! spills back beyond the modelled approach still counts), over every vehicle that finished and
//! every vehicle still in the network at the end (`--tripinfo-output.write-unfinished`). Wait is
//! SUMO's `waitingTime` (time stopped) per vehicle. A vehicle still waiting to be inserted at
//! the end (its queue spilled back to the network's edge) has no trip; it is counted all the
//! same, as [`NotInserted`], with a delay and a wait from its planned departure to the end.
//! Leaving it out would make a policy that blocks an approach look better the more it blocks.

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

/// A vehicle whose departure time had come but that SUMO could not insert before the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotInserted {
    /// When it was first seen waiting for insertion (its planned departure, to within a
    /// step), s.
    pub since: f64,
}

/// What a run counted each step, besides the trips.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTally {
    /// When the run began and ended, simulated seconds.
    pub begin: f64,
    /// When the run ended.
    pub end: f64,
    /// Vehicles still waiting for insertion at the end.
    pub not_inserted: Vec<NotInserted>,
    /// Vehicles SUMO teleported (stuck too long, or a collision resolved by jumping ahead).
    pub teleports: u64,
    /// Sum over the steps of the halted vehicles on the incoming lanes.
    pub queue_sum: f64,
    /// Steps sampled.
    pub samples: u64,
    /// Conflicting movements shown green or yellow together (and, for semaforo's controller,
    /// its own monitor's trips).
    pub conflicts: u64,
    /// Faults of the sequence of one movement (green to red without yellow, a short yellow or
    /// red clearance, green again after yellow without red...).
    pub sequence_faults: u64,
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
    /// Vehicles counted: every loaded vehicle whose departure time came before the end,
    /// inserted or not.
    pub vehicles: u64,
    /// Vehicles SUMO inserted into the network.
    pub inserted: u64,
    /// Vehicles whose departure time came but that were never inserted.
    pub not_inserted: u64,
    /// Vehicles SUMO teleported.
    pub teleports: u64,
    /// Mean number of halted vehicles on the incoming lanes, per step.
    pub mean_queue: f64,
    /// Times conflicting movements were shown green together (or the controller's own
    /// monitor tripped).
    pub conflicts: u64,
    /// Faults in one movement's sequence (see [`RunTally::sequence_faults`]).
    pub sequence_faults: u64,
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
    /// The figures from the trips and what the run counted. A vehicle never inserted counts
    /// with a delay and a wait from [`NotInserted::since`] to the end; the series' bins start
    /// at the run's begin.
    pub fn from_trips(trips: &[Trip], tally: &RunTally) -> Self {
        // (relative departure, delay, wait) of every vehicle counted.
        let vehicles: Vec<(f64, f64, f64)> = trips
            .iter()
            .map(|t| (t.depart - tally.begin, t.delay, t.wait))
            .chain(tally.not_inserted.iter().map(|v| {
                let waited = (tally.end - v.since).max(0.0);
                (v.since - tally.begin, waited, waited)
            }))
            .collect();
        let n = vehicles.len();
        let mut waits: Vec<f64> = vehicles.iter().map(|v| v.2).collect();
        let bin = |depart: f64| (depart.max(0.0) / SERIES_BIN_S) as usize;
        let bins = vehicles.iter().map(|v| bin(v.0) + 1).max().unwrap_or(0);
        let mut series = vec![(0.0, 0u64); bins];
        for v in &vehicles {
            let b = &mut series[bin(v.0)];
            b.0 += v.1;
            b.1 += 1;
        }
        RunMetrics {
            mean_delay_s: if n == 0 {
                0.0
            } else {
                vehicles.iter().map(|v| v.1).sum::<f64>() / n as f64
            },
            p95_wait_s: quantile(&mut waits, 0.95),
            max_wait_s: waits.iter().copied().fold(0.0, f64::max),
            throughput: trips.iter().filter(|t| t.arrived).count() as u64,
            vehicles: n as u64,
            inserted: trips.len() as u64,
            not_inserted: tally.not_inserted.len() as u64,
            teleports: tally.teleports,
            mean_queue: if tally.samples == 0 {
                0.0
            } else {
                tally.queue_sum / tally.samples as f64
            },
            conflicts: tally.conflicts,
            sequence_faults: tally.sequence_faults,
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
        let tally = RunTally {
            end: 600.0,
            queue_sum: 30.0,
            samples: 10,
            ..RunTally::default()
        };
        let m = RunMetrics::from_trips(&trips, &tally);
        assert_eq!(m.mean_delay_s, (25.5 + 7.5) / 2.0);
        assert_eq!(m.throughput, 1);
        assert_eq!(m.vehicles, 2);
        assert_eq!(m.max_wait_s, 20.0);
        assert_eq!(m.mean_queue, 3.0);
        assert_eq!(m.series, vec![(25.5, 1), (7.5, 1)]);
        assert_eq!((m.inserted, m.not_inserted), (2, 0));
    }

    #[test]
    fn a_vehicle_never_inserted_counts_its_wait_from_its_departure_to_the_end() {
        let trips = parse_tripinfo(TRIPINFO).unwrap();
        let tally = RunTally {
            begin: 0.0,
            end: 600.0,
            not_inserted: vec![NotInserted { since: 100.0 }],
            teleports: 2,
            ..RunTally::default()
        };
        let m = RunMetrics::from_trips(&trips, &tally);
        assert_eq!((m.vehicles, m.inserted, m.not_inserted), (3, 2, 1));
        assert_eq!(m.teleports, 2);
        assert_eq!(m.max_wait_s, 500.0);
        assert_eq!(m.mean_delay_s, (25.5 + 7.5 + 500.0) / 3.0);
        assert_eq!(m.series, vec![(525.5, 2), (7.5, 1)]);
    }

    #[test]
    fn the_series_starts_at_the_runs_begin() {
        let trips = [Trip {
            depart: 25_210.0,
            arrived: true,
            delay: 4.0,
            wait: 1.0,
        }];
        let tally = RunTally {
            begin: 25_200.0,
            end: 28_800.0,
            ..RunTally::default()
        };
        assert_eq!(
            RunMetrics::from_trips(&trips, &tally).series,
            vec![(4.0, 1)]
        );
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
        let m = RunMetrics::from_trips(&[], &RunTally::default());
        assert_eq!(m.mean_delay_s, 0.0);
        assert!(m.series.is_empty());
    }
}
