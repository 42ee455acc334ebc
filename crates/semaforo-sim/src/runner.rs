//! One simulation run: a scenario, a contender (a semaforo policy or one of SUMO's own
//! programs) and a seed, from starting SUMO to the run's figures.
//!
//! Each step of a semaforo run: one TraCI message reads every lane-area detector (vehicles in
//! the zone as the queue, vehicles new to the zone as arrivals) and every incoming lane's halted
//! vehicles; the controller ticks with those readings; a second message sets the traffic
//! light's state string from its heads and advances SUMO one step.
//! SUMO's baselines run their own program; their output is read back each step. Every
//! contender's heads (ours as sent, SUMO's as read) go through an independent conflict monitor,
//! which tells conflicting greens from faults in one movement's sequence.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use semaforo_resources::{TempError, TempFiles};
use semaforo_signal::{
    ConflictFault, ConflictMonitor, Controller, ControllerError, DetectorReading, HeadState, Mode,
    PhaseId, PolicyKind, SignalTime, TickOutput, TimingError, Timings, UnknownPolicy,
};

use crate::configured::{Configured, ConfiguredLight, LayoutMismatch};
use crate::detection_errors::DetectionErrors;
use crate::metrics::{read_tripinfo, NotInserted, RunMetrics, RunTally, TripinfoError};
use crate::network::{self, NetworkError, ProgramKind, TrafficLight};
use crate::scenario::Scenario;
use crate::sumo::{Launch, Sumo, SumoError};
use crate::traci::{id, Batch, TraciError, Value};

/// Simulation step, seconds, unless the configuration or `--step-length` says: fine enough for
/// 1 s gaps and 3 s yellows.
pub const STEP_S: f64 = 0.5;

/// Simulated time per run when neither `--duration` nor the configuration's `<end>` says.
pub const DEFAULT_DURATION_S: f64 = 3600.0;

/// The simulated time of a scenario's runs, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// When the runs begin (a `.sumocfg`'s `<begin>`, else 0).
    pub begin: f64,
    /// When they end: `begin + --duration` when the flag is given, else the configuration's
    /// `<end>`, else `begin` + one hour.
    pub end: f64,
    /// The simulation step: `--step-length`, else the configuration's, else [`STEP_S`].
    pub step: f64,
}

impl Window {
    /// The window of `scenario` with the flags' `duration` and `step` (either may be absent).
    pub fn new(
        scenario: &Scenario,
        duration: Option<Duration>,
        step: Option<f64>,
    ) -> Result<Window, PrepareError> {
        let step = step.or(scenario.time.step_length).unwrap_or(STEP_S);
        if !(step.is_finite() && (0.01..=5.0).contains(&step)) {
            return Err(PrepareError::StepLength {
                scenario: scenario.name.clone(),
                value: step,
            });
        }
        let begin = scenario.time.begin.unwrap_or(0.0);
        let end = match (duration, scenario.time.end) {
            (Some(d), _) => begin + d.as_secs_f64(),
            (None, Some(end)) => end,
            (None, None) => begin + DEFAULT_DURATION_S,
        };
        if end - begin < 10.0 {
            return Err(PrepareError::TooShort {
                scenario: scenario.name.clone(),
                begin,
                end,
            });
        }
        Ok(Window { begin, end, step })
    }

    /// Simulated seconds.
    pub fn duration_s(&self) -> f64 {
        self.end - self.begin
    }
}

