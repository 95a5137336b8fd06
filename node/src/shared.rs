//! State shared between the consensus runtime and the HTTP API.

use crate::config::Role;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::verified::VerifiedSignatures;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::{Ledger, SledStorage};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, Notify};

/// How many recent admission rejections `GET /v1/tx/{hash}` remembers.
pub const RECENT_REJECTIONS_MAX: usize = 65_536;
/// How many submit times are tracked for latency metrics.
pub const SUBMIT_TIMES_MAX: usize = 262_144;
/// Block events buffered for slow SSE subscribers (older ones are skipped).
pub const EVENTS_BUFFER: usize = 256;
/// Locally accepted transactions waiting to be gossiped.
pub const OUTBOX_MAX: usize = 65_536;

/// One transaction in a block event.
#[derive(Debug, Clone, Serialize)]
pub struct TxSummary {
    pub hash: String,
    pub kind: &'static str,
    pub signer: String,
    pub to: Option<String>,
    pub amount: Option<u64>,
    /// The cooperative whose counter took the cash (cash-in and cash-out only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Rupiah the transaction's fee legs moved (0 when rejected).
    pub fees: u64,
    pub result: &'static str,
}

/// Sent to `/v1/events` subscribers for each committed block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockEvent {
    pub height: u64,
    pub hash: String,
    pub state_root: String,
    pub txs: Vec<TxSummary>,
}

/// Facts the runtime publishes for `/v1/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveStatus {
    pub syncing: bool,
    pub peers: Vec<String>,
}

/// A bounded map from hash to the reason it was refused.
#[derive(Debug, Default)]
pub struct RecentRejections {
    map: HashMap<Hash, String>,
    order: VecDeque<Hash>,
}

impl RecentRejections {
    pub fn insert(&mut self, hash: Hash, code: String) {
        if self.map.insert(hash, code).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > RECENT_REJECTIONS_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
    pub fn get(&self, hash: &Hash) -> Option<&String> {
        self.map.get(hash)
    }
}

#[derive(Debug)]
pub struct NodeState {
    pub role: Role,
    pub chain_id: String,
    pub node_key: PublicKey,
    pub genesis: crate::genesis_file::NetworkGenesis,
    pub ledger: RwLock<Ledger<SledStorage>>,
    pub mempool: Mutex<Mempool>,
    pub verified: VerifiedSignatures,
    pub metrics: Metrics,
    pub events: broadcast::Sender<BlockEvent>,
    pub rejections: Mutex<RecentRejections>,
    pub submitted_at: Mutex<HashMap<Hash, Instant>>,
    pub live: RwLock<LiveStatus>,
    /// Encoded transactions accepted locally, for gossip.
    pub outbox: mpsc::Sender<Vec<u8>>,
    /// Woken when the mempool gets new transactions.
    pub txs_available: Notify,
}

impl NodeState {
    pub fn note_rejection(&self, hash: Hash, code: &str) {
        if let Ok(mut r) = self.rejections.lock() {
            r.insert(hash, code.to_string());
        }
    }

    pub fn note_submitted(&self, hash: Hash) {
        if let Ok(mut map) = self.submitted_at.lock() {
            if map.len() < SUBMIT_TIMES_MAX {
                map.insert(hash, Instant::now());
            }
        }
    }
}
