//! A governance proposal as the state stores it: plain data. The rules that
//! open, approve and execute proposals are in [`crate::governance`]; this
//! module sits below both that module and [`crate::state`], which stores
//! proposals, so neither has to import the other.

use crate::tx::GovAction;
use crate::types::CoopId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where a proposal stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalStatus {
    Open,
    Executed { height: u64 },
    Failed { height: u64, reason: String },
}

/// A proposed governance action and the validators that approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: u64,
    pub proposer: CoopId,
    pub action: GovAction,
    pub approvals: BTreeSet<CoopId>,
    pub status: ProposalStatus,
    pub created_height: u64,
}