/// A scenario that cannot be prepared: its network, its timings, or its run files.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The network's traffic light cannot be read.
    #[error("scenario {scenario}")]
    Network {
        /// The scenario.
        scenario: String,
        /// Why.
        source: NetworkError,
    },
    /// A shipped scenario's traffic light is not the one it was generated with.
    #[error(transparent)]
    UnexpectedLayout(Box<UnexpectedLayout>),
    /// A timing override is out of range (named by its `semaforo sim` flag).
    #[error("{flag} {value}: expected a number of seconds from 0 to 3600")]
    Seconds {
        /// The flag, e.g. `--min-green`.
        flag: &'static str,
        /// The value given.
        value: f64,
    },
    /// The detection zone length is out of range.
    #[error("--zone-length {value}: expected a number of metres from 5 to 1000")]
    ZoneLength {
        /// The value given.
        value: f64,
    },
    /// The simulation step is out of range.
    #[error(
        "scenario {scenario}: step length {value} s (from --step-length or the configuration's \
         <step-length>): expected 0.01 to 5 s"
    )]
    StepLength {
        /// The scenario.
        scenario: String,
        /// The step, s.
        value: f64,
    },
    /// Less than 10 s to simulate.
    #[error(
        "scenario {scenario}: simulating from {begin} s to {end} s leaves less than 10 s (from \
         the configuration's <begin>/<end> or --duration)"
    )]
    TooShort {
        /// The scenario.
        scenario: String,
        /// Begin, s.
        begin: f64,
        /// End, s.
        end: f64,
    },
    /// The timings (from the program and the overrides) cannot run a controller.
    #[error(
        "scenario {scenario}: the timings (from the network's program {light:?} and the flags) \
         cannot be run"
    )]
    Timings {
        /// The scenario.
        scenario: String,
        /// The traffic light.
        light: String,
        /// Why.
        source: TimingError,
    },
    /// A configuration (`--config`) given while several traffic lights are driven: it defines
    /// one intersection.
    #[error(
        "--config {}: a configuration defines one intersection, and {} traffic lights are \
         driven ({}); choose the one it describes with --tls ID",
        .config.display(),
        .lights.len(),
        .lights.join(", ")
    )]
    ConfigurationForSeveralLights {
        /// The configuration file.
        config: PathBuf,
        /// The lights driven.
        lights: Vec<String>,
    },
    /// A timing flag given with a configuration, whose groups have their own timings.
    #[error(
        "{flag} cannot be used with --config {}: each signal group's timings come from the \
         configuration",
        .config.display()
    )]
    TimingFlagWithConfiguration {
        /// The flag, e.g. `--min-green`.
        flag: &'static str,
        /// The configuration file.
        config: PathBuf,
    },
    /// The configuration's intersection is not the traffic light's: every difference, and
    /// the light's groups and phases.
    #[error(transparent)]
    ConfigurationMismatch(Box<LayoutMismatch>),
    /// The configuration matches the light but cannot drive it (its per-group timings were
    /// built for another intersection, or a policy parameter is out of range).
    #[error("--config {}: cannot drive traffic light {light:?}", .config.display())]
    ConfigurationCannotRun {
        /// The configuration file.
        config: PathBuf,
        /// The traffic light.
        light: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The run files' temporary directory cannot be had.
    #[error("cannot create a temporary directory")]
    TempDir(#[source] TempError),
    /// A run file cannot be created.
    #[error("cannot create a temporary file")]
    TempFile(#[source] TempError),
    /// A run file cannot be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// A shipped scenario whose network's traffic light does not have the signal groups and phases
/// the scenario was generated with.
#[derive(Debug, thiserror::Error)]
#[error(
    "scenario {scenario}: traffic light {light:?} in {} has signal groups {groups:?} and \
     {phases} phases; the scenario expects groups {expected:?} in 2 phases (regenerate it \
     with scenarios/generate.py)",
    .net.display()
)]
pub struct UnexpectedLayout {
    /// The scenario.
    pub scenario: String,
    /// The traffic light.
    pub light: String,
    /// The network file.
    pub net: PathBuf,
    /// Its signal groups, sorted.
    pub groups: Vec<String>,
    /// Its phase count.
    pub phases: usize,
    /// The groups the scenario expects, sorted.
    pub expected: Vec<&'static str>,
}

/// One run that failed: SUMO, TraCI, the controller or the trip information. The errors of a
/// running simulation name the scenario, the run (`<contender>-s<seed>`) and the simulated time.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run's trip information or log file cannot be created.
    #[error(transparent)]
    RunFile(TempError),
    /// SUMO did not start.
    #[error(transparent)]
    Start(SumoError),
    /// The controller cannot run the scenario's layout and timings.
    #[error(transparent)]
    Controller(ControllerError),
    /// Reading the detectors and lanes failed.
    #[error("{scenario} {run}, reading at {at}")]
    Read {
        /// The scenario.
        scenario: String,
        /// The run, `<contender>-s<seed>`.
        run: String,
        /// Simulated time.
        at: SignalTime,
        /// Why.
        source: SumoError,
    },
    /// SUMO answered fewer values than the reads asked for.
    #[error("SUMO answered fewer reads than asked at {at}")]
    MissingReads {
        /// Simulated time.
        at: SignalTime,
    },
    /// A value read has the wrong type.
    #[error(transparent)]
    Value(TraciError),
    /// Setting the light or stepping failed.
    #[error("{scenario} {run}, step at {at}")]
    Step {
        /// The scenario.
        scenario: String,
        /// The run, `<contender>-s<seed>`.
        run: String,
        /// Simulated time.
        at: SignalTime,
        /// Why.
        source: SumoError,
    },
    /// Ending the simulation failed.
    #[error("{scenario} {run}: ending the simulation")]
    Finish {
        /// The scenario.
        scenario: String,
        /// The run, `<contender>-s<seed>`.
        run: String,
        /// Why.
        source: SumoError,
    },
    /// The trip information cannot be read.
    #[error(transparent)]
    Tripinfo(TripinfoError),
    /// No vehicle was due to depart in the simulated time: the figures would be zeros.
    #[error(
        "{scenario} {run}: no vehicle was simulated from {begin} s to {end} s; the demand's \
         departures must fall in that time (set by the configuration's <begin> and <end>, or \
         --duration)"
    )]
    NoVehicles {
        /// The scenario.
        scenario: String,
        /// The run, `<contender>-s<seed>`.
        run: String,
        /// Begin, s.
        begin: f64,
        /// End, s.
        end: f64,
    },
}

/// Who controls the traffic light in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// semaforo's controller with this policy.
    Policy(PolicyKind),
    /// The network's own program, fixed-time.
    SumoStatic,
    /// The network's program run by SUMO's actuated controller.
    SumoActuated,
    /// The network's program run by SUMO's delay-based controller (only when asked for).
    SumoDelayBased,
}

impl Contender {
    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Policy(k) => k.name(),
            Contender::SumoStatic => "sumo-static",
            Contender::SumoActuated => "sumo-actuated",
            Contender::SumoDelayBased => "sumo-delay-based",
        }
    }
}

impl FromStr for Contender {
    type Err = UnknownPolicy;

    /// `sumo-static`, `sumo-actuated`, `sumo-delay-based`, or a semaforo policy's name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "sumo-static" => Ok(Contender::SumoStatic),
            "sumo-actuated" => Ok(Contender::SumoActuated),
            "sumo-delay-based" => Ok(Contender::SumoDelayBased),
            other => other.parse().map(Contender::Policy),
        }
    }
}

/// One traffic light semaforo drives, with its timings.
#[derive(Debug, Clone)]
pub struct DrivenLight {
    /// The traffic light.
    pub light: TrafficLight,
    /// The timings semaforo's policies run it with (and SUMO's actuated program's min/max
    /// green): its own program's, unless a flag overrides them. With a configuration,
    /// semaforo's policies and SUMO's actuated programs take theirs from it instead, and only
    /// the program's yellow and red clearance here are used (to monitor SUMO's programs).
    pub timings: Timings,
    /// The configuration that drives it (`--config`), in place of its program's layout and
    /// `timings`.
    pub configured: Option<ConfiguredLight>,
}

