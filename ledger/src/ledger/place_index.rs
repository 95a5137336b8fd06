//! The place index: where a committed transaction is (its block's height
//! and its index inside it), found from its hash — in a few large values
//! per block instead of one key per transaction (store format 11).
//!
//! **Why.** Until format 10 every committed transaction wrote one `T` key
//! (`T ‖ hash prefix ‖ height ‖ index`). sled's cost is per key written
//! (each insert clones its leaf, fills a log fragment and leaves a page to
//! clean and free), and `T` was about 29 % of the instructions of applying
//! a payment (BENCHMARKS.md, issue 21, fifth pass); the `T` keys also grew
//! without end, and sled's cost per key grows with its tree.
//!
//! **Runs.** An *entry* is a transaction's place under the first 8 bytes
//! of its hash: `prefix (8) ‖ height (u64 BE) ‖ index (u32 BE)`, 20 bytes.
//! A *run* is a sorted list of entries of a span of consecutive blocks
//! whose hashes fall in one *bucket* (the first bits of the prefix),
//! stored as one value under `U ‖ level ‖ bucket (u32 BE) ‖ run (u64 BE)`.
//! A level-`L` run `k` holds the blocks `k·span + 1 ..= (k+1)·span` of
//! its level's span ([`LEVELS`]), split into `2^bits` buckets:
//!
//! | level | blocks per run | buckets | written |
//! |---|---:|---:|---|
//! | 0 | 1 | 4 | with its block |
//! | 1 | 16 | 64 | from 16 level-0 runs |
//! | 2 | 256 | 1,024 | from 16 level-1 runs |
//! | 3 | 4,096 | 16,384 | from 16 level-2 runs |
//! | 4 | 65,536 | 262,144 | from 16 level-3 runs |
//! | 5 | 1,048,576 | 4,194,304 | from 16 level-4 runs; never merged further |
//!
//! Every level has 16 times the buckets of the one below, so a run's
//! bucket holds about the same number of entries at every level (a
//! quarter of a block's transactions). A block writes its level-0 run
//! (at most 4 values, none for an empty block) instead of one key per
//! transaction.
//!
//! **Merges, spread by height.** Once the last input run of a level-`L`
//! run is complete, the merge into it is done one *unit* every
//! [`UNIT_BLOCKS`] blocks: a unit reads one bucket's input runs at level
//! `L - 1`, writes its 16 child buckets at level `L` and deletes the
//! inputs, in the block's own batch. When each unit falls is a function of
//! the height alone ([`due_units`]), so no cursor is stored, a crash
//! leaves nothing half-done (a unit is in one atomic batch with its
//! block), and one block does at most one unit per level: its extra work
//! stays flat whatever the chain's length. Merges of one level finish
//! exactly when the next ones of that level start.
//!
//! **Lookups** ([`find`]) scan the hash's bucket one level at a time,
//! lowest first, binary-search each run, and stop at the first level that
//! holds the transaction: a level holds at most 32 runs of a bucket (the
//! 16 of a merge under way and up to 16 of the next one; in between
//! fewer), so a recent transaction costs up to about 32 runs read and a
//! hash no transaction has about 32 per level — up to ~160 plus one top
//! run per 1,048,576 blocks. Entries only ever move *up* (a unit writes
//! the merged run and deletes its inputs in one batch), so a reader that
//! scans the levels in rising order while a block commits finds an entry
//! either where it was or where it went.
//!
//! **Not agreed, not hashed.** The index is local to a node (what a
//! pruning node keeps differs, below); nothing checked or agreed reads it.
//!
//! **Pruning.** A merge drops entries of heights below the node's base,
//! and a top-level unit deletes its children's top runs that lie wholly
//! below it; entries of pruned heights that a run still holds are found
//! and then not read (their block is gone), as before.
//!
//! **Format 10 stores** migrated to 11 keep their `T` keys for the heights
//! before the migration ([`keys::META_PLACE_RUNS_FROM`]); lookups read
//! those too, and pruning deletes them as before.

use super::{corrupt, LedgerError};
use crate::keys;
use crate::storage::{Storage, WriteBatch};
use kopnet_primitives::Hash;

