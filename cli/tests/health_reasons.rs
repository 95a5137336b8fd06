//! `GET /health` tells the truth on real processes: 200 while a node is in
//! step; 503 `stalled` for a validator cut off from its peers while they
//! commit; 503 `syncing` for a node restarted into a network that cannot
//! commit yet (it has not been in step since it started); 200 again once
//! each recovers. `GET /health/live` answers 200 throughout. (The disk
//! cases, `low_disk` and the fail-stop, are in `fail_stop.rs`.)

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// `health.stall_after_ms` of the test network (its empty-block interval
/// is 1 s, a round with an absent proposer under 4 s).
const STALL_MS: u64 = 6_000;
const LONG: Duration = Duration::from_secs(90);

#[test]
fn health_is_503_with_the_reason_when_stalled_or_syncing_and_200_when_in_step() {
    let mut cluster = Cluster::init(4, 0);
    for i in 0..cluster.nodes.len() {
        cluster.edit_config(i, |c| c.health.stall_after_ms = STALL_MS);
        cluster.start_node(i);
    }
    cluster.wait_height_all(2, LONG);
    let all: Vec<usize> = (0..cluster.nodes.len()).collect();
    every_node_is_healthy(&cluster, &all);

    // Cut off from its peers, a validator stops committing while they go
    // on: stalled after health.stall_after_ms.
    let victim = cluster.node_of("taksi-bersama");
    let others: Vec<usize> = all.iter().copied().filter(|i| *i != victim).collect();
    cluster.isolate(victim, true);
    let body = unhealthy(&cluster, victim, "stalled");
    eprintln!("isolated validator's /health: 503 {body}");
    let during = cluster.height(others[0]).unwrap();
    cluster.wait_height(others[0], during + 2, LONG);
    every_node_is_healthy(&cluster, &others);
    cluster.isolate(victim, false);
    every_node_is_healthy(&cluster, &all);

    // Stop all four; restart two of them, which cannot commit without a
    // third. The higher of the two can catch up from nobody: it has
    // committed nothing since it started, so it is syncing (and, with a
    // long stall time, not yet stalled). The lower one may catch up to it.
    for i in 0..cluster.nodes.len() {
        assert!(cluster.terminate(i).success(), "node {i} stops cleanly");
    }
    let pair = [others[0], others[1]];
    for i in pair {
        cluster.edit_config(i, |c| c.health.stall_after_ms = 600_000);
        cluster.start_node(i);
    }
    let (i, body) = wait_for("a restarted node to be 503 syncing", LONG, || {
        pair.iter().find_map(|&i| {
            cluster
                .health(i)
                .filter(|(status, body)| *status == 503 && body["reason"] == "syncing")
                .map(|(_, body)| (i, body))
        })
    });
    eprintln!(
        "{} restarted without a quorum, /health: 503 {body}",
        cluster.nodes[i].id
    );
    assert_eq!(body["status"], "unhealthy", "{body}");
    assert_eq!(body["reasons"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(cluster.live(i), Some(200), "/health/live while syncing");
    let stuck = body["height"].as_u64().unwrap();

    // The other two back: the network commits and every node is in step.
    for i in all.iter().copied().filter(|i| !pair.contains(i)) {
        cluster.start_node(i);
    }
    cluster.wait_height_all(stuck + 2, LONG);
    every_node_is_healthy(&cluster, &all);
}

/// Wait for node `i`'s `/health` to be 503 with `reason`; its body. Its
/// `/health/live` answers 200 meanwhile.
fn unhealthy(cluster: &Cluster, i: usize, reason: &str) -> Value {
    let (_, body) = wait_for(&format!("/health to be 503 {reason}"), LONG, || {
        cluster
            .health(i)
            .filter(|(status, body)| *status == 503 && body["reason"] == reason)
    });
    assert_eq!(body["status"], "unhealthy", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(cluster.live(i), Some(200), "/health/live while {reason}");
    body
}

/// Wait for every node in `nodes` to answer `/health` 200 (and
/// `/health/live` 200).
fn every_node_is_healthy(cluster: &Cluster, nodes: &[usize]) {
    for &i in nodes {
        let (_, body) = wait_for(
            &format!("node {} to be healthy", cluster.nodes[i].id),
            LONG,
            || cluster.health(i).filter(|(status, _)| *status == 200),
        );
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(cluster.live(i), Some(200));
    }
}
