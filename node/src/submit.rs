//! The single path by which a transaction enters this node, from a client or
//! from gossip: decode, verify the signature once, check chain and nonce
//! against the ledger, and insert into the bounded mempool.

use crate::mempool::{Inserted, MempoolError};
use crate::shared::NodeState;
use kopnet_consensus::Hash;
use kopnet_ledger::{Rejection, Transaction};

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

/// Submit encoded transaction bytes. Never panics; bad input changes nothing.
pub fn submit_bytes(
    state: &NodeState,
    bytes: &[u8],
) -> Result<(Hash, Transaction, Accepted), MempoolError> {
    let tx = Transaction::decode(bytes).map_err(|e| {
        state.metrics.reject(e.code());
        MempoolError::Rejected(e)
    })?;
    let hash = tx.hash();
    let accepted = submit(state, &tx, hash, bytes.len()).inspect_err(|e| {
        state.note_rejection(hash, e.code());
        state.metrics.reject(e.code());
    })?;
    Ok((hash, tx, accepted))
}

fn submit(
    state: &NodeState,
    tx: &Transaction,
    hash: Hash,
    size: usize,
) -> Result<Accepted, MempoolError> {
    if tx.body.chain_id != state.chain_id {
        return Err(Rejection::WrongChain.into());
    }
    let busy = || MempoolError::Rejected(Rejection::Malformed("node busy".into()));
    let (next_nonce, committed) = {
        let ledger = state.ledger.read().map_err(|_| busy())?;
        let next_nonce = ledger.next_nonce(&tx.body.signer);
        // A committed transaction used its nonce: one whose nonce is still
        // ahead cannot be in a block, so the store is asked only otherwise.
        let fresh = matches!(next_nonce, Ok(next) if tx.body.nonce >= next);
        let committed = !fresh && ledger.tx(&hash).ok().flatten().is_some();
        (next_nonce, committed)
    };
    if committed {
        return Ok(Accepted::Committed);
    }
    // Precedence as in the ledger: signature before signer and nonce.
    if !state.verified.verify(&hash, tx) {
        return Err(Rejection::BadSignature.into());
    }
    let next_nonce = next_nonce?;
    let mut mempool = state
        .mempool
        .lock()
        .map_err(|_| MempoolError::Rejected(Rejection::Malformed("node busy".into())))?;
    let inserted = mempool.insert(tx.clone(), hash, size, next_nonce)?;
    state
        .metrics
        .mempool_size
        .store(mempool.len() as u64, std::sync::atomic::Ordering::Relaxed);
    drop(mempool);
    match inserted {
        Inserted::New => {
            state.txs_available.notify_one();
            Ok(Accepted::Pending)
        }
        Inserted::AlreadyPending => Ok(Accepted::AlreadyPending),
    }
}
