//! `testnet/manifests/city.toml`'s links end to end, shortened: five nodes,
//! each in its own network namespace, whose every connection to another
//! node goes through the runner's relays (20-80 ms one way per pair, +-5 ms
//! jitter) and loses 1 % of its packets, commit a payment load with a
//! validator cut off for a while, and every check passes. Needs root and
//! `ip netns`; skips saying why elsewhere, unless `KOPNET_REQUIRE_NETNS`
//! (set by `.ci/run` where namespaces work) makes them required.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// city.toml with a shorter load and one perturbation (CI time).
fn short_city(dir: &Path) -> std::path::PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/manifests/city.toml");
    let text = std::fs::read_to_string(manifest).unwrap();
    let head = text.split("[[perturb]]").next().unwrap();
    assert!(head.contains("duration_secs = 60"), "{head}");
    let short = head.replace("duration_secs = 60", "duration_secs = 20")
        + "[[perturb]]\nnode = \"validator-2\"\nkind = \"disconnect\"\nat_height = 20\nsecs = 4\n\n[wait]\ncatch_up_timeout_secs = 120\n";
    let path = dir.join("city-short.toml");
    std::fs::write(&path, short).unwrap();
    path
}

#[test]
fn a_city_network_with_latency_and_loss_passes_every_check() {
    match kopnet_testnet::runner::netns::usable_in_tests() {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("SKIP: links need network namespaces (root and ip netns)");
            return;
        }
        Err(e) => panic!("KOPNET_REQUIRE_NETNS is set but namespaces are unavailable: {e}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = short_city(dir.path());
    let net = dir.path().join("net");
    let out = Command::new(env!("CARGO_BIN_EXE_kopnet"))
        .args(["testnet", "run", "--output", "json", "--manifest"])
        .arg(&manifest)
        .arg("--dir")
        .arg(&net)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}): {stdout}\n{stderr}\n{}",
            common::log_tails(&net, 60)
        )
    });
    assert_eq!(
        report["passed"],
        true,
        "{report}\n{stderr}\n{}",
        common::log_tails(&net, 60)
    );
    assert_eq!(report["disconnect_method"], "network-namespace");
    let links = report["links"].as_str().unwrap_or_default();
    assert!(links.contains("one-way delay 20-80 ms per pair"), "{links}");
    assert!(links.contains("loss 1.00 %"), "{links}");
    assert!(report["committed_txs"].as_u64().unwrap() > 0, "{report}");
    // Not a speed check: a commit needs a proposal and two rounds of votes
    // across links of at least 20 ms each way, so a median below 40 ms
    // would mean the relays were bypassed.
    let p50 = report["latency_p50_ms"].as_u64().unwrap();
    assert!(
        p50 >= 40,
        "p50 {p50} ms: the links' delay is not in place\n{report}"
    );
}
