//! Safety invariants, checked as the run goes: agreement on blocks and on
//! state roots, validity, no honest double-signing, certificates that verify
//! with the strict > 2/3 rule against the validator set of their height
//! (whatever quorum rule the engines were configured with), one validator
//! set per height on every node with Byzantine power below a third, and
//! evidence only against Byzantine validators (evidence about a height no
//! node has started yet — a next-height conflict — is verified once some
//! node starts it).

use super::net::NodeId;
use super::violation::Violation;
use kopnet_consensus::{
    codec, Decision, Evidence, Hash, Height, Message, PublicKey, Round, SignStep, ValidatorSet,
    VoteKind,
};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the checker remembers.
pub struct Checker {
    chain_id: String,
    byzantine: Vec<PublicKey>,
    standby: Option<PublicKey>,
    decided: BTreeMap<Height, Hash>,
    roots: BTreeMap<Height, Hash>,
    sets: BTreeMap<Height, ValidatorSet>,
    signed: BTreeMap<(NodeId, Height, Round, SignStep), Option<Hash>>,
    proposed: BTreeSet<Hash>,
    /// Digests of certificates already verified (nodes often hold the same).
    verified: BTreeSet<Hash>,
    /// Evidence for a height no node has started yet (a next-height
    /// conflict): verified once the height's set is known.
    unverified: BTreeMap<Height, Vec<(NodeId, Evidence)>>,
    pub evidence_seen: u64,
    pub set_changes: u64,
    /// Signatures of the standby cooperative in agreed certificates.
    pub standby_precommits: u64,
}

/// A validator set seen for the first time at a height.
pub struct NewSet {
    pub changed: bool,
}

impl Checker {
    pub fn new(chain_id: &str, byzantine: Vec<PublicKey>, standby: Option<PublicKey>) -> Self {
        Checker {
            chain_id: chain_id.to_string(),
            byzantine,
            standby,
            decided: BTreeMap::new(),
            roots: BTreeMap::new(),
            sets: BTreeMap::new(),
            signed: BTreeMap::new(),
            proposed: BTreeSet::new(),
            verified: BTreeSet::new(),
            unverified: BTreeMap::new(),
            evidence_seen: 0,
            set_changes: 0,
            standby_precommits: 0,
        }
    }

    /// Every proposal anybody sent (honest or not): decided values must be among them.
    pub fn saw_proposal(&mut self, message: &Message) {
        if let Message::Proposal(p) = message {
            self.proposed.insert(p.proposal.value.id);
        }
    }

    /// A value an honest node proposed in a host call that then failed stop
    /// (its effects, the proposal's publication among them, never left the
    /// node), but that it also decided and committed in that call: with
    /// more than 2/3 of the power its own votes were a quorum. Its decision
    /// is then checked like any other ([`Self::honest_decided`]), its
    /// certificate included; the caller has checked that the block is the
    /// node's own proposal.
    pub fn proposed_unpublished(&mut self, value_id: Hash) {
        self.proposed.insert(value_id);
    }

    /// A node starts `height` with `set`: every node must use the same set
    /// for a height, and the Byzantine power in it must stay below a third.
    /// `Some` the first time any node uses the height.
    pub fn used_set(
        &mut self,
        node: NodeId,
        height: Height,
        set: &ValidatorSet,
    ) -> Result<Option<NewSet>, Violation> {
        if let Some(first) = self.sets.get(&height) {
            return if first == set {
                Ok(None)
            } else {
                Err(Violation::ValidatorSet { node, height })
            };
        }
        let byzantine: u64 = self.byzantine.iter().map(|k| set.power_of(k)).sum();
        let total = set.total_power();
        if 3 * u128::from(byzantine) >= u128::from(total) {
            return Err(Violation::ByzantinePower {
                height,
                byzantine,
                total,
            });
        }
        let changed = height
            .checked_sub(1)
            .and_then(|h| self.sets.get(&h))
            .is_some_and(|previous| previous != set);
        if changed {
            self.set_changes += 1;
        }
        self.sets.insert(height, set.clone());
        for (node, evidence) in self.unverified.remove(&height).unwrap_or_default() {
            self.verify_evidence(node, &evidence, set)?;
        }
        Ok(Some(NewSet { changed }))
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
                    VoteKind::Prevote => SignStep::Prevote,
                    VoteKind::Precommit => SignStep::Precommit,
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

    /// An honest node decided (before its ledger applies the block).
    pub fn honest_decided(&mut self, node: NodeId, decision: &Decision) -> Result<(), Violation> {
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
                let standby = self.standby;
                self.standby_precommits += decision
                    .certificate
                    .signatures
                    .iter()
                    .filter(|s| Some(s.validator) == standby)
                    .count() as u64;
            }
        }
        if !self.proposed.contains(&id) {
            return Err(Violation::Validity {
                height,
                value: id,
                node,
                reason: "never proposed".into(),
            });
        }
        let cert = &decision.certificate;
        let bad = |error: String| Violation::Certificate {
            node,
            height,
            error,
        };
        if cert.height != height || cert.value_id != id {
            return Err(bad("certificate is for another height or value".into()));
        }
        let set = self
            .sets
            .get(&height)
            .ok_or_else(|| bad("no node used a validator set for this height".into()))?;
        let digest = codec::encode(cert)
            .map(|bytes| Hash::digest("kopnet sim certificate", &bytes))
            .map_err(|e| bad(e.to_string()))?;
        if self.verified.contains(&digest) {
            return Ok(());
        }
        // Always the strict rule: a certificate proves a decision only with
        // more than 2/3 of the power, whatever the engines were told.
        cert.verify(&self.chain_id, set)
            .map_err(|e| bad(e.to_string()))?;
        self.verified.insert(digest);
        Ok(())
    }

    /// An honest node applied the block of `height`: its state root must
    /// match every other honest node's.
    pub fn honest_committed(
        &mut self,
        node: NodeId,
        height: Height,
        root: Hash,
    ) -> Result<(), Violation> {
        match self.roots.get(&height) {
            Some(first) if *first != root => Err(Violation::StateRoot {
                height,
                first: *first,
                second: root,
                node,
            }),
            Some(_) => Ok(()),
            None => {
                self.roots.insert(height, root);
                Ok(())
            }
        }
    }

    /// The agreed state root after `height`, if an honest node has applied it.
    pub fn root(&self, height: Height) -> Option<Hash> {
        self.roots.get(&height).copied()
    }

    /// An honest node reported evidence.
    pub fn evidence(
        &mut self,
        node: NodeId,
        evidence: &Evidence,
        offender: Option<(NodeId, bool)>,
    ) -> Result<(), Violation> {
        self.evidence_seen += 1;
        let height = evidence.offence().height;
        match self.sets.get(&height) {
            Some(set) => self.verify_evidence(node, evidence, set)?,
            None => self
                .unverified
                .entry(height)
                .or_default()
                .push((node, evidence.clone())),
        }
        match offender {
            Some((index, false)) => Err(Violation::HonestAccused {
                node,
                offender: index,
            }),
            _ => Ok(()),
        }
    }

    fn verify_evidence(
        &self,
        node: NodeId,
        evidence: &Evidence,
        set: &ValidatorSet,
    ) -> Result<(), Violation> {
        evidence
            .verify(&self.chain_id, set)
            .map_err(|e| Violation::BadEvidence {
                node,
                error: e.to_string(),
            })
    }

    pub fn decided_heights(&self) -> u64 {
        self.decided.len() as u64
    }
}
