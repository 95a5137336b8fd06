//! The Tendermint round state machine (Buchman, Kwon, Milosevic 2018,
//! Algorithm 1), as one flat `match` on (step, event).
//!
//! The state machine knows nothing about votes, signatures or validators: the
//! engine's driver observes the vote keeper and the proposals and feeds it the
//! paper's `upon` conditions as [`Event`]s; it answers with [`Action`]s. The
//! comments `// L22` etc. give the line of Algorithm 1 an arm implements.

use crate::crypto::Hash;
use crate::types::{Height, Round, Value, VoteKind};
use serde::{Deserialize, Serialize};

/// Where a height is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Step {
    /// Round 0 not started: waiting for transactions, a message of this
    /// height, or the empty-block interval.
    NewHeight,
    Propose,
    Prevote,
    Precommit,
    /// Decided; waiting for the host to start the next height.
    Commit,
}

/// Which timer a timeout belongs to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum TimeoutStep {
    /// No transactions arrived at round 0: propose an (empty) block anyway.
    EmptyBlock,
    Propose,
    Prevote,
    Precommit,
    /// Transactions arrived before the height was
    /// [`crate::TimeoutConfig::block_interval_min_ms`] old: start round 0
    /// when it is.
    BlockInterval,
}

/// Round state: the paper's `round_p`, `step_p`, `lockedValue_p`,
/// `lockedRound_p`, `validValue_p`, `validRound_p`, plus the "for the first
/// time" flags of lines 34, 36 and 47.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct State {
    pub height: Height,
    pub round: Round,
    pub step: Step,
    pub locked: Option<(Round, Hash)>,
    pub valid: Option<(Round, Value)>,
    polka_any_seen: bool,
    polka_current_seen: bool,
    precommit_any_seen: bool,
}

/// An `upon` condition of Algorithm 1 that the driver observed to hold for
/// the current round (unless a round is given).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// StartRound(round) (L11); `is_proposer` = proposer(h, round) is us.
    NewRound {
        round: Round,
        is_proposer: bool,
    },
    /// The host's `getValue()` answer for our proposal (L18).
    ValueReady {
        value: Value,
    },
    /// PROPOSAL(h, r, v, -1) from the proposer (L22).
    Proposal {
        value_id: Hash,
        valid: bool,
    },
    /// PROPOSAL(h, r, v, vr) and 2f+1 PREVOTE(h, vr, id(v)), vr < r (L28).
    ProposalAndPolkaPrevious {
        value_id: Hash,
        valid_round: Round,
        valid: bool,
    },
    /// 2f+1 PREVOTE(h, r, *) (L34).
    PolkaAny,
    /// PROPOSAL(h, r, v, *) valid, and 2f+1 PREVOTE(h, r, id(v)) (L36).
    ProposalAndPolkaCurrent {
        value: Value,
    },
    /// 2f+1 PREVOTE(h, r, nil) (L44).
    PolkaNil,
    /// 2f+1 PRECOMMIT(h, r, *) (L47).
    PrecommitAny,
    /// PROPOSAL(h, r', v, *) valid, and 2f+1 PRECOMMIT(h, r', id(v)) (L49).
    ProposalAndPrecommitValue {
        round: Round,
        value_id: Hash,
    },
    /// f+1 messages of a round above ours (L55).
    SkipRound {
        round: Round,
    },
    TimeoutPropose {
        round: Round,
    },
    TimeoutPrevote {
        round: Round,
    },
    TimeoutPrecommit {
        round: Round,
    },
}

/// What the engine must do for a transition.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Action {
    /// Ask the host for a value to propose.
    GetValue {
        round: Round,
    },
    /// Sign and broadcast a proposal.
    Propose {
        round: Round,
        value: Value,
        valid_round: Option<Round>,
    },
    /// Sign and broadcast a vote (None = nil).
    Vote {
        round: Round,
        kind: VoteKind,
        value_id: Option<Hash>,
    },
    ScheduleTimeout {
        round: Round,
        step: TimeoutStep,
    },
    /// Start `round` (the driver supplies who proposes).
    NewRound {
        round: Round,
    },
    Decide {
        round: Round,
        value_id: Hash,
    },
}

