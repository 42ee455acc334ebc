//! `semaforo sim`: the command-line front of [`semaforo_sim`]. It turns the flags into the
//! library's options, draws the progress line, prints the tables and writes `--json` and
//! `--plot`; the evaluation itself is the library's.
//!
//! With `--config FILE`, the configured intersection (groups, phases, conflicts, per-group
//! timings, policy and its parameters, as `semaforo run` would control it) drives the light,
//! so a layout is tuned in `sim` and deployed as it is.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use semaforo_sim::{
    report, Configured, Contender, DetectionErrors, Options, Progress, Scenarios, TimingOverrides,
};

use crate::cli::SimArgs;
use crate::commands::print_errors;
use crate::config::{self, Config, LayoutSource, Sources};
use crate::EXIT_CONFIG;

/// `semaforo sim`; `sources` when `--config` was given.
pub fn command(args: &SimArgs, sources: Option<&Sources>) -> ExitCode {
    let config = match sources.map(config::load).transpose() {
        Ok(config) => config,
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match evaluate(args, config.as_ref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configured intersection as the simulation drives it.
fn configured(config: &Config) -> Configured {
    let layout = &config.layout;
    let source = config
        .file
        .clone()
        .unwrap_or_else(|| "the configuration".into());
    let mut configured = Configured::new(
        source,
        layout.intersection.clone(),
        layout.timings.clone(),
        config.signal.policy,
    );
    configured.compare = config.signal.compare();
    configured.max_pressure = config.signal.max_pressure();
    configured
}

/// The library's options from the flags (and the configuration, with `--config`).
fn options(args: &SimArgs, config: Option<&Config>) -> Result<Options> {
    let configured = config.map(configured);
    let contenders = match (&configured, args.policy.is_empty()) {
        (Some(c), true) => vec![c.contender()],
        (None, true) => semaforo_signal::PolicyKind::ALL
            .into_iter()
            .map(Contender::Policy)
            .collect(),
        (_, false) => args
            .policy
            .iter()
            .map(|name| {
                name.parse::<Contender>()
                    .with_context(|| format!("--policy {name}"))
            })
            .collect::<Result<_>>()?,
    };
    // A configuration's own SUMO light is the one it describes, unless --tls says otherwise.
    let tls = args
        .tls
        .clone()
        .or_else(|| match config.map(|c| &c.layout.source) {
            Some(LayoutSource::Sumo { light, .. }) => Some(light.clone()),
            _ => None,
        });
    if let Some(config) = config {
        if args.sumocfg.is_none() && args.net.is_none() && args.scenario.is_empty() {
            bail!(
                "--config {}: name what to run its intersection in: --net FILE.net.xml with \
                 --routes, --sumocfg FILE, or --scenario NAME",
                config
                    .file
                    .as_ref()
                    .map_or("(none)".to_string(), |f| f.display().to_string())
            );
        }
    }
    let scenarios = if let Some(path) = &args.sumocfg {
        Scenarios::SumoConfig {
            path: path.clone(),
            tls,
        }
    } else if let Some(net) = &args.net {
        Scenarios::Network {
            net: net.clone(),
            routes: args.routes.clone(),
            tls,
        }
    } else {
        Scenarios::Shipped {
            names: args.scenario.clone(),
            dir: args.scenario_dir.clone(),
        }
    };
    Ok(Options {
        scenarios,
        contenders,
        seeds: args.seeds,
        duration: args.duration,
        step_length: args.step_length,
        timings: TimingOverrides {
            min_green: args.min_green,
            max_green: args.max_green,
            yellow: args.yellow,
            red_clearance: args.red_clearance,
            zone_m: args.zone_length,
        },
        detection_errors: match &args.detection_errors {
            None => DetectionErrors::default(),
            Some(spec) => spec.parse()?,
        },
        jobs: args.jobs,
        sumo: args.sumo.clone(),
        configured,
    })
}

fn evaluate(args: &SimArgs, config: Option<&Config>) -> Result<()> {
    let options = options(args, config)?;
    let progress = ProgressLine::new();
    let reports = semaforo_sim::evaluate(&options, &|p| progress.show(p));
    progress.finish();
    let reports = reports?;
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
    // SUMO's own programs are reported (conflicts, sequence faults), not failed on: real
    // networks' programs have faults of their own that are not ours to fix.
    let faults: u64 = reports.iter().map(|r| r.semaforo_faults()).sum();
    if faults > 0 {
        bail!(
            "semaforo's controller had {faults} conflict(s) or sequence fault(s); see the \
             conflicts and seq faults columns"
        );
    }
    Ok(())
}

/// A one-line progress report on standard error (rewritten in place on a terminal).
struct ProgressLine {
    /// When the runs started (set by [`Progress::Started`]).
    start: Mutex<Option<Instant>>,
    terminal: bool,
}

impl ProgressLine {
    fn new() -> Self {
        ProgressLine {
            start: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, progress: Progress<'_>) {
        let Ok(mut start) = self.start.lock() else {
            return;
        };
        match progress {
            Progress::Started { .. } => *start = Some(Instant::now()),
            Progress::RunDone {
                done,
                runs,
                scenario,
                contender,
                seed,
            } => {
                let elapsed = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
                let line = format!(
                    "[{done}/{runs}] {elapsed:.0} s: {scenario} {contender} seed {seed} done"
                );
                let mut err = std::io::stderr().lock();
                if self.terminal {
                    let _ = write!(err, "\r\x1b[2K{line}");
                } else {
                    let _ = writeln!(err, "{line}");
                }
                let _ = err.flush();
            }
        }
    }

    /// Ends the line on a terminal, once the runs have started.
    fn finish(&self) {
        let started = self.start.lock().map(|s| s.is_some()).unwrap_or(false);
        if self.terminal && started {
            eprintln!();
        }
    }
}
