//! Links like a city's: latency, jitter and loss between the nodes of a
//! run (`[links]` in a manifest; `testnet/manifests/city.toml`).
//!
//! **How.** The kernels this runs on may have no `sch_netem` (`tc qdisc
//! add ... netem` answers "Specified qdisc kind is unknown" on the
//! Firecracker kernels of our CI), so latency is made in user space and
//! loss in the kernel:
//!
//! - **Latency and jitter: a relay per ordered pair of nodes** ([`Relays`]).
//!   Node `i` dials node `j` at `gateway:port(i, j)` (its `peers` are
//!   rewritten, [`route_through`]), a listener of the runner, which
//!   connects on to node `j` and copies the bytes both ways, each chunk
//!   released `delay(i, j) ± jitter` after it was read, never before the
//!   chunk ahead of it (TCP keeps its order). `delay(i, j)` is drawn once
//!   per pair from `delay_ms = [min, max]` by the manifest's `seed`: fixed
//!   distances across the city, the same in both directions.
//! - **Loss: `iptables -m statistic --mode random`** in each node's
//!   namespace, dropping incoming and outgoing packets on its interface
//!   with probability `loss_percent / 2` each, so a packet between two
//!   nodes (out of one, into the other) is lost with about `loss_percent`.
//!   TCP retransmits what is lost: the nodes see the delays that loss
//!   causes on real links, not holes in their streams.
//! - **No way around the relays**: each node's namespace rejects (TCP
//!   reset) connections to the other nodes' addresses, so an address
//!   learned from a peer (identify) fails at once and the node dials the
//!   relay it was given. The runner's own requests (load, checks) reach
//!   the nodes directly, through the same lossy interfaces.
//!
//! Needs the process backend in network namespaces (root, `ip netns`,
//! `iptables`); a run that asks for links without them is refused, never
//! run on perfect links.

use super::addressing::{tcp_port, AddressPlan};
use super::ip::{ip, IpError};
use crate::cluster::layout::Layout;
use kopnet_node::config::NodeConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Largest one-way delay a manifest may ask for.
pub const DELAY_MS_MAX: u64 = 2_000;
/// Largest loss a manifest may ask for (beyond it TCP mostly stalls).
pub const LOSS_PERCENT_MAX: f64 = 20.0;
/// Bytes read per chunk by a relay.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight per direction of a relayed connection (the relay
/// stops reading when they are all waiting: back-pressure, bounded memory).
const CHUNKS_IN_FLIGHT: usize = 256;
/// Connections relayed at once per pair (a node dials a peer once; the
/// rest is room for redials while an old connection closes).
const CONNECTIONS_PER_PAIR_MAX: usize = 8;
/// Deadline for the relay's connection to the node it relays to.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinksError {
    #[error("links: delay_ms = [{min}, {max}] must have min <= max <= {DELAY_MS_MAX}")]
    Delay { min: u64, max: u64 },
    #[error("links: jitter_ms = {jitter} must not exceed the smallest delay ({min} ms)")]
    Jitter { jitter: u64, min: u64 },
    #[error("links: loss_percent must be between 0 and {LOSS_PERCENT_MAX}")]
    Loss,
    #[error(
        "links need the process backend with network namespaces (root, ip netns, iptables): {0}"
    )]
    NeedsNamespaces(String),
    #[error("links: {0}")]
    Setup(String),
    #[error(transparent)]
    Ip(#[from] IpError),
}

/// `[links]` as written in a manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLinks {
    delay_ms: [u64; 2],
    #[serde(default)]
    jitter_ms: u64,
    #[serde(default)]
    loss_percent: f64,
    #[serde(default)]
    seed: u64,
}

/// What the links between the nodes are like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// One-way delay range; each pair of nodes gets a fixed delay in it.
    pub delay_ms: (u64, u64),
    /// Each chunk's delay varies by up to this much either way.
    pub jitter_ms: u64,
    /// Packets lost between two nodes, in hundredths of a percent (the
    /// manifest's `loss_percent` × 100, rounded).
    pub loss_basis_points: u32,
    /// Draws the pairs' delays and the jitter.
    pub seed: u64,
}

impl Links {
    pub fn check(raw: RawLinks) -> Result<Links, LinksError> {
        let [min, max] = raw.delay_ms;
        if min > max || max > DELAY_MS_MAX {
            return Err(LinksError::Delay { min, max });
        }
        if raw.jitter_ms > min {
            return Err(LinksError::Jitter {
                jitter: raw.jitter_ms,
                min,
            });
        }
        if !raw.loss_percent.is_finite() || !(0.0..=LOSS_PERCENT_MAX).contains(&raw.loss_percent) {
            return Err(LinksError::Loss);
        }
        Ok(Links {
            delay_ms: (min, max),
            jitter_ms: raw.jitter_ms,
            loss_basis_points: (raw.loss_percent * 100.0).round() as u32,
            seed: raw.seed,
        })
    }

