//! The shipped corridor (an arterial through four traffic lights) end to end: its scenarios
//! drive every light at once (`--tls all`), each with its own controller, and SUMO's own record
//! of each light's states shows semaforo's timing there, not the network's fixed-time program.

#![allow(clippy::unwrap_used)] // a test: an unwrap that fails stops it at its line

use std::path::Path;
use std::time::Duration;

use semaforo_signal::PolicyKind;
use semaforo_sim::runner::{self, Prepared, TimingOverrides, Window};
use semaforo_sim::{evaluate, scenario, sumo, Contender, Options, Scenarios};

/// Whether `sumo` is on the PATH; when it is not, a loud skip (a failure under CI=true).
fn sumo_available() -> bool {
    semaforo_testkit::tool(
        "sumo",
        "Install the SUMO simulator: apt-get install sumo sumo-tools (Debian/Ubuntu).",
    )
}

const LIGHTS: [&str; 4] = ["J1", "J2", "J3", "J4"];

/// SUMO's `SaveTLSStates` record of one light (a line per step while TraCI sets it): the
/// times (s) at which its state changed.
fn change_times(xml: &str) -> Vec<f64> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut last = "";
    let mut times = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("tlsState")) {
        let state = n.attribute("state").unwrap();
        if state != last {
            times.push(n.attribute("time").unwrap().parse().unwrap());
            last = state;
        }
    }
    times
}

#[test]
fn the_corridor_scenario_drives_all_four_lights_each_on_its_own_demand() {
    if !sumo_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut s = scenario::shipped("corridor-arterial", &scenario::scenario_dir(None)).unwrap();
    assert_eq!(s.tls.as_deref(), Some("all"));
    // SUMO writes each light's state at every change, as the simulation shows it.
    let mut record = String::from("<additional>\n");
    for id in LIGHTS {
        let dest = dir.path().join(format!("{id}.xml"));
        record.push_str(&format!(
            "<timedEvent type=\"SaveTLSStates\" source=\"{id}\" dest=\"{}\"/>\n",
            dest.display()
        ));
    }
    record.push_str("</additional>\n");
    let record_file = dir.path().join("record.add.xml");
    std::fs::write(&record_file, record).unwrap();
    s.additional.push(record_file);
    let window = Window::new(&s, Some(Duration::from_secs(300)), None).unwrap();
    let p = Prepared::new(s, &TimingOverrides::default(), None, window).unwrap();
    assert_eq!(p.light_ids(), LIGHTS);
    let binary = sumo::locate(Path::new("sumo")).unwrap();
    let m = runner::run(&p, Contender::Policy(PolicyKind::Actuated), 1, &binary).unwrap();
    assert_eq!((m.conflicts, m.sequence_faults, m.not_inserted), (0, 0, 0));
    assert!(m.throughput > 100, "{m:?}");

    // The network's fixed-time program changes every light at the same times (42 s greens,
    // 3 s yellows, offset 0); semaforo's controllers, one per light, change each on its own
    // demand: many changes, at times that program never changes.
    let static_changes = |t: f64| [0.0, 42.0, 45.0, 87.0].contains(&(t % 90.0));
    let mut records = Vec::new();
    for id in LIGHTS {
        let times =
            change_times(&std::fs::read_to_string(dir.path().join(format!("{id}.xml"))).unwrap());
        assert!(times.len() > 10, "{id}: {times:?}");
        assert!(
            times.iter().any(|&t| !static_changes(t)),
            "{id} changed only when its fixed-time program does: {times:?}"
        );
        records.push(times);
    }
    assert!(
        records.iter().any(|r| r != &records[0]),
        "every light changed at the same times: {records:?}"
    );
}

#[test]
fn an_evaluation_of_the_corridor_reports_every_light_and_no_fault() {
    if !sumo_available() {
        return;
    }
    let options = Options {
        scenarios: Scenarios::Shipped {
            names: vec!["corridor-time-varying".into()],
            dir: None,
        },
        contenders: vec![Contender::Policy(PolicyKind::MaxPressure)],
        seeds: 1,
        duration: Some(Duration::from_secs(240)),
        jobs: Some(1),
        ..Options::default()
    };
    let reports = evaluate(&options, &|_| {}).unwrap();
    let r = &reports[0];
    assert_eq!(r.lights, LIGHTS);
    assert_eq!(r.semaforo_faults(), 0);
    let title = r.table().lines().next().unwrap().to_string();
    assert!(title.contains("lights J1, J2, J3, J4)"), "{title}");
}
