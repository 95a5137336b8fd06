//! The messages consensus exchanges: values, votes and proposals, and the exact
//! bytes each signature covers.
//!
//! Sign bytes are the codec encoding of a small struct that starts with the
//! chain id, so a vote from a test network can never count on the production
//! network, and a prevote can never be replayed as a precommit.

use crate::codec::{self, EncodeError};
use crate::crypto::{CryptoError, Hash, Keypair, PublicKey, Signature};
use serde::{Deserialize, Serialize};

/// A block height. Height 1 is the first block decided by consensus.
pub type Height = u64;
/// A round within a height, starting at 0.
pub type Round = u32;

/// The signing domain of votes (see [`crate::crypto::domain`]): a vote
/// signature never verifies as a proposal or a transaction.
pub const VOTE_SIGNING_DOMAIN: &str = "kopnet/vote/v1";
/// The signing domain of proposals (see [`crate::crypto::domain`]).
pub const PROPOSAL_SIGNING_DOMAIN: &str = "kopnet/proposal/v1";

/// An opaque value (the host's block). The engine never looks inside `bytes`:
/// the host computes `id` from the bytes and is asked to validate every value
/// it receives (including that `id` matches `bytes`) before the engine votes
/// for it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Value {
    pub id: Hash,
    pub bytes: Vec<u8>,
}

/// The two kinds of vote in a round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum VoteKind {
    Prevote,
    Precommit,
}

/// A vote: `value_id: None` is a vote for nil.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Vote {
    pub height: Height,
    pub round: Round,
    pub kind: VoteKind,
    pub value_id: Option<Hash>,
    pub validator: PublicKey,
}

/// Exactly what a vote signature covers.
#[derive(Serialize)]
struct VoteSignBytes<'a> {
    chain_id: &'a str,
    height: Height,
    round: Round,
    kind: VoteKind,
    value_id: Option<Hash>,
}

impl Vote {
    /// The canonical bytes signed for this vote on `chain_id`.
    pub fn sign_bytes(&self, chain_id: &str) -> Result<Vec<u8>, EncodeError> {
        codec::encode(&VoteSignBytes {
            chain_id,
            height: self.height,
            round: self.round,
            kind: self.kind,
            value_id: self.value_id,
        })
    }
}

/// A vote with its ed25519 signature (domain [`VOTE_SIGNING_DOMAIN`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedVote {
    pub vote: Vote,
    pub signature: Signature,
}

/// Why a signed message was not accepted as authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("cannot encode sign bytes: {0}")]
    Encode(#[from] EncodeError),
    #[error("signature check failed: {0}")]
    Crypto(#[from] CryptoError),
}

impl SignedVote {
    /// Sign a vote with `keypair`.
    pub fn sign(chain_id: &str, keypair: &Keypair, vote: Vote) -> Result<Self, EncodeError> {
        let bytes = vote.sign_bytes(chain_id)?;
        let signature = keypair.sign(VOTE_SIGNING_DOMAIN, &bytes);
        Ok(SignedVote { vote, signature })
    }

    /// Check the signature against `vote.validator` (not membership in a set).
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        let bytes = self.vote.sign_bytes(chain_id)?;
        self.vote
            .validator
            .verify(VOTE_SIGNING_DOMAIN, &bytes, &self.signature)?;
        Ok(())
    }
}

/// A proposal of `value` for `(height, round)`. `valid_round` is the round of
/// the proof-of-lock the proposer re-proposes (`validRound` in the paper),
/// `None` for a fresh value (the paper's −1).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub valid_round: Option<Round>,
    pub value: Value,
    pub proposer: PublicKey,
}

/// Exactly what a proposal signature covers: the value id, not the bytes
/// (the host checks that the id matches the bytes when validating).
#[derive(Serialize)]
struct ProposalSignBytes<'a> {
    chain_id: &'a str,
    height: Height,
    round: Round,
    valid_round: Option<Round>,
    value_id: Hash,
}

impl Proposal {
    /// The canonical bytes signed for this proposal on `chain_id`.
    pub fn sign_bytes(&self, chain_id: &str) -> Result<Vec<u8>, EncodeError> {
        proposal_sign_bytes(
            chain_id,
            self.height,
            self.round,
            self.valid_round,
            self.value.id,
        )
    }
}

/// The bytes a proposal signature covers, from its parts (evidence keeps
/// the parts without the value's bytes).
pub(crate) fn proposal_sign_bytes(
    chain_id: &str,
    height: Height,
    round: Round,
    valid_round: Option<Round>,
    value_id: Hash,
) -> Result<Vec<u8>, EncodeError> {
    codec::encode(&ProposalSignBytes {
        chain_id,
        height,
        round,
        valid_round,
        value_id,
    })
}

/// A proposal with its ed25519 signature (domain [`PROPOSAL_SIGNING_DOMAIN`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SignedProposal {
    pub proposal: Proposal,
    pub signature: Signature,
}

impl SignedProposal {
    /// Sign a proposal with `keypair`.
    pub fn sign(
        chain_id: &str,
        keypair: &Keypair,
        proposal: Proposal,
    ) -> Result<Self, EncodeError> {
        let bytes = proposal.sign_bytes(chain_id)?;
        let signature = keypair.sign(PROPOSAL_SIGNING_DOMAIN, &bytes);
        Ok(SignedProposal {
            proposal,
            signature,
        })
    }

    /// Check the signature against `proposal.proposer`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        let bytes = self.proposal.sign_bytes(chain_id)?;
        self.proposal
            .proposer
            .verify(PROPOSAL_SIGNING_DOMAIN, &bytes, &self.signature)?;
        Ok(())
    }
}

/// A message the engine asks the host to broadcast to all validators.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Message {
    Proposal(SignedProposal),
    Vote(SignedVote),
}

impl Message {
    pub fn height(&self) -> Height {
        match self {
            Message::Proposal(p) => p.proposal.height,
            Message::Vote(v) => v.vote.height,
        }
    }

    pub fn round(&self) -> Round {
        match self {
            Message::Proposal(p) => p.proposal.round,
            Message::Vote(v) => v.vote.round,
        }
    }

    pub fn signer(&self) -> PublicKey {
        match self {
            Message::Proposal(p) => p.proposal.proposer,
            Message::Vote(v) => v.vote.validator,
        }
    }
}
