//! Any intersection in `semaforo run`: the shipped four-arm example with protected lefts, and a
//! SUMO network's traffic light, each run on simulated time with a generated synthetic camera
//! per signal group, their high-resolution events parsed back and checked for safety and for
//! every phase served; and each rule of the layout's validation, refused with exit code 2 and
//! every problem at once.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::Path;
use std::process::{Output, Stdio};

mod common;
use common::{check_events, events, semaforo, text, GroupRules, Rules};
use semaforo_testkit::repository;

fn tenths(seconds: f64) -> i64 {
    (seconds * 10.0).round() as i64
}

/// A fast run in `dir` with small synthetic pictures (the layout is what is tested).
fn run_fast(dir: &Path, args: &[&str]) -> Output {
    semaforo(dir)
        .args(["run", "--fast"])
        .args(args)
        .env("LOG_TO_CONSOLE", "false")
        .env("SAVE_FRAMES", "false")
        .env("CAMERA_WIDTH", "160")
        .env("CAMERA_HEIGHT", "120")
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// The rules of the example file, read from it: its groups in order, its phases, and each
/// group's timings (its own table over `[signal]`).
fn example_rules(file: &Path) -> Rules {
    let doc: toml::Table = std::fs::read_to_string(file).unwrap().parse().unwrap();
    let intersection = doc["intersection"].as_table().unwrap();
    let signal = doc["signal"].as_table().unwrap();
    let seconds = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap();
    let groups: Vec<&str> = intersection["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    let number = |name: &str| groups.iter().position(|g| *g == name).unwrap() as u32 + 1;
    let own = intersection["timings"].as_table().unwrap();
    let timing = |group: &str, field: &str| {
        let value = own
            .get(group)
            .and_then(|t| t.get(field))
            .unwrap_or(&signal[field]);
        tenths(seconds(value))
    };
    Rules {
        groups: groups
            .iter()
            .map(|g| GroupRules {
                min_green: timing(g, "min_green"),
                yellow: timing(g, "yellow"),
                red_clearance: timing(g, "red_clearance"),
            })
            .collect(),
        phases: intersection["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let groups = p["groups"].as_array().unwrap();
                let numbers = groups.iter().map(|g| number(g.as_str().unwrap())).collect();
                (p["name"].as_str().unwrap().to_string(), numbers)
            })
            .collect(),
    }
}

#[test]
fn the_four_arm_example_runs_half_an_hour_serving_every_phase_safely() {
    let dir = tempfile::tempdir().unwrap();
    let example = repository().join("examples/four-arm.toml");
    let out = run_fast(
        dir.path(),
        &["--config", example.to_str().unwrap(), "--for", "30m"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rules = example_rules(&example);
    assert!(rules.phases.len() >= 4 && rules.groups.len() == 8);

    let checked = check_events(&events(dir.path()), &rules);
    for (phase, groups) in &rules.phases {
        assert!(
            checked.phases_served.get(phase).copied().unwrap_or(0) > 0,
            "phase {phase} ({groups:?}) never served: {:?}",
            checked.phases_served
        );
    }
    assert_eq!(checked.green_time.len(), 8, "every group got green");

    let log = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    assert!(
        log.contains("no camera configured: each signal group gets a synthetic camera"),
        "{log}"
    );
    assert!(log.contains("intersection main-and-5th from [intersection] in"));
    assert!(log.contains("group north-left: min green 5s, max green 20s"));
    assert!(!log.contains("on recall"), "every group is watched: {log}");
}

#[test]
fn a_sumo_networks_light_runs_with_a_generated_camera_per_group() {
    let net = repository().join("scenarios/four-arm/four-arm.net.xml");
    // The same reader the configuration uses, for the groups' order and clearance times.
    let light = semaforo_sim::network::load(&net, Some("C")).unwrap();
    let names: Vec<&str> = light
        .intersection
        .groups()
        .iter()
        .map(|g| g.name())
        .collect();
    let group = GroupRules {
        min_green: 100,
        yellow: tenths(light.yellow.as_secs_f64()),
        red_clearance: tenths(light.red_clearance.as_secs_f64()),
    };
    let rules = Rules {
        groups: vec![group; names.len()],
        phases: light
            .intersection
            .phases()
            .iter()
            .map(|p| {
                let numbers = p.groups().iter().map(|g| g.index() as u32 + 1).collect();
                (p.name().to_string(), numbers)
            })
            .collect(),
    };

    let dir = tempfile::tempdir().unwrap();
    let reference = format!("{}#C", net.display());
    let out = semaforo(dir.path())
        .args(["run", "--fast", "--for", "10m"])
        .env("INTERSECTION_FROM_SUMO", &reference)
        .env("LOG_TO_CONSOLE", "false")
        .env("SAVE_FRAMES", "false")
        .env("CAMERA_WIDTH", "160")
        .env("CAMERA_HEIGHT", "120")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let checked = check_events(&events(dir.path()), &rules);
    for (phase, _) in &rules.phases {
        assert!(
            checked.phases_served.get(phase).copied().unwrap_or(0) >= 3,
            "phase {phase}: {:?}",
            checked.phases_served
        );
    }
    let log = std::fs::read_to_string(dir.path().join("logs/traffic_light.log")).unwrap();
    assert!(
        log.contains(&format!("from traffic light C of {}", net.display())),
        "{log}"
    );
    for name in names {
        assert!(log.contains(&format!("camera {name}: synthetic")), "{log}");
    }
}

/// `config check` of `toml` (written to `dir/semaforo.toml`): exit code 2 and every line of
/// its problems.
fn refused(dir: &Path, toml: &str) -> Vec<String> {
    let file = dir.join("semaforo.toml");
    std::fs::write(&file, toml).unwrap();
    let out = semaforo(dir)
        .args(["config", "check", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(str::to_string)
        .collect()
}

/// The four arms of the example in two phases, with what `extra` adds.
fn two_phase(extra: &str) -> String {
    format!(
        "[intersection]\ngroups = [\"north\", \"south\", \"east\", \"west\"]\n{extra}\n\
         [[intersection.phases]]\nname = \"ns\"\ngroups = [\"north\", \"south\"]\n\
         [[intersection.phases]]\nname = \"ew\"\ngroups = [\"east\", \"west\"]\n"
    )
}

#[test]
fn a_phase_greening_two_conflicting_groups_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let errors = refused(
        dir.path(),
        &two_phase(
            "conflicts = [[\"north\", \"south\"], [\"east\", \"west\"], [\"north\", \"east\"]]",
        ),
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("error: intersection.phases[1] = \"ns\" (from ")
            && errors[0].contains("semaforo.toml line 4): phase \"ns\" greens signal groups \"north\" and \"south\", which conflict"),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains(
            "line 7): phase \"ew\" greens signal groups \"east\" and \"west\", which conflict"
        ),
        "{errors:#?}"
    );
}

#[test]
fn a_group_that_no_phase_serves_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = two_phase("").replacen(
        "\"west\"]\n",
        "\"west\", \"north-left\", \"south-left\"]\n",
        1,
    );
    let errors = refused(dir.path(), &toml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("error: intersection.groups = \"north-left\" (from ")
            && errors[0].ends_with(
                "line 2): signal group \"north-left\" is in no phase, so it would never get green"
            ),
        "{errors:#?}"
    );
    assert!(
        errors[1].contains("\"south-left\" is in no phase"),
        "{errors:#?}"
    );
}

#[test]
fn a_zone_whose_approach_names_no_group_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("corner.toml");
    std::fs::write(
        &zones,
        "[[zone]]\nname = \"n-queue\"\napproach = \"north\"\nrole = \"queue\"\n\
         points = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.9]]\n\
         [[zone]]\nname = \"a-queue\"\napproach = \"A\"\nrole = \"queue\"\n\
         points = [[0.5, 0.1], [0.9, 0.1], [0.9, 0.9]]\n\
         [[zone]]\nname = \"nl-line\"\napproach = \"north-left\"\nrole = \"line\"\n\
         points = [[0.1, 0.5], [0.9, 0.5]]\n",
    )
    .unwrap();
    let camera = format!(
        "[cameras.corner]\nsource = \"synthetic:\"\nzones = \"{}\"\n",
        zones.display()
    );
    let errors = refused(dir.path(), &format!("{}{camera}", two_phase("")));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for (zone, approach) in [("a-queue", "A"), ("nl-line", "north-left")] {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("error: cameras.corner.zones = \"")
                    && e.contains(&format!(
                    "zone `{zone}` has approach = \"{approach}\", which names no signal group of \
                     this intersection"
                )) && e.ends_with("expected one of north, south, east, west")),
            "{errors:#?}"
        );
    }
}

