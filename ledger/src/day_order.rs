//! The records kept by day — idempotency records (`I`) and merchant payment
//! records (`P`) — listed in their day's chain order (store format 10).
//!
//! A day's records are keyed for point lookups (payer and id, or the
//! payment's hash), so the store holds them in key order, not in the order
//! the day's hash chain ([`crate::state::IdempotencyDay`],
//! [`crate::refunds::MerchantPaymentDay`]) took them. A snapshot must list
//! them in chain order. Ordering a whole day in memory costs memory in
//! proportion to the day (86 million records at a sustained 1,000 payments
//! a second), so every writer of records also writes *lists*: one `Q`
//! value per (kind, day, run of consecutive places), keyed by the run's
//! first place, holding the records' keys after their day, end to end.
//! A block writes at most one list per kind (its records are consecutive
//! in their day's chain); a snapshot restore writes one per chunk and day.
//! Read in key order, a day's lists give its records in chain order, so a
//! snapshot holds one list at a time ([`crate::snapshot`]).
//!
//! Since store format 12 blocks write no idempotency lists: a block's
//! idempotency records are one value in chain order
//! (`ledger/src/ledger/payment_records.rs`). Idempotency lists remain for
//! the records written before (a migrated store) and by a snapshot
//! restore, until their days expire. Since store format 13 the same
//! holds for merchant payment records (`ledger/src/ledger/refund_records.rs`).
//!
//! Lists are swept with their day, a few per block
//! ([`LISTS_SWEPT_PER_BLOCK_MAX`]: more than the one a block adds, so the
//! sweep always catches up). They are not part of the state or its root:
//! a node that lacks them for a day (a store migrated from format 9, whose
//! older records were written without lists) exports that day the older
//! way until it expires.

use crate::keys;
use crate::storage::{Storage, StorageError, WriteBatch};
use crate::tx::IdempotencyId;
use kopnet_primitives::PublicKey;

/// Lists of expired days deleted per block and kind, at most.
pub const LISTS_SWEPT_PER_BLOCK_MAX: usize = 4;

/// A kind of record kept by day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Payment idempotency records ([`crate::idempotency`]).
    Idempotency,
    /// Merchant payment records kept for refunds ([`crate::refunds`]).
    MerchantPayment,
}

impl RecordKind {
    /// The byte that tells the kind's lists apart.
    pub fn tag(self) -> u8 {
        match self {
            RecordKind::Idempotency => b'I',
            RecordKind::MerchantPayment => b'P',
        }
    }

    /// Bytes of a record's key after its day: payer and idempotency id, or
    /// the payment's transaction hash.
    pub fn suffix_len(self) -> usize {
        match self {
            RecordKind::Idempotency => 32 + 16,
            RecordKind::MerchantPayment => 32,
        }
    }

    /// The first key of the kind's records of `day`.
    pub fn day_start(self, day: u64) -> Vec<u8> {
        match self {
            RecordKind::Idempotency => keys::idempotency_day_start(day),
            RecordKind::MerchantPayment => keys::merchant_payment_day_start(day),
        }
    }
}

/// An idempotency record's key after its day (see
/// [`keys::idempotency`]): what its list holds for it.
pub fn idempotency_suffix(payer: &PublicKey, id: &IdempotencyId) -> [u8; 48] {
    let mut suffix = [0u8; 48];
    let (payer_part, id_part) = suffix.split_at_mut(32);
    payer_part.copy_from_slice(&payer.0);
    id_part.copy_from_slice(id);
    suffix
}

/// Why a day's lists could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DayOrderError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("a list of day {day} from place {first} is not whole record keys ({bytes} bytes)")]
    Torn { day: u64, first: u64, bytes: usize },
}

/// One run of consecutive places being collected.
#[derive(Debug)]
struct OpenList {
    kind: RecordKind,
    day: u64,
    first: u64,
    next: u64,
    suffixes: Vec<u8>,
}

/// Lists being collected for one batch: records are pushed in chain order
/// (within a kind and day); a record of another kind or day, or not next
/// in place, starts a new list.
#[derive(Debug, Default)]
pub struct DayOrderLists {
    open: Option<OpenList>,
    closed: Vec<(Vec<u8>, Vec<u8>)>,
}

impl DayOrderLists {
    /// The record of `kind` at place `seq` of `day`, keyed by `suffix`
    /// after its day.
    pub fn push(&mut self, kind: RecordKind, day: u64, seq: u64, suffix: &[u8]) {
        let continues = self
            .open
            .as_ref()
            .is_some_and(|o| o.kind == kind && o.day == day && o.next == seq);
        if !continues {
            self.close();
            self.open = Some(OpenList {
                kind,
                day,
                first: seq,
                next: seq,
                suffixes: Vec::new(),
            });
        }
        if let Some(open) = self.open.as_mut() {
            open.suffixes.extend_from_slice(suffix);
            open.next = seq.saturating_add(1);
        }
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            self.closed.push((
                keys::day_order(open.kind.tag(), open.day, open.first),
                open.suffixes,
            ));
        }
    }

    /// Put every list collected so far into `batch`, and start afresh.
    pub fn put_into(&mut self, batch: &mut WriteBatch) {
        self.close();
        for (key, value) in self.closed.drain(..) {
            batch.put(key, value);
        }
    }
}

