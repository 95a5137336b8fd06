//! Observers on the ledger (issue 16's "observers can rotate too", issue
//! 19's "observers by governance"): genesis registers the first ones,
//! governance adds and removes them, an observer rotates its own key with
//! a grace period for the old one, and no observer key is ever any other
//! key or used again.

mod common;
use common::*;
use kopnet_ledger::genesis::{GenesisError, GenesisObserver};
use kopnet_ledger::governance::ProposalStatus;
use kopnet_ledger::node_keys::NODE_KEY_GRACE_MS;
use kopnet_ledger::observers::OBSERVERS_MAX;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::testkit::{demo_genesis, node_key_for};
use kopnet_ledger::{AccountKind, Action, GovAction, KycTier, MemoryStorage, Rejection};
use kopnet_primitives::PublicKey;

/// The demo city with one genesis observer, "OJK Purwokerto".
fn city() -> (Harness<MemoryStorage>, PublicKey) {
    let mut genesis = demo_genesis(CHAIN, 4, 1_000_000);
    let ojk = keypair("ojk/node");
    genesis.observers = vec![GenesisObserver {
        name: "OJK Purwokerto".into(),
        key: ojk.public(),
    }];
    let mut h = Harness::with_genesis(MemoryStorage::new(), genesis);
    let ojk = h.signers.add(ojk);
    (h, ojk)
}

/// Propose `action` and approve it by enough validators to execute.
fn enact(h: &mut Harness<MemoryStorage>, action: GovAction) -> ProposalStatus {
    let id = h.ledger.counters().next_proposal;
    h.run(&coop("ksp-sejahtera"), Action::Propose { action })
        .unwrap();
    for slug in ["pasar-makmur", "angkot-maju"] {
        h.run(&coop(slug), Action::Approve { proposal: id })
            .unwrap();
    }
    h.ledger.state().proposal(id).unwrap().status
}

#[test]
fn genesis_registers_its_observers_and_refuses_bad_ones() {
    let (h, ojk) = city();
    let observers = h.ledger.observers();
    assert_eq!(observers.active.len(), 1);
    assert_eq!(observers.active[0].name, "OJK Purwokerto");
    assert_eq!(observers.admitted(0), vec![ojk]);

    // A key a cooperative uses, a weak key, a bad name: refused.
    let base = demo_genesis(CHAIN, 4, 0);
    let cases = [
        (
            "a validator's node key",
            "BI",
            node_key_for("ksp-sejahtera").public(),
        ),
        ("weak", "BI", PublicKey([0; 32])),
        ("empty name", "", keypair("bi/node").public()),
    ];
    for (what, name, key) in cases {
        let mut genesis = base.clone();
        genesis.observers = vec![GenesisObserver {
            name: name.into(),
            key,
        }];
        assert!(
            matches!(genesis.validate(), Err(GenesisError::Observer(..))),
            "{what}"
        );
    }
    // A genesis without observers hashes as before observers existed
    // (the field is left out of the hashed bytes when empty).
    let mut with = base.clone();
    with.observers = vec![GenesisObserver {
        name: "BI".into(),
        key: keypair("bi/node").public(),
    }];
    assert_ne!(with.hash(), base.hash());
}

#[test]
fn governance_adds_and_removes_observers() {
    let (mut h, ojk) = city();
    let bi = keypair("bi/node").public();
    let status = enact(
        &mut h,
        GovAction::AddObserver {
            name: "Bank Indonesia".into(),
            key: bi,
        },
    );
    assert!(
        matches!(status, ProposalStatus::Executed { .. }),
        "{status:?}"
    );
    let mut admitted = h.ledger.observers().admitted(0);
    admitted.sort();
    let mut expected = vec![ojk, bi];
    expected.sort();
    assert_eq!(admitted, expected);
    let added = h.ledger.observers().by_key(&bi).unwrap().added_height;
    assert!(added > 0);

    // A key already used (a cooperative's node identity) fails to execute.
    let status = enact(
        &mut h,
        GovAction::AddObserver {
            name: "Pemkot".into(),
            key: node_key_for("pasar-makmur").public(),
        },
    );
    match status {
        ProposalStatus::Failed { code, .. } => assert_eq!(code, "key_in_use"),
        other => panic!("expected failed, got {other:?}"),
    }

    // Removing: disconnected at once; the key stays used.
    let status = enact(&mut h, GovAction::RemoveObserver { key: ojk });
    assert!(
        matches!(status, ProposalStatus::Executed { .. }),
        "{status:?}"
    );
    assert_eq!(h.ledger.observers().admitted(0), vec![bi]);
    let status = enact(&mut h, GovAction::RemoveObserver { key: ojk });
    match status {
        ProposalStatus::Failed { code, .. } => assert_eq!(code, "unknown_observer"),
        other => panic!("expected failed, got {other:?}"),
    }
    let status = enact(
        &mut h,
        GovAction::AddObserver {
            name: "OJK again".into(),
            key: ojk,
        },
    );
    match status {
        ProposalStatus::Failed { code, .. } => assert_eq!(code, "key_in_use"),
        other => panic!("expected failed, got {other:?}"),
    }
    // A removed observer's key signs nothing any more.
    let tx = h.sign(
        &ojk,
        Action::RotateObserverKey {
            new_key: keypair("ojk/node/2").public(),
        },
    );
    let admitted = h.ledger.check_admission(&tx);
    assert_eq!(admitted.err(), Some(Rejection::UnknownSigner));
}

