//! Governance cannot break the chain (issue 14). On a live 4-validator
//! network whose genesis limits the validators to 4, each to a voting power
//! of 10 and all to 12 (every validator starts at 1):
//!
//! * `coop propose set-voting-power --voting-power 18446744073709551615`
//!   (the proposal that once halted a network for good), a fifth validator
//!   and a total past 12 are each refused when proposed, with their reason
//!   codes; no proposal is opened;
//! * two proposals each fine when made, the first executed: the second
//!   would by then take the total past the limit, so it fails when it
//!   executes (`failed`, with the code) and changes nothing;
//! * the chain keeps committing on every node, no node fails to record a
//!   validator set, and `GET /v1/proposals/{id}` answers for every proposal.

mod common;
use common::*;
use kopnet_consensus::Keypair;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const LIMITS: [&str; 6] = [
    "--validators-max",
    "4",
    "--voting-power-max",
    "10",
    "--voting-power-total-max",
    "12",
];

/// `kopnet coop <args>` signed by cooperative `coop` at its own node:
/// (succeeded, stdout + stderr).
fn coop(cluster: &Cluster, coop: &str, args: &[&str]) -> (bool, String) {
    let key = cluster
        .net_dir()
        .join("coops")
        .join(coop)
        .join("cooperative.key");
    let node = &cluster.nodes[cluster.node_of(coop)].api;
    let (verb, rest) = args.split_first().unwrap();
    let out = Command::new(kopnet())
        .args(["coop", verb, "--key"])
        .arg(&key)
        .args(["--node", node])
        .args(rest)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("kopnet coop {} ({coop}):\n{text}", args.join(" "));
    (out.status.success(), text)
}

/// A proposal that must be refused when made, with `code`.
fn refused(cluster: &Cluster, args: &[&str], code: &str) {
    let (ok, text) = coop(cluster, "ksp-sejahtera", args);
    assert!(!ok, "proposal accepted: {text}");
    assert!(text.contains(code), "expected {code}: {text}");
    assert!(!text.contains("panicked"), "{text}");
}

fn proposal(cluster: &Cluster, id: u64) -> Value {
    cluster
        .get(0, &format!("/v1/proposals/{id}"))
        .unwrap_or_else(|| panic!("GET /v1/proposals/{id} did not answer"))
}

#[test]
fn proposals_past_a_bound_are_refused_and_the_chain_keeps_committing() {
    let cluster = Cluster::start_with(4, 0, &LIMITS);
    let params = cluster.get(0, "/v1/params").unwrap();
    assert_eq!(params["validator_limits"]["voting_power_total_max"], 12);
    assert_eq!(params["total_voting_power"], 4);

    // Refused when proposed, each with its code; nothing opened.
    refused(
        &cluster,
        &[
            "propose",
            "set-voting-power",
            "--id",
            "pasar-makmur",
            "--voting-power",
            "18446744073709551615",
        ],
        "voting_power_out_of_range",
    );
    let newcomer = Keypair::generate(&mut rand::rngs::OsRng).public();
    let newcomer_validator = Keypair::generate(&mut rand::rngs::OsRng).public();
    let newcomer_node = Keypair::generate(&mut rand::rngs::OsRng).public();
    refused(
        &cluster,
        &[
            "propose",
            "add-cooperative",
            "--id",
            "koperasi-baru",
            "--name",
            "Koperasi Baru",
            "--coop-address",
            &newcomer.to_address(),
            "--validator-address",
            &newcomer_validator.to_address(),
            "--node-address",
            &newcomer_node.to_address(),
            "--voting-power",
            "1",
            "--ndc",
            "Rp1.000.000",
        ],
        "validator_count_exceeded",
    );
    refused(
        &cluster,
        &[
            "propose",
            "set-voting-power",
            "--id",
            "pasar-makmur",
            "--voting-power",
            "10",
        ],
        "total_voting_power_exceeded",
    );
    refused(
        &cluster,
        &[
            "propose",
            "set-validator-limits",
            "--validators-max",
            "3",
            "--voting-power-max",
            "10",
            "--voting-power-total-max",
            "12",
        ],
        "validator_count_exceeded",
    );
    let list = cluster.get(0, "/v1/proposals").unwrap();
    assert_eq!(list["next_id"], 0, "a refused proposal was opened: {list}");

    // Two proposals, each fine when made: pasar to 8 (the total would be
    // 11), angkot to 3 (it would be 6).
    let set_power = |id: &str, power: &str| {
        let (ok, text) = coop(
            &cluster,
            "ksp-sejahtera",
            &[
                "propose",
                "set-voting-power",
                "--id",
                id,
                "--voting-power",
                power,
            ],
        );
        assert!(ok, "{text}");
        text
    };
    assert!(set_power("pasar-makmur", "8").contains("proposal 0"));
    assert!(set_power("angkot-maju", "3").contains("proposal 1"));
    // The first executes (ksp, pasar and angkot: 3 of 4): the total is 11.
    for approver in ["pasar-makmur", "angkot-maju"] {
        let (ok, text) = coop(&cluster, approver, &["approve", "0"]);
        assert!(ok, "{text}");
    }
    assert_eq!(proposal(&cluster, 0)["status"], "executed");
    assert_eq!(
        cluster.get(0, "/v1/params").unwrap()["total_voting_power"],
        11
    );
    // The second passes 2/3 with pasar's approval (ksp 1 + pasar 8 of 11)
    // but would now leave 1 + 8 + 3 + 1 = 13: it fails, and changes nothing.
    let (ok, text) = coop(&cluster, "pasar-makmur", &["approve", "1"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("failed at height") && text.contains("total_voting_power_exceeded"),
        "{text}"
    );
    let failed = proposal(&cluster, 1);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failed"]["code"], "total_voting_power_exceeded");
    assert!(failed["failed"]["height"].as_u64().unwrap() > 0);
    let params = cluster.get(0, "/v1/params").unwrap();
    assert_eq!(params["total_voting_power"], 11, "{params}");

    // The chain keeps committing on every node, well past the heights at
    // which the executed changes took effect (h + 2).
    let height = cluster.height(0).unwrap();
    cluster.wait_height_all(height + 5, Duration::from_secs(60));
    // Every proposal answers, on every node.
    let next = cluster.get(0, "/v1/proposals").unwrap()["next_id"]
        .as_u64()
        .unwrap();
    assert_eq!(next, 2);
    for i in 0..cluster.nodes.len() {
        for id in 0..next {
            let p = cluster
                .get(i, &format!("/v1/proposals/{id}"))
                .unwrap_or_else(|| panic!("node {i}: proposal {id} did not answer"));
            assert!(p["status"].is_string(), "{p}");
        }
        assert!(
            !cluster
                .log(i)
                .contains("cannot record the next validator set"),
            "node {i} met a set it cannot use:\n{}",
            cluster.log(i)
        );
    }
    let (ok, text) = {
        let out = Command::new(kopnet())
            .args(["coop", "proposals", "--node", &cluster.nodes[0].api])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert!(ok, "{text}");
    println!("{text}");
    assert!(
        text.contains("proposal 1 SetVotingPower by ksp-sejahtera: failed at height"),
        "{text}"
    );
}
