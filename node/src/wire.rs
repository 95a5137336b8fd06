//! What travels between nodes, encoded with the shared codec.

use kopnet_consensus::codec;
use kopnet_consensus::types::Message;
use serde::{Deserialize, Serialize};

/// Most transactions in one gossip batch.
pub const TX_BATCH_MAX: usize = 512;
/// Most blocks in one catch-up page.
pub const SYNC_PAGE_MAX: u32 = 64;
/// Largest gossip or sync message.
pub const WIRE_BYTES_MAX: usize = 12 * 1024 * 1024;
/// Block and certificate bytes in one catch-up page (one block alone may
/// exceed it; a block is at most [`kopnet_ledger::block::BLOCK_BYTES_MAX`]).
/// Well under [`WIRE_BYTES_MAX`], so a page always fits one message.
pub const SYNC_PAGE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Gossip on the transactions topic: encoded transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBatch {
    pub txs: Vec<Vec<u8>>,
}

/// Gossip on the consensus topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsensusGossip {
    Message(Message),
    /// "I committed up to this height": a hint for lagging peers to sync.
    /// Carries the sender so that equal announcements from different nodes
    /// are different gossip messages.
    Committed {
        height: u64,
        from: kopnet_consensus::PublicKey,
    },
}

/// Catch-up request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Blocks `from..from+limit` with their commit certificates.
    Blocks { from: u64, limit: u32 },
}

/// One committed block with its certificate, both encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedBlock {
    pub block: Vec<u8>,
    pub certificate: Vec<u8>,
}

/// Catch-up response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The responder's committed height (0 with no block: it cannot serve
    /// from the height asked, see [`SyncResponse::cannot_serve`]).
    pub height: u64,
    pub blocks: Vec<SyncedBlock>,
}

impl SyncResponse {
    /// "I cannot serve blocks from there" (they are below my pruning base,
    /// or my store cannot be read): no block, height 0. Claiming nothing,
    /// it is never taken for a false height claim; the requester asks
    /// another peer. (A page of the same shape as before pruning, so nodes
    /// of earlier builds read it as an empty page, also without penalty.)
    pub fn cannot_serve() -> Self {
        SyncResponse {
            height: 0,
            blocks: Vec::new(),
        }
    }

    /// Whether this is [`SyncResponse::cannot_serve`].
    pub fn is_cannot_serve(&self) -> bool {
        self.height == 0 && self.blocks.is_empty()
    }
}

/// The node's verdict on a gossip message, fed back to gossipsub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it to other peers.
    Accept,
    /// Invalid: do not forward; penalise the sender.
    Reject,
    /// Not forwarded, no penalty (e.g. already known, too old).
    #[default]
    Ignore,
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).unwrap_or_default()
}

pub fn decode<T: Serialize + serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, codec::DecodeError> {
    codec::decode_bounded(bytes, WIRE_BYTES_MAX)
}

// A page of catch-up, or one maximal block with its certificate, always fits
// one wire message.
const _: () = assert!(SYNC_PAGE_BYTES_MAX + 1024 * 1024 <= WIRE_BYTES_MAX);
const _: () = assert!(kopnet_ledger::block::BLOCK_BYTES_MAX + 1024 * 1024 <= WIRE_BYTES_MAX);
