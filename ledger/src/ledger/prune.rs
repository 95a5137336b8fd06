//! Pruning: a node that keeps only the last `keep_blocks` blocks and their
//! indexes, so that its disk use stays bounded under constant load.
//!
//! **What is removed.** For every height below the *base* (the lowest
//! height still held, [`keys::META_BASE`]): the block (`B`), its hash's
//! entry (`K`), its transactions' results, fees and sizes (`C`), the
//! places of its transactions under their hashes (`T` keys of a store
//! indexed before format 11; the place runs that replaced them drop pruned
//! heights as they merge, [`super::place_index`]), its state root
//! (`R`), its history entries (`J`; already folded into `H` once its epoch
//! completed), its committed evidence (`E`), and the host's records of it
//! that the host names by height ([`HostSeries`]: the node's commit
//! certificates and validator sets, [`Pruning::host_series`]); and for
//! every history epoch wholly below the base, each member's `H` value of
//! that epoch (found through the epoch's `G` member lists, deleted with
//! them).
//!
//! **What is never removed.** The state map (`S`: every balance, position,
//! window, proposal), the idempotency and refund records (`I`, `P`: they
//! have their own expiry, [`crate::idempotency`]), the day figures (`D`)
//! and last-active days (`L`) of the Indeks Kota Koperasi, the offence
//! records (`O`: validation reads them, so a pruned node judges a block
//! with old evidence as an archive node does), and the meta keys. Pruning
//! changes nothing agreed: not the state, not the state root, not what a
//! block is checked against. It is local housekeeping, and two nodes with
//! different settings compute the same chain.
//!
//! **Bounded per block, in the block's own batch.** Each applied block
//! prunes at most [`PRUNE_HEIGHTS_PER_BLOCK`] heights (fewer if the blocks
//! read pass [`PRUNE_BLOCK_BYTES_PER_BLOCK`]), sweeps at most
//! [`HISTORY_CHUNKS_PER_BLOCK`] `G` chunks and at most
//! [`HOST_KEYS_PER_BLOCK`] keys per host series, and moves the base, all
//! in the same atomic write as the block: a crash leaves the base and the
//! data it describes in step, and the commit time stays flat (like the
//! sweep of expired idempotency records). Under constant load one height
//! leaves as one arrives; a node switched from archive to pruning works
//! off its backlog at one extra height per block.
//!
//! **The horizon.** After block `h` with `keep_blocks = N` the target base
//! is `h - N + 1`: the node holds blocks `h - N + 1 ..= h`. `N` is at least
//! [`KEEP_BLOCKS_MIN`], so the open history epoch, the previous block's
//! state root (the start-up check reads it) and the certificates the
//! double-sign check scans are always kept. Validator sets are kept for at
//! least [`crate::evidence::EVIDENCE_AGE_MAX`] more heights whatever `N`
//! is (the host asks for that through [`HostSeries::keep_min_blocks`]):
//! evidence that old can still be in a block, and checking it needs its
//! height's set.
//!
//! **Readers** ([`super::ChainReader`]) read the base from the store, never
//! from the settings: a node started from a snapshot has a base above 1
//! without having pruned. A block, root or history page below the base
//! answers [`LedgerError::Pruned`].

use super::history_index::{self, epoch_of, EPOCH_BLOCKS};
use super::{corrupt, decode_u64, BlockTxs, Ledger, LedgerError};
use crate::block::BlockHeader;
use crate::keys;
use crate::storage::{Storage, WriteBatch};
use crate::tx::Transaction;
use kopnet_primitives::codec;

/// The fewest blocks a pruning node keeps: four history epochs (the open
/// epoch's `J` values are never below the base) and far more than the
/// start-up check (the tip and its parent's root) and the double-sign
/// check (the last 10 certificates) read.
pub const KEEP_BLOCKS_MIN: u64 = 4 * EPOCH_BLOCKS;
/// Most heights one applied block prunes: one more than arrives, so a
/// backlog shrinks by one a block.
pub const PRUNE_HEIGHTS_PER_BLOCK: u64 = 2;
/// Bytes of old blocks one applied block reads for pruning before it
/// stops (it always prunes at least one height when one is due).
pub const PRUNE_BLOCK_BYTES_PER_BLOCK: usize = 8 * 1024 * 1024;
/// `G` chunks (of up to [`history_index::EPOCH_MEMBERS_CHUNK`] members,
/// one `H` delete each) one applied block sweeps.
pub const HISTORY_CHUNKS_PER_BLOCK: usize = 8;
/// Keys per host series one applied block deletes.
pub const HOST_KEYS_PER_BLOCK: usize = 4;

