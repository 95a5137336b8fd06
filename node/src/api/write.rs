//! Writes: submitting transactions, and the admin isolate switch.
//!
//! Submissions are charged to the client address's write rate by
//! transaction count (`http.writes_per_second`, 429 `rate_limited` with
//! `Retry-After` beyond it) as soon as the body is read, before anything
//! is decoded or admitted.

use super::{ApiError, ApiResult, ApiState};
use crate::config::Role;
use crate::host::Accepted;
use crate::http::limits::rate_limited;
use crate::http::rate::RateClass;
use crate::http::ClientAddr;
use crate::mempool::MempoolError;
use crate::node_state::NodeState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kopnet_consensus::Hash;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The encoded signed transaction, base64 (standard) or hex: the
    /// ledger's codec (bincode 2.0.1) of the transaction body followed by
    /// the 64-byte ed25519 signature over `kopnet/tx/v1` || 0x00 || body.
    pub tx: String,
}

pub fn json_error(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body_too_large"
    } else {
        "malformed_json"
    };
    ApiError::new(status, code, rejection.body_text())
}

/// The transaction bytes a submitted `tx` string stands for: hex when it
/// is an even number of hex digits, else standard base64 (surrounding
/// whitespace ignored); `bad_encoding` otherwise. Needs no node, so the
/// fuzz targets (`fuzz-targets/`) run it as the route does.
pub fn decode_tx_text(text: &str) -> ApiResult<Vec<u8>> {
    let text = text.trim();
    let is_hex = !text.is_empty()
        && text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        if let Ok(bytes) = hex::decode(text) {
            return Ok(bytes);
        }
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| ApiError::bad_request("bad_encoding", "tx must be base64 or hex"))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchBody {
    /// Encoded signed transactions, each base64 (standard) or hex.
    pub txs: Vec<String>,
}

fn refuse_on_observer(state: &ApiState) -> ApiResult<()> {
    if state.node.role == Role::Observer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "read_only_observer",
            "this node is a read-only observer; submit transactions to a cooperative's node",
        ));
    }
    Ok(())
}

/// Take one encoded transaction through the host's admission path (the
/// same one gossiped transactions take). Runs on the blocking pool (it
/// verifies a signature).
fn accept(node: &NodeState, bytes: Vec<u8>) -> Result<(Hash, Accepted), MempoolError> {
    let admitted = node.submit_from_client(&bytes)?;
    Ok((admitted.hash, admitted.accepted))
}

fn status_word(accepted: Accepted) -> &'static str {
    match accepted {
        Accepted::Pending | Accepted::AlreadyPending => "pending",
        Accepted::Committed => "committed",
    }
}

/// Why a submission was refused as a whole.
#[derive(Debug)]
pub enum WriteRefusal {
    /// The API's usual error answer.
    Api(ApiError),
    /// Over the client address's write rate: 429, come back in this many
    /// seconds.
    RateLimited(u64),
}

impl From<ApiError> for WriteRefusal {
    fn from(e: ApiError) -> Self {
        WriteRefusal::Api(e)
    }
}

impl IntoResponse for WriteRefusal {
    fn into_response(self) -> Response {
        match self {
            WriteRefusal::Api(e) => e.into_response(),
            WriteRefusal::RateLimited(retry_after_s) => rate_limited(retry_after_s),
        }
    }
}

/// Charge `count` transactions to the client's write rate.
fn charge_writes(state: &ApiState, client: ClientAddr, count: usize) -> Result<(), WriteRefusal> {
    let cost = u32::try_from(count).unwrap_or(u32::MAX);
    state
        .front
        .rates
        .charge(RateClass::Writes, client.0, cost)
        .map_err(|refused| WriteRefusal::RateLimited(refused.retry_after_s))
}

