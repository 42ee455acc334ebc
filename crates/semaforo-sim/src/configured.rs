//! A configured intersection (`semaforo sim --config FILE`) on a network's traffic light.
//!
//! A semaforo configuration defines the intersection `semaforo run` controls: its signal groups,
//! the phases that green them together, which groups conflict, each group's own timings, and the
//! policies' parameters ([`Configured`]). The network's traffic light defines the same things in
//! SUMO's terms, read from its program ([`network`](crate::network)). Before the configuration
//! may drive the light, they must describe one intersection: the same signal group names (SUMO's
//! names, the incoming edge's id, or `edge#link` where one edge has several groups), each
//! configured phase greening the same set of groups as one of the program's green phases and
//! the other way round (phase names and order may differ), and the same conflicts. When they do
//! not, the error lists every difference and the light as configuration, ready to copy
//! ([`LayoutMismatch`]).
//!
//! When they do, the configuration is rebuilt on the light's group order ([`ConfiguredLight`]),
//! the order in which the runner reads the detectors and writes SUMO's state strings, so that
//! semaforo's controller and its conflict monitor run the configured phases, conflicts,
//! per-group timings and policy parameters, while SUMO's baselines keep the network's own
//! program.
//!
//! The shipped four-arm light (groups `N`, `E`, `S`, `W`; phases north-south and east-west) as
//! a configuration lists it, groups and phases in its own order, with a longer minimum green
//! for the west approach:
//!
//! ```
//! use std::time::Duration;
//! use semaforo_signal::{
//!     GroupTiming, GroupTimings, Intersection, IntersectionSpec, PhaseSpec, PolicyKind, Timings,
//! };
//! use semaforo_sim::runner::{Prepared, TimingOverrides, Window};
//! use semaforo_sim::{scenario, Configured};
//!
//! let intersection = Intersection::from_spec(&IntersectionSpec {
//!     groups: vec!["W".into(), "E".into(), "N".into(), "S".into()],
//!     phases: vec![PhaseSpec::new("ew", &["E", "W"]), PhaseSpec::new("ns", &["N", "S"])],
//!     conflicts: Default::default(),
//! })?;
//! let west = GroupTiming::new(Timings {
//!     min_green: Duration::from_secs(15),
//!     ..Timings::default()
//! });
//! let other = GroupTiming::new(Timings::default());
//! let timings = GroupTimings::new(&intersection, vec![west, other, other, other])
//!     .map_err(|all| all[0].clone())?;
//! let mut config = Configured::new("site.toml", intersection, timings, PolicyKind::MaxPressure);
//! config.compare.margin = 4;
//!
//! let s = scenario::shipped("four-arm-balanced", &scenario::scenario_dir(None))?;
//! let window = Window::new(&s, None, None)?;
//! let p = Prepared::new(s, &TimingOverrides::default(), Some(&config), window)?;
//! let driven = p.lights[0].configured.as_ref().expect("configured");
//! // The light's group order, each group with its configured timing.
//! assert_eq!(driven.intersection.groups()[3].name(), "W");
//! assert_eq!(driven.timings.entries()[3], west);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semaforo_signal::policy::{Compare, MaxPressure};
use semaforo_signal::{
    BuiltinPolicy, ConflictSpec, Controller, ControllerError, GroupTimingError, GroupTimings,
    Intersection, IntersectionSpec, PhaseId, PhaseSpec, PhaseTiming, PolicyKind, SignalTime,
};

use crate::network::TrafficLight;
use crate::runner::{Contender, PrepareError};

/// An intersection as a semaforo configuration file defines it: layout, per-group timings,
/// policy parameters and policy. Given as [`Options::configured`](crate::Options::configured),
/// it drives the scenario's one traffic light in place of the layout and timings read from the
/// network's program, once [`Prepared::new`](crate::runner::Prepared::new) has checked that the
/// two describe the same intersection.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    /// The configuration file, named by the report and by errors.
    pub source: PathBuf,
    /// The signal groups (named as the network names them), phases and conflicts.
    pub intersection: Intersection,
    /// Each group's timings and recall, built for `intersection`.
    pub timings: GroupTimings,
    /// The `compare` policy's parameters.
    pub compare: Compare,
    /// The `max-pressure` policy's parameters.
    pub max_pressure: MaxPressure,
    /// The configured policy: what `semaforo sim --config` runs when no `--policy` is given
    /// ([`Configured::contender`]). Every policy run on the light (`--policy`) takes its
    /// parameters from here when the configuration has them (`compare`, `max-pressure`), its
    /// defaults otherwise.
    pub policy: PolicyKind,
}

