//! Accounts outlive keys: rotation by the member (at once) and recovery by
//! the home cooperative (after the governed wait, cancellable by the old
//! key), with every refusal typed and changing nothing.

mod common;
use common::*;
use kopnet_ledger::recovery::{self, RecoveryStatus, RECOVERY_WAIT_MS_DEFAULT};
use kopnet_ledger::tellers;
use kopnet_ledger::{
    AccountKind, Action, GovAction, Ledger, MemoryStorage, Rejection, Transaction, TxBody,
};
use kopnet_primitives::{Keypair, PublicKey};

const T0: u64 = 1_772_413_200_000;
const WAIT: u64 = 60_000;

fn city() -> Harness<MemoryStorage> {
    let mut genesis = kopnet_ledger::testkit::demo_genesis(CHAIN, 4, 50_000_000);
    genesis.recovery_wait_ms = WAIT;
    Harness::with_genesis(MemoryStorage::new(), genesis)
}

/// Sign `action` with `key` at the nonce the ledger expects of it.
fn signed(ledger: &Ledger<MemoryStorage>, key: &Keypair, action: Action) -> Transaction {
    let nonce = ledger.next_nonce(&key.public()).unwrap_or(1);
    let body = TxBody {
        chain_id: CHAIN.into(),
        signer: key.public(),
        nonce,
        action,
    };
    Transaction::sign(body, key).unwrap()
}

/// Run `action` signed by `key` in a block at `time`: its result code.
fn run_at(
    h: &mut Harness<MemoryStorage>,
    time: u64,
    key: &Keypair,
    action: Action,
) -> Result<(), String> {
    let tx = signed(&h.ledger, key, action);
    h.block_at(time, vec![tx])
        .remove(0)
        .map_err(|e| e.code().to_string())
}

/// The admission code of `action` signed by `key`.
fn refused(h: &Harness<MemoryStorage>, key: &Keypair, action: Action) -> Rejection {
    let tx = Transaction::sign(
        TxBody {
            chain_id: CHAIN.into(),
            signer: key.public(),
            nonce: 1,
            action,
        },
        key,
    )
    .unwrap();
    h.ledger.check_admission(&tx).unwrap_err()
}

fn start(member: PublicKey, new_key: PublicKey) -> Action {
    Action::StartRecovery { member, new_key }
}

#[test]
fn a_member_rotates_its_key_at_once() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let old = keypair("ani");
    let new = keypair("ani-phone-2");
    let t = T0;
    assert_eq!(run_at(&mut h, t, &old, pay(budi, 10_000, 1)), Ok(()));
    let rotate = Action::RotateMemberKey {
        new_key: new.public(),
    };
    assert_eq!(run_at(&mut h, t + 1, &old, rotate), Ok(()));
    let account = h.ledger.member(&ani).unwrap();
    assert_eq!(account.key, new.public());
    assert_eq!(account.nonce, 2);
    // The old key is refused, naming the account; the new key continues
    // the account's nonces and pays from the same address.
    assert_eq!(
        refused(&h, &old, pay(budi, 1, 2)),
        Rejection::KeyReplaced(ani.to_address())
    );
    assert_eq!(h.ledger.next_nonce(&new.public()), Ok(3));
    assert_eq!(run_at(&mut h, t + 2, &new, pay(budi, 5_000, 2)), Ok(()));
    assert_eq!(h.balance(&budi), 15_000);
    assert_eq!(h.ledger.member(&ani).unwrap().nonce, 3);
    assert!(h.ledger.member(&new.public()).is_none());
    // Paid at its address, as before.
    let citra = h.member("citra", "pasar-makmur", AccountKind::Member, 10_000);
    let tx = h.sign(&citra, pay(ani, 1_000, 1));
    assert_eq!(h.block_at(t + 3, vec![tx]), vec![Ok(())]);
    // A second rotation: the first new key is refused too, and neither
    // old key can ever be used again.
    let third = keypair("ani-phone-3");
    let rotate = Action::RotateMemberKey {
        new_key: third.public(),
    };
    assert_eq!(run_at(&mut h, t + 4, &new, rotate), Ok(()));
    assert_eq!(refused(&h, &new, pay(budi, 1, 3)).code(), "key_replaced");
    assert_eq!(refused(&h, &old, pay(budi, 1, 3)).code(), "key_replaced");
    let back = Action::RotateMemberKey {
        new_key: new.public(),
    };
    assert_eq!(
        run_at(&mut h, t + 5, &third, back).unwrap_err(),
        "account_exists"
    );
    // History is under the address whatever key signed.
    let history = h.ledger.history(&ani, None, 50).unwrap();
    assert!(history.len() >= 6, "{}", history.len());
}

