//! State sync on real processes (issue 19, point 1 and 4): a network of
//! four validators commits a load of member payments (6,000 transactions
//! in CI; `KOPNET_STATE_SYNC_TXS=100000` for the documented run,
//! BENCHMARKS.md "Joining a network"), taking a snapshot every 20 blocks.
//! Then:
//!
//! 1. the genesis observer, started late, replays every block from genesis
//!    (the baseline: its time to be in sync is printed);
//! 2. a regulator's observer added by governance (`add-observer`) runs
//!    `kopnet node state-sync` from three validators, trusting the fourth's
//!    newest block: it imports the newest snapshot below that block, and
//!    `kopnet node run` catches up the rest. Its time to be in sync and
//!    the bytes it downloaded are printed;
//! 3. the first source's copy of that snapshot has a damaged chunk: the
//!    chunk is refused (checked against the manifest) and fetched from the
//!    next source; a trust hash that is not the chain's is refused before
//!    any chunk is fetched; an anonymous caller cannot read snapshots;
//! 4. stopped, the state-synced observer passes `kopnet audit verify`,
//!    which starts from the snapshot it keeps.
//!
//! No sleeps: every wait is on a condition with a deadline.

mod common;
use base64::Engine as _;
use common::governance::enact;
use common::observed::kopnet_ok;
use common::outsider::{height_of, peer_addresses, KillOnDrop};
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier, Transaction};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(120);
const COOPS: [&str; 4] = [
    "ksp-sejahtera",
    "pasar-makmur",
    "angkot-maju",
    "taksi-bersama",
];
/// Members per cooperative paying each other in a ring.
const MEMBERS_PER_COOP: usize = 50;
/// Rounds of the ring in flight at once (each member has at most this many
/// payments pending, far below the mempool's per-signer bound).
const ROUNDS_IN_FLIGHT: usize = 8;

fn txs_wanted() -> usize {
    std::env::var("KOPNET_STATE_SYNC_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6_000)
}

fn post_txs(api: &str, txs: &[Transaction]) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let encoded: Vec<String> = txs
        .iter()
        .map(|tx| b64.encode(tx.encode().unwrap()))
        .collect();
    for chunk in encoded.chunks(500) {
        let response = http()
            .post(format!("{api}/v1/txs"))
            .json(&json!({ "txs": chunk }))
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{:?}", response.text());
    }
}

/// Register and fund the ring's members; their keys.
fn members(cluster: &Cluster) -> Vec<Keypair> {
    let mut keys = Vec::new();
    let mut last = Vec::new();
    for (c, coop) in COOPS.iter().enumerate() {
        let node = cluster.node_of(coop);
        let mut wallet = Wallet::new(cluster.coop_key(coop), &cluster.chain_id);
        let mut txs = Vec::new();
        for m in 0..MEMBERS_PER_COOP {
            let key = kopnet_ledger::testkit::key_for(&format!("ring-{c}-{m}"));
            txs.push(wallet.sign(Action::RegisterMember {
                member: key.public(),
                kind: AccountKind::Member,
                tier: KycTier::Registered,
            }));
            txs.push(wallet.sign(Action::Mint {
                member: key.public(),
                amount: 5_000_000,
            }));
            keys.push(key);
        }
        post_txs(&cluster.nodes[node].api, &txs);
        last.push((node, txs.last().unwrap().hash()));
    }
    for (node, hash) in last {
        assert_eq!(cluster.wait_tx(node, &hash, WAIT), "ok");
    }
    keys
}

/// Ring payments until `wanted` transactions are committed; the height then.
fn load(cluster: &Cluster, members: &[Keypair], wanted: usize) -> u64 {
    let mut wallets: Vec<Wallet> = members
        .iter()
        .map(|k| Wallet::new(k.clone(), &cluster.chain_id))
        .collect();
    let rounds = wanted.div_ceil(members.len());
    let mut round_tails = std::collections::VecDeque::new();
    for round in 0..rounds {
        let txs: Vec<Transaction> = (0..wallets.len())
            .map(|i| {
                let to = members[(i + 1) % members.len()].public();
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&(round as u64).to_be_bytes());
                id[8..12].copy_from_slice(&(i as u32).to_be_bytes());
                wallets[i].sign(Action::Payment {
                    to,
                    amount: 100,
                    memo: String::new(),
                    idempotency_id: id,
                })
            })
            .collect();
        let node = round % COOPS.len();
        post_txs(&cluster.nodes[node].api, &txs);
        round_tails.push_back((node, txs.last().unwrap().hash()));
        if round_tails.len() >= ROUNDS_IN_FLIGHT {
            let (node, hash) = round_tails.pop_front().unwrap();
            assert_eq!(cluster.wait_tx(node, &hash, WAIT), "ok");
        }
    }
    for (node, hash) in round_tails {
        assert_eq!(cluster.wait_tx(node, &hash, WAIT), "ok");
    }
    cluster.height(0).unwrap()
}

