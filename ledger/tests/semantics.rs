//! One rule at a time: each rejection code, and governance.

mod common;
use common::*;
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::{AccountKind, Action, GovAction, KycTier, MemoryStorage, VerifyAll};
use kopnet_primitives::PublicKey;

fn city() -> Harness<MemoryStorage> {
    Harness::new(MemoryStorage::new(), 50_000)
}

#[test]
fn net_debit_cap_stops_a_cooperative_owing_too_much() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 200_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    h.run(&ani, pay(budi, 30_000, 1)).unwrap();
    let before = h.ledger.state_root();
    let err = h.run(&ani, pay(budi, 30_000, 2)).unwrap_err();
    assert_eq!(err.code(), "net_debit_cap_exceeded");
    assert_eq!(h.position("ksp-sejahtera"), -30_000);
    assert_eq!(h.balance(&ani), 170_000);
    // The rejected transaction used its nonce and nothing else.
    assert_ne!(h.ledger.state_root(), before);
    // Closing the window does not free the cap: unsettled debt still counts.
    assert_eq!(h.close_window(), 0);
    assert_eq!(
        h.run(&ani, pay(budi, 30_000, 3)).unwrap_err().code(),
        "net_debit_cap_exceeded"
    );
    // Settling it does.
    for slug in ["ksp-sejahtera", "pasar-makmur"] {
        h.run(&coop(slug), Action::AcknowledgeSettlement { window: 0 })
            .unwrap();
    }
    h.run(&ani, pay(budi, 30_000, 3)).unwrap();
}

#[test]
fn credits_in_an_unsettled_window_are_not_headroom() {
    // NDC 50.000. In window 0 KSP's member pays Pasar's member 30.000:
    // Pasar is owed 30.000, KSP owes it.
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 200_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 200_000);
    h.run(&ani, pay(budi, 30_000, 1)).unwrap();
    assert_eq!(h.close_window(), 0);
    let pasar = h.coop_record("pasar-makmur");
    assert_eq!((pasar.unsettled, pasar.unsettled_debit), (30_000, 0));
    let ksp = h.coop_record("ksp-sejahtera");
    assert_eq!((ksp.unsettled, ksp.unsettled_debit), (-30_000, -30_000));
    // Pasar has not received the 30.000 yet: its room to owe is the NDC,
    // not NDC + 30.000.
    assert_eq!(pasar.ndc_headroom(), 50_000);
    assert_eq!(
        h.run(&budi, pay(ani, 50_001, 1)).unwrap_err().code(),
        "net_debit_cap_exceeded"
    );
    h.run(&budi, pay(ani, 50_000, 2)).unwrap();
    assert_eq!(h.coop_record("pasar-makmur").ndc_headroom(), 0);
    // KSP is now owed 50.000 in the open window, which nets against its
    // open debits as usual, but its 30.000 debt in window 0 still counts.
    let ksp = h.coop_record("ksp-sejahtera");
    assert_eq!((ksp.position, ksp.unsettled_debit), (50_000, -30_000));
    assert_eq!(ksp.ndc_headroom(), 70_000);

    // A credit in one unsettled window does not offset a debit in another:
    // window 1 closes (KSP +50.000 there) and KSP still has 30.000 of debt
    // from window 0 against its cap.
    assert_eq!(h.close_window(), 1);
    let ksp = h.coop_record("ksp-sejahtera");
    assert_eq!((ksp.unsettled, ksp.unsettled_debit), (20_000, -30_000));
    assert_eq!(ksp.ndc_headroom(), 20_000);
    assert_eq!(
        h.run(&ani, pay(budi, 20_001, 3)).unwrap_err().code(),
        "net_debit_cap_exceeded"
    );

    // Settling window 0 clears KSP's debt and Pasar's claim from it.
    for slug in ["ksp-sejahtera", "pasar-makmur"] {
        h.run(&coop(slug), Action::AcknowledgeSettlement { window: 0 })
            .unwrap();
    }
    assert!(h.ledger.state_window(0).unwrap().settled);
    let ksp = h.coop_record("ksp-sejahtera");
    assert_eq!((ksp.unsettled, ksp.unsettled_debit), (50_000, 0));
    assert_eq!(ksp.ndc_headroom(), 50_000);
    let pasar = h.coop_record("pasar-makmur");
    assert_eq!((pasar.unsettled, pasar.unsettled_debit), (-50_000, -50_000));
    h.run(&ani, pay(budi, 50_000, 3)).unwrap();
    // Settling window 1 clears the rest.
    for slug in ["ksp-sejahtera", "pasar-makmur"] {
        h.run(&coop(slug), Action::AcknowledgeSettlement { window: 1 })
            .unwrap();
    }
    for slug in ["ksp-sejahtera", "pasar-makmur"] {
        let record = h.coop_record(slug);
        assert_eq!((record.unsettled, record.unsettled_debit), (0, 0), "{slug}");
    }
}

