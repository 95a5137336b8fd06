//! `equivocate`: every own vote goes out twice, with two different value
//! ids for the same (height, round, kind); every own proposal goes out
//! with a second proposal of another value for the same (height, round).
//! Both are signed with the node's key: provable double-signing, which the
//! honest nodes must turn into evidence on the chain.
//!
//! An observer has no engine and broadcasts nothing of its own: it signs
//! a conflicting pair of prevotes for the next height whenever its height
//! changes (its key has no voting power, but the signatures are real).

use super::{Context, Publisher, Seen};
use crate::config::Role;
use crate::p2p::Topic;
use crate::wire::{self, ConsensusGossip};
use kopnet_consensus::types::{
    Message, Proposal, SignedProposal, SignedVote, Value, Vote, VoteKind,
};
use kopnet_consensus::{Hash, Keypair};
use kopnet_ledger::block::{tx_root, Block};
use std::time::Duration;
use tokio::sync::mpsc;

/// How often an observer looks for a new height to equivocate at.
const OBSERVER_TICK: Duration = Duration::from_millis(200);
/// Hash context of the made-up value ids and values.
const OTHER_VALUE_CONTEXT: &str = "kopnet/hostile/other-value/v1";

pub(super) async fn run(mut ctx: Context, mut seen: mpsc::Receiver<Seen>, mut out: Publisher) {
    let observer = ctx.node.role == Role::Observer;
    let mut tick = tokio::time::interval(OBSERVER_TICK);
    let mut last_height = None;
    loop {
        tokio::select! {
            changed = ctx.shutdown.changed() => {
                if changed.is_err() || ctx.stopping() {
                    return;
                }
            }
            next = seen.recv() => {
                let message = match next {
                    Some(Seen::OwnBroadcast(message)) => message,
                    Some(Seen::Gossip { .. }) => continue,
                    None => return,
                };
                if let Some(conflict) = conflicting(ctx.chain_id(), &ctx.keypair, &message) {
                    out.send(Topic::Consensus, wire::encode(&ConsensusGossip::Message(conflict))).await;
                }
            }
            _ = tick.tick(), if observer => {
                let height = ctx.height().saturating_add(1);
                if last_height == Some(height) {
                    continue;
                }
                last_height = Some(height);
                for vote in vote_pair(ctx.chain_id(), &ctx.keypair, height) {
                    out.send(Topic::Consensus, wire::encode(&ConsensusGossip::Message(vote))).await;
                }
            }
        }
    }
}

/// The conflicting twin of an own message: `None` for messages signed by
/// someone else (or that cannot be signed).
pub(super) fn conflicting(chain_id: &str, keypair: &Keypair, message: &Message) -> Option<Message> {
    if message.signer() != keypair.public() {
        return None;
    }
    match message {
        Message::Vote(signed) => {
            let vote = Vote {
                value_id: Some(other_id(signed.vote.value_id)),
                ..signed.vote.clone()
            };
            SignedVote::sign(chain_id, keypair, vote)
                .ok()
                .map(Message::Vote)
        }
        Message::Proposal(signed) => {
            let p = &signed.proposal;
            let proposal = Proposal {
                value: other_value(&p.value, p.height, p.round),
                ..p.clone()
            };
            SignedProposal::sign(chain_id, keypair, proposal)
                .ok()
                .map(Message::Proposal)
        }
    }
}

/// A value id other than `id` (a vote for nil becomes a vote for a value).
fn other_id(id: Option<Hash>) -> Hash {
    match id {
        Some(id) => Hash::digest(OTHER_VALUE_CONTEXT, &id.0),
        None => Hash::digest(OTHER_VALUE_CONTEXT, b"nil"),
    }
}

