//! `GET /v1/directory/export?after=ADDRESS&limit=N`: the personal data
//! this node keeps, page by page, for a backup of the node
//! (`kopnet node backup`, [`crate::backup`]). Only the node's own key may
//! ask: whoever holds it holds the node's home, and with it the store
//! itself. Every export is logged (how many records, never their content).

use super::{forbidden, own_cooperative, signer, store_error};
use crate::api::queries::{blocking, parse_address, parse_query};
use crate::api::signed_request::Caller;
use crate::api::{ApiError, ApiResult, ApiState};
use axum::extract::{Query, State};

use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most records in one page.
pub const EXPORT_PAGE_MAX: usize = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The last address of the previous page (exclusive).
    pub after: Option<String>,
    /// Records wanted (1..=[`EXPORT_PAGE_MAX`], default the maximum).
    pub limit: Option<usize>,
}

/// Every directory record, for `kopnet node backup` (this node's key).
#[utoipa::path(
    get,
    path = "/v1/directory/export",
    tag = "directory",
    params(ExportQuery),
    security(("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "`{members: [{address, record}], next}`: every record, page by page", body = Object),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
        (status = 401, description = "`signature_required`", body = crate::http_error::ErrorBody),
        (status = 403, description = "`forbidden`: this node's own key only", body = crate::http_error::ErrorBody),
    )
)]
pub async fn export(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let signer = signer(caller)?;
    if signer != state.node.node_key {
        return Err(forbidden(
            "only this node's own key may export its personal data (for a backup)",
        ));
    }
    let own = own_cooperative(&state)?;
    let query = parse_query(query)?;
    let after = query.after.as_deref().map(parse_address).transpose()?;
    let limit = query.limit.unwrap_or(EXPORT_PAGE_MAX);
    if limit == 0 || limit > EXPORT_PAGE_MAX {
        return Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be 1..={EXPORT_PAGE_MAX}"),
        ));
    }
    let page = blocking(&state, move |node| {
        node.directory
            .store
            .page_after(after.as_ref(), limit)
            .map_err(store_error)
    })
    .await?;
    tracing::info!(target: crate::personal::answer::LOOKUP_LOG_TARGET, cooperative = %own, records = page.len(), "personal data exported for a backup");
    let next = (page.len() == limit)
        .then(|| page.last().map(|(key, _)| key.to_address()))
        .flatten();
    let members: Vec<Value> = page
        .iter()
        .map(|(key, record)| {
            let stored = crate::personal::store::encode(record)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .unwrap_or(Value::Null);
            json!({ "address": key.to_address(), "record": stored })
        })
        .collect();
    Ok(Json(json!({ "members": members, "next": next })))
}
