//! `kopnet testnet up`, the main job: a timed run ends with a JSON summary in
//! which every kind of story traffic committed and every invariant held, and
//! Ctrl-C (SIGINT to the foreground process group, as a terminal sends it)
//! stops the nodes cleanly with a summary.

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Every kind of transaction the demo story sends (windows close on the
/// chain's schedule, not by a transaction; the run acknowledges them): a
/// request to pay and its payment, a micro merchant's refund of part of a
/// payment, and the cooperatives' surplus-share payout lines (sent 3 s
/// into the load) among them.
const STORY_KINDS: [&str; 11] = [
    "merchant_payment_cross",
    "merchant_payment_on_us",
    "member_transfer",
    "taxi_driver_at_consumer_coop",
    "cash_in_other_counter",
    "cash_out_other_counter",
    "settlement_ack",
    "payment_request",
    "request_paid",
    "payout_line",
    "refund",
];

/// Merchant classes every run pays (each cooperative's first two
/// merchants are a micro and a large one).
const MERCHANT_CLASSES: [&str; 2] = ["micro", "large"];

#[test]
fn timed_run_prints_a_json_summary_with_every_kind_and_invariants_holding() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(kopnet())
        .args(["testnet", "up", "--dir"])
        .arg(dir.path().join("net"))
        .args(["--duration", "14", "--window-secs", "5", "--rate", "80"])
        .args(["--members", "20", "--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "testnet up failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
    // One JSON object on stdout, nothing else.
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{stdout}"));
    assert_eq!(summary["invariants_ok"], true, "{summary}");
    for field in [
        "blocks",
        "committed_txs",
        "tps",
        "latency_ms_p50",
        "latency_ms_p99",
    ] {
        assert!(summary[field].is_number(), "{field} missing: {summary}");
    }
    assert!(summary["rejected_by_reason"].is_object(), "{summary}");
    assert!(
        summary["committed_txs"].as_u64().unwrap() > 100,
        "{summary}"
    );
    for kind in STORY_KINDS {
        let count = summary["committed_by_kind"][kind].as_u64().unwrap_or(0);
        assert!(count > 0, "no committed {kind}: {summary}");
    }
    for class in MERCHANT_CLASSES {
        let count = summary["merchant_payments_by_class"][class]
            .as_u64()
            .unwrap_or(0);
        assert!(count > 0, "no payment to a {class} merchant: {summary}");
    }
    // The cashback programme voted in at setup paid some payments, and no
    // credit was planned past a tier's monthly incoming cap.
    let cashback = &summary["cashback"];
    assert_eq!(cashback["programmes"], 1, "{summary}");
    assert!(cashback["payments"].as_u64().unwrap() > 0, "{summary}");
    assert!(cashback["paid"].as_u64().unwrap() > 0, "{summary}");
    for code in ["tier_monthly_incoming_cap", "tier_balance_cap"] {
        assert!(
            summary["rejected_by_reason"].get(code).is_none(),
            "{code}: {summary}"
        );
    }
    // Windows closed on the 5-s schedule while the load ran, and the run
    // settled every one of them before it ended.
    let settlement = &summary["settlement"];
    assert_eq!(settlement["period_ms"], 5_000, "{summary}");
    let closed = settlement["windows_closed"].as_u64().unwrap();
    assert!(closed >= 1, "no window closed: {summary}");
    assert_eq!(
        settlement["windows_settled"].as_u64(),
        Some(closed),
        "{summary}"
    );
    for window in settlement["windows"].as_array().unwrap() {
        assert_eq!(window["settled"], true, "{window}");
        assert!(window["closed_at_ms"].as_u64().unwrap() > 0, "{window}");
    }
    let nodes = summary["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5, "{summary}");
    for node in nodes {
        for field in ["id", "role", "api_url", "state_root"] {
            assert!(node[field].is_string(), "node {field} missing: {node}");
        }
        assert!(node["height"].as_u64().unwrap() >= 1, "{node}");
    }
    assert_eq!(
        nodes.iter().filter(|n| n["role"] == "validator").count(),
        4,
        "{summary}"
    );
    // The nodes were stopped: none of their APIs answers any more.
    for node in nodes {
        let url = format!("{}/health", node["api_url"].as_str().unwrap());
        assert!(http().get(&url).send().is_err(), "{url} still answers");
    }
}

#[test]
fn ctrl_c_stops_every_node_cleanly_and_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let mut child = Command::new(kopnet())
        .args(["testnet", "up", "--dir"])
        .arg(&net)
        .args(["--rate", "40", "--members", "10"])
        // Its own process group, as a shell gives a foreground job.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // The first progress line is printed as soon as traffic starts.
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("testnet up ended early:\n{}", seen.join("\n")))
            .unwrap();
        seen.push(line.clone());
        if line.starts_with("height") {
            break;
        }
    }
    // Let some traffic commit, read from the observer.
    let layout: Value =
        serde_json::from_str(&std::fs::read_to_string(net.join("testnet.json")).unwrap()).unwrap();
    let apis: Vec<String> = layout["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["api_url"].as_str().unwrap().to_string())
        .collect();
    let start_height = http_json(&format!("{}/v1/status", apis[0]))["height"]
        .as_u64()
        .unwrap();
    wait_for("a few more blocks", Duration::from_secs(60), || {
        let height = http_json(&format!("{}/v1/status", apis[0]))["height"].as_u64()?;
        (height >= start_height + 5).then_some(())
    });
    // SIGINT to the whole foreground process group, as a terminal's Ctrl-C
    // sends it: only the supervisor may be in it, so the nodes keep running
    // until it stops them in order and has read their state.
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    for line in lines {
        seen.push(line.unwrap());
    }
    let exit = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let text = seen.join("\n");
    assert!(exit.success(), "exit {exit:?}:\n{text}\n{stderr}");
    assert!(text.contains("summary after"), "{text}");
    assert!(text.contains("invariants      all hold"), "{text}");
    assert!(
        !text.contains("did not stop cleanly"),
        "a node was killed instead of stopping: {text}"
    );
    for api in &apis {
        let url = format!("{api}/health");
        assert!(http().get(&url).send().is_err(), "{url} still answers");
    }
}

fn http_json(url: &str) -> Value {
    http()
        .get(url)
        .send()
        .and_then(|r| r.json())
        .unwrap_or(Value::Null)
}