/// Put the lists of `kind`'s new records into `batch`: `places` holds each
/// record's (day, place in its day's chain, key after its day) in any
/// order (a block's records come out of a map in key order).
pub fn put_lists(batch: &mut WriteBatch, kind: RecordKind, mut places: Vec<(u64, u64, &[u8])>) {
    places.sort_unstable_by_key(|(day, seq, _)| (*day, *seq));
    let mut lists = DayOrderLists::default();
    for (day, seq, suffix) in places {
        lists.push(kind, day, seq, suffix);
    }
    lists.put_into(batch);
}

/// Delete into `batch` up to [`LISTS_SWEPT_PER_BLOCK_MAX`] of `kind`'s
/// lists of days before `first_live_day`.
pub fn sweep_expired<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    kind: RecordKind,
    first_live_day: u64,
) -> Result<(), StorageError> {
    let first_live = keys::day_order_start(kind.tag(), first_live_day);
    let expired = store.scan_prefix_rev(
        &keys::day_order_kind(kind.tag()),
        Some(&first_live),
        LISTS_SWEPT_PER_BLOCK_MAX,
    )?;
    for (key, _) in expired {
        batch.delete(key);
    }
    Ok(())
}

/// The first places of `kind`'s lists of `day`, in order: eight bytes a
/// list (a block's worth of records each), not the records.
pub fn list_starts<S: Storage>(
    store: &S,
    kind: RecordKind,
    day: u64,
) -> Result<Vec<u64>, StorageError> {
    let mut starts = Vec::new();
    store.scan_prefix_with(&keys::day_order_start(kind.tag(), day), &mut |key, _| {
        let first = key
            .last_chunk::<8>()
            .map(|b| u64::from_be_bytes(*b))
            .ok_or_else(|| StorageError::Io("a day order key without its place".into()))?;
        starts.push(first);
        Ok(())
    })?;
    Ok(starts)
}

/// The record keys (after their day) of `kind`'s list of `day` from place
/// `first`, end to end; `None` if there is no such list (swept).
pub fn read_list<S: Storage>(
    store: &S,
    kind: RecordKind,
    day: u64,
    first: u64,
) -> Result<Option<Vec<u8>>, DayOrderError> {
    let Some(list) = store.get(&keys::day_order(kind.tag(), day, first))? else {
        return Ok(None);
    };
    if list.is_empty() || list.len() % kind.suffix_len() != 0 {
        return Err(DayOrderError::Torn {
            day,
            first,
            bytes: list.len(),
        });
    }
    Ok(Some(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn records_pushed_in_any_order_are_listed_by_place_in_runs() {
        let store = MemoryStorage::new();
        let a = [1u8; 32];
        let b = [2u8; 32];
        let c = [3u8; 32];
        let mut batch = WriteBatch::default();
        // Places 5, 6 of day 10 (given out of order), then 9 (a gap).
        put_lists(
            &mut batch,
            RecordKind::MerchantPayment,
            vec![(10, 6, &b[..]), (10, 9, &c[..]), (10, 5, &a[..])],
        );
        store.commit(batch).unwrap();
        let kind = RecordKind::MerchantPayment;
        assert_eq!(list_starts(&store, kind, 10).unwrap(), vec![5, 9]);
        assert_eq!(
            read_list(&store, kind, 10, 5).unwrap().unwrap(),
            [a, b].concat()
        );
        assert_eq!(read_list(&store, kind, 10, 9).unwrap().unwrap(), c);
        assert_eq!(read_list(&store, kind, 10, 6).unwrap(), None);
        // The other kind and other days have none.
        assert!(list_starts(&store, RecordKind::Idempotency, 10)
            .unwrap()
            .is_empty());
        assert!(list_starts(&store, kind, 11).unwrap().is_empty());
    }

    #[test]
    fn lists_of_expired_days_are_swept_a_few_at_a_time() {
        let store = MemoryStorage::new();
        let kind = RecordKind::Idempotency;
        let mut batch = WriteBatch::default();
        for day in [3u64, 4] {
            for first in 0..LISTS_SWEPT_PER_BLOCK_MAX as u64 {
                put_lists(&mut batch, kind, vec![(day, first, &[7u8; 48][..])]);
            }
        }
        // A list of the other kind, of an expired day, is not this sweep's.
        put_lists(
            &mut batch,
            RecordKind::MerchantPayment,
            vec![(3, 0, &[7u8; 32][..])],
        );
        store.commit(batch).unwrap();
        let mut sweeps = 0;
        while !list_starts(&store, kind, 3).unwrap().is_empty() {
            let mut batch = WriteBatch::default();
            sweep_expired(&store, &mut batch, kind, 4).unwrap();
            store.commit(batch).unwrap();
            sweeps += 1;
        }
        assert_eq!(sweeps, 1);
        assert_eq!(
            list_starts(&store, kind, 4).unwrap().len(),
            LISTS_SWEPT_PER_BLOCK_MAX
        );
        assert_eq!(
            list_starts(&store, RecordKind::MerchantPayment, 3).unwrap(),
            vec![0]
        );
    }

    #[test]
    fn a_torn_list_is_refused() {
        let store = MemoryStorage::new();
        let mut batch = WriteBatch::default();
        batch.put(
            keys::day_order(RecordKind::Idempotency.tag(), 1, 0),
            vec![0; 47],
        );
        store.commit(batch).unwrap();
        let torn = read_list(&store, RecordKind::Idempotency, 1, 0).unwrap_err();
        assert!(
            matches!(torn, DayOrderError::Torn { bytes: 47, .. }),
            "{torn}"
        );
    }
}
