//! A SUMO network's traffic light, read as semaforo's signal layout.
//!
//! SUMO describes a traffic light by its controlled links (each `<connection tl=… linkIndex=…>`)
//! and a program of phases, each a state string with one letter per link. semaforo thinks in
//! signal groups (heads that always show the same colour) and phases (groups green together).
//! The translation: links that come from the same incoming edge and show the same colour class
//! (green, yellow, red) in every phase of the program form one signal group; each distinct set of
//! groups that a green phase of the program greens is a phase. Yellow and red clearance times are
//! the program's own, so the comparison with SUMO's programs measures decisions, not timings.
//!
//! The same module writes the additional files a run needs: a lane-area (E2) detector on every
//! incoming lane (semaforo's camera zones), and the static or actuated program of the baselines.
//!
//! Real networks often end an approach in a stub a metre long in front of the stop line (where
//! a lane is added, or where the mapper split the road). A camera's zone does not stop there: it
//! covers the road as far back as the zone reaches. So does the detector: where the incoming
//! lane is shorter than the zone, it continues over the lanes that feed it (SUMO's multi-lane
//! E2, `lanes="up … stub"`), up to the zone length or the lanes behind another traffic light.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_signal::{
    ConflictSpec, HeadState, Intersection, IntersectionError, IntersectionSpec, PhaseId, PhaseSpec,
};

/// Default length of the lane-area detectors, from the stop line back (a camera's stop-line
/// zone, about eight queued cars); a shorter lane is covered whole. Measured: 60 m gave lower
/// delay than 30 m (queues longer than the zone go unseen) and than 100 m (vehicles still far
/// from the stop line hold the green) on every shipped scenario but one.
pub const DETECTOR_LENGTH_M: f64 = 60.0;

/// How SUMO runs a baseline program: as it is, or under one of its own adaptive controllers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProgramKind {
    /// Fixed time, the network's phases and durations.
    Static,
    /// SUMO's actuated controller: greens from min to max, ended on a gap at its own loop
    /// detectors.
    Actuated,
    /// SUMO's delay-based controller: greens from min to max, extended while a vehicle within
    /// `detector_range_m` of the stop line has lost time (its own lane-area detectors, as long
    /// as semaforo's zones).
    DelayBased {
        /// How far back its detectors reach, m.
        detector_range_m: f64,
    },
}

/// How far upstream a detection zone may continue (the longest `--zone-length`).
pub const MAX_UPSTREAM_M: f64 = 1000.0;

/// A network whose traffic light cannot be read or run. Each names the network file, and the
/// traffic light, element or attribute concerned.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The file could not be read.
    #[error("cannot read the network {}", .file.display())]
    Read {
        /// The network file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not XML.
    #[error("{} is not valid XML", .file.display())]
    Xml {
        /// The network file.
        file: PathBuf,
        /// Where and why.
        source: roxmltree::Error,
    },
    /// A traffic light was asked for, and the network has none.
    #[error("--tls {tls}: the network {} has no traffic light", .file.display())]
    AskedForLightInNetworkWithout {
        /// The traffic light asked for.
        tls: String,
        /// The network file.
        file: PathBuf,
    },
    /// The traffic light asked for is not in the network.
    #[error(
        "--tls {tls}: the network {} has no traffic light {tls:?}; its traffic lights are: {}",
        .file.display(),
        .ids.join(", ")
    )]
    UnknownLight {
        /// The traffic light asked for.
        tls: String,
        /// The network file.
        file: PathBuf,
        /// The traffic lights it has.
        ids: Vec<String>,
    },
    /// The network has no traffic light.
    #[error(
        "the network {} has no traffic light (no <tlLogic>); semaforo needs one to drive",
        .file.display()
    )]
    NoLight {
        /// The network file.
        file: PathBuf,
    },
    /// The network has several traffic lights and none was chosen.
    #[error(
        "the network {} has {} traffic lights; choose one with --tls ID: {} (or several, \
         --tls ID,ID, or every one, --tls all)",
        .file.display(),
        .ids.len(),
        .ids.join(", ")
    )]
    SeveralLights {
        /// The network file.
        file: PathBuf,
        /// Its traffic lights.
        ids: Vec<String>,
    },
    /// An element lacks an attribute.
    #[error("{}: <{element}> at byte {byte} has no {attribute} attribute", .file.display())]
    MissingAttribute {
        /// The network file.
        file: PathBuf,
        /// The element's tag.
        element: String,
        /// Where the element starts in the file.
        byte: usize,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute is not a finite number.
    #[error("{}: <{element}> {attribute}=\"{value}\" is not a number", .file.display())]
    NotANumber {
        /// The network file.
        file: PathBuf,
        /// The element's tag.
        element: String,
        /// The attribute.
        attribute: &'static str,
        /// Its text.
        value: String,
    },
    /// The traffic light has no program.
    #[error("{}: no <tlLogic id=\"{light}\">", .file.display())]
    NoProgram {
        /// The network file.
        file: PathBuf,
        /// The traffic light.
        light: String,
    },
    /// The traffic light's program has no phase, or its phases control no link.
    #[error("{}: traffic light {light:?} has no phases or controls no link", .file.display())]
    NoLinks {
        /// The network file.
        file: PathBuf,
        /// The traffic light.
        light: String,
    },
    /// The program's phases have state strings of different lengths.
    #[error(
        "{}: traffic light {light:?} has phases of different lengths ({state:?} vs {links} links)",
        .file.display()
    )]
    UnevenPhases {
        /// The network file.
        file: PathBuf,
        /// The traffic light.
        light: String,
        /// The phase state that differs from the first.
        state: String,
        /// Links in the first phase.
        links: usize,
    },
    /// A connection names a link the traffic light does not have.
    #[error(
        "{}: a connection from {from} has linkIndex {index}; traffic light {light:?} has {links} links",
        .file.display()
    )]
    LinkOutOfRange {
        /// The network file.
        file: PathBuf,
        /// The connection's incoming edge.
        from: String,
        /// Its `linkIndex`.
        index: f64,
        /// The traffic light.
        light: String,
        /// Links the traffic light controls.
        links: usize,
    },
    /// No link from a lane is ever green.
    #[error("{}: traffic light {light:?} greens no link that comes from a lane", .file.display())]
    NoGreenLink {
        /// The network file.
        file: PathBuf,
        /// The traffic light.
        light: String,
    },
    /// A lane feeding the traffic light is not in the network.
    #[error("{}: lane {lane} (feeding traffic light {light:?}) is not defined", .file.display())]
    UndefinedLane {
        /// The network file.
        file: PathBuf,
        /// The lane.
        lane: String,
        /// The traffic light.
        light: String,
    },
    /// The groups and phases read from the program are not a valid intersection.
    #[error(transparent)]
    Layout(Box<LayoutError>),
}

