//! Fail-stop on real processes.
//!
//! A validator whose data directory is a small filesystem (a 16 MiB tmpfs)
//! in a network of four, under a load of payments until that filesystem is
//! full: `/health` says `low_disk` before it fills; then the node stops
//! cleanly (fail-stop: its log's last line says why, exit code 74) while
//! the other three keep committing. With space freed it restarts, catches
//! up, agrees on every block and state root, and every payment the network
//! committed is in its store. Mounting needs root: elsewhere that test
//! skips saying why (`.ci/run` makes it required where a probe mount
//! works).
//!
//! A validator whose safety record cannot be written stops the same way
//! (exit 74, the record's path in the line) and resumes once the cause is
//! gone; that one needs no root.

mod common;
use base64::Engine as _;
use common::tmpfs::{self, Tmpfs};
use common::*;
use kopnet_consensus::{Hash, Keypair};
use kopnet_ledger::{AccountKind, Action, KycTier, Transaction};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;
/// The victim's data filesystem.
const DISK_BYTES: u64 = 16 * MIB;
/// Its `health.disk_free_bytes_min`.
const FLOOR_BYTES: u64 = 4 * MIB;
/// What the filler file leaves free for the load to fill.
const HEADROOM_BYTES: u64 = MIB;
/// Members paying each other, and payments each signs per round: one
/// round is one `POST /v1/txs` of 128 (within the 64 KiB body limit).
const MEMBERS: usize = 16;
const PAYMENTS_PER_MEMBER: usize = 8;
const LONG: Duration = Duration::from_secs(120);

#[test]
fn a_validator_whose_disk_fills_stops_cleanly_and_recovers_once_space_is_freed() {
    if let Err(reason) = tmpfs::available() {
        eprintln!("SKIP full-disk test: a tmpfs cannot be mounted here: {reason}");
        return;
    }
    let mut cluster = Cluster::init(4, 0);
    let victim = cluster.node_of("taksi-bersama");
    cluster.edit_config(victim, |c| {
        c.health.disk_free_bytes_min = FLOOR_BYTES;
        c.health.disk_check_interval_ms = 200;
    });
    let disk = Tmpfs::mount(&cluster.nodes[victim].home.join("data"), DISK_BYTES).unwrap();
    for i in 0..cluster.nodes.len() {
        cluster.start_node(i);
    }
    cluster.wait_height_all(1, Duration::from_secs(60));
    let mut load = Load::new(&cluster, victim);
    wait_for("the victim to be healthy", LONG, || {
        cluster.health(victim).filter(|(status, _)| *status == 200)
    });

    // A filler file leaves the load 1 MiB: under the floor, /health says so.
    let filler = disk.dir().join("filler");
    fill(&filler, disk.free_bytes().saturating_sub(HEADROOM_BYTES));
    let (status, body) = wait_for("/health to say low_disk", LONG, || {
        cluster
            .health(victim)
            .filter(|(_, body)| body["reason"] == "low_disk")
    });
    eprintln!(
        "victim's /health with {} bytes free: {status} {body}",
        disk.free_bytes()
    );
    assert_eq!(status, 503);
    assert_eq!(
        cluster.live(victim),
        Some(200),
        "/health/live: still serving"
    );

    // Load until the victim's filesystem is full and the node stops.
    let started = Instant::now();
    let exit = loop {
        load.round(&cluster);
        let child = cluster.nodes[victim].child.as_mut().unwrap();
        if let Some(exit) = child.try_wait().unwrap() {
            cluster.nodes[victim].child = None;
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the victim never stopped; {} bytes free on its disk{}",
            disk.free_bytes(),
            log_tails(&cluster.net_dir(), 10)
        );
    };
    let log = cluster.log(victim);
    let lines: Vec<&str> = log.lines().collect();
    let last = lines.last().copied().unwrap_or("");
    eprintln!(
        "the victim stopped after {:.1} s of load ({} payments sent), exit code {:?}, {} bytes free; its log's last lines:\n{}",
        started.elapsed().as_secs_f64(),
        load.sent.len(),
        exit.code(),
        disk.free_bytes(),
        lines[lines.len().saturating_sub(4)..].join("\n")
    );
    assert_eq!(
        exit.code(),
        Some(74),
        "exit code of a storage fail-stop: {log}"
    );
    assert!(last.contains("ERROR"), "{last}");
    assert!(last.contains("fail-stop"), "{last}");
    assert!(last.contains("No space left on device"), "{last}");
    assert!(
        !log.contains("panicked"),
        "a clean stop, not a panic: {log}"
    );

    // The other three keep committing payments.
    let at_exit = cluster.height(load.nodes[0]).unwrap();
    while cluster.height(load.nodes[0]).unwrap() < at_exit + 3 {
        load.round(&cluster);
    }
    eprintln!(
        "the other three went on from height {at_exit} to {} with payments",
        cluster.height(load.nodes[0]).unwrap()
    );

    // Space freed, the victim restarts, catches up and is healthy again.
    std::fs::remove_file(&filler).unwrap();
    cluster.start_node(victim);
    let top = cluster.height(load.nodes[0]).unwrap();
    cluster.wait_height(victim, top, LONG);
    let (_, body) = wait_for("the restarted victim to be healthy", LONG, || {
        cluster.health(victim).filter(|(status, _)| *status == 200)
    });
    eprintln!("restarted victim's /health: {body}");
    every_block_and_payment_agrees(&cluster, victim, load.nodes[0], top, &load.sent);
    // Stopped before its filesystem is unmounted (the guard drops first).
    assert!(cluster.terminate(victim).success());
}

