//! A node's bounded, volatile transaction pool, and the signature cache the
//! ledger consults (each signature is verified once, on entry).

use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::ledger::SignatureCheck;
use kopnet_ledger::{Ledger, MemoryStorage, Rejection, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// Most transactions a pool holds.
pub const MEMPOOL_MAX: usize = 256;
/// Most nonces beyond the signer's next one that a pool accepts.
pub const NONCE_WINDOW: u64 = 16;
/// Most transactions in one simulated block.
pub const BLOCK_TXS_MAX: usize = 64;

/// Why a pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefusal {
    #[error("pool full")]
    Full,
    #[error("nonce {got} already used (next {next})")]
    Stale { next: u64, got: u64 },
    #[error("nonce {got} too far ahead (next {next})")]
    TooFarAhead { next: u64, got: u64 },
    #[error("bad signature")]
    BadSignature,
}

/// Transactions keyed by (signer, nonce): candidates come out in nonce order
/// per signer, so consecutive transactions of one signer fit in one block.
#[derive(Default)]
pub struct Mempool {
    txs: BTreeMap<(PublicKey, u64), Transaction>,
    verified: Verified,
}

/// Hashes of transactions whose signatures this node verified.
#[derive(Default)]
pub struct Verified(BTreeSet<Hash>);

impl SignatureCheck for Verified {
    fn is_valid(&self, tx_hash: &Hash, tx: &Transaction) -> bool {
        self.0.contains(tx_hash) || tx.verify_signature().is_ok()
    }
}

impl Mempool {
    /// Take a transaction; `Ok(true)` if it was new.
    pub fn insert(
        &mut self,
        tx: &Transaction,
        ledger: &Ledger<MemoryStorage>,
    ) -> Result<bool, PoolRefusal> {
        let key = (tx.body.signer, tx.body.nonce);
        if self.txs.contains_key(&key) {
            return Ok(false);
        }
        let got = tx.body.nonce;
        // A signer unknown here may be registered in a block this node has
        // not applied yet: keep its transactions (the pool is bounded).
        if let Ok(next) = ledger.next_nonce(&tx.body.signer) {
            if got < next {
                return Err(PoolRefusal::Stale { next, got });
            }
            if got > next.saturating_add(NONCE_WINDOW) {
                return Err(PoolRefusal::TooFarAhead { next, got });
            }
        }
        if self.txs.len() >= MEMPOOL_MAX {
            return Err(PoolRefusal::Full);
        }
        tx.verify_signature()
            .map_err(|_: Rejection| PoolRefusal::BadSignature)?;
        self.verified.0.insert(tx.hash());
        self.txs.insert(key, tx.clone());
        Ok(true)
    }

    /// Candidates for the next block, in (signer, nonce) order.
    pub fn candidates(&self) -> Vec<Transaction> {
        self.txs.values().take(BLOCK_TXS_MAX * 2).cloned().collect()
    }

    /// Drop transactions whose nonce the ledger has used.
    pub fn prune(&mut self, ledger: &Ledger<MemoryStorage>) {
        let verified = &mut self.verified.0;
        self.txs.retain(|(signer, nonce), tx| {
            let keep = match ledger.next_nonce(signer) {
                Ok(next) => *nonce >= next,
                Err(Rejection::UnknownSigner) => true,
                Err(_) => false,
            };
            if !keep {
                verified.remove(&tx.hash());
            }
            keep
        });
    }

    pub fn clear(&mut self) {
        self.txs.clear();
        self.verified.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn verified(&self) -> &Verified {
        &self.verified
    }
}
