//! Evidence from an honest node's observation to the chain.
//!
//! Every block an honest node commits must accuse only Byzantine
//! validators. And an offence an honest node observed must reach the chain
//! through that node's own proposals: the node keeps it in its evidence
//! pool (memory) and takes the pool into the next block it builds, up to
//! the ledger's `BLOCK_EVIDENCE_MAX` records per block. So the check, for
//! an offence of height `o` that node `N` observed while its committed
//! height was `c`: once a block of height `H >= max(c + 2, o + 1)` that `N`
//! proposed (built after the observation, and late enough to carry it) is
//! committed, the offence is on the chain by `H` — unless that block is
//! full of evidence already. The check cannot hold `N` to an observation
//! that `N` lost: it crashed after it (the pool is memory), or its pool was
//! at its bound (`EVIDENCE_POOL_MAX`) when the offence came. Those are
//! counted as unchecked. (Whether the offence reaches the chain at all
//! depends on an honest observer proposing a decided block within the run:
//! weighted proposer rotation does not promise that in a few heights, so a
//! plain "within K heights" rule would fail on luck, not on a bug.)

use super::net::NodeId;
use super::node::SimLedger;
use super::violation::Violation;
use kopnet_consensus::{Evidence, Height, Offence, PublicKey};
use kopnet_ledger::evidence::{EvidenceRecord, BLOCK_EVIDENCE_MAX};
use kopnet_ledger::Block;
use kopnet_node::host::evidence::record_of;
use std::collections::BTreeMap;

/// An observation not yet proven on the chain.
struct Observed {
    record: EvidenceRecord,
    /// The observer's committed height when it observed.
    committed: Height,
}

#[derive(Default)]
pub struct EvidenceWatch {
    pending: BTreeMap<NodeId, BTreeMap<Offence, Observed>>,
    pub observed: u64,
    pub confirmed: u64,
    pub unchecked: u64,
}

impl EvidenceWatch {
    /// Honest node `node` at committed height `committed` observed
    /// `evidence`; `pool_full` says its pool may have had no room for it.
    pub fn observed(
        &mut self,
        node: NodeId,
        evidence: &Evidence,
        committed: Height,
        pool_full: bool,
    ) {
        let offence = evidence.offence();
        let mine = self.pending.entry(node).or_default();
        if mine.contains_key(&offence) {
            return;
        }
        self.observed += 1;
        match record_of(evidence) {
            Some(record) if !pool_full => {
                mine.insert(offence, Observed { record, committed });
            }
            _ => self.unchecked += 1,
        }
    }

    /// `node` crashed: its pool is gone.
    pub fn crashed(&mut self, node: NodeId) {
        if let Some(mine) = self.pending.remove(&node) {
            self.unchecked += mine.len() as u64;
        }
    }

    /// Honest `node` (key `key`) committed `block`; `ledger` is its ledger
    /// after the block.
    pub fn committed(
        &mut self,
        node: NodeId,
        key: &PublicKey,
        block: &Block,
        ledger: &SimLedger,
    ) -> Result<(), Violation> {
        let Some(mine) = self.pending.get_mut(&node) else {
            return Ok(());
        };
        let height = block.header.height;
        let ours_with_room =
            block.header.proposer == *key && block.evidence.len() < BLOCK_EVIDENCE_MAX;
        let mut confirmed = Vec::new();
        for (offence, observed) in mine.iter() {
            if ledger.evidence_committed(&observed.record).unwrap_or(false) {
                confirmed.push(*offence);
                continue;
            }
            let due =
                height >= observed.committed.saturating_add(2) && height > observed.record.height;
            if ours_with_room && due {
                return Err(Violation::EvidenceMissing {
                    node,
                    height,
                    offence: format!(
                        "{:?} at height {} round {} (observed at committed height {})",
                        observed.record.kind, offence.height, offence.round, observed.committed
                    ),
                });
            }
        }
        for offence in confirmed {
            mine.remove(&offence);
            self.confirmed += 1;
        }
        Ok(())
    }
}
