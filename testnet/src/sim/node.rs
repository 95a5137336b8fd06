//! One simulated node: the real engine and the real ledger, plus the host
//! state that survives a crash (safety record, ledger storage, certificates,
//! validator sets by height) and the state that does not (engine, pool,
//! outbox, the ledger's in-memory view).

use super::byzantine::Behaviour;
use super::ledger_host::SimLedger;
use super::mempool::Mempool;
use kopnet_consensus::{
    CommitCertificate, Engine, Height, Keypair, Message, SafetyRecord, SafetyStore, ValidatorSet,
    Value,
};
use kopnet_ledger::{Genesis, LedgerError, MemoryStorage};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;

/// "Disk": the encoded safety record, written synchronously.
#[derive(Default)]
pub struct MemStore {
    pub bytes: Option<Vec<u8>>,
    pub writes: u64,
}

impl SafetyStore for MemStore {
    type Error = Infallible;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Infallible> {
        // Encoding a record cannot fail (no maps of unknown length); if it
        // ever did, the old record stays, which only makes the node refuse more.
        if let Ok(bytes) = record.encode() {
            self.bytes = Some(bytes);
            self.writes += 1;
        }
        Ok(())
    }
}

impl MemStore {
    pub fn load(&self) -> Option<SafetyRecord> {
        self.bytes
            .as_deref()
            .and_then(|b| SafetyRecord::decode(b).ok())
    }
}

pub struct SimNode {
    pub keypair: Keypair,
    pub behaviour: Behaviour,
    /// None while crashed.
    pub engine: Option<Engine>,
    /// Bumped on every crash; timers of an older incarnation are ignored.
    pub incarnation: u64,
    // Durable.
    pub store: MemStore,
    /// The ledger's storage (blocks and state, written atomically per block).
    pub storage: MemoryStorage,
    /// Decided values with their certificates (served to syncing peers).
    pub chain: Vec<(Value, CommitCertificate)>,
    /// The validator set of each height this node may still need.
    pub sets: BTreeMap<Height, ValidatorSet>,
    // Volatile.
    /// The ledger opened over `storage` (re-opened on restart).
    pub ledger: SimLedger,
    pub mempool: Mempool,
    pub outbox: VecDeque<Message>,
    pub crash_mid_send: bool,
}

impl SimNode {
    pub fn new(
        keypair: Keypair,
        behaviour: Behaviour,
        genesis: &Genesis,
        genesis_set: &ValidatorSet,
    ) -> Result<Self, LedgerError> {
        let storage = MemoryStorage::new();
        let ledger = SimLedger::open(storage.clone(), genesis)?;
        // Genesis validators sign the heights before the first change can apply.
        let sets = (1..=kopnet_consensus::VALIDATOR_SET_CHANGE_DELAY)
            .map(|h| (h, genesis_set.clone()))
            .collect();
        Ok(SimNode {
            keypair,
            behaviour,
            engine: None,
            incarnation: 0,
            store: MemStore::default(),
            storage,
            chain: Vec::new(),
            sets,
            ledger,
            mempool: Mempool::default(),
            outbox: VecDeque::new(),
            crash_mid_send: false,
        })
    }

    pub fn is_honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }

    /// The height the node works on: one past its chain.
    pub fn next_height(&self) -> u64 {
        self.chain.len() as u64 + 1
    }

    pub fn crash(&mut self) {
        self.engine = None;
        self.incarnation += 1;
        self.outbox.clear();
        self.mempool.clear();
        self.crash_mid_send = false;
    }

    /// Re-open the ledger from storage, as a restarted process would.
    pub fn reopen_ledger(&mut self, genesis: &Genesis) -> Result<(), LedgerError> {
        self.ledger = SimLedger::open(self.storage.clone(), genesis)?;
        Ok(())
    }
}
