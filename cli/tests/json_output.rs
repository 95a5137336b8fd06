//! `--output json` on commands that sign and submit: one JSON object on
//! stdout, whatever else the command says goes to stderr — a governance
//! proposal with the proposal it made, a rejected transaction with its
//! code (and a failing exit), a read (`status`, `coop proposals`).

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

fn kopnet_json(args: &[&str]) -> (Output, Value) {
    let out = Command::new(kopnet())
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("kopnet {args:?}: not one JSON value ({e}): {text:?}"));
    (out, value)
}

#[test]
fn commands_that_submit_print_one_json_object() {
    let mut cluster = Cluster::init(1, 0);
    cluster.start_node(0);
    cluster.wait_height(0, 1, Duration::from_secs(60));
    let node = cluster.nodes[0].api.clone();
    let id = cluster.nodes[0].id.clone();
    let key = cluster
        .net_dir()
        .join("coops")
        .join(&id)
        .join("cooperative.key");
    let key = key.to_str().unwrap();

    // A proposal: the transaction and the proposal it made (one validator
    // holds all the voting power: it executes at once).
    let (out, made) = kopnet_json(&[
        "coop",
        "propose",
        "--key",
        key,
        "--node",
        &node,
        "set-recovery-wait",
        "--wait",
        "2h",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(made["status"], "committed", "{made}");
    assert_eq!(made["code"], "ok", "{made}");
    assert_eq!(made["tx"].as_str().map(str::len), Some(64), "{made}");
    assert!(made["height"].as_u64().is_some(), "{made}");
    assert_eq!(made["proposal"]["proposer"], id.as_str(), "{made}");
    let proposal = made["proposal"]["id"].as_u64().expect("the proposal's id");
    // What a person would have read went to stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("committed at height"));

    // A rejection: its code on stdout, a failing exit, the reason on stderr.
    let (out, rejected) = kopnet_json(&[
        "coop",
        "approve",
        "--key",
        key,
        "--node",
        &node,
        &(proposal + 1000).to_string(),
    ]);
    assert!(!out.status.success());
    assert_eq!(rejected["status"], "committed", "{rejected}");
    assert_ne!(rejected["code"], "ok", "{rejected}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"));

    // Reads.
    let (_, proposals) = kopnet_json(&["coop", "proposals", "--node", &node]);
    assert!(
        proposals["proposals"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{proposals}"
    );
    let (_, status) = kopnet_json(&["status", "--node", &node]);
    assert_eq!(status["chain_id"], cluster.chain_id.as_str());
}
