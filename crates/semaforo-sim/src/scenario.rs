//! Scenarios: the shipped intersections and demands (`scenarios/` in the repository), or a
//! user's own network and routes (`--net`/`--routes`, or a `.sumocfg`).

use std::io;
use std::path::{Path, PathBuf};

/// A shipped network: its directory (and network file stem), the demands shipped with it, and
/// how its traffic lights are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Directory under the scenarios directory, and the stem of its `.net.xml`.
    pub name: &'static str,
    /// The signal groups its single traffic light must have (so a regenerated network that no
    /// longer matches is caught); `None` for a network of several lights.
    pub groups: Option<&'static [&'static str]>,
    /// Its demand patterns, one `<demand>.rou.xml` each.
    pub demands: &'static [&'static str],
    /// The lights semaforo drives (`all` in a network of several), as `--tls` would say.
    pub tls: Option<&'static str>,
}

/// The demand patterns of the single intersections.
const SINGLE_DEMANDS: &[&str] = &["balanced", "asymmetric", "time-varying", "surge"];

/// The shipped networks: two single intersections, and an arterial through four lights that
/// semaforo drives at once.
pub const TOPOLOGIES: [Topology; 3] = [
    Topology {
        name: "two-approach",
        groups: Some(&["A", "B"]),
        demands: SINGLE_DEMANDS,
        tls: None,
    },
    Topology {
        name: "four-arm",
        groups: Some(&["N", "E", "S", "W"]),
        demands: SINGLE_DEMANDS,
        tls: None,
    },
    Topology {
        name: "corridor",
        groups: None,
        demands: &["arterial", "time-varying"],
        tls: Some("all"),
    },
];

/// Every shipped scenario name, `<network>-<demand>`.
pub fn known_names() -> Vec<String> {
    TOPOLOGIES
        .iter()
        .flat_map(|t| t.demands.iter().map(move |d| format!("{}-{d}", t.name)))
        .collect()
}

/// A scenario that cannot be found or read; each names the scenario, file or option concerned.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No shipped scenario has this name.
    #[error(
        "unknown scenario {name:?}; the known scenarios are: {} (or `all`; or bring your own \
         with --net FILE.net.xml --routes FILE.rou.xml, or --sumocfg FILE)",
        known_names().join(", ")
    )]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A shipped scenario's file is missing.
    #[error(
        "scenario {name}: {} is missing (the scenarios directory is {}; set it with \
         --scenario-dir or SEMAFORO_SCENARIOS)",
        .file.display(),
        .dir.display()
    )]
    MissingFile {
        /// The scenario.
        name: String,
        /// The missing file.
        file: PathBuf,
        /// The scenarios directory searched.
        dir: PathBuf,
    },
    /// The user's network file does not exist.
    #[error("--net {}: no such file", .net.display())]
    NoNetwork {
        /// The network file.
        net: PathBuf,
    },
    /// A user's network came without demand.
    #[error("--net {} needs --routes FILE.rou.xml (the demand)", .net.display())]
    NoRoutes {
        /// The network file.
        net: PathBuf,
    },
    /// A route file does not exist.
    #[error("--routes {}: no such file", .routes.display())]
    NoRouteFile {
        /// The route file.
        routes: PathBuf,
    },
    /// The SUMO configuration could not be read.
    #[error("cannot read the SUMO configuration {}", .cfg.display())]
    ReadConfig {
        /// The `.sumocfg`.
        cfg: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The SUMO configuration is not XML.
    #[error("{} is not valid XML", .cfg.display())]
    ConfigXml {
        /// The `.sumocfg`.
        cfg: PathBuf,
        /// Where and why.
        source: roxmltree::Error,
    },
    /// The SUMO configuration names no network.
    #[error(
        "{}: no <net-file value=\"…\"/>; expected a SUMO configuration naming its network",
        .cfg.display()
    )]
    ConfigWithoutNetwork {
        /// The `.sumocfg`.
        cfg: PathBuf,
    },
    /// The SUMO configuration names no route file.
    #[error(
        "{}: no <route-files value=\"…\"/>; the evaluation needs demand",
        .cfg.display()
    )]
    ConfigWithoutRoutes {
        /// The `.sumocfg`.
        cfg: PathBuf,
    },
    /// A `<time>` value of the SUMO configuration is not a time.
    #[error(
        "{}: <{key} value=\"{value}\"/> is not a time; expected seconds (e.g. 25200) or \
         H:MM:SS",
        .cfg.display()
    )]
    ConfigTime {
        /// The `.sumocfg`.
        cfg: PathBuf,
        /// `begin`, `end` or `step-length`.
        key: &'static str,
        /// Its text.
        value: String,
    },
    /// A file the SUMO configuration names is wrong.
    #[error("in {}", .cfg.display())]
    InConfig {
        /// The `.sumocfg`.
        cfg: PathBuf,
        /// What is wrong.
        source: Box<ScenarioError>,
    },
}

