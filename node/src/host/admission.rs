//! The single path by which a transaction enters a node, from a client
//! (HTTP) or from a peer (gossip): decode, check the chain, check the
//! signer and nonce against the ledger and the mempool's room, then verify
//! the signature once (the dear step, last; many at once with batch
//! verification on both cores), and insert into the bounded mempool. Both origins end here; only what follows differs: a
//! client's new transaction is gossiped ([`Effect::GossipTx`]), a peer's is
//! forwarded by the gossip layer on an `Accept` verdict.
//!
//! These functions take the shared [`HostState`] and may run on any thread
//! (signature checks run on the shell's blocking pool, off the consensus
//! loop); they never panic and a refused transaction changes nothing.

use super::effect::{Effect, Effects};
use super::state::HostState;
use crate::mempool::{Inserted, MempoolError};
use crate::wire::Verdict;
use crate::wire::{self, TxBatch, TX_BATCH_MAX};
use kopnet_consensus::Hash;
use kopnet_ledger::{Rejection, Storage, Transaction};

/// Where a transaction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Submitted to this node by a client.
    Client,
    /// Gossiped by a peer.
    Peer,
}

/// Where a submitted transaction stands right after submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// New in the mempool.
    Pending,
    /// Already in the mempool.
    AlreadyPending,
    /// Already in a block.
    Committed,
}

/// A transaction the node took.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub hash: Hash,
    pub tx: Transaction,
    pub accepted: Accepted,
}

/// Take encoded transaction bytes from `origin`. On success the effects say
/// what follows (gossip it, wake consensus); on refusal the reason is
/// remembered for `GET /v1/tx/{hash}` and nothing else changes.
pub fn admit<S: Storage>(
    state: &HostState<S>,
    bytes: &[u8],
    origin: Origin,
) -> (Result<Admitted, MempoolError>, Effects) {
    admit_many(state, &[bytes], origin)
        .pop()
        .unwrap_or_else(|| (Err(busy()), Effects::default()))
}

/// [`admit`] for several transactions at once (a gossiped batch, a `POST
/// /v1/txs` batch): each gets the answer `admit` would give it, in order,
/// but the signatures of those that pass the cheap checks are verified
/// together ([`crate::verified::VerifiedSignatures::verify_many`]: batch
/// verification on both cores, one by one only if a batch fails).
///
/// The cheap checks of all of them run before any is inserted, so two
/// transactions of one batch that the mempool cannot both take are both
/// verified, and the second is refused at insertion (with the code the
/// one-by-one path gives it, since insertion repeats the checks).
pub fn admit_many<S: Storage, B: AsRef<[u8]>>(
    state: &HostState<S>,
    txs: &[B],
    origin: Origin,
) -> Vec<(Result<Admitted, MempoolError>, Effects)> {
    let decided: Vec<Result<(Transaction, Hash, Checked), MempoolError>> = txs
        .iter()
        .map(|bytes| {
            let bytes = bytes.as_ref();
            let tx = Transaction::decode(bytes).map_err(MempoolError::Rejected)?;
            let hash = tx.hash();
            match check_cheap(state, &tx, hash, bytes.len(), origin) {
                Ok(checked) => Ok((tx, hash, checked)),
                Err(e) => {
                    state.note_rejection(hash, e.code());
                    Err(e)
                }
            }
        })
        .collect();
    let unverified: Vec<(Hash, &Transaction)> = decided
        .iter()
        .filter_map(|d| match d {
            Ok((tx, hash, Checked::NeedsSignature { .. })) => Some((*hash, tx)),
            _ => None,
        })
        .collect();
    let mut verdicts = state.verified.verify_many(&unverified).into_iter();
    decided
        .into_iter()
        .zip(txs)
        .map(|(decided, bytes)| {
            let mut effects = Effects::default();
            let (tx, hash, checked) = match decided {
                Ok(d) => d,
                Err(e) => return (Err(e), effects),
            };
            let accepted = match checked {
                Checked::Done(accepted) => Ok(accepted),
                Checked::NeedsSignature { next_nonce, size } => {
                    if verdicts.next().unwrap_or(false) {
                        insert(state, &tx, hash, size, next_nonce, origin)
                    } else {
                        Err(Rejection::BadSignature.into())
                    }
                }
            };
            match accepted {
                Ok(accepted) => {
                    if accepted == Accepted::Pending {
                        if origin == Origin::Client {
                            effects.push(Effect::GossipTx(bytes.as_ref().to_vec()));
                        }
                        effects.push(Effect::TxsAvailable);
                    }
                    (Ok(Admitted { hash, tx, accepted }), effects)
                }
                Err(e) => {
                    state.note_rejection(hash, e.code());
                    (Err(e), effects)
                }
            }
        })
        .collect()
}

fn busy() -> MempoolError {
    MempoolError::Rejected(Rejection::Malformed("node busy".into()))
}

