//! The in-memory store a replay runs on: it keeps what executing a block
//! reads (state, idempotency and merchant payment records, offences, roots,
//! meta) and drops the
//! blocks and the read indexes, so a replay of a long chain holds about as
//! much as the node's own state, not the whole history.

use kopnet_ledger::storage::{KeyValue, StorageError, WriteBatch};
use kopnet_ledger::{MemoryStorage, Storage};

/// Key prefixes ([`kopnet_ledger::keys`]) a replay never reads back:
/// blocks, the block-hash index, the blocks' transaction indexes, the
/// transaction places, history and evidence.
const DROPPED_PREFIXES: &[u8] = b"BKCTHE";

#[derive(Debug, Default, Clone)]
pub(crate) struct ReplayStore {
    inner: MemoryStorage,
}

impl Storage for ReplayStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        self.inner.scan_prefix(prefix)
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StorageError> {
        self.inner.scan_prefix_rev(prefix, before, limit)
    }

    fn first_key_with_prefix(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.first_key_with_prefix(prefix)
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let ops = batch
            .ops
            .into_iter()
            .filter(|(key, _)| {
                key.first()
                    .is_none_or(|prefix| !DROPPED_PREFIXES.contains(prefix))
            })
            .collect();
        self.inner.commit(WriteBatch { ops })
    }
}
