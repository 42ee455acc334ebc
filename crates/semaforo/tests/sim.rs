//! End-to-end tests of `semaforo sim` against a real SUMO: a short run of a shipped scenario
//! (five simulated minutes, three seeds) with sane figures and max-pressure clearly ahead of the
//! fixed-time plan, and the errors for bad inputs; and the honest figures of issue 18 on small
//! variations of the shipped two-approach network: a `.sumocfg`'s begin and end, a run with no
//! vehicle, vehicles never inserted, a baseline program going green, yellow, green, and
//! camera-like detection errors.
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

/// The shipped two-approach network (A west to east, B south to north, 400 m each).
fn two_approach_net() -> PathBuf {
    scenarios().join("two-approach/two-approach.net.xml")
}

/// Flows on A and B, `a` and `b` vehicles per hour, departing from `begin` to `end`.
fn flows(dir: &Path, name: &str, a: u32, b: u32, begin: u32, end: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"<routes>
    <route id="A" edges="A A_exit"/>
    <route id="B" edges="B B_exit"/>
    <flow id="A" route="A" begin="{begin}" end="{end}" vehsPerHour="{a}" departLane="best" departSpeed="max"/>
    <flow id="B" route="B" begin="{begin}" end="{end}" vehsPerHour="{b}" departLane="best" departSpeed="max"/>
</routes>
"#
        ),
    )
    .unwrap();
    path
}

/// A `.sumocfg` of `net` and `routes` with `<time>` from `begin` to `end`.
fn sumocfg(dir: &Path, name: &str, net: &Path, routes: &Path, begin: u32, end: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"<configuration>
    <input><net-file value="{}"/><route-files value="{}"/></input>
    <time><begin value="{begin}"/><end value="{end}"/></time>
</configuration>
"#,
            net.display(),
            routes.display()
        ),
    )
    .unwrap();
    path
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first run of `policy` in a `--json` document.
fn run_of<'a>(doc: &'a serde_json::Value, policy: &str) -> &'a serde_json::Value {
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == policy)
        .unwrap_or_else(|| panic!("no run of {policy} in {doc}"))
}

/// Runs `semaforo sim --net NET --routes ROUTES` for five simulated minutes with `extra` flags
/// (policy, seeds, lights) and `--json`; checks that it succeeded and returns its standard
/// output and the JSON document.
fn sim_on(dir: &Path, net: &str, routes: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let out_json = dir.join(format!("{}.json", extra.join("_").replace([',', '/'], "-")));
    let mut args = vec!["sim", "--net", net, "--routes", routes, "--duration", "5m"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--json", out_json.to_str().unwrap()]);
    let out = run(semaforo(dir).args(&args));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    (stdout, json(&out_json))
}

#[test]
fn a_sumocfg_beginning_at_3600_is_simulated_from_3600_to_its_end() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let routes = flows(dir.path(), "late.rou.xml", 600, 300, 3600, 3900);
    let cfg = sumocfg(
        dir.path(),
        "late.sumocfg",
        &two_approach_net(),
        &routes,
        3600,
        3900,
    );
    let out_json = dir.path().join("late.json");
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--sumocfg",
        cfg.to_str().unwrap(),
        "--policy",
        "max-pressure",
        "--seeds",
        "1",
        "--json",
        out_json.to_str().unwrap(),
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(
            "scenario late (network two-approach.net.xml, demand late.rou.xml, light C): 1 seed \
             x 300 s simulated from 3600 s"
        ),
        "{stdout}"
    );
    let doc = json(&out_json);
    assert_eq!(doc["begin_s"], 3600.0);
    assert_eq!(doc["duration_s"], 300.0);
    for r in doc["runs"].as_array().unwrap() {
        // 900 veh/h for 5 minutes: about 75 vehicles, all of them inserted.
        let loaded = r["loaded"].as_u64().unwrap();
        assert!((60..=90).contains(&loaded), "{r}");
        assert_eq!(r["inserted"], r["loaded"], "{r}");
        assert_eq!(r["not_inserted"], 0, "{r}");
        assert!(r["throughput"].as_u64().unwrap() >= 40, "{r}");
    }
}

#[test]
fn a_run_in_which_no_vehicle_was_simulated_is_an_error() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The traffic starts at 3600; the configuration simulates the hour before.
    let routes = flows(dir.path(), "late.rou.xml", 600, 300, 3600, 3900);
    let cfg = sumocfg(
        dir.path(),
        "early.sumocfg",
        &two_approach_net(),
        &routes,
        0,
        300,
    );
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--sumocfg",
        cfg.to_str().unwrap(),
        "--policy",
        "max-pressure",
        "--seeds",
        "1",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no vehicle was simulated from 0 s to 300 s"),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("best semaforo policy"));
}