/// What one scenario runs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (the shipped name, or the network file's stem).
    pub name: String,
    /// The network.
    pub net: PathBuf,
    /// The demand.
    pub routes: Vec<PathBuf>,
    /// More files SUMO loads (from a `.sumocfg`).
    pub additional: Vec<PathBuf>,
    /// The traffic lights to drive (`J1`, `J1,J4` or `all`), when the network has several.
    pub tls: Option<String>,
    /// The signal groups a shipped scenario's traffic light must have.
    pub expected_groups: Option<&'static [&'static str]>,
    /// The simulated time, from a `.sumocfg`'s `<time>` (`None`: not given there).
    pub time: ConfigTime,
}

/// A `.sumocfg`'s `<begin>`, `<end>` and `<step-length>`, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConfigTime {
    /// When the simulation starts.
    pub begin: Option<f64>,
    /// When it ends.
    pub end: Option<f64>,
    /// The simulation step.
    pub step_length: Option<f64>,
}

/// Where the shipped scenarios are: `dir` if given, else `$SEMAFORO_SCENARIOS`, else
/// `./scenarios`, else the repository this binary was built from.
pub fn scenario_dir(dir: Option<&Path>) -> PathBuf {
    if let Some(d) = dir {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os("SEMAFORO_SCENARIOS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("scenarios");
    if here.join("two-approach").is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The shipped scenario `name` (see [`known_names`]; `all` is expanded by the caller).
pub fn shipped(name: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
    let found = TOPOLOGIES.iter().find_map(|t| {
        let demand = name.strip_prefix(t.name)?.strip_prefix('-')?;
        t.demands.contains(&demand).then_some((t, demand))
    });
    let Some((topo, demand)) = found else {
        return Err(ScenarioError::Unknown {
            name: name.to_string(),
        });
    };
    let net = dir.join(topo.name).join(format!("{}.net.xml", topo.name));
    let routes = dir.join(topo.name).join(format!("{demand}.rou.xml"));
    for f in [&net, &routes] {
        if !f.is_file() {
            return Err(ScenarioError::MissingFile {
                name: name.to_string(),
                file: f.clone(),
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(Scenario {
        name: name.to_string(),
        net,
        routes: vec![routes],
        additional: Vec::new(),
        tls: topo.tls.map(str::to_string),
        expected_groups: topo.groups,
        time: ConfigTime::default(),
    })
}

/// A user's network and routes.
pub fn user(net: &Path, routes: &[PathBuf], tls: Option<&str>) -> Result<Scenario, ScenarioError> {
    if !net.is_file() {
        return Err(ScenarioError::NoNetwork {
            net: net.to_path_buf(),
        });
    }
    if routes.is_empty() {
        return Err(ScenarioError::NoRoutes {
            net: net.to_path_buf(),
        });
    }
    if let Some(r) = routes.iter().find(|r| !r.is_file()) {
        return Err(ScenarioError::NoRouteFile { routes: r.clone() });
    }
    Ok(Scenario {
        name: stem(net),
        net: net.to_path_buf(),
        routes: routes.to_vec(),
        additional: Vec::new(),
        tls: tls.map(str::to_string),
        expected_groups: None,
        time: ConfigTime::default(),
    })
}

fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    name.split('.').next().unwrap_or(&name).to_string()
}

/// A SUMO time: seconds, or `H:MM:SS` / `M:SS` (SUMO accepts both).
fn sumo_time(text: &str) -> Option<f64> {
    let mut total = 0.0;
    for part in text.trim().split(':') {
        let v: f64 = part.trim().parse().ok()?;
        total = total * 60.0 + v;
    }
    total.is_finite().then_some(total)
}

/// A `.sumocfg`: its network, routes and additional files (relative to the file), and its
/// `<begin>`, `<end>` and `<step-length>`.
pub fn from_sumocfg(cfg: &Path, tls: Option<&str>) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(cfg).map_err(|source| ScenarioError::ReadConfig {
        cfg: cfg.to_path_buf(),
        source,
    })?;
    let doc = roxmltree::Document::parse(&text).map_err(|source| ScenarioError::ConfigXml {
        cfg: cfg.to_path_buf(),
        source,
    })?;
    let base = cfg.parent().unwrap_or(Path::new("."));
    let files = |tag: &str| -> Vec<PathBuf> {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag))
            .filter_map(|n| n.attribute("value"))
            .flat_map(|v| v.split([',', ' ']).map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .map(|v| base.join(v))
            .collect()
    };
    let net = files("net-file").into_iter().next().ok_or_else(|| {
        ScenarioError::ConfigWithoutNetwork {
            cfg: cfg.to_path_buf(),
        }
    })?;
    let routes = files("route-files");
    if routes.is_empty() {
        return Err(ScenarioError::ConfigWithoutRoutes {
            cfg: cfg.to_path_buf(),
        });
    }
    let mut s = user(&net, &routes, tls).map_err(|e| ScenarioError::InConfig {
        cfg: cfg.to_path_buf(),
        source: Box::new(e),
    })?;
    s.name = stem(cfg);
    s.additional = files("additional-files");
    let time = |key: &'static str| -> Result<Option<f64>, ScenarioError> {
        let Some(value) = doc
            .descendants()
            .find(|n| n.has_tag_name(key))
            .and_then(|n| n.attribute("value"))
        else {
            return Ok(None);
        };
        sumo_time(value)
            .map(Some)
            .ok_or_else(|| ScenarioError::ConfigTime {
                cfg: cfg.to_path_buf(),
                key,
                value: value.to_string(),
            })
    };
    s.time = ConfigTime {
        begin: time("begin")?,
        end: time("end")?,
        step_length: time("step-length")?,
    };
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_scenario_lists_the_known_ones() {
        let e = shipped("three-arm-rush", Path::new("scenarios"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown scenario \"three-arm-rush\""), "{e}");
        assert!(
            e.contains("two-approach-balanced, two-approach-asymmetric"),
            "{e}"
        );
        assert!(e.contains("four-arm-surge"), "{e}");
        assert!(
            e.contains("corridor-arterial, corridor-time-varying"),
            "{e}"
        );
    }

    #[test]
    fn every_shipped_scenario_has_its_files() {
        let dir = scenario_dir(None);
        for name in known_names() {
            shipped(&name, &dir).unwrap();
        }
    }

    #[test]
    fn the_corridor_drives_every_light_and_a_single_intersection_its_one() {
        let dir = scenario_dir(None);
        let corridor = shipped("corridor-arterial", &dir).unwrap();
        assert_eq!(corridor.tls.as_deref(), Some("all"));
        assert_eq!(corridor.expected_groups, None);
        assert!(corridor.net.ends_with("corridor/corridor.net.xml"));
        let single = shipped("four-arm-surge", &dir).unwrap();
        assert_eq!(single.tls, None);
        assert_eq!(single.expected_groups, Some(&["N", "E", "S", "W"][..]));
        assert!(shipped("corridor-surge", &dir).is_err());
    }

    #[test]
    fn a_sumocfg_names_net_routes_and_additionals_relative_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["x.net.xml", "a.rou.xml", "b.rou.xml"] {
            std::fs::write(dir.path().join(f), "<x/>").unwrap();
        }
        let cfg = dir.path().join("site.sumocfg");
        std::fs::write(
            &cfg,
            r#"<configuration><input><net-file value="x.net.xml"/>
               <route-files value="a.rou.xml,b.rou.xml"/><additional-files value="d.add.xml"/>
               </input></configuration>"#,
        )
        .unwrap();
        let s = from_sumocfg(&cfg, None).unwrap();
        assert_eq!(s.name, "site");
        assert_eq!(s.net, dir.path().join("x.net.xml"));
        assert_eq!(s.routes.len(), 2);
        assert_eq!(s.additional, vec![dir.path().join("d.add.xml")]);
        assert_eq!(s.time, ConfigTime::default());
    }

    #[test]
    fn a_sumocfg_gives_its_begin_end_and_step_length() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["x.net.xml", "a.rou.xml"] {
            std::fs::write(dir.path().join(f), "<x/>").unwrap();
        }
        let cfg = dir.path().join("site.sumocfg");
        let write = |time: &str| {
            std::fs::write(
                &cfg,
                format!(
                    r#"<configuration><input><net-file value="x.net.xml"/>
                       <route-files value="a.rou.xml"/></input><time>{time}</time></configuration>"#
                ),
            )
            .unwrap();
        };
        write(r#"<begin value="7:00:00"/><end value="28800"/><step-length value="0.25"/>"#);
        let s = from_sumocfg(&cfg, None).unwrap();
        assert_eq!(
            s.time,
            ConfigTime {
                begin: Some(25200.0),
                end: Some(28800.0),
                step_length: Some(0.25)
            }
        );
        write(r#"<begin value="seven"/>"#);
        let e = from_sumocfg(&cfg, None).unwrap_err().to_string();
        assert!(e.contains("<begin value=\"seven\"/> is not a time"), "{e}");
    }

    #[test]
    fn a_sumocfg_naming_a_missing_file_names_the_configuration_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rou.xml"), "<routes/>").unwrap();
        let cfg = dir.path().join("site.sumocfg");
        std::fs::write(
            &cfg,
            r#"<configuration><input><net-file value="gone.net.xml"/>
               <route-files value="a.rou.xml"/></input></configuration>"#,
        )
        .unwrap();
        let e = crate::error_chain(&from_sumocfg(&cfg, None).unwrap_err());
        assert_eq!(
            e,
            format!(
                "in {}: --net {}: no such file",
                cfg.display(),
                dir.path().join("gone.net.xml").display()
            )
        );
    }
}
