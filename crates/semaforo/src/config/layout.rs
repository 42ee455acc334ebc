//! The intersection a box controls: its signal groups, phases, conflicts and per-group timings,
//! from one of three places, and which signal groups each camera watches.
//!
//! - `[intersection]` `groups`, `[[intersection.phases]]` and optionally `conflicts` in the
//!   file (read here from the TOML document, with the line of every entry);
//! - `intersection.from_sumo = "PATH.net.xml#TLS"`: a SUMO traffic light's program, read by
//!   the same reader `semaforo sim` uses, so a layout tuned in `sim` deploys as it is;
//! - `intersection.builtin`: the original's two approaches (the default) or a four-arm
//!   crossing.
//!
//! `[intersection.timings.<group>]` overrides `[signal]`'s timings for one group. Every
//! problem is reported at once with the key, origin and value it is about; the rules live in
//! `semaforo-signal` (`Intersection::from_spec_all`, `GroupTiming::problems`) and are only
//! located here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_signal::{
    ConflictSpec, GroupTiming, GroupTimings, Intersection, IntersectionError, IntersectionSpec,
    PhaseSpec, Recall, SpecEntry, Timings,
};
use semaforo_vision::zones::parse_zone_specs;

use super::load::{line_of, ConfigError, Origin, Settings, Value};
use super::schema::{self, Owner, GROUP_TIMINGS};
use super::{CameraConfig, Config};

/// A value from the file and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

/// One `[[intersection.phases]]` entry as written.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseInput {
    pub name: String,
    pub groups: Vec<String>,
    pub origin: Origin,
}

/// A pair of groups said to conflict.
pub type ConflictPair = Located<(String, String)>;

/// The layout's parts as the file gives them, before they are checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayoutInput {
    pub groups: Option<Located<Vec<Located<String>>>>,
    pub phases: Option<Located<Vec<PhaseInput>>>,
    pub conflicts: Option<Located<Vec<ConflictPair>>>,
}

impl LayoutInput {
    fn is_given(&self) -> bool {
        self.groups.is_some() || self.phases.is_some() || self.conflicts.is_some()
    }

    /// The first of the parts given, for an error about the layout as a whole.
    fn first_given(&self) -> Option<(&'static str, &Origin)> {
        let groups = self
            .groups
            .as_ref()
            .map(|g| ("intersection.groups", &g.origin));
        let phases = self
            .phases
            .as_ref()
            .map(|p| ("intersection.phases", &p.origin));
        let conflicts = self
            .conflicts
            .as_ref()
            .map(|c| ("intersection.conflicts", &c.origin));
        groups.or(phases).or(conflicts)
    }
}

/// Where a layout came from.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutSource {
    /// `intersection.builtin` (its name).
    Builtin(String),
    /// `[intersection]` in this file.
    File(PathBuf),
    /// A SUMO network's traffic light.
    Sumo { net: PathBuf, light: String },
}

impl fmt::Display for LayoutSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutSource::Builtin(name) => write!(f, "the built-in {name} layout"),
            LayoutSource::File(path) => write!(f, "[intersection] in {}", path.display()),
            LayoutSource::Sumo { net, light } => {
                write!(f, "traffic light {light} of {}", net.display())
            }
        }
    }
}

/// The intersection the controller runs: its layout, each group's timings, and where it came
/// from.
#[derive(Debug, Clone)]
pub struct Layout {
    pub intersection: Intersection,
    pub timings: GroupTimings,
    pub source: LayoutSource,
}

impl Layout {
    /// The original's two approaches with `[signal]`'s timings.
    pub fn two_approach(timings: Timings) -> Layout {
        let intersection = Intersection::two_approach();
        let timings = GroupTimings::uniform(&intersection, GroupTiming::new(timings))
            .unwrap_or_else(|_| {
                // Only reached with timings the configuration refused (and reported): the
                // defaults stand in, as for every refused value.
                GroupTimings::uniform(&intersection, GroupTiming::new(Timings::default()))
                    .expect("the default timings are valid")
            });
        Layout {
            intersection,
            timings,
            source: LayoutSource::Builtin("two-approach".into()),
        }
    }

