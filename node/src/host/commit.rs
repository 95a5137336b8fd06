//! Committing a block, decided or caught up: one atomic ledger batch with
//! the block, its certificate and the validator set it decides for
//! `h + 2` ([`crate::chain_store`]), then the mempool forgets what the block
//! used and says what it evicted.

use super::effect::{CommitPath, Committed};
use super::state::HostState;
use crate::chain_store::{self, ChainStoreError};
use kopnet_consensus::{CommitCertificate, PublicKey};
use kopnet_ledger::ledger::{BlockOutcome, ExecutedBlock};
use kopnet_ledger::{Block, Ledger, LedgerError, Storage};

/// Why a block could not be committed. Any of these leaves the node unable
/// to go on at this height: the host fails stop.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{source}")]
    Ledger {
        height: u64,
        #[source]
        source: LedgerError,
    },
    #[error(transparent)]
    ChainStore(#[from] ChainStoreError),
    #[error("ledger lock poisoned")]
    Poisoned,
}

/// Apply `block` with `certificate`; evict what it made stale from the
/// mempool (remembering why for `GET /v1/tx/{hash}`). `executed` is this
/// node's execution of the block, if it built or validated it: written as
/// is when it still fits the ledger, so the block is not executed twice.
pub fn commit_block<S: Storage>(
    state: &HostState<S>,
    block: Block,
    executed: Option<ExecutedBlock>,
    certificate: CommitCertificate,
    via: CommitPath,
) -> Result<Committed, CommitError> {
    let height = block.header.height;
    let certificate_entry = chain_store::certificate_entry(&certificate)?;
    let executed = executed.filter(|e| e.hash() == block.hash());
    let outcome = {
        let mut ledger = state.ledger.write().map_err(|_| CommitError::Poisoned)?;
        write_block(&mut ledger, state, &block, executed, certificate_entry)
            .map_err(|source| CommitError::Ledger { height, source })?
    };
    let hashes: Vec<_> = outcome.results.iter().map(|(h, _)| *h).collect();
    let evicted = {
        let ledger = state.ledger.read().map_err(|_| CommitError::Poisoned)?;
        let mut mempool = state.mempool.lock().map_err(|_| CommitError::Poisoned)?;
        mempool.after_block(&hashes, |signer| ledger.next_nonce(signer).ok())
    };
    for hash in &evicted.stale {
        state.note_rejection(*hash, "stale_nonce");
    }
    for hash in &evicted.expired {
        state.note_rejection(*hash, "expired");
    }
    Ok(Committed {
        block,
        outcome,
        certificate,
        evicted,
        via,
    })
}

/// One atomic batch: the block (its kept execution, or executed afresh
/// if the ledger moved since), its certificate, and the validator set it
/// decides for `h + 2`.
fn write_block<S: Storage>(
    ledger: &mut Ledger<S>,
    state: &HostState<S>,
    block: &Block,
    executed: Option<ExecutedBlock>,
    certificate_entry: (Vec<u8>, Vec<u8>),
) -> Result<BlockOutcome, LedgerError> {
    let height = block.header.height;
    let next_set =
        |validators: &[(PublicKey, u64)]| match chain_store::next_set_entry(height, validators) {
            Ok(entry) => vec![entry],
            Err(error) => {
                // The block is valid and committed everywhere alike; the chain
                // cannot name the signers of `height + 2`, so it will stop there.
                tracing::error!(height, %error, "cannot record the next validator set");
                Vec::new()
            }
        };
    let extra = vec![certificate_entry];
    if let Some(executed) = executed {
        match ledger.apply_executed(executed, extra.clone(), next_set) {
            // Nothing was written: the ledger moved since (catch-up).
            Err(LedgerError::ExecutedOnOtherState { .. }) => {}
            written => return written,
        }
    }
    // A block from catch-up: verify its unseen signatures together first.
    state.verified.verify_txs(&block.txs);
    ledger.apply_block_with(block, &state.verified, extra, next_set)
}