/// What a level's runs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// Blocks per run.
    span: u64,
    /// Bits of the hash prefix that name a run's bucket.
    bits: u32,
    /// Runs of the level below that make one run (level 0: none).
    fan_in: u64,
    /// Blocks between a run's window ending and the run being complete:
    /// level 0 at once, each higher level one span of its own after the
    /// level below is complete (`delay[L] = delay[L-1] + span[L]`).
    delay: u64,
}

/// The levels, lowest first; the last one's runs are never merged.
const LEVELS: [Shape; 6] = [
    Shape {
        span: 1,
        bits: 2,
        fan_in: 0,
        delay: 0,
    },
    Shape {
        span: 16,
        bits: 6,
        fan_in: 16,
        delay: 16,
    },
    Shape {
        span: 256,
        bits: 10,
        fan_in: 16,
        delay: 272,
    },
    Shape {
        span: 4_096,
        bits: 14,
        fan_in: 16,
        delay: 4_368,
    },
    Shape {
        span: 65_536,
        bits: 18,
        fan_in: 16,
        delay: 69_904,
    },
    TOP,
];
/// The top level's shape (its runs accumulate).
const TOP: Shape = Shape {
    span: 1_048_576,
    bits: 22,
    fan_in: 16,
    delay: 1_118_480,
};
/// The top level's number.
const TOP_LEVEL: u8 = (LEVELS.len() - 1) as u8;
/// Blocks between two merge units of one level: a level's `span` blocks
/// hold exactly the `2^bits` units (one per bucket of the level below) of
/// one of its merges.
pub const UNIT_BLOCKS: u64 = 4;
/// Bytes of one entry: hash prefix, height, index.
const ENTRY_BYTES: usize = 8 + 8 + 4;
/// Child buckets of a bucket at the next level.
const CHILDREN: u32 = 16;

/// What an index of runs lists: the same structure serves three indexes,
/// told apart by their key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Transactions' places, under their hash (`U`).
    Places,
    /// Payments' idempotency records, under the hash of payer and id, at
    /// the block that wrote them and their index among its records (`V`,
    /// see [`super::payment_records`]).
    Records,
    /// Payments to merchants kept for refunds, under the payment's
    /// transaction hash, at the block that wrote them and their index
    /// among its records (`Z`, see [`super::refund_records`]).
    Payments,
}

impl Family {
    fn prefix(self) -> &'static [u8] {
        match self {
            Family::Places => keys::PLACE_RUN_PREFIX,
            Family::Records => keys::RECORD_RUN_PREFIX,
            Family::Payments => keys::PAYMENT_RUN_PREFIX,
        }
    }
}

/// One transaction's place under its hash's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    prefix: u64,
    height: u64,
    index: u32,
}

impl Entry {
    fn of(hash: &Hash, height: u64, index: u32) -> Entry {
        Entry {
            prefix: prefix_of(hash),
            height,
            index,
        }
    }

    fn bucket(&self, bits: u32) -> u32 {
        bucket_of(self.prefix, bits)
    }
}

fn prefix_of(hash: &Hash) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.0[..8]);
    u64::from_be_bytes(first)
}

fn bucket_of(prefix: u64, bits: u32) -> u32 {
    // `bits` is at most 20, so the shift leaves at most 20 bits.
    (prefix >> (64 - bits)) as u32
}

/// The key of level `level`'s run `run` in `bucket`.
pub fn run_key(level: u8, bucket: u32, run: u64) -> Vec<u8> {
    run_key_in(Family::Places, level, bucket, run)
}

/// The key of `family`'s level `level` run `run` in `bucket`.
fn run_key_in(family: Family, level: u8, bucket: u32, run: u64) -> Vec<u8> {
    let mut key = bucket_key(family, level, bucket);
    key.extend_from_slice(&run.to_be_bytes());
    key
}

/// The prefix of every run of `level` in `bucket`.
fn bucket_key(family: Family, level: u8, bucket: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(14);
    key.extend_from_slice(family.prefix());
    key.push(level);
    key.extend_from_slice(&bucket.to_be_bytes());
    key
}

