//! The history index (store format 3): in which transactions each member
//! account appears, written at a cost per block and per member, not per
//! transaction.
//!
//! Store format 2 wrote one empty-valued `H` key per member per
//! transaction: two random-key inserts per payment, about a third of the
//! instructions sled spent committing a block (BENCHMARKS.md, "Issue 21,
//! second pass"). Now:
//!
//! - each block writes **one** `J` value: its `(member, transaction index)`
//!   entries, sorted, 36 bytes each;
//! - the blocks are grouped in **epochs** of [`EPOCH_BLOCKS`] heights
//!   (epoch `e` is heights `e * EPOCH_BLOCKS ..= e * EPOCH_BLOCKS +
//!   EPOCH_BLOCKS - 1`). The block that completes an epoch folds the
//!   epoch's `J` values and its own entries into **one `H` value per member
//!   that appears in the epoch** (its places, `(height, index)`, 12 bytes
//!   each, ascending) and deletes the epoch's `J` values, in the block's own
//!   atomic batch. A member paying many times an epoch costs one insert,
//!   not one per payment; a member paying once costs what it did.
//!
//! So at any committed tip, the blocks of completed epochs are found
//! through `H` and the blocks of the open epoch (at most
//! `EPOCH_BLOCKS - 1` of them) through their `J` values, which a reader
//! searches in place (binary search, no copy: [`Storage::read_with`]).
//! A reader that races a completing block may find an entry both in a `J`
//! value and in the new `H` value, or a `J` value already gone and the
//! entry in `H`: it reads the `J` values first and drops what it has
//! already seen, so every page is exact.
//!
//! The index is local (not part of the state or any hash): every node
//! builds the same one, but nothing agrees on it.

use super::reader::ChainPosition;
use super::{corrupt, LedgerError};
use crate::keys;
use crate::storage::{Storage, WriteBatch};
use kopnet_primitives::PublicKey;
use std::collections::{BTreeMap, BTreeSet};

/// Heights per history epoch. 64 blocks: at `--max` load (hundreds of
/// payments a block over ~11,000 accounts) a member appears about seven
/// times an epoch; a reader searches at most 63 open blocks' entries.
pub const EPOCH_BLOCKS: u64 = 64;

const MEMBER_BYTES: usize = 32;
/// A `J` entry: member key, transaction index (u32 BE).
const BLOCK_ENTRY_BYTES: usize = MEMBER_BYTES + 4;
/// An `H` entry: height (u64 BE), transaction index (u32 BE).
const PLACE_BYTES: usize = 12;
/// `H` values a reader asks the store for at a time.
const EPOCHS_PER_SCAN: usize = 8;

/// The epoch of block `height`.
pub fn epoch_of(height: u64) -> u64 {
    height / EPOCH_BLOCKS
}

/// The first height of `epoch`.
fn epoch_start(epoch: u64) -> u64 {
    epoch.saturating_mul(EPOCH_BLOCKS)
}

/// Whether block `height` is the last of its epoch.
fn completes_epoch(height: u64) -> bool {
    height % EPOCH_BLOCKS == EPOCH_BLOCKS - 1
}

/// Put block `height`'s history into `batch`: `entries` are the block's
/// `(member, transaction index)` pairs, in any order. Written as the
/// block's `J` value, or, when the block completes its epoch, as the
/// epoch's `H` values (reading the epoch's earlier `J` values from `store`
/// and deleting them).
pub(super) fn index_history<S: Storage>(
    store: &S,
    batch: &mut WriteBatch,
    height: u64,
    mut entries: Vec<(PublicKey, u32)>,
) -> Result<(), LedgerError> {
    // Equal entries are identical, so an unstable sort gives the same
    // list (and is a third cheaper than the stable one).
    entries.sort_unstable();
    entries.dedup();
    if !completes_epoch(height) {
        let mut value = Vec::with_capacity(entries.len() * BLOCK_ENTRY_BYTES);
        for (member, index) in &entries {
            value.extend_from_slice(&member.0);
            value.extend_from_slice(&index.to_be_bytes());
        }
        batch.put(keys::block_history(height), value);
        return Ok(());
    }
    let epoch = epoch_of(height);
    let mut places: BTreeMap<[u8; MEMBER_BYTES], Vec<u8>> = BTreeMap::new();
    let mut put = |member: [u8; MEMBER_BYTES], at: u64, index: [u8; 4]| {
        let list = places.entry(member).or_default();
        list.extend_from_slice(&at.to_be_bytes());
        list.extend_from_slice(&index);
    };
    for at in epoch_start(epoch)..height {
        let key = keys::block_history(at);
        let mut sound = true;
        store.read_with(&key, &mut |bytes| {
            sound = bytes.len() % BLOCK_ENTRY_BYTES == 0;
            for (member, index) in bytes
                .chunks_exact(BLOCK_ENTRY_BYTES)
                .filter_map(split_entry)
            {
                put(member, at, index);
            }
        })?;
        if !sound {
            return Err(corrupt(format!("history entries of block {at}")));
        }
        batch.delete(key);
    }
    for (member, index) in entries {
        put(member.0, height, index.to_be_bytes());
    }
    // The epoch's members, in chunks, for pruning to find these values.
    let mut chunk = Vec::new();
    let mut chunk_no = 0u32;
    for (member, list) in places {
        batch.put(keys::history(&PublicKey(member), epoch), list);
        chunk.extend_from_slice(&member);
        if chunk.len() >= EPOCH_MEMBERS_CHUNK * MEMBER_BYTES {
            batch.put(
                keys::epoch_members(epoch, chunk_no),
                std::mem::take(&mut chunk),
            );
            chunk_no = chunk_no.saturating_add(1);
        }
    }
    if !chunk.is_empty() {
        batch.put(keys::epoch_members(epoch, chunk_no), chunk);
    }
    Ok(())
}

