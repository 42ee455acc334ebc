//! End-to-end tests of `semaforo sim` against a real SUMO: a short run of a shipped scenario
//! (five simulated minutes, three seeds) with sane figures and max-pressure clearly ahead of the
//! fixed-time plan, and the errors for bad inputs.
//!
//! SUMO is a system package (`apt-get install sumo`). Without it the SUMO test says SKIPPED
//! on standard error and returns, except under `CI=true`, where a missing simulator fails.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn semaforo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_semaforo"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SEMAFORO_SCENARIOS", scenarios());
    cmd
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the semaforo binary runs")
}

/// Whether `sumo` is on the PATH; when it is not, a loud skip (a failure under CI=true).
fn sumo_available() -> bool {
    semaforo_testkit::tool(
        "sumo",
        "Install the SUMO simulator: apt-get install sumo sumo-tools (Debian/Ubuntu).",
    )
}

#[test]
fn a_short_scenario_runs_end_to_end_with_sane_figures_and_max_pressure_ahead_of_fixed_time() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sim.json");
    let plot = dir.path().join("sim.svg");
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--scenario",
        "two-approach-asymmetric",
        "--policy",
        "fixed,max-pressure",
        "--seeds",
        "3",
        "--duration",
        "5m",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("scenario two-approach-asymmetric"),
        "{stdout}"
    );
    assert!(stdout.contains("yellow 3 s, red clearance 0 s"), "{stdout}");

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["scenario"], "two-approach-asymmetric");
    let runs = doc["runs"].as_array().unwrap();
    let policies: Vec<(&str, u64)> = runs
        .iter()
        .map(|r| (r["policy"].as_str().unwrap(), r["seed"].as_u64().unwrap()))
        .collect();
    let contenders = ["fixed", "max-pressure", "sumo-static", "sumo-actuated"];
    let expected: Vec<(&str, u64)> = contenders
        .iter()
        .flat_map(|&c| (1..=3).map(move |seed| (c, seed)))
        .collect();
    assert_eq!(policies, expected);
    for r in runs {
        let delay = r["mean_delay_s"].as_f64().unwrap();
        // 900 veh/h for 5 minutes: about 75 vehicles, most of them through.
        let served = r["throughput"].as_u64().unwrap();
        assert!((40..=120).contains(&served), "{r}");
        assert!(delay.is_finite() && (0.0..120.0).contains(&delay), "{r}");
        let p95 = r["p95_wait_s"].as_f64().unwrap();
        let max = r["max_wait_s"].as_f64().unwrap();
        assert!(p95 <= max && max < 300.0, "{r}");
        assert!(r["mean_queue"].as_f64().unwrap() >= 0.0, "{r}");
        assert_eq!(r["conflicts"], 0, "{r}");
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 4);

    // The ranking that matters: max-pressure serves the 3:1 demand with clearly less delay than
    // the fixed-time plan, on every seed and on average. A max-pressure that had degraded to
    // fixed time would show a ratio near 1. Measured (SUMO 1.15.0, 5 simulated minutes,
    // seeds 1 to 20): max-pressure's mean delay is 0.42 to 0.77 of fixed's on single seeds
    // (6.2-12.2 s against 11.5-23.9 s) and 0.46 to 0.67 over any three consecutive seeds;
    // seeds 1-3 give 8.1 s against 15.4 s, 0.53. Over an hour (BENCHMARKS.md) it is 0.51.
    let delays = |policy: &str| -> Vec<f64> {
        runs.iter()
            .filter(|r| r["policy"] == policy)
            .map(|r| r["mean_delay_s"].as_f64().unwrap())
            .collect()
    };
    let (fixed, max_pressure) = (delays("fixed"), delays("max-pressure"));
    for (seed, (mp, fx)) in max_pressure.iter().zip(&fixed).enumerate() {
        assert!(
            *mp <= 0.9 * fx,
            "seed {}: max-pressure's mean delay {mp:.1} s is not below 0.9 x fixed's {fx:.1} s\n{stdout}",
            seed + 1
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ratio = mean(&max_pressure) / mean(&fixed);
    assert!(
        ratio <= 0.75,
        "max-pressure's mean delay over the seeds is {ratio:.2} x fixed's (expected at most 0.75; \
         measured 0.53 on these seeds)\n{stdout}"
    );
}

#[test]
fn a_missing_sumo_binary_is_named_with_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--scenario",
        "two-approach-balanced",
        "--sumo",
        "/nonexistent/sumo",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`/nonexistent/sumo` was not found"),
        "{stderr}"
    );
    assert!(stderr.contains("apt-get install sumo"), "{stderr}");
}

#[test]
fn an_unknown_scenario_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(semaforo(dir.path()).args(["sim", "--scenario", "roundabout"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown scenario \"roundabout\""),
        "{stderr}"
    );
    assert!(stderr.contains("four-arm-time-varying"), "{stderr}");
}

#[test]
fn a_network_with_several_traffic_lights_needs_tls_and_the_error_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("two.net.xml");
    let routes = dir.path().join("r.rou.xml");
    std::fs::write(
        &net,
        r#"<net><tlLogic id="J1"><phase duration="5" state="G"/></tlLogic>
           <tlLogic id="J2"><phase duration="5" state="G"/></tlLogic></net>"#,
    )
    .unwrap();
    std::fs::write(&routes, "<routes/>").unwrap();
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--net",
        net.to_str().unwrap(),
        "--routes",
        routes.to_str().unwrap(),
        // A stand-in that exists: the error must come from the network, before SUMO starts.
        "--sumo",
        env!("CARGO_BIN_EXE_semaforo"),
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("has 2 traffic lights; choose one with --tls ID: J1, J2"),
        "{stderr}"
    );
}
