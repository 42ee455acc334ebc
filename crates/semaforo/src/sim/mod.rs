//! `semaforo sim`: closed-loop evaluation of the signal policies against the SUMO traffic
//! simulator.
//!
//! SUMO runs the intersection; semaforo's controller (the same `semaforo-signal` code the daemon
//! runs) reads SUMO's lane-area detectors in place of camera zones and drives the traffic light
//! over TraCI, one step at a time. SUMO's own fixed-time and actuated programs run the same
//! demand and seeds as baselines. The parts:
//!
//! - [`traci`]: the TraCI wire protocol (a small client of our own);
//! - [`sumo`]: the `sumo` process as a guard (started on a free port, always stopped);
//! - [`network`]: a network's traffic light read as signal groups and phases, and the detector
//!   and baseline program files;
//! - [`scenario`]: the shipped scenarios and a user's own network;
//! - [`runner`]: one run, from starting SUMO to its figures;
//! - [`metrics`]: delay, waits, throughput and queue from SUMO's trip information;
//! - [`report`]: the table, JSON and SVG.

pub mod metrics;
pub mod network;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sumo;
pub mod traci;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use report::{ContenderRuns, ScenarioReport};
use runner::{Contender, Prepared, TimingOverrides};

/// `semaforo sim` arguments.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Shipped scenario(s), comma-separated, or `all` (see the README; an unknown name lists
    /// the known ones). Default: all, unless --net or --sumocfg is given.
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub scenario: Vec<String>,
    /// Your own network (with --routes; --tls when it has several traffic lights).
    #[arg(long, value_name = "FILE.net.xml", conflicts_with_all = ["scenario", "sumocfg"])]
    pub net: Option<PathBuf>,
    /// Route files of your own network (repeatable or comma-separated).
    #[arg(
        long,
        value_name = "FILE.rou.xml",
        value_delimiter = ',',
        requires = "net"
    )]
    pub routes: Vec<PathBuf>,
    /// Your own SUMO configuration (network, routes, additional files).
    #[arg(long, value_name = "FILE.sumocfg", conflicts_with = "scenario")]
    pub sumocfg: Option<PathBuf>,
    /// The traffic light to drive, in a network with several.
    #[arg(long, value_name = "ID")]
    pub tls: Option<String>,
    /// semaforo policies to run (SUMO's sumo-static and sumo-actuated always run too).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "fixed,compare,actuated,max-pressure"
    )]
    pub policy: Vec<String>,
    /// Seeds per policy (1..=N): each draws another realisation of the demand.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub seeds: u64,
    /// Simulated time per run (e.g. 1h, 5m).
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration, default_value = "1h")]
    pub duration: Duration,
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw mean delay over time per policy to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Minimum green, s (default: the program's actuated minimum, else SUMO's 5 s).
    #[arg(long, value_name = "SECONDS")]
    pub min_green: Option<f64>,
    /// Maximum green, s (default: the program's actuated maximum, else SUMO's 50 s).
    #[arg(long, value_name = "SECONDS")]
    pub max_green: Option<f64>,
    /// Yellow change, s (default: the network program's).
    #[arg(long, value_name = "SECONDS")]
    pub yellow: Option<f64>,
    /// Red clearance (all red), s (default: the network program's, often none).
    #[arg(long, value_name = "SECONDS")]
    pub red_clearance: Option<f64>,
    /// Length of the detection zones (lane-area detectors standing in for camera zones), from
    /// the stop line back, metres.
    #[arg(long, value_name = "METRES", default_value_t = network::DETECTOR_LENGTH_M)]
    pub zone_length: f64,
    /// Simulations run at once (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The SUMO binary.
    #[arg(long, value_name = "PATH", env = "SUMO_BINARY", default_value = "sumo")]
    pub sumo: PathBuf,
    /// Directory of the shipped scenarios (default: ./scenarios, else the source tree's).
    #[arg(long, value_name = "DIR", env = "SEMAFORO_SCENARIOS")]
    pub scenario_dir: Option<PathBuf>,
}