/// Every validator takes a snapshot every 20 blocks.
fn snapshot_often(cluster: &Cluster) {
    for node in &cluster.nodes {
        let path = node.home.join("config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("interval_blocks = 1000"), "{text}");
        std::fs::write(
            &path,
            text.replace("interval_blocks = 1000", "interval_blocks = 20"),
        )
        .unwrap();
    }
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `kopnet node run --home HOME`, its log in `HOME/node.log`; killed on drop.
fn run_node(home: &Path) -> KillOnDrop {
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    KillOnDrop(
        Command::new(kopnet())
            .args(["node", "run", "--home"])
            .arg(home)
            .env("RUST_LOG", "info,libp2p=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// `GET /v1/status` of the node at `api`.
fn status_of(api: &str) -> Value {
    http()
        .get(format!("{api}/v1/status"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn a_new_observer_state_syncs_from_a_snapshot_and_audits_from_it() {
    let mut cluster = Cluster::init(4, 1);
    snapshot_often(&cluster);
    let genesis_observer = cluster.observer();
    for i in 0..4 {
        cluster.start_node(i);
    }
    cluster.wait_height(0, 1, WAIT);
    let wanted = txs_wanted();
    let started = Instant::now();
    let members = members(&cluster);
    let top = load(&cluster, &members, wanted);
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "load: {wanted} payments (and {} set-up transactions) committed by height {top} in {load_secs:.1} s",
        members.len() * 2
    );

    // A snapshot below the top, on every validator.
    let reader = cluster.reader_key();
    for i in 0..4 {
        wait_for("a snapshot on every validator", WAIT, || {
            let listed = cluster.get_as(i, "/v1/snapshots", Some(&reader))?;
            (!listed["snapshots"].as_array()?.is_empty()).then_some(())
        });
    }
    // Not to anonymous callers: a snapshot holds every balance.
    let (status, body) = cluster.get_status_as(0, "/v1/snapshots", None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "not_permitted");

    // 1. The baseline: the genesis observer replays every block.
    let replay_from = Instant::now();
    let replay_target = cluster.height(0).unwrap();
    cluster.start_node(genesis_observer);
    cluster.wait_height(genesis_observer, replay_target, Duration::from_secs(600));
    let replay_secs = replay_from.elapsed().as_secs_f64();
    let replay_bytes = dir_bytes(&cluster.nodes[genesis_observer].home.join("data/ledger"));
    println!(
        "replay from genesis: {replay_target} blocks in {replay_secs:.1} s (its ledger store: {replay_bytes} bytes)"
    );

    // 2. A regulator's observer added by governance.
    let dir = cluster.dir.path().to_path_buf();
    let key_file = dir.join("ojk.node.key");
    kopnet_ok(&["keys", "new", "--out", key_file.to_str().unwrap()]);
    let key = kopnet_node::keyfile::read(&key_file).unwrap().public();
    let ports = kopnet_testnet::cluster::ports::reserve(2).unwrap();
    let home = dir.join("ojk-observer");
    let mut init = Command::new(kopnet());
    init.args(["node", "init", "--observer", "--home"])
        .arg(&home)
        .arg("--genesis")
        .arg(cluster.net_dir().join("genesis.json"))
        .arg("--key")
        .arg(&key_file)
        .args(["--api", &format!("127.0.0.1:{}", ports[0])])
        .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{}", ports[1])]);
    for peer in peer_addresses(&cluster) {
        init.args(["--peer", &peer]);
    }
    assert!(init.stdout(Stdio::null()).status().unwrap().success());
    let home_arg = home.to_str().unwrap().to_string();
    let sources: Vec<String> = (0..3).map(|i| cluster.nodes[i].api.clone()).collect();

    // Before governance admits it, no participant serves it a snapshot.
    let (ok, said) = common::observed::kopnet_run(&[
        "node",
        "state-sync",
        "--home",
        &home_arg,
        "--from",
        &sources[0],
        "--trust-from",
        &cluster.nodes[3].api,
    ]);
    assert!(!ok, "{said}");
    assert!(said.contains("no source offers a snapshot"), "{said}");
    assert!(said.contains("not_permitted"), "{said}");
    enact(
        &cluster,
        &[
            "add-observer",
            "--name",
            "Otoritas Jasa Keuangan",
            "--key",
            &key.to_address(),
        ],
    );

    // A trust hash that is not the chain's: refused, nothing kept.
    let wrong = format!("{}:{}", cluster.height(3).unwrap(), "ab".repeat(32));
    let (ok, said) = common::observed::kopnet_run(&[
        "node",
        "state-sync",
        "--home",
        &home_arg,
        "--from",
        &sources[0],
        "--trust-block",
        &wrong,
    ]);
    assert!(!ok, "{said}");
    assert!(said.contains("trusted hash"), "{said}");
    assert!(!home.join("data/ledger").exists());

    // The block the operator trusts: validator 3's newest. Validator 0,
    // the first source, has a damaged first chunk in every snapshot below
    // it (a bad disk, or a lying peer): passed over for the next source.
    let sync_from = Instant::now();
    let trusted = cluster.height(3).unwrap();
    let trusted_hash = cluster.get(3, &format!("/v1/blocks/{trusted}")).unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let snapshots = cluster.nodes[0].home.join("data/snapshots");
    let mut damaged = Vec::new();
    for entry in std::fs::read_dir(&snapshots).unwrap() {
        let entry = entry.unwrap();
        let Some(height) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let chunk = entry.path().join("chunk-00000.bin");
        if height < trusted && chunk.exists() {
            let mut bytes = std::fs::read(&chunk).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(&chunk, bytes).unwrap();
            damaged.push(height);
        }
    }
    assert!(
        !damaged.is_empty(),
        "no snapshot below {trusted} on validator 0"
    );
    let sync_target = cluster.height(0).unwrap();
    let trust = format!("{trusted}:{trusted_hash}");
    let mut args = vec!["node", "state-sync", "--home", &home_arg, "--json"];
    for source in &sources {
        args.extend(["--from", source.as_str()]);
    }
    args.extend(["--trust-block", trust.as_str()]);
    let summary: Value = serde_json::from_str(kopnet_ok(&args).trim()).unwrap();
    let snapshot_height = summary["snapshot_height"].as_u64().unwrap();
    assert!(snapshot_height >= 20, "{summary}");
    assert!(snapshot_height < trusted, "{summary}");
    assert_eq!(summary["height"].as_u64(), Some(snapshot_height + 2));
    assert!(damaged.contains(&snapshot_height), "{summary} {damaged:?}");
    assert_eq!(summary["refused_chunks"], 1, "{summary}");
    assert!(summary["chunks"].as_u64().unwrap() >= 1);
    // Its snapshot is kept for the audit, and the node has no block below it.
    assert!(home
        .join(format!("data/snapshots/{snapshot_height}/manifest.bin"))
        .exists());

    let node = run_node(&home);
    let api = format!("http://127.0.0.1:{}", ports[0]);
    wait_for("the state-synced observer to be in sync", WAIT, || {
        (height_of(&api)? >= sync_target).then_some(())
    });
    let sync_secs = sync_from.elapsed().as_secs_f64();
    println!(
        "state sync: snapshot at height {snapshot_height} ({} chunks, {} bytes of snapshot, {} bytes downloaded in all, state-sync step {} ms: fetching {} ms, importing {} ms, opening {} ms, two blocks {} ms), in sync at height {sync_target} after {sync_secs:.1} s (its ledger store: {} bytes)",
        summary["chunks"],
        summary["snapshot_bytes"],
        summary["downloaded_bytes"],
        summary["elapsed_ms"],
        summary["fetch_ms"],
        summary["import_ms"],
        summary["open_ms"],
        summary["blocks_ms"],
        dir_bytes(&home.join("data/ledger")),
    );
    // It follows the chain from there, and says where its blocks begin.
    let top = cluster.height(0).unwrap();
    wait_for("the state-synced observer to follow", WAIT, || {
        (height_of(&api)? > top).then_some(())
    });
    let status = status_of(&api);
    assert_eq!(status["syncing"], false, "{status}");

    // 4. Backed up while it runs: it holds no block 1, so the backup
    // starts at its snapshot (read over its API, signed with its key).
    let backup = dir.join("ojk-observer.backup");
    let backup_arg = backup.to_str().unwrap().to_string();
    let said = kopnet_ok(&["node", "backup", "--home", &home_arg, "--out", &backup_arg]);
    assert!(said.contains("read from its api"), "{said}");
    // Its newest snapshot: the one it synced from, or one it took since.
    let backup_from: u64 = said
        .split("the snapshot at height ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("no snapshot in {said}"));
    assert!(backup_from >= snapshot_height, "{said}");

    // 5. Stopped, it passes the audit from its snapshot.
    drop(node);
    let said = kopnet_ok(&["audit", "verify", "--home", &home_arg, "--output", "json"]);
    let audit: Value = serde_json::from_str(said.lines().last().unwrap()).unwrap();
    assert_eq!(audit["ok"], true, "{said}");
    assert_eq!(
        audit["from_snapshot"].as_u64(),
        Some(snapshot_height),
        "{said}"
    );
    assert!(
        audit["height"].as_u64().unwrap() > snapshot_height + 2,
        "{said}"
    );

    // 6. The backup restores into a new home (the observer's server died):
    // the snapshot is imported, the blocks after it verified, and the node
    // goes on from there like the one it replaces.
    let restored = dir.join("ojk-restored");
    let restored_arg = restored.to_str().unwrap().to_string();
    let said = kopnet_ok(&[
        "node",
        "restore",
        "--from",
        &backup_arg,
        "--home",
        &restored_arg,
    ]);
    assert!(
        said.contains(&format!("the snapshot at height {backup_from} and the ")),
        "{said}"
    );
    let _restored_node = run_node(&restored);
    let top = cluster.height(0).unwrap();
    wait_for("the restored observer to catch up", WAIT, || {
        (height_of(&api)? > top).then_some(())
    });
    let status = status_of(&api);
    assert_eq!(
        status["base_height"].as_u64(),
        Some(backup_from + 2),
        "{status}"
    );
}
