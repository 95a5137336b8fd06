//! Byzantine behaviours, as middleware around an honest engine: the engine
//! runs unchanged, and its outgoing messages are dropped, replaced or
//! doubled with conflicting signed copies sent to part of the network.

use super::forge::Forged;
use kopnet_consensus::{Hash, Keypair, Message, SignedProposal, SignedVote, Vote};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    Honest,
    /// Sends nothing, answers nothing.
    Silent,
    /// As proposer, either sends a tampered block to everyone or sends a
    /// second proposal (another block, valid or not) to part of the
    /// validators; sends conflicting votes like a double voter.
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

/// What a Byzantine node does besides its behaviour's consensus traffic
/// (drawn per node from the seed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hostility {
    /// Floods every node with messages for future heights ([`super::flood`]).
    pub flood: bool,
    /// Sends false height hints and answers catch-up with bad pages
    /// ([`super::lies`]).
    pub lies: bool,
}

impl Hostility {
    pub fn pick(rng: &mut ChaCha8Rng) -> Hostility {
        Hostility {
            flood: rng.gen_bool(0.5),
            lies: rng.gen_bool(0.5),
        }
    }
}

/// What a Byzantine node did with one message (for the fault counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Two different signed proposals for one height and round.
    pub equivocation: bool,
    /// Two different signed votes for one height, round and step.
    pub double_vote: bool,
    /// A proposal of a value honest validators refuse.
    pub invalid_proposal: bool,
}

/// Copies of one outgoing message: `(message, recipients-mask)` pairs, the
/// mask saying which peers (by index) receive that copy.
pub struct Dissemination {
    pub copies: Vec<(Message, Vec<bool>)>,
    pub misbehaviour: Misbehaviour,
}

/// How `behaviour` sends `message`. `forged` is the Equivocator's other
/// value when `message` is its proposal.
pub fn disseminate(
    behaviour: Behaviour,
    chain_id: &str,
    keypair: &Keypair,
    message: &Message,
    forged: Option<Forged>,
    peers: usize,
    rng: &mut ChaCha8Rng,
) -> Dissemination {
    let all = vec![true; peers];
    let honest = |message: &Message| Dissemination {
        copies: vec![(message.clone(), all.clone())],
        misbehaviour: Misbehaviour::default(),
    };
    match (behaviour, message) {
        (Behaviour::Honest, _) => honest(message),
        (Behaviour::Silent, _) => Dissemination {
            copies: vec![],
            misbehaviour: Misbehaviour::default(),
        },
        (Behaviour::Equivocator, Message::Proposal(signed)) => {
            let Some(forged) = forged else {
                return honest(message);
            };
            let mut proposal = signed.proposal.clone();
            proposal.value = forged.value;
            proposal.valid_round = None;
            let Ok(other) = SignedProposal::sign(chain_id, keypair, proposal) else {
                return honest(message);
            };
            let other = Message::Proposal(other);
            if !forged.valid && rng.gen_bool(0.25) {
                // A tampered block to everyone, no equivocation.
                return Dissemination {
                    copies: vec![(other, all)],
                    misbehaviour: Misbehaviour {
                        invalid_proposal: true,
                        ..Misbehaviour::default()
                    },
                };
            }
            split(
                message,
                other,
                peers,
                rng,
                Misbehaviour {
                    equivocation: true,
                    invalid_proposal: !forged.valid,
                    ..Misbehaviour::default()
                },
            )
        }
        (Behaviour::Equivocator | Behaviour::DoubleVoter, Message::Vote(signed)) => {
            let v = &signed.vote;
            let value_id = match v.value_id {
                Some(_) => None,
                None => Some(Hash::digest("kopnet sim bogus", &v.height.to_le_bytes())),
            };
            let vote = Vote {
                value_id,
                ..v.clone()
            };
            match SignedVote::sign(chain_id, keypair, vote) {
                Ok(other) => split(
                    message,
                    Message::Vote(other),
                    peers,
                    rng,
                    Misbehaviour {
                        double_vote: true,
                        ..Misbehaviour::default()
                    },
                ),
                Err(_) => honest(message),
            }
        }
        (Behaviour::DoubleVoter, Message::Proposal(_)) => honest(message),
    }
}

/// `first` to a random part of the peers, `second` to the rest.
fn split(
    first: &Message,
    second: Message,
    peers: usize,
    rng: &mut ChaCha8Rng,
    misbehaviour: Misbehaviour,
) -> Dissemination {
    let half: Vec<bool> = (0..peers).map(|_| rng.gen_bool(0.5)).collect();
    let other: Vec<bool> = half.iter().map(|b| !b).collect();
    Dissemination {
        copies: vec![(first.clone(), half), (second, other)],
        misbehaviour,
    }
}