    /// Whether this is the original's layout (approaches A and B, cameras a and b).
    pub fn is_two_approach(&self) -> bool {
        self.source == LayoutSource::Builtin("two-approach".into())
    }

    pub fn group_names(&self) -> Vec<String> {
        self.intersection
            .groups()
            .iter()
            .map(|g| g.name().to_string())
            .collect()
    }

    /// The layout as `config check` shows it.
    pub fn describe(&self) -> String {
        let names = self.group_names();
        let mut out = format!("# from {}\n", self.source);
        let quoted: Vec<String> = names.iter().map(|g| format!("\"{g}\"")).collect();
        out.push_str(&format!("groups = [{}]\n", quoted.join(", ")));
        for phase in self.intersection.phases() {
            let groups: Vec<String> = phase
                .groups()
                .iter()
                .map(|g| format!("\"{}\"", names[g.index()]))
                .collect();
            out.push_str(&format!(
                "phases = {{ name = \"{}\", groups = [{}] }}\n",
                phase.name(),
                groups.join(", ")
            ));
        }
        let mut pairs = Vec::new();
        let ids: Vec<_> = self.intersection.group_ids().collect();
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                if self.intersection.conflicts(a, b) {
                    pairs.push(format!(
                        "[\"{}\", \"{}\"]",
                        names[a.index()],
                        names[b.index()]
                    ));
                }
            }
        }
        out.push_str(&format!("conflicts = [{}]\n", pairs.join(", ")));
        for (name, entry) in names.iter().zip(self.timings.entries()) {
            let t = &entry.timings;
            out.push_str(&format!(
                "timings.{name} = {{ min_green = {}, max_green = {}, passage = {}, yellow = {}, \
                 red_clearance = {}, recall = \"{}\" }}\n",
                t.min_green.as_secs_f64(),
                t.max_green.as_secs_f64(),
                t.passage.as_secs_f64(),
                t.yellow.as_secs_f64(),
                t.red_clearance.as_secs_f64(),
                entry.recall
            ));
        }
        out
    }
}

/// An error at `key`.
fn error(key: &str, origin: &Origin, value: Option<String>, message: String) -> ConfigError {
    ConfigError {
        key: Some(key.to_string()),
        origin: origin.clone(),
        value,
        message,
    }
}

