//! The state commitment: a Merkle tree over hashed state entries whose shape
//! follows the number of entries, updated incrementally.
//!
//! Every state entry `(key, value)` becomes a leaf `H_leaf(key ‖ value)`,
//! filed under `H_key(key)`. The leaves are split into `2^bits` buckets by
//! the first `bits` bits of their key hash; a bucket's hash covers its
//! `(key hash, leaf)` pairs in key-hash order; a binary tree over the bucket
//! hashes gives `top`; the root is `H_root(bits ‖ top)`, so it commits to the
//! shape as well.
//!
//! **Shape.** `bits` is a pure function of the number of entries `n`
//! ([`bucket_bits`]): the smallest `b >= BUCKET_BITS_MIN` with
//! `n <= BUCKET_LEAVES_TARGET * 2^b`. Every node, including one that rebuilds
//! the tree from storage, therefore gets the same shape for the same state,
//! and a bucket holds `BUCKET_LEAVES_TARGET / 2` to `BUCKET_LEAVES_TARGET`
//! leaves on average once the tree has grown past its minimum size.
//!
//! **Cost.** Changing an entry re-hashes its bucket (on average at most
//! [`BUCKET_LEAVES_TARGET`] leaves, whatever the number of entries) and the
//! `bits` nodes on its path to the root, once per block however many of the
//! block's changes share them. When a block moves `n` across a threshold, the
//! tree is re-bucketed: leaf hashes are kept, but every bucket and node hash is
//! recomputed (`O(n)`, once per doubling or halving of the state, so `O(1)`
//! amortised per inserted entry). The only entries the ledger deletes are the
//! per-day commitments of expired idempotency records (one entry a day, see
//! [`crate::idempotency`]), so a state sitting on a threshold re-buckets at
//! most about once a day. The averages hold for key hashes that
//! are spread evenly, which blake3 gives keys not chosen to collide; someone
//! able to register many ground keys could crowd one bucket and make updates
//! to that bucket cost its size, not more. [`StateTree::last_work`] reports
//! what the last recomputation hashed, so tests count work rather than time.
//!
//! **Proofs.** A proof for one key carries `bits`, its bucket number, the
//! bucket's leaves and the `bits` sibling hashes up to `top`; it shows either
//! the key's value or that the key is absent.
//!
//! **What it holds.** Every entry of the in-memory state map, and nothing
//! else: payments' idempotency records are kept on disk and enter the tree
//! through their day's entry ([`crate::state::StateKey::IdempotencyDay`]),
//! so the tree's memory and the work of building it at start-up follow the
//! number of accounts, cooperatives, windows and proposals, not of payments.
//!
//! All hashes are blake3 in derive-key mode with their own contexts.

use kopnet_primitives::Hash;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Fewest bucket bits (the shape of a small state: 256 buckets).
pub const BUCKET_BITS_MIN: u32 = 8;
/// Most bucket bits (2^32 buckets: far beyond any state this ledger holds).
pub const BUCKET_BITS_MAX: u32 = 32;
/// Most leaves per bucket on average before the bucket count doubles.
pub const BUCKET_LEAVES_TARGET: u64 = 32;

const KEY_CONTEXT: &str = "kopnet 2026 state key v1";
const LEAF_CONTEXT: &str = "kopnet 2026 state leaf v1";
const BUCKET_CONTEXT: &str = "kopnet 2026 state bucket v1";
const NODE_CONTEXT: &str = "kopnet 2026 state node v1";
const EMPTY_CONTEXT: &str = "kopnet 2026 state empty v1";
const ROOT_CONTEXT: &str = "kopnet 2026 state root v2";

/// The bucket bits for a state of `entries` entries.
pub fn bucket_bits(entries: u64) -> u32 {
    let mut bits = BUCKET_BITS_MIN;
    while bits < BUCKET_BITS_MAX && entries > BUCKET_LEAVES_TARGET << bits {
        bits += 1;
    }
    bits
}

/// What one [`StateTree::recompute`] hashed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeWork {
    /// Buckets re-hashed.
    pub buckets: u64,
    /// Leaves fed into those bucket hashes.
    pub leaves: u64,
    /// Inner nodes re-hashed.
    pub nodes: u64,
    /// Whether the bucket count changed (every bucket was re-hashed).
    pub resized: bool,
}

