//! The two blocks after a snapshot: what turns an imported snapshot at `S`
//! into a ledger the node's ordinary catch-up continues. Shared by state
//! sync ([`super::state_sync`]) and by a restore from a backup that starts
//! at a snapshot ([`crate::backup::restore`]).
//!
//! A snapshot's state holds the validator set for `S + 2` (a change takes
//! effect two heights after the block that decides it) but not the set for
//! `S + 1`, so block `S + 1`'s certificate cannot be checked against the
//! imported state. Block `S + 1` is therefore taken on its **hash**: the
//! caller has already tied it to a chain it trusts (the parent named by
//! block `S + 2`, itself checked by certificate; or a trusted header). From
//! `S + 2` on, every block is checked by its certificate
//! ([`crate::host::catch_up::take_one`]), and the node's base becomes
//! `S + 2`: it holds no certified block below.

use crate::chain_store::{self, ChainStoreError};
use crate::config::MempoolConfig;
use crate::host::state::HostState;
use crate::mempool::Mempool;
use crate::verified::VerifiedSignatures;
use kopnet_consensus::PublicKey;
use kopnet_ledger::block::Block;
use kopnet_ledger::ledger::VerifyAll;
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{keys, Ledger, LedgerError, Storage};
use std::sync::{Mutex, RwLock};

/// Why the blocks after a snapshot could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("the validator-set records: {0}")]
    ValidatorSets(#[from] ChainStoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the ledger's lock was poisoned")]
    Poisoned,
}

/// Apply block `S + 1` to `ledger`, just imported from the snapshot at `S`,
/// and write the validator-set records the host reads from then on. The
/// caller has checked `block`'s hash against the chain it trusts.
pub fn apply_first_block<S: Storage>(
    ledger: &mut Ledger<S>,
    block: &Block,
) -> Result<(), AnchorError> {
    chain_store::init_validator_sets(ledger)?;
    let height = block.header.height;
    let next_set = |validators: &[(PublicKey, u64)]| {
        chain_store::next_set_entry(height, validators)
            .map(|entry| vec![entry])
            .unwrap_or_default()
    };
    ledger.apply_block_with(block, &VerifyAll, vec![], next_set)?;
    Ok(())
}

/// The host state catch-up runs on, outside a running node (a default
/// mempool nothing is submitted to).
pub fn offline_state<S: Storage>(chain_id: &str, ledger: Ledger<S>) -> HostState<S> {
    HostState {
        chain_id: chain_id.to_string(),
        ledger: RwLock::new(ledger),
        mempool: Mutex::new(Mempool::new(MempoolConfig::default())),
        verified: VerifiedSignatures::new(1024),
        rejections: Mutex::default(),
    }
}

/// Record that the store holds no certified block below `base` (`S + 2`
/// once block `S + 2` is committed by its certificate).
pub fn set_base<S: Storage>(ledger: &Ledger<S>, base: u64) -> Result<(), AnchorError> {
    let mut batch = WriteBatch::default();
    batch.put(keys::META_BASE.to_vec(), base.to_be_bytes().to_vec());
    ledger.storage().commit(batch).map_err(LedgerError::from)?;
    Ok(())
}

/// Take the ledger back out of an offline host state.
pub fn into_ledger<S: Storage>(state: HostState<S>) -> Result<Ledger<S>, AnchorError> {
    state.ledger.into_inner().map_err(|_| AnchorError::Poisoned)
}
