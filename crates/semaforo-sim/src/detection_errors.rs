//! Camera-like counting errors laid over SUMO's exact detector counts (`--detection-errors`).
//!
//! SUMO's lane-area detectors count every vehicle in a zone, every time. A camera does not: a
//! vehicle hidden behind a bus or lost in glare goes uncounted for a reading, a vehicle that
//! crosses the count line while occluded is never counted as arriving, and a shadow or a
//! reflection is now and then taken for a vehicle. How a policy copes with that decides which
//! one to run behind cameras, so `semaforo sim --detection-errors miss=0.1,arrival-miss=0.2`
//! replays every run with such errors drawn into what semaforo's controllers see. SUMO's own
//! baselines keep their exact loop detectors: the comparison leans against semaforo.
//!
//! The errors are drawn from each run's seed (and the light's place in the network), so a run
//! is the same every time; each reading draws afresh, as a detector's misses flicker from one
//! reading to the next.
//!
//! ```
//! use semaforo_sim::DetectionErrors;
//!
//! let errors: DetectionErrors = "miss=0.1,ghost=0.01".parse()?;
//! assert_eq!(errors.miss, 0.1);
//! assert_eq!(errors.arrival_miss, 0.0);
//! assert_eq!(errors.to_string(), "miss=0.1,arrival-miss=0,ghost=0.01");
//! assert!("miss=2".parse::<DetectionErrors>().is_err());
//! # Ok::<(), semaforo_sim::detection_errors::DetectionErrorsError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// How often a camera-like detector gets a count wrong, each a probability from 0 to 1. The
/// default, all zero, is SUMO's exact counts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DetectionErrors {
    /// Each vehicle in a zone goes uncounted on a reading with this probability (occlusion,
    /// glare, a missed detection the tracker did not bridge).
    pub miss: f64,
    /// Each vehicle crossing a count line goes uncounted with this probability.
    pub arrival_miss: f64,
    /// A reading counts one vehicle more than there is with this probability (a shadow, a
    /// reflection, a pedestrian taken for a vehicle).
    pub ghost: f64,
}

/// A `--detection-errors` value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectionErrorsError {
    /// An item is not `KEY=VALUE`.
    #[error("--detection-errors {spec}: `{item}` is not KEY=VALUE; expected e.g. miss=0.1,arrival-miss=0.2,ghost=0.01")]
    NotKeyValue {
        /// The whole value.
        spec: String,
        /// The item.
        item: String,
    },
    /// An unknown key.
    #[error(
        "--detection-errors {spec}: unknown key `{key}`; expected one of miss, arrival-miss, ghost"
    )]
    UnknownKey {
        /// The whole value.
        spec: String,
        /// The key.
        key: String,
    },
    /// A key given twice.
    #[error("--detection-errors {spec}: `{key}` is given twice")]
    Repeated {
        /// The whole value.
        spec: String,
        /// The key.
        key: String,
    },
    /// A value that is not a probability.
    #[error("--detection-errors {spec}: {key}={value} is not a probability; expected a number from 0 to 1")]
    NotProbability {
        /// The whole value.
        spec: String,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
}

impl DetectionErrors {
    /// Whether no error is drawn (SUMO's exact counts).
    pub fn is_none(&self) -> bool {
        self.miss == 0.0 && self.arrival_miss == 0.0 && self.ghost == 0.0
    }

    /// The reading a camera-like detector gives for `queue` vehicles in a zone and `arrivals`
    /// crossing its count line, drawing from `rng`: `(queue, arrivals)` as counted.
    pub fn apply(&self, rng: &mut fastrand::Rng, queue: u32, arrivals: u32) -> (u32, u32) {
        if self.is_none() {
            return (queue, arrivals);
        }
        let kept = |rng: &mut fastrand::Rng, n: u32, p: f64| -> u32 {
            (0..n).map(|_| u32::from(rng.f64() >= p)).sum()
        };
        let mut seen = kept(rng, queue, self.miss);
        if rng.f64() < self.ghost {
            seen += 1;
        }
        (seen, kept(rng, arrivals, self.arrival_miss))
    }

    /// In words, for a report's header line: `each vehicle in a zone missed on 10% of
    /// readings, ...`.
    pub fn describe(&self) -> String {
        let pct = |p: f64| format!("{}%", (p * 1000.0).round() / 10.0);
        format!(
            "each vehicle in a zone missed on {} of readings, {} of count-line crossings \
             missed, a phantom vehicle on {} of readings",
            pct(self.miss),
            pct(self.arrival_miss),
            pct(self.ghost)
        )
    }
}

impl FromStr for DetectionErrors {
    type Err = DetectionErrorsError;