/// The run number at the end of a run key.
fn run_of(key: &[u8]) -> Result<u64, LedgerError> {
    let tail = key
        .len()
        .checked_sub(8)
        .and_then(|start| key.get(start..))
        .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
        .ok_or_else(|| corrupt("place run key"))?;
    Ok(u64::from_be_bytes(tail))
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_BYTES);
    for entry in entries {
        out.extend_from_slice(&entry.prefix.to_be_bytes());
        out.extend_from_slice(&entry.height.to_be_bytes());
        out.extend_from_slice(&entry.index.to_be_bytes());
    }
    out
}

/// The `i`th entry of an encoded run (`None` past its end).
fn entry_at(run: &[u8], i: usize) -> Option<Entry> {
    let bytes = run.get(i * ENTRY_BYTES..(i + 1) * ENTRY_BYTES)?;
    Some(Entry {
        prefix: u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?),
        height: u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?),
        index: u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?),
    })
}

/// How many entries an encoded run holds (`Corrupt` if its length is not
/// a whole number of entries).
fn entry_count(run: &[u8]) -> Result<usize, LedgerError> {
    if !run.len().is_multiple_of(ENTRY_BYTES) {
        return Err(corrupt(
            "place run of a length not a whole number of entries",
        ));
    }
    Ok(run.len() / ENTRY_BYTES)
}

fn decode_into(run: &[u8], out: &mut Vec<Entry>) -> Result<(), LedgerError> {
    out.extend((0..entry_count(run)?).filter_map(|i| entry_at(run, i)));
    Ok(())
}

/// The entries of a sorted encoded run with this prefix.
fn matching(run: &[u8], prefix: u64, out: &mut Vec<(u64, u32)>) -> Result<(), LedgerError> {
    let count = entry_count(run)?;
    // First entry whose prefix is not below `prefix`.
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        match entry_at(run, middle) {
            Some(entry) if entry.prefix < prefix => low = middle + 1,
            _ => high = middle,
        }
    }
    for i in low..count {
        match entry_at(run, i) {
            Some(entry) if entry.prefix == prefix => out.push((entry.height, entry.index)),
            _ => break,
        }
    }
    Ok(())
}

/// A merge unit: write level `level`'s run `run` for the child buckets of
/// `parent` (a bucket of the level below) from that bucket's input runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub level: u8,
    pub run: u64,
    pub parent: u32,
    /// The level's shape.
    shape: Shape,
}

/// The merge units block `height` does: at most one per level.
pub fn due_units(height: u64) -> impl Iterator<Item = Unit> {
    LEVELS
        .windows(2)
        .zip(1u8..)
        .filter_map(move |(pair, level)| {
            let (lower, shape) = match *pair {
                [lower, shape] => (lower, shape),
                _ => return None,
            };
            let since = height.checked_sub(1 + lower.delay)?;
            let window = since / shape.span;
            let offset = since % shape.span;
            if window == 0 || !offset.is_multiple_of(UNIT_BLOCKS) {
                return None;
            }
            Some(Unit {
                level,
                run: window - 1,
                parent: u32::try_from(offset / UNIT_BLOCKS).ok()?,
                shape,
            })
        })
}

/// Put block `height`'s place runs (its level-0 runs and the merge units
/// due at its height) into `batch`. `hashes` are its transactions' hashes
/// in block order; entries below `base` are dropped by merges.
pub(super) fn index_block<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    family: Family,
    height: u64,
    hashes: &[Hash],
    base: u64,
) -> Result<(), LedgerError> {
    let run = height
        .checked_sub(1)
        .ok_or_else(|| corrupt("block height 0"))?;
    let mut entries = Vec::with_capacity(hashes.len());
    for (index, hash) in hashes.iter().enumerate() {
        let index = u32::try_from(index).map_err(corrupt)?;
        entries.push(Entry::of(hash, height, index));
    }
    entries.sort_unstable();
    if let Some(level_0) = LEVELS.first() {
        put_split(batch, family, 0, level_0.bits, run, &entries);
    }
    for unit in due_units(height) {
        merge(store, batch, family, unit, base)?;
    }
    Ok(())
}

/// Write sorted `entries` as level `level`'s run `run`, one value per
/// bucket (of `bits` bits) that has entries.
fn put_split(
    batch: &mut WriteBatch,
    family: Family,
    level: u8,
    bits: u32,
    run: u64,
    entries: &[Entry],
) {
    for group in entries.chunk_by(|a, b| a.bucket(bits) == b.bucket(bits)) {
        if let Some(first) = group.first() {
            batch.put(
                run_key_in(family, level, first.bucket(bits), run),
                encode(group),
            );
        }
    }
}

