//! Governance proposals, for the cooperatives that vote on them and the
//! regulators who follow them: `GET /v1/proposals` (newest first, at most
//! [`PROPOSALS_PAGE_MAX`]) and `GET /v1/proposals/{id}`.

use super::queries::ledger_read;
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, State};
use axum::Json;
use kopnet_ledger::governance::{is_supermajority, Proposal, ProposalStatus};
use kopnet_ledger::state::StateRead;
use kopnet_ledger::types::Cooperative;
use serde_json::{json, Value};

/// Most proposals listed by `GET /v1/proposals`.
pub const PROPOSALS_PAGE_MAX: u64 = 100;

pub async fn proposals(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let ledger = ledger_read(&state)?;
    let next_id = ledger.counters().next_proposal;
    let cooperatives = ledger.cooperatives();
    let list: Vec<Value> = (0..next_id)
        .rev()
        .take(usize::try_from(PROPOSALS_PAGE_MAX).unwrap_or(usize::MAX))
        .filter_map(|id| ledger.state().proposal(id))
        .map(|p| proposal_json(&p, &cooperatives))
        .collect();
    Ok(Json(json!({"next_id": next_id, "proposals": list})))
}

pub async fn proposal(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request("bad_proposal", "proposal must be a non-negative integer")
    })?;
    let ledger = ledger_read(&state)?;
    match ledger.state().proposal(id) {
        Some(p) => Ok(Json(proposal_json(&p, &ledger.cooperatives()))),
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
