//! `GET /v1/evidence`: the misbehaviour on the chain.
//!
//! Each entry is an offence some validator's node proved (two conflicting
//! signed votes for one height, round and step, or two conflicting signed
//! proposals for one round) and a proposer took into a block, which every
//! validator verified before voting for it. Newest first, paged
//! ([`EVIDENCE_PAGE_MAX`] a page, `before=HEIGHT:INDEX`), read from the
//! store. Public, like the blocks that carry it: who misbehaved is the
//! network's business and the regulator's.

use super::queries::paging::{clamp_limit, parse_position};
use super::queries::{blocking, committed, internal, parse_query};
use super::{ApiResult, ApiState};
use axum::extract::{Query, State};
use axum::Json;
use kopnet_ledger::evidence::{CommittedEvidence, EvidenceKind};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    limit: Option<usize>,
    /// Cursor "HEIGHT:INDEX" from a previous page's `next_before`.
    before: Option<String>,
}

/// Evidence of validators' misbehaviour.
#[utoipa::path(
    get,
    path = "/v1/evidence",
    tag = "network",
    params(EvidenceQuery),
    responses(
        (status = 200, description = "`{limit, evidence: [...], next_before}`: validator misbehaviour recorded in blocks, newest first", body = Object),
        (status = 400, description = "`bad_query`, `bad_cursor`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn evidence(
    State(state): State<ApiState>,
    query: Result<Query<EvidenceQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let limit = clamp_limit(
        query.limit,
        state.pages.evidence_default,
        state.pages.evidence_max,
    );
    let before = parse_position(query.before.as_deref())?;
    let view = committed(&state);
    let committed = blocking(&state, move |node| {
        node.chain.evidence(before, limit).map_err(internal)
    })
    .await?;
    let list: Vec<Value> = committed
        .iter()
        .map(|(_, entry)| {
            let coop = view
                .cooperative_with_key(&entry.record.offender)
                .map(|c| c.id.to_string());
            evidence_json(entry, coop)
        })
        .collect();
    let next_before = committed
        .last()
        .filter(|_| committed.len() == limit)
        .map(|(place, _)| place.to_string());
    Ok(Json(
        json!({ "limit": limit, "evidence": list, "next_before": next_before }),
    ))
}

fn evidence_json(entry: &CommittedEvidence, cooperative: Option<String>) -> Value {
    let record = &entry.record;
    let vote = match (record.kind, record.step) {
        (EvidenceKind::ConflictingProposal, _) => Value::Null,
        (EvidenceKind::DuplicateVote, 0) => json!("prevote"),
        (EvidenceKind::DuplicateVote, _) => json!("precommit"),
    };
    json!({
        "offender": hex::encode(record.offender.0),
        "offender_address": record.offender.to_address(),
        "cooperative": cooperative,
        "kind": record.kind.as_str(),
        "height": record.height,
        "round": record.round,
        "vote": vote,
        "included_in_block": entry.included_in_block,
    })
}
