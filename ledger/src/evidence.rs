//! Evidence of consensus misbehaviour, as blocks carry it.
//!
//! The ledger does not know consensus messages: a record names the
//! offender and the position (height, round, kind) and carries the proof
//! as opaque bytes (the consensus crate's encoded `Evidence`, two
//! conflicting signed messages). The node host verifies the proof against
//! the validator set of that height before it proposes or votes for a block
//! carrying it; the ledger checks what it can check deterministically —
//! bounds, order, no record twice — and indexes the records so that
//! `GET /v1/evidence` and the explorer can show who misbehaved.
//!
//! Evidence changes no balance and no voting power by itself: what the
//! network does about it (for example setting the offender's voting power
//! to 0) is decided by a governance vote.

use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// Most evidence records in one block.
pub const BLOCK_EVIDENCE_MAX: usize = 8;
/// Largest proof of one record (two signed votes or two signed proposal
/// headers are a few hundred bytes).
pub const EVIDENCE_PROOF_BYTES_MAX: usize = 4 * 1024;
/// Evidence older than this many blocks (by the height of the offence) is
/// not taken into a block any more.
pub const EVIDENCE_AGE_MAX: u64 = 10_000;

const EVIDENCE_ROOT_CONTEXT: &str = "kopnet 2026 evidence root v1";

/// What kind of misbehaviour a record proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EvidenceKind {
    /// Two different prevotes, or two different precommits, for one height
    /// and round.
    DuplicateVote,
    /// Two different proposals for one height and round.
    ConflictingProposal,
}

impl EvidenceKind {
    /// The name used by the API (`duplicate_vote`, `conflicting_proposal`).
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::DuplicateVote => "duplicate_vote",
            EvidenceKind::ConflictingProposal => "conflicting_proposal",
        }
    }

    fn tag(self) -> u8 {
        match self {
            EvidenceKind::DuplicateVote => 1,
            EvidenceKind::ConflictingProposal => 2,
        }
    }
}

/// One piece of evidence in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub offender: PublicKey,
    pub kind: EvidenceKind,
    /// Height of the offence.
    pub height: u64,
    /// Round of the offence.
    pub round: u32,
    /// For votes, which vote (the consensus crate's vote kind as a byte:
    /// 0 prevote, 1 precommit); 0 for proposals. Part of the identity, so
    /// a prevote and a precommit offence of one round are two records.
    pub step: u8,
    /// The encoded proof, verified by the node host.
    pub proof: Vec<u8>,
}

impl EvidenceRecord {
    /// What makes two records the same offence.
    pub fn identity(&self) -> (PublicKey, u64, u32, EvidenceKind, u8) {
        (self.offender, self.height, self.round, self.kind, self.step)
    }

    /// The storage key suffix of this offence (offender, height, round,
    /// kind, step).
    pub fn identity_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(32 + 8 + 4 + 2);
        key.extend_from_slice(&self.offender.0);
        key.extend_from_slice(&self.height.to_be_bytes());
        key.extend_from_slice(&self.round.to_be_bytes());
        key.push(self.kind.tag());
        key.push(self.step);
        key
    }
}

/// An evidence record as committed: the record and the block that took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedEvidence {
    pub record: EvidenceRecord,
    pub included_in_block: u64,
}

/// The header's commitment to a block's evidence list.
pub fn evidence_root(evidence: &[EvidenceRecord]) -> Hash {
    match codec::encode(&evidence) {
        Ok(bytes) => Hash::digest(EVIDENCE_ROOT_CONTEXT, &bytes),
        Err(_) => Hash::ZERO,
    }
}

/// Why a block's evidence list is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("block carries {count} evidence records, more than {BLOCK_EVIDENCE_MAX}")]
    TooMany { count: usize },
    #[error("evidence proof of {len} bytes exceeds {EVIDENCE_PROOF_BYTES_MAX}")]
    ProofTooLarge { len: usize },
    #[error("evidence for height {height} is not below the block's height {block}")]
    NotInThePast { height: u64, block: u64 },
    #[error("evidence for height {height} is older than {EVIDENCE_AGE_MAX} blocks")]
    TooOld { height: u64 },
    #[error("the same offence is in the block twice")]
    Duplicate,
    #[error("the offence is already on the chain")]
    AlreadyCommitted,
    #[error("the header's evidence root does not match the evidence")]
    WrongRoot,
}

/// The checks that need no ledger state: bounds, age, no duplicates.
pub fn check_list(block_height: u64, evidence: &[EvidenceRecord]) -> Result<(), EvidenceError> {
    if evidence.len() > BLOCK_EVIDENCE_MAX {
        return Err(EvidenceError::TooMany {
            count: evidence.len(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for record in evidence {
        if record.proof.len() > EVIDENCE_PROOF_BYTES_MAX {
            return Err(EvidenceError::ProofTooLarge {
                len: record.proof.len(),
            });
        }
        if record.height == 0 || record.height >= block_height {
            return Err(EvidenceError::NotInThePast {
                height: record.height,
                block: block_height,
            });
        }
        if block_height.saturating_sub(record.height) > EVIDENCE_AGE_MAX {
            return Err(EvidenceError::TooOld {
                height: record.height,
            });
        }
        if !seen.insert(record.identity()) {
            return Err(EvidenceError::Duplicate);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(height: u64, round: u32) -> EvidenceRecord {
        EvidenceRecord {
            offender: PublicKey([3; 32]),
            kind: EvidenceKind::DuplicateVote,
            height,
            round,
            step: 0,
            proof: vec![1, 2, 3],
        }
    }

    #[test]
    fn lists_are_bounded_unique_and_in_the_past() {
        assert_eq!(check_list(10, &[record(9, 0), record(9, 1)]), Ok(()));
        assert_eq!(
            check_list(10, &[record(9, 0), record(9, 0)]),
            Err(EvidenceError::Duplicate)
        );
        assert!(matches!(
            check_list(10, &[record(10, 0)]),
            Err(EvidenceError::NotInThePast { .. })
        ));
        assert!(matches!(
            check_list(10, &[record(0, 0)]),
            Err(EvidenceError::NotInThePast { .. })
        ));
        assert!(matches!(
            check_list(EVIDENCE_AGE_MAX + 5, &[record(4, 0)]),
            Err(EvidenceError::TooOld { .. })
        ));
        let many: Vec<_> = (0..=BLOCK_EVIDENCE_MAX as u32)
            .map(|r| record(9, r))
            .collect();
        assert!(matches!(
            check_list(10, &many),
            Err(EvidenceError::TooMany { .. })
        ));
        let mut big = record(9, 0);
        big.proof = vec![0; EVIDENCE_PROOF_BYTES_MAX + 1];
        assert!(matches!(
            check_list(10, &[big]),
            Err(EvidenceError::ProofTooLarge { .. })
        ));
    }

    #[test]
    fn the_root_commits_to_the_list() {
        let a = evidence_root(&[record(9, 0)]);
        assert_ne!(a, evidence_root(&[]));
        assert_ne!(a, evidence_root(&[record(9, 1)]));
        assert_eq!(a, evidence_root(&[record(9, 0)]));
    }
}
