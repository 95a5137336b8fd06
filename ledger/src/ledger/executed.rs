//! [`ExecutedBlock`]: the value one step returns and the next consumes.
//! Validating (or building) a block executes it; applying the decided block
//! writes that execution instead of running the transactions a second time.

use crate::block::Block;
use crate::rejection::Rejection;
use crate::state::{StateKey, StateValue};
use crate::types::Amount;
use kopnet_primitives::{Hash, PublicKey};
use std::collections::BTreeMap;

/// Where the ledger stands: the state a block is executed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tip {
    pub(super) height: u64,
    pub(super) last_block_hash: Hash,
    pub(super) state_root: Hash,
    /// See [`super::Ledger`]'s `revision`.
    pub(super) revision: u64,
}

/// A block's transactions run against a state: everything writing the block
/// needs besides the block itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Execution {
    /// The new state, as writes over the state it ran on (`None` deletes).
    pub(super) writes: BTreeMap<StateKey, Option<StateValue>>,
    /// Per transaction, in block order: its hash and result.
    pub(super) results: Vec<(Hash, Result<(), Rejection>)>,
    /// Per transaction, the member accounts its execution changed.
    pub(super) changed: Vec<Vec<PublicKey>>,
    /// Per transaction, the fees it charged.
    pub(super) fees: Vec<Amount>,
}

/// A block executed against the ledger's state at one height, not yet
/// written: the new state, each transaction's result and fees.
///
/// Returned by [`Ledger::validate_block`] (a proposal checked by a
/// validator) and [`Ledger::build_executed_block`] (the proposer's own
/// block). The fields are private: the only way to write it is
/// [`Ledger::apply_executed`], which refuses it unless the ledger is still on
/// the exact state it was executed on.
///
/// How to resume: keep it while consensus decides. When a block is decided,
/// if its hash is [`ExecutedBlock::hash`], pass this value to
/// [`Ledger::apply_executed`] with the host entries for the same batch;
/// otherwise drop it and apply the decided block with
/// [`Ledger::apply_block_with`], which executes it afresh. If
/// `apply_executed` answers [`LedgerError::ExecutedOnOtherState`] (the ledger
/// moved on, e.g. by catch-up) nothing was written: do the same. Dropping an
/// `ExecutedBlock` is always safe; it only costs executing the block again.
/// A host may keep several at one height (one per round's proposal, within
/// a bound): all were executed on the same state, so whichever block is
/// decided can be written from its own.
///
/// [`Ledger::validate_block`]: super::Ledger::validate_block
/// [`Ledger::build_executed_block`]: super::Ledger::build_executed_block
/// [`Ledger::apply_executed`]: super::Ledger::apply_executed
/// [`Ledger::apply_block_with`]: super::Ledger::apply_block_with
/// [`LedgerError::ExecutedOnOtherState`]: super::LedgerError::ExecutedOnOtherState
#[derive(Debug, PartialEq, Eq)]
pub struct ExecutedBlock {
    block: Block,
    hash: Hash,
    executed_on: Tip,
    execution: Execution,
}

impl ExecutedBlock {
    pub(super) fn new(block: Block, hash: Hash, executed_on: Tip, execution: Execution) -> Self {
        ExecutedBlock {
            block,
            hash,
            executed_on,
            execution,
        }
    }

    /// The block that was executed.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// The block's hash (its header's).
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The block's height.
    pub fn height(&self) -> u64 {
        self.block.header.height
    }

    /// Per transaction, in block order: its hash and how it would end.
    pub fn results(&self) -> &[(Hash, Result<(), Rejection>)] {
        &self.execution.results
    }

    /// Per transaction, in block order: the fees it would charge.
    pub fn fees(&self) -> &[Amount] {
        &self.execution.fees
    }

    /// Give up the execution and keep the block (to encode and propose it,
    /// for example).
    pub fn into_block(self) -> Block {
        self.block
    }

    pub(super) fn executed_on(&self) -> Tip {
        self.executed_on
    }

    pub(super) fn into_parts(self) -> (Block, Hash, Execution) {
        (self.block, self.hash, self.execution)
    }
}
