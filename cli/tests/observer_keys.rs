//! Observers on the ledger, on real processes: a regulator's observer
//! rotates its own node identity (`kopnet node next-keys`, `kopnet
//! observer rotate-key`) and, restarted, follows the chain under the new
//! one; governance adds a new observer (`kopnet coop propose
//! add-observer`), whose node is refused before the vote and catches up
//! after it, and removes it again (`remove-observer`): the peers
//! disconnect it and it falls behind.

mod common;
use common::governance::enact;
use common::observed::kopnet_ok;
use common::outsider::{height_of, init_and_run, KillOnDrop};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// The registered observers, as validator 0 reports them.
fn observers(cluster: &Cluster) -> Vec<Value> {
    cluster.get(0, "/v1/observers").unwrap()["observers"]
        .as_array()
        .cloned()
        .unwrap()
}

#[test]
fn an_observer_rotates_its_identity_and_follows_the_chain_under_the_new_one() {
    let mut cluster = Cluster::start(4, 1);
    let observer = cluster.observer();
    let home = cluster.nodes[observer].home.clone();
    let home_arg = home.to_str().unwrap();
    let old_key = kopnet_node::keyfile::read(&home.join("node.key")).unwrap();
    assert_eq!(observers(&cluster)[0]["key"], old_key.public().to_address());

    let said = kopnet_ok(&["node", "next-keys", "--home", home_arg]);
    assert!(said.contains("kopnet observer rotate-key"), "{said}");
    let new_key = kopnet_node::keyfile::read(&home.join("node.next.key")).unwrap();
    let said = kopnet_ok(&[
        "observer",
        "rotate-key",
        "--home",
        home_arg,
        "--node",
        &cluster.nodes[0].api,
    ]);
    assert!(said.contains(": ok"), "{said}");

    // The ledger names the new key and admits the old one for an hour.
    let rows = observers(&cluster);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["key"], new_key.public().to_address());
    assert_eq!(rows[0]["retired_key"], old_key.public().to_address());
    let signer = cluster
        .get(0, &format!("/v1/signers/{}", new_key.public().to_address()))
        .unwrap();
    assert_eq!(signer["role"], "observer", "{signer}");
    assert_eq!(signer["next_nonce"], 2, "{signer}");

    // Restarted, it starts with the new identity and keeps following.
    cluster.terminate(observer);
    cluster.start_node(observer);
    wait_for("the observer to start with its new identity", WAIT, || {
        cluster
            .log(observer)
            .contains("the ledger names the next node key")
            .then_some(())
    });
    let top = cluster.height(0).unwrap();
    cluster.wait_height(observer, top + 3, WAIT);
    // Its status names the identity it runs with.
    let status = cluster.get(observer, "/v1/status").unwrap();
    assert_eq!(status["role"], "observer");

    // The operator promotes the key files once the node runs under it.
    cluster.terminate(observer);
    let said = kopnet_ok(&["node", "next-keys", "--home", home_arg, "--promote"]);
    assert!(said.contains("node identity"), "{said}");
    let current = kopnet_node::keyfile::read(&home.join("node.key")).unwrap();
    assert_eq!(current.public(), new_key.public());
    cluster.start_node(observer);
    let top = cluster.height(0).unwrap();
    cluster.wait_height(observer, top + 3, WAIT);
}

#[test]
fn governance_admits_a_new_observer_and_removes_it_again() {
    let cluster = Cluster::start(4, 0);
    let dir = cluster.dir.path();
    let key_file = dir.join("bi.node.key");
    kopnet_ok(&["keys", "new", "--out", key_file.to_str().unwrap()]);
    let key = kopnet_node::keyfile::read(&key_file).unwrap().public();
    let ports = kopnet_testnet::cluster::ports::reserve(2).unwrap();
    let home = dir.join("bi-observer");
    let _node = start_observer(&cluster, &home, &key_file, (ports[0], ports[1]));
    let api = format!("http://127.0.0.1:{}", ports[0]);
    let height = || height_of(&api);

    // Refused while it is no observer.
    wait_for("a peer to refuse the new observer", WAIT, || {
        (0..cluster.nodes.len())
            .any(|i| cluster.log(i).contains("not in genesis"))
            .then_some(())
    });
    let before = cluster.height(0).unwrap();
    cluster.wait_height(0, before + 2, WAIT);
    assert_eq!(height(), Some(0), "learned blocks while refused");

    let address = key.to_address();
    let executed = enact(
        &cluster,
        &[
            "add-observer",
            "--name",
            "Bank Indonesia",
            "--key",
            &address,
        ],
    );
    let rows = observers(&cluster);
    assert!(
        rows.iter()
            .any(|o| o["key"] == address.as_str() && o["name"] == "Bank Indonesia"),
        "{rows:?}"
    );
    wait_for("the new observer to catch up", WAIT, || {
        (height()? > executed).then_some(())
    });

    let removed = enact(&cluster, &["remove-observer", "--key", &address]);
    assert!(observers(&cluster).is_empty());
    // Disconnected: the network goes on, the observer stays behind.
    cluster.wait_height(0, removed + 5, WAIT);
    let stuck = height().unwrap();
    let top = cluster.height(0).unwrap();
    cluster.wait_height(0, top + 5, WAIT);
    assert_eq!(height(), Some(stuck), "a removed observer kept following");
    assert!(stuck < cluster.height(0).unwrap());
}

/// An observer home for `key_file` (API and p2p on `ports`, every cluster
/// node as a peer), running; killed when the guard drops.
fn start_observer(
    cluster: &Cluster,
    home: &Path,
    key_file: &Path,
    ports: (u16, u16),
) -> KillOnDrop {
    let mut init = Command::new(kopnet());
    init.args(["node", "init", "--observer", "--home"])
        .arg(home)
        .arg("--genesis")
        .arg(cluster.net_dir().join("genesis.json"))
        .arg("--key")
        .arg(key_file)
        .args(["--api", &format!("127.0.0.1:{}", ports.0)])
        .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{}", ports.1)]);
    init_and_run(cluster, home, init)
}
