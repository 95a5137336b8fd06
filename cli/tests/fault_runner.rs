//! The fault-injection runner end to end with the process backend:
//! `testnet/manifests/ci.toml` (kill, restart, pause, disconnect and a late
//! joiner, under load) passes every check, with the disconnect method this
//! machine allows (a network namespace per node where this runs as root
//! and `ip netns` works, else the admin endpoint); and the same run with
//! one validator broken on purpose (`KOPNET_FAULT=double-credit`: it
//! applies a payment twice), with `--disconnect admin`, fails naming that
//! node.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// One network at a time: two five-node networks on two cores would make
/// each run slower than its schedule expects.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The disconnect method `--disconnect auto` must pick here. Where
/// `KOPNET_REQUIRE_NETNS` is set (`.ci/run` sets it where namespaces work)
/// namespaces are required, so a broken probe cannot pass as a fallback.
fn expected_auto_method() -> &'static str {
    match kopnet_testnet::runner::netns::usable_in_tests() {
        Ok(true) => "network-namespace",
        Ok(false) => "admin-endpoint",
        Err(e) => panic!("KOPNET_REQUIRE_NETNS is set but namespaces are unavailable: {e}"),
    }
}

/// `ip` output, or "" where iproute2 is missing.
fn ip(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn run_ci_manifest(dir: &Path, fault: Option<&str>, disconnect: &str) -> (i32, Value, String) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/manifests/ci.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kopnet"));
    cmd.args(["testnet", "run", "--backend", "process", "--output", "json"])
        .args(["--disconnect", disconnect])
        .arg("--manifest")
        .arg(&manifest)
        .arg("--dir")
        .arg(dir);
    if let Some(fault) = fault {
        cmd.args(["--fault", fault]);
    }
    let out = cmd.output().expect("run kopnet testnet run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        let tails = common::log_tails(dir, 60);
        panic!("report is not JSON ({e}): {stdout}\n{stderr}\n{tails}")
    });
    (out.status.code().unwrap_or(-1), report, stderr)
}

#[test]
fn ci_manifest_passes_on_processes() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let expected = expected_auto_method();
    let (code, report, log) = run_ci_manifest(&net, None, "auto");
    if report["passed"] != true {
        panic!(
            "run failed ({}): {}\n{report}\n{log}\n{}",
            report["failure_kind"],
            report["failure"],
            common::log_tails(&net, 60)
        );
    }
    assert_eq!(code, 0, "{report}\n{log}");
    assert_eq!(report["backend"], "process");
    assert_eq!(report["disconnect_method"], expected, "{report}");
    if expected == "network-namespace" {
        // The run's uplink and namespaces are gone.
        let detail = report["disconnect_detail"].as_str().unwrap_or("");
        let named = |after: &str| {
            detail
                .split_once(after)
                .and_then(|(_, rest)| rest.split([' ', ',']).next())
                .unwrap_or_else(|| panic!("no {after:?} in {detail:?}"))
                .to_string()
        };
        let (uplink, switch) = (named("uplink "), named("switch namespace "));
        let links = ip(&["-o", "link", "show"]);
        assert!(!links.contains(&format!(" {uplink}@")), "{links}");
        let run_ns = format!("{}n", switch.trim_end_matches('s'));
        let namespaces = ip(&["netns", "list"]);
        assert!(
            !namespaces
                .lines()
                .any(|l| l.starts_with(&run_ns) || l.split_whitespace().next() == Some(&switch)),
            "{namespaces}"
        );
    }
    let events: Vec<String> = report["perturbations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap_or("").to_string())
        .collect();
    for kind in ["kill", "restart", "pause", "disconnect", "late-join"] {
        assert!(
            events.iter().any(|e| e.contains(kind)),
            "{kind} never ran: {events:?}"
        );
    }
    // The upgrade restart ran on processes (not skipped).
    assert!(
        events
            .iter()
            .any(|e| e.contains("upgrade") && e.contains("restarted on the new build")),
        "the upgrade never ran: {events:?}"
    );
    // The restore ran for real on processes (not skipped).
    assert!(
        events
            .iter()
            .any(|e| e.contains("restore") && e.contains("restored in")),
        "the restore never ran: {events:?}"
    );
    assert!(report["committed_txs"].as_u64().unwrap() > 100, "{report}");
    // The load followed the manifest's mix: its four kinds, and otherwise
    // only the driver's upkeep that keeps the load valid (a member topped
    // up at its own counter, a merchant cashing out before its cap:
    // testnet/src/cluster/traffic/budget.rs).
    let by_kind = report["committed_by_kind"].as_object().unwrap();
    let mix = [
        "cash_in_other_counter",
        "cash_out_other_counter",
        "merchant_payment_cross",
        "merchant_payment_on_us",
    ];
    // The load's upkeep, and the `rotate-key` perturbation's own rotation.
    let upkeep = ["member_top_up", "merchant_cash_out", "rotate_node_keys"];
    for kind in mix {
        assert!(
            by_kind.contains_key(kind),
            "{kind} never committed: {report}"
        );
    }
    for kind in by_kind.keys() {
        assert!(
            mix.contains(&kind.as_str()) || upkeep.contains(&kind.as_str()),
            "{kind} is not in the manifest's mix: {report}"
        );
    }
    assert!(report["common_height"].as_u64().unwrap() > 350, "{report}");
    // `rotate-key`: the new validator key signed after the rotation, and
    // messages under the old key were refused, live and offline.
    let rotation = &report["rotations"][0];
    assert_eq!(rotation["passed"], true, "{report}");
    assert!(rotation["new_key_signed_at"].is_u64(), "{report}");
    assert!(
        rotation["old_key_signed"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "{report}"
    );
    // (b, offline): the certificate check refuses an old-key precommit.
    assert!(rotation["old_key_refused"].is_string(), "{report}");
    // (b, live): the rotated node, restarted with `KOPNET_FAULT=old-key`,
    // gossiped votes signed with its old key; the honest nodes refused
    // them (their penalties grew) and no certificate carries that key.
    let live = &rotation["old_key_live"];
    assert!(live["messages_sent"].as_u64().unwrap_or(0) > 0, "{report}");
    assert!(
        live["penalties_after"].as_u64().unwrap_or(0)
            > live["penalties_before"].as_u64().unwrap_or(u64::MAX),
        "{report}"
    );
    assert!(
        live["penalties_grown"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(
        live["old_key_certificates"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "{report}"
    );
    assert!(live["failure"].is_null(), "{report}");
    assert_eq!(report["proposed"].as_object().unwrap().len(), 4);
}

#[test]
fn a_node_that_applies_a_payment_twice_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, log) = run_ci_manifest(
        &dir.path().join("net"),
        Some("validator-2=double-credit"),
        "admin",
    );
    assert_eq!(code, 1, "{report}\n{log}");
    assert_eq!(report["passed"], false, "{report}");
    assert_eq!(report["disconnect_method"], "admin-endpoint", "{report}");
    let kind = report["failure_kind"].as_str().unwrap_or("");
    let failure = report["failure"].as_str().unwrap_or("");
    // Caught by the checks (a diverged state root, a broken invariant), or
    // by the broken node itself: its state no longer matches the next
    // block's, so it stops (fail-stop) naming that, and the run says so.
    match kind {
        "state_root" | "invariant" => {}
        "node_stopped" => assert!(failure.contains("state root"), "{failure}"),
        _ => panic!("expected a diverged state root, a broken invariant or a node stopped on its state root, got {report}"),
    }
    // validator-2 is the third cooperative of the layout.
    assert!(failure.contains("angkot-maju"), "{failure}");
}
