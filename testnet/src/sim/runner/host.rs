//! Driving the node's own host: network messages, timers and client
//! submissions go in through the host's entry points, and the host's
//! effects come out over the simulated network and clock, checked as they
//! pass (persist-then-send, agreement, state roots, validator sets).

use super::super::byzantine::{disseminate, Behaviour};
use super::super::clients::Submission;
use super::super::config::timing;
use super::super::disk::Fired;
use super::super::forge;
use super::super::net::{Event, Fate, NetMsg, NodeId};
use super::super::node::SimHost;
use super::super::trace::{short, TraceEvent};
use super::super::violation::Violation;
use super::super::world::CHAIN_ID;
use super::{count_block, Simulation};
use kopnet_consensus::{Decision, Evidence, Hash, Message, Value};
use kopnet_ledger::storage::FiredFault;
use kopnet_node::host::catch_up;
use kopnet_node::host::evidence::EVIDENCE_POOL_MAX;
use kopnet_node::host::{self, CommitPath, Committed, Effect, Effects, HostError, Origin, Timer};
use kopnet_node::wire::SyncRequest;
use std::collections::VecDeque;
use std::sync::Arc;

/// Effects still to carry out, per node, in order.
pub(super) type Work = VecDeque<(NodeId, Effect)>;

/// A message for the trace: signers by node index, values by short id (a
/// proposal also shows a digest of its bytes, which a forged proposal may
/// pair with another value's id).
fn describe(message: &Message, signer: Option<usize>) -> String {
    let by = signer.map_or_else(|| "?".to_string(), |i| i.to_string());
    match message {
        Message::Proposal(p) => {
            let p = &p.proposal;
            let valid_round = p.valid_round.map_or_else(|| "-".into(), |r| r.to_string());
            format!(
                "proposal h{} r{} vr {} id {} bytes {} by {by}",
                p.height,
                p.round,
                valid_round,
                short(&p.value.id),
                short(&Hash::digest("kopnet sim trace bytes", &p.value.bytes)),
            )
        }
        Message::Vote(v) => {
            let v = &v.vote;
            let value = v.value_id.as_ref().map_or_else(|| "nil".into(), short);
            format!("{:?} h{} r{} {value} by {by}", v.kind, v.height, v.round)
        }
    }
}