#[test]
fn an_observer_rotates_its_key_and_the_old_one_is_admitted_for_a_grace_period() {
    let (mut h, ojk) = city();
    let new_key = h.signers.add(keypair("ojk/node/2"));
    let time_ms = h.ledger.last_block_time_ms() + 1_000;
    let tx = h.sign(&ojk, Action::RotateObserverKey { new_key });
    assert_eq!(h.block_at(time_ms, vec![tx]), vec![Ok(())]);

    let observers = h.ledger.observers();
    let record = observers.by_key(&new_key).unwrap();
    assert_eq!(record.name, "OJK Purwokerto");
    assert_eq!(record.nonce, 1, "the rotation used the observer's nonce");
    let mut during = observers.admitted(time_ms);
    during.sort();
    let mut both = vec![ojk, new_key];
    both.sort();
    assert_eq!(during, both);
    assert_eq!(
        observers.admitted(time_ms + NODE_KEY_GRACE_MS),
        vec![new_key]
    );
    // The old key no longer signs; the new one does, with the next nonce.
    assert_eq!(h.ledger.next_nonce(&new_key), Ok(2));
    assert_eq!(h.ledger.next_nonce(&ojk), Err(Rejection::UnknownSigner));

    // A second rotation waits for the grace period to end.
    let third = keypair("ojk/node/3").public();
    let second = |h: &mut Harness<MemoryStorage>, nonce_skip: bool| {
        if nonce_skip {
            // The harness counts nonces per key; the ledger per observer.
            let _ = h.sign(&new_key, Action::RotateObserverKey { new_key: third });
        }
        h.sign(&new_key, Action::RotateObserverKey { new_key: third })
    };
    let tx = second(&mut h, true);
    let results = h.block_at(time_ms + 60_000, vec![tx]);
    assert_eq!(
        results,
        vec![Err(Rejection::NodeKeyRotationPending {
            until_ms: time_ms + NODE_KEY_GRACE_MS
        })]
    );
    let tx = second(&mut h, false);
    let results = h.block_at(time_ms + NODE_KEY_GRACE_MS, vec![tx]);
    assert_eq!(results, vec![Ok(())]);
    assert!(h.ledger.observers().by_key(&third).is_some());
}

#[test]
fn observer_keys_do_only_their_job_and_are_never_reused() {
    let (mut h, ojk) = city();
    // An observer signs nothing but its own rotation.
    let member = h.member_key("ani");
    let result = h.run(
        &ojk,
        Action::RegisterMember {
            member,
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        },
    );
    assert!(
        matches!(result, Err(Rejection::NotAuthorized(_))),
        "{result:?}"
    );
    // A cooperative cannot register an observer's key as a member.
    let result = h.run(
        &coop("ksp-sejahtera"),
        Action::RegisterMember {
            member: ojk,
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        },
    );
    assert_eq!(result, Err(Rejection::AccountExists));
    // An observer cannot rotate to a key in use.
    let result = h.run(
        &ojk,
        Action::RotateObserverKey {
            new_key: coop("pasar-makmur"),
        },
    );
    assert!(matches!(result, Err(Rejection::KeyInUse(_))), "{result:?}");
    // A cooperative cannot sign an observer's rotation.
    let result = h.run(
        &coop("ksp-sejahtera"),
        Action::RotateObserverKey {
            new_key: keypair("x").public(),
        },
    );
    assert!(
        matches!(result, Err(Rejection::NotAuthorized(_))),
        "{result:?}"
    );
}

#[test]
fn at_most_observers_max_are_registered() {
    let (mut h, _) = city();
    for i in 1..OBSERVERS_MAX {
        let status = enact(
            &mut h,
            GovAction::AddObserver {
                name: format!("Observer {i}"),
                key: keypair(&format!("observer/{i}")).public(),
            },
        );
        assert!(
            matches!(status, ProposalStatus::Executed { .. }),
            "{i}: {status:?}"
        );
    }
    let status = enact(
        &mut h,
        GovAction::AddObserver {
            name: "One too many".into(),
            key: keypair("observer/too-many").public(),
        },
    );
    match status {
        ProposalStatus::Failed { code, .. } => assert_eq!(code, "too_many_observers"),
        other => panic!("expected failed, got {other:?}"),
    }
}