/// Records the host writes with each block under its host-data prefix
/// ([`keys::host`]) as `prefix ‖ height (u64 BE)`: pruned with the
/// heights they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSeries {
    pub prefix: Vec<u8>,
    /// Keep this series' records for at least this many heights below the
    /// next block, whatever the base (0: pruned with the blocks).
    pub keep_min_blocks: u64,
}

/// A node's pruning setting (no setting: an archive node, keeping
/// everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruning {
    keep_blocks: u64,
    host_series: Vec<HostSeries>,
}

/// Why a pruning setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PruningError {
    #[error("keep_blocks {keep} is below the minimum of {min} blocks (0 keeps everything)")]
    KeepTooSmall { keep: u64, min: u64 },
}

impl Pruning {
    /// Keep the last `keep_blocks` blocks (at least [`KEEP_BLOCKS_MIN`]).
    pub fn new(keep_blocks: u64, host_series: Vec<HostSeries>) -> Result<Self, PruningError> {
        if keep_blocks < KEEP_BLOCKS_MIN {
            return Err(PruningError::KeepTooSmall {
                keep: keep_blocks,
                min: KEEP_BLOCKS_MIN,
            });
        }
        Ok(Pruning {
            keep_blocks,
            host_series,
        })
    }

    pub fn keep_blocks(&self) -> u64 {
        self.keep_blocks
    }

    pub fn host_series(&self) -> &[HostSeries] {
        &self.host_series
    }

    /// The base this setting aims at once block `height` is applied.
    pub fn target_base(&self, height: u64) -> u64 {
        height
            .saturating_sub(self.keep_blocks)
            .saturating_add(1)
            .max(1)
    }
}

/// The base a store records (1 when it records none).
pub(super) fn stored_base<S: Storage>(store: &S) -> Result<u64, LedgerError> {
    match store.get(keys::META_BASE)? {
        Some(bytes) => Ok(decode_u64(&bytes)?.max(1)),
        None => Ok(1),
    }
}

impl<S: Storage> Ledger<S> {
    /// The lowest height whose block, certificate and indexes this node
    /// holds (1: nothing pruned).
    pub fn base_height(&self) -> u64 {
        self.base
    }

    /// The pruning setting (`None`: archive).
    pub fn pruning(&self) -> Option<&Pruning> {
        self.pruning.as_ref()
    }

    /// Prune from the next applied block on (`None`: keep everything from
    /// now on; what was pruned stays pruned).
    pub fn set_pruning(&mut self, pruning: Option<Pruning>) {
        self.pruning = pruning;
    }

    /// Put the bounded pruning step of block `height` into `batch`: the
    /// base after it.
    pub(super) fn prune_into(
        &self,
        batch: &mut WriteBatch,
        height: u64,
    ) -> Result<u64, LedgerError> {
        let Some(pruning) = &self.pruning else {
            return Ok(self.base);
        };
        let target = pruning.target_base(height);
        let mut base = self.base;
        let mut heights = 0u64;
        let mut bytes = 0usize;
        let runs_from = match self.store.get(keys::META_PLACE_RUNS_FROM)? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 1,
        };
        while base < target
            && heights < PRUNE_HEIGHTS_PER_BLOCK
            && bytes < PRUNE_BLOCK_BYTES_PER_BLOCK
        {
            let t_keys = base < runs_from;
            bytes = bytes.saturating_add(prune_height(&self.store, batch, base, t_keys)?);
            base = base.saturating_add(1);
            heights = heights.saturating_add(1);
        }
        self.sweep_history(batch, base)?;
        for series in &pruning.host_series {
            let horizon = height
                .saturating_add(1)
                .saturating_sub(series.keep_min_blocks)
                .min(base);
            let mut first_kept = series.prefix.clone();
            first_kept.extend_from_slice(&horizon.to_be_bytes());
            self.sweep_expired(
                batch,
                &keys::host(&series.prefix),
                &keys::host(&first_kept),
                HOST_KEYS_PER_BLOCK,
            )?;
        }
        if base != self.base {
            batch.put(keys::META_BASE.to_vec(), base.to_be_bytes().to_vec());
        }
        Ok(base)
    }

    /// Delete the `H` values of up to [`HISTORY_CHUNKS_PER_BLOCK`] member
    /// lists of epochs wholly below `base`, with the lists.
    fn sweep_history(&self, batch: &mut WriteBatch, base: u64) -> Result<(), LedgerError> {
        let first_kept = keys::epoch_members_start(epoch_of(base));
        let chunks = self.store.scan_prefix_rev(
            keys::EPOCH_MEMBERS_PREFIX,
            Some(&first_kept),
            HISTORY_CHUNKS_PER_BLOCK,
        )?;
        for (key, value) in chunks {
            let epoch = key
                .get(1..9)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt("history epoch member list key"))?;
            for member in history_index::members_of_chunk(&value)? {
                batch.delete(keys::history(&member, epoch));
            }
            batch.delete(key);
        }
        Ok(())
    }

    /// How many keys the store holds under `prefix` (for tests and
    /// measurements of what pruning leaves).
    pub fn stored_keys(&self, prefix: &[u8]) -> Result<u64, LedgerError> {
        self.count_prefix(prefix)
    }
}