    /// The one-way delay of each pair of `nodes` (`(i, j)` with `i < j`;
    /// the same both ways), drawn from the seed.
    pub fn pair_delays(&self, nodes: usize) -> BTreeMap<(usize, usize), u64> {
        let (min, max) = self.delay_ms;
        let mut rng = SplitMix(self.seed);
        let mut out = BTreeMap::new();
        for i in 0..nodes {
            for j in i + 1..nodes {
                out.insert((i, j), min + rng.next() % (max - min + 1));
            }
        }
        out
    }

    /// The settings in one line, for the report.
    pub fn describe(&self, nodes: usize) -> String {
        let delays = self.pair_delays(nodes);
        let pairs: Vec<String> = delays
            .iter()
            .map(|((i, j), d)| format!("{i}-{j} {d}"))
            .collect();
        format!(
            "one-way delay {}-{} ms per pair (seed {}; ms: {}), jitter +-{} ms, loss {}.{:02} % \
             (relays of the runner for delay and jitter, iptables statistic on each node's \
             interface for loss; no netem on this kernel)",
            self.delay_ms.0,
            self.delay_ms.1,
            self.seed,
            pairs.join(", "),
            self.jitter_ms,
            self.loss_basis_points / 100,
            self.loss_basis_points % 100
        )
    }
}

/// splitmix64: a small, seeded generator (the delays must be the same for
/// the same seed, and nothing here needs more).
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The relays of a run: one listener per ordered pair of nodes. Dropping
/// it stops every relay and closes every relayed connection.
pub struct Relays {
    /// `(i, j)` → the gateway port node `i` dials to reach node `j`.
    pub ports: BTreeMap<(usize, usize), u16>,
    /// Held, not read: dropping the set aborts every relay task.
    _tasks: JoinSet<()>,
}

impl std::fmt::Debug for Relays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relays")
            .field("ports", &self.ports)
            .finish()
    }
}

impl Relays {
    /// Listen on `gateway` for every ordered pair; node `j` is reached at
    /// `targets[j]`.
    pub async fn start(
        links: &Links,
        gateway: Ipv4Addr,
        targets: &[SocketAddr],
    ) -> Result<Relays, LinksError> {
        let delays = links.pair_delays(targets.len());
        let mut ports = BTreeMap::new();
        let mut tasks = JoinSet::new();
        for (i, _) in targets.iter().enumerate() {
            for (j, target) in targets.iter().enumerate() {
                if i == j {
                    continue;
                }
                let delay = delays.get(&(i.min(j), i.max(j))).copied().unwrap_or(0);
                let listener = TcpListener::bind((gateway, 0))
                    .await
                    .map_err(|e| LinksError::Setup(format!("listening on {gateway}: {e}")))?;
                let port = listener
                    .local_addr()
                    .map_err(|e| LinksError::Setup(e.to_string()))?
                    .port();
                ports.insert((i, j), port);
                let shape = Shape {
                    delay: Duration::from_millis(delay),
                    jitter_ms: links.jitter_ms,
                    seed: links.seed ^ ((i as u64) << 32 | j as u64),
                };
                tasks.spawn(relay_pair(listener, *target, shape));
            }
        }
        Ok(Relays {
            ports,
            _tasks: tasks,
        })
    }
}

/// How one pair's bytes are delayed.
#[derive(Debug, Clone, Copy)]
struct Shape {
    delay: Duration,
    jitter_ms: u64,
    seed: u64,
}

/// Accept node `i`'s connections and relay each to `target`.
async fn relay_pair(listener: TcpListener, target: SocketAddr, shape: Shape) {
    let mut connections = JoinSet::new();
    let mut seed = shape.seed;
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            // Out of descriptors, say: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= CONNECTIONS_PER_PAIR_MAX {
            drop(inbound);
            continue;
        }
        seed = seed.wrapping_add(1);
        connections.spawn(relay_connection(inbound, target, Shape { seed, ..shape }));
    }
}

