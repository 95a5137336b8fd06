//! Which payments surely have no idempotency record: a Bloom filter per
//! live day, in memory, so that the common case — a payment whose id is
//! new — costs no read of the store.
//!
//! Every payment looks up its payer's record for its id before its block
//! executes ([`super::payment_records`]); nearly always there is none, and
//! that point read of sled was one of the largest costs left on a
//! validator's consensus loop (BENCHMARKS.md, issue 21). The filter answers
//! "surely absent" for most of those reads.
//!
//! **Never wrong in the direction that matters.** A filter may say "maybe"
//! for a record that does not exist (then the store is read, as before),
//! but it says "surely absent" only if no record of that day was ever
//! stored under that payer and id. Every node therefore executes exactly
//! what it executed without the filter: it is a cache of the store, not
//! part of the agreed state, and nothing hashed or agreed depends on it
//! (its hashing is keyed per process).
//!
//! That holds because a day is *known* only if the ledger has written
//! every record of it since it opened: a day that had records when the
//! ledger opened is *unknown* (start-up reads no record), and a day
//! starts known, empty, at the first record the ledger writes for it,
//! once that block's batch is committed. Records are only ever written by
//! [`super::Ledger::apply_executed`] (a snapshot import or a restore
//! writes them into a store that is opened afterwards), and no block
//! writes records of a day that has expired. Every lookup of an unknown
//! day reads the store, as before; two days after a restart every live
//! day is known again.
//!
//! **Bounded.** A day holds at most [`DAY_RECORDS_MAX`] records in its
//! filter (about [`SEGMENT_RECORDS`] records per MiB, so at most 16 MiB a
//! day and three days at once); a day with more becomes unknown and its
//! filter is dropped, so a node of a very busy network reads the store as
//! it did before, and spends no more memory.

use crate::tx::IdempotencyId;
use kopnet_primitives::PublicKey;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher, RandomState};

/// Records one segment holds (a segment is 2^23 bits, 1 MiB: 8 bits per
/// record, which with [`PROBES`] probes gives about 2 % "maybe" for an
/// absent record once the segment is full).
pub const SEGMENT_RECORDS: usize = 1 << 20;
/// Bits of one segment.
const SEGMENT_BITS: usize = SEGMENT_RECORDS * 8;
/// Probes per record.
const PROBES: u32 = 6;
/// Most records a day's filter holds (16 segments, 16 MiB); past it the
/// day is unknown.
pub const DAY_RECORDS_MAX: usize = 16 * SEGMENT_RECORDS;

/// One day's records, or what is known of them.
#[derive(Debug)]
enum DayFilter {
    /// Every record of the day is in these segments (the last one filling).
    Known {
        segments: Vec<Vec<u64>>,
        records: usize,
    },
    /// Not every record is known: every lookup reads the store.
    Unknown,
}

impl DayFilter {
    fn empty() -> DayFilter {
        DayFilter::Known {
            segments: Vec::new(),
            records: 0,
        }
    }

    fn insert(&mut self, hash: u64, records_max: usize) {
        let DayFilter::Known { segments, records } = self else {
            return;
        };
        if *records >= records_max {
            *self = DayFilter::Unknown;
            return;
        }
        if *records % SEGMENT_RECORDS == 0 {
            segments.push(vec![0u64; SEGMENT_BITS / 64]);
        }
        if let Some(segment) = segments.last_mut() {
            for bit in probes(hash) {
                if let Some(word) = segment.get_mut(bit / 64) {
                    *word |= 1 << (bit % 64);
                }
            }
        }
        *records += 1;
    }

    fn might_hold(&self, hash: u64) -> bool {
        match self {
            DayFilter::Unknown => true,
            DayFilter::Known { segments, .. } => segments.iter().any(|segment| {
                probes(hash).all(|bit| {
                    segment
                        .get(bit / 64)
                        .is_none_or(|word| word & (1 << (bit % 64)) != 0)
                })
            }),
        }
    }
}

/// The bits a record's hash sets in a segment (double hashing).
fn probes(hash: u64) -> impl Iterator<Item = usize> {
    let first = hash & 0xffff_ffff;
    let step = (hash >> 32) | 1;
    (0..u64::from(PROBES)).map(move |i| {
        let bit = first.wrapping_add(i.wrapping_mul(step)) % SEGMENT_BITS as u64;
        usize::try_from(bit).unwrap_or(0)
    })
}

/// The filters of the days the ledger keeps records for.
#[derive(Debug)]
pub(super) struct RecordFilter {
    days: BTreeMap<u64, DayFilter>,
    /// Keyed per process: a payer cannot choose ids that all fall on the
    /// same bits of every node's filter.
    hasher: RandomState,
    /// [`DAY_RECORDS_MAX`] (smaller in tests).
    day_records_max: usize,
}

