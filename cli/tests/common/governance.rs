//! Governance on a test cluster: a proposal by one cooperative, approved
//! by enough others to pass.

use super::observed::kopnet_ok;
use super::{wait_for, Cluster};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

/// `kopnet coop propose` by ksp-sejahtera, approved by two more validator
/// cooperatives (3 of 4 > 2/3); the height it executed at.
pub fn enact(cluster: &Cluster, action: &[&str]) -> u64 {
    let net = cluster.net_dir();
    let key = |coop: &str| {
        net.join("coops")
            .join(coop)
            .join("cooperative.key")
            .to_str()
            .unwrap()
            .to_string()
    };
    let node = |coop: &str| cluster.nodes[cluster.node_of(coop)].api.clone();
    let before = cluster.get(0, "/v1/proposals").unwrap()["proposals"]
        .as_array()
        .map_or(0, Vec::len);
    let mut args = vec![
        "coop".to_string(),
        "propose".into(),
        "--key".into(),
        key("ksp-sejahtera"),
        "--node".into(),
        node("ksp-sejahtera"),
    ];
    args.extend(action.iter().map(|s| s.to_string()));
    kopnet_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let proposal = wait_for("the proposal to show", WAIT, || {
        let list = cluster.get(0, "/v1/proposals")?["proposals"]
            .as_array()?
            .clone();
        (list.len() > before)
            .then(|| list.iter().filter_map(|p| p["id"].as_u64()).max())
            .flatten()
    });
    for coop in ["pasar-makmur", "angkot-maju"] {
        kopnet_ok(&[
            "coop",
            "approve",
            "--key",
            &key(coop),
            "--node",
            &node(coop),
            &proposal.to_string(),
        ]);
    }
    wait_for("the proposal to execute", WAIT, || {
        let p = cluster.get(0, &format!("/v1/proposals/{proposal}"))?;
        p["executed_height"].as_u64()
    })
}
