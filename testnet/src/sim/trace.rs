//! The trace of a run: every applied event, hashed as it is recorded (blake3
//! over the codec encoding of each entry in order, which equals hashing the
//! encoded trace), with a bounded tail kept for failure reports.

use kopnet_consensus::codec;
use serde::Serialize;
use std::collections::VecDeque;

/// Trace lines kept for a failure report.
pub const TAIL_MAX: usize = 40;

/// One applied event, in a form that does not depend on memory layout.
#[derive(Clone, Debug, Serialize)]
pub enum TraceEvent {
    Deliver {
        from: u32,
        to: u32,
        what: String,
    },
    Dropped {
        from: u32,
        to: u32,
        what: String,
        reason: String,
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
    Txs {
        node: u32,
    },
    Crash {
        node: u32,
        mid_send: bool,
    },
    Restart {
        node: u32,
        height: u64,
    },
    Partition {
        groups: Vec<u8>,
    },
    Heal,
    Decide {
        node: u32,
        height: u64,
        round: u32,
        value: String,
    },
    Evidence {
        node: u32,
        offender: String,
    },
}

#[derive(Serialize)]
struct Entry<'a> {
    index: u64,
    time_ms: u64,
    event: &'a TraceEvent,
}

pub struct Trace {
    hasher: blake3::Hasher,
    tail: VecDeque<String>,
    count: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            hasher: blake3::Hasher::new_derive_key("kopnet sim trace v1"),
            tail: VecDeque::new(),
            count: 0,
        }
    }
}

impl Trace {
    pub fn record(&mut self, time_ms: u64, event: TraceEvent) {
        let entry = Entry {
            index: self.count,
            time_ms,
            event: &event,
        };
        if let Ok(bytes) = codec::encode(&entry) {
            self.hasher.update(&bytes);
        }
        self.count += 1;
        if self.tail.len() == TAIL_MAX {
            self.tail.pop_front();
        }
        self.tail
            .push_back(format!("#{} t={}ms {:?}", self.count - 1, time_ms, event));
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
        self.tail.iter().cloned().collect()
    }
}
