//! Tellers: registered by the cooperative key, acting at their own
//! cooperative's counter only, each with its own nonces and a daily limit
//! in WIB days; removed tellers and everything else refused with typed
//! codes, changing nothing but the nonce.

mod common;
use common::*;
use kopnet_ledger::execute::resolve_signer;
use kopnet_ledger::tellers::{self, TELLERS_ACTIVE_MAX};
use kopnet_ledger::{AccountKind, Action, GovAction, KycTier, MemoryStorage, Transaction, TxBody};
use kopnet_primitives::{Keypair, PublicKey};

/// 2026-03-02 08:00 WIB (01:00 UTC), in ms.
const MORNING: u64 = 1_772_413_200_000;
const HOUR: u64 = 3_600_000;

fn city() -> Harness<MemoryStorage> {
    Harness::new(MemoryStorage::new(), 50_000_000)
}

/// Add teller `name` of `slug` with `limit`, in a block at `time`.
fn add_teller(
    h: &mut Harness<MemoryStorage>,
    slug: &str,
    name: &str,
    limit: Option<u64>,
) -> PublicKey {
    let key = h.member_key(name);
    let tx = h.sign(
        &coop(slug),
        Action::AddTeller {
            teller: key,
            name: name.to_string(),
            daily_limit: limit,
        },
    );
    let time = h.ledger.last_block_time_ms() + 1;
    assert_eq!(h.block_at(time.max(MORNING), vec![tx]), vec![Ok(())]);
    key
}

/// One transaction in its own block at `time`; its result.
fn at(
    h: &mut Harness<MemoryStorage>,
    time: u64,
    signer: &PublicKey,
    action: Action,
) -> Result<(), String> {
    let tx = h.sign(signer, action);
    h.block_at(time, vec![tx])
        .remove(0)
        .map_err(|e| e.code().to_string())
}

fn register(member: PublicKey) -> Action {
    Action::RegisterMember {
        member,
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    }
}

#[test]
fn a_teller_works_the_counter_of_its_own_cooperative() {
    let mut h = city();
    let loket = add_teller(&mut h, "ksp-sejahtera", "loket-1", None);
    let record = tellers::teller(h.ledger.state(), &loket).unwrap();
    assert_eq!(
        (
            record.coop,
            record.name.as_str(),
            record.active,
            record.nonce
        ),
        (id("ksp-sejahtera"), "loket-1", true, 0)
    );
    let ani = h.member_key("ani");
    let t = MORNING + HOUR;
    assert_eq!(at(&mut h, t, &loket, register(ani)), Ok(()));
    assert_eq!(h.ledger.member(&ani).unwrap().home, id("ksp-sejahtera"));
    let mint = Action::Mint {
        member: ani,
        amount: 100_000,
    };
    assert_eq!(at(&mut h, t + 1, &loket, mint), Ok(()));
    let burn = Action::Burn {
        member: ani,
        amount: 30_000,
    };
    assert_eq!(at(&mut h, t + 2, &loket, burn), Ok(()));
    assert_eq!(h.balance(&ani), 70_000);
    // A cash-in at its own counter for another cooperative's member:
    // the same as when the cooperative key signs it.
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let cash_in = Action::CashIn {
        agent: id("ksp-sejahtera"),
        member: budi,
        amount: 50_000,
    };
    let t = h.ledger.last_block_time_ms() + 1;
    assert_eq!(at(&mut h, t, &loket, cash_in), Ok(()));
    assert!(h.balance(&budi) > 0);
    // The teller's own nonces: the cooperative's did not move.
    let record = tellers::teller(h.ledger.state(), &loket).unwrap();
    assert_eq!(record.nonce, 4);
    assert_eq!(record.used_today, 100_000 + 30_000 + 50_000);
    assert_eq!(h.ledger.next_nonce(&loket), Ok(5));
    assert!(matches!(
        resolve_signer(h.ledger.state(), &loket),
        Ok(kopnet_ledger::execute::Signer::Teller(..))
    ));
    // The cooperative key still works the counter itself.
    let mint = Action::Mint {
        member: ani,
        amount: 1_000,
    };
    assert_eq!(at(&mut h, t + 1, &coop("ksp-sejahtera"), mint), Ok(()));
}