/// A traffic light whose program, read as signal groups and phases, is not an intersection
/// semaforo can run.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: traffic light {light:?} (program {program}) cannot be run as signal groups {groups:?} \
     and phases {phases:?}",
    .file.display()
)]
pub struct LayoutError {
    /// The network file.
    pub file: PathBuf,
    /// The traffic light.
    pub light: String,
    /// The program's phase states, space-separated.
    pub program: String,
    /// The signal groups read.
    pub groups: Vec<String>,
    /// The phases read.
    pub phases: Vec<String>,
    /// Why they cannot be run.
    pub source: IntersectionError,
}

/// One phase of a SUMO signal program.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramPhase {
    /// Seconds.
    pub duration: f64,
    /// One letter per link.
    pub state: String,
    /// Actuated minimum duration, when given.
    pub min_dur: Option<f64>,
    /// Actuated maximum duration, when given.
    pub max_dur: Option<f64>,
}

/// A traffic light as semaforo drives it.
#[derive(Debug, Clone)]
pub struct TrafficLight {
    /// SUMO's id of the traffic light.
    pub id: String,
    /// Its program, as the network defines it.
    pub program: Vec<ProgramPhase>,
    /// The layout: groups, phases, conflicts.
    pub intersection: Intersection,
    /// For each link index, its signal group (`None`: the program never greens it).
    pub link_group: Vec<Option<usize>>,
    /// For each semaforo phase, the program's state string of that green (whose `G`/`g` say
    /// which links have priority and which must yield).
    pub phase_states: Vec<String>,
    /// Incoming lanes feeding each group, with their lengths (m).
    pub group_lanes: Vec<Vec<String>>,
    /// Every incoming lane of the traffic light, with its length (m).
    pub incoming_lanes: Vec<(String, f64)>,
    /// For each incoming lane, the lanes upstream of it that a detection zone may continue
    /// over, nearest first, with their lengths (m): one feeding lane after the other (the
    /// straight one where several feed a lane), up to [`MAX_UPSTREAM_M`] and stopping at a lane
    /// that reaches it through another traffic light or that is already on the chain.
    pub upstream: Vec<Vec<(String, f64)>>,
    /// The program's yellow time (its longest yellow phase).
    pub yellow: Duration,
    /// The program's red clearance (its longest all-red phase; zero when it has none).
    pub red_clearance: Duration,
    /// The program's own minimum and maximum green, where it is actuated.
    pub min_max_green: Option<(Duration, Duration)>,
}

fn colour(c: char) -> char {
    match c {
        'G' | 'g' | 's' => 'G',
        'y' | 'Y' | 'u' => 'y',
        _ => 'r',
    }
}

fn is_green_phase(state: &str) -> bool {
    state.chars().any(|c| colour(c) == 'G') && !state.chars().any(|c| colour(c) == 'y')
}

fn attr<'a>(
    node: roxmltree::Node<'a, '_>,
    attribute: &'static str,
    file: &Path,
) -> Result<&'a str, NetworkError> {
    node.attribute(attribute)
        .ok_or_else(|| NetworkError::MissingAttribute {
            file: file.to_path_buf(),
            element: node.tag_name().name().to_string(),
            byte: node.range().start,
            attribute,
        })
}

