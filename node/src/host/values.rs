//! Consensus values are blocks: the proposer builds one from its mempool,
//! every validator checks one against its ledger.
//!
//! ## Header rules the host checks (besides the ledger's)
//! - **Who**: the header's `proposer` is the key that signed the proposal
//!   — for a fresh value. A value re-proposed from an earlier round (a
//!   proposal with a valid round, Tendermint's `validValue`) was built by
//!   that round's proposer, so then the header must name a validator of
//!   the height.
//! - **When**: the proposer stamps its clock (ms since the Unix epoch), or
//!   the parent's time + 1 if its clock is not past the parent's; the
//!   ledger requires every block's time to be after its parent's, and a
//!   validator refuses (prevotes nil on) a block whose time is more than
//!   [`BLOCK_TIME_DRIFT_MAX_MS`] ahead of its own clock. A block's time is
//!   thus never earlier than its parent's and never far in the future of
//!   the honest validators' clocks; a Byzantine proposer can only pick a
//!   time between its parent's and that bound. Catch-up does not apply the
//!   clock bound (the block is certified already).
//! - **Evidence**: each record's proof verifies ([`super::evidence`]).

use super::evidence::{verify_record, EvidenceRefusal};
use super::state::HostState;
use kopnet_consensus::types::Value;
use kopnet_consensus::PublicKey;
use kopnet_ledger::evidence::EvidenceRecord;
use kopnet_ledger::ledger::{BlockContext, BlockLimits, ExecutedBlock};
use kopnet_ledger::{Block, Storage};

/// How far ahead of a validator's clock a proposed block's time may be.
pub const BLOCK_TIME_DRIFT_MAX_MS: u64 = 5_000;

/// Build the block for our proposal at `height` from the mempool; `None` if
/// the ledger is not at `height - 1` (a stale request) or its lock is
/// poisoned. Transactions the ledger skips are remembered with the reason.
/// The block's execution comes back too, to be written if it is decided.
pub fn build<S: Storage>(
    state: &HostState<S>,
    height: u64,
    proposer: PublicKey,
    now_ms: u64,
    evidence: Vec<EvidenceRecord>,
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
    let context = BlockContext {
        proposer,
        time_ms: now_ms,
        evidence,
    };
    let (executed, skipped) =
        ledger.build_executed_block(&candidates, context, limits, &state.verified);
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
    #[error("header names proposer {named}, but {signer} signed the proposal")]
    WrongProposer { named: PublicKey, signer: PublicKey },
    #[error("block time {time_ms} is more than {BLOCK_TIME_DRIFT_MAX_MS} ms ahead of our clock {now_ms}")]
    TimeAhead { time_ms: u64, now_ms: u64 },
    #[error("evidence record {index}: {reason}")]
    Evidence {
        index: usize,
        reason: EvidenceRefusal,
    },
    #[error("the ledger refuses it: {0}")]
    Ledger(String),
    #[error("ledger lock poisoned")]
    Poisoned,
}

/// Who proposed a value: the signer, and whether the value is fresh (no
/// valid round) or re-proposed.
#[derive(Debug, Clone, Copy)]
pub struct ProposedBy {
    pub signer: PublicKey,
    pub fresh: bool,
}

/// Check that `value`, proposed as `by` says, is a valid block at `height`
/// on top of our ledger at our clock `now_ms`; its execution comes back,
/// to be written if it is decided.
pub fn validate<S: Storage>(
    state: &HostState<S>,
    height: u64,
    by: ProposedBy,
    now_ms: u64,
    value: &Value,
) -> Result<ExecutedBlock, ValueRefusal> {
    let block = Block::decode(&value.bytes).map_err(|e| ValueRefusal::Decode(e.to_string()))?;
    if block.hash() != value.id {
        return Err(ValueRefusal::IdMismatch);
    }
    let named = block.header.proposer;
    let named_ok = if by.fresh {
        named == by.signer
    } else {
        let ledger = state.ledger.read().map_err(|_| ValueRefusal::Poisoned)?;
        crate::chain_store::validator_set(&ledger, height)
            .map(|set| set.power_of(&named) > 0)
            .unwrap_or(false)
    };
    if !named_ok {
        return Err(ValueRefusal::WrongProposer {
            named,
            signer: by.signer,
        });
    }
    if block.header.time_ms > now_ms.saturating_add(BLOCK_TIME_DRIFT_MAX_MS) {
        return Err(ValueRefusal::TimeAhead {
            time_ms: block.header.time_ms,
            now_ms,
        });
    }
    for (index, record) in block.evidence.iter().enumerate() {
        verify_record(state, record).map_err(|reason| ValueRefusal::Evidence { index, reason })?;
    }
    let ledger = state.ledger.read().map_err(|_| ValueRefusal::Poisoned)?;
    let committed = ledger.height();
    if committed.saturating_add(1) != height || block.header.height != height {
        return Err(ValueRefusal::WrongHeight {
            committed,
            got: block.header.height,
        });
    }
    // The transactions this node had not seen (not in the mempool's
    // verified set) are verified here together, batched over both cores;
    // the block's execution then finds every good one in the set.
    state.verified.verify_txs(&block.txs);
    ledger
        .validate_block(&block, &state.verified)
        .map_err(|e| ValueRefusal::Ledger(e.to_string()))
}
