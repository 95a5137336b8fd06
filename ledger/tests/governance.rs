//! Governance actions execute when approvals reach more than 2/3 of the
//! voting power, and not at exactly 2/3.
//!
//! Voting power: ksp-sejahtera 1, pasar-makmur 1, angkot-maju 1,
//! taksi-bersama 3 (total 6); konsumen-rukun does not validate. Proposed by
//! ksp (1/6), approved by taksi (4/6: exactly 2/3, nothing happens), then by
//! pasar (5/6: executed).

mod common;
use common::*;
use kopnet_ledger::bounds::{self, ValidatorLimits};
use kopnet_ledger::genesis::GenesisError;
use kopnet_ledger::governance::ProposalStatus;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::testkit::demo_genesis;
use kopnet_ledger::{Action, GovAction, KycTier, MemoryStorage, Rejection};

fn city() -> Harness<MemoryStorage> {
    let mut genesis = demo_genesis(CHAIN, 4, 1_000_000);
    genesis.cooperatives[3].voting_power = 3;
    assert_eq!(genesis.cooperatives[3].id.as_str(), "taksi-bersama");
    Harness::with_genesis(MemoryStorage::new(), genesis)
}

type Check = fn(&Harness<MemoryStorage>) -> bool;

#[test]
fn each_action_executes_above_two_thirds_and_not_at_two_thirds() {
    let cases: Vec<(&str, GovAction, Check)> = vec![
        (
            "remove cooperative",
            GovAction::RemoveCooperative {
                id: id("konsumen-rukun"),
            },
            |h| !h.coop_record("konsumen-rukun").active,
        ),
        (
            "change voting power",
            GovAction::SetVotingPower {
                id: id("angkot-maju"),
                voting_power: 2,
            },
            |h| {
                h.ledger.validators().contains(&(
                    kopnet_ledger::testkit::validator_key_for("angkot-maju").public(),
                    2,
                ))
            },
        ),
        (
            "set net debit cap",
            GovAction::SetNetDebitCap {
                id: id("pasar-makmur"),
                ndc: 123_456,
            },
            |h| h.coop_record("pasar-makmur").ndc == 123_456,
        ),
        (
            "set tier limit",
            GovAction::SetTierLimit {
                tier: KycTier::Basic,
                cap: 500_000,
            },
            |h| h.ledger.params().unwrap().tier_limits.basic == 500_000,
        ),
    ];
    for (name, action, done) in cases {
        let mut h = city();
        let approve = |h: &mut Harness<MemoryStorage>, slug: &str| {
            h.run(&coop(slug), kopnet_ledger::Action::Approve { proposal: 0 })
                .unwrap();
        };
        h.run(
            &coop("ksp-sejahtera"),
            kopnet_ledger::Action::Propose { action },
        )
        .unwrap();
        assert!(!done(&h), "{name}: executed at 1/6");
        approve(&mut h, "taksi-bersama");
        let proposal = h.ledger.state().proposal(0).unwrap();
        assert_eq!(proposal.status, ProposalStatus::Open, "{name} at 4/6");
        assert!(!done(&h), "{name}: executed at exactly 2/3");
        approve(&mut h, "pasar-makmur");
        let proposal = h.ledger.state().proposal(0).unwrap();
        assert_eq!(
            proposal.status,
            ProposalStatus::Executed {
                height: h.ledger.height()
            },
            "{name} at 5/6"
        );
        assert!(done(&h), "{name}: not executed at 5/6");
        // Executed proposals take no more approvals.
        assert_eq!(
            h.run(
                &coop("angkot-maju"),
                kopnet_ledger::Action::Approve { proposal: 0 }
            )
            .unwrap_err()
            .code(),
            "unknown_proposal"
        );
    }
}

