//! The trace of a run: every applied event, hashed as it is recorded (blake3
//! over the codec encoding of each entry in order, which equals hashing the
//! encoded trace), with a bounded tail kept for failure reports and, on
//! request, every line (`kopnet-sim --seed S --trace`).

use kopnet_consensus::{codec, Hash};
use serde::Serialize;
use std::collections::VecDeque;

/// Trace lines kept for a failure report.
pub const TAIL_MAX: usize = 40;

/// The first 6 bytes of a hash in hex: enough to tell values apart in a trace.
pub fn short(hash: &Hash) -> String {
    hex::encode(&hash.0[..6])
}

/// One applied event, in a form that does not depend on memory layout.
#[derive(Clone, Debug, Serialize)]
pub enum TraceEvent {
    Deliver {
        from: u32,
        to: u32,
        what: String,
    },
    Timer {
        node: u32,
        height: u64,
        round: u32,
        step: String,
    },
    Gossip {
        node: u32,
    },
    Clients,
    /// A client handed a transaction to a node.
    Submit {
        node: u32,
        tx: String,
        resubmit: bool,
    },
    Governance {
        what: String,
    },
    Crash {
        node: u32,
        how: String,
    },
    /// The node crashed after persisting its record, before sending.
    CrashedMidSend {
        node: u32,
    },
    /// The node crashed at a storage write (its store refused it).
    CrashedAtWrite {
        node: u32,
        error: String,
    },
    Restart {
        node: u32,
        height: u64,
        state_root: String,
    },
    Partition {
        groups: Vec<u8>,
        kind: String,
    },
    Heal,
    Decide {
        node: u32,
        height: u64,
        round: u32,
        value: String,
    },
    /// The decided block applied on the node's ledger.
    Commit {
        node: u32,
        height: u64,
        txs: u32,
        rejected: u32,
        state_root: String,
    },
    /// `--faulty-ledger`: the node's ledger was corrupted outside any block.
    Corrupted {
        node: u32,
    },
    /// The first time any node used the validator set of `height`.
    ValidatorSet {
        height: u64,
        powers: String,
    },
    Evidence {
        node: u32,
        offender: String,
    },
    /// The node's host asked for a peer to be penalised.
    Penalise {
        node: u32,
        peer: String,
        offence: String,
    },
    /// `--storage-faults`: the node failed stop on a storage fault, or lost
    /// power, and what became of its unflushed data.
    Storage {
        node: u32,
        what: String,
    },
}

#[derive(Serialize)]
struct Entry<'a> {
    index: u64,
    time_ms: u64,
    event: &'a TraceEvent,
}

/// A recorded entry, formatted only when a report needs it.
struct Line {
    index: u64,
    time_ms: u64,
    event: TraceEvent,
}

impl Line {
    fn render(&self) -> String {
        format!("#{} t={}ms {:?}", self.index, self.time_ms, self.event)
    }
}

pub struct Trace {
    hasher: blake3::Hasher,
    tail: VecDeque<Line>,
    full: Option<Vec<String>>,
    count: u64,
}

impl Trace {
    /// A trace; `full` keeps every line.
    pub fn new(full: bool) -> Self {
        Trace {
            hasher: blake3::Hasher::new_derive_key("kopnet sim trace v2"),
            tail: VecDeque::new(),
            full: full.then(Vec::new),
            count: 0,
        }
    }

    pub fn record(&mut self, time_ms: u64, event: TraceEvent) {
        let entry = Entry {
            index: self.count,
            time_ms,
            event: &event,
        };
        if let Ok(bytes) = codec::encode(&entry) {
            self.hasher.update(&bytes);
        }
        let line = Line {
            index: self.count,
            time_ms,
            event,
        };
        self.count += 1;
        if let Some(full) = &mut self.full {
            full.push(line.render());
        }
        if self.tail.len() == TAIL_MAX {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    pub fn hash_hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().map(Line::render).collect()
    }

    /// Every line, if the trace was created with `full`.
    pub fn take_full(&mut self) -> Option<Vec<String>> {
        self.full.take()
    }
}
