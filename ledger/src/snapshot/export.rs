//! Taking a snapshot: a [`Capture`] of the state map at one height, made
//! where blocks are applied (it copies the entries, so blocks may go on
//! being applied at once), then [`export`], which may run on another
//! thread: it reads the day's records from the store, keeping those the
//! captured commitments count (a record's place in its day's chain is kept
//! with it, so records written by later blocks are told apart by place).
//!
//! A day's idempotency records written by blocks since store format 12 are
//! read from its block values (`W`), which are in chain order; they follow
//! the day's records in the older form (`I` keys, from a migrated store or
//! a restore), which come first in its chain. The same for a day's
//! merchant payment records since store format 13 (`Y` values after `P`
//! keys).
//!
//! A day's older records are read in chain order by the day's chain-order lists
//! ([`crate::day_order`], store format 10): one list (one block's records)
//! in memory at a time, each record read back by key. A day begun before
//! the store had lists (migrated from format 9) is ordered the older way
//! ([`in_chain_order`]) until it expires.

use super::{chunk_hash, Chunk, ChunkRef, Item, Manifest, SnapshotError};
use super::{CHUNKS_MAX, CHUNK_BYTES_MAX, SNAPSHOT_FORMAT};
use crate::block_records::{BlockPayment, BlockRecord};
use crate::day_order::{self, RecordKind};
use crate::keys;
use crate::ledger::Ledger;
use crate::refunds::MerchantPayment;
use crate::state::{IdempotencyRecord, Sequenced, StateKey, StateValue};
use crate::storage::{Storage, StorageError};
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::de::DeserializeOwned;

/// The state map and chain position at one height.
#[derive(Debug, Clone)]
pub struct Capture {
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub height: u64,
    pub block_hash: Hash,
    pub block_time_ms: u64,
    pub state_root: Hash,
    /// Encoded state entries, in key order.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Each day with idempotency records, and how many its chain counts.
    idempotency_days: Vec<(u64, u64)>,
    /// Each day with merchant payment records, and how many.
    merchant_days: Vec<(u64, u64)>,
}

impl Capture {
    /// The ledger's state as of its last block: `O(state entries)`.
    pub fn of<S: Storage>(ledger: &Ledger<S>) -> Result<Capture, SnapshotError> {
        let mut entries = Vec::with_capacity(ledger.state().len());
        let mut idempotency_days = Vec::new();
        let mut merchant_days = Vec::new();
        for (key, value) in ledger.state().iter() {
            match (key, value) {
                (StateKey::IdempotencyDay(day), StateValue::IdempotencyDay(d)) => {
                    idempotency_days.push((*day, d.records));
                }
                (StateKey::MerchantPaymentDay(day), StateValue::MerchantPaymentDay(d)) => {
                    merchant_days.push((*day, d.records));
                }
                _ => {}
            }
            entries.push((encode(key)?, encode(value)?));
        }
        Ok(Capture {
            chain_id: ledger.chain_id().to_string(),
            genesis_hash: ledger.genesis_hash(),
            height: ledger.height(),
            block_hash: ledger.last_block_hash(),
            block_time_ms: ledger.last_block_time_ms(),
            state_root: ledger.state_root(),
            entries,
            idempotency_days,
            merchant_days,
        })
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, SnapshotError> {
    codec::encode(value).map_err(|e| SnapshotError::Encode(e.to_string()))
}

/// Cuts items into chunks and hands each chunk's bytes to the sink.
struct ChunkWriter<'a> {
    items: Vec<Item>,
    bytes: usize,
    refs: Vec<ChunkRef>,
    sink: &'a mut dyn FnMut(&[u8]) -> Result<(), SnapshotError>,
}

/// Room left in a chunk for the length prefix of its item list.
const CHUNK_OVERHEAD_BYTES: usize = 16;

impl ChunkWriter<'_> {
    fn push(&mut self, item: Item) -> Result<(), SnapshotError> {
        let len = codec::encode(&item)
            .map_err(|e| SnapshotError::Encode(e.to_string()))?
            .len();
        if len + CHUNK_OVERHEAD_BYTES > CHUNK_BYTES_MAX {
            return Err(SnapshotError::Encode(format!(
                "one item of {len} bytes does not fit a chunk"
            )));
        }
        if self.bytes + len + CHUNK_OVERHEAD_BYTES > CHUNK_BYTES_MAX {
            self.flush()?;
        }
        self.bytes += len;
        self.items.push(item);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SnapshotError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let chunk = Chunk {
            items: std::mem::take(&mut self.items),
        };
        self.bytes = 0;
        let bytes = codec::encode(&chunk).map_err(|e| SnapshotError::Encode(e.to_string()))?;
        if self.refs.len() >= CHUNKS_MAX {
            return Err(SnapshotError::Encode(format!(
                "the state needs more than {CHUNKS_MAX} chunks"
            )));
        }
        (self.sink)(&bytes)?;
        self.refs.push(ChunkRef {
            hash: chunk_hash(&bytes),
            bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        });
        Ok(())
    }
}