#[test]
fn a_new_key_must_be_strong_and_unused() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let loket = h.member_key("loket");
    let tx = h.sign(
        &coop("ksp-sejahtera"),
        Action::AddTeller {
            teller: loket,
            name: "Loket".into(),
            daily_limit: None,
        },
    );
    assert_eq!(h.block_at(T0, vec![tx]), vec![Ok(())]);
    let old = keypair("ani");
    let root = h.ledger.state_root();
    for (i, (key, code)) in [
        (budi, "account_exists"),
        (ani, "account_exists"),
        (coop("angkot-maju"), "account_exists"),
        (loket, "account_exists"),
        (PublicKey([0; 32]), "weak_key"),
    ]
    .into_iter()
    .enumerate()
    {
        let action = Action::RotateMemberKey { new_key: key };
        assert_eq!(
            run_at(&mut h, T0 + 1 + i as u64, &old, action).unwrap_err(),
            code
        );
    }
    assert_ne!(h.ledger.state_root(), root, "nonces moved");
    assert_eq!(h.ledger.member(&ani).unwrap().key, ani);
    assert_eq!(h.balance(&ani), 100_000);
}

#[test]
fn a_lost_phone_is_recovered_after_the_wait_and_the_old_key_pays_until_then() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let old = keypair("ani");
    let new = keypair("ani-new-phone");
    let sejahtera = keypair("ksp-sejahtera");
    assert_eq!(
        run_at(&mut h, T0, &sejahtera, start(ani, new.public())),
        Ok(())
    );
    let pending = recovery::pending(h.ledger.state(), &ani).unwrap();
    assert_eq!(
        (
            pending.new_key,
            pending.effective_ms,
            pending.started_by.teller
        ),
        (new.public(), T0 + WAIT, None)
    );
    // The new key is reserved but cannot sign yet; the old one still pays.
    assert_eq!(refused(&h, &new, pay(budi, 1, 9)).code(), "unknown_signer");
    assert_eq!(
        run_at(&mut h, T0 + 1_000, &old, pay(budi, 10_000, 1)),
        Ok(())
    );
    // The member's key cannot rotate away from a pending recovery.
    let rotate = Action::RotateMemberKey {
        new_key: keypair("elsewhere").public(),
    };
    assert_eq!(
        run_at(&mut h, T0 + 2_000, &old, rotate).unwrap_err(),
        "recovery_pending"
    );
    // One millisecond before it is due, nothing changes.
    h.block_at(T0 + WAIT - 1, vec![]);
    assert_eq!(h.ledger.member(&ani).unwrap().key, ani);
    // The first block at the effective time installs the key before its
    // own transactions: a payment by the new key in it is valid.
    let tx = signed(&h.ledger, &new, pay(budi, 1, 2));
    assert_eq!(
        h.ledger.check_admission(&tx).unwrap_err().code(),
        "unknown_signer"
    );
    let nonce = h.ledger.member(&ani).unwrap().nonce + 1;
    let tx = Transaction::sign(
        TxBody {
            chain_id: CHAIN.into(),
            signer: new.public(),
            nonce,
            action: pay(budi, 20_000, 2),
        },
        &new,
    )
    .unwrap();
    assert_eq!(h.block_at(T0 + WAIT, vec![tx]), vec![Ok(())]);
    assert_eq!(h.ledger.member(&ani).unwrap().key, new.public());
    assert_eq!(h.balance(&ani), 70_000);
    assert_eq!(refused(&h, &old, pay(budi, 1, 3)).code(), "key_replaced");
    assert!(recovery::pending(h.ledger.state(), &ani).is_none());
    let log = recovery::log_entry(h.ledger.state(), pending.log).unwrap();
    assert_eq!(
        log.status,
        RecoveryStatus::Completed {
            height: h.ledger.height(),
            time_ms: T0 + WAIT
        }
    );
    let roles = tellers::roles(h.ledger.state(), &id("ksp-sejahtera"));
    assert_eq!(roles.recoveries_pending, 0);
}

