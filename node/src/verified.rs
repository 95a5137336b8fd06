//! Signatures are verified once per node: when a transaction enters the
//! mempool (from a client or from gossip) its hash goes into this bounded set,
//! and block validation and commit consult it instead of verifying again.

use kopnet_consensus::Hash;
use kopnet_ledger::{SignatureCheck, Transaction};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Hashes of transactions whose signature this node verified.
#[derive(Debug)]
pub struct VerifiedSignatures {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    verified_here: u64,
}

impl VerifiedSignatures {
    pub fn new(capacity: usize) -> Self {
        VerifiedSignatures {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// Verify `tx` unless it was verified before; remember a good result.
    pub fn verify(&self, hash: &Hash, tx: &Transaction) -> bool {
        if self.contains(hash) {
            return true;
        }
        let ok = tx.verify_signature().is_ok();
        if ok {
            self.insert(*hash);
        }
        ok
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.inner
            .lock()
            .map(|inner| inner.set.contains(hash))
            .unwrap_or(false)
    }

    pub fn insert(&self, hash: Hash) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.verified_here = inner.verified_here.saturating_add(1);
        if inner.set.insert(hash) {
            inner.order.push_back(hash);
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.set.remove(&old);
            }
        }
    }

    /// How many signatures this node has verified.
    pub fn verified_count(&self) -> u64 {
        self.inner.lock().map(|i| i.verified_here).unwrap_or(0)
    }
}

impl SignatureCheck for VerifiedSignatures {
    fn is_valid(&self, tx_hash: &Hash, tx: &Transaction) -> bool {
        self.verify(tx_hash, tx)
    }
}
