//! Starting a node from its home directory.

use crate::api::ApiState;
use crate::commit::{init_validator_sets, validator_set_for};
use crate::config::{NodeConfig, Role};
use crate::genesis_file::NetworkGenesis;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::p2p::{self, P2pConfig};
use crate::runtime::Runtime;
use crate::safety_file::SafetyFile;
use crate::shared::{NodeState, EVENTS_BUFFER, OUTBOX_MAX};
use crate::verified::VerifiedSignatures;
use crate::{keyfile, wire};
use kopnet_consensus::{Engine, EngineConfig, TimeoutConfig};
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::{Ledger, SledStorage};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

/// Longest wait for open API requests at shutdown.
const API_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Gossiped transaction batches verified concurrently.
const INGEST_BATCHES: usize = 4;
/// Verified signatures remembered per node.
const VERIFIED_CACHE: usize = 262_144;

/// The files of a node's home directory.
#[derive(Debug, Clone)]
pub struct NodeHome {
    pub dir: PathBuf,
}

impl NodeHome {
    pub fn new(dir: &Path) -> Self {
        NodeHome {
            dir: dir.to_path_buf(),
        }
    }
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn ledger(&self) -> PathBuf {
        self.data().join("ledger")
    }
    pub fn safety(&self) -> PathBuf {
        self.data().join("safety.bin")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Genesis(#[from] crate::genesis_file::GenesisFileError),
    #[error(transparent)]
    Key(#[from] crate::keyfile::KeyFileError),
    #[error("storage: {0}")]
    Storage(String),
    #[error("network: {0}")]
    Network(String),
    #[error("consensus: {0}")]
    Consensus(String),
    #[error("API address {addr}: {reason}")]
    Api { addr: String, reason: String },
    #[error("{0}")]
    Setup(String),
}

fn engine_config(chain_id: &str, config: &NodeConfig) -> Result<EngineConfig, NodeError> {
    let mut engine =
        EngineConfig::new(chain_id).map_err(|e| NodeError::Consensus(e.to_string()))?;
    let c = &config.consensus;
    engine.timeouts = TimeoutConfig {
        propose_ms: c.timeout_propose_ms,
        prevote_ms: c.timeout_prevote_ms,
        precommit_ms: c.timeout_precommit_ms,
        delta_ms: c.timeout_delta_ms,
        empty_block_interval_ms: c.empty_block_interval_ms,
    };
    engine.value_bytes_max = wire::WIRE_BYTES_MAX;
    Ok(engine)
}

/// Run the node in `home` until `shutdown` becomes true.
pub async fn run(home: &NodeHome, shutdown: watch::Receiver<bool>) -> Result<(), NodeError> {
    let config = NodeConfig::load(&home.config())?;
    crate::fault::init_from_env().map_err(|e| NodeError::Setup(e.to_string()))?;
    let genesis = NetworkGenesis::load(&home.genesis())?;
    let key_path = home.dir.join(&config.key_file);
    let keypair = keyfile::read(&key_path)?;
    let chain_id = genesis.ledger.chain_id.clone();
    let me = keypair.public();
    if !genesis.allowed_keys().contains(&me) {
        tracing::warn!(
            key = %me,
            "this node's key is not in genesis: peers refuse it until governance adds its cooperative"
        );
    }

    std::fs::create_dir_all(home.data()).map_err(|e| NodeError::Storage(e.to_string()))?;
    let store = SledStorage::open(&home.ledger(), config.storage.cache_bytes)
        .map_err(|e| NodeError::Storage(e.to_string()))?;
    let ledger =
        Ledger::open(store, &genesis.ledger).map_err(|e| NodeError::Storage(e.to_string()))?;
    init_validator_sets(&ledger).map_err(|e| NodeError::Storage(e.to_string()))?;
    // A validator's cooperative: from genesis, or added later by governance
    // (then the node follows the chain and signs once it has voting power).
    let coop = ledger
        .cooperatives()
        .into_iter()
        .find(|c| c.key == Some(me))
        .map(|c| c.id.to_string());
    if config.role == Role::Validator && coop.is_none() {
        tracing::warn!(
            key = %me,
            height = ledger.height(),
            "role is validator but no cooperative has this key yet: following the chain until governance adds it"
        );
    }
    let height = ledger.height();
    tracing::info!(height, root = %ledger.state_root(), role = config.role.as_str(), "ledger opened");

    let safety = SafetyFile::new(&home.safety());
    let record = safety
        .load()
        .map_err(|e| NodeError::Consensus(e.to_string()))?;
    let engine_config = engine_config(&chain_id, &config)?;
    let engine = match config.role {
        Role::Observer => None,
        Role::Validator => {
            let validators = validator_set_for(&ledger, height.saturating_add(1))
                .map_err(|e| NodeError::Consensus(e.to_string()))?;
            Some(
                Engine::new(
                    engine_config.clone(),
                    keypair.clone(),
                    height.saturating_add(1),
                    validators,
                    record,
                )
                .map_err(|e| NodeError::Consensus(e.to_string()))?,
            )
        }
    };

    let parse = |list: &[String]| -> Result<Vec<libp2p::Multiaddr>, NodeError> {
        list.iter()
            .map(|a| {
                a.parse()
                    .map_err(|e| NodeError::Network(format!("{a}: {e}")))
            })
            .collect()
    };
    let p2p_config = P2pConfig {
        chain_id: chain_id.clone(),
        identity_seed: keypair.seed(),
        listen: parse(&config.listen)?,
        bootstrap: parse(&config.peers)?,
        allowed_keys: genesis.allowed_keys().iter().map(|k| k.0).collect(),
        max_transmit_bytes: wire::WIRE_BYTES_MAX,
        max_connections: 64,
        redial_interval: Duration::from_secs(2),
        idle_connection_timeout: Duration::from_secs(3600),
        event_queue: 4_096,
        command_queue: 4_096,
    };
    let (p2p, net) = p2p::spawn(p2p_config)
        .await
        .map_err(|e| NodeError::Network(e.to_string()))?;

    let (events, _) = broadcast::channel(EVENTS_BUFFER);
    let (outbox_tx, outbox_rx) = mpsc::channel(OUTBOX_MAX);
    let state = Arc::new(NodeState {
        role: config.role,
        chain_id: chain_id.clone(),
        node_key: me,
        genesis: genesis.clone(),
        ledger: RwLock::new(ledger),
        mempool: Mutex::new(Mempool::new(config.mempool.clone())),
        verified: VerifiedSignatures::new(VERIFIED_CACHE),
        metrics: Metrics::default(),
        events,
        rejections: Mutex::default(),
        submitted_at: Mutex::default(),
        live: RwLock::default(),
        outbox: outbox_tx,
        txs_available: tokio::sync::Notify::new(),
    });
    state
        .metrics
        .height
        .store(height, std::sync::atomic::Ordering::Relaxed);

    let listener = tokio::net::TcpListener::bind(config.api)
        .await
        .map_err(|e| NodeError::Api {
            addr: config.api.to_string(),
            reason: e.to_string(),
        })?;
    let router = crate::router::router(
        ApiState {
            node: state.clone(),
            p2p: Some(p2p.clone()),
            admin: config.admin_api,
            stopping: shutdown.clone(),
        },
        config.api_body_max_bytes,
    );
    let mut api_shutdown = shutdown.clone();
    let api_task = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = api_shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    tracing::info!(api = %config.api, "API listening");

    let runtime = Runtime {
        state,
        p2p,
        net,
        outbox: outbox_rx,
        engine,
        engine_config,
        keypair,
        safety,
        block_limits: BlockLimits {
            max_txs: config.block.max_txs,
            max_bytes: config.block.max_bytes,
        },
        shutdown,
        timers: Default::default(),
        timer_seq: 0,
        clock: Instant::now(),
        batch: Vec::new(),
        sync_results: mpsc::channel(4),
        sync_in_flight: false,
        sync_peer: 0,
        best_seen_height: height,
        ingest: Arc::new(tokio::sync::Semaphore::new(INGEST_BATCHES)),
        allowed: genesis.allowed_keys(),
    };
    runtime.run().await;
    // Graceful: in-flight requests finish; bounded all the same.
    if tokio::time::timeout(API_DRAIN_TIMEOUT, api_task)
        .await
        .is_err()
    {
        tracing::warn!("API requests still open after shutdown; closing them");
    }
    tracing::info!("node stopped");
    Ok(())
}
