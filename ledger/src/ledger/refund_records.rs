//! Payments to merchants kept for refunds, in the store (the rules are in
//! [`crate::refunds`]): read before a block executes the refunds that name
//! them, written in the block's batch, and swept from disk once their
//! day's refund period is over. None of them is kept in the ledger's
//! memory; the same scheme as the idempotency records of
//! `payment_records.rs`.
//!
//! **Store format 13: a block's records in one value.** Until format 12
//! every record was its own key (`P ‖ day ‖ payment`) plus 32 bytes in its
//! day's order list (`Q`): one new random key per payment to a merchant,
//! about a quarter of the instructions of applying one (BENCHMARKS.md,
//! issue 21, tenth pass). Now a block writes its records, in the order its
//! payments wrote them (their places in the day's chain), as one value
//! `Y ‖ day ‖ height` ([`crate::block_records`]), and lists each under the
//! payment's transaction hash in the runs of [`place_index`] (family
//! [`Family::Payments`], 20 bytes a record). A day's `Y` values read in
//! key order are its records in chain order.
//!
//! **Looking one up** (a refund names its payment; rare next to payments):
//! in each live day that has records, the `P` key first (records written
//! before the store moved to format 13, or by a snapshot restore), then
//! every place listed under the hash, newest first, read from the live
//! days' `Y` value of that height and kept only if it is this payment's.
//! Every place listed is checked: a lookup never answers "none" while a
//! live record exists, on any node.
//!
//! **Merges keep only what may be live:** the index's merges drop places
//! below the height of the oldest `Y` value still on disk
//! ([`Ledger::payments_base`]).

use super::payment_records::read_block_value_at;
use super::place_index::{self, Family};
use super::{corrupt, decode_u64, ChainReader, Ledger, LedgerError};
use crate::block_records;
use crate::day_order::{self, RecordKind};
use crate::keys;
use crate::refunds::{self, MerchantPayment, Refunded};
use crate::state::{Sequenced, StateKey, StateRead, StateValue};
use crate::storage::{Storage, WriteBatch};
use kopnet_primitives::{codec, Hash};
use std::collections::BTreeMap;

/// A merchant payment's record taken out of a block's writes, by its
/// transaction hash.
pub(super) type NewPayment = block_records::BlockPayment;

/// A payment to a merchant and what was refunded of it so far: what a
/// wallet shows to link a payment with its refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRefunds {
    pub payment: MerchantPayment,
    /// The rupiah refunded so far and the refunds' transaction hashes.
    pub refunded: Refunded,
    /// The block time from which the payment can no longer be refunded
    /// (under the refund period of the last block).
    pub refundable_until_ms: u64,
}

impl<S: Storage> Ledger<S> {
    /// The stored record of `payment` in the days a block at `time_ms`
    /// may refund (by the committed refund period), if any.
    pub(super) fn stored_merchant_payment(
        &self,
        payment: &Hash,
        time_ms: u64,
    ) -> Result<Option<Sequenced<MerchantPayment>>, LedgerError> {
        let period = refunds::period_ms(&self.state);
        let has_records = |day: u64| {
            Ok(self
                .state
                .get_ref(&StateKey::MerchantPaymentDay(day))
                .is_some())
        };
        find_record(&self.store, payment, time_ms, period, has_records)
    }

    /// The payment to a merchant `payment` and its refunds so far, as of
    /// the last block; `None` if there is no such payment or its refund
    /// period is over (the refunds still name it in their action).
    pub fn payment_refunds(&self, payment: &Hash) -> Result<Option<PaymentRefunds>, LedgerError> {
        let time_ms = self.last_block_time_ms;
        let Some(Sequenced { record, .. }) = self.stored_merchant_payment(payment, time_ms)? else {
            return Ok(None);
        };
        let refunded = refunds::refunded(&self.state, record.day, payment);
        let refundable_until_ms =
            refunds::expires_at_ms(record.day, refunds::period_ms(&self.state));
        Ok(Some(PaymentRefunds {
            payment: record,
            refunded,
            refundable_until_ms,
        }))
    }

    /// How many merchant payment records the store holds, expired ones not
    /// yet swept included (`P` keys and the records in `Y` values): a full
    /// count (for tests and measurements, not for a node's hot path).
    pub fn stored_merchant_payments(&self) -> Result<u64, LedgerError> {
        let keys = self.count_prefix(keys::MERCHANT_PAYMENT_PREFIX)?;
        let in_values = self.count_in_block_values::<NewPayment>(keys::BLOCK_PAYMENTS_PREFIX)?;
        Ok(keys.saturating_add(in_values))
    }

    /// Put block `height`'s new merchant payment records (one `Y` value,
    /// filed under the day of `time_ms`), their places in the index, and
    /// the sweep of records of days whose refund period is over into
    /// `batch`.
    pub(super) fn write_merchant_payments(
        &self,
        batch: &mut WriteBatch,
        records: &[NewPayment],
        (height, time_ms): (u64, u64),
    ) -> Result<(), LedgerError> {
        if !records.is_empty() {
            batch.put(
                keys::block_payments(crate::idempotency::day_of(time_ms), height),
                block_records::encode(records).map_err(corrupt)?,
            );
        }
        let hashes: Vec<Hash> = records.iter().map(|(tx, _)| *tx).collect();
        let base = self.payments_base(height)?;
        place_index::index_block(&self.store, batch, Family::Payments, height, &hashes, base)?;
        let period = refunds::period_ms(&self.state);
        let first_live_day = refunds::first_live_day(time_ms, period);
        self.sweep_expired(
            batch,
            keys::BLOCK_PAYMENTS_PREFIX,
            &keys::block_payments_day_start(first_live_day),
            refunds::BLOCK_PAYMENTS_SWEPT_PER_BLOCK_MAX,
        )?;
        // Records and lists in the form before format 13.
        day_order::sweep_expired(
            &self.store,
            batch,
            RecordKind::MerchantPayment,
            first_live_day,
        )?;
        let first_live = keys::merchant_payment_day_start(first_live_day);
        self.sweep_expired(
            batch,
            keys::MERCHANT_PAYMENT_PREFIX,
            &first_live,
            refunds::sweep_records_max(records.len()),
        )
    }

