//! The byte bound of the event channel to the node: every gossip message
//! and request handed over holds an [`InboundPermit`] for its bytes until
//! the node drops the event, so undelivered data never exceeds
//! [`super::config::EVENT_QUEUE_BYTES_MAX`] however large each message is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The shared count of bytes handed to the node and not yet released.
#[derive(Debug, Clone)]
pub(crate) struct InboundBytes {
    held: Arc<AtomicUsize>,
    max: usize,
}

impl InboundBytes {
    pub(crate) fn new(max: usize) -> InboundBytes {
        InboundBytes {
            held: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Reserve `bytes`, or `None` if that would exceed the bound.
    pub(crate) fn try_reserve(&self, bytes: usize) -> Option<InboundPermit> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.max)
            })
            .ok()?;
        Some(InboundPermit {
            held: self.held.clone(),
            bytes,
        })
    }

    /// Bytes reserved right now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// A share of the inbound byte bound, carried inside a
/// [`super::NetEvent`]; released when the node drops the event.
pub struct InboundPermit {
    held: Arc<AtomicUsize>,
    bytes: usize,
}

impl InboundPermit {
    /// The bytes this permit holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl std::fmt::Debug for InboundPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InboundPermit({} bytes)", self.bytes)
    }
}

impl Drop for InboundPermit {
    fn drop(&mut self) {
        // Never below zero: every permit added its bytes first.
        let _ = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(self.bytes))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_bound_and_dropping_releases_them() {
        let bytes = InboundBytes::new(100);
        let first = bytes.try_reserve(60).unwrap();
        assert_eq!(first.bytes(), 60);
        assert!(bytes.try_reserve(41).is_none());
        let second = bytes.try_reserve(40).unwrap();
        assert_eq!(bytes.held(), 100);
        assert!(bytes.try_reserve(1).is_none());
        drop(first);
        assert_eq!(bytes.held(), 40);
        assert!(bytes.try_reserve(60).is_some(), "dropped at once: released");
        assert_eq!(bytes.held(), 40);
        drop(second);
        assert_eq!(bytes.held(), 0);
        assert!(bytes.try_reserve(usize::MAX).is_none());
        assert!(bytes.try_reserve(0).is_some());
    }
}
