//! Keys and roles, as clients and observers see them:
//!
//! * `GET /v1/cooperatives/{id}/tellers`: a cooperative's tellers (active
//!   and removed), each with its name, address, daily limit, what it has
//!   used of it today (WIB day of the last block) and its next nonce;
//! * `GET /v1/signers/{address}`: who a key signs as — `cooperative`,
//!   `teller` (with its cooperative and name), `observer` (with its name)
//!   or `member` (with the
//!   account's address, which differs from the key after a rotation or a
//!   recovery) — and its next nonce; `key_replaced` (409) for a key that
//!   no longer signs, `unknown_signer` (404) for one that never did;
//! * `GET /v1/observers`: the registered observers (regulators' nodes),
//!   each with its name, current key, the key its last rotation replaced
//!   and until when (block time) that one is still admitted, and the
//!   height that registered it;
//! * `GET /v1/recoveries`: the member-key recoveries, newest first, from
//!   the ledger's bounded log ([`kopnet_ledger::recovery`]: the last
//!   1,024 started), pending, completed and cancelled — what a regulator's
//!   observer watches. Paged: `limit` (at most [`RECOVERIES_PAGE_MAX`]),
//!   `before=SEQ`.
//!
//! Every read is a point read of the committed state in the store (a
//! teller list is at most [`kopnet_ledger::tellers::TELLERS_EVER_MAX`]
//! reads), off the ledger lock.

use super::access;
use super::queries::paging::clamp_limit;
use super::queries::{blocking, committed, internal, parse_address, parse_query};
use super::signed_request::Caller;
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::Json;
use kopnet_consensus::PublicKey;
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::recovery::{Recovery, RecoveryRecord, RecoveryStatus};
use kopnet_ledger::state::{StateKey, StateValue};
use kopnet_ledger::tellers::{CoopRoles, Teller};
use kopnet_ledger::types::MemberAccount;
use kopnet_ledger::{CoopId, Storage};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most recoveries in one page.
pub const RECOVERIES_PAGE_MAX: usize = 100;

fn read<S: Storage>(chain: &ChainReader<S>, key: StateKey) -> ApiResult<Option<StateValue>> {
    chain.state_value(&key).map_err(internal)
}

/// The teller record of `key`, if it is (or was) a teller.
pub fn teller<S: Storage>(chain: &ChainReader<S>, key: &PublicKey) -> ApiResult<Option<Teller>> {
    Ok(match read(chain, StateKey::Teller(*key))? {
        Some(StateValue::Teller(t)) => Some(t),
        _ => None,
    })
}

/// `{"address", "name", "cooperative"}` of the teller that signed a
/// transaction, or `null` when its signer is no teller.
pub fn teller_json<S: Storage>(chain: &ChainReader<S>, signer: &PublicKey) -> Value {
    match teller(chain, signer) {
        Ok(Some(t)) => json!({
            "address": signer.to_address(),
            "name": t.name,
            "cooperative": t.coop.as_str(),
        }),
        _ => Value::Null,
    }
}

/// The pending recovery of the account at `address`.
pub fn pending_recovery<S: Storage>(
    chain: &ChainReader<S>,
    address: &PublicKey,
) -> ApiResult<Option<Recovery>> {
    Ok(match read(chain, StateKey::Recovery(*address))? {
        Some(StateValue::Recovery(r)) => Some(r),
        _ => None,
    })
}

/// A recovery as JSON (`status` added by the caller when it has one).
pub fn recovery_json(r: &Recovery) -> Value {
    json!({
        "member": r.member.to_address(),
        "new_key": r.new_key.to_address(),
        "started_by": {
            "cooperative": r.started_by.coop.as_str(),
            "teller": r.started_by.teller.map(|t| t.to_address()),
        },
        "started_height": r.started_height,
        "started_ms": r.started_ms,
        "effective_ms": r.effective_ms,
        "seq": r.log,
    })
}

fn record_json(record: &RecoveryRecord) -> Value {
    let mut v = recovery_json(&record.recovery);
    match &record.status {
        RecoveryStatus::Pending => v["status"] = json!("pending"),
        RecoveryStatus::Completed { height, time_ms } => {
            v["status"] = json!("completed");
            v["finished_height"] = json!(height);
            v["finished_ms"] = json!(time_ms);
        }
        RecoveryStatus::Cancelled {
            height,
            time_ms,
            by,
        } => {
            v["status"] = json!("cancelled");
            v["finished_height"] = json!(height);
            v["finished_ms"] = json!(time_ms);
            v["cancelled_by"] = json!(by.to_address());
        }
    }
    v
}