impl Configured {
    /// `intersection` timed by `timings` (built for it), running `policy`, each policy with
    /// its default parameters; read from `source`.
    pub fn new(
        source: impl Into<PathBuf>,
        intersection: Intersection,
        timings: GroupTimings,
        policy: PolicyKind,
    ) -> Self {
        Configured {
            source: source.into(),
            intersection,
            timings,
            compare: Compare::default(),
            max_pressure: MaxPressure::default(),
            policy,
        }
    }

    /// The contender that runs the configured policy.
    pub fn contender(&self) -> Contender {
        Contender::Policy(self.policy)
    }

    /// Checks the configuration against `light` (read from `net`) and rebuilds it on the
    /// light's group order; every difference is listed at once
    /// ([`PrepareError::ConfigurationMismatch`]).
    pub fn on_light(
        &self,
        net: &Path,
        light: &TrafficLight,
    ) -> Result<ConfiguredLight, PrepareError> {
        let cannot_run = |source: Box<dyn std::error::Error + Send + Sync>| {
            PrepareError::ConfigurationCannotRun {
                config: self.source.clone(),
                light: light.id.clone(),
                source,
            }
        };
        let (mismatch, network_phases) = compare(self, net, light);
        if !mismatch.is_empty() {
            return Err(PrepareError::ConfigurationMismatch(Box::new(mismatch)));
        }
        let configured = &self.intersection;
        let network = &light.intersection;
        let names = group_names(network);
        // The configured layout on the light's group order: same phases (names, groups, order),
        // same conflicts.
        let mut conflicts = Vec::new();
        for (i, a) in configured.group_ids().enumerate() {
            for b in configured.group_ids().skip(i + 1) {
                if configured.conflicts(a, b) {
                    conflicts.push((
                        configured.group(a).name().to_string(),
                        configured.group(b).name().to_string(),
                    ));
                }
            }
        }
        let spec = IntersectionSpec {
            groups: names.iter().map(|n| n.to_string()).collect(),
            phases: configured
                .phases()
                .iter()
                .map(|p| PhaseSpec {
                    name: p.name().to_string(),
                    groups: p
                        .groups()
                        .iter()
                        .map(|g| configured.group(g).name().to_string())
                        .collect(),
                })
                .collect(),
            conflicts: ConflictSpec::Pairs(conflicts),
        };
        let intersection = Intersection::from_spec(&spec).map_err(|e| cannot_run(Box::new(e)))?;
        if !self.timings.fits(configured) {
            return Err(cannot_run(Box::new(GroupTimingError::OtherIntersection {
                table: self.timings.group_names().to_vec(),
                intersection: group_names(configured)
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
            })));
        }
        // Each of the light's groups takes its configured entry (the names are the same set).
        let entries = names
            .iter()
            .filter_map(|n| {
                let g = configured.group_id(n)?;
                Some(*self.timings.get(g))
            })
            .collect();
        let timings = GroupTimings::new(&intersection, entries)
            .map_err(|mut all| cannot_run(Box::new(all.swap_remove(0))))?;
        let driven = ConfiguredLight {
            source: self.source.clone(),
            intersection,
            timings,
            network_phases,
            compare: self.compare,
            max_pressure: self.max_pressure,
        };
        // Every policy must be able to run it, so a bad parameter is said before any run.
        for kind in PolicyKind::ALL {
            driven
                .controller(kind, SignalTime::ZERO)
                .map_err(|e| cannot_run(Box::new(e)))?;
        }
        Ok(driven)
    }
}

/// The names of `intersection`'s groups, in its order.
fn group_names(intersection: &Intersection) -> Vec<&str> {
    intersection.groups().iter().map(|g| g.name()).collect()
}