/// Of the days without chain-order lists (begun before store format 10),
/// those with at most this many records are ordered in memory, records and
/// all (about 450 bytes a record: ~45 MB at most); a larger day keeps only
/// each record's place and key (about 60 bytes) and reads the records back
/// one at a time, which takes about 1.7 times as long (BENCHMARKS.md,
/// "Issue 21, fifth pass").
pub const DAY_RECORDS_IN_MEMORY_MAX: u64 = 100_000;

/// Write the snapshot of `capture` to `sink`, one call per chunk in order,
/// reading the captured days' records from `store` (the store the captured
/// ledger writes to). Returns the manifest.
///
/// Memory: one chunk, one block's list of record keys, and eight bytes per
/// list of the day being read (about a block's worth of records each). A
/// day without lists (begun before store format 10) is held while it is
/// put in chain order — whole for a day of at most
/// [`DAY_RECORDS_IN_MEMORY_MAX`] records, only its places and keys for a
/// larger one.
pub fn export<S: Storage>(
    capture: &Capture,
    store: &S,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), SnapshotError>,
) -> Result<Manifest, SnapshotError> {
    export_bounded(capture, store, sink, DAY_RECORDS_IN_MEMORY_MAX)
}

/// [`export`], ordering in memory only days of at most
/// `day_records_in_memory_max` records (tests use it to take either way).
pub fn export_bounded<S: Storage>(
    capture: &Capture,
    store: &S,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), SnapshotError>,
    day_records_in_memory_max: u64,
) -> Result<Manifest, SnapshotError> {
    let mut writer = ChunkWriter {
        items: Vec::new(),
        bytes: 0,
        refs: Vec::new(),
        sink,
    };
    for (key, value) in &capture.entries {
        writer.push(Item::State {
            key: key.clone(),
            value: value.clone(),
        })?;
    }
    for &(day, count) in &capture.idempotency_days {
        let start = keys::idempotency_day_start(day);
        // The day's records in the form before store format 12 come first
        // in its chain, those in block values (`W`) after them.
        let older = records_before_block_values::<S, BlockRecord>(
            store,
            &keys::block_records_day_start(day),
            (day, count),
        )?;
        day_in_chain_order::<S, IdempotencyRecord>(
            store,
            RecordKind::Idempotency,
            (day, older),
            day_records_in_memory_max,
            &mut |key, record| {
                let (payer, id) = idempotency_key_parts(key, start.len()).ok_or_else(|| {
                    SnapshotError::Content(format!("idempotency key of day {day}"))
                })?;
                writer.push(Item::Idempotency {
                    day,
                    payer,
                    id,
                    record,
                })
            },
        )?;
        block_records_in_order::<S, BlockRecord>(
            store,
            &keys::block_records_day_start(day),
            (day, older, count),
            &mut |(payer, id, stored)| {
                writer.push(Item::Idempotency {
                    day,
                    payer,
                    id,
                    record: stored.record,
                })
            },
        )?;
    }
    for &(day, count) in &capture.merchant_days {
        let start = keys::merchant_payment_day_start(day);
        // As for idempotency records: the older form first (`P`), then
        // the block values (`Y`, store format 13).
        let values_start = keys::block_payments_day_start(day);
        let older =
            records_before_block_values::<S, BlockPayment>(store, &values_start, (day, count))?;
        day_in_chain_order::<S, MerchantPayment>(
            store,
            RecordKind::MerchantPayment,
            (day, older),
            day_records_in_memory_max,
            &mut |key, record| {
                let tx = key
                    .get(start.len()..)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash)
                    .ok_or_else(|| SnapshotError::Content(format!("payment key of day {day}")))?;
                writer.push(Item::MerchantPayment { tx, record })
            },
        )?;
        block_records_in_order::<S, BlockPayment>(
            store,
            &values_start,
            (day, older, count),
            &mut |(tx, stored)| {
                writer.push(Item::MerchantPayment {
                    tx,
                    record: stored.record,
                })
            },
        )?;
    }
    writer.flush()?;
    Ok(Manifest {
        format: SNAPSHOT_FORMAT,
        chain_id: capture.chain_id.clone(),
        genesis_hash: capture.genesis_hash,
        height: capture.height,
        block_hash: capture.block_hash,
        block_time_ms: capture.block_time_ms,
        state_root: capture.state_root,
        chunks: writer.refs,
    })
}

