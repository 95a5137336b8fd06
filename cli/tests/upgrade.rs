//! A scheduled protocol upgrade on a live network (issue 19, point 5):
//! three validators are restarted one by one on the "new build" (a
//! fault-injection build told `KOPNET_SPEAKS_PROTOCOL=2`) while the chain
//! runs; governance schedules version 2 at a height; the network passes
//! it; the validator left on the old build stops cleanly before that
//! height with exit code 75 and a line naming the version to install,
//! refuses to start again on the old build, and rejoins on the new one.
//! Payments before and after the height all commit, and a load of member
//! payments runs through the whole upgrade — every restart and the
//! switch — with no payment lost: each one the wallets sent commits `ok`
//! (a wallet sends again the very same transaction that a node restarted
//! under it dropped, as wallets do).
//!
//! No sleeps: every wait is on a condition with a deadline.
#![cfg(feature = "fault-injection")]

mod common;
use common::observed::kopnet_ok;
use common::*;
use kopnet_ledger::{AccountKind, Action, KycTier};
use std::process::{Command, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);
const NEW_BUILD: (&str, &str) = ("KOPNET_SPEAKS_PROTOCOL", "2");
/// Members paying each other in a ring through the upgrade.
const LOAD_MEMBERS: usize = 12;
/// Rounds of the ring in flight before the load waits for one to commit.
const LOAD_ROUNDS_IN_FLIGHT: usize = 4;
/// How long the load waits for a round before it sends the rounds in
/// flight again.
const LOAD_RESEND_AFTER: Duration = Duration::from_secs(3);

