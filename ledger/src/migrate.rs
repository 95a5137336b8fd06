//! Store migrations: forward-only rewrites of a store written by an earlier
//! version into the layout this version reads ([`keys::STORE_FORMAT`]).
//!
//! Until format 8 every layout change was refused at start (the node said to
//! resync from peers). From format 8 on, a change that can be made from the
//! store alone is a migration here, run by the node at start
//! (`kopnet_node::store_migration`) after it has copied the store aside:
//!
//! - **8 → 9**: records kept on disk by day (idempotency records `I`,
//!   merchant payment records `P`) are stored as
//!   [`Sequenced`] — with their place in their day's hash chain, so that a
//!   snapshot can list them in chain order ([`crate::snapshot`]). A format-8
//!   record's place was never kept: it is rewritten with `seq: None`. Such
//!   records expire within the refund period like any other; until then the
//!   node cannot take a snapshot (it says so), and after that it can. The
//!   agreed state, its root and every block are unchanged.
//! - **9 → 10**: blocks write chain-order lists of the records kept by day
//!   ([`crate::day_order`]). Nothing is rewritten: the format number alone
//!   changes (so that an older version, which would never sweep the lists,
//!   refuses the store). A day with records but no lists is exported the
//!   older way ([`crate::snapshot`]) until it expires. A format-8 store
//!   takes both steps.
//! - **10 → 11**: transaction places are kept in runs
//!   ([`crate::ledger::place_index`]) instead of one `T` key each. Nothing
//!   is rewritten: the migration records the first height indexed in runs
//!   ([`keys::META_PLACE_RUNS_FROM`], the stored height + 1) with the
//!   format number; the `T` keys of the heights before it are still read
//!   and pruned. Every older format takes this step too.
//! - **11 → 12**: a block's idempotency records are one `W` value, found
//!   through runs (`V`). Nothing is rewritten: the `I` keys and their lists
//!   stay until their day expires, read before the runs.
//! - **12 → 13**: a block's payments kept for refunds are one `Y` value,
//!   found through runs (`Z`). Nothing is rewritten: the `P` keys and their
//!   lists stay until their refund period ends, read before the runs.
//!
//! **Crash safety.** Records are rewritten a page at a time, each page in one
//! atomic batch together with a cursor (`Mmigration`) naming the last key
//! done; a migration interrupted by a crash continues after the cursor. The
//! format number is written last, in the batch that removes the cursor.
//! **Forward only:** there is no way back to format 8 other than the copy
//! the node made before migrating.

use crate::keys;
use crate::refunds::MerchantPayment;
use crate::state::{IdempotencyRecord, Sequenced};
use crate::storage::{Storage, StorageError, WriteBatch};
use kopnet_primitives::codec;
use serde::{de::DeserializeOwned, Serialize};

/// Cursor of an interrupted migration: the prefix section and last key done.
pub const META_MIGRATION_CURSOR: &[u8] = b"Mmigration";
/// Records rewritten per atomic batch.
const PAGE_RECORDS: usize = 10_000;
/// The oldest format this version migrates from.
pub const MIGRATES_FROM: u64 = 8;

/// Why a store could not be migrated. Nothing in the store is lost: the
/// batches already written are complete pages with their cursor.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(
        "the store is of format {found}: this version migrates formats {MIGRATES_FROM} \
         to {} only; start the node from a fresh home to resync it from peers",
        keys::STORE_FORMAT
    )]
    TooOld { found: u64 },
    #[error(
        "the store is of format {found}, newer than this version's {}: run the newer kopnet",
        keys::STORE_FORMAT
    )]
    TooNew { found: u64 },
    #[error("the store has no format number: it is not a kopnet store")]
    NoFormat,
    #[error("record {key} does not decode as a format-{format} record: {reason}")]
    Corrupt {
        key: String,
        format: u64,
        reason: String,
    },
}

/// What a store needs before this version can open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// Empty (a new home) or of this version's format.
    Nothing,
    /// Of an older format this version migrates from.
    Migrate { from: u64 },
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub from: u64,
    pub to: u64,
    /// Records rewritten.
    pub records: u64,
}

fn stored_format<S: Storage>(store: &S) -> Result<Option<u64>, MigrationError> {
    match store.get(keys::META_STORE_FORMAT)? {
        None => Ok(None),
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
            .map(|b| Some(u64::from_be_bytes(b)))
            .map_err(|_| MigrationError::NoFormat),
    }
}