#[test]
fn idempotency_returns_the_first_result_and_flags_changes() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 0);
    let cici = h.member("cici", "ksp-sejahtera", AccountKind::Member, 0);
    let first = h.sign(&ani, pay(budi, 10_000, 9));
    let first_hash = first.hash();
    assert!(h.block(vec![first])[0].is_ok());
    let retry = h.run(&ani, pay(budi, 10_000, 9)).unwrap_err();
    assert_eq!(
        retry,
        kopnet_ledger::Rejection::Duplicate {
            first_tx: first_hash
        }
    );
    assert_eq!(h.balance(&budi), 10_000);
    assert_eq!(
        h.run(&ani, pay(cici, 10_000, 9)).unwrap_err().code(),
        "exists_with_different_payee"
    );
    assert_eq!(
        h.run(&ani, pay(budi, 11_000, 9)).unwrap_err().code(),
        "exists_with_different_amount"
    );
    let other_memo = Action::Payment {
        to: budi,
        amount: 10_000,
        memo: "lain".into(),
        idempotency_id: [9; 16],
    };
    assert_eq!(
        h.run(&ani, other_memo).unwrap_err().code(),
        "exists_with_different_memo"
    );
    // A rejected payment does not use up its id.
    assert_eq!(
        h.run(&ani, pay(budi, 1_000_000, 10)).unwrap_err().code(),
        "insufficient_funds"
    );
    h.run(&ani, pay(budi, 1_000, 10)).unwrap();
}

#[test]
fn balance_cap_frozen_and_authorization() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 19_000_000);
    mint_is_capped_and_signed_by_the_home_cooperative(&mut h, ani);
    governance_freezes_the_account(&mut h, ani);
}

/// Ani (Rp 19.000.000) cannot be minted past the registered tier's
/// Rp 20.000.000 cap, only her home
/// cooperative mints, and she cannot pay herself or pay nothing.
fn mint_is_capped_and_signed_by_the_home_cooperative(
    h: &mut Harness<MemoryStorage>,
    ani: PublicKey,
) {
    assert_eq!(
        h.run(
            &coop("ksp-sejahtera"),
            Action::Mint {
                member: ani,
                amount: 1_000_001
            }
        )
        .unwrap_err()
        .code(),
        "tier_balance_cap"
    );
    // Only the home cooperative mints.
    assert_eq!(
        h.run(
            &coop("pasar-makmur"),
            Action::Mint {
                member: ani,
                amount: 1
            }
        )
        .unwrap_err()
        .code(),
        "not_authorized"
    );
    // A member cannot mint; a cooperative cannot pay as a member.
    assert_eq!(
        h.run(
            &ani,
            Action::Mint {
                member: ani,
                amount: 1
            }
        )
        .unwrap_err()
        .code(),
        "not_authorized"
    );
    assert_eq!(
        h.run(&ani, pay(ani, 1, 1)).unwrap_err().code(),
        "self_payment"
    );
    assert_eq!(
        h.run(&ani, pay(ani, 0, 1)).unwrap_err().code(),
        "zero_amount"
    );
}

