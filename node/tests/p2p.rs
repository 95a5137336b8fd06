//! The libp2p layer over real sockets on 127.0.0.1: gossip (with the
//! publish queue), catch-up request-response, the genesis allow-list and
//! isolation. Every wait is a condition with a deadline, never a bare sleep.

use futures::io::Cursor;
use kopnet_node::p2p::codec::SyncCodec;
use kopnet_node::p2p::config::{SYNC_MESSAGE_BYTES_MAX, SYNC_PROTOCOL, SYNC_REQUEST_BYTES_MAX};
use kopnet_node::p2p::{
    self, Multiaddr, NetEvent, P2pConfig, P2pError, P2pHandle, PeerId, Topic, Verdict,
};
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Generous for a loaded 2-core machine; waits end as soon as the condition holds.
const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
const CHAIN: &str = "kopnet-test";

// ---- log capture ----------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Warnings of every test in this binary, captured by a global subscriber.
fn captured_logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    })
}

fn logs_text() -> String {
    let buffer = captured_logs().0.lock().unwrap();
    String::from_utf8_lossy(&buffer).into_owned()
}

// ---- nodes ----------------------------------------------------------------

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

fn public_key(seed: [u8; 32]) -> [u8; 32] {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(seed).unwrap();
    keypair.try_into_ed25519().unwrap().public().to_bytes()
}

struct Node {
    handle: P2pHandle,
    events: mpsc::Receiver<NetEvent>,
}

impl Node {
    fn id(&self) -> PeerId {
        self.handle.local_peer_id()
    }

    /// Its first listen address, with `/p2p/<peer id>`.
    async fn addr(&self) -> Multiaddr {
        let addrs = self.handle.listen_addrs().await.unwrap();
        assert!(!addrs.is_empty(), "spawn returns once listeners are bound");
        addrs[0]
            .clone()
            .with(libp2p::multiaddr::Protocol::P2p(self.id()))
    }

    /// Wait for the first event `pick` accepts, skipping others.
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(&NetEvent) -> Option<T>) -> T {
        let wait = async {
            loop {
                match self.events.recv().await {
                    Some(event) => {
                        if let Some(found) = pick(&event) {
                            return found;
                        }
                    }
                    None => panic!("event channel closed while waiting for {what}"),
                }
            }
        };
        tokio::time::timeout(DEADLINE, wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Wait for gossip carrying exactly `data`; returns (id, source).
    async fn expect_gossip(&mut self, data: &[u8]) -> (p2p::MessageId, PeerId) {
        self.expect(
            &format!("gossip {:?}", String::from_utf8_lossy(data)),
            |event| match event {
                NetEvent::Gossip {
                    topic: Topic::Transactions,
                    source,
                    id,
                    data: got,
                    ..
                } if got == data => Some((id.clone(), *source)),
                _ => None,
            },
        )
        .await
    }
}

fn config(own: u8, allowed: &[u8], bootstrap: Vec<Multiaddr>) -> P2pConfig {
    let mut config = P2pConfig::new(CHAIN, seed(own));
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootstrap = bootstrap;
    config.allowed_keys = allowed.iter().map(|n| public_key(seed(*n))).collect();
    config.redial_interval = Duration::from_millis(300);
    config.max_connections = 16;
    config.event_queue = 256;
    config.command_queue = 256;
    config
}

async fn start(own: u8, allowed: &[u8], bootstrap: Vec<Multiaddr>) -> Node {
    let (handle, events) = p2p::spawn(config(own, allowed, bootstrap)).await.unwrap();
    Node { handle, events }
}

/// Poll `check` until it holds or the deadline passes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let wait = async {
        while !check().await {
            tokio::time::sleep(POLL).await;
        }
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

async fn connected_to(node: &P2pHandle, peer: PeerId) -> bool {
    node.connected_peers().await.unwrap().contains(&peer)
}

// ---- tests ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_published_before_any_subscriber_reaches_every_node() {
    let allowed = [1, 2, 3];
    let mut a = start(1, &allowed, vec![]).await;
    // Nobody is connected, let alone subscribed: this must be queued, not lost.
    a.handle
        .publish(Topic::Transactions, b"early".to_vec())
        .await
        .unwrap();
    let a_addr = a.addr().await;
    let mut b = start(2, &allowed, vec![a_addr.clone()]).await;
    // There is no peer discovery: bootstrap lists the peers to dial.
    let mut c = start(3, &allowed, vec![a_addr, b.addr().await]).await;

    the_queued_publish_reaches_both(&a, &mut b, &mut c).await;

    // Once everyone is subscribed, a publish goes out at once; B rejects it.
    wait_until_subscribed(
        "A sees B and C subscribed to transactions",
        &a.handle,
        &[b.id(), c.id()],
    )
    .await;
    a.handle
        .publish(Topic::Transactions, b"second".to_vec())
        .await
        .unwrap();
    let (id, source) = b.expect_gossip(b"second").await;
    b.handle.report(id, source, Verdict::Reject).await.unwrap();
    let (id, source) = c.expect_gossip(b"second").await;
    c.handle.report(id, source, Verdict::Ignore).await.unwrap();

    // Publishing the same content again is a duplicate, which is a success.
    a.handle
        .publish(Topic::Transactions, b"second".to_vec())
        .await
        .unwrap();
    the_largest_payload_fits_and_one_more_byte_is_refused(&a, &mut b).await;
    // Nothing from A ever comes back to A.
    while let Ok(event) = a.events.try_recv() {
        assert!(
            !matches!(event, NetEvent::Gossip { .. }),
            "own gossip delivered to self"
        );
    }
    for node in [&a, &b, &c] {
        node.handle.shutdown().await;
    }
}