#[test]
fn a_validator_that_cannot_save_its_safety_record_stops_with_exit_74_and_resumes() {
    let mut cluster = Cluster::start(1, 0);
    // The record is written to safety.tmp, then renamed over safety.bin: a
    // directory in the way makes the next write fail.
    let data = cluster.nodes[0].home.join("data");
    let in_the_way = data.join("safety.tmp");
    wait_for("a directory in the safety record's way", LONG, || {
        std::fs::create_dir(&in_the_way).ok()
    });
    let exit = wait_for("the node to stop", LONG, || {
        cluster.nodes[0].child.as_mut().unwrap().try_wait().unwrap()
    });
    cluster.nodes[0].child = None;
    let log = cluster.log(0);
    let last = log.lines().last().unwrap_or("");
    eprintln!("exit code {:?}; the log's last line:\n{last}", exit.code());
    assert_eq!(exit.code(), Some(74), "{log}");
    assert!(last.contains("fail-stop"), "{last}");
    assert!(last.contains("cannot persist the safety record"), "{last}");
    assert!(
        last.contains(&data.join("safety.bin").display().to_string()),
        "{last}"
    );
    assert_eq!(cluster.live(0), None, "its API is closed");

    // The cause removed, it starts from what is on disk and signs again.
    std::fs::remove_dir(&in_the_way).unwrap();
    cluster.start_node(0);
    let reopened = wait_for("the node to answer again", LONG, || cluster.height(0));
    cluster.wait_height(0, reopened + 2, LONG);
    wait_for("the node to be healthy", LONG, || {
        cluster.health(0).filter(|(status, _)| *status == 200)
    });
    assert!(cluster.terminate(0).success());
}

/// Write `bytes` of zeros to `path`.
fn fill(path: &std::path::Path, bytes: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; MIB as usize];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(MIB);
        file.write_all(&chunk[..n as usize]).unwrap();
        left -= n;
    }
    file.sync_all().unwrap();
}

/// Members of two cooperatives paying each other, a round at a time.
struct Load {
    members: Vec<Wallet>,
    /// Nodes the load is sent to (all but the victim).
    nodes: Vec<usize>,
    round: usize,
    /// Every payment sent, all committed (a round waits for its own).
    sent: Vec<Hash>,
}

