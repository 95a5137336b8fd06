//! Consensus values are blocks: the proposer builds one from its mempool,
//! every validator checks one against its ledger.

use super::state::HostState;
use kopnet_consensus::types::Value;
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::{BlockLimits, ExecutedBlock};
use kopnet_ledger::{Block, Storage};

/// Build the block for our proposal at `height` from the mempool; `None` if
/// the ledger is not at `height - 1` (a stale request) or its lock is
/// poisoned. Transactions the ledger skips are remembered with the reason.
/// The block's execution comes back too, to be written if it is decided.
pub fn build<S: Storage>(
    state: &HostState<S>,
    height: u64,
    proposer: PublicKey,
    limits: BlockLimits,
) -> Option<(Value, ExecutedBlock)> {
    let ledger = state.ledger.read().ok()?;
    if ledger.height().saturating_add(1) != height {
        return None;
    }
    let candidates = state
        .mempool
        .lock()
        .ok()?
        .candidates(limits.max_txs, |k| ledger.next_nonce(k).ok());
    let (executed, skipped) =
        ledger.build_executed_block(&candidates, proposer, limits, &state.verified);
    for (hash, reason) in skipped {
        state.note_rejection(hash, reason.code());
    }
    let bytes = executed.block().encode().ok()?;
    let value = Value {
        id: executed.hash(),
        bytes,
    };
    Some((value, executed))
}

/// Why a proposed value is not a valid next block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueRefusal {
    #[error("value for height {got}, but the ledger is at {committed}")]
    WrongHeight { committed: u64, got: u64 },
    #[error("does not decode as a block: {0}")]
    Decode(String),
    #[error("value id is not the block hash")]
    IdMismatch,
    #[error("the ledger refuses it: {0}")]
    Ledger(String),
    #[error("ledger lock poisoned")]
    Poisoned,
}

/// Check that `value` is a valid block at `height` on top of our ledger;
/// its execution comes back, to be written if it is decided.
pub fn validate<S: Storage>(
    state: &HostState<S>,
    height: u64,
    value: &Value,
) -> Result<ExecutedBlock, ValueRefusal> {
    let block = Block::decode(&value.bytes).map_err(|e| ValueRefusal::Decode(e.to_string()))?;
    if block.hash() != value.id {
        return Err(ValueRefusal::IdMismatch);
    }
    let ledger = state.ledger.read().map_err(|_| ValueRefusal::Poisoned)?;
    let committed = ledger.height();
    if committed.saturating_add(1) != height || block.header.height != height {
        return Err(ValueRefusal::WrongHeight {
            committed,
            got: block.header.height,
        });
    }
    ledger
        .validate_block(&block, &state.verified)
        .map_err(|e| ValueRefusal::Ledger(e.to_string()))
}
