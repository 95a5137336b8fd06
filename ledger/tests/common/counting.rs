//! A store wrapper that counts what the ledger reads.

use kopnet_ledger::storage::{KeyValue, StorageError, WriteBatch};
use kopnet_ledger::Storage;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counts what a store hands out: entries returned by reads and scans, and
/// those of them that are idempotency records; and keeps the key of every
/// point read, found or not.
pub struct Counting<S> {
    inner: S,
    entries: AtomicU64,
    records: AtomicU64,
    looked_up: Mutex<Vec<Vec<u8>>>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Self {
        Counting {
            inner,
            entries: AtomicU64::new(0),
            records: AtomicU64::new(0),
            looked_up: Mutex::new(Vec::new()),
        }
    }
    /// Point reads so far of keys that start with `prefix` (a whole key
    /// counts only itself and the keys it prefixes).
    pub fn lookups(&self, prefix: &[u8]) -> u64 {
        let keys = self.looked_up.lock().unwrap();
        keys.iter().filter(|k| k.starts_with(prefix)).count() as u64
    }
    fn count<'a>(&self, keys: impl Iterator<Item = &'a [u8]>) {
        for key in keys {
            self.entries.fetch_add(1, Ordering::SeqCst);
            if key.starts_with(kopnet_ledger::keys::IDEMPOTENCY_PREFIX) {
                self.records.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    pub fn counts(&self) -> (u64, u64) {
        (
            self.entries.load(Ordering::SeqCst),
            self.records.load(Ordering::SeqCst),
        )
    }
}

impl<S: Storage> Storage for Counting<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.looked_up.lock().unwrap().push(key.to_vec());
        let value = self.inner.get(key)?;
        if value.is_some() {
            self.count(std::iter::once(key));
        }
        Ok(value)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        let rows = self.inner.scan_prefix(prefix)?;
        self.count(rows.iter().map(|(k, _)| k.as_slice()));
        Ok(rows)
    }
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError> {
        let rows = self.inner.scan_prefix_rev(prefix, before, limit)?;
        self.count(rows.iter().map(|(k, _)| k.as_slice()));
        Ok(rows)
    }
    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        self.inner.commit(batch)
    }
}