/// The block that executes a voting-power change shows the new validators
/// to `apply_block_with` before its batch is written (the node records the
/// set for `h + 2` in that same batch).
#[test]
fn apply_block_with_sees_the_validators_after_the_block() {
    let mut h = city();
    let propose = GovAction::SetVotingPower {
        id: id("angkot-maju"),
        voting_power: 2,
    };
    h.run(
        &coop("ksp-sejahtera"),
        kopnet_ledger::Action::Propose { action: propose },
    )
    .unwrap();
    h.run(
        &coop("taksi-bersama"),
        kopnet_ledger::Action::Approve { proposal: 0 },
    )
    .unwrap();
    let before = h.ledger.validators();
    let tx = h.sign(
        &coop("pasar-makmur"),
        kopnet_ledger::Action::Approve { proposal: 0 },
    );
    let proposer = coop("ksp-sejahtera");
    let (block, _) = h.ledger.build_block(
        &[tx],
        proposer,
        kopnet_ledger::ledger::BlockLimits::default(),
        &kopnet_ledger::VerifyAll,
    );
    let mut seen = Vec::new();
    let outcome = h
        .ledger
        .apply_block_with(&block, &kopnet_ledger::VerifyAll, vec![], |validators| {
            seen = validators.to_vec();
            vec![(b"probe".to_vec(), b"1".to_vec())]
        })
        .unwrap();
    assert!(outcome.validators_changed);
    assert_ne!(seen, before);
    let angkot = kopnet_ledger::testkit::validator_key_for("angkot-maju").public();
    assert!(seen.contains(&(angkot, 2)), "{seen:?}");
    assert_eq!(seen, h.ledger.validators());
    assert_eq!(h.ledger.host_data(b"probe").unwrap(), Some(b"1".to_vec()));
}

/// Limits small enough to reach in a test: at most 4 validators, each at
/// most 10, 12 in all (the city has 1 + 1 + 1 + 3 = 6).
fn tight_city() -> Harness<MemoryStorage> {
    let mut genesis = demo_genesis(CHAIN, 4, 1_000_000);
    genesis.cooperatives[3].voting_power = 3;
    genesis.validator_limits = ValidatorLimits {
        validators_max: 4,
        voting_power_max: 10,
        voting_power_total_max: 12,
    };
    let mut h = Harness::with_genesis(MemoryStorage::new(), genesis);
    // A first, empty block: the network's calendar month is set (a block
    // start's own write), so what a proposal changes is all that changes.
    h.block(vec![]);
    h
}

fn propose(h: &mut Harness<MemoryStorage>, action: GovAction) -> Result<(), Rejection> {
    h.run(&coop("ksp-sejahtera"), Action::Propose { action })
}

fn approve(h: &mut Harness<MemoryStorage>, proposal: u64, slugs: &[&str]) {
    for slug in slugs {
        h.run(&coop(slug), Action::Approve { proposal }).unwrap();
    }
}

