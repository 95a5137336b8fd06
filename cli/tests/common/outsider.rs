//! A node the cluster did not set up (a cooperative joining by governance,
//! a regulator's observer added later): its peers, its height, and a
//! guard that stops it however the test ends.

use super::{http, kopnet, Cluster};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `kopnet node init` (`init` holds its flags but the peers, which are
/// every cluster node), then `kopnet node run` of `home`, logging to
/// `home/node.log`.
pub fn init_and_run(cluster: &Cluster, home: &Path, mut init: Command) -> KillOnDrop {
    for peer in peer_addresses(cluster) {
        init.args(["--peer", &peer]);
    }
    assert!(init.stdout(Stdio::null()).status().unwrap().success());
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    KillOnDrop(
        Command::new(kopnet())
            .args(["node", "run", "--home"])
            .arg(home)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Every cluster node's p2p listen address, from its config.
pub fn peer_addresses(cluster: &Cluster) -> Vec<String> {
    cluster
        .nodes
        .iter()
        .map(|n| {
            let config = std::fs::read_to_string(n.home.join("config.toml")).unwrap();
            let line = config
                .lines()
                .find(|l| l.contains("/ip4/127.0.0.1/tcp/"))
                .unwrap()
                .to_string();
            line.split('"').nth(1).unwrap().to_string()
        })
        .collect()
}

/// The height a node's API at `api` reports, if it answers.
pub fn height_of(api: &str) -> Option<u64> {
    http()
        .get(format!("{api}/v1/status"))
        .send()
        .ok()
        .and_then(|r| r.json::<serde_json::Value>().ok())
        .and_then(|v| v["height"].as_u64())
}

/// Kills the node's process however the test ends.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