#[test]
fn a_teller_is_refused_everything_but_its_counter() {
    let mut h = city();
    let loket = add_teller(&mut h, "ksp-sejahtera", "loket-1", None);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 10_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000);
    let other = h.member_key("other-teller");
    let refused = [
        // Another cooperative's counter and member.
        Action::CashIn {
            agent: id("pasar-makmur"),
            member: ani,
            amount: 1_000,
        },
        Action::Mint {
            member: budi,
            amount: 1_000,
        },
        Action::Burn {
            member: budi,
            amount: 1_000,
        },
        // Governance, settlement, teller management, a member's actions.
        Action::Propose {
            action: GovAction::Freeze { member: ani },
        },
        Action::Approve { proposal: 0 },
        Action::AcknowledgeSettlement { window: 0 },
        Action::AddTeller {
            teller: other,
            name: "loket-2".into(),
            daily_limit: None,
        },
        Action::RemoveTeller { teller: loket },
        Action::RotateMemberKey { new_key: other },
        pay(budi, 1_000, 1),
        Action::CashOut {
            agent: id("ksp-sejahtera"),
            amount: 1_000,
        },
    ];
    let t = h.ledger.last_block_time_ms() + 1;
    for (i, action) in refused.into_iter().enumerate() {
        let before = (h.balance(&ani), h.balance(&budi), h.ledger.cooperatives());
        let code = at(&mut h, t + i as u64, &loket, action.clone()).unwrap_err();
        assert_eq!(code, "not_authorized", "{action:?}");
        let after = (h.balance(&ani), h.balance(&budi), h.ledger.cooperatives());
        assert_eq!(before, after, "{action:?} changed something");
    }
    assert!(tellers::teller(h.ledger.state(), &other).is_none());
    assert!(tellers::teller(h.ledger.state(), &loket).unwrap().active);
}

#[test]
fn the_daily_limit_counts_mint_burn_and_cash_in_per_wib_day() {
    let mut h = city();
    let loket = add_teller(&mut h, "ksp-sejahtera", "loket-1", Some(100_000));
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 200_000);
    let mint = |amount| Action::Mint {
        member: ani,
        amount,
    };
    let t = MORNING + HOUR;
    assert_eq!(at(&mut h, t, &loket, mint(60_000)), Ok(()));
    let burn = Action::Burn {
        member: ani,
        amount: 40_000,
    };
    assert_eq!(at(&mut h, t + 1, &loket, burn), Ok(()));
    // 100,000 used: Rp 1 more is refused, typed, changing nothing but
    // the nonce.
    let balance = h.balance(&ani);
    let err = {
        let tx = h.sign(&loket, mint(1));
        h.block_at(t + 2, vec![tx]).remove(0).unwrap_err()
    };
    assert_eq!(err.code(), "teller_daily_limit");
    assert_eq!(
        err,
        kopnet_ledger::Rejection::TellerDailyLimit {
            limit: 100_000,
            used: 100_000,
            amount: 1
        }
    );
    assert_eq!(h.balance(&ani), balance);
    let record = tellers::teller(h.ledger.state(), &loket).unwrap();
    assert_eq!((record.used_today, record.nonce), (100_000, 3));
    // The cooperative key has no teller limit.
    assert_eq!(at(&mut h, t + 3, &coop("ksp-sejahtera"), mint(1)), Ok(()));
    // 23:59:59.999 WIB the same day: still refused.
    let midnight_wib = MORNING + 16 * HOUR;
    assert_eq!(
        at(&mut h, midnight_wib - 1, &loket, mint(1)).unwrap_err(),
        "teller_daily_limit"
    );
    // 00:00 WIB: a new day, the whole limit again (but not more).
    assert_eq!(
        at(&mut h, midnight_wib + 1, &loket, mint(100_001)).unwrap_err(),
        "teller_daily_limit"
    );
    assert_eq!(at(&mut h, midnight_wib + 2, &loket, mint(100_000)), Ok(()));
    let record = tellers::teller(h.ledger.state(), &loket).unwrap();
    assert_eq!(record.used_today, 100_000);
    assert_eq!(record.day, tellers::wib_day(midnight_wib));
    // Registration is not money: no limit applies to it.
    let citra = h.member_key("citra");
    assert_eq!(
        at(&mut h, midnight_wib + 3, &loket, register(citra)),
        Ok(())
    );
}