/// The issue seen on a live network (`u64::MAX` approved by three
/// cooperatives halted the chain for good) and every other proposal past a
/// bound: rejected with its code when made, never opened, nothing changed
/// but the proposer's nonce.
#[test]
fn proposals_past_a_bound_are_rejected_when_made() {
    let new_coop = |voting_power| GovAction::AddCooperative {
        id: id("koperasi-baru"),
        name: "Koperasi Baru".into(),
        key: keypair("koperasi-baru").public(),
        voting_power,
        ndc: 0,
        validator_key: kopnet_ledger::testkit::validator_key_for("koperasi-baru").public(),
        node_key: kopnet_ledger::testkit::node_key_for("koperasi-baru").public(),
    };
    let mut bad_rule = kopnet_ledger::fees::default_fee_rules();
    bad_rule[1].bps = 10_001;
    let cases: Vec<(GovAction, &str)> = vec![
        (
            GovAction::SetVotingPower {
                id: id("pasar-makmur"),
                voting_power: u64::MAX,
            },
            "voting_power_out_of_range",
        ),
        (
            GovAction::SetVotingPower {
                id: id("pasar-makmur"),
                voting_power: 11,
            },
            "voting_power_out_of_range",
        ),
        (new_coop(u64::MAX), "voting_power_out_of_range"),
        (new_coop(1), "validator_count_exceeded"),
        (
            GovAction::SetVotingPower {
                id: id("pasar-makmur"),
                voting_power: 8,
            },
            "total_voting_power_exceeded",
        ),
        (
            GovAction::SetValidatorLimits {
                limits: ValidatorLimits {
                    validators_max: 3,
                    voting_power_max: 10,
                    voting_power_total_max: 12,
                },
            },
            "validator_count_exceeded",
        ),
        (
            GovAction::SetValidatorLimits {
                limits: ValidatorLimits {
                    validators_max: 4,
                    voting_power_max: 2,
                    voting_power_total_max: 12,
                },
            },
            "voting_power_out_of_range",
        ),
        (
            GovAction::SetValidatorLimits {
                limits: ValidatorLimits {
                    validators_max: bounds::VALIDATORS_CEILING + 1,
                    voting_power_max: 10,
                    voting_power_total_max: 12,
                },
            },
            "validator_limits_out_of_range",
        ),
        (
            GovAction::SetValidatorLimits {
                limits: ValidatorLimits {
                    validators_max: 4,
                    voting_power_max: u64::MAX,
                    voting_power_total_max: u64::MAX,
                },
            },
            "validator_limits_out_of_range",
        ),
        (
            GovAction::SetFeeRules { rules: bad_rule },
            "invalid_fee_rule",
        ),
        (
            // Above the registered tier's Rp 20.000.000.
            GovAction::SetTierLimit {
                tier: KycTier::Basic,
                cap: 20_000_001,
            },
            "tier_limit_out_of_range",
        ),
        (
            GovAction::SetSettlementSchedule {
                schedule: SettlementSchedule::every(1_000),
            },
            "settlement_schedule_out_of_range",
        ),
        (
            GovAction::SetSettlementSchedule {
                schedule: SettlementSchedule {
                    period_ms: 60_000,
                    offset_ms: 60_000,
                },
            },
            "settlement_schedule_out_of_range",
        ),
    ];
    for (action, code) in cases {
        let mut h = tight_city();
        let before = (
            h.ledger.validators(),
            h.ledger.params(),
            h.ledger.counters(),
        );
        let err = propose(&mut h, action.clone())
            .err()
            .unwrap_or_else(|| panic!("{action:?} was accepted"));
        assert_eq!(err.code(), code, "{action:?}: {err}");
        let after = (
            h.ledger.validators(),
            h.ledger.params(),
            h.ledger.counters(),
        );
        assert_eq!(before, after, "{action:?} changed the network");
    }
    // Removing validators one by one: the last one cannot go.
    let mut h = tight_city();
    let removals: [(&str, &[&str]); 3] = [
        ("ksp-sejahtera", &["pasar-makmur", "angkot-maju"]),
        ("pasar-makmur", &["angkot-maju"]),
        ("angkot-maju", &[]),
    ];
    for (n, (slug, approvers)) in removals.into_iter().enumerate() {
        let remove = GovAction::RemoveCooperative { id: id(slug) };
        h.run(&coop("taksi-bersama"), Action::Propose { action: remove })
            .unwrap();
        approve(&mut h, n as u64, approvers);
        assert!(!h.coop_record(slug).active, "{slug}");
    }
    let last = GovAction::RemoveCooperative {
        id: id("taksi-bersama"),
    };
    let err = h
        .run(&coop("taksi-bersama"), Action::Propose { action: last })
        .unwrap_err();
    assert_eq!(err.code(), "no_validator_left");
    assert_eq!(
        h.ledger.validators(),
        vec![(
            kopnet_ledger::testkit::validator_key_for("taksi-bersama").public(),
            3
        )]
    );
}