/// A's queued "early" goes out to whichever of B and C subscribes first;
/// that one forwards it to the other only once it has validated it.
async fn the_queued_publish_reaches_both(a: &Node, b: &mut Node, c: &mut Node) {
    let (got, b_first) = tokio::select! {
        got = b.expect_gossip(b"early") => (got, true),
        got = c.expect_gossip(b"early") => (got, false),
    };
    let (id, source) = got;
    assert_eq!(source, a.id());
    let (first, second) = if b_first { (b, c) } else { (c, b) };
    // The first forwards only after validation: let it see the second
    // subscribed (if A has not reached it directly by then), then accept.
    wait_until_subscribed(
        "the first receiver sees the second subscribed",
        &first.handle,
        &[second.id()],
    )
    .await;
    first
        .handle
        .report(id, source, Verdict::Accept)
        .await
        .unwrap();
    // Anonymous gossip: the second hears it from A directly or from the
    // first, never from anyone else.
    let (id, source) = second.expect_gossip(b"early").await;
    assert!(source == a.id() || source == first.id());
    second
        .handle
        .report(id, source, Verdict::Accept)
        .await
        .unwrap();
}

/// Wait until `node` sees every one of `peers` subscribed to transactions.
async fn wait_until_subscribed(what: &str, node: &P2pHandle, peers: &[PeerId]) {
    eventually(what, || {
        let node = node.clone();
        async move {
            let subscribed = node.subscribed_peers(Topic::Transactions).await.unwrap();
            peers.iter().all(|peer| subscribed.contains(peer))
        }
    })
    .await;
}

