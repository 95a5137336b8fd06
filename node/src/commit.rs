//! Committing a decided (or synced) block: one atomic sled write with its
//! certificate and the validator set that signs [`VALIDATOR_SET_CHANGE_DELAY`]
//! heights later, then the mempool, metrics, status and block events.

use crate::shared::{BlockEvent, NodeState, TxSummary};
use kopnet_consensus::{
    codec, CommitCertificate, PublicKey, Validator, ValidatorSet, VALIDATOR_SET_CHANGE_DELAY,
};
use kopnet_ledger::ledger::{BlockOutcome, ExecutedBlock};
use kopnet_ledger::{Action, Block, Ledger, LedgerError, SledStorage, Storage};
use std::sync::atomic::Ordering;

/// Host-data key of a block's commit certificate.
pub fn certificate_key(height: u64) -> Vec<u8> {
    let mut key = b"cert".to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

fn vset_key(height: u64) -> Vec<u8> {
    let mut key = b"vset".to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("validator set: {0}")]
    ValidatorSet(String),
    #[error("ledger lock poisoned")]
    Poisoned,
}

/// The validator set from the ledger's current validators.
pub fn current_set<S: Storage>(ledger: &Ledger<S>) -> Result<ValidatorSet, CommitError> {
    let validators = ledger
        .validators()
        .into_iter()
        .map(|(key, voting_power)| Validator { key, voting_power })
        .collect();
    ValidatorSet::new(validators).map_err(|e| CommitError::ValidatorSet(e.to_string()))
}

/// The validator set that signs height `height`: the ledger's validators as of
/// block `height - 2` (changes take effect two heights after they commit;
/// genesis validators sign heights 1 and 2).
pub fn validator_set_for<S: Storage>(
    ledger: &Ledger<S>,
    height: u64,
) -> Result<ValidatorSet, CommitError> {
    if height == ledger.height().saturating_add(VALIDATOR_SET_CHANGE_DELAY) {
        return current_set(ledger);
    }
    match ledger.host_data(&vset_key(height))? {
        Some(bytes) => codec::decode(&bytes).map_err(|e| CommitError::ValidatorSet(e.to_string())),
        None => Err(CommitError::ValidatorSet(format!(
            "no validator set recorded for height {height}"
        ))),
    }
}