/// Whether `store` must be migrated before it opens, or cannot be.
pub fn needed<S: Storage>(store: &S) -> Result<Needed, MigrationError> {
    let Some(found) = stored_format(store)? else {
        // A new store has no genesis either; a store with a genesis and no
        // format number predates format 2.
        return match store.get(keys::META_GENESIS)? {
            None => Ok(Needed::Nothing),
            Some(_) => Err(MigrationError::TooOld { found: 1 }),
        };
    };
    match found {
        f if f == keys::STORE_FORMAT => Ok(Needed::Nothing),
        f if f > keys::STORE_FORMAT => Err(MigrationError::TooNew { found: f }),
        f if f >= MIGRATES_FROM => Ok(Needed::Migrate { from: f }),
        f => Err(MigrationError::TooOld { found: f }),
    }
}

/// Migrate `store` to [`keys::STORE_FORMAT`], continuing an interrupted
/// migration. The caller has made a copy of the store first.
pub fn migrate<S: Storage>(store: &S) -> Result<MigrationReport, MigrationError> {
    let from = match needed(store)? {
        Needed::Nothing => {
            return Ok(MigrationReport {
                from: keys::STORE_FORMAT,
                to: keys::STORE_FORMAT,
                records: 0,
            })
        }
        Needed::Migrate { from } => from,
    };
    let mut records = 0;
    // 8 → 9: records get their place (none known).
    if from < 9 {
        records += sequence_records::<S, IdempotencyRecord>(store, keys::IDEMPOTENCY_PREFIX)?;
        records += sequence_records::<S, MerchantPayment>(store, keys::MERCHANT_PAYMENT_PREFIX)?;
    }
    // 9 → 10: nothing to rewrite (days without lists are read the older
    // way), only the format number below.
    let mut batch = WriteBatch::default();
    // 10 → 11: the blocks after the stored height index their places in
    // runs; the `T` keys of the earlier ones stay.
    if from < 11 {
        let height = match store.get(keys::META_HEIGHT)? {
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| MigrationError::Corrupt {
                    key: hex(keys::META_HEIGHT),
                    format: from,
                    reason: "the stored height is not 8 bytes".into(),
                })?,
            None => 0,
        };
        batch.put(
            keys::META_PLACE_RUNS_FROM.to_vec(),
            height.saturating_add(1).to_be_bytes().to_vec(),
        );
    }
    batch.delete(META_MIGRATION_CURSOR.to_vec());
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        keys::STORE_FORMAT.to_be_bytes().to_vec(),
    );
    store.commit(batch)?;
    Ok(MigrationReport {
        from,
        to: keys::STORE_FORMAT,
        records,
    })
}

/// Rewrite every record under `prefix` from a bare `T` to
/// `Sequenced { seq: None, record }`, a page at a time after the cursor.
fn sequence_records<S: Storage, T: Serialize + DeserializeOwned>(
    store: &S,
    prefix: &[u8],
) -> Result<u64, MigrationError> {
    let mut done: Option<Vec<u8>> = match store.get(META_MIGRATION_CURSOR)? {
        // A cursor of this prefix's section: continue after it. A cursor of
        // a later section: this one is complete.
        Some(cursor) if cursor.starts_with(prefix) => Some(cursor),
        Some(cursor) if cursor.as_slice() > prefix => return Ok(0),
        _ => None,
    };
    let mut rewritten = 0u64;
    loop {
        // Pages are read newest-key first below an upper bound, so the
        // cursor is the lowest key done and the next page lies below it.
        let page = store.scan_prefix_rev(prefix, done.as_deref(), PAGE_RECORDS)?;
        let Some((last, _)) = page.last().cloned() else {
            return Ok(rewritten);
        };
        let mut batch = WriteBatch::default();
        for (key, value) in page {
            let record: T = codec::decode(&value).map_err(|e| MigrationError::Corrupt {
                key: hex(&key),
                format: MIGRATES_FROM,
                reason: e.to_string(),
            })?;
            let sequenced = Sequenced { seq: None, record };
            let bytes = codec::encode(&sequenced).map_err(|e| MigrationError::Corrupt {
                key: hex(&key),
                format: keys::STORE_FORMAT,
                reason: e.to_string(),
            })?;
            batch.put(key, bytes);
            rewritten += 1;
        }
        batch.put(META_MIGRATION_CURSOR.to_vec(), last.clone());
        store.commit(batch)?;
        done = Some(last);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