/// A payload of exactly the configured maximum fits the gossip envelope and
/// reaches B; one byte more is a typed error, not a panic.
async fn the_largest_payload_fits_and_one_more_byte_is_refused(a: &Node, b: &mut Node) {
    let max = P2pConfig::new(CHAIN, seed(1)).max_transmit_bytes;
    a.handle
        .publish(Topic::Consensus, vec![7u8; max])
        .await
        .unwrap();
    let got = b
        .expect("the largest consensus gossip at B", |event| match event {
            NetEvent::Gossip {
                topic: Topic::Consensus,
                data,
                ..
            } => Some(data.len()),
            _ => None,
        })
        .await;
    assert_eq!(got, max);
    let huge = vec![0u8; max + 1];
    assert!(matches!(
        a.handle.publish(Topic::Consensus, huge).await,
        Err(P2pError::MessageTooLarge { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_gossip_is_not_forwarded() {
    // A line A - B - C: C only knows B, and nobody tells A where C is.
    let allowed = [41, 42, 43];
    let a = start(41, &allowed, vec![]).await;
    let mut b = start(42, &allowed, vec![a.addr().await]).await;
    let mut c = start(43, &allowed, vec![b.addr().await]).await;
    let (a_handle, b_handle) = (a.handle.clone(), b.handle.clone());
    let (a_id, b_id, c_id) = (a.id(), b.id(), c.id());
    eventually("A and C are subscribed at B, B at A", || async {
        let at_b = b_handle
            .subscribed_peers(Topic::Transactions)
            .await
            .unwrap();
        let at_a = a_handle
            .subscribed_peers(Topic::Transactions)
            .await
            .unwrap();
        at_b.contains(&a_id) && at_b.contains(&c_id) && at_a.contains(&b_id)
    })
    .await;

    a.handle
        .publish(Topic::Transactions, b"bad".to_vec())
        .await
        .unwrap();
    let (id, source) = b.expect_gossip(b"bad").await;
    b.handle.report(id, source, Verdict::Reject).await.unwrap();
    a.handle
        .publish(Topic::Transactions, b"good".to_vec())
        .await
        .unwrap();
    let (id, source) = b.expect_gossip(b"good").await;
    b.handle.report(id, source, Verdict::Accept).await.unwrap();
    // B forwards in order on one stream: had it forwarded "bad", C would see
    // it before "good".
    let mut before_good = Vec::new();
    c.expect("good forwarded by B", |event| match event {
        NetEvent::Gossip { data, .. } if data == b"good" => Some(()),
        NetEvent::Gossip { data, .. } => {
            before_good.push(data.clone());
            None
        }
        _ => None,
    })
    .await;
    assert!(before_good.is_empty(), "C saw {before_good:?} before good");
    assert!(!connected_to(&a.handle, c_id).await);
    for node in [&a, &b, &c] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_request_round_trips_bytes() {
    let allowed = [11, 12];
    let a = start(11, &allowed, vec![]).await;
    let mut b = start(12, &allowed, vec![a.addr().await]).await;
    let (a_handle, b_id) = (a.handle.clone(), b.id());
    eventually("A is connected to B", || connected_to(&a_handle, b_id)).await;

    // B answers every request with the reversed bytes.
    let a_id = a.id();
    let responder = tokio::spawn(async move {
        let mut answered = 0;
        while answered < 2 {
            match b.events.recv().await {
                Some(NetEvent::Request {
                    peer, data, reply, ..
                }) => {
                    assert_eq!(peer, a_id);
                    // "big" asks for a large answer; anything else comes back reversed.
                    let answer = if data == b"big" {
                        big_answer()
                    } else {
                        data.into_iter().rev().collect()
                    };
                    reply.send(answer).await.unwrap();
                    answered += 1;
                }
                Some(_) => {}
                None => break,
            }
        }
        b
    });
    let answer = a.handle.request(b_id, b"ping".to_vec()).await.unwrap();
    assert_eq!(answer, b"gnip");
    // A larger response exercises the framing across many reads.
    let answer = a.handle.request(b_id, b"big".to_vec()).await.unwrap();
    assert_eq!(answer, big_answer());
    // Requests have their own small bound.
    let too_long = vec![0u8; SYNC_REQUEST_BYTES_MAX + 1];
    assert!(matches!(
        a.handle.request(b_id, too_long).await,
        Err(P2pError::MessageTooLarge { .. })
    ));
    let b = tokio::time::timeout(DEADLINE, responder)
        .await
        .unwrap()
        .unwrap();

    // A peer outside genesis cannot even be asked.
    let stranger = p2p::peer_id_from_key(&public_key(seed(99))).unwrap();
    assert!(matches!(
        a.handle.request(stranger, b"x".to_vec()).await,
        Err(P2pError::PeerNotAllowed(_))
    ));
    a.handle.shutdown().await;
    b.handle.shutdown().await;
    assert!(matches!(
        a.handle.connected_peers().await,
        Err(P2pError::Stopped)
    ));
}

fn big_answer() -> Vec<u8> {
    (0..200_000u32).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn sync_codec_refuses_oversized_frames_before_allocating() {
    let protocol = StreamProtocol::new(SYNC_PROTOCOL);
    let mut codec = SyncCodec::default();
    let mut wire = Vec::new();
    codec
        .write_request(&protocol, &mut Cursor::new(&mut wire), b"abc".to_vec())
        .await
        .unwrap();
    assert_eq!(wire, [0, 0, 0, 3, b'a', b'b', b'c']);
    let read = codec
        .read_request(&protocol, &mut Cursor::new(wire))
        .await
        .unwrap();
    assert_eq!(read, b"abc");

    let too_long = u32::try_from(SYNC_MESSAGE_BYTES_MAX + 1)
        .unwrap()
        .to_be_bytes();
    assert!(codec
        .read_response(&protocol, &mut Cursor::new(too_long.to_vec()))
        .await
        .is_err());
    // A truncated frame is an error too.
    assert!(codec
        .read_response(&protocol, &mut Cursor::new(vec![0, 0, 0, 9, 1]))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_not_in_genesis_is_refused_and_never_heard() {
    captured_logs();
    let allowed = [21, 22];
    let mut a = start(21, &allowed, vec![]).await;
    let a_addr = a.addr().await;
    let mut b = start(22, &allowed, vec![a_addr.clone()]).await;
    let b_addr = b.addr().await;
    // The intruder trusts everyone and dials both, but is in nobody's genesis.
    let intruder = start(29, &[21, 22, 29], vec![a_addr, b_addr]).await;
    let intruder_id = intruder.id();
    intruder
        .handle
        .publish(Topic::Transactions, b"intruder".to_vec())
        .await
        .unwrap();

    let (a_handle, b_id) = (a.handle.clone(), b.id());
    eventually("A is connected to B", || connected_to(&a_handle, b_id)).await;
    let needle = format!("{intruder_id}");
    eventually("the refusal of the intruder is logged", || {
        let seen = logs_text()
            .lines()
            .any(|line| line.contains("not in genesis") && line.contains(&needle));
        async move { seen }
    })
    .await;

    // Control: allowed traffic flows in the same period.
    a.handle
        .publish(Topic::Transactions, b"control".to_vec())
        .await
        .unwrap();
    let mut seen_at_b = Vec::new();
    b.expect("control gossip at B", |event| {
        if let NetEvent::Gossip { data, source, .. } = event {
            seen_at_b.push((data.clone(), *source));
            return (data == b"control").then_some(());
        }
        None
    })
    .await;
    for (data, source) in &seen_at_b {
        assert_ne!(data.as_slice(), b"intruder");
        assert_ne!(*source, intruder_id);
    }
    for node in [&mut a, &mut b] {
        while let Ok(event) = node.events.try_recv() {
            match event {
                NetEvent::Gossip { data, source, .. } => {
                    assert_ne!(data, b"intruder");
                    assert_ne!(source, intruder_id);
                }
                NetEvent::Request { peer, .. }
                | NetEvent::DirectoryRequest { peer, .. }
                | NetEvent::PeerConnected(peer) => assert_ne!(peer, intruder_id),
                NetEvent::PeerDisconnected(_) => {}
            }
        }
        assert!(!connected_to(&node.handle, intruder_id).await);
    }
    // The intruder's side may count a link for the moment between its own
    // handshake finishing and the other side closing it; it ends with none.
    let intruder_handle = intruder.handle.clone();
    eventually("the intruder is left with no connection", || {
        let handle = intruder_handle.clone();
        async move { handle.connected_peers().await.unwrap().is_empty() }
    })
    .await;
    for node in [&a, &b, &intruder] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_drops_peers_and_lifting_it_reconnects() {
    let allowed = [31, 32];
    let a = start(31, &allowed, vec![]).await;
    let b = start(32, &allowed, vec![a.addr().await]).await;
    let (a_handle, b_handle) = (a.handle.clone(), b.handle.clone());
    let (a_id, b_id) = (a.id(), b.id());
    eventually("A and B are connected", || async {
        connected_to(&a_handle, b_id).await && connected_to(&b_handle, a_id).await
    })
    .await;

    b.handle.set_isolated(true).await.unwrap();
    eventually("both sides see the link dropped", || async {
        b_handle.connected_peers().await.unwrap().is_empty()
            && a_handle.connected_peers().await.unwrap().is_empty()
    })
    .await;
    // A keeps redialing B (it learned B's address); B keeps refusing.
    // Give it a few redial rounds, polled, and check the link stays down.
    for _ in 0..10 {
        tokio::time::sleep(POLL.mul_f32(2.0)).await;
        assert!(b_handle.connected_peers().await.unwrap().is_empty());
    }

    b.handle.set_isolated(false).await.unwrap();
    eventually("the link is back", || async {
        connected_to(&a_handle, b_id).await && connected_to(&b_handle, a_id).await
    })
    .await;
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_banned_then_let_back() {
    use std::sync::atomic::{AtomicBool, Ordering};
    captured_logs();
    let allowed = [51, 52];
    let a = start(51, &allowed, vec![]).await;
    // B allows 20 messages a second per peer and bans for 2 s. The burst
    // (1,200 messages) holds A's whole publish queue, which A flushes on
    // reconnecting, as the default budget does.
    let limits = p2p::PeerLimits {
        messages_per_s: 20,
        burst: Duration::from_secs(60),
        ban_duration_min: Duration::from_secs(2),
        ban_duration_max: Duration::from_secs(4),
        ..p2p::PeerLimits::default()
    };
    let (b_handle, mut b_events) =
        p2p::spawn_with_limits(config(52, &allowed, vec![a.addr().await]), limits)
            .await
            .unwrap();
    let (a_id, b_id) = (a.id(), b_handle.local_peer_id());
    wait_until_subscribed("A sees B subscribed", &a.handle, &[b_id]).await;

    // B's node: takes every event, notes A leaving and coming back.
    let disconnected = Arc::new(AtomicBool::new(false));
    let reconnected = Arc::new(AtomicBool::new(false));
    let node = {
        let (disconnected, reconnected) = (disconnected.clone(), reconnected.clone());
        tokio::spawn(async move {
            while let Some(event) = b_events.recv().await {
                match event {
                    NetEvent::PeerDisconnected(peer) if peer == a_id => {
                        disconnected.store(true, Ordering::SeqCst)
                    }
                    NetEvent::PeerConnected(peer)
                        if peer == a_id && disconnected.load(Ordering::SeqCst) =>
                    {
                        reconnected.store(true, Ordering::SeqCst)
                    }
                    _ => {}
                }
            }
        })
    };
    // A floods until B has banned it.
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let (publisher, stop) = (a.handle.clone(), stop.clone());
        tokio::spawn(async move {
            for i in 0..1_000_000u64 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let data = format!("flood {i}").into_bytes();
                let _ = publisher.publish(Topic::Transactions, data).await;
            }
        })
    };
    let stats = b_handle.stats();
    eventually("B bans A", || {
        let banned = stats.bans_total() >= 1;
        async move { banned }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(DEADLINE, flood)
        .await
        .unwrap()
        .unwrap();
    // The strikes were the dropped messages, one point each up to the threshold.
    assert!(stats.dropped_over_budget_total() >= 100);
    assert!(stats.penalties_total() >= 100);
    let needle = a_id.to_string();
    assert!(
        logs_text().lines().any(|line| line.contains("banned")
            && line.contains(&needle)
            && line.contains("over budget")),
        "the ban names the peer and the offence"
    );
    eventually("B's node hears that A left", || {
        let left = disconnected.load(Ordering::SeqCst);
        async move { left }
    })
    .await;

    // The ban runs out and A is let back in.
    let b = b_handle.clone();
    eventually("the ban is lifted and A reconnects", || {
        let (b, stats, reconnected) = (b.clone(), stats.clone(), reconnected.clone());
        async move {
            stats.banned_peers() == 0
                && reconnected.load(Ordering::SeqCst)
                && connected_to(&b, a_id).await
        }
    })
    .await;
    assert_eq!(stats.bans_total(), 1);
    a.handle.shutdown().await;
    b_handle.shutdown().await;
    tokio::time::timeout(DEADLINE, node).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_gossip_and_reported_offences_ban_a_peer_isolation_does_not_lift_it() {
    let allowed = [61, 62];
    let a = start(61, &allowed, vec![]).await;
    let mut b = start(62, &allowed, vec![a.addr().await]).await;
    let (a_id, b_id) = (a.id(), b.id());
    wait_until_subscribed("A sees B subscribed", &a.handle, &[b_id]).await;
    let stats = b.handle.stats();

    // Three bad catch-up pages (25 points each) and one rejected message
    // (20): 95 points, one short of a ban.
    for _ in 0..3 {
        b.handle
            .penalise(a_id, p2p::Offence::BadSyncPage)
            .await
            .unwrap();
    }
    reject_from(&a, &mut b, b"bad one").await;
    eventually("four strikes counted", || {
        let stats = stats.clone();
        async move { stats.penalties_total() == 4 }
    })
    .await;
    assert_eq!(stats.bans_total(), 0);
    assert!(connected_to(&b.handle, a_id).await);
    reject_from(&a, &mut b, b"bad two").await;
    let b_handle = b.handle.clone();
    eventually("the second rejection bans A and B drops it", || {
        let (stats, b_handle) = (stats.clone(), b_handle.clone());
        async move {
            stats.bans_total() == 1
                && stats.banned_peers() == 1
                && !connected_to(&b_handle, a_id).await
        }
    })
    .await;
    assert_eq!(stats.penalties_total(), 5);

    // Lifting an isolation must not lift the ban (60 s by default): A keeps
    // redialing B every 300 ms and B keeps refusing it.
    b.handle.set_isolated(true).await.unwrap();
    b.handle.set_isolated(false).await.unwrap();
    for _ in 0..10 {
        tokio::time::sleep(POLL.mul_f32(2.0)).await;
        // Only B's side: A may glimpse a connection B refuses right after the handshake.
        assert!(!connected_to(&b.handle, a_id).await);
    }
    assert_eq!(stats.banned_peers(), 1);
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

/// A publishes `data`; B receives it from A and rejects it.
async fn reject_from(a: &Node, b: &mut Node, data: &[u8]) {
    a.handle
        .publish(Topic::Transactions, data.to_vec())
        .await
        .unwrap();
    let (id, source) = b.expect_gossip(data).await;
    assert_eq!(source, a.id());
    b.handle.report(id, source, Verdict::Reject).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_beyond_the_inbound_byte_bound_is_dropped_until_the_node_takes_it() {
    let allowed = [71, 72];
    let a = start(71, &allowed, vec![]).await;
    // B holds at most 4 MiB of undelivered gossip: one 3 MiB message.
    let limits = p2p::PeerLimits {
        event_queue_bytes_max: 4 * 1024 * 1024,
        ..p2p::PeerLimits::default()
    };
    let (b_handle, mut b_events) =
        p2p::spawn_with_limits(config(72, &allowed, vec![a.addr().await]), limits)
            .await
            .unwrap();
    wait_until_subscribed(
        "A sees B subscribed",
        &a.handle,
        &[b_handle.local_peer_id()],
    )
    .await;
    let big = |n: u8| vec![n; 3 * 1024 * 1024];
    a.handle.publish(Topic::Consensus, big(1)).await.unwrap();
    let held = next_consensus(&mut b_events).await;
    assert!(matches!(&held, NetEvent::Gossip { data, .. } if *data == big(1)));
    // The node has not dropped the first: the second does not fit.
    a.handle.publish(Topic::Consensus, big(2)).await.unwrap();
    let stats = b_handle.stats();
    eventually("B drops the second for lack of room", || {
        let stats = stats.clone();
        async move { stats.dropped_queue_full_total() == 1 }
    })
    .await;
    assert_eq!(
        stats.penalties_total(),
        0,
        "a slow node is not the peer's fault"
    );
    // Once the node is done with the first, the next gets through.
    drop(held);
    a.handle.publish(Topic::Consensus, big(3)).await.unwrap();
    let next = next_consensus(&mut b_events).await;
    assert!(matches!(&next, NetEvent::Gossip { data, .. } if *data == big(3)));
    a.handle.shutdown().await;
    b_handle.shutdown().await;
}

/// The next consensus gossip event, kept whole (with its permit).
async fn next_consensus(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    let wait = async {
        loop {
            match events.recv().await {
                Some(
                    event @ NetEvent::Gossip {
                        topic: Topic::Consensus,
                        ..
                    },
                ) => return event,
                Some(_) => {}
                None => panic!("event channel closed"),
            }
        }
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("timed out waiting for consensus gossip")
}
