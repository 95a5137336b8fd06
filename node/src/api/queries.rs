//! Read endpoints. None of them takes the ledger lock the consensus loop
//! commits under: they answer from the committed view published once per
//! block and from the store ([`crate::committed_view`]); every list is paged
//! with a cap ([`paging`]). Store reads run on the blocking pool, so a slow
//! disk never stalls the async workers.

pub(super) mod blocks;
pub mod paging;

use super::access;
use super::signed_request::Caller;
use super::views::{account_json, coop_json, tx_json, window_json};
use super::{ApiError, ApiResult, ApiState};
use crate::committed_view::CommittedView;
use crate::node_state::NodeState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::state::{StateKey, StateValue};
use paging::{clamp_limit, parse_position};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

/// A store read's error: `410 pruned` (with the base) for what this node
/// pruned ([`ApiError::pruned`]), else `500`.
pub(crate) fn read_error(e: kopnet_ledger::LedgerError) -> ApiError {
    match e {
        kopnet_ledger::LedgerError::Pruned { height, base } => ApiError::pruned(height, base),
        other => internal(other),
    }
}

/// The last committed block's view.
pub(super) fn committed(state: &ApiState) -> Arc<CommittedView> {
    state.node.committed.current()
}

/// Run `read` (store reads) on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    state: &ApiState,
    read: impl FnOnce(&NodeState) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let node = state.node.clone();
    tokio::task::spawn_blocking(move || read(&node))
        .await
        .map_err(|e| ApiError::internal(format!("read task failed: {e}")))?
}

/// A query string, or a typed 400.
pub(super) fn parse_query<T>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<T> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// `GET /metrics`: [`crate::metrics::scrape`] and the HTTP refusals
/// (Prometheus text exposition format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "node",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], {
        let node = &state.node;
        let view = committed(&state);
        let now = std::time::Instant::now();
        let mut out = crate::metrics::scrape(&node.metrics, &view, &node.health, now);
        state.front.refusals.render(&mut out);
        out
    })
}

/// The node's height, role, peers, mempool and commit latency.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "node",
    responses((status = 200, description = "The node's status", body = super::shapes::Status))
)]
pub async fn status(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let node = &state.node;
    let live = node.live.read().map(|l| l.clone()).unwrap_or_default();
    let mempool = node.host.mempool_len();
    let view = committed(&state);
    // From the view of the last block: a cooperative added (or removed) by
    // governance shows here without restarting the node.
    let cooperative = view
        .cooperative_with_key(&node.node_key)
        .map(|c| c.id.to_string());
    Ok(Json(json!({
        "chain_id": node.chain_id,
        "role": node.role.as_str(),
        "cooperative": cooperative,
        "node_key": node.node_key.to_address(),
        "height": view.height,
        // The lowest height whose block this node holds, and how many it
        // keeps (null: every block, an archive node).
        "base_height": node.chain.base_height().map_err(internal)?,
        "pruning": {"keep_blocks": node.keep_blocks, "archive": node.keep_blocks.is_none()},
        "last_block_hash": view.last_block_hash.to_hex(),
        "state_root": view.state_root.to_hex(),
        // The consensus round at the node's current height (0 on observers).
        "round": node.metrics.round.load(std::sync::atomic::Ordering::Relaxed),
        "peers": live.peers,
        "peer_count": live.peers.len(),
        "syncing": live.syncing,
        "double_sign_check": live.double_sign_check,
        "mempool_size": mempool,
        "commit_latency": commit_latency_json(&node.metrics),
        "block_interval": block_interval_json(&node.metrics),
    })))
}