    /// `miss=P,arrival-miss=P,ghost=P`, any of them, in any order; an empty value is none.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut out = DetectionErrors::default();
        let mut given: Vec<&str> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(DetectionErrorsError::NotKeyValue {
                    spec: spec.to_string(),
                    item: item.to_string(),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            let slot = match key {
                "miss" => &mut out.miss,
                "arrival-miss" => &mut out.arrival_miss,
                "ghost" => &mut out.ghost,
                _ => {
                    return Err(DetectionErrorsError::UnknownKey {
                        spec: spec.to_string(),
                        key: key.to_string(),
                    })
                }
            };
            if given.contains(&key) {
                return Err(DetectionErrorsError::Repeated {
                    spec: spec.to_string(),
                    key: key.to_string(),
                });
            }
            given.push(key);
            *slot = value
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| DetectionErrorsError::NotProbability {
                    spec: spec.to_string(),
                    key: key.to_string(),
                    value: value.to_string(),
                })?;
        }
        Ok(out)
    }
}

impl fmt::Display for DetectionErrors {
    /// The `--detection-errors` value that gives these errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "miss={},arrival-miss={},ghost={}",
            self.miss, self.arrival_miss, self.ghost
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DetectionErrors, String> {
        s.parse::<DetectionErrors>().map_err(|e| e.to_string())
    }

    #[test]
    fn any_of_the_keys_in_any_order_and_the_rest_stay_exact() {
        assert_eq!(parse(""), Ok(DetectionErrors::default()));
        assert_eq!(
            parse(" ghost=0.01 , miss=0.1"),
            Ok(DetectionErrors {
                miss: 0.1,
                arrival_miss: 0.0,
                ghost: 0.01
            })
        );
        let all = parse("miss=0.05,arrival-miss=0.2,ghost=0").unwrap();
        assert_eq!(all.to_string().parse::<DetectionErrors>(), Ok(all));
        assert!(parse("miss=0,arrival-miss=0").unwrap().is_none());
    }

    #[test]
    fn a_bad_value_names_the_flag_the_key_and_what_was_expected() {
        assert_eq!(
            parse("miss=1.5").unwrap_err(),
            "--detection-errors miss=1.5: miss=1.5 is not a probability; expected a number \
             from 0 to 1"
        );
        assert_eq!(
            parse("miss=0.1,arrivals=0.2").unwrap_err(),
            "--detection-errors miss=0.1,arrivals=0.2: unknown key `arrivals`; expected one \
             of miss, arrival-miss, ghost"
        );
        assert_eq!(
            parse("0.1").unwrap_err(),
            "--detection-errors 0.1: `0.1` is not KEY=VALUE; expected e.g. \
             miss=0.1,arrival-miss=0.2,ghost=0.01"
        );
        assert_eq!(
            parse("miss=0.1,miss=0.2").unwrap_err(),
            "--detection-errors miss=0.1,miss=0.2: `miss` is given twice"
        );
        assert!(parse("ghost=NaN").is_err());
        assert!(parse("ghost=-0").is_ok());
        assert!(parse("ghost=-0.1").is_err());
    }

    #[test]
    fn no_errors_give_the_exact_counts_and_certain_ones_give_none_or_a_phantom() {
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(DetectionErrors::default().apply(&mut rng, 7, 2), (7, 2));
        let blind = DetectionErrors {
            miss: 1.0,
            arrival_miss: 1.0,
            ghost: 0.0,
        };
        assert_eq!(blind.apply(&mut rng, 7, 2), (0, 0));
        let haunted = DetectionErrors {
            ghost: 1.0,
            ..DetectionErrors::default()
        };
        assert_eq!(haunted.apply(&mut rng, 0, 0), (1, 0));
        assert_eq!(haunted.apply(&mut rng, 3, 1), (4, 1));
    }

    #[test]
    fn errors_come_at_their_rates_and_the_same_seed_draws_the_same() {
        let errors = DetectionErrors {
            miss: 0.1,
            arrival_miss: 0.25,
            ghost: 0.02,
        };
        let draw = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let (mut queue, mut arrivals) = (0u64, 0u64);
            for _ in 0..20_000 {
                let (q, a) = errors.apply(&mut rng, 10, 4);
                queue += u64::from(q);
                arrivals += u64::from(a);
            }
            (queue, arrivals)
        };
        let (queue, arrivals) = draw(7);
        assert_eq!(draw(7), (queue, arrivals));
        assert_ne!(draw(8), (queue, arrivals));
        // 20,000 readings of 10 vehicles: 9 seen on average, plus 0.02 phantoms; 4 crossings:
        // 3 counted. Each within five standard errors (0.0068 and 0.0061).
        let per_reading = queue as f64 / 20_000.0;
        assert!((per_reading - 9.02).abs() < 0.03, "{per_reading}");
        let counted = arrivals as f64 / 20_000.0;
        assert!((counted - 3.0).abs() < 0.03, "{counted}");
    }
}
