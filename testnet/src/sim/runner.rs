//! The simulation loop: pop the next event, apply it to the real engines,
//! carry out their outputs like a host would, check invariants.

use super::byzantine::Behaviour;
use super::config::{timing, SimConfig};
use super::invariants::{Checker, Violation};
use super::net::{Event, EventQueue, LinkModel};
use super::node::SimNode;
use super::trace::{Trace, TraceEvent};
use kopnet_consensus::{
    Engine, EngineConfig, Hash, Input, Keypair, TimeoutConfig, Validator, ValidatorSet,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::fmt;

pub const CHAIN_ID: &str = "kopnet-sim";

/// A passed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReport {
    pub seed: u64,
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ms: u64,
    pub heights_decided: u64,
    pub evidence: u64,
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
        write!(f, "replay: {}", self.config.replay_command())
    }
}

/// Run one seed.
pub fn run(config: &SimConfig) -> Result<SimReport, Box<SimFailure>> {
    let mut sim = Simulation::new(config.clone());
    match sim.run_loop() {
        Ok(()) => Ok(SimReport {
            seed: config.seed,
            trace_hash: sim.trace.hash_hex(),
            events: sim.trace.len(),
            sim_time_ms: sim.now_ms,
            heights_decided: sim.checker.decided_heights(),
            evidence: sim.checker.evidence_seen,
        }),
        Err(violation) => Err(Box::new(SimFailure {
            config: config.clone(),
            violation,
            time_ms: sim.now_ms,
            trace_tail: sim.trace.tail(),
        })),
    }
}

struct Simulation {
    config: SimConfig,
    engine_config: EngineConfig,
    rng: ChaCha8Rng,
    queue: EventQueue,
    link: LinkModel,
    nodes: Vec<SimNode>,
    validators: ValidatorSet,
    checker: Checker,
    trace: Trace,
    now_ms: u64,
    heal_ms: u64,
    /// Height every honest node must reach, fixed when the network heals.
    target: Option<u64>,
    healed: bool,
}

fn engine_config(config: &SimConfig) -> EngineConfig {
    #[allow(clippy::expect_used)]
    let mut engine = EngineConfig::new(CHAIN_ID).expect("static chain id is valid");
    engine.timeouts = TimeoutConfig {
        propose_ms: timing::PROPOSE_MS,
        prevote_ms: timing::PREVOTE_MS,
        precommit_ms: timing::PRECOMMIT_MS,
        delta_ms: timing::DELTA_MS,
        empty_block_interval_ms: timing::EMPTY_BLOCK_INTERVAL_MS,
    };
    engine.quorum_rule = config.quorum_rule;
    engine
}

