//! `kopnet testnet init`: keys, genesis and node homes for a local
//! cooperative city, written without starting anything.
//!
//! ```text
//! DIR/genesis.json            the network genesis (also copied into each node home)
//! DIR/testnet.json            {"nodes": [{"id","role","home","key","api_url"}], ...}
//! DIR/node-<coop>/            validator homes: config.toml, genesis.json,
//!                             validator.key (signs consensus messages),
//!                             node.key (libp2p identity)
//! DIR/observer-<n>/           observer homes (node.key: their one identity)
//! DIR/coops/<coop>/cooperative.key
//!                             every cooperative's cooperative key
//! DIR/coops/konsumen-rukun/{validator,node}.key
//!                             the consumer cooperative's other keys (it has
//!                             no node; genesis binds all three)
//! DIR/wallets/<name>.key      demo member and merchant keys
//! ```
//!
//! Each key has one job (issue 16). The cooperative key signs the
//! cooperative's ledger transactions and is never read by a node: a real
//! board keeps it offline. In a local testnet it is kept beside the node
//! homes, in `coops/`, because the demo and load driver (`testnet up`,
//! the fault runner, the bench) act as every cooperative's board and
//! teller desk.

use super::ports::PortsError;
use kopnet_consensus::Keypair;
use kopnet_ledger::bounds::ValidatorLimits;
use kopnet_ledger::genesis::GenesisError;
use kopnet_ledger::genesis::GenesisObserver;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::types::InvalidCoopId;
use kopnet_ledger::{CoopId, Genesis, GenesisCooperative};
use kopnet_node::config::{AuditConfig, ConsensusConfig, HttpConfig, NodeConfig, Role};
use kopnet_node::genesis_file::NetworkGenesis;
use kopnet_node::keyfile::{self, KeyFileError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Validator cooperatives of the demo city, in order; more are numbered.
const CITY: [(&str, &str); 4] = [
    ("ksp-sejahtera", "KSP Sejahtera (savings and credit)"),
    (
        "pasar-makmur",
        "Koperasi Pedagang Pasar Makmur (market traders)",
    ),
    ("angkot-maju", "Koperasi Angkot Maju (city transport)"),
    ("taksi-bersama", "Koperasi Taksi Bersama (taxi)"),
];
/// A participant without a node of its own: its tellers use any node.
const CONSUMER: (&str, &str) = ("konsumen-rukun", "Koperasi Konsumen Rukun (consumer)");
/// Net debit cap of every demo cooperative: Rp 50.000.000.
pub const DEMO_NDC: u64 = 50_000_000;
/// A local network's cash reporting threshold: Rp10.000.000 a member a
/// day (the real one, Rp500.000.000, is beyond any demo account's balance
/// cap), so that the demo's planted cash cases show in `kopnet audit
/// report`.
pub const DEMO_CASH_REPORT_THRESHOLD: u64 = 10_000_000;
/// A local network's settlement period: a window closes every minute.
pub const DEMO_SETTLEMENT_PERIOD_MS: u64 = 60_000;

/// The rules a local network's genesis sets besides its cooperatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenesisRules {
    /// When settlement windows close.
    pub settlement: SettlementSchedule,
    /// The limits on the validator set.
    pub validator_limits: ValidatorLimits,
    /// Every cooperative's net debit cap (the network fund's is the
    /// genesis default, [`kopnet_ledger::genesis::NETWORK_NDC_DEFAULT`]:
    /// what the demo's cashback and refunds need between a window's
    /// cut-off and its settlement).
    pub ndc: u64,
    /// How long a member-key recovery waits (ms of block time).
    pub recovery_wait_ms: u64,
    /// The daily cash a member may move before observers report it
    /// ([`DEMO_CASH_REPORT_THRESHOLD`] on a local network).
    pub cash_report_threshold: u64,
}