#[test]
fn a_removed_teller_is_refused_at_admission() {
    let mut h = city();
    let loket = add_teller(&mut h, "ksp-sejahtera", "loket-1", None);
    // Another cooperative cannot remove it; a teller cannot remove itself.
    let t = h.ledger.last_block_time_ms() + 1;
    let remove = Action::RemoveTeller { teller: loket };
    assert_eq!(
        at(&mut h, t, &coop("pasar-makmur"), remove.clone()).unwrap_err(),
        "unknown_teller"
    );
    assert_eq!(
        at(&mut h, t + 1, &coop("ksp-sejahtera"), remove.clone()),
        Ok(())
    );
    let record = tellers::teller(h.ledger.state(), &loket).unwrap();
    assert!(!record.active);
    assert_eq!(
        at(&mut h, t + 2, &coop("ksp-sejahtera"), remove).unwrap_err(),
        "unknown_teller"
    );
    let ani = h.member_key("ani");
    let tx = h.sign(&loket, register(ani));
    assert_eq!(
        h.ledger.check_admission(&tx).unwrap_err().code(),
        "teller_removed"
    );
    // Its key stays reserved: it cannot come back as a member or a teller.
    let tx = h.sign(&coop("ksp-sejahtera"), register(loket));
    assert_eq!(
        h.block_at(t + 3, vec![tx]).remove(0).unwrap_err().code(),
        "account_exists"
    );
    let roles = tellers::roles(h.ledger.state(), &id("ksp-sejahtera"));
    assert!(roles.tellers.is_empty());
    assert_eq!(roles.removed_tellers.len(), 1);
}

#[test]
fn teller_keys_must_be_new_strong_and_bounded_in_number() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 0);
    let add = |teller: PublicKey, name: &str| Action::AddTeller {
        teller,
        name: name.into(),
        daily_limit: None,
    };
    let t = MORNING;
    let sejahtera = coop("ksp-sejahtera");
    for (i, (key, code)) in [
        (ani, "account_exists"),
        (coop("pasar-makmur"), "account_exists"),
        (PublicKey([0; 32]), "weak_key"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            at(&mut h, t + i as u64, &sejahtera, add(key, "loket")).unwrap_err(),
            code
        );
    }
    // A name breaks the format: never admitted.
    let bad = h.sign(&sejahtera, add(keypair("x").public(), ""));
    assert_eq!(
        h.ledger.check_admission(&bad).unwrap_err().code(),
        "malformed"
    );
    h.signers.rewind(&sejahtera);
    // Members cannot add tellers.
    assert_eq!(
        at(&mut h, t + 10, &ani, add(keypair("y").public(), "loket")).unwrap_err(),
        "not_authorized"
    );
    // 64 active tellers, then too_many_tellers.
    let mut txs = Vec::new();
    for i in 0..TELLERS_ACTIVE_MAX {
        let key = Keypair::from_seed([i as u8 + 1; 32]).public();
        txs.push(h.sign(&sejahtera, add(key, &format!("loket-{i}"))));
    }
    assert!(h.block_at(t + 11, txs).iter().all(|r| r.is_ok()));
    let extra = Keypair::from_seed([200; 32]).public();
    assert_eq!(
        at(&mut h, t + 12, &sejahtera, add(extra, "loket-x")).unwrap_err(),
        "too_many_tellers"
    );
    // Another cooperative has its own room.
    assert_eq!(
        at(&mut h, t + 13, &coop("pasar-makmur"), add(extra, "loket-x")),
        Ok(())
    );
}

#[test]
fn a_teller_signs_with_its_own_key_only() {
    // A transaction naming the teller as signer but signed by the
    // cooperative key is a bad signature: the cooperative key is never
    // needed, and never enough, for a teller's transaction.
    let mut h = city();
    let loket = add_teller(&mut h, "ksp-sejahtera", "loket-1", None);
    let body = TxBody {
        chain_id: CHAIN.into(),
        signer: loket,
        nonce: 1,
        action: register(keypair("ani").public()),
    };
    let tx = Transaction::sign(body, &keypair("ksp-sejahtera")).unwrap();
    assert!(tx.verify_signature().is_err());
}
