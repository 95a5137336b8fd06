//! What a run did: the faults that fired and the ledger work that was
//! agreed, so a batch can show that every fault kind was exercised.

use std::fmt;
use std::ops::AddAssign;

/// Faults that actually happened in a run (not merely scheduled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Crashes at an event boundary.
    pub crashes: u64,
    /// Crashes after persisting the safety record, before sending.
    pub crashes_mid_send: u64,
    /// Crashes at a storage write (the store refused it; the host stopped).
    pub crashes_at_write: u64,
    pub restarts: u64,
    pub partitions_isolate: u64,
    pub partitions_minority: u64,
    pub partitions_split: u64,
    /// Conflicting proposals sent by a Byzantine proposer.
    pub equivocations: u64,
    /// Conflicting votes sent by a Byzantine validator.
    pub double_votes: u64,
    /// Proposals of values honest validators refuse (tampered blocks).
    pub invalid_proposals: u64,
    /// Messages lost by the link's drop probability.
    pub dropped: u64,
    /// Messages not sent across a partition.
    pub cut: u64,
    pub duplicated: u64,
    /// Messages delivered after one sent later on the same link.
    pub reordered: u64,
    /// Evidence of double votes reported by honest nodes.
    pub evidence: u64,
}

impl AddAssign for FaultCounts {
    fn add_assign(&mut self, o: FaultCounts) {
        self.crashes += o.crashes;
        self.crashes_mid_send += o.crashes_mid_send;
        self.crashes_at_write += o.crashes_at_write;
        self.restarts += o.restarts;
        self.partitions_isolate += o.partitions_isolate;
        self.partitions_minority += o.partitions_minority;
        self.partitions_split += o.partitions_split;
        self.equivocations += o.equivocations;
        self.double_votes += o.double_votes;
        self.invalid_proposals += o.invalid_proposals;
        self.dropped += o.dropped;
        self.cut += o.cut;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
        self.evidence += o.evidence;
    }
}

impl FaultCounts {
    /// Every counted kind with its name, for reports and batch assertions.
    pub fn named(&self) -> [(&'static str, u64); 15] {
        [
            ("crashes", self.crashes),
            ("crashes between persist and send", self.crashes_mid_send),
            ("crashes at a storage write", self.crashes_at_write),
            ("restarts", self.restarts),
            ("partitions isolating one node", self.partitions_isolate),
            (
                "partitions cutting off a minority",
                self.partitions_minority,
            ),
            ("partitions splitting the majority", self.partitions_split),
            ("equivocating proposals", self.equivocations),
            ("double votes", self.double_votes),
            ("invalid (tampered) proposals", self.invalid_proposals),
            ("messages dropped", self.dropped),
            ("messages cut by partitions", self.cut),
            ("messages duplicated", self.duplicated),
            ("messages reordered", self.reordered),
            ("evidence reports", self.evidence),
        ]
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, count) in self.named() {
            writeln!(f, "  {name:<36} {count}")?;
        }
        Ok(())
    }
}

/// The ledger work of a run, as agreed by the honest nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Transactions clients signed (first submissions).
    pub txs_signed: u64,
    /// Resubmissions of transactions not committed in time.
    pub txs_resubmitted: u64,
    /// Transactions in agreed blocks, applied / rejected with a reason code.
    pub txs_applied: u64,
    pub txs_rejected: u64,
    /// Agreed blocks with no transactions.
    pub empty_blocks: u64,
    /// Governance proposals executed.
    pub governance_executed: u64,
    /// Settlement windows the schedule closed, and those settled (on the
    /// longest honest chain at the end).
    pub windows_closed: u64,
    pub windows_settled: u64,
    /// Heights whose validator set differs from the previous height's.
    pub set_changes: u64,
    /// Precommits in agreed certificates by the cooperative that joined
    /// through governance.
    pub joined_precommits: u64,
    /// Blocks a node's host committed from a peer's page (catch-up), over
    /// all nodes.
    pub blocks_caught_up: u64,
    /// Pending transactions a node's mempool evicted after a block (stale
    /// nonce or waited too long), over all nodes.
    pub mempool_evictions: u64,
    /// Restarts whose host read the next height's validator set back from
    /// storage (and used the same set as every other node, or the run fails).
    pub sets_read_back: u64,
    /// `--prune-keep`: the most heights an honest node had pruned (summed
    /// over seeds).
    pub heights_pruned: u64,
}