/// Submit-to-commit latency of the transactions submitted to this node since
/// it started, as histogram bounds: `p50_ms: 200` means half took at most
/// 200 ms; `null` with `over_max_ms` when beyond the last bucket.
fn commit_latency_json(metrics: &crate::metrics::Metrics) -> Value {
    use crate::metrics::{LatencyBound, LATENCY_BUCKETS_MS};
    let bound = |p| match metrics.latency_percentile(p) {
        Some(LatencyBound::AtMost(ms)) => json!(ms),
        _ => Value::Null,
    };
    let over = |p| metrics.latency_percentile(p) == Some(LatencyBound::OverMax);
    json!({
        "samples": metrics.latency_count(),
        "p50_ms": bound(50),
        "p99_ms": bound(99),
        "p50_over_max": over(50),
        "p99_over_max": over(99),
        "max_bucket_ms": LATENCY_BUCKETS_MS.last(),
    })
}

/// The time between this node's last commits, measured by the node.
fn block_interval_json(metrics: &crate::metrics::Metrics) -> Value {
    match metrics.commit_intervals() {
        Some(c) => json!({"last_ms": c.last_ms, "mean_ms": c.mean_ms, "intervals": c.intervals}),
        None => json!({"last_ms": null, "mean_ms": null, "intervals": 0}),
    }
}

fn parse_hash(text: &str) -> ApiResult<Hash> {
    Hash::from_hex(text)
        .map_err(|_| ApiError::bad_request("bad_hash", "hash must be 64 hex characters"))
}

pub(super) fn parse_address(text: &str) -> ApiResult<PublicKey> {
    PublicKey::from_address(text).map_err(|e| ApiError::bad_request("bad_address", e.to_string()))
}

/// A transaction by hash: committed (two point reads of the store, no block
/// decoded), pending in the mempool, or recently refused.
/// The height of the committed view: what reads answer from.
fn committed_view_height(state: &ApiState) -> u64 {
    committed(state).height
}

/// A transaction: committed, pending or recently refused. A participant
/// or the transaction's own signer gets it whole; anyone else its status,
/// height and result only ([`super::access`]).
#[utoipa::path(
    get,
    path = "/v1/tx/{hash}",
    tag = "transactions",
    params(("hash" = String, Path, description = "The transaction's hash, 64 hex digits")),
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`status`: committed, pending or rejected", body = super::shapes::TxView),
        (status = 400, description = "`bad_hash`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_tx` (with `base_height` on a pruned node)", body = crate::http_error::ErrorBody),
    )
)]
pub async fn tx(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    let hash = parse_hash(&hash)?;
    // A transaction the mempool still holds is pending (the mempool drops
    // it in the same host call that commits its block, before the
    // committed view moves): answered without a look in the store. A
    // wallet polls here while it waits, and a hash the store does not
    // hold is the dearest lookup there is (every level of the place
    // index, `ledger/src/ledger/place_index.rs`).
    if in_mempool(&state, &hash) {
        return Ok(Json(json!({"hash": hash.to_hex(), "status": "pending"})));
    }
    let view = committed(&state);
    let committed = blocking(&state, move |node| {
        let found = node.chain.committed_tx(&hash).map_err(internal)?;
        let whole = match found.as_ref().and_then(|(_, tx)| tx.as_ref()) {
            Some(tx) if caller.key() == Some(tx.body.signer) => true,
            Some(_) => access::caller_standing(&node.chain, &view, &caller)?.is_participant(),
            None => false,
        };
        let found = found.map(|(record, tx)| (record, tx.filter(|_| whole)));
        let teller = found
            .as_ref()
            .and_then(|(_, tx)| tx.as_ref())
            .map(|tx| super::roles::teller_json(&node.chain, &tx.body.signer));
        let base = node.chain.base_height().map_err(internal)?;
        Ok((found.map(|f| (f, teller)), base))
    })
    .await?;
    let (committed, base) = committed;
    let (committed, teller) = match committed {
        Some((found, teller)) => (Some(found), teller),
        None => (None, None),
    };
    // A transaction counts as committed once the committed view (what every
    // other read answers from) has its block: the store has it a moment
    // earlier, and a client that saw "committed" must then find its effects
    // (a proposal, a balance) in the next read. Until then it is pending.
    let view_height = committed_view_height(&state);
    let in_block_being_committed = committed
        .as_ref()
        .is_some_and(|(record, _)| record.height > view_height);
    if let Some((record, tx)) = committed.filter(|(record, _)| record.height <= view_height) {
        let mut body = match tx {
            Some(tx) => tx_json(&tx, &hash, Some(&record)),
            None => {
                let code = match &record.result {
                    Ok(()) => "ok".to_string(),
                    Err(rejection) => rejection.code().to_string(),
                };
                json!({"hash": hash.to_hex(), "height": record.height, "result": {"code": code}})
            }
        };
        body["status"] = json!("committed");
        if let Some(teller) = teller {
            body["teller"] = teller;
        }
        return Ok(Json(body));
    }
    if in_block_being_committed || in_mempool(&state, &hash) {
        return Ok(Json(json!({"hash": hash.to_hex(), "status": "pending"})));
    }
    let rejected = state
        .node
        .host
        .rejections
        .lock()
        .ok()
        .and_then(|r| r.get(&hash).cloned());
    match rejected {
        Some(code) => Ok(Json(
            json!({"hash": hash.to_hex(), "status": "rejected", "result": {"code": code}}),
        )),
        // A pruned node cannot tell an unknown transaction from one in a
        // block it pruned: it says so, and from which height it knows.
        None if base > 1 => {
            let mut error = ApiError::not_found(
                "unknown_tx",
                format!(
                    "this node has not seen that transaction since height {base}: \
                     history before height {base} is kept by archive nodes"
                ),
            );
            error.fields.insert("base_height".into(), json!(base));
            Err(error)
        }
        None => Err(ApiError::not_found(
            "unknown_tx",
            "this node has not seen that transaction",
        )),
    }
}

