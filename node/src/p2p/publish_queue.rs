//! Gossip waiting for a subscriber: bounded by count, bytes and age.

use super::config::{PUBLISH_QUEUE_AGE_MAX, PUBLISH_QUEUE_BYTES_MAX, PUBLISH_QUEUE_MESSAGES_MAX};
use super::Topic;
use std::collections::VecDeque;
use tokio::time::Instant;

/// One message waiting for a subscriber.
pub(crate) struct Queued {
    pub(crate) topic: Topic,
    pub(crate) data: Vec<u8>,
    pub(crate) since: Instant,
}

impl Queued {
    pub(crate) fn is_stale(&self) -> bool {
        self.since.elapsed() > PUBLISH_QUEUE_AGE_MAX
    }
}

/// FIFO of unpublished gossip; the oldest message goes first when full.
#[derive(Default)]
pub(crate) struct PublishQueue {
    items: VecDeque<Queued>,
    bytes: usize,
}

impl PublishQueue {
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Append, dropping the oldest messages (with a warning) past the bounds.
    pub(crate) fn push(&mut self, queued: Queued) {
        self.bytes = self.bytes.saturating_add(queued.data.len());
        self.items.push_back(queued);
        while self.items.len() > PUBLISH_QUEUE_MESSAGES_MAX || self.bytes > PUBLISH_QUEUE_BYTES_MAX
        {
            let Some(dropped) = self.items.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(dropped.data.len());
            tracing::warn!(
                topic = ?dropped.topic,
                bytes = dropped.data.len(),
                "publish queue full: dropped the oldest unpublished message"
            );
        }
        debug_assert!(self.items.len() <= PUBLISH_QUEUE_MESSAGES_MAX);
    }

    /// Take everything out, oldest first (to retry and push back what still waits).
    pub(crate) fn take(&mut self) -> VecDeque<Queued> {
        self.bytes = 0;
        std::mem::take(&mut self.items)
    }
}