impl RecordFilter {
    /// A filter of a store with no records (a new ledger).
    pub(super) fn new() -> RecordFilter {
        RecordFilter::with_bound(DAY_RECORDS_MAX)
    }

    fn with_bound(day_records_max: usize) -> RecordFilter {
        RecordFilter {
            days: BTreeMap::new(),
            hasher: RandomState::new(),
            day_records_max,
        }
    }

    /// The filter of a ledger opened on a store that holds records of
    /// `days`: those days are unknown (start-up reads no record, so it does
    /// not grow with the payments made: see [`crate::idempotency`]); every
    /// later day is known from its first record on. Two days after a
    /// restart every live day is known again.
    pub(super) fn opened_with(days: &[u64]) -> RecordFilter {
        let mut filter = RecordFilter::new();
        for day in days {
            filter.days.insert(*day, DayFilter::Unknown);
        }
        filter
    }

    fn hash(&self, payer: &PublicKey, id: &IdempotencyId) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(&payer.0);
        hasher.write(id);
        hasher.finish()
    }

    /// A record of `day` was stored (after its batch committed). A day the
    /// filter does not hold yet starts empty: its records are all written
    /// by this ledger, since a day that had records when the ledger opened
    /// was read then (or marked unknown), and blocks never write records
    /// of a day that has expired.
    pub(super) fn insert(&mut self, day: u64, payer: &PublicKey, id: &IdempotencyId) {
        let hash = self.hash(payer, id);
        let max = self.day_records_max;
        self.days
            .entry(day)
            .or_insert_with(DayFilter::empty)
            .insert(hash, max);
    }

    /// False only if the store surely holds no record of `day` for `payer`
    /// and `id`; a day the filter does not hold is answered "maybe".
    pub(super) fn might_hold(&self, day: u64, payer: &PublicKey, id: &IdempotencyId) -> bool {
        match self.days.get(&day) {
            Some(filter) => filter.might_hold(self.hash(payer, id)),
            None => true,
        }
    }

    /// Keep only the filters of `live` days (those with records in the
    /// state after a block).
    pub(super) fn keep_days(&mut self, live: &[u64]) {
        self.days.retain(|day, _| live.contains(day));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::key_for;

    fn id(n: u32) -> IdempotencyId {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_be_bytes());
        id
    }

    #[test]
    fn a_stored_record_is_never_reported_absent() {
        let payer = key_for("payer").public();
        let mut filter = RecordFilter::new();
        for n in 0..50_000 {
            filter.insert(7, &payer, &id(n));
        }
        assert!((0..50_000).all(|n| filter.might_hold(7, &payer, &id(n))));
        // Absent ids are mostly reported absent (this is what saves reads).
        let maybe = (50_000..60_000)
            .filter(|n| filter.might_hold(7, &payer, &id(*n)))
            .count();
        assert!(maybe < 500, "{maybe} of 10,000 absent ids read as maybe");
        // A day the filter does not hold is "maybe", and so is a day it
        // let go of.
        assert!(filter.might_hold(8, &payer, &id(1)));
        filter.keep_days(&[8]);
        assert!(filter.might_hold(7, &payer, &id(70_000)));
    }

    #[test]
    fn a_day_past_its_bound_reads_the_store() {
        let payer = key_for("payer").public();
        let mut filter = RecordFilter::with_bound(1_000);
        for n in 0..1_000 {
            filter.insert(5, &payer, &id(n));
        }
        let absent = (1_000..2_000).filter(|n| !filter.might_hold(5, &payer, &id(*n)));
        assert!(absent.count() > 900);
        filter.insert(5, &payer, &id(1_000));
        assert!((1_000..2_000).all(|n| filter.might_hold(5, &payer, &id(n))));
    }

    #[test]
    fn days_with_records_at_opening_read_the_store_and_later_days_do_not() {
        let payer = key_for("payer").public();
        let mut filter = RecordFilter::opened_with(&[3, 4]);
        filter.insert(4, &payer, &id(1));
        filter.insert(5, &payer, &id(1));
        // Days 3 and 4 had records nobody showed the filter: always maybe.
        assert!(filter.might_hold(3, &payer, &id(2)));
        assert!(filter.might_hold(4, &payer, &id(2)));
        // Day 5 began after the opening: the filter knows all of it.
        assert!(filter.might_hold(5, &payer, &id(1)));
        assert!(!filter.might_hold(5, &payer, &id(2)));
    }
}
