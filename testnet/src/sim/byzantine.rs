//! Byzantine behaviours, as middleware around an honest engine: the engine
//! runs unchanged, and its outgoing messages are dropped or doubled with
//! conflicting signed copies sent to part of the network.

use super::value::SimBlock;
use kopnet_consensus::{codec, Hash, Keypair, Message, SignedProposal, SignedVote, Vote};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    Honest,
    /// Sends nothing, answers nothing.
    Silent,
    /// As proposer, sends a second proposal with a different value to half of
    /// the validators, and sends conflicting votes (value vs nil) like a
    /// double voter.
    Equivocator,
    /// Sends every vote plus a conflicting vote (value vs nil) to a random half.
    DoubleVoter,
}

impl Behaviour {
    pub fn pick(rng: &mut ChaCha8Rng) -> Behaviour {
        match rng.gen_range(0..3) {
            0 => Behaviour::Silent,
            1 => Behaviour::Equivocator,
            _ => Behaviour::DoubleVoter,
        }
    }
}

/// For one outgoing message: `(message, recipients-mask)` pairs, where the
/// mask says which peers (by index) receive that copy.
pub fn disseminate(
    behaviour: Behaviour,
    chain_id: &str,
    keypair: &Keypair,
    message: &Message,
    peers: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<(Message, Vec<bool>)> {
    let all = vec![true; peers];
    match behaviour {
        Behaviour::Honest => vec![(message.clone(), all)],
        Behaviour::Silent => vec![],
        Behaviour::Equivocator | Behaviour::DoubleVoter => {
            let Some(conflict) = conflicting(behaviour, chain_id, keypair, message, rng) else {
                return vec![(message.clone(), all)];
            };
            let half: Vec<bool> = (0..peers).map(|_| rng.gen_bool(0.5)).collect();
            let other: Vec<bool> = half.iter().map(|b| !b).collect();
            vec![(message.clone(), half), (conflict, other)]
        }
    }
}

/// A signed message that conflicts with `message` at the same position.
fn conflicting(
    behaviour: Behaviour,
    chain_id: &str,
    keypair: &Keypair,
    message: &Message,
    rng: &mut ChaCha8Rng,
) -> Option<Message> {
    match message {
        Message::Proposal(signed) if behaviour == Behaviour::Equivocator => {
            let mut proposal = signed.proposal.clone();
            let mut block = codec::decode::<SimBlock>(&proposal.value.bytes).ok()?;
            block.nonce = block.nonce.wrapping_add(1_000_000);
            block.valid = rng.gen_bool(0.7);
            proposal.value = block.to_value();
            proposal.valid_round = None;
            SignedProposal::sign(chain_id, keypair, proposal)
                .ok()
                .map(Message::Proposal)
        }
        Message::Vote(signed) => {
            let v = &signed.vote;
            let value_id = match v.value_id {
                Some(_) => None,
                None => Some(Hash::digest("kopnet sim bogus", &v.height.to_le_bytes())),
            };
            let vote = Vote {
                value_id,
                ..v.clone()
            };
            SignedVote::sign(chain_id, keypair, vote)
                .ok()
                .map(Message::Vote)
        }
        Message::Proposal(_) => None,
    }
}
