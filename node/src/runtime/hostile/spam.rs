//! `gossip-spam`: as fast as it goes out, on both topics in turn —
//! transaction batches of garbage, transaction batches this node received
//! re-sent (reordered, so gossip does not drop them as duplicates),
//! consensus gossip of garbage bytes, and consensus messages this node
//! received, replayed once gossip's duplicate memory has forgotten them.

use super::{Context, Publisher, Seen};
use crate::p2p::Topic;
use crate::wire::{self, TxBatch};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Received batches and messages kept for re-sending.
const KEPT_MAX: usize = 256;
/// Garbage transactions per garbage batch, and their size.
const GARBAGE_TXS: usize = 64;
const GARBAGE_TX_BYTES: usize = 256;
/// Garbage consensus gossip size.
const GARBAGE_CONSENSUS_BYTES: usize = 1_024;
/// How long gossip remembers a message id (gossipsub's default duplicate
/// cache is 60 s): a replay sooner would not go out at all.
const REPLAY_AFTER: Duration = Duration::from_secs(65);

/// What the spammer has received so far.
#[derive(Default)]
struct Kept {
    tx_batches: VecDeque<Vec<Vec<u8>>>,
    consensus: VecDeque<(Instant, Vec<u8>)>,
}

impl Kept {
    fn keep(&mut self, seen: Seen) {
        match seen {
            Seen::Gossip {
                topic: Topic::Transactions,
                data,
            } => {
                if let Ok(batch) = wire::decode::<TxBatch>(&data) {
                    push_bounded(&mut self.tx_batches, batch.txs);
                }
            }
            Seen::Gossip {
                topic: Topic::Consensus,
                data,
            } => push_bounded(&mut self.consensus, (Instant::now(), data)),
            Seen::OwnBroadcast(_) => {}
        }
    }

    /// A received consensus message old enough to be sent again.
    fn replay(&mut self, now: Instant) -> Option<Vec<u8>> {
        let (at, _) = self.consensus.front()?;
        if now.saturating_duration_since(*at) < REPLAY_AFTER {
            return None;
        }
        self.consensus.pop_front().map(|(_, data)| data)
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() >= KEPT_MAX {
        queue.pop_front();
    }
    queue.push_back(item);
}

pub(super) async fn run(ctx: Context, mut seen: mpsc::Receiver<Seen>, mut out: Publisher) {
    let mut kept = Kept::default();
    let mut n: u64 = 0;
    while !ctx.stopping() {
        while let Ok(item) = seen.try_recv() {
            kept.keep(item);
        }
        let (topic, data) = nth_message(&mut kept, n, Instant::now());
        out.send(topic, data).await;
        n = n.wrapping_add(1);
    }
}

/// The `n`-th message of the spam.
fn nth_message(kept: &mut Kept, n: u64, now: Instant) -> (Topic, Vec<u8>) {
    match n % 4 {
        0 => (Topic::Transactions, garbage_batch()),
        1 => {
            let index = usize::try_from(n / 4).unwrap_or(0);
            match kept.tx_batches.len() {
                0 => (Topic::Transactions, garbage_batch()),
                len => {
                    let mut txs = kept
                        .tx_batches
                        .get(index % len)
                        .cloned()
                        .unwrap_or_default();
                    let turn = index % txs.len().max(1);
                    txs.rotate_left(turn);
                    txs.push(random_bytes(GARBAGE_TX_BYTES));
                    (Topic::Transactions, wire::encode(&TxBatch { txs }))
                }
            }
        }
        2 => (Topic::Consensus, random_bytes(GARBAGE_CONSENSUS_BYTES)),
        _ => match kept.replay(now) {
            Some(data) => (Topic::Consensus, data),
            None => (Topic::Consensus, random_bytes(GARBAGE_CONSENSUS_BYTES)),
        },
    }
}

fn garbage_batch() -> Vec<u8> {
    let txs = (0..GARBAGE_TXS)
        .map(|_| random_bytes(GARBAGE_TX_BYTES))
        .collect();
    wire::encode(&TxBatch { txs })
}

fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_alternates_topics_resends_received_batches_and_replays_only_old_messages() {
        let mut kept = Kept::default();
        let t0 = Instant::now();
        let (topic, first) = nth_message(&mut kept, 0, t0);
        assert_eq!(topic, Topic::Transactions);
        assert_eq!(
            wire::decode::<TxBatch>(&first).unwrap().txs.len(),
            GARBAGE_TXS
        );
        let batch = TxBatch {
            txs: vec![vec![1], vec![2], vec![3]],
        };
        kept.keep(Seen::Gossip {
            topic: Topic::Transactions,
            data: wire::encode(&batch),
        });
        let (_, resent) = nth_message(&mut kept, 5, t0);
        let resent = wire::decode::<TxBatch>(&resent).unwrap();
        assert_eq!(resent.txs.len(), 4);
        assert!(batch.txs.iter().all(|tx| resent.txs.contains(tx)));
        assert_eq!(nth_message(&mut kept, 2, t0).0, Topic::Consensus);

        kept.keep(Seen::Gossip {
            topic: Topic::Consensus,
            data: vec![7; 10],
        });
        // Too fresh: garbage instead; old enough: the message itself.
        assert_ne!(nth_message(&mut kept, 3, Instant::now()).1, vec![7; 10]);
        let later = Instant::now() + REPLAY_AFTER + Duration::from_secs(1);
        assert_eq!(nth_message(&mut kept, 3, later).1, vec![7; 10]);

        for _ in 0..KEPT_MAX + 10 {
            kept.keep(Seen::Gossip {
                topic: Topic::Consensus,
                data: vec![1],
            });
        }
        assert_eq!(kept.consensus.len(), KEPT_MAX);
    }
}
