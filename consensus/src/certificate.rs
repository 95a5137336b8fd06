//! Commit certificates: the precommits that prove a value was decided.
//!
//! Observers and syncing nodes trust a decided block only through its
//! certificate: more than 2/3 of the height's voting power, from distinct
//! validators of that height's set, signed precommits for the value id.

use crate::crypto::{Hash, PublicKey, Signature};
use crate::quorum::QuorumRule;
use crate::types::{Height, Round, SignatureError, SignedVote, Vote, VoteKind};
use crate::validator_set::ValidatorSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One validator's precommit signature in a certificate.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommitSignature {
    pub validator: PublicKey,
    pub signature: Signature,
}

/// Precommits for `value_id` at `(height, round)`, sorted by validator key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommitCertificate {
    pub height: Height,
    pub round: Round,
    pub value_id: Hash,
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate does not prove a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate for height {height} round {round} has no signatures")]
    Empty { height: Height, round: Round },
    #[error("certificate for height {height} has more signatures ({count}) than validators")]
    TooManySignatures { height: Height, count: usize },
    #[error("validator {validator} signed the certificate for height {height} twice")]
    DuplicateSigner {
        height: Height,
        validator: PublicKey,
    },
    #[error("signer {validator} of the certificate for height {height} is not a validator")]
    UnknownSigner {
        height: Height,
        validator: PublicKey,
    },
    #[error("precommit of {validator} for height {height} round {round} is invalid: {source}")]
    BadSignature {
        height: Height,
        round: Round,
        validator: PublicKey,
        source: SignatureError,
    },
    #[error(
        "certificate for height {height} has {signed} of {total} voting power, not more than 2/3"
    )]
    InsufficientPower {
        height: Height,
        signed: u64,
        total: u64,
    },
}

impl CommitCertificate {
    /// Build a certificate from precommits (all for this height, round and
    /// value; the caller collected them). Signatures are sorted by key.
    pub fn from_precommits<'a>(
        height: Height,
        round: Round,
        value_id: Hash,
        precommits: impl IntoIterator<Item = &'a SignedVote>,
    ) -> Self {
        let mut signatures: Vec<CommitSignature> = precommits
            .into_iter()
            .filter(|v| {
                v.vote.kind == VoteKind::Precommit
                    && v.vote.height == height
                    && v.vote.round == round
                    && v.vote.value_id == Some(value_id)
            })
            .map(|v| CommitSignature {
                validator: v.vote.validator,
                signature: v.signature,
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        signatures.dedup_by(|a, b| a.validator == b.validator);
        CommitCertificate {
            height,
            round,
            value_id,
            signatures,
        }
    }

    /// Check the certificate against the validator set of its height.
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), CertificateError> {
        self.verify_with_rule(chain_id, set, QuorumRule::Bft)
    }

    /// [`CommitCertificate::verify`] with a chosen quorum rule (for the
    /// simulator's deliberately broken configuration only).
    #[doc(hidden)]
    pub fn verify_with_rule(
        &self,
        chain_id: &str,
        set: &ValidatorSet,
        rule: QuorumRule,
    ) -> Result<(), CertificateError> {
        let (height, round) = (self.height, self.round);
        if self.signatures.is_empty() {
            return Err(CertificateError::Empty { height, round });
        }
        if self.signatures.len() > set.len() {
            return Err(CertificateError::TooManySignatures {
                height,
                count: self.signatures.len(),
            });
        }
        let mut seen = BTreeSet::new();
        let mut signed: u64 = 0;
        for entry in &self.signatures {
            let validator = entry.validator;
            if !seen.insert(validator) {
                return Err(CertificateError::DuplicateSigner { height, validator });
            }
            let power = set.power_of(&validator);
            if power == 0 {
                return Err(CertificateError::UnknownSigner { height, validator });
            }
            let vote = SignedVote {
                vote: Vote {
                    height,
                    round,
                    kind: VoteKind::Precommit,
                    value_id: Some(self.value_id),
                    validator,
                },
                signature: entry.signature,
            };
            vote.verify(chain_id)
                .map_err(|source| CertificateError::BadSignature {
                    height,
                    round,
                    validator,
                    source,
                })?;
            // Distinct members of a set whose total fits in u64: cannot overflow.
            signed = signed.saturating_add(power);
        }
        if !rule.is_quorum(signed, set.total_power()) {
            return Err(CertificateError::InsufficientPower {
                height,
                signed,
                total: set.total_power(),
            });
        }
        Ok(())
    }
}