/// The host entry recording the validator set that signs height `height +`
/// [`VALIDATOR_SET_CHANGE_DELAY`], written in block `height`'s own batch.
/// Empty only if the ledger has no validator left, which governance
/// forbids; catching up past such a height would then stop with an error.
fn next_set_entry(height: u64, validators: &[(PublicKey, u64)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let validators = validators
        .iter()
        .map(|(key, voting_power)| Validator {
            key: *key,
            voting_power: *voting_power,
        })
        .collect();
    let encoded = ValidatorSet::new(validators)
        .map_err(|e| e.to_string())
        .and_then(|set| codec::encode(&set).map_err(|e| e.to_string()));
    match encoded {
        Ok(bytes) => vec![(
            vset_key(height.saturating_add(VALIDATOR_SET_CHANGE_DELAY)),
            bytes,
        )],
        Err(error) => {
            tracing::error!(height, %error, "cannot record the next validator set");
            Vec::new()
        }
    }
}

/// Apply `block` with `certificate`; update everything that follows a commit.
pub fn commit_block(
    state: &NodeState,
    block: &Block,
    certificate: &CommitCertificate,
) -> Result<BlockOutcome, CommitError> {
    commit_executed(state, None, block, certificate)
}

/// [`commit_block`], writing `executed` (this node's execution of a block it
/// built or validated) when it is `block`'s and the ledger has not moved
/// since, so the block is not executed a second time; otherwise the block
/// is executed afresh.
pub fn commit_executed(
    state: &NodeState,
    executed: Option<ExecutedBlock>,
    block: &Block,
    certificate: &CommitCertificate,
) -> Result<BlockOutcome, CommitError> {
    let cert_bytes =
        codec::encode(certificate).map_err(|e| CommitError::ValidatorSet(e.to_string()))?;
    let height = block.header.height;
    let extra = vec![(certificate_key(height), cert_bytes)];
    let after = |validators: &[(PublicKey, u64)]| next_set_entry(height, validators);
    let executed = executed.filter(|e| e.hash() == block.hash());
    let outcome = {
        let mut ledger = state.ledger.write().map_err(|_| CommitError::Poisoned)?;
        let outcome = match executed {
            Some(executed) => match ledger.apply_executed(executed, extra.clone(), after) {
                // The ledger moved since (catch-up): execute afresh.
                Err(LedgerError::ExecutedOnOtherState { .. }) => {
                    ledger.apply_block_with(block, &state.verified, extra, after)
                }
                written => written,
            },
            None => ledger.apply_block_with(block, &state.verified, extra, after),
        }?;
        crate::fault::after_commit(&mut ledger, block, &outcome);
        outcome
    };
    after_commit(state, block, &outcome);
    Ok(outcome)
}

fn after_commit(state: &NodeState, block: &Block, outcome: &BlockOutcome) {
    let hashes: Vec<_> = outcome.results.iter().map(|(h, _)| *h).collect();
    if let (Ok(mut mempool), Ok(ledger)) = (state.mempool.lock(), state.ledger.read()) {
        let evicted = mempool.after_block(&hashes, |signer| ledger.next_nonce(signer).ok());
        // `GET /v1/tx/{hash}` says why a pending transaction went away.
        if let Ok(mut rejections) = state.rejections.lock() {
            for hash in evicted.stale {
                rejections.insert(hash, "stale_nonce".into());
            }
            for hash in &evicted.expired {
                rejections.insert(*hash, "expired".into());
                state.metrics.reject("expired");
            }
        }
        state
            .metrics
            .mempool_size
            .store(mempool.len() as u64, Ordering::Relaxed);
    }
    let m = &state.metrics;
    m.height.store(outcome.height, Ordering::Relaxed);
    m.blocks_committed.fetch_add(1, Ordering::Relaxed);
    m.observe_commit(std::time::Instant::now());
    m.txs_committed
        .fetch_add(hashes.len() as u64, Ordering::Relaxed);
    if let Ok(mut submitted) = state.submitted_at.lock() {
        for hash in &hashes {
            if let Some(at) = submitted.remove(hash) {
                m.observe_commit_latency(
                    u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
            }
        }
    }
    for (_, result) in &outcome.results {
        if let Err(reason) = result {
            m.txs_failed.fetch_add(1, Ordering::Relaxed);
            m.reject(reason.code());
        }
    }
    // The event's per-transaction summaries (hex hashes, base58 addresses)
    // cost more than the commit's bookkeeping: build them only for listeners.
    if state.events.receiver_count() == 0 {
        return;
    }
    let txs = block
        .txs
        .iter()
        .zip(&outcome.results)
        .enumerate()
        .map(|(i, (tx, (hash, result)))| {
            let fees = outcome.fees.get(i).copied().unwrap_or(0);
            summarize(tx, hash, result, fees)
        })
        .collect();
    // A listener that left meanwhile is fine.
    let _ = state.events.send(BlockEvent {
        height: outcome.height,
        hash: outcome.hash.to_hex(),
        state_root: outcome.state_root.to_hex(),
        txs,
    });
}

/// The short name of an action, as shown in APIs.
pub fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::RegisterMember { .. } => "register_member",
        Action::Mint { .. } => "mint",
        Action::Burn { .. } => "burn",
        Action::Payment { .. } => "payment",
        Action::CashIn { .. } => "cash_in",
        Action::CashOut { .. } => "cash_out",
        Action::CloseSettlementWindow { .. } => "close_settlement_window",
        Action::AcknowledgeSettlement { .. } => "acknowledge_settlement",
        Action::Propose { .. } => "propose",
        Action::Approve { .. } => "approve",
    }
}

/// The cooperative whose counter a cash-in or cash-out used.
pub fn action_agent(action: &Action) -> Option<String> {
    match action {
        Action::CashIn { agent, .. } | Action::CashOut { agent, .. } => Some(agent.to_string()),
        _ => None,
    }
}

pub fn summarize(
    tx: &kopnet_ledger::Transaction,
    hash: &kopnet_consensus::Hash,
    result: &Result<(), kopnet_ledger::Rejection>,
    fees: u64,
) -> TxSummary {
    let (to, amount) = match &tx.body.action {
        Action::Payment { to, amount, .. } => (Some(to.to_address()), Some(*amount)),
        Action::Mint { member, amount } | Action::Burn { member, amount } => {
            (Some(member.to_address()), Some(*amount))
        }
        Action::CashIn { member, amount, .. } => (Some(member.to_address()), Some(*amount)),
        Action::CashOut { amount, .. } => (None, Some(*amount)),
        Action::RegisterMember { member, .. } => (Some(member.to_address()), None),
        _ => (None, None),
    };
    TxSummary {
        hash: hash.to_hex(),
        kind: action_kind(&tx.body.action),
        signer: tx.body.signer.to_address(),
        to,
        amount,
        agent: action_agent(&tx.body.action),
        fees,
        result: match result {
            Ok(()) => "ok",
            Err(r) => r.code(),
        },
    }
}

