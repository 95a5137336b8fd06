//! Applying a block: its state writes, its payments' idempotency records
//! and merchant payments' refund records (stored by day, outside the state
//! map; see [`crate::idempotency`], [`crate::refunds`]), the
//! commitment's new root, the indexes and the host's entries land in storage
//! in one atomic, durable batch, or none do. The in-memory state moves only
//! after the batch is durable.

use super::daily_figures::BlockDay;
use super::executed::Execution;
use super::payment_records::take_records;
use super::queries::validators_of;
use super::refund_records::take_merchant_payments;
use super::run::SignatureCheck;
use super::{corrupt, index, ExecutedBlock, Ledger, LedgerError};
use crate::block::Block;
use crate::keys;
use crate::rejection::Rejection;
use crate::state::{Overlay, State, StateKey, StateRead, StateValue};
use crate::storage::{Storage, WriteBatch};
use crate::types::Amount;
use kopnet_primitives::{codec, Hash, PublicKey};
use std::collections::BTreeMap;

/// What applying a block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    pub height: u64,
    pub hash: Hash,
    pub state_root: Hash,
    pub results: Vec<(Hash, Result<(), Rejection>)>,
    /// Per transaction, in block order: the fees it charged ([`TxRecord::fees`]).
    ///
    /// [`TxRecord::fees`]: super::TxRecord::fees
    pub fees: Vec<Amount>,
    /// Whether the set of validators or their power changed in this block.
    pub validators_changed: bool,
}

/// Host entries (key, value) written in a block's batch under the host prefix.
type HostEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// A state entry encoded for the store: its store key (the state prefix,
/// then the encoded `StateKey`, which is what the commitment hashes) and
/// its encoded value (`None` deletes).
type EncodedWrite = (Vec<u8>, Option<Vec<u8>>);

impl<S: Storage> Ledger<S> {
    /// Apply a block: all of its effects land in storage in one atomic,
    /// durable batch, or none do. `extra` entries (for example the commit
    /// certificate) are written in the same batch under the host prefix.
    pub fn apply_block(
        &mut self,
        block: &Block,
        sigs: &dyn SignatureCheck,
        extra: HostEntries,
    ) -> Result<BlockOutcome, LedgerError> {
        self.apply_block_with(block, sigs, extra, |_| Vec::new())
    }

    /// [`Ledger::apply_block`], where `after` sees the validators (key,
    /// power; sorted) the state will have after the block and returns more
    /// host entries for the same batch: the node records the validator set
    /// that signs two heights later in the block's own write, so no crash
    /// can separate the two.
    ///
    /// The same as [`Ledger::validate_block`] then [`Ledger::apply_executed`]
    /// (without copying the block into an [`ExecutedBlock`]).
    pub fn apply_block_with(
        &mut self,
        block: &Block,
        sigs: &dyn SignatureCheck,
        extra: HostEntries,
        after: impl FnOnce(&[(PublicKey, u64)]) -> HostEntries,
    ) -> Result<BlockOutcome, LedgerError> {
        let execution = self.execute_block(block, sigs)?;
        self.write_block(block, block.hash(), execution, extra, after)
    }

    /// Write a block executed by [`Ledger::validate_block`] or
    /// [`Ledger::build_executed_block`], without executing it again; `extra`
    /// and `after` as in [`Ledger::apply_block_with`].
    ///
    /// Refused with [`LedgerError::ExecutedOnOtherState`], writing nothing,
    /// unless the ledger is on the exact state the block was executed on
    /// (same height, last block, state root, and no change since).
    pub fn apply_executed(
        &mut self,
        executed: ExecutedBlock,
        extra: HostEntries,
        after: impl FnOnce(&[(PublicKey, u64)]) -> HostEntries,
    ) -> Result<BlockOutcome, LedgerError> {
        if executed.executed_on() != self.tip() {
            return Err(LedgerError::ExecutedOnOtherState {
                block_height: executed.height(),
                ledger_height: self.height,
            });
        }
        let (block, hash, execution) = executed.into_parts();
        self.write_block(&block, hash, execution, extra, after)
    }

