//! Configuration, topics and key conversion.

use super::error::P2pError;
use crate::secret::Secret;
use libp2p::{gossipsub, identity, Multiaddr, PeerId};
use std::time::Duration;

/// Largest catch-up response accepted on `/kopnet/sync/1` (a page of blocks).
pub const SYNC_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest catch-up request: a `SyncRequest` is a few bytes, so a peer
/// cannot make us buffer megabytes by asking.
pub const SYNC_REQUEST_BYTES_MAX: usize = 1024;
/// How long a catch-up request may take before it fails.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Protocol name of the catch-up request-response protocol.
pub const SYNC_PROTOCOL: &str = "/kopnet/sync/1";
/// Messages kept while no peer is subscribed to their topic (oldest dropped first).
pub const PUBLISH_QUEUE_MESSAGES_MAX: usize = 1024;
/// Bytes kept in the publish queue (oldest dropped first).
pub const PUBLISH_QUEUE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// A queued message older than this is dropped: gossip that late is stale.
pub const PUBLISH_QUEUE_AGE_MAX: Duration = Duration::from_secs(30);
/// Room for the gossipsub envelope (topic, signature, key, sequence number,
/// protobuf framing) on top of a payload of `max_transmit_bytes`.
pub const GOSSIP_ENVELOPE_BYTES: usize = 1024;
/// How often the publish queue is retried even without a new subscription.
pub const PUBLISH_RETRY_INTERVAL: Duration = Duration::from_millis(250);
/// Outstanding outbound catch-up requests.
pub const OUTBOUND_REQUESTS_MAX: usize = 256;
/// Inbound catch-up requests handed to the node and not yet answered.
pub const INBOUND_REQUESTS_MAX: usize = 256;
/// Addresses remembered per allowed peer (learned from identify or dialing).
pub const ADDRESSES_PER_PEER_MAX: usize = 8;
/// Connections to one peer (two allow a simultaneous dial from both sides).
pub const CONNECTIONS_PER_PEER_MAX: u32 = 2;
/// Inbound connections from one IP address still in their handshake. One
/// node per address needs one or two; a local testnet (every node on
/// 127.0.0.1) a few more at start-up, and a refused dial is retried at the
/// next redial.
pub const PENDING_INBOUND_PER_IP_MAX: u32 = 8;
/// Inbound connections still in their handshake, from all addresses. Larger
/// than the per-address bound; outbound dials (ours, to allowed peers) are
/// not counted, so strangers filling it cannot stop us reaching our peers.
pub const PENDING_INBOUND_MAX: u32 = 64;
/// Established inbound connections from one IP address. Only allowed peers
/// get this far (strangers are refused after the handshake); room for a
/// local testnet of 16 nodes with a simultaneous dial each.
pub const ESTABLISHED_INBOUND_PER_IP_MAX: u32 = 32;
/// How long a connection may take from TCP connect to an authenticated,
/// multiplexed connection (noise + yamux); a peer that stalls the handshake
/// is dropped then.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Gossip messages (both topics, counted at the peer that delivered them to
/// us) plus catch-up requests one peer may send per second. A validator
/// forwards everyone's gossip: at 2,000 tx/s the transaction topic carries
/// a few batches per second per author, consensus a few hundred votes per
/// second, so this is several times honest load.
pub const PEER_BUDGET_MESSAGES_PER_S: u64 = 2_000;
/// Gossip and request bytes one peer may send per second: room for several
/// maximal proposals (up to ~8 MiB each) per second on top of the
/// transaction batches (≈100 KB each).
pub const PEER_BUDGET_BYTES_PER_S: u64 = 64 * 1024 * 1024;
/// The budget's burst: a peer may send this long's worth of its rate at
/// once (4,000 messages, 128 MiB), e.g. after a reconnection.
pub const PEER_BUDGET_BURST: Duration = Duration::from_secs(2);
// A peer that reconnects flushes its whole publish queue at once: the
// burst must hold it, or honest peers would be struck for it.
const _: () = assert!(
    PUBLISH_QUEUE_MESSAGES_MAX as u64 <= PEER_BUDGET_MESSAGES_PER_S * PEER_BUDGET_BURST.as_secs()
);
const _: () = assert!(
    PUBLISH_QUEUE_BYTES_MAX as u64 <= PEER_BUDGET_BYTES_PER_S * PEER_BUDGET_BURST.as_secs()
);

