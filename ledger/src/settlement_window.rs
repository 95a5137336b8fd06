//! A closed settlement window as the state stores it: plain data and the
//! questions it answers about itself. The rules that close, acknowledge and
//! settle windows are in [`crate::settlement`]; this module sits below both
//! that module and [`crate::state`], which stores windows, so neither has to
//! import the other.

use crate::types::{CoopId, Position, WindowStats};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One participant's figures in a closed window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowEntry {
    pub position: Position,
    pub stats: WindowStats,
    /// Net owed to (+) or by (−) each counterparty in this window.
    pub bilateral: BTreeMap<CoopId, Position>,
}

/// A closed settlement window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementWindow {
    pub number: u64,
    /// The block that closed it: the first past a cut-off.
    pub closed_at_height: u64,
    /// That block's time (ms since the Unix epoch).
    pub closed_at_ms: u64,
    /// Participants with any activity in the window.
    pub entries: BTreeMap<CoopId, WindowEntry>,
    pub acknowledged: BTreeSet<CoopId>,
    pub settled: bool,
}

impl SettlementWindow {
    /// Cooperatives that must acknowledge before the window is settled.
    pub fn required_acks(&self) -> impl Iterator<Item = &CoopId> {
        self.entries
            .iter()
            .filter(|(id, e)| e.position != 0 && !id.is_network())
            .map(|(id, _)| id)
    }

    /// Whether every cooperative that owes an acknowledgement gave it.
    pub(crate) fn fully_acknowledged(&self) -> bool {
        self.required_acks()
            .all(|id| self.acknowledged.contains(id))
    }

    /// Sum of the frozen positions; always zero.
    pub fn position_sum(&self) -> Option<Position> {
        self.entries
            .values()
            .try_fold(0i128, |acc, e| acc.checked_add(e.position))
    }
}
