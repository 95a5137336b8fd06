//! Starting a node from its home directory.

use crate::api::ApiState;
use crate::config::{NodeConfig, Role};
use crate::genesis_file::NetworkGenesis;
use crate::host::{Host, HostConfig};
use crate::http::admin::{AdminAccess, AdminToken, ADMIN_TOKEN_FILE};
use crate::http::conn::{self, ConnLimits};
use crate::http::Front;
use crate::metrics::Metrics;
use crate::node_keys::{NextKeyWatch, NodeKeys};
use crate::node_state::{NodeState, OUTBOX_MAX};
use crate::p2p::{self, NetEvent, P2pConfig, P2pHandle};
use crate::runtime::{NodeHost, Runtime};
use crate::safety_file::SafetyFile;
use crate::{store_check, wire};
use kopnet_consensus::{EngineConfig, Keypair, SafetyStore, TimeoutConfig};
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::SledStorage;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// Longest wait for open API requests at shutdown.
const API_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Verified signatures remembered per node.
const VERIFIED_SIGNATURES_MAX: usize = 262_144;

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
    /// The admin endpoint's token ([`crate::http::admin`]).
    pub fn admin_token(&self) -> PathBuf {
        self.dir.join(ADMIN_TOKEN_FILE)
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
    #[error(transparent)]
    StoreDamaged(#[from] store_check::StartCheckError),
    #[error("network: {0}")]
    Network(String),
    #[error("consensus: {0}")]
    Consensus(String),
    #[error("API address {addr}: {reason}")]
    Api { addr: String, reason: String },
    #[error("{0}")]
    Setup(String),
    /// The running node stopped on its own ([`crate::runtime::fail_stop`]).
    #[error("{0}")]
    FailStop(crate::runtime::FailStop),
    #[error(
        "the safety record {path} is missing, but this validator's ledger is at height {height}: \
         the record of what it signed is lost. Signing without it can sign twice at a height and round \
         it already voted on (equivocation: its peers put the evidence on the chain against this \
         cooperative). Restore the file from a backup, or start with --new-safety-record to have the \
         node follow the chain without signing until a double-sign check passes (see the README, \
         \"Safety record and double signing\")"
    )]
    SafetyRecordLost { path: String, height: u64 },
    /// The chain runs (or is about to run) a protocol version this build
    /// does not speak ([`crate::upgrade`]).
    #[error(transparent)]
    UpgradeRequired(crate::upgrade::UpgradeRequired),
}

impl NodeError {
    /// The process's exit code for this error: a fail-stop's own code
    /// ([`crate::runtime::fail_stop`]), 1 for anything that kept the node
    /// from starting.
    pub fn exit_code(&self) -> i32 {
        match self {
            NodeError::FailStop(stop) => stop.exit_code(),
            NodeError::UpgradeRequired(_) => crate::runtime::fail_stop::EXIT_UPGRADE_REQUIRED,
            _ => 1,
        }
    }
}

/// How `kopnet node run` was asked to start.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// The safety record is lost and the operator knows: start a validator
    /// anyway, behind the double-sign check ([`crate::host::double_sign`]).
    pub new_safety_record: bool,
}

/// Switch on the deliberate fault `KOPNET_FAULT` names; a build without
/// the `fault-injection` feature refuses to start when it is set.
fn init_fault() -> Result<(), NodeError> {
    #[cfg(feature = "fault-injection")]
    crate::fault::init_from_env().map_err(|e| NodeError::Setup(e.to_string()))?;
    #[cfg(not(feature = "fault-injection"))]
    for name in [
        crate::FAULT_ENV,
        "KOPNET_DEFENCE_OFF",
        "KOPNET_HOSTILE_RATE",
        crate::upgrade::SPEAKS_PROTOCOL_ENV,
        crate::block_clock::BLOCK_CLOCK_ENV,
    ] {
        if std::env::var_os(name).is_some_and(|v| !v.is_empty()) {
            return Err(NodeError::Setup(format!(
                "{name} is set, but this build has no fault injection (build with --features fault-injection)"
            )));
        }
    }
    Ok(())
}

/// Switch off the defences `KOPNET_DEFENCE_OFF` names (fault injection
/// only: to show that a run then fails naming the defence).
#[cfg(feature = "fault-injection")]
fn defences_off(mut host_config: HostConfig) -> Result<HostConfig, NodeError> {
    let off = crate::fault::defences_off_from_env().map_err(|e| NodeError::Setup(e.to_string()))?;
    if off.evidence {
        tracing::warn!(
            "KOPNET_DEFENCE_OFF=evidence: this node never takes evidence into its blocks (test build)"
        );
        host_config.include_evidence = false;
    }
    Ok(host_config)
}

