//! `GET /v1/accounts/{address}/proof`: a Merkle proof that the account's
//! record (balance, home, kind, status, tier, nonce) is in the state whose
//! root the node reports for its current height `h`. That root is certified
//! by the network in block `h + 1`'s header (`prev_state_root`, covered by
//! its commit certificate), so a phone can check its balance without
//! trusting the node it asked.
//!
//! The one read that needs the ledger itself: the Merkle tree lives there,
//! and the proof must match the root it reports. The work under the
//! ledger's read lock is one entry and one path of the tree (bounded, not
//! in proportion to the state), and it runs on the blocking pool, so a
//! commit holding the lock never stalls an async worker.

use super::queries::{blocking, parse_address};
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, State};
use axum::Json;
use kopnet_consensus::codec;
use kopnet_ledger::state::StateKey;
use serde_json::{json, Value};

/// A proof of an account's state against the committed state root.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/proof",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (`kop…`)")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{address, height, state_root, certified_by_block, balance, key, value, proof: {bits, bucket, leaves, siblings}}`: checkable against the state root the next block certifies", body = Object),
        (status = 400, description = "`bad_address`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_account`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn account_proof(
    State(state): State<ApiState>,
    caller: super::signed_request::Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    blocking(&state, move |node| {
        // The proof carries the account's value: the same right as a read
        // of the account ([`super::access`]).
        if let Some(account) = node.chain.member(&key).map_err(super::queries::internal)? {
            super::access::require_account_reader(&node.chain, &caller, &account)?;
        }
        prove(node, key)
    })
    .await
}

fn prove(
    node: &crate::node_state::NodeState,
    key: kopnet_consensus::PublicKey,
) -> ApiResult<Json<Value>> {
    let ledger = node
        .host
        .ledger
        .read()
        .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
    let state_key = StateKey::Member(key);
    let (value, proof) = ledger
        .prove(&state_key)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let value = value
        .ok_or_else(|| ApiError::not_found("unknown_account", "no account with this address"))?;
    let key_bytes = codec::encode(&state_key).map_err(|e| ApiError::internal(e.to_string()))?;
    let account = ledger.member(&key);
    Ok(Json(json!({
        "address": key.to_address(),
        "height": ledger.height(),
        "state_root": ledger.state_root().to_hex(),
        "certified_by_block": ledger.height().saturating_add(1),
        "balance": account.map(|a| a.balance),
        "key": hex::encode(key_bytes),
        "value": hex::encode(value),
        "proof": {
            "bits": proof.bits,
            "bucket": proof.bucket,
            "leaves": proof.leaves.iter().map(|(k, v)| [k.to_hex(), v.to_hex()]).collect::<Vec<_>>(),
            "siblings": proof.siblings.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        },
    })))
}
