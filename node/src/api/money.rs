//! The money rules as clients see them (issue 17):
//!
//! * `GET /v1/incentives`: every incentive programme (cashback paid by the
//!   ledger from the network fund), with its terms, what it paid, how many
//!   payments and members it reached, and whether it pays now — the
//!   explorer's programmes page. One point read of the committed state.
//! * `GET /v1/accounts/{address}/requests`: the payment requests addressed
//!   to the account that it can still pay or decline (open first, soonest
//!   expiry first), and the requests it made that the ledger still keeps
//!   (open, or ended within the last day, with their outcome) — the
//!   wallet's inbox and its "requested" list. At most
//!   [`kopnet_ledger::payment_requests::REQUESTS_PAGE_MAX`] of each; both
//!   are bounded by the ledger (at most 64 open per payer and per
//!   requester).
//! * `GET /v1/tx/{hash}/refunds`: a payment to a merchant and its refunds
//!   while it can be refunded (the governed refund period): payer,
//!   merchant, amount, the fee legs it moved, what was refunded so far,
//!   what is left, the refunds' transactions and until when (block time)
//!   it can be refunded; `unknown_payment` (404) for a transaction that is
//!   no payment to a merchant or whose period ended. A refund's own
//!   transaction names its payment (`action.Refund.payment`), so the two
//!   link both ways.

use super::access;
use super::queries::{blocking, committed, internal, parse_address};
use super::signed_request::Caller;
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, State};
use axum::Json;
use kopnet_ledger::incentives::{Programme, Programmes};
use kopnet_ledger::payment_requests::{ListedRequest, RequestStatus, REQUESTS_PAGE_MAX};
use kopnet_ledger::state::{StateKey, StateValue};
use serde_json::{json, Value};

/// A payment to a merchant and its refunds, while it can be refunded.
#[utoipa::path(
    get,
    path = "/v1/tx/{hash}/refunds",
    tag = "transactions",
    params(("hash" = String, Path, description = "The payment's hash, 64 hex digits")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{payment, payer, merchant, amount, fees: [{from, to, amount}], refunded, refundable, refunds: [hash], refundable_until_ms}`", body = Object),
        (status = 400, description = "`bad_hash`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: the payer, the merchant, participants", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_payment`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn refunds(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    let payment = kopnet_consensus::Hash::from_hex(&hash)
        .map_err(|_| ApiError::bad_request("bad_hash", "a transaction hash is 64 hex digits"))?;
    let view = committed(&state);
    let found = blocking(&state, move |node| {
        let found = node.chain.payment_refunds(&payment).map_err(internal)?;
        if let Some(found) = &found {
            // The payer's and the merchant's readers, and participants.
            let mut allowed =
                access::caller_standing(&node.chain, &view, &caller)?.is_participant();
            for party in [found.payment.payer, found.payment.merchant] {
                if allowed {
                    break;
                }
                if let Some(account) = node.chain.member(&party).map_err(internal)? {
                    allowed = access::may_read_account(&node.chain, &caller, &account)?;
                }
            }
            if !allowed {
                return Err(access::not_permitted(
                    "the payer, the merchant, their home cooperatives, cooperatives and observers",
                ));
            }
        }
        Ok(found)
    })
    .await?
    .ok_or_else(|| {
        ApiError::not_found(
            "unknown_payment",
            "no payment to a merchant with this hash can be refunded now",
        )
    })?;
    let p = &found.payment;
    Ok(Json(json!({
        "payment": payment.to_hex(),
        "payer": p.payer.to_address(),
        "merchant": p.merchant.to_address(),
        "amount": p.amount,
        "fees": p.fees.iter().map(|f| json!({
            "from": f.from.to_string(),
            "to": f.to.to_string(),
            "amount": f.amount,
        })).collect::<Vec<_>>(),
        "refunded": found.refunded.amount,
        "refundable": p.amount.saturating_sub(found.refunded.amount),
        "refunds": found.refunded.refunds.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "refundable_until_ms": found.refundable_until_ms,
    })))
}

/// Every incentive programme, its terms and what it paid.
#[utoipa::path(
    get,
    path = "/v1/incentives",
    tag = "network",
    responses(
        (status = 200, description = "`{programmes: [{id, name, cashback_bps, member_monthly_cap, budget, paid, budget_left, ..., live}]}`", body = Object),
    )
)]
pub async fn incentives(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let now_ms = committed(&state).last_block_time_ms;
    let programmes = blocking(&state, move |node| {
        match node
            .chain
            .state_value(&StateKey::Incentives)
            .map_err(internal)?
        {
            Some(StateValue::Incentives(p)) => Ok(p),
            _ => Ok(Programmes::default()),
        }
    })
    .await?;
    let list: Vec<Value> = programmes
        .programmes
        .iter()
        .map(|p| programme_json(p, now_ms))
        .collect();
    Ok(Json(json!({ "programmes": list })))
}