/// Reads `[intersection]`'s `groups`, `phases` or `conflicts` (`key`) from the file's TOML
/// item into `input`, reporting every entry of the wrong shape with its line.
pub(super) fn read_item(
    key: &str,
    item: &toml_edit::Item,
    line: usize,
    text: &str,
    path: &Path,
    input: &mut LayoutInput,
    errors: &mut Vec<ConfigError>,
) {
    let at = |span: Option<std::ops::Range<usize>>| Origin::File {
        path: path.to_path_buf(),
        line: span.map_or(line, |s| line_of(text, s.start)),
    };
    let whole = at(None);
    let shown = |v: &toml_edit::Value| v.to_string().trim().to_string();
    let names = |value: &toml_edit::Value,
                 what: &str,
                 errors: &mut Vec<ConfigError>|
     -> Option<Vec<Located<String>>> {
        let Some(array) = value.as_array() else {
            errors.push(error(
                what,
                &at(value.span()),
                Some(shown(value)),
                "expected a list of signal group names, such as [\"north\", \"south\"]".into(),
            ));
            return None;
        };
        let mut out = Vec::new();
        for (i, v) in array.iter().enumerate() {
            match v.as_str() {
                Some(name) => out.push(Located {
                    value: name.trim().to_string(),
                    origin: at(v.span()),
                }),
                None => errors.push(error(
                    &format!("{what}[{}]", i + 1),
                    &at(v.span()),
                    Some(shown(v)),
                    "expected a signal group's name (a string)".into(),
                )),
            }
        }
        Some(out)
    };
    match key {
        "intersection.groups" => {
            let Some(value) = item.as_value() else {
                errors.push(error(
                    key,
                    &whole,
                    None,
                    "expected a list of signal group names, such as groups = [\"north\", \"south\"]"
                        .into(),
                ));
                return;
            };
            if let Some(groups) = names(value, key, errors) {
                input.groups = Some(Located {
                    value: groups,
                    origin: whole,
                });
            }
        }
        "intersection.phases" => {
            let tables: Vec<(&dyn toml_edit::TableLike, Origin)> = match item {
                toml_edit::Item::ArrayOfTables(array) => array
                    .iter()
                    .map(|t| (t as &dyn toml_edit::TableLike, at(t.span())))
                    .collect(),
                toml_edit::Item::Value(toml_edit::Value::Array(array)) => {
                    let mut tables = Vec::new();
                    for v in array.iter() {
                        match v.as_inline_table() {
                            Some(t) => tables.push((t as &dyn toml_edit::TableLike, at(v.span()))),
                            None => errors.push(error(
                                key,
                                &at(v.span()),
                                Some(shown(v)),
                                "expected a phase: { name = \"ns\", groups = [\"north\", \"south\"] }"
                                    .into(),
                            )),
                        }
                    }
                    tables
                }
                _ => {
                    errors.push(error(
                        key,
                        &whole,
                        None,
                        "expected [[intersection.phases]] tables, each with name and groups".into(),
                    ));
                    return;
                }
            };
            let mut phases = Vec::new();
            for (i, (table, origin)) in tables.into_iter().enumerate() {
                let entry = format!("intersection.phases[{}]", i + 1);
                for (k, _) in table.iter() {
                    if k != "name" && k != "groups" {
                        errors.push(error(
                            &format!("{entry}.{k}"),
                            &origin,
                            None,
                            "unknown key of a phase: expected name and groups".into(),
                        ));
                    }
                }
                let name = table.get("name").and_then(|n| n.as_str());
                if name.is_none() {
                    errors.push(error(
                        &format!("{entry}.name"),
                        &origin,
                        None,
                        "every phase needs a name (a string), such as name = \"ns\"".into(),
                    ));
                }
                let groups = match table.get("groups").and_then(|g| g.as_value()) {
                    Some(v) => names(v, &format!("{entry}.groups"), errors),
                    None => {
                        errors.push(error(
                            &format!("{entry}.groups"),
                            &origin,
                            None,
                            "every phase needs groups, the signal groups it greens, such as \
                             groups = [\"north\", \"south\"]"
                                .into(),
                        ));
                        None
                    }
                };
                if let (Some(name), Some(groups)) = (name, groups) {
                    phases.push(PhaseInput {
                        name: name.trim().to_string(),
                        groups: groups.into_iter().map(|g| g.value).collect(),
                        origin,
                    });
                }
            }
            input.phases = Some(Located {
                value: phases,
                origin: whole,
            });
        }
        "intersection.conflicts" => {
            let Some(array) = item.as_value().and_then(|v| v.as_array()) else {
                errors.push(error(
                    key,
                    &whole,
                    None,
                    "expected a list of pairs of signal groups, such as [[\"north\", \"east\"]]"
                        .into(),
                ));
                return;
            };
            let mut pairs = Vec::new();
            for (i, v) in array.iter().enumerate() {
                let pair: Option<Vec<&str>> = v
                    .as_array()
                    .and_then(|a| a.iter().map(|g| g.as_str()).collect());
                match pair.as_deref() {
                    Some([a, b]) => pairs.push(Located {
                        value: (a.trim().to_string(), b.trim().to_string()),
                        origin: at(v.span()),
                    }),
                    _ => errors.push(error(
                        &format!("{key}[{}]", i + 1),
                        &at(v.span()),
                        Some(shown(v)),
                        "expected a pair of signal group names, such as [\"north\", \"east\"]"
                            .into(),
                    )),
                }
            }
            input.conflicts = Some(Located {
                value: pairs,
                origin: whole,
            });
        }
        _ => {}
    }
}

