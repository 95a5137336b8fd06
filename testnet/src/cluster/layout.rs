//! `kopnet testnet init`: keys, genesis and node homes for a local
//! cooperative city, written without starting anything.
//!
//! ```text
//! DIR/genesis.json            the network genesis (also copied into each node home)
//! DIR/testnet.json            {"nodes": [{"id","role","home","key","api_url"}], ...}
//! DIR/node-<coop>/            validator homes: config.toml, genesis.json, node.key
//! DIR/observer-<n>/           observer homes
//! DIR/coops/<coop>.key        every cooperative's key (teller desk)
//! DIR/wallets/<name>.key      demo member and merchant keys
//! ```

use anyhow::{bail, Result};
use kopnet_consensus::Keypair;
use kopnet_ledger::{CoopId, Genesis, GenesisCooperative};
use kopnet_node::config::{ConsensusConfig, NodeConfig, Role};
use kopnet_node::genesis_file::{NetworkGenesis, ObserverEntry};
use kopnet_node::keyfile;
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    pub id: String,
    pub role: String,
    pub home: PathBuf,
    pub key: PathBuf,
    pub api_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoopEntry {
    pub id: String,
    pub name: String,
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

fn new_key(path: &Path) -> Result<Keypair> {
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
pub fn init(dir: &Path, validators: usize, observers: usize) -> Result<Layout> {
    init_with_power(dir, validators, observers, &vec![1; validators])
}

/// [`init`] with the given voting power per validator.
pub fn init_with_power(
    dir: &Path,
    validators: usize,
    observers: usize,
    voting_power: &[u64],
) -> Result<Layout> {
    if voting_power.len() != validators || voting_power.contains(&0) {
        bail!("give one non-zero voting power per validator");
    }
    if !(1..=20).contains(&validators) {
        bail!("--validators must be between 1 and 20");
    }
    if observers > 10 {
        bail!("--observers must be at most 10");
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} is not empty; choose a new --dir", dir.display());
    }
    std::fs::create_dir_all(dir.join("coops"))?;
    std::fs::create_dir_all(dir.join("wallets"))?;
    let chain_id = format!("kopnet-local-{}", rand::random::<u16>());

    let mut coops = coop_names(validators);
    coops.push((CONSUMER.0.to_string(), CONSUMER.1.to_string()));
    let mut genesis_coops = Vec::new();
    let mut coop_keys = Vec::new();
    for (index, (id, name)) in coops.iter().enumerate() {
        let path = dir.join("coops").join(format!("{id}.key"));
        let key = new_key(&path)?;
        genesis_coops.push(GenesisCooperative {
            id: CoopId::new(id)?,
            name: name.clone(),
            key: key.public(),
            voting_power: voting_power.get(index).copied().unwrap_or(0),
            ndc: DEMO_NDC,
        });
        coop_keys.push((id.clone(), name.clone(), path, key));
    }
    let mut observer_entries = Vec::new();
    let mut observer_keys = Vec::new();
    for n in 0..observers {
        let home = dir.join(format!("observer-{n}"));
        std::fs::create_dir_all(&home)?;
        let key = new_key(&home.join("node.key"))?;
        observer_entries.push(ObserverEntry {
            name: format!("regulator-{n}"),
            key: key.public(),
        });
        observer_keys.push(home);
    }
    let genesis = NetworkGenesis {
        ledger: Genesis::new(&chain_id, genesis_coops),
        observers: observer_entries,
    };
    let genesis_json = genesis.to_json();
    std::fs::write(dir.join("genesis.json"), &genesis_json)?;

    // Node homes: validators first, then observers.
    let mut homes: Vec<(String, Role, PathBuf, PathBuf)> = Vec::new();
    for (id, _, key_path, key) in coop_keys.iter().take(validators) {
        let home = dir.join(format!("node-{id}"));
        std::fs::create_dir_all(&home)?;
        keyfile::write_new(&home.join("node.key"), key)?;
        homes.push((id.clone(), Role::Validator, home, key_path.clone()));
    }
    for (n, home) in observer_keys.into_iter().enumerate() {
        let key = home.join("node.key");
        homes.push((format!("observer-{n}"), Role::Observer, home, key));
    }
    let ports: Vec<(u16, u16)> = super::ports::reserve(homes.len() * 2)?
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .collect();
    let mut nodes = Vec::new();
    for (index, (id, role, home, key)) in homes.iter().enumerate() {
        let (p2p, api) = ports.get(index).copied().unwrap_or_default();
        let peers = ports
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, (p, _))| format!("/ip4/127.0.0.1/tcp/{p}"))
            .collect();
        let config = NodeConfig {
            role: *role,
            listen: vec![format!("/ip4/127.0.0.1/tcp/{p2p}")],
            peers,
            api: std::net::SocketAddr::from(([127, 0, 0, 1], api)),
            admin_api: true,
            consensus: testnet_consensus(),
            ..NodeConfig::default()
        };
        std::fs::write(home.join("config.toml"), config.to_toml())?;
        std::fs::write(home.join("genesis.json"), &genesis_json)?;
        nodes.push(NodeEntry {
            id: id.clone(),
            role: role.as_str().to_string(),
            home: home.clone(),
            key: key.clone(),
            api_url: format!("http://127.0.0.1:{api}"),
        });
    }

    let first_api = nodes.first().map(|n| n.api_url.clone()).unwrap_or_default();
    let mut cooperatives = Vec::new();
    let mut wallets = Vec::new();
    for (index, (id, name, key_path, _)) in coop_keys.iter().enumerate() {
        let node = nodes
            .get(index.min(validators.saturating_sub(1)))
            .map(|n| n.api_url.clone())
            .unwrap_or_else(|| first_api.clone());
        cooperatives.push(CoopEntry {
            id: id.clone(),
            name: name.clone(),
            key: key_path.clone(),
            node,
        });
        for (wallet, kind) in wallet_names(id) {
            let path = dir.join("wallets").join(format!("{wallet}.key"));
            new_key(&path)?;
            wallets.push(WalletEntry {
                name: wallet,
                home: id.clone(),
                kind: kind.to_string(),
                key: path,
            });
        }
    }
    let layout = Layout {
        chain_id,
        nodes,
        cooperatives,
        wallets,
    };
    std::fs::write(
        dir.join("testnet.json"),
        serde_json::to_string_pretty(&layout)?,
    )?;
    Ok(layout)
}
