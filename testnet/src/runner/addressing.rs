//! Moving a network off 127.0.0.1: the address plan of a run's private /24
//! (node `i` is `<net>.<10 + i>`, the host side `<net>.1`) and [`relayout`],
//! which rewrites a layout written by `cluster::layout` so every node
//! listens, dials its peers and serves its API at its plan address. Used by
//! the docker backend (containers) and the process backend's network
//! namespaces.

use crate::cluster::layout::Layout;
use kopnet_node::config::NodeConfig;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

/// First host number of the nodes on a run's /24.
pub const FIRST_HOST: usize = 10;
/// Most nodes a /24 plan can address (hosts 10 ..= 254).
pub const PLAN_NODES_MAX: usize = 255 - FIRST_HOST;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LayoutError {
    #[error("{path}: {reason}")]
    Config { path: String, reason: String },
    #[error("{path}: no tcp listen address")]
    NoListenPort { path: String },
    #[error("a /24 plan addresses at most {PLAN_NODES_MAX} nodes, the layout has {0}")]
    TooManyNodes(usize),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// The /24 `10.<second>.<third>.0/24` of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPlan {
    pub second: u8,
    pub third: u8,
}

impl AddressPlan {
    pub fn new(second: u8, third: u8) -> AddressPlan {
        AddressPlan { second, third }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.second, self.third, 0)
    }

    pub fn cidr(&self) -> String {
        format!("{}/24", self.network())
    }

    /// The host side (the process backend's bridge): `<net>.1`.
    pub fn gateway(&self) -> String {
        format!("10.{}.{}.1", self.second, self.third)
    }

    /// Node `node`'s address `<net>.<10 + node>` (None past the /24).
    pub fn addr(&self, node: usize) -> Option<Ipv4Addr> {
        let host = u8::try_from(FIRST_HOST.checked_add(node)?)
            .ok()
            .filter(|h| *h < 255)?;
        Some(Ipv4Addr::new(10, self.second, self.third, host))
    }

    /// [`Self::addr`] as text; only meaningful for `node < PLAN_NODES_MAX`
    /// ([`relayout`] refuses larger layouts).
    pub fn ip(&self, node: usize) -> String {
        format!("10.{}.{}.{}", self.second, self.third, FIRST_HOST + node)
    }
}

/// Which local address a relaid-out node binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// Every interface (a container whose network docker detaches and
    /// re-attaches).
    AnyInterface,
    /// Its own plan address only (a node in its own network namespace).
    PlanAddress,
}

/// The TCP port of a multiaddr like `/ip4/127.0.0.1/tcp/4001`.
pub fn tcp_port(addr: &str) -> Option<u16> {
    let mut parts = addr.split('/');
    while let Some(part) = parts.next() {
        if part == "tcp" {
            return parts.next()?.parse().ok();
        }
    }
    None
}

