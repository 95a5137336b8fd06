//! Governance, for the cooperatives that vote and the regulators who follow
//! them: `GET /v1/proposals` (newest first, paged: at most
//! [`PROPOSALS_PAGE_MAX`] a page, `before=ID`), `GET /v1/proposals/{id}`,
//! and `GET /v1/params`, the rules in force (fee rules, balance caps, the
//! settlement schedule with its next cut-off, the validator limits and the
//! ceilings no vote can pass). Read from the committed view and the store,
//! without the ledger lock ([`crate::committed_view`]).
//!
//! A proposal's status is `open`, `executed` (with `executed_height`) or
//! `failed`: approvals passed 2/3 but the action could not be carried out
//! on the state of that moment, so nothing changed; `failed` holds the
//! height, the rejection `code` (`total_voting_power_exceeded`, ...) and
//! the `reason` in words. A proposal refused when it was made never gets
//! an id: its transaction is rejected with the code instead.
//!
//! Nothing here can panic on what the state holds: power sums are taken in
//! `u128` (no sum of `u64` can overflow it) and shown clamped to `u64`.

use super::queries::paging::clamp_limit;
use super::queries::{blocking, committed, internal, parse_query};
use super::{ApiError, ApiResult, ApiState};
use axum::extract::{Path, Query, State};
use axum::Json;
use kopnet_ledger::bounds::{PARTICIPANTS_MAX, VALIDATORS_CEILING, VOTING_POWER_TOTAL_CEILING};
use kopnet_ledger::governance::{Proposal, ProposalStatus};
use kopnet_ledger::types::Cooperative;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    limit: Option<usize>,
    /// Newest first, strictly below this proposal id.
    before: Option<u64>,
}

/// Governance proposals with their approvals.
#[utoipa::path(
    get,
    path = "/v1/proposals",
    tag = "network",
    params(ProposalsQuery),
    responses(
        (status = 200, description = "`{limit, proposals: [...], next_before}`: governance proposals, newest first", body = Object),
        (status = 400, description = "`bad_query`", body = crate::http_error::ErrorBody),
    )
)]
pub async fn proposals(
    State(state): State<ApiState>,
    query: Result<Query<ProposalsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let query = parse_query(query)?;
    let limit = clamp_limit(
        query.limit,
        state.pages.proposals_default,
        state.pages.proposals_max,
    );
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

/// One governance proposal.
#[utoipa::path(
    get,
    path = "/v1/proposals/{id}",
    tag = "network",
    params(("id" = u64, Path, description = "The proposal's id")),
    responses(
        (status = 200, description = "The proposal with its approvals weighed against today's voting power", body = Object),
        (status = 400, description = "`bad_proposal`", body = crate::http_error::ErrorBody),
        (status = 404, description = "`unknown_proposal`", body = crate::http_error::ErrorBody),
    )
)]
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

/// `GET /v1/params`: the rules in force and how far governance may move
/// them.
#[utoipa::path(
    get,
    path = "/v1/params",
    tag = "network",
    responses(
        (status = 200, description = "The governed parameters in force and their bounds", body = Object),
    )
)]
pub async fn params(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let view = committed(&state);
    let params = view
        .params
        .as_ref()
        .ok_or_else(|| ApiError::internal("the ledger has no parameters"))?;
    let last_block_time_ms = view.last_block_time_ms;
    // The validators as the ledger counts them: active cooperatives with
    // voting power and a validator key.
    let validators: Vec<u64> = view
        .cooperatives
        .iter()
        .map(|f| &f.coop)
        .filter(|c| c.active && c.voting_power > 0 && c.validator_key.is_some())
        .map(|c| c.voting_power)
        .collect();
    let total_power = clamp(power_sum(validators.iter().copied()));
    let schedule = params.settlement;
    let limits = params.validator_limits;
    Ok(Json(json!({
        "height": view.height,
        "fee_rules": serde_json::to_value(&params.fee_rules).unwrap_or(Value::Null),
        "tier_limits": serde_json::to_value(params.tier_limits).unwrap_or(Value::Null),
        // The money rules (issue 17): each tier's monthly incoming cap and
        // what it may do, the cap on one payment to a merchant, how long a
        // merchant payment can be refunded.
        "tier_rules": serde_json::to_value(params.tier_rules).unwrap_or(Value::Null),
        "qr_payment_cap": params.qr_payment_cap,
        "refund_period_ms": params.refund_period_ms,
        // The daily sum of a member's cash at or above which observers
        // report it (issue 18).
        "cash_report_threshold": params.cash_report_threshold,
        // The protocol version blocks run under and the scheduled upgrade
        // (issue 19); `speaks` is this node's build's highest version.
        "protocol_version": params.protocol_version,
        "upgrade": params.upgrade.map(|u| serde_json::json!({"version": u.version, "height": u.height})),
        "speaks_protocol": crate::upgrade::speaks(),
        "settlement": {
            "period_ms": schedule.period_ms,
            "offset_ms": schedule.offset_ms,
            "open_window": view.counters.open_window,
            "last_block_time_ms": last_block_time_ms,
            // The first block at or past this time closes the open window
            // (if anything happened in it).
            "next_cutoff_ms": schedule.next_cutoff_after(last_block_time_ms),
        },
        "validator_limits": {
            "validators_max": limits.validators_max,
            "voting_power_max": limits.voting_power_max,
            "voting_power_total_max": limits.voting_power_total_max,
        },
        "ceilings": {
            "validators": VALIDATORS_CEILING,
            "voting_power_total": VOTING_POWER_TOTAL_CEILING,
            "participants": PARTICIPANTS_MAX,
        },
        // How long a member-key recovery waits before it takes effect.
        "recovery_wait_ms": params.recovery_wait_ms,
        "validators": validators.len(),
        "total_voting_power": total_power,
        "participants": params.participants.len(),
    })))
}

