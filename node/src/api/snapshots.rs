//! Snapshots and headers for nodes that join ([`crate::snapshots`]):
//!
//! - `GET /v1/snapshots`: the snapshots this node keeps (participants only);
//! - `GET /v1/snapshots/{height}/manifest` and
//!   `GET /v1/snapshots/{height}/chunks/{index}`: their bytes
//!   (`application/octet-stream`, participants only: a snapshot holds every
//!   account's balance);
//! - `GET /v1/headers?from=&to=`: encoded block headers, oldest first, at
//!   most [`HEADERS_PAGE_MAX`] (public, like block headers elsewhere), with
//!   which a joining node ties a snapshot to a block hash it trusts.

use super::access;
use super::queries::{blocking, internal, parse_query};
use super::signed_request::Caller;
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most headers one `GET /v1/headers` returns.
pub const HEADERS_PAGE_MAX: u64 = 1_000;

fn parse_u64(text: &str, what: &str) -> ApiResult<u64> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            &format!("bad_{what}"),
            format!("{what} must be a non-negative integer"),
        )
    })
}

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

fn no_snapshot(height: u64) -> ApiError {
    ApiError::not_found(
        "unknown_snapshot",
        format!("this node keeps no snapshot at height {height} (see GET /v1/snapshots)"),
    )
}

/// The snapshots kept, newest first.
#[utoipa::path(
    get,
    path = "/v1/snapshots",
    tag = "blocks",
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{\"snapshots\": [{height, manifest_id, block_hash, state_root, chunks, bytes}]}`", body = Object),
        (status = 403, description = "`not_permitted`: participants only", body = crate::http_error::ErrorBody),
    )
)]
pub async fn list(State(state): State<ApiState>, caller: Caller) -> ApiResult<Json<Value>> {
    let view = state.node.committed.current();
    blocking(&state, move |node| {
        access::require_participant(&node.chain, &view, &caller)?;
        let listed: Vec<Value> = node
            .snapshots
            .list()
            .into_iter()
            .map(|l| {
                json!({
                    "height": l.height,
                    "manifest_id": l.manifest.id().to_hex(),
                    "block_hash": l.manifest.block_hash.to_hex(),
                    "state_root": l.manifest.state_root.to_hex(),
                    "chunks": l.manifest.chunks.len(),
                    "bytes": l.manifest.total_bytes(),
                })
            })
            .collect();
        Ok(Json(json!({ "snapshots": listed })))
    })
    .await
}

/// A snapshot's encoded manifest.
#[utoipa::path(
    get,
    path = "/v1/snapshots/{height}/manifest",
    tag = "blocks",
    params(("height" = u64, Path, description = "The snapshot's height")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The manifest in the ledger's codec (bincode 2.0.1)", body = [u8], content_type = "application/octet-stream"),
        (status = 400, description = "`bad_height`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: participants only", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_snapshot`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn manifest(
    State(state): State<ApiState>,
    caller: Caller,
    Path(height): Path<String>,
) -> ApiResult<Response> {
    let height = parse_u64(&height, "height")?;
    let view = state.node.committed.current();
    blocking(&state, move |node| {
        access::require_participant(&node.chain, &view, &caller)?;
        let bytes = node
            .snapshots
            .manifest_bytes(height)
            .ok_or_else(|| no_snapshot(height))?;
        Ok(octets(bytes))
    })
    .await
}

/// One chunk of a snapshot.
#[utoipa::path(
    get,
    path = "/v1/snapshots/{height}/chunks/{index}",
    tag = "blocks",
    params(
        ("height" = u64, Path, description = "The snapshot's height"),
        ("index" = u64, Path, description = "The chunk's index in the manifest"),
    ),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The chunk's bytes, as the manifest hashes them", body = [u8], content_type = "application/octet-stream"),
        (status = 400, description = "`bad_height`, `bad_index`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: participants only", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_chunk`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn chunk(
    State(state): State<ApiState>,
    caller: Caller,
    Path((height, index)): Path<(String, String)>,
) -> ApiResult<Response> {
    let height = parse_u64(&height, "height")?;
    let index = usize::try_from(parse_u64(&index, "index")?)
        .map_err(|_| ApiError::bad_request("bad_index", "index out of range"))?;
    let view = state.node.committed.current();
    blocking(&state, move |node| {
        access::require_participant(&node.chain, &view, &caller)?;
        let bytes = node.snapshots.chunk(height, index).ok_or_else(|| {
            ApiError::not_found(
                "unknown_chunk",
                format!("no chunk {index} of a snapshot at height {height} here"),
            )
        })?;
        Ok(octets(bytes))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HeadersQuery {
    /// The first height, at least 1.
    from: u64,
    /// The last height wanted (inclusive).
    to: u64,
}

/// Headers `from..=to` (at most [`HEADERS_PAGE_MAX`], and up to the
/// committed height), each the base64 of its canonical encoding; stops
/// before the first height this node does not hold (`next` says where to
/// go on, null when done).
#[utoipa::path(
    get,
    path = "/v1/headers",
    tag = "blocks",
    params(HeadersQuery),
    responses(
        (status = 200, description = "`{\"from\", \"headers\": [base64 of codec(BlockHeader)], \"next\": height or null}`", body = Object),
        (status = 400, description = "`bad_query`, `bad_range`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn headers(
    State(state): State<ApiState>,
    query: Result<Query<HeadersQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    use base64::Engine as _;
    let query = parse_query(query)?;
    if query.from == 0 || query.to < query.from {
        return Err(ApiError::bad_request(
            "bad_range",
            "from must be at least 1 and to at least from",
        ));
    }
    let top = state.node.committed.current().height;
    let last = query
        .to
        .min(top)
        .min(query.from.saturating_add(HEADERS_PAGE_MAX - 1));
    blocking(&state, move |node| {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut headers = Vec::new();
        let mut height = query.from;
        while height <= last {
            match node.chain.header(height).map_err(internal)? {
                Some(header) => {
                    let bytes = kopnet_consensus::codec::encode(&header).map_err(internal)?;
                    headers.push(Value::String(b64.encode(bytes)));
                }
                None => break,
            }
            height += 1;
        }
        let next = (height <= query.to && height <= top && !headers.is_empty()).then_some(height);
        Ok(Json(json!({
            "from": query.from,
            "headers": headers,
            "next": next,
        })))
    })
    .await
}
