//! What the host feeds the engine ([`Input`]) and what it must do in return
//! ([`Output`]).

use crate::certificate::CommitCertificate;
use crate::crypto::Hash;
use crate::evidence::Evidence;
use crate::safety::PendingSend;
use crate::state_machine::TimeoutStep;
use crate::types::{Height, Round, SignedProposal, SignedVote, Value};
use crate::validator_set::ValidatorSet;

/// Everything that can happen to the engine.
#[derive(Clone, Debug)]
pub enum Input {
    /// A proposal from the network (untrusted).
    Proposal(SignedProposal),
    /// A vote from the network (untrusted).
    Vote(SignedVote),
    /// A timer scheduled by [`Output::ScheduleTimeout`] fired.
    TimeoutElapsed {
        height: Height,
        round: Round,
        step: TimeoutStep,
    },
    /// The host built the value asked for by [`Output::GetValue`].
    ValueReady {
        height: Height,
        round: Round,
        value: Value,
    },
    /// The host checked a value asked for by [`Output::ValidateValue`]
    /// (including that `id` matches the bytes).
    ValueValidated {
        height: Height,
        round: Round,
        value_id: Hash,
        valid: bool,
    },
    /// The mempool is not empty: round 0 may start without waiting for the
    /// empty-block interval.
    TxsAvailable { height: Height },
    /// A decided value and its certificate, fetched from a peer while
    /// catching up. The certificate is verified before it is accepted.
    BlockSynced {
        value: Value,
        certificate: CommitCertificate,
    },
    /// After [`Output::Decide`] was committed: start `height` (the decided
    /// height + 1) with its validator set.
    NextHeight {
        height: Height,
        validators: ValidatorSet,
        /// The set of `height + 1`, if known: messages for it are then
        /// verified and kept while `height` runs.
        next_validators: Option<ValidatorSet>,
    },
}

/// A decision: the host commits `value` at `height`, keeps the certificate
/// (observers and syncing peers need it), then sends [`Input::NextHeight`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decision {
    pub height: Height,
    pub value: Value,
    pub certificate: CommitCertificate,
}

/// One thing the host must do. Each variant says how to resume.
#[derive(Debug)]
pub enum Output {
    /// Persist the safety record, then broadcast the released messages:
    /// `pending.persist(&mut store)?` returns them. Always first in
    /// [`Outputs`].
    Send(PendingSend),
    /// Call back with [`Input::TimeoutElapsed`] once the host clock reaches
    /// `deadline_ms`.
    ScheduleTimeout {
        height: Height,
        round: Round,
        step: TimeoutStep,
        deadline_ms: u64,
    },
    /// Build a block for our proposal; answer with [`Input::ValueReady`].
    GetValue { height: Height, round: Round },
    /// Check a proposed value; answer with [`Input::ValueValidated`].
    /// `proposer` signed the proposal; `valid_round` is its proof-of-lock
    /// round when it re-proposes a value from an earlier round (whose
    /// block another proposer may have built).
    ValidateValue {
        height: Height,
        round: Round,
        value: Value,
        proposer: crate::crypto::PublicKey,
        valid_round: Option<Round>,
    },
    /// Commit the decided value; answer with [`Input::NextHeight`].
    Decide(Decision),
    /// Misbehaviour observed; report or gossip it.
    Evidence(Evidence),
}

/// The outputs of one input, in the order the host must handle them.
#[must_use = "outputs carry votes to persist and send, timers and decisions"]
#[derive(Debug, Default)]
pub struct Outputs {
    items: Vec<Output>,
}

impl Outputs {
    pub(crate) fn push(&mut self, output: Output) {
        self.items.push(output);
    }

    pub(crate) fn push_front(&mut self, output: Output) {
        self.items.insert(0, output);
    }

    pub(crate) fn append(&mut self, other: Outputs) {
        self.items.extend(other.items);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Output> {
        self.items.iter()
    }
}

impl IntoIterator for Outputs {
    type Item = Output;
    type IntoIter = std::vec::IntoIter<Output>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