impl State {
    /// A fresh height, optionally resuming a persisted lock.
    pub fn new(height: Height) -> Self {
        State {
            height,
            round: 0,
            step: Step::NewHeight,
            locked: None,
            valid: None,
            polka_any_seen: false,
            polka_current_seen: false,
            precommit_any_seen: false,
        }
    }

    /// Apply one event; return the actions it requires (empty if the event
    /// does not apply in the current step).
    // One function on purpose (past ~80 lines): one flat `match (step,
    // event)` mirroring Algorithm 1's `upon` rules, each arm citing its line,
    // so it reads side by side with the paper; splitting it would scatter
    // the rules' order of precedence over several functions.
    pub fn apply(&mut self, event: Event) -> Vec<Action> {
        let r = self.round;
        match (self.step, event) {
            (Step::Commit, _) => vec![],
            // L11: StartRound.
            (_, Event::NewRound { round, is_proposer }) => self.start_round(round, is_proposer),
            // L18-L19: proposer got its value.
            (Step::Propose, Event::ValueReady { value }) => vec![Action::Propose {
                round: r,
                value,
                valid_round: None,
            }],
            // L22: fresh proposal.
            (Step::Propose, Event::Proposal { value_id, valid }) => {
                let unlocked = match self.locked {
                    None => true,
                    Some((_, locked)) => locked == value_id,
                };
                let vote = (valid && unlocked).then_some(value_id);
                self.vote(VoteKind::Prevote, vote, Step::Prevote)
            }
            // L28: re-proposal with a proof-of-lock from valid_round.
            (
                Step::Propose,
                Event::ProposalAndPolkaPrevious {
                    value_id,
                    valid_round,
                    valid,
                },
            ) if valid_round < r => {
                let free = match self.locked {
                    None => true,
                    Some((locked_round, locked)) => {
                        locked_round <= valid_round || locked == value_id
                    }
                };
                let vote = (valid && free).then_some(value_id);
                self.vote(VoteKind::Prevote, vote, Step::Prevote)
            }
            // L34: first 2f+1 prevotes of any kind.
            (Step::Prevote, Event::PolkaAny) if !self.polka_any_seen => {
                self.polka_any_seen = true;
                vec![Action::ScheduleTimeout {
                    round: r,
                    step: TimeoutStep::Prevote,
                }]
            }
            // L36: polka for the proposal, first time, step >= prevote.
            (Step::Prevote | Step::Precommit, Event::ProposalAndPolkaCurrent { value })
                if !self.polka_current_seen =>
            {
                self.polka_current_seen = true;
                let value_id = value.id;
                self.valid = Some((r, value));
                if self.step == Step::Prevote {
                    self.locked = Some((r, value_id));
                    self.vote(VoteKind::Precommit, Some(value_id), Step::Precommit)
                } else {
                    vec![]
                }
            }
            // L44: polka for nil.
            (Step::Prevote, Event::PolkaNil) => {
                self.vote(VoteKind::Precommit, None, Step::Precommit)
            }
            // L47: first 2f+1 precommits of any kind.
            (_, Event::PrecommitAny)
                if !self.precommit_any_seen && self.step != Step::NewHeight =>
            {
                self.precommit_any_seen = true;
                vec![Action::ScheduleTimeout {
                    round: r,
                    step: TimeoutStep::Precommit,
                }]
            }
            // L49: decide.
            (_, Event::ProposalAndPrecommitValue { round, value_id }) => {
                self.step = Step::Commit;
                vec![Action::Decide { round, value_id }]
            }
            // L55: f+1 messages from a higher round.
            (_, Event::SkipRound { round }) if round > r => vec![Action::NewRound { round }],
            // L57: proposal timeout.
            (Step::Propose, Event::TimeoutPropose { round }) if round == r => {
                self.vote(VoteKind::Prevote, None, Step::Prevote)
            }
            // L61: prevote timeout.
            (Step::Prevote, Event::TimeoutPrevote { round }) if round == r => {
                self.vote(VoteKind::Precommit, None, Step::Precommit)
            }
            // L65: precommit timeout.
            (
                Step::Propose | Step::Prevote | Step::Precommit,
                Event::TimeoutPrecommit { round },
            ) if round == r => match r.checked_add(1) {
                Some(next) => vec![Action::NewRound { round: next }],
                None => vec![],
            },
            _ => vec![],
        }
    }

