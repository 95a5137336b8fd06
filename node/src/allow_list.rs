//! Who may connect to this node: every active cooperative of the ledger
//! (validating or not: a new cooperative's node must be able to catch up
//! before governance gives it voting power) and the observers registered in
//! genesis. It follows the ledger: a cooperative added by governance is
//! allowed from the block that adds it; a removed one is disconnected.

use crate::genesis_file::NetworkGenesis;
use kopnet_consensus::PublicKey;
use kopnet_ledger::{Ledger, Storage};

/// The sorted, de-duplicated keys allowed at the ledger's current height.
pub fn current<S: Storage>(ledger: &Ledger<S>, genesis: &NetworkGenesis) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = ledger
        .cooperatives()
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|c| c.key)
        .chain(genesis.observers.iter().map(|o| o.key))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}