/// 3 of 4 validators freeze Ani's account (2 of 4 do not); then she cannot
/// pay, the decided proposal takes no more approvals, and a cooperative
/// without voting power cannot propose.
fn governance_freezes_the_account(h: &mut Harness<MemoryStorage>, ani: PublicKey) {
    // Governance freezes the account: 3 of 4 validators approve.
    h.run(
        &coop("ksp-sejahtera"),
        Action::Propose {
            action: GovAction::Freeze { member: ani },
        },
    )
    .unwrap();
    h.run(&coop("pasar-makmur"), Action::Approve { proposal: 0 })
        .unwrap();
    // 2 of 4 is not enough.
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    h.run(&ani, pay(budi, 1, 1)).unwrap();
    h.run(&coop("angkot-maju"), Action::Approve { proposal: 0 })
        .unwrap();
    assert_eq!(
        h.run(&ani, pay(budi, 1, 2)).unwrap_err().code(),
        "account_frozen"
    );
    assert_eq!(
        h.run(&coop("taksi-bersama"), Action::Approve { proposal: 0 })
            .unwrap_err()
            .code(),
        "unknown_proposal"
    );
    // Non-validators cannot propose.
    assert_eq!(
        h.run(
            &coop("konsumen-rukun"),
            Action::Propose {
                action: GovAction::Unfreeze { member: ani }
            }
        )
        .unwrap_err()
        .code(),
        "not_authorized"
    );
}

#[test]
fn governance_changes_validators_and_fees() {
    let mut h = city();
    let new_key = keypair("koperasi-baru").public();
    let add = GovAction::AddCooperative {
        id: id("koperasi-baru"),
        name: "Koperasi Baru".into(),
        key: new_key,
        voting_power: 2,
        ndc: 1_000,
        validator_key: kopnet_ledger::testkit::validator_key_for("koperasi-baru").public(),
        node_key: kopnet_ledger::testkit::node_key_for("koperasi-baru").public(),
    };
    let before = h.ledger.validators();
    h.run(&coop("ksp-sejahtera"), Action::Propose { action: add })
        .unwrap();
    h.run(&coop("pasar-makmur"), Action::Approve { proposal: 0 })
        .unwrap();
    let tx = h.sign(&coop("angkot-maju"), Action::Approve { proposal: 0 });
    let (block, _) = h.ledger.build_block(
        &[tx],
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    let outcome = h.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
    assert!(outcome.validators_changed);
    assert_eq!(h.ledger.validators().len(), before.len() + 1);
    assert!(h.ledger.validators().contains(&(
        kopnet_ledger::testkit::validator_key_for("koperasi-baru").public(),
        2
    )));

    // Fees off: a cross merchant payment then pays no discount.
    h.run(
        &coop("ksp-sejahtera"),
        Action::Propose {
            action: GovAction::SetFeeRules { rules: vec![] },
        },
    )
    .unwrap();
    // Total power is now 6: approvals must exceed 4, so 4 of 6 is not enough.
    for slug in ["pasar-makmur", "angkot-maju", "taksi-bersama"] {
        h.run(&coop(slug), Action::Approve { proposal: 1 }).unwrap();
    }
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
    h.run(&ani, pay(budi, 10_000, 1)).unwrap();
    assert_eq!(h.balance(&budi), 9_930, "proposal needs more than 2/3 of 6");
    h.signers.add(keypair("koperasi-baru"));
    h.run(&new_key, Action::Approve { proposal: 1 }).unwrap();
    h.run(
        &coop("ksp-sejahtera"),
        Action::Mint {
            member: ani,
            amount: 10_000,
        },
    )
    .unwrap();
    let carla = h.member("carla", "pasar-makmur", AccountKind::Merchant, 0);
    h.run(&ani, pay(carla, 10_000, 2)).unwrap();
    assert_eq!(h.balance(&carla), 10_000, "fee rules were cleared");
    let _ = KycTier::Basic;
}

#[test]
fn replays_and_wrong_nonces_are_not_admitted() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 0);
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    h.block(vec![tx.clone()]);
    assert_eq!(
        h.ledger.check_admission(&tx).unwrap_err().code(),
        "stale_nonce"
    );
    let (block, skipped) = h.ledger.build_block(
        &[tx],
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert!(block.txs.is_empty());
    assert_eq!(skipped[0].1.code(), "stale_nonce");
    let _skip = h.sign(&ani, pay(budi, 1, 2));
    let future = h.sign(&ani, pay(budi, 1, 3));
    assert_eq!(
        h.ledger.check_admission(&future).unwrap_err().code(),
        "future_nonce"
    );
}