/// The names of the groups `phase` greens, in the intersection's group order.
fn phase_groups(intersection: &Intersection, phase: PhaseId) -> Vec<String> {
    intersection
        .phase(phase)
        .groups()
        .iter()
        .map(|g| intersection.group(g).name().to_string())
        .collect()
}

/// The differences between the configuration and the light, and, for each configured phase,
/// the light's phase with the same groups (complete when there is no difference).
fn compare(
    config: &Configured,
    net: &Path,
    light: &TrafficLight,
) -> (LayoutMismatch, Vec<PhaseId>) {
    let configured = &config.intersection;
    let network = &light.intersection;
    let configured_names = group_names(configured);
    let network_names = group_names(network);
    let set = |i: &Intersection, p: PhaseId| -> BTreeSet<String> {
        phase_groups(i, p).into_iter().collect()
    };
    let mut m = LayoutMismatch {
        config: config.source.clone(),
        net: net.to_path_buf(),
        light: light.id.clone(),
        groups_only_in_configuration: configured_names
            .iter()
            .filter(|n| !network_names.contains(n))
            .map(|n| n.to_string())
            .collect(),
        groups_only_in_network: network_names
            .iter()
            .filter(|n| !configured_names.contains(n))
            .map(|n| n.to_string())
            .collect(),
        phases_only_in_configuration: Vec::new(),
        phases_only_in_network: Vec::new(),
        conflicts_only_in_configuration: Vec::new(),
        conflicts_only_in_network: Vec::new(),
        network_groups: network_names.iter().map(|n| n.to_string()).collect(),
        network_phases: network
            .phase_ids()
            .map(|p| {
                (
                    network.phase(p).name().to_string(),
                    phase_groups(network, p),
                )
            })
            .collect(),
    };
    let mut network_phases = Vec::new();
    for p in configured.phase_ids() {
        let groups = set(configured, p);
        match network.phase_ids().find(|&q| set(network, q) == groups) {
            Some(q) => network_phases.push(q),
            None => m.phases_only_in_configuration.push((
                configured.phase(p).name().to_string(),
                phase_groups(configured, p),
            )),
        }
    }
    for q in network.phase_ids() {
        let groups = set(network, q);
        if !configured.phase_ids().any(|p| set(configured, p) == groups) {
            m.phases_only_in_network.push(phase_groups(network, q));
        }
    }
    // Conflicts are compared once the groups and phases are the same: until then, the
    // conflicts that follow from the phases differ too, and would only repeat the difference.
    if m.is_empty() {
        for (i, a) in network.group_ids().enumerate() {
            for b in network.group_ids().skip(i + 1) {
                let (na, nb) = (network.group(a).name(), network.group(b).name());
                let (Some(ca), Some(cb)) = (configured.group_id(na), configured.group_id(nb))
                else {
                    continue;
                };
                let pair = (na.to_string(), nb.to_string());
                match (network.conflicts(a, b), configured.conflicts(ca, cb)) {
                    (true, false) => m.conflicts_only_in_network.push(pair),
                    (false, true) => m.conflicts_only_in_configuration.push(pair),
                    _ => {}
                }
            }
        }
    }
    (m, network_phases)
}

/// A configuration whose intersection is not the one the network's traffic light runs: every
/// difference, and the light's own groups and phases.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutMismatch {
    /// The configuration file.
    pub config: PathBuf,
    /// The network file.
    pub net: PathBuf,
    /// The traffic light.
    pub light: String,
    /// Signal groups the configuration has and the light has not.
    pub groups_only_in_configuration: Vec<String>,
    /// Signal groups the light has and the configuration has not.
    pub groups_only_in_network: Vec<String>,
    /// Configured phases (name, groups) that green a set of groups no green phase of the
    /// light's program greens.
    pub phases_only_in_configuration: Vec<(String, Vec<String>)>,
    /// Sets of groups a green phase of the light's program greens and no configured phase does.
    pub phases_only_in_network: Vec<Vec<String>>,
    /// Pairs of groups the configuration says conflict and the program greens together.
    pub conflicts_only_in_configuration: Vec<(String, String)>,
    /// Pairs of groups the program never greens together and the configuration does not say
    /// conflict.
    pub conflicts_only_in_network: Vec<(String, String)>,
    /// The light's signal groups, in its order.
    pub network_groups: Vec<String>,
    /// The light's phases: name (its groups joined by `+`) and groups.
    pub network_phases: Vec<(String, Vec<String>)>,
}

