//! A store that fails on purpose, for the node host's tests and the
//! simulator.
//!
//! [`FaultyStorage`] wraps a store (`inner`, standing for the disk) and
//! models what a real store's commit is: **apply, then flush**. sled's
//! `apply_batch` lands a batch in memory that readers already see, and
//! `flush` makes it durable; when the flush fails (a full disk, an I/O
//! error) the store holds more than the caller was told is committed, and
//! a power cut takes that part away again. So the wrapper keeps an
//! *unflushed tail*: batches that were applied (reads see them) but whose
//! flush failed (they are not in `inner`). The caller decides what becomes
//! of the tail when the machine goes down:
//!
//! - [`FaultyStorage::power_cut`]: the tail is lost; what `inner` holds is
//!   what a restart finds;
//! - [`FaultyStorage::write_back`]: the process died but the machine did
//!   not, and the operating system wrote the tail out after all (after a
//!   failed `fsync` nothing promises either way, so a simulation draws it).
//!
//! A commit that returns `Ok` has been flushed: the tail is empty unless a
//! fault fired. Faults are armed by the caller ([`StorageFault`]), fire at
//! most once, and are sticky: once one fired, every later commit is
//! refused (a broken disk stays broken) until [`FaultyStorage::repair`],
//! which a test or the simulator calls when the node restarts ("the
//! operator freed space"). Nothing here reads a clock or draws a random
//! number: the simulator arms faults from its seeded generator.

use super::{KeyValue, Storage, StorageError, WriteBatch};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// A fault to inject into the next commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFault {
    /// The commit after the next `after_commits` good ones is refused
    /// before anything is applied (an I/O error on write).
    FailWrite { after_commits: u64 },
    /// The commit after the next `after_commits` good ones is applied, but
    /// its flush fails: the batch stays in the unflushed tail.
    FailFlush { after_commits: u64 },
    /// The disk has room for `bytes_left` more bytes (keys and values
    /// written): the commit that needs more is applied and its flush fails
    /// with no space left, as sled's flush does on a full disk.
    DiskFull { bytes_left: u64 },
}

/// A fault that fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FiredFault {
    /// A commit was refused, nothing applied.
    WriteRefused,
    /// A commit was applied and its flush failed.
    FlushFailed,
    /// A commit was applied and its flush found the disk full.
    DiskFull,
}

impl FiredFault {
    /// What a commit refused by this fault reports.
    pub fn message(self) -> &'static str {
        match self {
            FiredFault::WriteRefused => "commit refused",
            FiredFault::FlushFailed => "flush failed after the batch was applied",
            FiredFault::DiskFull => "no space left on device (flush after the batch was applied)",
        }
    }
}

#[derive(Debug, Default)]
struct Faults {
    armed: Option<StorageFault>,
    /// Good commits and bytes written since the fault was armed.
    commits: u64,
    bytes: u64,
    fired: Option<FiredFault>,
    /// Applied, not flushed, oldest first.
    unflushed: Vec<WriteBatch>,
}

/// Wraps a store (the "disk") with injected write and flush faults and an
/// unflushed tail that a power cut loses. See the module docs.
#[derive(Debug)]
pub struct FaultyStorage<S> {
    inner: S,
    faults: Mutex<Faults>,
}

/// Bytes a batch writes: every key, and every value put.
pub fn batch_bytes(batch: &WriteBatch) -> u64 {
    batch
        .ops
        .iter()
        .map(|(k, v)| k.len().saturating_add(v.as_ref().map_or(0, Vec::len)))
        .fold(0u64, |sum, n| {
            sum.saturating_add(u64::try_from(n).unwrap_or(u64::MAX))
        })
}

impl<S: Storage> FaultyStorage<S> {
    /// A wrapper that refuses every commit after the first `commits_ok`
    /// (`u64::MAX`: no fault armed).
    pub fn new(inner: S, commits_ok: u64) -> Self {
        let storage = FaultyStorage {
            inner,
            faults: Mutex::default(),
        };
        storage.allow(commits_ok);
        storage
    }

