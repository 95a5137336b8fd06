//! Storage behind a small trait: sled for nodes, memory for tests and
//! simulations, and a fault-injecting wrapper ([`faulty`]) that fails
//! writes and flushes on demand and loses what was not flushed on a
//! simulated power cut.
//!
//! The ledger needs only point reads, prefix scans and one atomic, durable
//! batch write per block.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub mod faulty;
pub use faulty::{FaultyStorage, FiredFault, StorageFault};

/// Default sled page cache: modest, so that several nodes fit on one machine.
pub const CACHE_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// sled's log segment size (its default is 512 KiB). Measured with
/// `ledger/examples/store_bytes.rs` (BENCHMARKS.md, "Storage per block
/// (issue 21)"): with 8 MiB segments sled's files grow by about half as
/// much per payment (1,100-1,600 bytes against ~3,300), for the same
/// instructions on the commit path and no more resident memory. sled
/// refuses to reopen a store with another segment size, so this is part
/// of the store format ([`crate::keys::STORE_FORMAT`] 2).
pub const SEGMENT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// Puts (`Some`) and deletes (`None`) applied together or not at all.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }
}

pub type KeyValue = (Vec<u8>, Vec<u8>);

/// What [`Storage::scan_prefix_with`] calls with each entry (key, value).
pub type EntryVisitor<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<(), StorageError>;

/// What the ledger needs from a key-value store.
pub trait Storage: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Bytes `range` of the value under `key`: `None` when there is no
    /// such key or the value is shorter than `range.end`. A store that can
    /// share a value without copying it (sled's cache) copies only the
    /// range: a reader takes one transaction out of a stored block.
    fn get_range(
        &self,
        key: &[u8],
        range: std::ops::Range<usize>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .get(key)?
            .and_then(|v| v.get(range).map(<[u8]>::to_vec)))
    }
    /// Call `read` with the value under `key`, without copying it where the
    /// store can lend it (sled's cache); `false` when there is no such key.
    /// Readers that search inside a large value (a block's history
    /// entries) use this.
    fn read_with(&self, key: &[u8], read: &mut dyn FnMut(&[u8])) -> Result<bool, StorageError> {
        Ok(self.get(key)?.map(|value| read(&value)).is_some())
    }
    /// All entries whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError>;
    /// Call `visit` with each entry whose key starts with `prefix`, in key
    /// order, without collecting them: a store that can iterate (sled, the
    /// memory store) holds one entry at a time, so a caller that keeps
    /// little of each entry needs little memory however many there are
    /// (a snapshot reading a day's records). The default collects through
    /// [`Storage::scan_prefix`]. The first error `visit` returns ends the
    /// scan and is returned. `visit` must not use the store (the memory
    /// store holds its lock while it visits).
    fn scan_prefix_with(&self, prefix: &[u8], visit: EntryVisitor<'_>) -> Result<(), StorageError> {
        for (key, value) in self.scan_prefix(prefix)? {
            visit(&key, &value)?;
        }
        Ok(())
    }
    /// The first key (in key order) that starts with `prefix`, if any. The
    /// default reads every entry under `prefix`; the stores override it.
    fn first_key_with_prefix(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .scan_prefix(prefix)?
            .into_iter()
            .next()
            .map(|(key, _)| key))
    }
    /// Up to `limit` entries with key starting with `prefix` and below `before`
    /// (if given), in descending key order.
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError>;
    /// Apply a batch atomically; when this returns `Ok` the batch is durable.
    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError>;
}

type MemoryMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// An in-memory store (a `BTreeMap` behind a mutex).
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    map: Arc<Mutex<MemoryMap>>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryMap>, StorageError> {
        self.map
            .lock()
            .map_err(|_| StorageError::Io("memory store lock poisoned".into()))
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.lock()?.get(key).cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        Ok(self
            .lock()?
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn first_key_with_prefix(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .lock()?
            .range(prefix.to_vec()..)
            .next()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(prefix))
            .cloned())
    }

    fn scan_prefix_with(&self, prefix: &[u8], visit: EntryVisitor<'_>) -> Result<(), StorageError> {
        let map = self.lock()?;
        for (key, value) in map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            visit(key, value)?;
        }
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError> {
        let map = self.lock()?;
        let upper = match before {
            Some(b) => std::ops::Bound::Excluded(b.to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        Ok(map
            .range((std::ops::Bound::Included(prefix.to_vec()), upper))
            .rev()
            .filter(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut map = self.lock()?;
        for (key, value) in batch.ops {
            match value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }
}

/// sled 0.34.7 with a bounded page cache and [`SEGMENT_BYTES`] segments;
/// every commit is flushed.
#[derive(Debug, Clone)]
pub struct SledStorage {
    db: sled::Db,
}

fn io(e: sled::Error) -> StorageError {
    StorageError::Io(e.to_string())
}

impl SledStorage {
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .segment_size(SEGMENT_BYTES)
            .open()
            .map_err(|e| match e {
                // What sled says of a store written with its default
                // segment size: a store of format 1.
                sled::Error::Unsupported(ref what) if what.contains("io buffer size") => {
                    StorageError::Io(format!(
                        "{e}: the store was written by an earlier kopnet (store format 1); \
                         move data/ledger aside and start the node to resync it from peers \
                         (README, \"Recovering a damaged node\")"
                    ))
                }
                e => io(e),
            })?;
        Ok(SledStorage { db })
    }

    /// Bytes sled uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, StorageError> {
        self.db.size_on_disk().map_err(io)
    }
}

impl Storage for SledStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get(key).map_err(io)?.map(|v| v.to_vec()))
    }

    fn get_range(
        &self,
        key: &[u8],
        range: std::ops::Range<usize>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        // sled hands out a shared handle on a cached value: only the range
        // is copied.
        Ok(self
            .db
            .get(key)
            .map_err(io)?
            .and_then(|v| v.get(range).map(<[u8]>::to_vec)))
    }

    fn read_with(&self, key: &[u8], read: &mut dyn FnMut(&[u8])) -> Result<bool, StorageError> {
        Ok(self.db.get(key).map_err(io)?.map(|v| read(&v)).is_some())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        self.db
            .scan_prefix(prefix)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io))
            .collect()
    }

    fn first_key_with_prefix(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        match self.db.scan_prefix(prefix).keys().next() {
            Some(key) => Ok(Some(key.map_err(io)?.to_vec())),
            None => Ok(None),
        }
    }

    fn scan_prefix_with(&self, prefix: &[u8], visit: EntryVisitor<'_>) -> Result<(), StorageError> {
        for entry in self.db.scan_prefix(prefix) {
            let (key, value) = entry.map_err(io)?;
            visit(&key, &value)?;
        }
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError> {
        let iter = match before {
            Some(b) => self.db.range(prefix.to_vec()..b.to_vec()),
            None => self.db.scan_prefix(prefix),
        };
        iter.rev()
            .filter(|r| matches!(r, Ok((k, _)) if k.starts_with(prefix)) || r.is_err())
            .take(limit)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io))
            .collect()
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut sled_batch = sled::Batch::default();
        for (key, value) in batch.ops {
            match value {
                Some(v) => sled_batch.insert(key, v),
                None => sled_batch.remove(key),
            }
        }
        self.db.apply_batch(sled_batch).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }
}

/// `Storage` for a type that derefs to a store (`&S`, `Arc<S>`): every
/// method, the defaulted `get_range` included, goes to the store itself.
macro_rules! storage_by_deref {
    ($($target:ty),+) => {$(
        impl<S: Storage + ?Sized> Storage for $target {
            fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
                (**self).get(key)
            }
            fn get_range(
                &self,
                key: &[u8],
                range: std::ops::Range<usize>,
            ) -> Result<Option<Vec<u8>>, StorageError> {
                (**self).get_range(key, range)
            }
            fn read_with(
                &self,
                key: &[u8],
                read: &mut dyn FnMut(&[u8]),
            ) -> Result<bool, StorageError> {
                (**self).read_with(key, read)
            }
            fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
                (**self).scan_prefix(prefix)
            }
            fn scan_prefix_with(
                &self,
                prefix: &[u8],
                visit: EntryVisitor<'_>,
            ) -> Result<(), StorageError> {
                (**self).scan_prefix_with(prefix, visit)
            }
            fn scan_prefix_rev(
                &self,
                prefix: &[u8],
                before: Option<&[u8]>,
                limit: usize,
            ) -> Result<Vec<KeyValue>, StorageError> {
                (**self).scan_prefix_rev(prefix, before, limit)
            }
            fn first_key_with_prefix(
                &self,
                prefix: &[u8],
            ) -> Result<Option<Vec<u8>>, StorageError> {
                (**self).first_key_with_prefix(prefix)
            }
            fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
                (**self).commit(batch)
            }
        }
    )+};
}

storage_by_deref!(&S, Arc<S>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_the_earlier_segment_size_is_refused_saying_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let old = sled::Config::new().path(dir.path()).open().unwrap();
        old.insert(b"Mheight", &[0u8; 8]).unwrap();
        old.flush().unwrap();
        drop(old);
        let refused = SledStorage::open(dir.path(), CACHE_BYTES_DEFAULT).unwrap_err();
        let StorageError::Io(message) = refused else {
            panic!("{refused}")
        };
        assert!(message.contains("store format 1"), "{message}");
        assert!(message.contains("resync"), "{message}");

        let fresh = tempfile::tempdir().unwrap();
        let store = SledStorage::open(fresh.path(), CACHE_BYTES_DEFAULT).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(b"k".to_vec(), b"value".to_vec());
        store.commit(batch).unwrap();
        assert_eq!(store.get_range(b"k", 1..3).unwrap(), Some(b"al".to_vec()));
        assert_eq!(store.get_range(b"k", 3..9).unwrap(), None);
        assert_eq!(store.get_range(b"x", 0..1).unwrap(), None);
        drop(store);
        // sled's background jobs may hold the lock for a moment after the
        // last handle is dropped: only that is waited out, with a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match SledStorage::open(fresh.path(), CACHE_BYTES_DEFAULT) {
                Ok(_) => break,
                Err(e) if e.to_string().contains("could not acquire lock") => {
                    assert!(std::time::Instant::now() < deadline, "{e}");
                    std::thread::yield_now();
                }
                Err(e) => panic!("reopening: {e}"),
            }
        }
    }
}
