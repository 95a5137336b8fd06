//! Simulation parameters.

use kopnet_consensus::QuorumRule;

/// One simulation run's shape; faults are drawn from the seed.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Validators at genesis (one cooperative each).
    pub validators: usize,
    pub byzantine: usize,
    /// Heights every honest node must decide after the network heals.
    pub heights: u64,
    /// Deliberately broken quorum rule (to show the checker catches it).
    pub quorum_rule: QuorumRule,
    /// Allow crashes, partitions and drops (off: a clean network).
    pub faults: bool,
    /// Seeded governance changes (voting power, a cooperative joining and
    /// leaving the validator set) and the standby node that may join.
    pub governance: bool,
    /// Deliberately corrupt one honest node's ledger (money moved between
    /// two members outside any block), to show the state-root check
    /// catches it.
    pub faulty_ledger: bool,
    /// Byzantine nodes may also flood future heights, send false height
    /// hints and answer catch-up with bad pages (off: only their consensus
    /// behaviour).
    pub hostile: bool,
    /// Every flooder signs its flood votes and aims at its own height being
    /// decided (the case that found the vote keeper's hole, see [`super::flood`]).
    pub unrestricted_flood: bool,
    /// Storage faults drawn from the seed besides the other faults: a
    /// node's store refuses a write, fails a flush or fills up, its safety
    /// record fails to save or to sync, or its machine loses power
    /// ([`super::disk`]). The host must fail stop; the node restarts from
    /// what was durable.
    pub storage_faults: bool,
    /// Every node prunes, keeping this many blocks (0: archive nodes, the
    /// default; else at least `KEEP_BLOCKS_MIN`). The run's faults are then
    /// held back until the chain is past the pruning horizon, so crashes,
    /// partitions and storage faults strike nodes that prune with every
    /// block ([`super::runner`]).
    pub prune_keep_blocks: u64,
    /// Keep every trace line, not only the tail (for `kopnet-sim --trace`).
    /// Does not change the run or its trace hash.
    pub full_trace: bool,
}

impl SimConfig {
    pub fn new(seed: u64, validators: usize, byzantine: usize, heights: u64) -> Self {
        SimConfig {
            seed,
            validators,
            byzantine,
            heights,
            quorum_rule: QuorumRule::Bft,
            faults: true,
            governance: true,
            faulty_ledger: false,
            hostile: true,
            unrestricted_flood: false,
            storage_faults: false,
            prune_keep_blocks: 0,
            full_trace: false,
        }
    }

    /// The command line that replays this run and prints its full trace.
    pub fn replay_command(&self) -> String {
        let mut flags = String::new();
        if self.quorum_rule != QuorumRule::Bft {
            flags.push_str(" --unsafe-quorum");
        }
        if !self.faults {
            flags.push_str(" --no-faults");
        }
        if !self.governance {
            flags.push_str(" --no-governance");
        }
        if self.faulty_ledger {
            flags.push_str(" --faulty-ledger");
        }
        if !self.hostile {
            flags.push_str(" --no-hostile");
        }
        if self.unrestricted_flood {
            flags.push_str(" --unrestricted-flood");
        }
        if self.storage_faults {
            flags.push_str(" --storage-faults");
        }
        if self.prune_keep_blocks > 0 {
            flags.push_str(&format!(" --prune-keep {}", self.prune_keep_blocks));
        }
        format!(
            "cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seed {} --validators {} --byzantine {} --heights {}{} --trace",
            self.seed, self.validators, self.byzantine, self.heights, flags
        )
    }
}

/// Simulated-time constants (milliseconds).
pub mod timing {
    pub const PROPOSE_MS: u64 = 400;
    pub const PREVOTE_MS: u64 = 200;
    pub const PRECOMMIT_MS: u64 = 200;
    pub const DELTA_MS: u64 = 100;
    pub const EMPTY_BLOCK_INTERVAL_MS: u64 = 600;
    /// Busy heights wait this long before round 0 (the node's rule,
    /// `consensus.block_interval_min_ms`), so the simulated hosts take
    /// that timer's path too.
    pub const BLOCK_INTERVAL_MIN_MS: u64 = 100;
    pub const GOSSIP_INTERVAL_MS: u64 = 250;
    pub const DELAY_MS_MAX: u64 = 150;
    /// Faults (partitions, crashes) all end by this time.
    pub const FAULT_WINDOW_MS_MAX: u64 = 8_000;
    /// After healing, honest nodes must reach the target within this, plus
    /// `PER_HEIGHT_BUDGET_MS` per height.
    pub const LIVENESS_BASE_MS: u64 = 30_000;
    pub const PER_HEIGHT_BUDGET_MS: u64 = 6_000;
    /// Hard bound on events per run.
    pub const EVENTS_MAX: u64 = 3_000_000;
    /// Blocks per sync response.
    pub const SYNC_BATCH_MAX: u32 = 8;
    /// A catch-up request with no answer by then has failed.
    pub const SYNC_TIMEOUT_MS: u64 = 1_000;
    /// Own messages kept for re-gossip.
    pub const OUTBOX_MAX: usize = 8;
    /// Clients act (new intents, signing, resubmission) every 150-600 ms.
    pub const CLIENT_TICK_MS_MIN: u64 = 150;
    pub const CLIENT_TICK_MS_MAX: u64 = 600;
    /// A client resubmits a transaction not committed after this long.
    pub const RESUBMIT_MS: u64 = 2_000;
    /// An honest node may be `syncing` on false claims alone (no node has
    /// committed past it) for at most this long: a claim falls with one
    /// answer of its claimant (a round trip of at most `2 * DELAY_MS_MAX`),
    /// or after `CLAIM_FAILURES_MAX` (3) requests that went unanswered
    /// (each `SYNC_TIMEOUT_MS`, sent at the latest one gossip tick later);
    /// ten seconds is twice that with drops.
    pub const FALSE_SYNC_MS_MAX: u64 = 10_000;
    /// Governance starts after this (members are registered by then).
    pub const GOVERNANCE_START_MS: u64 = 1_000;
}