/// A sum of voting powers, in `u128`.
fn power_sum(powers: impl Iterator<Item = u64>) -> u128 {
    powers.fold(0u128, |sum, p| sum.saturating_add(u128::from(p)))
}

/// A `u128` figure as a JSON number (clamped: it only shows).
fn clamp(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Strictly more than two thirds, in `u128` (the ledger's rule).
fn supermajority(signed: u128, total: u128) -> bool {
    match (signed.checked_mul(3), total.checked_mul(2)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

/// A proposal with its approvals weighed against today's voting power.
fn proposal_json(proposal: &Proposal, cooperatives: &[Cooperative]) -> Value {
    let active = cooperatives.iter().filter(|c| c.active);
    let total_power = power_sum(active.clone().map(|c| c.voting_power));
    let approved_power = power_sum(
        active
            .filter(|c| proposal.approvals.contains(&c.id))
            .map(|c| c.voting_power),
    );
    let (status, executed_height, failed) = match &proposal.status {
        ProposalStatus::Open => ("open", None, None),
        ProposalStatus::Executed { height } => ("executed", Some(*height), None),
        ProposalStatus::Failed {
            height,
            code,
            reason,
        } => (
            "failed",
            None,
            Some(json!({"height": height, "code": code, "reason": reason})),
        ),
    };
    json!({
        "id": proposal.id,
        "proposer": proposal.proposer.as_str(),
        "action": serde_json::to_value(&proposal.action).unwrap_or(Value::Null),
        "approvals": proposal.approvals.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "approved_power": clamp(approved_power),
        "total_power": clamp(total_power),
        "supermajority": supermajority(approved_power, total_power),
        "status": status,
        "created_height": proposal.created_height,
        "executed_height": executed_height,
        "failed": failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::{CoopId, GovAction};
    use std::collections::BTreeSet;

    fn coop(id: &str, voting_power: u64) -> Cooperative {
        let id = CoopId::new(id).unwrap();
        Cooperative::new(id.clone(), id.to_string(), None, voting_power, 0)
    }

    /// A store can hold any figure (written before the ledger bounded
    /// voting power, or damaged): the handler still answers.
    #[test]
    fn powers_past_u64_do_not_panic() {
        let cooperatives = vec![coop("a", u64::MAX), coop("b", u64::MAX), coop("c", 1)];
        let proposal = Proposal {
            id: 0,
            proposer: CoopId::new("a").unwrap(),
            action: GovAction::SetVotingPower {
                id: CoopId::new("b").unwrap(),
                voting_power: u64::MAX,
            },
            approvals: BTreeSet::from([CoopId::new("a").unwrap(), CoopId::new("b").unwrap()]),
            status: ProposalStatus::Failed {
                height: 7,
                code: "total_voting_power_exceeded".into(),
                reason: "total_voting_power_exceeded: ...".into(),
            },
            created_height: 5,
        };
        let json = proposal_json(&proposal, &cooperatives);
        assert_eq!(json["total_power"], u64::MAX);
        assert_eq!(json["approved_power"], u64::MAX);
        assert_eq!(json["supermajority"], true);
        assert_eq!(json["status"], "failed");
        assert_eq!(json["failed"]["code"], "total_voting_power_exceeded");
        assert_eq!(json["failed"]["height"], 7);
    }

    #[test]
    fn supermajority_is_strict() {
        assert!(!supermajority(2, 3));
        assert!(supermajority(3, 4));
        assert!(!supermajority(0, 0));
        assert!(!supermajority(u128::MAX, u128::MAX));
    }
}
