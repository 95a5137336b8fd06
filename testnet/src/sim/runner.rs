//! The simulation loop: pop the next event, hand it to the node's own host
//! ([`kopnet_node::host::Host`]), carry out the host's effects over the
//! simulated network and clock ([`host`]), check invariants.

use super::byzantine::{Behaviour, Hostility};
use super::checker::Checker;
use super::clients::Clients;
use super::config::{timing, SimConfig};
use super::disk;
use super::evidence_watch::EvidenceWatch;
use super::governance::{self, Governance};
use super::net::{CrashKind, Event, EventQueue, LinkModel, PartitionKind};
use super::node::{self, SimNode};
use super::stats::{FaultCounts, HostileCounts, LedgerCounts, StorageCounts};
use super::trace::{Trace, TraceEvent};
use super::violation::Violation;
use super::world::{World, CHAIN_ID};
use kopnet_consensus::{Height, ValidatorSet};
use kopnet_node::host::{HostConfig, Timer};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;

/// A passed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReport {
    pub seed: u64,
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ms: u64,
    pub heights_decided: u64,
    pub faults: FaultCounts,
    pub ledger: LedgerCounts,
    pub hostile: HostileCounts,
    pub storage: StorageCounts,
}

/// A failed run: the seed, what broke, and the end of the trace.
#[derive(Clone, Debug)]
pub struct SimFailure {
    pub config: SimConfig,
    pub violation: Violation,
    pub time_ms: u64,
    pub trace_tail: Vec<String>,
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {} FAILED at t={}ms: {}",
            self.config.seed, self.time_ms, self.violation
        )?;
        writeln!(f, "trace tail:")?;
        for line in &self.trace_tail {
            writeln!(f, "  {line}")?;
        }
        write!(f, "replay (full trace): {}", self.config.replay_command())
    }
}

/// One run's result and, if `config.full_trace`, every trace line.
pub struct SimRun {
    pub result: Result<SimReport, Box<SimFailure>>,
    pub trace: Option<Vec<String>>,
}

/// Run one seed.
pub fn run(config: &SimConfig) -> Result<SimReport, Box<SimFailure>> {
    run_traced(config).result
}

/// Run one seed, keeping the full trace if the config asks for it.
pub fn run_traced(config: &SimConfig) -> SimRun {
    let mut sim = Simulation::new(config.clone());
    let outcome = sim.run_loop();
    let result = match outcome {
        Ok(()) => Ok(sim.report()),
        Err(violation) => Err(Box::new(SimFailure {
            config: config.clone(),
            violation,
            time_ms: sim.now_ms,
            trace_tail: sim.trace.tail(),
        })),
    };
    SimRun {
        result,
        trace: sim.trace.take_full(),
    }
}

pub(super) struct Simulation {
    pub(super) config: SimConfig,
    pub(super) host_config: HostConfig,
    pub(super) rng: ChaCha8Rng,
    /// The storage faults' own generator ([`disk::rng`]).
    pub(super) disk_rng: ChaCha8Rng,
    pub(super) queue: EventQueue,
    pub(super) link: LinkModel,
    pub(super) world: World,
    pub(super) nodes: Vec<SimNode>,
    pub(super) clients: Clients,
    pub(super) checker: Checker,
    pub(super) trace: Trace,
    pub(super) faults: FaultCounts,
    pub(super) hostile: HostileCounts,
    pub(super) storage: StorageCounts,
    pub(super) evidence_watch: EvidenceWatch,
    /// Per node: since when it is `syncing` with no node past it.
    pub(super) false_sync_since: Vec<Option<u64>>,
    /// Transactions and blocks of the agreed chain.
    pub(super) agreed: LedgerCounts,
    /// Heights whose block `agreed` counted.
    pub(super) counted: std::collections::BTreeSet<u64>,
    pub(super) now_ms: u64,
    pub(super) heal_ms: u64,
    /// Height every honest node must reach, fixed when the network heals.
    pub(super) target: Option<u64>,
    /// Sends so far (orders deliveries per link).
    pub(super) send_seq: u64,
    /// Highest send order delivered per link (from * nodes + to).
    pub(super) last_delivered: Vec<u64>,
    /// `--faulty-ledger`: the node to corrupt, until it is done.
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(super) corrupt: Option<usize>,
    /// Set if the world could not be built.
    setup_error: Option<String>,
    /// `--prune-keep`: the faults held until the chain is past the pruning
    /// horizon ([`pruning`]); None once released, or without pruning.
    held_faults: Option<pruning::HeldFaults>,
}

