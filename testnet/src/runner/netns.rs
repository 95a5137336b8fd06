//! One network namespace per node for the process backend (root only).
//!
//! A run claims a free `10.214.<t>.0/24` (docker runs use 10.213.x; a
//! subnet overlapping any address or route of the machine is skipped) by
//! creating its switch namespace `kopnet<t>s`: the name is derived from the
//! subnet, so creating it is the atomic claim, and two runs at once never
//! share a subnet or a name. In it the bridge `br0` joins:
//! - the uplink: a veth whose other end, `kopnet<t>b` in the root
//!   namespace, holds `10.214.<t>.1/24`: the runner's (load, checks) way to
//!   the nodes' APIs;
//! - one port `h<i>` per node, a veth whose other end is `eth0` =
//!   `10.214.<t>.<10 + i>/24` in the node's namespace `kopnet<t>n<i>`
//!   (`lo` up too).
//!
//! The bridge lives in a namespace of its own rather than in the root one
//! because there a host firewall filters bridged traffic (with
//! `br_netfilter` loaded, as Docker does, the FORWARD chain's DROP policy
//! drops it); the switch namespace has no firewall rules. Nothing has a
//! route beyond the /24, so nothing the nodes send leaves the machine.
//!
//! Disconnect = the node's port `h<i>` set down (the node loses its peers
//! and the runner at once, as with a pulled cable); reconnect = set up.
//!
//! [`Netns`] removes everything it created on [`Netns::teardown`] and on
//! drop. A run that was killed outright cannot; its uplink carries the
//! alias `kopnet-run pid=<pid>`, and the next run removes the leftovers of
//! every run whose process is gone.

use super::addressing::{AddressPlan, PLAN_NODES_MAX};
use super::ip::{ip, prefixes_in_use, IpError, Prefix};

/// Second octet of the process backend's subnets: `10.214.<t>.0/24`.
pub const NETNS_SECOND_OCTET: u8 = 214;
/// The node's interface inside its namespace.
pub const NODE_IF: &str = "eth0";
/// The bridge, inside the switch namespace.
pub const BRIDGE: &str = "br0";
/// The bridge's end of the uplink, inside the switch namespace.
pub const UPLINK_PORT: &str = "up0";
/// Longest interface name Linux accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;
const PREFIX: &str = "kopnet";
const OWNER_ALIAS: &str = "kopnet-run pid=";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NetnsError {
    #[error("network namespaces need root; this process runs as uid {0}")]
    NotRoot(u32),
    #[error("cannot tell this process's uid: {0}")]
    Uid(String),
    #[error(transparent)]
    Ip(#[from] IpError),
    #[error(
        "no free subnet for the run: every 10.214.x.0/24 is taken or collides with an address or route of this machine"
    )]
    NoSubnet,
    #[error("at most {PLAN_NODES_MAX} nodes can have a namespace, got {0}")]
    TooManyNodes(usize),
    #[error("no node {0} in this run's namespaces")]
    NoSuchNode(usize),
}

/// The names of one run, where `t` is the third octet of its subnet and
/// `i` the node: switch namespace `kopnet<t>s`, uplink `kopnet<t>b` (root
/// namespace), node namespaces `kopnet<t>n<i>`, node ports `h<i>` (in the
/// switch namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub tag: u8,
}

impl Names {
    pub fn switch(&self) -> String {
        format!("{PREFIX}{}s", self.tag)
    }

    pub fn uplink(&self) -> String {
        format!("{PREFIX}{}b", self.tag)
    }

    pub fn namespace(&self, node: usize) -> String {
        format!("{PREFIX}{}n{node}", self.tag)
    }

    /// Node `node`'s port on the bridge (a name inside the switch namespace).
    pub fn port(&self, node: usize) -> String {
        format!("h{node}")
    }

    /// The naming an uplink name belongs to (`kopnet17b` → tag 17).
    pub fn of_uplink(name: &str) -> Option<Names> {
        let tag = name.strip_prefix(PREFIX)?.strip_suffix('b')?;
        let parsed: u8 = tag.parse().ok()?;
        (parsed.to_string() == tag).then_some(Names { tag: parsed })
    }

