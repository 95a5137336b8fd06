//! The node's side: [`P2pHandle`] sends commands to the swarm task, which
//! answers with [`NetEvent`]s. Both channels are bounded.

use super::config::{SYNC_MESSAGE_BYTES_MAX, SYNC_REQUEST_BYTES_MAX};
use super::error::P2pError;
use super::inbound_bytes::InboundPermit;
use super::offence::Offence;
use super::stats::P2pStats;
use super::Topic;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::InboundRequestId;
use libp2p::{Multiaddr, PeerId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Extra time the handle waits beyond the protocol's request timeout, so the
/// swarm's own timeout (with its precise error) normally fires first.
const REQUEST_TIMEOUT_SLACK: Duration = Duration::from_secs(2);

pub use crate::wire::Verdict;

/// What the network tells the node.
///
/// Gossip and requests carry an [`InboundPermit`] for their bytes: the
/// networking layer hands the node at most
/// [`super::config::EVENT_QUEUE_BYTES_MAX`] of them at a time, so drop the
/// event once it is handled (match with `..`).
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message from an allowed peer, not yet forwarded: answer with
    /// [`P2pHandle::report`]`(id, source, verdict)`. `source` is the peer that
    /// sent it to us (the noise-authenticated connection); gossip is
    /// anonymous, so who made it is only what the payload's own signature
    /// says.
    Gossip {
        topic: Topic,
        source: PeerId,
        id: MessageId,
        data: Vec<u8>,
        permit: InboundPermit,
    },
    /// A catch-up request; answer with [`Responder::send`].
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: Responder,
        permit: InboundPermit,
    },
    /// A phone-directory request ([`super::directory`]); answer with
    /// [`super::DirectoryResponder::send`].
    DirectoryRequest {
        peer: PeerId,
        data: Vec<u8>,
        reply: super::directory::DirectoryResponder,
        permit: InboundPermit,
    },
    /// The first connection to an allowed peer was established.
    PeerConnected(PeerId),
    /// The last connection to an allowed peer closed.
    PeerDisconnected(PeerId),
}

/// Answers one inbound catch-up request. Dropping it without answering lets
/// the requester time out.
#[derive(Debug)]
pub struct Responder {
    pub(crate) id: InboundRequestId,
    pub(crate) commands: mpsc::Sender<Command>,
}

impl Responder {
    /// Send the response (through the command channel).
    pub async fn send(self, data: Vec<u8>) -> Result<(), P2pError> {
        check_size(data.len(), SYNC_MESSAGE_BYTES_MAX)?;
        self.commands
            .send(Command::Respond { id: self.id, data })
            .await
            .map_err(|_| P2pError::Stopped)
    }
}

pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        done: oneshot::Sender<Result<(), P2pError>>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        done: oneshot::Sender<Result<Vec<u8>, P2pError>>,
    },
    Penalise {
        peer: PeerId,
        offence: Offence,
    },
    Respond {
        id: InboundRequestId,
        data: Vec<u8>,
    },
    DirectoryRequest {
        peer: PeerId,
        data: Vec<u8>,
        done: oneshot::Sender<Result<Vec<u8>, P2pError>>,
    },
    DirectoryRespond {
        id: InboundRequestId,
        data: Vec<u8>,
    },
    ConnectedPeers {
        done: oneshot::Sender<Vec<PeerId>>,
    },
    SubscribedPeers {
        topic: Topic,
        done: oneshot::Sender<Vec<PeerId>>,
    },
    ListenAddrs {
        done: oneshot::Sender<Vec<Multiaddr>>,
    },
    SetIsolated {
        isolated: bool,
        done: oneshot::Sender<()>,
    },
    SetAllowed {
        peers: std::collections::HashSet<PeerId>,
        done: oneshot::Sender<()>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

fn check_size(size: usize, limit: usize) -> Result<(), P2pError> {
    if size > limit {
        return Err(P2pError::MessageTooLarge { size, limit });
    }
    Ok(())
}

/// A cheap, cloneable handle to the swarm task.
#[derive(Debug, Clone)]
pub struct P2pHandle {
    pub(crate) local_peer_id: PeerId,
    pub(crate) max_transmit_bytes: usize,
    /// `P2pConfig::sync_request_timeout`.
    pub(crate) sync_request_timeout: Duration,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) stats: Arc<P2pStats>,
}

