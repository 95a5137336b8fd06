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
    Executed {
        height: u64,
    },
    /// Approvals passed 2/3 at `height`, but the action could not be
    /// carried out on the state of that moment (its checks run again then):
    /// nothing changed but this status. `code` is the rejection code
    /// (`total_voting_power_exceeded`, `unknown_cooperative`, ...),
    /// `reason` the same in words.
    Failed {
        height: u64,
        code: String,
        reason: String,
    },
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
