//! The driver: turns the vote keeper and proposals into the paper's `upon`
//! conditions, feeds them to the state machine, and carries out its actions
//! (signing behind the safety record, timers, decisions).

use crate::certificate::CommitCertificate;
use crate::crypto::Hash;
use crate::engine::Engine;
use crate::io::{Decision, Output, Outputs};
use crate::proposer::proposer;
use crate::safety::{SignPosition, SignStep};
use crate::state_machine::{Action, Event, Step};
use crate::types::{Message, Proposal, Round, SignedProposal, SignedVote, Value, Vote, VoteKind};

/// Upper bound on state-machine transitions per input. Each transition moves
/// the step, a round or a once-per-round flag forward, so a handful suffice;
/// the bound turns a logic error into a stall instead of a hang.
const TRANSITIONS_PER_INPUT_MAX: usize = 256;

impl Engine {
    /// StartRound(round), with the proposer looked up.
    pub(crate) fn enter_round(&mut self, round: Round, out: &mut Outputs) {
        let me = self.keypair.public();
        let is_proposer =
            proposer(&self.validators, self.state.height, round).is_some_and(|v| v.key == me);
        self.apply(Event::NewRound { round, is_proposer }, out);
    }

    /// Apply one event and carry out its actions (which may apply more).
    pub(crate) fn apply(&mut self, event: Event, out: &mut Outputs) {
        let mut queue = vec![event];
        let mut budget = TRANSITIONS_PER_INPUT_MAX;
        while let Some(event) = queue.pop() {
            if budget == 0 {
                return;
            }
            budget -= 1;
            for action in self.state.apply(event) {
                if let Some(next) = self.execute(action, out) {
                    queue.push(next);
                }
            }
        }
    }

    /// Re-check every condition until none applies.
    pub(crate) fn drive(&mut self, out: &mut Outputs) {
        for _ in 0..TRANSITIONS_PER_INPUT_MAX {
            let Some(event) = self.next_event() else {
                return;
            };
            self.apply(event, out);
        }
    }

    /// The first `upon` condition that holds now and would change something.
    fn next_event(&self) -> Option<Event> {
        self.conditions().into_iter().find(|event| {
            let mut probe = self.state.clone();
            let actions = probe.apply(event.clone());
            !actions.is_empty() || probe != self.state
        })
    }

    /// Every `upon` condition of Algorithm 1 that holds now, in priority order.
    fn conditions(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let step = self.state.step;
        if matches!(step, Step::NewHeight | Step::Commit) {
            return events;
        }
        let rule = self.config.quorum_rule;
        let total = self.validators.total_power();
        let r = self.state.round;
        let quorum = |round: Round, kind: VoteKind, value: Option<Hash>| {
            self.votes.has_quorum_for(rule, total, round, kind, value)
        };
        // L49: a decision in any round.
        for (round, value_id) in self.votes.decided_candidates(rule, total) {
            if self.decided_value(value_id).is_some() {
                events.push(Event::ProposalAndPrecommitValue { round, value_id });
            }
        }
        // L55: f+1 of a higher round.
        if let Some(round) = self
            .votes
            .skip_round(r, total, |k| self.validators.power_of(k))
        {
            events.push(Event::SkipRound { round });
        }
        if let Some(entry) = self.proposals.get(&r) {
            let p = &entry.signed.proposal;
            let id = p.value.id;
            match (entry.valid, p.valid_round) {
                // L22
                (Some(valid), None) => events.push(Event::Proposal {
                    value_id: id,
                    valid,
                }),
                // L28
                (Some(valid), Some(vr)) if quorum(vr, VoteKind::Prevote, Some(id)) => {
                    events.push(Event::ProposalAndPolkaPrevious {
                        value_id: id,
                        valid_round: vr,
                        valid,
                    });
                }
                _ => {}
            }
            // L36
            if entry.valid == Some(true) && quorum(r, VoteKind::Prevote, Some(id)) {
                events.push(Event::ProposalAndPolkaCurrent {
                    value: p.value.clone(),
                });
            }
        }
        // L44
        if quorum(r, VoteKind::Prevote, None) {
            events.push(Event::PolkaNil);
        }
        // L34
        if self.votes.has_quorum_any(rule, total, r, VoteKind::Prevote) {
            events.push(Event::PolkaAny);
        }
        // L47
        if self
            .votes
            .has_quorum_any(rule, total, r, VoteKind::Precommit)
        {
            events.push(Event::PrecommitAny);
        }
        events
    }

    /// The proposal of `round` if it carries `value_id` and the host said it is valid.
    /// The value to decide once 2f+1 precommits for `value_id` are in (L49):
    /// from any proposal of this height that carries it and that we found
    /// valid, not only from the round of the precommits. A value is named
    /// by its id (the hash of its bytes), so every proposal carrying the
    /// id carries the same value; what decides is the precommit quorum.
    /// Without this, a validator that kept a Byzantine proposer's other
    /// proposal for the deciding round (or missed that round's proposal)
    /// could never decide the value the others decided, even when an
    /// honest validator re-proposes it in a later round (simulator seed
    /// 9092: the round's proposer equivocated, one honest validator and
    /// the proposer committed, the rest were stuck at that height).
    fn decided_value(&self, value_id: Hash) -> Option<&Value> {
        self.proposals
            .values()
            .find(|e| e.valid == Some(true) && e.signed.proposal.value.id == value_id)
            .map(|e| &e.signed.proposal.value)
    }

