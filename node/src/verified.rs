//! Signatures are verified once per node: when a transaction enters the
//! mempool (from a client or from gossip) its hash goes into this bounded set,
//! and block validation and commit consult it instead of verifying again.
//!
//! Signers' public keys are kept decompressed in a second bounded map, since
//! members sign again and again and decompressing a key is a fifth or so of
//! a verification.

use kopnet_consensus::{Hash, PreparedKey, PublicKey};
use kopnet_ledger::{SignatureCheck, Transaction};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Most decompressed signer keys kept; when full, the map starts over.
pub const PREPARED_KEYS_MAX: usize = 65_536;

/// Hashes of transactions whose signature this node verified.
#[derive(Debug)]
pub struct VerifiedSignatures {
    inner: Mutex<Inner>,
    keys: Mutex<HashMap<PublicKey, PreparedKey>>,
    capacity: usize,
    /// Signatures checked (not found in the set), good or bad.
    checked: AtomicU64,
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
            keys: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            checked: AtomicU64::new(0),
        }
    }

    /// Verify `tx` unless it was verified before; remember a good result.
    pub fn verify(&self, hash: &Hash, tx: &Transaction) -> bool {
        if self.contains(hash) {
            return true;
        }
        self.checked.fetch_add(1, Ordering::Relaxed);
        let ok = match self.prepared(&tx.body.signer) {
            Some(key) => tx.verify_signature_with(&key).is_ok(),
            None => false,
        };
        if ok {
            self.insert(*hash);
        }
        ok
    }

    /// The signer's key, decompressed (from the map, or now); `None` if the
    /// bytes are not a curve point.
    fn prepared(&self, signer: &PublicKey) -> Option<PreparedKey> {
        if let Some(key) = self.keys.lock().ok()?.get(signer) {
            return Some(*key);
        }
        let key = signer.prepare().ok()?;
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= PREPARED_KEYS_MAX {
                keys.clear();
            }
            keys.insert(*signer, key);
        }
        Some(key)
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

    /// How many signatures this node has checked, good or bad (what
    /// clients and peers made it spend).
    pub fn checked_count(&self) -> u64 {
        self.checked.load(Ordering::Relaxed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::testkit;
    use kopnet_ledger::Action;

    fn mint(signers: &mut testkit::Signers, amount: u64) -> Transaction {
        let coop = testkit::key_for("ksp-sejahtera").public();
        let member = testkit::key_for("someone").public();
        signers.sign("kopnet-test", &coop, Action::Mint { member, amount })
    }

    #[test]
    fn verifies_with_remembered_keys_exactly_as_without() {
        let verified = VerifiedSignatures::new(16);
        let mut signers = testkit::demo_signers();
        let first = mint(&mut signers, 1);
        let second = mint(&mut signers, 2);
        assert!(verified.verify(&first.hash(), &first));
        // Same signer again: its key comes from the map.
        assert!(verified.verify(&second.hash(), &second));
        assert_eq!(verified.verified_count(), 2);

        let mut forged = mint(&mut signers, 3);
        forged.signature.0[10] ^= 1;
        assert!(forged.verify_signature().is_err());
        assert!(!verified.verify(&forged.hash(), &forged));
        assert!(!verified.contains(&forged.hash()));

        // A signer whose bytes are not a curve point never verifies.
        let mut stranger = mint(&mut signers, 4);
        stranger.body.signer = (0..=u8::MAX)
            .map(|b| PublicKey([b; 32]))
            .find(|key| key.prepare().is_err())
            .expect("some repeated byte is not a curve point");
        assert!(!verified.verify(&stranger.hash(), &stranger));

        // A prepared key of another signer is refused.
        let other = testkit::key_for("pasar-makmur").public().prepare().unwrap();
        let third = mint(&mut signers, 5);
        assert!(third.verify_signature_with(&other).is_err());
        assert!(third.verify_signature().is_ok());
    }
}