/// Two proposals each fine when made; the first executes, and by the time
/// the second does, the total it would leave is past the limit: it fails
/// with the code, and the validators are those the first left.
#[test]
fn a_proposal_the_network_outgrew_fails_when_it_executes_and_changes_nothing() {
    let mut h = tight_city();
    propose(
        &mut h,
        GovAction::SetVotingPower {
            id: id("pasar-makmur"),
            voting_power: 4,
        },
    )
    .unwrap();
    propose(
        &mut h,
        GovAction::SetVotingPower {
            id: id("angkot-maju"),
            voting_power: 5,
        },
    )
    .unwrap();
    approve(&mut h, 0, &["taksi-bersama", "pasar-makmur"]);
    assert!(matches!(
        h.ledger.state().proposal(0).unwrap().status,
        ProposalStatus::Executed { .. }
    ));
    let after_first = h.ledger.validators();
    let root = h.ledger.params();
    approve(&mut h, 1, &["taksi-bersama", "pasar-makmur"]);
    let height = h.ledger.height();
    match h.ledger.state().proposal(1).unwrap().status {
        ProposalStatus::Failed {
            height: at,
            code,
            reason,
        } => {
            assert_eq!(at, height);
            assert_eq!(code, "total_voting_power_exceeded");
            assert!(reason.contains("13"), "{reason}");
        }
        other => panic!("expected a failed proposal, got {other:?}"),
    }
    assert_eq!(h.ledger.validators(), after_first);
    assert_eq!(h.ledger.params(), root);
    assert_eq!(h.ledger.counters().open_proposals, 0);
}

/// Governance moves the settlement schedule and the limits within bounds.
#[test]
fn schedule_and_limits_change_by_vote() {
    let mut h = city();
    let schedule = SettlementSchedule {
        period_ms: 86_400_000,
        offset_ms: 36_000_000,
    };
    propose(&mut h, GovAction::SetSettlementSchedule { schedule }).unwrap();
    approve(&mut h, 0, &["taksi-bersama", "pasar-makmur"]);
    assert_eq!(h.ledger.params().unwrap().settlement, schedule);
    let limits = ValidatorLimits {
        validators_max: 10,
        voting_power_max: 5,
        voting_power_total_max: 20,
    };
    propose(&mut h, GovAction::SetValidatorLimits { limits }).unwrap();
    approve(&mut h, 1, &["taksi-bersama", "pasar-makmur"]);
    assert_eq!(h.ledger.params().unwrap().validator_limits, limits);
    assert_eq!(
        propose(
            &mut h,
            GovAction::SetVotingPower {
                id: id("angkot-maju"),
                voting_power: 6,
            },
        )
        .unwrap_err()
        .code(),
        "voting_power_out_of_range"
    );
}

/// The genesis is held to the same bounds.
#[test]
fn genesis_is_held_to_the_bounds() {
    let genesis = || demo_genesis(CHAIN, 4, 1_000_000);
    let limits = ValidatorLimits::default();
    let mut g = genesis();
    g.cooperatives[0].voting_power = limits.voting_power_max + 1;
    assert!(matches!(
        g.validate(),
        Err(GenesisError::VotingPower { .. })
    ));
    g.cooperatives[0].voting_power = u64::MAX;
    assert!(g.validate().is_err());
    let mut g = genesis();
    g.validator_limits.validators_max = 3;
    assert!(matches!(
        g.validate(),
        Err(GenesisError::ValidatorCount { .. })
    ));
    let mut g = genesis();
    g.validator_limits.voting_power_total_max = 3;
    g.validator_limits.voting_power_max = 1;
    assert!(matches!(g.validate(), Err(GenesisError::Power { .. })));
    let mut g = genesis();
    g.validator_limits.validators_max = bounds::VALIDATORS_CEILING + 1;
    assert!(matches!(
        g.validate(),
        Err(GenesisError::ValidatorLimits(_))
    ));
    let mut g = genesis();
    g.settlement = SettlementSchedule::every(10);
    assert!(matches!(g.validate(), Err(GenesisError::Schedule(_))));
    let mut g = genesis();
    g.tier_limits.basic = g.tier_limits.business + 1;
    assert!(matches!(g.validate(), Err(GenesisError::TierLimits(_))));
    genesis().validate().unwrap();
}
