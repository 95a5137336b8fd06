//! Signatures are verified once per node: when a transaction enters the
//! mempool (from a client or from gossip) its hash goes into this bounded set,
//! and block validation and commit consult it instead of verifying again.
//!
//! Signers' public keys are kept decompressed in a second bounded map, since
//! members sign again and again and decompressing a key is a fifth or so of
//! a verification.
//!
//! Where many signatures arrive at once (a gossiped batch, a `POST /v1/txs`
//! batch, the transactions of a proposal this node had not seen),
//! [`VerifiedSignatures::verify_many`] checks them with one batch
//! verification per thread, split over up to [`VERIFY_THREADS`] threads,
//! and falls back to one-by-one verification only when a batch fails. The
//! verdict on each transaction is the one [`VerifiedSignatures::verify`]
//! gives: single and batch verification follow one rule
//! ([`kopnet_primitives::signature_rule`]).

use kopnet_consensus::{Hash, PreparedKey, PublicKey, Signature};
use kopnet_ledger::{SignatureCheck, Transaction};
use kopnet_primitives::signature_rule::{self, Signed};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Most decompressed signer keys kept; when full, the map starts over.
pub const PREPARED_KEYS_MAX: usize = 65_536;

/// Most threads one [`VerifiedSignatures::verify_many`] call uses (the
/// calling one included): the validators of the reference deployment have
/// two cores. Calls come from the blocking pool behind bounded queues (the
/// gossip ingest permits, the HTTP write limits, one proposal at a time),
/// so the threads in use stay bounded too.
pub const VERIFY_THREADS: usize = 2;

