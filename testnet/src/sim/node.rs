//! One simulated node: the real engine plus the host state that survives a
//! crash (safety record bytes, decided chain) and the state that does not.

use super::byzantine::Behaviour;
use kopnet_consensus::{
    CommitCertificate, Engine, Keypair, Message, SafetyRecord, SafetyStore, Value,
};
use std::collections::VecDeque;
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
    pub chain: Vec<(Value, CommitCertificate)>,
    // Volatile.
    pub outbox: VecDeque<Message>,
    pub txs_pending: bool,
    pub nonce: u64,
    pub crash_mid_send: bool,
}

impl SimNode {
    pub fn new(keypair: Keypair, behaviour: Behaviour) -> Self {
        SimNode {
            keypair,
            behaviour,
            engine: None,
            incarnation: 0,
            store: MemStore::default(),
            chain: Vec::new(),
            outbox: VecDeque::new(),
            txs_pending: false,
            nonce: 0,
            crash_mid_send: false,
        }
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
        self.crash_mid_send = false;
    }
}
