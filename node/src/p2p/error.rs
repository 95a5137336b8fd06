//! Errors of the networking layer.

use libp2p::PeerId;

/// Everything that can go wrong in [`crate::p2p`].
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// A configured public key is not a valid ed25519 point.
    #[error("invalid ed25519 public key {key}: {reason}")]
    InvalidPublicKey { key: String, reason: String },
    /// The identity seed could not be turned into a keypair.
    #[error("invalid identity seed: {0}")]
    InvalidIdentity(String),
    /// The configuration violates a bound (zero queue, too small transmit size, ...).
    #[error("invalid p2p configuration: {0}")]
    InvalidConfig(String),
    /// Building the transport or a behaviour failed.
    #[error("transport setup failed: {0}")]
    Transport(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    /// Publishing failed for a reason retrying will not fix.
    #[error("publish on {topic} failed: {reason}")]
    Publish { topic: String, reason: String },
    /// A payload exceeds the configured bound.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge { size: usize, limit: usize },
    /// The peer is not in the genesis allow-list.
    #[error("peer {0} is not in genesis")]
    PeerNotAllowed(PeerId),
    /// Too many requests are outstanding; try again later.
    #[error("too many outstanding requests (limit {limit})")]
    Busy { limit: usize },
    /// A catch-up request failed (dial failure, timeout, connection closed, ...).
    #[error("request to {peer} failed: {reason}")]
    Request { peer: PeerId, reason: String },
    /// A catch-up request got no answer in time.
    #[error("request to {peer} timed out")]
    RequestTimeout { peer: PeerId },
    /// The swarm task has stopped (shutdown or crash); the handle is dead.
    #[error("the p2p task has stopped")]
    Stopped,
}
