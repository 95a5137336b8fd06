//! The mempool: pending transactions, bounded by count, bytes and per signer.
//!
//! * dedup by hash; one transaction per (signer, nonce);
//! * a transaction enters only with a verified signature and a nonce in
//!   `[next, next + max_per_signer)` for its signer;
//! * block candidates come out in arrival order, each signer's nonces in
//!   sequence, so a block never skips a nonce;
//! * after each block, committed and stale entries are evicted, and so are
//!   entries that waited more than `max_age_blocks` blocks (e.g. behind a
//!   nonce gap that never closes), so nothing stays forever.
//!
//! Iteration order never depends on a hash map: candidates follow the
//! arrival sequence (a `BTreeMap`).

use crate::config::MempoolConfig;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::{Rejection, Transaction};
use std::collections::{BTreeMap, HashMap};

/// Why the mempool did not take a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("mempool_full: the node has too many pending transactions")]
    Full,
    #[error("signer_limit: too many pending transactions from this signer")]
    SignerLimit,
    #[error("nonce_taken: another pending transaction uses this nonce")]
    NonceTaken,
    #[error(transparent)]
    Rejected(#[from] Rejection),
}

impl MempoolError {
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::Full => "mempool_full",
            MempoolError::SignerLimit => "signer_limit",
            MempoolError::NonceTaken => "nonce_taken",
            MempoolError::Rejected(r) => r.code(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    tx: Transaction,
    size: usize,
    seq: u64,
    /// [`Mempool::blocks_seen`] when it arrived.
    arrived_at_block: u64,
}

/// What one block evicted besides what it committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Nonce already used (another transaction of the signer committed).
    pub stale: Vec<Hash>,
    /// Waited more than `max_age_blocks` blocks.
    pub expired: Vec<Hash>,
}

/// Whether an insert added something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    AlreadyPending,
}

