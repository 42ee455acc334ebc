//! The command line: subcommands and the flags that override configuration.
//!
//! Every flag that changes a setting becomes a `(flag, key, value)` override handed to the
//! configuration loader, so a bad flag value is reported exactly like a bad file or
//! environment value (naming the flag, the value and the accepted range).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "semaforo",
    version,
    about = "Camera-driven adaptive traffic-signal controller",
    long_about = "Camera-driven adaptive traffic-signal controller.\n\n\
        Settings come from built-in defaults, then the TOML file (--config, else ./semaforo.toml \
        if present), then the environment (and ./.env), then command-line flags. \
        `semaforo config check` shows every setting and where its value came from."
)]
pub struct Cli {
    /// Configuration file (default: ./semaforo.toml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override any setting, e.g. `--set signal.min_green=12` (repeatable).
    #[arg(long = "set", short = 's', global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Log level: trace, debug, info, warn or error (overrides LOG_LEVEL).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Directory of the log files (overrides LOG_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub log_dir: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (two synthetic cameras when nothing is configured).
    Run(RunArgs),
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Remove orphaned temporary files: only entries with the prefix, older than the age,
    /// owned by this user; symbolic links are never followed.
    CleanTemp(CleanTempArgs),
    /// Open a camera source, print what it is, read frames for a while and report the rate.
    /// Exits 1 with the error when the source cannot be opened.
    Probe(ProbeArgs),
    /// Detect and count vehicles in a video file, offline, as fast as it can: per-frame counts
    /// per zone, a summary, and optionally JSON, CSV and annotated frames.
    Count(crate::count::CountArgs),
    /// Evaluate the signal policies in the SUMO traffic simulator against SUMO's own static
    /// and actuated programs: mean delay, waits, throughput, queue, conflicts.
    Sim(Box<SimArgs>),
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The source, as in CAMERA_A_SOURCE: synthetic:, testsrc:, a video file, rtsp://...
    pub source: String,
    /// How long to read frames (e.g. 3s).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub read_for: Duration,
    /// Read until the end of the source (a file) instead of for a while.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Stop by itself after this long (e.g. 30s, 5m, 1h30m), cleanly, with exit code 0.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub run_for: Option<Duration>,
    /// Run on simulated time, as fast as the machine computes (needs --for; synthetic scenes
    /// and video files only): for replays, tests and evaluation.
    #[arg(long, requires = "run_for")]
    pub fast: bool,
    /// Where the HTTP API, metrics and dashboard listen (`HOST:PORT`, or `off`); sets
    /// http.addr.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate and print the effective configuration, each value with its source.
    /// Exit code 0 when valid, 2 when not.
    Check {
        /// The file to check (default: --config, else ./semaforo.toml if present).
        file: Option<PathBuf>,
    },
    /// List every setting: TOML key, environment variables, default and accepted values
    /// (a Markdown table, as in the README).
    Keys,
}