#[test]
fn vehicles_that_cannot_be_inserted_are_counted_and_a_policy_leaving_more_out_is_flagged() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 2400 veh/h on one lane of A, little on B: the queue spills back to A's start and
    // vehicles wait outside the network. The fixed-time plan gives B half the time it does
    // not need and leaves more of A's vehicles out than SUMO's actuated program.
    let routes = flows(dir.path(), "heavy.rou.xml", 2400, 60, 0, 300);
    let (stdout, doc) = sim_on(
        dir.path(),
        two_approach_net().to_str().unwrap(),
        routes.to_str().unwrap(),
        &["--policy", "fixed,max-pressure", "--seeds", "1"],
    );
    let runs = doc["runs"].as_array().unwrap();
    for r in runs {
        let (loaded, inserted, left) = (
            r["loaded"].as_u64().unwrap(),
            r["inserted"].as_u64().unwrap(),
            r["not_inserted"].as_u64().unwrap(),
        );
        assert_eq!(loaded, inserted + left, "{r}");
        // About 200 vehicles due in 5 minutes; every contender leaves some out.
        assert!((170..=230).contains(&loaded), "{r}");
        assert!(left > 0, "{r}");
        // A vehicle never inserted waited for the rest of the run: the longest waits are theirs.
        assert!(r["max_wait_s"].as_f64().unwrap() > 60.0, "{r}");
    }
    let fixed = &runs[0];
    assert_eq!(fixed["policy"], "fixed");
    assert_eq!(
        fixed["flags"][0], "more not inserted than sumo-actuated",
        "{fixed}"
    );
    assert!(!stdout.contains("best semaforo policy: fixed"), "{stdout}");
    assert!(stdout.contains("not ins."), "{stdout}");
}

#[test]
fn detection_errors_reach_only_what_semaforo_sees_and_a_blind_detector_starves_an_approach() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let routes = flows(dir.path(), "even.rou.xml", 300, 300, 0, 300);
    let (net, routes) = (
        two_approach_net().to_str().unwrap().to_string(),
        routes.to_str().unwrap().to_string(),
    );
    let (exact_out, exact) = sim_on(
        dir.path(),
        &net,
        &routes,
        &["--policy", "actuated", "--seeds", "1"],
    );
    assert!(!exact_out.contains("detection errors"), "{exact_out}");
    assert_eq!(exact["detection_errors"]["miss"], 0.0, "{exact}");
    assert!(run_of(&exact, "actuated")["max_wait_s"].as_f64().unwrap() < 60.0);

    // Every vehicle missed on every reading: the controller never sees a call, rests in the
    // first green, and the other approach waits to the end of the run.
    let (blind_out, blind) = sim_on(
        dir.path(),
        &net,
        &routes,
        &[
            "--policy",
            "actuated",
            "--seeds",
            "1",
            "--detection-errors",
            "miss=1,arrival-miss=1",
        ],
    );
    assert!(
        blind_out.contains(
            "detection errors in what semaforo's policies see (--detection-errors \
             miss=1,arrival-miss=1,ghost=0): each vehicle in a zone missed on 100% of readings"
        ),
        "{blind_out}"
    );
    assert_eq!(blind["detection_errors"]["miss"], 1.0, "{blind}");
    assert_eq!(blind["detection_errors"]["arrival_miss"], 1.0, "{blind}");
    let starved = run_of(&blind, "actuated")["max_wait_s"].as_f64().unwrap();
    assert!(starved > 200.0, "{blind}");
    // SUMO's baselines read their own detectors: the same figures with the errors or without.
    for baseline in ["sumo-actuated", "sumo-static"] {
        assert_eq!(
            run_of(&blind, baseline)["mean_delay_s"],
            run_of(&exact, baseline)["mean_delay_s"],
            "{baseline}"
        );
    }

    // A value that is not a probability is refused before anything runs, naming the flag.
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--net",
        &net,
        "--routes",
        &routes,
        "--detection-errors",
        "miss=10%",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "--detection-errors miss=10%: miss=10% is not a probability; expected a number \
             from 0 to 1"
        ),
        "{stderr}"
    );
}