/// Another value for the same height: the same block without its
/// transactions (a valid block) when it has any, else a tiny value that is
/// no block at all.
fn other_value(value: &Value, height: u64, round: u32) -> Value {
    if let Ok(mut block) = Block::decode(&value.bytes) {
        if !block.txs.is_empty() {
            block.txs.clear();
            block.header.tx_count = 0;
            block.header.tx_root = tx_root(&[]);
            if let Ok(bytes) = block.encode() {
                return Value {
                    id: block.hash(),
                    bytes,
                };
            }
        }
    }
    let mut bytes = b"hostile-other-value".to_vec();
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&round.to_le_bytes());
    Value {
        id: Hash::digest(OTHER_VALUE_CONTEXT, &bytes),
        bytes,
    }
}

/// Two prevotes for round 0 of `height` with different value ids.
fn vote_pair(chain_id: &str, keypair: &Keypair, height: u64) -> Vec<Message> {
    [None, Some(other_id(None))]
        .into_iter()
        .filter_map(|value_id| {
            let vote = Vote {
                height,
                round: 0,
                kind: VoteKind::Prevote,
                value_id,
                validator: keypair.public(),
            };
            SignedVote::sign(chain_id, keypair, vote)
                .ok()
                .map(Message::Vote)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = "test-chain";

    fn vote(keypair: &Keypair, value_id: Option<Hash>) -> Message {
        let vote = Vote {
            height: 7,
            round: 2,
            kind: VoteKind::Precommit,
            value_id,
            validator: keypair.public(),
        };
        Message::Vote(SignedVote::sign(CHAIN, keypair, vote).unwrap())
    }

    #[test]
    fn an_own_vote_gets_a_signed_twin_at_the_same_position_with_another_value() {
        let me = Keypair::from_seed([1; 32]);
        for original in [vote(&me, None), vote(&me, Some(Hash([9; 32])))] {
            let Some(Message::Vote(twin)) = conflicting(CHAIN, &me, &original) else {
                panic!("no twin for {original:?}");
            };
            let Message::Vote(first) = &original else {
                unreachable!()
            };
            assert!(twin.verify(CHAIN).is_ok());
            assert_eq!(
                (twin.vote.height, twin.vote.round, twin.vote.kind),
                (first.vote.height, first.vote.round, first.vote.kind)
            );
            assert_ne!(twin.vote.value_id, first.vote.value_id);
        }
        // Someone else's vote is left alone.
        let other = Keypair::from_seed([2; 32]);
        assert_eq!(conflicting(CHAIN, &me, &vote(&other, None)), None);
    }

    #[test]
    fn an_own_proposal_gets_a_signed_twin_with_another_value() {
        let me = Keypair::from_seed([1; 32]);
        let proposal = Proposal {
            height: 3,
            round: 0,
            valid_round: None,
            value: Value {
                id: Hash([4; 32]),
                bytes: b"not a block".to_vec(),
            },
            proposer: me.public(),
        };
        let original = Message::Proposal(SignedProposal::sign(CHAIN, &me, proposal).unwrap());
        let Some(Message::Proposal(twin)) = conflicting(CHAIN, &me, &original) else {
            panic!("no twin");
        };
        assert!(twin.verify(CHAIN).is_ok());
        assert_eq!((twin.proposal.height, twin.proposal.round), (3, 0));
        assert_ne!(twin.proposal.value.id, Hash([4; 32]));
    }

    #[test]
    fn an_observer_signs_two_different_prevotes_for_the_next_height() {
        let me = Keypair::from_seed([3; 32]);
        let pair = vote_pair(CHAIN, &me, 11);
        assert_eq!(pair.len(), 2);
        let ids: Vec<_> = pair
            .iter()
            .map(|m| match m {
                Message::Vote(v) => {
                    assert!(v.verify(CHAIN).is_ok());
                    (v.vote.height, v.vote.value_id)
                }
                Message::Proposal(_) => panic!("a proposal"),
            })
            .collect();
        assert_eq!(ids[0].0, ids[1].0);
        assert_ne!(ids[0].1, ids[1].1);
    }
}