/// Rewrite a layout written for 127.0.0.1 so it runs on `plan`: every node
/// listens on `bind` (same ports), dials its peers at their plan addresses
/// and serves its API there, with the admin switch off (disconnects are
/// done by the network, not by the node). The returned layout (and
/// `dir/testnet.json`) carry the new API URLs, teller desks included.
pub fn relayout(
    layout: &Layout,
    dir: &Path,
    plan: AddressPlan,
    bind: Bind,
) -> Result<Layout, LayoutError> {
    if layout.nodes.len() > PLAN_NODES_MAX {
        return Err(LayoutError::TooManyNodes(layout.nodes.len()));
    }
    let mut configs = Vec::new();
    for node in &layout.nodes {
        let path = node.home.join("config.toml");
        let shown = path.display().to_string();
        let config = NodeConfig::load(&path).map_err(|e| LayoutError::Config {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let port = config
            .listen
            .first()
            .and_then(|a| tcp_port(a))
            .ok_or(LayoutError::NoListenPort { path: shown })?;
        configs.push((path, config, port));
    }
    let ports: Vec<u16> = configs.iter().map(|(_, _, p)| *p).collect();
    let mut urls = BTreeMap::new();
    let mut new = layout.clone();
    for (index, (path, mut config, port)) in configs.into_iter().enumerate() {
        let own = plan
            .addr(index)
            .ok_or(LayoutError::TooManyNodes(layout.nodes.len()))?;
        let host = match bind {
            Bind::AnyInterface => Ipv4Addr::UNSPECIFIED,
            Bind::PlanAddress => own,
        };
        config.listen = vec![format!("/ip4/{host}/tcp/{port}")];
        config.peers = ports
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(i, p)| format!("/ip4/{}/tcp/{p}", plan.ip(i)))
            .collect();
        let api_port = config.api.port();
        config.api = std::net::SocketAddr::from((host, api_port));
        config.admin_api = false;
        write(&path, &config.to_toml())?;
        let url = format!("http://{own}:{api_port}");
        if let Some(entry) = new.nodes.get_mut(index) {
            urls.insert(entry.api_url.clone(), url.clone());
            entry.api_url = url;
        }
    }
    for coop in &mut new.cooperatives {
        if let Some(url) = urls.get(&coop.node) {
            coop.node = url.clone();
        }
    }
    let json = serde_json::to_string_pretty(&new).map_err(|e| LayoutError::Write {
        path: "testnet.json".into(),
        reason: e.to_string(),
    })?;
    write(&dir.join("testnet.json"), &json)?;
    Ok(new)
}

fn write(path: &Path, text: &str) -> Result<(), LayoutError> {
    std::fs::write(path, text).map_err(|e| LayoutError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_plan_and_ports() {
        let plan = AddressPlan::new(213, 7);
        assert_eq!(plan.cidr(), "10.213.7.0/24");
        assert_eq!(plan.gateway(), "10.213.7.1");
        assert_eq!(plan.ip(0), "10.213.7.10");
        assert_eq!(plan.ip(4), "10.213.7.14");
        assert_eq!(
            plan.ip(PLAN_NODES_MAX - 1),
            "10.213.7.254",
            "the last node is the last host of the /24"
        );
        assert_eq!(plan.addr(3), Some(Ipv4Addr::new(10, 213, 7, 13)));
        assert_eq!(plan.addr(PLAN_NODES_MAX), None);
        assert_eq!(plan.addr(usize::MAX), None);
        assert_eq!(tcp_port("/ip4/127.0.0.1/tcp/4001"), Some(4001));
        assert_eq!(tcp_port("/ip4/127.0.0.1/udp/4001"), None);
        assert_eq!(tcp_port("/ip4/127.0.0.1/tcp/x"), None);
    }

    fn relaid(bind: Bind) -> (tempfile::TempDir, Layout, AddressPlan) {
        let dir = tempfile::tempdir().unwrap();
        let layout = crate::cluster::layout::init(dir.path(), 4, 1).unwrap();
        let plan = AddressPlan::new(214, 9);
        let new = relayout(&layout, dir.path(), plan, bind).unwrap();
        (dir, new, plan)
    }

    #[test]
    fn relayout_points_every_node_at_the_plan() {
        let (dir, new, plan) = relaid(Bind::AnyInterface);
        for (i, node) in new.nodes.iter().enumerate() {
            assert!(node
                .api_url
                .starts_with(&format!("http://10.214.9.{}:", 10 + i)));
            let config = NodeConfig::load(&node.home.join("config.toml")).unwrap();
            assert!(config.listen[0].starts_with("/ip4/0.0.0.0/tcp/"));
            assert!(config.api.ip().is_unspecified());
            assert!(!config.admin_api);
            assert_eq!(config.peers.len(), 4);
            assert!(config.peers.iter().all(|p| p.starts_with("/ip4/10.214.9.")));
            assert!(!config.peers.iter().any(|p| p.contains(&plan.ip(i))));
        }
        // Every teller desk points at a plan URL.
        assert!(new
            .cooperatives
            .iter()
            .all(|c| c.node.starts_with("http://10.214.9.")));
        let written: Layout = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("testnet.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(written.nodes[0].api_url, new.nodes[0].api_url);
    }

    #[test]
    fn relayout_can_bind_each_node_to_its_own_address() {
        let (_dir, new, plan) = relaid(Bind::PlanAddress);
        for (i, node) in new.nodes.iter().enumerate() {
            let config = NodeConfig::load(&node.home.join("config.toml")).unwrap();
            assert!(
                config.listen[0].starts_with(&format!("/ip4/{}/tcp/", plan.ip(i))),
                "{:?}",
                config.listen
            );
            assert_eq!(config.api.ip().to_string(), plan.ip(i));
            assert!(node.api_url.starts_with(&format!("http://{}:", plan.ip(i))));
        }
    }

    #[test]
    fn relayout_refuses_a_layout_without_a_tcp_port() {
        let dir = tempfile::tempdir().unwrap();
        let layout = crate::cluster::layout::init(dir.path(), 1, 0).unwrap();
        let path = layout.nodes[0].home.join("config.toml");
        let mut config = NodeConfig::load(&path).unwrap();
        config.listen = vec!["/ip4/127.0.0.1/udp/4001".into()];
        std::fs::write(&path, config.to_toml()).unwrap();
        let err = relayout(
            &layout,
            dir.path(),
            AddressPlan::new(214, 1),
            Bind::PlanAddress,
        )
        .unwrap_err();
        assert!(matches!(err, LayoutError::NoListenPort { .. }), "{err}");
    }
}
