//! Storage faults in the run (`--storage-faults`, [`super::super::disk`]):
//! scheduling them, the host's fail-stop on one, power cuts, and the check
//! that a restarted node's store holds every block it had committed.

use super::super::disk::{self, Down, Fired, Tails};
use super::super::net::{CrashKind, Event, NodeId};
use super::super::trace::{short, TraceEvent};
use super::super::violation::Violation;
use super::Simulation;
use kopnet_consensus::safety_faults::SafetyFaultFired;
use kopnet_consensus::{Decision, Hash, Value};
use kopnet_ledger::storage::FiredFault;
use rand::Rng;

/// A node that failed stop, or lost power, is back after this long (its
/// supervisor restarts it), if no earlier restart was scheduled.
pub const RESTART_MS_MIN: u64 = 500;
pub const RESTART_MS_MAX: u64 = 3_000;

impl Simulation {
    /// Draw up to [`disk::STORAGE_FAULTS_MAX`] storage faults, each at a
    /// time in the fault window on a node, with that node's restart after
    /// it (which calls the fault off if it has not fired by then).
    pub(super) fn schedule_storage_faults(&mut self) {
        let n = self.nodes.len();
        let count = self.disk_rng.gen_range(1..=disk::STORAGE_FAULTS_MAX);
        for _ in 0..count {
            let node = self.disk_rng.gen_range(0..n);
            let at = self.disk_rng.gen_range(0..self.heal_ms.max(1));
            let back = at + self.disk_rng.gen_range(RESTART_MS_MIN..=RESTART_MS_MAX);
            let fault = disk::draw(&mut self.disk_rng);
            self.schedule_fault(
                at,
                Event::Crash {
                    node,
                    how: CrashKind::Disk(fault),
                },
            );
            self.schedule_fault(back, Event::Restart { node });
        }
    }

    /// The machine of `node` loses power now.
    pub(super) fn power_cut(&mut self, node: NodeId) -> Result<(), Violation> {
        let tails = self.go_down(node, Down::PowerCut)?;
        self.storage.power_cuts += 1;
        self.count_tails(node, "power cut", tails);
        Ok(())
    }

    /// The host of `node` returned an error after storage fault `fired`:
    /// the fail-stop it must do. The node goes down as drawn.
    pub(super) fn fail_stop(
        &mut self,
        node: NodeId,
        fired: Fired,
        error: String,
    ) -> Result<(), Violation> {
        self.decided_in_failed_call(node)?;
        let counter = match fired {
            Fired::Store(FiredFault::WriteRefused) => &mut self.storage.writes_refused,
            Fired::Store(FiredFault::FlushFailed) => &mut self.storage.flushes_failed,
            Fired::Store(FiredFault::DiskFull) => &mut self.storage.disks_full,
            Fired::Safety(SafetyFaultFired::SaveFailed) => &mut self.storage.safety_saves_failed,
            Fired::Safety(SafetyFaultFired::SyncFailed) => &mut self.storage.safety_syncs_failed,
        };
        *counter += 1;
        self.trace.record(
            self.now_ms,
            TraceEvent::Storage {
                node: node as u32,
                what: format!("fail-stop on {fired:?}: {error}"),
            },
        );
        let down = disk::down(&mut self.disk_rng);
        let tails = self.go_down(node, down)?;
        match down {
            Down::PowerCut => {
                self.storage.power_cuts += 1;
                self.count_tails(node, "power cut", tails);
            }
            Down::ProcessExit => {
                self.storage.process_exits += 1;
                self.count_tails(node, "process exit", tails);
            }
        }
        Ok(())
    }