/// A record in a block value, with its place in its day's chain.
trait InBlockValue: serde::Serialize + DeserializeOwned {
    fn seq(&self) -> Option<u64>;
}

impl InBlockValue for BlockRecord {
    fn seq(&self) -> Option<u64> {
        self.2.seq
    }
}

impl InBlockValue for BlockPayment {
    fn seq(&self) -> Option<u64> {
        self.1.seq
    }
}

/// How many of the first `count` records of `day` are in the form before
/// its kind moved into block values (`I` or `P` keys): the place of the
/// day's first record in a block value (keys from `values_start`), or all
/// `count` if it has none.
fn records_before_block_values<S: Storage, T: InBlockValue>(
    store: &S,
    values_start: &[u8],
    (day, count): (u64, u64),
) -> Result<u64, SnapshotError> {
    let Some(key) = store.first_key_with_prefix(values_start)? else {
        return Ok(count);
    };
    let Some(value) = store.get(&key)? else {
        // Swept since (the day expired): the export finds the day short.
        return Ok(count);
    };
    let records = decode_value::<T>(&value, day)?;
    let first = records
        .first()
        .and_then(InBlockValue::seq)
        .ok_or_else(|| SnapshotError::Content(format!("a block record of day {day}")))?;
    Ok(first.min(count))
}

fn decode_value<T: InBlockValue>(value: &[u8], day: u64) -> Result<Vec<T>, SnapshotError> {
    crate::block_records::decode_all::<T>(value)
        .map_err(|e| SnapshotError::Content(format!("block records of day {day}: {e}")))
}

/// Call `emit` with the records of `day` at places `from..count`, in chain
/// order, from the day's block values (keys from `values_start`, in height
/// order): one value in memory at a time. Each record must be at the next
/// place; fewer than `count` means the day was swept since the capture.
fn block_records_in_order<S: Storage, T: InBlockValue>(
    store: &S,
    values_start: &[u8],
    (day, from, count): (u64, u64, u64),
    emit: &mut dyn FnMut(T) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    if from >= count {
        return Ok(());
    }
    let mut next = from;
    let mut failed = None;
    store.scan_prefix_with(values_start, &mut |_, value| {
        if failed.is_some() || next >= count {
            return Ok(());
        }
        let records = match decode_value::<T>(value, day) {
            Ok(records) => records,
            Err(error) => {
                failed = Some(error);
                return Ok(());
            }
        };
        for record in records {
            let Some(seq) = record.seq() else {
                failed = Some(SnapshotError::Content(format!(
                    "a block record of day {day} without its place"
                )));
                return Ok(());
            };
            if seq < next {
                continue;
            }
            if seq != next || next >= count {
                if next < count {
                    failed = Some(SnapshotError::Content(format!(
                        "the block records of day {day} go from place {next} to {seq}"
                    )));
                }
                return Ok(());
            }
            if let Err(error) = emit(record) {
                failed = Some(error);
                return Ok(());
            }
            next += 1;
        }
        Ok(())
    })?;
    if let Some(error) = failed {
        return Err(error);
    }
    if next < count {
        return Err(SnapshotError::Moved(format!(
            "day {day} no longer holds its record at place {next} of {count}"
        )));
    }
    Ok(())
}

/// Call `emit` with the first `count` records of `day` in chain order: by
/// the day's chain-order lists ([`crate::day_order`]), one list in memory
/// at a time; for a day whose lists do not start at its first record (a
/// day begun before store format 10), by [`in_chain_order`].
fn day_in_chain_order<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    kind: RecordKind,
    (day, count): (u64, u64),
    in_memory_max: u64,
    emit: RecordSink<'_, T>,
) -> Result<(), SnapshotError> {
    if count == 0 {
        return Ok(());
    }
    let starts = day_order::list_starts(store, kind, day)?;
    if starts.first() != Some(&0) {
        let start = kind.day_start(day);
        return in_chain_order::<S, T>(store, &start, (day, count), in_memory_max, emit);
    }
    by_order_lists::<S, T>(store, kind, &starts, (day, count), emit)
}