/// Incrementally maintained commitment to the ledger state.
#[derive(Debug, Clone)]
pub struct StateTree {
    /// Key hash → leaf hash, for every entry; a bucket is a range of this map.
    leaves: BTreeMap<Hash, Hash>,
    bits: u32,
    /// Heap-ordered binary tree over the buckets: node 1 is `top`, bucket `i`
    /// is node `2^bits + i`.
    nodes: Vec<Hash>,
    dirty: BTreeSet<u64>,
    root: Hash,
    work: TreeWork,
}

impl Default for StateTree {
    fn default() -> Self {
        Self::new()
    }
}

fn key_hash(key: &[u8]) -> Hash {
    Hash::digest(KEY_CONTEXT, key)
}

fn leaf_hash(key: &[u8], value: &[u8]) -> Hash {
    Hash::digest_parts(LEAF_CONTEXT, &[key, value])
}

/// The bucket of `key_hash` among `2^bits` buckets (its first `bits` bits).
fn bucket_of(key_hash: &Hash, bits: u32) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(key_hash.0.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(prefix)
        .checked_shr(64 - bits)
        .unwrap_or(0)
}

/// The smallest key hash in bucket `bucket`.
fn bucket_start(bucket: u64, bits: u32) -> Hash {
    let mut bytes = [0u8; 32];
    let prefix = bucket.checked_shl(64 - bits).unwrap_or(0);
    if let Some(head) = bytes.get_mut(..8) {
        head.copy_from_slice(&prefix.to_be_bytes());
    }
    Hash(bytes)
}

fn bucket_range(bucket: u64, bits: u32) -> (Bound<Hash>, Bound<Hash>) {
    let lower = Bound::Included(bucket_start(bucket, bits));
    let next = bucket.saturating_add(1);
    let upper = if next >> bits == 0 {
        Bound::Excluded(bucket_start(next, bits))
    } else {
        Bound::Unbounded
    };
    (lower, upper)
}

fn hash_bucket<'a>(leaves: impl Iterator<Item = (&'a Hash, &'a Hash)>) -> (Hash, u64) {
    let mut input = Vec::new();
    let mut count = 0u64;
    for (key_hash, leaf) in leaves {
        input.extend_from_slice(&key_hash.0);
        input.extend_from_slice(&leaf.0);
        count += 1;
    }
    if count == 0 {
        return (Hash::digest(EMPTY_CONTEXT, &[]), 0);
    }
    (Hash::digest(BUCKET_CONTEXT, &input), count)
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::digest_parts(NODE_CONTEXT, &[&left.0, &right.0])
}

fn root_hash(bits: u32, top: &Hash) -> Hash {
    Hash::digest_parts(ROOT_CONTEXT, &[&bits.to_le_bytes(), &top.0])
}

