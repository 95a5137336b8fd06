//! A scheduled protocol upgrade on a live network (issue 19, point 5):
//! three validators are restarted one by one on the "new build" (a
//! fault-injection build told `KOPNET_SPEAKS_PROTOCOL=2`) while the chain
//! runs; governance schedules version 2 at a height; the network passes
//! it; the validator left on the old build stops cleanly before that
//! height with exit code 75 and a line naming the version to install,
//! refuses to start again on the old build, and rejoins on the new one.
//! Payments before and after the height all commit.
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
    // Governance: version 2 at a height 25 blocks ahead.
    let at = cluster.height(ksp).unwrap() + 25;
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
    let status = wait_for("the old build to stop", TIMEOUT, || {
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
}
