//! The safety record and the persist-before-send rule.
//!
//! A validator must never sign two different values (or nil and a value) for
//! the same height, round and step, even across a crash. The engine keeps a
//! [`SafetyRecord`] of the last position it signed and refuses to sign at a
//! lower position, or at the same position for a different value. Every signed
//! message leaves the engine inside a [`PendingSend`], whose messages can only
//! be taken out by [`PendingSend::persist`] after a [`SafetyStore`] reports
//! the record durable (like raft-rs `Ready::persisted_messages`).

use crate::codec::EncodeError;
use crate::crypto::Hash;
use crate::safety_format::{self, SafetyDecodeError};
use crate::types::{Height, Message, Round, SignedVote, Value, VoteKind};
use serde::{Deserialize, Serialize};

/// What a signature was for, in signing order within a round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum SignStep {
    Proposal,
    Prevote,
    Precommit,
}

/// A point in (height, round, step) order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct SignPosition {
    pub height: Height,
    pub round: Round,
    pub step: SignStep,
}

/// The durable state that prevents double-signing, plus what a restarted
/// validator needs to keep its lock (paper: lockedValue/lockedRound,
/// validValue/validRound).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
pub struct SafetyRecord {
    /// Height and round the engine was in when it last signed.
    pub height: Height,
    pub round: Round,
    /// The last signed position and value id (None = nil).
    pub last_signed: Option<(SignPosition, Option<Hash>)>,
    /// `lockedRound`, `lockedValue` (id).
    pub locked: Option<(Round, Hash)>,
    /// `validRound`, `validValue` (full value: a proposer re-proposes it).
    pub valid: Option<(Round, Value)>,
    /// The prevotes for `valid` in its round (the polka that made it our
    /// valid value; at most one per validator). A restarted validator
    /// counts them again, so it can still prove its lock: without them a
    /// validator locked on a value that only it and a Byzantine validator
    /// saw a polka for re-proposes that value for ever and nobody, itself
    /// included, can prevote it (paper line 28 needs the polka), while its
    /// lock keeps it from prevoting anything else (simulator seeds 2121
    /// and 4557).
    pub valid_proof: Vec<SignedVote>,
    /// The votes signed at `height` in `round` and in the round signed in
    /// before it (at most a prevote and a precommit each). A restarted
    /// engine re-signs exactly these (ed25519 is deterministic: the same
    /// bytes) and sends them again, so a crash between persisting and
    /// sending cannot withhold a vote others need to progress — including
    /// the previous round's precommit, which peers still in that round
    /// need to leave it (simulator seed 6756: a validator's round-0
    /// precommit was lost in a partition, it crashed in round 1, and the
    /// others could never collect 2f+1 round-0 precommits).
    pub round_votes: Vec<(Round, VoteKind, Option<Hash>)>,
}

/// Why the engine refused to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignRefused {
    #[error("already signed {last:?} (value {last_value:?}); refusing {wanted:?}")]
    Regression {
        last: SignPosition,
        last_value: Option<Hash>,
        wanted: SignPosition,
    },
}

impl SafetyRecord {
    /// Allow signing `value` at `position` only if it moves forward, or repeats
    /// exactly the last signature (ed25519 is deterministic: same bytes).
    pub fn check(&self, position: SignPosition, value: Option<Hash>) -> Result<(), SignRefused> {
        match self.last_signed {
            None => Ok(()),
            Some((last, _)) if position > last => Ok(()),
            Some((last, last_value)) if position == last && value == last_value => Ok(()),
            Some((last, last_value)) => Err(SignRefused::Regression {
                last,
                last_value,
                wanted: position,
            }),
        }
    }

    /// Record a signature at `position` (after [`SafetyRecord::check`]).
    pub fn record(&mut self, position: SignPosition, value: Option<Hash>) {
        if self.height != position.height {
            self.round_votes.clear();
        } else if self.round != position.round {
            // The round we leave becomes the previous one; older go.
            let left = self.round;
            self.round_votes.retain(|(round, _, _)| *round == left);
        }
        self.height = position.height;
        self.round = position.round;
        self.last_signed = Some((position, value));
        let kind = match position.step {
            SignStep::Proposal => return,
            SignStep::Prevote => VoteKind::Prevote,
            SignStep::Precommit => VoteKind::Precommit,
        };
        let round = position.round;
        if !self
            .round_votes
            .iter()
            .any(|(r, k, _)| *r == round && *k == kind)
        {
            self.round_votes.push((round, kind, value));
        }
    }