/// At start: on a fresh store, record that the genesis validators sign
/// heights 1 and 2; on any store at height `h`, make sure the set for
/// `h + 2` is recorded.
///
/// The set for `h + 2` is written in block `h`'s own batch
/// ([`next_set_entry`]), so a crash cannot separate them; stores written by
/// earlier versions (which wrote it in a second batch, after the block)
/// may lack it, and without it the node could never verify block `h + 2`.
/// It is the ledger's validators as of block `h` — the current ones — so it
/// can be written here exactly as it would have been.
pub fn init_validator_sets(ledger: &Ledger<SledStorage>) -> Result<(), CommitError> {
    let set = current_set(ledger)?;
    let bytes = codec::encode(&set).map_err(|e| CommitError::ValidatorSet(e.to_string()))?;
    let mut batch = kopnet_ledger::storage::WriteBatch::default();
    let heights = match ledger.height() {
        0 => vec![1, 2],
        h => vec![h.saturating_add(VALIDATOR_SET_CHANGE_DELAY)],
    };
    for height in heights {
        if ledger.host_data(&vset_key(height))?.is_none() {
            batch.put(kopnet_ledger::keys::host(&vset_key(height)), bytes.clone());
        }
    }
    if !batch.ops.is_empty() {
        ledger.storage().commit(batch).map_err(LedgerError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::ledger::{BlockLimits, VerifyAll};
    use kopnet_ledger::testkit;

    /// A crash after block `h` landed but before the set for `h + 2` was
    /// written must not leave the node unable to verify `h + 2`: the next
    /// start writes it again, equal to what a clean commit writes.
    #[test]
    fn start_repairs_the_set_a_crash_left_unwritten() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = testkit::demo_genesis("kopnet-test", 4, 1_000_000);
        let store = SledStorage::open(dir.path(), 1 << 20).unwrap();
        let mut ledger = Ledger::open(store, &genesis).unwrap();
        init_validator_sets(&ledger).unwrap();
        let proposer = testkit::key_for("ksp-sejahtera").public();
        let (block, _) = ledger.build_block(&[], proposer, BlockLimits::default(), &VerifyAll);
        // Block 1 lands without its next set (as an earlier version could
        // leave it after a crash between two batches).
        ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
        assert_eq!(ledger.height(), 1);
        assert!(ledger.host_data(&vset_key(3)).unwrap().is_none());

        init_validator_sets(&ledger).unwrap();
        let repaired = ledger.host_data(&vset_key(3)).unwrap().unwrap();
        let clean = next_set_entry(1, &ledger.validators());
        assert_eq!(clean, vec![(vset_key(3), repaired)]);
        // Heights 1 and 2 keep the genesis set; 3 now verifies.
        let set3 = validator_set_for(&ledger, 3).unwrap();
        assert_eq!(set3, current_set(&ledger).unwrap());
        assert!(ledger.host_data(&vset_key(1)).unwrap().is_some());
    }

    /// A committed block carries the set that signs two heights later in
    /// its own batch.
    #[test]
    fn a_block_and_the_set_it_decides_land_together() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = testkit::demo_genesis("kopnet-test", 4, 1_000_000);
        let store = SledStorage::open(dir.path(), 1 << 20).unwrap();
        let mut ledger = Ledger::open(store, &genesis).unwrap();
        let proposer = testkit::key_for("ksp-sejahtera").public();
        let (block, _) = ledger.build_block(&[], proposer, BlockLimits::default(), &VerifyAll);
        ledger
            .apply_block_with(&block, &VerifyAll, vec![], |validators| {
                next_set_entry(1, validators)
            })
            .unwrap();
        let recorded = ledger.host_data(&vset_key(3)).unwrap().unwrap();
        assert_eq!(
            recorded,
            codec::encode(&current_set(&ledger).unwrap()).unwrap()
        );
    }
}
