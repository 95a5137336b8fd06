//! The future flood: besides its normal traffic, a flooding Byzantine node
//! sends every other node, every [`FLOOD_EVERY_TICKS`] gossip ticks, a
//! burst of consensus messages for heights after its own — signed votes,
//! signed proposals and proposals with a garbage signature, over rounds
//! past the engine's round window, every proposal carrying a value of
//! [`FLOOD_VALUE_BYTES`] (the simulated engine's value bound, see
//! [`super::node::VALUE_BYTES_MAX`]). Half of a burst is for the next
//! height — the one after the height being decided, which an honest engine
//! verifies and buffers — spread over rounds burst by burst; the other half
//! for heights up to [`FLOOD_HEIGHTS_AHEAD`] past it. Each burst votes for
//! other value ids, so a second burst conflicts with what a node kept from
//! the first: the flooder double-signs, and honest nodes must turn that
//! into evidence.
//!
//! ## Restricted by default
//! A flooder's signed bogus vote, replayed from the buffer when its height
//! starts, takes one of the two values the engine's vote keeper counts per
//! validator, round and kind (`VALUES_PER_VALIDATOR_MAX`); a flooder that
//! also double-votes (equivocator, double voter) takes the other one. That
//! used to strand a lock whose polka included the flooder's real vote
//! (docs/simulator.md, "Found in the host and the engine", item 4); the
//! vote keeper now makes room for votes for nil or a proposed value. By
//! default only a silent flooder (whose real vote never exists) signs its
//! flood votes; the others send them with a garbage signature, and the
//! burst aims at the network's next height (the highest committed height
//! plus two: the simulated adversary sees the whole network). The default
//! stays so that long runs compare with the earlier ones;
//! `--unrestricted-flood` lifts both restrictions: every flooder signs its
//! votes and aims at its own height being decided.
//!
//! An honest node must keep at most its bound of them
//! (`EngineConfig::future_messages_max`, `future_bytes_max()`) and go on
//! deciding.

use super::node::VALUE_BYTES_MAX;
use kopnet_consensus::{
    Hash, Height, Keypair, Message, Proposal, Round, Signature, SignedProposal, SignedVote, Value,
    Vote, VoteKind,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// A burst every this many gossip ticks of the flooder.
pub const FLOOD_EVERY_TICKS: u64 = 4;
/// Heights past the flooder's next height that the far half reaches.
pub const FLOOD_HEIGHTS_AHEAD: u64 = 64;
/// Rounds flooded: past the engine's window (`ROUNDS_AHEAD_MAX`, 16), so
/// the round bound is exercised too.
pub const FLOOD_ROUNDS: u32 = 20;
/// Next-height rounds per burst (each with a prevote, a precommit, a
/// signed and a garbage-signed proposal).
pub const FLOOD_NEXT_ROUNDS_PER_BURST: u32 = 4;
/// Messages for farther heights per burst.
pub const FLOOD_FAR_PER_BURST: u64 = 16;
/// Every flood proposal carries a value this large: the simulated engine's
/// value bound (64 KiB here, not the node's 4 MiB, to keep a run's memory
/// and time small; the bound's logic is the same).
pub const FLOOD_VALUE_BYTES: usize = VALUE_BYTES_MAX;

const FLOOD_CONTEXT: &str = "kopnet sim flood";

/// One burst whose first half is for height `next`; `burst` numbers the
/// flooder's bursts (rounds and value ids move on with it). Votes carry a
/// garbage signature unless `sign_votes`.
pub fn burst(
    chain_id: &str,
    keypair: &Keypair,
    next: Height,
    burst: u64,
    sign_votes: bool,
    rng: &mut ChaCha8Rng,
) -> Arc<[Message]> {
    let vote = |height, round, kind, burst| {
        vote(chain_id, keypair, height, round, kind, burst, sign_votes)
    };
    // One value buffer per burst, shared by its proposals' ids.
    let bytes: Vec<u8> = vec![0xA5; FLOOD_VALUE_BYTES];
    let mut out = Vec::new();
    let first_round = u32::try_from(burst % u64::from(FLOOD_ROUNDS)).unwrap_or(0);
    for i in 0..FLOOD_NEXT_ROUNDS_PER_BURST {
        let round = (first_round + i) % FLOOD_ROUNDS;
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            out.extend(vote(next, round, kind, burst));
        }
        out.extend(proposal(
            chain_id, keypair, next, round, burst, &bytes, true,
        ));
        out.extend(proposal(
            chain_id, keypair, next, round, burst, &bytes, false,
        ));
    }
    for _ in 0..FLOOD_FAR_PER_BURST {
        let target = next.saturating_add(rng.gen_range(1..=FLOOD_HEIGHTS_AHEAD));
        let round = rng.gen_range(0..FLOOD_ROUNDS);
        let message = match rng.gen_range(0..4) {
            0 => vote(target, round, VoteKind::Prevote, burst),
            1 => vote(target, round, VoteKind::Precommit, burst),
            2 => proposal(chain_id, keypair, target, round, burst, &bytes, true),
            _ => proposal(chain_id, keypair, target, round, burst, &bytes, false),
        };
        out.extend(message);
    }
    out.into()
}