impl LayoutMismatch {
    /// Whether the configuration and the light agree.
    pub fn is_empty(&self) -> bool {
        self.groups_only_in_configuration.is_empty()
            && self.groups_only_in_network.is_empty()
            && self.phases_only_in_configuration.is_empty()
            && self.phases_only_in_network.is_empty()
            && self.conflicts_only_in_configuration.is_empty()
            && self.conflicts_only_in_network.is_empty()
    }
}

/// `"a", "b"`
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for LayoutMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the configuration {} does not match traffic light {:?} in {}",
            self.config.display(),
            self.light,
            self.net.display()
        )?;
        let mut differences: Vec<String> = Vec::new();
        if !self.groups_only_in_configuration.is_empty() {
            differences.push(format!(
                "signal groups only in the configuration: {}",
                quoted(&self.groups_only_in_configuration)
            ));
        }
        if !self.groups_only_in_network.is_empty() {
            differences.push(format!(
                "signal groups only in the network: {}",
                quoted(&self.groups_only_in_network)
            ));
        }
        if !self.phases_only_in_configuration.is_empty() {
            let phases: Vec<String> = self
                .phases_only_in_configuration
                .iter()
                .map(|(name, groups)| format!("{name:?} [{}]", quoted(groups)))
                .collect();
            differences.push(format!(
                "phases only in the configuration (no green of the program greens their groups \
                 together): {}",
                phases.join(", ")
            ));
        }
        if !self.phases_only_in_network.is_empty() {
            let phases: Vec<String> = self
                .phases_only_in_network
                .iter()
                .map(|groups| format!("[{}]", quoted(groups)))
                .collect();
            differences.push(format!(
                "phases only in the network (no configured phase greens exactly these groups): {}",
                phases.join(", ")
            ));
        }
        let pairs = |pairs: &[(String, String)]| -> String {
            pairs
                .iter()
                .map(|(a, b)| format!("{a:?} and {b:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.conflicts_only_in_configuration.is_empty() {
            differences.push(format!(
                "conflicts only in the configuration (the program greens them together): {}",
                pairs(&self.conflicts_only_in_configuration)
            ));
        }
        if !self.conflicts_only_in_network.is_empty() {
            differences.push(format!(
                "conflicts only in the network (the program never greens them together; list \
                 them in the configuration's conflicts): {}",
                pairs(&self.conflicts_only_in_network)
            ));
        }
        write!(f, ": {}", differences.join("; "))?;
        // The light as the configuration's `[intersection]` keys, to copy.
        let phases: Vec<String> = self
            .network_phases
            .iter()
            .map(|(name, groups)| format!("{{ name = {name:?}, groups = [{}] }}", quoted(groups)))
            .collect();
        write!(
            f,
            "; the network's light, as configuration: groups = [{}], phases = [{}]",
            quoted(&self.network_groups),
            phases.join(", ")
        )
    }
}

impl std::error::Error for LayoutMismatch {}

/// A configuration on the traffic light it drives: its phases, conflicts and per-group
/// timings rebuilt on the light's group order, and its policy parameters.
#[derive(Debug, Clone)]
pub struct ConfiguredLight {
    /// The configuration file.
    pub source: PathBuf,
    /// The configured phases (names, groups, order) and conflicts, on the light's groups in the
    /// light's order.
    pub intersection: Intersection,
    /// The configured per-group timings, in the light's group order.
    pub timings: GroupTimings,
    /// For each configured phase, the light's phase that greens the same groups (whose state
    /// string says which green links must yield).
    pub network_phases: Vec<PhaseId>,
    /// The `compare` policy's parameters.
    pub compare: Compare,
    /// The `max-pressure` policy's parameters.
    pub max_pressure: MaxPressure,
}