/// [`day_in_chain_order`] by the day's lists, whose first places are
/// `starts` (in order, the first 0). Records are read back one at a time
/// by key, each checked to be at the place its list gives.
fn by_order_lists<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    kind: RecordKind,
    starts: &[u64],
    (day, count): (u64, u64),
    emit: RecordSink<'_, T>,
) -> Result<(), SnapshotError> {
    let gone = |place: u64| {
        SnapshotError::Moved(format!(
            "day {day} no longer holds its record at place {place} of {count}"
        ))
    };
    let start = kind.day_start(day);
    let mut key = start.clone();
    let mut next = 0u64;
    for &first in starts {
        if next >= count {
            break;
        }
        if first != next {
            return Err(SnapshotError::Content(format!(
                "the order lists of day {day} go from place {next} to {first}"
            )));
        }
        let list = day_order::read_list(store, kind, day, first)
            .map_err(|e| SnapshotError::Content(e.to_string()))?
            .ok_or_else(|| gone(next))?;
        for suffix in list.chunks_exact(kind.suffix_len()) {
            if next >= count {
                break;
            }
            key.truncate(start.len());
            key.extend_from_slice(suffix);
            let record = read_back::<S, T>(store, &key, (day, next))?.ok_or_else(|| gone(next))?;
            emit(&key, record)?;
            next += 1;
        }
    }
    if next < count {
        return Err(gone(next));
    }
    Ok(())
}

/// A day's record keys and their places in the day's chain, kept flat: all
/// of a day's keys have the same length, so they are stored end to end
/// (no allocation per record) and sorted through their places.
struct DayPlaces {
    key_len: usize,
    keys: Vec<u8>,
    /// (place in the day's chain, index of the key in `keys`).
    places: Vec<(u64, u32)>,
}

impl DayPlaces {
    fn key(&self, index: u32) -> Option<&[u8]> {
        let start = usize::try_from(index).ok()?.checked_mul(self.key_len)?;
        self.keys.get(start..start.checked_add(self.key_len)?)
    }
}

/// Whether sorted places are exactly `0..count`: every record the day's
/// commitment counts, once.
fn all_places(sorted: impl ExactSizeIterator<Item = u64>, count: u64) -> bool {
    sorted.len() as u64 == count && sorted.enumerate().all(|(i, seq)| seq == i as u64)
}

/// What [`in_chain_order`] hands each record to, with its key.
type RecordSink<'a, T> = &'a mut dyn FnMut(&[u8], T) -> Result<(), SnapshotError>;

/// Call `emit` with the first `count` records of `day` (under `start`) in
/// chain order, or say why not: records without a place, or fewer than
/// the commitment counts (the day expired and was swept since the
/// capture).
///
/// A day may hold millions of records, so past `in_memory_max` they are
/// not all held at once: one scan keeps each record's place and key, the
/// places are sorted, and each record is read back by its key in chain
/// order. Records are written once and never changed; one removed in
/// between (its day expired) is reported like a short day.
fn in_chain_order<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    start: &[u8],
    (day, count): (u64, u64),
    in_memory_max: u64,
    emit: RecordSink<'_, T>,
) -> Result<(), SnapshotError> {
    let moved = |found: usize| {
        SnapshotError::Moved(format!("day {day} has {found} of its {count} records"))
    };
    if count <= in_memory_max {
        let records = day_records::<S, T>(store, start, day, count)?;
        if !all_places(records.iter().map(|(seq, _, _)| *seq), count) {
            return Err(moved(records.len()));
        }
        for (_, key, record) in records {
            emit(&key, record)?;
        }
        return Ok(());
    }
    let places = day_places::<S, T>(store, start, day, count)?;
    if !all_places(places.places.iter().map(|(seq, _)| *seq), count) {
        return Err(moved(places.places.len()));
    }
    for (i, &(seq, index)) in places.places.iter().enumerate() {
        let key = places
            .key(index)
            .ok_or_else(|| SnapshotError::Content(format!("a record key of day {day}")))?;
        let record = read_back::<S, T>(store, key, (day, seq))?.ok_or_else(|| moved(i))?;
        emit(key, record)?;
    }
    Ok(())
}