async fn relay_connection(inbound: TcpStream, target: SocketAddr, shape: Shape) {
    let Ok(Ok(outbound)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await
    else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let there = delayed_copy(in_read, out_write, shape);
    let back = delayed_copy(
        out_read,
        in_write,
        Shape {
            seed: !shape.seed,
            ..shape
        },
    );
    // Either side closing ends the connection (the other copy is dropped).
    tokio::select! {
        _ = there => {}
        _ = back => {}
    }
}

/// Copy `from` to `to`, each chunk released `delay ± jitter` after it was
/// read and never before the chunk ahead of it.
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shape: Shape,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_IN_FLIGHT);
    let reader = async move {
        let mut rng = SplitMix(shape.seed);
        let mut last = Instant::now();
        loop {
            let mut buf = vec![0u8; CHUNK_BYTES];
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.truncate(n);
            let span = shape.jitter_ms * 2 + 1;
            let offset = rng.next() % span;
            let delay = (shape.delay + Duration::from_millis(offset))
                .saturating_sub(Duration::from_millis(shape.jitter_ms));
            let release = (Instant::now() + delay).max(last);
            last = release;
            if tx.send((release, buf)).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((release, chunk)) = rx.recv().await {
            tokio::time::sleep_until(release).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    // The writer drains what the reader queued before the end.
    let (_, ()) = tokio::join!(reader, writer);
}

/// Point every node's `peers` at the relays: node `i` reaches node `j` at
/// `gateway:ports[(i, j)]`.
pub fn route_through(
    layout: &Layout,
    gateway: Ipv4Addr,
    ports: &BTreeMap<(usize, usize), u16>,
) -> Result<(), LinksError> {
    for (i, node) in layout.nodes.iter().enumerate() {
        let path = node.home.join("config.toml");
        let mut config = NodeConfig::load(&path).map_err(|e| LinksError::Setup(format!("{e}")))?;
        config.peers = ports
            .iter()
            .filter(|((from, _), _)| *from == i)
            .map(|(_, port)| format!("/ip4/{gateway}/tcp/{port}"))
            .collect();
        std::fs::write(&path, config.to_toml())
            .map_err(|e| LinksError::Setup(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// Each node's p2p address (its first listen address's port at its plan
/// address): where its relays connect.
pub fn p2p_targets(layout: &Layout, plan: AddressPlan) -> Result<Vec<SocketAddr>, LinksError> {
    layout
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let path = node.home.join("config.toml");
            let config = NodeConfig::load(&path).map_err(|e| LinksError::Setup(e.to_string()))?;
            let port = config
                .listen
                .first()
                .and_then(|a| tcp_port(a))
                .ok_or_else(|| LinksError::Setup(format!("{}: no tcp port", path.display())))?;
            let addr = plan
                .addr(i)
                .ok_or_else(|| LinksError::Setup(format!("no plan address for node {i}")))?;
            Ok(SocketAddr::from((addr, port)))
        })
        .collect()
}

/// The iptables rules of node `node`'s namespace: reject connections to
/// the other nodes (so only the relays carry their traffic) and drop
/// packets in and out with probability `loss_percent / 2` each.
pub fn rules(plan: AddressPlan, nodes: usize, node: usize, links: &Links) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for other in (0..nodes).filter(|o| *o != node) {
        out.push(
            [
                "-A",
                "OUTPUT",
                "-p",
                "tcp",
                "-d",
                &plan.ip(other),
                "-j",
                "REJECT",
                "--reject-with",
                "tcp-reset",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    if links.loss_basis_points > 0 {
        // Half of it on each side: out of one node, into the other.
        let probability = format!("{:.6}", f64::from(links.loss_basis_points) / 20_000.0);
        for (chain, side) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
            out.push(
                [
                    "-A",
                    chain,
                    side,
                    super::netns::NODE_IF,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    &probability,
                    "-j",
                    "DROP",
                ]
                .map(String::from)
                .to_vec(),
            );
        }
    }
    out
}

/// Install [`rules`] in every node's namespace (`namespaces[i]`).
pub fn install_rules(
    plan: AddressPlan,
    namespaces: &[String],
    links: &Links,
) -> Result<(), LinksError> {
    for (node, namespace) in namespaces.iter().enumerate() {
        for rule in rules(plan, namespaces.len(), node, links) {
            let mut args = vec!["netns", "exec", namespace.as_str(), "iptables"];
            args.extend(rule.iter().map(String::as_str));
            ip(&args)?;
        }
    }
    Ok(())
}

/// Put `links` in place for a run whose nodes are in `net`'s namespaces
/// (laid out as `layout`, not started yet): relays started, peers routed
/// through them, rules installed. Keep the returned relays for the run.
pub async fn apply(
    links: &Links,
    net: &super::netns::Netns,
    layout: &Layout,
) -> Result<Relays, LinksError> {
    let plan = net.plan();
    let gateway: Ipv4Addr = plan
        .gateway()
        .parse()
        .map_err(|_| LinksError::Setup("the plan's gateway is not an address".into()))?;
    let targets = p2p_targets(layout, plan)?;
    let relays = Relays::start(links, gateway, &targets).await?;
    route_through(layout, gateway, &relays.ports)?;
    let namespaces: Vec<String> = (0..layout.nodes.len())
        .map(|i| net.names().namespace(i))
        .collect();
    install_rules(plan, &namespaces, links)?;
    Ok(relays)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(min: u64, max: u64, jitter: u64, loss: f64) -> RawLinks {
        RawLinks {
            delay_ms: [min, max],
            jitter_ms: jitter,
            loss_percent: loss,
            seed: 7,
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(Links::check(raw(20, 80, 5, 1.0)).is_ok());
        assert_eq!(
            Links::check(raw(80, 20, 5, 1.0)),
            Err(LinksError::Delay { min: 80, max: 20 })
        );
        assert!(Links::check(raw(20, DELAY_MS_MAX + 1, 5, 1.0)).is_err());
        assert_eq!(
            Links::check(raw(20, 80, 21, 1.0)),
            Err(LinksError::Jitter {
                jitter: 21,
                min: 20
            })
        );
        assert_eq!(Links::check(raw(20, 80, 5, -1.0)), Err(LinksError::Loss));
        assert_eq!(
            Links::check(raw(20, 80, 5, f64::NAN)),
            Err(LinksError::Loss)
        );
        assert_eq!(Links::check(raw(20, 80, 5, 25.0)), Err(LinksError::Loss));
    }

    #[test]
    fn pair_delays_are_seeded_and_in_range() {
        let links = Links::check(raw(20, 80, 5, 1.0)).unwrap();
        let delays = links.pair_delays(5);
        assert_eq!(delays.len(), 10);
        assert!(delays.values().all(|d| (20..=80).contains(d)), "{delays:?}");
        assert_eq!(delays, links.pair_delays(5), "the same seed, the same city");
        let other = Links { seed: 8, ..links };
        assert_ne!(delays, other.pair_delays(5));
    }

    #[test]
    fn rules_reject_the_other_nodes_and_drop_half_the_loss_each_way() {
        let links = Links::check(raw(20, 80, 5, 1.0)).unwrap();
        let plan = AddressPlan::new(214, 3);
        let rules = rules(plan, 3, 1, &links);
        let text: Vec<String> = rules.iter().map(|r| r.join(" ")).collect();
        assert!(text.contains(
            &"-A OUTPUT -p tcp -d 10.214.3.10 -j REJECT --reject-with tcp-reset".to_string()
        ));
        assert!(text.contains(
            &"-A OUTPUT -p tcp -d 10.214.3.12 -j REJECT --reject-with tcp-reset".to_string()
        ));
        assert!(!text.iter().any(|r| r.contains("10.214.3.11")), "{text:?}");
        assert!(text.contains(
            &"-A INPUT -i eth0 -m statistic --mode random --probability 0.005000 -j DROP"
                .to_string()
        ));
        assert!(text.contains(
            &"-A OUTPUT -o eth0 -m statistic --mode random --probability 0.005000 -j DROP"
                .to_string()
        ));
        let lossless = Links {
            loss_basis_points: 0,
            ..links
        };
        assert_eq!(super::rules(plan, 3, 1, &lossless).len(), 2);
    }

    /// Bytes cross a relay whole and in order, both ways, however the
    /// jitter reorders the release times it draws.
    #[tokio::test]
    async fn a_relay_carries_bytes_in_order_both_ways() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = server.local_addr().unwrap();
        let links = Links::check(raw(1, 3, 1, 0.0)).unwrap();
        let relays = Relays::start(&links, Ipv4Addr::LOCALHOST, &[target, target])
            .await
            .unwrap();
        let port = relays.ports[&(1, 0)];
        let echo = tokio::spawn(async move {
            let (mut socket, _) = server.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            while received.len() < 300_000 {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed early");
                received.extend_from_slice(&buf[..n]);
            }
            socket.write_all(&received).await.unwrap();
            received
        });
        let sent: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        for piece in sent.chunks(1000) {
            client.write_all(piece).await.unwrap();
        }
        let mut back = vec![0u8; sent.len()];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(echo.await.unwrap(), sent);
        assert_eq!(back, sent);
    }
}