    /// The record's bytes on disk: a versioned header with a checksum,
    /// then the body ([`crate::safety_format`]).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        safety_format::encode(self)
    }

    /// Read bytes written by [`SafetyRecord::encode`] (or by a version
    /// before the header); damaged, truncated or foreign bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, SafetyDecodeError> {
        safety_format::decode(bytes)
    }
}

/// Durable storage for the safety record. `persist` must return only once the
/// record survives a crash (fsync or equivalent).
pub trait SafetyStore {
    type Error;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Self::Error>;
}

/// Signed messages that may be sent only after `record` is durable.
///
/// The fields are private: the only way to reach the messages is
/// [`PendingSend::persist`]. Dropping a `PendingSend` drops the messages,
/// which is always safe.
#[must_use = "signed messages must be persisted with PendingSend::persist, then broadcast"]
#[derive(Debug)]
pub struct PendingSend {
    record: SafetyRecord,
    messages: Vec<Message>,
}

impl PendingSend {
    pub(crate) fn new(record: SafetyRecord, messages: Vec<Message>) -> Self {
        PendingSend { record, messages }
    }

    /// The record that must be durable before sending.
    pub fn record(&self) -> &SafetyRecord {
        &self.record
    }

    /// How many messages wait behind the record.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Persist the record with `store`; on success, release the messages for
    /// broadcast. On failure the messages are dropped, never sent.
    pub fn persist<S: SafetyStore>(self, store: &mut S) -> Result<Vec<Message>, S::Error> {
        store.persist(&self.record)?;
        Ok(self.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(height: Height, round: Round, step: SignStep) -> SignPosition {
        SignPosition {
            height,
            round,
            step,
        }
    }

    #[test]
    fn never_signs_backwards_or_conflicting() {
        let a = Some(Hash::digest("t", b"a"));
        let mut record = SafetyRecord::default();
        let p = pos(5, 1, SignStep::Prevote);
        record.check(p, a).unwrap();
        record.record(p, a);
        // Same position, same value: allowed (identical signature).
        assert!(record.check(p, a).is_ok());
        // Same position, nil instead of the value: refused.
        assert!(record.check(p, None).is_err());
        // Earlier positions: refused.
        assert!(record.check(pos(5, 1, SignStep::Proposal), a).is_err());
        assert!(record.check(pos(5, 0, SignStep::Precommit), a).is_err());
        assert!(record.check(pos(4, 9, SignStep::Precommit), a).is_err());
        // Later positions: allowed.
        assert!(record.check(pos(5, 1, SignStep::Precommit), None).is_ok());
        assert!(record.check(pos(5, 2, SignStep::Proposal), a).is_ok());
        assert!(record.check(pos(6, 0, SignStep::Prevote), None).is_ok());
    }

    #[test]
    fn keeps_the_votes_of_this_round_and_the_one_before() {
        let a = Some(Hash::digest("t", b"a"));
        let mut record = SafetyRecord::default();
        record.record(pos(3, 0, SignStep::Prevote), a);
        record.record(pos(3, 0, SignStep::Precommit), a);
        record.record(pos(3, 1, SignStep::Prevote), None);
        assert_eq!(
            record.round_votes,
            vec![
                (0, VoteKind::Prevote, a),
                (0, VoteKind::Precommit, a),
                (1, VoteKind::Prevote, None)
            ]
        );
        record.record(pos(3, 2, SignStep::Proposal), a);
        record.record(pos(3, 2, SignStep::Prevote), a);
        assert_eq!(
            record.round_votes,
            vec![(1, VoteKind::Prevote, None), (2, VoteKind::Prevote, a)]
        );
        record.record(pos(4, 0, SignStep::Prevote), None);
        assert_eq!(record.round_votes, vec![(0, VoteKind::Prevote, None)]);
    }

    #[test]
    fn record_round_trips_through_codec() {
        let mut record = SafetyRecord {
            locked: Some((1, Hash::digest("t", b"v"))),
            valid: Some((
                1,
                Value {
                    id: Hash::digest("t", b"v"),
                    bytes: b"v".to_vec(),
                },
            )),
            ..SafetyRecord::default()
        };
        record.record(
            pos(3, 1, SignStep::Precommit),
            Some(Hash::digest("t", b"v")),
        );
        let bytes = record.encode().unwrap();
        assert_eq!(SafetyRecord::decode(&bytes).unwrap(), record);
    }

    struct Failing;
    impl SafetyStore for Failing {
        type Error = &'static str;
        fn persist(&mut self, _: &SafetyRecord) -> Result<(), Self::Error> {
            Err("disk full")
        }
    }

    #[test]
    fn messages_are_released_only_after_persist() {
        let pending = PendingSend::new(SafetyRecord::default(), vec![]);
        assert_eq!(pending.persist(&mut Failing).unwrap_err(), "disk full");
    }
}