/// A signal group's name goes into messages, topics and keys: letters, digits, `_`, `-`, `.`
/// and `#` (SUMO's edge ids), at most 64.
fn check_group_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.#".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "signal group name `{name}` is not valid: expected 1 to 64 letters, digits, '_', \
             '-', '.' or '#'"
        ))
    }
}

/// Builds the layout the configuration describes, reporting every problem in `errors`;
/// `None` when there was one (the caller fails the configuration).
pub(super) fn build(
    config: &Config,
    settings: &Settings,
    file: Option<&Path>,
    errors: &mut Vec<ConfigError>,
) -> Option<Layout> {
    let input = &settings.layout;
    let before = errors.len();
    let from_sumo = config.intersection.from_sumo.as_deref();
    let builtin_origin = settings.origin_or_default("intersection.builtin");
    // One way of giving the layout: name the others given with it.
    let mut given: Vec<(&str, Origin)> = Vec::new();
    if let Some((key, origin)) = input.first_given() {
        given.push((key, origin.clone()));
    }
    if from_sumo.is_some() {
        given.push((
            "intersection.from_sumo",
            settings.origin_or_default("intersection.from_sumo"),
        ));
    }
    if builtin_origin != Origin::Default {
        given.push(("intersection.builtin", builtin_origin));
    }
    if given.len() > 1 {
        let (first, first_origin) = &given[0];
        for (key, origin) in &given[1..] {
            errors.push(error(
                key,
                origin,
                None,
                format!(
                    "the layout is already given by {first} (from {first_origin}): use one of \
                     intersection.groups and phases, intersection.from_sumo or \
                     intersection.builtin"
                ),
            ));
        }
        return None;
    }
    let base = config.signal.timings();
    let (intersection, source, base) = if input.is_given() {
        let intersection = from_file(input, errors)?;
        let path = file.map_or_else(|| PathBuf::from("the configuration"), Path::to_path_buf);
        (intersection, LayoutSource::File(path), base)
    } else if let Some(text) = from_sumo {
        from_sumo_network(text, config, settings, errors)?
    } else {
        let intersection = match config.intersection.builtin.as_str() {
            "four-arm" => Intersection::four_arm_two_phase(),
            _ => Intersection::two_approach(),
        };
        let name = config.intersection.builtin.clone();
        (intersection, LayoutSource::Builtin(name), base)
    };
    let timings = group_timings(&intersection, base, &source, settings, errors)?;
    (errors.len() == before).then_some(Layout {
        intersection,
        timings,
        source,
    })
}

/// `[intersection]` groups, phases and conflicts, every problem located at its entry.
fn from_file(input: &LayoutInput, errors: &mut Vec<ConfigError>) -> Option<Intersection> {
    let (Some(groups), Some(phases)) = (&input.groups, &input.phases) else {
        let (key, origin) = input.first_given()?;
        let missing = if input.groups.is_none() {
            "intersection.groups"
        } else {
            "intersection.phases"
        };
        errors.push(error(
            key,
            origin,
            None,
            format!(
                "an intersection needs both groups = [...] and [[intersection.phases]]; \
                 {missing} is missing"
            ),
        ));
        return None;
    };
    let mut named_well = true;
    for g in &groups.value {
        if let Err(message) = check_group_name(&g.value) {
            errors.push(error(
                "intersection.groups",
                &g.origin,
                Some(format!("\"{}\"", g.value)),
                message,
            ));
            named_well = false;
        }
    }
    let spec = IntersectionSpec {
        groups: groups.value.iter().map(|g| g.value.clone()).collect(),
        phases: phases
            .value
            .iter()
            .map(|p| PhaseSpec {
                name: p.name.clone(),
                groups: p.groups.clone(),
            })
            .collect(),
        conflicts: match &input.conflicts {
            Some(pairs) => {
                ConflictSpec::Pairs(pairs.value.iter().map(|p| p.value.clone()).collect())
            }
            None => ConflictSpec::UnlessSharingAPhase,
        },
    };
    match Intersection::from_spec_all(&spec) {
        Ok(intersection) => named_well.then_some(intersection),
        Err(problems) => {
            for problem in problems {
                errors.push(locate(&problem, input));
            }
            None
        }
    }
}

