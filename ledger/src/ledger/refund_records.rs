//! Payments to merchants kept for refunds, in the store (the rules are in
//! [`crate::refunds`]): read by point lookup before a block executes the
//! refunds that name them, written in the block's batch, and swept from
//! disk once their day's refund period is over. None of them is kept in
//! the ledger's memory; the same scheme as the idempotency records of
//! `payment_records.rs`.

use super::{corrupt, decode_u64, ChainReader, Ledger, LedgerError};
use crate::day_order::{self, RecordKind};
use crate::keys;
use crate::refunds::{self, MerchantPayment, Refunded};
use crate::state::{Sequenced, StateKey, StateRead, StateValue};
use crate::storage::{Storage, WriteBatch};
use kopnet_primitives::{codec, Hash};
use std::collections::BTreeMap;

/// A merchant payment's record taken out of a block's writes, by its
/// transaction hash.
pub(super) type NewPayment = (Hash, Sequenced<MerchantPayment>);

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
    /// yet swept included (for tests and measurements).
    pub fn stored_merchant_payments(&self) -> Result<u64, LedgerError> {
        self.count_prefix(keys::MERCHANT_PAYMENT_PREFIX)
    }

    /// Put a block's new merchant payment records, each under its day, and
    /// the deletion of up to [`refunds::sweep_records_max`] records of days
    /// whose refund period is over at `time_ms` into `batch`.
    pub(super) fn write_merchant_payments(
        &self,
        batch: &mut WriteBatch,
        records: &[NewPayment],
        time_ms: u64,
    ) -> Result<(), LedgerError> {
        for (tx, record) in records {
            batch.put(
                keys::merchant_payment(record.record.day, tx),
                codec::encode(record).map_err(corrupt)?,
            );
        }
        let places = records
            .iter()
            .filter_map(|(tx, r)| Some((r.record.day, r.seq?, &tx.0[..])))
            .collect();
        day_order::put_lists(batch, RecordKind::MerchantPayment, places);
        let period = refunds::period_ms(&self.state);
        let first_live_day = refunds::first_live_day(time_ms, period);
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
    for day in refunds::live_days(time_ms, period_ms) {
        if !has_records(day)? {
            continue;
        }
        if let Some(bytes) = store.get(&keys::merchant_payment(day, payment))? {
            return Ok(Some(codec::decode(&bytes).map_err(corrupt)?));
        }
    }
    Ok(None)
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
    records
}
