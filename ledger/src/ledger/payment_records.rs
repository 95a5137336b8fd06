//! Payment idempotency records in the store (the rules are in
//! [`crate::idempotency`]): read by point lookup before a block executes,
//! written in the block's batch, and swept from disk once their day has
//! expired. None of them is kept in the ledger's memory.
//!
//! **Store format 12: a block's records in one value.** Until format 11
//! every record was its own key (`I ‖ day ‖ payer ‖ id`) plus 48 bytes in
//! its day's order list (`Q`): one new random key per payment, about a
//! third of the instructions of applying a payment and 194 of its ~450
//! live bytes (BENCHMARKS.md, issue 21, ninth pass). Now a block writes
//! its records, in the order its payments wrote them, as one value
//! `W ‖ day ‖ height`, and lists each under the hash of payer and id in
//! the runs of [`place_index`] (family [`Family::Records`], 20 bytes a
//! record: where it is, not what it is). A day's `W` values read in key
//! order are its records in chain order, so they need no order list.
//!
//! **Looking one up** (only when the day's filter says "maybe":
//! [`super::record_filter`]): the `I` key, for records written before the
//! store moved to format 12 or by a snapshot restore (those stay in the
//! older form until they expire), then the index: each place listed under
//! the hash, newest first, is read from the live days' `W` value of that
//! height and kept only if it is this payer's record for this id. A place
//! of an expired record finds no live `W` value. Every place listed is
//! checked, so a lookup never answers "none" while a live record exists.
//!
//! **Merges keep only live records:** the index's merges drop places below
//! the lowest height with a live `W` value ([`Ledger::records_base`]).

use super::place_index::{self, Family};
use super::{corrupt, Ledger, LedgerError};
use crate::block_records;
use crate::day_order::{self, RecordKind};
use crate::idempotency;
use crate::keys;
use crate::state::{IdempotencyRecord, Sequenced, State, StateKey, StateRead, StateValue};
use crate::storage::{Storage, WriteBatch};
use crate::tx::{IdempotencyId, Transaction};
use kopnet_primitives::{codec, Hash, PublicKey};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Records read per page when counting them.
const COUNT_PAGE_RECORDS: usize = 10_000;
const RECORD_HASH_CONTEXT: &str = "kopnet 2026 idempotency record index v1";

/// The hash `payer`'s record for `id` is listed under in the index (not
/// agreed: only this node's index uses it).
pub fn record_hash(payer: &PublicKey, id: &IdempotencyId) -> Hash {
    Hash::digest_parts(RECORD_HASH_CONTEXT, &[&payer.0, id])
}

/// A payment's record taken out of a block's writes, to be stored by day.
pub(super) type NewRecord = block_records::BlockRecord;

/// What a block executes on: the committed state, plus the live idempotency
/// records of the payments it may run and the live records of the payments
/// its refunds name ([`crate::refunds`]), read from the store beforehand
/// (execution itself reads memory only).
///
/// **No record is missed.** Which records a block needs is known only as
/// it runs: a payment's record is kept under the paying *account*, which
/// is not the signing key once the account's key was replaced, and a key
/// can be replaced earlier in the same block. So the base notes every
/// record execution asks for that was not looked up ([`BlockBase::missed`]),
/// and whoever executes on it looks those up and runs the block again
/// until nothing was missed ([`Ledger::fetch_missed`]); execution is
/// deterministic, so every node ends on the same run. The first look-up
/// (the signer's records) covers nearly every block, which then runs once.
#[derive(Debug)]
pub(super) struct BlockBase<'a> {
    state: &'a State,
    records: BTreeMap<StateKey, StateValue>,
    /// Record keys looked up in the store, found or not.
    fetched: BTreeSet<StateKey>,
    /// Record keys execution asked for that were not looked up.
    missed: RefCell<BTreeSet<StateKey>>,
}

impl<'a> BlockBase<'a> {
    /// The committed state with no records looked up: for a block that runs
    /// no payment.
    pub(super) fn without_records(state: &'a State) -> Self {
        BlockBase {
            state,
            records: BTreeMap::new(),
            fetched: BTreeSet::new(),
            missed: RefCell::new(BTreeSet::new()),
        }
    }