fn value_id(height: Height, round: Round, burst: u64) -> Hash {
    Hash::digest_parts(
        FLOOD_CONTEXT,
        &[
            &height.to_le_bytes(),
            &round.to_le_bytes(),
            &burst.to_le_bytes(),
        ],
    )
}

fn vote(
    chain_id: &str,
    keypair: &Keypair,
    height: Height,
    round: Round,
    kind: VoteKind,
    burst: u64,
    signed: bool,
) -> Option<Message> {
    let vote = Vote {
        height,
        round,
        kind,
        value_id: Some(value_id(height, round, burst)),
        validator: keypair.public(),
    };
    if !signed {
        return Some(Message::Vote(SignedVote {
            vote,
            signature: Signature([0x5A; 64]),
        }));
    }
    SignedVote::sign(chain_id, keypair, vote)
        .ok()
        .map(Message::Vote)
}

/// A maximal proposal, signed or with a garbage signature.
fn proposal(
    chain_id: &str,
    keypair: &Keypair,
    height: Height,
    round: Round,
    burst: u64,
    bytes: &[u8],
    signed: bool,
) -> Option<Message> {
    let proposal = Proposal {
        height,
        round,
        valid_round: None,
        value: Value {
            id: value_id(height, round, burst),
            bytes: bytes.to_vec(),
        },
        proposer: keypair.public(),
    };
    if signed {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_burst_floods_the_next_height_and_farther_ones_with_maximal_proposals() {
        let me = Keypair::from_seed([9; 32]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let messages = burst("c", &me, 11, 3, true, &mut rng);
        let per_round = 4;
        let next = FLOOD_NEXT_ROUNDS_PER_BURST as usize * per_round;
        assert_eq!(messages.len(), next + FLOOD_FAR_PER_BURST as usize);
        let mut garbage = 0;
        for (i, m) in messages.iter().enumerate() {
            if i < next {
                assert_eq!(m.height(), 11);
                assert!(m.round() >= 3 && m.round() < 3 + FLOOD_NEXT_ROUNDS_PER_BURST);
            } else {
                assert!(m.height() > 11 && m.height() <= 11 + FLOOD_HEIGHTS_AHEAD);
            }
            match m {
                Message::Proposal(p) => {
                    assert_eq!(p.proposal.value.bytes.len(), FLOOD_VALUE_BYTES);
                    garbage += usize::from(p.verify("c").is_err());
                }
                Message::Vote(v) => assert!(v.verify("c").is_ok()),
            }
        }
        assert!(garbage >= FLOOD_NEXT_ROUNDS_PER_BURST as usize);
        // The next burst votes for other values: a conflict for every slot.
        let again = burst("c", &me, 11, 4, true, &mut rng);
        assert_ne!(messages[0], again[0]);
    }
}
