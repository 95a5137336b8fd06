//! Safety invariants, checked as the run goes.

use super::net::NodeId;
use super::value::is_valid;
use kopnet_consensus::{
    Decision, Evidence, Hash, Height, Message, QuorumRule, Round, SignStep, ValidatorSet,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    Agreement {
        height: Height,
        first: Hash,
        second: Hash,
        node: NodeId,
    },
    Validity {
        height: Height,
        value: Hash,
        node: NodeId,
        reason: &'static str,
    },
    DoubleSign {
        node: NodeId,
        height: Height,
        round: Round,
        step: SignStep,
        first: Option<Hash>,
        second: Option<Hash>,
    },
    Certificate {
        node: NodeId,
        height: Height,
        error: String,
    },
    HonestAccused {
        node: NodeId,
        offender: NodeId,
    },
    BadEvidence {
        node: NodeId,
        error: String,
    },
    Liveness {
        node: NodeId,
        decided: u64,
        target: u64,
        deadline_ms: u64,
        nodes: String,
    },
    EventBudget {
        events: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Agreement { height, first, second, node } => write!(
                f,
                "AGREEMENT: node {node} decided {second:?} at height {height}, another honest node decided {first:?}"
            ),
            Violation::Validity { height, value, node, reason } => {
                write!(f, "VALIDITY: node {node} decided {value:?} at height {height}: {reason}")
            }
            Violation::DoubleSign { node, height, round, step, first, second } => write!(
                f,
                "DOUBLE-SIGN: honest node {node} signed {first:?} and {second:?} at height {height} round {round} {step:?}"
            ),
            Violation::Certificate { node, height, error } => {
                write!(f, "CERTIFICATE: node {node} decided height {height} with a bad certificate: {error}")
            }
            Violation::HonestAccused { node, offender } => {
                write!(f, "EVIDENCE: node {node} produced evidence against honest node {offender}")
            }
            Violation::BadEvidence { node, error } => {
                write!(f, "EVIDENCE: node {node} produced unverifiable evidence: {error}")
            }
            Violation::Liveness { node, decided, target, deadline_ms, nodes } => write!(
                f,
                "LIVENESS: honest node {node} decided {decided} of {target} heights by t={deadline_ms}ms; nodes: {nodes}"
            ),
            Violation::EventBudget { events } => write!(f, "LIVENESS: event budget of {events} exhausted"),
        }
    }
}

/// Everything the checker remembers.
#[derive(Default)]
pub struct Checker {
    decided: BTreeMap<Height, Hash>,
    signed: BTreeMap<(NodeId, Height, Round, SignStep), Option<Hash>>,
    proposed: BTreeSet<Hash>,
    pub evidence_seen: u64,
}

impl Checker {
    /// Every proposal anybody sent (honest or not): decided values must be among them.
    pub fn saw_proposal(&mut self, message: &Message) {
        if let Message::Proposal(p) = message {
            self.proposed.insert(p.proposal.value.id);
        }
    }

    /// A message an honest node released after persisting its record.
    pub fn honest_signed(&mut self, node: NodeId, message: &Message) -> Result<(), Violation> {
        let (height, round, step, value) = match message {
            Message::Proposal(p) => {
                let p = &p.proposal;
                (p.height, p.round, SignStep::Proposal, Some(p.value.id))
            }
            Message::Vote(v) => {
                let step = match v.vote.kind {
                    kopnet_consensus::VoteKind::Prevote => SignStep::Prevote,
                    kopnet_consensus::VoteKind::Precommit => SignStep::Precommit,
                };
                (v.vote.height, v.vote.round, step, v.vote.value_id)
            }
        };
        match self.signed.get(&(node, height, round, step)) {
            Some(first) if *first != value => Err(Violation::DoubleSign {
                node,
                height,
                round,
                step,
                first: *first,
                second: value,
            }),
            Some(_) => Ok(()),
            None => {
                self.signed.insert((node, height, round, step), value);
                Ok(())
            }
        }
    }

    /// An honest node decided.
    pub fn honest_decided(
        &mut self,
        node: NodeId,
        decision: &Decision,
        chain_id: &str,
        set: &ValidatorSet,
        rule: QuorumRule,
    ) -> Result<(), Violation> {
        let (height, id) = (decision.height, decision.value.id);
        match self.decided.get(&height) {
            Some(first) if *first != id => {
                return Err(Violation::Agreement {
                    height,
                    first: *first,
                    second: id,
                    node,
                })
            }
            Some(_) => {}
            None => {
                self.decided.insert(height, id);
            }
        }
        if !self.proposed.contains(&id) {
            return Err(Violation::Validity {
                height,
                value: id,
                node,
                reason: "never proposed",
            });
        }
        if !is_valid(&decision.value, height) {
            return Err(Violation::Validity {
                height,
                value: id,
                node,
                reason: "invalid value",
            });
        }
        let cert = &decision.certificate;
        if cert.height != height || cert.value_id != id {
            return Err(Violation::Certificate {
                node,
                height,
                error: "certificate is for another height or value".into(),
            });
        }
        cert.verify_with_rule(chain_id, set, rule)
            .map_err(|e| Violation::Certificate {
                node,
                height,
                error: e.to_string(),
            })
    }

    /// An honest node reported evidence.
    pub fn evidence(
        &mut self,
        node: NodeId,
        evidence: &Evidence,
        chain_id: &str,
        set: &ValidatorSet,
        offender: Option<(NodeId, bool)>,
    ) -> Result<(), Violation> {
        self.evidence_seen += 1;
        evidence
            .verify(chain_id, set)
            .map_err(|e| Violation::BadEvidence {
                node,
                error: e.to_string(),
            })?;
        match offender {
            Some((index, false)) => Err(Violation::HonestAccused {
                node,
                offender: index,
            }),
            _ => Ok(()),
        }
    }

    pub fn decided_heights(&self) -> u64 {
        self.decided.len() as u64
    }
}
