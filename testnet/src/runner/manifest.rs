//! Fault-injection manifests (TOML): the network, its load, and a schedule
//! of perturbations per node. Parsing is strict: unknown fields, unknown
//! node names, unknown perturbation kinds and nonsensical numbers are typed
//! errors, so a typo in a manifest never silently runs a weaker test.
//!
//! Nodes are named by role and index in the order the network is laid out:
//! `validator-0 .. validator-{validators-1}`, `observer-0 ..`.
//!
//! Hostile phases (`kind = "hostile"`, needs a `fault-injection` build of
//! the nodes): the node is restarted with `KOPNET_FAULT = behaviour`
//! (`equivocate`, `future-flood`, `false-hints`, `gossip-spam`) and, when
//! `rate` is given, `KOPNET_HOSTILE_RATE = rate` (messages a second; absent
//! = as fast as its gossip layer takes them), stays hostile for `secs`,
//! then is restarted honest. Hostile phases never overlap: one waits for
//! the one before to end. `defences_off = ["evidence"]` at the top level
//! starts every node with `KOPNET_DEFENCE_OFF=evidence` (a run that must
//! fail, naming the missing evidence). See `testnet/manifests/byzantine.toml`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Largest manifest file read (bytes).
pub const MANIFEST_BYTES_MAX: u64 = 64 * 1024;
/// Bounds that keep a manifest within what one host can run.
pub const VALIDATORS_MAX: usize = 20;
pub const OBSERVERS_MAX: usize = 8;
pub const PERTURBATIONS_MAX: usize = 1_000;
pub const RATE_MAX: u64 = 100_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("manifest {path} is larger than {MANIFEST_BYTES_MAX} bytes")]
    TooLarge { path: String },
    #[error("manifest is not valid: {0}")]
    Syntax(String),
    #[error("manifest needs 1 to {VALIDATORS_MAX} validators, got {0}")]
    Validators(usize),
    #[error("manifest allows at most {OBSERVERS_MAX} observers, got {0}")]
    Observers(usize),
    #[error("voting_power has {got} entries but there are {validators} validators")]
    VotingPowerLength { got: usize, validators: usize },
    #[error("voting_power entries must be at least 1")]
    VotingPowerZero,
    #[error("voting_power adds up to more than {max}", max = u64::MAX)]
    VotingPowerOverflow,
    #[error("load rate must be 1 to {RATE_MAX} tx/s, got {0}")]
    Rate(u64),
    #[error("load duration_secs must be at least 1")]
    Duration,
    #[error("load mix is empty or all zero")]
    Mix,
    #[error("load coops: unknown cooperative {name:?} (known: {known})")]
    UnknownCoop { name: String, known: String },
    #[error("load coops: every weight is zero")]
    CoopWeights,
    #[error("voting power {power} of validator-{index} is a third or more of the total {total}: the network would stop whenever it is perturbed")]
    VotingPowerTooLarge {
        index: usize,
        power: u64,
        total: u64,
    },
    #[error("unknown load mix entry {0:?} (known: {known})", known = MixKind::NAMES.join(", "))]
    MixKind(String),
    #[error("too many perturbations (at most {PERTURBATIONS_MAX})")]
    TooManyPerturbations,
    #[error("perturbation {index}: unknown node {node:?}")]
    UnknownNode { index: usize, node: String },
    #[error("perturbation {index}: {kind} needs secs >= 1")]
    Secs { index: usize, kind: &'static str },
    #[error("perturbation {index}: late-join must be the only perturbation of {node}")]
    LateJoinAlone { index: usize, node: String },
    #[error("perturbation {index}: hostile needs behaviour = one of {known}", known = HostileBehaviour::NAMES.join(", "))]
    Behaviour { index: usize },
    #[error("perturbation {index}: {field} applies to kind = \"hostile\" only")]
    HostileOnly { index: usize, field: &'static str },
    #[error("unknown defences_off entry {0:?} (known: evidence)")]
    Defence(String),
    #[error("{0}")]
    Links(String),
    #[error("perturbation {index}: rotate-key applies to validators only")]
    RotateKeyValidatorOnly { index: usize },
}

/// What a hostile node does (the node's `KOPNET_FAULT` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostileBehaviour {
    Equivocate,
    FutureFlood,
    FalseHints,
    GossipSpam,
    /// Votes signed again with the retired validator key. Not for a
    /// manifest's `hostile` entries (only a rotated validator holds such a
    /// key): the `rotate-key` perturbation runs it after the rotation
    /// ([`super::old_key_live`]).
    OldKey,
}