#[test]
fn per_group_timings_out_of_range_or_for_no_group_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "{}[intersection.timings.north]\nmin_green = 2\nmax_green = 30\n\
         [intersection.timings.east]\nmin_green = 40\nmax_green = 30\n\
         [intersection.timings.nowhere]\nyellow = 4\n\
         [intersection.timings.west]\nrecall = \"always\"\n",
        two_phase("")
    );
    let errors = refused(dir.path(), &toml);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let has = |start: &str, rest: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(start) && e.contains(rest)),
            "{start} … {rest}: {errors:#?}"
        )
    };
    has(
        "error: intersection.timings.north.min_green = 2 (from ",
        "line 11): expected a number of seconds from 5 to 300",
    );
    has(
        "error: intersection.timings.east.min_green = 40 (from ",
        "line 14): signal group \"east\": min_green (40 s) must be less than max_green (30 s)",
    );
    has(
        "error: intersection.timings.nowhere.yellow (from ",
        "`nowhere` is not a signal group of this intersection",
    );
    has(
        "error: intersection.timings.west.recall = \"always\" (from ",
        "expected one of none, min, max",
    );
}

#[test]
fn a_sumo_network_or_light_that_does_not_exist_is_refused_listing_the_lights() {
    let dir = tempfile::tempdir().unwrap();
    let net = repository().join("scenarios/four-arm/four-arm.net.xml");
    let toml = format!(
        "[intersection]\nfrom_sumo = \"{}#J9\"\n[cameras.north]\nzones = \"{}\"\n",
        net.display(),
        dir.path().join("missing-zones.toml").display()
    );
    let errors = refused(dir.path(), &toml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("error: intersection.from_sumo = \"")
            && errors[0].contains("has no traffic light \"J9\"; its traffic lights are: C"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("error: cameras.north.zones = ")
            && errors[1].contains("cannot read the zones file"),
        "{errors:#?}"
    );

    let errors = refused(
        dir.path(),
        "[intersection]\nfrom_sumo = \"nowhere/city.net.xml#J1\"\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("cannot read the network nowhere/city.net.xml"),
        "{errors:#?}"
    );
}

#[test]
fn more_groups_or_phases_than_the_controller_holds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let groups: Vec<String> = (1..=65).map(|i| format!("\"g{i}\"")).collect();
    let mut toml = format!("[intersection]\ngroups = [{}]\n", groups.join(", "));
    for i in 1..=65 {
        toml.push_str(&format!(
            "[[intersection.phases]]\nname = \"p{i}\"\ngroups = [\"g{i}\"]\n"
        ));
    }
    let errors = refused(dir.path(), &toml);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("error: intersection.groups (from ")
                && e.ends_with(
                    "line 2): the intersection has 65 signal groups; at most 64 are supported"
                )),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("error: intersection.phases (from ")
                && e.contains("the intersection has 65 phases; at most 64 are supported")),
        "{errors:#?}"
    );
}
