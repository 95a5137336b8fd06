//! Why the engine rejected an input. A rejected input changes nothing.

use crate::certificate::CertificateError;
use crate::crypto::{Hash, PublicKey};
use crate::types::{Height, Round, SignatureError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("message for height {got} while at height {current}")]
    WrongHeight { current: Height, got: Height },
    #[error("message for round {round} at height {height} is too far ahead of round {current}")]
    RoundTooFarAhead {
        height: Height,
        round: Round,
        current: Round,
    },
    #[error("{validator} is not a validator at height {height}")]
    UnknownValidator {
        height: Height,
        validator: PublicKey,
    },
    #[error("{validator} is not the proposer of height {height} round {round}")]
    NotProposer {
        height: Height,
        round: Round,
        validator: PublicKey,
    },
    #[error("no proposer for height {height} round {round}")]
    ProposerNotFound { height: Height, round: Round },
    #[error("proposal at height {height} round {round} from {validator}: valid round {valid_round} is not below the round")]
    InvalidValidRound {
        height: Height,
        round: Round,
        valid_round: Round,
        validator: PublicKey,
    },
    #[error(
        "proposal at height {height} round {round} carries {len} bytes, over the limit of {max}"
    )]
    ValueTooLarge {
        height: Height,
        round: Round,
        len: usize,
        max: usize,
    },
    #[error("bad signature from {validator} at height {height} round {round}: {source}")]
    BadSignature {
        height: Height,
        round: Round,
        validator: PublicKey,
        source: SignatureError,
    },
    #[error("{validator} sent a second, different proposal for height {height} round {round}")]
    ConflictingProposal {
        height: Height,
        round: Round,
        validator: PublicKey,
    },
    #[error(
        "synced value {value_id} does not match certificate value {certified} at height {height}"
    )]
    SyncedValueMismatch {
        height: Height,
        value_id: Hash,
        certified: Hash,
    },
    #[error("synced certificate for height {height} rejected: {source}")]
    BadCertificate {
        height: Height,
        source: CertificateError,
    },
    #[error("cannot start height {requested}: height {current} is not decided")]
    NotDecided { current: Height, requested: Height },
    #[error("buffer of messages for height {height} is full")]
    FutureBufferFull { height: Height },
    #[error("the validator set of height {height} is not known yet")]
    NextSetUnknown { height: Height },
    #[error(
        "{validator}'s conflicting messages at height {height} round {round} were reported already"
    )]
    ConflictAlreadyReported {
        height: Height,
        round: Round,
        validator: PublicKey,
    },
}

/// Why an engine could not be constructed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("height 0 is not a consensus height; heights start at 1")]
    HeightZero,
}
