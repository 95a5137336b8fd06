//! The simulator as a test: determinism, passing seed batches, and a
//! deliberately broken quorum rule being caught. Long runs (10,000+ seeds)
//! are the `kopnet-sim` command, not tests.

use kopnet_consensus::QuorumRule;
use kopnet_testnet::sim::{run, run_many, SimConfig, Violation};

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn assert_all_pass(template: &SimConfig, count: u64) {
    let (passed, failed) = run_many(template, 0, count, threads());
    if let Some(first) = failed.first() {
        panic!("{first}");
    }
    assert_eq!(passed.len() as u64, count);
    assert!(passed.iter().all(|r| r.heights_decided >= template.heights));
}

#[test]
fn same_seed_gives_the_same_trace_hash() {
    let config = SimConfig::new(7, 4, 1, 4);
    let first = run(&config).unwrap();
    let second = run(&config).unwrap();
    assert_eq!(first, second);
    assert!(first.events > 100);
    let other = run(&SimConfig::new(8, 4, 1, 4)).unwrap();
    assert_ne!(first.trace_hash, other.trace_hash);
}

#[test]
fn clean_network_decides_every_height() {
    let mut config = SimConfig::new(1, 4, 0, 10);
    config.faults = false;
    let report = run(&config).unwrap();
    assert!(report.heights_decided >= 10);
    assert_eq!(report.evidence, 0);
}

#[test]
fn four_validators_one_byzantine_pass_300_seeds() {
    assert_all_pass(&SimConfig::new(0, 4, 1, 3), 300);
}

#[test]
fn seven_validators_two_byzantine_pass_60_seeds() {
    assert_all_pass(&SimConfig::new(0, 7, 2, 3), 60);
}

#[test]
fn broken_quorum_rule_is_caught() {
    let mut config = SimConfig::new(0, 4, 1, 3);
    config.quorum_rule = QuorumRule::UnsafeOneThird;
    let failure = (0..300)
        .find_map(|seed| {
            config.seed = seed;
            run(&config).err()
        })
        .expect("a > 1/3 quorum must break safety within 300 seeds");
    assert!(
        matches!(
            failure.violation,
            Violation::Agreement { .. } | Violation::Validity { .. } | Violation::DoubleSign { .. }
        ),
        "expected a safety violation, got {}",
        failure.violation
    );
    let report = failure.to_string();
    assert!(report.contains("--unsafe-quorum"));
    assert!(report.contains(&format!("--start-seed {}", failure.config.seed)));
}
