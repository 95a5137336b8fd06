//! `old-key`: a validator whose cooperative rotated its validator key
//! (`RotateNodeKeys`) keeps its honest work, signing with the new key, and
//! beside it re-signs each of its own votes with its *retired* key — the
//! one the ledger no longer lists — and publishes them on the consensus
//! topic. Each is a well-signed vote whose signer is no validator of the
//! height: the honest nodes must refuse it (`Verdict::Reject`, the host's
//! `is_validator` check) and penalise the sender, and no certificate may
//! ever carry such a signature.
//!
//! Which key is retired comes from the node's key files and the ledger
//! ([`retired_key`]): `validator.key` once the ledger names the key of
//! `validator.next.key` as its cooperative's validator key (rotated, not
//! promoted yet). A node without such a key refuses to start with this
//! behaviour ([`NoRetiredKey`]) rather than sending nothing.

use super::{Context, Publisher, Seen};
use crate::p2p::Topic;
use crate::wire::{self, ConsensusGossip};
use kopnet_consensus::types::{Message, SignedVote, Vote};
use kopnet_consensus::{Keypair, PublicKey};
use tokio::sync::mpsc;

/// Why a node holds no retired validator key for `old-key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoRetiredKey {
    #[error("old-key needs a validator key, and this node holds none (an observer?)")]
    NotAValidator,
    #[error(
        "old-key needs a retired validator key, but this node holds one validator key only \
         ({current}): its cooperative never rotated, or the next key was promoted and the \
         old file is gone"
    )]
    NoNextKey { current: PublicKey },
    #[error(
        "old-key needs a retired validator key, but the ledger still lists this node's current \
         validator key {current}: the rotation to {next} has not executed"
    )]
    NotRotated { current: PublicKey, next: PublicKey },
    #[error(
        "old-key needs a retired validator key, but the ledger lists neither of this node's \
         validator keys ({current}, {next})"
    )]
    NeitherListed { current: PublicKey, next: PublicKey },
}

/// The retired one of a node's validator keys: `current` (the key in
/// `validator.key`) when the ledger lists `next` (`validator.next.key`)
/// as a cooperative's validator key and no longer lists `current`.
/// `listed` are the validator keys the ledger names, one per cooperative.
pub fn retired_key<'a>(
    current: Option<&'a Keypair>,
    next: Option<&Keypair>,
    listed: &[PublicKey],
) -> Result<&'a Keypair, NoRetiredKey> {
    let current = current.ok_or(NoRetiredKey::NotAValidator)?;
    let now = current.public();
    let Some(next) = next.map(Keypair::public) else {
        return Err(NoRetiredKey::NoNextKey { current: now });
    };
    match (listed.contains(&now), listed.contains(&next)) {
        (false, true) => Ok(current),
        (true, _) => Err(NoRetiredKey::NotRotated { current: now, next }),
        (false, false) => Err(NoRetiredKey::NeitherListed { current: now, next }),
    }
}

pub(super) async fn run(
    mut ctx: Context,
    retired: Keypair,
    mut seen: mpsc::Receiver<Seen>,
    mut out: Publisher,
) {
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
                if let Some(vote) = resigned(ctx.chain_id(), &retired, &message) {
                    out.send(Topic::Consensus, wire::encode(&ConsensusGossip::Message(vote))).await;
                }
            }
        }
    }
}

/// An own vote signed again by `retired`, naming it as the voter: same
/// height, round, kind and value. `None` for proposals and for a vote the
/// retired key signed already.
pub(super) fn resigned(chain_id: &str, retired: &Keypair, message: &Message) -> Option<Message> {
    let Message::Vote(signed) = message else {
        return None;
    };
    if signed.vote.validator == retired.public() {
        return None;
    }
    let vote = Vote {
        validator: retired.public(),
        ..signed.vote.clone()
    };
    SignedVote::sign(chain_id, retired, vote)
        .ok()
        .map(Message::Vote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::types::{Proposal, SignedProposal, Value, VoteKind};
    use kopnet_consensus::Hash;

    const CHAIN: &str = "test-chain";

    fn keys() -> (Keypair, Keypair, Keypair) {
        (
            Keypair::from_seed([1; 32]),
            Keypair::from_seed([2; 32]),
            Keypair::from_seed([3; 32]),
        )
    }

    #[test]
    fn the_retired_key_is_the_current_file_once_the_ledger_names_the_next() {
        let (old, new, other) = keys();
        let listed = [other.public(), new.public()];
        let retired = retired_key(Some(&old), Some(&new), &listed).unwrap();
        assert_eq!(retired.public(), old.public());
    }

    #[test]
    fn a_node_without_a_retired_key_says_why() {
        let (old, new, other) = keys();
        assert_eq!(
            retired_key(None, None, &[old.public()]).unwrap_err(),
            NoRetiredKey::NotAValidator
        );
        // Never rotated, or promoted: one validator key only.
        assert_eq!(
            retired_key(Some(&old), None, &[old.public()]).unwrap_err(),
            NoRetiredKey::NoNextKey {
                current: old.public()
            }
        );
        // The next key is written, the rotation has not executed.
        assert_eq!(
            retired_key(Some(&old), Some(&new), &[old.public(), other.public()]).unwrap_err(),
            NoRetiredKey::NotRotated {
                current: old.public(),
                next: new.public()
            }
        );
        assert_eq!(
            retired_key(Some(&old), Some(&new), &[other.public()]).unwrap_err(),
            NoRetiredKey::NeitherListed {
                current: old.public(),
                next: new.public()
            }
        );
    }

    #[test]
    fn an_own_vote_is_signed_again_by_the_retired_key_at_the_same_position() {
        let (old, new, _) = keys();
        let vote = Vote {
            height: 9,
            round: 1,
            kind: VoteKind::Precommit,
            value_id: Some(Hash([7; 32])),
            validator: new.public(),
        };
        let own = Message::Vote(SignedVote::sign(CHAIN, &new, vote.clone()).unwrap());
        let Some(Message::Vote(again)) = resigned(CHAIN, &old, &own) else {
            panic!("no vote signed by the retired key");
        };
        assert!(again.verify(CHAIN).is_ok());
        assert_eq!(again.vote.validator, old.public());
        assert_eq!(
            (
                again.vote.height,
                again.vote.round,
                again.vote.kind,
                again.vote.value_id
            ),
            (vote.height, vote.round, vote.kind, vote.value_id)
        );
        // A vote the retired key made already is not signed again.
        assert_eq!(resigned(CHAIN, &old, &Message::Vote(again)), None);
    }

    #[test]
    fn a_proposal_is_left_alone() {
        let (old, new, _) = keys();
        let proposal = Proposal {
            height: 3,
            round: 0,
            valid_round: None,
            value: Value {
                id: Hash([4; 32]),
                bytes: b"block".to_vec(),
            },
            proposer: new.public(),
        };
        let own = Message::Proposal(SignedProposal::sign(CHAIN, &new, proposal).unwrap());
        assert_eq!(resigned(CHAIN, &old, &own), None);
    }
}
