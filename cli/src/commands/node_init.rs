//! `kopnet node init`: a node home from a genesis and the node's keys.
//!
//! The genesis comes from a file (`--genesis FILE`, a network being
//! founded) or from the network being joined (`--join URL_OR_FILE`, see
//! [`super::node_join`]): a running node's `GET /v1/genesis`, checked and
//! printed with its hash so the operator can compare it with what the
//! other cooperatives see (and pin it with `--genesis-hash`). The home gets
//! `genesis.json`, `node.key` (and a validator's `validator.key`, copied
//! from the key files given: never the cooperative key) and a
//! `config.toml` whose `peers` are the network's bootstrap peers.

use super::node_join::{self, JoinSource};
use anyhow::{bail, Context, Result};
use kopnet_node::config::{NodeConfig, Role};
use kopnet_node::genesis_file::NetworkGenesis;
use kopnet_node::keyfile;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The node home to create (its config.toml must not exist yet).
    #[arg(long)]
    pub home: PathBuf,
    /// The network's genesis file (a network being founded).
    #[arg(long, required_unless_present = "join", conflicts_with = "join")]
    pub genesis: Option<PathBuf>,
    /// Join a running network: a node's API URL (its `/v1/genesis` is
    /// fetched) or a genesis file. Without `--peer`, a URL's host on the
    /// default p2p port (26656, a name resolved now) becomes the bootstrap
    /// peer.
    #[arg(long, value_name = "GENESIS_URL_OR_FILE")]
    pub join: Option<String>,
    /// Refuse the genesis unless its hash is this (64 hex digits, as
    /// printed by `kopnet node init` on any node of the network).
    #[arg(long)]
    pub genesis_hash: Option<String>,
    /// The node identity's key file (libp2p; becomes `node.key`).
    #[arg(long)]
    pub key: PathBuf,
    /// The validator key file (consensus; becomes `validator.key`).
    /// Required for a validator.
    #[arg(long)]
    pub validator_key: Option<PathBuf>,
    /// Run as a read-only observer.
    #[arg(long)]
    pub observer: bool,
    /// HTTP API address (behind a reverse proxy keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub api: std::net::SocketAddr,
    /// libp2p listen address (`/ip4/0.0.0.0/tcp/26656` to take other
    /// cooperatives' connections).
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/26656")]
    pub listen: String,
    /// Addresses of other nodes to dial, e.g. `/ip4/203.0.113.10/tcp/26656`
    /// (repeatable).
    #[arg(long = "peer")]
    pub peers: Vec<String>,
}

pub async fn run(args: InitArgs) -> Result<i32> {
    if let Some(pinned) = &args.genesis_hash {
        let pinned = pinned.trim();
        if pinned.len() != 64 || !pinned.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("--genesis-hash {pinned:?}: write the 64 hex digits `kopnet node init` printed");
        }
    }
    let (parsed, source, default_peer) = match (&args.genesis, &args.join) {
        (Some(file), None) => (
            NetworkGenesis::load(file)?,
            file.display().to_string(),
            None,
        ),
        (None, Some(join)) => {
            let source = JoinSource::parse(join)?;
            let genesis = node_join::fetch_genesis(&source).await?;
            let default_peer = match args.peers.is_empty() {
                true => source.default_peer().await?,
                false => None,
            };
            (genesis, source.to_string(), default_peer)
        }
        _ => bail!("give the genesis: --genesis FILE, or --join URL_OR_FILE"),
    };
    let genesis_hash = parsed.ledger.hash().to_hex();
    if let Some(expected) = &args.genesis_hash {
        if !expected.trim().eq_ignore_ascii_case(&genesis_hash) {
            bail!(
                "the genesis from {source} has hash {genesis_hash}, not the expected {}: \
                 it is not the network you meant to join",
                expected.trim()
            );
        }
    }
    let keypair = keyfile::read(&args.key)?;
    let validator = match (&args.validator_key, args.observer) {
        (Some(path), false) => Some(keyfile::read(path)?),
        (None, false) => bail!("a validator needs --validator-key (its consensus key)"),
        (Some(_), true) => bail!("an observer signs nothing: leave out --validator-key"),
        (None, true) => None,
    };
    if validator
        .as_ref()
        .is_some_and(|v| v.public() == keypair.public())
    {
        bail!("the validator key and the node identity must be different keys");
    }
    let home = &args.home;
    if home.join("config.toml").exists() {
        bail!("{} already has a config.toml", home.display());
    }
    let peers = if args.peers.is_empty() {
        default_peer.into_iter().collect()
    } else {
        args.peers.clone()
    };
    let config = NodeConfig {
        role: if args.observer {
            Role::Observer
        } else {
            Role::Validator
        },
        listen: vec![args.listen.clone()],
        peers,
        api: args.api,
        ..NodeConfig::default()
    };
    // Checked before anything is written: a bad --listen or --peer leaves
    // no half-made home behind.
    config.validate()?;
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    keyfile::write_new(&home.join("node.key"), &keypair)?;
    if let Some(validator) = &validator {
        keyfile::write_new(&home.join("validator.key"), validator)?;
    }
    write(&home.join("genesis.json"), &parsed.to_json())?;
    write(&home.join("config.toml"), &config.to_toml())?;
    report(
        &args,
        &parsed,
        &genesis_hash,
        &config,
        &keypair,
        validator.as_ref(),
    );
    Ok(0)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// What was made, for the operator (and the peers to tell the others).
fn report(
    args: &InitArgs,
    genesis: &NetworkGenesis,
    genesis_hash: &str,
    config: &NodeConfig,
    node_key: &kopnet_consensus::Keypair,
    validator: Option<&kopnet_consensus::Keypair>,
) {
    let node_address = node_key.public().to_address();
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({
            "home": args.home.display().to_string(),
            "chain_id": genesis.ledger.chain_id,
            "genesis_hash": genesis_hash,
            "role": config.role.as_str(),
            "node_key": node_address,
            "validator_key": validator.map(|v| v.public().to_address()),
            "api": config.api.to_string(),
            "listen": config.listen,
            "peers": config.peers,
        }));
        return;
    }
    say!("initialised {} for {node_address}", args.home.display());
    say!(
        "chain {}  genesis hash {genesis_hash}",
        genesis.ledger.chain_id
    );
    if config.peers.is_empty() {
        say!("no peers: add the other nodes' p2p addresses to `peers` in config.toml");
    } else {
        say!("peers {}", config.peers.join(", "));
    }
}
