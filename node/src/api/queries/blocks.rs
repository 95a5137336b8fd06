//! Blocks: `GET /v1/blocks` (paged), `GET /v1/blocks/{height}` and
//! `GET /v1/blocks/{height}/raw`, read from the store (no ledger lock).

use super::paging::clamp_limit;
use super::{blocking, internal, parse_query, read_error};
use crate::api::access;
use crate::api::signed_request::Caller;
use crate::api::views::block_json;
use crate::api::{ApiError, ApiResult, ApiState};
use crate::chain_store;
use crate::node_state::{EncodedPage, NodeState};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kopnet_consensus::{codec, CommitCertificate};
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::{Block, Storage};
use serde::Deserialize;
use serde_json::{json, Value};

fn parse_height(text: &str) -> ApiResult<u64> {
    text.parse()
        .map_err(|_| ApiError::bad_request("bad_height", "height must be a non-negative integer"))
}

/// A block: whole to participants; to anyone else its header, counts and
/// certificate without the transactions ([`crate::api::access`]).
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    tag = "blocks",
    params(("height" = u64, Path, description = "The block's height")),
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The block (its transactions for participants only)", body = crate::api::shapes::BlockView),
        (status = 400, description = "`bad_height`", body = crate::http_error::ErrorBody),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_block`", body = crate::http_error::ErrorBody),
        (status = 410, description = "`pruned`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn block(
    State(state): State<ApiState>,
    caller: Caller,
    Path(height): Path<String>,
) -> ApiResult<Json<Value>> {
    let height = parse_height(&height)?;
    let view = state.node.committed.current();
    blocking(&state, move |node| {
        let chain = &node.chain;
        let participant = access::caller_standing(chain, &view, &caller)?.is_participant();
        let block = chain.block(height).map_err(read_error)?.ok_or_else(|| {
            ApiError::not_found("unknown_block", format!("no block at height {height}"))
        })?;
        let root = chain.state_root_at(height).map_err(read_error)?;
        let cert = certificate(chain, height)?;
        let mut body = block_json(&block, root, cert.as_ref());
        if participant {
            attach_results(&mut body, tx_result_codes(chain, &block)?);
        } else if let Some(map) = body.as_object_mut() {
            map.remove("txs");
        }
        Ok(Json(body))
    })
    .await
}

fn certificate<S: Storage>(
    chain: &ChainReader<S>,
    height: u64,
) -> ApiResult<Option<CommitCertificate>> {
    chain
        .host_data(&chain_store::certificate_key(height))
        .map_err(internal)?
        .map(|bytes| codec::decode(&bytes).map_err(internal))
        .transpose()
}

/// Each transaction's result code in a committed block (`ok` or the
/// rejection code), in block order, as the event stream reports them: one
/// read of the block's transaction index (`BlockTxs`),
/// not one lookup per transaction. `unknown` for every transaction when the
/// store has no index for the block.
fn tx_result_codes<S: Storage>(chain: &ChainReader<S>, block: &Block) -> ApiResult<Vec<String>> {
    let index = chain.block_txs(block.header.height).map_err(read_error)?;
    let codes = block.txs.iter().enumerate().map(|(at, _)| {
        match index.as_ref().and_then(|txs| txs.entries.get(at)) {
            Some(entry) => match &entry.result {
                Ok(()) => "ok".to_string(),
                Err(reason) => reason.code().to_string(),
            },
            None => "unknown".to_string(),
        }
    });
    Ok(codes.collect())
}

fn attach_results(body: &mut Value, results: Vec<String>) {
    if let Some(txs) = body["txs"].as_array_mut() {
        for (tx, result) in txs.iter_mut().zip(results) {
            tx["result"] = Value::String(result);
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlocksQuery {
    /// Oldest first, from this height on.
    from: Option<u64>,
    /// Newest first, strictly below this height (the default: from the top).
    before: Option<u64>,
    /// Page size (clamped to the node's `[pages]` caps).
    limit: Option<usize>,
    /// `false`: headers and transaction counts only, no transaction lists.
    txs: Option<bool>,
}

/// A page of blocks: at most `limit` (≤ [`BLOCKS_PAGE_MAX`]) and ending
/// after the block that brings it to [`BLOCKS_PAGE_TXS_MAX`] transactions.
/// `next_from` / `next_before` continue it (null at the end). Heights go
/// up to the committed view's height, which the answer names. The newest
/// page (no cursor), which every explorer asks for, is encoded once per
/// block and kept ([`crate::node_state::NodeState::newest_blocks`]).
///
/// Participants get the transactions; anyone else the page as with
/// `txs=false` ([`crate::api::access`]).
#[utoipa::path(
    get,
    path = "/v1/blocks",
    tag = "blocks",
    params(BlocksQuery),
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "A page of blocks", body = crate::api::shapes::BlocksPage),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 410, description = "`pruned`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn blocks(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<BlocksQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let mut query = parse_query(query)?;
    if caller != Caller::Anonymous || query.txs != Some(false) {
        let view = state.node.committed.current();
        let participant = blocking(&state, move |node| {
            access::caller_standing(&node.chain, &view, &caller).map(|s| s.is_participant())
        })
        .await?;
        if !participant {
            query.txs = Some(false);
        }
    }
    if query.from.is_some() && query.before.is_some() {
        return Err(ApiError::bad_request(
            "bad_query",
            "give from (oldest first) or before (newest first), not both",
        ));
    }
    let pages = state.pages;
    let limit = clamp_limit(query.limit, pages.blocks_default, pages.blocks_max);
    let txs_max = pages.blocks_txs_max;
    let with_txs = query.txs.unwrap_or(true);
    let top = state.node.committed.current().height;
    let newest = (query.from.is_none() && query.before.is_none())
        .then(|| format!("{top}/{limit}/{with_txs}"));
    if let Some(key) = &newest {
        let kept = state.node.newest_blocks.lock().ok().and_then(|page| {
            page.as_ref()
                .filter(|p| &p.key == key)
                .map(|p| p.body.clone())
        });
        if let Some(body) = kept {
            return Ok(json_bytes(body));
        }
    }
    let body = blocking(&state, move |node| {
        let page = block_page(node, &query, (limit, txs_max), with_txs, top)?;
        let body = axum::body::Bytes::from(serde_json::to_vec(&page).map_err(internal)?);
        if let Some(key) = newest {
            if let Ok(mut kept) = node.newest_blocks.lock() {
                *kept = Some(EncodedPage {
                    key,
                    body: body.clone(),
                });
            }
        }
        Ok(body)
    })
    .await?;
    Ok(json_bytes(body))
}

fn json_bytes(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The page [`blocks`] answers, read from the store.
fn block_page(
    node: &NodeState,
    query: &BlocksQuery,
    (limit, txs_max): (usize, usize),
    with_txs: bool,
    top: u64,
) -> ApiResult<Value> {
    let ascending = query.from.is_some();
    let heights: Box<dyn Iterator<Item = u64>> = match (query.from, query.before) {
        (Some(from), _) => Box::new(from.max(1)..=top),
        (None, before) => {
            let below = before.unwrap_or(u64::MAX).min(top.saturating_add(1));
            Box::new((1..below).rev())
        }
    };
    let base = node.chain.base_height().map_err(internal)?;
    let mut out = Vec::new();
    let mut txs = 0usize;
    let mut last = None;
    for height in heights {
        if out.len() >= limit || txs >= txs_max {
            break;
        }
        // Below the base (pruned): the page ends there; a page that would
        // start there is `410 pruned`.
        let block = match node.chain.block(height) {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(kopnet_ledger::LedgerError::Pruned { .. }) if !out.is_empty() => break,
            Err(e) => return Err(read_error(e)),
        };
        let root = match node.chain.state_root_at(height) {
            Err(kopnet_ledger::LedgerError::Pruned { .. }) if !out.is_empty() => break,
            other => other.map_err(read_error)?,
        };
        let mut body = block_json(&block, root, None);
        if with_txs {
            attach_results(&mut body, tx_result_codes(&node.chain, &block)?);
            txs = txs.saturating_add(block.txs.len());
        } else if let Some(map) = body.as_object_mut() {
            map.remove("txs");
        }
        out.push(body);
        last = Some(height);
    }
    let next = |h: u64| {
        if ascending {
            (h < top).then(|| h.saturating_add(1))
        } else {
            (h > base.max(1)).then_some(h)
        }
    };
    let cursor = last.and_then(next);
    // `base_height`: the lowest height this node holds (1 unless pruned).
    let mut answer = json!({"height": top, "base_height": base, "limit": limit, "blocks": out});
    if ascending {
        answer["next_from"] = json!(cursor);
    } else {
        answer["next_before"] = json!(cursor);
    }
    Ok(answer)
}

/// A block and its commit certificate as the exact stored bytes (base64),
/// with the state root this node computed after it: what an auditor verifies.
/// Participants only ([`crate::api::access`]).
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}/raw",
    tag = "blocks",
    params(("height" = u64, Path, description = "The block's height")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The block and certificate in the ledger's codec, base64", body = crate::api::shapes::RawBlock),
        (status = 400, description = "`bad_height`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: participants only", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_block`", body = crate::http_error::ErrorBody),
        (status = 410, description = "`pruned`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn block_raw(
    State(state): State<ApiState>,
    caller: Caller,
    Path(height): Path<String>,
) -> ApiResult<Json<Value>> {
    use base64::Engine as _;
    let height = parse_height(&height)?;
    let view = state.node.committed.current();
    blocking(&state, move |node| {
        let chain = &node.chain;
        access::require_participant(chain, &view, &caller)?;
        let block = chain
            .block_bytes(height)
            .map_err(read_error)?
            .ok_or_else(|| {
                ApiError::not_found("unknown_block", format!("no block at height {height}"))
            })?;
        let cert = chain
            .host_data(&chain_store::certificate_key(height))
            .map_err(internal)?
            .unwrap_or_default();
        let root = chain.state_root_at(height).map_err(read_error)?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(Json(json!({
            "height": height,
            "block": b64.encode(block),
            "certificate": b64.encode(cert),
            "state_root": root.map(|r| r.to_hex()),
        })))
    })
    .await
}