/// `semaforo sim`
pub fn command(args: &SimArgs) -> ExitCode {
    match evaluate(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn contenders(args: &SimArgs) -> Result<Vec<Contender>> {
    let mut out = Vec::new();
    for name in &args.policy {
        let c = match name.trim() {
            "sumo-static" => Contender::SumoStatic,
            "sumo-actuated" => Contender::SumoActuated,
            other => Contender::Policy(other.parse().with_context(|| format!("--policy {name}"))?),
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    for baseline in [Contender::SumoStatic, Contender::SumoActuated] {
        if !out.contains(&baseline) {
            out.push(baseline);
        }
    }
    Ok(out)
}

fn scenarios(args: &SimArgs) -> Result<Vec<scenario::Scenario>> {
    if let Some(cfg) = &args.sumocfg {
        return Ok(vec![scenario::from_sumocfg(cfg, args.tls.as_deref())?]);
    }
    if let Some(net) = &args.net {
        return Ok(vec![scenario::user(
            net,
            &args.routes,
            args.tls.as_deref(),
        )?]);
    }
    let dir = scenario::scenario_dir(args.scenario_dir.as_deref());
    let mut names: Vec<String> = Vec::new();
    let asked = if args.scenario.is_empty() {
        vec!["all".to_string()]
    } else {
        args.scenario.clone()
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

fn evaluate(args: &SimArgs) -> Result<()> {
    if args.seeds == 0 {
        bail!("--seeds 0: expected at least 1");
    }
    let duration_s = args.duration.as_secs_f64();
    if duration_s < 10.0 {
        bail!(
            "--duration {:?}: expected at least 10 s of simulated time",
            args.duration
        );
    }
    let contenders = contenders(args)?;
    let scenarios = scenarios(args)?;
    // Checked before any file is written, so a missing simulator is said at once.
    let binary = sumo::locate(&args.sumo)?;
    let overrides = TimingOverrides {
        min_green: args.min_green,
        max_green: args.max_green,
        yellow: args.yellow,
        red_clearance: args.red_clearance,
        zone_m: args.zone_length,
    };
    let prepared: Vec<Prepared> = scenarios
        .into_iter()
        .map(|s| Prepared::new(s, &overrides))
        .collect::<Result<_>>()?;

    let jobs: Vec<(usize, usize, u64)> = (0..prepared.len())
        .flat_map(|s| {
            (0..contenders.len()).flat_map(move |c| (1..=args.seeds).map(move |seed| (s, c, seed)))
        })
        .collect();
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let failed = Mutex::new(None);
    let progress = Progress::new(jobs.len());
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
                match runner::run(p, contender, seed, duration_s, &binary) {
                    Ok(m) => {
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        progress.update(n, &p.scenario.name, contender.name(), seed);
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
    progress.finish();
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);

    let mut reports: Vec<ScenarioReport> = prepared
        .iter()
        .map(|p| ScenarioReport {
            scenario: p.scenario.name.clone(),
            duration_s,
            timings: p.timings,
            timing_source: timing_source(args, p),
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
    for r in &reports {
        println!("{}", r.table());
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report::json_document(&reports))?;
        semaforo_resources::atomic_write(path, (text + "\n").as_bytes()).context("--json")?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.plot {
        semaforo_resources::atomic_write(path, report::svg(&reports).as_bytes())
            .context("--plot")?;
        eprintln!("wrote {}", path.display());
    }
    let conflicts: u64 = reports
        .iter()
        .flat_map(|r| r.contenders.iter())
        .map(|c| c.summary().conflicts)
        .sum();
    if conflicts > 0 {
        bail!("the conflict monitor tripped {conflicts} time(s); see the conflicts column");
    }
    Ok(())
}

fn timing_source(args: &SimArgs, p: &Prepared) -> String {
    let mut from_net = Vec::new();
    if args.yellow.is_none() {
        from_net.push("yellow");
    }
    if args.red_clearance.is_none() {
        from_net.push("red clearance");
    }
    let mut s = if from_net.is_empty() {
        "set by flags".to_string()
    } else {
        format!(
            "{} from traffic light {:?}'s program",
            from_net.join(" and "),
            p.light.id
        )
    };
    if args.min_green.is_none() || args.max_green.is_none() {
        s.push_str(if p.light.min_max_green.is_some() {
            "; min/max green from its actuated program"
        } else {
            "; min/max green SUMO's actuated defaults"
        });
    }
    s.push_str("; SUMO's actuated baseline uses the same min/max green and passage");
    s
}

/// A one-line progress report on standard error (rewritten in place on a terminal).
struct Progress {
    total: usize,
    start: Instant,
    terminal: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            start: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn update(&self, done: usize, scenario: &str, contender: &str, seed: u64) {
        let line = format!(
            "[{done}/{}] {:.0} s: {scenario} {contender} seed {seed} done",
            self.total,
            self.start.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
