//! `ExecutedBlock`: a block executed by validation (or by the proposer) and
//! written later without executing it again. Writing it must give exactly
//! what executing the block afresh gives, and it must be refused, changing
//! nothing, once the ledger is no longer on the state it was executed on.

mod common;
use common::*;
use kopnet_ledger::ledger::{BlockContext, BlockLimits, ExecutedBlock, LedgerError};
use kopnet_ledger::storage::FaultyStorage;
use kopnet_ledger::{
    AccountKind, Action, Block, GovAction, Ledger, MemoryStorage, Storage, Transaction, VerifyAll,
};
use kopnet_primitives::PublicKey;
use std::sync::Arc;

fn build<S: Storage>(ledger: &Ledger<S>, txs: &[Transaction], proposer: &str) -> ExecutedBlock {
    let (executed, skipped) = ledger.build_executed_block(
        txs,
        BlockContext::new(coop(proposer)),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert!(skipped.is_empty(), "not admitted: {skipped:?}");
    executed
}

/// A few blocks of payments, a fee-charging cash-out and a governance vote
/// that changes the validators: each is written from its execution on one
/// ledger (alternately the proposer's and a validator's) and executed
/// afresh on another; outcomes, roots and stored records agree.
#[test]
fn writing_an_execution_equals_executing_afresh() {
    let mut a = Harness::new(MemoryStorage::new(), 1_000_000);
    let mut b = Harness::new(MemoryStorage::new(), 1_000_000);
    let setup = |h: &mut Harness<MemoryStorage>| {
        let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 80_000);
        let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
        (ani, budi)
    };
    let (ani, budi) = setup(&mut a);
    assert_eq!(setup(&mut b), (ani, budi));
    assert_eq!(a.ledger.state_root(), b.ledger.state_root());

    let power = GovAction::SetVotingPower {
        id: id("angkot-maju"),
        voting_power: 2,
    };
    let blocks: Vec<Vec<(String, Action)>> = vec![
        vec![
            ("ani".into(), pay(budi, 1_000, 1)),
            ("ani".into(), pay(budi, 2_500, 2)),
        ],
        vec![(
            "ksp-sejahtera".into(),
            Action::Propose {
                action: power.clone(),
            },
        )],
        vec![
            ("taksi-bersama".into(), Action::Approve { proposal: 0 }),
            ("pasar-makmur".into(), Action::Approve { proposal: 0 }),
            ("ani".into(), pay(budi, 90_000, 3)),
        ],
    ];
    for (n, block) in blocks.into_iter().enumerate() {
        let mut txs = Vec::new();
        for (who, action) in block {
            let signer = if who == "ani" { ani } else { coop(&who) };
            let tx = a.sign(&signer, action);
            txs.push(tx);
        }
        write_on_a_and_execute_afresh_on_b(&mut a, &mut b, n, &txs, &ani);
    }
    assert!(a.ledger.validators().contains(&(
        kopnet_ledger::testkit::validator_key_for("angkot-maju").public(),
        2
    )));
    // Both stores reopen to the same state root.
    let root = a.ledger.state_root();
    let reopened = Ledger::open(a.ledger.storage().clone(), &a.genesis).unwrap();
    assert_eq!(reopened.state_root(), root);
}

/// Block `n` of `txs`: built on `a` and written there from its execution
/// (the proposer's own for even `n`, a validator's for odd `n`), executed
/// afresh on `b`; outcomes, state, host data, stored transactions and
/// `ani`'s history agree.
fn write_on_a_and_execute_afresh_on_b(
    a: &mut Harness<MemoryStorage>,
    b: &mut Harness<MemoryStorage>,
    n: usize,
    txs: &[Transaction],
    ani: &PublicKey,
) {
    let built = build(&a.ledger, txs, "ksp-sejahtera");
    let block: Block = built.block().clone();
    assert_eq!(built.hash(), block.hash());
    assert_eq!(built.height(), a.ledger.height() + 1);
    // Alternate: the proposer's own execution, or a validator's.
    let executed = if n.is_multiple_of(2) {
        built
    } else {
        drop(built);
        a.ledger.validate_block(&block, &VerifyAll).unwrap()
    };
    let results = executed.results().to_vec();
    let fees = executed.fees().to_vec();
    let mut seen_a = Vec::new();
    let written = a
        .ledger
        .apply_executed(executed, vec![(b"n".to_vec(), vec![n as u8])], |v| {
            seen_a = v.to_vec();
            Vec::new()
        })
        .unwrap();
    let mut seen_b = Vec::new();
    let afresh = b
        .ledger
        .apply_block_with(
            &block,
            &VerifyAll,
            vec![(b"n".to_vec(), vec![n as u8])],
            |v| {
                seen_b = v.to_vec();
                Vec::new()
            },
        )
        .unwrap();
    assert_eq!(written, afresh, "block {n}");
    assert_eq!(written.results, results);
    assert_eq!(written.fees, fees);
    assert_eq!(seen_a, seen_b);
    assert_eq!(a.ledger.state(), b.ledger.state());
    assert_eq!(a.ledger.host_data(b"n").unwrap(), Some(vec![n as u8]));
    for (hash, _) in &written.results {
        assert_eq!(a.ledger.tx(hash).unwrap(), b.ledger.tx(hash).unwrap());
    }
    assert_eq!(
        a.ledger.history(ani, None, 100).unwrap(),
        b.ledger.history(ani, None, 100).unwrap()
    );
    a.ledger.check_invariants().unwrap();
}