fn rejection(e: &MempoolError) -> ApiError {
    let status = match e.code() {
        "mempool_full" | "signer_limit" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// Submit one signed transaction. Charged to the client address's write
/// rate; admitted as gossiped transactions are (signature, nonce, fees).
#[utoipa::path(
    post,
    path = "/v1/tx",
    tag = "transactions",
    request_body = SubmitBody,
    responses(
        (status = 202, description = "Taken: pending, or already committed", body = super::shapes::Submitted),
        (status = 400, description = "`malformed_json` (not JSON), `bad_encoding`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`read_only_observer`", body = crate::http_error::ErrorBody),
        (status = 413, description = "`body_too_large`", body = crate::http_error::ErrorBody),
        (status = 415, description = "`malformed_json`: the body is not `content-type: application/json`", body = crate::http_error::ErrorBody),
        (status = 422, description = "`malformed_json` (JSON of another shape), or refused by admission: the ledger's or the mempool's code (`bad_signature`, `bad_nonce`, `insufficient_funds`, ...)", body = crate::http_error::ErrorBody),
        (status = 429, description = "`rate_limited` (with `Retry-After`)", body = crate::http_error::ErrorBody),
        (status = 503, description = "`mempool_full`, `signer_limit`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn submit_tx(
    State(state): State<ApiState>,
    client: ClientAddr,
    body: Result<Json<SubmitBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), WriteRefusal> {
    refuse_on_observer(&state)?;
    let Json(body) = body.map_err(json_error)?;
    charge_writes(&state, client, 1)?;
    Ok(submit_one(&state, &body.tx).await?)
}

async fn submit_one(state: &ApiState, text: &str) -> ApiResult<(StatusCode, Json<Value>)> {
    let bytes = decode_tx_text(text)?;
    let node = state.node.clone();
    let result = tokio::task::spawn_blocking(move || accept(&node, bytes))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let (hash, accepted) = result.map_err(|e| rejection(&e))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"hash": hash.to_hex(), "status": status_word(accepted)})),
    ))
}

/// `POST /v1/txs {"txs": [...]}`: up to `http.txs_per_request_max` transactions
/// in one request, for tellers' systems, merchant aggregators and load
/// drivers. Each is taken exactly as `POST /v1/tx` would take it, in order
/// and on its own: one bad transaction does not affect the others. The
/// answer is 200 with one entry per transaction, in the same order:
/// `{"hash", "status"}` or `{"error": {"code", "message"}}`.
#[utoipa::path(
    post,
    path = "/v1/txs",
    tag = "transactions",
    request_body = SubmitBatchBody,
    responses(
        (status = 200, description = "One entry per transaction, in order", body = super::shapes::BatchAnswer),
        (status = 400, description = "`malformed_json` (not JSON), `empty_batch`, `batch_too_large`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`read_only_observer`", body = crate::http_error::ErrorBody),
        (status = 415, description = "`malformed_json`: the body is not `content-type: application/json`", body = crate::http_error::ErrorBody),
        (status = 422, description = "`malformed_json`: JSON of another shape", body = crate::http_error::ErrorBody),
        (status = 429, description = "`rate_limited` (with `Retry-After`)", body = crate::http_error::ErrorBody),
    )
)]
pub async fn submit_txs(
    State(state): State<ApiState>,
    client: ClientAddr,
    body: Result<Json<SubmitBatchBody>, JsonRejection>,
) -> Result<Json<Value>, WriteRefusal> {
    refuse_on_observer(&state)?;
    let Json(body) = body.map_err(json_error)?;
    check_batch_size(&body, state.front.config.txs_per_request_max)?;
    charge_writes(&state, client, body.txs.len())?;
    Ok(submit_batch(&state, body).await?)
}

/// `empty_batch` or `batch_too_large` unless a batch holds 1 to
/// `txs_max` (`http.txs_per_request_max`) transactions.
pub fn check_batch_size(body: &SubmitBatchBody, txs_max: usize) -> ApiResult<()> {
    if body.txs.is_empty() {
        return Err(ApiError::bad_request("empty_batch", "txs is empty"));
    }
    if body.txs.len() > txs_max {
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!(
                "{} transactions; at most {txs_max} per request",
                body.txs.len()
            ),
        ));
    }
    Ok(())
}