#[test]
fn the_old_key_or_the_cooperative_cancels_a_recovery() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 0);
    let old = keypair("ani");
    let thief = keypair("thief");
    let sejahtera = keypair("ksp-sejahtera");
    assert_eq!(
        run_at(&mut h, T0, &sejahtera, start(ani, thief.public())),
        Ok(())
    );
    // A second recovery while one is pending: refused.
    assert_eq!(
        run_at(
            &mut h,
            T0 + 1,
            &sejahtera,
            start(ani, keypair("x").public())
        )
        .unwrap_err(),
        "recovery_pending"
    );
    // Another member cannot cancel it.
    let cancel = Action::CancelRecovery { member: ani };
    assert_eq!(
        run_at(&mut h, T0 + 2, &keypair("budi"), cancel.clone()).unwrap_err(),
        "not_authorized"
    );
    assert_eq!(run_at(&mut h, T0 + 3, &old, cancel.clone()), Ok(()));
    assert!(recovery::pending(h.ledger.state(), &ani).is_none());
    assert_eq!(
        run_at(&mut h, T0 + 4, &old, cancel.clone()).unwrap_err(),
        "no_recovery_pending"
    );
    // Long after, nothing happens, and the reserved key is free again.
    h.block_at(T0 + 10 * WAIT, vec![]);
    assert_eq!(h.ledger.member(&ani).unwrap().key, ani);
    assert!(recovery::reserved(h.ledger.state(), &thief.public()).is_none());
    let entry = recovery::log_entry(h.ledger.state(), 0).unwrap();
    assert!(matches!(
        entry.status,
        RecoveryStatus::Cancelled { by, .. } if by == ani
    ));
    // The cooperative withdraws its own mistake.
    let t = T0 + 10 * WAIT + 1;
    let wrong = keypair("wrong").public();
    assert_eq!(run_at(&mut h, t, &sejahtera, start(budi, wrong)), Ok(()));
    let cancel = Action::CancelRecovery { member: budi };
    assert_eq!(run_at(&mut h, t + 1, &sejahtera, cancel), Ok(()));
    let entry = recovery::log_entry(h.ledger.state(), 1).unwrap();
    assert!(matches!(
        entry.status,
        RecoveryStatus::Cancelled { by, .. } if by == coop("ksp-sejahtera")
    ));
    assert_eq!(recovery::stats(h.ledger.state()).next_log, 2);
}

#[test]
fn only_the_home_cooperative_or_its_tellers_start_a_recovery() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let new = keypair("ani-new").public();
    // Another cooperative, a member, an unknown account, a used or weak key.
    assert_eq!(
        run_at(&mut h, T0, &keypair("pasar-makmur"), start(ani, new)).unwrap_err(),
        "not_authorized"
    );
    assert_eq!(
        run_at(&mut h, T0 + 1, &keypair("budi"), start(ani, new)).unwrap_err(),
        "not_authorized"
    );
    let nobody = keypair("nobody").public();
    let sejahtera = keypair("ksp-sejahtera");
    let cases = [
        (start(nobody, new), "unknown_account"),
        (start(ani, budi), "account_exists"),
        (start(ani, ani), "account_exists"),
        (start(ani, PublicKey([0; 32])), "weak_key"),
    ];
    for (i, (action, code)) in cases.into_iter().enumerate() {
        assert_eq!(
            run_at(&mut h, T0 + 2 + i as u64, &sejahtera, action).unwrap_err(),
            code
        );
    }
    assert!(recovery::pending(h.ledger.state(), &ani).is_none());
    // A teller of the home cooperative may; the record names it.
    let loket = h.member_key("loket");
    let add = Action::AddTeller {
        teller: loket,
        name: "Loket 1".into(),
        daily_limit: Some(1),
    };
    assert_eq!(run_at(&mut h, T0 + 10, &sejahtera, add), Ok(()));
    assert_eq!(
        run_at(&mut h, T0 + 11, &keypair("loket"), start(ani, new)),
        Ok(())
    );
    let pending = recovery::pending(h.ledger.state(), &ani).unwrap();
    assert_eq!(pending.started_by.teller, Some(loket));
    // The reserved key cannot be given to anyone else meanwhile.
    let register = Action::RegisterMember {
        member: new,
        kind: AccountKind::Member,
        tier: kopnet_ledger::KycTier::Basic,
    };
    assert_eq!(
        run_at(&mut h, T0 + 12, &sejahtera, register).unwrap_err(),
        "account_exists"
    );
}

#[test]
fn a_frozen_account_is_recovered_but_its_key_cannot_cancel() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let sejahtera = keypair("ksp-sejahtera");
    let new = keypair("ani-new");
    assert_eq!(
        run_at(&mut h, T0, &sejahtera, start(ani, new.public())),
        Ok(())
    );
    // Governance freezes the account (4 validators, 3 approvals).
    let freeze = Action::Propose {
        action: GovAction::Freeze { member: ani },
    };
    assert_eq!(run_at(&mut h, T0 + 1, &sejahtera, freeze), Ok(()));
    for (i, slug) in ["pasar-makmur", "angkot-maju"].into_iter().enumerate() {
        let approve = Action::Approve { proposal: 0 };
        assert_eq!(
            run_at(&mut h, T0 + 2 + i as u64, &keypair(slug), approve),
            Ok(())
        );
    }
    let cancel = Action::CancelRecovery { member: ani };
    assert_eq!(
        run_at(&mut h, T0 + 10, &keypair("ani"), cancel).unwrap_err(),
        "account_frozen"
    );
    h.block_at(T0 + WAIT, vec![]);
    assert_eq!(h.ledger.member(&ani).unwrap().key, new.public());
}