impl StateTree {
    /// The commitment to an empty state.
    pub fn new() -> StateTree {
        let mut tree = StateTree {
            leaves: BTreeMap::new(),
            bits: BUCKET_BITS_MIN,
            nodes: Vec::new(),
            dirty: BTreeSet::new(),
            root: Hash::ZERO,
            work: TreeWork::default(),
        };
        tree.rebuild();
        tree
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The current bucket bits (as of the last [`StateTree::recompute`]).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Insert or replace an entry (`value = None` removes it). Takes effect
    /// in the root at the next [`StateTree::recompute`].
    pub fn update(&mut self, key: &[u8], value: Option<&[u8]>) {
        let key_hash = key_hash(key);
        match value {
            Some(value) => {
                self.leaves.insert(key_hash, leaf_hash(key, value));
            }
            None => {
                self.leaves.remove(&key_hash);
            }
        }
        self.dirty.insert(bucket_of(&key_hash, self.bits));
    }

    /// Re-hash touched buckets and their paths (or, when the number of
    /// entries calls for another shape, every bucket); returns the root.
    pub fn recompute(&mut self) -> Hash {
        let entries = u64::try_from(self.leaves.len()).unwrap_or(u64::MAX);
        if bucket_bits(entries) != self.bits || self.nodes.is_empty() {
            self.rebuild();
            return self.root;
        }
        let mut work = TreeWork::default();
        let first_bucket = 1usize << self.bits;
        let mut level: BTreeSet<usize> = BTreeSet::new();
        for bucket in std::mem::take(&mut self.dirty) {
            let (hash, count) = hash_bucket(self.leaves.range(bucket_range(bucket, self.bits)));
            work.buckets += 1;
            work.leaves += count;
            let index = first_bucket.saturating_add(usize::try_from(bucket).unwrap_or(0));
            if let Some(slot) = self.nodes.get_mut(index) {
                *slot = hash;
            }
            level.insert(index / 2);
        }
        while !level.is_empty() {
            let mut next = BTreeSet::new();
            for index in level {
                self.hash_node(index);
                work.nodes += 1;
                if index > 1 {
                    next.insert(index / 2);
                }
            }
            level = next;
        }
        self.root = root_hash(self.bits, &self.top());
        self.work = work;
        self.root
    }

    /// Take the shape the number of entries calls for and hash everything.
    fn rebuild(&mut self) {
        let entries = u64::try_from(self.leaves.len()).unwrap_or(u64::MAX);
        self.bits = bucket_bits(entries);
        let buckets = 1usize << self.bits;
        self.nodes = vec![Hash::ZERO; 2 * buckets];
        self.dirty.clear();
        let mut work = TreeWork {
            resized: true,
            ..TreeWork::default()
        };
        // One ordered pass over the leaves: buckets are contiguous ranges.
        let mut leaves = self.leaves.iter().peekable();
        for bucket in 0..buckets {
            let number = u64::try_from(bucket).unwrap_or(u64::MAX);
            let bits = self.bits;
            let mut members = Vec::new();
            while let Some((k, v)) = leaves.next_if(|(k, _)| bucket_of(k, bits) == number) {
                members.push((k, v));
            }
            let (hash, count) = hash_bucket(members.into_iter());
            work.buckets += 1;
            work.leaves += count;
            if let Some(slot) = self.nodes.get_mut(buckets + bucket) {
                *slot = hash;
            }
        }
        for index in (1..buckets).rev() {
            self.hash_node(index);
            work.nodes += 1;
        }
        self.root = root_hash(self.bits, &self.top());
        self.work = work;
    }

    fn hash_node(&mut self, index: usize) {
        let left = self.nodes.get(2 * index).copied().unwrap_or_default();
        let right = self.nodes.get(2 * index + 1).copied().unwrap_or_default();
        if let Some(slot) = self.nodes.get_mut(index) {
            *slot = node_hash(&left, &right);
        }
    }

    fn top(&self) -> Hash {
        self.nodes.get(1).copied().unwrap_or_default()
    }

    /// The root as of the last [`StateTree::recompute`].
    pub fn root(&self) -> Hash {
        self.root
    }

    /// What the last [`StateTree::recompute`] (or construction) hashed.
    pub fn last_work(&self) -> TreeWork {
        self.work
    }

    /// A proof for `key` (of its value, or of its absence) under the root of
    /// the last [`StateTree::recompute`]. Call it with no updates pending.
    pub fn prove(&self, key: &[u8]) -> StateProof {
        let bucket = bucket_of(&key_hash(key), self.bits);
        let leaves = self
            .leaves
            .range(bucket_range(bucket, self.bits))
            .map(|(k, v)| (*k, *v))
            .collect();
        let mut siblings = Vec::new();
        let mut index = (1usize << self.bits).saturating_add(usize::try_from(bucket).unwrap_or(0));
        while index > 1 {
            siblings.push(self.nodes.get(index ^ 1).copied().unwrap_or_default());
            index /= 2;
        }
        StateProof {
            bits: self.bits,
            bucket,
            leaves,
            siblings,
        }
    }
}

/// Proof for one key: the tree's bucket bits, the key's bucket with all of
/// its leaves, and the sibling hashes from the bucket up to the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateProof {
    pub bits: u32,
    pub bucket: u64,
    pub leaves: Vec<(Hash, Hash)>,
    pub siblings: Vec<Hash>,
}

impl StateProof {
    /// Check that `key` maps to `value` under `root`.
    pub fn verify(&self, root: &Hash, key: &[u8], value: &[u8]) -> bool {
        let key_hash = key_hash(key);
        self.leaves.contains(&(key_hash, leaf_hash(key, value)))
            && self.verify_bucket(root, &key_hash)
    }