impl Simulation {
    fn new(config: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let world = World::new(
            &mut rng,
            config.seed,
            config.validators,
            config.byzantine,
            config.governance,
        );
        let behaviours: Vec<(Behaviour, Hostility)> = (0..world.nodes())
            .map(|i| {
                if world.is_byzantine(i) {
                    (Behaviour::pick(&mut rng), Hostility::pick(&mut rng))
                } else {
                    (Behaviour::Honest, Hostility::default())
                }
            })
            .collect();
        let plan = if config.governance {
            governance::plan(&mut rng, &world)
        } else {
            Vec::new()
        };
        let mut nodes: Vec<SimNode> = world
            .coops
            .iter()
            .zip(behaviours)
            .map(|(coop, (behaviour, hostility))| {
                SimNode::new(
                    coop.validator.clone(),
                    coop.node.public(),
                    behaviour,
                    hostility,
                )
            })
            .collect();
        // `--faulty-ledger` corrupts a ledger, which only a build with the
        // fault-injection feature can do.
        let mut setup_error = (config.faulty_ledger && !cfg!(feature = "fault-injection"))
            .then(|| "--faulty-ledger needs a build with --features fault-injection".to_string());
        match kopnet_node::chain_store::pruning(config.prune_keep_blocks) {
            Ok(setting) => {
                for node in &mut nodes {
                    node.pruning = setting.clone();
                }
            }
            Err(e) => setup_error = Some(format!("--prune-keep: {e}")),
        }
        let held_faults = (config.prune_keep_blocks > 0)
            .then(|| pruning::HeldFaults::new(config.prune_keep_blocks));
        let n = world.nodes();
        let corrupt = config
            .faulty_ledger
            .then(|| (0..n).find(|&i| !world.is_byzantine(i)))
            .flatten();
        Simulation {
            corrupt,
            host_config: node::host_config(&config),
            clients: Clients::new(&world, Governance::new(plan)),
            checker: Checker::new(
                CHAIN_ID,
                world.byzantine_keys(),
                world.standby.map(|i| world.coops[i].validator.public()),
            ),
            trace: Trace::new(config.full_trace),
            disk_rng: disk::rng(config.seed),
            config,
            rng,
            queue: EventQueue::default(),
            link: LinkModel::clean(n),
            world,
            nodes,
            faults: FaultCounts::default(),
            hostile: HostileCounts::default(),
            storage: StorageCounts::default(),
            evidence_watch: EvidenceWatch::default(),
            false_sync_since: vec![None; n],
            agreed: LedgerCounts::default(),
            counted: std::collections::BTreeSet::new(),
            now_ms: 0,
            heal_ms: 0,
            target: None,
            send_seq: 0,
            last_delivered: vec![0; n * n],
            setup_error,
            held_faults,
        }
    }

    fn report(&self) -> SimReport {
        let mut ledger = self.agreed;
        ledger.txs_signed = self.clients.counts.txs_signed;
        ledger.txs_resubmitted = self.clients.counts.txs_resubmitted;
        ledger.governance_executed = self.clients.governance().executed;
        let (closed, settled) = self.settlement_windows();
        ledger.windows_closed = closed;
        ledger.windows_settled = settled;
        ledger.set_changes = self.checker.set_changes;
        ledger.joined_precommits = self.checker.standby_precommits;
        let mut faults = self.faults;
        faults.evidence = self.checker.evidence_seen;
        let mut hostile = self.hostile;
        hostile.offences_observed = self.evidence_watch.observed;
        hostile.evidence_confirmed = self.evidence_watch.confirmed;
        hostile.evidence_unchecked = self.evidence_watch.unchecked;
        SimReport {
            seed: self.config.seed,
            trace_hash: self.trace.hash_hex(),
            events: self.trace.len(),
            sim_time_ms: self.now_ms,
            heights_decided: self.checker.decided_heights(),
            faults,
            ledger,
            hostile,
            storage: self.storage,
        }
    }

