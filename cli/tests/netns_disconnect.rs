//! The process backend's network-namespace disconnect, on four real
//! validators: each node runs in its own namespace and the pid the backend
//! holds is the node itself; a disconnected node cannot reach its peers or
//! be reached by the runner, its height stops while the others advance,
//! and after the reconnect it catches up; nothing of the run is left.
//!
//! Needs root and iproute2; elsewhere it says why it did nothing (and
//! fails where `KOPNET_REQUIRE_NETNS` is set, as `.ci/run` does where
//! namespaces work). Every wait is a condition with a deadline.

mod common;

use common::{http, kopnet, wait_for};
use kopnet_testnet::runner::backend::{Backend, DisconnectMethod};
use kopnet_testnet::runner::manifest::DisconnectChoice;
use kopnet_testnet::runner::netns::{self, Names};
use kopnet_testnet::runner::process::ProcessBackend;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const NODES: usize = 4;
/// Blocks the connected validators must commit while one is cut off.
const ADVANCE: u64 = 8;
/// Most blocks a cut-off node may still commit from messages already in
/// its socket buffers when the link went down.
const SLACK: u64 = 2;

fn available() -> bool {
    netns::usable_in_tests().expect("KOPNET_REQUIRE_NETNS is set")
}

/// A node's height as the runner (root namespace) sees it.
fn height(client: &reqwest::blocking::Client, api: &str) -> Option<u64> {
    let status: Value = client
        .get(format!("{api}/v1/status"))
        .send()
        .ok()?
        .json()
        .ok()?;
    status["height"].as_u64()
}

/// A node's height as seen from inside namespace `ns` (`kopnet status` run
/// there with `ip netns exec`).
fn height_from(ns: &str, api: &str) -> Option<u64> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(kopnet())
        .args(["status", "--output", "json", "--node", api])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let status: Value = serde_json::from_slice(&out.stdout).ok()?;
    status["height"].as_u64()
}

fn link(path: &str) -> PathBuf {
    std::fs::read_link(path).unwrap_or_default()
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_disconnected_node_cannot_reach_its_peers_and_catches_up_after() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let layout = kopnet_testnet::cluster::layout::init(&net, NODES, 0).unwrap();
    let (mut backend, layout) = ProcessBackend::prepare(
        kopnet(),
        &layout,
        &net,
        vec![Vec::new(); NODES],
        DisconnectChoice::Namespace,
    )
    .unwrap();
    // On a failed assertion the backend is dropped: nodes killed, then the
    // namespaces removed.
    assert_eq!(
        backend.disconnect_method(),
        DisconnectMethod::NetworkNamespace
    );
    let names = backend.netns().unwrap().names();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for node in 0..NODES {
        rt.block_on(backend.start(node)).unwrap();
    }

    each_pid_is_its_node_in_its_own_namespace(&backend, names);

    let api: Vec<String> = layout.nodes.iter().map(|n| n.api_url.clone()).collect();
    let client = http();
    wait_for("every node at height 2", Duration::from_secs(60), || {
        api.iter()
            .all(|a| height(&client, a) >= Some(2))
            .then_some(())
    });

    let cut = NODES - 1;
    the_cut_off_node_stays_behind(&rt, &mut backend, &client, &api, names, cut);

    // Connected again, it catches up with where the others were.
    rt.block_on(backend.reconnect(cut)).unwrap();
    let others = api[..cut]
        .iter()
        .filter_map(|a| height(&client, a))
        .max()
        .unwrap();
    wait_for(
        &format!("the reconnected node to reach {others}"),
        Duration::from_secs(120),
        || (height(&client, &api[cut])? >= others).then_some(()),
    );

    rt.block_on(backend.stop_all());
    nothing_of_the_run_is_left(names);
}

/// The pid held is the node itself (ip netns exec did not fork), in the
/// namespace named for it, not in the runner's.
fn each_pid_is_its_node_in_its_own_namespace(backend: &ProcessBackend, names: Names) {
    let exe = kopnet().canonicalize().unwrap();
    for node in 0..NODES {
        let pid = backend.pid(node).unwrap();
        wait_for(
            &format!("pid {pid} to be the kopnet node"),
            Duration::from_secs(10),
            || (link(&format!("/proc/{pid}/exe")) == exe).then_some(()),
        );
        assert_ne!(
            link(&format!("/proc/{pid}/ns/net")),
            link("/proc/self/ns/net")
        );
        let identified = ip(&["netns", "identify", &pid.to_string()]);
        assert_eq!(identified.trim(), names.namespace(node));
    }
}

/// Disconnect node `cut`: the runner cannot reach it, it runs but cannot
/// reach a peer, and while the others advance it stays where it was.
fn the_cut_off_node_stays_behind(
    rt: &tokio::runtime::Runtime,
    backend: &mut ProcessBackend,
    client: &reqwest::blocking::Client,
    api: &[String],
    names: Names,
    cut: usize,
) {
    let inside = names.namespace(cut);
    rt.block_on(backend.disconnect(cut)).unwrap();
    // The runner cannot reach it ...
    let quick = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert_eq!(
        height(&quick, &api[cut]),
        None,
        "the runner still reaches a node that is cut off"
    );
    // ... it still runs (its API answers inside its namespace) but cannot
    // reach a peer.
    let cut_at = wait_for(
        "the cut-off node's height from inside its namespace",
        Duration::from_secs(30),
        || height_from(&inside, &api[cut]),
    );
    assert_eq!(
        height_from(&inside, &api[0]),
        None,
        "a cut-off node reaches a peer"
    );

    // The others go on; the cut-off node stays where it was.
    let target = cut_at + ADVANCE;
    wait_for(
        &format!("the connected validators to reach {target}"),
        Duration::from_secs(120),
        || {
            api[..cut]
                .iter()
                .all(|a| height(client, a) >= Some(target))
                .then_some(())
        },
    );
    let still = height_from(&inside, &api[cut]).expect("the cut-off node answers inside");
    assert!(
        still <= cut_at + SLACK,
        "the cut-off node went from {cut_at} to {still}: it still hears its peers"
    );
}

/// No namespace, switch or uplink of the run is left.
fn nothing_of_the_run_is_left(names: Names) {
    let namespaces = ip(&["netns", "list"]);
    let listed = |ns: &str| {
        namespaces
            .lines()
            .any(|l| l.split_whitespace().next() == Some(ns))
    };
    for node in 0..NODES {
        assert!(!listed(&names.namespace(node)), "{namespaces}");
    }
    assert!(!listed(&names.switch()), "{namespaces}");
    let links = ip(&["-o", "link", "show"]);
    assert!(!links.contains(&format!(" {}@", names.uplink())), "{links}");
}