/// Payments in a ring among `members`, each sent to the first node of
/// `apis` that takes it (nodes restart under the load), until `stop`;
/// every payment a node took. Paced by commits: it waits for a round to
/// commit somewhere before it sends [`LOAD_ROUNDS_IN_FLIGHT`] more.
fn ring_load(
    apis: Vec<String>,
    chain_id: String,
    members: Vec<kopnet_consensus::Keypair>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<kopnet_ledger::Transaction> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body_of = |tx: &kopnet_ledger::Transaction| serde_json::json!({"tx": b64.encode(tx.encode().unwrap())});
    let mut wallets: Vec<Wallet> = members
        .iter()
        .map(|k| Wallet::new(k.clone(), &chain_id))
        .collect();
    let mut sent = Vec::new();
    let mut tails = std::collections::VecDeque::new();
    let mut round = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for i in 0..wallets.len() {
            let to = members[(i + 1) % members.len()].public();
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&round.to_be_bytes());
            id[8] = i as u8;
            let tx = wallets[i].sign(Action::Payment {
                to,
                amount: 100,
                memo: String::new(),
                idempotency_id: id,
            });
            let body = body_of(&tx);
            let taken = (0..apis.len()).any(|k| {
                let api = &apis[(i + k + round as usize) % apis.len()];
                http()
                    .post(format!("{api}/v1/tx"))
                    .json(&body)
                    .send()
                    .is_ok_and(|r| r.status().is_success())
            });
            if taken {
                sent.push(tx);
            } else {
                // No node took it: the wallet keeps its nonce for the next.
                wallets[i].nonce -= 1;
            }
        }
        if let Some(last) = sent.last() {
            tails.push_back(last.hash());
        }
        round += 1;
        if tails.len() >= LOAD_ROUNDS_IN_FLIGHT {
            let hash = tails.pop_front().unwrap();
            let path = format!("/v1/tx/{}", hash.to_hex());
            let deadline = std::time::Instant::now() + TIMEOUT;
            let mut resend_at = std::time::Instant::now() + LOAD_RESEND_AFTER;
            while std::time::Instant::now() < deadline
                && !stop.load(std::sync::atomic::Ordering::Relaxed)
            {
                // A node restarted under the load may have dropped one of
                // the rounds in flight (or one before it of the same
                // wallet, which holds the rest back by its nonce): send
                // them again, the same bytes, as a wallet does.
                if std::time::Instant::now() >= resend_at {
                    resend_at = std::time::Instant::now() + LOAD_RESEND_AFTER;
                    let from = sent
                        .len()
                        .saturating_sub((LOAD_ROUNDS_IN_FLIGHT + 1) * wallets.len());
                    for tx in &sent[from..] {
                        let body = body_of(tx);
                        for api in &apis {
                            let _ = http().post(format!("{api}/v1/tx")).json(&body).send();
                        }
                    }
                }
                let committed = apis.iter().any(|api| {
                    http()
                        .get(format!("{api}{path}"))
                        .send()
                        .ok()
                        .and_then(|r| r.json::<serde_json::Value>().ok())
                        .is_some_and(|v| v["status"] == "committed")
                });
                if committed {
                    break;
                }
                // Poll interval of the wait on a condition.
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    sent
}

/// Sign `action` as `wallet`, submit it to node `i`; it must commit ok.
fn commit(cluster: &Cluster, i: usize, wallet: &mut Wallet, action: Action) {
    let tx = wallet.sign(action);
    assert!(cluster.submit(i, &tx).status().is_success());
    assert_eq!(cluster.wait_tx(i, &tx.hash(), TIMEOUT), "ok");
}

#[test]
fn a_scheduled_upgrade_passes_and_the_old_build_stops_before_it() {
    let mut cluster = Cluster::start(4, 0);
    let old = cluster.node_of("taksi-bersama");
    let new: Vec<usize> = (0..4).filter(|i| *i != old).collect();
    // A member who is paid across the upgrade.
    let ksp = cluster.node_of("ksp-sejahtera");
    let mut coop = Wallet::new(cluster.coop_key("ksp-sejahtera"), &cluster.chain_id);
    let ani = kopnet_consensus::Keypair::generate(&mut rand::rngs::OsRng);
    commit(
        &cluster,
        ksp,
        &mut coop,
        Action::RegisterMember {
            member: ani.public(),
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        },
    );
    // The load's members, funded.
    let members: Vec<kopnet_consensus::Keypair> = (0..LOAD_MEMBERS)
        .map(|_| kopnet_consensus::Keypair::generate(&mut rand::rngs::OsRng))
        .collect();
    for m in &members {
        let register = coop.sign(Action::RegisterMember {
            member: m.public(),
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        });
        assert!(cluster.submit(ksp, &register).status().is_success());
        let mint = coop.sign(Action::Mint {
            member: m.public(),
            amount: 1_000_000,
        });
        assert!(cluster.submit(ksp, &mint).status().is_success());
        assert_eq!(cluster.wait_tx(ksp, &mint.hash(), TIMEOUT), "ok");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let apis: Vec<String> = cluster.nodes.iter().map(|n| n.api.clone()).collect();
        let (chain_id, members, stop) = (cluster.chain_id.clone(), members.clone(), stop.clone());
        std::thread::spawn(move || ring_load(apis, chain_id, members, stop))
    };

    // A rolling restart onto the new build: no vote needed, no stop.
    for &i in &new {
        assert!(cluster.terminate(i).success());
        cluster.start_node_env(i, &[], &[NEW_BUILD]);
        let h = cluster.height(old).unwrap();
        cluster.wait_height(i, h + 2, TIMEOUT);
    }
    let params = cluster.get(ksp, "/v1/params").unwrap();
    assert_eq!(params["protocol_version"], 1, "{params}");
    assert_eq!(params["speaks_protocol"], 2, "{params}");
    // Governance: version 2 at a height 300 blocks ahead (under the load
    // blocks come every ~100 ms, and the vote takes a few seconds: the
    // height must still be at least 10 blocks ahead when it executes).
    let at = cluster.height(ksp).unwrap() + 300;
    let coop_file = |id: &str| {
        cluster
            .net_dir()
            .join(format!("coops/{id}/cooperative.key"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let api = cluster.nodes[ksp].api.clone();
    let proposed = kopnet_ok(&[
        "coop",
        "propose",
        "--key",
        &coop_file("ksp-sejahtera"),
        "--node",
        &api,
        "schedule-upgrade",
        "--protocol-version",
        "2",
        "--height",
        &at.to_string(),
    ]);
    assert!(proposed.contains(": ok"), "{proposed}");
    let proposal = cluster.get(ksp, "/v1/proposals").unwrap()["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_u64())
        .max()
        .unwrap();
    for id in ["pasar-makmur", "angkot-maju"] {
        let approved = kopnet_ok(&[
            "coop",
            "approve",
            "--key",
            &coop_file(id),
            "--node",
            &api,
            &proposal.to_string(),
        ]);
        assert!(approved.contains(": ok"), "{approved}");
    }
    coop.nonce += 1; // the proposal took the cooperative's next nonce
    let params = cluster.get(ksp, "/v1/params").unwrap();
    assert_eq!(params["upgrade"]["version"], 2, "{params}");
    assert_eq!(params["upgrade"]["height"], at, "{params}");
    commit(
        &cluster,
        ksp,
        &mut coop,
        Action::Mint {
            member: ani.public(),
            amount: 10_000,
        },
    );

    // The old build stops by itself once it has committed block at - 1.
    let child = cluster.nodes[old].child.as_mut().unwrap();
    // Up to 300 blocks away: at one block a second (no load), 5 minutes.
    let status = wait_for("the old build to stop", Duration::from_secs(360), || {
        child.try_wait().unwrap()
    });
    cluster.nodes[old].child = None;
    assert_eq!(status.code(), Some(75), "exit code of the old build");
    let log = cluster.log(old);
    assert!(
        log.contains("stopped for a scheduled upgrade")
            && log.contains("install a kopnet that speaks version 2"),
        "{}",
        &log[log.len().saturating_sub(2_000)..]
    );
    assert_eq!(cluster.height(ksp).map(|h| h >= at - 1), Some(true));
    // The others pass the height under version 2.
    cluster.wait_height(ksp, at + 3, TIMEOUT);
    let params = cluster.get(ksp, "/v1/params").unwrap();
    assert_eq!(params["protocol_version"], 2, "{params}");
    assert!(params["upgrade"].is_null(), "{params}");
    commit(
        &cluster,
        ksp,
        &mut coop,
        Action::Mint {
            member: ani.public(),
            amount: 5_000,
        },
    );
    let account = cluster
        .get(ksp, &format!("/v1/accounts/{}", ani.public().to_address()))
        .unwrap();
    assert_eq!(account["balance"], 15_000, "{account}");

    // Started again on the old build: it refuses at once, saying why.
    let home = cluster.nodes[old].home.clone();
    let out = Command::new(kopnet())
        .args(["node", "run", "--home"])
        .arg(&home)
        .env_remove(NEW_BUILD.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{text}");
    assert!(text.contains("speaks version 2"), "{text}");
    // On the new build it catches up and the chain goes on with it.
    cluster.start_node_env(old, &[], &[NEW_BUILD]);
    let top = cluster.height(ksp).unwrap();
    cluster.wait_height(old, top, TIMEOUT);

    // No payment lost: every one the wallets sent commits ok; one a
    // restarted node dropped is sent again, the very same bytes.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = load.join().unwrap();
    assert!(
        sent.len() >= LOAD_MEMBERS * 20,
        "too little load: {}",
        sent.len()
    );
    let mut sent_again = 0;
    for tx in &sent {
        let status = cluster
            .get(ksp, &format!("/v1/tx/{}", tx.hash().to_hex()))
            .map(|v| v["status"].as_str().unwrap_or("").to_string());
        if status.as_deref() != Some("committed") {
            let _ = cluster.submit(ksp, tx);
            sent_again += 1;
        }
    }
    for tx in &sent {
        assert_eq!(
            cluster.wait_tx(ksp, &tx.hash(), TIMEOUT),
            "ok",
            "{}",
            tx.hash()
        );
    }
    println!(
        "load through the upgrade: {} payments, all committed ok ({sent_again} not yet committed when the load stopped were sent again, the same bytes, as a wallet does)",
        sent.len()
    );
    // The ring leaves every member where it began, less its fees.
    let total: u64 = members
        .iter()
        .map(|m| {
            cluster
                .get(ksp, &format!("/v1/accounts/{}", m.public().to_address()))
                .unwrap()["balance"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(total <= 1_000_000 * LOAD_MEMBERS as u64, "{total}");
    assert!(
        total > 1_000_000 * LOAD_MEMBERS as u64 - sent.len() as u64 * 100,
        "{total}"
    );
}