fn teller_row(key: &PublicKey, t: &Teller, time_ms: u64) -> Value {
    json!({
        "address": key.to_address(),
        "name": t.name,
        "daily_limit": t.daily_limit,
        "used_today": t.used_on(time_ms),
        "active": t.active,
        "added_height": t.added_height,
        "removed_height": t.removed_height,
        "next_nonce": t.nonce.saturating_add(1),
    })
}

/// A cooperative's tellers.
#[utoipa::path(
    get,
    path = "/v1/cooperatives/{id}/tellers",
    tag = "network",
    params(("id" = String, Path, description = "The cooperative's id, e.g. `ksp-sejahtera`")),
    responses(
        (status = 200, description = "`{cooperative, tellers: [{address, name, daily_limit, used_today, active, added_height, removed_height, next_nonce}]}`", body = Object),
        (status = 400, description = "`bad_cooperative`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_cooperative`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn tellers(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let coop =
        CoopId::new(&id).map_err(|e| ApiError::bad_request("bad_cooperative", e.to_string()))?;
    let view = committed(&state);
    let time_ms = view.last_block_time_ms;
    let height = view.height;
    let rows = blocking(&state, move |node| {
        let chain = &node.chain;
        if read(chain, StateKey::Cooperative(coop.clone()))?.is_none() {
            return Err(ApiError::not_found(
                "unknown_cooperative",
                "no cooperative with this id",
            ));
        }
        let roles = match read(chain, StateKey::CoopRoles(coop.clone()))? {
            Some(StateValue::CoopRoles(r)) => r,
            _ => CoopRoles::default(),
        };
        let mut rows = Vec::new();
        for key in roles.tellers.iter().chain(&roles.removed_tellers) {
            if let Some(t) = teller(chain, key)? {
                rows.push(teller_row(key, &t, time_ms));
            }
        }
        Ok((coop, rows, roles.recoveries_pending))
    })
    .await?;
    let (coop, rows, recoveries_pending) = rows;
    Ok(Json(json!({
        "cooperative": coop.as_str(),
        "height": height,
        "tellers": rows,
        "recoveries_pending": recoveries_pending,
    })))
}

/// Who `key` signs as, read from the store.
fn resolve<S: Storage>(chain: &ChainReader<S>, key: &PublicKey) -> ApiResult<Value> {
    let address = key.to_address();
    if let Some(StateValue::CoopKey(id)) = read(chain, StateKey::CoopKey(*key))? {
        let nonce = match read(chain, StateKey::Cooperative(id.clone()))? {
            Some(StateValue::Cooperative(c)) => c.nonce,
            _ => 0,
        };
        return Ok(json!({"address": address, "role": "cooperative",
            "cooperative": id.as_str(), "next_nonce": nonce.saturating_add(1)}));
    }
    if let Some(StateValue::Observers(registry)) = read(chain, StateKey::Observers)? {
        if let Some(o) = registry.by_key(key) {
            return Ok(
                json!({"address": address, "role": "observer", "name": o.name,
                "next_nonce": o.nonce.saturating_add(1)}),
            );
        }
    }
    if let Some(t) = teller(chain, key)? {
        return Ok(
            json!({"address": address, "role": "teller", "cooperative": t.coop.as_str(),
            "name": t.name, "active": t.active, "next_nonce": t.nonce.saturating_add(1)}),
        );
    }
    let member = |k: PublicKey| -> ApiResult<Option<MemberAccount>> {
        Ok(match read(chain, StateKey::Member(k))? {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        })
    };
    let account = match member(*key)? {
        Some(m) => Some((*key, m)),
        None => match read(chain, StateKey::MemberKey(*key))? {
            Some(StateValue::MemberKey(a)) => member(a)?.map(|m| (a, m)),
            _ => None,
        },
    };
    match account {
        Some((account_address, m)) if m.key == *key => Ok(json!({
            "address": address, "role": "member", "account": account_address.to_address(),
            "home": m.home.as_str(), "next_nonce": m.nonce.saturating_add(1)})),
        Some((account_address, m)) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "key_replaced",
            format!(
                "this key no longer signs for account {}; its key is now {}",
                account_address.to_address(),
                m.key.to_address()
            ),
        )),
        None => Err(ApiError::not_found(
            "unknown_signer",
            "no cooperative, teller or member account has this key",
        )),
    }
}