/// The validator key of this node that the ledger no longer lists (its
/// cooperative rotated to `validator.next.key`), for the hostile
/// behaviour `old-key`.
#[cfg(feature = "fault-injection")]
fn retired_validator_key(
    host: &NodeHost,
    keys: &NodeKeys,
) -> Result<Keypair, crate::runtime::hostile::NoRetiredKey> {
    let listed: Vec<kopnet_consensus::PublicKey> = host
        .state()
        .ledger
        .read()
        .map(|ledger| {
            ledger
                .cooperatives()
                .iter()
                .filter_map(|c| c.validator_key)
                .collect()
        })
        .unwrap_or_default();
    crate::runtime::hostile::old_key::retired_key(
        keys.validator.as_ref(),
        keys.next_validator.as_ref(),
        &listed,
    )
    .cloned()
}

/// Make the runtime hostile when `KOPNET_FAULT` names a hostile behaviour.
#[cfg(feature = "fault-injection")]
fn hostile(
    runtime: Runtime,
    keypair: &Keypair,
    retired_validator_key: Result<Keypair, crate::runtime::hostile::NoRetiredKey>,
    node: &Arc<NodeState>,
    p2p: &P2pHandle,
    shutdown: &watch::Receiver<bool>,
) -> Result<Runtime, NodeError> {
    let crate::fault::Fault::Hostile(behaviour) = crate::fault::active() else {
        return Ok(runtime);
    };
    let hook = crate::runtime::hostile::spawn(crate::runtime::hostile::Context {
        behaviour,
        keypair: keypair.clone(),
        retired_validator_key,
        node: node.clone(),
        p2p: p2p.clone(),
        shutdown: shutdown.clone(),
    })
    .map_err(|e| NodeError::Setup(e.to_string()))?;
    Ok(runtime.with_hostile(hook))
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
        block_interval_min_ms: c.block_interval_min_ms,
    };
    // A proposal's value is a block: bounded by the block size limit.
    engine.value_bytes_max = kopnet_ledger::block::BLOCK_BYTES_MAX;
    Ok(engine)
}

/// Run the node in `home` until `shutdown` becomes true, or until its host
/// cannot go on (then the error says why: fail-stop).
pub async fn run(home: &NodeHome, shutdown: watch::Receiver<bool>) -> Result<(), NodeError> {
    run_with(home, RunOptions::default(), shutdown).await
}