/// The record under `key`, which must be at place `seq` of `day`'s
/// chain; `None` if it is gone (its day expired and was swept).
fn read_back<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    key: &[u8],
    (day, seq): (u64, u64),
) -> Result<Option<T>, SnapshotError> {
    let mut decoded = None;
    store.read_with(key, &mut |value| {
        decoded = Some(decode_stored::<T>(value, day))
    })?;
    let Some(stored) = decoded.transpose()? else {
        return Ok(None);
    };
    if stored.seq != Some(seq) {
        return Err(SnapshotError::Content(format!(
            "a record of day {day} is not at its place in the chain ({seq})"
        )));
    }
    Ok(Some(stored.record))
}

/// The first `count` records of `day` with their places and keys, sorted
/// by place: a small day, held whole.
fn day_records<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    start: &[u8],
    day: u64,
    count: u64,
) -> Result<Vec<(u64, Vec<u8>, T)>, SnapshotError> {
    let mut records = Vec::new();
    scan_sequenced::<S, T>(store, start, day, &mut |seq, key, record| {
        // Records a block after the capture added have later places.
        if seq < count {
            records.push((seq, key.to_vec(), record));
        }
        Ok(())
    })?;
    records.sort_unstable_by_key(|(seq, _, _)| *seq);
    Ok(records)
}

/// The places and keys of the first `count` records of `day`, sorted by
/// place.
fn day_places<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    start: &[u8],
    day: u64,
    count: u64,
) -> Result<DayPlaces, SnapshotError> {
    let mut places = DayPlaces {
        key_len: 0,
        keys: Vec::new(),
        places: Vec::new(),
    };
    scan_sequenced::<S, T>(store, start, day, &mut |seq, key, _| {
        // Records a block after the capture added have later places.
        if seq >= count {
            return Ok(());
        }
        if places.places.is_empty() {
            places.key_len = key.len();
        }
        match u32::try_from(places.places.len()) {
            Ok(index) if key.len() == places.key_len => {
                places.keys.extend_from_slice(key);
                places.places.push((seq, index));
                Ok(())
            }
            _ => Err(SnapshotError::Content(format!(
                "record keys of day {day} differ in length, or are too many"
            ))),
        }
    })?;
    places.places.sort_unstable();
    Ok(places)
}

/// What [`scan_sequenced`] hands each record to: its place, key and record.
type SequencedSink<'a, T> = &'a mut dyn FnMut(u64, &[u8], T) -> Result<(), SnapshotError>;

/// Call `keep` with every record of `day` under `start`, in key order,
/// with its place in the day's chain; a record that does not decode or has
/// no place (kept before store format 9) ends the scan with its error.
fn scan_sequenced<S: Storage, T: DeserializeOwned + serde::Serialize>(
    store: &S,
    start: &[u8],
    day: u64,
    keep: SequencedSink<'_, T>,
) -> Result<(), SnapshotError> {
    // The store's scan speaks `StorageError`: the snapshot's own error is
    // kept aside and returned in its place.
    let mut failure = None;
    let stopped = || StorageError::Io("snapshot export stopped".into());
    store
        .scan_prefix_with(start, &mut |key, value| {
            let result = match decode_stored::<T>(value, day) {
                Err(error) => Err(error),
                Ok(Sequenced { seq: None, .. }) => Err(SnapshotError::UnsequencedRecords { day }),
                Ok(Sequenced {
                    seq: Some(seq),
                    record,
                }) => keep(seq, key, record),
            };
            result.map_err(|error| {
                failure = Some(error);
                stopped()
            })
        })
        .map_err(|e| failure.take().unwrap_or(SnapshotError::Storage(e)))
}

/// A stored record of `day` with its place, or why it does not decode.
fn decode_stored<T: DeserializeOwned + serde::Serialize>(
    value: &[u8],
    day: u64,
) -> Result<Sequenced<T>, SnapshotError> {
    codec::decode(value)
        .map_err(|e| SnapshotError::Content(format!("a stored record of day {day}: {e}")))
}

/// The payer and id at the end of an idempotency key after its day.
fn idempotency_key_parts(key: &[u8], after: usize) -> Option<(PublicKey, [u8; 16])> {
    let rest = key.get(after..)?;
    let (payer, id) = rest.split_first_chunk::<32>()?;
    Some((PublicKey(*payer), <[u8; 16]>::try_from(id).ok()?))
}
