//! `POST /v1/directory/lookup` {phone}: a member wallet asks its own node
//! whose a number is.

use super::{own_cooperative, signer};
use crate::api::queries::{blocking, internal};
use crate::api::signed_request::SignedBody;
use crate::api::{ApiError, ApiResult, ApiState};
use crate::personal::ask::{self, LookupOutcome};
use crate::personal::{home, Phone};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    pub phone: String,
}

/// Look up a phone number (a member wallet homed at this node's cooperative).
#[utoipa::path(
    post,
    path = "/v1/directory/lookup",
    tag = "directory",
    request_body = LookupBody,
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{address, name (masked), cooperative}`", body = Object),
        (status = 400, description = "`bad_body`, `bad_phone`", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_home_member`, `not_a_cooperative_node`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`phone_not_found`", body = crate::http_error::ErrorBody),
        (status = 429, description = "`rate_limited`", body = crate::http_error::ErrorBody),
        (status = 503, description = "`directory_unavailable`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn lookup(
    State(state): State<ApiState>,
    SignedBody { caller, body }: SignedBody,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    let own = own_cooperative(&state)?;
    let coop = own.clone();
    let wallet = blocking(&state, move |node| {
        match home::account_of_signer(&node.chain, &signer).map_err(internal)? {
            Some((address, account)) if account.home == coop => Ok(address),
            _ => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_home_member",
                "only a member wallet homed at this node's cooperative may look numbers up here",
            )),
        }
    })
    .await?;
    // Charged before the number is even read: a bad number costs the same.
    if !state
        .node
        .directory
        .wallets
        .try_take(&wallet.0, Instant::now())
    {
        tracing::warn!(target: crate::personal::answer::LOOKUP_LOG_TARGET, wallet = %wallet.to_address(), cooperative = %own, "directory lookups over the wallet's budget: refused");
        return Err(rate_limited());
    }
    let body: LookupBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("bad_body", e.to_string()))?;
    let phone =
        Phone::parse(&body.phone).map_err(|e| ApiError::bad_request("bad_phone", e.to_string()))?;
    let outcome = ask::lookup(
        state.node.clone(),
        state.node.directory.clone(),
        state.p2p.clone(),
        own,
        wallet.to_address(),
        phone,
    )
    .await;
    match outcome {
        LookupOutcome::Found {
            address,
            masked_name,
            cooperative,
        } => Ok(Json(json!({
            "address": address,
            "masked_name": masked_name,
            "cooperative": cooperative,
        }))),
        LookupOutcome::NotFound { unanswered } => Err(ApiError::not_found(
            "phone_not_found",
            if unanswered == 0 {
                "no member has linked this phone number".to_string()
            } else {
                format!("no cooperative that answered has this phone number ({unanswered} did not answer)")
            },
        )),
        LookupOutcome::RateLimited => Err(rate_limited()),
        LookupOutcome::Unavailable => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "directory_unavailable",
            "the directory could not be read; try again",
        )),
    }
}

fn rate_limited() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many phone lookups in a minute; try again later",
    )
}