    /// Whether `name` is one of this run's node namespaces.
    fn owns(&self, name: &str) -> bool {
        let head = format!("{PREFIX}{}n", self.tag);
        name.strip_prefix(&head)
            .and_then(|i| i.parse::<usize>().ok().map(|n| n.to_string() == i))
            .unwrap_or(false)
    }
}

/// The effective uid, from `/proc/self/status`.
fn effective_uid() -> Result<u32, NetnsError> {
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|e| NetnsError::Uid(e.to_string()))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| NetnsError::Uid("no Uid line in /proc/self/status".into()))
}

/// Whether namespaces can be used here: root, and `ip netns add` works
/// (tried with a throwaway namespace, removed again).
pub fn probe() -> Result<(), NetnsError> {
    let uid = effective_uid()?;
    if uid != 0 {
        return Err(NetnsError::NotRoot(uid));
    }
    let name = format!(
        "{PREFIX}probe{}x{:04x}",
        std::process::id(),
        rand::random::<u16>()
    );
    ip(&["netns", "add", &name])?;
    ip(&["netns", "del", &name])?;
    Ok(())
}

/// Set (by `.ci/run`, where namespaces work) when tests must use them.
pub const REQUIRE_ENV: &str = "KOPNET_REQUIRE_NETNS";

/// [`probe`] as tests use it: `Ok(true)` namespaces work; `Ok(false)` they
/// do not, and the reason is printed for the test's output; `Err` they do
/// not but must ([`REQUIRE_ENV`] is set), so a broken probe cannot pass as
/// a skip.
pub fn usable_in_tests() -> Result<bool, NetnsError> {
    match probe() {
        Ok(()) => Ok(true),
        Err(e) if std::env::var_os(REQUIRE_ENV).is_some() => Err(e),
        Err(e) => {
            eprintln!("network namespaces unavailable here: {e}");
            Ok(false)
        }
    }
}

/// A run's switch, namespaces and veths; removed on teardown or drop.
#[derive(Debug)]
pub struct Netns {
    names: Names,
    plan: AddressPlan,
    nodes: usize,
    /// Whether anything still exists to remove.
    live: bool,
}

