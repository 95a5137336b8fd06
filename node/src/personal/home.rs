//! What the ledger says about who may touch a member's personal data: this
//! node's own cooperative, a member's home, and whether a signer is that
//! cooperative (its key) or one of its active tellers. Reads of the
//! committed view and point reads of the store, nothing more.

use crate::committed_view::CommittedView;
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::state::{StateKey, StateValue};
use kopnet_ledger::types::MemberAccount;
use kopnet_ledger::{CoopId, LedgerError, Storage};

/// The cooperative this node serves: the active ledger cooperative whose
/// node identity is `node_key`. Observers (and a node not yet admitted)
/// have none.
pub fn own_cooperative(view: &CommittedView, node_key: &PublicKey) -> Option<CoopId> {
    view.cooperatives
        .iter()
        .map(|c| &c.coop)
        .find(|c| c.active && c.key.is_some() && c.node_key == Some(*node_key))
        .map(|c| c.id.clone())
}

/// The cooperative whose node identity is `node_key` (for a peer asking
/// over the network), if it is an active cooperative.
pub fn cooperative_of_node(view: &CommittedView, node_key: &PublicKey) -> Option<CoopId> {
    own_cooperative(view, node_key)
}

/// The member account at `address`.
pub fn member<S: Storage>(
    chain: &ChainReader<S>,
    address: &PublicKey,
) -> Result<Option<MemberAccount>, LedgerError> {
    Ok(match chain.state_value(&StateKey::Member(*address))? {
        Some(StateValue::Member(m)) => Some(m),
        _ => None,
    })
}

/// The member account `key` signs for now (its address, or the account a
/// rotation or recovery gave this key), with its address.
pub fn account_of_signer<S: Storage>(
    chain: &ChainReader<S>,
    key: &PublicKey,
) -> Result<Option<(PublicKey, MemberAccount)>, LedgerError> {
    let account = match member(chain, key)? {
        Some(m) => Some((*key, m)),
        None => match chain.state_value(&StateKey::MemberKey(*key))? {
            Some(StateValue::MemberKey(a)) => member(chain, &a)?.map(|m| (a, m)),
            _ => None,
        },
    };
    Ok(account.filter(|(_, m)| m.key == *key))
}

/// Whether `signer` acts for cooperative `coop`: its cooperative key, or
/// the key of one of its active tellers.
pub fn acts_for<S: Storage>(
    view: &CommittedView,
    chain: &ChainReader<S>,
    signer: &PublicKey,
    coop: &CoopId,
) -> Result<bool, LedgerError> {
    let is_coop = view
        .cooperatives
        .iter()
        .any(|c| c.coop.id == *coop && c.coop.key == Some(*signer));
    if is_coop {
        return Ok(true);
    }
    Ok(match chain.state_value(&StateKey::Teller(*signer))? {
        Some(StateValue::Teller(t)) => t.active && t.coop == *coop,
        _ => false,
    })
}
