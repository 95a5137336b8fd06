//! `GET /v1/audit/report?from=YYYY-MM-DD&to=YYYY-MM-DD`: the regulator's
//! desk ([`crate::audit`]). Served only by observer nodes (404
//! `not_an_observer` elsewhere: a cooperative's node is not the
//! regulator's) and only to a request signed by a key of a registered
//! observer, the regulator's (401 `signature_required` unsigned, 403
//! `not_a_regulator` for any other key: [`super::access::standing`]
//! must say `Observer`). The period is at most
//! [`crate::audit::period::PERIOD_DAYS_MAX`] days (400 `bad_period`). The
//! report is read from the store on the blocking pool, at the committed
//! height the answer names; the thresholds of its flags are this
//! observer's `[audit]` config.

use super::access::{standing, Standing};
use super::queries::{blocking, committed, internal, parse_query};
use super::signed_request::Caller;
use super::{ApiError, ApiResult, ApiState};
use crate::audit::period::Period;
use crate::audit::{audit_report, AuditReport, LedgerContext};
use crate::config::Role;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (WIB).
    from: String,
    /// Last day, included.
    to: String,
}

/// The regulator's audit report (observers).
#[utoipa::path(
    get,
    path = "/v1/audit/report",
    tag = "reports",
    params(ReportQuery),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "The regulator's report for the period", body = Object),
        (status = 400, description = "`bad_query`, `bad_period`", body = crate::http_error::ErrorBody),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 403, description = "`not_permitted`: registered observers only", body = crate::http_error::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditReport>> {
    if state.node.role != Role::Observer {
        return Err(ApiError::not_found(
            "not_an_observer",
            "the regulator's report is served by observer nodes only",
        ));
    }
    let Some(key) = caller.key() else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signature_required",
            "sign the request with a registered observer's key",
        ));
    };
    let query = parse_query(query)?;
    let period = Period::parse(&query.from, &query.to)
        .map_err(|e| ApiError::bad_request("bad_period", e.to_string()))?;
    let view = committed(&state);
    let registered = blocking(&state, move |node| {
        Ok(standing(&node.chain, &key)? == Standing::Observer)
    })
    .await?;
    if !registered {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_regulator",
            "only a registered observer's key may read the regulator's report",
        ));
    }
    let params = view
        .params
        .as_ref()
        .ok_or_else(|| ApiError::internal("the ledger has no parameters"))?;
    let context = LedgerContext {
        height: view.height,
        open_window: view.counters.open_window,
        threshold: params.cash_report_threshold,
        cooperatives: view.cooperative_records(),
        fee_rules: params.fee_rules.clone(),
    };
    let config = state.audit;
    let report = blocking(&state, move |node| {
        audit_report(&node.chain, &context, &period, &config).map_err(internal)
    })
    .await?;
    Ok(Json(report))
}
