//! The subcommands: each loads what it needs, does its job, and returns the exit code.

use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, Config, ConfigError, Sources};
use crate::{logging, runtime, EXIT_CONFIG};

pub fn print_errors(errors: &[ConfigError]) {
    for e in errors {
        eprintln!("error: {e}");
    }
    let n = errors.len();
    eprintln!(
        "{n} configuration {} found",
        if n == 1 { "problem" } else { "problems" }
    );
}

pub fn load_or_report(sources: &Sources) -> Result<Config, ExitCode> {
    config::load(sources).map_err(|errors| {
        print_errors(&errors);
        ExitCode::from(EXIT_CONFIG)
    })
}

/// `semaforo config check [FILE]`
pub fn config_check(sources: &Sources) -> ExitCode {
    let inputs = match config::gather(sources) {
        Ok(inputs) => inputs,
        Err(errors) => {
            print_errors(&errors);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match Config::from_inputs(&inputs) {
        Ok(config) => {
            match &config.file {
                Some(path) => println!("# configuration file: {}", path.display()),
                None => {
                    println!("# no configuration file: built-in defaults, environment and flags")
                }
            }
            print!("{}", config.describe());
            println!("\n# the configuration is valid");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(&errors);
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// `semaforo clean-temp`
pub fn clean_temp(sources: &Sources, dry_run: bool) -> ExitCode {
    let config = match load_or_report(sources) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let options = semaforo_resources::SweepOptions {
        dir: config.temp.dir.clone(),
        prefix: config.temp.prefix.clone(),
        max_age: config.temp.max_age,
        dry_run,
    };
    let default_dir = config.origin("temp.dir") == Some(&config::Origin::Default);
    if default_dir && !options.dir.exists() {
        // semaforo creates its own temp directory when it runs; none means nothing to clean.
        println!("nothing to clean: {} does not exist", options.dir.display());
        return ExitCode::SUCCESS;
    }
    match semaforo_resources::sweep_orphans(&options) {
        Ok(report) => {
            let verb = if dry_run { "would remove" } else { "removed" };
            for path in &report.removed {
                println!("{verb} {}", path.display());
            }
            for (path, why) in &report.errors {
                eprintln!("error: could not remove {}: {why}", path.display());
            }
            println!(
                "{verb} {} {} older than {} h with prefix {:?} in {} (left alone: {} too young, \
                 {} owned by another user, {} symbolic links)",
                report.removed.len(),
                if report.removed.len() == 1 {
                    "entry"
                } else {
                    "entries"
                },
                config.temp.max_age.as_secs_f64() / 3600.0,
                options.prefix,
                options.dir.display(),
                report.kept_young,
                report.kept_foreign,
                report.kept_symlinks,
            );
            if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `semaforo run`
pub fn run(sources: &Sources, run_for: Option<Duration>, fast: bool) -> ExitCode {
    let mut config = match load_or_report(sources) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if fast {
        for (name, camera) in &mut config.cameras.cameras {
            let source = &mut camera.source;
            match semaforo_camera::kind_of(source) {
                "synthetic" | "testsrc" => {}
                // A file read on simulated time is read as fast as it decodes.
                "video-file" if !source.contains("pace=") => {
                    let joiner = if source.contains('?') { '&' } else { '?' };
                    source.push(joiner);
                    source.push_str("pace=fast");
                }
                "video-file" => {}
                kind => {
                    eprintln!(
                        "error: --fast runs on simulated time, which a live camera cannot follow: \
                         camera {name} is {kind} ({})",
                        semaforo_camera::redact(source)
                    );
                    return ExitCode::from(2);
                }
            }
        }
    }
    let (log_guard, log_failure) = logging::install(&config.logging);
    if let Some(e) = log_failure {
        tracing::error!("cannot write the log files, logging to the console only: {e}");
    }
    let shutdown = semaforo_base::Shutdown::new();
    let longest_stop = config
        .layout
        .timings
        .entries()
        .iter()
        .map(|e| e.timings.yellow + e.timings.red_clearance)
        .max()
        .unwrap_or_default()
        + Duration::from_secs(1);
    if let Err(e) = runtime::stop_on_termination_signals(&shutdown, longest_stop) {
        tracing::warn!("cannot watch SIGINT/SIGTERM ({e}); stop with --for or kill -9");
    }
    let outcome = if fast {
        runtime::run(
            &config,
            &semaforo_base::SimulatedClocks::new(),
            &shutdown,
            run_for,
        )
    } else {
        runtime::run(
            &config,
            &semaforo_base::SystemClocks::new(),
            &shutdown,
            run_for,
        )
    };
    let code = match outcome {
        Ok(summary) => {
            tracing::info!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("stopped with an error: {e:#}");
            ExitCode::FAILURE
        }
    };
    let dropped = log_guard.dropped();
    if dropped > 0 {
        tracing::warn!("{dropped} log lines were dropped because the log queue was full");
    }
    drop(log_guard);
    code
}

/// `semaforo probe SOURCE`
pub fn probe(sources: &Sources, args: &crate::cli::ProbeArgs) -> ExitCode {
    use semaforo_camera::{kind_of, Requested, Source, SourceError};
    use semaforo_resources::{CameraDevice, CameraProperty};

    let config = match load_or_report(sources) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let shown = semaforo_camera::redact(&args.source);
    let c = &config.cameras;
    let requested = Requested {
        width: c.width,
        height: c.height,
        fps: c.fps,
    };
    let mut source = match Source::open(&args.source, requested) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: cannot open {shown}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let prop = |p| source.get(p).map_or("?".to_string(), |v| format!("{v}"));
    println!("source: {shown}");
    println!("kind: {}", kind_of(&args.source));
    println!(
        "size: {}x{}, {} fps",
        prop(CameraProperty::FrameWidth),
        prop(CameraProperty::FrameHeight),
        prop(CameraProperty::Fps)
    );
    if let Some(codec) = source.codec() {
        println!("codec: {codec}");
    }
    if let Some(n) = source.get(semaforo_camera::video::property::FRAME_COUNT) {
        println!("frames in file: {n}");
    }
    if args.all && !source.ends() {
        eprintln!("error: {shown} has no end; use --for DURATION instead of --all");
        return ExitCode::from(EXIT_CONFIG);
    }
    let start = std::time::Instant::now();
    let (mut frames, mut errors, mut last_error) = (0u64, 0u64, None);
    let mut ended = false;
    while args.all || start.elapsed() < args.read_for {
        match source.read() {
            Ok(frame) => {
                frames += 1;
                source.recycle(frame);
            }
            Err(SourceError::EndOfStream { .. }) => {
                ended = true;
                break;
            }
            Err(e) => {
                errors += 1;
                last_error = Some(e.to_string());
                if errors >= 10 {
                    break;
                }
            }
        }
    }
    source.release();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "read {frames} frames in {seconds:.2} s ({:.1} frames/s), {errors} errors",
        frames as f64 / seconds.max(1e-9)
    );
    if ended {
        println!("reached the end of the file");
    }
    if let Some(e) = last_error {
        println!("last error: {e}");
    }
    if frames == 0 {
        eprintln!("error: no frame could be read from {shown}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