/// A layout problem at the entry it is about.
fn locate(problem: &IntersectionError, input: &LayoutInput) -> ConfigError {
    let quoted = |s: &str| format!("\"{s}\"");
    let (key, origin, value) = match problem.entry() {
        SpecEntry::Groups => match &input.groups {
            Some(g) => ("intersection.groups".to_string(), g.origin.clone(), None),
            None => ("intersection.groups".to_string(), Origin::Default, None),
        },
        SpecEntry::Group(i) => match input.groups.as_ref().and_then(|g| g.value.get(i)) {
            Some(g) => (
                "intersection.groups".to_string(),
                g.origin.clone(),
                Some(quoted(&g.value)),
            ),
            None => ("intersection.groups".to_string(), Origin::Default, None),
        },
        SpecEntry::Phases => match &input.phases {
            Some(p) => ("intersection.phases".to_string(), p.origin.clone(), None),
            None => ("intersection.phases".to_string(), Origin::Default, None),
        },
        SpecEntry::Phase(i) => match input.phases.as_ref().and_then(|p| p.value.get(i)) {
            Some(p) => (
                format!("intersection.phases[{}]", i + 1),
                p.origin.clone(),
                Some(quoted(&p.name)),
            ),
            None => ("intersection.phases".to_string(), Origin::Default, None),
        },
        SpecEntry::Conflict(i) => match input.conflicts.as_ref().and_then(|c| c.value.get(i)) {
            Some(c) => (
                format!("intersection.conflicts[{}]", i + 1),
                c.origin.clone(),
                Some(format!("[\"{}\", \"{}\"]", c.value.0, c.value.1)),
            ),
            None => ("intersection.conflicts".to_string(), Origin::Default, None),
        },
    };
    ConfigError {
        key: Some(key),
        origin,
        value,
        message: problem.to_string(),
    }
}

/// `PATH.net.xml#TLS` (or a path alone) as (path, light).
fn split_sumo_reference(text: &str) -> (PathBuf, Option<String>) {
    match text.split_once(".xml#") {
        Some((path, light)) => (
            PathBuf::from(format!("{path}.xml")),
            Some(light.to_string()),
        ),
        None => (PathBuf::from(text), None),
    }
}

/// A SUMO traffic light's groups and phases, and its program's yellow and red clearance (a
/// `[signal]` yellow or red clearance set in the configuration wins over the program's).
fn from_sumo_network(
    text: &str,
    config: &Config,
    settings: &Settings,
    errors: &mut Vec<ConfigError>,
) -> Option<(Intersection, LayoutSource, Timings)> {
    use semaforo_sim::network::{self, NetworkError};
    let key = "intersection.from_sumo";
    let (net, light) = split_sumo_reference(text);
    let refuse = |errors: &mut Vec<ConfigError>, message: String| {
        errors.push(error(
            key,
            &settings.origin_or_default(key),
            Some(format!("\"{text}\"")),
            message,
        ));
    };
    let loaded = match network::load(&net, light.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            let message = match &e {
                NetworkError::UnknownLight { tls, ids, .. } => format!(
                    "{} has no traffic light {tls:?}; its traffic lights are: {}",
                    net.display(),
                    ids.join(", ")
                ),
                NetworkError::SeveralLights { ids, .. } => format!(
                    "{} has {} traffic lights: name one after '#', e.g. \"{}#{}\" (its traffic \
                     lights are: {})",
                    net.display(),
                    ids.len(),
                    net.display(),
                    ids.first().map_or("", String::as_str),
                    ids.join(", ")
                ),
                _ => error_chain(&e),
            };
            refuse(
                errors,
                format!("{message}; expected PATH.net.xml#TRAFFIC_LIGHT_ID"),
            );
            return None;
        }
    };
    let mut base = config.signal.timings();
    if settings.origin_or_default("signal.yellow") == Origin::Default {
        base.yellow = loaded.yellow;
    }
    if settings.origin_or_default("signal.red_clearance") == Origin::Default {
        base.red_clearance = loaded.red_clearance;
    }
    for g in loaded.intersection.groups() {
        if let Err(message) = check_group_name(g.name()) {
            refuse(errors, message);
            return None;
        }
    }
    let source = LayoutSource::Sumo {
        net,
        light: loaded.id.clone(),
    };
    Some((loaded.intersection, source, base))
}

