//! The node's libp2p networking layer: it moves opaque bytes between the
//! cooperatives' nodes and knows nothing about blocks or transactions.
//!
//! # Design
//!
//! * **Transport**: TCP + noise + yamux. The libp2p identity is the
//!   cooperative's ed25519 key ([`P2pConfig::identity_seed`]), so a peer id
//!   *is* a genesis key ([`peer_id_from_key`]).
//! * **Who may connect**: only the keys in [`P2pConfig::allowed_keys`]. An
//!   `allow_block_list::Behaviour<AllowedPeers>` denies every other peer right
//!   after the noise handshake (inbound and outbound), logging
//!   `rejected connection from peer not in genesis`; a second check on
//!   `ConnectionEstablished` and on every gossip message and request (the
//!   peer that delivered it) makes sure nothing from a stranger becomes a
//!   [`NetEvent`]. `connection_limits` bounds the total
//!   ([`P2pConfig::max_connections`]) and per-peer connections.
//! * **Before the handshake**: an `IpLimits` behaviour bounds inbound
//!   connections per remote IP (in their handshake, and established) and
//!   in their handshake in total; our own dials are never limited by it.
//!   The transport gives up on a handshake after
//!   [`config::HANDSHAKE_TIMEOUT`].
//! * **A budget per peer**: every gossip message (by the peer that
//!   delivered it, both topics) and every catch-up request is charged to
//!   its sender's token buckets (messages/s and bytes/s, see
//!   [`PeerLimits`]). Over budget, it is dropped (`Ignore`: not forwarded,
//!   not handed to the node) and the sender gets a strike.
//! * **Misbehaviour and bans**: strikes come from the budget, from every
//!   [`Verdict::Reject`] the node reports, and from
//!   [`P2pHandle::penalise`]; each [`Offence`] weighs some points, which
//!   fade over time. A peer reaching the threshold is disconnected and
//!   refused (the allow-list disallows it) for a ban that doubles on
//!   repeat, then let back if it is still allowed and we are not isolated.
//!   Gossipsub's own peer scoring stays off: every genesis peer is an
//!   explicit peer, which never joins a mesh, so the mesh-delivery terms
//!   that make up most of gossipsub's score never apply; its
//!   invalid-message term would duplicate ours; and a low score would only
//!   graylist the peer (everything it sends silently ignored, connection
//!   kept). One score, ours, decides, and `/metrics` shows it.
//! * **Counters**: [`P2pHandle::stats`] ([`P2pStats`]) for `/metrics`.
//! * **Gossip**: gossipsub on `kopnet/<chain_id>/tx/1` and
//!   `kopnet/<chain_id>/consensus/1`, **anonymous** messages (no author,
//!   sequence number or signature; gossipsub's `ValidationMode::Anonymous`
//!   refuses any that carry one), a content-hash (blake3) message id, every
//!   genesis peer an explicit peer.
//!
//!   *Why anonymous* (issue 21): signed gossip cost an ed25519 signature per
//!   message published and a verification per message received, over the
//!   whole message (SHA-512 of every byte of a batch or proposal): about
//!   half of this layer's CPU per transaction (BENCHMARKS.md, "Wire per
//!   transaction"), on top of payloads that authenticate themselves.
//!   *What the author check rested on before*: gossipsub's signature named
//!   the peer that first published a message (`author`), and the node
//!   refused transaction gossip authored by an observer, consensus messages
//!   authored by a non-validator, and "committed" hints whose `from` was
//!   not their author. *What it rests on now*: the **sender** is the
//!   noise-authenticated, allow-listed connection a message came on
//!   (`propagation_source`, the only peer a verdict can penalise anyway);
//!   the **maker** is the payload's own signature: a transaction's
//!   member's, verified on admission before it is kept or forwarded; a
//!   proposal's or vote's validator's, which must be a validator of the
//!   height and verify before the engine keeps or forwards it. Observers
//!   still cannot inject consensus messages (they cannot sign as a
//!   validator; relaying a genuine one is what forwarding is) nor
//!   transactions (observers never forward transaction gossip, so any that
//!   arrives on an observer's connection is its own and is refused).
//!   "Committed" hints carry no signature: they are believed only on their
//!   named sender's own connection and never forwarded.
//!   Messages are not forwarded until the node answers with
//!   [`P2pHandle::report`]. Publishing before any peer has subscribed queues
//!   the message (bounded, oldest dropped) and retries on every
//!   subscription and every 250 ms; a duplicate publish counts as success.
//! * **Catch-up**: request-response on `/kopnet/sync/1` with a 4-byte length
//!   prefix, requests of at most 1 KiB, responses of at most 16 MiB (read as
//!   they arrive, never allocated up front), a 10 s timeout.
//! * **Liveness**: a long idle-connection timeout plus a periodic redial of
//!   bootstrap addresses and of known addresses of disconnected genesis peers.
//! * **Bounds**: the command and event channels are bounded, the event
//!   channel by count and by the bytes of the gossip and requests not yet
//!   taken by the node ([`InboundPermit`]); the swarm task never blocks on
//!   the node (a full event queue drops the event with a warning and lets
//!   gossipsub `Ignore` the message). See [`config`] for every named bound.
//! * **Fault injection**: [`P2pHandle::set_isolated`] disallows every peer
//!   (closing connections and refusing dials both ways) until lifted.