/// Put the deletion of everything stored for block `height` into `batch`;
/// the bytes of the block read. A height the store has no block for (one
/// below a snapshot's base) deletes what is keyed by height only. With
/// `t_keys` (a height indexed before the store's migration to format 11)
/// its transactions' `T` keys are deleted too; later heights' places are
/// in runs, which merges prune ([`super::place_index`]).
fn prune_height<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    height: u64,
    t_keys: bool,
) -> Result<usize, LedgerError> {
    let index = match store.get(&keys::block_txs(height))? {
        Some(bytes) => Some(BlockTxs::decode(&bytes).map_err(corrupt)?),
        None => None,
    };
    let mut read: Option<Result<Hashes, LedgerError>> = None;
    store.read_with(&keys::block(height), &mut |bytes| {
        read = Some(hashes_of(bytes, index.as_ref(), t_keys));
    })?;
    let mut block_bytes = 0;
    if let Some(found) = read {
        let hashes = found?;
        block_bytes = hashes.block_bytes;
        batch.delete(keys::block_hash(&hashes.block));
        for (at, tx) in hashes.txs.iter().enumerate() {
            let at = u32::try_from(at).map_err(corrupt)?;
            batch.delete(keys::tx_place(tx, height, at));
        }
    }
    let evidence = store.scan_prefix_rev(
        &keys::evidence_of_block(height),
        None,
        crate::evidence::BLOCK_EVIDENCE_MAX,
    )?;
    for (key, _) in evidence {
        batch.delete(key);
    }
    batch.delete(keys::block(height));
    batch.delete(keys::block_txs(height));
    batch.delete(keys::root(height));
    batch.delete(keys::block_history(height));
    Ok(block_bytes)
}

/// What pruning needs from a stored block: its hash and its transactions'.
struct Hashes {
    block: kopnet_primitives::Hash,
    txs: Vec<kopnet_primitives::Hash>,
    block_bytes: usize,
}

/// The hashes of a stored block and its transactions, from the
/// transactions' offsets in `index` (without decoding the block), or by
/// decoding it when its index is missing.
fn hashes_of(
    bytes: &[u8],
    index: Option<&BlockTxs>,
    with_txs: bool,
) -> Result<Hashes, LedgerError> {
    let Some(index) = index else {
        let block = crate::block::Block::decode(bytes).map_err(corrupt)?;
        return Ok(Hashes {
            block: block.hash(),
            txs: block.txs.iter().map(Transaction::hash).collect(),
            block_bytes: bytes.len(),
        });
    };
    // The header, then the transaction count (8 bytes), then the
    // transactions ([`super::encode_block`]).
    let header_end = usize::try_from(index.txs_start)
        .ok()
        .and_then(|start| start.checked_sub(8))
        .ok_or_else(|| corrupt("stored block's transaction offset"))?;
    let header_bytes = bytes
        .get(..header_end)
        .ok_or_else(|| corrupt("stored block shorter than its header"))?;
    let header: BlockHeader = codec::decode(header_bytes).map_err(corrupt)?;
    let count = if with_txs { index.entries.len() } else { 0 };
    let mut txs = Vec::with_capacity(count);
    for at in 0..count {
        let tx = index
            .range_of(at)
            .and_then(|range| bytes.get(range))
            .ok_or_else(|| corrupt("stored block shorter than its transaction index"))?;
        txs.push(Transaction::hash_of_encoded(tx));
    }
    Ok(Hashes {
        block: header.hash(),
        txs,
        block_bytes: bytes.len(),
    })
}