#[test]
fn a_baseline_program_going_green_yellow_green_has_sequence_faults_not_conflicts_and_passes() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A program as real networks have them: A's green, a yellow, then green again with no
    // red between.
    let net = std::fs::read_to_string(two_approach_net())
        .unwrap()
        .replace(
            r#"<phase duration="42" state="GGrr"/>"#,
            r#"<phase duration="20" state="GGrr"/>
        <phase duration="3"  state="yyrr"/>
        <phase duration="19" state="GGrr"/>"#,
        );
    assert!(net.contains(r#"<phase duration="19" state="GGrr"/>"#));
    let net_path = dir.path().join("yellow-green.net.xml");
    std::fs::write(&net_path, net).unwrap();
    let routes = flows(dir.path(), "r.rou.xml", 600, 300, 0, 300);
    let (_, doc) = sim_on(
        dir.path(),
        net_path.to_str().unwrap(),
        routes.to_str().unwrap(),
        &["--policy", "max-pressure", "--seeds", "1"],
    );
    let stat = run_of(&doc, "sumo-static");
    assert!(stat["sequence_faults"].as_u64().unwrap() > 0, "{stat}");
    assert_eq!(stat["conflicts"], 0, "{stat}");
    let ours = run_of(&doc, "max-pressure");
    assert_eq!(ours["conflicts"], 0, "{ours}");
    assert_eq!(ours["sequence_faults"], 0, "{ours}");
}

#[test]
fn an_approach_whose_lane_at_the_stop_line_is_1_m_long_is_detected_and_served() {
    if !sumo_available()
        || !semaforo_testkit::tool(
            "netconvert",
            "Install SUMO's network builder: apt-get install sumo (Debian/Ubuntu).",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The two-approach crossing, with A split 5 m before the junction: netconvert cuts the
    // junction's shape from that edge and leaves a 1 m lane in front of A's stop line.
    std::fs::write(
        dir.path().join("stub.nod.xml"),
        r#"<nodes>
    <node id="A_in" x="-400.0" y="0.0"/>
    <node id="A_m" x="-5.0" y="0.0" type="priority"/>
    <node id="A_out" x="400.0" y="0.0"/>
    <node id="B_in" x="0.0" y="-400.0"/>
    <node id="B_out" x="0.0" y="400.0"/>
    <node id="C" x="0.0" y="0.0" type="traffic_light"/>
</nodes>
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("stub.edg.xml"),
        r#"<edges>
    <edge id="A_up" from="A_in" to="A_m" numLanes="1" speed="13.89"/>
    <edge id="A" from="A_m" to="C" numLanes="1" speed="13.89"/>
    <edge id="A_exit" from="C" to="A_out" numLanes="1" speed="13.89"/>
    <edge id="B" from="B_in" to="C" numLanes="1" speed="13.89"/>
    <edge id="B_exit" from="C" to="B_out" numLanes="1" speed="13.89"/>
</edges>
"#,
    )
    .unwrap();
    let net = dir.path().join("stub.net.xml");
    let built = Command::new("netconvert")
        .current_dir(dir.path())
        .args([
            "-n",
            "stub.nod.xml",
            "-e",
            "stub.edg.xml",
            "--no-turnarounds",
            "-o",
        ])
        .arg(&net)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    let net_text = std::fs::read_to_string(&net).unwrap();
    assert!(
        net_text.contains(r#"<lane id="A_0" index="0" speed="13.89" length="1.00""#),
        "netconvert did not leave a 1 m lane in front of A's stop line"
    );
    let routes = dir.path().join("stub.rou.xml");
    std::fs::write(
        &routes,
        r#"<routes>
    <flow id="A" begin="0" end="300" vehsPerHour="600" from="A_up" to="A_exit" departSpeed="max"/>
    <flow id="B" begin="0" end="300" vehsPerHour="300" from="B" to="B_exit" departSpeed="max"/>
</routes>
"#,
    )
    .unwrap();
    let (stdout, doc) = sim_on(
        dir.path(),
        net.to_str().unwrap(),
        routes.to_str().unwrap(),
        &["--policy", "max-pressure", "--seeds", "2"],
    );
    let runs = doc["runs"].as_array().unwrap();
    // Measured (SUMO 1.15.0, seeds 1 and 2): max-pressure's longest wait 12.5 and 14.5 s
    // against sumo-actuated's 9.0 and 14.5 s, throughput 59 and 56 as its; with the zone on
    // the 1 m lane alone, A was never called: 269 and 268 s, throughput 21 and 19.
    for seed in 1..=2 {
        let of = |policy: &str| {
            runs.iter()
                .find(|r| r["policy"] == policy && r["seed"] == seed)
                .unwrap()
        };
        let (ours, baseline) = (of("max-pressure"), of("sumo-actuated"));
        let (wait, base_wait) = (
            ours["max_wait_s"].as_f64().unwrap(),
            baseline["max_wait_s"].as_f64().unwrap(),
        );
        assert!(
            wait <= 2.0 * base_wait,
            "seed {seed}: max-pressure's longest wait {wait} s is over twice sumo-actuated's \
             {base_wait} s\n{stdout}"
        );
        assert!(
            ours["throughput"].as_u64().unwrap() + 3 >= baseline["throughput"].as_u64().unwrap(),
            "{ours}\n{baseline}"
        );
        assert_eq!(ours["flags"].as_array().unwrap().len(), 0, "{ours}");
    }
}

#[test]
fn tls_all_drives_every_light_of_a_three_light_network_and_a_list_only_those_listed() {
    if !sumo_available()
        || !semaforo_testkit::tool(
            "netconvert",
            "Install SUMO's network builder: apt-get install sumo (Debian/Ubuntu).",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A main street west to east through J1, J2 and J3, 300 m apart, each crossed by a one-way
    // street north to south.
    let mut nodes = String::from(
        r#"<nodes>
    <node id="W" x="-300.0" y="0.0"/>
    <node id="E" x="900.0" y="0.0"/>
"#,
    );
    let mut edges = String::from(
        r#"<edges>
    <edge id="WJ1" from="W" to="J1" numLanes="1" speed="13.89"/>
    <edge id="J1J2" from="J1" to="J2" numLanes="1" speed="13.89"/>
    <edge id="J2J3" from="J2" to="J3" numLanes="1" speed="13.89"/>
    <edge id="J3E" from="J3" to="E" numLanes="1" speed="13.89"/>
"#,
    );
    let mut routes = String::from(
        r#"<routes>
    <flow id="main" begin="0" end="300" vehsPerHour="600" from="WJ1" to="J3E" departSpeed="max"/>
"#,
    );
    for i in 1..=3 {
        let x = 300 * (i - 1);
        nodes.push_str(&format!(
            r#"    <node id="J{i}" x="{x}.0" y="0.0" type="traffic_light"/>
    <node id="N{i}" x="{x}.0" y="300.0"/>
    <node id="S{i}" x="{x}.0" y="-300.0"/>
"#
        ));
        edges.push_str(&format!(
            r#"    <edge id="N{i}J{i}" from="N{i}" to="J{i}" numLanes="1" speed="13.89"/>
    <edge id="J{i}S{i}" from="J{i}" to="S{i}" numLanes="1" speed="13.89"/>
"#
        ));
        routes.push_str(&format!(
            r#"    <flow id="cross{i}" begin="0" end="300" vehsPerHour="60" from="N{i}J{i}" to="J{i}S{i}" departSpeed="max"/>
"#
        ));
    }
    nodes.push_str("</nodes>\n");
    edges.push_str("</edges>\n");
    routes.push_str("</routes>\n");
    std::fs::write(dir.path().join("three.nod.xml"), nodes).unwrap();
    std::fs::write(dir.path().join("three.edg.xml"), edges).unwrap();
    std::fs::write(dir.path().join("three.rou.xml"), routes).unwrap();
    let built = Command::new("netconvert")
        .current_dir(dir.path())
        .args([
            "-n",
            "three.nod.xml",
            "-e",
            "three.edg.xml",
            "--no-turnarounds",
            "-o",
            "three.net.xml",
        ])
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));

    let sim = |tls: &str| {
        sim_on(
            dir.path(),
            "three.net.xml",
            "three.rou.xml",
            &["--tls", tls, "--policy", "max-pressure", "--seeds", "1"],
        )
    };
    let max_wait =
        |doc: &serde_json::Value, policy: &str| run_of(doc, policy)["max_wait_s"].as_f64().unwrap();

    let (stdout, all) = sim("all");
    assert!(stdout.contains("lights J1, J2, J3)"), "{stdout}");
    assert_eq!(all["lights"], serde_json::json!(["J1", "J2", "J3"]));
    for r in all["runs"].as_array().unwrap() {
        assert_eq!(r["conflicts"], 0, "{r}");
        assert_eq!(r["sequence_faults"], 0, "{r}");
        assert_eq!(r["not_inserted"], 0, "{r}");
    }
    // Measured (SUMO 1.15.0, seed 1): the main street's vehicles wait at most 8.5 s when
    // semaforo drives all three lights, 45 s when J2 keeps its fixed-time program, 74 s under
    // the fixed-time programs everywhere.
    let (stdout, two) = sim("J1,J3");
    assert!(stdout.contains("lights J1, J3)"), "{stdout}");
    assert_eq!(two["lights"], serde_json::json!(["J1", "J3"]));
    let (driven, one_left) = (
        max_wait(&all, "max-pressure"),
        max_wait(&two, "max-pressure"),
    );
    assert!(
        driven < 20.0 && one_left > driven + 15.0,
        "longest wait {driven} s with every light driven, {one_left} s with J2 on its program"
    );
    assert!(
        driven < 0.5 * max_wait(&all, "sumo-static"),
        "{driven} s against sumo-static's {} s",
        max_wait(&all, "sumo-static")
    );
}

#[test]
fn sumos_delay_based_controller_runs_as_a_baseline_when_asked_for() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_json = dir.path().join("delay.json");
    let out = run(semaforo(dir.path()).args([
        "sim",
        "--scenario",
        "two-approach-asymmetric",
        "--policy",
        "max-pressure,sumo-delay-based",
        "--seeds",
        "2",
        "--duration",
        "5m",
        "--json",
        out_json.to_str().unwrap(),
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let doc = json(&out_json);
    let runs = doc["runs"].as_array().unwrap();
    let mean = |policy: &str| -> f64 {
        let v: Vec<f64> = runs
            .iter()
            .filter(|r| r["policy"] == policy)
            .map(|r| r["mean_delay_s"].as_f64().unwrap())
            .collect();
        assert_eq!(v.len(), 2, "{policy}: {stdout}");
        v.iter().sum::<f64>() / 2.0
    };
    // Measured (SUMO 1.15.0, 10 simulated minutes, seeds 1-3): delay-based 10.4 s, actuated
    // 12.2 s, static 25.3 s; it adapts like the actuated program, far from the static one.
    let (delay_based, fixed_time) = (mean("sumo-delay-based"), mean("sumo-static"));
    assert!(
        delay_based < 0.75 * fixed_time,
        "sumo-delay-based {delay_based:.1} s against sumo-static {fixed_time:.1} s\n{stdout}"
    );
    for r in runs {
        assert_eq!(r["conflicts"], 0, "{r}");
        assert_eq!(r["sequence_faults"], 0, "{r}");
        if r["policy"] == "sumo-delay-based" {
            assert_eq!(r["flags"].as_array().unwrap().len(), 0, "{r}");
        }
    }
    assert!(stdout.contains("sumo-delay-based"), "{stdout}");
}

#[test]
fn sim_config_runs_the_configured_intersection_and_refuses_one_that_is_not_the_networks() {
    if !sumo_available() {
        return;
    }
    // From the repository's root, as the example says (its from_sumo path is relative).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sim.json");
    let out = run(semaforo(&root).args([
        "sim",
        "--config",
        "examples/four-arm-from-sumo.toml",
        "--scenario",
        "four-arm-balanced",
        "--seeds",
        "1",
        "--duration",
        "5m",
        "--json",
        json.to_str().unwrap(),
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("configuration: examples/four-arm-from-sumo.toml")
            && stdout.contains("E, W: min green 7 s, max green 30 s"),
        "{stdout}"
    );
    let doc = self::json(&json);
    assert_eq!(doc["configuration"], "examples/four-arm-from-sumo.toml");
    let runs = doc["runs"].as_array().unwrap();
    // Without --policy, the configuration's own policy (and SUMO's two baselines).
    assert!(runs.iter().any(|r| r["policy"] == "actuated"), "{doc}");
    assert!(!runs.iter().any(|r| r["policy"] == "compare"), "{doc}");

    // The protected-left example is not the shipped network's light: each difference named.
    let out = run(semaforo(&root).args([
        "sim",
        "--config",
        "examples/four-arm.toml",
        "--scenario",
        "four-arm-balanced",
        "--seeds",
        "1",
        "--duration",
        "1m",
    ]));
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("does not match traffic light \"C\"")
            && stderr.contains("signal groups only in the configuration: ")
            && stderr.contains("\"north-left\"")
            && stderr.contains(
                "the network's light, as configuration: groups = [\"N\", \"E\", \"S\", \"W\"]"
            ),
        "{stderr}"
    );

    // --config without a network to run it in.
    let out = run(semaforo(&root).args(["sim", "--config", "examples/four-arm-from-sumo.toml"]));
    assert!(
        text(&out.stderr).contains("name what to run its intersection in"),
        "{}",
        text(&out.stderr)
    );
}
