//! Who signs a load transaction: one signer per demo account and per
//! cooperative, each counting its own nonces and what it has in flight.

use kopnet_consensus::Keypair;
use std::collections::BTreeSet;

/// Returned nonces remembered per signer.
const FREE_NONCES_MAX: usize = 1024;

/// One key with its nonces and what of it is in flight.
#[derive(Debug)]
pub struct Signer {
    pub key: Keypair,
    pub next_nonce: u64,
    pub in_flight: u32,
    /// Nonces handed out whose submission failed before the node took it:
    /// reused first, so one failure does not leave a gap that strands every
    /// later nonce (bounded by [`FREE_NONCES_MAX`]).
    pub free: BTreeSet<u64>,
}

impl Signer {
    pub fn new(key: Keypair, next_nonce: u64) -> Signer {
        Signer {
            key,
            next_nonce,
            in_flight: 0,
            free: BTreeSet::new(),
        }
    }

    /// The nonce for the next transaction: the lowest returned one, else the next new one.
    pub fn take_nonce(&mut self) -> u64 {
        match self.free.pop_first() {
            Some(nonce) => nonce,
            None => {
                let nonce = self.next_nonce;
                self.next_nonce = self.next_nonce.saturating_add(1);
                nonce
            }
        }
    }

    /// A submission with `nonce` failed and the node did not take it.
    pub fn give_back(&mut self, nonce: u64) {
        if nonce < self.next_nonce && self.free.len() < FREE_NONCES_MAX {
            self.free.insert(nonce);
        }
    }

    /// Start again from the node's view (nothing of ours is in flight).
    pub fn resync(&mut self, next_nonce: u64) {
        self.next_nonce = next_nonce;
        self.free.clear();
    }
}

/// Whose signer a load transaction holds until it commits or is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerSlot {
    /// A demo member or merchant: an index into `Traffic::accounts`.
    Account(usize),
    /// A cooperative's own key (cash-in, window closes, acknowledgements):
    /// an index into `Traffic::coops`.
    Coop(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(kopnet_ledger::testkit::key_for("signer test"), 5)
    }

    #[test]
    fn returned_nonces_are_reused_lowest_first() {
        let mut s = signer();
        assert_eq!((s.take_nonce(), s.take_nonce(), s.take_nonce()), (5, 6, 7));
        s.give_back(7);
        s.give_back(5);
        // Never handed out: not taken back.
        s.give_back(9);
        assert_eq!((s.take_nonce(), s.take_nonce(), s.take_nonce()), (5, 7, 8));
    }

    #[test]
    fn resync_forgets_returned_nonces() {
        let mut s = signer();
        s.take_nonce();
        s.give_back(5);
        s.resync(12);
        assert_eq!(s.take_nonce(), 12);
    }
}
