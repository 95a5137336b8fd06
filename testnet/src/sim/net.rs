//! The simulated network: an event queue ordered by (time, sequence), and a
//! link model with seeded drop, duplication, delay (hence reordering) and
//! partitions.

use kopnet_consensus::{Height, Message, Round, TimeoutStep};
use kopnet_node::wire::SyncResponse;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

pub type NodeId = usize;

/// What travels between simulated nodes.
#[derive(Clone, Debug)]
pub enum NetMsg {
    Consensus(Message),
    /// A burst of consensus messages, delivered in order as one event (a
    /// flooding node's, [`super::flood`]).
    Flood(Arc<[Message]>),
    /// An encoded transaction a client submitted to the sender, passed on
    /// to peers.
    Tx(Arc<[u8]>),
    /// "I committed this height": the encoded consensus-gossip hint, as
    /// the sender's host made it (naming the sender's node identity), or
    /// as a lying node forged it.
    Hint(Arc<[u8]>),
    /// "Send me committed blocks from this height on" (catch-up request
    /// `attempt` of the sender's host).
    SyncRequest {
        from: Height,
        attempt: u64,
    },
    SyncResponse {
        attempt: u64,
        response: Arc<SyncResponse>,
    },
}

/// The three partition shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// One node cut off from all others.
    Isolate,
    /// Nodes holding less than a third of the voting power cut off.
    Minority,
    /// The nodes split in two sides of about half the voting power each.
    Split,
}

/// Something scheduled to happen.
#[derive(Clone, Debug)]
pub enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        /// Send order (duplicates share it): a delivery below the highest
        /// already delivered on the link was reordered.
        seq: u64,
        msg: NetMsg,
    },
    Timer {
        node: NodeId,
        incarnation: u64,
        height: Height,
        round: Round,
        step: TimeoutStep,
    },
    Gossip {
        node: NodeId,
    },
    /// A catch-up request of the node's host got no answer in time.
    SyncTimeout {
        node: NodeId,
        incarnation: u64,
        attempt: u64,
    },
    /// The clients act: new intents, signing, submission, resubmission.
    Clients,
    Crash {
        node: NodeId,
        how: CrashKind,
    },
    Restart {
        node: NodeId,
    },
    Partition {
        groups: Vec<u8>,
        kind: PartitionKind,
    },
    Heal,
}

/// When a scheduled crash strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// At once, between two events.
    Now,
    /// After the node persists its next safety record, before it sends.
    MidSend,
    /// At the node's storage write after the next `commits_ok` ones.
    AtWrite { commits_ok: u64 },
    /// `--storage-faults`: a fault armed in the node's store or safety
    /// record (the host must fail stop at it), or a power cut now.
    Disk(super::disk::DiskFault),
}

/// Events ordered by time, then by insertion order: deterministic.
#[derive(Default)]
pub struct EventQueue {
    events: BTreeMap<(u64, u64), Event>,
    sequence: u64,
}

impl EventQueue {
    pub fn push(&mut self, at_ms: u64, event: Event) {
        self.sequence += 1;
        self.events.insert((at_ms, self.sequence), event);
    }

    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.events.pop_first().map(|((at, _), e)| (at, e))
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// What the link did with one send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered at these times (two: duplicated).
    Deliver(Vec<u64>),
    /// Lost by the link's drop probability.
    Dropped,
    /// Not connected: a partition separates the two nodes.
    Cut,
}

/// Link behaviour, drawn once per seed.
#[derive(Clone, Debug)]
pub struct LinkModel {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    pub delay_ms_min: u64,
    pub delay_ms_max: u64,
    /// Partition group of every node; messages cross groups only when equal.
    pub groups: Vec<u8>,
}

impl LinkModel {
    pub fn clean(nodes: usize) -> Self {
        LinkModel {
            drop_probability: 0.0,
            duplicate_probability: 0.0,
            delay_ms_min: 1,
            delay_ms_max: 10,
            groups: vec![0; nodes],
        }
    }

    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        self.groups.get(a) == self.groups.get(b)
    }

    /// The fate of one send.
    pub fn fate(&self, rng: &mut ChaCha8Rng, now_ms: u64, from: NodeId, to: NodeId) -> Fate {
        if from != to && !self.connected(from, to) {
            return Fate::Cut;
        }
        if from != to && rng.gen_bool(self.drop_probability) {
            return Fate::Dropped;
        }
        let copies = if rng.gen_bool(self.duplicate_probability) {
            2
        } else {
            1
        };
        Fate::Deliver(
            (0..copies)
                .map(|_| now_ms + rng.gen_range(self.delay_ms_min..=self.delay_ms_max))
                .collect(),
        )
    }
}