#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<Hash, Entry>,
    by_signer: BTreeMap<PublicKey, BTreeMap<u64, Hash>>,
    arrival: BTreeMap<u64, Hash>,
    next_seq: u64,
    bytes: usize,
    /// Blocks this pool has seen (the clock of `max_age_blocks`).
    blocks_seen: u64,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            entries: HashMap::new(),
            by_signer: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            blocks_seen: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// Every check [`Mempool::insert`] makes, without inserting: the cheap
    /// checks admission runs before it verifies a signature (a client must
    /// not buy a verification with a used nonce or one the mempool would
    /// refuse). `Some(AlreadyPending)` when these very bytes are pending.
    pub fn check(
        &self,
        tx: &Transaction,
        hash: &Hash,
        size: usize,
        next_nonce: u64,
    ) -> Result<Option<Inserted>, MempoolError> {
        if self.entries.contains_key(hash) {
            return Ok(Some(Inserted::AlreadyPending));
        }
        let nonce = tx.body.nonce;
        if nonce < next_nonce {
            return Err(Rejection::StaleNonce {
                expected: next_nonce,
                got: nonce,
            }
            .into());
        }
        let window = u64::try_from(self.config.max_per_signer).unwrap_or(u64::MAX);
        if nonce >= next_nonce.saturating_add(window) {
            return Err(Rejection::FutureNonce {
                expected: next_nonce,
                got: nonce,
            }
            .into());
        }
        let signer = tx.body.signer;
        let pending = self.by_signer.get(&signer);
        if pending.is_some_and(|p| p.contains_key(&nonce)) {
            return Err(MempoolError::NonceTaken);
        }
        if pending.is_some_and(|p| p.len() >= self.config.max_per_signer) {
            return Err(MempoolError::SignerLimit);
        }
        if self.entries.len() >= self.config.max_txs
            || self.bytes.saturating_add(size) > self.config.max_bytes
        {
            return Err(MempoolError::Full);
        }
        Ok(None)
    }

    /// Whether a client's new transaction of `size` bytes may still come
    /// in: clients fill at most `client_room_percent` of the pool's count
    /// and bytes, peers' gossip the whole. Why: a transaction pending at a
    /// peer may be in that peer's next proposal, and one this node has
    /// already taken (and verified) costs nothing when the proposal comes;
    /// one it had no room for must be verified while the proposal waits.
    /// So under a flood the pool keeps room for what the other nodes hold,
    /// and the clients, who can retry, are told `mempool_full` first.
    pub fn client_room(&self, size: usize) -> Result<(), MempoolError> {
        let share = |whole: usize| {
            whole.saturating_mul(usize::from(self.config.client_room_percent.min(100))) / 100
        };
        if self.entries.len() >= share(self.config.max_txs)
            || self.bytes.saturating_add(size) > share(self.config.max_bytes)
        {
            return Err(MempoolError::Full);
        }
        Ok(())
    }

    /// Add a transaction whose signature was verified. `next_nonce` is the
    /// ledger's next nonce for the signer.
    pub fn insert(
        &mut self,
        tx: Transaction,
        hash: Hash,
        size: usize,
        next_nonce: u64,
    ) -> Result<Inserted, MempoolError> {
        if let Some(already) = self.check(&tx, &hash, size, next_nonce)? {
            return Ok(already);
        }
        let nonce = tx.body.nonce;
        let signer = tx.body.signer;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.by_signer
            .entry(signer)
            .or_default()
            .insert(nonce, hash);
        self.arrival.insert(seq, hash);
        self.bytes = self.bytes.saturating_add(size);
        self.entries.insert(
            hash,
            Entry {
                tx,
                size,
                seq,
                arrived_at_block: self.blocks_seen,
            },
        );
        Ok(Inserted::New)
    }

    /// Up to `max` transactions for the next block, in arrival order with each
    /// signer's nonces contiguous from `next_nonce(signer)`.
    pub fn candidates(
        &self,
        max: usize,
        next_nonce: impl Fn(&PublicKey) -> Option<u64>,
    ) -> Vec<Transaction> {
        let mut out = Vec::new();
        let mut expected: BTreeMap<PublicKey, u64> = BTreeMap::new();
        for hash in self.arrival.values() {
            if out.len() >= max {
                break;
            }
            let Some(entry) = self.entries.get(hash) else {
                continue;
            };
            let signer = entry.tx.body.signer;
            let next = match expected.get(&signer) {
                Some(n) => *n,
                None => match next_nonce(&signer) {
                    Some(n) => n,
                    None => continue,
                },
            };
            if entry.tx.body.nonce != next {
                expected.insert(signer, next);
                continue;
            }
            // Emit this one and any contiguous successors.
            let mut n = next;
            if let Some(pending) = self.by_signer.get(&signer) {
                while out.len() < max {
                    let Some(h) = pending.get(&n) else { break };
                    let Some(e) = self.entries.get(h) else { break };
                    out.push(e.tx.clone());
                    n = n.saturating_add(1);
                }
            }
            expected.insert(signer, n);
        }
        out
    }

    fn remove(&mut self, hash: &Hash) -> Option<Transaction> {
        let entry = self.entries.remove(hash)?;
        self.arrival.remove(&entry.seq);
        self.bytes = self.bytes.saturating_sub(entry.size);
        let signer = entry.tx.body.signer;
        if let Some(pending) = self.by_signer.get_mut(&signer) {
            pending.remove(&entry.tx.body.nonce);
            if pending.is_empty() {
                self.by_signer.remove(&signer);
            }
        }
        Some(entry.tx)
    }

    /// After a block: drop what it committed, everything whose nonce is now
    /// stale, and everything older than `max_age_blocks` blocks.
    pub fn after_block(
        &mut self,
        committed: &[Hash],
        next_nonce: impl Fn(&PublicKey) -> Option<u64>,
    ) -> Evicted {
        self.blocks_seen = self.blocks_seen.saturating_add(1);
        for hash in committed {
            self.remove(hash);
        }
        let mut evicted = Evicted::default();
        for (signer, pending) in &self.by_signer {
            let next = next_nonce(signer);
            for (nonce, hash) in pending {
                match next {
                    Some(n) if *nonce >= n => break,
                    _ => evicted.stale.push(*hash),
                }
            }
        }
        for hash in &evicted.stale {
            self.remove(hash);
        }
        // Arrival order is age order: expire from the front.
        let oldest_kept = self.blocks_seen.saturating_sub(self.config.max_age_blocks);
        for hash in self.arrival.values() {
            match self.entries.get(hash) {
                Some(entry) if entry.arrived_at_block < oldest_kept => evicted.expired.push(*hash),
                _ => break,
            }
        }
        for hash in &evicted.expired {
            self.remove(hash);
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::testkit::Signers;
    use kopnet_ledger::Action;

    fn tx(signers: &mut Signers, who: &PublicKey) -> Transaction {
        signers.sign("c", who, Action::CloseSettlementWindow { window: 0 })
    }

    fn config(max_txs: usize) -> MempoolConfig {
        MempoolConfig {
            max_txs,
            max_bytes: 1 << 20,
            max_per_signer: 2,
            max_age_blocks: 3,
            client_room_percent: 50,
        }
    }

    #[test]
    fn clients_fill_only_their_share_and_peers_the_rest() {
        let mut signers = Signers::default();
        let keys: Vec<PublicKey> = (1..=5u8)
            .map(|i| signers.add(kopnet_consensus::Keypair::from_seed([i; 32])))
            .collect();
        let mut pool = Mempool::new(config(4));
        for (taken, key) in keys.iter().take(2).enumerate() {
            assert_eq!(pool.len(), taken);
            assert_eq!(pool.client_room(10), Ok(()));
            let t = tx(&mut signers, key);
            pool.insert(t.clone(), t.hash(), 10, 0).unwrap();
        }
        // Half of 4 is taken: a client is refused, a peer's gossip is not.
        assert_eq!(pool.client_room(10), Err(MempoolError::Full));
        for key in &keys[2..4] {
            let t = tx(&mut signers, key);
            assert_eq!(pool.check(&t, &t.hash(), 10, 0), Ok(None));
            pool.insert(t.clone(), t.hash(), 10, 0).unwrap();
        }
        let last = tx(&mut signers, &keys[4]);
        assert_eq!(
            pool.check(&last, &last.hash(), 10, 0),
            Err(MempoolError::Full)
        );
        // Bytes count too.
        let by_bytes = Mempool::new(config(100));
        assert_eq!(by_bytes.client_room(1 << 19), Ok(()));
        assert_eq!(by_bytes.client_room((1 << 19) + 1), Err(MempoolError::Full));
    }

    #[test]
    fn orders_nonces_dedups_bounds_and_evicts() {
        let mut signers = Signers::default();
        let a = signers.add(kopnet_consensus::Keypair::from_seed([1; 32]));
        let b = signers.add(kopnet_consensus::Keypair::from_seed([2; 32]));
        let a1 = tx(&mut signers, &a);
        let a2 = tx(&mut signers, &a);
        let b1 = tx(&mut signers, &b);
        let mut pool = Mempool::new(config(3));
        // a2 arrives before a1: it must still come out after a1.
        assert_eq!(pool.insert(a2.clone(), a2.hash(), 10, 1), Ok(Inserted::New));
        assert_eq!(pool.insert(b1.clone(), b1.hash(), 10, 1), Ok(Inserted::New));
        assert_eq!(pool.insert(a1.clone(), a1.hash(), 10, 1), Ok(Inserted::New));
        assert_eq!(
            pool.insert(a1.clone(), a1.hash(), 10, 1),
            Ok(Inserted::AlreadyPending)
        );
        let order: Vec<u64> = pool
            .candidates(10, |_| Some(1))
            .iter()
            .map(|t| t.body.nonce + if t.body.signer == b { 100 } else { 0 })
            .collect();
        assert_eq!(order, vec![101, 1, 2]);
        // Full by count.
        let b2 = tx(&mut signers, &b);
        assert_eq!(
            pool.insert(b2.clone(), b2.hash(), 10, 1),
            Err(MempoolError::Full)
        );
        // Stale and far-future nonces.
        assert_eq!(
            pool.insert(b2.clone(), b2.hash(), 10, 3)
                .unwrap_err()
                .code(),
            "stale_nonce"
        );
        assert_eq!(
            pool.insert(b2.clone(), b2.hash(), 10, 0)
                .unwrap_err()
                .code(),
            "future_nonce"
        );
        // After a block that committed a1 and moved b to nonce 2.
        let evicted = pool.after_block(&[a1.hash()], |_| Some(2));
        assert_eq!(evicted.stale, vec![b1.hash()]);
        assert!(evicted.expired.is_empty());
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.bytes(), 10);
    }

    #[test]
    fn entries_stuck_behind_a_nonce_gap_expire() {
        let mut signers = Signers::default();
        let a = signers.add(kopnet_consensus::Keypair::from_seed([1; 32]));
        let _a1 = tx(&mut signers, &a); // never arrives
        let a2 = tx(&mut signers, &a);
        let mut pool = Mempool::new(config(10));
        pool.insert(a2.clone(), a2.hash(), 10, 1).unwrap();
        // a2 cannot go into a block (a1 is missing); max_age_blocks = 3.
        for _ in 0..3 {
            assert!(pool.candidates(10, |_| Some(1)).is_empty());
            assert_eq!(pool.after_block(&[], |_| Some(1)), Evicted::default());
        }
        let evicted = pool.after_block(&[], |_| Some(1));
        assert_eq!(evicted.expired, vec![a2.hash()]);
        assert!(pool.is_empty());
        assert_eq!(pool.bytes(), 0);
    }
}