    /// Whether execution asked for a record that was not looked up.
    pub(super) fn missed_any(&self) -> bool {
        !self.missed.borrow().is_empty()
    }
}

impl StateRead for BlockBase<'_> {
    fn get_ref(&self, key: &StateKey) -> Option<&StateValue> {
        match key {
            StateKey::Idempotency(..) | StateKey::MerchantPayment(..) => {
                if !self.fetched.contains(key) {
                    self.missed.borrow_mut().insert(key.clone());
                }
                self.records.get(key)
            }
            _ => self.state.get_ref(key),
        }
    }
}

impl<S: Storage> Ledger<S> {
    /// The base for executing `txs` in a block at `time_ms`: the live
    /// records of their signers' payments, at most
    /// [`idempotency::DAYS_KEPT`] point reads per payment, and of the
    /// payments their refunds name. Records keyed otherwise (an account
    /// whose key changed) are looked up once execution asks for them
    /// ([`Ledger::fetch_missed`]).
    pub(super) fn block_base<'t>(
        &self,
        txs: impl IntoIterator<Item = &'t Transaction>,
        time_ms: u64,
    ) -> Result<BlockBase<'_>, LedgerError> {
        let mut base = BlockBase::without_records(&self.state);
        for tx in txs {
            let key = match &tx.body.action {
                // A refund's payment record (see `refund_records.rs`).
                crate::tx::Action::Refund { payment, .. } => StateKey::MerchantPayment(*payment),
                action => match idempotency::id_of(action) {
                    Some(id) => StateKey::Idempotency(tx.body.signer, id),
                    None => continue,
                },
            };
            self.fetch_record(&mut base, key, time_ms)?;
        }
        Ok(base)
    }

    /// Look up the records execution asked `base` for and did not find
    /// looked up; whether there were any (then the block must run again on
    /// `base`).
    pub(super) fn fetch_missed(
        &self,
        base: &mut BlockBase<'_>,
        time_ms: u64,
    ) -> Result<bool, LedgerError> {
        let missed = std::mem::take(base.missed.get_mut());
        let any = !missed.is_empty();
        for key in missed {
            self.fetch_record(base, key, time_ms)?;
        }
        Ok(any)
    }

    /// Look up the record under `key` (an idempotency or merchant payment
    /// key; any other key is ignored) as a block at `time_ms` sees it.
    fn fetch_record(
        &self,
        base: &mut BlockBase<'_>,
        key: StateKey,
        time_ms: u64,
    ) -> Result<(), LedgerError> {
        if base.fetched.contains(&key) {
            return Ok(());
        }
        let value = match &key {
            StateKey::Idempotency(payer, id) => self
                .live_record(payer, id, time_ms)?
                .map(StateValue::Idempotency),
            StateKey::MerchantPayment(payment) => self
                .stored_merchant_payment(payment, time_ms)?
                .map(StateValue::MerchantPayment),
            _ => return Ok(()),
        };
        if let Some(value) = value {
            base.records.insert(key.clone(), value);
        }
        base.fetched.insert(key);
        Ok(())
    }

    /// `payer`'s record for `id` as a block at `time_ms` sees it (none if
    /// it expired), from the store.
    fn live_record(
        &self,
        payer: &PublicKey,
        id: &IdempotencyId,
        time_ms: u64,
    ) -> Result<Option<Sequenced<IdempotencyRecord>>, LedgerError> {
        // A day without a commitment entry in the state has no records:
        // no read for it (on a young network, or the day after a quiet
        // one, half the reads of every payment). Nor for a day whose
        // filter says it surely has none for this id (most payments:
        // [`super::record_filter`]).
        let has_records = |day: u64| self.state.get_ref(&StateKey::IdempotencyDay(day)).is_some();
        let might_hold = |day: u64| self.record_filter.might_hold(day, payer, id);
        let days: Vec<u64> = idempotency::live_days(time_ms)
            .filter(|day| has_records(*day) && might_hold(*day))
            .collect();
        if days.is_empty() {
            return Ok(None);
        }
        // Records in the form before format 12 (a migrated store, a
        // snapshot restore).
        for day in &days {
            if let Some(bytes) = self.store.get(&keys::idempotency(*day, payer, id))? {
                return Ok(Some(codec::decode(&bytes).map_err(corrupt)?));
            }
        }
        // Every place listed is checked (no limit): stopping early could
        // answer "none" for a live record on one node and not another.
        let hash = record_hash(payer, id);
        place_index::find_in(
            &self.store,
            Family::Records,
            &hash,
            usize::MAX,
            &mut |height, index| {
                for day in &days {
                    if let Some(found) = self.block_record(*day, height, index, payer, id)? {
                        return Ok(Some(found));
                    }
                }
                Ok(None)
            },
        )
    }

    /// The record at `index` of block `height`'s records of `day`, if
    /// there is one and it is `payer`'s for `id`.
    fn block_record(
        &self,
        day: u64,
        height: u64,
        index: u32,
        payer: &PublicKey,
        id: &IdempotencyId,
    ) -> Result<Option<Sequenced<IdempotencyRecord>>, LedgerError> {
        let found: Option<NewRecord> =
            read_block_value_at(&self.store, &keys::block_records(day, height), index)?;
        Ok(found
            .filter(|(p, i, _)| p == payer && i == id)
            .map(|(_, _, record)| record))
    }

    /// `payer`'s live idempotency record for `id` as of the last block (what
    /// a payment with that id in the next block is checked against, unless
    /// the next block starts a day that expires it).
    pub fn idempotency_record(
        &self,
        payer: &PublicKey,
        id: &IdempotencyId,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        Ok(self
            .live_record(payer, id, self.last_block_time_ms)?
            .map(|stored| stored.record))
    }

    /// How many idempotency records the store holds, expired ones not yet
    /// swept included (`I` keys and the records in `W` values): a full
    /// count, a page at a time (for tests and measurements, not for a
    /// node's hot path).
    pub fn stored_idempotency_records(&self) -> Result<u64, LedgerError> {
        let keys = self.count_prefix(keys::IDEMPOTENCY_PREFIX)?;
        let in_values = self.count_in_block_values::<NewRecord>(keys::BLOCK_RECORDS_PREFIX)?;
        Ok(keys.saturating_add(in_values))
    }

    /// How many records the block values under `prefix` hold, each value
    /// decoded as records of `T` (for tests and measurements).
    pub(super) fn count_in_block_values<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<u64, LedgerError> {
        let mut count = 0u64;
        let mut failed = None;
        self.store.scan_prefix_with(prefix, &mut |_, value| {
            match block_records::decode_all::<T>(value) {
                Ok(records) => {
                    count = count.saturating_add(u64::try_from(records.len()).unwrap_or(u64::MAX))
                }
                Err(error) => failed = Some(corrupt(error)),
            }
            Ok(())
        })?;
        match failed {
            Some(error) => Err(error),
            None => Ok(count),
        }
    }

    /// How many keys the store holds under `prefix`, a page at a time (for
    /// tests and measurements of the records kept by day).
    pub(super) fn count_prefix(&self, prefix: &[u8]) -> Result<u64, LedgerError> {
        let mut count = 0u64;
        let mut before: Option<Vec<u8>> = None;
        loop {
            let page = self
                .store
                .scan_prefix_rev(prefix, before.as_deref(), COUNT_PAGE_RECORDS)?;
            count = count.saturating_add(u64::try_from(page.len()).unwrap_or(u64::MAX));
            match page.into_iter().last() {
                Some((key, _)) => before = Some(key),
                None => return Ok(count),
            }
        }
    }

    /// Delete into `batch` up to `max` keys under `prefix` that sort before
    /// `first_live` (records of days that expired), oldest last: the
    /// bounded sweep of records kept by day.
    pub(super) fn sweep_expired(
        &self,
        batch: &mut WriteBatch,
        prefix: &[u8],
        first_live: &[u8],
        max: usize,
    ) -> Result<(), LedgerError> {
        for (key, _) in self.store.scan_prefix_rev(prefix, Some(first_live), max)? {
            batch.delete(key);
        }
        Ok(())
    }

    /// Put block `height`'s new records (one `W` value, filed under the
    /// day of `time_ms`), their places in the index, and the sweep of
    /// expired days' records into `batch`.
    pub(super) fn write_records(
        &self,
        batch: &mut WriteBatch,
        records: &[NewRecord],
        (height, time_ms): (u64, u64),
    ) -> Result<(), LedgerError> {
        let day = idempotency::day_of(time_ms);
        if !records.is_empty() {
            batch.put(
                keys::block_records(day, height),
                block_records::encode(records).map_err(corrupt)?,
            );
        }
        let hashes: Vec<Hash> = records
            .iter()
            .map(|(payer, id, _)| record_hash(payer, id))
            .collect();
        let base = self.records_base(height, time_ms)?;
        place_index::index_block(&self.store, batch, Family::Records, height, &hashes, base)?;
        let first_live_day = idempotency::first_live_day(time_ms);
        self.sweep_expired(
            batch,
            keys::BLOCK_RECORDS_PREFIX,
            &keys::block_records_day_start(first_live_day),
            idempotency::BLOCK_RECORDS_SWEPT_PER_BLOCK_MAX,
        )?;
        // Records and lists in the form before format 12.
        day_order::sweep_expired(&self.store, batch, RecordKind::Idempotency, first_live_day)?;
        let first_live = keys::idempotency_day_start(first_live_day);
        self.sweep_expired(
            batch,
            keys::IDEMPOTENCY_PREFIX,
            &first_live,
            idempotency::sweep_records_max(records.len()),
        )
    }

    /// The lowest height whose records a block `height` at `time_ms` may
    /// still find: that of the first `W` value of a live day, or `height`
    /// itself if there is none. Merges of the index drop places below it.
    pub(super) fn records_base(&self, height: u64, time_ms: u64) -> Result<u64, LedgerError> {
        for day in idempotency::live_days(time_ms) {
            let start = keys::block_records_day_start(day);
            if let Some(key) = self.store.first_key_with_prefix(&start)? {
                let first = key
                    .get(start.len()..)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| corrupt("block records key"))?;
                return Ok(first.min(height));
            }
        }
        Ok(height)
    }
}

