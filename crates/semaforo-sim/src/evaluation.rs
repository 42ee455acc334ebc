//! One evaluation: every scenario, contender and seed asked for, run a few at a time, gathered
//! into one report per scenario.
//!
//! [`evaluate`] checks the options, finds the simulator (before anything is written, so a
//! missing `sumo` is said at once), prepares each scenario, runs the simulations on a small pool
//! of threads (one `sumo` each), and returns the reports. It prints nothing: the caller draws
//! progress from [`Progress`] and prints or writes the reports.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::configured::Configured;
use crate::detection_errors::DetectionErrors;
use crate::report::{ContenderRuns, ScenarioReport};
use crate::runner::{self, Contender, PrepareError, Prepared, RunError, TimingOverrides, Window};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::sumo::{self, SumoError};

/// Why an evaluation could not be done. The options' errors name the option by its
/// `semaforo sim` flag; the others name the scenario, file, traffic light or run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// No seed to run.
    #[error("--seeds 0: expected at least 1")]
    NoSeeds,
    /// Too little simulated time to measure anything.
    #[error("--duration {duration:?}: expected at least 10 s of simulated time")]
    TooShort {
        /// The duration asked for.
        duration: Duration,
    },
    /// A scenario cannot be found or read.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The simulator is missing.
    #[error(transparent)]
    Sumo(#[from] SumoError),
    /// A scenario cannot be prepared.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// A run failed (the first that did; the evaluation stopped there).
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Which scenarios to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenarios {
    /// Shipped scenarios by name (`all` stands for every one; no name means `all`), from `dir`
    /// or else where [`scenario::scenario_dir`] finds them.
    Shipped {
        /// Scenario names, e.g. `two-approach-asymmetric`.
        names: Vec<String>,
        /// The scenarios directory.
        dir: Option<PathBuf>,
    },
    /// A user's own network and demand.
    Network {
        /// The `.net.xml`.
        net: PathBuf,
        /// Its route files.
        routes: Vec<PathBuf>,
        /// The traffic lights to drive (`J1`, `J1,J4` or `all`), when the network has several.
        tls: Option<String>,
    },
    /// A user's own SUMO configuration (network, routes, additional files).
    SumoConfig {
        /// The `.sumocfg`.
        path: PathBuf,
        /// The traffic lights to drive (`J1`, `J1,J4` or `all`), when the network has several.
        tls: Option<String>,
    },
}

/// What to evaluate, and how. [`Options::default`] is `semaforo sim` without flags: every
/// shipped scenario, the four semaforo policies, 3 seeds of one simulated hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The scenarios.
    pub scenarios: Scenarios,
    /// Who drives the traffic light. SUMO's two baselines (`sumo-static`, `sumo-actuated`) run
    /// too, after these, when they are not listed; a contender listed twice runs once.
    pub contenders: Vec<Contender>,
    /// Seeds per contender (1..=seeds): each draws another realisation of the demand.
    pub seeds: u64,
    /// Simulated time per run (at least 10 s), from the scenario's begin; `None`: a
    /// configuration's `<end>`, else one hour.
    pub duration: Option<Duration>,
    /// The simulation step, s; `None`: a configuration's `<step-length>`, else
    /// [`runner::STEP_S`].
    pub step_length: Option<f64>,
    /// Timing and detection-zone overrides.
    pub timings: TimingOverrides,
    /// Counting errors drawn into what semaforo's controllers see (`--detection-errors`;
    /// the default, none, is SUMO's exact counts).
    pub detection_errors: DetectionErrors,
    /// Simulations run at once (default: the number of CPUs).
    pub jobs: Option<usize>,
    /// The `sumo` binary: a name looked up on the PATH, or a path.
    pub sumo: PathBuf,
    /// A configured intersection (`--config FILE`) to drive the scenario's one traffic light
    /// with, in place of its program's layout and timings; `None`: the network's own.
    pub configured: Option<Configured>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scenarios: Scenarios::Shipped {
                names: Vec::new(),
                dir: None,
            },
            contenders: semaforo_signal::PolicyKind::ALL
                .into_iter()
                .map(Contender::Policy)
                .collect(),
            seeds: 3,
            duration: None,
            step_length: None,
            timings: TimingOverrides::default(),
            detection_errors: DetectionErrors::default(),
            jobs: None,
            sumo: PathBuf::from("sumo"),
            configured: None,
        }
    }
}

/// What an evaluation reports while it runs, to draw a progress line. The callback is called
/// from the worker threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress<'a> {
    /// Every scenario is prepared and the runs start.
    Started {
        /// Runs to do.
        runs: usize,
    },
    /// One run finished.
    RunDone {
        /// Runs finished so far, this one included.
        done: usize,
        /// Runs to do.
        runs: usize,
        /// Its scenario.
        scenario: &'a str,
        /// Its contender.
        contender: &'static str,
        /// Its seed.
        seed: u64,
    },
}

