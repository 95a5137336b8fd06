//! `--prune-keep N`: every node prunes, as `kopnet node run` does with
//! `pruning.keep_blocks = N` (the same [`kopnet_node::chain_store::pruning`]
//! setting, certificates and validator sets included), and the run is
//! shaped so that the faults strike nodes that prune.
//!
//! Pruning starts only once the chain is `N` blocks long, while a run's
//! faults all fall in its first seconds. So with pruning on, the faults
//! drawn at the start (partitions, crashes, storage faults, and the heal
//! that fixes the target height) are *held* until the first honest node is
//! a history epoch past the horizon, then released with their drawn
//! offsets from that moment: the crashes, power cuts and refused writes hit
//! nodes whose every block also deletes old heights, and the nodes that
//! come back catch up from peers that no longer hold the oldest blocks.
//!
//! Checked after every commit of every node: it pruned no height it must
//! keep (its base is at most the setting's target for its height), and the
//! lowest block it claims to hold can be read. At the end, pruning must
//! have run (some honest node's base above 1): a run that never pruned has
//! not shown anything.

use super::Simulation;
use crate::sim::net::Event;
use crate::sim::violation::Violation;
use kopnet_ledger::ledger::history_index::EPOCH_BLOCKS;
use kopnet_ledger::{Ledger, Storage};

/// Fault events drawn at the start and held until the chain is past the
/// pruning horizon.
#[derive(Debug)]
pub(super) struct HeldFaults {
    /// Released when the first honest node reaches this height.
    pub from_height: u64,
    /// Each event with its drawn time, counted from the release.
    pub events: Vec<(u64, Event)>,
}

impl HeldFaults {
    /// Held until a history epoch past `keep_blocks`: by then every node
    /// that keeps up prunes with each block.
    pub fn new(keep_blocks: u64) -> HeldFaults {
        HeldFaults {
            from_height: keep_blocks.saturating_add(EPOCH_BLOCKS),
            events: Vec::new(),
        }
    }
}

impl Simulation {
    /// Put a fault event (or the heal) on the queue at `at`, or hold it
    /// while the chain is short of the pruning horizon.
    pub(super) fn schedule_fault(&mut self, at: u64, event: Event) {
        match self.held_faults.as_mut() {
            Some(held) => held.events.push((at, event)),
            None => self.queue.push(at, event),
        }
    }

    /// Release the held faults once an honest node is past the horizon:
    /// each at its drawn time from now, the heal too.
    pub(super) fn release_held_faults(&mut self) {
        let Some(from_height) = self.held_faults.as_ref().map(|h| h.from_height) else {
            return;
        };
        let highest = self.honest().map(|n| n.height()).max().unwrap_or(0);
        if highest < from_height {
            return;
        }
        let Some(held) = self.held_faults.take() else {
            return;
        };
        self.heal_ms = self.heal_ms.saturating_add(self.now_ms);
        for (at, event) in held.events {
            self.queue.push(self.now_ms.saturating_add(at), event);
        }
    }

    /// Heights the run allows for reaching the horizon before the faults
    /// are released (0 when nothing is held).
    pub(super) fn held_budget_heights(&self) -> u64 {
        self.held_faults.as_ref().map_or(0, |h| h.from_height)
    }

    /// At the end of a run with pruning: some honest node pruned.
    pub(super) fn check_pruning_ran(&self) -> Result<(), Violation> {
        if self.config.prune_keep_blocks == 0 || self.agreed.heights_pruned > 0 {
            return Ok(());
        }
        let (node, height) = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_honest())
            .map(|(i, n)| (i, n.height()))
            .max_by_key(|(_, h)| *h)
            .unwrap_or((0, 0));
        Err(Violation::Ledger {
            node,
            height,
            error: format!(
                "no honest node pruned anything, keeping {} blocks",
                self.config.prune_keep_blocks
            ),
        })
    }
}

/// After `node` reported a commit: if it prunes, it kept every height its
/// setting keeps at the height its ledger is at (a node catching up may
/// have committed more blocks than the reports handled so far), and its
/// lowest kept block is readable. The heights it pruned (None: an archive
/// node).
pub(super) fn check_pruned<S: Storage + Clone>(
    node: usize,
    ledger: &Ledger<S>,
) -> Result<Option<u64>, Violation> {
    let Some(pruning) = ledger.pruning() else {
        return Ok(None);
    };
    let (base, height) = (ledger.base_height(), ledger.height());
    let violation = |error: String| Violation::Ledger {
        node,
        height,
        error,
    };
    // Keeping N blocks means holding heights `height - N + 1 ..= height`:
    // said here on its own, not with the ledger's `target_base`, so that a
    // wrong horizon in the ledger is caught rather than agreed with.
    let allowed = height
        .saturating_sub(pruning.keep_blocks())
        .saturating_add(1)
        .max(1);
    if base > allowed {
        return Err(violation(format!(
            "pruned past its horizon: base {base}, but keeping {} blocks at height {height} \
             allows at most {allowed}",
            pruning.keep_blocks()
        )));
    }
    if base <= height {
        match ledger.block(base) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(violation(format!("its base block {base} is missing"))),
            Err(e) => return Err(violation(format!("its base block {base}: {e}"))),
        }
    }
    Ok(Some(base.saturating_sub(1)))
}
