//! Property: no sequence of governance transactions the ledger accepts
//! leaves a validator set the chain cannot use.
//!
//! Random proposals (voting powers from 0 to `u64::MAX`, cooperatives
//! added and removed, new validator limits in and out of range) signed by
//! random cooperatives, and random approvals, on a network with tight
//! limits so they are reached often. After every block the ledger's
//! validators must be what the consensus engine takes (non-empty, distinct
//! keys, at most the ceiling in count, powers from 1, the total within the
//! ceiling) and within the network's own limits, and the whole network
//! must pass [`governance::check_network`]. Over the run, proposals must
//! have executed, been refused for each bound, and failed at execution.

mod common;
use common::*;
use kopnet_ledger::bounds::{ValidatorLimits, VALIDATORS_CEILING, VOTING_POWER_TOTAL_CEILING};
use kopnet_ledger::governance::{self, ProposalStatus};
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::testkit::{demo_genesis, DEMO_COOPERATIVES};
use kopnet_ledger::{Action, GovAction, MemoryStorage, Transaction, VerifyAll};
use kopnet_primitives::PublicKey;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

const CASES: u32 = 200;
/// Cooperatives governance may add, on top of the five of the demo city.
const CANDIDATES: usize = 4;
const COOPS: usize = DEMO_COOPERATIVES.len() + CANDIDATES;

fn limits() -> ValidatorLimits {
    ValidatorLimits {
        validators_max: 4,
        voting_power_max: 40,
        voting_power_total_max: 60,
    }
}

fn slug(c: usize) -> String {
    match DEMO_COOPERATIVES.get(c) {
        Some((slug, _)) => (*slug).to_string(),
        None => format!("baru-{}", c - DEMO_COOPERATIVES.len()),
    }
}

#[derive(Debug, Clone)]
enum Op {
    SetPower {
        by: usize,
        target: usize,
        power: u64,
    },
    Add {
        by: usize,
        candidate: usize,
        power: u64,
    },
    Remove {
        by: usize,
        target: usize,
    },
    SetLimits {
        by: usize,
        limits: ValidatorLimits,
    },
    Approve {
        by: usize,
        back: u64,
    },
}

fn power() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => Just(0u64),
        6 => 1u64..=45,
        1 => Just(u64::MAX),
        1 => Just(VOTING_POWER_TOTAL_CEILING),
        1 => Just(VOTING_POWER_TOTAL_CEILING + 1),
    ]
}

fn new_limits() -> impl Strategy<Value = ValidatorLimits> {
    let count = prop_oneof![4 => 0u32..=8, 1 => Just(VALIDATORS_CEILING + 1)];
    let each = prop_oneof![4 => 0u64..=80, 1 => Just(u64::MAX)];
    let total = prop_oneof![4 => 0u64..=200, 1 => Just(VOTING_POWER_TOTAL_CEILING + 1)];
    (count, each, total).prop_map(
        |(validators_max, voting_power_max, voting_power_total_max)| ValidatorLimits {
            validators_max,
            voting_power_max,
            voting_power_total_max,
        },
    )
}

/// Mostly the genesis validators, who can propose and approve; sometimes
/// anyone (refused: `not_authorized`, or not admitted at all).
fn signer() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![6 => 0usize..3, 1 => 0..COOPS]
}

fn op() -> impl Strategy<Value = Op> {
    let by = signer();
    prop_oneof![
        3 => (by.clone(), signer(), power())
            .prop_map(|(by, target, power)| Op::SetPower { by, target, power }),
        2 => (by.clone(), 0..CANDIDATES, power())
            .prop_map(|(by, candidate, power)| Op::Add { by, candidate, power }),
        2 => (by.clone(), signer()).prop_map(|(by, target)| Op::Remove { by, target }),
        1 => (by.clone(), new_limits()).prop_map(|(by, limits)| Op::SetLimits { by, limits }),
        10 => (by, 0u64..3).prop_map(|(by, back)| Op::Approve { by, back }),
    ]
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..8), 1..24)
}

struct Run {
    h: Harness<MemoryStorage>,
    keys: Vec<PublicKey>,
    seen: BTreeMap<String, u64>,
}

impl Run {
    fn new() -> Run {
        let mut genesis = demo_genesis(CHAIN, 3, 1_000_000);
        genesis.validator_limits = limits();
        let mut h = Harness::with_genesis(MemoryStorage::new(), genesis);
        let keys = (0..COOPS).map(|c| h.member_key(&slug(c))).collect();
        Run {
            h,
            keys,
            seen: BTreeMap::new(),
        }
    }