impl DrivenLight {
    /// The timings of SUMO's own program (the network's yellow and red clearance).
    fn program_timings(&self) -> Timings {
        Timings {
            yellow: self.light.yellow.max(Duration::from_secs(1)),
            red_clearance: self.light.red_clearance,
            ..self.timings
        }
    }
}

/// A scenario ready to run: its traffic lights read, its additional files written.
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The traffic lights semaforo drives (`--tls`: one, several or all; at least one). The
    /// network's other lights keep their programs.
    pub lights: Vec<DrivenLight>,
    /// The first light's timings, for the report's header line.
    pub timings: Timings,
    /// The simulated time.
    pub window: Window,
    detectors: PathBuf,
    static_program: PathBuf,
    actuated_program: PathBuf,
    delay_based_program: PathBuf,
    /// Counting errors drawn into what semaforo's controllers see (none by default).
    detection_errors: DetectionErrors,
    /// Owns the run files; removes them when the evaluation ends.
    temp: TempFiles,
}

/// Timing overrides (seconds; `None`: the network's program, or SUMO's actuated defaults) and
/// the length of the detection zones. Errors name each by its `semaforo sim` flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingOverrides {
    /// `--min-green`.
    pub min_green: Option<f64>,
    /// `--max-green`.
    pub max_green: Option<f64>,
    /// `--yellow`.
    pub yellow: Option<f64>,
    /// `--red-clearance`.
    pub red_clearance: Option<f64>,
    /// `--zone-length`, metres.
    pub zone_m: f64,
}

impl Default for TimingOverrides {
    /// Nothing overridden, zones [`network::DETECTOR_LENGTH_M`] long.
    fn default() -> Self {
        TimingOverrides {
            min_green: None,
            max_green: None,
            yellow: None,
            red_clearance: None,
            zone_m: network::DETECTOR_LENGTH_M,
        }
    }
}

/// SUMO's defaults for actuated programs (`netconvert --tls.min-dur 5 --tls.max-dur 50`), used
/// when the network's program does not say.
const SUMO_MIN_GREEN: Duration = Duration::from_secs(5);
const SUMO_MAX_GREEN: Duration = Duration::from_secs(50);

