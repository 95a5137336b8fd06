//! Evidence of Byzantine behaviour that anyone can check.

use crate::crypto::PublicKey;
use crate::types::{SignatureError, SignedVote};
use crate::validator_set::ValidatorSet;
use serde::{Deserialize, Serialize};

/// Proof that a validator misbehaved.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Evidence {
    /// Two signed votes from one validator for the same height, round and
    /// kind, with different values (nil counts as a value).
    DuplicateVote {
        first: SignedVote,
        second: SignedVote,
    },
}

/// Why a piece of evidence does not prove misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two votes are from different validators ({first} and {second})")]
    DifferentValidators { first: PublicKey, second: PublicKey },
    #[error("the two votes are for different height/round/kind")]
    DifferentPosition,
    #[error("the two votes are for the same value: no conflict")]
    SameValue,
    #[error("validator {validator} is not in the validator set")]
    UnknownValidator { validator: PublicKey },
    #[error("vote signature of {validator} is invalid: {source}")]
    BadSignature {
        validator: PublicKey,
        source: SignatureError,
    },
}

impl Evidence {
    /// The validator the evidence accuses.
    pub fn offender(&self) -> PublicKey {
        match self {
            Evidence::DuplicateVote { first, .. } => first.vote.validator,
        }
    }

    /// Check that the evidence proves misbehaviour by a member of `set`.
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), EvidenceError> {
        match self {
            Evidence::DuplicateVote { first, second } => {
                let (a, b) = (&first.vote, &second.vote);
                if a.validator != b.validator {
                    return Err(EvidenceError::DifferentValidators {
                        first: a.validator,
                        second: b.validator,
                    });
                }
                if (a.height, a.round, a.kind) != (b.height, b.round, b.kind) {
                    return Err(EvidenceError::DifferentPosition);
                }
                if a.value_id == b.value_id {
                    return Err(EvidenceError::SameValue);
                }
                if set.get(&a.validator).is_none() {
                    return Err(EvidenceError::UnknownValidator {
                        validator: a.validator,
                    });
                }
                for vote in [first, second] {
                    vote.verify(chain_id)
                        .map_err(|source| EvidenceError::BadSignature {
                            validator: a.validator,
                            source,
                        })?;
                }
                Ok(())
            }
        }
    }
}
