//! Evidence, from the engine's report to the chain.
//!
//! The engine reports two conflicting signed messages of one validator
//! (two votes for one height, round and kind, or two proposals for one
//! round) as [`Evidence`]. The host keeps it in a bounded pool; when it
//! proposes, it takes the pool's records into the block (unless switched
//! off in a test build). Every validator checks each record of a proposed
//! block — the proof decodes, names the record's offence, and verifies
//! against the validator set of the offence's height — before it votes for
//! the block; the ledger refuses an offence recorded twice. Committed
//! evidence is served at `GET /v1/evidence`.

use super::state::HostState;
use crate::chain_store;
use kopnet_consensus::{codec, Evidence, Offence, VoteKind};
use kopnet_ledger::evidence::{
    EvidenceKind, EvidenceRecord, EVIDENCE_AGE_MAX, EVIDENCE_PROOF_BYTES_MAX,
};
use kopnet_ledger::Storage;
use std::collections::BTreeMap;

/// Offences waiting for a block.
pub const EVIDENCE_POOL_MAX: usize = 64;

/// The ledger's record of a piece of evidence.
pub fn record_of(evidence: &Evidence) -> Option<EvidenceRecord> {
    let offence = evidence.offence();
    let proof = codec::encode(evidence).ok()?;
    Some(EvidenceRecord {
        offender: offence.offender,
        kind: kind_of(&offence),
        height: offence.height,
        round: offence.round,
        step: step_of(&offence),
        proof,
    })
}

fn kind_of(offence: &Offence) -> EvidenceKind {
    match offence.vote {
        Some(_) => EvidenceKind::DuplicateVote,
        None => EvidenceKind::ConflictingProposal,
    }
}

fn step_of(offence: &Offence) -> u8 {
    match offence.vote {
        Some(VoteKind::Prevote) | None => 0,
        Some(VoteKind::Precommit) => 1,
    }
}

/// Why a block's evidence record does not prove what it says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceRefusal {
    #[error("proof does not decode: {0}")]
    Decode(String),
    #[error("proof is about another offence than the record names")]
    Mismatch,
    #[error("no validator set for height {height}: {reason}")]
    NoSet { height: u64, reason: String },
    #[error("proof does not verify: {0}")]
    Invalid(String),
    #[error("ledger lock poisoned")]
    Poisoned,
}

/// Check one record of a proposed block.
pub fn verify_record<S: Storage>(
    state: &HostState<S>,
    record: &EvidenceRecord,
) -> Result<(), EvidenceRefusal> {
    let evidence: Evidence = codec::decode_bounded(&record.proof, EVIDENCE_PROOF_BYTES_MAX)
        .map_err(|e| EvidenceRefusal::Decode(e.to_string()))?;
    let offence = evidence.offence();
    let claimed = (
        record.offender,
        record.height,
        record.round,
        record.kind,
        record.step,
    );
    let proven = (
        offence.offender,
        offence.height,
        offence.round,
        kind_of(&offence),
        step_of(&offence),
    );
    if claimed != proven {
        return Err(EvidenceRefusal::Mismatch);
    }
    let set = {
        let ledger = state.ledger.read().map_err(|_| EvidenceRefusal::Poisoned)?;
        chain_store::validator_set(&ledger, record.height).map_err(|e| EvidenceRefusal::NoSet {
            height: record.height,
            reason: e.to_string(),
        })?
    };
    evidence
        .verify(&state.chain_id, &set)
        .map_err(|e| EvidenceRefusal::Invalid(e.to_string()))
}

/// Evidence this node saw and the chain does not have yet.
#[derive(Debug, Default)]
pub struct EvidencePool {
    pending: BTreeMap<Offence, EvidenceRecord>,
}

impl EvidencePool {
    /// Keep a verified piece of evidence (the engine verified both
    /// messages); the pool keeps one proof per offence and at most
    /// [`EVIDENCE_POOL_MAX`] offences (further ones wait until the engine
    /// sees them again).
    pub fn add(&mut self, evidence: &Evidence) {
        let offence = evidence.offence();
        if self.pending.contains_key(&offence) || self.pending.len() >= EVIDENCE_POOL_MAX {
            return;
        }
        if let Some(record) = record_of(evidence) {
            self.pending.insert(offence, record);
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The records to offer to the next block, oldest offence first.
    pub fn records(&self) -> Vec<EvidenceRecord> {
        let mut records: Vec<EvidenceRecord> = self.pending.values().cloned().collect();
        records.sort_by_key(|r| (r.height, r.round));
        records
    }

    /// After a commit at `height`: drop what the chain now has and what is
    /// too old to be taken.
    pub fn prune<S: Storage>(&mut self, state: &HostState<S>, height: u64) {
        let Ok(ledger) = state.ledger.read() else {
            return;
        };
        self.pending.retain(|_, record| {
            let fresh = height.saturating_sub(record.height) < EVIDENCE_AGE_MAX;
            fresh && !ledger.evidence_committed(record).unwrap_or(false)
        });
    }
}
