//! Governance proposals, for the cooperatives that vote on them and the
//! regulators who follow them: `GET /v1/proposals` (newest first, paged:
//! at most [`PROPOSALS_PAGE_MAX`] a page, `before=ID`) and
//! `GET /v1/proposals/{id}`. Read from the committed view and the store,
//! without the ledger lock ([`crate::committed_view`]).

use super::queries::paging::{clamp_limit, PROPOSALS_PAGE_DEFAULT, PROPOSALS_PAGE_MAX};
use super::queries::{blocking, committed, internal, parse_query};
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::Json;
use kopnet_ledger::governance::{is_supermajority, Proposal, ProposalStatus};
use kopnet_ledger::types::Cooperative;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalsQuery {
    limit: Option<usize>,
    /// Newest first, strictly below this proposal id.
    before: Option<u64>,
}

pub async fn proposals(
    State(state): State<ApiState>,
    query: Result<Query<ProposalsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let limit = clamp_limit(query.limit, PROPOSALS_PAGE_DEFAULT, PROPOSALS_PAGE_MAX);
    let view = committed(&state);
    let next_id = view.counters.next_proposal;
    let ids: Vec<u64> = (0..query.before.unwrap_or(next_id).min(next_id))
        .rev()
        .take(limit)
        .collect();
    let next_before = ids.last().copied().filter(|id| *id > 0);
    let found = blocking(&state, move |node| {
        ids.into_iter()
            .filter_map(|id| node.chain.proposal(id).map_err(internal).transpose())
            .collect::<ApiResult<Vec<Proposal>>>()
    })
    .await?;
    let cooperatives = view.cooperative_records();
    let list: Vec<Value> = found
        .iter()
        .map(|p| proposal_json(p, &cooperatives))
        .collect();
    Ok(Json(json!({
        "next_id": next_id,
        "limit": limit,
        "proposals": list,
        "next_before": next_before,
    })))
}

pub async fn proposal(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request("bad_proposal", "proposal must be a non-negative integer")
    })?;
    let view = committed(&state);
    let found = blocking(&state, move |node| {
        node.chain.proposal(id).map_err(internal)
    })
    .await?;
    match found {
        Some(p) => Ok(Json(proposal_json(&p, &view.cooperative_records()))),
        None => Err(ApiError::not_found(
            "unknown_proposal",
            format!("no proposal {id}"),
        )),
    }
}

/// A proposal with its approvals weighed against today's voting power.
fn proposal_json(proposal: &Proposal, cooperatives: &[Cooperative]) -> Value {
    let active = cooperatives.iter().filter(|c| c.active);
    // Saturating: a store written before the ledger bounded the total
    // must not be able to take this handler down.
    let total_power = active
        .clone()
        .fold(0u64, |sum, c| sum.saturating_add(c.voting_power));
    let approved_power = active
        .filter(|c| proposal.approvals.contains(&c.id))
        .fold(0u64, |sum, c| sum.saturating_add(c.voting_power));
    let (status, executed_height, failed) = match &proposal.status {
        ProposalStatus::Open => ("open", None, None),
        ProposalStatus::Executed { height } => ("executed", Some(*height), None),
        ProposalStatus::Failed { height, reason } => (
            "failed",
            None,
            Some(json!({"height": height, "reason": reason})),
        ),
    };
    json!({
        "id": proposal.id,
        "proposer": proposal.proposer.as_str(),
        "action": serde_json::to_value(&proposal.action).unwrap_or(Value::Null),
        "approvals": proposal.approvals.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "approved_power": approved_power,
        "total_power": total_power,
        "supermajority": is_supermajority(approved_power, total_power),
        "status": status,
        "created_height": proposal.created_height,
        "executed_height": executed_height,
        "failed": failed,
    })
}