/// Where a transaction stands after the cheap checks.
enum Checked {
    /// Decided without its signature (already committed or pending).
    Done(Accepted),
    /// Its signature decides; then it goes into the mempool.
    NeedsSignature { next_nonce: u64, size: usize },
}

/// The checks before the dear one (the signature), in admission order.
fn check_cheap<S: Storage>(
    state: &HostState<S>,
    tx: &Transaction,
    hash: Hash,
    size: usize,
    origin: Origin,
) -> Result<Checked, MempoolError> {
    if tx.body.chain_id != state.chain_id {
        return Err(Rejection::WrongChain.into());
    }
    let (next_nonce, committed) = {
        let ledger = state.ledger.read().map_err(|_| busy())?;
        let next_nonce = ledger.next_nonce(&tx.body.signer);
        // A committed transaction used its nonce: one whose nonce is still
        // ahead cannot be in a block, so the store is asked only otherwise,
        // and only for a client, who is told "committed" rather than
        // `stale_nonce` when it sends a transaction again. A peer's
        // transaction with a used nonce is refused as `stale_nonce` without
        // asking: late gossip of committed transactions is routine when
        // the node is busy, and finding one reads its block's whole index
        // (2.6 % of a validator at `--max`, BENCHMARKS.md issue 21); the
        // transaction is dropped either way.
        let fresh = matches!(next_nonce, Ok(next) if tx.body.nonce >= next);
        let committed =
            !fresh && origin == Origin::Client && ledger.tx(&hash).ok().flatten().is_some();
        (next_nonce, committed)
    };
    if committed {
        return Ok(Checked::Done(Accepted::Committed));
    }
    // Cheap checks before the dear one: a signature verification is most
    // of admission's work, so a transaction whose signer no account has,
    // whose cooperative is inactive, whose nonce is used or out of the
    // mempool's window, or that the mempool has no room for is refused
    // before its signature is verified (see "Admission order at a node"
    // in ledger/src/rejection.rs for what that changes in the codes).
    let next_nonce = next_nonce?;
    let mempool = state.mempool.lock().map_err(|_| busy())?;
    if mempool.check(tx, &hash, size, next_nonce)?.is_some() {
        return Ok(Checked::Done(Accepted::AlreadyPending));
    }
    if origin == Origin::Client {
        mempool.client_room(size)?;
    }
    Ok(Checked::NeedsSignature { next_nonce, size })
}

/// Put a transaction whose signature verified into the mempool (which
/// repeats its checks: the mempool may have changed since, and the
/// transactions of one batch were all checked before any was inserted; a
/// client's is held to the clients' share again for the same reason).
fn insert<S: Storage>(
    state: &HostState<S>,
    tx: &Transaction,
    hash: Hash,
    size: usize,
    next_nonce: u64,
    origin: Origin,
) -> Result<Accepted, MempoolError> {
    let mut mempool = state.mempool.lock().map_err(|_| busy())?;
    if origin == Origin::Client && mempool.check(tx, &hash, size, next_nonce)?.is_none() {
        mempool.client_room(size)?;
    }
    match mempool.insert(tx.clone(), hash, size, next_nonce)? {
        Inserted::New => Ok(Accepted::Pending),
        Inserted::AlreadyPending => Ok(Accepted::AlreadyPending),
    }
}

/// What a gossiped batch of transactions led to.
#[derive(Debug, Default)]
pub struct BatchAdmission {
    pub verdict: Verdict,
    /// Refusal codes, one per refused transaction (for metrics).
    pub refused: Vec<&'static str>,
    pub effects: Effects,
}

/// Take every transaction of a gossiped batch. The batch is rejected (its
/// sender penalised, nothing forwarded) if it is malformed, too long, or
/// carries a forged, malformed or foreign-chain transaction: the sender
/// verified them, so it is misbehaving.
pub fn admit_batch<S: Storage>(state: &HostState<S>, data: &[u8]) -> BatchAdmission {
    let mut result = BatchAdmission {
        verdict: Verdict::Accept,
        ..BatchAdmission::default()
    };
    let Ok(batch) = wire::decode::<TxBatch>(data) else {
        result.verdict = Verdict::Reject;
        return result;
    };
    if batch.txs.len() > TX_BATCH_MAX {
        result.verdict = Verdict::Reject;
        return result;
    }
    let mut available = false;
    for (admitted, effects) in admit_many(state, &batch.txs, Origin::Peer) {
        available |= effects.iter().any(|e| matches!(e, Effect::TxsAvailable));
        if let Err(e) = admitted {
            let code = e.code();
            if matches!(code, "malformed" | "bad_signature" | "wrong_chain") {
                result.verdict = Verdict::Reject;
            }
            result.refused.push(code);
        }
    }
    if available {
        result.effects.push(Effect::TxsAvailable);
    }
    result
}
