//! What the end-to-end tests share: the binary in a clean environment, its output as text, and
//! its high-resolution events read back and checked for safety.

#![allow(dead_code)] // each test file uses its own part

pub mod browser;
pub mod daemon;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The binary, run in `dir` with a clean environment (no inherited LOG_LEVEL and the like),
/// its HTTP server off: tests run side by side and would race for the default port (a test
/// of the server passes `--http 127.0.0.1:0`, which wins over the environment).
pub fn semaforo(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_semaforo"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HTTP_ADDR", "off");
    cmd
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// One row of `events.csv`: time in tenths of a second since the first row's midnight (a run
/// that crosses midnight goes on counting), code, parameter.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub tenths: i64,
    pub code: u32,
    pub parameter: u32,
}

/// The high-resolution events of a run in `dir` (`logs/events.csv`).
pub fn events(dir: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(dir.join("logs/events.csv")).expect("events.csv exists");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,event_code,parameter"));
    // Rows are a tenth of a second to minutes apart: a new date is the next day.
    let mut date = String::new();
    let mut day_offset = -864_000;
    lines
        .map(|line| {
            let mut parts = line.split(',');
            let stamp = parts.next().expect("timestamp");
            let (day, time) = stamp.split_once(' ').expect("date and time");
            if day != date {
                date = day.to_string();
                day_offset += 864_000;
            }
            let mut hms = time.split(':');
            let h: i64 = hms.next().unwrap().parse().unwrap();
            let m: i64 = hms.next().unwrap().parse().unwrap();
            let s: f64 = hms.next().unwrap().parse().unwrap();
            Event {
                tenths: day_offset + (h * 3600 + m * 60) * 10 + (s * 10.0).round() as i64,
                code: parts.next().unwrap().parse().unwrap(),
                parameter: parts.next().unwrap().parse().unwrap(),
            }
        })
        .collect()
}

/// One signal group's intervals, in tenths of a second.
#[derive(Debug, Clone, Copy)]
pub struct GroupRules {
    pub min_green: i64,
    pub yellow: i64,
    pub red_clearance: i64,
}

/// What the events of an intersection must obey: its groups (numbered from 1, as the events
/// number them) and its phases (name, group numbers). Two groups may show green or yellow at
/// once only when a phase greens both.
pub struct Rules {
    pub groups: Vec<GroupRules>,
    pub phases: Vec<(String, Vec<u32>)>,
}

impl Rules {
    fn compatible(&self, a: u32, b: u32) -> bool {
        self.phases
            .iter()
            .any(|(_, groups)| groups.contains(&a) && groups.contains(&b))
    }
}

/// What a run's events showed.
#[derive(Debug, Default)]
pub struct Checked {
    /// Green time per group, tenths of a second.
    pub green_time: BTreeMap<u32, i64>,
    /// How many times each phase's groups became exactly the groups green.
    pub phases_served: BTreeMap<String, u32>,
}

/// Checks every safety rule on the events (ATSPM codes: 1 green begins, 8 yellow begins, 10 red
/// clearance begins, 11 it ends; 173 the unit went to flash): no two conflicting groups green or
/// yellow at once, each green at least its minimum, each yellow exactly its yellow, each red
/// clearance at least its own, and never flash (the conflict monitor never tripped).
pub fn check_events(events: &[Event], rules: &Rules) -> Checked {
    let mut showing: BTreeMap<u32, (&str, i64)> = BTreeMap::new();
    let mut checked = Checked::default();
    // Event 131 with pattern 252: the controller was asked to stop (end of the run); the green
    // then showing may end before its minimum, as a controller going dark must.
    let mut stopping = false;
    let mut last_green: Vec<u32> = Vec::new();
    let rule = |g: u32| rules.groups[g as usize - 1];
    for (i, e) in events.iter().enumerate() {
        let group = e.parameter;
        match e.code {
            173 => panic!("the unit went to flash at {} (parameter {group})", e.tenths),
            131 if e.parameter == 252 => stopping = true,
            1 => {
                let conflicting: Vec<_> = showing
                    .iter()
                    .filter(|(g, (state, _))| {
                        **g != group
                            && (*state == "green" || *state == "yellow")
                            && !rules.compatible(**g, group)
                    })
                    .collect();
                assert!(
                    conflicting.is_empty(),
                    "group {group} green while {conflicting:?} at {}",
                    e.tenths
                );
                showing.insert(group, ("green", e.tenths));
            }
            8 => {
                let (state, since) = showing.get(&group).copied().expect("yellow after green");
                assert_eq!(state, "green", "group {group}: yellow must follow green");
                let green = e.tenths - since;
                assert!(
                    green >= rule(group).min_green || stopping,
                    "group {group}: green of {green} tenths < its minimum"
                );
                *checked.green_time.entry(group).or_insert(0) += green;
                showing.insert(group, ("yellow", e.tenths));
            }
            10 => {
                let (state, since) = showing
                    .get(&group)
                    .copied()
                    .expect("red clearance after yellow");
                assert_eq!(
                    state, "yellow",
                    "group {group}: red clearance must follow yellow"
                );
                assert_eq!(
                    e.tenths - since,
                    rule(group).yellow,
                    "group {group}: its yellow"
                );
                showing.insert(group, ("red clearance", e.tenths));
            }
            11 => {
                let (state, since) = showing
                    .get(&group)
                    .copied()
                    .expect("end after red clearance");
                assert_eq!(state, "red clearance");
                assert!(
                    e.tenths - since >= rule(group).red_clearance,
                    "group {group}: red clearance too short"
                );
                showing.insert(group, ("red", e.tenths));
            }
            _ => {}
        }
        // After the last event of a moment: which phase, if any, is exactly what is green.
        if events.get(i + 1).is_none_or(|next| next.tenths != e.tenths) {
            let green: Vec<u32> = showing
                .iter()
                .filter(|(_, (state, _))| *state == "green")
                .map(|(g, _)| *g)
                .collect();
            if green != last_green {
                for (name, groups) in &rules.phases {
                    let mut sorted = groups.clone();
                    sorted.sort_unstable();
                    if sorted == green {
                        *checked.phases_served.entry(name.clone()).or_insert(0) += 1;
                    }
                }
                last_green = green;
            }
        }
    }
    checked
}
