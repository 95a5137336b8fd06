//! What the host asks its shell to do ([`Effect`]): the node's tokio
//! runtime carries these out over libp2p and the clock, the simulator over
//! its simulated network and clock. Each variant says how to resume.

use crate::mempool::Evicted;
use kopnet_consensus::{
    CommitCertificate, Evidence, Height, Message, PublicKey, Round, TimeoutStep, ValidatorSet,
};
use kopnet_ledger::{Block, BlockOutcome};

/// A block this node committed, decided by consensus or fetched while
/// catching up.
#[derive(Debug)]
pub struct Committed {
    pub block: Block,
    pub outcome: BlockOutcome,
    pub certificate: CommitCertificate,
    /// Pending transactions the block made stale or that waited too long.
    pub evicted: Evicted,
    /// How the block arrived.
    pub via: CommitPath,
}

/// How a committed block reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitPath {
    /// Decided by this node's consensus engine.
    Decided,
    /// Fetched from a peer with its certificate while catching up.
    CaughtUp,
}

/// One thing the shell must do.
#[derive(Debug)]
pub enum Effect {
    /// Publish a consensus message on the consensus topic. Its safety
    /// record is already durable (the host persisted it before releasing
    /// the message), so it may be sent at once.
    Broadcast(Message),
    /// Publish again a consensus message that was published before (ours
    /// or another validator's): the proof of our lock and the previous
    /// round's precommits, for peers that missed them (a restarted peer, a
    /// healed partition). The gossip layer drops a copy a peer has already
    /// seen, so repeating is cheap; without it a locked validator could
    /// not prove its lock to a peer that restarted after the polka.
    Rebroadcast(Message),
    /// Tell peers that this node committed `height`: publish `hint` (the
    /// encoded [`crate::wire::ConsensusGossip::Committed`], naming this
    /// node's [`super::HostConfig::identity`]) on the consensus topic;
    /// peers behind it catch up.
    AnnounceCommitted { height: u64, hint: Vec<u8> },
    /// Gossip a transaction a client submitted to this node (transactions
    /// that arrived by gossip are forwarded by the gossip layer itself).
    GossipTx(Vec<u8>),
    /// The mempool took new transactions: call
    /// [`super::Host::on_txs_available`] (soon; batching is fine).
    TxsAvailable,
    /// Call [`super::Host::on_timeout`] with these fields once the clock
    /// reaches `deadline_ms`.
    Schedule {
        deadline_ms: u64,
        height: Height,
        round: Round,
        step: TimeoutStep,
    },
    /// Ask a peer (the shell picks one; `attempt` makes the pick rotate)
    /// for committed blocks from height `from`; answer with
    /// [`super::Host::on_blocks`] or [`super::Host::on_blocks_failed`]
    /// with the same `attempt`.
    /// `peer` is the peer whose height claim the request checks, if any
    /// (ask that one: a claim is verified by asking its claimant).
    RequestBlocks {
        from: u64,
        attempt: u64,
        peer: Option<PublicKey>,
    },
    /// A peer proved false (a page that does not verify, a height it could
    /// not serve): have the network penalise it.
    Penalise {
        peer: PublicKey,
        offence: super::catch_up::PeerOffence,
    },
    /// A block was committed: update metrics, events and latencies.
    Committed(Box<Committed>),
    /// The state at a snapshot height, for the shell to write on a
    /// blocking thread ([`crate::snapshots`]).
    Snapshot(Box<kopnet_ledger::snapshot::Capture>),
    /// Consensus started `height` with `validators`.
    HeightStarted {
        height: Height,
        validators: ValidatorSet,
    },
    /// The peers allowed to connect changed (a cooperative was added or
    /// removed by governance): give the network the new list.
    AllowList(Vec<PublicKey>),
    /// Conflicting messages of one validator were seen (the host keeps the
    /// evidence for its next proposal; this is for logs and metrics).
    Evidence(Evidence),
}

/// The effects of one call, in the order the shell must carry them out.
#[must_use = "effects carry messages to publish, timers and commits"]
#[derive(Debug, Default)]
pub struct Effects {
    items: Vec<Effect>,
}

impl Effects {
    pub fn push(&mut self, effect: Effect) {
        self.items.push(effect);
    }

    pub fn append(&mut self, other: Effects) {
        self.items.extend(other.items);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Effect> {
        self.items.iter()
    }
}

impl IntoIterator for Effects {
    type Item = Effect;
    type IntoIter = std::vec::IntoIter<Effect>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}
