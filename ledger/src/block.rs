//! Blocks: an ordered list of transactions under a header that chains them.
//!
//! A header commits to the state root *before* its transactions (the root after
//! the parent block): every node knows it when the block is proposed, so
//! proposing needs no speculative execution, and block `h + 1` certifies the
//! state produced by block `h`.

use crate::evidence::EvidenceRecord;
use crate::tx::Transaction;
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Largest encoded block, in bytes.
pub const BLOCK_BYTES_MAX: usize = 8 * 1024 * 1024;

const BLOCK_HASH_CONTEXT: &str = "kopnet 2026 block header v2";
const TX_ROOT_LEAF_CONTEXT: &str = "kopnet 2026 tx root leaf v1";
const TX_ROOT_NODE_CONTEXT: &str = "kopnet 2026 tx root node v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    pub chain_id: String,
    pub height: u64,
    /// Hash of the previous block's header (the genesis hash for height 1).
    pub parent: Hash,
    /// State root after the previous block.
    pub prev_state_root: Hash,
    /// Merkle root of the transaction hashes.
    pub tx_root: Hash,
    pub tx_count: u32,
    /// The validator whose signed proposal carried this block (the node
    /// host refuses a proposal whose signer is not this key).
    pub proposer: PublicKey,
    /// The proposer's clock when it built the block, in milliseconds since
    /// the Unix epoch: always after the parent's time, and not ahead of a
    /// validating node's clock by more than the node's drift bound (see
    /// the node host). Calendar rules (monthly limits) read it.
    pub time_ms: u64,
    /// [`crate::evidence::evidence_root`] of [`Block::evidence`].
    pub evidence_root: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<Transaction>,
    /// Proof of consensus misbehaviour the proposer took in
    /// ([`crate::evidence`]).
    pub evidence: Vec<EvidenceRecord>,
}

/// Why bytes are not an acceptable block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockDecodeError {
    #[error("block does not decode: {0}")]
    Codec(#[from] codec::DecodeError),
    #[error("cannot encode block: {0}")]
    Encode(#[from] codec::EncodeError),
}

impl BlockHeader {
    pub fn hash(&self) -> Hash {
        codec::encode_with(self, |bytes| Hash::digest(BLOCK_HASH_CONTEXT, bytes))
            .unwrap_or(Hash::ZERO)
    }
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    pub fn encode(&self) -> Result<Vec<u8>, BlockDecodeError> {
        Ok(codec::encode(self)?)
    }

    pub fn decode(bytes: &[u8]) -> Result<Block, BlockDecodeError> {
        Ok(codec::decode_bounded(bytes, BLOCK_BYTES_MAX)?)
    }
}

/// Binary Merkle root over transaction hashes (an odd node is paired with itself).
pub fn tx_root(hashes: &[Hash]) -> Hash {
    if hashes.is_empty() {
        return Hash::digest(TX_ROOT_LEAF_CONTEXT, &[]);
    }
    let mut level: Vec<Hash> = hashes
        .iter()
        .map(|h| Hash::digest(TX_ROOT_LEAF_CONTEXT, &h.0))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => Hash::digest_parts(TX_ROOT_NODE_CONTEXT, &[&a.0, &b.0]),
                [a] => Hash::digest_parts(TX_ROOT_NODE_CONTEXT, &[&a.0, &a.0]),
                _ => Hash::ZERO,
            })
            .collect();
    }
    level.first().copied().unwrap_or_default()
}