fn secs(flag: &'static str, v: Option<f64>, default: Duration) -> Result<Duration, PrepareError> {
    match v {
        None => Ok(default),
        Some(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(value) => Err(PrepareError::Seconds { flag, value }),
    }
}

impl Prepared {
    /// Reads the scenario's network, checks its traffic light, and writes the detector and
    /// baseline program files. With `configured`, the scenario must drive one light, whose
    /// program must run the configured intersection (see [`Configured::on_light`]); semaforo's
    /// policies then drive it with the configured phases, conflicts, per-group timings and
    /// policy parameters, and no timing flag may be given.
    pub fn new(
        scenario: Scenario,
        overrides: &TimingOverrides,
        configured: Option<&Configured>,
        window: Window,
    ) -> Result<Self, PrepareError> {
        if let Some(c) = configured {
            let flags = [
                ("--min-green", overrides.min_green),
                ("--max-green", overrides.max_green),
                ("--yellow", overrides.yellow),
                ("--red-clearance", overrides.red_clearance),
            ];
            if let Some((flag, _)) = flags.iter().find(|(_, v)| v.is_some()) {
                return Err(PrepareError::TimingFlagWithConfiguration {
                    flag,
                    config: c.source.clone(),
                });
            }
        }
        let loaded =
            network::load_selected(&scenario.net, scenario.tls.as_deref()).map_err(|source| {
                PrepareError::Network {
                    scenario: scenario.name.clone(),
                    source,
                }
            })?;
        if let (Some(c), [_, _, ..]) = (configured, loaded.as_slice()) {
            return Err(PrepareError::ConfigurationForSeveralLights {
                config: c.source.clone(),
                lights: loaded.iter().map(|l| l.id.clone()).collect(),
            });
        }
        let mut lights = Vec::with_capacity(loaded.len());
        for light in loaded {
            check_layout(&scenario, &light)?;
            let timings = light_timings(&scenario, &light, overrides)?;
            let configured = configured
                .map(|c| c.on_light(&scenario.net, &light))
                .transpose()?;
            lights.push(DrivenLight {
                light,
                timings,
                configured,
            });
        }
        let Some(timings) = lights.first().map(|l| l.timings) else {
            return Err(PrepareError::Network {
                scenario: scenario.name.clone(),
                source: NetworkError::NoLight {
                    file: scenario.net.clone(),
                },
            });
        };
        let temp = TempFiles::new("traffic_sim_").map_err(PrepareError::TempDir)?;
        let write = |suffix: &str, text: String| -> Result<PathBuf, PrepareError> {
            let path = temp.create_file(suffix).map_err(PrepareError::TempFile)?;
            std::fs::write(&path, text).map_err(|source| PrepareError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        };
        if !(overrides.zone_m.is_finite() && (5.0..=1000.0).contains(&overrides.zone_m)) {
            return Err(PrepareError::ZoneLength {
                value: overrides.zone_m,
            });
        }
        // One file of each kind for every light: their <additional> bodies, concatenated.
        let joined = |file: &dyn Fn(&DrivenLight) -> String| -> String {
            let mut out = String::from("<additional>\n");
            for l in &lights {
                let text = file(l);
                out.push_str(
                    text.trim_start_matches("<additional>\n")
                        .trim_end_matches("</additional>\n"),
                );
            }
            out.push_str("</additional>\n");
            out
        };
        let detectors = write(
            ".det.add.xml",
            joined(&|l| l.light.detectors_xml(overrides.zone_m)),
        )?;
        // SUMO's actuated baselines green each phase from the same min to the same max green
        // as semaforo: with a configuration, the largest of the phase's groups'.
        let program = |kind: ProgramKind| {
            joined(&|l| {
                let t = &l.timings;
                match &l.configured {
                    None => l
                        .light
                        .program_xml(kind, t.min_green, t.max_green, t.passage),
                    Some(c) => l.light.program_xml_by_phase(
                        kind,
                        &|phase| {
                            phase
                                .and_then(|p| c.timing_of_network_phase(p))
                                .map_or((t.min_green, t.max_green), |p| (p.min_green, p.max_green))
                        },
                        c.longest_passage(),
                    ),
                }
            })
        };
        let static_program = write(".static.add.xml", program(ProgramKind::Static))?;
        let actuated_program = write(".actuated.add.xml", program(ProgramKind::Actuated))?;
        let delay_based_program = write(
            ".delay-based.add.xml",
            program(ProgramKind::DelayBased {
                detector_range_m: overrides.zone_m,
            }),
        )?;
        Ok(Prepared {
            scenario,
            lights,
            timings,
            window,
            detectors,
            static_program,
            actuated_program,
            delay_based_program,
            detection_errors: DetectionErrors::default(),
            temp,
        })
    }

    /// The same, with `errors` drawn into the counts semaforo's controllers see in every run
    /// (`--detection-errors`; SUMO's baselines keep their exact detectors).
    pub fn with_detection_errors(self, errors: DetectionErrors) -> Self {
        Prepared {
            detection_errors: errors,
            ..self
        }
    }

    /// The counting errors semaforo's controllers see.
    pub fn detection_errors(&self) -> DetectionErrors {
        self.detection_errors
    }

    /// The ids of the lights semaforo drives.
    pub fn light_ids(&self) -> Vec<String> {
        self.lights.iter().map(|l| l.light.id.clone()).collect()
    }
}

/// Checks a shipped scenario's light against the groups it was generated with.
fn check_layout(scenario: &Scenario, light: &TrafficLight) -> Result<(), PrepareError> {
    let Some(expected) = scenario.expected_groups else {
        return Ok(());
    };
    let mut got: Vec<&str> = light
        .intersection
        .groups()
        .iter()
        .map(|g| g.name())
        .collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    if got != want || light.intersection.phases().len() != 2 {
        return Err(PrepareError::UnexpectedLayout(Box::new(UnexpectedLayout {
            scenario: scenario.name.clone(),
            light: light.id.clone(),
            net: scenario.net.clone(),
            groups: got.into_iter().map(str::to_string).collect(),
            phases: light.intersection.phases().len(),
            expected: want,
        })));
    }
    Ok(())
}

/// A light's timings: its program's, unless a flag overrides them.
fn light_timings(
    scenario: &Scenario,
    light: &TrafficLight,
    overrides: &TimingOverrides,
) -> Result<Timings, PrepareError> {
    let (min_default, max_default) = light
        .min_max_green
        .unwrap_or((SUMO_MIN_GREEN, SUMO_MAX_GREEN));
    let timings = Timings {
        min_green: secs("--min-green", overrides.min_green, min_default)?,
        max_green: secs("--max-green", overrides.max_green, max_default)?,
        yellow: secs("--yellow", overrides.yellow, light.yellow)?,
        red_clearance: secs(
            "--red-clearance",
            overrides.red_clearance,
            light.red_clearance,
        )?,
        ..Timings::default()
    };
    timings.validate().map_err(|source| PrepareError::Timings {
        scenario: scenario.name.clone(),
        light: light.id.clone(),
        source,
    })?;
    Ok(timings)
}

/// Runs one simulation.
pub fn run(
    prepared: &Prepared,
    contender: Contender,
    seed: u64,
    sumo_binary: &Path,
) -> Result<RunMetrics, RunError> {
    let p = prepared;
    let window = p.window;
    let tag = format!("{}-s{seed}", contender.name());
    let tripinfo = p
        .temp
        .create_file(&format!("-{tag}.tripinfo.xml"))
        .map_err(RunError::RunFile)?;
    let log = p
        .temp
        .create_file(&format!("-{tag}.log"))
        .map_err(RunError::RunFile)?;
    let mut additional = p.scenario.additional.clone();
    additional.push(p.detectors.clone());
    match contender {
        Contender::SumoStatic => additional.push(p.static_program.clone()),
        Contender::SumoActuated => additional.push(p.actuated_program.clone()),
        Contender::SumoDelayBased => additional.push(p.delay_based_program.clone()),
        Contender::Policy(_) => {}
    }
    let launch = Launch {
        binary: sumo_binary.to_path_buf(),
        net: p.scenario.net.clone(),
        routes: p.scenario.routes.clone(),
        additional,
        tripinfo: tripinfo.clone(),
        log,
        seed,
        step_length: window.step,
        begin: window.begin,
        end: window.end,
    };
    let mut sumo = Sumo::start(&launch).map_err(RunError::Start)?;

    // Every contender's output, as sent to or read from SUMO, goes through an independent
    // monitor with the timings it runs with; checked from a minute in, so the monitor's own
    // start-up (every head red since its start) never flags the first green.
    let offset_ms = 60_000;
    let mut lights = p
        .lights
        .iter()
        .enumerate()
        .map(|(i, l)| {
            // Each light's errors from the run's seed and its place: the same draws for every
            // contender given the same readings, another stream for each light.
            let rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
            Ok(LightRun::new(l, contender)?.with_detection_errors(p.detection_errors, rng))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tally = RunTally {
        begin: window.begin,
        end: window.end,
        ..RunTally::default()
    };
    // Vehicles waiting for insertion, and since when.
    let mut pending: HashMap<String, f64> = HashMap::new();

    let step_ms = (window.step * 1000.0).round() as u64;
    let steps = (window.duration_s() / window.step).round() as u64;
    for k in 0..=steps {
        let sim_now = window.begin + k as f64 * window.step;
        let now = SignalTime::from_millis(k * step_ms);
        // Read the state at `now` (SUMO steps only at the end of a message, so reading and
        // stepping are two messages).
        let mut read = Batch::new();
        for l in &lights {
            l.ask(&mut read);
        }
        read.get(id::GET_SIM, id::PENDING_VEHICLES, "");
        read.get(id::GET_SIM, id::TELEPORT_STARTING_VEHICLES_NUMBER, "");
        let mut values = sumo
            .send(&read)
            .map_err(|source| RunError::Read {
                scenario: p.scenario.name.clone(),
                run: tag.clone(),
                at: now,
                source,
            })?
            .into_iter();
        let mut next = || values.next().ok_or(RunError::MissingReads { at: now });
        let mut queue = 0.0;
        for l in &mut lights {
            queue += l.take(&mut next)?;
        }
        let waiting: HashSet<String> = next()?
            .into_list()
            .map_err(RunError::Value)?
            .into_iter()
            .collect();
        tally.teleports += u64::from(next()?.as_count().map_err(RunError::Value)?);
        pending.retain(|v, _| waiting.contains(v));
        for v in waiting {
            pending.entry(v).or_insert(sim_now);
        }
        if k == steps {
            // The state at the end: only the counts above are wanted from it.
            break;
        }
        tally.queue_sum += queue;
        tally.samples += 1;
        let at = SignalTime::from_millis(offset_ms + k * step_ms);
        let mut act = Batch::new();
        for l in &mut lights {
            l.act(now, at, &mut tally, &mut act);
        }
        act.step();
        sumo.send(&act).map_err(|source| RunError::Step {
            scenario: p.scenario.name.clone(),
            run: tag.clone(),
            at: now,
            source,
        })?;
    }
    sumo.finish().map_err(|source| RunError::Finish {
        scenario: p.scenario.name.clone(),
        run: tag.clone(),
        source,
    })?;
    let trips = read_tripinfo(&tripinfo).map_err(RunError::Tripinfo)?;
    let _ = std::fs::remove_file(&tripinfo);
    let mut not_inserted: Vec<NotInserted> = pending
        .into_values()
        .map(|since| NotInserted { since })
        .collect();
    not_inserted.sort_by(|a, b| a.since.total_cmp(&b.since));
    tally.not_inserted = not_inserted;
    if trips.is_empty() && tally.not_inserted.is_empty() {
        return Err(RunError::NoVehicles {
            scenario: p.scenario.name.clone(),
            run: tag,
            begin: window.begin,
            end: window.end,
        });
    }
    Ok(RunMetrics::from_trips(&trips, &tally))
}

/// One traffic light in a run: its controller (semaforo's) or its program's state (SUMO's),
/// its detectors and its monitor.
struct LightRun<'a> {
    light: &'a TrafficLight,
    controller: Option<(Controller, TickOutput)>,
    /// With a configuration: for each of the controller's phases, the light's phase that greens
    /// the same groups.
    network_phases: Option<Vec<PhaseId>>,
    monitor: ConflictMonitor,
    detectors: Vec<String>,
    /// For each group, its lanes' indices in `light.incoming_lanes`.
    group_lanes: Vec<Vec<usize>>,
    /// Per incoming lane: the vehicles in the zone at the last reading.
    seen: Vec<HashSet<String>>,
    present: Vec<u32>,
    entered: Vec<u32>,
    readings: Vec<DetectorReading>,
    /// Counting errors laid over the exact counts, and their draws.
    errors: DetectionErrors,
    rng: fastrand::Rng,
    /// The program's state read this step (SUMO's contenders).
    program_state: Option<String>,
    state: String,
    heads: Vec<HeadState>,
    was_flash: bool,
}

impl<'a> LightRun<'a> {
    fn new(driven: &'a DrivenLight, contender: Contender) -> Result<Self, RunError> {
        let light = &driven.light;
        let controller = match (contender, &driven.configured) {
            (Contender::Policy(kind), None) => Some(Controller::new(
                light.intersection.clone(),
                driven.timings,
                kind,
                SignalTime::ZERO,
            )),
            (Contender::Policy(kind), Some(c)) => Some(c.controller(kind, SignalTime::ZERO)),
            _ => None,
        }
        .transpose()
        .map_err(RunError::Controller)?
        .map(|c| {
            let out = c.new_output();
            (c, out)
        });
        // The monitor checks what the light shows against the layout and timings it runs with.
        let monitor = match (&controller, &driven.configured) {
            (Some(_), Some(c)) => {
                ConflictMonitor::new(&c.intersection, &c.timings, SignalTime::ZERO)
            }
            (Some(_), None) => {
                ConflictMonitor::new(&light.intersection, &driven.timings, SignalTime::ZERO)
            }
            (None, _) => ConflictMonitor::new(
                &light.intersection,
                &driven.program_timings(),
                SignalTime::ZERO,
            ),
        };
        // The light's phase whose state string gives each configured phase's green letters.
        let network_phases = match (&controller, &driven.configured) {
            (Some(_), Some(c)) => Some(c.network_phases.clone()),
            _ => None,
        };
        let lanes = &light.incoming_lanes;
        let group_lanes: Vec<Vec<usize>> = light
            .group_lanes
            .iter()
            .map(|ls| {
                ls.iter()
                    .filter_map(|l| lanes.iter().position(|(x, _)| x == l))
                    .collect()
            })
            .collect();
        Ok(LightRun {
            light,
            controller,
            network_phases,
            monitor,
            detectors: lanes
                .iter()
                .map(|(l, _)| TrafficLight::detector_id(l))
                .collect(),
            seen: vec![HashSet::new(); lanes.len()],
            present: vec![0; lanes.len()],
            entered: vec![0; lanes.len()],
            readings: vec![DetectorReading::new(0, 0); group_lanes.len()],
            errors: DetectionErrors::default(),
            rng: fastrand::Rng::with_seed(0),
            group_lanes,
            program_state: None,
            state: String::new(),
            heads: Vec::new(),
            was_flash: false,
        })
    }

    /// The same, with `errors` drawn from `rng` into what its controller sees (SUMO's programs
    /// read their own detectors, not these readings).
    fn with_detection_errors(self, errors: DetectionErrors, rng: fastrand::Rng) -> Self {
        if self.controller.is_none() {
            return self;
        }
        LightRun {
            errors,
            rng,
            ..self
        }
    }

    /// Adds this light's reads to `read`: its detectors, its lanes' halted vehicles, and the
    /// program's state when SUMO drives it.
    fn ask(&self, read: &mut Batch) {
        for d in &self.detectors {
            read.get(id::GET_LANEAREA, id::LAST_STEP_VEHICLE_ID_LIST, d);
        }
        for (lane, _) in &self.light.incoming_lanes {
            read.get(id::GET_LANE, id::LAST_STEP_HALTING_NUMBER, lane);
        }
        if self.controller.is_none() {
            read.get(id::GET_TL, id::TL_RED_YELLOW_GREEN_STATE, &self.light.id);
        }
    }

    /// Takes this light's answers, in [`ask`](Self::ask)'s order; returns its halted vehicles.
    fn take(&mut self, next: &mut dyn FnMut() -> Result<Value, RunError>) -> Result<f64, RunError> {
        for i in 0..self.detectors.len() {
            let ids = next()?.into_list().map_err(RunError::Value)?;
            self.present[i] = ids.len() as u32;
            self.entered[i] = ids.iter().filter(|v| !self.seen[i].contains(*v)).count() as u32;
            self.seen[i] = ids.into_iter().collect();
        }
        let mut queue = 0.0;
        for _ in &self.light.incoming_lanes {
            queue += f64::from(next()?.as_count().map_err(RunError::Value)?);
        }
        self.program_state = match self.controller {
            None => Some(next()?.into_string().map_err(RunError::Value)?),
            Some(_) => None,
        };
        for (g, ls) in self.group_lanes.iter().enumerate() {
            let queue = ls.iter().map(|&i| self.present[i]).sum();
            let arrivals = ls.iter().map(|&i| self.entered[i]).sum();
            let (queue, arrivals) = self.errors.apply(&mut self.rng, queue, arrivals);
            self.readings[g] = DetectorReading::new(queue, arrivals);
        }
        Ok(queue)
    }

    /// Checks what the light shows and, when semaforo drives it, ticks the controller and adds
    /// the new state to `act`. `now` is the controller's time, `at` the monitor's.
    fn act(&mut self, now: SignalTime, at: SignalTime, tally: &mut RunTally, act: &mut Batch) {
        if let Some(s) = self.program_state.take() {
            self.light.heads_of(&s, &mut self.heads);
            check(&mut self.monitor, at, &self.heads, tally);
        }
        if let Some((ctl, out)) = self.controller.as_mut() {
            ctl.tick_into(now, &self.readings, out);
            let flash = out.status.mode == Mode::Flash;
            if flash && !self.was_flash {
                tally.conflicts += 1;
            }
            self.was_flash = flash;
            let phase = match &self.network_phases {
                None => out.status.phase,
                Some(map) => out.status.phase.and_then(|p| map.get(p.index()).copied()),
            };
            self.light.state_string(&out.heads, phase, &mut self.state);
            self.light.heads_of(&self.state, &mut self.heads);
            check(&mut self.monitor, at, &self.heads, tally);
            act.set_tls_state(&self.light.id, &self.state);
        }
    }
}

/// Checks the heads shown at `at`: conflicting greens count as conflicts, the rest of the
/// monitor's faults (one movement's sequence) as sequence faults. The monitor starts afresh
/// after each, so a fault is counted once, not at every step after it.
fn check(monitor: &mut ConflictMonitor, at: SignalTime, heads: &[HeadState], tally: &mut RunTally) {
    match monitor.check(at, heads) {
        Ok(()) => {}
        Err(ConflictFault::Conflict { .. }) => {
            tally.conflicts += 1;
            monitor.reset(at);
        }
        Err(_) => {
            tally.sequence_faults += 1;
            monitor.reset(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn overrides() -> TimingOverrides {
        TimingOverrides {
            min_green: None,
            max_green: None,
            yellow: None,
            red_clearance: None,
            zone_m: network::DETECTOR_LENGTH_M,
        }
    }

    fn window() -> Window {
        Window::new(&two_approach(), None, None).unwrap()
    }

    #[test]
    fn the_window_comes_from_the_flags_then_the_configuration() {
        let mut s = two_approach();
        let w = Window::new(&s, None, None).unwrap();
        assert_eq!((w.begin, w.end, w.step), (0.0, 3600.0, STEP_S));
        s.time = scenario::ConfigTime {
            begin: Some(3600.0),
            end: Some(5400.0),
            step_length: Some(1.0),
        };
        let w = Window::new(&s, None, None).unwrap();
        assert_eq!((w.begin, w.end, w.step), (3600.0, 5400.0, 1.0));
        let w = Window::new(&s, Some(Duration::from_secs(300)), Some(0.25)).unwrap();
        assert_eq!((w.begin, w.end, w.step), (3600.0, 3900.0, 0.25));
        s.time.end = Some(3605.0);
        let e = Window::new(&s, None, None).unwrap_err().to_string();
        assert!(
            e.contains("from 3600 s to 3605 s leaves less than 10 s"),
            "{e}"
        );
        let e = Window::new(&s, Some(Duration::from_secs(60)), Some(0.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("step length 0 s"), "{e}");
    }

    fn two_approach() -> Scenario {
        scenario::shipped("two-approach-balanced", &scenario::scenario_dir(None)).unwrap()
    }

    #[test]
    fn timings_come_from_the_networks_program_unless_overridden() {
        let p = Prepared::new(two_approach(), &overrides(), None, window()).unwrap();
        assert_eq!(p.timings.yellow, Duration::from_secs(3));
        assert_eq!(p.timings.red_clearance, Duration::ZERO);
        assert_eq!(p.timings.min_green, SUMO_MIN_GREEN);
        let o = TimingOverrides {
            red_clearance: Some(2.0),
            ..overrides()
        };
        let p = Prepared::new(two_approach(), &o, None, window()).unwrap();
        assert_eq!(p.timings.red_clearance, Duration::from_secs(2));
    }

    #[test]
    fn a_bad_timing_flag_names_the_flag_or_the_field() {
        let o = TimingOverrides {
            yellow: Some(0.5),
            ..overrides()
        };
        let e = crate::error_chain(
            &Prepared::new(two_approach(), &o, None, window())
                .err()
                .unwrap(),
        );
        assert!(
            e.contains("yellow is 0.5 s; accepted range is 1 s to 10 s"),
            "{e}"
        );
        let o = TimingOverrides {
            min_green: Some(-1.0),
            ..overrides()
        };
        let e = crate::error_chain(
            &Prepared::new(two_approach(), &o, None, window())
                .err()
                .unwrap(),
        );
        assert!(
            e.contains("--min-green -1: expected a number of seconds"),
            "{e}"
        );
    }

    #[test]
    fn a_shipped_network_whose_light_does_not_match_the_scenario_is_refused() {
        let mut s = two_approach();
        s.expected_groups = Some(&["N", "E", "S", "W"]);
        let e = crate::error_chain(
            &Prepared::new(s, &overrides(), None, window())
                .err()
                .unwrap(),
        );
        assert!(
            e.contains(
                "has signal groups [\"A\", \"B\"] and 2 phases; the scenario expects groups"
            ),
            "{e}"
        );
    }

    fn four_arm() -> Scenario {
        scenario::shipped("four-arm-balanced", &scenario::scenario_dir(None)).unwrap()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The four-arm light configured with its groups and phases in another order than the
    /// network's (W, S, E, N; east-west first), each group with its own min green (W 9 s, S 7 s,
    /// E 11 s, N 5 s), yellow and red clearance, and a compare margin of 4.
    fn four_arm_configured() -> Configured {
        use semaforo_signal::{GroupTiming, GroupTimings, Intersection, IntersectionSpec};
        let intersection = Intersection::from_spec(&IntersectionSpec {
            groups: vec!["W".into(), "S".into(), "E".into(), "N".into()],
            phases: vec![
                semaforo_signal::PhaseSpec::new("east-west", &["E", "W"]),
                semaforo_signal::PhaseSpec::new("north-south", &["N", "S"]),
            ],
            conflicts: Default::default(),
        })
        .unwrap();
        let timing = |min: u64, yellow: u64, red: u64| {
            GroupTiming::new(Timings {
                min_green: secs(min),
                max_green: secs(40),
                yellow: secs(yellow),
                red_clearance: secs(red),
                ..Timings::default()
            })
        };
        let timings = GroupTimings::new(
            &intersection,
            vec![
                timing(9, 4, 2),
                timing(7, 3, 1),
                timing(11, 4, 2),
                timing(5, 3, 1),
            ],
        )
        .unwrap();
        let mut c = Configured::new(
            "/sites/main-and-5th.toml",
            intersection,
            timings,
            PolicyKind::Compare,
        );
        c.compare.margin = 4;
        c
    }

    #[test]
    fn a_configured_light_runs_the_configured_phases_and_timings_in_the_lights_group_order() {
        let config = four_arm_configured();
        let p = Prepared::new(four_arm(), &overrides(), Some(&config), window()).unwrap();
        let driven = &p.lights[0];
        let c = driven.configured.as_ref().unwrap();
        assert_eq!(c.source, Path::new("/sites/main-and-5th.toml"));
        // The light's group order (N, E, S, W), each with its own configured timing.
        let by_group: Vec<(&str, u64, u64)> = c
            .intersection
            .groups()
            .iter()
            .zip(c.timings.entries())
            .map(|(g, t)| {
                (
                    g.name(),
                    t.timings.min_green.as_secs(),
                    t.timings.yellow.as_secs(),
                )
            })
            .collect();
        assert_eq!(
            by_group,
            [("N", 5, 3), ("E", 11, 4), ("S", 7, 3), ("W", 9, 4)]
        );

        // semaforo's controller runs the configured phases, timings and parameters.
        let run = LightRun::new(driven, Contender::Policy(PolicyKind::Compare)).unwrap();
        let (ctl, _) = run.controller.as_ref().unwrap();
        let phases: Vec<&str> = ctl
            .intersection()
            .phases()
            .iter()
            .map(|q| q.name())
            .collect();
        assert_eq!(phases, ["east-west", "north-south"]);
        assert_eq!(ctl.timings(), &c.timings);
        assert_eq!(
            ctl.policy(),
            &semaforo_signal::BuiltinPolicy::Compare(config.compare)
        );
        let run = LightRun::new(driven, Contender::Policy(PolicyKind::MaxPressure)).unwrap();
        let (ctl, _) = run.controller.as_ref().unwrap();
        assert_eq!(
            ctl.policy(),
            &semaforo_signal::BuiltinPolicy::MaxPressure(config.max_pressure)
        );
        // SUMO's baselines keep the network's layout.
        let run = LightRun::new(driven, Contender::SumoActuated).unwrap();
        assert!(run.controller.is_none() && run.network_phases.is_none());
    }

    #[test]
    fn a_configured_phase_shows_the_green_letters_of_the_network_phase_with_its_groups() {
        let config = four_arm_configured();
        let p = Prepared::new(four_arm(), &overrides(), Some(&config), window()).unwrap();
        let mut run = LightRun::new(&p.lights[0], Contender::Policy(PolicyKind::Compare)).unwrap();
        // Vehicles only on east and west: after the start-up all-red, east-west (the configured
        // phase 0, the network's phase 1) turns green, with the right turns yielding (`g`).
        run.readings = vec![
            DetectorReading::new(0, 0),
            DetectorReading::new(3, 1),
            DetectorReading::new(0, 0),
            DetectorReading::new(3, 1),
        ];
        let mut tally = RunTally::default();
        let mut states = Vec::new();
        for tenth in 0..100u64 {
            let now = SignalTime::from_millis(tenth * 100);
            let at = SignalTime::from_millis(60_000 + tenth * 100);
            run.act(now, at, &mut tally, &mut Batch::new());
            if states.last() != Some(&run.state) {
                states.push(run.state.clone());
            }
        }
        assert_eq!(states, ["rrrrrrrrrrrr", "rrrGGgrrrGGg"]);
        assert_eq!((tally.conflicts, tally.sequence_faults), (0, 0));
    }

    #[test]
    fn the_actuated_baseline_greens_each_phase_with_its_groups_configured_min_and_max() {
        let config = four_arm_configured();
        let p = Prepared::new(four_arm(), &overrides(), Some(&config), window()).unwrap();
        let xml = std::fs::read_to_string(&p.actuated_program).unwrap();
        // N+S: the larger of N's 5 s and S's 7 s; E+W: of E's 11 s and W's 9 s.
        assert!(
            xml.contains("minDur=\"7.0\" maxDur=\"40.0\" state=\"GGgrrrGGgrrr\""),
            "{xml}"
        );
        assert!(
            xml.contains("minDur=\"11.0\" maxDur=\"40.0\" state=\"rrrGGgrrrGGg\""),
            "{xml}"
        );
        // The program itself (its yellows) is the network's.
        assert!(
            xml.contains("duration=\"3.0\" state=\"yyyrrryyyrrr\""),
            "{xml}"
        );
    }

    #[test]
    fn a_configuration_with_timing_flags_or_several_lights_is_refused_naming_the_flag() {
        let config = four_arm_configured();
        let o = TimingOverrides {
            yellow: Some(4.0),
            ..overrides()
        };
        let e = Prepared::new(four_arm(), &o, Some(&config), window())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "--yellow cannot be used with --config /sites/main-and-5th.toml: each signal \
             group's timings come from the configuration"
        );

        // A network with two lights, both driven (--tls all).
        let dir = tempfile::tempdir().unwrap();
        let net = std::fs::read_to_string(four_arm().net).unwrap();
        let logic_start = net.find("<tlLogic").unwrap();
        let logic_end = net.find("</tlLogic>").unwrap() + "</tlLogic>".len();
        let second = net[logic_start..logic_end].replace("id=\"C\"", "id=\"C2\"");
        let connections: String = net
            .lines()
            .filter(|l| l.contains("tl=\"C\""))
            .map(|l| l.replace("tl=\"C\"", "tl=\"C2\"") + "\n")
            .collect();
        let two = net.replace("</net>", &format!("{second}\n{connections}</net>"));
        let path = dir.path().join("two-lights.net.xml");
        std::fs::write(&path, two).unwrap();
        let s = scenario::user(&path, &four_arm().routes, Some("all")).unwrap();
        let e = Prepared::new(s, &overrides(), Some(&config), window())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "--config /sites/main-and-5th.toml: a configuration defines one intersection, and 2 \
             traffic lights are driven (C, C2); choose the one it describes with --tls ID"
        );
    }

    #[test]
    fn a_configuration_that_is_not_the_lights_is_refused_with_every_difference() {
        let mut config = four_arm_configured();
        config.source = "/sites/other.toml".into();
        let e = crate::error_chain(
            &Prepared::new(two_approach(), &overrides(), Some(&config), window())
                .err()
                .unwrap(),
        );
        assert!(
            e.starts_with(
                "the configuration /sites/other.toml does not match traffic light \"C\" in "
            ),
            "{e}"
        );
        for part in [
            "two-approach.net.xml: ",
            "signal groups only in the configuration: \"W\", \"S\", \"E\", \"N\"; ",
            "signal groups only in the network: \"B\", \"A\"; ",
            "phases only in the configuration (no green of the program greens their groups \
             together): \"east-west\" [\"W\", \"E\"], \"north-south\" [\"S\", \"N\"]; ",
            "phases only in the network (no configured phase greens exactly these groups): \
             [\"B\"], [\"A\"]; ",
            "groups = [\"B\", \"A\"], phases = [{ name = \"B\", groups = [\"B\"] }, { name = \
             \"A\", groups = [\"A\"] }]",
        ] {
            assert!(e.contains(part), "{part:?} not in {e}");
        }
    }
}