/// An account's balance, nonce, tier and limits.
///
/// Whole to those who may read it ([`access::ACCOUNT_READERS`]);
/// a merchant's public fields to anyone else; 403 for a member's.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (`kop…`)")),
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The account (`visibility`: `whole` or a merchant's `public` fields)", body = super::shapes::AccountAnswer),
        (status = 400, description = "`bad_address`", body = crate::http_error::ErrorBody),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: a member's account, to anyone but its readers", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_account`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn account(
    State(state): State<ApiState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    let view = committed(&state);
    let (account, recovery, merchant_name, whole) = blocking(&state, move |node| {
        let Some(account) = node.chain.member(&key).map_err(internal)? else {
            return Ok(None);
        };
        let whole = access::may_read_account(&node.chain, &caller, &account)?;
        if !whole && account.kind != kopnet_ledger::types::AccountKind::Merchant {
            return Err(access::not_permitted(access::ACCOUNT_READERS));
        }
        let recovery = super::roles::pending_recovery(&node.chain, &key)?;
        let name = node
            .chain
            .state_value(&StateKey::MerchantName(key))
            .map_err(internal)?;
        Ok(Some((account, recovery, name, whole)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("unknown_account", "no account with this address"))?;
    let merchant_name = match merchant_name {
        Some(StateValue::MerchantName(name)) => json!(name),
        _ => Value::Null,
    };
    if !whole {
        return Ok(Json(super::views::merchant_public_json(
            &key.to_address(),
            &account,
            merchant_name,
        )));
    }
    let mut body = account_json(
        &key.to_address(),
        &account,
        view.params.as_ref(),
        view.counters.wib_month,
    );
    // A pending recovery (a new key taking over at `effective_ms`): what a
    // wallet warns its owner about.
    body["recovery"] = recovery
        .as_ref()
        .map_or(Value::Null, super::roles::recovery_json);
    // The merchant's public name as its home cooperative set it on the
    // ledger (null when none): what a wallet shows, never a QR code's name.
    body["merchant_name"] = merchant_name;
    body["visibility"] = json!("whole");
    Ok(Json(body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size (clamped to the node's `[pages]` cap).
    limit: Option<usize>,
    /// Cursor "HEIGHT:INDEX" from a previous page's `next_before`.
    before: Option<String>,
}

/// An account's transactions, newest first, at most [`HISTORY_PAGE_MAX`]
/// a page: a scan of the history index and two point reads per entry.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/history",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address"), HistoryQuery),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "A page of transactions, newest first", body = super::shapes::History),
        (status = 400, description = "`bad_address`, `bad_query`, `bad_cursor`", body = crate::http_error::ErrorBody),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_account`", body = crate::http_error::ErrorBody),
        (status = 410, description = "`pruned`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn history(
    State(state): State<ApiState>,
    caller: Caller,
    Path(address): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    let query = parse_query(query)?;
    let limit = clamp_limit(
        query.limit,
        state.pages.history_default,
        state.pages.history_max,
    );
    let before = parse_position(query.before.as_deref())?;
    let rows = blocking(&state, move |node| {
        let Some(account) = node.chain.member(&key).map_err(internal)? else {
            return Err(ApiError::not_found(
                "unknown_account",
                "no account with this address",
            ));
        };
        access::require_account_reader(&node.chain, &caller, &account)?;
        let rows = node
            .chain
            .history_txs(&key, before, limit)
            .map_err(read_error)?;
        let base = node.chain.base_height().map_err(internal)?;
        // Transactions a teller signed name it.
        let items: Vec<Value> = rows
            .iter()
            .filter_map(|(hash, (record, tx))| {
                let tx = tx.as_ref()?;
                let mut item = tx_json(tx, hash, Some(record));
                item["teller"] = super::roles::teller_json(&node.chain, &tx.body.signer);
                Some(item)
            })
            .collect();
        Ok((rows, items, base))
    })
    .await?;
    let (rows, items, base) = rows;
    let next_before = rows
        .last()
        .filter(|_| rows.len() == limit)
        .filter(|(_, (r, _))| (r.height, r.index) > (base, 0))
        .map(|(_, (r, _))| format!("{}:{}", r.height, r.index));
    // A page that ends without a cursor on a pruned node may have older
    // history elsewhere: `pruned_before` says from which height archive
    // nodes hold it (null when this node holds all of it).
    let pruned_before = (base > 1 && next_before.is_none()).then_some(base);
    Ok(Json(json!({
        "address": key.to_address(),
        "limit": limit,
        "items": items,
        "next_before": next_before,
        "base_height": base,
        "pruned_before": pruned_before,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CooperativesQuery {
    /// Page size (clamped).
    limit: Option<usize>,
    /// Cursor: the last id of the previous page (ids are sorted).
    after: Option<String>,
}

/// The cooperatives with their figures, from the committed view (computed
/// once per block, not per request).
#[utoipa::path(
    get,
    path = "/v1/cooperatives",
    tag = "network",
    params(CooperativesQuery),
    responses(
        (status = 200, description = "A page of cooperatives", body = super::shapes::CooperativesPage),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn cooperatives(
    State(state): State<ApiState>,
    query: Result<Query<CooperativesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let limit = clamp_limit(
        query.limit,
        state.pages.cooperatives_max,
        state.pages.cooperatives_max,
    );
    let view = committed(&state);
    let after = query.after.as_deref();
    let page: Vec<_> = view
        .cooperatives
        .iter()
        .filter(|c| after.is_none_or(|a| c.coop.id.as_str() > a))
        .take(limit)
        .collect();
    let more = view
        .cooperatives
        .iter()
        .filter(|c| after.is_none_or(|a| c.coop.id.as_str() > a))
        .nth(limit)
        .is_some();
    let next_after = page.last().filter(|_| more).map(|c| c.coop.id.to_string());
    let list: Vec<Value> = page
        .iter()
        .map(|c| {
            coop_json(
                &c.coop,
                c.fee_balance,
                c.float_balance,
                c.members,
                c.merchants,
            )
        })
        .collect();
    Ok(Json(json!({
        "height": view.height,
        "open_window": view.counters.open_window,
        "cooperatives": list,
        "next_after": next_after,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowsQuery {
    /// Page size (clamped).
    limit: Option<usize>,
    /// Newest first, strictly below this window number.
    before: Option<u64>,
}

/// Closed settlement windows, newest first, at most [`WINDOWS_PAGE_MAX`] a
/// page (one point read each).
#[utoipa::path(
    get,
    path = "/v1/settlement/windows",
    tag = "network",
    params(WindowsQuery),
    responses(
        (status = 200, description = "A page of closed windows", body = super::shapes::WindowsPage),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn windows(
    State(state): State<ApiState>,
    query: Result<Query<WindowsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let limit = clamp_limit(
        query.limit,
        state.pages.windows_default,
        state.pages.windows_max,
    );
    let open = committed(&state).counters.open_window;
    let below = query.before.unwrap_or(open).min(open);
    let numbers: Vec<u64> = (0..below).rev().take(limit).collect();
    let next_before = numbers.last().copied().filter(|n| *n > 0);
    let list = blocking(&state, move |node| {
        let mut list = Vec::new();
        for n in numbers {
            if let Some(w) = node.chain.window(n).map_err(internal)? {
                list.push(window_json(&w));
            }
        }
        Ok(list)
    })
    .await?;
    Ok(Json(json!({
        "open_window": open,
        "limit": limit,
        "windows": list,
        "next_before": next_before,
    })))
}

/// One closed settlement window.
#[utoipa::path(
    get,
    path = "/v1/settlement/windows/{number}",
    tag = "network",
    params(("number" = u64, Path, description = "The window's number")),
    responses(
        (status = 200, description = "The window", body = super::shapes::Window),
        (status = 400, description = "`bad_window`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`window_open` or `unknown_window`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn window(
    State(state): State<ApiState>,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    let number: u64 = number.parse().map_err(|_| {
        ApiError::bad_request("bad_window", "window must be a non-negative integer")
    })?;
    let open = committed(&state).counters.open_window;
    let window = blocking(&state, move |node| {
        node.chain.window(number).map_err(internal)
    })
    .await?;
    match window {
        Some(w) => Ok(Json(window_json(&w))),
        None if number == open => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "window_open",
            "this window is still open; see /v1/cooperatives for open positions",
        )),
        None => Err(ApiError::not_found(
            "unknown_window",
            format!("no window {number}"),
        )),
    }
}

/// The network genesis this node runs (for auditors replaying from scratch).
#[utoipa::path(
    get,
    path = "/v1/genesis",
    tag = "network",
    responses((status = 200, description = "The genesis (the ledger's JSON form)", body = Object))
)]
pub async fn genesis(State(state): State<ApiState>) -> Json<Value> {
    Json(serde_json::to_value(&state.node.genesis).unwrap_or(Value::Null))
}

/// Conservation and position invariants after the last block, as checked
/// once when it was committed ([`kopnet_ledger::Ledger::check_block_invariants`]).
#[utoipa::path(
    get,
    path = "/v1/invariants",
    tag = "network",
    responses((status = 200, description = "The invariants' totals, or what failed", body = super::shapes::Invariants))
)]
pub async fn invariants(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let view = committed(&state);
    let height = view.height;
    let root = view.state_root.to_hex();
    Ok(Json(match &view.invariants {
        Ok(t) => json!({
            "ok": true,
            "height": height,
            "state_root": root,
            "minted": t.minted.to_string(),
            "burned": t.burned.to_string(),
            "balances": t.balances.to_string(),
            "members": t.members,
        }),
        Err(e) => {
            json!({"ok": false, "height": height, "state_root": root, "error": e})
        }
    }))
}

/// Whether the node's mempool holds `hash` (a poisoned lock: no).
fn in_mempool(state: &ApiState, hash: &Hash) -> bool {
    state
        .node
        .host
        .mempool
        .lock()
        .map(|m| m.contains(hash))
        .unwrap_or(false)
}