impl Load {
    /// Register and fund the members (through the nodes other than `victim`).
    fn new(cluster: &Cluster, victim: usize) -> Load {
        let nodes: Vec<usize> = (0..cluster.nodes.len()).filter(|i| *i != victim).collect();
        let mut members = Vec::new();
        let mut last = Vec::new();
        for (c, coop) in ["ksp-sejahtera", "pasar-makmur"].iter().enumerate() {
            let mut teller = Wallet::new(cluster.coop_key(coop), &cluster.chain_id);
            for m in 0..MEMBERS / 2 {
                let key = Keypair::from_seed([(c * 64 + m + 1) as u8; 32]);
                let register = teller.sign(Action::RegisterMember {
                    member: key.public(),
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                });
                let mint = teller.sign(Action::Mint {
                    member: key.public(),
                    amount: 1_000_000,
                });
                for tx in [&register, &mint] {
                    assert!(cluster.submit(nodes[c], tx).status().is_success());
                }
                last.push((nodes[c], mint.hash()));
                members.push(Wallet::new(key, &cluster.chain_id));
            }
        }
        for (node, hash) in &last {
            assert_eq!(cluster.wait_tx(*node, hash, LONG), "ok");
        }
        Load {
            members,
            nodes,
            round: 0,
            sent: Vec::new(),
        }
    }

    /// One round: every member signs its payments (largest memos), sent
    /// in one `POST /v1/txs` to the next node; then wait until they are
    /// committed (each member's last, which nonces order after the rest).
    fn round(&mut self, cluster: &Cluster) {
        let node = self.nodes[self.round % self.nodes.len()];
        let n = self.members.len();
        let targets: Vec<_> = self.members.iter().map(Wallet::public).collect();
        let mut txs: Vec<Transaction> = Vec::new();
        let mut tails = Vec::new();
        for (i, wallet) in self.members.iter_mut().enumerate() {
            for p in 0..PAYMENTS_PER_MEMBER {
                let serial = (self.round * n + i) * PAYMENTS_PER_MEMBER + p;
                let mut idempotency_id = [0u8; 16];
                idempotency_id[..8].copy_from_slice(&(serial as u64).to_be_bytes());
                let tx = wallet.sign(Action::Payment {
                    to: targets[(i + 1 + p % (n - 1)) % n],
                    amount: 1,
                    memo: format!("{serial:064}"),
                    idempotency_id,
                });
                txs.push(tx);
            }
            tails.push(txs.last().unwrap().hash());
        }
        let body = json!({"txs": txs.iter().map(|tx| {
            base64::engine::general_purpose::STANDARD.encode(tx.encode().unwrap())
        }).collect::<Vec<_>>()});
        let answer: Value = http()
            .post(format!("{}/v1/txs", cluster.nodes[node].api))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let Some(results) = answer["results"].as_array() else {
            panic!("POST /v1/txs: {answer}");
        };
        for (tx, result) in txs.iter().zip(results) {
            assert_eq!(result["hash"], tx.hash().to_hex(), "refused: {result}");
        }
        for hash in &tails {
            cluster.wait_tx(node, hash, LONG);
        }
        self.sent.extend(txs.iter().map(Transaction::hash));
        self.round += 1;
    }
}

/// At every height up to `top`, the victim has the reference node's block
/// hash, state root and transactions with their results (each read from
/// its store by hash), and every payment sent is among them.
fn every_block_and_payment_agrees(
    cluster: &Cluster,
    victim: usize,
    reference: usize,
    top: u64,
    sent: &[Hash],
) {
    let mut committed = BTreeSet::new();
    for h in 1..=top {
        let theirs = cluster.get(reference, &format!("/v1/blocks/{h}")).unwrap();
        let ours = cluster.get(victim, &format!("/v1/blocks/{h}")).unwrap();
        for field in ["hash", "state_root", "txs"] {
            assert_eq!(ours[field], theirs[field], "{field} at height {h}");
        }
        for tx in ours["txs"].as_array().unwrap() {
            assert_ne!(tx["result"], "unknown", "height {h}: {tx}");
            committed.insert(tx["hash"].as_str().unwrap().to_string());
        }
    }
    let missing: Vec<_> = sent
        .iter()
        .filter(|h| !committed.contains(&h.to_hex()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} payments not on the restarted victim",
        missing.len(),
        sent.len()
    );
    eprintln!(
        "the restarted victim agrees with the others on blocks 1..={top} and holds all {} payments",
        sent.len()
    );
}
