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
    PolicyKind, SignalTime, TickOutput, TimingError, Timings, UnknownPolicy,
};

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
    /// green): its own program's, unless a flag overrides them.
    pub timings: Timings,
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
    /// baseline program files.
    pub fn new(
        scenario: Scenario,
        overrides: &TimingOverrides,
        window: Window,
    ) -> Result<Self, PrepareError> {
        let loaded =
            network::load_selected(&scenario.net, scenario.tls.as_deref()).map_err(|source| {
                PrepareError::Network {
                    scenario: scenario.name.clone(),
                    source,
                }
            })?;
        let mut lights = Vec::with_capacity(loaded.len());
        for light in loaded {
            check_layout(&scenario, &light)?;
            let timings = light_timings(&scenario, &light, overrides)?;
            lights.push(DrivenLight { light, timings });
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
        let program = |kind: ProgramKind| {
            joined(&|l| {
                let t = &l.timings;
                l.light
                    .program_xml(kind, t.min_green, t.max_green, t.passage)
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
            temp,
        })
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
        .map(|l| LightRun::new(l, contender))
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
    monitor: ConflictMonitor,
    detectors: Vec<String>,
    /// For each group, its lanes' indices in `light.incoming_lanes`.
    group_lanes: Vec<Vec<usize>>,
    /// Per incoming lane: the vehicles in the zone at the last reading.
    seen: Vec<HashSet<String>>,
    present: Vec<u32>,
    entered: Vec<u32>,
    readings: Vec<DetectorReading>,
    /// The program's state read this step (SUMO's contenders).
    program_state: Option<String>,
    state: String,
    heads: Vec<HeadState>,
    was_flash: bool,
}

impl<'a> LightRun<'a> {
    fn new(driven: &'a DrivenLight, contender: Contender) -> Result<Self, RunError> {
        let light = &driven.light;
        let controller = match contender {
            Contender::Policy(kind) => {
                let c = Controller::new(
                    light.intersection.clone(),
                    driven.timings,
                    kind,
                    SignalTime::ZERO,
                )
                .map_err(RunError::Controller)?;
                let out = c.new_output();
                Some((c, out))
            }
            _ => None,
        };
        let monitor_timings = match contender {
            Contender::Policy(_) => driven.timings,
            _ => driven.program_timings(),
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
            monitor: ConflictMonitor::new(&light.intersection, &monitor_timings, SignalTime::ZERO),
            detectors: lanes
                .iter()
                .map(|(l, _)| TrafficLight::detector_id(l))
                .collect(),
            seen: vec![HashSet::new(); lanes.len()],
            present: vec![0; lanes.len()],
            entered: vec![0; lanes.len()],
            readings: vec![DetectorReading::new(0, 0); group_lanes.len()],
            group_lanes,
            program_state: None,
            state: String::new(),
            heads: Vec::new(),
            was_flash: false,
        })
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
            self.light
                .state_string(&out.heads, out.status.phase, &mut self.state);
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
        let p = Prepared::new(two_approach(), &overrides(), window()).unwrap();
        assert_eq!(p.timings.yellow, Duration::from_secs(3));
        assert_eq!(p.timings.red_clearance, Duration::ZERO);
        assert_eq!(p.timings.min_green, SUMO_MIN_GREEN);
        let o = TimingOverrides {
            red_clearance: Some(2.0),
            ..overrides()
        };
        let p = Prepared::new(two_approach(), &o, window()).unwrap();
        assert_eq!(p.timings.red_clearance, Duration::from_secs(2));
    }

    #[test]
    fn a_bad_timing_flag_names_the_flag_or_the_field() {
        let o = TimingOverrides {
            yellow: Some(0.5),
            ..overrides()
        };
        let e = crate::error_chain(&Prepared::new(two_approach(), &o, window()).err().unwrap());
        assert!(
            e.contains("yellow is 0.5 s; accepted range is 1 s to 10 s"),
            "{e}"
        );
        let o = TimingOverrides {
            min_green: Some(-1.0),
            ..overrides()
        };
        let e = crate::error_chain(&Prepared::new(two_approach(), &o, window()).err().unwrap());
        assert!(
            e.contains("--min-green -1: expected a number of seconds"),
            "{e}"
        );
    }

    #[test]
    fn a_shipped_network_whose_light_does_not_match_the_scenario_is_refused() {
        let mut s = two_approach();
        s.expected_groups = Some(&["N", "E", "S", "W"]);
        let e = crate::error_chain(&Prepared::new(s, &overrides(), window()).err().unwrap());
        assert!(
            e.contains(
                "has signal groups [\"A\", \"B\"] and 2 phases; the scenario expects groups"
            ),
            "{e}"
        );
    }
}