    /// L11-L21: StartRound.
    fn start_round(&mut self, round: Round, is_proposer: bool) -> Vec<Action> {
        if self.step != Step::NewHeight && round <= self.round {
            return vec![];
        }
        self.round = round;
        self.step = Step::Propose;
        self.polka_any_seen = false;
        self.polka_current_seen = false;
        self.precommit_any_seen = false;
        // L21: every node (the proposer too, in case its host never answers
        // or its safety record forbids re-signing) schedules the propose timeout.
        let mut actions = vec![Action::ScheduleTimeout {
            round,
            step: TimeoutStep::Propose,
        }];
        if is_proposer {
            match &self.valid {
                // L15-L16: re-propose validValue with validRound.
                Some((valid_round, value)) => actions.push(Action::Propose {
                    round,
                    value: value.clone(),
                    valid_round: Some(*valid_round),
                }),
                // L18: getValue().
                None => actions.push(Action::GetValue { round }),
            }
        }
        actions
    }

    fn vote(&mut self, kind: VoteKind, value_id: Option<Hash>, next: Step) -> Vec<Action> {
        self.step = next;
        vec![Action::Vote {
            round: self.round,
            kind,
            value_id,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(tag: &[u8]) -> Value {
        Value {
            id: Hash::digest("t", tag),
            bytes: tag.to_vec(),
        }
    }

    fn started() -> State {
        let mut s = State::new(1);
        s.apply(Event::NewRound {
            round: 0,
            is_proposer: false,
        });
        s
    }

    #[test]
    fn locked_validator_prevotes_nil_for_other_value() {
        let mut s = started();
        let a = value(b"a");
        s.apply(Event::Proposal {
            value_id: a.id,
            valid: true,
        });
        let out = s.apply(Event::ProposalAndPolkaCurrent { value: a.clone() });
        assert_eq!(
            out,
            vec![Action::Vote {
                round: 0,
                kind: VoteKind::Precommit,
                value_id: Some(a.id)
            }]
        );
        assert_eq!(s.locked, Some((0, a.id)));
        s.apply(Event::TimeoutPrecommit { round: 0 });
        s.apply(Event::NewRound {
            round: 1,
            is_proposer: false,
        });
        let b = value(b"b");
        let out = s.apply(Event::Proposal {
            value_id: b.id,
            valid: true,
        });
        assert_eq!(
            out,
            vec![Action::Vote {
                round: 1,
                kind: VoteKind::Prevote,
                value_id: None
            }]
        );
    }

    #[test]
    fn lock_released_by_later_polka() {
        let mut s = started();
        let a = value(b"a");
        let b = value(b"b");
        s.locked = Some((0, a.id));
        s.apply(Event::NewRound {
            round: 2,
            is_proposer: false,
        });
        let out = s.apply(Event::ProposalAndPolkaPrevious {
            value_id: b.id,
            valid_round: 1,
            valid: true,
        });
        assert_eq!(
            out,
            vec![Action::Vote {
                round: 2,
                kind: VoteKind::Prevote,
                value_id: Some(b.id)
            }]
        );
    }

    #[test]
    fn invalid_proposal_gets_nil_and_timeouts_only_once() {
        let mut s = started();
        let a = value(b"a");
        let out = s.apply(Event::Proposal {
            value_id: a.id,
            valid: false,
        });
        assert_eq!(
            out,
            vec![Action::Vote {
                round: 0,
                kind: VoteKind::Prevote,
                value_id: None
            }]
        );
        assert_eq!(s.apply(Event::PolkaAny).len(), 1);
        assert!(s.apply(Event::PolkaAny).is_empty());
        assert!(s.apply(Event::TimeoutPropose { round: 0 }).is_empty());
    }

    #[test]
    fn proposer_reproposes_valid_value() {
        let mut s = started();
        let a = value(b"a");
        s.valid = Some((0, a.clone()));
        let out = s.apply(Event::NewRound {
            round: 1,
            is_proposer: true,
        });
        assert!(out.contains(&Action::Propose {
            round: 1,
            value: a,
            valid_round: Some(0)
        }));
    }
}