    /// Allow `n` more commits and refuse the ones after
    /// ([`StorageFault::FailWrite`]); `u64::MAX` repairs instead.
    pub fn allow(&self, n: u64) {
        if n == u64::MAX {
            self.repair();
        } else {
            self.arm(StorageFault::FailWrite { after_commits: n });
        }
    }

    /// Arm `fault` (replacing any armed one; one that already fired stays
    /// fired until [`FaultyStorage::repair`]).
    pub fn arm(&self, fault: StorageFault) {
        let mut f = self.lock();
        f.armed = Some(fault);
        f.commits = 0;
        f.bytes = 0;
    }

    /// Clear the armed and the fired fault: commits work again. The
    /// unflushed tail stays (the next good commit flushes it along).
    pub fn repair(&self) {
        let mut f = self.lock();
        f.armed = None;
        f.fired = None;
        f.commits = 0;
        f.bytes = 0;
    }

    /// The fault that fired since the last repair, if any.
    pub fn fired(&self) -> Option<FiredFault> {
        self.lock().fired
    }

    /// Whether a fault is armed and has not fired yet.
    pub fn armed(&self) -> bool {
        let f = self.lock();
        f.armed.is_some() && f.fired.is_none()
    }

    /// Batches applied but not flushed.
    pub fn unflushed(&self) -> usize {
        self.lock().unflushed.len()
    }

    /// The power goes: the unflushed tail is lost. Returns how many
    /// batches were.
    pub fn power_cut(&self) -> usize {
        std::mem::take(&mut self.lock().unflushed).len()
    }

    /// The process died, the machine did not: the unflushed tail reaches
    /// the disk after all. Returns how many batches did.
    pub fn write_back(&self) -> Result<usize, StorageError> {
        let mut f = self.lock();
        let tail = std::mem::take(&mut f.unflushed);
        let count = tail.len();
        if count > 0 {
            self.inner.commit(concat(tail))?;
        }
        Ok(count)
    }

    /// The wrapped store (what is durable).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        // Nothing panics while holding the lock; a poisoned one holds
        // consistent data all the same.
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One batch doing what `batches` do in order.
fn concat(batches: Vec<WriteBatch>) -> WriteBatch {
    WriteBatch {
        ops: batches.into_iter().flat_map(|b| b.ops).collect(),
    }
}

impl Faults {
    /// The fault `batch` runs into, if any (and whether it was applied).
    fn strikes(&self, batch_size: u64) -> Option<FiredFault> {
        match self.armed? {
            StorageFault::FailWrite { after_commits } if self.commits >= after_commits => {
                Some(FiredFault::WriteRefused)
            }
            StorageFault::FailFlush { after_commits } if self.commits >= after_commits => {
                Some(FiredFault::FlushFailed)
            }
            StorageFault::DiskFull { bytes_left }
                if self.bytes.saturating_add(batch_size) > bytes_left =>
            {
                Some(FiredFault::DiskFull)
            }
            _ => None,
        }
    }

    /// The value the tail gives `key`, if the tail touches it (`Some(None)`:
    /// deleted).
    fn tail_value(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.unflushed
            .iter()
            .rev()
            .flat_map(|b| b.ops.iter().rev())
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v.clone())
    }
}