impl ConfiguredLight {
    /// The built-in policy `kind` with the configured parameters (`compare`, `max-pressure`),
    /// or its defaults for this layout and timings (`fixed`, `actuated`).
    pub fn policy(&self, kind: PolicyKind) -> BuiltinPolicy {
        match kind {
            PolicyKind::Compare => BuiltinPolicy::Compare(self.compare),
            PolicyKind::MaxPressure => BuiltinPolicy::MaxPressure(self.max_pressure),
            other => BuiltinPolicy::new(other, &self.intersection, &self.timings),
        }
    }

    /// A controller running `kind` on the configured intersection with its per-group timings,
    /// starting at `start`.
    pub fn controller(
        &self,
        kind: PolicyKind,
        start: SignalTime,
    ) -> Result<Controller, ControllerError> {
        Controller::with_group_timings(
            self.intersection.clone(),
            self.timings.clone(),
            self.policy(kind),
            start,
        )
    }

    /// The light's phase that greens the same groups as configured phase `phase`.
    pub fn network_phase(&self, phase: PhaseId) -> Option<PhaseId> {
        self.network_phases.get(phase.index()).copied()
    }

    /// The configured timing of the phase that greens the same groups as the light's phase
    /// `network_phase` (for SUMO's actuated baselines).
    pub fn timing_of_network_phase(&self, network_phase: PhaseId) -> Option<PhaseTiming> {
        let k = self
            .network_phases
            .iter()
            .position(|&q| q == network_phase)?;
        let phase = self.intersection.phase_ids().nth(k)?;
        Some(PhaseTiming::of(&self.intersection, &self.timings, phase))
    }