/// Two proposals for the same height, both validated; the other one is
/// decided and applied: the first execution is now for a state the ledger
/// left, and writing it is refused without changing anything.
#[test]
fn an_execution_for_a_state_the_ledger_left_is_refused() {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 50_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    let with_tx = build(&h.ledger, std::slice::from_ref(&tx), "ksp-sejahtera");
    let empty = build(&h.ledger, &[], "pasar-makmur");
    let height = h.ledger.height();
    assert_eq!(with_tx.height(), height + 1);
    assert_eq!(empty.height(), height + 1);

    h.ledger
        .apply_executed(empty, vec![], |_| Vec::new())
        .unwrap();
    let root = h.ledger.state_root();
    let err = h
        .ledger
        .apply_executed(with_tx, vec![(b"x".to_vec(), b"1".to_vec())], |_| {
            vec![(b"y".to_vec(), b"1".to_vec())]
        })
        .unwrap_err();
    assert_eq!(
        err,
        LedgerError::ExecutedOnOtherState {
            block_height: height + 1,
            ledger_height: height + 1,
        }
    );
    assert_eq!(h.ledger.height(), height + 1);
    assert_eq!(h.ledger.state_root(), root);
    assert_eq!(h.balance(&budi), 0);
    assert_eq!(h.ledger.host_data(b"x").unwrap(), None);
    assert_eq!(h.ledger.host_data(b"y").unwrap(), None);
    // The transaction is still good for the next block.
    let next = build(&h.ledger, &[tx], "ksp-sejahtera");
    h.ledger
        .apply_executed(next, vec![], |_| Vec::new())
        .unwrap();
    assert_eq!(h.balance(&budi), 1_000);
}

/// The same block applied by another path (catch-up, say) before the
/// validated execution is written: refused, nothing written twice.
#[test]
fn an_execution_is_written_at_most_once() {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 50_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    let (block, _) = h.ledger.build_block(
        &[tx],
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    let executed = h.ledger.validate_block(&block, &VerifyAll).unwrap();
    h.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
    let err = h
        .ledger
        .apply_executed(executed, vec![], |_| Vec::new())
        .unwrap_err();
    assert!(matches!(err, LedgerError::ExecutedOnOtherState { .. }));
    assert_eq!(h.balance(&budi), 1_000);
}

/// A failed store write consumes the execution and changes nothing; the
/// block then applies afresh once the store works.
#[test]
fn a_failed_write_of_an_execution_changes_nothing() {
    let store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut h = Harness::new(store.clone(), 1_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 50_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    let executed = build(&h.ledger, &[tx], "ksp-sejahtera");
    let block = executed.block().clone();
    let root = h.ledger.state_root();
    store.allow(0);
    let err = h
        .ledger
        .apply_executed(executed, vec![], |_| Vec::new())
        .unwrap_err();
    assert!(matches!(err, LedgerError::Storage(_)));
    assert_eq!(h.ledger.state_root(), root);
    assert_eq!(h.balance(&ani), 50_000);
    store.allow(u64::MAX);
    let outcome = h.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
    assert_eq!(h.balance(&budi), 1_000);
    let reopened = Ledger::open(store, &h.genesis).unwrap();
    assert_eq!(reopened.state_root(), outcome.state_root);
}

/// An overwrite outside any block (fault injection) changes the state but
/// not the height or the root: an execution from before it is refused.
#[cfg(feature = "fault-injection")]
#[test]
fn an_execution_from_before_a_fault_overwrite_is_refused() {
    let mut h = Harness::new(MemoryStorage::new(), 1_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 50_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    let executed = build(&h.ledger, &[tx], "ksp-sejahtera");
    let mut account = h.ledger.member(&budi).unwrap();
    account.balance = 7;
    h.ledger.fault_overwrite_member(budi, account).unwrap();
    let err = h
        .ledger
        .apply_executed(executed, vec![], |_| Vec::new())
        .unwrap_err();
    assert!(matches!(err, LedgerError::ExecutedOnOtherState { .. }));
    assert_eq!(h.balance(&budi), 7);
}
