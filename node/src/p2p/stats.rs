//! Counters the networking layer keeps for `/metrics`: shared atomics the
//! swarm task writes and anyone holding [`super::P2pHandle::stats`] reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the per-peer budget and the ban policy have done so far.
#[derive(Debug, Default)]
pub struct P2pStats {
    penalties: AtomicU64,
    bans: AtomicU64,
    banned_peers: AtomicU64,
    dropped_over_budget: AtomicU64,
    dropped_queue_full: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

impl P2pStats {
    /// Strikes recorded against peers, any offence.
    pub fn penalties_total(&self) -> u64 {
        self.penalties.load(Ordering::Relaxed)
    }

    /// Peers disconnected and banned (a peer banned twice counts twice).
    pub fn bans_total(&self) -> u64 {
        self.bans.load(Ordering::Relaxed)
    }

    /// Peers banned right now.
    pub fn banned_peers(&self) -> u64 {
        self.banned_peers.load(Ordering::Relaxed)
    }

    /// Gossip messages and catch-up requests dropped because their sender
    /// was over its budget.
    pub fn dropped_over_budget_total(&self) -> u64 {
        self.dropped_over_budget.load(Ordering::Relaxed)
    }

    /// Gossip messages and catch-up requests dropped because the node had
    /// not yet taken enough of the earlier ones (count or bytes).
    pub fn dropped_queue_full_total(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
    }

    /// Bytes written to peers' TCP connections (noise, yamux and every
    /// protocol included).
    pub fn bytes_sent_total(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// Bytes read from peers' TCP connections.
    pub fn bytes_received_total(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    pub(crate) fn count_bytes_sent(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn count_bytes_received(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.bytes_received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn count_penalty(&self) {
        self.penalties.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_ban(&self) {
        self.bans.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_banned_peers(&self, banned: usize) {
        let banned = u64::try_from(banned).unwrap_or(u64::MAX);
        self.banned_peers.store(banned, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_over_budget(&self) {
        self.dropped_over_budget.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_queue_full(&self) {
        self.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
    }
}