/// An error and its sources, joined by `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// Each group's timings: `base`, with its `[intersection.timings.<group>]` values over it.
fn group_timings(
    intersection: &Intersection,
    base: Timings,
    source: &LayoutSource,
    settings: &Settings,
    errors: &mut Vec<ConfigError>,
) -> Option<GroupTimings> {
    let names: Vec<&str> = intersection.groups().iter().map(|g| g.name()).collect();
    // group -> (field -> (value, key)); a group of another intersection is reported once.
    let mut overrides: BTreeMap<&str, Vec<(&str, &Value, &str)>> = BTreeMap::new();
    let mut reported = Vec::new();
    for s in settings.iter() {
        let Some((spec, Some(Owner::Group(group)))) = schema::spec(&s.key) else {
            continue;
        };
        if !names.contains(&group) {
            if !reported.contains(&group) {
                reported.push(group);
                errors.push(error(
                    &s.key,
                    &s.origin,
                    None,
                    format!(
                        "`{group}` is not a signal group of this intersection ({source}): \
                         expected one of {}",
                        names.join(", ")
                    ),
                ));
            }
            continue;
        }
        let field = spec.key.rsplit('.').next().unwrap_or_default();
        overrides
            .entry(group)
            .or_default()
            .push((field, &s.value, &s.key));
    }
    let secs = |v: &Value| match v {
        Value::Float(f) => Duration::try_from_secs_f64(*f).ok(),
        Value::Int(i) => Some(Duration::from_secs(u64::try_from(*i).unwrap_or(0))),
        _ => None,
    };
    let sumo = matches!(source, LayoutSource::Sumo { .. });
    let mut entries = Vec::with_capacity(names.len());
    let mut ok = reported.is_empty();
    for name in &names {
        let mut timing = GroupTiming::new(base);
        let given = overrides.get(name).map(Vec::as_slice).unwrap_or_default();
        for (field, value, _) in given {
            let t = &mut timing.timings;
            match (*field, value) {
                ("recall", Value::Text(r)) => timing.recall = r.parse().unwrap_or(Recall::None),
                ("min_green", v) => t.min_green = secs(v).unwrap_or(t.min_green),
                ("max_green", v) => t.max_green = secs(v).unwrap_or(t.max_green),
                ("passage", v) => t.passage = secs(v).unwrap_or(t.passage),
                ("yellow", v) => t.yellow = secs(v).unwrap_or(t.yellow),
                ("red_clearance", v) => t.red_clearance = secs(v).unwrap_or(t.red_clearance),
                _ => {}
            }
        }
        // A group with nothing of its own has [signal]'s timings, whose rules are checked
        // (and reported) on [signal] itself; the program's clearance times are checked here.
        if !given.is_empty() || sumo {
            for problem in timing.problems(name) {
                let field = problem_field(&problem);
                let own = given.iter().find(|(f, _, _)| Some(*f) == field);
                let (key, value) = match own {
                    Some((_, value, key)) => (key.to_string(), Some(value.to_string())),
                    None if sumo && matches!(field, Some("yellow" | "red_clearance")) => {
                        ("intersection.from_sumo".to_string(), None)
                    }
                    None => (format!("{GROUP_TIMINGS}{name}"), None),
                };
                if settings.is_refused(&key) {
                    continue;
                }
                ok = false;
                errors.push(ConfigError {
                    key: Some(key.clone()),
                    origin: settings.origin_or_default(&key),
                    value,
                    message: problem.to_string(),
                });
            }
        }
        entries.push(timing);
    }
    if !ok {
        return None;
    }
    GroupTimings::new(intersection, entries).ok()
}

