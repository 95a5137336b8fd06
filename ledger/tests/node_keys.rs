//! A key for each job and rotating a node's keys (issue 16): genesis and
//! governance bind three distinct keys per cooperative, the validator set
//! lists validator keys, `RotateNodeKeys` (signed by the cooperative key)
//! replaces them, bad rotations are refused with a typed code and change
//! nothing, and no key is ever used twice.

mod common;
use common::*;
use kopnet_ledger::genesis::GenesisError;
use kopnet_ledger::governance::ProposalStatus;
use kopnet_ledger::node_keys::{admitted_node_keys, KeyJob, NODE_KEY_GRACE_MS};
use kopnet_ledger::state::StateRead;
use kopnet_ledger::testkit::{demo_genesis, node_key_for, validator_key_for};
use kopnet_ledger::types::Cooperative;
use kopnet_ledger::{AccountKind, Action, GovAction, KycTier, MemoryStorage, Rejection};
use kopnet_primitives::PublicKey;

fn city() -> Harness<MemoryStorage> {
    Harness::new(MemoryStorage::new(), 1_000_000)
}

fn rotate(validator_key: Option<PublicKey>, node_key: Option<PublicKey>) -> Action {
    Action::RotateNodeKeys {
        validator_key,
        node_key,
    }
}

/// A cooperative's record with the nonce left out (a rejected
/// transaction still uses its nonce; nothing else may change).
fn without_nonce(mut coop: Cooperative) -> Cooperative {
    coop.nonce = 0;
    coop
}

#[test]
fn genesis_binds_three_keys_and_the_validator_set_lists_validator_keys() {
    let h = city();
    let ksp = h.coop_record("ksp-sejahtera");
    assert_eq!(ksp.key, Some(coop("ksp-sejahtera")));
    assert_eq!(
        ksp.validator_key,
        Some(validator_key_for("ksp-sejahtera").public())
    );
    assert_eq!(ksp.node_key, Some(node_key_for("ksp-sejahtera").public()));
    let validators = h.ledger.validators();
    assert_eq!(validators.len(), 4);
    for slug in [
        "ksp-sejahtera",
        "pasar-makmur",
        "angkot-maju",
        "taksi-bersama",
    ] {
        assert!(validators.contains(&(validator_key_for(slug).public(), 1)));
        assert!(
            !validators.iter().any(|(k, _)| *k == coop(slug)),
            "a cooperative key never signs consensus messages"
        );
    }
    let used = h
        .ledger
        .state()
        .node_key_use(&node_key_for("pasar-makmur").public())
        .unwrap();
    assert_eq!((used.coop, used.job), (id("pasar-makmur"), KeyJob::Node));
}

#[test]
fn genesis_refuses_a_key_used_for_two_jobs_or_by_two_cooperatives() {
    let base = demo_genesis(CHAIN, 4, 0);
    let other_coop = coop("pasar-makmur");
    type Change = fn(&mut kopnet_ledger::GenesisCooperative, PublicKey);
    let cases: Vec<(&str, Change)> = vec![
        ("validator key = cooperative key", |c, _| {
            c.validator_key = c.key
        }),
        ("node key = validator key", |c, _| {
            c.node_key = c.validator_key
        }),
        ("node key = another cooperative's key", |c, other| {
            c.node_key = other
        }),
        ("validator key weak", |c, _| {
            c.validator_key = PublicKey([0; 32])
        }),
    ];
    for (name, change) in cases {
        let mut genesis = base.clone();
        change(&mut genesis.cooperatives[0], other_coop);
        assert!(
            matches!(genesis.validate(), Err(GenesisError::BadKey(_))),
            "{name}"
        );
    }
}