/// [`run`] with `options`.
pub async fn run_with(
    home: &NodeHome,
    options: RunOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<(), NodeError> {
    let config = NodeConfig::load(&home.config())?;
    init_fault()?;
    let genesis = NetworkGenesis::load(&home.genesis())?;
    let keys = NodeKeys::load(&home.dir, &config)?;
    let mut host = open_host(home, &config, &genesis, keys.consensus_key(), options)?;
    if let Some(next) = keys.next_validator.clone() {
        if host.hold_next_validator_key(next.clone()) {
            tracing::info!(key = %next.public(), "holding the next validator key");
        }
    }
    let keypair = {
        let ledger = host
            .state()
            .ledger
            .read()
            .map_err(|_| NodeError::Setup("ledger lock poisoned at start".into()))?;
        let identity = keys.identity_for(&ledger).clone();
        let admitted = crate::allow_list::current(&ledger);
        if !admitted.contains(&identity.public()) {
            tracing::warn!(
                key = %identity.public(),
                "this node's identity is not admitted by the ledger: peers refuse it until governance adds its cooperative"
            );
        }
        identity
    };
    host.set_identity(keypair.public());
    let (p2p, net) = start_p2p(&config, &genesis, &keypair).await?;
    // A stream that falls this far behind is dropped ([`crate::api`]'s
    // events): the channel never holds more block events than this.
    let (events, _) = broadcast::channel(config.http.events_lag_max);
    let (outbox_tx, outbox_rx) = mpsc::channel(OUTBOX_MAX);
    let (committed, chain, snapshot_store) = {
        let ledger = host
            .state()
            .ledger
            .read()
            .map_err(|_| NodeError::Setup("ledger lock poisoned at start".into()))?;
        (
            crate::committed_view::ViewCell::new(crate::committed_view::CommittedView::of(&ledger)),
            ledger.reader(),
            ledger.storage().clone(),
        )
    };
    let state = Arc::new(NodeState {
        committed,
        chain,
        newest_blocks: Default::default(),
        role: config.role,
        chain_id: genesis.ledger.chain_id.clone(),
        node_key: keypair.public(),
        genesis: genesis.clone(),
        host: host.state().clone(),
        metrics: Metrics::default(),
        events,
        submitted_at: Default::default(),
        live: RwLock::new(crate::node_state::LiveStatus {
            double_sign_check: host.double_sign_checking(),
            ..Default::default()
        }),
        outbox: outbox_tx,
        txs_available: tokio::sync::Notify::new(),
        health: crate::api::health::Health::new(config.health.clone(), &home.data()),
        directory: Arc::new(crate::personal::Directory::new(
            crate::personal::PersonalStore::open(&home.data().join("personal"))
                .map_err(|e| NodeError::Storage(e.to_string()))?,
        )),
        snapshots: crate::snapshots::dir::SnapshotDir::of_data(&home.data()),
        keep_blocks: (!config.pruning.is_archive()).then_some(config.pruning.keep_blocks),
    });
    state
        .metrics
        .height
        .store(host.height(), std::sync::atomic::Ordering::Relaxed);
    // The API stops when the runtime does: at shutdown, and when the host
    // fails stop (a node that cannot go on takes no more transactions).
    let (api_stop, api_stopping) = watch::channel(false);
    let disk_task = tokio::spawn(crate::api::health::watch_disk(
        state.clone(),
        api_stopping.clone(),
    ));
    let api_task = serve_api(home, &config, state.clone(), p2p.clone(), api_stopping).await?;

    #[cfg(feature = "fault-injection")]
    let (hostile_node, hostile_shutdown) = (state.clone(), shutdown.clone());
    #[cfg(feature = "fault-injection")]
    let retired = retired_validator_key(&host, &keys);
    let mut runtime = Runtime::new(host, state, p2p.clone(), net, outbox_rx, shutdown);
    if config.snapshots.interval_blocks > 0 {
        runtime = runtime.with_snapshots(crate::snapshots::taker::SnapshotTaker::new(
            crate::snapshots::dir::SnapshotDir::of_data(&home.data()),
            config.snapshots.keep,
            snapshot_store,
        ));
    }
    if config.role == Role::Validator {
        let watch = NextKeyWatch::new(home.dir.join(&config.next_validator_key_file));
        runtime = runtime.with_next_key_watch(watch);
    }
    #[cfg(feature = "fault-injection")]
    let runtime = hostile(
        runtime,
        keys.consensus_key(),
        retired,
        &hostile_node,
        &p2p,
        &hostile_shutdown,
    )?;
    let stopped = runtime.run().await;
    let _ = api_stop.send(true);
    // Graceful: in-flight requests finish; bounded all the same.
    if tokio::time::timeout(API_DRAIN_TIMEOUT, api_task)
        .await
        .is_err()
    {
        tracing::warn!("API requests still open after shutdown; closing them");
    }
    let _ = disk_task.await;
    stopped.map_err(|error| NodeError::FailStop(crate::runtime::FailStop::new(error)))?;
    tracing::info!("node stopped");
    Ok(())
}

/// Open the sled ledger and the safety record in a host.
///
/// A missing safety record means a first start when the ledger is still at
/// genesis (height 0): an empty record is written at once, so that from
/// then on a missing file always means a lost one, even for a validator
/// that has not signed yet. Past genesis, a validator refuses to start
/// without its record unless `options.new_safety_record`, and then runs
/// the double-sign check first. Observers sign nothing and need no record.
fn open_host(
    home: &NodeHome,
    config: &NodeConfig,
    genesis: &NetworkGenesis,
    keypair: &Keypair,
    options: RunOptions,
) -> Result<NodeHost, NodeError> {
    std::fs::create_dir_all(home.data()).map_err(|e| NodeError::Storage(e.to_string()))?;
    // A store of an older format: copied aside, then migrated, before
    // anything else reads it.
    match crate::store_migration::migrate_if_needed(&home.ledger(), config.storage.cache_bytes) {
        Ok(Some(done)) => tracing::info!(
            from = done.report.from,
            to = done.report.to,
            records = done.report.records,
            copy = %done.copy.display(),
            "ledger store migrated (the store as it was is kept in the copy)"
        ),
        Ok(None) => {}
        Err(e) => return Err(NodeError::Storage(e.to_string())),
    }
    let existed = store_check::store_exists(&home.ledger());
    let store = SledStorage::open(&home.ledger(), config.storage.cache_bytes)
        .map_err(|e| NodeError::Storage(format!("{}: {e}", home.ledger().display())))?;
    let safety = SafetyFile::new(&home.safety());
    // The error names the file (and, damaged, what to do): one line.
    let record = safety.load().map_err(|e| NodeError::Setup(e.to_string()))?;
    // Emptied, cut back or a damaged tip: refuse, naming store and height.
    let facts = store_check::StartFacts {
        existed,
        record_height: record.as_ref().map(|r| r.height),
    };
    store_check::at_start(&store, &genesis.ledger, &home.ledger(), facts)?;
    let has_record = record.is_some();
    let host_config = HostConfig {
        engine: engine_config(&genesis.ledger.chain_id, config)?,
        block_limits: BlockLimits {
            max_txs: config.block.max_txs,
            max_bytes: config.block.max_bytes,
        },
        mempool: config.mempool.clone(),
        verified_signatures_max: VERIFIED_SIGNATURES_MAX,
        runs_consensus: config.role == Role::Validator,
        include_evidence: true,
        // Set again once the ledger says which of the node's identities
        // it starts libp2p with ([`NodeKeys::identity_for`]).
        identity: keypair.public(),
        speaks_protocol: crate::upgrade::speaks(),
        snapshot_interval_blocks: config.snapshots.interval_blocks,
        block_clock: crate::block_clock::BlockClock::from_env().map_err(NodeError::Setup)?,
    };
    #[cfg(feature = "fault-injection")]
    let host_config = defences_off(host_config)?;
    let host = Host::open(
        store,
        &genesis.ledger,
        keypair.clone(),
        safety,
        record,
        host_config,
    )
    .map_err(|e| NodeError::Storage(format!("{}: {e}", home.ledger().display())))?;
    // A chain past (or at) an upgrade this build does not speak: refuse
    // at once, naming the version to install.
    if let Err(e) = host.check_protocol(host.height()) {
        return Err(match e {
            crate::host::HostError::UpgradeRequired(required) => {
                NodeError::UpgradeRequired(required)
            }
            other => NodeError::Storage(other.to_string()),
        });
    }
    let pruning = crate::chain_store::pruning(config.pruning.keep_blocks)
        .map_err(|e| NodeError::Setup(format!("pruning.keep_blocks: {e}")))?;
    host.state()
        .ledger
        .write()
        .map_err(|_| NodeError::Storage("ledger lock poisoned".into()))?
        .set_pruning(pruning);
    let host = check_safety_record(home, config, host, has_record, options)?;
    let me = keypair.public();
    let height = host.height();
    let ledger = host
        .state()
        .ledger
        .read()
        .map_err(|_| NodeError::Storage("ledger lock poisoned".into()))?;
    // A validator's cooperative: from genesis, or added later by governance
    // (then the node follows the chain and signs once it has voting power).
    // Its next validator key counts too: after a rotation and before the
    // operator promotes the next key file, the ledger names that one.
    let next = crate::node_keys::read_optional(&home.dir.join(&config.next_validator_key_file))
        .ok()
        .flatten()
        .map(|k| k.public());
    let has_coop = ledger.cooperatives().into_iter().any(|c| {
        c.validator_key.is_some() && (c.validator_key == Some(me) || c.validator_key == next)
    });
    if config.role == Role::Validator && !has_coop {
        tracing::warn!(
            key = %me,
            height,
            "role is validator but no cooperative has this validator key yet: following the chain until governance adds it"
        );
    }
    tracing::info!(
        height,
        root = %ledger.state_root(),
        role = config.role.as_str(),
        base = ledger.base_height(),
        keep_blocks = config.pruning.keep_blocks,
        "ledger opened"
    );
    drop(ledger);
    Ok(host)
}

/// See [`open_host`]: tell a first start from a lost record.
fn check_safety_record(
    home: &NodeHome,
    config: &NodeConfig,
    host: NodeHost,
    has_record: bool,
    options: RunOptions,
) -> Result<NodeHost, NodeError> {
    let height = host.height();
    let validator = config.role == Role::Validator;
    let restored = home.data().join(crate::host::double_sign::RESTORED_MARKER);
    if options.new_safety_record && validator && !has_record {
        // Nothing is written before the check passes: stopped before that,
        // the node still needs the flag (and the check) next time.
        if restored.exists() {
            return Ok(host.with_double_sign_check_after_restore());
        }
        return Ok(host.with_double_sign_check());
    }
    if has_record && restored.exists() {
        // The check passed after a restore: the home is an ordinary one now.
        std::fs::remove_file(&restored).map_err(|e| {
            NodeError::Storage(format!("cannot remove {}: {e}", restored.display()))
        })?;
    }
    if options.new_safety_record {
        tracing::warn!(
            "--new-safety-record ignored: this node has its safety record or is no validator"
        );
    }
    if has_record {
        return Ok(host);
    }
    if height == 0 {
        SafetyFile::new(&home.safety())
            .persist(&kopnet_consensus::SafetyRecord::default())
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        tracing::info!(path = %home.safety().display(), "first start: empty safety record written");
        return Ok(host);
    }
    if validator {
        return Err(NodeError::SafetyRecordLost {
            path: home.safety().display().to_string(),
            height,
        });
    }
    Ok(host)
}

/// Join the other cooperatives over libp2p.
async fn start_p2p(
    config: &NodeConfig,
    genesis: &NetworkGenesis,
    keypair: &Keypair,
) -> Result<(P2pHandle, mpsc::Receiver<NetEvent>), NodeError> {
    let parse = |list: &[String]| -> Result<Vec<libp2p::Multiaddr>, NodeError> {
        list.iter()
            .map(|a| {
                a.parse()
                    .map_err(|e| NodeError::Network(format!("{a}: {e}")))
            })
            .collect()
    };
    let p2p_config = P2pConfig {
        chain_id: genesis.ledger.chain_id.clone(),
        identity_seed: crate::secret::Secret::new(keypair.seed()),
        listen: parse(&config.listen)?,
        bootstrap: parse(&config.peers)?,
        allowed_keys: genesis.allowed_keys().iter().map(|k| k.0).collect(),
        max_transmit_bytes: wire::WIRE_BYTES_MAX,
        max_connections: config.p2p.connections_max,
        redial_interval: Duration::from_secs(2),
        idle_connection_timeout: Duration::from_secs(3600),
        event_queue: 4_096,
        command_queue: 4_096,
        inbound: config.p2p.inbound_limits(),
        handshake_timeout: Duration::from_millis(config.p2p.handshake_timeout_ms),
        sync_request_timeout: Duration::from_millis(config.p2p.sync_request_timeout_ms),
        transaction_gossip: config.role == Role::Validator,
    };
    p2p::spawn_with_limits(p2p_config, config.p2p.peer_limits())
        .await
        .map_err(|e| NodeError::Network(e.to_string()))
}

/// Bind `addr` for HTTP, naming it in the error.
async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, NodeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| NodeError::Api {
            addr: addr.to_string(),
            reason: e.to_string(),
        })
}