async fn submit_batch(state: &ApiState, body: SubmitBatchBody) -> ApiResult<Json<Value>> {
    let decoded: Vec<ApiResult<Vec<u8>>> = body.txs.iter().map(|t| decode_tx_text(t)).collect();
    let node = state.node.clone();
    let results = tokio::task::spawn_blocking(move || {
        // The decodable ones go through admission together (their
        // signatures verified as a batch); answers keep the request's order.
        let good: Vec<&Vec<u8>> = decoded.iter().flat_map(|d| d.as_ref().ok()).collect();
        let mut admitted = node.submit_many_from_client(&good).into_iter();
        decoded
            .into_iter()
            .map(|bytes| {
                bytes?;
                match admitted.next() {
                    Some(Ok(a)) => Ok((a.hash, a.accepted)),
                    Some(Err(e)) => Err(rejection(&e)),
                    None => Err(ApiError::internal("admission lost an answer")),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let entries: Vec<Value> = results
        .into_iter()
        .map(|result| match result {
            Ok((hash, accepted)) => {
                json!({"hash": hash.to_hex(), "status": status_word(accepted)})
            }
            Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
        })
        .collect();
    Ok(Json(json!({ "results": entries })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IsolateBody {
    pub isolated: bool,
}

/// Fault injection for test networks: drop all peers (and refuse new ones)
/// while isolated. Only when `admin_api = true` in config.toml, on a node
/// whose API is bound to loopback, with the home's admin token
/// ([`crate::http::admin`]).
#[utoipa::path(
    post,
    path = "/v1/admin/isolate",
    tag = "admin",
    request_body = IsolateBody,
    security(("admin-token" = [])),
    responses(
        (status = 200, description = "The new state", body = super::shapes::Isolated),
        (status = 401, description = "`admin_token_missing`, `admin_token_wrong`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`admin_disabled`, `admin_not_loopback`", body = crate::http_error::ErrorBody),
        (status = 422, description = "`malformed_json`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn isolate(
    State(state): State<ApiState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Json<IsolateBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    state.admin.check(&headers, client)?;
    let Json(body) = body.map_err(json_error)?;
    let p2p = state
        .p2p
        .as_ref()
        .ok_or_else(|| ApiError::internal("no network"))?;
    p2p.set_isolated(body.isolated)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({"isolated": body.isolated})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// The address that would sign.
    pub signer: String,
    /// The action, in the JSON form `/v1/tx/{hash}` shows, e.g.
    /// `{"Payment": {"to": "kop…", "amount": 25000, "memo": "",
    /// "idempotency_id": [16 bytes]}}`.
    #[schema(value_type = Object)]
    pub action: kopnet_ledger::Action,
}

/// Dry-run an action: the fee the signer would pay and what the payee would
/// receive, or the rejection it would get. Changes nothing.
#[utoipa::path(
    post,
    path = "/v1/quote",
    tag = "transactions",
    request_body = QuoteBody,
    responses(
        (status = 200, description = "The fees and amounts, or the rejection it would get (`ok: false`)", body = super::shapes::Quote),
        (status = 400, description = "`malformed_json` (not JSON), `bad_address`", body = crate::http_error::ErrorBody),
        (status = 415, description = "`malformed_json`: the body is not `content-type: application/json`", body = crate::http_error::ErrorBody),
        (status = 422, description = "`malformed_json`: JSON of another shape", body = crate::http_error::ErrorBody),
    )
)]
pub async fn quote(
    State(state): State<ApiState>,
    body: Result<Json<QuoteBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body.map_err(json_error)?;
    let signer = kopnet_consensus::PublicKey::from_address(&body.signer)
        .map_err(|e| ApiError::bad_request("bad_address", e.to_string()))?;
    let ledger = state
        .node
        .host
        .ledger
        .read()
        .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
    match ledger.quote(&signer, &body.action) {
        Ok(q) => Ok(Json(json!({
            "ok": true,
            "fees": q.signer_fees,
            "payee_receives": q.payee_receives,
            // Who receives the fee (the issuer's and the acquirer's fee
            // accounts, the network fund) and the cashback the incentive
            // programmes would pay: what the confirm screen shows.
            "fee_split": q.fee_split.iter().map(|(a, fee)| json!({"account": a.to_string(), "fee": fee})).collect::<Vec<_>>(),
            "cashback": q.cashback,
            "deltas": q.deltas.iter().map(|(a, d)| json!({"account": a.to_string(), "delta": i64::try_from(*d).unwrap_or(0)})).collect::<Vec<_>>(),
        }))),
        Err(r) => Ok(Json(
            json!({"ok": false, "result": {"code": r.code(), "message": r.to_string()}}),
        )),
    }
}
