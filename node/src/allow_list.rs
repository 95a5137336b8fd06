//! Who may connect to this node: every active cooperative of the ledger
//! (validating or not: a new cooperative's node must be able to catch up
//! before governance gives it voting power) and the observers registered in
//! genesis. It follows the ledger: a cooperative added by governance is
//! allowed from the block that adds it; a removed one is disconnected.

use kopnet_consensus::PublicKey;
use kopnet_ledger::{Ledger, Storage};

/// The sorted, de-duplicated keys allowed at the ledger's current height.
pub fn current<S: Storage>(ledger: &Ledger<S>, observers: &[PublicKey]) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = ledger
        .cooperatives()
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|c| c.key)
        .chain(observers.iter().copied())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}
