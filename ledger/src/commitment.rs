//! The state commitment: a fixed-shape Merkle tree over hashed state entries.
//!
//! Every state entry `(key, value)` becomes a leaf `H_leaf(key ‖ value)` and
//! falls into one of [`BUCKETS`] buckets chosen by the first bits of
//! `H_key(key)`. A bucket's hash covers its leaves in key order; a binary tree
//! over the bucket hashes gives the root. Updating a block's changed entries
//! re-hashes only the touched buckets and their paths to the root: the cost is
//! proportional to what the block changed, not to the number of accounts.
//! A proof for one account is its bucket's leaves plus the sibling path.
//!
//! All hashes are blake3 in derive-key mode with their own contexts.

use kopnet_consensus::Hash;
use std::collections::{BTreeMap, BTreeSet};

/// log2 of the bucket count.
pub const BUCKET_BITS: u32 = 12;
/// Number of buckets (leaves of the binary tree).
pub const BUCKETS: usize = 1 << BUCKET_BITS;

const KEY_CONTEXT: &str = "kopnet 2026 state key v1";
const LEAF_CONTEXT: &str = "kopnet 2026 state leaf v1";
const BUCKET_CONTEXT: &str = "kopnet 2026 state bucket v1";
const NODE_CONTEXT: &str = "kopnet 2026 state node v1";
const EMPTY_CONTEXT: &str = "kopnet 2026 state empty v1";

/// Incrementally maintained commitment to the ledger state.
#[derive(Debug, Clone)]
pub struct StateTree {
    /// Per bucket: key hash → leaf hash.
    buckets: Vec<BTreeMap<Hash, Hash>>,
    /// Heap-ordered binary tree: node 1 is the root, leaves at BUCKETS..2*BUCKETS.
    nodes: Vec<Hash>,
    dirty: BTreeSet<usize>,
}

impl Default for StateTree {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket_of(key_hash: &Hash) -> usize {
    let prefix = u16::from_be_bytes([key_hash.0[0], key_hash.0[1]]);
    usize::from(prefix >> (16 - BUCKET_BITS))
}

impl StateTree {
    pub fn new() -> StateTree {
        let mut tree = StateTree {
            buckets: vec![BTreeMap::new(); BUCKETS],
            nodes: vec![Hash::ZERO; 2 * BUCKETS],
            dirty: (0..BUCKETS).collect(),
        };
        tree.recompute();
        tree
    }

    /// Insert or replace an entry (`value = None` removes it).
    pub fn update(&mut self, key: &[u8], value: Option<&[u8]>) {
        let key_hash = Hash::digest(KEY_CONTEXT, key);
        let bucket = bucket_of(&key_hash);
        let Some(entries) = self.buckets.get_mut(bucket) else {
            return;
        };
        match value {
            Some(value) => {
                entries.insert(key_hash, Hash::digest_parts(LEAF_CONTEXT, &[key, value]));
            }
            None => {
                entries.remove(&key_hash);
            }
        }
        self.dirty.insert(bucket);
    }

    /// Re-hash touched buckets and their paths; returns the root.
    pub fn recompute(&mut self) -> Hash {
        let mut level: BTreeSet<usize> = BTreeSet::new();
        for bucket in std::mem::take(&mut self.dirty) {
            let hash = self.bucket_hash(bucket);
            let index = BUCKETS + bucket;
            if let Some(slot) = self.nodes.get_mut(index) {
                *slot = hash;
            }
            level.insert(index / 2);
        }
        while !level.is_empty() {
            let mut next = BTreeSet::new();
            for index in level {
                let left = self.nodes.get(2 * index).copied().unwrap_or_default();
                let right = self.nodes.get(2 * index + 1).copied().unwrap_or_default();
                if let Some(slot) = self.nodes.get_mut(index) {
                    *slot = Hash::digest_parts(NODE_CONTEXT, &[&left.0, &right.0]);
                }
                if index > 1 {
                    next.insert(index / 2);
                }
            }
            level = next;
        }
        self.root()
    }

    fn bucket_hash(&self, bucket: usize) -> Hash {
        let Some(entries) = self.buckets.get(bucket).filter(|e| !e.is_empty()) else {
            return Hash::digest(EMPTY_CONTEXT, &[]);
        };
        let mut hasher_input = Vec::with_capacity(entries.len() * 64);
        for (key_hash, leaf) in entries {
            hasher_input.extend_from_slice(&key_hash.0);
            hasher_input.extend_from_slice(&leaf.0);
        }
        Hash::digest(BUCKET_CONTEXT, &hasher_input)
    }

    /// The root as of the last [`StateTree::recompute`].
    pub fn root(&self) -> Hash {
        self.nodes.get(1).copied().unwrap_or_default()
    }

    /// A proof that `key` has `value` under the current root.
    pub fn prove(&self, key: &[u8]) -> StateProof {
        let key_hash = Hash::digest(KEY_CONTEXT, key);
        let bucket = bucket_of(&key_hash);
        let leaves = self
            .buckets
            .get(bucket)
            .map(|e| e.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        let mut siblings = Vec::new();
        let mut index = BUCKETS + bucket;
        while index > 1 {
            siblings.push(self.nodes.get(index ^ 1).copied().unwrap_or_default());
            index /= 2;
        }
        StateProof {
            bucket,
            leaves,
            siblings,
        }
    }
}

/// Proof of one entry: the bucket's leaves and the sibling hashes up to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateProof {
    pub bucket: usize,
    pub leaves: Vec<(Hash, Hash)>,
    pub siblings: Vec<Hash>,
}

impl StateProof {
    /// Check that `key` maps to `value` under `root`.
    pub fn verify(&self, root: &Hash, key: &[u8], value: &[u8]) -> bool {
        let key_hash = Hash::digest(KEY_CONTEXT, key);
        let leaf = Hash::digest_parts(LEAF_CONTEXT, &[key, value]);
        if bucket_of(&key_hash) != self.bucket || !self.leaves.contains(&(key_hash, leaf)) {
            return false;
        }
        let sorted = self
            .leaves
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0));
        if !sorted {
            return false;
        }
        let mut input = Vec::with_capacity(self.leaves.len() * 64);
        for (k, v) in &self.leaves {
            input.extend_from_slice(&k.0);
            input.extend_from_slice(&v.0);
        }
        let mut hash = Hash::digest(BUCKET_CONTEXT, &input);
        let mut index = BUCKETS + self.bucket;
        for sibling in &self.siblings {
            hash = if index.is_multiple_of(2) {
                Hash::digest_parts(NODE_CONTEXT, &[&hash.0, &sibling.0])
            } else {
                Hash::digest_parts(NODE_CONTEXT, &[&sibling.0, &hash.0])
            };
            index /= 2;
        }
        index == 1 && &hash == root
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
    }
}