#[test]
fn weak_or_invalid_keys_cannot_own_an_account() {
    use kopnet_primitives::PublicKey;
    let mut h = city();
    // Small-order points: the identity (order 1), y = -1 (order 2), y = 0
    // (order 4); and bytes that are no curve point at all.
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let not_a_point = (0u8..=255)
        .map(|b| PublicKey([b; 32]))
        .find(|k| k.prepare().is_err())
        .unwrap();
    for key in [
        PublicKey(identity),
        PublicKey(minus_one),
        PublicKey([0; 32]),
        not_a_point,
    ] {
        let root = h.ledger.state_root();
        let nonce_before = h.coop_record("ksp-sejahtera").nonce;
        let err = h
            .run(
                &coop("ksp-sejahtera"),
                Action::RegisterMember {
                    member: key,
                    kind: AccountKind::Member,
                    tier: KycTier::Basic,
                },
            )
            .unwrap_err();
        assert_eq!(err.code(), "weak_key", "{key:?}");
        assert!(h.ledger.member(&key).is_none());
        // Only the cooperative's nonce moved.
        assert_eq!(h.coop_record("ksp-sejahtera").nonce, nonce_before + 1);
        assert_ne!(h.ledger.state_root(), root);
    }
    // Governance cannot add a cooperative with a weak key either: the
    // proposal executes and fails with the same code.
    let add = GovAction::AddCooperative {
        id: id("koperasi-lemah"),
        name: "Koperasi Lemah".into(),
        key: PublicKey(identity),
        voting_power: 1,
        ndc: 0,
        validator_key: kopnet_ledger::testkit::validator_key_for("koperasi-lemah").public(),
        node_key: kopnet_ledger::testkit::node_key_for("koperasi-lemah").public(),
    };
    h.run(&coop("ksp-sejahtera"), Action::Propose { action: add })
        .unwrap();
    for slug in ["pasar-makmur", "angkot-maju"] {
        h.run(&coop(slug), Action::Approve { proposal: 0 }).unwrap();
    }
    let proposal = {
        use kopnet_ledger::state::StateRead;
        h.ledger.state().proposal(0).unwrap()
    };
    assert!(
        matches!(proposal.status, kopnet_ledger::governance::ProposalStatus::Failed { ref reason, .. } if reason.starts_with("weak_key")),
        "{:?}",
        proposal.status
    );
    assert!(h
        .ledger
        .cooperatives()
        .iter()
        .all(|c| c.id.as_str() != "koperasi-lemah"));
}

#[test]
fn on_us_legs_count_as_on_us_volume_and_move_no_position() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 40_000);
    let cici = h.member("cici", "ksp-sejahtera", AccountKind::Member, 0);
    // Mint at the home counter moves no leg: no volume.
    assert_eq!(
        h.coop_record("ksp-sejahtera").stats,
        kopnet_ledger::types::WindowStats::default()
    );
    // Member to member at the same cooperative: on-us, free.
    h.run(&ani, pay(cici, 10_000, 1)).unwrap();
    // Cash-in at the home cooperative's counter: float → member, on-us.
    h.run(
        &coop("ksp-sejahtera"),
        Action::CashIn {
            agent: id("ksp-sejahtera"),
            member: cici,
            amount: 5_000,
        },
    )
    .unwrap();
    // A rejected payment counts nothing.
    assert_eq!(
        h.run(&ani, pay(cici, 1_000_000, 2)).unwrap_err().code(),
        "insufficient_funds"
    );
    let stats = h.coop_record("ksp-sejahtera").stats;
    assert_eq!(stats.on_us_volume, 15_000);
    assert_eq!((stats.gross_sent, stats.gross_received), (0, 0));
    assert_eq!(stats.cross_volume(), Some(0));
    assert_eq!(stats.total_volume(), Some(15_000));
    assert_eq!(h.position("ksp-sejahtera"), 0);
    // Closing the window keeps the figures in the window and resets them.
    assert_eq!(h.close_window(), 0);
    let window = h.ledger.state_window(0).unwrap();
    assert_eq!(
        window.entries[&id("ksp-sejahtera")].stats.on_us_volume,
        15_000
    );
    // Position 0: nothing to acknowledge, so the window is settled at once.
    assert!(window.settled);
    assert_eq!(h.coop_record("ksp-sejahtera").stats.on_us_volume, 0);
}