impl HostileBehaviour {
    /// The behaviours a manifest may schedule (all but [`Self::OldKey`]).
    pub const ALL: [HostileBehaviour; 4] = [
        HostileBehaviour::Equivocate,
        HostileBehaviour::FutureFlood,
        HostileBehaviour::FalseHints,
        HostileBehaviour::GossipSpam,
    ];
    pub const NAMES: [&'static str; 4] =
        ["equivocate", "future-flood", "false-hints", "gossip-spam"];

    pub fn name(self) -> &'static str {
        match self {
            HostileBehaviour::Equivocate => "equivocate",
            HostileBehaviour::FutureFlood => "future-flood",
            HostileBehaviour::FalseHints => "false-hints",
            HostileBehaviour::GossipSpam => "gossip-spam",
            HostileBehaviour::OldKey => "old-key",
        }
    }

    pub fn parse(name: &str) -> Option<HostileBehaviour> {
        HostileBehaviour::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// An honest node's defence a test run may switch off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Defence {
    /// Evidence of equivocation put into blocks.
    Evidence,
}

impl Defence {
    pub fn name(self) -> &'static str {
        match self {
            Defence::Evidence => "evidence",
        }
    }

    pub fn parse(name: &str) -> Option<Defence> {
        match name {
            "evidence" => Some(Defence::Evidence),
            _ => None,
        }
    }
}

/// The kinds of transactions the load generator can send.
pub use crate::cluster::mix::LoadKind as MixKind;

/// Which backend runs the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Process,
    Docker,
}

/// How the process backend disconnects a node (`disconnect = "..."` in a
/// manifest, `--disconnect` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DisconnectChoice {
    /// A network namespace per node where they can be made, else the
    /// node's admin endpoint.
    #[default]
    Auto,
    /// Network namespaces, or the run does not start.
    Namespace,
    /// The node's admin endpoint (`POST /v1/admin/isolate`).
    Admin,
}

/// What happens to a node, and when (the observer's committed height).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perturbation {
    /// SIGKILL, then start again.
    Kill,
    /// SIGTERM (clean stop), then start again.
    Restart,
    /// Stopped (SIGSTOP / docker pause) for `secs`, then resumed.
    Pause { secs: u64 },
    /// Cut off from every other node for `secs`, then reconnected.
    Disconnect { secs: u64 },
    /// Not started until the network reaches the height; must catch up.
    LateJoin,
    /// Restarted hostile for `secs` (at `rate` messages a second, `None` =
    /// full rate), then restarted honest.
    Hostile {
        behaviour: HostileBehaviour,
        secs: u64,
        rate: Option<u32>,
    },
    /// Its cooperative rotates its validator key and node identity on the
    /// running network (`runner::rotate`); the node keeps running.
    RotateKey,
    /// Backed up while it runs (`kopnet node backup`), crashed, its home
    /// destroyed, restored from the backup (`kopnet node restore`) and
    /// started again with `--new-safety-record` (`runner::restore`).
    Restore,
    /// Restarted on the "new build": a fault-injection build told to speak
    /// the next protocol version (`KOPNET_SPEAKS_PROTOCOL`), the rolling
    /// restart that comes before a scheduled upgrade (no vote needed: a
    /// new build speaks the old version too). It stays on it.
    Upgrade,
}

impl Perturbation {
    pub fn name(&self) -> &'static str {
        match self {
            Perturbation::Kill => "kill",
            Perturbation::Restart => "restart",
            Perturbation::Pause { .. } => "pause",
            Perturbation::Disconnect { .. } => "disconnect",
            Perturbation::LateJoin => "late-join",
            Perturbation::Hostile { .. } => "hostile",
            Perturbation::RotateKey => "rotate-key",
            Perturbation::Restore => "restore",
            Perturbation::Upgrade => "upgrade",
        }
    }
}

/// A node reference, resolved against the manifest's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRef {
    Validator(usize),
    Observer(usize),
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeRef::Validator(i) => write!(f, "validator-{i}"),
            NodeRef::Observer(i) => write!(f, "observer-{i}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledPerturbation {
    pub node: NodeRef,
    pub at_height: u64,
    pub perturbation: Perturbation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    pub rate: u64,
    pub duration_secs: u64,
    /// Relative weights; at least one is non-zero.
    pub mix: BTreeMap<MixKind, u32>,
    /// Relative weights of the paying cooperatives by id (empty: equal).
    pub coops: BTreeMap<String, u32>,
}

