//! The answering side of a lookup: a cooperative node asked "whose is this
//! number?" by another cooperative's node over `/kopnet/directory/1`.
//!
//! Only a cooperative node answers (an observer refuses), only another
//! active cooperative's node may ask (the asking peer's noise-authenticated
//! key must be that cooperative's node identity, and the request must name
//! that same cooperative), each asking cooperative has
//! [`super::rate::COOP_LOOKUPS_PER_MINUTE`], and every lookup is logged
//! with the requesting wallet and cooperative and the number's last three
//! digits only.

use super::mask::masked_name;
use super::phone::Phone;
use super::wire::{self, LookupAnswer, LookupRequest};
use super::{home, Directory};
use crate::node_state::NodeState;
use kopnet_consensus::PublicKey;
use kopnet_ledger::CoopId;
use std::time::Instant;

/// The `tracing` target of every lookup's log line.
pub const LOOKUP_LOG_TARGET: &str = "kopnet::directory";

/// Answer a request `data` from the peer whose key is `peer` (blocking:
/// store reads).
pub fn answer_peer(
    node: &NodeState,
    directory: &Directory,
    peer: Option<PublicKey>,
    data: &[u8],
) -> LookupAnswer {
    let request = match wire::decode::<LookupRequest>(data) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(target: LOOKUP_LOG_TARGET, %error, "malformed directory request");
            return LookupAnswer::refused("malformed");
        }
    };
    let view = node.committed.current();
    let Some(own) = home::own_cooperative(&view, &node.node_key) else {
        return LookupAnswer::refused("not_a_cooperative_node");
    };
    let asking = peer.and_then(|key| home::cooperative_of_node(&view, &key));
    let Some(asking) = asking.filter(|coop| coop.as_str() == request.cooperative) else {
        tracing::warn!(target: LOOKUP_LOG_TARGET, cooperative = %request.cooperative, "directory request from a peer that is not that cooperative's node: refused");
        return LookupAnswer::refused("not_a_cooperative");
    };
    if !directory
        .coops
        .try_take(&asking.as_str().to_string(), Instant::now())
    {
        tracing::warn!(target: LOOKUP_LOG_TARGET, cooperative = %asking, wallet = %request.wallet, "directory lookups over the cooperative's budget: refused");
        return LookupAnswer::refused("rate_limited");
    }
    let Ok(phone) = Phone::parse(&request.phone) else {
        return LookupAnswer::refused("bad_phone");
    };
    let answer = own_member(node, directory, &own, &phone);
    log_lookup(
        "answered",
        &request.wallet,
        asking.as_str(),
        &phone,
        &answer,
    );
    answer
}

/// Look `phone` up among this node's own members: found only if the
/// number is linked here and the account is still homed at `own`.
pub fn own_member(
    node: &NodeState,
    directory: &Directory,
    own: &CoopId,
    phone: &Phone,
) -> LookupAnswer {
    let found = match directory.store.find_by_phone(phone) {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(target: LOOKUP_LOG_TARGET, %error, "personal store read failed");
            return LookupAnswer::refused("unavailable");
        }
    };
    let Some((address, record)) = found else {
        return LookupAnswer::NotFound;
    };
    match home::member(&node.chain, &address) {
        Ok(Some(account)) if account.home == *own => LookupAnswer::Found {
            address: address.to_address(),
            masked_name: masked_name(&record.name),
            cooperative: own.as_str().to_string(),
        },
        Ok(_) => LookupAnswer::NotFound,
        Err(error) => {
            tracing::error!(target: LOOKUP_LOG_TARGET, %error, "ledger read failed");
            LookupAnswer::refused("unavailable")
        }
    }
}

/// One log line per lookup: who asked, whether it was found; of the
/// number only its last three digits.
pub fn log_lookup(
    side: &str,
    wallet: &str,
    cooperative: &str,
    phone: &Phone,
    answer: &LookupAnswer,
) {
    let outcome = match answer {
        LookupAnswer::Found { .. } => "found",
        LookupAnswer::NotFound => "not_found",
        LookupAnswer::Refused { reason } => reason.as_str(),
    };
    tracing::info!(
        target: LOOKUP_LOG_TARGET,
        side,
        wallet,
        cooperative,
        phone_tail = %phone.log_tail(),
        outcome,
        "directory lookup"
    );
}