    /// The lowest height whose records a block `height` may still find:
    /// that of the oldest `Y` value on disk, or `height` itself if there
    /// is none. Merges of the index drop places below it. A value of a day
    /// that expired and is not swept yet only keeps more places than
    /// needed (the sweep catches up within hours of blocks).
    pub(super) fn payments_base(&self, height: u64) -> Result<u64, LedgerError> {
        let Some(key) = self
            .store
            .first_key_with_prefix(keys::BLOCK_PAYMENTS_PREFIX)?
        else {
            return Ok(height);
        };
        let first = key
            .get(keys::BLOCK_PAYMENTS_PREFIX.len() + 8..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| corrupt("block payments key"))?;
        Ok(first.min(height))
    }
}

impl<S: Storage> ChainReader<S> {
    /// [`Ledger::payment_refunds`] from the store alone, as of the last
    /// block written (for the node's API, off the commit path): reads the
    /// parameters, the last block's time, the live days' entries, at most
    /// one point read per live day with records, and the refund entry.
    pub fn payment_refunds(&self, payment: &Hash) -> Result<Option<PaymentRefunds>, LedgerError> {
        let period = match self.state_value(&StateKey::Params)? {
            Some(StateValue::Params(p)) => p.refund_period_ms,
            _ => return Err(corrupt("missing parameters")),
        };
        let time_ms = match self.store.get(keys::META_LAST_TIME)? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 0,
        };
        let has_records = |day: u64| {
            Ok(self
                .state_value(&StateKey::MerchantPaymentDay(day))?
                .is_some())
        };
        let Some(Sequenced { record, .. }) =
            find_record(&self.store, payment, time_ms, period, has_records)?
        else {
            return Ok(None);
        };
        let refunded = match self.state_value(&StateKey::Refunded(record.day, *payment))? {
            Some(StateValue::Refunded(r)) => r,
            _ => Refunded::default(),
        };
        Ok(Some(PaymentRefunds {
            refundable_until_ms: refunds::expires_at_ms(record.day, period),
            payment: record,
            refunded,
        }))
    }
}

/// The record of `payment` in `store`, looked up in each day a block at
/// `time_ms` may refund under `period_ms` that `has_records`.
fn find_record<S: Storage>(
    store: &S,
    payment: &Hash,
    time_ms: u64,
    period_ms: u64,
    has_records: impl Fn(u64) -> Result<bool, LedgerError>,
) -> Result<Option<Sequenced<MerchantPayment>>, LedgerError> {
    let mut days = Vec::new();
    for day in refunds::live_days(time_ms, period_ms) {
        if has_records(day)? {
            days.push(day);
        }
    }
    // Records in the form before format 13 (a migrated store, a snapshot
    // restore).
    for day in &days {
        if let Some(bytes) = store.get(&keys::merchant_payment(*day, payment))? {
            return Ok(Some(codec::decode(&bytes).map_err(corrupt)?));
        }
    }
    if days.is_empty() {
        return Ok(None);
    }
    // Every place listed is checked (no limit): stopping early could answer
    // "none" for a live record on one node and not another.
    place_index::find_in(
        store,
        Family::Payments,
        payment,
        usize::MAX,
        &mut |height, index| {
            for day in &days {
                if let Some(found) = block_payment(store, *day, height, index, payment)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        },
    )
}

/// The record at `index` of block `height`'s payment records of `day`, if
/// there is one and it is `payment`'s.
fn block_payment<S: Storage>(
    store: &S,
    day: u64,
    height: u64,
    index: u32,
    payment: &Hash,
) -> Result<Option<Sequenced<MerchantPayment>>, LedgerError> {
    let found: Option<NewPayment> =
        read_block_value_at(store, &keys::block_payments(day, height), index)?;
    Ok(found
        .filter(|(tx, _)| tx == payment)
        .map(|(_, record)| record))
}

/// Take the merchant payment records out of a block's writes: they are
/// stored by day, not in the state map or the state tree (their day's
/// [`StateKey::MerchantPaymentDay`] entry commits to them).
pub(super) fn take_merchant_payments(
    writes: &mut BTreeMap<StateKey, Option<StateValue>>,
) -> Vec<NewPayment> {
    let mut records = Vec::new();
    writes.retain(|key, value| match (key, value) {
        (StateKey::MerchantPayment(tx), Some(StateValue::MerchantPayment(record))) => {
            records.push((*tx, record.clone()));
            false
        }
        // Records are written once and never deleted one by one.
        (StateKey::MerchantPayment(..), _) => false,
        _ => true,
    });
    // In the order the block wrote them (the writes hold them by hash).
    records.sort_by_key(|(_, record)| record.seq);
    records
}