impl Default for GenesisRules {
    /// Windows every [`DEMO_SETTLEMENT_PERIOD_MS`], the demo cooperatives'
    /// net debit cap [`DEMO_NDC`], the default limits.
    fn default() -> Self {
        GenesisRules {
            settlement: SettlementSchedule::every(DEMO_SETTLEMENT_PERIOD_MS),
            validator_limits: ValidatorLimits::default(),
            ndc: DEMO_NDC,
            recovery_wait_ms: kopnet_ledger::recovery::RECOVERY_WAIT_MS_DEFAULT,
            cash_report_threshold: DEMO_CASH_REPORT_THRESHOLD,
        }
    }
}
/// Most validators a local network has.
const VALIDATORS_MAX: usize = 20;
/// Most observers a local network has.
const OBSERVERS_MAX: usize = 10;

/// Why a testnet could not be laid out.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("give one non-zero voting power per validator")]
    VotingPower,
    #[error("--validators must be between 1 and {VALIDATORS_MAX}")]
    Validators,
    #[error("--observers must be at most {OBSERVERS_MAX}")]
    Observers,
    #[error("{} is not empty; choose a new --dir", .0.display())]
    NotEmpty(PathBuf),
    #[error("cannot {action} {}: {error}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    CoopId(#[from] InvalidCoopId),
    #[error(transparent)]
    Ports(#[from] PortsError),
    #[error("cannot encode testnet.json: {0}")]
    Encode(serde_json::Error),
    #[error("the genesis would not be valid: {0}")]
    Genesis(#[from] GenesisError),
}

/// An I/O step of [`init`] on `path`, failing with that context.
fn io<T>(action: &'static str, path: &Path, result: std::io::Result<T>) -> Result<T, InitError> {
    result.map_err(|error| InitError::Io {
        action,
        path: path.to_path_buf(),
        error,
    })
}

fn create_dir(path: &Path) -> Result<(), InitError> {
    io("create", path, std::fs::create_dir_all(path))
}

fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), InitError> {
    io("write", path, std::fs::write(path, contents))
}

impl Layout {
    /// The key the test rig reads with (signed requests, see
    /// `kopnet_node::api::access`): the first observer's node key — a
    /// regulator's, which may read every account — or, in a network
    /// without observers, the first cooperative's key (a participant:
    /// blocks and transactions, and its own members' accounts).
    pub fn reader_key(&self) -> Result<Keypair, kopnet_node::keyfile::KeyFileError> {
        match self.nodes.iter().find(|n| n.role == "observer") {
            Some(observer) => kopnet_node::keyfile::read(&observer.key),
            None => match self.cooperatives.first() {
                Some(coop) => kopnet_node::keyfile::read(&coop.key),
                None => Err(kopnet_node::keyfile::KeyFileError::Read {
                    path: "testnet.json".into(),
                    reason: "the layout has no observer and no cooperative".into(),
                }),
            },
        }
    }