impl Netns {
    /// Claim a subnet and give each of `nodes` nodes its namespace. On any
    /// failure whatever was created is removed again.
    pub fn create(nodes: usize) -> Result<Netns, NetnsError> {
        if nodes > PLAN_NODES_MAX {
            return Err(NetnsError::TooManyNodes(nodes));
        }
        sweep_stale();
        let (names, plan) = claim_switch()?;
        // From here on a failure drops `net`, which removes what exists.
        let net = Netns {
            names,
            plan,
            nodes,
            live: true,
        };
        let switch = names.switch();
        let uplink = names.uplink();
        let owner = format!("{OWNER_ALIAS}{}", std::process::id());
        let gateway = format!("{}/24", plan.gateway());
        ip(&["-n", &switch, "link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["-n", &switch, "link", "set", "dev", BRIDGE, "up"])?;
        ip(&[
            "link",
            "add",
            &uplink,
            "type",
            "veth",
            "peer",
            "name",
            UPLINK_PORT,
            "netns",
            &switch,
        ])?;
        ip(&["link", "set", "dev", &uplink, "alias", &owner])?;
        ip(&["addr", "add", &gateway, "dev", &uplink])?;
        ip(&["link", "set", "dev", &uplink, "up"])?;
        net.attach(UPLINK_PORT)?;
        for node in 0..nodes {
            net.add_node(node)?;
        }
        Ok(net)
    }

    /// Put `port` (in the switch namespace) on the bridge and up.
    fn attach(&self, port: &str) -> Result<(), NetnsError> {
        let switch = self.names.switch();
        ip(&["-n", &switch, "link", "set", "dev", port, "master", BRIDGE])?;
        ip(&["-n", &switch, "link", "set", "dev", port, "up"])?;
        Ok(())
    }

    fn add_node(&self, node: usize) -> Result<(), NetnsError> {
        let ns = self.names.namespace(node);
        let port = self.names.port(node);
        let addr = format!("{}/24", self.plan.ip(node));
        ip(&["netns", "add", &ns])?;
        ip(&[
            "-n",
            &self.names.switch(),
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            NODE_IF,
            "netns",
            &ns,
        ])?;
        self.attach(&port)?;
        ip(&["-n", &ns, "addr", "add", &addr, "dev", NODE_IF])?;
        ip(&["-n", &ns, "link", "set", "dev", NODE_IF, "up"])?;
        ip(&["-n", &ns, "link", "set", "dev", "lo", "up"])?;
        Ok(())
    }

    pub fn names(&self) -> Names {
        self.names
    }

    pub fn plan(&self) -> AddressPlan {
        self.plan
    }

    /// The command line prefix that runs a command in node `node`'s
    /// namespace: `ip netns exec <ns>`. In its default (non-batch) mode
    /// `ip netns exec` execs the command without forking, so the process
    /// started is the command itself.
    pub fn exec_args(&self, node: usize) -> Result<Vec<String>, NetnsError> {
        self.check(node)?;
        Ok(vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.names.namespace(node),
        ])
    }

    /// Set node `node`'s port on the bridge up (connected) or down.
    pub fn set_link(&self, node: usize, up: bool) -> Result<(), NetnsError> {
        self.check(node)?;
        let state = if up { "up" } else { "down" };
        let (switch, port) = (self.names.switch(), self.names.port(node));
        ip(&["-n", &switch, "link", "set", "dev", &port, state])?;
        Ok(())
    }

    fn check(&self, node: usize) -> Result<(), NetnsError> {
        if node < self.nodes {
            Ok(())
        } else {
            Err(NetnsError::NoSuchNode(node))
        }
    }

    /// Remove the namespaces (killing anything still running in them),
    /// the veths and the bridge. Idempotent; returns what could not be
    /// removed.
    pub fn teardown(&mut self) -> Vec<IpError> {
        if !self.live {
            return Vec::new();
        }
        self.live = false;
        let namespaces = (0..self.nodes).map(|n| self.names.namespace(n)).collect();
        remove_run(self.names, namespaces)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}

/// Create the switch namespace of the first free `10.214.<t>.0/24`,
/// starting at a random `t`: one that overlaps no address or route of this
/// machine and whose names no other run holds.
fn claim_switch() -> Result<(Names, AddressPlan), NetnsError> {
    let used = prefixes_in_use(
        &ip(&["-o", "-4", "addr", "show"])?,
        &ip(&["-4", "route", "show"])?,
    );
    let links = ip(&["-o", "link", "show"])?;
    let first: u8 = rand::random();
    for step in 0..=255u8 {
        let tag = first.wrapping_add(step);
        let plan = AddressPlan::new(NETNS_SECOND_OCTET, tag);
        let subnet = Prefix {
            addr: plan.network(),
            len: 24,
        };
        let names = Names { tag };
        if used.iter().any(|p| p.overlaps(&subnet))
            || links.lines().any(|l| link_name(l) == Some(&names.uplink()))
        {
            continue;
        }
        match ip(&["netns", "add", &names.switch()]) {
            Ok(_) => return Ok((names, plan)),
            Err(e) if e.exists() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(NetnsError::NoSubnet)
}

/// Remove one run: SIGKILL to any process left in its node namespaces
/// (or a namespace would outlive its name), then the uplink and every
/// port (each takes its veth peer with it), then the namespaces, the
/// switch's last (its bridge goes with it). "Already gone" is not a
/// problem.
fn remove_run(names: Names, namespaces: Vec<String>) -> Vec<IpError> {
    let mut problems = Vec::new();
    let mut keep = |result: Result<String, IpError>| match result {
        Err(e) if !e.missing() => problems.push(e),
        _ => {}
    };
    for ns in &namespaces {
        if let Ok(pids) = ip(&["netns", "pids", ns]) {
            for pid in pids.split_whitespace().filter(|p| p.parse::<u32>().is_ok()) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
    let switch = names.switch();
    keep(ip(&["link", "del", "dev", &names.uplink()]));
    if let Ok(ports) = ip(&["-n", &switch, "-o", "link", "show", "type", "veth"]) {
        for port in ports.lines().filter_map(link_name) {
            keep(ip(&["-n", &switch, "link", "del", "dev", port]));
        }
    }
    for ns in &namespaces {
        keep(ip(&["netns", "del", ns]));
    }
    keep(ip(&["netns", "del", &switch]));
    problems
}

/// The interface name of an `ip -o link show` line (`7: kopnet3h0@if2: <...`).
fn link_name(line: &str) -> Option<&str> {
    let name = line.split(": ").nth(1)?;
    Some(name.split('@').next().unwrap_or(name))
}

/// The owner pid in an `ip -o link show` line's `alias kopnet-run pid=N`.
fn owner_pid(line: &str) -> Option<u32> {
    let (_, rest) = line.split_once(OWNER_ALIAS)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Remove the leftovers of runs whose process is gone (killed before it
/// could tear down), found by their uplinks' owner alias. Best effort:
/// errors are ignored.
fn sweep_stale() {
    let Ok(links) = ip(&["-o", "link", "show"]) else {
        return;
    };
    let namespaces = ip(&["netns", "list"]).unwrap_or_default();
    for line in links.lines() {
        let Some(names) = link_name(line).and_then(Names::of_uplink) else {
            continue;
        };
        let Some(pid) = owner_pid(line) else {
            continue;
        };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let ns: Vec<String> = namespaces
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| names.owns(n))
            .map(str::to_string)
            .collect();
        let _ = remove_run(names, ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_distinct_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for tag in [0u8, 7, 17, 71, 255] {
            let names = Names { tag };
            assert_eq!(Names::of_uplink(&names.uplink()), Some(names));
            for name in [names.uplink(), names.switch()] {
                assert!(name.len() <= IFNAME_MAX, "{name}");
                assert!(seen.insert(name));
            }
            for node in [0, 1, 9, 10, 11, PLAN_NODES_MAX - 1] {
                let ns = names.namespace(node);
                assert!(ns.len() <= IFNAME_MAX, "{ns}");
                assert!(names.port(node).len() <= IFNAME_MAX);
                assert!(names.owns(&ns));
                assert!(seen.insert(ns));
            }
        }
        // Tag 1's names are not tag 11's, and the other way round.
        let (one, eleven) = (Names { tag: 1 }, Names { tag: 11 });
        assert!(!one.owns(&eleven.namespace(1)));
        assert!(!eleven.owns(&one.namespace(11)));
        assert!(!one.owns("kopnet1n01"));
        assert!(!one.owns(&one.switch()));
        for bad in [
            "kopnet017b",
            "kopnet256b",
            "kopnetb",
            "kopnet7n0",
            "docker0",
        ] {
            assert_eq!(Names::of_uplink(bad), None, "{bad}");
        }
    }

    #[test]
    fn owner_and_link_names_are_read_from_ip_output() {
        let uplink = "60: kopnet17b@if3: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue \
            state UP mode DEFAULT group default qlen 1000\\    link/ether 02:a2:c3:b3:55:c1 \
            brd ff:ff:ff:ff:ff:ff link-netns kopnet17s\\    alias kopnet-run pid=4242";
        assert_eq!(link_name(uplink), Some("kopnet17b"));
        assert_eq!(owner_pid(uplink), Some(4242));
        let port = "4: h0@if2: <BROADCAST,MULTICAST> mtu 1500";
        assert_eq!(link_name(port), Some("h0"));
        assert_eq!(owner_pid(port), None);
    }

    #[test]
    fn the_subnet_is_private_and_not_dockers() {
        let plan = AddressPlan::new(NETNS_SECOND_OCTET, 3);
        assert_eq!(plan.cidr(), "10.214.3.0/24");
        let docker = Prefix::parse("10.213.0.0/16").unwrap();
        let private = Prefix::parse("10.0.0.0/8").unwrap();
        let ours = Prefix {
            addr: plan.network(),
            len: 24,
        };
        assert!(!ours.overlaps(&docker));
        assert!(ours.overlaps(&private));
    }

    /// Whether `ip netns list` output names `ns` exactly.
    fn has_ns(list: &str, ns: &str) -> bool {
        list.lines()
            .any(|l| l.split_whitespace().next() == Some(ns))
    }

    /// Whether `ip -o link show` output has an interface named `name`.
    fn has_link(links: &str, name: &str) -> bool {
        links.lines().any(|l| link_name(l) == Some(name))
    }

    fn available() -> bool {
        usable_in_tests().expect("KOPNET_REQUIRE_NETNS is set")
    }

    /// Whether a TCP connection from inside namespace `ns` to `addr`
    /// succeeds (bash's /dev/tcp, bounded by `timeout`).
    fn connects_from(ns: &str, addr: &std::net::SocketAddr) -> bool {
        let script = format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port());
        std::process::Command::new("timeout")
            .args(["10", "ip", "netns", "exec", ns, "bash", "-c", &script])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Where namespaces can be made (root with iproute2): a run's network
    /// is created, each node reaches the runner's side through the bridge
    /// (and not once its port is down), and everything is removed again.
    #[test]
    fn create_cut_and_teardown_leave_nothing_behind() {
        if !available() {
            return;
        }
        let mut net = Netns::create(3).unwrap();
        let names = net.names();
        let plan = net.plan();
        let ns_list = ip(&["netns", "list"]).unwrap();
        assert!(has_ns(&ns_list, &names.switch()), "{ns_list}");
        for node in 0..3 {
            let ns = names.namespace(node);
            assert!(has_ns(&ns_list, &ns), "{ns_list}");
            let inside = ip(&["-n", &ns, "-o", "-4", "addr", "show"]).unwrap();
            assert!(
                inside.contains(&format!("{}/24", plan.ip(node))),
                "{inside}"
            );
            // Nothing but the run's /24 is routed from inside.
            let routes = ip(&["-n", &ns, "-4", "route", "show"]).unwrap();
            assert_eq!(routes.lines().count(), 1, "{routes}");
            assert!(routes.starts_with(&plan.cidr()), "{routes}");
        }
        let ports = ip(&[
            "-n",
            &names.switch(),
            "-o",
            "link",
            "show",
            "master",
            BRIDGE,
        ])
        .unwrap();
        for port in [UPLINK_PORT, "h0", "h1", "h2"] {
            assert!(has_link(&ports, port), "{port} not on the bridge: {ports}");
        }
        let uplink = ip(&["-o", "link", "show", "dev", &names.uplink()]).unwrap();
        assert_eq!(owner_pid(&uplink), Some(std::process::id()));

        let listener = std::net::TcpListener::bind((plan.gateway().as_str(), 0)).unwrap();
        let runner = listener.local_addr().unwrap();
        assert!(connects_from(&names.namespace(1), &runner));
        net.set_link(1, false).unwrap();
        let down = ip(&["-n", &names.switch(), "-o", "link", "show", "dev", "h1"]).unwrap();
        assert!(down.contains("state DOWN"), "{down}");
        assert!(!connects_from(&names.namespace(1), &runner));
        assert!(connects_from(&names.namespace(2), &runner));
        net.set_link(1, true).unwrap();
        assert!(connects_from(&names.namespace(1), &runner));
        drop(listener);

        assert_eq!(net.set_link(3, true), Err(NetnsError::NoSuchNode(3)));
        assert_eq!(
            net.exec_args(2).unwrap(),
            ["ip", "netns", "exec", &names.namespace(2)]
        );
        let problems = net.teardown();
        assert!(problems.is_empty(), "{problems:?}");
        let ns_list = ip(&["netns", "list"]).unwrap();
        for node in 0..3 {
            assert!(!has_ns(&ns_list, &names.namespace(node)), "{ns_list}");
        }
        assert!(!has_ns(&ns_list, &names.switch()), "{ns_list}");
        let links = ip(&["-o", "link", "show"]).unwrap();
        assert!(!has_link(&links, &names.uplink()), "{links}");
        // Dropping after a teardown does nothing more.
        drop(net);
    }

    /// A run whose process is gone is swept by the next one.
    #[test]
    fn leftovers_of_a_dead_run_are_swept() {
        if !available() {
            return;
        }
        let net = Netns::create(1).unwrap();
        let names = net.names();
        // Pretend the run died: give its uplink a pid that cannot exist
        // (above pid_max) and forget it without tearing down.
        let dead = format!("{OWNER_ALIAS}{}", u32::MAX);
        ip(&["link", "set", "dev", &names.uplink(), "alias", &dead]).unwrap();
        std::mem::forget(net);
        sweep_stale();
        let links = ip(&["-o", "link", "show"]).unwrap();
        let ns_list = ip(&["netns", "list"]).unwrap();
        assert!(!has_link(&links, &names.uplink()), "{links}");
        assert!(!has_ns(&ns_list, &names.namespace(0)), "{ns_list}");
        assert!(!has_ns(&ns_list, &names.switch()), "{ns_list}");
    }
}
