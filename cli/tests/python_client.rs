//! The Python client (`clients/python/`, package `kopnet_client`) against
//! the repository's golden vectors and a real network: it makes a key,
//! signs a payment in the ledger's exact bytes, submits it, follows the
//! event stream and reads the balance, and the network agrees.
//!
//! Needs a Python 3 with PyNaCl (Debian: `python3-nacl`). Where there is
//! none the tests skip saying why, unless `KOPNET_REQUIRE_PYTHON_CLIENT=1`
//! (set by `.ci/run` once the install worked).

mod common;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python")
}

/// A Python that can import PyNaCl (`KOPNET_PYTHON`, else Debian's
/// `/usr/bin/python3`, else `python3` on the PATH); `None` (after saying
/// why) where there is none and it is not required.
fn python() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("KOPNET_PYTHON") {
        candidates.push(p.into());
    }
    candidates.extend(["/usr/bin/python3".into(), "python3".into()]);
    for python in &candidates {
        let works = Command::new(python)
            .args(["-c", "import nacl.signing"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return Some(python.clone());
        }
    }
    let why = format!("no Python with PyNaCl among {candidates:?} (apt-get install python3-nacl)");
    assert!(
        std::env::var("KOPNET_REQUIRE_PYTHON_CLIENT").as_deref() != Ok("1"),
        "KOPNET_REQUIRE_PYTHON_CLIENT=1 but {why}"
    );
    eprintln!("SKIP: {why}");
    None
}

/// `python -m kopnet_client args...`: its JSON output lines, or a panic
/// with its stderr.
fn run_client(python: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(python)
        .args(["-m", "kopnet_client"])
        .args(args)
        .current_dir(client_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kopnet_client {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_python_client_passes_its_golden_vector_tests() {
    let Some(python) = python() else { return };
    let out = Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests", "-v"])
        .current_dir(client_dir())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    // Every test ran: none skipped (PyNaCl is there).
    assert!(report.trim_end().ends_with("OK"), "{report}");
    assert!(report.contains("test_bodies_signing_bytes_and_hashes_are_the_ledgers"));
}

#[test]
fn a_payment_signed_by_the_python_client_commits_and_moves_balances() {
    let Some(python) = python() else { return };
    let cluster = Cluster::start(1, 0);
    let coop = cluster.nodes[0].id.clone();
    let node = cluster.nodes[0].api.clone();
    let keys = tempfile::tempdir().unwrap();
    let payer_file = keys.path().join("payer.key");
    let made = run_client(&python, &["keygen", "--out", payer_file.to_str().unwrap()]);
    let payer = made[0]["address"].as_str().unwrap().to_string();
    let payee = Keypair::from_seed([7; 32]).public();

    // The cooperative registers both and funds the payer.
    let mut teller = Wallet::new(cluster.coop_key(&coop), &cluster.chain_id);
    let payer_key = kopnet_consensus::PublicKey::from_address(&payer).unwrap();
    let mut txs = Vec::new();
    for member in [payer_key, payee] {
        txs.push(teller.sign(Action::RegisterMember {
            member,
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        }));
    }
    txs.push(teller.sign(Action::Mint {
        member: payer_key,
        amount: 100_000,
    }));
    for tx in &txs {
        assert_eq!(cluster.submit(0, tx).status().as_u16(), 202);
    }
    let long = Duration::from_secs(60);
    for tx in &txs {
        assert_eq!(cluster.wait_tx(0, &tx.hash(), long), "ok");
    }

    // What the payment will cost, from the node's dry run.
    let amount = 25_000u64;
    let quote: Value = http()
        .post(format!("{node}/v1/quote"))
        .json(&json!({"signer": payer, "action": {"Payment": {
            "to": payee.to_address(), "amount": amount, "memo": "", "idempotency_id": vec![0; 16]}}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(quote["ok"], true, "{quote}");
    let fees = quote["fees"].as_u64().unwrap();
    let receives = quote["payee_receives"].as_u64().unwrap();

    // The cooperative's desk follows the blocks (whole: with transactions),
    // from before the payment.
    let coop_file = cluster
        .net_dir()
        .join("coops")
        .join(&coop)
        .join("cooperative.key");
    let mut events = Command::new(&python)
        .args([
            "-m",
            "kopnet_client",
            "events",
            "--node",
            &node,
            "--count",
            "0",
        ])
        .arg("--key")
        .arg(&coop_file)
        .current_dir(client_dir())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::sync_channel::<String>(1024);
    let stdout = events.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(long).expect("the event stream connects");
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap()["event"],
        "connected"
    );

    let paid = run_client(
        &python,
        &[
            "pay",
            "--node",
            &node,
            "--key",
            payer_file.to_str().unwrap(),
            "--to",
            &payee.to_address(),
            "--amount",
            &amount.to_string(),
            "--memo",
            "dari python",
            "--wait",
        ],
    );
    let answer = &paid[0];
    assert_eq!(answer["status"], "committed", "{answer}");
    assert_eq!(answer["result"]["code"], "ok", "{answer}");
    assert_eq!(answer["signer"], payer.as_str());
    assert_eq!(answer["action"]["Payment"]["memo"], "dari python");
    let hash = answer["hash"].as_str().unwrap().to_string();

    // The network agrees: committed, and the balances moved by the quote.
    let hash_bytes = kopnet_consensus::Hash::from_hex(&hash).unwrap();
    assert_eq!(cluster.wait_tx(0, &hash_bytes, long), "ok");
    let balance = |address: &str| {
        cluster.get(0, &format!("/v1/accounts/{address}")).unwrap()["balance"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(balance(&payer), 100_000 - amount - fees);
    assert_eq!(balance(&payee.to_address()), receives);
    // The payer reads its own balance with a request it signs.
    let read = run_client(
        &python,
        &[
            "balance",
            "--node",
            &node,
            "--key",
            payer_file.to_str().unwrap(),
        ],
    );
    assert_eq!(read[0]["balance"], 100_000 - amount - fees);

    // The event stream carried the payment's block.
    let deadline = Instant::now() + long;
    let summary = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the payment's block event");
        let event: Value = serde_json::from_str(&line).unwrap();
        let found = event["data"]["txs"]
            .as_array()
            .and_then(|txs| txs.iter().find(|t| t["hash"] == hash.as_str()).cloned());
        if let Some(summary) = found {
            break summary;
        }
    };
    let _ = events.kill();
    let _ = events.wait();
    assert_eq!(summary["kind"], "payment");
    assert_eq!(summary["signer"], payer.as_str());
    assert_eq!(summary["to"], payee.to_address());
    assert_eq!(summary["amount"], amount);
}