    fn action(&self, op: &Op) -> Action {
        let coop_id = |c: usize| id(&slug(c));
        let propose = |action| Action::Propose { action };
        match *op {
            Op::SetPower { target, power, .. } => propose(GovAction::SetVotingPower {
                id: coop_id(target),
                voting_power: power,
            }),
            Op::Add {
                candidate, power, ..
            } => {
                let c = DEMO_COOPERATIVES.len() + candidate;
                propose(GovAction::AddCooperative {
                    id: coop_id(c),
                    name: slug(c),
                    key: self.keys[c],
                    voting_power: power,
                    ndc: 0,
                    validator_key: kopnet_ledger::testkit::validator_key_for(&slug(c)).public(),
                    node_key: kopnet_ledger::testkit::node_key_for(&slug(c)).public(),
                })
            }
            Op::Remove { target, .. } => propose(GovAction::RemoveCooperative {
                id: coop_id(target),
            }),
            Op::SetLimits { limits, .. } => propose(GovAction::SetValidatorLimits { limits }),
            Op::Approve { back, .. } => {
                let next = self.h.ledger.counters().next_proposal;
                Action::Approve {
                    proposal: next.saturating_sub(1 + back),
                }
            }
        }
    }

    fn run_block(&mut self, ops: &[Op]) {
        let mut txs: Vec<(PublicKey, Transaction)> = Vec::new();
        for op in ops {
            let by = match *op {
                Op::SetPower { by, .. }
                | Op::Add { by, .. }
                | Op::Remove { by, .. }
                | Op::SetLimits { by, .. }
                | Op::Approve { by, .. } => by,
            };
            let signer = self.keys[by];
            let action = self.action(op);
            txs.push((signer, self.h.sign(&signer, action)));
        }
        let statuses_before = self.statuses();
        let candidates: Vec<Transaction> = txs.iter().map(|(_, tx)| tx.clone()).collect();
        let (block, skipped) = self.h.ledger.build_block(
            &candidates,
            coop("ksp-sejahtera"),
            BlockLimits::default(),
            &VerifyAll,
        );
        // Keys governance has not added (or has removed) cannot sign: give
        // their nonces back.
        for (hash, reason) in &skipped {
            assert!(
                matches!(
                    reason.code(),
                    "unknown_signer" | "signer_inactive" | "future_nonce"
                ),
                "{reason}"
            );
            let (signer, _) = txs.iter().find(|(_, tx)| tx.hash() == *hash).unwrap();
            self.h.signers.rewind(signer);
        }
        let outcome = self
            .h
            .ledger
            .apply_block(&block, &VerifyAll, vec![])
            .unwrap();
        for (_, result) in &outcome.results {
            let code = result.as_ref().err().map_or("applied", |e| e.code());
            *self.seen.entry(code.to_string()).or_default() += 1;
        }
        for (id, status) in self.statuses() {
            if statuses_before.get(&id) == Some(&status) {
                continue;
            }
            match status {
                ProposalStatus::Executed { .. } => {
                    *self.seen.entry("executed".into()).or_default() += 1
                }
                ProposalStatus::Failed { code, .. } => {
                    *self.seen.entry("failed_at_execution".into()).or_default() += 1;
                    *self.seen.entry(format!("failed: {code}")).or_default() += 1;
                }
                ProposalStatus::Open => {}
            }
        }
        self.check_validators();
    }

    fn statuses(&self) -> BTreeMap<u64, ProposalStatus> {
        let next = self.h.ledger.counters().next_proposal;
        (0..next)
            .filter_map(|id| self.h.ledger.state().proposal(id).map(|p| (id, p.status)))
            .collect()
    }

    /// The set the node would record for `h + 2` is one the engine takes,
    /// and within the network's limits.
    fn check_validators(&self) {
        let ledger = &self.h.ledger;
        let limits = ledger.params().unwrap().validator_limits;
        limits.check().unwrap();
        let validators = ledger.validators();
        assert!(!validators.is_empty(), "no validator left");
        assert!(validators.len() <= limits.validators_max as usize);
        assert!(limits.validators_max <= VALIDATORS_CEILING);
        let keys: BTreeSet<_> = validators.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), validators.len(), "a key twice");
        let mut total: u128 = 0;
        for (_, power) in &validators {
            assert!((1..=limits.voting_power_max).contains(power), "{power}");
            total += u128::from(*power);
        }
        assert!(
            total <= u128::from(limits.voting_power_total_max),
            "{total}"
        );
        assert!(total <= u128::from(VOTING_POWER_TOTAL_CEILING));
        governance::check_network(ledger.state()).unwrap();
    }
}

#[test]
fn no_accepted_governance_leaves_an_unusable_validator_set() {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let seen: RefCell<BTreeMap<String, u64>> = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&blocks(), |blocks| {
        let mut run = Run::new();
        for ops in &blocks {
            run.run_block(ops);
        }
        let mut seen = seen.borrow_mut();
        for (code, n) in run.seen {
            *seen.entry(code).or_default() += n;
        }
        Ok::<(), TestCaseError>(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let seen = seen.into_inner();
    println!("governance outcomes over {CASES} cases: {seen:?}");
    let count = |code: &str| seen.get(code).copied().unwrap_or(0);
    for code in ["applied", "executed", "failed_at_execution"] {
        assert!(count(code) > 0, "never saw {code}");
    }
    // Each bound refused a proposal when it was made or failed one when it
    // executed.
    for code in [
        "voting_power_out_of_range",
        "validator_count_exceeded",
        "total_voting_power_exceeded",
        "validator_limits_out_of_range",
        "no_validator_left",
    ] {
        let both = count(code) + count(&format!("failed: {code}"));
        assert!(both > 0, "never saw {code}");
    }
}