impl Load {
    /// The load generator's mix for this load.
    pub fn to_mix(&self) -> crate::cluster::mix::Mix {
        crate::cluster::mix::Mix {
            kinds: self.mix.clone(),
            coops: self.coops.clone(),
            cashback: false,
            payout_after_secs: None,
        }
    }
}

/// A checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub backend: BackendKind,
    pub disconnect: DisconnectChoice,
    pub validators: usize,
    pub observers: usize,
    pub voting_power: Vec<u64>,
    pub load: Load,
    /// Sorted by height, then by node (a deterministic schedule).
    pub perturbations: Vec<ScheduledPerturbation>,
    pub catch_up_timeout_secs: u64,
    /// Defences every node runs without (`KOPNET_DEFENCE_OFF`).
    pub defences_off: Vec<Defence>,
    /// Latency, jitter and loss between the nodes (`[links]`; absent: the
    /// host's own, near-perfect links).
    pub links: Option<super::links::Links>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    #[serde(default = "default_backend")]
    backend: BackendKind,
    #[serde(default)]
    disconnect: DisconnectChoice,
    validators: usize,
    #[serde(default)]
    observers: usize,
    voting_power: Option<Vec<u64>>,
    load: RawLoad,
    #[serde(default)]
    perturb: Vec<RawPerturb>,
    #[serde(default)]
    wait: RawWait,
    #[serde(default)]
    defences_off: Vec<String>,
    links: Option<super::links::RawLinks>,
}

fn default_backend() -> BackendKind {
    BackendKind::Process
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    rate: u64,
    duration_secs: u64,
    mix: BTreeMap<String, u32>,
    #[serde(default)]
    coops: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerturb {
    node: String,
    kind: RawKind,
    at_height: u64,
    secs: Option<u64>,
    behaviour: Option<String>,
    rate: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawKind {
    Kill,
    Restart,
    Pause,
    Disconnect,
    LateJoin,
    Hostile,
    RotateKey,
    Restore,
    Upgrade,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWait {
    #[serde(default = "default_catch_up")]
    catch_up_timeout_secs: u64,
}

impl Default for RawWait {
    fn default() -> Self {
        RawWait {
            catch_up_timeout_secs: default_catch_up(),
        }
    }
}

fn default_catch_up() -> u64 {
    60
}

impl Manifest {
    /// Read and check a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| ManifestError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if meta.len() > MANIFEST_BYTES_MAX {
            return Err(ManifestError::TooLarge { path: shown });
        }
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::Read {
            path: shown,
            reason: e.to_string(),
        })?;
        Manifest::parse(&text)
    }

    /// Parse and check manifest text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_string()))?;
        if raw.validators == 0 || raw.validators > VALIDATORS_MAX {
            return Err(ManifestError::Validators(raw.validators));
        }
        if raw.observers > OBSERVERS_MAX {
            return Err(ManifestError::Observers(raw.observers));
        }
        let voting_power = check_voting_power(raw.voting_power, raw.validators)?;
        let load = check_load(raw.load, raw.validators)?;
        let perturbations = check_perturbations(raw.perturb, raw.validators, raw.observers)?;
        let defences_off = raw
            .defences_off
            .into_iter()
            .map(|name| Defence::parse(&name).ok_or(ManifestError::Defence(name)))
            .collect::<Result<Vec<_>, _>>()?;
        let links = raw
            .links
            .map(super::links::Links::check)
            .transpose()
            .map_err(|e| ManifestError::Links(e.to_string()))?;
        if links.is_some()
            && (raw.backend != BackendKind::Process || raw.disconnect == DisconnectChoice::Admin)
        {
            return Err(ManifestError::Links(
                "links need backend = \"process\" in network namespaces (disconnect = \"namespace\" or \"auto\")".into(),
            ));
        }
        Ok(Manifest {
            name: raw.name,
            backend: raw.backend,
            disconnect: raw.disconnect,
            validators: raw.validators,
            observers: raw.observers,
            voting_power,
            load,
            perturbations,
            catch_up_timeout_secs: raw.wait.catch_up_timeout_secs,
            defences_off,
            links,
        })
    }

    /// The hostile behaviours the schedule runs, in order.
    pub fn hostile_behaviours(&self) -> Vec<(NodeRef, HostileBehaviour)> {
        self.perturbations
            .iter()
            .filter_map(|p| match p.perturbation {
                Perturbation::Hostile { behaviour, .. } => Some((p.node, behaviour)),
                _ => None,
            })
            .collect()
    }

    /// Every perturbation kind appears at least once (what `ci.toml` promises).
    pub fn covers_every_perturbation(&self) -> bool {
        [
            "kill",
            "restart",
            "pause",
            "disconnect",
            "late-join",
            "rotate-key",
            "restore",
            "upgrade",
        ]
        .iter()
        .all(|kind| {
            self.perturbations
                .iter()
                .any(|p| p.perturbation.name() == *kind)
        })
    }
}

