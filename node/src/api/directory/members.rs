//! Recording, reading, unlinking and erasing one member's personal data.

use super::{forbidden, own_cooperative, signer, store_error};
use crate::api::queries::{blocking, committed, internal, parse_address};
use crate::api::signed_request::{Caller, SignedBody};
use crate::api::{ApiError, ApiResult, ApiState};
use crate::personal::record::{check_name, check_nik};
use crate::personal::{home, MemberRecord, Phone};
use axum::extract::{Path, State};
use axum::Json;
use kopnet_consensus::PublicKey;
use kopnet_ledger::CoopId;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `PUT /v1/directory/members/{address}`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub nik: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn record_json(address: &PublicKey, coop: &CoopId, r: &MemberRecord) -> Value {
    json!({
        "address": address.to_address(),
        "cooperative": coop.as_str(),
        "name": r.name,
        "phone": r.phone.as_ref().map(Phone::as_str),
        "nik": r.nik,
        "linked_at_ms": r.linked_at_ms,
        "updated_at_ms": r.updated_at_ms,
    })
}

/// Who may touch `member`'s data, checked against the ledger: the member
/// must be homed at this node's cooperative, and `signer` must act for it
/// (or, when `member_may` is set, be the member's own key).
async fn authorise(
    state: &ApiState,
    signer: PublicKey,
    member: PublicKey,
    member_may: bool,
) -> ApiResult<CoopId> {
    let own = own_cooperative(state)?;
    let view = committed(state);
    let coop = own.clone();
    blocking(state, move |node| {
        let account = home::member(&node.chain, &member).map_err(internal)?;
        let Some(account) = account else {
            return Err(ApiError::not_found(
                "unknown_member",
                "no member account has this address",
            ));
        };
        if account.home != coop {
            return Err(forbidden(
                "this member is not homed at this node's cooperative",
            ));
        }
        if member_may && (signer == member || account.key == signer) {
            return Ok(());
        }
        if home::acts_for(&view, &node.chain, &signer, &coop).map_err(internal)? {
            Ok(())
        } else {
            Err(forbidden(
                "only the member's home cooperative or its tellers (and, to read, the member) may",
            ))
        }
    })
    .await?;
    Ok(own)
}

fn check_body(body: &[u8], now: u64) -> ApiResult<MemberRecord> {
    let body: MemberBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_body", e.to_string()))?;
    let name =
        check_name(&body.name).map_err(|e| ApiError::bad_request("bad_name", e.to_string()))?;
    let phone = body
        .phone
        .as_deref()
        .map(Phone::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_phone", e.to_string()))?;
    let nik = body
        .nik
        .as_deref()
        .map(check_nik)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_nik", e.to_string()))?;
    Ok(MemberRecord {
        name,
        phone,
        nik,
        linked_at_ms: None,
        updated_at_ms: now,
    })
}

/// Record or replace a member's name, phone and NIK.
#[utoipa::path(
    put,
    path = "/v1/directory/members/{address}",
    tag = "directory",
    params(("address" = String, Path, description = "The member's address")),
    request_body = MemberBody,
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The record kept", body = Object),
        (status = 400, description = "`bad_address`, `bad_body`, ...", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`forbidden`: the home cooperative's key or its tellers; `not_a_cooperative_node`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_member`, `no_record`", body = crate::http_error::ErrorBody),
        (status = 409, description = "`phone_taken`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn put_member(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    SignedBody { caller, body }: SignedBody,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    let member = parse_address(&address)?;
    let record = check_body(&body, now_ms())?;
    let own = authorise(&state, signer, member, false).await?;
    let kept = blocking(&state, move |node| {
        node.directory
            .store
            .put(&member, record)
            .map_err(store_error)
    })
    .await?;
    tracing::info!(target: crate::personal::answer::LOOKUP_LOG_TARGET, member = %address, by = %signer.to_address(), phone_linked = kept.phone.is_some(), "member personal data recorded");
    Ok(Json(record_json(&member, &own, &kept)))
}

/// A member's record (its cooperative, or the member itself).
#[utoipa::path(
    get,
    path = "/v1/directory/members/{address}",
    tag = "directory",
    params(("address" = String, Path, description = "The member's address")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The record", body = Object),
        (status = 400, description = "`bad_address`, `bad_body`, ...", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`forbidden`: the home cooperative's key or its tellers; `not_a_cooperative_node`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_member`, `no_record`", body = crate::http_error::ErrorBody),
        (status = 409, description = "`phone_taken`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn get_member(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    let member = parse_address(&address)?;
    let own = authorise(&state, signer, member, true).await?;
    let record = blocking(&state, move |node| {
        node.directory.store.get(&member).map_err(store_error)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("no_record", "no personal data is kept for this member"))?;
    Ok(Json(record_json(&member, &own, &record)))
}

/// Unlink a member's phone number.
#[utoipa::path(
    delete,
    path = "/v1/directory/members/{address}/phone",
    tag = "directory",
    params(("address" = String, Path, description = "The member's address")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The record without its phone", body = Object),
        (status = 400, description = "`bad_address`, `bad_body`, ...", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`forbidden`: the home cooperative's key or its tellers; `not_a_cooperative_node`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_member`, `no_record`", body = crate::http_error::ErrorBody),
        (status = 409, description = "`phone_taken`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn unlink_phone(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    SignedBody { caller, .. }: SignedBody,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    let member = parse_address(&address)?;
    let own = authorise(&state, signer, member, false).await?;
    let now = now_ms();
    let kept = blocking(&state, move |node| {
        node.directory
            .store
            .unlink_phone(&member, now)
            .map_err(store_error)
    })
    .await?;
    tracing::info!(target: crate::personal::answer::LOOKUP_LOG_TARGET, member = %address, by = %signer.to_address(), "member phone unlinked");
    Ok(Json(record_json(&member, &own, &kept)))
}

/// Erase a member's record.
#[utoipa::path(
    delete,
    path = "/v1/directory/members/{address}",
    tag = "directory",
    params(("address" = String, Path, description = "The member's address")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{address, erased: true}`", body = Object),
        (status = 400, description = "`bad_address`, `bad_body`, ...", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`forbidden`: the home cooperative's key or its tellers; `not_a_cooperative_node`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_member`, `no_record`", body = crate::http_error::ErrorBody),
        (status = 409, description = "`phone_taken`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn erase(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    SignedBody { caller, .. }: SignedBody,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    let member = parse_address(&address)?;
    authorise(&state, signer, member, false).await?;
    blocking(&state, move |node| {
        node.directory.store.erase(&member).map_err(store_error)
    })
    .await?;
    tracing::info!(target: crate::personal::answer::LOOKUP_LOG_TARGET, member = %address, by = %signer.to_address(), "member personal data erased");
    Ok(Json(json!({"address": address, "erased": true})))
}