#[derive(Debug, Args)]
pub struct CleanTempArgs {
    /// Directory to sweep (default: temp.dir, /tmp/semaforo).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// Only names starting with this (default: temp.prefix, "traffic_").
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Only entries older than this many hours (default: temp.max_age_hours, 24).
    #[arg(long, value_name = "HOURS")]
    pub max_age_hours: Option<String>,
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `semaforo sim` arguments: [`semaforo_sim::Options`] as flags ([`crate::sim::command`] turns
/// them into the options).
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
    /// The traffic light(s) semaforo drives, in a network with several: one id, several
    /// (`J1,J4`), or `all`; each gets its own controller and detectors, the others keep their
    /// programs, and the figures cover the whole network.
    #[arg(long, value_name = "ID[,ID...]|all")]
    pub tls: Option<String>,
    /// semaforo policies to run (SUMO's sumo-static and sumo-actuated always run too;
    /// sumo-delay-based, SUMO's delay-based controller, when listed). Default: fixed,
    /// compare, actuated and max-pressure; with --config, the configuration's signal.policy.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub policy: Vec<String>,
    /// Seeds per policy (1..=N): each draws another realisation of the demand.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub seeds: u64,
    /// Simulated time per run (e.g. 1h, 5m), from the configuration's <begin> (default: the
    /// configuration's <end>, else 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Simulation step, s (default: the configuration's <step-length>, else 0.5).
    #[arg(long, value_name = "SECONDS")]
    pub step_length: Option<f64>,
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
    #[arg(long, value_name = "METRES", default_value_t = semaforo_sim::network::DETECTOR_LENGTH_M)]
    pub zone_length: f64,
    /// Camera-like counting errors in what semaforo's policies see, each a probability:
    /// miss (a vehicle in a zone uncounted on a reading), arrival-miss (a count-line crossing
    /// uncounted), ghost (a phantom vehicle on a reading); e.g. miss=0.1,arrival-miss=0.2.
    /// SUMO's baselines keep their exact detectors. Default: none.
    #[arg(long, value_name = "miss=P,arrival-miss=P,ghost=P")]
    pub detection_errors: Option<String>,
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

/// Parses `30s`, `5m`, `1h30m`, `250ms`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if let Ok(seconds) = trimmed.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(Duration::from_secs_f64(seconds));
        }
    }
    humantime::parse_duration(trimmed)
        .map_err(|e| format!("`{text}` is not a duration ({e}); expected e.g. 30s, 5m or 1h30m"))
}

impl Cli {
    /// The setting overrides the flags ask for, as `(flag as written, key, value)`.
    pub fn overrides(&self) -> Result<Vec<(String, String, String)>, String> {
        let mut out = Vec::new();
        for item in &self.set {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!(
                    "--set {item}: expected KEY=VALUE, e.g. signal.min_green=12"
                ));
            };
            out.push((
                format!("--set {item}"),
                key.trim().to_string(),
                value.to_string(),
            ));
        }
        if let Some(level) = &self.log_level {
            out.push((
                format!("--log-level {level}"),
                "logging.level".into(),
                level.clone(),
            ));
        }
        if let Some(dir) = &self.log_dir {
            out.push((
                format!("--log-dir {dir}"),
                "logging.dir".into(),
                dir.clone(),
            ));
        }
        if let Command::Run(RunArgs {
            http: Some(addr), ..
        }) = &self.command
        {
            out.push((format!("--http {addr}"), "http.addr".into(), addr.clone()));
        }
        if let Command::CleanTemp(args) = &self.command {
            let named = [
                ("--dir", "temp.dir", &args.dir),
                ("--prefix", "temp.prefix", &args.prefix),
                ("--max-age-hours", "temp.max_age_hours", &args.max_age_hours),
            ];
            for (flag, key, value) in named {
                if let Some(value) = value {
                    out.push((format!("{flag} {value}"), key.to_string(), value.clone()));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_bare_seconds() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        let err = parse_duration("soon").unwrap_err();
        assert!(err.contains("`soon` is not a duration"), "{err}");
    }

    #[test]
    fn set_flags_become_overrides_naming_the_flag() {
        let cli = Cli::parse_from(["semaforo", "--set", "signal.yellow=4", "run"]);
        assert_eq!(
            cli.overrides().unwrap(),
            vec![(
                "--set signal.yellow=4".into(),
                "signal.yellow".into(),
                "4".into()
            )]
        );
        let cli = Cli::parse_from(["semaforo", "-s", "oops", "run"]);
        assert!(cli.overrides().unwrap_err().contains("expected KEY=VALUE"));
    }

    #[test]
    fn clean_temp_flags_override_the_temp_settings() {
        let cli = Cli::parse_from([
            "semaforo",
            "clean-temp",
            "--dir",
            "/x",
            "--prefix",
            "traffic_",
            "--max-age-hours",
            "1",
        ]);
        let keys: Vec<_> = cli
            .overrides()
            .unwrap()
            .into_iter()
            .map(|(_, k, _)| k)
            .collect();
        assert_eq!(keys, vec!["temp.dir", "temp.prefix", "temp.max_age_hours"]);
    }
}