mod access;
mod address_book;
pub mod behaviour;
pub mod codec;
pub mod config;
pub mod directory;
mod discipline;
pub mod error;
pub mod handle;
mod inbound_bytes;
pub mod ip_limits;
mod offence;
mod peer_budget;
mod peer_records;
mod peer_score;
mod publish_queue;
mod request_events;
mod stats;
mod swarm_task;
mod wire_bytes;

pub use config::{key_of_peer, peer_id_from_key, P2pConfig, PeerLimits, Topic};
pub use directory::DirectoryResponder;
pub use error::P2pError;
pub use handle::{NetEvent, P2pHandle, Responder, Verdict};
pub use inbound_bytes::InboundPermit;
pub use libp2p::gossipsub::MessageId;
pub use libp2p::{Multiaddr, PeerId};
pub use offence::Offence;
pub use stats::P2pStats;

use futures::StreamExt;
use libp2p::core::Transport;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Build the swarm, bind the listeners, and spawn the task that runs it,
/// with the default [`PeerLimits`].
///
/// Returns once every listener has reported its address (so
/// [`P2pHandle::listen_addrs`] is complete), with the handle and the bounded
/// event receiver.
pub async fn spawn(config: P2pConfig) -> Result<(P2pHandle, mpsc::Receiver<NetEvent>), P2pError> {
    spawn_with_limits(config, PeerLimits::default()).await
}

/// [`spawn`] with other per-peer limits (tests shrink them).
pub async fn spawn_with_limits(
    config: P2pConfig,
    limits: PeerLimits,
) -> Result<(P2pHandle, mpsc::Receiver<NetEvent>), P2pError> {
    config.check()?;
    limits.check(config.max_transmit_bytes)?;
    let key = config::keypair_from_seed(config.identity_seed.expose())?;
    let local_peer_id = key.public().to_peer_id();
    let allowed = config
        .allowed_keys
        .iter()
        .map(peer_id_from_key)
        .filter(|peer| peer.as_ref().map_or(true, |peer| *peer != local_peer_id))
        .collect::<Result<HashSet<PeerId>, P2pError>>()?;
    let behaviour = behaviour::build(&key, &config, &allowed)?;
    let idle = config.idle_connection_timeout;
    let stats = Arc::new(P2pStats::default());
    let counted = stats.clone();
    let noise = noise::Config::new(&key).map_err(|error| P2pError::Transport(error.to_string()))?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_other_transport(|_| {
            // TCP + noise + yamux as `with_tcp` builds it, with every
            // connection's bytes counted below noise.
            tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                .map(move |stream, _| wire_bytes::CountedStream::new(stream, counted.clone()))
                .upgrade(libp2p::core::upgrade::Version::V1Lazy)
                .authenticate(noise)
                .multiplex(yamux::Config::default())
        })
        .map_err(|error| P2pError::Transport(error.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|error| P2pError::Transport(error.to_string()))?
        .with_swarm_config(|swarm_config| swarm_config.with_idle_connection_timeout(idle))
        .with_connection_timeout(config.handshake_timeout)
        .build();

    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|error| P2pError::Listen {
                addr: addr.to_string(),
                reason: error.to_string(),
            })?;
    }
    wait_for_listeners(&mut swarm, config.listen.len()).await?;

    let (command_sender, commands) = mpsc::channel(config.command_queue);
    let (events, event_receiver) = mpsc::channel(config.event_queue);
    let handle = P2pHandle {
        local_peer_id,
        max_transmit_bytes: config.max_transmit_bytes,
        sync_request_timeout: config.sync_request_timeout,
        commands: command_sender.clone(),
        stats: stats.clone(),
    };
    let task = swarm_task::SwarmTask::new(
        swarm,
        &config,
        allowed,
        swarm_task::Channels {
            commands,
            command_sender: command_sender.downgrade(),
            events,
        },
        discipline::Discipline::new(limits, stats),
    );
    drop(command_sender);
    tokio::spawn(task.run());
    tracing::info!(peer = %local_peer_id, "p2p started");
    Ok((handle, event_receiver))
}

/// Drive the swarm until `count` listeners have reported an address.
async fn wait_for_listeners(
    swarm: &mut libp2p::Swarm<behaviour::Behaviour>,
    count: usize,
) -> Result<(), P2pError> {
    let wait = async {
        let mut reported = 0;
        while reported < count {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    tracing::info!(%address, "listening");
                    reported += 1;
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(P2pError::Listen {
                        addr: String::new(),
                        reason: error.to_string(),
                    })
                }
                SwarmEvent::ListenerClosed {
                    addresses, reason, ..
                } => {
                    return Err(P2pError::Listen {
                        addr: format!("{addresses:?}"),
                        reason: format!("{reason:?}"),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    };
    tokio::time::timeout(config::LISTEN_STARTUP_TIMEOUT, wait)
        .await
        .map_err(|_| P2pError::Listen {
            addr: String::new(),
            reason: "listeners did not report an address in time".to_string(),
        })?
}