#[test]
fn rotation_replaces_the_validator_key_in_the_next_set_and_keeps_the_old_identity_for_a_grace_period(
) {
    let mut h = city();
    let old_validator = validator_key_for("angkot-maju").public();
    let old_node = node_key_for("angkot-maju").public();
    let new_validator = keypair("angkot-maju/validator/2").public();
    let new_node = keypair("angkot-maju/node/2").public();
    let time_ms = h.ledger.last_block_time_ms() + 1_000;
    let tx = h.sign(
        &coop("angkot-maju"),
        rotate(Some(new_validator), Some(new_node)),
    );
    let results = h.block_at(time_ms, vec![tx]);
    assert_eq!(results, vec![Ok(())]);

    // The set derived after this block (the host records it for h + 2)
    // lists the new validator key and not the old one.
    let validators = h.ledger.validators();
    assert!(validators.contains(&(new_validator, 1)));
    assert!(!validators.iter().any(|(k, _)| *k == old_validator));
    let record = h.coop_record("angkot-maju");
    assert_eq!(record.validator_key, Some(new_validator));
    assert_eq!(record.node_key, Some(new_node));
    assert_eq!(
        record.key,
        Some(coop("angkot-maju")),
        "cooperative key kept"
    );
    assert_eq!(record.key_rotations, 1);
    let retired = record.retired_node_key.unwrap();
    assert_eq!(retired.key, old_node);
    assert_eq!(retired.until_ms, time_ms + NODE_KEY_GRACE_MS);

    // The old identity is admitted until the grace period ends, the new
    // one from now on.
    let admitted = |now: u64| admitted_node_keys(&record, now).collect::<Vec<_>>();
    assert_eq!(admitted(time_ms), vec![new_node, old_node]);
    assert_eq!(admitted(retired.until_ms - 1), vec![new_node, old_node]);
    assert_eq!(admitted(retired.until_ms), vec![new_node]);

    // The cooperative key still signs the cooperative's transactions.
    let ani = h.member("ani", "angkot-maju", AccountKind::Member, 5_000);
    assert_eq!(h.balance(&ani), 5_000);
}

#[test]
fn a_rotation_may_replace_one_key_only() {
    let mut h = city();
    let new_validator = keypair("ksp/validator/2").public();
    h.run(&coop("ksp-sejahtera"), rotate(Some(new_validator), None))
        .unwrap();
    let record = h.coop_record("ksp-sejahtera");
    assert_eq!(record.validator_key, Some(new_validator));
    assert_eq!(
        record.node_key,
        Some(node_key_for("ksp-sejahtera").public())
    );
    assert_eq!(record.retired_node_key, None);

    let new_node = keypair("ksp/node/2").public();
    h.run(&coop("ksp-sejahtera"), rotate(None, Some(new_node)))
        .unwrap();
    let record = h.coop_record("ksp-sejahtera");
    assert_eq!(record.validator_key, Some(new_validator));
    assert_eq!(record.node_key, Some(new_node));
    assert_eq!(record.key_rotations, 2);
}

#[test]
fn bad_rotations_are_refused_with_a_typed_code_and_change_nothing() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 0);
    let fresh = keypair("fresh").public();
    let cases: Vec<(&str, Action, &str)> = vec![
        ("nothing to rotate", rotate(None, None), "no_key_to_rotate"),
        (
            "the same new key for both jobs",
            rotate(Some(fresh), Some(fresh)),
            "key_in_use",
        ),
        (
            "its own current validator key",
            rotate(Some(validator_key_for("ksp-sejahtera").public()), None),
            "key_in_use",
        ),
        (
            "another cooperative's node key",
            rotate(None, Some(node_key_for("pasar-makmur").public())),
            "key_in_use",
        ),
        (
            "another cooperative's cooperative key",
            rotate(Some(coop("pasar-makmur")), None),
            "key_in_use",
        ),
        ("a member's key", rotate(Some(ani), None), "key_in_use"),
        (
            "a weak key",
            rotate(None, Some(PublicKey([0; 32]))),
            "weak_key",
        ),
    ];
    for (name, action, code) in cases {
        let before = without_nonce(h.coop_record("ksp-sejahtera"));
        let validators = h.ledger.validators();
        let result = h.run(&coop("ksp-sejahtera"), action);
        assert_eq!(result.map_err(|r| r.code()), Err(code), "{name}");
        assert_eq!(
            without_nonce(h.coop_record("ksp-sejahtera")),
            before,
            "{name}"
        );
        assert_eq!(h.ledger.validators(), validators, "{name}");
        assert!(
            h.ledger.state().node_key_use(&fresh).is_none(),
            "{name}: no key bound"
        );
    }

    // Signed by anyone but the cooperative key: a member cannot.
    let result = h.run(&ani, rotate(Some(fresh), None));
    assert_eq!(result.map_err(|r| r.code()), Err("not_authorized"));
}