    /// Check that `key` has no entry under `root`.
    pub fn verify_absent(&self, root: &Hash, key: &[u8]) -> bool {
        let key_hash = key_hash(key);
        !self.leaves.iter().any(|(k, _)| *k == key_hash) && self.verify_bucket(root, &key_hash)
    }

    /// The bucket is the key's, holds only its own keys in order, and hashes
    /// up to `root`.
    fn verify_bucket(&self, root: &Hash, key_hash: &Hash) -> bool {
        let shape_ok = (BUCKET_BITS_MIN..=BUCKET_BITS_MAX).contains(&self.bits)
            && u32::try_from(self.siblings.len()).ok() == Some(self.bits)
            && bucket_of(key_hash, self.bits) == self.bucket;
        if !shape_ok {
            return false;
        }
        let sorted = self
            .leaves
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0));
        let own = self
            .leaves
            .iter()
            .all(|(k, _)| bucket_of(k, self.bits) == self.bucket);
        if !sorted || !own {
            return false;
        }
        let (mut hash, _) = hash_bucket(self.leaves.iter().map(|(k, v)| (k, v)));
        let mut index = self.bucket;
        for sibling in &self.siblings {
            hash = if index.is_multiple_of(2) {
                node_hash(&hash, sibling)
            } else {
                node_hash(sibling, &hash)
            };
            index /= 2;
        }
        &root_hash(self.bits, &hash) == root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_depends_on_content_not_insertion_order() {
        let mut a = StateTree::new();
        let mut b = StateTree::new();
        for i in 0u32..200 {
            a.update(&i.to_le_bytes(), Some(b"v"));
        }
        for i in (0u32..200).rev() {
            b.update(&i.to_le_bytes(), Some(b"v"));
        }
        assert_eq!(a.recompute(), b.recompute());
        b.update(&7u32.to_le_bytes(), Some(b"w"));
        assert_ne!(a.root(), b.recompute());
        b.update(&7u32.to_le_bytes(), Some(b"v"));
        assert_eq!(a.root(), b.recompute());
        b.update(&7u32.to_le_bytes(), None);
        assert_ne!(a.root(), b.recompute());
    }

    #[test]
    fn proofs_verify_and_reject_wrong_values() {
        let mut tree = StateTree::new();
        for i in 0u32..1000 {
            tree.update(&i.to_le_bytes(), Some(&i.to_be_bytes()));
        }
        let root = tree.recompute();
        let proof = tree.prove(&42u32.to_le_bytes());
        assert!(proof.verify(&root, &42u32.to_le_bytes(), &42u32.to_be_bytes()));
        assert!(!proof.verify(&root, &42u32.to_le_bytes(), &43u32.to_be_bytes()));
        assert!(!proof.verify(&Hash::ZERO, &42u32.to_le_bytes(), &42u32.to_be_bytes()));
        assert!(!proof.verify_absent(&root, &42u32.to_le_bytes()));
        let absent = tree.prove(&5000u32.to_le_bytes());
        assert!(absent.verify_absent(&root, &5000u32.to_le_bytes()));
        assert!(!absent.verify(&root, &5000u32.to_le_bytes(), b""));
    }

    #[test]
    fn bucket_bits_keep_the_average_bucket_at_most_the_target() {
        assert_eq!(bucket_bits(0), BUCKET_BITS_MIN);
        let at_min = BUCKET_LEAVES_TARGET << BUCKET_BITS_MIN;
        assert_eq!(bucket_bits(at_min), BUCKET_BITS_MIN);
        assert_eq!(bucket_bits(at_min + 1), BUCKET_BITS_MIN + 1);
        assert_eq!(bucket_bits(2 * at_min), BUCKET_BITS_MIN + 1);
        assert_eq!(bucket_bits(2 * at_min + 1), BUCKET_BITS_MIN + 2);
        assert_eq!(bucket_bits(u64::MAX), BUCKET_BITS_MAX);
        for bits in BUCKET_BITS_MIN..=BUCKET_BITS_MAX {
            for bucket in [0u64, 1, (1u64 << bits) - 1] {
                let start = bucket_start(bucket, bits);
                assert_eq!(bucket_of(&start, bits), bucket);
            }
        }
    }
}