/// The field a timing problem is about.
fn problem_field(problem: &semaforo_signal::GroupTimingError) -> Option<&'static str> {
    use semaforo_signal::GroupTimingError as E;
    match problem {
        E::OutOfRange { field, .. } => Some(field),
        E::MinGreenNotBelowMaxGreen { .. } => Some("min_green"),
        _ => None,
    }
}

/// Which signal groups each camera watches: the groups its zones file's zones name, or, with
/// no zones file, the group of the camera's own name (camera `a` watches approach `A`).
/// Problems (an unreadable zones file, a zone naming no group, a camera watching nothing) are
/// reported with the camera's keys. Without a layout (its own problems are reported) the zones
/// files are still read, so their problems come in the same round.
pub(super) fn watched_groups(
    cameras: &BTreeMap<String, CameraConfig>,
    layout: Option<&Layout>,
    settings: &Settings,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, Vec<String>> {
    let groups = layout.map(Layout::group_names).unwrap_or_default();
    let mut watches = BTreeMap::new();
    for (camera, config) in cameras {
        let zones_key = format!("cameras.{camera}.zones");
        let watched = match &config.zones {
            Some(path) => {
                if settings.is_refused(&zones_key) {
                    continue;
                }
                let located = |message: String| {
                    error(
                        &zones_key,
                        &settings.origin_or_default(&zones_key),
                        Some(format!("\"{}\"", path.display())),
                        message,
                    )
                };
                let text = match std::fs::read_to_string(path) {
                    Ok(text) => text,
                    Err(e) => {
                        errors.push(located(format!("cannot read the zones file: {e}")));
                        continue;
                    }
                };
                let specs = match parse_zone_specs(&path.display().to_string(), &text) {
                    Ok(specs) => specs,
                    Err(e) => {
                        errors.push(located(e.to_string()));
                        continue;
                    }
                };
                let Some(layout) = layout else {
                    continue;
                };
                let mut watched: Vec<String> = Vec::new();
                for spec in &specs {
                    let Some(approach) = &spec.approach else {
                        continue;
                    };
                    if !groups.contains(approach) {
                        errors.push(located(format!(
                            "zone `{}` has approach = \"{approach}\", which names no signal \
                             group of this intersection ({}): expected one of {}",
                            spec.name,
                            layout.source,
                            groups.join(", ")
                        )));
                    } else if !watched.contains(approach) {
                        watched.push(approach.clone());
                    }
                }
                watched
            }
            None => match groups.iter().find(|g| g.eq_ignore_ascii_case(camera)) {
                Some(group) => vec![group.clone()],
                None if layout.is_none() => continue,
                None => {
                    let origin = settings
                        .iter()
                        .find(|s| {
                            s.key.starts_with(&format!("cameras.{camera}."))
                                && s.origin != Origin::Default
                        })
                        .map_or(Origin::Default, |s| s.origin.clone());
                    errors.push(error(
                        &format!("cameras.{camera}"),
                        &origin,
                        None,
                        format!(
                            "camera {camera} watches no signal group: give it a zones file \
                             ({zones_key}) whose zones' approach names the groups it watches, \
                             or name the camera after its group (one of {})",
                            groups.join(", ")
                        ),
                    ));
                    continue;
                }
            },
        };
        watches.insert(camera.clone(), watched);
    }
    watches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sumo_reference_splits_after_the_network_file() {
        assert_eq!(
            split_sumo_reference("nets/main#5.net.xml#J1"),
            (PathBuf::from("nets/main#5.net.xml"), Some("J1".into()))
        );
        assert_eq!(
            split_sumo_reference("a.net.xml"),
            (PathBuf::from("a.net.xml"), None)
        );
    }

    #[test]
    fn group_names_are_checked_for_messages_and_topics() {
        assert!(check_group_name("north-left").is_ok());
        assert!(check_group_name("-12345#2").is_ok());
        assert!(check_group_name("").is_err());
        assert!(check_group_name("north left").is_err());
        assert!(check_group_name("a/b").is_err());
    }
}