impl Simulation {
    fn new(config: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n = config.validators;
        let keys: Vec<Keypair> = (0..n)
            .map(|i| {
                let h = Hash::digest_parts(
                    "kopnet sim key",
                    &[&config.seed.to_le_bytes(), &(i as u64).to_le_bytes()],
                );
                Keypair::from_seed(h.0)
            })
            .collect();
        #[allow(clippy::expect_used)]
        let validators = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    key: k.public(),
                    voting_power: 1,
                })
                .collect(),
        )
        .expect("distinct generated keys");
        let mut indices: Vec<usize> = (0..n).collect();
        indices.shuffle(&mut rng);
        let byzantine: Vec<usize> = indices.into_iter().take(config.byzantine).collect();
        let nodes = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                let behaviour = if byzantine.contains(&i) {
                    Behaviour::pick(&mut rng)
                } else {
                    Behaviour::Honest
                };
                SimNode::new(k, behaviour)
            })
            .collect();
        let link = LinkModel::clean(n);
        Simulation {
            engine_config: engine_config(&config),
            config,
            rng,
            queue: EventQueue::default(),
            link,
            nodes,
            validators,
            checker: Checker::default(),
            trace: Trace::default(),
            now_ms: 0,
            heal_ms: 0,
            target: None,
            healed: false,
        }
    }

    /// Draw the fault schedule and start every node.
    fn setup(&mut self) -> Result<(), Violation> {
        let n = self.nodes.len();
        if self.config.faults {
            self.link.drop_probability = self.rng.gen_range(0.0..0.15);
            self.link.duplicate_probability = self.rng.gen_range(0.0..0.1);
            self.link.delay_ms_max = self.rng.gen_range(5..=timing::DELAY_MS_MAX);
            self.heal_ms = self.rng.gen_range(1_000..=timing::FAULT_WINDOW_MS_MAX);
            if self.rng.gen_bool(0.7) {
                let at = self.rng.gen_range(0..self.heal_ms);
                let groups = self.partition_groups();
                self.queue.push(at, Event::Partition { groups });
            }
            let crashes = self.rng.gen_range(0..=2usize);
            for _ in 0..crashes {
                let node = self.rng.gen_range(0..n);
                let at = self.rng.gen_range(0..self.heal_ms);
                let back = self.rng.gen_range(at..=self.heal_ms);
                let mid_send = self.rng.gen_bool(0.5);
                self.queue.push(at, Event::Crash { node, mid_send });
                self.queue.push(back, Event::Restart { node });
            }
        }
        self.queue.push(self.heal_ms, Event::Heal);
        for node in 0..n {
            let gossip_at = self.rng.gen_range(0..timing::GOSSIP_INTERVAL_MS);
            self.queue.push(gossip_at, Event::Gossip { node });
            let txs_at = self.rng.gen_range(0..3_000);
            self.queue.push(txs_at, Event::Txs { node });
            self.restart(node)?;
        }
        Ok(())
    }

    /// A minority cut off, a majority split, or one node isolated.
    fn partition_groups(&mut self) -> Vec<u8> {
        let n = self.nodes.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let cut = match self.rng.gen_range(0..3) {
            0 => 1,                                          // isolate one node
            1 => self.rng.gen_range(1..=(n - 1) / 3).max(1), // a minority
            _ => n / 2,                                      // split: no side has a quorum
        };
        let mut groups = vec![0u8; n];
        for &i in order.iter().take(cut) {
            groups[i] = 1;
        }
        groups
    }

    fn run_loop(&mut self) -> Result<(), Violation> {
        self.setup()?;
        let deadline = self.heal_ms
            + timing::LIVENESS_BASE_MS
            + self.config.heights * timing::PER_HEIGHT_BUDGET_MS;
        while let Some((at, event)) = self.queue.pop() {
            self.now_ms = at;
            if let Some(target) = self.target {
                if self.honest().all(|n| n.chain.len() as u64 >= target) {
                    return Ok(());
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
        }
        Err(self.liveness_violation(deadline))
    }

    fn honest(&self) -> impl Iterator<Item = &SimNode> {
        self.nodes.iter().filter(|n| n.is_honest())
    }

    fn liveness_violation(&self, deadline_ms: u64) -> Violation {
        let target = self.target.unwrap_or(self.config.heights);
        let (node, decided) = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_honest())
            .map(|(i, n)| (i, n.chain.len() as u64))
            .min_by_key(|(_, d)| *d)
            .unwrap_or((0, 0));
        let nodes = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match &n.engine {
                Some(e) => format!(
                    "[{i} {:?} h{} r{} {:?} chain {}]",
                    n.behaviour,
                    e.height(),
                    e.round(),
                    e.step(),
                    n.chain.len()
                ),
                None => format!("[{i} {:?} crashed chain {}]", n.behaviour, n.chain.len()),
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
            Event::Deliver { from, to, msg } => self.deliver(from, to, msg),
            Event::Timer {
                node,
                incarnation,
                height,
                round,
                step,
            } => {
                if self.nodes[node].incarnation != incarnation || self.nodes[node].engine.is_none()
                {
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
                self.feed(
                    node,
                    Input::TimeoutElapsed {
                        height,
                        round,
                        step,
                    },
                )
            }
            Event::Gossip { node } => self.gossip(node),
            Event::Txs { node } => {
                self.trace
                    .record(self.now_ms, TraceEvent::Txs { node: node as u32 });
                let next = self.now_ms + self.rng.gen_range(200..4_000);
                self.queue.push(next, Event::Txs { node });
                self.nodes[node].txs_pending = true;
                let height = self.nodes[node].next_height();
                if self.nodes[node].engine.is_some() {
                    return self.feed(node, Input::TxsAvailable { height });
                }
                Ok(())
            }
            Event::Crash { node, mid_send } => {
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Crash {
                        node: node as u32,
                        mid_send,
                    },
                );
                if mid_send {
                    self.nodes[node].crash_mid_send = true;
                } else {
                    self.nodes[node].crash();
                }
                Ok(())
            }
            Event::Restart { node } => {
                self.nodes[node].crash_mid_send = false;
                if self.nodes[node].engine.is_some() {
                    return Ok(());
                }
                self.restart(node)
            }
            Event::Partition { groups } => {
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Partition {
                        groups: groups.clone(),
                    },
                );
                self.link.groups = groups;
                Ok(())
            }
            Event::Heal => {
                self.trace.record(self.now_ms, TraceEvent::Heal);
                self.link.groups = vec![0; self.nodes.len()];
                self.healed = true;
                let highest = self
                    .honest()
                    .map(|n| n.chain.len() as u64)
                    .max()
                    .unwrap_or(0);
                self.target = Some(highest + self.config.heights);
                Ok(())
            }
        }
    }

    /// (Re)start a node from its durable state: chain and safety record.
    fn restart(&mut self, node: usize) -> Result<(), Violation> {
        let n = &mut self.nodes[node];
        let height = n.next_height();
        let record = n.store.load();
        let Ok(mut engine) = Engine::new(
            self.engine_config.clone(),
            n.keypair.clone(),
            height,
            self.validators.clone(),
            record,
        ) else {
            return Ok(());
        };
        let outputs = engine.start(self.now_ms);
        n.engine = Some(engine);
        self.trace.record(
            self.now_ms,
            TraceEvent::Restart {
                node: node as u32,
                height,
            },
        );
        let mut work = VecDeque::new();
        self.handle_outputs(node, outputs, &mut work)?;
        self.run_work(work)
    }
}

mod host;