#[test]
fn a_second_node_identity_rotation_waits_for_the_grace_period() {
    let mut h = city();
    let t0 = h.ledger.last_block_time_ms() + 1_000;
    let first = h.sign(
        &coop("taksi-bersama"),
        rotate(None, Some(keypair("taksi/node/2").public())),
    );
    assert_eq!(h.block_at(t0, vec![first]), vec![Ok(())]);
    let second = h.sign(
        &coop("taksi-bersama"),
        rotate(None, Some(keypair("taksi/node/3").public())),
    );
    let until_ms = t0 + NODE_KEY_GRACE_MS;
    assert_eq!(
        h.block_at(until_ms - 1, vec![second]),
        vec![Err(Rejection::NodeKeyRotationPending { until_ms })]
    );
    // The validator key may still rotate meanwhile.
    let validator = h.sign(
        &coop("taksi-bersama"),
        rotate(Some(keypair("taksi/validator/2").public()), None),
    );
    assert_eq!(h.block_at(until_ms, vec![validator]), vec![Ok(())]);
    let third = h.sign(
        &coop("taksi-bersama"),
        rotate(None, Some(keypair("taksi/node/3").public())),
    );
    assert_eq!(h.block_at(until_ms + 1, vec![third]), vec![Ok(())]);
    let record = h.coop_record("taksi-bersama");
    assert_eq!(
        record.retired_node_key.map(|r| r.key),
        Some(keypair("taksi/node/2").public())
    );
}

#[test]
fn a_retired_key_is_never_used_again() {
    let mut h = city();
    let old_validator = validator_key_for("pasar-makmur").public();
    let old_node = node_key_for("pasar-makmur").public();
    h.run(
        &coop("pasar-makmur"),
        rotate(
            Some(keypair("pasar/validator/2").public()),
            Some(keypair("pasar/node/2").public()),
        ),
    )
    .unwrap();
    // Not by the same cooperative...
    assert_eq!(
        h.run(&coop("pasar-makmur"), rotate(Some(old_validator), None))
            .map_err(|r| r.code()),
        Err("key_in_use")
    );
    // ... nor another...
    assert_eq!(
        h.run(&coop("angkot-maju"), rotate(Some(old_node), None))
            .map_err(|r| r.code()),
        Err("key_in_use")
    );
    // ... nor as a member account.
    let register = Action::RegisterMember {
        member: old_validator,
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    };
    assert_eq!(
        h.run(&coop("ksp-sejahtera"), register)
            .map_err(|r| r.code()),
        Err("key_in_use")
    );
}

#[test]
fn governance_admits_a_cooperative_only_with_three_fresh_keys() {
    let mut h = city();
    let add = |validator_key: PublicKey, node_key: PublicKey| GovAction::AddCooperative {
        id: id("koperasi-baru"),
        name: "Koperasi Baru".into(),
        key: keypair("koperasi-baru").public(),
        voting_power: 1,
        ndc: 0,
        validator_key,
        node_key,
    };
    let approve_all = |h: &mut Harness<MemoryStorage>, proposal: u64| {
        for slug in ["pasar-makmur", "angkot-maju"] {
            h.run(&coop(slug), Action::Approve { proposal }).unwrap();
        }
    };
    // A validator key another cooperative uses as its node identity.
    let taken = add(
        node_key_for("taksi-bersama").public(),
        keypair("baru/node").public(),
    );
    h.run(&coop("ksp-sejahtera"), Action::Propose { action: taken })
        .unwrap();
    approve_all(&mut h, 0);
    match h.ledger.state().proposal(0).unwrap().status {
        ProposalStatus::Failed { code, .. } => assert_eq!(code, "key_in_use"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert!(h.ledger.state().cooperative(&id("koperasi-baru")).is_none());

    // The same key for both jobs.
    let same = keypair("baru/both").public();
    h.run(
        &coop("ksp-sejahtera"),
        Action::Propose {
            action: add(same, same),
        },
    )
    .unwrap();
    approve_all(&mut h, 1);
    assert!(matches!(
        h.ledger.state().proposal(1).unwrap().status,
        ProposalStatus::Failed { .. }
    ));

    let validator = keypair("baru/validator").public();
    let node = keypair("baru/node").public();
    h.run(
        &coop("ksp-sejahtera"),
        Action::Propose {
            action: add(validator, node),
        },
    )
    .unwrap();
    approve_all(&mut h, 2);
    let record = h.coop_record("koperasi-baru");
    assert_eq!(record.validator_key, Some(validator));
    assert_eq!(record.node_key, Some(node));
    assert!(h.ledger.validators().contains(&(validator, 1)));
}