impl AddAssign for LedgerCounts {
    fn add_assign(&mut self, o: LedgerCounts) {
        self.txs_signed += o.txs_signed;
        self.txs_resubmitted += o.txs_resubmitted;
        self.txs_applied += o.txs_applied;
        self.txs_rejected += o.txs_rejected;
        self.empty_blocks += o.empty_blocks;
        self.governance_executed += o.governance_executed;
        self.windows_closed += o.windows_closed;
        self.windows_settled += o.windows_settled;
        self.set_changes += o.set_changes;
        self.joined_precommits += o.joined_precommits;
        self.blocks_caught_up += o.blocks_caught_up;
        self.mempool_evictions += o.mempool_evictions;
        self.sets_read_back += o.sets_read_back;
        self.heights_pruned += o.heights_pruned;
    }
}

impl fmt::Display for LedgerCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = [
            ("transactions signed", self.txs_signed),
            ("transactions resubmitted", self.txs_resubmitted),
            ("transactions applied", self.txs_applied),
            ("transactions rejected (reason code)", self.txs_rejected),
            ("empty blocks", self.empty_blocks),
            ("governance proposals executed", self.governance_executed),
            ("settlement windows closed (schedule)", self.windows_closed),
            ("settlement windows settled", self.windows_settled),
            ("validator-set changes in effect", self.set_changes),
            ("precommits by the joined validator", self.joined_precommits),
            ("blocks caught up (all nodes)", self.blocks_caught_up),
            ("mempool evictions (all nodes)", self.mempool_evictions),
            ("validator sets read back at restart", self.sets_read_back),
            ("heights pruned (most by a node)", self.heights_pruned),
        ];
        for (name, count) in rows {
            writeln!(f, "  {name:<36} {count}")?;
        }
        Ok(())
    }
}

/// What the hostile behaviours did and what the honest hosts made of it
/// ([`super::flood`], [`super::lies`], evidence on the chain).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostileCounts {
    /// Flood bursts sent, and their messages delivered to honest hosts.
    pub flood_bursts: u64,
    pub flood_messages: u64,
    /// Flood messages an honest host refused (not kept, not forwarded).
    pub flood_refused: u64,
    /// Most messages and bytes an honest engine held for the next height
    /// (the largest over the run; a batch keeps the largest too).
    pub future_messages_peak: u64,
    pub future_bytes_peak: u64,
    /// False height hints delivered to honest hosts.
    pub false_hints: u64,
    /// Catch-up requests a liar answered with a bad page, or left unanswered.
    pub bad_pages: u64,
    pub unanswered_requests: u64,
    /// Penalties honest hosts gave Byzantine peers, by offence.
    pub penalties_bad_page: u64,
    pub penalties_false_claim: u64,
    /// Offences honest hosts observed (each counted once per observer).
    pub offences_observed: u64,
    /// Evidence records on the agreed chain at the end (all against
    /// Byzantine validators, or the run fails).
    pub evidence_committed: u64,
    /// Observations that a later block of the observer proved on the chain
    /// (the inclusion check, [`super::evidence_watch`]).
    pub evidence_confirmed: u64,
    /// Observations the inclusion check could not hold the observer to: it
    /// crashed (its pool is memory), or its pool was full.
    pub evidence_unchecked: u64,
}

impl AddAssign for HostileCounts {
    fn add_assign(&mut self, o: HostileCounts) {
        self.flood_bursts += o.flood_bursts;
        self.flood_messages += o.flood_messages;
        self.flood_refused += o.flood_refused;
        self.future_messages_peak = self.future_messages_peak.max(o.future_messages_peak);
        self.future_bytes_peak = self.future_bytes_peak.max(o.future_bytes_peak);
        self.false_hints += o.false_hints;
        self.bad_pages += o.bad_pages;
        self.unanswered_requests += o.unanswered_requests;
        self.penalties_bad_page += o.penalties_bad_page;
        self.penalties_false_claim += o.penalties_false_claim;
        self.offences_observed += o.offences_observed;
        self.evidence_committed += o.evidence_committed;
        self.evidence_confirmed += o.evidence_confirmed;
        self.evidence_unchecked += o.evidence_unchecked;
    }
}