/// The admin endpoint's gate: with `admin_api = true` the home's token is
/// read (or made at this first start).
fn admin_access(home: &NodeHome, config: &NodeConfig) -> Result<AdminAccess, NodeError> {
    if !config.admin_api {
        return Ok(AdminAccess::default());
    }
    let token = AdminToken::load_or_create(&home.admin_token())
        .map_err(|e| NodeError::Setup(e.to_string()))?;
    let access = AdminAccess::new(true, config.api, Some(token));
    if !access.loopback_bind {
        tracing::warn!(
            api = %config.api,
            "admin_api = true but the API is not bound to a loopback address: the admin endpoint refuses every request"
        );
    }
    Ok(access)
}

/// Serve the HTTP API (and the web pages) until shutdown, and `/metrics`
/// on its own address when `http.metrics_listen` is set.
async fn serve_api(
    home: &NodeHome,
    config: &NodeConfig,
    state: Arc<NodeState>,
    p2p: P2pHandle,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, NodeError> {
    let listener = bind(config.api).await?;
    let metrics_listener = match config.http.metrics_listen {
        Some(addr) => Some((addr, bind(addr).await?)),
        None => None,
    };
    let api_state = ApiState {
        node: state,
        p2p: Some(p2p),
        admin: Arc::new(admin_access(home, config)?),
        front: Front::new(&config.http),
        pages: config.pages,
        audit: config.audit,
        stopping: shutdown.clone(),
    };
    let limits = ConnLimits::new(&api_state.front);
    let metrics_task = metrics_listener.map(|(addr, listener)| {
        let router = crate::router::metrics_router(api_state.clone());
        let limits = ConnLimits {
            connections_max: config.http.metrics_connections_max,
            connections_per_address_max: config.http.metrics_connections_max,
            ..limits.clone()
        };
        tracing::info!(metrics = %addr, "metrics listening");
        tokio::spawn(conn::serve(listener, router, limits, shutdown.clone()))
    });
    let router = crate::router::router(
        api_state,
        config.api_body_max_bytes,
        config.http.metrics_on_api,
    );
    let api_task = tokio::spawn(async move {
        conn::serve(listener, router, limits, shutdown).await;
        if let Some(task) = metrics_task {
            let _ = task.await;
        }
    });
    tracing::info!(api = %config.api, "API listening");
    Ok(api_task)
}
