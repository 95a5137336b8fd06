//! Evidence of Byzantine behaviour that anyone can check.

use crate::crypto::{Hash, PublicKey, Signature};
use crate::types::{
    proposal_sign_bytes, Height, Round, SignatureError, SignedProposal, SignedVote, VoteKind,
    PROPOSAL_SIGNING_DOMAIN,
};
use crate::validator_set::ValidatorSet;
use serde::{Deserialize, Serialize};

/// A signed proposal without its value's bytes: what its signature covers
/// (the value id, not the bytes), so evidence stays a few hundred bytes
/// whatever the block's size.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedProposalHeader {
    pub height: Height,
    pub round: Round,
    pub valid_round: Option<Round>,
    pub value_id: Hash,
    pub proposer: PublicKey,
    pub signature: Signature,
}

impl From<&SignedProposal> for SignedProposalHeader {
    fn from(signed: &SignedProposal) -> Self {
        let p = &signed.proposal;
        SignedProposalHeader {
            height: p.height,
            round: p.round,
            valid_round: p.valid_round,
            value_id: p.value.id,
            proposer: p.proposer,
            signature: signed.signature,
        }
    }
}

impl SignedProposalHeader {
    /// Check the signature against `proposer`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        let bytes = proposal_sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.valid_round,
            self.value_id,
        )?;
        self.proposer
            .verify(PROPOSAL_SIGNING_DOMAIN, &bytes, &self.signature)?;
        Ok(())
    }
}

/// Proof that a validator misbehaved.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Evidence {
    /// Two signed votes from one validator for the same height, round and
    /// kind, with different values (nil counts as a value).
    DuplicateVote {
        first: SignedVote,
        second: SignedVote,
    },
    /// Two signed proposals from one validator for the same height and
    /// round that differ in what they sign (value id or valid round).
    ConflictingProposal {
        first: SignedProposalHeader,
        second: SignedProposalHeader,
    },
}

/// Where an offence happened: the identity of a piece of evidence (two
/// proofs of the same offence are one offence).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Offence {
    pub offender: PublicKey,
    pub height: Height,
    pub round: Round,
    /// `None` for a conflicting proposal.
    pub vote: Option<VoteKind>,
}

/// Why a piece of evidence does not prove misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the two messages are from different validators ({first} and {second})")]
    DifferentValidators { first: PublicKey, second: PublicKey },
    #[error("the two messages are for different height/round/kind")]
    DifferentPosition,
    #[error("the two messages sign the same thing: no conflict")]
    SameValue,
    #[error("validator {validator} is not in the validator set")]
    UnknownValidator { validator: PublicKey },
    #[error("signature of {validator} is invalid: {source}")]
    BadSignature {
        validator: PublicKey,
        source: SignatureError,
    },
}

impl Evidence {
    /// A conflicting-proposal proof from two full proposals.
    pub fn conflicting_proposals(first: &SignedProposal, second: &SignedProposal) -> Evidence {
        Evidence::ConflictingProposal {
            first: first.into(),
            second: second.into(),
        }
    }

    /// The validator the evidence accuses.
    pub fn offender(&self) -> PublicKey {
        self.offence().offender
    }

    /// The offence the evidence claims (checked by [`Evidence::verify`]).
    pub fn offence(&self) -> Offence {
        match self {
            Evidence::DuplicateVote { first, .. } => Offence {
                offender: first.vote.validator,
                height: first.vote.height,
                round: first.vote.round,
                vote: Some(first.vote.kind),
            },
            Evidence::ConflictingProposal { first, .. } => Offence {
                offender: first.proposer,
                height: first.height,
                round: first.round,
                vote: None,
            },
        }
    }

    /// Check that the evidence proves misbehaviour by a member of `set`
    /// (the validator set of the offence's height).
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), EvidenceError> {
        let offender = self.offender();
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
            }
            Evidence::ConflictingProposal { first, second } => {
                if first.proposer != second.proposer {
                    return Err(EvidenceError::DifferentValidators {
                        first: first.proposer,
                        second: second.proposer,
                    });
                }
                if (first.height, first.round) != (second.height, second.round) {
                    return Err(EvidenceError::DifferentPosition);
                }
                if (first.value_id, first.valid_round) == (second.value_id, second.valid_round) {
                    return Err(EvidenceError::SameValue);
                }
            }
        }
        if set.get(&offender).is_none() {
            return Err(EvidenceError::UnknownValidator {
                validator: offender,
            });
        }
        let bad = |source| EvidenceError::BadSignature {
            validator: offender,
            source,
        };
        match self {
            Evidence::DuplicateVote { first, second } => {
                first.verify(chain_id).map_err(bad)?;
                second.verify(chain_id).map_err(bad)?;
            }
            Evidence::ConflictingProposal { first, second } => {
                first.verify(chain_id).map_err(bad)?;
                second.verify(chain_id).map_err(bad)?;
            }
        }
        Ok(())
    }
}
