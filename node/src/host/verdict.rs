//! What a node tells gossipsub about a consensus message: forward it
//! (`Accept`), drop it and penalise the sender (`Reject`: provably bad, e.g. a
//! forged signature or a signer that is no validator), or drop it quietly
//! (`Ignore`: fine but not useful now, e.g. for another height).

use crate::wire::Verdict;
use kopnet_consensus::types::Message;
use kopnet_consensus::{InputError, PublicKey};

/// The verdict on a message the consensus engine refused.
pub fn for_engine_error(error: &InputError) -> Verdict {
    match error {
        InputError::BadSignature { .. }
        | InputError::UnknownValidator { .. }
        | InputError::NotProposer { .. }
        | InputError::InvalidValidRound { .. }
        | InputError::ValueTooLarge { .. } => Verdict::Reject,
        InputError::WrongHeight { .. }
        | InputError::RoundTooFarAhead { .. }
        | InputError::ConflictingProposal { .. }
        | InputError::SyncedValueMismatch { .. }
        | InputError::BadCertificate { .. }
        | InputError::ProposerNotFound { .. }
        | InputError::NotDecided { .. }
        | InputError::FutureBufferFull { .. }
        | InputError::NextSetUnknown { .. }
        | InputError::ConflictAlreadyReported { .. } => Verdict::Ignore,
    }
}

/// The verdict on a message for a height the engine does not take now (a
/// past one, or one beyond the next): never forwarded, and refused — the
/// sender penalised — if its signature does not verify against the key it
/// names, which is provably bad at any height. Its signer is already known
/// to be a validator of this height or the next.
pub fn for_other_height(chain_id: &str, message: &Message) -> Verdict {
    if signature_holds(chain_id, message) {
        Verdict::Ignore
    } else {
        Verdict::Reject
    }
}

/// Whether `message`'s signature verifies against the key it names.
fn signature_holds(chain_id: &str, message: &Message) -> bool {
    match message {
        Message::Proposal(p) => p.verify(chain_id).is_ok(),
        Message::Vote(v) => v.verify(chain_id).is_ok(),
    }
}

/// The verdict of a node without an engine (an observer): the signature
/// must verify, and the signer must be one of `validators` (the current
/// set; a signer it does not know yet, e.g. after a set change it has not
/// caught up with, is ignored rather than punished).
pub fn for_observer(chain_id: &str, validators: &[PublicKey], message: &Message) -> Verdict {
    if !signature_holds(chain_id, message) {
        return Verdict::Reject;
    }
    if validators.contains(&message.signer()) {
        Verdict::Accept
    } else {
        Verdict::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::{Hash, Keypair};
    use kopnet_consensus::{SignedVote, Vote, VoteKind};

    fn vote(key: &Keypair) -> SignedVote {
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: 3,
            round: 0,
            value_id: Some(Hash::digest("test", b"block")),
            validator: key.public(),
        };
        SignedVote::sign("chain", key, vote).unwrap()
    }

    #[test]
    fn observers_forward_only_signed_votes_of_validators() {
        let validator = Keypair::from_seed([1; 32]);
        let outsider = Keypair::from_seed([2; 32]);
        let set = [validator.public()];
        let good = Message::Vote(vote(&validator));
        assert_eq!(for_observer("chain", &set, &good), Verdict::Accept);
        // Another chain's signature does not verify here.
        assert_eq!(for_observer("other", &set, &good), Verdict::Reject);
        let mut forged = vote(&validator);
        forged.vote.round = 1;
        assert_eq!(
            for_observer("chain", &set, &Message::Vote(forged)),
            Verdict::Reject
        );
        let stranger = Message::Vote(vote(&outsider));
        assert_eq!(for_observer("chain", &set, &stranger), Verdict::Ignore);
    }

    #[test]
    fn provably_bad_messages_are_rejected_and_untimely_ones_ignored() {
        let validator = Keypair::from_seed([1; 32]).public();
        let unknown = InputError::UnknownValidator {
            height: 1,
            validator,
        };
        assert_eq!(for_engine_error(&unknown), Verdict::Reject);
        let wrong_height = InputError::WrongHeight { current: 5, got: 4 };
        assert_eq!(for_engine_error(&wrong_height), Verdict::Ignore);
    }
}