/// Penalty points at which a peer is disconnected and banned.
pub const BAN_PENALTY_POINTS: u64 = 100;
/// Penalty points that fade per second: a full threshold fades in 50 s, so
/// only sustained or concentrated misbehaviour bans.
pub const PENALTY_DECAY_POINTS_PER_S: u64 = 2;
/// Points per message dropped over budget: a peer flooding at twice its
/// rate is banned within a tenth of a second of spending its burst, while a
/// few drops in a rare honest spike fade unnoticed.
pub const OFFENCE_POINTS_OVER_BUDGET: u64 = 1;
/// Points per gossip message the node rejected as provably bad: five in
/// quick succession ban.
pub const OFFENCE_POINTS_INVALID_GOSSIP: u64 = 20;
/// Points per catch-up page that does not verify: four in quick succession ban.
pub const OFFENCE_POINTS_BAD_SYNC_PAGE: u64 = 25;
/// Points per height announced and then not served: a lagging or restarting
/// peer can do this honestly now and then, so ten are needed.
pub const OFFENCE_POINTS_FALSE_HEIGHT_CLAIM: u64 = 10;
/// The first ban's length.
pub const BAN_DURATION_MIN: Duration = Duration::from_secs(60);
/// The longest ban: each ban remembered doubles the next, up to this.
pub const BAN_DURATION_MAX: Duration = Duration::from_secs(600);
/// A ban counts towards doubling the next for this long after it ended.
pub const BAN_REPEAT_WINDOW: Duration = Duration::from_secs(3600);
/// Peers whose budget and penalty are tracked (only allowed peers ever
/// connect; least recently seen unbanned peers make room).
pub const PEERS_TRACKED_MAX: usize = 1024;
/// How often expired bans are lifted.
pub const BAN_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Bytes of gossip and request data handed to the node and not yet taken
/// by it. Beyond this, gossip is ignored (not forwarded) and requests are
/// dropped (the requester times out), whatever the event count.
pub const EVENT_QUEUE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// How long [`super::spawn`] waits for the listeners to report their addresses.
pub const LISTEN_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The gossip channels a node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Signed transactions for the mempool.
    Transactions,
    /// Proposals and votes.
    Consensus,
}

impl Topic {
    pub const ALL: [Topic; 2] = [Topic::Transactions, Topic::Consensus];

    /// The gossipsub topic name: `kopnet/<chain_id>/tx/1` or `kopnet/<chain_id>/consensus/1`.
    pub fn name(self, chain_id: &str) -> String {
        match self {
            Topic::Transactions => format!("kopnet/{chain_id}/tx/1"),
            Topic::Consensus => format!("kopnet/{chain_id}/consensus/1"),
        }
    }

    pub(crate) fn ident(self, chain_id: &str) -> gossipsub::IdentTopic {
        gossipsub::IdentTopic::new(self.name(chain_id))
    }
}

/// The per-peer budget, the ban policy and the inbound byte bound.
/// [`PeerLimits::default`] is the named constants above; tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerLimits {
    /// Messages and requests per second per peer ([`PEER_BUDGET_MESSAGES_PER_S`]).
    pub messages_per_s: u64,
    /// Bytes per second per peer ([`PEER_BUDGET_BYTES_PER_S`]).
    pub bytes_per_s: u64,
    /// How many seconds' worth a peer may send at once ([`PEER_BUDGET_BURST`]).
    pub burst: Duration,
    /// Penalty at which a peer is banned ([`BAN_PENALTY_POINTS`]).
    pub ban_penalty_points: u64,
    /// Penalty fading per second ([`PENALTY_DECAY_POINTS_PER_S`]).
    pub penalty_decay_points_per_s: u64,
    /// First ban ([`BAN_DURATION_MIN`]).
    pub ban_duration_min: Duration,
    /// Longest ban ([`BAN_DURATION_MAX`]).
    pub ban_duration_max: Duration,
    /// Memory of a ban for doubling ([`BAN_REPEAT_WINDOW`]).
    pub ban_repeat_window: Duration,
    /// Peers tracked ([`PEERS_TRACKED_MAX`]).
    pub peers_tracked_max: usize,
    /// Undelivered inbound bytes ([`EVENT_QUEUE_BYTES_MAX`]).
    pub event_queue_bytes_max: usize,
}

