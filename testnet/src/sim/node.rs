//! One simulated node: the node's own host ([`kopnet_node::host::Host`])
//! over in-memory storage, plus what survives a crash (the ledger storage
//! and the safety record) and the simulated network's per-node state.
//!
//! A crash drops the host — engine, mempool, signature cache, catch-up
//! state, everything in memory — and a restart opens a new host from the
//! storage exactly as `kopnet node run` opens one from sled: the same
//! start-up repair, the same validator-set records read back. The store
//! and the safety record sit behind fault-injecting wrappers
//! ([`super::disk`]): what a crash leaves of their unflushed data depends
//! on how the node went down ([`Down`]).

use super::byzantine::{Behaviour, Hostility};
use super::config::{timing, SimConfig};
use super::disk::{DiskFault, Down, Fired, Tails};
use super::world::CHAIN_ID;
use kopnet_consensus::safety_faults::FaultySafetyStore;
use kopnet_consensus::{
    EngineConfig, Hash, Keypair, Message, PublicKey, SafetyRecord, SafetyStore, TimeoutConfig,
};
use kopnet_ledger::ledger::{BlockLimits, Pruning};
use kopnet_ledger::storage::{FaultyStorage, StorageError};
use kopnet_ledger::{Genesis, Ledger, MemoryStorage};
use kopnet_node::config::MempoolConfig;
use kopnet_node::host::{Host, HostConfig, HostError};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// A node's ledger storage: memory behind a wrapper that can refuse a
/// write, fail a flush, fill up, and lose its unflushed tail.
pub type SimStorage = Arc<FaultyStorage<MemoryStorage>>;
/// A node's safety record store: [`SimSafety`] behind a wrapper that can
/// fail a save or a sync and lose an unsynced record.
pub type SimSafetyStore = FaultySafetyStore<SimSafety>;
/// A simulated node's ledger.
pub type SimLedger = Ledger<SimStorage>;
/// The node host as the simulator runs it.
pub type SimHost = Host<SimStorage, SimSafetyStore>;

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
        client_room_percent: 50,
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
        block_interval_min_ms: timing::BLOCK_INTERVAL_MIN_MS,
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
        speaks_protocol: kopnet_node::upgrade::PROTOCOL_VERSION,
        snapshot_interval_blocks: 0,
        block_clock: Default::default(),
        // Each node's own, set when it opens ([`SimNode::open`]).
        identity: PublicKey([0; 32]),
    }
}

pub struct SimNode {
    /// The validator key (signs votes and proposals).
    pub keypair: Keypair,
    /// The node's identity on the network (its libp2p key in a real node):
    /// what peers know its connection by.
    pub identity: PublicKey,
    pub behaviour: Behaviour,
    /// Floods and lies besides the behaviour (Byzantine nodes only).
    pub hostility: Hostility,
    /// Gossip ticks so far (numbers the false hints and flood bursts).
    pub ticks: u64,
    /// None while crashed.
    pub host: Option<SimHost>,
    /// The pruning setting every (re)start gives the ledger, as
    /// `kopnet node run` does from `pruning.keep_blocks` (None: archive).
    pub pruning: Option<Pruning>,
    /// Bumped on every crash; timers of an older incarnation are ignored.
    pub incarnation: u64,
    // Durable.
    pub storage: SimStorage,
    pub safety: SimSafetyStore,
    /// The last block this node committed and its state root, as its
    /// host reported it, or as its ledger held at the crash (a restart must
    /// find exactly this in storage, or one block more if that block's
    /// failed flush was written back).
    pub committed: (u64, Hash),
    // The simulated network's state for this node (volatile).
    /// Own messages of the current height, re-sent on every gossip tick.
    pub outbox: VecDeque<Message>,
    pub crash_mid_send: bool,
    /// The storage refuses writes from a chosen commit on: the node
    /// crashes at that write.
    pub crash_at_write: bool,
    /// How the node last went down: its machine lost power, and the block
    /// whose flush had failed was written back after all (so a restart may
    /// find it, one height past `committed`).
    pub lost_power: bool,
    pub written_back: bool,
}

impl SimNode {
    pub fn new(
        keypair: Keypair,
        identity: PublicKey,
        behaviour: Behaviour,
        hostility: Hostility,
    ) -> Self {
        SimNode {
            keypair,
            identity,
            behaviour,
            hostility,
            ticks: 0,
            host: None,
            pruning: None,
            incarnation: 0,
            storage: Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX)),
            safety: FaultySafetyStore::new(SimSafety::default()),
            committed: (0, Hash::default()),
            outbox: VecDeque::new(),
            crash_mid_send: false,
            crash_at_write: false,
            lost_power: false,
            written_back: false,
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
        let config = HostConfig {
            identity: self.identity,
            ..config
        };
        self.storage.repair();
        self.safety.repair();
        self.crash_at_write = false;
        let record = self.safety.inner().load();
        let host = Host::open(
            self.storage.clone(),
            genesis,
            self.keypair.clone(),
            self.safety.clone(),
            record,
            config,
        )?;
        // Single-threaded: the lock is never poisoned.
        if let Ok(mut ledger) = host.state().ledger.write() {
            ledger.set_pruning(self.pruning.clone());
        }
        self.host = Some(host);
        Ok(())
    }

    /// Drop everything in memory, going `down` as drawn: the unflushed
    /// data of the store and the safety record is lost (power cut) or
    /// reaches the disk (the process exited). What the host's ledger held
    /// is what it had committed (its commits are durable before memory
    /// moves on, even those whose effects the crash cut short): a restart
    /// must find it.
    pub fn crash(&mut self, down: Down) -> Result<Tails, StorageError> {
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
        let tails = match down {
            Down::PowerCut => Tails {
                batches_lost: self.storage.power_cut() as u64,
                record_lost: self.safety.power_cut(),
                ..Tails::default()
            },
            Down::ProcessExit => Tails {
                batches_written_back: self.storage.write_back()? as u64,
                record_written_back: match self.safety.write_back() {
                    Ok(written) => written,
                    Err(never) => match never {},
                },
                ..Tails::default()
            },
        };
        self.lost_power = down == Down::PowerCut;
        self.written_back = tails.batches_written_back > 0;
        self.storage.repair();
        self.safety.repair();
        Ok(tails)
    }

    /// Crash at the storage write after the next `commits_ok` ones.
    pub fn arm_crash_at_write(&mut self, commits_ok: u64) {
        self.crash_at_write = true;
        self.storage.allow(commits_ok);
    }

    /// Arm a storage fault (not a power cut, which strikes at once).
    pub fn arm(&mut self, fault: DiskFault) {
        match fault {
            DiskFault::Store(fault) => self.storage.arm(fault),
            DiskFault::Safety(fault) => self.safety.arm(fault),
            DiskFault::PowerCut => {}
        }
    }

    /// The storage fault that fired, if any.
    pub fn fired(&self) -> Option<Fired> {
        self.storage
            .fired()
            .map(Fired::Store)
            .or_else(|| self.safety.fired().map(Fired::Safety))
    }

    /// Call off armed faults that did not fire (the restart they were
    /// scheduled with came first).
    pub fn call_off_faults(&mut self) {
        self.crash_mid_send = false;
        self.crash_at_write = false;
        if self.storage.armed() {
            self.storage.repair();
        }
        if self.safety.armed() {
            self.safety.repair();
        }
    }
}
