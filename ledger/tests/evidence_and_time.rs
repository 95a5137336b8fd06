//! Blocks carry evidence and a time: evidence is indexed once and refused
//! twice; a block's time is after its parent's; a tampered list or root
//! is refused; nothing changes when a block is refused.

mod common;

use common::*;
use kopnet_ledger::evidence::{evidence_root, EvidenceError, EvidenceKind, EvidenceRecord};
use kopnet_ledger::ledger::{BlockContext, BlockError, BlockLimits, LedgerError};
use kopnet_ledger::{Block, MemoryStorage, VerifyAll};

fn record(height: u64, round: u32) -> EvidenceRecord {
    EvidenceRecord {
        offender: coop("pasar-makmur"),
        kind: EvidenceKind::DuplicateVote,
        height,
        round,
        step: 1,
        proof: vec![7; 64],
    }
}

fn build(h: &Harness<MemoryStorage>, time_ms: u64, evidence: Vec<EvidenceRecord>) -> Block {
    let context = BlockContext {
        proposer: coop("ksp-sejahtera"),
        time_ms,
        evidence,
    };
    let (executed, _) =
        h.ledger
            .build_executed_block(&[], context, BlockLimits::default(), &VerifyAll);
    executed.block().clone()
}

fn refused(h: &mut Harness<MemoryStorage>, block: &Block) -> BlockError {
    let (height, root) = (h.ledger.height(), h.ledger.state_root());
    let error = match h.ledger.apply_block(block, &VerifyAll, vec![]) {
        Err(LedgerError::Block(e)) => e,
        other => panic!("expected a block error, got {other:?}"),
    };
    assert_eq!((h.ledger.height(), h.ledger.state_root()), (height, root));
    error
}

#[test]
fn evidence_is_indexed_once_and_refused_twice() {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let first = build(&h, 1_000, vec![]);
    h.ledger.apply_block(&first, &VerifyAll, vec![]).unwrap();
    let with = build(&h, 2_000, vec![record(1, 0), record(1, 1)]);
    assert_eq!(with.evidence.len(), 2);
    h.ledger.apply_block(&with, &VerifyAll, vec![]).unwrap();
    let committed = h.ledger.evidence(10).unwrap();
    assert_eq!(committed.len(), 2);
    assert!(committed.iter().all(|c| c.included_in_block == 2));
    assert!(h.ledger.evidence_committed(&record(1, 0)).unwrap());
    assert!(!h.ledger.evidence_committed(&record(1, 2)).unwrap());

    // The proposer leaves out what the chain has; a block that carries it
    // anyway is refused.
    let again = build(&h, 3_000, vec![record(1, 0), record(2, 0)]);
    assert_eq!(again.evidence, vec![record(2, 0)]);
    let mut forced = again.clone();
    forced.evidence = vec![record(1, 0)];
    forced.header.evidence_root = evidence_root(&forced.evidence);
    assert_eq!(
        refused(&mut h, &forced),
        BlockError::Evidence(EvidenceError::AlreadyCommitted)
    );
    // A list that does not match the header's root is refused.
    let mut tampered = again.clone();
    tampered.evidence.push(record(2, 5));
    assert_eq!(
        refused(&mut h, &tampered),
        BlockError::Evidence(EvidenceError::WrongRoot)
    );
    h.ledger.apply_block(&again, &VerifyAll, vec![]).unwrap();
    assert_eq!(h.ledger.evidence(10).unwrap().len(), 3);
    // Newest first.
    assert_eq!(h.ledger.evidence(1).unwrap()[0].included_in_block, 3);
}

#[test]
fn block_time_is_after_the_parents_and_survives_a_reopen() {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let store = h.ledger.storage().clone();
    let first = build(&h, 5_000, vec![]);
    assert_eq!(first.header.time_ms, 5_000);
    h.ledger.apply_block(&first, &VerifyAll, vec![]).unwrap();
    assert_eq!(h.ledger.last_block_time_ms(), 5_000);
    // A proposer whose clock is behind stamps the parent's time + 1.
    let behind = build(&h, 10, vec![]);
    assert_eq!(behind.header.time_ms, 5_001);
    // A block whose time is not after its parent's is refused.
    let mut same = behind.clone();
    same.header.time_ms = 5_000;
    assert_eq!(
        refused(&mut h, &same),
        BlockError::TimeNotAfterParent {
            time_ms: 5_000,
            parent_ms: 5_000
        }
    );
    h.ledger.apply_block(&behind, &VerifyAll, vec![]).unwrap();
    let reopened = kopnet_ledger::Ledger::open(store, &h.genesis).unwrap();
    assert_eq!(reopened.last_block_time_ms(), 5_001);
}
