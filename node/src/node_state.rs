//! What the node's HTTP API and its runtime share: the host's shared state
//! (ledger, mempool, signature cache, refusals), the committed view and a
//! read-only handle on the store that the API reads instead of the ledger
//! ([`crate::committed_view`]), plus the node's own operational facts —
//! metrics, block events for subscribers, submit times for latency, live
//! status, and the outbox of transactions to gossip.

use crate::committed_view::ViewCell;
use crate::config::Role;
use crate::host::{self, Admitted, Effect, HostState, Origin};
use crate::mempool::MempoolError;
use crate::metrics::Metrics;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::SledStorage;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc, Notify};

pub use crate::host::{RecentRejections, RECENT_REJECTIONS_MAX};

/// How many submit times are tracked for latency metrics.
pub const SUBMIT_TIMES_MAX: usize = 262_144;
/// Locally accepted transactions waiting to be gossiped.
pub const OUTBOX_MAX: usize = 65_536;

/// One transaction in a block event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockEvent {
    pub height: u64,
    pub hash: String,
    /// The block's header time (ms since the Unix epoch, the proposer's).
    pub time_ms: u64,
    pub state_root: String,
    pub txs: Vec<TxSummary>,
}

/// A page of an answer, encoded: what it was asked for (its key) and the
/// JSON bytes.
#[derive(Debug, Clone)]
pub struct EncodedPage {
    pub key: String,
    pub body: axum::body::Bytes,
}

/// Facts the runtime publishes for `/v1/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveStatus {
    pub syncing: bool,
    /// A validator whose safety record was lost, not signing until its
    /// double-sign check passes ([`crate::host::double_sign`]).
    pub double_sign_check: bool,
    pub peers: Vec<String>,
}

#[derive(Debug)]
pub struct NodeState {
    pub role: Role,
    pub chain_id: String,
    pub node_key: PublicKey,
    pub genesis: crate::genesis_file::NetworkGenesis,
    /// The host's shared state: the ledger and the mempool live here. The
    /// API reads neither the ledger nor its lock: it reads `committed` and
    /// `chain`.
    pub host: Arc<HostState<SledStorage>>,
    /// The last committed block's view, published by the runtime.
    pub committed: ViewCell,
    /// Reads of the store, without the ledger.
    pub chain: ChainReader<SledStorage>,
    /// The newest page of blocks as last encoded (one entry): every
    /// explorer asks for the same page, which then costs its reads and its
    /// JSON once per block, not once per request.
    pub newest_blocks: Mutex<Option<EncodedPage>>,
    pub metrics: Metrics,
    pub events: broadcast::Sender<BlockEvent>,
    pub submitted_at: Mutex<HashMap<Hash, Instant>>,
    pub live: RwLock<LiveStatus>,
    /// Encoded transactions accepted locally, for gossip.
    pub outbox: mpsc::Sender<Vec<u8>>,
    /// Woken when the mempool gets new transactions.
    pub txs_available: Notify,
    /// What `GET /health` judges ([`crate::api::health`]).
    pub health: crate::api::health::Health,
    /// This cooperative's members' personal data and the phone directory
    /// (node-local, never replicated: [`crate::personal`]).
    pub directory: Arc<crate::personal::Directory>,
    /// The snapshots this node keeps and serves ([`crate::snapshots`]).
    pub snapshots: crate::snapshots::dir::SnapshotDir,
    /// Blocks this node keeps (`[pruning] keep_blocks`; `None`: every
    /// block, an archive node).
    pub keep_blocks: Option<u64>,
}

impl NodeState {
    /// Publish the view of the ledger as it now stands: the runtime's
    /// step after each commit (it is the ledger's only writer, so this read
    /// lock waits for nobody but itself).
    pub fn publish_committed(&self) {
        match self.host.ledger.read() {
            Ok(ledger) => self.committed.publish_from(&ledger),
            Err(_) => tracing::error!("ledger lock poisoned: the committed view is not updated"),
        }
    }

    pub fn note_submitted(&self, hash: Hash) {
        if let Ok(mut map) = self.submitted_at.lock() {
            if map.len() < SUBMIT_TIMES_MAX {
                map.insert(hash, Instant::now());
            }
        }
    }

    /// Queue a locally accepted transaction for gossip (the runtime
    /// batches the outbox).
    fn gossip_later(&self, bytes: Vec<u8>) {
        if self.outbox.try_send(bytes).is_err() {
            tracing::warn!("gossip outbox full; transaction stays local until a block");
        }
    }

    /// Take a transaction from a client: the host's admission path, then
    /// what it asks for (gossip it, wake consensus) and the bookkeeping
    /// (submit time for latency, refusal metrics). Blocking (it may verify
    /// a signature): run it off the async workers.
    pub fn submit_from_client(&self, bytes: &[u8]) -> Result<Admitted, MempoolError> {
        self.submit_many_from_client(&[bytes])
            .pop()
            .unwrap_or_else(|| {
                Err(MempoolError::Rejected(kopnet_ledger::Rejection::Malformed(
                    "node busy".into(),
                )))
            })
    }

    /// [`NodeState::submit_from_client`] for several transactions (`POST
    /// /v1/txs`): one answer each, in order, their signatures verified
    /// together (batch verification on both cores).
    pub fn submit_many_from_client<B: AsRef<[u8]>>(
        &self,
        txs: &[B],
    ) -> Vec<Result<Admitted, MempoolError>> {
        let mut answers = Vec::with_capacity(txs.len());
        for (admitted, effects) in host::admit_many(&self.host, txs, Origin::Client) {
            match &admitted {
                Ok(a) if a.accepted == host::Accepted::Pending => self.note_submitted(a.hash),
                Ok(_) => {}
                Err(e) => self.metrics.reject(e.code()),
            }
            for effect in effects {
                match effect {
                    Effect::GossipTx(bytes) => self.gossip_later(bytes),
                    Effect::TxsAvailable => self.txs_available.notify_one(),
                    _ => {}
                }
            }
            answers.push(admitted);
        }
        self.metrics
            .mempool_size
            .store(self.host.mempool_len() as u64, Ordering::Relaxed);
        answers
    }
}