impl Default for PeerLimits {
    fn default() -> PeerLimits {
        PeerLimits {
            messages_per_s: PEER_BUDGET_MESSAGES_PER_S,
            bytes_per_s: PEER_BUDGET_BYTES_PER_S,
            burst: PEER_BUDGET_BURST,
            ban_penalty_points: BAN_PENALTY_POINTS,
            penalty_decay_points_per_s: PENALTY_DECAY_POINTS_PER_S,
            ban_duration_min: BAN_DURATION_MIN,
            ban_duration_max: BAN_DURATION_MAX,
            ban_repeat_window: BAN_REPEAT_WINDOW,
            peers_tracked_max: PEERS_TRACKED_MAX,
            event_queue_bytes_max: EVENT_QUEUE_BYTES_MAX,
        }
    }
}

/// The longest ban [`PeerLimits`] may ask for.
const BAN_DURATION_LIMIT: Duration = Duration::from_secs(24 * 3600);

impl PeerLimits {
    pub(crate) fn check(&self, max_transmit_bytes: usize) -> Result<(), P2pError> {
        let fail = |reason: &str| Err(P2pError::InvalidConfig(reason.to_string()));
        if self.messages_per_s == 0 || self.bytes_per_s == 0 || self.burst.is_zero() {
            return fail("the peer budget must be positive");
        }
        // The burst must hold the largest message, or it could never pass.
        let burst_bytes =
            u128::from(self.bytes_per_s).saturating_mul(self.burst.as_millis()) / 1000;
        let largest = max_transmit_bytes.max(SYNC_REQUEST_BYTES_MAX);
        if burst_bytes < largest as u128 {
            return fail("the peer byte budget's burst is smaller than the largest message");
        }
        if self.ban_penalty_points == 0 {
            return fail("ban_penalty_points must be positive");
        }
        if self.ban_duration_min.is_zero()
            || self.ban_duration_min > self.ban_duration_max
            || self.ban_duration_max > BAN_DURATION_LIMIT
        {
            return fail("bans must last between a moment and a day, min <= max");
        }
        if self.peers_tracked_max == 0 {
            return fail("peers_tracked_max must be positive");
        }
        if self.event_queue_bytes_max < max_transmit_bytes {
            return fail("event_queue_bytes_max must hold the largest gossip message");
        }
        Ok(())
    }
}