impl<S: Storage> Ledger<S> {
    /// A block's records are stored (its batch committed): the filter
    /// holds them, and lets go of the days that expired.
    pub(super) fn records_stored(&mut self, records: &[NewRecord], time_ms: u64) {
        let day = idempotency::day_of(time_ms);
        for (payer, id, _) in records {
            self.record_filter.insert(day, payer, id);
        }
        self.record_filter.keep_days(&self.state.idempotency_days());
    }
}

/// Record `index` of the block value under `key` (none if there is no such
/// value or record): read in place (sled lends its cached value) and only
/// the one record decoded ([`crate::block_records`]). For both kinds of
/// block value (`W`, `Y`).
pub(super) fn read_block_value_at<S: Storage, T: serde::Serialize + serde::de::DeserializeOwned>(
    store: &S,
    key: &[u8],
    index: u32,
) -> Result<Option<T>, LedgerError> {
    let index = usize::try_from(index).map_err(corrupt)?;
    let mut found = Ok(None);
    store.read_with(key, &mut |value| {
        found = block_records::decode_at::<T>(value, index)
    })?;
    found.map_err(corrupt)
}

/// Take the idempotency records out of a block's writes, in the order the
/// block wrote them (their places in the day's chain; the writes hold them
/// in key order): they are stored by day, not in the state map or the
/// state tree (their day's [`StateKey::IdempotencyDay`] entry commits to
/// them).
pub(super) fn take_records(writes: &mut BTreeMap<StateKey, Option<StateValue>>) -> Vec<NewRecord> {
    let mut records = Vec::new();
    writes.retain(|key, value| match (key, value) {
        (StateKey::Idempotency(payer, id), Some(StateValue::Idempotency(record))) => {
            records.push((*payer, *id, record.clone()));
            false
        }
        // Records are written once and never deleted one by one.
        (StateKey::Idempotency(..), _) => false,
        _ => true,
    });
    records.sort_by_key(|(_, _, record)| record.seq);
    records
}