/// One signature to check: the transaction's hash (the cache key), its
/// signer, the exact signed bytes and the signature.
#[derive(Debug, Clone)]
pub struct SignedItem {
    pub hash: Hash,
    pub signer: PublicKey,
    pub bytes: Vec<u8>,
    pub signature: Signature,
}

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

    /// [`VerifiedSignatures::verify`] for many transactions at once, with
    /// batch verification over up to [`VERIFY_THREADS`] threads: one
    /// verdict per transaction, in order, the same as `verify` would give.
    pub fn verify_many(&self, txs: &[(Hash, &Transaction)]) -> Vec<bool> {
        let items: Vec<Option<SignedItem>> = txs
            .iter()
            .map(|(hash, tx)| {
                // A body that cannot be encoded has no signature to check.
                tx.signed_bytes().ok().map(|bytes| SignedItem {
                    hash: *hash,
                    signer: tx.body.signer,
                    bytes,
                    signature: tx.signature,
                })
            })
            .collect();
        let mut verdicts = self.verify_items(items.iter().flatten().cloned().collect());
        let mut out = Vec::with_capacity(items.len());
        let mut verdicts = verdicts.drain(..);
        for item in &items {
            out.push(item.is_some() && verdicts.next().unwrap_or(false));
        }
        out
    }

    /// Verify, together, the transactions (of a block) not verified
    /// before, so that the block's execution finds the good ones in the
    /// set; the bad ones are found again there, one by one, and make the
    /// block invalid.
    pub fn verify_txs(&self, txs: &[Transaction]) {
        let unseen: Vec<(Hash, &Transaction)> = txs
            .iter()
            .map(|tx| (tx.hash(), tx))
            .filter(|(hash, _)| !self.contains(hash))
            .collect();
        if !unseen.is_empty() {
            self.verify_many(&unseen);
        }
    }

    /// The core of [`VerifiedSignatures::verify_many`] on signed bytes as
    /// they are (the edge-case vectors sign plain messages): items verified
    /// before count as good; the others are checked (batch, both cores,
    /// one by one only if a batch fails) and the good ones remembered.
    pub fn verify_items(&self, items: Vec<SignedItem>) -> Vec<bool> {
        let mut verdicts = vec![false; items.len()];
        let mut entries = Vec::new();
        let mut slots = Vec::new();
        for ((verdict, item), slot) in verdicts.iter_mut().zip(items).zip(0usize..) {
            if self.contains(&item.hash) {
                *verdict = true;
                continue;
            }
            self.checked.fetch_add(1, Ordering::Relaxed);
            // A key the rule refuses never verifies.
            let Some(key) = self.prepared(&item.signer) else {
                continue;
            };
            entries.push(Signed {
                key,
                bytes: item.bytes,
                signature: item.signature,
            });
            slots.push((slot, item.hash));
        }
        let results = signature_rule::verify_each_parallel(&entries, VERIFY_THREADS);
        for ((slot, hash), ok) in slots.into_iter().zip(results) {
            if ok {
                if let Some(verdict) = verdicts.get_mut(slot) {
                    *verdict = true;
                }
                self.insert(hash);
            }
        }
        verdicts
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

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The primitives' edge-case vectors as signed items (their messages
    /// are the signed bytes), with each case's verdict.
    fn edge_cases() -> Vec<(SignedItem, bool)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../consensus/primitives/tests/vectors/ed25519_edge_cases.json");
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        file["cases"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, case)| {
                let field = |name: &str| unhex(case[name].as_str().unwrap());
                let item = SignedItem {
                    hash: Hash::digest("kopnet test edge case", &i.to_le_bytes()),
                    signer: PublicKey(field("public_hex").try_into().unwrap()),
                    bytes: field("message_hex"),
                    signature: Signature(field("signature_hex").try_into().unwrap()),
                };
                (item, case["valid"].as_bool().unwrap())
            })
            .collect()
    }

    #[test]
    fn edge_case_vectors_get_their_verdicts_alone_and_together() {
        let cases = edge_cases();
        assert!(cases.len() > 200);
        // Together: one call, batched over both cores.
        let together = VerifiedSignatures::new(1024);
        let items: Vec<SignedItem> = cases.iter().map(|(item, _)| item.clone()).collect();
        let want: Vec<bool> = cases.iter().map(|(_, valid)| *valid).collect();
        assert_eq!(together.verify_items(items.clone()), want);
        for (item, valid) in &cases {
            assert_eq!(
                together.contains(&item.hash),
                *valid,
                "remembered only if good"
            );
        }
        // Asked again: the good ones come from the set, the bad ones are
        // checked again and still refused.
        assert_eq!(together.verify_items(items), want);
        // Alone, each in its own call.
        let alone = VerifiedSignatures::new(1024);
        for (item, valid) in cases {
            assert_eq!(alone.verify_items(vec![item.clone()]), vec![valid]);
        }
    }

    #[test]
    fn many_transactions_get_the_verdicts_one_by_one_gives() {
        let mut signers = testkit::demo_signers();
        let mut txs = Vec::new();
        for amount in 0..150u64 {
            let mut tx = mint(&mut signers, amount + 1);
            match amount % 37 {
                // A forged signature.
                5 => tx.signature.0[40] ^= 1,
                // A small-order signer: refused by the rule.
                11 => {
                    let mut identity = [0u8; 32];
                    identity[0] = 1;
                    tx.body.signer = PublicKey(identity);
                }
                _ => {}
            }
            txs.push(tx);
        }
        let hashed: Vec<(Hash, &Transaction)> = txs.iter().map(|tx| (tx.hash(), tx)).collect();
        let one_by_one = VerifiedSignatures::new(1024);
        let want: Vec<bool> = hashed
            .iter()
            .map(|(h, tx)| one_by_one.verify(h, tx))
            .collect();
        assert!(want.iter().filter(|ok| !**ok).count() >= 8);
        let together = VerifiedSignatures::new(1024);
        assert_eq!(together.verify_many(&hashed), want);
        assert_eq!(together.checked_count(), 150);
        assert_eq!(together.verified_count(), one_by_one.verified_count());
        // A block's transactions: only the unseen are checked.
        together.verify_txs(&txs);
        let bad = want.iter().filter(|ok| !**ok).count() as u64;
        assert_eq!(together.checked_count(), 150 + bad);
    }
}
