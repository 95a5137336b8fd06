//! Read endpoints.

use super::views::{account_json, block_json, coop_json, tx_json, window_json};
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::state::{StateRead, StateValue};
use kopnet_ledger::{AccountId, AccountKind, CoopId};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Largest page of blocks or history entries.
pub const PAGE_MAX: usize = 100;

pub(super) fn ledger_read(
    state: &ApiState,
) -> ApiResult<std::sync::RwLockReadGuard<'_, kopnet_ledger::Ledger<kopnet_ledger::SledStorage>>> {
    state
        .node
        .host
        .ledger
        .read()
        .map_err(|_| ApiError::internal("ledger lock poisoned"))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e.to_string())
}

pub async fn health() -> &'static str {
    "ok"
}

pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.node.metrics.render(),
    )
}

pub async fn status(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let node = &state.node;
    let live = node.live.read().map(|l| l.clone()).unwrap_or_default();
    let mempool = node.host.mempool_len();
    let ledger = ledger_read(&state)?;
    // Read from the ledger on every call: a cooperative added (or removed)
    // by governance shows here without restarting the node.
    let cooperative = ledger
        .cooperatives()
        .into_iter()
        .find(|c| c.key == Some(node.node_key))
        .map(|c| c.id.to_string());
    Ok(Json(json!({
        "chain_id": node.chain_id,
        "role": node.role.as_str(),
        "cooperative": cooperative,
        "node_key": node.node_key.to_address(),
        "height": ledger.height(),
        "last_block_hash": ledger.last_block_hash().to_hex(),
        "state_root": ledger.state_root().to_hex(),
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

pub async fn tx(State(state): State<ApiState>, Path(hash): Path<String>) -> ApiResult<Json<Value>> {
    let hash = parse_hash(&hash)?;
    {
        let ledger = ledger_read(&state)?;
        if let Some(record) = ledger.tx(&hash).map_err(internal)? {
            let block = ledger.block(record.height).map_err(internal)?;
            let tx = block
                .as_ref()
                .and_then(|b| b.txs.get(record.index as usize));
            let mut body = match tx {
                Some(tx) => tx_json(tx, &hash, Some(&record)),
                None => json!({"hash": hash.to_hex(), "height": record.height}),
            };
            body["status"] = json!("committed");
            return Ok(Json(body));
        }
    }
    if state
        .node
        .host
        .mempool
        .lock()
        .map(|m| m.contains(&hash))
        .unwrap_or(false)
    {
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
        None => Err(ApiError::not_found(
            "unknown_tx",
            "this node has not seen that transaction",
        )),
    }
}

pub async fn block(
    State(state): State<ApiState>,
    Path(height): Path<String>,
) -> ApiResult<Json<Value>> {
    let height: u64 = height.parse().map_err(|_| {
        ApiError::bad_request("bad_height", "height must be a non-negative integer")
    })?;
    let (block, root, results) = {
        let ledger = ledger_read(&state)?;
        let block = ledger.block(height).map_err(internal)?;
        let results = match &block {
            Some(block) => tx_result_codes(&ledger, block)?,
            None => Vec::new(),
        };
        (
            block,
            ledger.state_root_at(height).map_err(internal)?,
            results,
        )
    };
    let block = block.ok_or_else(|| {
        ApiError::not_found("unknown_block", format!("no block at height {height}"))
    })?;
    let cert = ledger_read(&state)
        .ok()
        .and_then(|l| crate::chain_store::certificate(&l, height).ok().flatten());
    let mut body = block_json(&block, root, cert.as_ref());
    attach_results(&mut body, results);
    Ok(Json(body))
}

/// Each transaction's result code in a committed block (`ok` or the
/// rejection code), in block order, as the event stream reports them.
fn tx_result_codes<S: kopnet_ledger::storage::Storage>(
    ledger: &kopnet_ledger::Ledger<S>,
    block: &kopnet_ledger::Block,
) -> ApiResult<Vec<String>> {
    block
        .txs
        .iter()
        .map(|tx| {
            let record = ledger.tx(&tx.hash()).map_err(internal)?;
            Ok(match record.map(|r| r.result) {
                Some(Ok(())) => "ok".to_string(),
                Some(Err(reason)) => reason.code().to_string(),
                None => "unknown".to_string(),
            })
        })
        .collect()
}

fn attach_results(body: &mut Value, results: Vec<String>) {
    if let Some(txs) = body["txs"].as_array_mut() {
        for (tx, result) in txs.iter_mut().zip(results) {
            tx["result"] = Value::String(result);
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocksQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

pub async fn blocks(
    State(state): State<ApiState>,
    query: Result<Query<BlocksQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = query.limit.unwrap_or(20).clamp(1, PAGE_MAX);
    let ledger = ledger_read(&state)?;
    let top = ledger.height();
    // Default: the newest blocks, newest first.
    let heights: Vec<u64> = match query.from {
        Some(from) => (from.max(1)..=top).take(limit).collect(),
        None => (1..=top).rev().take(limit).collect(),
    };
    let mut out = Vec::new();
    for h in heights {
        if let Some(block) = ledger.block(h).map_err(internal)? {
            let root = ledger.state_root_at(h).map_err(internal)?;
            let mut body = block_json(&block, root, None);
            attach_results(&mut body, tx_result_codes(&ledger, &block)?);
            out.push(body);
        }
    }
    Ok(Json(json!({"height": top, "blocks": out})))
}

pub async fn account(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    let ledger = ledger_read(&state)?;
    let account = ledger
        .member(&key)
        .ok_or_else(|| ApiError::not_found("unknown_account", "no account with this address"))?;
    let cap = ledger
        .params()
        .map(|p| p.tier_limits.cap(account.tier))
        .unwrap_or(0);
    Ok(Json(account_json(&key.to_address(), &account, cap)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    limit: Option<usize>,
    /// Cursor "HEIGHT:INDEX" from a previous page's `next_before`.
    before: Option<String>,
}

pub async fn history(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = query.limit.unwrap_or(20).clamp(1, PAGE_MAX);
    let before = match query.before.as_deref() {
        None => None,
        Some(text) => {
            let parsed = text
                .split_once(':')
                .and_then(|(h, i)| Some((h.parse::<u64>().ok()?, i.parse::<u32>().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::bad_request("bad_cursor", "before must be HEIGHT:INDEX")
            })?)
        }
    };
    let ledger = ledger_read(&state)?;
    if ledger.member(&key).is_none() {
        return Err(ApiError::not_found(
            "unknown_account",
            "no account with this address",
        ));
    }
    let rows = ledger.history(&key, before, limit).map_err(internal)?;
    let mut items = Vec::new();
    for (hash, record) in &rows {
        let block = ledger.block(record.height).map_err(internal)?;
        if let Some(tx) = block
            .as_ref()
            .and_then(|b| b.txs.get(record.index as usize))
        {
            items.push(tx_json(tx, hash, Some(record)));
        }
    }
    let next_before = rows
        .last()
        .filter(|_| rows.len() == limit)
        .map(|(_, r)| format!("{}:{}", r.height, r.index));
    Ok(Json(
        json!({"address": key.to_address(), "items": items, "next_before": next_before}),
    ))
}

pub async fn cooperatives(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let ledger = ledger_read(&state)?;
    let mut members: BTreeMap<CoopId, (u64, u64)> = BTreeMap::new();
    for (_, value) in ledger.state().iter() {
        if let StateValue::Member(m) = value {
            let entry = members.entry(m.home.clone()).or_default();
            match m.kind {
                AccountKind::Member => entry.0 += 1,
                AccountKind::Merchant => entry.1 += 1,
            }
        }
    }
    let state_view = ledger.state();
    let list: Vec<Value> = ledger
        .cooperatives()
        .iter()
        .map(|c| {
            let fee = if c.id.is_network() {
                state_view.internal_balance(&AccountId::NetworkFund)
            } else {
                state_view.internal_balance(&AccountId::Fee(c.id.clone()))
            };
            let float = state_view.internal_balance(&AccountId::Float(c.id.clone()));
            let (m, mm) = members.get(&c.id).copied().unwrap_or_default();
            coop_json(c, fee, float, m, mm)
        })
        .collect();
    Ok(Json(
        json!({"open_window": ledger.counters().open_window, "cooperatives": list}),
    ))
}

pub async fn windows(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let ledger = ledger_read(&state)?;
    let list: Vec<Value> = ledger.windows().iter().map(window_json).collect();
    Ok(Json(
        json!({"open_window": ledger.counters().open_window, "windows": list}),
    ))
}

pub async fn window(
    State(state): State<ApiState>,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    let number: u64 = number.parse().map_err(|_| {
        ApiError::bad_request("bad_window", "window must be a non-negative integer")
    })?;
    let ledger = ledger_read(&state)?;
    match ledger.state_window(number) {
        Some(w) => Ok(Json(window_json(&w))),
        None if number == ledger.counters().open_window => Err(ApiError::new(
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
pub async fn genesis(State(state): State<ApiState>) -> Json<Value> {
    Json(serde_json::to_value(&state.node.genesis).unwrap_or(Value::Null))
}

/// A block and its commit certificate as the exact encoded bytes (base64),
/// with the state root this node computed after it: what an auditor verifies.
pub async fn block_raw(
    State(state): State<ApiState>,
    Path(height): Path<String>,
) -> ApiResult<Json<Value>> {
    use base64::Engine as _;
    let height: u64 = height.parse().map_err(|_| {
        ApiError::bad_request("bad_height", "height must be a non-negative integer")
    })?;
    let ledger = ledger_read(&state)?;
    let block = ledger.block(height).map_err(internal)?.ok_or_else(|| {
        ApiError::not_found("unknown_block", format!("no block at height {height}"))
    })?;
    let cert = ledger
        .host_data(&crate::chain_store::certificate_key(height))
        .map_err(internal)?
        .unwrap_or_default();
    let root = ledger.state_root_at(height).map_err(internal)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(Json(json!({
        "height": height,
        "block": b64.encode(block.encode().map_err(internal)?),
        "certificate": b64.encode(cert),
        "state_root": root.map(|r| r.to_hex()),
    })))
}

/// Conservation and position invariants over this node's whole state.
pub async fn invariants(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let ledger = ledger_read(&state)?;
    let height = ledger.height();
    let root = ledger.state_root().to_hex();
    Ok(Json(match ledger.check_invariants() {
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
            json!({"ok": false, "height": height, "state_root": root, "error": e.to_string()})
        }
    }))
}
