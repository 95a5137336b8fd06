//! A node that is not in genesis cannot connect or inject messages, and an
//! observer refuses writes with 403.

mod common;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[test]
fn outsiders_are_refused_and_observers_are_read_only() {
    let mut cluster = Cluster::start(4, 1);
    let observer = cluster.observer();
    an_observer_refuses_writes(&cluster, observer);
    an_outsider_is_refused_and_learns_nothing(&cluster);
    sigterm_stops_a_node_cleanly_and_it_resumes(&mut cluster, observer);
}

/// An observer answers writes with 403 read_only_observer.
fn an_observer_refuses_writes(cluster: &Cluster, observer: usize) {
    let mut teller = Wallet::new(cluster.coop_key("ksp-sejahtera"), &cluster.chain_id);
    let tx = teller.sign(Action::RegisterMember {
        member: Keypair::from_seed([9; 32]).public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    });
    let response = cluster.submit(observer, &tx);
    assert_eq!(response.status().as_u16(), 403);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "read_only_observer");
}

/// A node with a key that is not in genesis, dialing the first node: a
/// cluster node logs the refusal, the cluster moves on and the outsider
/// stays at height 0.
fn an_outsider_is_refused_and_learns_nothing(cluster: &Cluster) {
    let (mut child, api_port) = start_outsider(cluster);
    wait_for(
        "a cluster node to log the refused connection",
        Duration::from_secs(30),
        || {
            (0..cluster.nodes.len())
                .any(|i| cluster.log(i).contains("not in genesis"))
                .then_some(())
        },
    );
    // The cluster moves on; the outsider learns nothing.
    let now = cluster.height(0).unwrap();
    cluster.wait_height(0, now + 2, Duration::from_secs(60));
    let outsider_height = http()
        .get(format!("http://127.0.0.1:{api_port}/v1/status"))
        .send()
        .ok()
        .and_then(|r| r.json::<serde_json::Value>().ok())
        .and_then(|v| v["height"].as_u64());
    assert_eq!(outsider_height, Some(0));
    let line = (0..cluster.nodes.len())
        .flat_map(|i| {
            cluster
                .log(i)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|l| l.contains("not in genesis"))
        .unwrap();
    println!("refusal logged: {line}");
    let _ = child.kill();
    let _ = child.wait();
}

/// Start an observer node whose key is not in genesis, with the first
/// node as its peer; returns its process and API port.
fn start_outsider(cluster: &Cluster) -> (Child, u16) {
    let outsider = cluster.dir.path().join("outsider");
    let key = cluster.dir.path().join("outsider.key");
    assert!(Command::new(kopnet())
        .args(["keys", "new", "--out"])
        .arg(&key)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    let config: String =
        std::fs::read_to_string(cluster.nodes[0].home.join("config.toml")).unwrap();
    let listen_line = config
        .lines()
        .find(|l| l.contains("/ip4/127.0.0.1/tcp/"))
        .unwrap();
    let peer = listen_line.split('"').nth(1).unwrap().to_string();
    let ports = kopnet_testnet::cluster::ports::reserve(2).unwrap();
    let (api_port, p2p_port) = (ports[0], ports[1]);
    let status = Command::new(kopnet())
        .args(["node", "init", "--home"])
        .arg(&outsider)
        .arg("--genesis")
        .arg(cluster.net_dir().join("genesis.json"))
        .arg("--key")
        .arg(&key)
        .args(["--observer", "--api", &format!("127.0.0.1:{api_port}")])
        .args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
            "--peer",
            &peer,
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let log = std::fs::File::create(outsider.join("node.log")).unwrap();
    let child = Command::new(kopnet())
        .args(["node", "run", "--home"])
        .arg(&outsider)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    (child, api_port)
}

/// SIGTERM shuts a node down cleanly (exit 0) and it resumes on restart,
/// even while a wallet page follows its event stream: the stream ends
/// with the node instead of holding the shutdown open.
fn sigterm_stops_a_node_cleanly_and_it_resumes(cluster: &mut Cluster, observer: usize) {
    let stopped_at = cluster.height(observer).unwrap();
    let mut events = reqwest::blocking::Client::builder()
        .build()
        .unwrap()
        .get(format!("{}/v1/events", cluster.nodes[observer].api))
        .send()
        .unwrap();
    assert!(events.status().is_success());
    let status = cluster.terminate(observer);
    assert!(status.success(), "observer exited with {status:?}");
    let log = cluster.log(observer);
    assert!(log.contains("node stopped"), "{log}");
    assert!(
        !log.contains("API requests still open"),
        "the event stream held the shutdown open: {log}"
    );
    // The stream was closed by the node (read to its end, no hang).
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut events, &mut rest);
    cluster.start_node(observer);
    cluster.wait_height(observer, stopped_at + 1, Duration::from_secs(60));
}
