//! `TimeoutConfig::block_interval_min_ms`: a busy height waits that long
//! from its start before round 0 — one timer, whatever number of
//! transaction notices arrive — and starts at once when it is older, or
//! when another validator's message of the height shows the others began.

mod common;

use common::{equal_set, keys, MemoryStore};
use kopnet_consensus::proposer::proposer;
use kopnet_consensus::{
    Engine, EngineConfig, Hash, Input, Keypair, Message, Output, Outputs, Step, TimeoutStep,
    ValidatorSet, Value,
};

const CHAIN: &str = "kopnet-test";
const INTERVAL_MS: u64 = 100;

fn engine(key: &Keypair, set: &ValidatorSet, interval_ms: u64) -> Engine {
    let mut config = EngineConfig::new(CHAIN).unwrap();
    config.timeouts.block_interval_min_ms = interval_ms;
    Engine::new(config, key.clone(), 1, set.clone(), None).unwrap()
}

/// Four validators of equal power: the proposer of height 1, round 0, one
/// that is not, and their set.
fn four_validators() -> (Keypair, Keypair, ValidatorSet) {
    let keys = keys(4);
    let set = equal_set(&keys);
    let first = proposer(&set, 1, 0).unwrap().key;
    let at = keys.iter().position(|k| k.public() == first).unwrap();
    (keys[at].clone(), keys[(at + 1) % keys.len()].clone(), set)
}

fn block_interval_timers(outputs: &Outputs) -> Vec<(u64, u32, u64)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::ScheduleTimeout {
                height,
                round,
                step: TimeoutStep::BlockInterval,
                deadline_ms,
            } => Some((*height, *round, *deadline_ms)),
            _ => None,
        })
        .collect()
}

fn asks_for_a_value(outputs: &Outputs) -> bool {
    outputs.iter().any(|o| {
        matches!(
            o,
            Output::GetValue {
                height: 1,
                round: 0
            }
        )
    })
}

#[test]
fn a_young_height_waits_for_the_interval_with_one_timer() {
    let (first, _, set) = four_validators();
    let mut e = engine(&first, &set, INTERVAL_MS);
    let out = e.start(1_000);
    assert!(block_interval_timers(&out).is_empty());

    let out = e.handle(1_010, Input::TxsAvailable { height: 1 }).unwrap();
    assert_eq!(e.step(), Step::NewHeight, "round 0 must wait");
    assert!(!asks_for_a_value(&out));
    assert_eq!(
        block_interval_timers(&out),
        vec![(1, 0, 1_000 + INTERVAL_MS)]
    );

    // More transactions, still early: no second timer.
    let out = e.handle(1_050, Input::TxsAvailable { height: 1 }).unwrap();
    assert_eq!(e.step(), Step::NewHeight);
    assert!(block_interval_timers(&out).is_empty());

    // The timer fires: round 0 starts and the proposer asks for a block.
    let out = e
        .handle(
            1_000 + INTERVAL_MS,
            Input::TimeoutElapsed {
                height: 1,
                round: 0,
                step: TimeoutStep::BlockInterval,
            },
        )
        .unwrap();
    assert_eq!(e.step(), Step::Propose);
    assert!(asks_for_a_value(&out));
}

#[test]
fn an_old_enough_height_starts_at_once_and_zero_never_waits() {
    let (first, _, set) = four_validators();

    let mut e = engine(&first, &set, INTERVAL_MS);
    let out = e.start(1_000);
    assert!(block_interval_timers(&out).is_empty());
    let out = e
        .handle(1_000 + INTERVAL_MS, Input::TxsAvailable { height: 1 })
        .unwrap();
    assert_eq!(e.step(), Step::Propose);
    assert!(asks_for_a_value(&out));
    assert!(block_interval_timers(&out).is_empty());

    let mut e = engine(&first, &set, 0);
    let out = e.start(1_000);
    assert!(block_interval_timers(&out).is_empty());
    let out = e.handle(1_000, Input::TxsAvailable { height: 1 }).unwrap();
    assert_eq!(e.step(), Step::Propose);
    assert!(asks_for_a_value(&out));
}

#[test]
fn a_stale_timer_or_one_of_another_height_starts_nothing() {
    let (first, _, set) = four_validators();
    let mut e = engine(&first, &set, INTERVAL_MS);
    let out = e.start(1_000);
    assert!(block_interval_timers(&out).is_empty());
    // No transactions yet and the timer is for height 2: the height keeps
    // waiting (for transactions or the empty-block interval).
    let out = e
        .handle(
            1_000 + INTERVAL_MS,
            Input::TimeoutElapsed {
                height: 2,
                round: 0,
                step: TimeoutStep::BlockInterval,
            },
        )
        .unwrap();
    assert_eq!(e.step(), Step::NewHeight);
    assert!(!asks_for_a_value(&out));
}

#[test]
fn another_validators_proposal_starts_round_zero_during_the_wait() {
    let (first, other, set) = four_validators();

    // The proposer's height began earlier: it proposes now.
    let mut proposing = engine(&first, &set, INTERVAL_MS);
    let out = proposing.start(0);
    assert!(block_interval_timers(&out).is_empty());
    let out = proposing
        .handle(INTERVAL_MS, Input::TxsAvailable { height: 1 })
        .unwrap();
    assert!(asks_for_a_value(&out));
    let tag = b"block of height 1";
    let value = Value {
        id: Hash::digest("kopnet test value", tag),
        bytes: tag.to_vec(),
    };
    let out = proposing
        .handle(
            INTERVAL_MS,
            Input::ValueReady {
                height: 1,
                round: 0,
                value,
            },
        )
        .unwrap();
    let mut store = MemoryStore::default();
    let proposal = out
        .into_iter()
        .find_map(|o| match o {
            Output::Send(pending) => {
                pending
                    .persist(&mut store)
                    .unwrap()
                    .into_iter()
                    .find_map(|m| match m {
                        Message::Proposal(p) => Some(p),
                        Message::Vote(_) => None,
                    })
            }
            _ => None,
        })
        .expect("the proposer sends its proposal");

    // The other validator's height is young and it has transactions.
    let mut waiting = engine(&other, &set, INTERVAL_MS);
    let out = waiting.start(INTERVAL_MS);
    assert!(block_interval_timers(&out).is_empty());
    let out = waiting
        .handle(INTERVAL_MS + 10, Input::TxsAvailable { height: 1 })
        .unwrap();
    assert_eq!(waiting.step(), Step::NewHeight);
    assert_eq!(
        block_interval_timers(&out),
        vec![(1, 0, INTERVAL_MS + INTERVAL_MS)]
    );
    // The proposal shows the others began: round 0 starts without waiting,
    // and the proposal goes to be validated.
    let out = waiting
        .handle(INTERVAL_MS + 20, Input::Proposal(proposal))
        .unwrap();
    assert_ne!(waiting.step(), Step::NewHeight);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::ValidateValue {
            height: 1,
            round: 0,
            ..
        }
    )));
}
