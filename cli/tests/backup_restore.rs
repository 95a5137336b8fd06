//! Back up a running validator, lose its home, restore it (issue 19,
//! point 3): `kopnet node backup` reads the running node over its own API
//! (and a stopped one from its stores), `kopnet node restore` refuses a
//! damaged file without writing anything, rebuilds the ledger by verifying
//! and executing every block, brings back the members' personal data, and
//! the restored validator — started with `--new-safety-record`, since a
//! backup never carries the safety record — catches up and signs again
//! only after its double-sign check, with no evidence against it.
//!
//! No sleeps: every wait is on a condition with a deadline.

mod common;
use common::observed::{kopnet_ok, kopnet_run, new_wallet_key};
use common::*;
use kopnet_ledger::{AccountKind, Action, KycTier};
use kopnet_node::api::directory_client::DirectoryClient;
use std::process::{Command, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);

/// Whether `address` signed the certificate of block `h` (read on node `i`).
fn signed_at(cluster: &Cluster, i: usize, address: &str, h: u64) -> bool {
    cluster
        .get(i, &format!("/v1/blocks/{h}"))
        .and_then(|b| b["certificate"]["signers"].as_array().cloned())
        .is_some_and(|s| s.iter().any(|k| k.as_str() == Some(address)))
}

#[test]
fn a_validator_is_backed_up_running_lost_and_restored() {
    let mut cluster = Cluster::start(4, 0);
    let coop = "taksi-bersama";
    let v = cluster.node_of(coop);
    let other = (v + 1) % 4;
    let home = cluster.nodes[v].home.clone();
    let api = cluster.nodes[v].api.clone();
    let validator = cluster.validator_key(coop).public().to_address();
    let dir = cluster.dir.path().to_path_buf();

    // A member of the cooperative, with personal data kept at its node,
    // and some money moved, so the backup holds more than genesis.
    let coop_file = cluster
        .net_dir()
        .join(format!("coops/{coop}/cooperative.key"));
    let sri = new_wallet_key(&dir.join("sri.key"));
    kopnet_ok(&[
        "coop",
        "register-member",
        "--key",
        coop_file.to_str().unwrap(),
        "--node",
        &api,
        "--member",
        &sri.public().to_address(),
        "--name",
        "Sri Wahyuni",
        "--phone",
        "0812-3456-7890",
    ]);
    let mut wallet = Wallet::new(cluster.coop_key(coop), &cluster.chain_id);
    wallet.nonce = 1;
    let mint = wallet.sign(Action::Mint {
        member: sri.public(),
        amount: 50_000,
    });
    assert!(cluster.submit(v, &mint).status().is_success());
    assert_eq!(cluster.wait_tx(v, &mint.hash(), TIMEOUT), "ok");
    let budi = new_wallet_key(&dir.join("budi.key"));
    let register = wallet.sign(Action::RegisterMember {
        member: budi.public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    });
    assert!(cluster.submit(v, &register).status().is_success());
    assert_eq!(cluster.wait_tx(v, &register.hash(), TIMEOUT), "ok");

    // 1. Backed up while it runs: read over its own API.
    let backup = dir.join("taksi.kopnet-backup");
    let backup_text = backup.to_str().unwrap();
    let home_text = home.to_str().unwrap();
    let out = kopnet_ok(&["node", "backup", "--home", home_text, "--out", backup_text]);
    println!("{out}");
    assert!(out.contains("read from its api"), "{out}");
    assert!(out.contains("1 members' personal data"), "{out}");
    let backed_up_height: u64 = out
        .split("height ")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no height in {out}"));
    assert!(backed_up_height >= 3, "{out}");
    // Told the wrong API address, it cannot read the node (whose running
    // process holds the store): a clear error, and no file is left.
    let nowhere_file = dir.join("wrong-api.kopnet-backup");
    let (ok, text) = kopnet_run(&[
        "node",
        "backup",
        "--home",
        home_text,
        "--out",
        nowhere_file.to_str().unwrap(),
        "--node",
        "http://127.0.0.1:9",
    ]);
    assert!(
        !ok && text.contains("does not answer") && text.contains("cannot be opened"),
        "{text}"
    );
    assert!(!nowhere_file.exists() && !dir.join("wrong-api.kopnet-backup.partial").exists());
    // Never over an existing file.
    let (ok, text) = kopnet_run(&["node", "backup", "--home", home_text, "--out", backup_text]);
    assert!(!ok && text.contains("never overwrites"), "{text}");

    // 2. A damaged file is refused and nothing is written.
    let mut bytes = std::fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let damaged = dir.join("damaged.kopnet-backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let nowhere = dir.join("never-made");
    let (ok, text) = kopnet_run(&[
        "node",
        "restore",
        "--from",
        damaged.to_str().unwrap(),
        "--home",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("refused"), "{text}");
    assert!(!nowhere.exists() && !dir.join("never-made.restoring").exists());
    let cut = dir.join("cut.kopnet-backup");
    std::fs::write(&cut, &bytes[..middle]).unwrap();
    let (ok, text) = kopnet_run(&[
        "node",
        "restore",
        "--from",
        cut.to_str().unwrap(),
        "--home",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("cut short"), "{text}");
    assert!(!nowhere.exists());

    // 3. The server dies: the home is gone. The network goes on.
    assert!(cluster.terminate(v).success());
    std::fs::rename(&home, dir.join("lost-home")).unwrap();
    let going_on = cluster.height(other).unwrap() + 3;
    cluster.wait_height(other, going_on, TIMEOUT);
    // Restoring into a home that is not empty is refused.
    let (ok, text) = kopnet_run(&[
        "node",
        "restore",
        "--from",
        backup_text,
        "--home",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("not empty"), "{text}");

    // 4. Restored into the same place: every block verified and executed.
    let out = kopnet_ok(&[
        "node",
        "restore",
        "--from",
        backup_text,
        "--home",
        home_text,
    ]);
    println!("{out}");
    assert!(out.contains("--new-safety-record"), "{out}");
    assert!(out.contains(&format!("{backed_up_height} blocks")), "{out}");
    assert!(!home.join("data/safety.bin").exists());
    // The stopped, restored home backs up from its stores, to the same height.
    let again = dir.join("again.kopnet-backup");
    let out = kopnet_ok(&[
        "node",
        "backup",
        "--home",
        home_text,
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(out.contains("read from its store"), "{out}");
    assert!(
        out.contains(&format!("height {backed_up_height},")),
        "{out}"
    );
    // Without the flag the validator refuses: its record is lost.
    let mut child = Command::new(kopnet())
        .args(["node", "run", "--home", home_text])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let refused = wait_for("the refusal without the flag", TIMEOUT, || {
        child.try_wait().unwrap()
    });
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut text).unwrap();
    assert!(
        !refused.success() && text.contains("--new-safety-record"),
        "{text}"
    );

    // 5. It starts behind its double-sign check, catches up, signs again.
    cluster.start_node_with(v, &["--new-safety-record"]);
    let top = cluster.height(other).unwrap();
    cluster.wait_height(v, top, TIMEOUT);
    let signs_again = wait_for("the restored validator to sign", TIMEOUT, || {
        let h = cluster.height(other)?;
        (h > top && signed_at(&cluster, other, &validator, h)).then_some(h)
    });
    println!("restored validator signs again at height {signs_again}");
    // No evidence of a double vote against it.
    let evidence = cluster.get(other, "/v1/evidence").unwrap();
    assert!(
        !evidence.to_string().contains(&validator),
        "evidence against the restored validator: {evidence}"
    );
    // The member's personal data came back, and so did the balance.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let record = rt
        .block_on(async {
            DirectoryClient::connect(&api, sri.clone())
                .await
                .unwrap()
                .get_member(&sri.public())
                .await
        })
        .unwrap();
    assert_eq!(record["name"], "Sri Wahyuni", "{record}");
    assert_eq!(record["phone"], "+6281234567890", "{record}");
    let account = rt
        .block_on(
            kopnet_node::api::client::Client::signed(&api, sri.clone()).account(&sri.public()),
        )
        .unwrap();
    assert_eq!(account["balance"], 50_000, "{account}");
}