#[test]
fn pending_recoveries_are_bounded_per_cooperative() {
    let mut h = city();
    let sejahtera = coop("ksp-sejahtera");
    let max = recovery::RECOVERIES_PENDING_MAX as usize;
    let mut txs = Vec::new();
    for i in 0..=max {
        let member = Keypair::from_seed([i as u8 + 1; 32]).public();
        txs.push(h.sign(
            &sejahtera,
            Action::RegisterMember {
                member,
                kind: AccountKind::Member,
                tier: kopnet_ledger::KycTier::Basic,
            },
        ));
    }
    assert!(h.block_at(T0, txs).iter().all(|r| r.is_ok()));
    let mut txs = Vec::new();
    for i in 0..=max {
        let member = Keypair::from_seed([i as u8 + 1; 32]).public();
        let new_key = Keypair::from_seed([i as u8 + 101; 32]).public();
        txs.push(h.sign(&sejahtera, start(member, new_key)));
    }
    let results = h.block_at(T0 + 1, txs);
    assert!(results[..max].iter().all(|r| r.is_ok()));
    assert_eq!(
        results[max].clone().unwrap_err().code(),
        "too_many_recoveries"
    );
    // All due at once: completed in order, at most a block's worth each.
    h.block_at(T0 + 1 + WAIT, vec![]);
    let roles = tellers::roles(h.ledger.state(), &id("ksp-sejahtera"));
    assert_eq!(
        roles.recoveries_pending as usize,
        max - recovery::RECOVERIES_PER_BLOCK_MAX.min(max)
    );
}

#[test]
fn the_waiting_period_is_governed_within_bounds() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    assert_eq!(
        h.ledger.params().unwrap().recovery_wait_ms,
        RECOVERY_WAIT_MS_DEFAULT
    );
    let propose = |wait_ms| Action::Propose {
        action: GovAction::SetRecoveryWait { wait_ms },
    };
    let sejahtera = keypair("ksp-sejahtera");
    assert_eq!(
        run_at(&mut h, T0, &sejahtera, propose(4_999)).unwrap_err(),
        "recovery_wait_out_of_range"
    );
    assert_eq!(
        run_at(&mut h, T0 + 1, &sejahtera, propose(7_200_000)),
        Ok(())
    );
    for (i, slug) in ["pasar-makmur", "angkot-maju"].into_iter().enumerate() {
        let approve = Action::Approve { proposal: 0 };
        assert_eq!(
            run_at(&mut h, T0 + 2 + i as u64, &keypair(slug), approve),
            Ok(())
        );
    }
    assert_eq!(h.ledger.params().unwrap().recovery_wait_ms, 7_200_000);
    // A genesis outside the bounds cannot start a network.
    let mut genesis = kopnet_ledger::testkit::demo_genesis(CHAIN, 4, 0);
    genesis.recovery_wait_ms = 0;
    assert!(genesis.validate().is_err());
}

/// An idempotency record belongs to the account, not to the key that
/// signed: a payment signed with a new key and an id the account already
/// used is the same payment, whether the key changed in an earlier block
/// or earlier in the same one; a quote says so too.
#[test]
fn a_new_key_cannot_pay_twice_under_an_id_the_account_used() {
    let mut h = city();
    let _ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let old = keypair("ani");
    let new = keypair("ani-phone-2");
    let t = T0;
    assert_eq!(run_at(&mut h, t, &old, pay(budi, 10_000, 7)), Ok(()));
    let rotate = Action::RotateMemberKey {
        new_key: new.public(),
    };
    assert_eq!(run_at(&mut h, t + 1, &old, rotate), Ok(()));
    // The same payment again, signed by the new key: refused as a duplicate.
    assert_eq!(
        run_at(&mut h, t + 2, &new, pay(budi, 10_000, 7)).unwrap_err(),
        "duplicate"
    );
    assert_eq!(h.balance(&budi), 10_000);

    // The key changes in the block that pays again under a used id.
    let third = keypair("ani-phone-3");
    let rotate = signed(
        &h.ledger,
        &new,
        Action::RotateMemberKey {
            new_key: third.public(),
        },
    );
    let again = Transaction::sign(
        TxBody {
            chain_id: CHAIN.into(),
            signer: third.public(),
            nonce: rotate.body.nonce + 1,
            action: pay(budi, 10_000, 7),
        },
        &third,
    )
    .unwrap();
    let results: Vec<_> = h
        .block_at(t + 3, vec![rotate, again])
        .into_iter()
        .map(|r| r.map_err(|e| e.code().to_string()))
        .collect();
    assert_eq!(results, vec![Ok(()), Err("duplicate".to_string())]);
    assert_eq!(h.balance(&budi), 10_000);
    let quoted = h.ledger.quote(&third.public(), &pay(budi, 10_000, 7));
    assert_eq!(quoted.unwrap_err().code(), "duplicate");
}