fn number(
    node: roxmltree::Node<'_, '_>,
    attribute: &'static str,
    file: &Path,
) -> Result<f64, NetworkError> {
    let text = attr(node, attribute, file)?;
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| NetworkError::NotANumber {
            file: file.to_path_buf(),
            element: node.tag_name().name().to_string(),
            attribute,
            value: text.to_string(),
        })
}

/// The ids of the traffic lights in a network file.
pub fn traffic_light_ids(doc: &roxmltree::Document<'_>) -> Vec<String> {
    let mut ids: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tlLogic"))
        .filter_map(|n| n.attribute("id").map(str::to_string))
        .collect();
    ids.dedup();
    ids
}

/// The text of a network file.
fn read(net_file: &Path) -> Result<String, NetworkError> {
    std::fs::read_to_string(net_file).map_err(|source| NetworkError::Read {
        file: net_file.to_path_buf(),
        source,
    })
}

/// A network file's text as an XML document.
fn parse<'t>(text: &'t str, net_file: &Path) -> Result<roxmltree::Document<'t>, NetworkError> {
    roxmltree::Document::parse(text).map_err(|source| NetworkError::Xml {
        file: net_file.to_path_buf(),
        source,
    })
}

/// Reads `net_file` and builds the layout of traffic light `tls`, or of its only traffic light.
pub fn load(net_file: &Path, tls: Option<&str>) -> Result<TrafficLight, NetworkError> {
    let text = read(net_file)?;
    let doc = parse(&text, net_file)?;
    let ids = traffic_light_ids(&doc);
    let id = select_one(tls, &ids, net_file)?;
    from_document(&doc, &id, net_file)
}

/// Reads `net_file` and builds the layouts of the traffic lights `tls` selects: one id, several
/// (`J1,J4`), `all`, or (`None`) the network's only one.
pub fn load_selected(
    net_file: &Path,
    tls: Option<&str>,
) -> Result<Vec<TrafficLight>, NetworkError> {
    let file = net_file.to_path_buf();
    let text = read(net_file)?;
    let doc = parse(&text, net_file)?;
    let ids = traffic_light_ids(&doc);
    let chosen: Vec<String> = match tls.map(str::trim) {
        Some("all") if ids.is_empty() => return Err(NetworkError::NoLight { file }),
        Some("all") => ids.clone(),
        Some(list) if list.contains(',') => {
            let mut chosen: Vec<String> = Vec::new();
            for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let id = select_one(Some(t), &ids, net_file)?;
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            chosen
        }
        one => vec![select_one(one, &ids, net_file)?],
    };
    chosen
        .iter()
        .map(|id| from_document(&doc, id, net_file))
        .collect()
}

/// The id `tls` names among `ids`, or the only one when `tls` is `None`.
fn select_one(tls: Option<&str>, ids: &[String], net_file: &Path) -> Result<String, NetworkError> {
    let file = net_file.to_path_buf();
    let ids = ids.to_vec();
    let id = match (tls, ids.as_slice()) {
        (Some(t), _) if ids.iter().any(|i| i == t) => t.to_string(),
        (Some(t), []) => {
            return Err(NetworkError::AskedForLightInNetworkWithout {
                tls: t.to_string(),
                file,
            })
        }
        (Some(t), _) => {
            return Err(NetworkError::UnknownLight {
                tls: t.to_string(),
                file,
                ids,
            })
        }
        (None, []) => return Err(NetworkError::NoLight { file }),
        (None, [only]) => only.clone(),
        (None, _) => return Err(NetworkError::SeveralLights { file, ids }),
    };
    Ok(id)
}