fn contenders(asked: &[Contender]) -> Vec<Contender> {
    let mut out = Vec::new();
    for &c in asked {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    for baseline in [Contender::SumoStatic, Contender::SumoActuated] {
        if !out.contains(&baseline) {
            out.push(baseline);
        }
    }
    out
}

fn scenarios(asked: &Scenarios) -> Result<Vec<Scenario>, ScenarioError> {
    match asked {
        Scenarios::SumoConfig { path, tls } => {
            Ok(vec![scenario::from_sumocfg(path, tls.as_deref())?])
        }
        Scenarios::Network { net, routes, tls } => {
            Ok(vec![scenario::user(net, routes, tls.as_deref())?])
        }
        Scenarios::Shipped { names: asked, dir } => {
            let dir = scenario::scenario_dir(dir.as_deref());
            let mut names: Vec<String> = Vec::new();
            let asked = if asked.is_empty() {
                vec!["all".to_string()]
            } else {
                asked.clone()
            };
            for n in asked {
                let n = n.trim().to_string();
                if n == "all" {
                    names.extend(scenario::known_names());
                } else {
                    names.push(n);
                }
            }
            names.dedup();
            names.iter().map(|n| scenario::shipped(n, &dir)).collect()
        }
    }
}

/// Runs the evaluation `options` describe and returns one report per scenario, in the order
/// asked; `progress` hears of each finished run. The first failed run stops the evaluation
/// (runs under way finish) and is the error.
pub fn evaluate(
    options: &Options,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Vec<ScenarioReport>, EvaluationError> {
    if options.seeds == 0 {
        return Err(EvaluationError::NoSeeds);
    }
    if let Some(duration) = options.duration.filter(|d| d.as_secs_f64() < 10.0) {
        return Err(EvaluationError::TooShort { duration });
    }
    let contenders = contenders(&options.contenders);
    let scenarios = scenarios(&options.scenarios)?;
    // Checked before any file is written, so a missing simulator is said at once.
    let binary = sumo::locate(&options.sumo)?;
    let prepared: Vec<Prepared> = scenarios
        .into_iter()
        .map(|s| {
            let window = Window::new(&s, options.duration, options.step_length)?;
            Prepared::new(s, &options.timings, options.configured.as_ref(), window)
                .map(|p| p.with_detection_errors(options.detection_errors))
        })
        .collect::<Result<_, _>>()?;

    let seeds = options.seeds;
    let jobs: Vec<(usize, usize, u64)> = (0..prepared.len())
        .flat_map(|s| {
            (0..contenders.len()).flat_map(move |c| (1..=seeds).map(move |seed| (s, c, seed)))
        })
        .collect();
    let workers = options
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let failed = Mutex::new(None);
    progress(Progress::Started { runs: jobs.len() });
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(s, c, seed)) = jobs.get(i) else {
                    break;
                };
                if failed.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                let p = &prepared[s];
                let contender = contenders[c];
                match runner::run(p, contender, seed, &binary) {
                    Ok(m) => {
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        progress(Progress::RunDone {
                            done: n,
                            runs: jobs.len(),
                            scenario: &p.scenario.name,
                            contender: contender.name(),
                            seed,
                        });
                        if let Ok(mut r) = results.lock() {
                            r.push((i, m));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failed.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(EvaluationError::Run(e));
    }
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);

    let mut reports: Vec<ScenarioReport> = prepared
        .iter()
        .map(|p| ScenarioReport {
            scenario: p.scenario.name.clone(),
            net: file_name(&p.scenario.net),
            routes: p.scenario.routes.iter().map(|r| file_name(r)).collect(),
            lights: p.light_ids(),
            begin_s: p.window.begin,
            duration_s: p.window.duration_s(),
            timings: p.timings,
            timing_source: timing_source(&options.timings, p),
            configuration: options.configured.as_ref().map(|c| c.source.clone()),
            group_timings: p
                .lights
                .first()
                .and_then(|l| l.configured.as_ref())
                .map(|c| {
                    c.intersection
                        .groups()
                        .iter()
                        .map(|g| g.name().to_string())
                        .zip(c.timings.entries().iter().copied())
                        .collect()
                })
                .unwrap_or_default(),
            detection_errors: p.detection_errors(),
            contenders: contenders
                .iter()
                .map(|c| ContenderRuns {
                    name: c.name(),
                    semaforo: matches!(c, Contender::Policy(_)),
                    runs: Vec::new(),
                })
                .collect(),
        })
        .collect();
    for (i, m) in results {
        let (s, c, seed) = jobs[i];
        reports[s].contenders[c].runs.push((seed, m));
    }
    Ok(reports)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn timing_source(overrides: &TimingOverrides, p: &Prepared) -> String {
    if let Some(c) = p.lights.first().and_then(|l| l.configured.as_ref()) {
        return format!(
            "each signal group's own, from the configuration; SUMO's baselines run the \
             network's program with its yellow and red clearance, the actuated ones with each \
             phase's min/max green from the configuration and passage {}",
            crate::report::secs(c.longest_passage())
        );
    }
    let mut from_net = Vec::new();
    if overrides.yellow.is_none() {
        from_net.push("yellow");
    }
    if overrides.red_clearance.is_none() {
        from_net.push("red clearance");
    }
    let ids = p.light_ids();
    let mut s = if from_net.is_empty() {
        "set by flags".to_string()
    } else if let [one] = ids.as_slice() {
        format!(
            "{} from traffic light {one:?}'s program",
            from_net.join(" and ")
        )
    } else {
        format!(
            "{} from each light's own program (shown: {:?}'s)",
            from_net.join(" and "),
            ids.first().map_or("", String::as_str)
        )
    };
    let actuated = p
        .lights
        .first()
        .is_some_and(|l| l.light.min_max_green.is_some());
    if overrides.min_green.is_none() || overrides.max_green.is_none() {
        s.push_str(if actuated {
            "; min/max green from its actuated program"
        } else {
            "; min/max green SUMO's actuated defaults"
        });
    }
    s.push_str("; SUMO's actuated baseline uses the same min/max green and passage");
    s
}