impl P2pHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, P2pError> {
        let (done, answer) = oneshot::channel();
        self.commands
            .send(make(done))
            .await
            .map_err(|_| P2pError::Stopped)?;
        answer.await.map_err(|_| P2pError::Stopped)
    }

    /// Gossip `data` on `topic`. Succeeds once published, or once queued when
    /// no peer is subscribed yet (the queue is retried on every new
    /// subscription and every 250 ms); a duplicate counts as success.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), P2pError> {
        check_size(data.len(), self.max_transmit_bytes)?;
        self.call(|done| Command::Publish { topic, data, done })
            .await?
    }

    /// The budget and ban counters (for `/metrics`).
    pub fn stats(&self) -> Arc<P2pStats> {
        self.stats.clone()
    }

    /// Report the validation result of a [`NetEvent::Gossip`] (once per
    /// message). [`Verdict::Reject`] also counts [`Offence::InvalidGossip`]
    /// against `source`.
    pub async fn report(
        &self,
        id: MessageId,
        source: PeerId,
        verdict: Verdict,
    ) -> Result<(), P2pError> {
        self.commands
            .send(Command::Report {
                id,
                source,
                verdict,
            })
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Count `offence` against `peer` (who sent a bad catch-up page,
    /// claimed a height it could not serve, ...). Enough offences in a short
    /// time disconnect and ban the peer for a while; see [`Offence`].
    /// Returns once the command is queued.
    pub async fn penalise(&self, peer: PeerId, offence: Offence) -> Result<(), P2pError> {
        self.commands
            .send(Command::Penalise { peer, offence })
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Send a catch-up request (at most
    /// [`SYNC_REQUEST_BYTES_MAX`]) and wait for the answer (at most
    /// `P2pConfig::sync_request_timeout`, 10 s by default).
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        check_size(data.len(), SYNC_REQUEST_BYTES_MAX)?;
        let deadline = self.sync_request_timeout + REQUEST_TIMEOUT_SLACK;
        match tokio::time::timeout(
            deadline,
            self.call(|done| Command::Request { peer, data, done }),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => Err(P2pError::RequestTimeout { peer }),
        }
    }

    /// Send a phone-directory request (at most
    /// [`super::directory::DIRECTORY_FRAME_BYTES_MAX`]) and wait for the
    /// answer (at most [`super::directory::DIRECTORY_REQUEST_TIMEOUT`]).
    pub async fn directory_request(
        &self,
        peer: PeerId,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, P2pError> {
        check_size(data.len(), super::directory::DIRECTORY_FRAME_BYTES_MAX)?;
        let deadline = super::directory::DIRECTORY_REQUEST_TIMEOUT + REQUEST_TIMEOUT_SLACK;
        match tokio::time::timeout(
            deadline,
            self.call(|done| Command::DirectoryRequest { peer, data, done }),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => Err(P2pError::RequestTimeout { peer }),
        }
    }

    /// Allowed peers with at least one established connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, P2pError> {
        self.call(|done| Command::ConnectedPeers { done }).await
    }

    /// Connected genesis peers that have subscribed to `topic` (a publish now reaches them).
    pub async fn subscribed_peers(&self, topic: Topic) -> Result<Vec<PeerId>, P2pError> {
        self.call(|done| Command::SubscribedPeers { topic, done })
            .await
    }

    /// The addresses the node listens on (ports resolved).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, P2pError> {
        self.call(|done| Command::ListenAddrs { done }).await
    }

    /// Replace the allow-list (the ledger's cooperatives and the genesis
    /// observers, ed25519 keys): newly listed peers may connect and become
    /// explicit gossip peers; peers no longer listed are disconnected and
    /// refused from now on.
    pub async fn set_allowed(&self, keys: &[[u8; 32]]) -> Result<(), P2pError> {
        let peers = keys
            .iter()
            .map(super::config::peer_id_from_key)
            .collect::<Result<std::collections::HashSet<PeerId>, P2pError>>()?;
        self.call(|done| Command::SetAllowed { peers, done }).await
    }

    /// Fault injection: while isolated, every connection is closed and every
    /// dial, inbound or outbound, is refused.
    pub async fn set_isolated(&self, isolated: bool) -> Result<(), P2pError> {
        self.call(|done| Command::SetIsolated { isolated, done })
            .await
    }

    /// Stop the swarm task and wait until it has dropped the swarm.
    pub async fn shutdown(&self) {
        let _ = self.call(|done| Command::Shutdown { done }).await;
    }
}