/// One non-zero power per validator (1 each if the manifest gives none),
/// none so large that losing its validator leaves 2/3 or less of the total.
fn check_voting_power(
    voting_power: Option<Vec<u64>>,
    validators: usize,
) -> Result<Vec<u64>, ManifestError> {
    let voting_power = voting_power.unwrap_or_else(|| vec![1; validators]);
    if voting_power.len() != validators {
        return Err(ManifestError::VotingPowerLength {
            got: voting_power.len(),
            validators,
        });
    }
    if voting_power.contains(&0) {
        return Err(ManifestError::VotingPowerZero);
    }
    // Any one validator may be killed, paused or cut off: the others
    // must still hold more than 2/3 of the power.
    let total = voting_power
        .iter()
        .try_fold(0u64, |sum, power| sum.checked_add(*power))
        .ok_or(ManifestError::VotingPowerOverflow)?;
    if validators > 1 {
        for (index, power) in voting_power.iter().enumerate() {
            if u128::from(*power) * 3 >= u128::from(total) {
                return Err(ManifestError::VotingPowerTooLarge {
                    index,
                    power: *power,
                    total,
                });
            }
        }
    }
    Ok(voting_power)
}

/// The `[[perturb]]` entries, each on a node the network has, with the
/// seconds its kind needs; a late joiner has no other perturbation. Sorted by
/// height, then node.
fn check_perturbations(
    raw: Vec<RawPerturb>,
    validators: usize,
    observers: usize,
) -> Result<Vec<ScheduledPerturbation>, ManifestError> {
    if raw.len() > PERTURBATIONS_MAX {
        return Err(ManifestError::TooManyPerturbations);
    }
    let mut perturbations = Vec::with_capacity(raw.len());
    for (index, p) in raw.into_iter().enumerate() {
        let node =
            resolve(&p.node, validators, observers).ok_or_else(|| ManifestError::UnknownNode {
                index,
                node: p.node.clone(),
            })?;
        let secs = |kind| match p.secs {
            Some(secs) if secs >= 1 => Ok(secs),
            _ => Err(ManifestError::Secs { index, kind }),
        };
        if !matches!(p.kind, RawKind::Hostile) {
            if p.behaviour.is_some() {
                return Err(ManifestError::HostileOnly {
                    index,
                    field: "behaviour",
                });
            }
            if p.rate.is_some() {
                return Err(ManifestError::HostileOnly {
                    index,
                    field: "rate",
                });
            }
        }
        let perturbation = match p.kind {
            RawKind::Kill => Perturbation::Kill,
            RawKind::Restart => Perturbation::Restart,
            RawKind::Pause => Perturbation::Pause {
                secs: secs("pause")?,
            },
            RawKind::Disconnect => Perturbation::Disconnect {
                secs: secs("disconnect")?,
            },
            RawKind::LateJoin => Perturbation::LateJoin,
            RawKind::Restore => Perturbation::Restore,
            RawKind::Upgrade => Perturbation::Upgrade,
            RawKind::Hostile => Perturbation::Hostile {
                behaviour: p
                    .behaviour
                    .as_deref()
                    .and_then(HostileBehaviour::parse)
                    .ok_or(ManifestError::Behaviour { index })?,
                secs: secs("hostile")?,
                rate: p.rate.filter(|r| *r > 0),
            },
            RawKind::RotateKey => {
                if !matches!(node, NodeRef::Validator(_)) {
                    return Err(ManifestError::RotateKeyValidatorOnly { index });
                }
                Perturbation::RotateKey
            }
        };
        perturbations.push(ScheduledPerturbation {
            node,
            at_height: p.at_height,
            perturbation,
        });
    }
    for (index, p) in perturbations.iter().enumerate() {
        let others = perturbations.iter().filter(|q| q.node == p.node).count();
        if p.perturbation == Perturbation::LateJoin && others > 1 {
            return Err(ManifestError::LateJoinAlone {
                index,
                node: p.node.to_string(),
            });
        }
    }
    perturbations.sort_by_key(|p| (p.at_height, p.node));
    Ok(perturbations)
}

