//! The part of the host that readers share: the ledger, the mempool, the
//! verified-signature cache and the recent admission refusals. Only the
//! host writes the ledger. The HTTP API's reads do not take the ledger lock
//! (they read the committed view and the store, see
//! [`crate::committed_view`]), except an account proof's bounded read; its
//! writes take short locks on the mempool and admission's read of the
//! ledger.

use crate::mempool::Mempool;
use crate::verified::VerifiedSignatures;
use kopnet_consensus::Hash;
use kopnet_ledger::{Ledger, Storage};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};

/// How many recent admission refusals `GET /v1/tx/{hash}` remembers.
pub const RECENT_REJECTIONS_MAX: usize = 65_536;

/// A bounded map from a transaction hash to the reason it was refused or
/// dropped (oldest forgotten first).
#[derive(Debug, Default)]
pub struct RecentRejections {
    map: HashMap<Hash, String>,
    order: VecDeque<Hash>,
}

impl RecentRejections {
    pub fn insert(&mut self, hash: Hash, code: String) {
        if self.map.insert(hash, code).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > RECENT_REJECTIONS_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    pub fn get(&self, hash: &Hash) -> Option<&String> {
        self.map.get(hash)
    }
}

/// What the host shares with readers.
#[derive(Debug)]
pub struct HostState<S: Storage> {
    pub chain_id: String,
    pub ledger: RwLock<Ledger<S>>,
    pub mempool: Mutex<Mempool>,
    pub verified: VerifiedSignatures,
    pub rejections: Mutex<RecentRejections>,
}

impl<S: Storage> HostState<S> {
    /// Remember why `hash` was refused or dropped.
    pub fn note_rejection(&self, hash: Hash, code: &str) {
        if let Ok(mut r) = self.rejections.lock() {
            r.insert(hash, code.to_string());
        }
    }

    /// The committed height (0 if the ledger lock is poisoned).
    pub fn height(&self) -> u64 {
        self.ledger.read().map(|l| l.height()).unwrap_or(0)
    }

    /// Pending transactions.
    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().map(|m| m.len()).unwrap_or(0)
    }
}
