//! The composed libp2p behaviour: per-address limits, allow-list,
//! connection limits, gossipsub, catch-up request-response, identify and ping.

use super::codec::SyncCodec;
use super::config::{P2pConfig, CONNECTIONS_PER_PEER_MAX, GOSSIP_ENVELOPE_BYTES, SYNC_PROTOCOL};
use super::error::P2pError;
use super::ip_limits::IpLimits;
use kopnet_consensus::crypto::Hash;
use libp2p::allow_block_list::{self, AllowedPeers};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, gossipsub, identify, identity, ping, request_response};
use libp2p::{PeerId, StreamProtocol};
use std::collections::HashSet;

/// blake3 context of gossip message ids (content hash of topic and data).
const MESSAGE_ID_CONTEXT: &str = "kopnet 2026 p2p message id v1";

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Handshakes and inbound connections per remote address; first, so it
    /// refuses before any handshake work is done.
    pub(crate) ip_limits: IpLimits,
    /// Only genesis peers (and not banned) may hold a connection; before every
    /// behaviour that keeps state per connection.
    pub(crate) allow: allow_block_list::Behaviour<AllowedPeers>,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
    /// The phone-number directory ([`super::directory`]).
    pub(crate) directory: request_response::Behaviour<super::directory::DirectoryCodec>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
}

/// Gossip message id: blake3 of (topic, data), so the same content is one message.
fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    let digest = Hash::digest_parts(
        MESSAGE_ID_CONTEXT,
        &[message.topic.as_str().as_bytes(), &message.data],
    );
    gossipsub::MessageId::from(digest.0.to_vec())
}

pub(crate) fn gossipsub_config(config: &P2pConfig) -> Result<gossipsub::Config, P2pError> {
    gossipsub::ConfigBuilder::default()
        .mesh_outbound_min(1)
        .mesh_n_low(2)
        .mesh_n(4)
        .mesh_n_high(8)
        .max_transmit_size(
            config
                .max_transmit_bytes
                .saturating_add(GOSSIP_ENVELOPE_BYTES),
        )
        .message_id_fn(message_id)
        .validate_messages()
        // No author, sequence number or signature in a message, and any
        // carrying one is refused (see `build`).
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .build()
        .map_err(|error| P2pError::InvalidConfig(format!("gossipsub: {error}")))
}

pub(crate) fn build(
    key: &identity::Keypair,
    config: &P2pConfig,
    allowed: &HashSet<PeerId>,
) -> Result<Behaviour, P2pError> {
    let local = key.public().to_peer_id();
    let mut allow = allow_block_list::Behaviour::<AllowedPeers>::default();
    // Anonymous gossip (issue 21): gossipsub signed every message with the
    // node's key and verified every signature on arrival, about half of
    // the networking layer's CPU per transaction, on top of payloads that
    // authenticate themselves (transactions signed by members, proposals
    // and votes by validators, each verified before it is kept or
    // forwarded). Who *sent* a message is the noise-authenticated,
    // allow-listed connection it came on (`propagation_source`); who
    // *made* it is the signature inside it. See `p2p/mod.rs`, "Gossip".
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Anonymous,
        gossipsub_config(config)?,
    )
    .map_err(|error| P2pError::InvalidConfig(format!("gossipsub: {error}")))?;
    for peer in allowed.iter().filter(|peer| **peer != local) {
        allow.allow_peer(*peer);
        gossipsub.add_explicit_peer(peer);
    }
    for topic in super::Topic::ALL
        .into_iter()
        .filter(|topic| config.transaction_gossip || *topic != super::Topic::Transactions)
    {
        gossipsub
            .subscribe(&topic.ident(&config.chain_id))
            .map_err(|error| P2pError::InvalidConfig(format!("subscribe: {error}")))?;
    }
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_connections))
            .with_max_pending_incoming(Some(config.inbound.pending_max))
            .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER_MAX)),
    );
    let sync = request_response::Behaviour::with_codec(
        SyncCodec::default(),
        [(
            StreamProtocol::new(SYNC_PROTOCOL),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(config.sync_request_timeout),
    );
    let identify = identify::Behaviour::new(
        identify::Config::new(format!("/kopnet/{}/1", config.chain_id), key.public())
            .with_cache_size(0),
    );
    let ip_limits = IpLimits::new(config.inbound);
    Ok(Behaviour {
        ip_limits,
        allow,
        limits,
        gossipsub,
        sync,
        directory: super::directory::behaviour(),
        identify,
        ping: ping::Behaviour::default(),
    })
}