fn programme_json(p: &Programme, now_ms: u64) -> Value {
    let t = &p.terms;
    json!({
        "id": p.id,
        "name": t.name,
        "cashback_bps": t.bps,
        "member_monthly_cap": t.member_monthly_cap,
        "budget": t.budget,
        "paid": p.paid,
        "budget_left": t.budget.saturating_sub(p.paid),
        "payments": p.payments,
        "members_reached": p.members_reached,
        "cross_only": t.cross_only,
        "classes": t.classes.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "created_at_ms": p.created_at_ms,
        "ends_at_ms": t.ends_at_ms,
        "ended_at_ms": p.ended_at_ms,
        "live": p.live(now_ms),
    })
}

/// The payment requests an account can pay or decline, and those it made.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/requests",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (`kop…`)")),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{address, to_pay: [request], requested: [request]}`", body = Object),
        (status = 400, description = "`bad_address`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_account`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn requests(
    State(state): State<ApiState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = parse_address(&address)?;
    blocking(&state, move |node| {
        match node.chain.member(&key).map_err(internal)? {
            Some(account) => access::require_account_reader(&node.chain, &caller, &account),
            None => Err(ApiError::not_found(
                "unknown_account",
                "no account with this address",
            )),
        }
    })
    .await?;
    let ledger = state
        .node
        .host
        .ledger
        .read()
        .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
    let now_ms = ledger.last_block_time_ms();
    let to_me = ledger.requests_to(&key, REQUESTS_PAGE_MAX);
    let mine = ledger.requests_by(&key, None, REQUESTS_PAGE_MAX);
    drop(ledger);
    Ok(Json(json!({
        "address": key.to_address(),
        "to_pay": to_me.iter().map(|r| request_json(r, now_ms)).collect::<Vec<_>>(),
        "requested": mine.iter().map(|r| request_json(r, now_ms)).collect::<Vec<_>>(),
    })))
}

fn request_json(listed: &ListedRequest, now_ms: u64) -> Value {
    let r = &listed.request;
    let (status, paid_by, tx, ended_ms) = match &r.status {
        RequestStatus::Open if now_ms >= r.expires_at_ms => {
            ("expired", None, None, Some(r.expires_at_ms))
        }
        RequestStatus::Open => ("open", None, None, None),
        RequestStatus::Paid { by, tx, time_ms } => (
            "paid",
            Some(by.to_address()),
            Some(tx.to_hex()),
            Some(*time_ms),
        ),
        RequestStatus::Declined { time_ms } => ("declined", None, None, Some(*time_ms)),
        RequestStatus::Cancelled { time_ms } => ("cancelled", None, None, Some(*time_ms)),
        RequestStatus::Expired { time_ms } => ("expired", None, None, Some(*time_ms)),
    };
    json!({
        "requester": listed.requester.to_address(),
        "id": hex(&listed.id),
        "payer": r.payer.map(|p| p.to_address()),
        "amount": r.amount,
        "reference": r.reference,
        "created_ms": r.created_ms,
        "expires_at_ms": r.expires_at_ms,
        "status": status,
        "paid_by": paid_by,
        "tx": tx,
        "ended_ms": ended_ms,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
