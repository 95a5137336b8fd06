//! One simulated node: the node's own host ([`kopnet_node::host::Host`])
//! over in-memory storage, plus what survives a crash (the ledger storage
//! and the safety record) and the simulated network's per-node state.
//!
//! A crash drops the host — engine, mempool, signature cache, catch-up
//! state, everything in memory — and a restart opens a new host from the
//! storage exactly as `kopnet node run` opens one from sled: the same
//! start-up repair, the same validator-set records read back.

use super::byzantine::{Behaviour, Hostility};
use super::config::{timing, SimConfig};
use super::world::CHAIN_ID;
use kopnet_consensus::{
    EngineConfig, Hash, Keypair, Message, SafetyRecord, SafetyStore, TimeoutConfig,
};
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::storage::FaultyStorage;
use kopnet_ledger::{Genesis, Ledger, MemoryStorage};
use kopnet_node::config::MempoolConfig;
use kopnet_node::host::{Host, HostConfig, HostError};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// A node's ledger storage: memory behind a switch that can refuse writes
/// from a chosen commit on (a crash in the middle of writing).
pub type SimStorage = Arc<FaultyStorage<MemoryStorage>>;
/// A simulated node's ledger.
pub type SimLedger = Ledger<SimStorage>;
/// The node host as the simulator runs it.
pub type SimHost = Host<SimStorage, SimSafety>;

/// "Disk" for the safety record: the encoded record, written synchronously.
/// Clones share it (the host holds one, the node keeps one for restarts).
#[derive(Clone, Default)]
pub struct SimSafety {
    bytes: Arc<Mutex<Option<Vec<u8>>>>,
}

impl SafetyStore for SimSafety {
    type Error = Infallible;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Infallible> {
        // Encoding a record cannot fail (no maps of unknown length); if it
        // ever did, the old record stays, which only makes the node refuse more.
        if let (Ok(bytes), Ok(mut slot)) = (record.encode(), self.bytes.lock()) {
            *slot = Some(bytes);
        }
        Ok(())
    }
}

impl SimSafety {
    pub fn load(&self) -> Option<SafetyRecord> {
        let slot = self.bytes.lock().ok()?;
        slot.as_deref().and_then(|b| SafetyRecord::decode(b).ok())
    }
}

/// Most transactions in one simulated block.
pub const BLOCK_TXS_MAX: usize = 64;
/// The simulated engines' bound on a proposal's value (the node's is
/// 4 MiB): small, so that a flood of maximal proposals
/// ([`super::flood`]) stays cheap in memory and time.
pub const VALUE_BYTES_MAX: usize = 64 * 1024;
/// The simulated blocks' byte bound, well inside [`VALUE_BYTES_MAX`] (a
/// block of [`BLOCK_TXS_MAX`] transactions is far smaller anyway).
pub const BLOCK_BYTES_MAX: usize = 48 * 1024;

/// The simulated hosts' mempool: small, so that its bounds, stale
/// evictions and expiry all happen in a run.
pub fn mempool_config() -> MempoolConfig {
    MempoolConfig {
        max_txs: 256,
        max_bytes: 1 << 20,
        max_per_signer: 16,
        max_age_blocks: 12,
    }
}

/// How every simulated host is set up.
pub fn host_config(config: &SimConfig) -> HostConfig {
    #[allow(clippy::expect_used)]
    let mut engine = EngineConfig::new(CHAIN_ID).expect("static chain id is valid");
    engine.timeouts = TimeoutConfig {
        propose_ms: timing::PROPOSE_MS,
        prevote_ms: timing::PREVOTE_MS,
        precommit_ms: timing::PRECOMMIT_MS,
        delta_ms: timing::DELTA_MS,
        empty_block_interval_ms: timing::EMPTY_BLOCK_INTERVAL_MS,
    };
    engine.quorum_rule = config.quorum_rule;
    engine.value_bytes_max = VALUE_BYTES_MAX;
    HostConfig {
        include_evidence: true,
        engine,
        block_limits: BlockLimits {
            max_txs: BLOCK_TXS_MAX,
            max_bytes: BLOCK_BYTES_MAX,
        },
        mempool: mempool_config(),
        verified_signatures_max: 4_096,
        runs_consensus: true,
        observers: Vec::new(),
    }
}

pub struct SimNode {
    pub keypair: Keypair,
    pub behaviour: Behaviour,
    /// Floods and lies besides the behaviour (Byzantine nodes only).
    pub hostility: Hostility,
    /// Gossip ticks so far (numbers the false hints and flood bursts).
    pub ticks: u64,
    /// None while crashed.
    pub host: Option<SimHost>,
    /// Bumped on every crash; timers of an older incarnation are ignored.
    pub incarnation: u64,
    // Durable.
    pub storage: SimStorage,
    pub safety: SimSafety,
    /// The last block this node committed and its state root, as its
    /// host reported it (a restart must find exactly this in storage).
    pub committed: (u64, Hash),
    // The simulated network's state for this node (volatile).
    /// Own messages of the current height, re-sent on every gossip tick.
    pub outbox: VecDeque<Message>,
    pub crash_mid_send: bool,
    /// The storage refuses writes from a chosen commit on: the node
    /// crashes at that write.
    pub crash_at_write: bool,
}

impl SimNode {
    pub fn new(keypair: Keypair, behaviour: Behaviour, hostility: Hostility) -> Self {
        SimNode {
            keypair,
            behaviour,
            hostility,
            ticks: 0,
            host: None,
            incarnation: 0,
            storage: Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX)),
            safety: SimSafety::default(),
            committed: (0, Hash::default()),
            outbox: VecDeque::new(),
            crash_mid_send: false,
            crash_at_write: false,
        }
    }

    pub fn is_honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }

    /// The committed height (as last reported, also while crashed).
    pub fn height(&self) -> u64 {
        self.committed.0
    }

    /// Open the host from what storage holds, as `kopnet node run` does.
    pub fn open(&mut self, genesis: &Genesis, config: HostConfig) -> Result<(), HostError> {
        self.storage.allow(u64::MAX);
        self.crash_at_write = false;
        let record = self.safety.load();
        let host = Host::open(
            self.storage.clone(),
            genesis,
            self.keypair.clone(),
            self.safety.clone(),
            record,
            config,
        )?;
        self.host = Some(host);
        Ok(())
    }

    /// Drop everything in memory. What the host's ledger held is what it
    /// had committed (its commits are durable before memory moves on, even
    /// those whose effects the crash cut short): a restart must find it.
    pub fn crash(&mut self) {
        let durable = self.host.as_ref().and_then(|h| {
            let ledger = h.state().ledger.read().ok()?;
            Some((ledger.height(), ledger.state_root()))
        });
        if let Some(durable) = durable {
            self.committed = durable;
        }
        self.host = None;
        self.incarnation += 1;
        self.outbox.clear();
        self.crash_mid_send = false;
        self.crash_at_write = false;
        self.storage.allow(u64::MAX);
    }

    /// Crash at the storage write after the next `commits_ok` ones.
    pub fn arm_crash_at_write(&mut self, commits_ok: u64) {
        self.crash_at_write = true;
        self.storage.allow(commits_ok);
    }
}
