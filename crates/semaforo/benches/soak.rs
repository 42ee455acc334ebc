//! The long soak (issue 20) on the real binary (`cargo bench -p semaforo --bench soak`): an hour
//! of the four-arm intersection on the real clock under churn (real footage, an RTSP camera
//! whose server restarts, orchestrators and broker going away, frames saved at a high rate),
//! then 24 simulated hours of the synthetic intersection under `run --fast`; see
//! `semaforo_testkit::soak`. Each writes its CSV and SVG plot into `SOAK_OUT` (default
//! `bench/soak/` in the repository), prints its figures, and the bench fails when a bound broke.
//!
//! `SOAK_SECONDS` (default 3600) sets the real-time run's length, `SOAK_SIM_HOURS` (default 24)
//! the simulated one's; `SOAK=real-time` or `SOAK=fast` runs only that one. `SOAK_PLOT=FILE.csv`
//! (relative to the repository) runs nothing: it judges and plots again the samples of an
//! earlier run (into FILE.svg).

#![allow(clippy::unwrap_used)] // a benchmark: an unwrap that fails stops it at its line

use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_testkit::soak::{self, Plan};

fn number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number")),
        Err(_) => default,
    }
}

fn main() {
    let binary = Path::new(env!("CARGO_BIN_EXE_semaforo"));
    let out = std::env::var_os("SOAK_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| semaforo_testkit::repository().join("bench/soak"));
    if let Some(csv) = std::env::var_os("SOAK_PLOT") {
        // Cargo runs a bench in its package's directory; the path is the repository's.
        let csv = semaforo_testkit::repository().join(csv);
        std::process::exit(replot(binary, &csv));
    }
    let which = std::env::var("SOAK").unwrap_or_default();
    let mut plans = Vec::new();
    if which != "fast" {
        let seconds = number("SOAK_SECONDS", 3600);
        plans.push(Plan::real_time(binary, Duration::from_secs(seconds), &out));
    }
    if which != "real-time" {
        let hours = number("SOAK_SIM_HOURS", 24);
        plans.push(Plan::fast(binary, Duration::from_secs(hours * 3600), &out));
    }
    let (machine, cpus) = semaforo_testkit::machine();
    println!(
        "soak bench, {} ({machine}, {cpus} CPUs)",
        semaforo_testkit::today()
    );
    let mut failed = false;
    for plan in &plans {
        let Some(report) = soak::run(plan) else {
            failed = true;
            continue;
        };
        println!("{}", report.summary());
        println!(
            "  written: {} and {}",
            report.csv.display(),
            report.svg.display()
        );
        failed |= !report.broken.is_empty();
    }
    if failed {
        std::process::exit(1);
    }
}

/// Judges and plots again the samples in `csv` (a run named `fast` by the simulated plan's
/// bounds, any other by the real-time plan's); the exit code.
fn replot(binary: &Path, csv: &Path) -> i32 {
    let samples = match soak::read_csv(csv) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("soak: {e}");
            return 2;
        }
    };
    let name = csv.file_stem().unwrap().to_string_lossy().into_owned();
    let span = Duration::from_secs_f64(samples.last().map_or(0.0, |s| s.daemon_s));
    let plan = if name == "fast" {
        Plan::fast(binary, span, Path::new("."))
    } else {
        Plan::real_time(binary, span, Path::new("."))
    };
    let b = &plan.bounds;
    let svg = csv.with_extension("svg");
    soak::write_svg(&svg, &soak::title(&plan), &samples, &b.drawn(), b.warmup).unwrap();
    let figures = soak::Figures::of(&samples, b.warmup);
    println!(
        "soak {name} (from {}):\n{}",
        csv.display(),
        figures.summary()
    );
    let broken = figures.broken(b);
    for line in &broken {
        println!("BROKEN: {line}");
    }
    println!("  written: {}", svg.display());
    i32::from(!broken.is_empty())
}