impl HostileCounts {
    /// Every count with its name, for reports and batch assertions.
    pub fn named(&self) -> [(&'static str, u64); 14] {
        [
            ("flood bursts", self.flood_bursts),
            ("flood messages to honest hosts", self.flood_messages),
            ("flood messages refused", self.flood_refused),
            ("peak next-height messages held", self.future_messages_peak),
            ("peak next-height bytes held", self.future_bytes_peak),
            ("false hints to honest hosts", self.false_hints),
            ("bad catch-up pages", self.bad_pages),
            (
                "catch-up requests left unanswered",
                self.unanswered_requests,
            ),
            ("penalties for bad pages", self.penalties_bad_page),
            ("penalties for false claims", self.penalties_false_claim),
            ("offences observed (per observer)", self.offences_observed),
            ("evidence records committed", self.evidence_committed),
            ("observations confirmed on chain", self.evidence_confirmed),
            ("observations not checkable", self.evidence_unchecked),
        ]
    }
}

impl fmt::Display for HostileCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, count) in self.named() {
            writeln!(f, "  {name:<36} {count}")?;
        }
        Ok(())
    }
}

/// Storage faults that fired (`--storage-faults`, [`super::disk`]) and
/// what the nodes made of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageCounts {
    /// Host fail-stops on an injected storage fault, by the fault: the
    /// store refused a write, a flush failed after the batch was applied,
    /// the disk was full, the safety record's save failed, its sync failed.
    pub writes_refused: u64,
    pub flushes_failed: u64,
    pub disks_full: u64,
    pub safety_saves_failed: u64,
    pub safety_syncs_failed: u64,
    /// Machines that lost power: a scheduled power cut, or how a node that
    /// failed stop went down (drawn; otherwise its process exited).
    pub power_cuts: u64,
    pub process_exits: u64,
    /// Unflushed batches and unsynced safety records a power cut lost.
    pub batches_lost: u64,
    pub records_lost: u64,
    /// Unflushed batches and unsynced records that reached the disk after
    /// the process exited.
    pub batches_written_back: u64,
    pub records_written_back: u64,
    /// Restarts that found the block whose flush had failed (written back):
    /// one height more than the node had reported.
    pub in_doubt_blocks_found: u64,
    /// Restarts after a power cut whose store held every block the node
    /// had committed (or the run fails). Both counts include the nodes
    /// still down at the end of a run, whose stores are opened then.
    pub restarts_after_power_cut: u64,
}

impl AddAssign for StorageCounts {
    fn add_assign(&mut self, o: StorageCounts) {
        self.writes_refused += o.writes_refused;
        self.flushes_failed += o.flushes_failed;
        self.disks_full += o.disks_full;
        self.safety_saves_failed += o.safety_saves_failed;
        self.safety_syncs_failed += o.safety_syncs_failed;
        self.power_cuts += o.power_cuts;
        self.process_exits += o.process_exits;
        self.batches_lost += o.batches_lost;
        self.records_lost += o.records_lost;
        self.batches_written_back += o.batches_written_back;
        self.records_written_back += o.records_written_back;
        self.in_doubt_blocks_found += o.in_doubt_blocks_found;
        self.restarts_after_power_cut += o.restarts_after_power_cut;
    }
}

impl StorageCounts {
    /// Every count with its name, for reports and batch assertions.
    pub fn named(&self) -> [(&'static str, u64); 13] {
        [
            ("fail-stops: store write refused", self.writes_refused),
            ("fail-stops: store flush failed", self.flushes_failed),
            ("fail-stops: disk full", self.disks_full),
            ("fail-stops: safety save failed", self.safety_saves_failed),
            ("fail-stops: safety sync failed", self.safety_syncs_failed),
            ("power cuts", self.power_cuts),
            ("process exits after a fail-stop", self.process_exits),
            ("unflushed batches lost", self.batches_lost),
            ("unsynced safety records lost", self.records_lost),
            ("unflushed batches written back", self.batches_written_back),
            ("unsynced records written back", self.records_written_back),
            (
                "restarts finding the in-doubt block",
                self.in_doubt_blocks_found,
            ),
            ("restarts after a power cut", self.restarts_after_power_cut),
        ]
    }

    /// The fail-stops, all kinds together.
    pub fn fail_stops(&self) -> u64 {
        self.writes_refused
            + self.flushes_failed
            + self.disks_full
            + self.safety_saves_failed
            + self.safety_syncs_failed
    }
}

impl fmt::Display for StorageCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, count) in self.named() {
            writeln!(f, "  {name:<36} {count}")?;
        }
        Ok(())
    }
}
