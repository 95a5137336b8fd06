//! What the simulated host does with engine outputs and network messages.

use super::super::byzantine::{disseminate, Behaviour};
use super::super::config::timing;
use super::super::invariants::Violation;
use super::super::net::{Event, NetMsg, NodeId};
use super::super::trace::TraceEvent;
use super::super::value::{is_valid, SimBlock};
use super::{Simulation, CHAIN_ID};
use kopnet_consensus::{Input, Message, Output, Outputs};
use std::collections::VecDeque;

/// Inputs a host generates for its own engine (answers to GetValue, ...).
pub(super) type Work = VecDeque<(NodeId, Input)>;

fn describe(message: &Message) -> String {
    match message {
        Message::Proposal(p) => format!(
            "proposal h{} r{} {:?}",
            p.proposal.height, p.proposal.round, p.proposal.value.id
        ),
        Message::Vote(v) => format!(
            "{:?} h{} r{} {:?} by {:?}",
            v.vote.kind, v.vote.height, v.vote.round, v.vote.value_id, v.vote.validator
        ),
    }
}

impl Simulation {
    /// Feed one input and everything it leads to.
    pub(super) fn feed(&mut self, node: NodeId, input: Input) -> Result<(), Violation> {
        let mut work = Work::new();
        work.push_back((node, input));
        self.run_work(work)
    }
}

impl Simulation {
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
                    let n = &mut self.nodes[node];
                    n.nonce += 1;
                    let block = SimBlock {
                        height,
                        proposer: node as u32,
                        nonce: n.nonce,
                        has_txs: n.txs_pending,
                        valid: true,
                    };
                    work.push_back((
                        node,
                        Input::ValueReady {
                            height,
                            round,
                            value: block.to_value(),
                        },
                    ));
                }
                Output::ValidateValue {
                    height,
                    round,
                    value,
                } => {
                    let valid = is_valid(&value, height);
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
                            offender: format!("{offender:?}"),
                        },
                    );
                    if self.nodes[node].is_honest() {
                        self.checker
                            .evidence(node, &evidence, CHAIN_ID, &self.validators, info)?;
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
                value: format!("{:?}", decision.value.id),
            },
        );
        if self.nodes[node].is_honest() {
            self.checker.honest_decided(
                node,
                &decision,
                CHAIN_ID,
                &self.validators,
                self.config.quorum_rule,
            )?;
        }
        let n = &mut self.nodes[node];
        n.chain.push((decision.value, decision.certificate));
        n.outbox.clear();
        n.txs_pending = false;
        // The validator set never changes in the sim; the host
        // passes the set of the next height all the same.
        work.push_back((
            node,
            Input::NextHeight {
                height: height + 1,
                validators: self.validators.clone(),
            },
        ));
        Ok(())
    }

    /// Send a freshly signed message, through the node's behaviour.
    fn broadcast(&mut self, from: NodeId, message: &Message) {
        let n = &self.nodes[from];
        let copies = disseminate(
            n.behaviour,
            CHAIN_ID,
            &n.keypair.clone(),
            message,
            self.nodes.len(),
            &mut self.rng,
        );
        for (copy, recipients) in copies {
            self.checker.saw_proposal(&copy);
            for (to, yes) in recipients.into_iter().enumerate() {
                if yes && to != from {
                    self.send(from, to, NetMsg::Consensus(copy.clone()));
                }
            }
        }
    }

    pub(super) fn send(&mut self, from: NodeId, to: NodeId, msg: NetMsg) {
        for at in self.link.deliveries(&mut self.rng, self.now_ms, from, to) {
            self.queue.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }

    pub(super) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: NetMsg,
    ) -> Result<(), Violation> {
        let Some(engine) = self.nodes[to].engine.as_ref() else {
            return Ok(());
        };
        let my_height = engine.height();
        match msg {
            NetMsg::Consensus(message) => {
                let what = describe(&message);
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