fn from_document(
    doc: &roxmltree::Document<'_>,
    id: &str,
    file: &Path,
) -> Result<TrafficLight, NetworkError> {
    let light = || id.to_string();
    // The program: the first <tlLogic> with this id (traffic_light_ids found it; netconvert
    // writes one).
    let Some(logic) = doc
        .descendants()
        .find(|n| n.has_tag_name("tlLogic") && n.attribute("id") == Some(id))
    else {
        return Err(NetworkError::NoProgram {
            file: file.to_path_buf(),
            light: light(),
        });
    };
    let mut program = Vec::new();
    for p in logic.children().filter(|n| n.has_tag_name("phase")) {
        let opt = |name: &'static str| -> Result<Option<f64>, NetworkError> {
            match p.attribute(name) {
                Some(_) => Ok(Some(number(p, name, file)?)),
                None => Ok(None),
            }
        };
        program.push(ProgramPhase {
            duration: number(p, "duration", file)?,
            state: attr(p, "state", file)?.to_string(),
            min_dur: opt("minDur")?,
            max_dur: opt("maxDur")?,
        });
    }
    let links = program.first().map_or(0, |p| p.state.chars().count());
    if links == 0 {
        return Err(NetworkError::NoLinks {
            file: file.to_path_buf(),
            light: light(),
        });
    }
    if let Some(p) = program.iter().find(|p| p.state.chars().count() != links) {
        return Err(NetworkError::UnevenPhases {
            file: file.to_path_buf(),
            light: light(),
            state: p.state.clone(),
            links,
        });
    }

    // Lane lengths.
    let mut lane_length = BTreeMap::new();
    for lane in doc.descendants().filter(|n| n.has_tag_name("lane")) {
        if let (Some(lid), Some(len)) = (lane.attribute("id"), lane.attribute("length")) {
            if let Ok(len) = len.parse::<f64>() {
                lane_length.insert(lid.to_string(), len);
            }
        }
    }

    // Each link's incoming lane.
    let mut link_lane: Vec<Option<(String, String)>> = vec![None; links];
    for c in doc
        .descendants()
        .filter(|n| n.has_tag_name("connection") && n.attribute("tl") == Some(id))
    {
        let index = number(c, "linkIndex", file)?;
        let from = attr(c, "from", file)?;
        let lane = format!("{from}_{}", attr(c, "fromLane", file)?);
        let i = index as usize;
        if index < 0.0 || i >= links {
            return Err(NetworkError::LinkOutOfRange {
                file: file.to_path_buf(),
                from: from.to_string(),
                index,
                light: light(),
                links,
            });
        }
        link_lane[i] = Some((from.to_string(), lane));
    }

    // Signal groups: same incoming edge, same colour in every phase.
    let signature = |i: usize| -> String {
        program
            .iter()
            .map(|p| colour(p.state.chars().nth(i).unwrap_or('r')))
            .collect()
    };
    let mut groups: Vec<(String, String)> = Vec::new(); // (edge, signature)
    let mut link_group = vec![None; links];
    for (i, lane) in link_lane.iter().enumerate() {
        let sig = signature(i);
        let Some((edge, _)) = lane else { continue };
        if !sig.contains('G') {
            continue;
        }
        let key = (edge.clone(), sig);
        let g = match groups.iter().position(|k| *k == key) {
            Some(g) => g,
            None => {
                groups.push(key);
                groups.len() - 1
            }
        };
        link_group[i] = Some(g);
    }
    if groups.is_empty() {
        return Err(NetworkError::NoGreenLink {
            file: file.to_path_buf(),
            light: light(),
        });
    }
    let mut names: Vec<String> = groups.iter().map(|(edge, _)| edge.clone()).collect();
    for g in 0..names.len() {
        if names.iter().filter(|n| **n == groups[g].0).count() > 1 {
            let first = link_group.iter().position(|&x| x == Some(g)).unwrap_or(g);
            names[g] = format!("{}#{first}", groups[g].0);
        }
    }
    let mut group_lanes = vec![Vec::new(); groups.len()];
    let mut incoming = Vec::new();
    for (i, lane) in link_lane.iter().enumerate() {
        if let (Some(g), Some((_, lane))) = (link_group[i], lane) {
            if !group_lanes[g].contains(lane) {
                group_lanes[g].push(lane.clone());
            }
            if !incoming.iter().any(|(l, _)| l == lane) {
                let len =
                    lane_length
                        .get(lane)
                        .copied()
                        .ok_or_else(|| NetworkError::UndefinedLane {
                            file: file.to_path_buf(),
                            lane: lane.clone(),
                            light: light(),
                        })?;
                incoming.push((lane.clone(), len));
            }
        }
    }

    let upstream = incoming
        .iter()
        .map(|(lane, len)| upstream_chain(doc, &lane_length, lane, *len))
        .collect();

    // Phases: the distinct sets of groups the program's green phases green.
    let mut phases: Vec<(Vec<usize>, String)> = Vec::new();
    for p in program.iter().filter(|p| is_green_phase(&p.state)) {
        let mut set: Vec<usize> = p
            .state
            .chars()
            .enumerate()
            .filter(|(_, c)| colour(*c) == 'G')
            .filter_map(|(i, _)| link_group[i])
            .collect();
        set.sort_unstable();
        set.dedup();
        if !set.is_empty() && !phases.iter().any(|(s, _)| *s == set) {
            phases.push((set, p.state.clone()));
        }
    }
    let spec = IntersectionSpec {
        groups: names.clone(),
        phases: phases
            .iter()
            .map(|(set, _)| PhaseSpec {
                name: set
                    .iter()
                    .map(|&g| names[g].as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
                groups: set.iter().map(|&g| names[g].clone()).collect(),
            })
            .collect(),
        conflicts: ConflictSpec::UnlessSharingAPhase,
    };
    let intersection = Intersection::from_spec(&spec).map_err(|source| {
        NetworkError::Layout(Box::new(LayoutError {
            file: file.to_path_buf(),
            light: light(),
            program: program
                .iter()
                .map(|p| p.state.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            groups: names.clone(),
            phases: spec.phases.iter().map(|p| p.name.clone()).collect(),
            source,
        }))
    })?;

    let longest = |keep: &dyn Fn(&str) -> bool| -> Duration {
        let secs = program
            .iter()
            .filter(|p| keep(&p.state))
            .map(|p| p.duration)
            .fold(0.0, f64::max);
        Duration::from_secs_f64(secs.max(0.0))
    };
    let yellow = longest(&|s: &str| s.chars().any(|c| colour(c) == 'y'));
    let red_clearance = longest(&|s: &str| s.chars().all(|c| colour(c) == 'r'));
    let greens: Vec<&ProgramPhase> = program
        .iter()
        .filter(|p| is_green_phase(&p.state))
        .collect();
    let min_max_green = {
        let mins: Vec<f64> = greens.iter().filter_map(|p| p.min_dur).collect();
        let maxs: Vec<f64> = greens.iter().filter_map(|p| p.max_dur).collect();
        if mins.is_empty() || maxs.is_empty() {
            None
        } else {
            Some((
                Duration::from_secs_f64(mins.iter().copied().fold(f64::MAX, f64::min).max(0.0)),
                Duration::from_secs_f64(maxs.iter().copied().fold(0.0, f64::max)),
            ))
        }
    };
    Ok(TrafficLight {
        id: id.to_string(),
        program,
        intersection,
        link_group,
        phase_states: phases.into_iter().map(|(_, s)| s).collect(),
        group_lanes,
        incoming_lanes: incoming,
        upstream,
        yellow,
        red_clearance,
        min_max_green,
    })
}

/// The lanes feeding `lane` one after the other, nearest first (see
/// [`TrafficLight::upstream`]); `covered` is what the zone already has (the lane's length).
fn upstream_chain(
    doc: &roxmltree::Document<'_>,
    lane_length: &BTreeMap<String, f64>,
    lane: &str,
    covered: f64,
) -> Vec<(String, f64)> {
    let mut chain: Vec<(String, f64)> = Vec::new();
    let mut covered = covered;
    let mut current = lane.to_string();
    while covered < MAX_UPSTREAM_M {
        let Some((edge, index)) = current.rsplit_once('_') else {
            break;
        };
        // (feeding lane, straight, through a traffic light)
        let feeders: Vec<(String, bool, bool)> = doc
            .descendants()
            .filter(|c| {
                c.has_tag_name("connection")
                    && c.attribute("to") == Some(edge)
                    && c.attribute("toLane") == Some(index)
                    && c.attribute("from").is_some_and(|f| !f.starts_with(':'))
            })
            .filter_map(|c| {
                let from = c.attribute("from")?;
                let from_lane = c.attribute("fromLane")?;
                Some((
                    format!("{from}_{from_lane}"),
                    c.attribute("dir") == Some("s"),
                    c.attribute("tl").is_some(),
                ))
            })
            .collect();
        let Some((next, _, behind_light)) = feeders
            .iter()
            .find(|f| f.1)
            .or_else(|| feeders.first())
            .cloned()
        else {
            break;
        };
        if behind_light || next == lane || chain.iter().any(|(l, _)| *l == next) {
            break;
        }
        let Some(&len) = lane_length.get(&next) else {
            break;
        };
        chain.push((next.clone(), len));
        covered += len;
        current = next;
    }
    chain
}

impl TrafficLight {
    /// The detector id on `lane`.
    pub fn detector_id(lane: &str) -> String {
        format!("semaforo_e2_{lane}")
    }

    /// The additional file of lane-area detectors: one per incoming lane, ending at the stop
    /// line, `zone_m` long; on a lane shorter than that, continued over the lanes upstream of
    /// it ([`TrafficLight::upstream`]) as far as they reach.
    pub fn detectors_xml(&self, zone_m: f64) -> String {
        let mut out = String::from("<additional>\n");
        for (k, (lane, len)) in self.incoming_lanes.iter().enumerate() {
            let upstream = self.upstream.get(k).map_or(&[][..], Vec::as_slice);
            if *len < zone_m && !upstream.is_empty() {
                // Upstream first, in driving order; the zone starts `pos` into the first lane.
                let mut lanes = vec![lane.as_str()];
                let mut remaining = zone_m - len;
                let mut pos = 0.0;
                for (up, up_len) in upstream {
                    lanes.push(up);
                    if *up_len >= remaining {
                        pos = up_len - remaining;
                        break;
                    }
                    remaining -= up_len;
                }
                lanes.reverse();
                let _ = writeln!(
                    out,
                    "    <laneAreaDetector id=\"{}\" lanes=\"{}\" pos=\"{:.2}\" endPos=\"{:.2}\" \
                     freq=\"86400\" file=\"NUL\" friendlyPos=\"true\"/>",
                    xml_escape(&Self::detector_id(lane)),
                    xml_escape(&lanes.join(" ")),
                    pos,
                    len
                );
                continue;
            }
            let length = zone_m.min((len - 0.1).max(0.1));
            let _ = writeln!(
                out,
                "    <laneAreaDetector id=\"{}\" lane=\"{}\" endPos=\"{:.2}\" length=\"{:.2}\" \
                 freq=\"86400\" file=\"NUL\" friendlyPos=\"true\"/>",
                xml_escape(&Self::detector_id(lane)),
                xml_escape(lane),
                len,
                length
            );
        }
        out.push_str("</additional>\n");
        out
    }

    /// The additional file that runs the network's program as a static (fixed-time) or an
    /// actuated program. Loaded after the network, it becomes the active program. Actuated
    /// greens last from `min_green` to `max_green` and gap out after `passage`, like semaforo's.
    pub fn program_xml(
        &self,
        kind: ProgramKind,
        min_green: Duration,
        max_green: Duration,
        passage: Duration,
    ) -> String {
        self.program_xml_by_phase(kind, &|_| (min_green, max_green), passage)
    }

    /// [`program_xml`](Self::program_xml) with each green's min and max green from `greens`,
    /// given the phase (of [`TrafficLight::intersection`]) that the green shows, if any
    /// ([`TrafficLight::phase_of_state`]).
    pub fn program_xml_by_phase(
        &self,
        kind: ProgramKind,
        greens: &dyn Fn(Option<PhaseId>) -> (Duration, Duration),
        passage: Duration,
    ) -> String {
        let (type_name, program_id) = match kind {
            ProgramKind::Static => ("static", "semaforo-static"),
            ProgramKind::Actuated => ("actuated", "semaforo-actuated"),
            ProgramKind::DelayBased { .. } => ("delay_based", "semaforo-delay-based"),
        };
        let actuated = kind != ProgramKind::Static;
        let mut out = format!(
            "<additional>\n    <tlLogic id=\"{}\" type=\"{type_name}\" programID=\"{program_id}\" offset=\"0\">\n",
            xml_escape(&self.id)
        );
        match kind {
            ProgramKind::Static => {}
            ProgramKind::Actuated => {
                let _ = writeln!(
                    out,
                    "        <param key=\"max-gap\" value=\"{:.1}\"/>",
                    passage.as_secs_f64()
                );
            }
            ProgramKind::DelayBased { detector_range_m } => {
                let _ = writeln!(
                    out,
                    "        <param key=\"detectorRange\" value=\"{detector_range_m:.1}\"/>"
                );
            }
        }
        for p in &self.program {
            if actuated && is_green_phase(&p.state) {
                let (min_green, max_green) = greens(self.phase_of_state(&p.state));
                let _ = writeln!(
                    out,
                    "        <phase duration=\"{:.1}\" minDur=\"{:.1}\" maxDur=\"{:.1}\" state=\"{}\"/>",
                    p.duration.clamp(min_green.as_secs_f64(), max_green.as_secs_f64()),
                    min_green.as_secs_f64(),
                    max_green.as_secs_f64(),
                    p.state
                );
            } else {
                let _ = writeln!(
                    out,
                    "        <phase duration=\"{:.1}\" state=\"{}\"/>",
                    p.duration, p.state
                );
            }
        }
        out.push_str("    </tlLogic>\n</additional>\n");
        out
    }

    /// The phase a green state string of the program shows: the one whose groups it greens
    /// (`None` for a yellow or all-red state, or one that greens no group).
    pub fn phase_of_state(&self, state: &str) -> Option<PhaseId> {
        if !is_green_phase(state) {
            return None;
        }
        let mut green: Vec<usize> = state
            .chars()
            .enumerate()
            .filter(|(_, c)| colour(*c) == 'G')
            .filter_map(|(i, _)| self.link_group.get(i).copied().flatten())
            .collect();
        green.sort_unstable();
        green.dedup();
        self.intersection.phase_ids().find(|&p| {
            self.intersection
                .phase(p)
                .groups()
                .iter()
                .map(|g| g.index())
                .eq(green.iter().copied())
        })
    }

    /// The state string for SUMO from semaforo's heads, while `phase` is green or being cleared.
    /// A green link takes the letter the program gives it in that phase (`G` priority or `g`
    /// yield), so permissive turns still yield as the network intends.
    pub fn state_string(&self, heads: &[HeadState], phase: Option<PhaseId>, out: &mut String) {
        out.clear();
        let phase_state = phase.and_then(|p| self.phase_states.get(p.index()));
        for (i, g) in self.link_group.iter().enumerate() {
            let head = g
                .and_then(|g| heads.get(g).copied())
                .unwrap_or(HeadState::Red);
            let c = match head {
                HeadState::Green => match phase_state.and_then(|s| s.chars().nth(i)) {
                    Some('g') => 'g',
                    _ => 'G',
                },
                other => other.sumo_char(),
            };
            out.push(c);
        }
    }

    /// The heads a SUMO state string shows, one per group (a group shows its links' colour;
    /// its links always agree in the network's own programs).
    pub fn heads_of(&self, state: &str, out: &mut Vec<HeadState>) {
        out.clear();
        out.resize(self.intersection.groups().len(), HeadState::Red);
        for (i, c) in state.chars().enumerate() {
            if let Some(Some(g)) = self.link_group.get(i) {
                out[*g] = match colour(c) {
                    'G' => HeadState::Green,
                    'y' => HeadState::Yellow,
                    _ => HeadState::Red,
                };
            }
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: &str = r#"<net>
        <edge id="A"><lane id="A_0" length="200.0"/></edge>
        <edge id="B"><lane id="B_0" length="50.0"/></edge>
        <tlLogic id="C" type="static" programID="0" offset="0">
            <phase duration="42" state="GGrr"/>
            <phase duration="3" state="yyrr"/>
            <phase duration="2" state="rrrr"/>
            <phase duration="42" state="rrGg"/>
            <phase duration="3" state="rryy"/>
        </tlLogic>
        <connection from="A" to="X" fromLane="0" toLane="0" tl="C" linkIndex="0"/>
        <connection from="A" to="Y" fromLane="0" toLane="0" tl="C" linkIndex="1"/>
        <connection from="B" to="X" fromLane="0" toLane="0" tl="C" linkIndex="2"/>
        <connection from="B" to="Y" fromLane="0" toLane="0" tl="C" linkIndex="3"/>
    </net>"#;

    fn light() -> TrafficLight {
        let doc = roxmltree::Document::parse(NET).unwrap();
        from_document(&doc, "C", Path::new("test.net.xml")).unwrap()
    }

    #[test]
    fn links_from_one_edge_with_one_colour_pattern_form_a_group() {
        let t = light();
        let names: Vec<_> = t.intersection.groups().iter().map(|g| g.name()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(t.link_group, [Some(0), Some(0), Some(1), Some(1)]);
        assert_eq!(t.intersection.phases().len(), 2);
        assert_eq!(t.yellow, Duration::from_secs(3));
        assert_eq!(t.red_clearance, Duration::from_secs(2));
        assert_eq!(
            t.incoming_lanes,
            [("A_0".into(), 200.0), ("B_0".into(), 50.0)]
        );
    }

    #[test]
    fn heads_map_to_links_keeping_the_programs_yield_letters() {
        let t = light();
        let mut s = String::new();
        let heads = [HeadState::Red, HeadState::Green];
        let b = t.intersection.phase_ids().nth(1);
        t.state_string(&heads, b, &mut s);
        assert_eq!(s, "rrGg");
        t.state_string(&[HeadState::Yellow, HeadState::Red], None, &mut s);
        assert_eq!(s, "yyrr");
        let mut heads = Vec::new();
        t.heads_of("rryy", &mut heads);
        assert_eq!(heads, [HeadState::Red, HeadState::Yellow]);
    }

    #[test]
    fn several_traffic_lights_without_tls_is_an_error_listing_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.net.xml");
        let two = NET.replace(
            "</net>",
            "<tlLogic id=\"D\"><phase duration=\"1\" state=\"G\"/></tlLogic></net>",
        );
        std::fs::write(&path, two).unwrap();
        let e = load(&path, None).unwrap_err().to_string();
        assert!(
            e.contains("has 2 traffic lights; choose one with --tls ID: C, D"),
            "{e}"
        );
        let e = load(&path, Some("Z")).unwrap_err().to_string();
        assert!(
            e.contains("no traffic light \"Z\"; its traffic lights are: C, D"),
            "{e}"
        );
    }

    #[test]
    fn tls_selects_one_several_or_all_lights_and_names_an_unknown_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.net.xml");
        let second = NET
            .split("<tlLogic")
            .nth(1)
            .and_then(|t| t.split("</tlLogic>").next())
            .unwrap()
            .replacen("id=\"C\"", "id=\"D\"", 1);
        let connections: String = NET
            .lines()
            .filter(|l| l.contains("tl=\"C\""))
            .map(|l| {
                l.replace("tl=\"C\"", "tl=\"D\"")
                    .replace("from=\"", "from=\"D")
                    + "\n"
            })
            .collect();
        let lanes = "<edge id=\"DA\"><lane id=\"DA_0\" length=\"80.00\"/></edge>\
                     <edge id=\"DB\"><lane id=\"DB_0\" length=\"80.00\"/></edge>";
        let two = NET.replace(
            "</net>",
            &format!("{lanes}<tlLogic{second}</tlLogic>{connections}</net>"),
        );
        std::fs::write(&path, two).unwrap();
        let ids = |tls: Option<&str>| -> Vec<String> {
            load_selected(&path, tls)
                .unwrap()
                .into_iter()
                .map(|l| l.id)
                .collect()
        };
        assert_eq!(ids(Some("all")), ["C", "D"]);
        assert_eq!(ids(Some("D, C")), ["D", "C"]);
        assert_eq!(ids(Some("D")), ["D"]);
        let e = load_selected(&path, Some("C,Z")).unwrap_err().to_string();
        assert!(e.contains("--tls Z: the network"), "{e}");
        let e = load_selected(&path, None).unwrap_err().to_string();
        assert!(e.contains("or every one, --tls all"), "{e}");
    }

    #[test]
    fn a_program_with_one_green_phase_is_refused_naming_the_light() {
        let one = NET.replace("rrGg", "GGrr");
        let doc = roxmltree::Document::parse(&one).unwrap();
        let e = from_document(&doc, "C", Path::new("one.net.xml")).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("one.net.xml: traffic light \"C\""), "{e}");
    }

    #[test]
    fn the_actuated_baseline_keeps_the_program_and_adds_min_and_max_green() {
        let t = light();
        let xml = t.program_xml(
            ProgramKind::Actuated,
            Duration::from_secs(5),
            Duration::from_secs(50),
            Duration::from_secs(3),
        );
        assert!(xml.contains("type=\"actuated\""), "{xml}");
        assert!(
            xml.contains(
                "<phase duration=\"42.0\" minDur=\"5.0\" maxDur=\"50.0\" state=\"GGrr\"/>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<phase duration=\"3.0\" state=\"yyrr\"/>"),
            "{xml}"
        );
        let det = t.detectors_xml(DETECTOR_LENGTH_M);
        assert!(
            det.contains("lane=\"B_0\" endPos=\"50.00\" length=\"49.90\""),
            "{det}"
        );
    }

    #[test]
    fn the_delay_based_baseline_reaches_as_far_as_the_zones() {
        let xml = light().program_xml(
            ProgramKind::DelayBased {
                detector_range_m: 60.0,
            },
            Duration::from_secs(5),
            Duration::from_secs(50),
            Duration::from_secs(3),
        );
        assert!(
            xml.contains("type=\"delay_based\" programID=\"semaforo-delay-based\""),
            "{xml}"
        );
        assert!(
            xml.contains("<param key=\"detectorRange\" value=\"60.0\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<phase duration=\"42.0\" minDur=\"5.0\" maxDur=\"50.0\" state=\"GGrr\"/>"
            ),
            "{xml}"
        );
    }

    /// A's lane in front of the stop line is a 1 m stub fed by A_up (300 m), itself fed by
    /// A_far; B's lane is fed from behind another traffic light.
    const STUB_NET: &str = r#"<net>
        <edge id="A_far"><lane id="A_far_0" index="0" length="300.00"/></edge>
        <edge id="A_up"><lane id="A_up_0" index="0" length="40.00"/></edge>
        <edge id="A"><lane id="A_0" index="0" length="1.00"/></edge>
        <edge id="B_up"><lane id="B_up_0" index="0" length="300.00"/></edge>
        <edge id="B"><lane id="B_0" index="0" length="10.00"/></edge>
        <tlLogic id="C" type="static" programID="0" offset="0">
            <phase duration="42" state="GGrr"/>
            <phase duration="3" state="yyrr"/>
            <phase duration="42" state="rrGG"/>
            <phase duration="3" state="rryy"/>
        </tlLogic>
        <connection from="A_far" to="A_up" fromLane="0" toLane="0" via=":M_0_0" dir="s"/>
        <connection from="A_up" to="A" fromLane="0" toLane="0" via=":N_0_0" dir="s"/>
        <connection from=":N_0" to="A" fromLane="0" toLane="0" dir="s"/>
        <connection from="B_up" to="B" fromLane="0" toLane="0" tl="D" linkIndex="0" dir="s"/>
        <connection from="A" to="X" fromLane="0" toLane="0" tl="C" linkIndex="0"/>
        <connection from="A" to="Y" fromLane="0" toLane="0" tl="C" linkIndex="1"/>
        <connection from="B" to="X" fromLane="0" toLane="0" tl="C" linkIndex="2"/>
        <connection from="B" to="Y" fromLane="0" toLane="0" tl="C" linkIndex="3"/>
    </net>"#;

    #[test]
    fn a_zone_on_a_short_lane_continues_upstream_up_to_its_length_or_another_light() {
        let doc = roxmltree::Document::parse(STUB_NET).unwrap();
        let t = from_document(&doc, "C", Path::new("stub.net.xml")).unwrap();
        assert_eq!(
            t.upstream,
            [
                vec![("A_up_0".to_string(), 40.0), ("A_far_0".to_string(), 300.0)],
                vec![]
            ]
        );
        let det = t.detectors_xml(60.0);
        // 1 m of A, 40 m of A_up, the last 19 m of A_far.
        assert!(
            det.contains(
                "id=\"semaforo_e2_A_0\" lanes=\"A_far_0 A_up_0 A_0\" pos=\"281.00\" \
                 endPos=\"1.00\""
            ),
            "{det}"
        );
        // B's feeder is behind traffic light D: the zone stays on B.
        assert!(
            det.contains("lane=\"B_0\" endPos=\"10.00\" length=\"9.90\""),
            "{det}"
        );
        // A shorter zone ends on A_up.
        let det = t.detectors_xml(30.0);
        assert!(det.contains("lanes=\"A_up_0 A_0\" pos=\"11.00\""), "{det}");
    }
}