/// Do one merge unit: read the parent bucket's input runs, write their
/// entries at or above `base` into the child buckets, delete the inputs;
/// at the top level also delete the children's top runs wholly below
/// `base`.
fn merge<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    family: Family,
    unit: Unit,
    base: u64,
) -> Result<(), LedgerError> {
    let lower = unit
        .level
        .checked_sub(1)
        .ok_or_else(|| corrupt("merge into level 0"))?;
    let first = unit.run.saturating_mul(unit.shape.fan_in);
    let end = first.saturating_add(unit.shape.fan_in);
    let fan_in = usize::try_from(unit.shape.fan_in).map_err(corrupt)?;
    let inputs = store.scan_prefix_rev(
        &bucket_key(family, lower, unit.parent),
        Some(&run_key_in(family, lower, unit.parent, end)),
        fan_in,
    )?;
    let mut entries = Vec::new();
    for (key, value) in inputs {
        if run_of(&key)? < first {
            // Every block does its units, so an earlier window's runs are
            // merged by the time this one's are; none is expected here.
            // One found is left where it is (still read by lookups)
            // rather than merged into a run whose span it is not in.
            continue;
        }
        decode_into(&value, &mut entries)?;
        batch.delete(key);
    }
    entries.retain(|e| e.height >= base);
    entries.sort_unstable();
    put_split(
        batch,
        family,
        unit.level,
        unit.shape.bits,
        unit.run,
        &entries,
    );
    if unit.level == TOP_LEVEL && base > 1 {
        delete_top_runs_below(store, batch, family, unit.parent, base)?;
    }
    Ok(())
}

/// Delete the top runs of `parent`'s children that end below `base`.
fn delete_top_runs_below<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    family: Family,
    parent: u32,
    base: u64,
) -> Result<(), LedgerError> {
    for child in 0..CHILDREN {
        let bucket = parent
            .checked_mul(CHILDREN)
            .and_then(|first| first.checked_add(child))
            .ok_or_else(|| corrupt("place run bucket"))?;
        let mut below = Vec::new();
        store.scan_prefix_with(&bucket_key(family, TOP_LEVEL, bucket), &mut |key, _| {
            if let Ok(run) = run_of(key) {
                if run.saturating_add(1).saturating_mul(TOP.span) < base {
                    below.push(key.to_vec());
                }
            }
            Ok(())
        })?;
        for key in below {
            batch.delete(key);
        }
    }
    Ok(())
}