    /// Write `execution` of `block` (executed on the current state) in one
    /// batch, then move the in-memory state, root and height.
    fn write_block(
        &mut self,
        block: &Block,
        hash: Hash,
        mut execution: Execution,
        mut extra: HostEntries,
        after: impl FnOnce(&[(PublicKey, u64)]) -> HostEntries,
    ) -> Result<BlockOutcome, LedgerError> {
        let height = block.header.height;
        let records = take_records(&mut execution.writes);
        let merchant_payments = take_merchant_payments(&mut execution.writes);
        let validators_before = self.validators();
        let validators_after = validators_after(&self.state, &mut execution.writes);
        let day = block_day(&self.state, block, &mut execution);
        extra.extend(after(&validators_after));

        // Everything that can fail is done before the commitment changes.
        let encoded = encode_writes(&execution.writes)?;
        let mut indexes = WriteBatch::default();
        index::index_block(
            &self.store,
            &mut indexes,
            block,
            hash,
            &execution,
            self.base,
        )?;
        let active_day = day.day;
        let active = day.write(&self.store, &mut indexes, &self.active_today)?;
        // The bounded pruning step ([`super::prune`]), in the same batch.
        let mut pruned = WriteBatch::default();
        let base = self.prune_into(&mut pruned, height)?;

        let mut batch = WriteBatch::default();
        self.write_records(&mut batch, &records, (height, block.header.time_ms))?;
        self.write_merchant_payments(
            &mut batch,
            &merchant_payments,
            (height, block.header.time_ms),
        )?;
        let root = self.update_commitment(&mut batch, encoded);
        batch.ops.extend(indexes.ops);
        batch.put(keys::META_HEIGHT.to_vec(), height.to_be_bytes().to_vec());
        batch.put(keys::META_LAST_HASH.to_vec(), hash.0.to_vec());
        batch.put(
            keys::META_LAST_TIME.to_vec(),
            block.header.time_ms.to_be_bytes().to_vec(),
        );
        batch.put(keys::root(height), root.0.to_vec());
        for (k, v) in extra {
            batch.put(keys::host(&k), v);
        }
        batch.ops.extend(pruned.ops);
        if let Err(error) = self.store.commit(batch) {
            self.restore_commitment(&execution.writes)?;
            return Err(error.into());
        }

        self.figures.apply(&self.state, &execution.writes);
        self.state.apply_owned(execution.writes);
        self.records_stored(&records, block.header.time_ms);
        self.active_today.note(active_day, active);
        self.height = height;
        self.last_block_hash = hash;
        self.last_block_time_ms = block.header.time_ms;
        self.state_root = root;
        self.base = base;
        self.revision = self.revision.wrapping_add(1);
        Ok(BlockOutcome {
            height,
            hash,
            state_root: root,
            results: execution.results,
            fees: execution.fees,
            validators_changed: validators_after != validators_before,
        })
    }

    /// Put the encoded state writes into the commitment and move them into
    /// `batch`; the new state root.
    fn update_commitment(&mut self, batch: &mut WriteBatch, encoded: Vec<EncodedWrite>) -> Hash {
        for (store_key, value) in encoded {
            let key = store_key
                .get(keys::STATE_PREFIX.len()..)
                .unwrap_or_default();
            self.tree.update(key, value.as_deref());
            match value {
                Some(value) => batch.put(store_key, value),
                None => batch.delete(store_key),
            }
        }
        self.tree.recompute()
    }

    /// Put the commitment back as it was after a failed write of `writes`:
    /// the state map is untouched, so it holds the old value of every
    /// written key.
    fn restore_commitment(
        &mut self,
        writes: &BTreeMap<StateKey, Option<StateValue>>,
    ) -> Result<(), LedgerError> {
        for key in writes.keys() {
            let k = codec::encode(key).map_err(corrupt)?;
            let old = match self.state.get(key) {
                Some(value) => Some(codec::encode(&value).map_err(corrupt)?),
                None => None,
            };
            self.tree.update(&k, old.as_deref());
        }
        self.tree.recompute();
        Ok(())
    }
}

/// The validators (key, power; sorted) `state` has once `writes` are
/// applied. `writes` are lent to an overlay and given back unchanged.
fn validators_after(
    state: &State,
    writes: &mut BTreeMap<StateKey, Option<StateValue>>,
) -> Vec<(PublicKey, u64)> {
    let mut post = Overlay::new(state);
    post.merge(std::mem::take(writes));
    let validators = validators_of(&post);
    *writes = post.into_writes();
    validators
}

/// The block's additions to its day's figures ([`BlockDay`]): fee
/// accounts from `state` to the writes, transactions against the state
/// after the block. The writes are lent to an overlay and given back
/// unchanged.
fn block_day(state: &State, block: &Block, execution: &mut Execution) -> BlockDay {
    let mut day = BlockDay::new(block.header.time_ms);
    day.fees(state, &execution.writes);
    let mut post = Overlay::new(state);
    post.merge(std::mem::take(&mut execution.writes));
    day.transactions(block, &execution.results, &post);
    execution.writes = post.into_writes();
    day
}

fn encode_writes(
    writes: &BTreeMap<StateKey, Option<StateValue>>,
) -> Result<Vec<EncodedWrite>, LedgerError> {
    let mut encoded = Vec::with_capacity(writes.len());
    for (key, value) in writes {
        let k = codec::encode_with(key, keys::state).map_err(corrupt)?;
        let v = match value {
            Some(v) => Some(codec::encode(v).map_err(corrupt)?),
            None => None,
        };
        encoded.push((k, v));
    }
    Ok(encoded)
}
