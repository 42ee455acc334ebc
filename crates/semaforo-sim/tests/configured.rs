//! `sim --config` end to end: a configured intersection drives the shipped four-arm light in
//! SUMO, and SUMO's own record of the light's states shows each signal group held its own
//! configured minimum green and yellow, with no conflict.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::Path;
use std::time::Duration;

use semaforo_signal::{
    GroupTiming, GroupTimings, HeadState, Intersection, IntersectionSpec, PhaseSpec, PolicyKind,
    Timings,
};
use semaforo_sim::runner::{self, Prepared, TimingOverrides, Window};
use semaforo_sim::{evaluate, scenario, sumo, Configured, Contender, Options, Scenarios};

/// Whether `sumo` is on the PATH; when it is not, a loud skip (a failure under CI=true).
fn sumo_available() -> bool {
    semaforo_testkit::tool(
        "sumo",
        "Install the SUMO simulator: apt-get install sumo sumo-tools (Debian/Ubuntu).",
    )
}

/// (group, min green s, yellow s, red clearance s), listed in another order than the
/// network's N, E, S, W.
const GROUPS: [(&str, u64, u64, u64); 4] = [
    ("W", 14, 4, 2),
    ("S", 8, 3, 1),
    ("E", 11, 4, 1),
    ("N", 5, 3, 2),
];

/// The four-arm light as a site would configure it: its phases named and listed east-west
/// first, each group with its own min green, yellow and red clearance.
fn configured(source: &Path) -> Configured {
    let intersection = Intersection::from_spec(&IntersectionSpec {
        groups: GROUPS.iter().map(|g| g.0.to_string()).collect(),
        phases: vec![
            PhaseSpec::new("east-west", &["E", "W"]),
            PhaseSpec::new("north-south", &["N", "S"]),
        ],
        conflicts: Default::default(),
    })
    .unwrap();
    let entries = GROUPS
        .iter()
        .map(|&(_, min, yellow, red)| {
            GroupTiming::new(Timings {
                min_green: Duration::from_secs(min),
                max_green: Duration::from_secs(30),
                yellow: Duration::from_secs(yellow),
                red_clearance: Duration::from_secs(red),
                ..Timings::default()
            })
        })
        .collect();
    let timings = GroupTimings::new(&intersection, entries).unwrap();
    Configured::new(source, intersection, timings, PolicyKind::MaxPressure)
}

/// SUMO's `SaveTLSStates` record: (time s, state string), one per change.
fn tls_states(xml: &str) -> Vec<(f64, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("tlsState"))
        .map(|n| {
            (
                n.attribute("time").unwrap().parse().unwrap(),
                n.attribute("state").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_configured_intersection_holds_each_groups_own_min_green_and_yellow_in_sumo() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = configured(&dir.path().join("main-and-5th.toml"));
    let mut s = scenario::shipped("four-arm-balanced", &scenario::scenario_dir(None)).unwrap();
    // SUMO writes the light's state at every change, as the simulation shows it.
    let states = dir.path().join("states.xml");
    let record = dir.path().join("record.add.xml");
    std::fs::write(
        &record,
        format!(
            "<additional><timedEvent type=\"SaveTLSStates\" source=\"C\" dest=\"{}\"/>\
             </additional>\n",
            states.display()
        ),
    )
    .unwrap();
    s.additional.push(record);
    let window = Window::new(&s, Some(Duration::from_secs(240)), None).unwrap();
    let p = Prepared::new(s, &TimingOverrides::default(), Some(&config), window).unwrap();
    let binary = sumo::locate(Path::new("sumo")).unwrap();
    let m = runner::run(&p, Contender::Policy(PolicyKind::MaxPressure), 1, &binary).unwrap();
    assert_eq!((m.conflicts, m.sequence_faults), (0, 0));
    assert!(m.throughput > 0);

    // Each group's greens and yellows, from SUMO's record, against its configured timing.
    let light = &p.lights[0].light;
    let record = tls_states(&std::fs::read_to_string(&states).unwrap());
    assert!(record.len() > 4, "{record:?}");
    let mut heads = Vec::new();
    let mut shown: Vec<Vec<(f64, HeadState)>> = vec![Vec::new(); 4];
    for (t, state) in &record {
        light.heads_of(state, &mut heads);
        for (g, h) in heads.iter().enumerate() {
            if shown[g].last().map(|(_, last)| last) != Some(h) {
                shown[g].push((*t, *h));
            }
        }
    }
    for (g, group) in light.intersection.groups().iter().enumerate() {
        let &(_, min, yellow, _) = GROUPS.iter().find(|c| c.0 == group.name()).unwrap();
        let mut greens = Vec::new();
        let mut yellows = Vec::new();
        for w in shown[g].windows(2) {
            let length = w[1].0 - w[0].0;
            match w[0].1 {
                HeadState::Green => greens.push(length),
                HeadState::Yellow => yellows.push(length),
                _ => {}
            }
        }
        let name = group.name();
        assert!(
            !greens.is_empty(),
            "{name} never had a complete green: {shown:?}"
        );
        let shortest = greens.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            shortest >= min as f64 - 1e-6,
            "{name}'s shortest green {shortest} s, below its min green {min} s: {greens:?}"
        );
        for y in &yellows {
            assert!(
                (y - yellow as f64).abs() < 1e-6,
                "{name}'s yellow {y} s, configured {yellow} s: {yellows:?}"
            );
        }
    }
}

#[test]
fn an_evaluation_with_a_configuration_names_it_and_runs_without_conflicts() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("main-and-5th.toml");
    let config = configured(&source);
    let options = Options {
        scenarios: Scenarios::Shipped {
            names: vec!["four-arm-surge".into()],
            dir: None,
        },
        contenders: vec![config.contender()],
        seeds: 1,
        duration: Some(Duration::from_secs(120)),
        jobs: Some(1),
        configured: Some(config),
        ..Options::default()
    };
    let reports = evaluate(&options, &|_| {}).unwrap();
    let r = &reports[0];
    assert_eq!(r.semaforo_faults(), 0);
    let table = r.table();
    let title = table.lines().next().unwrap();
    assert!(
        title.contains(&format!(
            "configuration: {}; semaforo timings per signal group: N: min green 5 s",
            source.display()
        )),
        "{title}"
    );
    assert_eq!(r.json()["configuration"], source.display().to_string());
    let names: Vec<&str> = r.contenders.iter().map(|c| c.name).collect();
    assert_eq!(names, ["max-pressure", "sumo-static", "sumo-actuated"]);
}
