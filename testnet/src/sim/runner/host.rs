//! What the simulated host does with engine outputs and network messages:
//! build and validate blocks with the ledger, commit decisions, persist
//! before sending, gossip, serve and apply synced blocks.

use super::super::byzantine::{disseminate, Behaviour};
use super::super::clients::Submission;
use super::super::config::timing;
use super::super::corrupt;
use super::super::forge;
use super::super::ledger_host;
use super::super::net::{Event, Fate, NetMsg, NodeId};
use super::super::trace::{short, TraceEvent};
use super::super::violation::Violation;
use super::super::world::CHAIN_ID;
use super::{count_block, next_set, Simulation};
use kopnet_consensus::validator_set::effective_height;
use kopnet_consensus::{Hash, Input, Message, Output, Outputs};
use kopnet_ledger::Block;
use std::collections::VecDeque;

/// Inputs a host generates for its own engine (answers to GetValue, ...).
pub(super) type Work = VecDeque<(NodeId, Input)>;

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
    /// Feed one input and everything it leads to.
    pub(super) fn feed(&mut self, node: NodeId, input: Input) -> Result<(), Violation> {
        let mut work = Work::new();
        work.push_back((node, input));
        self.run_work(work)
    }

    pub(super) fn run_work(&mut self, mut work: Work) -> Result<(), Violation> {
        while let Some((node, input)) = work.pop_front() {
            let now = self.now_ms;
            let Some(engine) = self.nodes[node].engine.as_mut() else {
                continue;
            };
            match engine.handle(now, input) {
                Ok(outputs) => self.handle_outputs(node, outputs, &mut work)?,
                Err(_rejected) => {}
            }
        }
        Ok(())
    }

    pub(super) fn handle_outputs(
        &mut self,
        node: NodeId,
        outputs: Outputs,
        work: &mut Work,
    ) -> Result<(), Violation> {
        for output in outputs {
            match output {
                Output::Send(pending) => {
                    if !self.release(node, pending, work)? {
                        return Ok(());
                    }
                }
                Output::ScheduleTimeout {
                    height,
                    round,
                    step,
                    deadline_ms,
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
                Output::GetValue { height, round } => {
                    let n = &self.nodes[node];
                    if n.ledger.height() + 1 != height {
                        continue;
                    }
                    let block = ledger_host::build(
                        &n.ledger,
                        &n.mempool.candidates(),
                        n.keypair.public(),
                        n.mempool.verified(),
                    );
                    work.push_back((
                        node,
                        Input::ValueReady {
                            height,
                            round,
                            value: ledger_host::to_value(&block),
                        },
                    ));
                }
                Output::ValidateValue {
                    height,
                    round,
                    value,
                } => {
                    let n = &self.nodes[node];
                    let valid = n.ledger.height() + 1 == height
                        && ledger_host::validate(&n.ledger, &value, n.mempool.verified()).is_ok();
                    work.push_back((
                        node,
                        Input::ValueValidated {
                            height,
                            round,
                            value_id: value.id,
                            valid,
                        },
                    ));
                }
                Output::Decide(decision) => self.decided(node, decision, work)?,
                Output::Evidence(evidence) => {
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
                        self.checker.evidence(node, &evidence, info)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Persist, then send (unless the node crashes in between). False if
    /// the node crashed.
    fn release(
        &mut self,
        node: NodeId,
        pending: kopnet_consensus::PendingSend,
        work: &mut Work,
    ) -> Result<bool, Violation> {
        let Ok(messages) = pending.persist(&mut self.nodes[node].store);
        if self.nodes[node].crash_mid_send {
            // Crash after the record is durable, before sending.
            self.faults.crashes_mid_send += 1;
            self.trace.record(
                self.now_ms,
                TraceEvent::CrashedMidSend { node: node as u32 },
            );
            self.nodes[node].crash();
            work.retain(|(n, _)| *n != node);
            return Ok(false);
        }
        for message in messages {
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
        }
        Ok(true)
    }

    /// Commit a decision: check it, apply the block on the node's ledger,
    /// check the ledger, record the validator set the block's changes
    /// apply to, and start the next height.
    fn decided(
        &mut self,
        node: NodeId,
        decision: kopnet_consensus::Decision,
        work: &mut Work,
    ) -> Result<(), Violation> {
        let height = decision.height;
        self.trace.record(
            self.now_ms,
            TraceEvent::Decide {
                node: node as u32,
                height,
                round: decision.certificate.round,
                value: short(&decision.value.id),
            },
        );
        let honest = self.nodes[node].is_honest();
        if honest {
            self.checker.honest_decided(node, &decision)?;
        }
        let invalid = |reason: String| Violation::Validity {
            height,
            value: decision.value.id,
            node,
            reason,
        };
        let block = Block::decode(&decision.value.bytes)
            .map_err(|e| invalid(format!("does not decode: {e}")))?;
        if block.hash() != decision.value.id {
            return Err(invalid("value id is not the block hash".into()));
        }
        let n = &mut self.nodes[node];
        let outcome = n
            .ledger
            .apply_block(&block, n.mempool.verified(), vec![])
            .map_err(|e| invalid(format!("the ledger refuses it: {e}")))?;
        n.ledger.check_invariants().map_err(|e| Violation::Ledger {
            node,
            height,
            error: e.to_string(),
        })?;
        if honest {
            let first = self.checker.root(height).is_none();
            self.checker
                .honest_committed(node, height, outcome.state_root)?;
            if first {
                count_block(&mut self.agreed, &outcome);
            }
        }
        let rejected = outcome.results.iter().filter(|(_, r)| r.is_err()).count() as u32;
        self.trace.record(
            self.now_ms,
            TraceEvent::Commit {
                node: node as u32,
                height,
                txs: block.txs.len() as u32,
                rejected,
                state_root: short(&outcome.state_root),
            },
        );
        if self.corrupt == Some(node) {
            let members: Vec<_> = self
                .world
                .members
                .iter()
                .map(|m| m.keypair.public())
                .collect();
            if corrupt::shift_balance(&mut self.nodes[node].ledger, &members) {
                self.corrupt = None;
                self.trace
                    .record(self.now_ms, TraceEvent::Corrupted { node: node as u32 });
            }
        }
        let set = next_set(&self.nodes[node])?;
        let n = &mut self.nodes[node];
        let Some(effective) = effective_height(height) else {
            return Err(Violation::Setup {
                error: format!("height {height} has no effective height"),
            });
        };
        n.sets.insert(effective, set);
        n.sets.retain(|h, _| *h > height);
        n.chain.push((decision.value, decision.certificate));
        n.outbox.clear();
        n.mempool.prune(&n.ledger);
        let next = height + 1;
        let Some(set) = n.sets.get(&next).cloned() else {
            return Err(Violation::Setup {
                error: format!("node {node} has no validator set for height {next}"),
            });
        };
        let txs_waiting = !n.mempool.is_empty();
        self.use_set(node, next, &set)?;
        work.push_back((
            node,
            Input::NextHeight {
                height: next,
                validators: set,
            },
        ));
        if txs_waiting {
            work.push_back((node, Input::TxsAvailable { height: next }));
        }
        Ok(())
    }

    /// Send a freshly signed message, through the node's behaviour.
    fn broadcast(&mut self, from: NodeId, message: &Message) {
        let n = &self.nodes[from];
        let forged = match (n.behaviour, message) {
            (Behaviour::Equivocator, Message::Proposal(p)) => Some(forge::forge(
                &n.ledger,
                &n.mempool.candidates(),
                n.mempool.verified(),
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

    /// A client hands a transaction to a node, which passes it on.
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
        let n = &mut self.nodes[node];
        if n.engine.is_none() || n.mempool.insert(&tx, &n.ledger) != Ok(true) {
            return Ok(());
        }
        if n.behaviour != Behaviour::Silent {
            let tx = Box::new(tx);
            for to in 0..self.nodes.len() {
                if to != node {
                    self.send(node, to, NetMsg::Tx(tx.clone()));
                }
            }
        }
        let height = self.nodes[node].next_height();
        self.feed(node, Input::TxsAvailable { height })
    }

    pub(super) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        seq: u64,
        msg: NetMsg,
    ) -> Result<(), Violation> {
        let Some(engine) = self.nodes[to].engine.as_ref() else {
            return Ok(());
        };
        let my_height = engine.height();
        let link = from * self.nodes.len() + to;
        if seq < self.last_delivered[link] {
            self.faults.reordered += 1;
        } else {
            self.last_delivered[link] = seq;
        }
        match msg {
            NetMsg::Consensus(message) => {
                let signer = message.signer();
                let index = self.nodes.iter().position(|n| n.keypair.public() == signer);
                let what = describe(&message, index);
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Deliver {
                        from: from as u32,
                        to: to as u32,
                        what,
                    },
                );
                let input = match message {
                    Message::Proposal(p) => Input::Proposal(p),
                    Message::Vote(v) => Input::Vote(v),
                };
                self.feed(to, input)
            }
            NetMsg::Tx(tx) => {
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Deliver {
                        from: from as u32,
                        to: to as u32,
                        what: format!("tx {}", short(&tx.hash())),
                    },
                );
                let n = &mut self.nodes[to];
                if n.mempool.insert(&tx, &n.ledger) == Ok(true) {
                    return self.feed(to, Input::TxsAvailable { height: my_height });
                }
                Ok(())
            }
            NetMsg::Status { height } => {
                if height > my_height {
                    self.send(
                        to,
                        from,
                        NetMsg::SyncRequest {
                            from_height: my_height,
                        },
                    );
                }
                Ok(())
            }
            NetMsg::SyncRequest { from_height } => {
                if self.nodes[to].behaviour == Behaviour::Silent {
                    return Ok(());
                }
                let start = usize::try_from(from_height.saturating_sub(1)).unwrap_or(usize::MAX);
                let blocks: Vec<_> = self.nodes[to]
                    .chain
                    .iter()
                    .skip(start)
                    .take(timing::SYNC_BATCH_MAX)
                    .cloned()
                    .collect();
                if !blocks.is_empty() {
                    self.send(to, from, NetMsg::SyncResponse { blocks });
                }
                Ok(())
            }
            NetMsg::SyncResponse { blocks } => {
                self.trace.record(
                    self.now_ms,
                    TraceEvent::Deliver {
                        from: from as u32,
                        to: to as u32,
                        what: format!("sync {} blocks", blocks.len()),
                    },
                );
                for (value, certificate) in blocks {
                    let Some(engine) = self.nodes[to].engine.as_ref() else {
                        return Ok(());
                    };
                    if certificate.height != engine.height() {
                        continue;
                    }
                    self.feed(to, Input::BlockSynced { value, certificate })?;
                }
                Ok(())
            }
        }
    }

    /// Periodic gossip: re-send own messages of the current height, announce
    /// the height (peers that are behind ask for blocks).
    pub(super) fn gossip(&mut self, node: NodeId) -> Result<(), Violation> {
        self.queue.push(
            self.now_ms + timing::GOSSIP_INTERVAL_MS,
            Event::Gossip { node },
        );
        let n = &self.nodes[node];
        if n.engine.is_none() || n.behaviour == Behaviour::Silent {
            return Ok(());
        }
        self.trace
            .record(self.now_ms, TraceEvent::Gossip { node: node as u32 });
        let height = n.next_height();
        let mut outbox: Vec<Message> = n.outbox.iter().cloned().collect();
        if let Some(engine) = &n.engine {
            outbox.extend(engine.proof_of_lock().into_iter().map(Message::Vote));
            outbox.extend(engine.round_change_proof().into_iter().map(Message::Vote));
        }
        for to in 0..self.nodes.len() {
            if to == node {
                continue;
            }
            for message in &outbox {
                self.send(node, to, NetMsg::Consensus(message.clone()));
            }
            self.send(node, to, NetMsg::Status { height });
        }
        Ok(())
    }
}
