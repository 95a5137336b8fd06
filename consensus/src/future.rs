//! Messages for the next height, kept until it starts.
//!
//! Only verified messages get here (the engine checks the signature, that
//! the signer is in the next height's validator set, that a proposal comes
//! from that round's proposer and that its value is within the size bound).
//! Each (round, signer, kind) has one slot: a second, different message for
//! a taken slot is a conflict (evidence), never a second entry. The buffer
//! is bounded by count and by bytes, so one validator cannot crowd out the
//! others: a signer may fill at most its own slots.

use crate::crypto::PublicKey;
use crate::types::{Message, Proposal, Round, VoteKind};
use std::collections::BTreeMap;

/// Bytes counted per message besides a proposal's value (signatures, keys,
/// ids, framing).
pub const MESSAGE_OVERHEAD_BYTES: usize = 256;

/// Which message of a signer in a round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum SlotKind {
    Proposal,
    Vote(VoteKind),
}

/// One slot: a signer's message of one kind in one round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Slot {
    pub round: Round,
    pub signer: PublicKey,
    pub kind: SlotKind,
}

impl Slot {
    pub fn of(message: &Message) -> Slot {
        match message {
            Message::Proposal(p) => Slot {
                round: p.proposal.round,
                signer: p.proposal.proposer,
                kind: SlotKind::Proposal,
            },
            Message::Vote(v) => Slot {
                round: v.vote.round,
                signer: v.vote.validator,
                kind: SlotKind::Vote(v.vote.kind),
            },
        }
    }
}

/// Whether two messages of one slot carry the same signed content (then
/// neither proves anything against the signer).
pub fn signs_same(a: &Message, b: &Message) -> bool {
    match (a, b) {
        (Message::Vote(a), Message::Vote(b)) => a.vote == b.vote,
        (Message::Proposal(a), Message::Proposal(b)) => {
            proposals_sign_same(&a.proposal, &b.proposal)
        }
        _ => false,
    }
}

/// Whether two proposals sign the same content (all but the value's bytes).
pub fn proposals_sign_same(a: &Proposal, b: &Proposal) -> bool {
    (a.height, a.round, a.valid_round, a.value.id, a.proposer)
        == (b.height, b.round, b.valid_round, b.value.id, b.proposer)
}

/// The bytes a message is counted as.
pub fn message_bytes(message: &Message) -> usize {
    match message {
        Message::Proposal(p) => p.proposal.value.bytes.len() + MESSAGE_OVERHEAD_BYTES,
        Message::Vote(_) => MESSAGE_OVERHEAD_BYTES,
    }
}

/// What keeping a message came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    /// Kept in its slot.
    New,
    /// The very message is already kept.
    Duplicate,
    /// The slot holds a different message from the same signer: the kept
    /// one is returned, for evidence. Reported once per slot.
    Conflict(Box<Message>),
    /// A conflict already reported for this slot.
    ConflictAgain,
    /// No room (count or bytes).
    Full,
}

struct Entry {
    message: Message,
    conflict_reported: bool,
}

/// The next height's messages.
pub struct FutureBuffer {
    slots: BTreeMap<Slot, Entry>,
    bytes: usize,
    count_max: usize,
    bytes_max: usize,
}

impl std::fmt::Debug for FutureBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FutureBuffer")
            .field("messages", &self.slots.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl FutureBuffer {
    pub fn new(count_max: usize, bytes_max: usize) -> Self {
        FutureBuffer {
            slots: BTreeMap::new(),
            bytes: 0,
            count_max,
            bytes_max,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keep a verified message in its slot.
    pub fn keep(&mut self, message: Message) -> Kept {
        let slot = Slot::of(&message);
        if let Some(entry) = self.slots.get_mut(&slot) {
            // Same signed content (a proposal signs its value's id, not its
            // bytes; a signer may sign one vote twice): nothing to prove.
            if signs_same(&entry.message, &message) {
                return Kept::Duplicate;
            }
            if entry.conflict_reported {
                return Kept::ConflictAgain;
            }
            entry.conflict_reported = true;
            return Kept::Conflict(Box::new(entry.message.clone()));
        }
        let size = message_bytes(&message);
        if self.slots.len() >= self.count_max || self.bytes.saturating_add(size) > self.bytes_max {
            return Kept::Full;
        }
        self.bytes = self.bytes.saturating_add(size);
        self.slots.insert(
            slot,
            Entry {
                message,
                conflict_reported: false,
            },
        );
        Kept::New
    }

    /// Everything kept, in slot order (round, signer, kind), emptying the
    /// buffer.
    pub fn take(&mut self) -> Vec<Message> {
        self.bytes = 0;
        std::mem::take(&mut self.slots)
            .into_values()
            .map(|e| e.message)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Hash, Keypair};
    use crate::types::{Proposal, SignedProposal, SignedVote, Value, Vote};

    fn vote(key: &Keypair, round: Round, id: u8) -> Message {
        let vote = Vote {
            height: 2,
            round,
            kind: VoteKind::Prevote,
            value_id: Some(Hash([id; 32])),
            validator: key.public(),
        };
        Message::Vote(SignedVote::sign("c", key, vote).unwrap())
    }

    fn proposal(key: &Keypair, round: Round, bytes: usize) -> Message {
        let proposal = Proposal {
            height: 2,
            round,
            valid_round: None,
            value: Value {
                id: Hash([7; 32]),
                bytes: vec![1; bytes],
            },
            proposer: key.public(),
        };
        Message::Proposal(SignedProposal::sign("c", key, proposal).unwrap())
    }

    #[test]
    fn one_slot_per_signer_kind_and_round_and_conflicts_reported_once() {
        let a = Keypair::from_seed([1; 32]);
        let mut buffer = FutureBuffer::new(100, 1 << 20);
        assert_eq!(buffer.keep(vote(&a, 0, 1)), Kept::New);
        assert_eq!(buffer.keep(vote(&a, 0, 1)), Kept::Duplicate);
        assert_eq!(
            buffer.keep(vote(&a, 0, 2)),
            Kept::Conflict(Box::new(vote(&a, 0, 1)))
        );
        assert_eq!(buffer.keep(vote(&a, 0, 3)), Kept::ConflictAgain);
        assert_eq!(buffer.keep(vote(&a, 1, 3)), Kept::New);
        assert_eq!(buffer.len(), 2);
        assert_eq!(buffer.take(), vec![vote(&a, 0, 1), vote(&a, 1, 3)]);
        assert!(buffer.is_empty());
        assert_eq!(buffer.bytes(), 0);
    }

    #[test]
    fn bounded_by_count_and_by_bytes() {
        let keys: Vec<Keypair> = (0..4u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let mut by_count = FutureBuffer::new(2, 1 << 20);
        assert_eq!(by_count.keep(vote(&keys[0], 0, 1)), Kept::New);
        assert_eq!(by_count.keep(vote(&keys[1], 0, 1)), Kept::New);
        assert_eq!(by_count.keep(vote(&keys[2], 0, 1)), Kept::Full);
        let mut by_bytes = FutureBuffer::new(100, 10_000);
        assert_eq!(by_bytes.keep(proposal(&keys[0], 0, 6_000)), Kept::New);
        assert_eq!(by_bytes.keep(proposal(&keys[1], 0, 6_000)), Kept::Full);
        assert_eq!(by_bytes.keep(vote(&keys[1], 0, 1)), Kept::New);
        assert_eq!(by_bytes.bytes(), 6_000 + 2 * MESSAGE_OVERHEAD_BYTES);
    }
}