impl Simulation {
    /// Run one host call on `node` (if it is up) and carry out its effects.
    /// A host error after a storage fault fired is the fail-stop it must
    /// be; any other host error is a violation, and so is a call that
    /// returns `Ok` after a storage fault fired in it.
    pub(super) fn call(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut SimHost) -> Result<Effects, HostError>,
    ) -> Result<(), Violation> {
        let Some(h) = self.nodes[node].host.as_mut() else {
            return Ok(());
        };
        match f(h) {
            Ok(effects) => {
                self.no_fault_ignored(node)?;
                self.carry_out(node, effects)
            }
            Err(error) => self.host_failed(node, error),
        }
    }

    fn host_failed(&mut self, node: NodeId, error: HostError) -> Result<(), Violation> {
        let fired = self.nodes[node].fired();
        if self.nodes[node].crash_at_write && fired == Some(Fired::Store(FiredFault::WriteRefused))
        {
            self.faults.crashes_at_write += 1;
            self.trace.record(
                self.now_ms,
                TraceEvent::CrashedAtWrite {
                    node: node as u32,
                    error: error.to_string(),
                },
            );
            self.crash_node(node)?;
            return Ok(());
        }
        match fired {
            Some(fired) => self.fail_stop(node, fired, error.to_string()),
            None => Err(Violation::Host {
                node,
                error: error.to_string(),
            }),
        }
    }

    /// Carry out `effects` of `node`, and what they lead to, in order.
    pub(super) fn carry_out(&mut self, node: NodeId, effects: Effects) -> Result<(), Violation> {
        let mut work: Work = effects.into_iter().map(|e| (node, e)).collect();
        while let Some((node, effect)) = work.pop_front() {
            if self.nodes[node].host.is_none() {
                continue;
            }
            self.carry_out_one(node, effect, &mut work)?;
        }
        Ok(())
    }

    fn carry_out_one(
        &mut self,
        node: NodeId,
        effect: Effect,
        work: &mut Work,
    ) -> Result<(), Violation> {
        match effect {
            Effect::Broadcast(message) => {
                if self.nodes[node].crash_mid_send {
                    // Crash after the record is durable, before sending.
                    self.faults.crashes_mid_send += 1;
                    self.trace.record(
                        self.now_ms,
                        TraceEvent::CrashedMidSend { node: node as u32 },
                    );
                    self.crash_node(node)?;
                    work.retain(|(n, _)| *n != node);
                    return Ok(());
                }
                self.release(node, message)?;
            }
            Effect::Rebroadcast(message) => {
                if self.nodes[node].behaviour != Behaviour::Silent {
                    for to in 0..self.nodes.len() {
                        if to != node {
                            self.send(node, to, NetMsg::Consensus(message.clone()));
                        }
                    }
                }
            }
            Effect::AnnounceCommitted { hint, .. } => {
                if self.nodes[node].behaviour != Behaviour::Silent {
                    let hint: Arc<[u8]> = hint.into();
                    for to in 0..self.nodes.len() {
                        if to != node {
                            self.send(node, to, NetMsg::Hint(hint.clone()));
                        }
                    }
                }
            }
            Effect::GossipTx(bytes) => {
                if self.nodes[node].behaviour != Behaviour::Silent {
                    let bytes: Arc<[u8]> = bytes.into();
                    for to in 0..self.nodes.len() {
                        if to != node {
                            self.send(node, to, NetMsg::Tx(bytes.clone()));
                        }
                    }
                }
            }
            Effect::TxsAvailable => {
                let now = self.now_ms;
                if let Some(h) = self.nodes[node].host.as_mut() {
                    match h.on_txs_available(now) {
                        Ok(more) => {
                            self.no_fault_ignored(node)?;
                            work.extend(more.into_iter().map(|e| (node, e)));
                        }
                        Err(error) => return self.host_failed(node, error),
                    }
                }
            }
            Effect::Schedule {
                deadline_ms,
                height,
                round,
                step,
            } => {
                let incarnation = self.nodes[node].incarnation;
                self.queue.push(
                    deadline_ms,
                    Event::Timer {
                        node,
                        incarnation,
                        height,
                        round,
                        step,
                    },
                );
            }
            Effect::RequestBlocks {
                from,
                attempt,
                peer,
            } => self.request_blocks(node, from, attempt, peer),
            Effect::Committed(committed) => self.committed(node, &committed)?,
            Effect::HeightStarted { height, validators } => {
                self.nodes[node].outbox.clear();
                self.use_set(node, height, &validators)?;
            }
            // The simulator's hosts take no snapshots (interval 0).
            Effect::AllowList(_) | Effect::Snapshot(_) => {}
            Effect::Penalise { peer, offence } => self.penalise(node, peer, offence)?,
            Effect::Evidence(evidence) => self.evidence(node, &evidence)?,
        }
        Ok(())
    }

    /// An honest node's evidence must accuse a Byzantine node, and verify.
    fn evidence(&mut self, node: NodeId, evidence: &Evidence) -> Result<(), Violation> {
        let offender = evidence.offender();
        let index = self
            .nodes
            .iter()
            .position(|n| n.keypair.public() == offender);
        let info = index.map(|i| (i, !self.nodes[i].is_honest()));
        self.trace.record(
            self.now_ms,
            TraceEvent::Evidence {
                node: node as u32,
                offender: index.map_or_else(|| "?".into(), |i| i.to_string()),
            },
        );
        if self.nodes[node].is_honest() {
            self.checker.evidence(node, evidence, info)?;
            let pool_full = self.nodes[node]
                .host
                .as_ref()
                .is_some_and(|h| h.pending_evidence() >= EVIDENCE_POOL_MAX);
            let committed = self.nodes[node].height();
            self.evidence_watch
                .observed(node, evidence, committed, pool_full);
        }
        Ok(())
    }

    /// A message the host released after persisting its record: check it,
    /// keep it for re-gossip, send it through the node's behaviour.
    fn release(&mut self, node: NodeId, message: Message) -> Result<(), Violation> {
        self.checker.saw_proposal(&message);
        if self.nodes[node].is_honest() {
            self.checker.honest_signed(node, &message)?;
        }
        let outbox = &mut self.nodes[node].outbox;
        if outbox.len() == timing::OUTBOX_MAX {
            outbox.pop_front();
        }
        outbox.push_back(message.clone());
        self.broadcast(node, &message);
        Ok(())
    }

    /// A block the host committed (decided or caught up): the same block
    /// and certificate every honest node agreed on, the same state root,
    /// the ledger's invariants.
    fn committed(&mut self, node: NodeId, committed: &Committed) -> Result<(), Violation> {
        let height = committed.outcome.height;
        let value = Value {
            id: committed.block.hash(),
            bytes: committed.block.encode().unwrap_or_default(),
        };
        self.trace.record(
            self.now_ms,
            TraceEvent::Decide {
                node: node as u32,
                height,
                round: committed.certificate.round,
                value: short(&value.id),
            },
        );
        if committed.via == CommitPath::CaughtUp {
            self.agreed.blocks_caught_up += 1;
        }
        self.agreed.mempool_evictions +=
            (committed.evicted.stale.len() + committed.evicted.expired.len()) as u64;
        let honest = self.nodes[node].is_honest();
        if honest {
            let decision = Decision {
                height,
                value,
                certificate: committed.certificate.clone(),
            };
            self.checker.honest_decided(node, &decision)?;
        }
        if let Some(h) = self.nodes[node].host.as_ref() {
            let ledger = h.state().ledger.read().map_err(|_| Violation::Ledger {
                node,
                height,
                error: "ledger lock poisoned".into(),
            })?;
            ledger.check_invariants().map_err(|e| Violation::Ledger {
                node,
                height,
                error: e.to_string(),
            })?;
            if let Some(pruned) = super::pruning::check_pruned(node, &ledger)? {
                if honest {
                    self.agreed.heights_pruned = self.agreed.heights_pruned.max(pruned);
                }
            }
            if honest {
                for record in &committed.block.evidence {
                    self.accused_on_chain(node, height, &record.offender)?;
                }
                let key = self.nodes[node].keypair.public();
                self.evidence_watch
                    .committed(node, &key, &committed.block, &ledger)?;
            }
        }
        let outcome = &committed.outcome;
        if honest {
            self.checker
                .honest_committed(node, height, outcome.state_root)?;
            if self.counted.insert(height) {
                count_block(&mut self.agreed, outcome);
            }
        }
        let rejected = outcome.results.iter().filter(|(_, r)| r.is_err()).count() as u32;
        self.trace.record(
            self.now_ms,
            TraceEvent::Commit {
                node: node as u32,
                height,
                txs: committed.block.txs.len() as u32,
                rejected,
                state_root: short(&outcome.state_root),
            },
        );
        self.nodes[node].committed = (height, outcome.state_root);
        self.maybe_corrupt(node);
        Ok(())
    }

    /// `--faulty-ledger`: corrupt the chosen node's ledger once it can.
    #[cfg(feature = "fault-injection")]
    fn maybe_corrupt(&mut self, node: NodeId) {
        if self.corrupt != Some(node) {
            return;
        }
        let members: Vec<_> = self
            .world
            .members
            .iter()
            .map(|m| m.keypair.public())
            .collect();
        let Some(h) = self.nodes[node].host.as_ref() else {
            return;
        };
        let shifted = match h.state().ledger.write() {
            Ok(mut ledger) => super::super::corrupt::shift_balance(&mut ledger, &members),
            Err(_) => false,
        };
        if shifted {
            self.corrupt = None;
            self.trace
                .record(self.now_ms, TraceEvent::Corrupted { node: node as u32 });
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    fn maybe_corrupt(&mut self, _node: NodeId) {}

    /// Ask a peer (rotating with `attempt`) for blocks; the request fails
    /// if no answer came back within the sync timeout.
    /// Ask `target` (a node's identity) or else a peer rotating with
    /// `attempt`.
    fn request_blocks(
        &mut self,
        node: NodeId,
        from: u64,
        attempt: u64,
        target: Option<kopnet_consensus::PublicKey>,
    ) {
        let n = self.nodes.len();
        if n < 2 {
            return;
        }
        let offset = usize::try_from(attempt % (n as u64 - 1)).unwrap_or(0) + 1;
        let targeted = target.and_then(|key| {
            self.nodes
                .iter()
                .position(|m| m.identity == key)
                .filter(|peer| *peer != node)
        });
        let peer = targeted.unwrap_or((node + offset) % n);
        let incarnation = self.nodes[node].incarnation;
        self.send(node, peer, NetMsg::SyncRequest { from, attempt });
        self.queue.push(
            self.now_ms + timing::SYNC_TIMEOUT_MS,
            Event::SyncTimeout {
                node,
                incarnation,
                attempt,
            },
        );
    }

    /// Send a freshly signed message, through the node's behaviour.
    fn broadcast(&mut self, from: NodeId, message: &Message) {
        let n = &self.nodes[from];
        let forged = match (n.behaviour, message, n.host.as_ref()) {
            (Behaviour::Equivocator, Message::Proposal(p), Some(h)) => Some(forge::forge(
                h.state(),
                n.keypair.public(),
                &p.proposal.value,
                &mut self.rng,
            )),
            _ => None,
        };
        let dissemination = disseminate(
            n.behaviour,
            CHAIN_ID,
            &n.keypair.clone(),
            message,
            forged,
            self.nodes.len(),
            &mut self.rng,
        );
        let reaches = |mask: &[bool]| mask.iter().enumerate().any(|(i, &b)| b && i != from);
        let copies = &dissemination.copies;
        let both = copies.len() == 2 && copies.iter().all(|(_, mask)| reaches(mask));
        let last_reaches = copies.last().is_some_and(|(_, mask)| reaches(mask));
        let m = dissemination.misbehaviour;
        if m.equivocation && both {
            self.faults.equivocations += 1;
        }
        if m.double_vote && both {
            self.faults.double_votes += 1;
        }
        if m.invalid_proposal && last_reaches {
            self.faults.invalid_proposals += 1;
        }
        for (copy, recipients) in dissemination.copies {
            self.checker.saw_proposal(&copy);
            for (to, yes) in recipients.into_iter().enumerate() {
                if yes && to != from {
                    self.send(from, to, NetMsg::Consensus(copy.clone()));
                }
            }
        }
    }

    pub(super) fn send(&mut self, from: NodeId, to: NodeId, msg: NetMsg) {
        match self.link.fate(&mut self.rng, self.now_ms, from, to) {
            Fate::Cut => self.faults.cut += 1,
            Fate::Dropped => self.faults.dropped += 1,
            Fate::Deliver(times) => {
                if times.len() > 1 {
                    self.faults.duplicated += 1;
                }
                self.send_seq += 1;
                let seq = self.send_seq;
                for at in times {
                    self.queue.push(
                        at,
                        Event::Deliver {
                            from,
                            to,
                            seq,
                            msg: msg.clone(),
                        },
                    );
                }
            }
        }
    }

    /// A client hands a transaction to a node: the host's admission path,
    /// exactly as `POST /v1/tx` takes it.
    pub(super) fn submit(&mut self, submission: Submission) -> Result<(), Violation> {
        let Submission { node, tx, resubmit } = submission;
        self.trace.record(
            self.now_ms,
            TraceEvent::Submit {
                node: node as u32,
                tx: format!("{} nonce {}", short(&tx.hash()), tx.body.nonce),
                resubmit,
            },
        );
        let Some(h) = self.nodes[node].host.as_ref() else {
            return Ok(());
        };
        let Ok(bytes) = tx.encode() else {
            return Ok(());
        };
        let (_, effects) = host::admit(h.state(), &bytes, Origin::Client);
        self.carry_out(node, effects)
    }

    pub(super) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        seq: u64,
        msg: NetMsg,
    ) -> Result<(), Violation> {
        if self.nodes[to].host.is_none() {
            return Ok(());
        }
        let link = from * self.nodes.len() + to;
        if seq < self.last_delivered[link] {
            self.faults.reordered += 1;
        } else {
            self.last_delivered[link] = seq;
        }
        let now = self.now_ms;
        match msg {
            NetMsg::Consensus(message) => {
                let signer = message.signer();
                let index = self.nodes.iter().position(|n| n.keypair.public() == signer);
                let what = describe(&message, index);
                self.trace_delivery(from, to, what);
                self.call(to, |h| h.on_consensus_message(now, message).map(|(_, e)| e))?;
                self.check_future_buffer(to)
            }
            NetMsg::Flood(burst) => self.deliver_flood(from, to, burst),
            NetMsg::Tx(bytes) => {
                let what = match kopnet_ledger::Transaction::decode(&bytes) {
                    Ok(tx) => format!("tx {}", short(&tx.hash())),
                    Err(_) => "tx (malformed)".into(),
                };
                self.trace_delivery(from, to, what);
                let Some(h) = self.nodes[to].host.as_ref() else {
                    return Ok(());
                };
                let (_, effects) = host::admit(h.state(), &bytes, Origin::Peer);
                self.carry_out(to, effects)
            }
            NetMsg::Hint(bytes) => {
                // Through the gossip path a real node takes: the hint counts
                // only from the connection of the identity it names.
                let peer = Some(self.nodes[from].identity);
                self.call(to, |h| {
                    h.on_consensus_gossip(now, &bytes, peer).map(|(_, e)| e)
                })
            }
            NetMsg::SyncRequest {
                from: start,
                attempt,
            } => {
                let Some(h) = self.nodes[to].host.as_ref() else {
                    return Ok(());
                };
                let request = SyncRequest::Blocks {
                    from: start,
                    limit: timing::SYNC_BATCH_MAX,
                };
                let honest = catch_up::serve(h.state(), &request);
                let Some(response) = self.liar_answer(to, from, honest) else {
                    return Ok(());
                };
                self.send(
                    to,
                    from,
                    NetMsg::SyncResponse {
                        attempt,
                        response: Arc::new(response),
                    },
                );
                Ok(())
            }
            NetMsg::SyncResponse { attempt, response } => {
                self.trace_delivery(from, to, format!("sync {} blocks", response.blocks.len()));
                let peer = Some(self.nodes[from].identity);
                self.call(to, |h| h.on_blocks(now, attempt, peer, &response))
            }
        }
    }

    fn trace_delivery(&mut self, from: NodeId, to: NodeId, what: String) {
        self.trace.record(
            self.now_ms,
            TraceEvent::Deliver {
                from: from as u32,
                to: to as u32,
                what,
            },
        );
    }

    /// A timer of the node's host fired.
    pub(super) fn timer(&mut self, node: NodeId, timer: Timer) -> Result<(), Violation> {
        let now = self.now_ms;
        self.call(node, |h| h.on_timeout(now, timer))
    }

    /// Periodic gossip, as gossipsub would repair a lossy link: re-send own
    /// messages of the current height and the proofs that let a lagging
    /// peer move on; and the host's periodic catch-up request.
    pub(super) fn gossip(&mut self, node: NodeId) -> Result<(), Violation> {
        self.queue.push(
            self.now_ms + timing::GOSSIP_INTERVAL_MS,
            Event::Gossip { node },
        );
        if self.nodes[node].is_honest() {
            self.watch_syncing(node)?;
        } else {
            self.hostile_tick(node);
        }
        let n = &self.nodes[node];
        if n.host.is_none() {
            return Ok(());
        }
        if n.behaviour == Behaviour::Silent {
            return Ok(());
        }
        self.trace
            .record(self.now_ms, TraceEvent::Gossip { node: node as u32 });
        // The host's own re-gossip (proof of lock, round change) comes as
        // `Effect::Rebroadcast` from `on_sync_tick` below.
        let outbox: Vec<Message> = n.outbox.iter().cloned().collect();
        for to in 0..self.nodes.len() {
            if to == node {
                continue;
            }
            for message in &outbox {
                self.send(node, to, NetMsg::Consensus(message.clone()));
            }
        }
        self.call(node, |h| Ok(h.on_sync_tick()))
    }
}