/// Members per `G` value (32 KiB): what one step of the history sweep of
/// pruning deletes ([`super::prune`]).
pub const EPOCH_MEMBERS_CHUNK: usize = 1_024;

/// The members listed in a `G` value.
pub(super) fn members_of_chunk(bytes: &[u8]) -> Result<Vec<PublicKey>, LedgerError> {
    if !bytes.len().is_multiple_of(MEMBER_BYTES) {
        return Err(corrupt("history epoch member list"));
    }
    Ok(bytes
        .chunks_exact(MEMBER_BYTES)
        .filter_map(|m| <[u8; MEMBER_BYTES]>::try_from(m).ok().map(PublicKey))
        .collect())
}

/// The member and transaction index at the start of `entry`.
fn split_entry(entry: &[u8]) -> Option<([u8; MEMBER_BYTES], [u8; 4])> {
    let (member, rest) = entry.split_first_chunk::<MEMBER_BYTES>()?;
    let index = rest.first_chunk::<4>()?;
    Some((*member, *index))
}

/// Up to `limit` of `member`'s places among blocks `base ..= tip`, newest
/// first, strictly before `before` if given. Places below `base` (the
/// store's pruning base, [`super::prune`]) are never returned, even where
/// an `H` value still lists them.
pub(super) fn history_places<S: Storage>(
    store: &S,
    member: &PublicKey,
    (base, tip): (u64, u64),
    before: Option<ChainPosition>,
    limit: usize,
) -> Result<Vec<ChainPosition>, LedgerError> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    // Entries above `tip` (a block committed since the caller read it)
    // are left for the next read.
    let wanted = |place: &ChainPosition| {
        place.height <= tip && place.height >= base && before.is_none_or(|b| *place < b)
    };
    let top = before.map_or(tip, |b| b.height.min(tip));
    // The open epoch's blocks, newest first, from their `J` values.
    let open_start = epoch_start(epoch_of(tip)).max(base);
    for height in (open_start..=top).rev() {
        let mut sound = true;
        store.read_with(&keys::block_history(height), &mut |bytes| {
            sound = bytes.len() % BLOCK_ENTRY_BYTES == 0;
            for index in block_indexes(bytes, member).into_iter().rev() {
                let place = ChainPosition { height, index };
                if wanted(&place) {
                    out.push(place);
                }
            }
        })?;
        if !sound {
            return Err(corrupt(format!("history entries of block {height}")));
        }
        if out.len() >= limit {
            out.truncate(limit);
            return Ok(out);
        }
    }
    // Completed epochs, newest first, from the member's `H` values. A
    // block that completed the open epoch since the `J` values were read
    // put their entries here too: those already taken are skipped.
    let seen: BTreeSet<ChainPosition> = out.iter().copied().collect();
    let prefix = keys::history_prefix(member);
    let mut upper = keys::history(member, epoch_of(top).saturating_add(1));
    loop {
        let rows = store.scan_prefix_rev(&prefix, Some(&upper), EPOCHS_PER_SCAN)?;
        let fetched = rows.len();
        for (key, value) in rows {
            if value.len() % PLACE_BYTES != 0 {
                return Err(corrupt("history epoch entries"));
            }
            for place in value
                .chunks_exact(PLACE_BYTES)
                .rev()
                .filter_map(split_place)
            {
                if wanted(&place) && !seen.contains(&place) {
                    out.push(place);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            upper = key;
        }
        // Epochs wholly below the base hold nothing wanted.
        let below_base = keys::history(member, epoch_of(base));
        if fetched < EPOCHS_PER_SCAN || upper <= below_base {
            return Ok(out);
        }
    }
}

/// `member`'s transaction indexes in a block's `J` value (sorted by
/// member, then index), ascending.
fn block_indexes(bytes: &[u8], member: &PublicKey) -> Vec<u32> {
    let entry = |i: usize| {
        bytes
            .get(i.saturating_mul(BLOCK_ENTRY_BYTES)..)
            .and_then(split_entry)
    };
    let entries = bytes.len() / BLOCK_ENTRY_BYTES;
    let first = partition(entries, |i| entry(i).is_some_and(|(m, _)| m < member.0));
    (first..entries)
        .map_while(|i| entry(i).filter(|(m, _)| *m == member.0))
        .map(|(_, index)| u32::from_be_bytes(index))
        .collect()
}

/// The first `i` in `0..len` for which `below(i)` is false (`below` true
/// for a prefix of the range).
fn partition(len: usize, below: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        if below(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

fn split_place(entry: &[u8]) -> Option<ChainPosition> {
    let (height, rest) = entry.split_first_chunk::<8>()?;
    let index = rest.first_chunk::<4>()?;
    Some(ChainPosition {
        height: u64::from_be_bytes(*height),
        index: u32::from_be_bytes(*index),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    /// Index `blocks` (height → entries) in order, one batch each, as
    /// committing them would.
    fn index(store: &MemoryStorage, blocks: &[(u64, Vec<(PublicKey, u32)>)]) {
        for (height, entries) in blocks {
            let mut batch = WriteBatch::default();
            index_history(store, &mut batch, *height, entries.clone()).unwrap();
            store.commit(batch).unwrap();
        }
    }

    fn place(height: u64, index: u32) -> ChainPosition {
        ChainPosition { height, index }
    }

    #[test]
    fn pages_cross_completed_and_open_epochs_newest_first() {
        let store = MemoryStorage::new();
        let tip = 2 * EPOCH_BLOCKS + 5;
        // Member 1 in every block (twice in even ones), member 2 in every third.
        let blocks: Vec<_> = (1..=tip)
            .map(|h| {
                let mut entries = vec![(key(1), 0)];
                if h % 2 == 0 {
                    entries.push((key(1), 3));
                }
                if h % 3 == 0 {
                    entries.push((key(2), 1));
                }
                (h, entries)
            })
            .collect();
        index(&store, &blocks);
        // Completed epochs 0 and 1 hold no `J` values any more.
        assert!(store.get(&keys::block_history(5)).unwrap().is_none());
        assert!(store.get(&keys::block_history(tip)).unwrap().is_some());

        let mut expected: Vec<_> = blocks
            .iter()
            .flat_map(|(h, e)| {
                e.iter()
                    .filter(|(m, _)| *m == key(1))
                    .map(|(_, i)| place(*h, *i))
            })
            .collect();
        expected.reverse();
        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page = history_places(&store, &key(1), (1, tip), before, 7).unwrap();
            assert!(page.len() <= 7);
            let Some(last) = page.last() else { break };
            before = Some(*last);
            paged.extend(page);
        }
        assert_eq!(paged, expected);

        let all = history_places(&store, &key(2), (1, tip), None, 1_000).unwrap();
        let threes: Vec<_> = (1..=tip)
            .rev()
            .filter(|h| h % 3 == 0)
            .map(|h| place(h, 1))
            .collect();
        assert_eq!(all, threes);
        assert!(history_places(&store, &key(9), (1, tip), None, 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_reader_racing_the_block_that_completes_an_epoch_sees_each_entry_once() {
        let store = MemoryStorage::new();
        let open: Vec<_> = (1..EPOCH_BLOCKS - 1)
            .map(|h| (h, vec![(key(1), 0)]))
            .collect();
        index(&store, &open);
        let tip = EPOCH_BLOCKS - 2;
        let expected: Vec<_> = (1..=tip).rev().map(|h| place(h, 0)).collect();
        assert_eq!(
            history_places(&store, &key(1), (1, tip), None, 1_000).unwrap(),
            expected
        );

        // Both the `J` values and the epoch's `H` value present: what a
        // reader sees if the completing block lands between its two stages.
        let mut both = WriteBatch::default();
        let mut places = Vec::new();
        for h in 1..EPOCH_BLOCKS {
            places.extend_from_slice(&h.to_be_bytes());
            places.extend_from_slice(&0u32.to_be_bytes());
        }
        both.put(keys::history(&key(1), 0), places);
        store.commit(both).unwrap();
        assert_eq!(
            history_places(&store, &key(1), (1, tip), None, 1_000).unwrap(),
            expected
        );

        // After the completing block: the `J` values are gone, a reader
        // still at the old tip gets the same page, not the newer entry.
        index(&store, &[(EPOCH_BLOCKS - 1, vec![(key(1), 0)])]);
        assert!(store.get(&keys::block_history(3)).unwrap().is_none());
        assert_eq!(
            history_places(&store, &key(1), (1, tip), None, 1_000).unwrap(),
            expected
        );
        let fresh = history_places(&store, &key(1), (1, EPOCH_BLOCKS - 1), None, 1_000).unwrap();
        assert_eq!(fresh.len(), expected.len() + 1);
        assert_eq!(fresh[0], place(EPOCH_BLOCKS - 1, 0));
    }

    #[test]
    fn damaged_entries_are_an_error_not_a_panic() {
        let store = MemoryStorage::new();
        let mut batch = WriteBatch::default();
        batch.put(keys::block_history(3), vec![1, 2, 3]);
        batch.put(keys::history(&key(1), 0), vec![0; 5]);
        store.commit(batch).unwrap();
        assert!(history_places(&store, &key(1), (1, 3), None, 10).is_err());
        assert!(history_places(&store, &key(1), (1, 2 * EPOCH_BLOCKS), None, 10).is_err());
        let mut batch = WriteBatch::default();
        assert!(index_history(&store, &mut batch, EPOCH_BLOCKS - 1, vec![]).is_err());
    }
}
