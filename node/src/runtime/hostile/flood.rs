//! `future-flood`: consensus messages for heights 1 to [`HEIGHTS_AHEAD`]
//! past the node's own, over [`ROUNDS`] rounds, as fast as they go out:
//! signed proposals whose value is nearly the largest a message may carry,
//! the same with a garbage signature, and signed votes. An honest node
//! must neither keep them all nor stop committing.

use super::{Context, Publisher};
use crate::p2p::Topic;
use crate::wire::{self, ConsensusGossip, WIRE_BYTES_MAX};
use kopnet_consensus::types::{
    Message, Proposal, SignedProposal, SignedVote, Value, Vote, VoteKind,
};
use kopnet_consensus::{Hash, Keypair, Signature};

/// How far ahead of the node's height the flood reaches.
pub const HEIGHTS_AHEAD: u64 = 1_000;
/// Rounds flooded per height.
pub const ROUNDS: u64 = 32;
/// The flood's value size: the largest message less room for the rest of
/// the proposal (the engine's `value_bytes_max` is [`WIRE_BYTES_MAX`] too).
pub const VALUE_BYTES: usize = WIRE_BYTES_MAX - 4 * 1024;
/// One message in this many is a maximal proposal (half of them with a
/// garbage signature); the rest are votes.
const PROPOSAL_EVERY: u64 = 4;
const VALUE_CONTEXT: &str = "kopnet/hostile/flood-value/v1";

pub(super) async fn run(ctx: Context, mut out: Publisher) {
    // One maximal value, shared by every proposal (only its id changes).
    let bytes = vec![0xA5_u8; VALUE_BYTES];
    let mut n: u64 = 0;
    while !ctx.stopping() {
        let message = nth_message(ctx.chain_id(), &ctx.keypair, ctx.height(), n, &bytes);
        if let Some(message) = message {
            out.send(
                Topic::Consensus,
                wire::encode(&ConsensusGossip::Message(message)),
            )
            .await;
        }
        n = n.wrapping_add(1);
    }
}

/// The `n`-th message of the flood over a node at `height`.
fn nth_message(
    chain_id: &str,
    keypair: &Keypair,
    height: u64,
    n: u64,
    bytes: &[u8],
) -> Option<Message> {
    let target = height.saturating_add(1 + n % HEIGHTS_AHEAD);
    let round = u32::try_from((n / HEIGHTS_AHEAD) % ROUNDS).unwrap_or(0);
    match n % PROPOSAL_EVERY {
        0 | 1 => {
            let id = Hash::digest_parts(VALUE_CONTEXT, &[&target.to_le_bytes(), &n.to_le_bytes()]);
            let proposal = Proposal {
                height: target,
                round,
                valid_round: None,
                value: Value {
                    id,
                    bytes: bytes.to_vec(),
                },
                proposer: keypair.public(),
            };
            if n.is_multiple_of(PROPOSAL_EVERY) {
                SignedProposal::sign(chain_id, keypair, proposal)
                    .ok()
                    .map(Message::Proposal)
            } else {
                Some(Message::Proposal(SignedProposal {
                    proposal,
                    signature: Signature([0x5A; 64]),
                }))
            }
        }
        k => {
            let vote = Vote {
                height: target,
                round,
                kind: if k == 2 {
                    VoteKind::Prevote
                } else {
                    VoteKind::Precommit
                },
                value_id: Some(Hash::digest(VALUE_CONTEXT, &n.to_le_bytes())),
                validator: keypair.public(),
            };
            SignedVote::sign(chain_id, keypair, vote)
                .ok()
                .map(Message::Vote)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flood_is_future_heights_of_maximal_proposals_and_votes_that_fit_a_message() {
        let me = Keypair::from_seed([5; 32]);
        let bytes = vec![0_u8; VALUE_BYTES];
        let mut kinds = [0_u32; 3];
        for n in 0..8 {
            let message = nth_message("c", &me, 100, n, &bytes).unwrap();
            assert!(message.height() > 100 && message.height() <= 100 + HEIGHTS_AHEAD);
            match &message {
                Message::Proposal(p) if p.verify("c").is_ok() => kinds[0] += 1,
                Message::Proposal(_) => kinds[1] += 1,
                Message::Vote(v) => {
                    assert!(v.verify("c").is_ok());
                    kinds[2] += 1;
                }
            }
            let proposal = matches!(message, Message::Proposal(_));
            let encoded = wire::encode(&ConsensusGossip::Message(message));
            assert!(encoded.len() <= WIRE_BYTES_MAX, "{}", encoded.len());
            // Proposals are maximal: a publish of them is accepted, barely.
            assert_eq!(proposal, encoded.len() >= VALUE_BYTES, "{}", encoded.len());
        }
        assert_eq!(kinds, [2, 2, 4]);
        // Rounds advance once every height ahead was flooded.
        let later = nth_message("c", &me, 100, HEIGHTS_AHEAD * 3, &bytes).unwrap();
        assert_eq!(later.round(), 3);
    }
}
