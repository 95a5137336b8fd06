//! `GET /v1/evidence`: the misbehaviour on the chain.
//!
//! Each entry is an offence some validator's node proved (two conflicting
//! signed votes for one height, round and step, or two conflicting signed
//! proposals for one round) and a proposer took into a block, which every
//! validator verified before voting for it. Newest first, at most
//! [`EVIDENCE_PAGE_MAX`]. Public, like the blocks that carry it: who
//! misbehaved is the network's business and the regulator's.

use super::queries::ledger_read;
use super::{ApiError, ApiResult, ApiState};
use axum::extract::State;
use axum::Json;
use kopnet_ledger::evidence::{CommittedEvidence, EvidenceKind};
use serde_json::{json, Value};

/// Most entries one answer carries.
pub const EVIDENCE_PAGE_MAX: usize = 200;

pub async fn evidence(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let ledger = ledger_read(&state)?;
    let committed = ledger
        .evidence(EVIDENCE_PAGE_MAX)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let cooperatives = ledger.cooperatives();
    let list: Vec<Value> = committed
        .iter()
        .map(|entry| {
            let coop = cooperatives
                .iter()
                .find(|c| c.key == Some(entry.record.offender))
                .map(|c| c.id.to_string());
            evidence_json(entry, coop)
        })
        .collect();
    Ok(Json(json!({ "evidence": list })))
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