    /// Carry out one action; return a follow-up event if it needs one.
    fn execute(&mut self, action: Action, out: &mut Outputs) -> Option<Event> {
        let height = self.state.height;
        match action {
            Action::GetValue { round } => out.push(Output::GetValue { height, round }),
            Action::ScheduleTimeout { round, step } => out.push(self.timeout(round, step)),
            Action::Propose {
                round,
                value,
                valid_round,
            } => self.propose(round, value, valid_round),
            Action::Vote {
                round,
                kind,
                value_id,
            } => self.vote(round, kind, value_id),
            Action::NewRound { round } => {
                let me = self.keypair.public();
                let is_proposer =
                    proposer(&self.validators, height, round).is_some_and(|v| v.key == me);
                return Some(Event::NewRound { round, is_proposer });
            }
            Action::Decide { round, value_id } => self.decide(round, value_id, out),
        }
        None
    }

    /// Check and update the safety record; false if signing is refused or
    /// we are not a validator.
    fn may_sign(&mut self, round: Round, step: SignStep, value: Option<Hash>) -> bool {
        if self.validators.power_of(&self.keypair.public()) == 0 {
            return false;
        }
        let position = SignPosition {
            height: self.state.height,
            round,
            step,
        };
        if self.safety.check(position, value).is_err() {
            self.refused_signatures = self.refused_signatures.saturating_add(1);
            return false;
        }
        self.safety.record(position, value);
        true
    }

    /// After a restart: re-sign the votes the record says were signed in
    /// this round and the one before (identical bytes, so no new signing
    /// decision), count them, send them again, and put the state machine
    /// past this round's steps. The previous round's precommit matters: a
    /// peer still in that round may need it to reach 2f+1 precommits and
    /// time out of it (paper line 47); it goes out again with the round
    /// change proof the host re-gossips.
    pub(crate) fn resend_round_votes(&mut self) {
        let (height, round) = (self.state.height, self.state.round);
        if (self.safety.height, self.safety.round) != (height, round) {
            return;
        }
        let me = self.keypair.public();
        let power = self.validators.power_of(&me);
        if power == 0 {
            return;
        }
        for (vote_round, kind, value_id) in self.safety.round_votes.clone() {
            let vote = Vote {
                height,
                round: vote_round,
                kind,
                value_id,
                validator: me,
            };
            let Ok(signed) = SignedVote::sign(self.config.chain_id(), &self.keypair, vote) else {
                continue;
            };
            let _ = self.votes.add(signed.clone(), power);
            self.unsent.push(Message::Vote(signed));
            if vote_round != round {
                continue;
            }
            let step = match kind {
                VoteKind::Prevote => Step::Prevote,
                VoteKind::Precommit => Step::Precommit,
            };
            self.state.step = self.state.step.max(step);
        }
    }

    fn propose(&mut self, round: Round, value: Value, valid_round: Option<Round>) {
        if !self.may_sign(round, SignStep::Proposal, Some(value.id)) {
            return;
        }
        let proposal = Proposal {
            height: self.state.height,
            round,
            valid_round,
            value,
            proposer: self.keypair.public(),
        };
        let Ok(signed) = SignedProposal::sign(self.config.chain_id(), &self.keypair, proposal)
        else {
            return;
        };
        self.proposals.insert(
            round,
            crate::engine::ProposalEntry {
                signed: signed.clone(),
                valid: Some(true),
            },
        );
        self.unsent.push(Message::Proposal(signed));
    }

    fn vote(&mut self, round: Round, kind: VoteKind, value_id: Option<Hash>) {
        let step = match kind {
            VoteKind::Prevote => SignStep::Prevote,
            VoteKind::Precommit => SignStep::Precommit,
        };
        if !self.may_sign(round, step, value_id) {
            return;
        }
        let me = self.keypair.public();
        let vote = Vote {
            height: self.state.height,
            round,
            kind,
            value_id,
            validator: me,
        };
        let Ok(signed) = SignedVote::sign(self.config.chain_id(), &self.keypair, vote) else {
            return;
        };
        let power = self.validators.power_of(&me);
        let _ = self.votes.add(signed.clone(), power);
        self.unsent.push(Message::Vote(signed));
    }

    fn decide(&mut self, round: Round, value_id: Hash, out: &mut Outputs) {
        let Some(value) = self.decided_value(value_id).cloned() else {
            return;
        };
        let height = self.state.height;
        let certificate = CommitCertificate::from_precommits(
            height,
            round,
            value_id,
            self.votes.precommits_for(round, value_id),
        );
        self.state.step = Step::Commit;
        out.push(Output::Decide(Decision {
            height,
            value,
            certificate,
        }));
    }
}
