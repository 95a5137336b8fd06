//! Who may read what (issue 18, "reads by right, not by default").
//!
//! A caller is anonymous or proves a key ([`super::signed_request`]); the
//! ledger says what that key is ([`standing`]). The rule per endpoint:
//!
//! | what | anonymous | account holder | home cooperative (key or active teller) | other cooperatives | observers (regulator key) |
//! |---|---|---|---|---|---|
//! | `/v1/accounts/{a}` of a member | 403 | yes | yes | 403 | yes |
//! | `/v1/accounts/{a}` of a merchant | public fields (kind, home, class, public name, status) | all | all | public fields | all |
//! | `/v1/accounts/{a}/history`, `/proof`, `/requests` | 403 | yes | yes | 403 | yes |
//! | `/v1/signers/{k}` of a member key | 403 | yes | yes | 403 | yes |
//! | `/v1/tx/{hash}` | status, height and result only | full when it signed it | full | full | full |
//! | `/v1/tx/{hash}/refunds` | 403 | payer or merchant: yes | yes | yes | yes |
//! | `/v1/blocks`, `/v1/blocks/{h}`, `/v1/events` | headers and counts, no transactions | same as anonymous | full | full | full |
//! | `/v1/blocks/{h}/raw`, `/v1/recoveries`, `/v1/snapshots` (list, manifest, chunks) | 403 | 403 | yes | yes | yes |
//! | status, health, genesis, params, proposals, cooperatives, settlement windows, invariants, incentives, observers, tellers, evidence, headers, quote, metrics, the city index (`/v1/index`: aggregates only) | public | | | | |
//!
//! "Participants" are the network's cooperatives (their cooperative key,
//! an active teller, their validator key or node identity) and the
//! registered observers (their current key, or the one a rotation retired
//! while it is still admitted). Participants see transactions because
//! they hold every block anyway — each validator replicates the ledger;
//! what stays with a cooperative is its members' personal data, which is
//! never on the ledger (`crate::personal`). A member's balance and history
//! are for the member, its home cooperative and the regulator.
//!
//! Every refusal is 403 `not_permitted` naming who may read; it is the
//! same for an anonymous caller and for a signed one without the right, so
//! the answer says nothing about the account beyond that it exists.

use super::queries::internal;
use super::signed_request::Caller;
use super::{ApiError, ApiResult};
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::state::{StateKey, StateValue};
use kopnet_ledger::types::{CoopId, MemberAccount};
use kopnet_ledger::Storage;

/// What a key is on the ledger, as far as reading goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The cooperative's own key or an active teller of it: the home of
    /// its members' accounts.
    CooperativeDesk(CoopId),
    /// The cooperative's validator key or node identity: a participant,
    /// but no desk that answers for members.
    CooperativeNode(CoopId),
    /// A registered observer (a regulator).
    Observer,
    /// Anything else (a member's key, an unknown key).
    Outsider,
}

impl Standing {
    /// Cooperatives and observers: those served blocks and transactions.
    pub fn is_participant(&self) -> bool {
        !matches!(self, Standing::Outsider)
    }
}

fn read<S: Storage>(chain: &ChainReader<S>, key: StateKey) -> ApiResult<Option<StateValue>> {
    chain.state_value(&key).map_err(internal)
}

/// What `key` is, read from the committed state.
pub fn standing<S: Storage>(chain: &ChainReader<S>, key: &PublicKey) -> ApiResult<Standing> {
    if let Some(StateValue::CoopKey(id)) = read(chain, StateKey::CoopKey(*key))? {
        return Ok(Standing::CooperativeDesk(id));
    }
    if let Some(StateValue::Teller(t)) = read(chain, StateKey::Teller(*key))? {
        if t.active {
            return Ok(Standing::CooperativeDesk(t.coop));
        }
    }
    if let Some(StateValue::Observers(registry)) = read(chain, StateKey::Observers)? {
        if registry.by_key(key).is_some() {
            return Ok(Standing::Observer);
        }
    }
    Ok(Standing::Outsider)
}

/// The standing of a caller, with the node keys of the committed view
/// (validator keys and node identities live in the cooperative records).
pub fn caller_standing<S: Storage>(
    chain: &ChainReader<S>,
    view: &crate::committed_view::CommittedView,
    caller: &Caller,
) -> ApiResult<Standing> {
    let Some(key) = caller.key() else {
        return Ok(Standing::Outsider);
    };
    match standing(chain, &key)? {
        Standing::Outsider => Ok(view
            .cooperative_with_key(&key)
            .map_or(Standing::Outsider, |c| {
                Standing::CooperativeNode(c.id.clone())
            })),
        known => Ok(known),
    }
}

/// May `caller` read the account `account` (its balance, history, proof,
/// requests)? Its current key, its home cooperative's desk, an observer.
pub fn may_read_account<S: Storage>(
    chain: &ChainReader<S>,
    caller: &Caller,
    account: &MemberAccount,
) -> ApiResult<bool> {
    let Some(key) = caller.key() else {
        return Ok(false);
    };
    if key == account.key {
        return Ok(true);
    }
    Ok(match standing(chain, &key)? {
        Standing::CooperativeDesk(id) => id == account.home,
        Standing::Observer => true,
        Standing::CooperativeNode(_) | Standing::Outsider => false,
    })
}

/// The refusal of a read the caller has no right to.
pub fn not_permitted(who_may: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "not_permitted",
        format!(
            "only {who_may} may read this; sign the request (headers kopnet-signer, kopnet-time, kopnet-signature) with such a key"
        ),
    )
}

/// Who may read one account, for [`not_permitted`].
pub const ACCOUNT_READERS: &str =
    "the account's holder, its home cooperative (cooperative key or teller) and registered observers";
/// Who may read raw blocks and logs of members.
pub const PARTICIPANTS: &str = "the network's cooperatives and registered observers";

/// Refuse unless `caller` may read `account`.
pub fn require_account_reader<S: Storage>(
    chain: &ChainReader<S>,
    caller: &Caller,
    account: &MemberAccount,
) -> ApiResult<()> {
    if may_read_account(chain, caller, account)? {
        Ok(())
    } else {
        Err(not_permitted(ACCOUNT_READERS))
    }
}

/// Refuse unless `caller` is a participant.
pub fn require_participant<S: Storage>(
    chain: &ChainReader<S>,
    view: &crate::committed_view::CommittedView,
    caller: &Caller,
) -> ApiResult<()> {
    if caller_standing(chain, view, caller)?.is_participant() {
        Ok(())
    } else {
        Err(not_permitted(PARTICIPANTS))
    }
}