    /// Draw the fault schedule and start every node.
    fn setup(&mut self) -> Result<(), Violation> {
        if let Some(error) = self.setup_error.take() {
            return Err(Violation::Setup { error });
        }
        let n = self.nodes.len();
        if self.config.faults {
            self.link.drop_probability = self.rng.gen_range(0.0..0.15);
            self.link.duplicate_probability = self.rng.gen_range(0.0..0.1);
            self.link.delay_ms_max = self.rng.gen_range(5..=timing::DELAY_MS_MAX);
            self.heal_ms = self.rng.gen_range(1_000..=timing::FAULT_WINDOW_MS_MAX);
            if self.rng.gen_bool(0.7) {
                let at = self.rng.gen_range(0..self.heal_ms);
                let (groups, kind) = self.partition_groups();
                self.schedule_fault(at, Event::Partition { groups, kind });
            }
            let crashes = self.rng.gen_range(0..=2usize);
            for _ in 0..crashes {
                let node = self.rng.gen_range(0..n);
                let at = self.rng.gen_range(0..self.heal_ms);
                let back = self.rng.gen_range(at..=self.heal_ms);
                let how = match self.rng.gen_range(0..3) {
                    0 => CrashKind::Now,
                    1 => CrashKind::MidSend,
                    _ => CrashKind::AtWrite {
                        commits_ok: self.rng.gen_range(0..=1),
                    },
                };
                self.schedule_fault(at, Event::Crash { node, how });
                self.schedule_fault(back, Event::Restart { node });
            }
            if self.config.storage_faults {
                self.schedule_storage_faults();
            }
        }
        self.schedule_fault(self.heal_ms, Event::Heal);
        let clients_at = self.rng.gen_range(0..timing::CLIENT_TICK_MS_MAX);
        self.queue.push(clients_at, Event::Clients);
        for node in 0..n {
            let gossip_at = self.rng.gen_range(0..timing::GOSSIP_INTERVAL_MS);
            self.queue.push(gossip_at, Event::Gossip { node });
            self.restart(node)?;
        }
        Ok(())
    }

    /// One node isolated, a minority cut off, or the nodes split in two.
    /// The shapes are drawn by genesis voting power, not by node count
    /// (with unequal power, "a third of the nodes" can hold most of the
    /// power): see [`cut_by_power`].
    fn partition_groups(&mut self) -> (Vec<u8>, PartitionKind) {
        let n = self.nodes.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let kind = match self.rng.gen_range(0..3) {
            0 => PartitionKind::Isolate,
            1 => PartitionKind::Minority,
            _ => PartitionKind::Split,
        };
        let wanted = match kind {
            PartitionKind::Isolate => 1,
            PartitionKind::Minority => self.rng.gen_range(1..n.max(2)),
            PartitionKind::Split => n,
        };
        let cut = cut_by_power(&order, &self.world.powers, kind, wanted);
        let mut groups = vec![0u8; n];
        for i in cut {
            groups[i] = 1;
        }
        (groups, kind)
    }

    fn run_loop(&mut self) -> Result<(), Violation> {
        self.setup()?;
        while let Some((at, event)) = self.queue.pop() {
            self.now_ms = at;
            let deadline = self.deadline_ms();
            if let Some(target) = self.target {
                if self.honest().all(|n| n.height() >= target) {
                    return self.final_checks();
                }
            }
            if at > deadline {
                return Err(self.liveness_violation(deadline));
            }
            if self.trace.len() >= timing::EVENTS_MAX {
                return Err(Violation::EventBudget {
                    events: self.trace.len(),
                });
            }
            self.apply(event)?;
            self.release_held_faults();
        }
        Err(self.liveness_violation(self.deadline_ms()))
    }

    /// When the honest nodes must have reached the target: after the heal,
    /// a base allowance and a budget per height (and, while faults are held
    /// for pruning, a budget per height up to their release).
    fn deadline_ms(&self) -> u64 {
        let heights = self
            .config
            .heights
            .saturating_add(self.held_budget_heights());
        self.heal_ms
            .saturating_add(timing::LIVENESS_BASE_MS)
            .saturating_add(heights.saturating_mul(timing::PER_HEIGHT_BUDGET_MS))
    }

