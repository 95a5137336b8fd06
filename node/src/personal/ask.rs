//! The asking side of a lookup: a wallet asked its own node; the node
//! answers itself when the number is one of its own members', and
//! otherwise asks every other active cooperative's node at once over
//! `/kopnet/directory/1`, taking the first that found it.

use super::answer::{log_lookup, own_member};
use super::phone::Phone;
use super::wire::{self, LookupAnswer, LookupRequest};
use super::Directory;
use crate::node_state::NodeState;
use crate::p2p::{peer_id_from_key, P2pHandle};
use kopnet_ledger::CoopId;
use std::sync::Arc;

/// What the asking node concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupOutcome {
    Found {
        address: String,
        masked_name: String,
        cooperative: String,
    },
    /// No cooperative that answered has the number; `unanswered` counts
    /// the cooperative nodes that could not be asked or did not answer.
    NotFound { unanswered: usize },
    /// Some cooperative refused for our budget there.
    RateLimited,
    /// This node's own store failed.
    Unavailable,
}

/// Look `phone` up for `wallet` (an account homed at `own`).
pub async fn lookup(
    node: Arc<NodeState>,
    directory: Arc<Directory>,
    p2p: Option<P2pHandle>,
    own: CoopId,
    wallet: String,
    phone: Phone,
) -> LookupOutcome {
    let local = {
        let (node, directory, own, phone) =
            (node.clone(), directory.clone(), own.clone(), phone.clone());
        tokio::task::spawn_blocking(move || own_member(&node, &directory, &own, &phone))
            .await
            .unwrap_or_else(|_| LookupAnswer::refused("unavailable"))
    };
    match local {
        LookupAnswer::Found {
            address,
            masked_name,
            cooperative,
        } => {
            let outcome = LookupOutcome::Found {
                address,
                masked_name,
                cooperative,
            };
            log_asked(&wallet, &own, &phone, &outcome);
            return outcome;
        }
        LookupAnswer::Refused { .. } => return LookupOutcome::Unavailable,
        LookupAnswer::NotFound => {}
    }
    let view = node.committed.current();
    let peers: Vec<_> = view
        .cooperatives
        .iter()
        .map(|c| &c.coop)
        .filter(|c| c.active && c.key.is_some() && c.id != own)
        .filter_map(|c| c.node_key)
        .filter(|key| *key != node.node_key)
        .filter_map(|key| peer_id_from_key(&key.0).ok())
        .collect();
    let request = wire::encode(&LookupRequest {
        cooperative: own.as_str().to_string(),
        wallet: wallet.clone(),
        phone: phone.as_str().to_string(),
    });
    let Some(p2p) = p2p else {
        let outcome = LookupOutcome::NotFound {
            unanswered: peers.len(),
        };
        log_asked(&wallet, &own, &phone, &outcome);
        return outcome;
    };
    let asks = peers.iter().map(|peer| {
        let (p2p, request) = (p2p.clone(), request.clone());
        async move { p2p.directory_request(*peer, request).await }
    });
    let answers = futures::future::join_all(asks).await;
    let mut unanswered = 0usize;
    let mut rate_limited = false;
    let mut found = None;
    for (peer, answer) in peers.iter().zip(answers) {
        match answer
            .map_err(|e| e.to_string())
            .and_then(|bytes| wire::decode::<LookupAnswer>(&bytes).map_err(|e| e.to_string()))
        {
            Ok(LookupAnswer::Found {
                address,
                masked_name,
                cooperative,
            }) => {
                found.get_or_insert(LookupOutcome::Found {
                    address,
                    masked_name,
                    cooperative,
                });
            }
            Ok(LookupAnswer::NotFound) => {}
            Ok(LookupAnswer::Refused { reason }) => {
                rate_limited |= reason == "rate_limited";
                unanswered = unanswered.saturating_add(1);
                tracing::debug!(%peer, %reason, "directory lookup refused by a cooperative node");
            }
            Err(error) => {
                unanswered = unanswered.saturating_add(1);
                tracing::debug!(%peer, %error, "directory lookup got no answer from a cooperative node");
            }
        }
    }
    let outcome = match found {
        Some(found) => found,
        None if rate_limited => LookupOutcome::RateLimited,
        None => LookupOutcome::NotFound { unanswered },
    };
    log_asked(&wallet, &own, &phone, &outcome);
    outcome
}

fn log_asked(wallet: &str, own: &CoopId, phone: &Phone, outcome: &LookupOutcome) {
    let answer = match outcome {
        LookupOutcome::Found {
            address,
            masked_name,
            cooperative,
        } => LookupAnswer::Found {
            address: address.clone(),
            masked_name: masked_name.clone(),
            cooperative: cooperative.clone(),
        },
        LookupOutcome::NotFound { .. } => LookupAnswer::NotFound,
        LookupOutcome::RateLimited => LookupAnswer::refused("rate_limited"),
        LookupOutcome::Unavailable => LookupAnswer::refused("unavailable"),
    };
    log_lookup("asked", wallet, own.as_str(), phone, &answer);
}