/// The registered observers and their keys.
#[utoipa::path(
    get,
    path = "/v1/observers",
    tag = "network",
    responses(
        (status = 200, description = "`{height, observers: [...]}`: the registered observers (regulators)", body = Object),
    )
)]
pub async fn observers(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let view = committed(&state);
    let (height, time_ms) = (view.height, view.last_block_time_ms);
    let registry = blocking(&state, move |node| {
        Ok(match read(&node.chain, StateKey::Observers)? {
            Some(StateValue::Observers(o)) => o,
            _ => Default::default(),
        })
    })
    .await?;
    let rows: Vec<Value> = registry
        .active
        .iter()
        .map(|o| {
            let retired = o.retired_key.filter(|r| time_ms < r.until_ms);
            json!({
                "name": o.name,
                "key": o.key.to_address(),
                "retired_key": retired.map(|r| r.key.to_address()),
                "retired_key_admitted_until_ms": retired.map(|r| r.until_ms),
                "added_height": o.added_height,
                "next_nonce": o.nonce.saturating_add(1),
            })
        })
        .collect();
    Ok(Json(json!({"height": height, "observers": rows})))
}

/// Public for cooperative, teller and observer keys; for a member's key
/// (or one a member's rotation replaced) only to the key itself and to
/// those who may read the account ([`super::access`]): a member's nonce
/// counts its transactions.
/// Who a key signs as.
///
#[utoipa::path(
    get,
    path = "/v1/signers/{address}",
    tag = "accounts",
    params(("address" = String, Path, description = "A key's address")),
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{address, role: cooperative|observer|teller|member, ...}`", body = Object),
        (status = 400, description = "`bad_address`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: a member's key", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_signer`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn signer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    let body = blocking(&state, move |node| {
        let chain = &node.chain;
        if caller.key() != Some(key) {
            if let Some(account) = member_of_key(chain, &key)? {
                access::require_account_reader(chain, &caller, &account)?;
            }
        }
        resolve(chain, &key)
    })
    .await?;
    Ok(Json(body))
}

/// The member account `key` signs (or signed) for, if any.
fn member_of_key<S: Storage>(
    chain: &ChainReader<S>,
    key: &PublicKey,
) -> ApiResult<Option<MemberAccount>> {
    let address = match read(chain, StateKey::MemberKey(*key))? {
        Some(StateValue::MemberKey(a)) => a,
        _ => *key,
    };
    Ok(match read(chain, StateKey::Member(address))? {
        Some(StateValue::Member(m)) => Some(m),
        _ => None,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecoveriesQuery {
    limit: Option<usize>,
    /// Newest first, strictly below this sequence number.
    before: Option<u64>,
}

/// Participants only: the log names members ([`super::access`]).
#[utoipa::path(
    get,
    path = "/v1/recoveries",
    tag = "network",
    params(RecoveriesQuery),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "A page of the key-recovery log, newest first", body = Object),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: participants only", body = crate::http_error::ErrorBody),
    )
)]
pub async fn recoveries(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<RecoveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let view = committed(&state);
    blocking(&state, move |node| {
        access::require_participant(&node.chain, &view, &caller)
    })
    .await?;
    let limit = clamp_limit(query.limit, RECOVERIES_PAGE_MAX, RECOVERIES_PAGE_MAX);
    let height = committed(&state).height;
    let before = query.before;
    let (items, next) = blocking(&state, move |node| {
        let chain = &node.chain;
        let next_log = match read(chain, StateKey::RecoveryStats)? {
            Some(StateValue::RecoveryStats(s)) => s.next_log,
            _ => 0,
        };
        let top = before.map_or(next_log, |b| b.min(next_log));
        let mut items = Vec::new();
        let mut seq = top;
        while seq > 0 && items.len() < limit {
            seq -= 1;
            match read(chain, StateKey::RecoveryLog(seq))? {
                Some(StateValue::RecoveryLog(r)) => items.push(record_json(&r)),
                // Older entries have left the bounded log.
                _ => {
                    seq = 0;
                    break;
                }
            }
        }
        Ok((items, (seq > 0).then_some(seq)))
    })
    .await?;
    Ok(Json(json!({
        "height": height,
        "recoveries": items,
        "next_before": next,
    })))
}
