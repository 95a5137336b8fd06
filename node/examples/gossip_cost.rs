//! What gossip costs per transaction, in one process over 127.0.0.1: node
//! A publishes `messages` transaction batches of `txs` transactions of
//! `tx_bytes` bytes on the transactions topic; B and C take each one
//! (`Verdict::Accept`, so gossipsub's validation and forwarding run as in a
//! node) until every batch has arrived at both. It prints the bytes every
//! node wrote to its connections.
//!
//! Run it under callgrind twice, with `messages` = 0 and with N, and divide
//! the difference in instructions by N × txs: that is the networking layer's
//! CPU per gossiped transaction (noise, yamux, gossipsub, our checks),
//! without the fixed cost of starting three nodes (issue 21, BENCHMARKS.md
//! "Wire per transaction").
//!
//! ```sh
//! cargo build --release -p kopnet-node --example gossip_cost
//! valgrind --tool=callgrind target/release/examples/gossip_cost 400 64 200
//! ```

use kopnet_node::p2p::{self, NetEvent, P2pConfig, P2pHandle, Topic, Verdict};
use kopnet_node::wire::{self, TxBatch};
use std::time::Duration;
use tokio::sync::mpsc;

const CHAIN: &str = "kopnet-gossip-cost";
const NODES: [u8; 3] = [1, 2, 3];
/// Every wait ends when its condition holds, or fails here.
const DEADLINE: Duration = Duration::from_secs(600);

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(default)
}

fn public_key(seed: [u8; 32]) -> [u8; 32] {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(seed).expect("32-byte seed");
    keypair
        .try_into_ed25519()
        .expect("an ed25519 key")
        .public()
        .to_bytes()
}

async fn start(own: u8, bootstrap: Vec<p2p::Multiaddr>) -> (P2pHandle, mpsc::Receiver<NetEvent>) {
    let mut config = P2pConfig::new(CHAIN, [own; 32]);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("an address")];
    config.bootstrap = bootstrap;
    config.allowed_keys = NODES.iter().map(|n| public_key([*n; 32])).collect();
    config.event_queue = 4096;
    config.command_queue = 4096;
    // A budget no batch here can exhaust: the cost measured is the
    // network's, not the budget's refusals.
    let limits = p2p::PeerLimits {
        messages_per_s: 1_000_000,
        bytes_per_s: 1 << 34,
        ..p2p::PeerLimits::default()
    };
    p2p::spawn_with_limits(config, limits)
        .await
        .expect("p2p starts")
}

/// Take gossip until `count` distinct batches arrived, accepting each.
async fn receive(handle: P2pHandle, mut events: mpsc::Receiver<NetEvent>, count: usize) {
    let mut seen = 0;
    while seen < count {
        match events.recv().await {
            Some(NetEvent::Gossip {
                id, source, data, ..
            }) => {
                if wire::decode::<TxBatch>(&data).is_ok() {
                    seen += 1;
                }
                let _ = handle.report(id, source, Verdict::Accept).await;
            }
            Some(_) => {}
            None => return,
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (messages, txs, tx_bytes) = (arg(1, 400), arg(2, 64), arg(3, 200));
    let (a, a_events) = start(NODES[0], vec![]).await;
    let a_addr = a.listen_addrs().await.expect("listening")[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(a.local_peer_id()));
    let (b, b_events) = start(NODES[1], vec![a_addr.clone()]).await;
    let b_addr = b.listen_addrs().await.expect("listening")[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(b.local_peer_id()));
    let (c, c_events) = start(NODES[2], vec![a_addr, b_addr]).await;
    drop(a_events);
    let peers = [b.local_peer_id(), c.local_peer_id()];
    tokio::time::timeout(DEADLINE, async {
        loop {
            let subscribed = a
                .subscribed_peers(Topic::Transactions)
                .await
                .unwrap_or_default();
            if peers.iter().all(|peer| subscribed.contains(peer)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("B and C subscribe in time");
    let at_b = tokio::spawn(receive(b.clone(), b_events, messages));
    let at_c = tokio::spawn(receive(c.clone(), c_events, messages));
    for n in 0..messages {
        let batch = TxBatch {
            txs: (0..txs)
                .map(|i| {
                    let mut tx = vec![0u8; tx_bytes];
                    tx[..8].copy_from_slice(&(n as u64).to_le_bytes());
                    tx[8..16].copy_from_slice(&(i as u64).to_le_bytes());
                    tx
                })
                .collect(),
        };
        a.publish(Topic::Transactions, wire::encode(&batch))
            .await
            .expect("published");
    }
    tokio::time::timeout(DEADLINE, async {
        let _ = at_b.await;
        let _ = at_c.await;
    })
    .await
    .expect("every batch arrives at B and C");
    let sent: Vec<u64> = [&a, &b, &c]
        .iter()
        .map(|node| node.stats().bytes_sent_total())
        .collect();
    println!(
        "messages={messages} txs={txs} tx_bytes={tx_bytes} bytes_sent a={} b={} c={} total={}",
        sent[0],
        sent[1],
        sent[2],
        sent.iter().sum::<u64>()
    );
    for node in [a, b, c] {
        node.shutdown().await;
    }
}
