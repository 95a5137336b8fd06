//! A cooperative joins a running network through governance: before the
//! vote its node is refused by every peer; once the AddCooperative proposal
//! executes (approvals over 2/3 of voting power), the peers' allow-lists
//! follow the ledger, the new node catches up from genesis, and from the
//! height its voting power takes effect it signs commit certificates.

mod common;
use common::outsider::{height_of, init_and_run, KillOnDrop};
use common::*;
use kopnet_consensus::PublicKey;
use kopnet_ledger::{Action, CoopId, GovAction};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_cooperative_added_by_governance_joins_catches_up_and_signs() {
    let cluster = Cluster::start(4, 1);

    // The newcomer's node, set up by hand with keys no one knows yet: its
    // cooperative key (the board's, never on the node), its validator key
    // and its node identity.
    let home = cluster.dir.path().join("koperasi-baru");
    let new_key = |name: &str| {
        let path = cluster.dir.path().join(name);
        assert!(Command::new(kopnet())
            .args(["keys", "new", "--out"])
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success());
        (kopnet_node::keyfile::read(&path).unwrap().public(), path)
    };
    let (coop_key, _) = new_key("koperasi-baru.cooperative.key");
    let (validator_key, validator_file) = new_key("koperasi-baru.validator.key");
    let (node_key, node_file) = new_key("koperasi-baru.node.key");
    let ports = kopnet_testnet::cluster::ports::reserve(2).unwrap();
    let _newcomer_node = start_newcomer(
        &cluster,
        &home,
        (&node_file, &validator_file),
        (ports[0], ports[1]),
    );
    let api = format!("http://127.0.0.1:{}", ports[0]);
    let newcomer_height = || height_of(&api);

    // Refused while it is no cooperative.
    wait_for(
        "a peer to refuse the newcomer",
        Duration::from_secs(30),
        || {
            (0..cluster.nodes.len())
                .any(|i| cluster.log(i).contains("not in genesis"))
                .then_some(())
        },
    );
    let before = cluster.height(0).unwrap();
    cluster.wait_height(0, before + 2, Duration::from_secs(60));
    assert_eq!(newcomer_height(), Some(0), "learned blocks while refused");

    let executed = add_by_governance(&cluster, [coop_key, validator_key, node_key]);

    // The peers now let it in: it catches up past the executing block ...
    wait_for("the newcomer to catch up", Duration::from_secs(90), || {
        (newcomer_height()? > executed).then_some(())
    });
    // ... and signs certificates with its validator key once its power
    // takes effect (h + 2).
    let address = validator_key.to_address();
    wait_for(
        "the newcomer to sign a commit certificate",
        Duration::from_secs(90),
        || {
            let top = cluster.height(0)?;
            (executed + 2..=top).find(|h| {
                cluster
                    .get(0, &format!("/v1/blocks/{h}"))
                    .and_then(|b| b["certificate"]["signers"].as_array().cloned())
                    .is_some_and(|signers| signers.iter().any(|s| s.as_str() == Some(&address)))
            })
        },
    );
    let status: serde_json::Value = http()
        .get(format!("{api}/v1/status"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(status["role"], "validator");
    // It started outside genesis; its status names its cooperative now.
    assert_eq!(status["cooperative"], "koperasi-baru", "{status}");
}

/// Initialise the newcomer's node home (API and p2p on `ports`, every
/// cluster node as a peer) and run it; killed when the guard drops.
fn start_newcomer(
    cluster: &Cluster,
    home: &Path,
    (node_file, validator_file): (&Path, &Path),
    ports: (u16, u16),
) -> KillOnDrop {
    let net = cluster.net_dir();
    let mut init = Command::new(kopnet());
    init.args(["node", "init", "--home"])
        .arg(home)
        .arg("--genesis")
        .arg(net.join("genesis.json"))
        .arg("--key")
        .arg(node_file)
        .arg("--validator-key")
        .arg(validator_file)
        .args(["--api", &format!("127.0.0.1:{}", ports.0)])
        .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{}", ports.1)]);
    init_and_run(cluster, home, init)
}

/// Governance: one proposal to add `koperasi-baru` with its cooperative,
/// validator and node keys, two more approvals (3 of 4 > 2/3); returns
/// the height it executed at.
fn add_by_governance(cluster: &Cluster, [key, validator_key, node_key]: [PublicKey; 3]) -> u64 {
    let chain = cluster.chain_id.clone();
    let mut ksp = Wallet::new(cluster.coop_key("ksp-sejahtera"), &chain);
    let propose = ksp.sign(Action::Propose {
        action: GovAction::AddCooperative {
            id: CoopId::new("koperasi-baru").unwrap(),
            name: "Koperasi Baru".into(),
            key,
            voting_power: 1,
            ndc: 10_000_000,
            validator_key,
            node_key,
        },
    });
    let ksp_node = cluster.node_of("ksp-sejahtera");
    assert!(cluster.submit(ksp_node, &propose).status().is_success());
    assert_eq!(
        cluster.wait_tx(ksp_node, &propose.hash(), Duration::from_secs(60)),
        "ok"
    );
    let proposal = cluster.get(0, "/v1/proposals").unwrap()["proposals"][0]["id"]
        .as_u64()
        .unwrap();
    for coop in ["pasar-makmur", "angkot-maju"] {
        let mut wallet = Wallet::new(cluster.coop_key(coop), &chain);
        let approve = wallet.sign(Action::Approve { proposal });
        let node = cluster.node_of(coop);
        assert!(cluster.submit(node, &approve).status().is_success());
        assert_eq!(
            cluster.wait_tx(node, &approve.hash(), Duration::from_secs(60)),
            "ok"
        );
    }
    wait_for("the proposal to execute", Duration::from_secs(30), || {
        let p = cluster.get(0, &format!("/v1/proposals/{proposal}"))?;
        p["executed_height"].as_u64()
    })
}