fn check_load(raw: RawLoad, validators: usize) -> Result<Load, ManifestError> {
    if raw.rate == 0 || raw.rate > RATE_MAX {
        return Err(ManifestError::Rate(raw.rate));
    }
    if raw.duration_secs == 0 {
        return Err(ManifestError::Duration);
    }
    let mut mix = BTreeMap::new();
    for (name, weight) in raw.mix {
        let kind = MixKind::parse(&name).ok_or(ManifestError::MixKind(name))?;
        mix.insert(kind, weight);
    }
    if mix.values().all(|w| *w == 0) {
        return Err(ManifestError::Mix);
    }
    let known = crate::cluster::layout::cooperative_ids(validators);
    for name in raw.coops.keys() {
        if !known.contains(name) {
            return Err(ManifestError::UnknownCoop {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    if !raw.coops.is_empty() && raw.coops.values().all(|w| *w == 0) {
        return Err(ManifestError::CoopWeights);
    }
    Ok(Load {
        rate: raw.rate,
        duration_secs: raw.duration_secs,
        mix,
        coops: raw.coops,
    })
}

fn resolve(name: &str, validators: usize, observers: usize) -> Option<NodeRef> {
    let (role, index) = name.rsplit_once('-')?;
    // Reject "+1", "01" and the like: exactly the canonical decimal form.
    let n: usize = index.parse().ok()?;
    if n.to_string() != index {
        return None;
    }
    match role {
        "validator" if n < validators => Some(NodeRef::Validator(n)),
        "observer" if n < observers => Some(NodeRef::Observer(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "t"
validators = 4
observers = 1
[load]
rate = 10
duration_secs = 5
mix = { cross_coop_payment = 1 }
"#;

    fn with(extra: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(&format!("{SMALL}{extra}"))
    }

    #[test]
    fn shipped_manifests_parse_and_ci_covers_every_perturbation() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
        let ci = Manifest::load(&dir.join("ci.toml")).unwrap();
        assert!(ci.covers_every_perturbation(), "{ci:?}");
        assert_eq!(ci.voting_power, vec![2, 2, 2, 1]);
        assert_eq!(ci.load.coops.len(), 5);
        let soak = Manifest::load(&dir.join("soak.toml")).unwrap();
        assert!(soak.covers_every_perturbation());
        assert!(soak.load.duration_secs > ci.load.duration_secs);
        // The Byzantine manifests run every behaviour from a validator, and
        // at least the flood and the spam from the observer's key.
        for file in ["byzantine.toml", "byzantine-ci.toml"] {
            let m = Manifest::load(&dir.join(file)).unwrap();
            let phases = m.hostile_behaviours();
            for behaviour in HostileBehaviour::ALL {
                assert!(
                    phases
                        .iter()
                        .any(|(node, b)| *b == behaviour && matches!(node, NodeRef::Validator(_))),
                    "{file}: no {} from a validator",
                    behaviour.name()
                );
            }
            for behaviour in [HostileBehaviour::FutureFlood, HostileBehaviour::GossipSpam] {
                assert!(
                    phases
                        .iter()
                        .any(|(node, b)| *b == behaviour && matches!(node, NodeRef::Observer(_))),
                    "{file}: no {} from the observer",
                    behaviour.name()
                );
            }
            assert!(m.defences_off.is_empty());
        }
    }

    #[test]
    fn the_disconnect_method_can_be_chosen() {
        let choose = |value: &str| Manifest::parse(&format!("disconnect = {value}\n{SMALL}"));
        assert_eq!(
            choose("\"admin\"").unwrap().disconnect,
            DisconnectChoice::Admin
        );
        assert_eq!(
            choose("\"namespace\"").unwrap().disconnect,
            DisconnectChoice::Namespace
        );
        assert_eq!(
            choose("\"auto\"").unwrap().disconnect,
            DisconnectChoice::Auto
        );
        assert!(matches!(
            choose("\"iptables\""),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn schedule_is_sorted_and_defaults_apply() {
        let m = with(
            r#"
[[perturb]]
node = "validator-2"
kind = "pause"
at_height = 30
secs = 3
[[perturb]]
node = "validator-1"
kind = "kill"
at_height = 10
"#,
        )
        .unwrap();
        assert_eq!(m.backend, BackendKind::Process);
        assert_eq!(m.disconnect, DisconnectChoice::Auto);
        assert_eq!(m.voting_power, vec![1, 1, 1, 1]);
        assert_eq!(m.catch_up_timeout_secs, 60);
        assert_eq!(
            m.perturbations,
            vec![
                ScheduledPerturbation {
                    node: NodeRef::Validator(1),
                    at_height: 10,
                    perturbation: Perturbation::Kill
                },
                ScheduledPerturbation {
                    node: NodeRef::Validator(2),
                    at_height: 30,
                    perturbation: Perturbation::Pause { secs: 3 }
                },
            ]
        );
    }

    #[test]
    fn bad_perturbations_get_typed_errors() {
        let perturb = |node: &str, kind: &str, secs: &str| {
            with(&format!(
                "[[perturb]]\nnode = \"{node}\"\nkind = \"{kind}\"\nat_height = 5\n{secs}"
            ))
        };
        assert_eq!(
            perturb("validator-4", "kill", ""),
            Err(ManifestError::UnknownNode {
                index: 0,
                node: "validator-4".into()
            })
        );
        assert!(matches!(
            perturb("validator-01", "kill", ""),
            Err(ManifestError::UnknownNode { .. })
        ));
        assert!(matches!(
            perturb("observer-1", "kill", ""),
            Err(ManifestError::UnknownNode { .. })
        ));
        assert_eq!(
            perturb("validator-0", "pause", ""),
            Err(ManifestError::Secs {
                index: 0,
                kind: "pause"
            })
        );
        assert_eq!(
            perturb("validator-0", "disconnect", "secs = 0"),
            Err(ManifestError::Secs {
                index: 0,
                kind: "disconnect"
            })
        );
        assert!(matches!(
            perturb("validator-0", "explode", ""),
            Err(ManifestError::Syntax(_))
        ));
        let twice = "[[perturb]]\nnode = \"observer-0\"\nkind = \"late-join\"\nat_height = 5\n\
                     [[perturb]]\nnode = \"observer-0\"\nkind = \"kill\"\nat_height = 9\n";
        assert!(matches!(
            with(twice),
            Err(ManifestError::LateJoinAlone { .. })
        ));
    }

    #[test]
    fn hostile_phases_and_defences_parse_and_bad_ones_get_typed_errors() {
        let m = Manifest::parse(&format!(
            "defences_off = [\"evidence\"]\n{SMALL}\n\
             [[perturb]]\nnode = \"validator-2\"\nkind = \"hostile\"\nbehaviour = \"equivocate\"\nat_height = 5\nsecs = 20\n\
             [[perturb]]\nnode = \"observer-0\"\nkind = \"hostile\"\nbehaviour = \"gossip-spam\"\nat_height = 30\nsecs = 10\nrate = 500\n"
        ))
        .unwrap();
        assert_eq!(m.defences_off, vec![Defence::Evidence]);
        assert_eq!(
            m.perturbations[0].perturbation,
            Perturbation::Hostile {
                behaviour: HostileBehaviour::Equivocate,
                secs: 20,
                rate: None
            }
        );
        assert_eq!(
            m.hostile_behaviours(),
            vec![
                (NodeRef::Validator(2), HostileBehaviour::Equivocate),
                (NodeRef::Observer(0), HostileBehaviour::GossipSpam)
            ]
        );
        assert_eq!(
            m.perturbations[1].perturbation,
            Perturbation::Hostile {
                behaviour: HostileBehaviour::GossipSpam,
                secs: 10,
                rate: Some(500)
            }
        );
        let hostile = |extra: &str| {
            with(&format!(
                "[[perturb]]\nnode = \"validator-1\"\nkind = \"hostile\"\nat_height = 5\n{extra}"
            ))
        };
        assert_eq!(
            hostile("secs = 5"),
            Err(ManifestError::Behaviour { index: 0 })
        );
        assert_eq!(
            hostile("secs = 5\nbehaviour = \"tantrum\""),
            Err(ManifestError::Behaviour { index: 0 })
        );
        assert_eq!(
            hostile("behaviour = \"equivocate\""),
            Err(ManifestError::Secs {
                index: 0,
                kind: "hostile"
            })
        );
        assert_eq!(
            with("[[perturb]]\nnode = \"validator-1\"\nkind = \"kill\"\nat_height = 5\nbehaviour = \"equivocate\"\n"),
            Err(ManifestError::HostileOnly {
                index: 0,
                field: "behaviour"
            })
        );
        assert_eq!(
            Manifest::parse(&format!("defences_off = [\"moat\"]\n{SMALL}")),
            Err(ManifestError::Defence("moat".into()))
        );
        for name in HostileBehaviour::NAMES {
            assert_eq!(HostileBehaviour::parse(name).map(|b| b.name()), Some(name));
        }
        // `old-key` is the rotate-key perturbation's own, not a manifest's.
        assert_eq!(HostileBehaviour::parse("old-key"), None);
        assert_eq!(
            with("[[perturb]]\nnode = \"validator-1\"\nkind = \"hostile\"\nat_height = 5\nsecs = 3\nbehaviour = \"old-key\"\n"),
            Err(ManifestError::Behaviour { index: 0 })
        );
    }

    #[test]
    fn bad_fields_get_typed_errors() {
        assert!(matches!(with("colour = 1"), Err(ManifestError::Syntax(_))));
        assert_eq!(
            Manifest::parse(&SMALL.replace("validators = 4", "validators = 0")),
            Err(ManifestError::Validators(0))
        );
        assert_eq!(
            Manifest::parse(&SMALL.replace("rate = 10", "rate = 0")),
            Err(ManifestError::Rate(0))
        );
        assert_eq!(
            Manifest::parse(&SMALL.replace("cross_coop_payment = 1", "teleport = 1")),
            Err(ManifestError::MixKind("teleport".into()))
        );
        assert_eq!(
            Manifest::parse(&SMALL.replace("cross_coop_payment = 1", "cash_in = 0")),
            Err(ManifestError::Mix)
        );
        assert!(matches!(
            Manifest::parse("\u{0}garbage"),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn bad_voting_power_gets_typed_errors() {
        // After a table header the key belongs to [load], which has no such field.
        assert!(matches!(
            with("voting_power = [1, 1]"),
            Err(ManifestError::Syntax(_))
        ));
        assert_eq!(
            Manifest::parse(&format!("voting_power = [1, 1]\n{SMALL}")),
            Err(ManifestError::VotingPowerLength {
                got: 2,
                validators: 4
            })
        );
        assert_eq!(
            Manifest::parse(&format!("voting_power = [1, 0, 1, 1]\n{SMALL}")),
            Err(ManifestError::VotingPowerZero)
        );
        assert_eq!(
            Manifest::parse(&format!("voting_power = [3, 2, 2, 2]\n{SMALL}")),
            Err(ManifestError::VotingPowerTooLarge {
                index: 0,
                power: 3,
                total: 9
            })
        );
        let huge = u64::MAX / 2;
        assert_eq!(
            Manifest::parse(&format!(
                "voting_power = [{huge}, {huge}, {huge}, {huge}]\n{SMALL}"
            )),
            Err(ManifestError::VotingPowerOverflow)
        );
    }

    #[test]
    fn bad_coop_weights_get_typed_errors() {
        let coops = |line: &str| {
            SMALL.replace(
                "cross_coop_payment = 1 }",
                &format!("cross_coop_payment = 1 }}\ncoops = {{ {line} }}"),
            )
        };
        assert!(matches!(
            Manifest::parse(&coops("atlantis = 1")),
            Err(ManifestError::UnknownCoop { name, .. }) if name == "atlantis"
        ));
        assert_eq!(
            Manifest::parse(&coops("ksp-sejahtera = 0")),
            Err(ManifestError::CoopWeights)
        );
        let weighted = Manifest::parse(&coops("konsumen-rukun = 2, taksi-bersama = 1")).unwrap();
        assert_eq!(weighted.load.to_mix().coops.len(), 2);
    }

    #[test]
    fn oversize_and_missing_files_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MANIFEST_BYTES_MAX as usize + 1]).unwrap();
        assert!(matches!(
            Manifest::load(&big),
            Err(ManifestError::TooLarge { .. })
        ));
        assert!(matches!(
            Manifest::load(&dir.path().join("missing.toml")),
            Err(ManifestError::Read { .. })
        ));
    }
}