/// The places listed under `hash`'s prefix (every run at every level,
/// and the `T` keys of a store migrated from format 10), newest first, at
/// most `limit`. A place listed is a candidate: the caller keeps the one
/// whose transaction has exactly this hash.
pub fn places<S: Storage>(
    store: &S,
    hash: &Hash,
    limit: usize,
) -> Result<Vec<(u64, u32)>, LedgerError> {
    let mut found = Vec::new();
    for group in 0..GROUPS {
        found.extend(candidates(store, Family::Places, hash, group, limit)?);
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.dedup();
    found.truncate(limit);
    Ok(found)
}

/// The first answer `check` gives for the places listed under `hash`'s
/// prefix, read a level at a time from the lowest (the newest blocks) to
/// the `T` keys of a migrated store: a lookup of a recent transaction
/// stops at the level that holds it. At most `limit` places are checked.
pub fn find<S: Storage, T>(
    store: &S,
    hash: &Hash,
    limit: usize,
    check: &mut dyn FnMut(u64, u32) -> Result<Option<T>, LedgerError>,
) -> Result<Option<T>, LedgerError> {
    find_in(store, Family::Places, hash, limit, check)
}

/// [`find`] in `family`'s runs (only places have `T` keys).
pub(super) fn find_in<S: Storage, T>(
    store: &S,
    family: Family,
    hash: &Hash,
    limit: usize,
    check: &mut dyn FnMut(u64, u32) -> Result<Option<T>, LedgerError>,
) -> Result<Option<T>, LedgerError> {
    let mut checked = 0;
    for group in 0..GROUPS {
        for (height, index) in candidates(store, family, hash, group, limit)? {
            if checked >= limit {
                return Ok(None);
            }
            checked += 1;
            if let Some(found) = check(height, index)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Groups of places a lookup reads in turn: each level, then `T` keys.
const GROUPS: usize = LEVELS.len() + 1;

/// The places of one group (a level, or past the levels the `T` keys)
/// listed under `hash`'s prefix, newest first.
fn candidates<S: Storage>(
    store: &S,
    family: Family,
    hash: &Hash,
    group: usize,
    limit: usize,
) -> Result<Vec<(u64, u32)>, LedgerError> {
    let prefix = prefix_of(hash);
    let mut found = Vec::new();
    match LEVELS.get(group) {
        Some(shape) => {
            let level = u8::try_from(group).map_err(corrupt)?;
            let mut failed = None;
            let bucket = bucket_of(prefix, shape.bits);
            store.scan_prefix_with(&bucket_key(family, level, bucket), &mut |_, run| {
                if let Err(error) = matching(run, prefix, &mut found) {
                    failed = Some(error);
                }
                Ok(())
            })?;
            if let Some(error) = failed {
                return Err(error);
            }
        }
        None if family == Family::Places => {
            for (key, _) in store.scan_prefix_rev(&keys::tx_places(hash), None, limit)? {
                let place =
                    keys::place_suffix(&key).ok_or_else(|| corrupt("transaction place key"))?;
                found.push(place);
            }
        }
        None => {}
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn hash(n: u64) -> Hash {
        Hash::digest("kopnet/test/place-index", &n.to_be_bytes())
    }

    #[test]
    fn every_unit_of_a_level_falls_in_its_span_once_and_levels_meet_end_to_start() {
        for pair in LEVELS.windows(2) {
            let [lower, shape] = [pair[0], pair[1]];
            assert_eq!(shape.span, UNIT_BLOCKS << lower.bits);
            assert_eq!(shape.delay, lower.delay + shape.span);
            assert_eq!(shape.bits, lower.bits + CHILDREN.ilog2());
            assert_eq!(shape.span, lower.span * shape.fan_in);
        }
        assert_eq!(LEVELS[0].delay, 0);
        // Level 2's merge of run 3: every parent once, all inside one span
        // that starts after the last level-1 unit of its inputs.
        let start = 4 * LEVELS[2].span + LEVELS[1].delay + 1;
        let units: Vec<(u64, Unit)> = (start - 10..start + LEVELS[2].span + 10)
            .flat_map(|h| due_units(h).filter(|u| u.level == 2).map(move |u| (h, u)))
            .collect();
        let of_run_3: Vec<_> = units.iter().filter(|(_, u)| u.run == 3).collect();
        assert_eq!(of_run_3.len(), 1 << LEVELS[1].bits);
        assert_eq!(of_run_3.first().map(|(h, _)| *h), Some(start));
        for (i, (_, unit)) in of_run_3.iter().enumerate() {
            assert_eq!(unit.parent as usize, i);
        }
        let last_level_1_unit = (1..start + LEVELS[2].span)
            .flat_map(|h| {
                due_units(h)
                    .filter(|u| u.level == 1 && u.run == 4 * 16 - 1)
                    .map(move |_| h)
            })
            .max();
        assert!(last_level_1_unit.is_some_and(|h| h < start));
    }

    /// A store with `blocks` blocks of `per_block` transactions indexed.
    fn indexed(blocks: u64, per_block: u64, base: u64) -> MemoryStorage {
        let store = MemoryStorage::new();
        for height in 1..=blocks {
            let hashes: Vec<Hash> = (0..per_block).map(|i| hash(height * 1_000 + i)).collect();
            let mut batch = WriteBatch::default();
            index_block(&store, &mut batch, Family::Places, height, &hashes, base).unwrap();
            store.commit(batch).unwrap();
        }
        store
    }

    /// The first run of `level` not yet merged away after block `blocks`:
    /// the merge of its group `g` of runs into the next level starts at
    /// block `(g + 1)·span + delay + 1` (the next level's span, this
    /// level's delay) and its last unit is `span − 4` blocks later.
    fn first_live_run(level: usize, blocks: u64) -> u64 {
        let (shape, upper) = (LEVELS[level], LEVELS[level + 1]);
        let merged_groups =
            ((blocks + UNIT_BLOCKS - 1).saturating_sub(shape.delay) / upper.span).saturating_sub(1);
        merged_groups * upper.fan_in
    }

    #[test]
    fn every_transaction_is_found_at_its_place_across_merges() {
        // Past the first level-3 merge's start.
        let blocks = LEVELS[3].span + LEVELS[2].delay + 300;
        let store = indexed(blocks, 3, 1);
        for height in 1..=blocks {
            for i in 0..3 {
                let hash = hash(height * 1_000 + i);
                let places = places(&store, &hash, 64).unwrap();
                assert!(
                    places.contains(&(height, i as u32)),
                    "height {height} index {i}: {places:?}"
                );
                let found = find(&store, &hash, 64, &mut |h, at| {
                    Ok((h == height && at == i as u32).then_some(()))
                });
                assert_eq!(found.unwrap(), Some(()));
            }
        }
        assert!(places(&store, &hash(7), 64).unwrap().is_empty());
        // Merged runs are gone, and every level below the top was reached.
        let runs = |level: usize| -> Vec<u64> {
            store
                .scan_prefix(&[b'U', level as u8])
                .unwrap()
                .iter()
                .map(|(key, _)| run_of(key).unwrap())
                .collect()
        };
        for level in 0..usize::from(TOP_LEVEL) {
            let first = first_live_run(level, blocks);
            let left = runs(level);
            assert!(
                left.iter().all(|&run| run >= first),
                "level {level}: {left:?}"
            );
        }
        // Levels 0 and 1 had merges complete; level 3 was written.
        assert!(first_live_run(0, blocks) > 0 && first_live_run(1, blocks) > 0);
        assert!(!runs(3).is_empty());
        assert!(store.scan_prefix(b"T").unwrap().is_empty());
    }

    #[test]
    fn merges_drop_entries_below_the_base_and_the_top_level_its_runs_below_it() {
        // Windows of 16 blocks; 1..=64 merged by block 77, 65..=80 not yet.
        let blocks = 80;
        let store = indexed(blocks, 2, 75);
        let found = |height: u64| {
            !places(&store, &hash(height * 1_000), 64)
                .unwrap()
                .is_empty()
        };
        // Merged below the base: dropped.
        assert!(!found(5));
        assert!(!found(20));
        assert!(!found(60));
        // Not merged yet (level 0): kept whatever the base.
        assert!(found(70));
        assert!(found(78));

        let store = MemoryStorage::new();
        let old = Entry::of(&hash(1), 10, 0);
        let new = Entry::of(&hash(2), TOP.span + 10, 0);
        let parent = old.bucket(TOP.bits) / CHILDREN;
        let mut batch = WriteBatch::default();
        batch.put(run_key(TOP_LEVEL, old.bucket(TOP.bits), 0), encode(&[old]));
        batch.put(run_key(TOP_LEVEL, old.bucket(TOP.bits), 1), encode(&[new]));
        store.commit(batch).unwrap();
        let unit = Unit {
            level: TOP_LEVEL,
            run: 2,
            parent,
            shape: TOP,
        };
        let mut batch = WriteBatch::default();
        merge(&store, &mut batch, Family::Places, unit, TOP.span + 5).unwrap();
        store.commit(batch).unwrap();
        assert!(store
            .get(&run_key(TOP_LEVEL, old.bucket(TOP.bits), 0))
            .unwrap()
            .is_none());
        assert!(store
            .get(&run_key(TOP_LEVEL, old.bucket(TOP.bits), 1))
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_run_of_a_broken_length_is_corrupt_not_a_panic() {
        let store = MemoryStorage::new();
        let entry = Entry::of(&hash(9), 1, 0);
        let mut batch = WriteBatch::default();
        batch.put(
            run_key(0, entry.bucket(LEVELS[0].bits), 0),
            vec![0; ENTRY_BYTES + 3],
        );
        store.commit(batch).unwrap();
        assert!(matches!(
            places(&store, &hash(9), 64),
            Err(LedgerError::Corrupt(_))
        ));
    }
}