impl<S: Storage> FaultyStorage<S> {
    /// Every entry under `prefix` as reads see it: the disk with the tail
    /// applied over it.
    fn merged(
        &self,
        f: &Faults,
        prefix: &[u8],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StorageError> {
        let mut map: BTreeMap<Vec<u8>, Vec<u8>> =
            self.inner.scan_prefix(prefix)?.into_iter().collect();
        for (key, value) in f.unflushed.iter().flat_map(|b| b.ops.iter()) {
            if !key.starts_with(prefix) {
                continue;
            }
            match value {
                Some(v) => map.insert(key.clone(), v.clone()),
                None => map.remove(key),
            };
        }
        Ok(map)
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let f = self.lock();
        match f.tail_value(key) {
            Some(value) => Ok(value),
            None => self.inner.get(key),
        }
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        let f = self.lock();
        if f.unflushed.is_empty() {
            return self.inner.scan_prefix(prefix);
        }
        Ok(self.merged(&f, prefix)?.into_iter().collect())
    }

    fn first_key_with_prefix(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let f = self.lock();
        if f.unflushed.is_empty() {
            return self.inner.first_key_with_prefix(prefix);
        }
        Ok(self.merged(&f, prefix)?.into_keys().next())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError> {
        let f = self.lock();
        if f.unflushed.is_empty() {
            return self.inner.scan_prefix_rev(prefix, before, limit);
        }
        Ok(self
            .merged(&f, prefix)?
            .into_iter()
            .rev()
            .filter(|(k, _)| before.is_none_or(|b| k.as_slice() < b))
            .take(limit)
            .collect())
    }

    /// Apply, then flush; `Ok` only once the batch (with any tail left by
    /// a repaired fault) is in the wrapped store.
    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut f = self.lock();
        if let Some(fired) = f.fired {
            return Err(StorageError::Injected(fired.message()));
        }
        let size = batch_bytes(&batch);
        if let Some(fired) = f.strikes(size) {
            f.fired = Some(fired);
            if fired != FiredFault::WriteRefused {
                // Applied (reads see it), not flushed.
                f.unflushed.push(batch);
            }
            return Err(StorageError::Injected(fired.message()));
        }
        f.commits = f.commits.saturating_add(1);
        f.bytes = f.bytes.saturating_add(size);
        if f.unflushed.is_empty() {
            return self.inner.commit(batch);
        }
        let mut tail = std::mem::take(&mut f.unflushed);
        tail.push(batch);
        self.inner.commit(concat(tail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn batch(ops: &[(&str, Option<&str>)]) -> WriteBatch {
        let mut b = WriteBatch::default();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
                None => b.delete(k.as_bytes().to_vec()),
            }
        }
        b
    }

    fn get(s: &impl Storage, key: &str) -> Option<String> {
        s.get(key.as_bytes())
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    }

    fn keys(entries: Vec<KeyValue>) -> Vec<String> {
        entries
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect()
    }

    #[test]
    fn a_refused_write_applies_nothing_and_stays_refused_until_repaired() {
        let disk = MemoryStorage::new();
        let s = FaultyStorage::new(disk.clone(), u64::MAX);
        s.arm(StorageFault::FailWrite { after_commits: 1 });
        s.commit(batch(&[("a", Some("1"))])).unwrap();
        let err = s.commit(batch(&[("b", Some("2"))])).unwrap_err();
        assert_eq!(err, StorageError::Injected("commit refused"));
        assert_eq!(s.fired(), Some(FiredFault::WriteRefused));
        assert_eq!(get(&s, "b"), None);
        assert_eq!(s.unflushed(), 0);
        // Sticky: a broken disk stays broken.
        assert!(s.commit(batch(&[("c", Some("3"))])).is_err());
        s.repair();
        s.commit(batch(&[("c", Some("3"))])).unwrap();
        assert_eq!(get(&disk, "a").as_deref(), Some("1"));
        assert_eq!(get(&disk, "c").as_deref(), Some("3"));
    }

    #[test]
    fn a_failed_flush_leaves_the_batch_visible_but_not_durable() {
        let disk = MemoryStorage::new();
        let s = FaultyStorage::new(disk.clone(), u64::MAX);
        s.commit(batch(&[("k1", Some("old")), ("k2", Some("two"))]))
            .unwrap();
        s.arm(StorageFault::FailFlush { after_commits: 0 });
        let err = s
            .commit(batch(&[
                ("k1", Some("new")),
                ("k2", None),
                ("k3", Some("3")),
            ]))
            .unwrap_err();
        assert!(matches!(err, StorageError::Injected(m) if m.contains("flush")));
        assert_eq!(s.fired(), Some(FiredFault::FlushFailed));
        // Readers see the applied batch: the store is ahead of its caller.
        assert_eq!(get(&s, "k1").as_deref(), Some("new"));
        assert_eq!(get(&s, "k2"), None);
        assert_eq!(keys(s.scan_prefix(b"k").unwrap()), ["k1", "k3"]);
        assert_eq!(keys(s.scan_prefix_rev(b"k", None, 1).unwrap()), ["k3"]);
        assert_eq!(
            keys(s.scan_prefix_rev(b"k", Some(b"k3"), 5).unwrap()),
            ["k1"]
        );
        // The disk has the old state.
        assert_eq!(get(&disk, "k1").as_deref(), Some("old"));
        assert_eq!(get(&disk, "k2").as_deref(), Some("two"));
        // A power cut loses the tail.
        assert_eq!(s.power_cut(), 1);
        assert_eq!(get(&s, "k1").as_deref(), Some("old"));
        assert_eq!(keys(s.scan_prefix(b"k").unwrap()), ["k1", "k2"]);
    }

    #[test]
    fn a_tail_written_back_reaches_the_disk_in_order() {
        let disk = MemoryStorage::new();
        let s = FaultyStorage::new(disk.clone(), u64::MAX);
        s.arm(StorageFault::FailFlush { after_commits: 0 });
        assert!(s
            .commit(batch(&[("k", Some("1")), ("k", Some("2"))]))
            .is_err());
        assert_eq!(get(&disk, "k"), None);
        assert_eq!(s.write_back().unwrap(), 1);
        assert_eq!(get(&disk, "k").as_deref(), Some("2"));
        assert_eq!(s.unflushed(), 0);
        assert_eq!(s.power_cut(), 0);
    }

    #[test]
    fn a_repaired_store_flushes_the_old_tail_with_the_next_commit() {
        let disk = MemoryStorage::new();
        let s = FaultyStorage::new(disk.clone(), u64::MAX);
        s.arm(StorageFault::FailFlush { after_commits: 0 });
        assert!(s.commit(batch(&[("a", Some("1"))])).is_err());
        s.repair();
        s.commit(batch(&[("b", Some("2"))])).unwrap();
        assert_eq!(s.unflushed(), 0);
        assert_eq!(get(&disk, "a").as_deref(), Some("1"));
        assert_eq!(get(&disk, "b").as_deref(), Some("2"));
    }

    #[test]
    fn a_full_disk_fails_the_commit_that_needs_more_room() {
        let disk = MemoryStorage::new();
        let s = FaultyStorage::new(disk.clone(), u64::MAX);
        s.arm(StorageFault::DiskFull { bytes_left: 10 });
        // "a" + "1234" = 5 bytes, twice: exactly full.
        s.commit(batch(&[("a", Some("1234"))])).unwrap();
        s.commit(batch(&[("b", Some("1234"))])).unwrap();
        let err = s.commit(batch(&[("c", None)])).unwrap_err();
        assert!(matches!(err, StorageError::Injected(m) if m.contains("no space")));
        assert_eq!(s.fired(), Some(FiredFault::DiskFull));
        assert_eq!(s.unflushed(), 1);
        assert_eq!(s.power_cut(), 1);
        assert_eq!(get(&disk, "b").as_deref(), Some("1234"));
    }

    #[test]
    fn the_old_switch_still_refuses_after_n_commits() {
        let s = FaultyStorage::new(MemoryStorage::new(), 1);
        s.commit(batch(&[("a", Some("1"))])).unwrap();
        assert!(s.commit(batch(&[("b", Some("2"))])).is_err());
        s.allow(u64::MAX);
        s.commit(batch(&[("b", Some("2"))])).unwrap();
        assert_eq!(batch_bytes(&batch(&[("ab", Some("cde")), ("f", None)])), 6);
    }
}