    /// A client of the node at `api_url` signing with [`Layout::reader_key`]
    /// (anonymous if the key file cannot be read: reads of members then fail
    /// with the node's `not_permitted`, which names the cause).
    pub fn reader(&self, api_url: &str) -> kopnet_node::api::client::Client {
        match self.reader_key() {
            Ok(key) => kopnet_node::api::client::Client::signed(api_url, key),
            Err(_) => kopnet_node::api::client::Client::new(api_url),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    pub id: String,
    pub role: String,
    pub home: PathBuf,
    /// The key file its consensus messages are signed with: a validator's
    /// `validator.key`, an observer's `node.key` (it signs nothing).
    pub key: PathBuf,
    /// Its libp2p identity's key file (`node.key`).
    #[serde(default)]
    pub node_key: PathBuf,
    pub api_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoopEntry {
    pub id: String,
    pub name: String,
    /// The cooperative key file (`coops/<id>/cooperative.key`).
    pub key: PathBuf,
    /// API of the node its teller desk uses.
    pub node: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalletEntry {
    pub name: String,
    pub home: String,
    pub kind: String,
    pub key: PathBuf,
}

/// `DIR/testnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Layout {
    pub chain_id: String,
    pub nodes: Vec<NodeEntry>,
    pub cooperatives: Vec<CoopEntry>,
    pub wallets: Vec<WalletEntry>,
}

fn coop_names(validators: usize) -> Vec<(String, String)> {
    (0..validators)
        .map(|i| match CITY.get(i) {
            Some((id, name)) => (id.to_string(), name.to_string()),
            None => (
                format!("koperasi-{}", i + 1),
                format!("Koperasi Serba Usaha {}", i + 1),
            ),
        })
        .collect()
}

/// Demo wallets per cooperative: two members and a merchant.
fn wallet_names(coop: &str) -> Vec<(String, &'static str)> {
    let short: String = coop.split('-').next().unwrap_or(coop).to_string();
    vec![
        (format!("{short}-anggota-1"), "member"),
        (format!("{short}-anggota-2"), "member"),
        (format!("{short}-pedagang"), "merchant"),
    ]
}

fn new_key(path: &Path) -> Result<Keypair, InitError> {
    let key = Keypair::generate(&mut rand::rngs::OsRng);
    keyfile::write_new(path, &key)?;
    Ok(key)
}

fn testnet_consensus() -> ConsensusConfig {
    ConsensusConfig {
        timeout_propose_ms: 1_500,
        timeout_prevote_ms: 750,
        timeout_precommit_ms: 750,
        timeout_delta_ms: 250,
        empty_block_interval_ms: 1_000,
        block_interval_min_ms: kopnet_node::config::BLOCK_INTERVAL_MIN_MS_DEFAULT,
    }
}

/// Ids of the cooperatives a layout with `validators` validators has: the
/// validators' cooperatives in order, then the consumer cooperative.
pub fn cooperative_ids(validators: usize) -> Vec<String> {
    let mut ids: Vec<String> = coop_names(validators)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.push(CONSUMER.0.to_string());
    ids
}

/// Write a fresh testnet into `dir` (which must be empty or missing), every
/// validator with voting power 1.
pub fn init(dir: &Path, validators: usize, observers: usize) -> Result<Layout, InitError> {
    init_with_power(dir, validators, observers, &vec![1; validators])
}

/// A cooperative's key file and keys, made by [`init_with_power`].
struct CoopKey {
    id: String,
    name: String,
    /// The cooperative key's file.
    path: PathBuf,
    key: Keypair,
    validator: Keypair,
    node: Keypair,
}

/// A node home to configure: its id, role, folder, the key file it signs
/// consensus messages with and its identity's.
struct Home {
    id: String,
    role: Role,
    dir: PathBuf,
    key: PathBuf,
    node_key: PathBuf,
}

/// [`init`] with the given voting power per validator.
pub fn init_with_power(
    dir: &Path,
    validators: usize,
    observers: usize,
    voting_power: &[u64],
) -> Result<Layout, InitError> {
    init_with(
        dir,
        validators,
        observers,
        voting_power,
        GenesisRules::default(),
    )
}

/// [`init_with_power`] with the genesis `rules` (settlement schedule,
/// validator limits); a genesis those rules make invalid is refused
/// ([`InitError::Genesis`]) before any genesis file or node home is
/// written.
pub fn init_with(
    dir: &Path,
    validators: usize,
    observers: usize,
    voting_power: &[u64],
    rules: GenesisRules,
) -> Result<Layout, InitError> {
    check_init(dir, validators, observers, voting_power)?;
    create_dir(&dir.join("wallets"))?;
    let chain_id = format!("kopnet-local-{}", rand::random::<u16>());

    let coop_keys = new_coop_keys(dir, validators)?;
    let genesis_coops = genesis_cooperatives(&coop_keys, voting_power, rules.ndc)?;
    let mut ledger = Genesis::new(&chain_id, genesis_coops);
    ledger.settlement = rules.settlement;
    ledger.validator_limits = rules.validator_limits;
    ledger.recovery_wait_ms = rules.recovery_wait_ms;
    ledger.cash_report_threshold = rules.cash_report_threshold;
    let (observer_entries, observer_homes) = new_observer_homes(dir, observers)?;
    ledger.observers = observer_entries;
    ledger.validate()?;
    let genesis = NetworkGenesis { ledger };
    let genesis_json = genesis.to_json();
    write(&dir.join("genesis.json"), &genesis_json)?;

    let homes = node_homes(dir, &coop_keys, validators, observer_homes);
    let nodes = configure_nodes(&homes, &genesis_json)?;
    let (cooperatives, wallets) = teller_desks(dir, &coop_keys, &nodes, validators)?;
    let layout = Layout {
        chain_id,
        nodes,
        cooperatives,
        wallets,
    };
    let json = serde_json::to_string_pretty(&layout).map_err(InitError::Encode)?;
    write(&dir.join("testnet.json"), json)?;
    Ok(layout)
}

/// The arguments of [`init_with_power`] are in bounds, one non-zero power per
/// validator, and `dir` is empty or missing.
fn check_init(
    dir: &Path,
    validators: usize,
    observers: usize,
    voting_power: &[u64],
) -> Result<(), InitError> {
    if voting_power.len() != validators || voting_power.contains(&0) {
        return Err(InitError::VotingPower);
    }
    if !(1..=VALIDATORS_MAX).contains(&validators) {
        return Err(InitError::Validators);
    }
    if observers > OBSERVERS_MAX {
        return Err(InitError::Observers);
    }
    if dir.exists() && io("read", dir, std::fs::read_dir(dir))?.next().is_some() {
        return Err(InitError::NotEmpty(dir.to_path_buf()));
    }
    Ok(())
}

/// Three new keys for each validator's cooperative, then the consumer
/// cooperative's: the cooperative key in `coops/<id>/cooperative.key`;
/// a validator's validator and node keys in its home `node-<id>/`, the
/// consumer cooperative's (no node) beside its cooperative key.
fn new_coop_keys(dir: &Path, validators: usize) -> Result<Vec<CoopKey>, InitError> {
    let mut coops = coop_names(validators);
    coops.push((CONSUMER.0.to_string(), CONSUMER.1.to_string()));
    coops
        .into_iter()
        .enumerate()
        .map(|(index, (id, name))| {
            let coop_dir = dir.join("coops").join(&id);
            create_dir(&coop_dir)?;
            let path = coop_dir.join("cooperative.key");
            let key = new_key(&path)?;
            let node_dir = if index < validators {
                let home = dir.join(format!("node-{id}"));
                create_dir(&home)?;
                home
            } else {
                coop_dir
            };
            let validator = new_key(&node_dir.join("validator.key"))?;
            let node = new_key(&node_dir.join("node.key"))?;
            Ok(CoopKey {
                id,
                name,
                path,
                key,
                validator,
                node,
            })
        })
        .collect()
}

/// The genesis entry of each cooperative: the validators with their voting
/// power, the consumer cooperative (past `voting_power`) with none, each
/// with net debit cap `ndc`.
fn genesis_cooperatives(
    coop_keys: &[CoopKey],
    voting_power: &[u64],
    ndc: u64,
) -> Result<Vec<GenesisCooperative>, InitError> {
    coop_keys
        .iter()
        .enumerate()
        .map(|(index, coop)| {
            Ok(GenesisCooperative {
                id: CoopId::new(&coop.id)?,
                name: coop.name.clone(),
                key: coop.key.public(),
                voting_power: voting_power.get(index).copied().unwrap_or(0),
                ndc,
                validator_key: coop.validator.public(),
                node_key: coop.node.public(),
            })
        })
        .collect()
}

/// `observer-<n>` homes, each with a new node key, and their genesis entries
/// (`regulator-<n>`).
fn new_observer_homes(
    dir: &Path,
    observers: usize,
) -> Result<(Vec<GenesisObserver>, Vec<PathBuf>), InitError> {
    let mut observer_entries = Vec::new();
    let mut observer_homes = Vec::new();
    for n in 0..observers {
        let home = dir.join(format!("observer-{n}"));
        create_dir(&home)?;
        let key = new_key(&home.join("node.key"))?;
        observer_entries.push(GenesisObserver {
            name: format!("regulator-{n}"),
            key: key.public(),
        });
        observer_homes.push(home);
    }
    Ok((observer_entries, observer_homes))
}

/// Node homes: validators first (`node-<coop id>`, holding the
/// validator and node keys [`new_coop_keys`] wrote, never the cooperative
/// key), then the observers.
fn node_homes(
    dir: &Path,
    coop_keys: &[CoopKey],
    validators: usize,
    observer_homes: Vec<PathBuf>,
) -> Vec<Home> {
    let mut homes = Vec::new();
    for coop in coop_keys.iter().take(validators) {
        let home = dir.join(format!("node-{}", coop.id));
        homes.push(Home {
            id: coop.id.clone(),
            role: Role::Validator,
            key: home.join("validator.key"),
            node_key: home.join("node.key"),
            dir: home,
        });
    }
    for (n, home) in observer_homes.into_iter().enumerate() {
        homes.push(Home {
            id: format!("observer-{n}"),
            role: Role::Observer,
            key: home.join("node.key"),
            node_key: home.join("node.key"),
            dir: home,
        });
    }
    homes
}

/// Give every home two local ports (p2p, API), a config that dials all the
/// other nodes, and the genesis.
fn configure_nodes(homes: &[Home], genesis_json: &str) -> Result<Vec<NodeEntry>, InitError> {
    let ports: Vec<(u16, u16)> = super::ports::reserve(homes.len() * 2)?
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    let mut nodes = Vec::new();
    for (index, home) in homes.iter().enumerate() {
        let (p2p, api) = ports.get(index).copied().unwrap_or_default();
        let peers = ports
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, (p, _))| format!("/ip4/127.0.0.1/tcp/{p}"))
            .collect();
        let config = NodeConfig {
            role: home.role,
            listen: vec![format!("/ip4/127.0.0.1/tcp/{p2p}")],
            peers,
            api: std::net::SocketAddr::from(([127, 0, 0, 1], api)),
            admin_api: true,
            consensus: testnet_consensus(),
            // Every client of a local test network (load driver, bench
            // readers, runner) is 127.0.0.1: no per-address caps or rates
            // that would throttle them; the timeouts are the default's.
            http: HttpConfig::unthrottled(),
            // An observer is the regulator's desk: the demo's short
            // dormancy, so the planted dormant account shows in minutes.
            audit: match home.role {
                Role::Observer => AuditConfig::demo(),
                Role::Validator => AuditConfig::default(),
            },
            ..NodeConfig::default()
        };
        write(&home.dir.join("config.toml"), config.to_toml())?;
        write(&home.dir.join("genesis.json"), genesis_json)?;
        nodes.push(NodeEntry {
            id: home.id.clone(),
            role: home.role.as_str().to_string(),
            home: home.dir.clone(),
            key: home.key.clone(),
            node_key: home.node_key.clone(),
            api_url: format!("http://127.0.0.1:{api}"),
        });
    }
    Ok(nodes)
}

/// Every cooperative's teller desk (the node it uses: its own, or the
/// last validator's for the consumer cooperative) and its demo wallets,
/// whose keys are written under `dir/wallets`.
fn teller_desks(
    dir: &Path,
    coop_keys: &[CoopKey],
    nodes: &[NodeEntry],
    validators: usize,
) -> Result<(Vec<CoopEntry>, Vec<WalletEntry>), InitError> {
    let first_api = nodes.first().map(|n| n.api_url.clone()).unwrap_or_default();
    let mut cooperatives = Vec::new();
    let mut wallets = Vec::new();
    for (index, coop) in coop_keys.iter().enumerate() {
        let node = nodes
            .get(index.min(validators.saturating_sub(1)))
            .map(|n| n.api_url.clone())
            .unwrap_or_else(|| first_api.clone());
        cooperatives.push(CoopEntry {
            id: coop.id.clone(),
            name: coop.name.clone(),
            key: coop.path.clone(),
            node,
        });
        for (wallet, kind) in wallet_names(&coop.id) {
            let path = dir.join("wallets").join(format!("{wallet}.key"));
            new_key(&path)?;
            wallets.push(WalletEntry {
                name: wallet,
                home: coop.id.clone(),
                kind: kind.to_string(),
                key: path,
            });
        }
    }
    Ok((cooperatives, wallets))
}
