//! Who may connect to this node: the node identity of every active
//! cooperative of the ledger (validating or not: a new cooperative's node
//! must be able to catch up before governance gives it voting power) and
//! of every registered observer. It follows the ledger: a cooperative or
//! observer added by governance is allowed from the block that adds it; a
//! removed one is disconnected; a rotated node identity (a cooperative's
//! or an observer's) is admitted from the block of the rotation, and the
//! one it replaced until its grace period ends in block time
//! (`kopnet_ledger::node_keys`, `kopnet_ledger::observers`). Cooperative
//! and validator keys are never network identities.

use kopnet_consensus::PublicKey;
use kopnet_ledger::{Ledger, Storage};

/// The sorted, de-duplicated keys allowed at the ledger's current height.
pub fn current<S: Storage>(ledger: &Ledger<S>) -> Vec<PublicKey> {
    let now_ms = ledger.last_block_time_ms();
    let mut keys: Vec<PublicKey> = ledger
        .cooperatives()
        .iter()
        .filter(|c| c.active)
        .flat_map(|c| kopnet_ledger::node_keys::admitted_node_keys(c, now_ms))
        .chain(ledger.admitted_observers())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}