    pub(super) fn honest(&self) -> impl Iterator<Item = &SimNode> {
        self.nodes.iter().filter(|n| n.is_honest())
    }

    fn liveness_violation(&self, deadline_ms: u64) -> Violation {
        let target = self.target.unwrap_or(self.config.heights);
        let (node, decided) = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_honest())
            .map(|(i, n)| (i, n.height()))
            .min_by_key(|(_, d)| *d)
            .unwrap_or((0, 0));
        let nodes = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match n.host.as_ref().and_then(|h| h.engine()) {
                Some(e) => format!(
                    "[{i} {:?} h{} r{} {:?} committed {}]",
                    n.behaviour,
                    e.height(),
                    e.round(),
                    e.step(),
                    n.height()
                ),
                None => format!("[{i} {:?} crashed committed {}]", n.behaviour, n.height()),
            })
            .collect::<Vec<_>>()
            .join(" ");
        Violation::Liveness {
            node,
            decided,
            target,
            deadline_ms,
            nodes,
        }
    }

    fn apply(&mut self, event: Event) -> Result<(), Violation> {
        match event {
            Event::Deliver { from, to, seq, msg } => self.deliver(from, to, seq, msg),
            Event::Timer {
                node,
                incarnation,
                height,
                round,
                step,
            } => {
                if self.nodes[node].incarnation != incarnation || self.nodes[node].host.is_none() {
                    return Ok(());
                }
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Timer {
                        node: node as u32,
                        height,
                        round,
                        step: format!("{step:?}"),
                    },
                );
                self.timer(
                    node,
                    Timer {
                        height,
                        round,
                        step,
                    },
                )
            }
            Event::SyncTimeout {
                node,
                incarnation,
                attempt,
            } => {
                if self.nodes[node].incarnation == incarnation {
                    if let Some(h) = self.nodes[node].host.as_mut() {
                        h.on_blocks_failed(attempt);
                    }
                }
                Ok(())
            }
            Event::Gossip { node } => self.gossip(node),
            Event::Clients => self.clients_tick(),
            Event::Crash { node, how } => self.crash(node, how),
            Event::Restart { node } => self.restart_event(node),
            Event::Partition { groups, kind } => {
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Partition {
                        groups: groups.clone(),
                        kind: format!("{kind:?}"),
                    },
                );
                match kind {
                    PartitionKind::Isolate => self.faults.partitions_isolate += 1,
                    PartitionKind::Minority => self.faults.partitions_minority += 1,
                    PartitionKind::Split => self.faults.partitions_split += 1,
                }
                self.link.groups = groups;
                Ok(())
            }
            Event::Heal => {
                self.trace.record(self.now_ms, TraceEvent::Heal);
                self.link.groups = vec![0; self.nodes.len()];
                let highest = self.honest().map(|n| n.height()).max().unwrap_or(0);
                self.target = Some(highest + self.config.heights);
                Ok(())
            }
        }
    }

    /// A scheduled crash strikes `node` now, or arms it for its next
    /// send or storage write.
    fn crash(&mut self, node: usize, how: CrashKind) -> Result<(), Violation> {
        if self.nodes[node].host.is_none() {
            return Ok(()); // already down
        }
        self.trace.record(
            self.now_ms,
            TraceEvent::Crash {
                node: node as u32,
                how: format!("{how:?}"),
            },
        );
        match how {
            CrashKind::Now => {
                self.faults.crashes += 1;
                self.crash_node(node)?;
            }
            CrashKind::MidSend => self.nodes[node].crash_mid_send = true,
            CrashKind::AtWrite { commits_ok } => self.nodes[node].arm_crash_at_write(commits_ok),
            CrashKind::Disk(disk::DiskFault::PowerCut) => {
                self.power_cut(node)?;
            }
            CrashKind::Disk(fault) => self.nodes[node].arm(fault),
        }
        Ok(())
    }

    /// Drop `node`'s host (everything in memory, its evidence pool too);
    /// its process died, its machine did not.
    pub(super) fn crash_node(&mut self, node: usize) -> Result<disk::Tails, Violation> {
        self.go_down(node, disk::Down::ProcessExit)
    }

    /// Drop `node`'s host, going `down` as drawn.
    pub(super) fn go_down(
        &mut self,
        node: usize,
        down: disk::Down,
    ) -> Result<disk::Tails, Violation> {
        let tails = self.nodes[node].crash(down).map_err(|e| Violation::Setup {
            error: format!("node {node}'s simulated disk: {e}"),
        })?;
        self.evidence_watch.crashed(node);
        self.false_sync_since[node] = None;
        Ok(tails)
    }

    /// At the end of a passed run: a node still down holds on its disk
    /// every block it had committed; the evidence on the longest honest
    /// chain accuses only Byzantine validators; count it.
    fn final_checks(&mut self) -> Result<(), Violation> {
        self.reopen_crashed()?;
        let reference = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_honest())
            .filter_map(|(i, n)| n.host.as_ref().map(|h| (i, h)))
            .max_by_key(|(i, h)| (h.height(), std::cmp::Reverse(*i)));
        let Some((node, host)) = reference else {
            return Ok(());
        };
        let committed = {
            let ledger = host.state().ledger.read().map_err(|_| Violation::Setup {
                error: "ledger lock poisoned".into(),
            })?;
            ledger.evidence(usize::MAX).map_err(|e| Violation::Ledger {
                node,
                height: ledger.height(),
                error: e.to_string(),
            })?
        };
        for evidence in &committed {
            self.accused_on_chain(node, evidence.included_in_block, &evidence.record.offender)?;
        }
        self.hostile.evidence_committed = committed.len() as u64;
        self.check_pruning_ran()
    }

    /// A committed block of `height` accuses `offender`: it must be a
    /// Byzantine validator.
    pub(super) fn accused_on_chain(
        &self,
        node: usize,
        height: Height,
        offender: &kopnet_consensus::PublicKey,
    ) -> Result<(), Violation> {
        let index = self
            .nodes
            .iter()
            .position(|n| n.keypair.public() == *offender);
        match index {
            Some(i) if self.nodes[i].is_honest() => Err(Violation::EvidenceOnChain {
                node,
                height,
                offender: i,
            }),
            _ => Ok(()),
        }
    }

    /// A scheduled restart: bring a crashed node back, or call off a crash
    /// that never struck (no send or write came).
    fn restart_event(&mut self, node: usize) -> Result<(), Violation> {
        let n = &mut self.nodes[node];
        if n.host.is_some() {
            n.call_off_faults();
            return Ok(());
        }
        self.faults.restarts += 1;
        self.restart(node)
    }

    /// A node starts `height` with `set` (at start, restart or next height):
    /// the checker sees which set every node uses for every height.
    pub(super) fn use_set(
        &mut self,
        node: usize,
        height: Height,
        set: &ValidatorSet,
    ) -> Result<(), Violation> {
        if let Some(new) = self.checker.used_set(node, height, set)? {
            if height == 1 || new.changed {
                let powers = set
                    .validators()
                    .iter()
                    .map(|v| {
                        let index = self
                            .world
                            .coops
                            .iter()
                            .position(|c| c.validator.public() == v.key)
                            .map_or_else(|| "?".to_string(), |i| i.to_string());
                        format!("{index}:{}", v.voting_power)
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                self.trace
                    .record(self.now_ms, TraceEvent::ValidatorSet { height, powers });
            }
        }
        Ok(())
    }

    /// (Re)start a node from its durable state — ledger storage and safety
    /// record — exactly as `kopnet node run` starts: a new host opened from
    /// storage. After a crash it must find exactly what it had committed
    /// ([`Simulation::check_recovered`]).
    fn restart(&mut self, node: usize) -> Result<(), Violation> {
        let n = &mut self.nodes[node];
        let restarted = n.incarnation > 0;
        let before = n.committed;
        n.open(&self.world.genesis, self.host_config.clone())
            .map_err(|e| Violation::Recovery {
                node,
                error: e.to_string(),
            })?;
        let (height, root) = match n.host.as_ref() {
            Some(h) => {
                let ledger = h.state().ledger.read().map_err(|_| Violation::Recovery {
                    node,
                    error: "ledger lock poisoned".into(),
                })?;
                (ledger.height(), ledger.state_root())
            }
            None => return Ok(()),
        };
        let in_doubt = if restarted {
            let (lost_power, written_back) = (n.lost_power, n.written_back);
            self.check_recovered(node, before, (height, root), lost_power, written_back)?
        } else {
            false
        };
        let n = &mut self.nodes[node];
        n.committed = (height, root);
        n.lost_power = false;
        n.written_back = false;
        let honest = n.is_honest();
        if honest && (in_doubt || self.checker.root(height).is_some()) {
            // What it committed before the crash (and a block whose failed
            // flush was written back, decided all the same) is what
            // everyone agreed.
            self.checker.honest_committed(node, height, root)?;
        }
        if restarted && height > 0 {
            // The set for `height + 1` came from the record block
            // `height - 1` wrote; the checker compares it with every
            // other node's set for that height (HeightStarted).
            self.agreed.sets_read_back += 1;
        }
        self.trace.record(
            self.now_ms,
            TraceEvent::Restart {
                node: node as u32,
                height: height + 1,
                state_root: super::trace::short(&root),
            },
        );
        let now = self.now_ms;
        self.call(node, |h| h.start(now))
    }

    /// Settlement windows the longest honest chain closed on the schedule,
    /// and how many of them settled.
    fn settlement_windows(&self) -> (u64, u64) {
        let Some(host) = self
            .nodes
            .iter()
            .filter(|n| n.is_honest())
            .filter_map(|n| n.host.as_ref())
            .max_by_key(|h| h.height())
        else {
            return (0, 0);
        };
        let Ok(ledger) = host.state().ledger.read() else {
            return (0, 0);
        };
        let settled = ledger.windows().iter().filter(|w| w.settled).count();
        (
            ledger.counters().open_window,
            u64::try_from(settled).unwrap_or(u64::MAX),
        )
    }

    /// The clients act against the longest honest chain's committed state.
    fn clients_tick(&mut self) -> Result<(), Violation> {
        self.trace.record(self.now_ms, TraceEvent::Clients);
        let next = self.now_ms
            + self
                .rng
                .gen_range(timing::CLIENT_TICK_MS_MIN..=timing::CLIENT_TICK_MS_MAX);
        self.queue.push(next, Event::Clients);
        let reference = self
            .nodes
            .iter()
            .filter(|n| n.is_honest())
            .filter_map(|n| n.host.as_ref())
            .max_by_key(|h| h.height())
            .map(|h| h.state().clone());
        let Some(reference) = reference else {
            return Ok(()); // every honest node is down
        };
        let ledger = reference.ledger.read().map_err(|_| Violation::Setup {
            error: "ledger lock poisoned".into(),
        })?;
        let (submissions, notes) = self.clients.tick(
            self.now_ms,
            &ledger,
            &self.world,
            self.nodes.len(),
            &mut self.rng,
        );
        drop(ledger);
        for what in notes {
            self.trace
                .record(self.now_ms, TraceEvent::Governance { what });
        }
        for submission in submissions {
            self.submit(submission)?;
        }
        Ok(())
    }
}

/// Blocks of the agreed chain, counted once per height.
pub(super) fn count_block(counts: &mut LedgerCounts, outcome: &kopnet_ledger::BlockOutcome) {
    if outcome.results.is_empty() {
        counts.empty_blocks += 1;
    }
    for (_, result) in &outcome.results {
        if result.is_ok() {
            counts.txs_applied += 1;
        } else {
            counts.txs_rejected += 1;
        }
    }
}

mod host;
mod hostile;
mod pruning;
mod storage;

/// The nodes a partition of `kind` cuts off, taken in `order` (a seeded
/// shuffle) by their voting power `powers[i]`:
/// - `Isolate`: the first node;
/// - `Minority`: up to `wanted` nodes holding together less than a third of
///   the voting power (at least one node: the least powerful if no node
///   alone is below a third);
/// - `Split`: as many nodes as fit in at most half of the voting power, so
///   neither side is left with more than two thirds as far as the powers
///   allow — the majority is split and no side can commit alone.
///
/// Nodes with no power (the standby) are never needed to reach a share and
/// go wherever `order` puts them.
pub(crate) fn cut_by_power(
    order: &[usize],
    powers: &[u64],
    kind: PartitionKind,
    wanted: usize,
) -> Vec<usize> {
    let power = |i: usize| powers.get(i).copied().unwrap_or(0);
    let total: u64 = order.iter().map(|&i| power(i)).sum();
    let fits = |cut: u64, p: u64| match kind {
        PartitionKind::Isolate => true,
        PartitionKind::Minority => (cut + p).saturating_mul(3) < total,
        PartitionKind::Split => (cut + p).saturating_mul(2) <= total,
    };
    let wanted = if kind == PartitionKind::Isolate {
        1
    } else {
        wanted
    };
    let take = |order: &[usize]| {
        let mut cut = Vec::new();
        let mut cut_power = 0u64;
        for &i in order {
            if cut.len() >= wanted {
                break;
            }
            if fits(cut_power, power(i)) {
                cut.push(i);
                cut_power += power(i);
            }
        }
        (cut, cut_power)
    };
    let (mut cut, cut_power) = take(order);
    if kind == PartitionKind::Split
        && (total - cut_power).saturating_mul(3) > total.saturating_mul(2)
    {
        // The shuffled order left one side a quorum: fill the cut side
        // largest power first (ties in the shuffled order) instead.
        let mut by_power = order.to_vec();
        by_power.sort_by_key(|&i| std::cmp::Reverse(power(i)));
        cut = take(&by_power).0;
    }
    if cut.is_empty() {
        if let Some(&weakest) = order.iter().min_by_key(|&&i| (power(i), i)) {
            cut.push(weakest);
        }
    }
    cut
}

#[cfg(test)]
mod partition_tests {
    use super::*;

    fn share(cut: &[usize], powers: &[u64]) -> (u64, u64) {
        (cut.iter().map(|&i| powers[i]).sum(), powers.iter().sum())
    }

    #[test]
    fn minority_holds_less_than_a_third_of_the_power() {
        // By count, one of four nodes is a minority; by power node 1 is not.
        let powers = [1, 8, 8, 4];
        for order in [[1, 0, 2, 3], [2, 1, 3, 0], [3, 0, 1, 2]] {
            for wanted in 1..4 {
                let cut = cut_by_power(&order, &powers, PartitionKind::Minority, wanted);
                let (cut_power, total) = share(&cut, &powers);
                assert!(!cut.is_empty() && cut.len() <= wanted, "{cut:?}");
                assert!(cut_power * 3 < total, "{order:?} {cut:?}");
            }
        }
    }

    #[test]
    fn split_leaves_no_side_a_quorum_when_the_powers_allow_it() {
        let cases: [&[u64]; 4] = [
            &[1, 1, 1, 1],
            &[1, 8, 8, 4],
            &[2, 2, 2, 1, 0],
            &[5, 1, 1, 1, 1, 1, 3],
        ];
        for powers in cases {
            let n = powers.len();
            let order: Vec<usize> = (0..n).rev().collect();
            let cut = cut_by_power(&order, powers, PartitionKind::Split, n);
            let (cut_power, total) = share(&cut, powers);
            assert!(cut_power * 2 <= total, "{powers:?} {cut:?}");
            assert!((total - cut_power) * 3 <= total * 2, "{powers:?} {cut:?}");
        }
    }

    #[test]
    fn a_node_with_most_of_the_power_is_never_a_minority() {
        let powers = [10, 1, 1];
        let cut = cut_by_power(&[0, 1, 2], &powers, PartitionKind::Minority, 1);
        assert_eq!(cut, vec![1]);
        // No node alone is under a third: the weakest is cut.
        let cut = cut_by_power(&[0, 1, 2], &[5, 5, 4], PartitionKind::Minority, 2);
        assert_eq!(cut, vec![2]);
        let cut = cut_by_power(&[2, 0, 1], &[5, 5, 4], PartitionKind::Isolate, 3);
        assert_eq!(cut, vec![2]);
    }
}
