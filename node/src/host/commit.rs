//! Committing a block, decided or caught up: one atomic ledger batch with
//! the block, its certificate and the validator set it decides for
//! `h + 2` ([`crate::chain_store`]), then the mempool forgets what the block
//! used and says what it evicted.

use super::effect::{CommitPath, Committed};
use super::state::HostState;
use crate::chain_store::{self, ChainStoreError};
use kopnet_consensus::CommitCertificate;
use kopnet_ledger::{Block, LedgerError, Storage};

/// Why a block could not be committed. Any of these leaves the node unable
/// to go on at this height: the host fails stop.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("block {height}: {source}")]
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
/// mempool (remembering why for `GET /v1/tx/{hash}`).
pub fn commit_block<S: Storage>(
    state: &HostState<S>,
    block: Block,
    certificate: CommitCertificate,
    via: CommitPath,
) -> Result<Committed, CommitError> {
    let height = block.header.height;
    let certificate_entry = chain_store::certificate_entry(&certificate)?;
    let mut set_error = None;
    let outcome = {
        let mut ledger = state.ledger.write().map_err(|_| CommitError::Poisoned)?;
        ledger
            .apply_block_with(
                &block,
                &state.verified,
                vec![certificate_entry],
                |validators| match chain_store::next_set_entry(height, validators) {
                    Ok(entry) => vec![entry],
                    Err(error) => {
                        set_error = Some(error);
                        Vec::new()
                    }
                },
            )
            .map_err(|source| CommitError::Ledger { height, source })?
    };
    if let Some(error) = set_error {
        // The block is valid and committed everywhere alike; the chain
        // cannot name the signers of `height + 2`, so it will stop there.
        tracing::error!(height, %error, "cannot record the next validator set");
    }
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