/// Everything the networking layer needs; see the field docs for the bounds.
/// `Debug` shows every field but the secret seed ([`Secret`]).
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// Part of every topic name, so two chains never mix gossip.
    pub chain_id: String,
    /// The cooperative's ed25519 secret seed; the libp2p identity derives from it.
    pub identity_seed: Secret<[u8; 32]>,
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Addresses of other nodes to dial and redial (with or without `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// ed25519 public keys allowed to connect (validators and observers from genesis).
    pub allowed_keys: Vec<[u8; 32]>,
    /// Largest gossip payload (must be the same on every node); the
    /// gossipsub transmit size adds [`GOSSIP_ENVELOPE_BYTES`] to it.
    pub max_transmit_bytes: usize,
    /// Total established connection limit.
    pub max_connections: u32,
    /// How often disconnected bootstrap and known peers are redialed.
    pub redial_interval: Duration,
    /// How long a connection without active streams stays open.
    pub idle_connection_timeout: Duration,
    /// Bound of the event channel to the node.
    pub event_queue: usize,
    /// Bound of the command channel from the node.
    pub command_queue: usize,
    /// Inbound connections per IP and in their handshake
    /// ([`PENDING_INBOUND_PER_IP_MAX`] and the rest by default).
    pub inbound: super::ip_limits::IpLimitsConfig,
    /// TCP connect to an authenticated, multiplexed connection
    /// ([`HANDSHAKE_TIMEOUT`] by default).
    pub handshake_timeout: Duration,
    /// A catch-up request fails after this long ([`SYNC_REQUEST_TIMEOUT`]
    /// by default).
    pub sync_request_timeout: Duration,
    /// Whether this node subscribes to transaction gossip. Validators do;
    /// an observer does not (it never proposes, its API takes no
    /// transactions and it never forwards transaction gossip): it learns
    /// transactions from committed blocks, verifying their signatures
    /// there, and the validators stop sending it every batch (issue 21:
    /// the batches cost an observer decoding and admission and each
    /// validator one more copy to encrypt and send).
    pub transaction_gossip: bool,
}

impl P2pConfig {
    /// A configuration with the usual bounds: 4 MiB gossip, 64 connections,
    /// redial every 2 s, idle timeout 1 h, queues of 1024.
    pub fn new(chain_id: impl Into<String>, identity_seed: [u8; 32]) -> P2pConfig {
        P2pConfig {
            chain_id: chain_id.into(),
            identity_seed: Secret::new(identity_seed),
            listen: Vec::new(),
            bootstrap: Vec::new(),
            allowed_keys: Vec::new(),
            max_transmit_bytes: 4 * 1024 * 1024,
            max_connections: 64,
            redial_interval: Duration::from_secs(2),
            idle_connection_timeout: Duration::from_secs(3600),
            event_queue: 1024,
            command_queue: 1024,
            inbound: super::ip_limits::IpLimitsConfig::default(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
            sync_request_timeout: SYNC_REQUEST_TIMEOUT,
            transaction_gossip: true,
        }
    }

    pub(crate) fn check(&self) -> Result<(), P2pError> {
        let fail = |reason: &str| Err(P2pError::InvalidConfig(reason.to_string()));
        if self.chain_id.is_empty() {
            return fail("chain_id is empty");
        }
        if self.max_transmit_bytes < 1024 {
            return fail("max_transmit_bytes must be at least 1024");
        }
        if self.max_connections == 0 {
            return fail("max_connections must be positive");
        }
        if self.event_queue == 0 || self.command_queue == 0 {
            return fail("event_queue and command_queue must be positive");
        }
        if self.redial_interval.is_zero() {
            return fail("redial_interval must be positive");
        }
        let inbound = &self.inbound;
        if inbound.pending_per_ip_max == 0
            || inbound.established_per_ip_max == 0
            || inbound.pending_max < inbound.pending_per_ip_max
        {
            return fail("inbound limits must be positive, pending_max >= pending_per_ip_max");
        }
        if self.handshake_timeout.is_zero() || self.sync_request_timeout.is_zero() {
            return fail("handshake_timeout and sync_request_timeout must be positive");
        }
        Ok(())
    }
}

/// The libp2p identity of the holder of an ed25519 public key.
pub fn peer_id_from_key(key: &[u8; 32]) -> Result<PeerId, P2pError> {
    let public = identity::ed25519::PublicKey::try_from_bytes(key).map_err(|error| {
        P2pError::InvalidPublicKey {
            key: hex::encode(key),
            reason: error.to_string(),
        }
    })?;
    Ok(identity::PublicKey::from(public).to_peer_id())
}

/// The ed25519 key behind a peer id, if the id carries one inline (as
/// every kopnet peer's does).
pub fn key_of_peer(peer: &PeerId) -> Option<kopnet_consensus::PublicKey> {
    let multihash = peer.as_ref();
    // Identity multihash (code 0): the protobuf-encoded public key.
    if multihash.code() != 0 {
        return None;
    }
    let public = identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let ed25519 = public.try_into_ed25519().ok()?;
    Some(kopnet_consensus::PublicKey(ed25519.to_bytes()))
}

/// The libp2p keypair for a cooperative's secret seed.
pub(crate) fn keypair_from_seed(seed: &[u8; 32]) -> Result<identity::Keypair, P2pError> {
    let mut bytes = *seed;
    identity::Keypair::ed25519_from_bytes(&mut bytes)
        .map_err(|error| P2pError::InvalidIdentity(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_seed_is_never_printed() {
        let seed: [u8; 32] = std::array::from_fn(|i| 0xab ^ (i as u8));
        let config = P2pConfig::new("chain", seed);
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(shown.contains("identity_seed: Secret(redacted)"), "{shown}");
            assert!(shown.contains("chain"), "{shown}");
            crate::secret::assert_hidden(&shown, &seed);
        }
    }
}
