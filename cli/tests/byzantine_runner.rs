//! Byzantine nodes on real processes: `testnet/manifests/byzantine-ci.toml`
//! (a validator that equivocates, floods future heights, sends false
//! catch-up hints and spams gossip, then an observer that floods and
//! spams) passes every check, and its report names each behaviour with
//! the messages it sent; and a run with the honest nodes' evidence
//! inclusion switched off (`--defence-off evidence`) fails naming the
//! missing evidence of the equivocation.
//!
//! Both need what other branches add: the honest nodes' p2p defence
//! counters (`kopnet_p2p_*_total`), `GET /v1/evidence`, and
//! `HostConfig::include_evidence`. Without them the first test fails on
//! its pass assertion with the phase's reason, and the second on its
//! "not for want of the endpoint" assertion.
#![cfg(feature = "fault-injection")]

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// One network at a time (two cores).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run(manifest: &Path, dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_kopnet"))
        .args(["testnet", "run", "--backend", "process", "--output", "json"])
        .args(["--disconnect", "admin"])
        .arg("--manifest")
        .arg(manifest)
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run kopnet testnet run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        let tails = common::log_tails(dir, 60);
        panic!("report is not JSON ({e}): {stdout}\n{stderr}\n{tails}")
    });
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn manifests() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/manifests")
}

#[test]
fn byzantine_manifest_passes_and_names_every_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let (code, report, log) = run(&manifests().join("byzantine-ci.toml"), &net, &[]);
    let phases = report["hostile"].as_array().cloned().unwrap_or_default();
    let named: Vec<(String, String)> = phases
        .iter()
        .map(|p| {
            (
                p["node"].as_str().unwrap_or("").to_string(),
                p["behaviour"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("validator-2", "equivocate"),
        ("validator-1", "future-flood"),
        ("validator-3", "false-hints"),
        ("validator-0", "gossip-spam"),
        ("observer-0", "future-flood"),
        ("observer-0", "gossip-spam"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_string()))
        .collect();
    assert_eq!(named, expected, "{report}\n{log}");
    // Every hostile node really attacked: its own count of what it sent.
    for phase in &phases {
        assert!(
            phase["messages_sent"].as_u64().unwrap_or(0) > 0,
            "{phase}\n{report}"
        );
        assert!(
            phase["honest_rss_peak_bytes"].as_u64().unwrap_or(0) > 0,
            "{phase}"
        );
    }
    // The validator's equivocation is on the chain.
    assert!(
        phases[0]["evidence_height"].as_u64().is_some(),
        "{}\n{report}",
        phases[0]
    );
    if report["passed"] != true {
        // The reason first: CI keeps only a part of a long message.
        panic!(
            "run failed ({}): {}\n{report}\n{log}\n{}",
            report["failure_kind"],
            report["failure"],
            common::log_tails(&net, 40)
        );
    }
    assert_eq!(code, 0, "{report}");
}

#[test]
fn without_evidence_inclusion_the_run_fails_naming_the_missing_evidence() {
    let dir = tempfile::tempdir().unwrap();
    // Only the equivocation phase of the CI manifest.
    let text = std::fs::read_to_string(manifests().join("byzantine-ci.toml")).unwrap();
    let (head, _) = text.split_once("[[perturb]]").unwrap();
    let manifest = dir.path().join("equivocate.toml");
    std::fs::write(
        &manifest,
        format!(
            "{}[[perturb]]\nnode = \"validator-2\"\nkind = \"hostile\"\nbehaviour = \"equivocate\"\nat_height = 10\nsecs = 8\n",
            head.replace("duration_secs = 240", "duration_secs = 25")
        ),
    )
    .unwrap();
    let (code, report, log) = run(
        &manifest,
        &dir.path().join("net"),
        &["--defence-off", "evidence"],
    );
    assert_eq!(code, 1, "{report}\n{log}");
    assert_eq!(report["failure_kind"], "hostile", "{report}");
    let failure = report["failure"].as_str().unwrap_or("");
    assert!(
        failure.contains("no evidence of validator-2's equivocation on the chain"),
        "{failure}"
    );
    // For the right reason: the endpoint answered, the evidence was absent.
    assert!(!failure.contains("not available"), "{failure}");
}