    /// Blocks an honest node committed in the host call that failed stop:
    /// the call's effects are dropped as a real node's runtime drops them
    /// (nothing it meant to send leaves), so their `Committed` reports never
    /// reached the checker, yet the blocks are durable and other nodes will
    /// catch up from them. Each is checked now as a reported commit would
    /// have been: same value as every other decision of its height, a
    /// certificate with more than 2/3 of the power of the height's set (the
    /// same set every other node used), the same state root. A
    /// block missing from the proposals seen is accepted as proposed only
    /// if it is this node's own (its publication was among the dropped
    /// effects; found by seed 230 of `--prune-keep 256 --storage-faults`,
    /// where one honest validator held more than 2/3 of the power after
    /// governance changes and decided two empty blocks on its own in the
    /// call whose third commit was refused).
    fn decided_in_failed_call(&mut self, node: NodeId) -> Result<(), Violation> {
        if !self.nodes[node].is_honest() {
            return Ok(());
        }
        let reported = self.nodes[node].committed.0;
        let me = self.nodes[node].keypair.public();
        let mut blocks = Vec::new();
        if let Some(host) = self.nodes[node].host.as_ref() {
            let ledger = host.state().ledger.read().map_err(|_| Violation::Setup {
                error: "ledger lock poisoned".into(),
            })?;
            for height in reported.saturating_add(1)..=ledger.height() {
                let read = |e: String| Violation::Ledger {
                    node,
                    height,
                    error: format!("committed in the failed call, unreadable: {e}"),
                };
                let block = ledger.block(height).map_err(|e| read(e.to_string()))?;
                let certificate = kopnet_node::chain_store::certificate(&ledger, height)
                    .map_err(|e| read(e.to_string()))?;
                let root = ledger
                    .state_root_at(height)
                    .map_err(|e| read(e.to_string()))?;
                let set = kopnet_node::chain_store::validator_set(&ledger, height)
                    .map_err(|e| read(e.to_string()))?;
                match (block, certificate, root) {
                    (Some(block), Some(certificate), Some(root)) => {
                        blocks.push((height, block, certificate, root, set))
                    }
                    _ => return Err(read("block, certificate or root missing".into())),
                }
            }
        }
        for (height, block, certificate, root, set) in blocks {
            // The set it signed this height with (its `HeightStarted` was
            // dropped with the rest): one set per height, as for every node.
            self.use_set(node, height, &set)?;
            let value = Value {
                id: block.hash(),
                bytes: block.encode().unwrap_or_default(),
            };
            if block.header.proposer == me {
                self.checker.proposed_unpublished(value.id);
            }
            self.trace.record(
                self.now_ms,
                TraceEvent::Storage {
                    node: node as u32,
                    what: format!(
                        "committed height {height} ({}) in the call that failed",
                        short(&value.id)
                    ),
                },
            );
            let decision = Decision {
                height,
                value,
                certificate,
            };
            self.checker.honest_decided(node, &decision)?;
            self.checker.honest_committed(node, height, root)?;
        }
        Ok(())
    }

    fn count_tails(&mut self, node: NodeId, how: &str, tails: Tails) {
        self.storage.batches_lost += tails.batches_lost;
        self.storage.records_lost += u64::from(tails.record_lost);
        self.storage.batches_written_back += tails.batches_written_back;
        self.storage.records_written_back += u64::from(tails.record_written_back);
        self.trace.record(
            self.now_ms,
            TraceEvent::Storage {
                node: node as u32,
                what: format!(
                    "{how}: {} unflushed batches lost, record lost {}, {} batches written back, record written back {}",
                    tails.batches_lost,
                    tails.record_lost,
                    tails.batches_written_back,
                    tails.record_written_back
                ),
            },
        );
    }

    /// After a host call of `node` returned `Ok`: no storage fault may
    /// have fired in it (the host must have failed stop).
    pub(super) fn no_fault_ignored(&self, node: NodeId) -> Result<(), Violation> {
        match self.nodes[node].fired() {
            Some(fired) => Err(Violation::FaultIgnored {
                node,
                fault: format!("{fired:?}"),
            }),
            None => Ok(()),
        }
    }

    /// At the end of a run, a node still down (its restart was scheduled
    /// after the run reached its target) is opened on what its disk holds,
    /// as its next start would, and checked like a restart; it stays down.
    pub(super) fn reopen_crashed(&mut self) -> Result<(), Violation> {
        for node in 0..self.nodes.len() {
            let n = &mut self.nodes[node];
            if n.host.is_some() || n.incarnation == 0 {
                continue;
            }
            let (had, lost_power, written_back) = (n.committed, n.lost_power, n.written_back);
            n.open(&self.world.genesis, self.host_config.clone())
                .map_err(|e| Violation::Recovery {
                    node,
                    error: e.to_string(),
                })?;
            let found = n.host.take().and_then(|h| {
                let ledger = h.state().ledger.read().ok()?;
                Some((ledger.height(), ledger.state_root()))
            });
            let Some(found) = found else {
                return Err(Violation::Recovery {
                    node,
                    error: "ledger lock poisoned".into(),
                });
            };
            let in_doubt = self.check_recovered(node, had, found, lost_power, written_back)?;
            if in_doubt && self.nodes[node].is_honest() {
                self.checker.honest_committed(node, found.0, found.1)?;
            }
        }
        Ok(())
    }

    /// A restarted node found `found` (height, state root) in its store,
    /// having committed `had`: it must hold every block it had committed
    /// — after a power cut too — and at most the one block more whose
    /// failed flush was written back. Whether it found that block.
    pub(super) fn check_recovered(
        &mut self,
        node: NodeId,
        had: (u64, Hash),
        found: (u64, Hash),
        lost_power: bool,
        written_back: bool,
    ) -> Result<bool, Violation> {
        if found.0 < had.0 {
            return Err(Violation::CommittedLost {
                node,
                committed: had.0,
                found: found.0,
                power_cut: lost_power,
            });
        }
        if lost_power {
            self.storage.restarts_after_power_cut += 1;
        }
        if found == had {
            return Ok(false);
        }
        if written_back && found.0 == had.0 + 1 {
            self.storage.in_doubt_blocks_found += 1;
            return Ok(true);
        }
        Err(Violation::Recovery {
            node,
            error: format!(
                "height {} root {} after reopening, had committed height {} root {}",
                found.0,
                short(&found.1),
                had.0,
                short(&had.1),
            ),
        })
    }
}