    /// The longest passage of any group (SUMO's actuated programs have one gap for all).
    pub fn longest_passage(&self) -> Duration {
        self.timings
            .entries()
            .iter()
            .map(|e| e.timings.passage)
            .max()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;
    use crate::scenario;
    use semaforo_signal::{GroupTiming, Timings};

    fn four_arm_net() -> PathBuf {
        scenario::scenario_dir(None).join("four-arm/four-arm.net.xml")
    }

    /// A configuration of `groups` and `phases` (conflicts: every pair no phase greens
    /// together, unless `pairs`), every group timed alike.
    fn config(
        groups: &[&str],
        phases: &[(&str, &[&str])],
        pairs: Option<&[(&str, &str)]>,
    ) -> Configured {
        let spec = IntersectionSpec {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            phases: phases.iter().map(|(n, g)| PhaseSpec::new(n, g)).collect(),
            conflicts: match pairs {
                None => ConflictSpec::UnlessSharingAPhase,
                Some(p) => ConflictSpec::Pairs(
                    p.iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                ),
            },
        };
        let intersection = Intersection::from_spec(&spec).unwrap();
        let timings =
            GroupTimings::uniform(&intersection, GroupTiming::new(Timings::default())).unwrap();
        Configured::new("site.toml", intersection, timings, PolicyKind::MaxPressure)
    }

    fn mismatch(config: &Configured) -> (LayoutMismatch, String) {
        let net = four_arm_net();
        let light = network::load(&net, None).unwrap();
        match config.on_light(&net, &light) {
            Err(PrepareError::ConfigurationMismatch(m)) => {
                let text = m.to_string();
                (*m, text)
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn a_configuration_with_the_lights_groups_and_phases_in_another_order_matches() {
        let c = config(
            &["W", "S", "E", "N"],
            &[("east-west", &["W", "E"]), ("north-south", &["S", "N"])],
            None,
        );
        let net = four_arm_net();
        let light = network::load(&net, None).unwrap();
        let driven = c.on_light(&net, &light).unwrap();
        let groups: Vec<&str> = group_names(&driven.intersection);
        assert_eq!(groups, ["N", "E", "S", "W"]);
        let phases: Vec<&str> = driven
            .intersection
            .phases()
            .iter()
            .map(|p| p.name())
            .collect();
        assert_eq!(phases, ["east-west", "north-south"]);
        let network_phases: Vec<&str> = driven
            .network_phases
            .iter()
            .map(|&p| light.intersection.phase(p).name())
            .collect();
        assert_eq!(network_phases, ["E+W", "N+S"]);
    }

    #[test]
    fn a_mismatch_lists_groups_and_phases_only_in_one_and_the_light_as_configuration() {
        // An extra group X, E alone, W with X: three differences in phases, one in groups.
        let c = config(
            &["N", "E", "S", "W", "X"],
            &[("ns", &["N", "S"]), ("e", &["E"]), ("w-x", &["W", "X"])],
            None,
        );
        let (m, text) = mismatch(&c);
        assert_eq!(m.groups_only_in_configuration, ["X"]);
        assert!(m.groups_only_in_network.is_empty());
        assert_eq!(
            m.phases_only_in_configuration,
            [
                ("e".to_string(), vec!["E".to_string()]),
                ("w-x".to_string(), vec!["W".to_string(), "X".to_string()])
            ]
        );
        assert_eq!(m.phases_only_in_network, [vec!["E", "W"]]);
        for part in [
            "the configuration site.toml does not match traffic light \"C\" in ",
            "four-arm.net.xml: ",
            "signal groups only in the configuration: \"X\"; ",
            "phases only in the configuration (no green of the program greens their groups \
             together): \"e\" [\"E\"], \"w-x\" [\"W\", \"X\"]; ",
            "phases only in the network (no configured phase greens exactly these groups): \
             [\"E\", \"W\"]; ",
            "the network's light, as configuration: groups = [\"N\", \"E\", \"S\", \"W\"], \
             phases = [{ name = \"N+S\", groups = [\"N\", \"S\"] }, { name = \"E+W\", groups = \
             [\"E\", \"W\"] }]",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }

        // A missing group W, and the phase that greened it.
        let c = config(
            &["N", "E", "S"],
            &[("ns", &["N", "S"]), ("e", &["E"])],
            None,
        );
        let (m, text) = mismatch(&c);
        assert_eq!(m.groups_only_in_network, ["W"]);
        assert_eq!(m.phases_only_in_network, [vec!["E", "W"]]);
        assert!(
            text.contains("signal groups only in the network: \"W\"; phases only in the"),
            "{text}"
        );

        // The right groups, green in other combinations.
        let c = config(
            &["N", "E", "S", "W"],
            &[("ne", &["N", "E"]), ("sw", &["S", "W"])],
            None,
        );
        let (m, _) = mismatch(&c);
        assert!(m.groups_only_in_configuration.is_empty() && m.groups_only_in_network.is_empty());
        assert_eq!(m.phases_only_in_configuration.len(), 2);
        assert_eq!(m.phases_only_in_network, [vec!["N", "S"], vec!["E", "W"]]);
        // Conflicts that follow from the phases are not listed again.
        assert!(m.conflicts_only_in_network.is_empty());
    }

    #[test]
    fn a_configuration_missing_conflicts_the_program_implies_is_refused_naming_the_pairs() {
        let c = config(
            &["N", "E", "S", "W"],
            &[("ns", &["N", "S"]), ("ew", &["E", "W"])],
            Some(&[("N", "E"), ("S", "W")]),
        );
        let (m, text) = mismatch(&c);
        assert_eq!(
            m.conflicts_only_in_network,
            [
                ("N".to_string(), "W".to_string()),
                ("E".to_string(), "S".to_string())
            ]
        );
        assert!(
            text.contains(
                "conflicts only in the network (the program never greens them together; list \
                 them in the configuration's conflicts): \"N\" and \"W\", \"E\" and \"S\""
            ),
            "{text}"
        );
    }

    #[test]
    fn a_configured_policy_parameter_out_of_range_is_said_before_any_run() {
        let mut c = config(
            &["N", "E", "S", "W"],
            &[("ns", &["N", "S"]), ("ew", &["E", "W"])],
            None,
        );
        c.compare.margin = 1000;
        let net = four_arm_net();
        let light = network::load(&net, None).unwrap();
        let e = c.on_light(&net, &light).unwrap_err();
        let text = crate::error_chain(&e);
        assert!(
            text.starts_with("--config site.toml: cannot drive traffic light \"C\": "),
            "{text}"
        );
        assert!(text.contains("margin"), "{text}");
    }
}
