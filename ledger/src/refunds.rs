//! Refunds linked to the original payment (issue 17, point 4): a merchant,
//! or its home cooperative, gives back all or part of a payment it
//! received, within a governed period; the payment's fees are reversed in
//! proportion, and a payment is never refunded for more than it was.
//!
//! **What is kept.** Every successful payment to an account of kind
//! `merchant` (not member-to-member payments) — a `Payment`, or a
//! `PayRequest` paying a merchant's request — leaves a [`MerchantPayment`]
//! record under its transaction hash: its payer, its merchant, its amount
//! and the fee legs it actually moved ([`ChargedFee`]; the fee rules may
//! change before the refund, so the record says what was charged, not
//! which rules applied). There is one record per merchant payment, so, like
//! payment idempotency records ([`crate::idempotency`]), the records are
//! never in the in-memory state: execution writes them into the block's
//! overlay under [`StateKey::MerchantPayment`], the ledger takes them out of
//! the block's writes and stores them on disk under `P ‖ day ‖ tx hash`
//! ([`crate::keys`]), and each day with records has one small state entry,
//! [`StateKey::MerchantPaymentDay`] → [`MerchantPaymentDay`] (the number
//! of records and a hash chain over them in the order written), so the
//! state root commits to every live record.
//!
//! **The refund period**, by block time: a governed parameter
//! (`Params::refund_period_ms`, [`REFUND_PERIOD_MS_DEFAULT`] = 30 days,
//! changed by `GovAction::SetRefundPeriod` within
//! [`REFUND_PERIOD_MS_MIN`]..=[`REFUND_PERIOD_MS_MAX`], 1 to 90 days). A
//! payment belongs to the day of its block (`time_ms / DAY_MS`, UTC), and
//! the records of day `d` are refundable until block time
//! `(d + 1) * DAY_MS + period` ([`expires_at_ms`]): every payment can be
//! refunded for at least the whole period after it was made, and for less
//! than a day more. The first block at or past that time removes day `d`'s
//! entry before its transactions run, and from then on a refund of one of
//! its payments is `unknown_payment`. A period changed by governance moves
//! the expiry of the days still live; a day already removed stays removed.
//! Expired records leave the disk a bounded number per block
//! ([`BLOCK_PAYMENTS_SWEPT_PER_BLOCK_MAX`] blocks' values, and
//! [`sweep_records_max`] records in the form before store format 13), as
//! idempotency records do.
//!
//! **Where a block finds the record.** A refund names the payment by its
//! transaction hash only, not its day (a wallet knows the hash from the
//! payment it shows; decided so the action needs nothing else). Before a
//! block executes, the ledger reads the record of each refund it may run:
//! in each live day that has records (days without a `MerchantPaymentDay`
//! entry are not read) the record in the form before store format 13 by
//! point lookup, then the places listed under the hash in the payment
//! runs, each checked against those days' block values
//! (`ledger/src/ledger/refund_records.rs`): at most `period / DAY_MS + 1`
//! point reads per day kind (31 with the default period, 91 at most), most
//! of them misses, plus the runs. Refunds are rare next to payments, so
//! this costs less than carrying the day in the action and checking it.
//!
//! **What was refunded** changes with each refund, so it is not in the
//! write-once record: it is a small state entry, [`StateKey::Refunded`]`(day,
//! payment)` → [`Refunded`] (the rupiah refunded so far and the refunds'
//! transaction hashes), created by a payment's first refund only (so there
//! is at most one per refunded payment of a live day) and removed after its
//! day expires, at most [`REFUNDED_SWEEP_PER_BLOCK_MAX`] per block start
//! (more than a block can create, so the removal keeps up). A payment may
//! be refunded in at most [`REFUNDS_PER_PAYMENT_MAX`] parts
//! (`too_many_refunds`), which bounds the entry.
//!
//! **Who may refund**: the merchant itself (its current key, as
//! `Signer::Member`), or its home cooperative of the day of the refund —
//! the cooperative key or one of its tellers ([`crate::tellers`]).
//!
//! **The rules, in the order checked** (the first broken one is reported):
//!
//! 1. a member signer whose account is not a merchant: `not_authorized`;
//! 2. `amount` 0: `zero_amount`;
//! 3. no live record under `payment` (no such transaction, a payment to a
//!    member, a rejected payment, or its period is over): `unknown_payment`;
//! 4. the signer is neither the payment's merchant nor its home
//!    cooperative: `not_authorized`;
//! 5. the refunds so far plus `amount` pass the payment's amount:
//!    `refund_exceeds_payment`, with what is left to refund;
//! 6. the payment was refunded [`REFUNDS_PER_PAYMENT_MAX`] times:
//!    `too_many_refunds`;
//! 7. the legs, in this order, with their usual codes (frozen accounts,
//!    insufficient funds, the tier's balance cap and monthly incoming cap —
//!    a refund is money coming in for the payer — and the net debit cap): each fee leg `f`
//!    the payment moved is reversed in proportion, `floor(f * amount /
//!    payment amount)` (u128, rounded down) from the leg's recipient back
//!    to the leg's payer; then `amount` moves from the merchant to the
//!    payer. Fees go back first, so a merchant that kept the whole payment
//!    can refund it in full even though it received it net of its fees.
//!
//! **Net debit caps apply to the reversals too.** A fee leg to the
//! network fund is reversed from the fund, which is homed at the `network`
//! participant; in a later settlement window than the payment's, that leg
//! is a debit of `network`, so it needs the network's net debit cap
//! (genesis `network_ndc`, default Rp 10.000.000, or `SetNetDebitCap` on
//! `network`). With a cap of 0 such a refund is `net_debit_cap_exceeded`
//! for `network` unless the fund earned as much in the open window — the
//! same rule that bounds `FundIncentive` and cashback.
//!
//! The reversed legs are plain movements back (they add nothing to the
//! cooperatives' `fees_earned`, and a refund charges no fee of its own).
//! Rounding down can leave, over several partial refunds of one payment,
//! at most a rupiah per part and leg unreversed; a single refund of the
//! whole payment reverses every leg exactly.
//!
//! **Example** (the default fee rules: a cross-cooperative payment to a
//! merchant pays 0.3 % to the merchant's cooperative, 0.3 % to the
//! payer's cooperative and 0.1 % to the network fund, all from the
//! merchant). A payment of Rp 250.000 moves fee legs of 750, 750 and 250:
//! the merchant nets 248.250. A refund of Rp 100.000 reverses
//! `750 * 100.000 / 250.000 = 300`, 300 and `250 * 100.000 / 250.000 =
//! 100` back to the merchant, then moves 100.000 to the payer: the merchant
//! ends 248.250 + 700 − 100.000 = 148.950, and 150.000 is left to refund.
//! A refund of the remaining 150.000 reverses 450, 450 and 150 and leaves
//! the merchant with 148.950 + 1.050 − 150.000 = 0 of the payment, the payer with its 250.000 back and
//! every fee account as before; a third refund is `refund_exceeds_payment`
//! with 0 left.
//!
//! **History**: a refund changes the merchant's and the payer's balances,
//! so it appears in both histories ([`crate::ledger`]'s history index lists
//! every member account a transaction changed), and it names the payment;
//! the ledger's `payment_refunds` query gives, for a payment's hash, the
//! payment and its refunds so far (while its record is live).

use crate::block::BLOCK_TXS_MAX;
pub use crate::execute::ChargedFee;
use crate::execute::ExecContext;
use crate::idempotency::{day_of, DAY_MS, SWEEP_RECORDS_BASE};
use crate::legs::{self, LegKind};
use crate::rejection::Rejection;
use crate::state::{Overlay, Sequenced, State, StateKey, StateRead, StateValue};
use crate::types::{AccountId, AccountKind, Amount, CoopId};
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// The shortest refund period governance may set: one day.
pub const REFUND_PERIOD_MS_MIN: u64 = DAY_MS;
/// The longest refund period: 90 days.
pub const REFUND_PERIOD_MS_MAX: u64 = 90 * DAY_MS;
/// The refund period of a new network: 30 days of block time.
pub const REFUND_PERIOD_MS_DEFAULT: u64 = 30 * DAY_MS;
/// Most refunds of one payment.
pub const REFUNDS_PER_PAYMENT_MAX: usize = 16;
/// Most [`StateKey::Refunded`] entries of expired days one block's start
/// removes: as many as a block can create, so the removal keeps up.
pub const REFUNDED_SWEEP_PER_BLOCK_MAX: usize = BLOCK_TXS_MAX;

const CHAIN_CONTEXT: &str = "kopnet 2026 merchant payment day chain v1";

/// A payment to a merchant, as its refunds need it. Kept on disk for the
/// refund period, then forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantPayment {
    /// The day of the payment's block (UTC days since the Unix epoch).
    pub day: u64,
    /// The paying account's address.
    pub payer: PublicKey,
    /// The merchant's address.
    pub merchant: PublicKey,
    pub amount: Amount,
    /// The fee legs the payment moved, in order (at most one per fee rule).
    pub fees: Vec<ChargedFee>,
}

/// The commitment to one day's merchant payment records: how many there
/// are and a hash chain over them in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantPaymentDay {
    pub records: u64,
    pub chain: Hash,
}

/// What was refunded of one payment so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunded {
    /// Rupiah refunded, at most the payment's amount.
    pub amount: Amount,
    /// The refunds' transaction hashes, oldest first (at most
    /// [`REFUNDS_PER_PAYMENT_MAX`]).
    pub refunds: Vec<Hash>,
}

/// Who signs a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundBy {
    /// A member account (its address and kind): must be the merchant paid.
    Merchant(PublicKey, AccountKind),
    /// A cooperative (its key or a teller): must be the merchant's home.
    Cooperative(CoopId),
}

/// A refund period within its bounds.
pub fn check_period(period_ms: u64) -> Result<(), Rejection> {
    if (REFUND_PERIOD_MS_MIN..=REFUND_PERIOD_MS_MAX).contains(&period_ms) {
        Ok(())
    } else {
        Err(Rejection::RefundPeriodOutOfRange(format!(
            "must be {REFUND_PERIOD_MS_MIN} to {REFUND_PERIOD_MS_MAX} ms, got {period_ms}"
        )))
    }
}

/// The network's refund period (the default if the parameters are missing,
/// which a valid state never is).
pub fn period_ms<S: StateRead + ?Sized>(state: &S) -> u64 {
    state
        .params_ref()
        .map_or(REFUND_PERIOD_MS_DEFAULT, |p| p.refund_period_ms)
}

/// The oldest day whose payments a block at `time_ms` may still refund,
/// under a refund period of `period_ms`.
pub fn first_live_day(time_ms: u64, period_ms: u64) -> u64 {
    time_ms.saturating_sub(period_ms) / DAY_MS
}

/// The days whose payments a block at `time_ms` may refund, oldest first.
pub fn live_days(time_ms: u64, period_ms: u64) -> std::ops::RangeInclusive<u64> {
    first_live_day(time_ms, period_ms)..=day_of(time_ms)
}

/// The block time from which the payments of `day` can no longer be
/// refunded (under a refund period of `period_ms`).
pub fn expires_at_ms(day: u64, period_ms: u64) -> u64 {
    day.saturating_add(1)
        .saturating_mul(DAY_MS)
        .saturating_add(period_ms)
}

/// Expired blocks' payment record values (`Y`, store format 13) a block
/// deletes from disk, at most: more than the one a block adds, so the
/// sweep catches up (the same rule as
/// [`crate::idempotency::BLOCK_RECORDS_SWEPT_PER_BLOCK_MAX`]).
pub const BLOCK_PAYMENTS_SWEPT_PER_BLOCK_MAX: usize = 8;

/// Most expired records a block that writes `written` records deletes from
/// disk (the same rule as idempotency records,
/// [`crate::idempotency::sweep_records_max`]).
pub fn sweep_records_max(written: usize) -> usize {
    SWEEP_RECORDS_BASE.saturating_add(written.min(BLOCK_TXS_MAX))
}

impl MerchantPaymentDay {
    /// The day's commitment with the record of payment `tx` added.
    pub(crate) fn extended(&self, tx: &Hash, record: &MerchantPayment) -> Result<Self, Rejection> {
        let chain = codec::encode_with(record, |encoded| {
            Hash::digest_parts(CHAIN_CONTEXT, &[&self.chain.0, &tx.0, encoded])
        })
        .map_err(|e| Rejection::Malformed(e.to_string()))?;
        Ok(MerchantPaymentDay {
            records: self.records.checked_add(1).ok_or(Rejection::Overflow)?,
            chain,
        })
    }
}

/// Record the payment to a merchant `tx` (in a block of day
/// `payment.day`): the record itself and its day's commitment.
pub fn remember<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    tx: Hash,
    payment: MerchantPayment,
) -> Result<(), Rejection> {
    let day = payment.day;
    let before = match state.get_ref(&StateKey::MerchantPaymentDay(day)) {
        Some(StateValue::MerchantPaymentDay(d)) => d.clone(),
        _ => MerchantPaymentDay::default(),
    };
    let digest = before.extended(&tx, &payment)?;
    state.put(
        StateKey::MerchantPayment(tx),
        StateValue::MerchantPayment(Sequenced {
            seq: Some(before.records),
            record: payment,
        }),
    );
    state.put(
        StateKey::MerchantPaymentDay(day),
        StateValue::MerchantPaymentDay(digest),
    );
    Ok(())
}

/// A step of a block's start at `time_ms` (on `committed`, the state
/// before the block): remove the commitments of the days whose refund
/// period is over, and up to [`REFUNDED_SWEEP_PER_BLOCK_MAX`] refund
/// entries of such days.
pub fn expire<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, committed: &State, time_ms: u64) {
    let first_live = first_live_day(time_ms, period_ms(&*state));
    for day in committed.merchant_payment_days() {
        if day >= first_live {
            break;
        }
        state.delete(StateKey::MerchantPaymentDay(day));
    }
    let expired: Vec<StateKey> = committed
        .range(StateKey::Refunded(0, Hash::ZERO)..StateKey::Refunded(first_live, Hash::ZERO))
        .map(|(key, _)| key.clone())
        .take(REFUNDED_SWEEP_PER_BLOCK_MAX)
        .collect();
    for key in expired {
        state.delete(key);
    }
}

/// The record of payment `tx` if a block at `time_ms` may refund it.
pub fn live_payment<S: StateRead + ?Sized>(
    state: &S,
    tx: &Hash,
    time_ms: u64,
) -> Option<MerchantPayment> {
    let Some(StateValue::MerchantPayment(Sequenced { record, .. })) =
        state.get_ref(&StateKey::MerchantPayment(*tx))
    else {
        return None;
    };
    let live = record.day >= first_live_day(time_ms, period_ms(state))
        && state
            .get_ref(&StateKey::MerchantPaymentDay(record.day))
            .is_some();
    live.then(|| record.clone())
}

/// What was refunded of payment `tx` of `day` so far.
pub fn refunded<S: StateRead + ?Sized>(state: &S, day: u64, tx: &Hash) -> Refunded {
    match state.get_ref(&StateKey::Refunded(day, *tx)) {
        Some(StateValue::Refunded(r)) => r.clone(),
        _ => Refunded::default(),
    }
}

/// `floor(fee * amount / paid)`: the part of a fee leg of a payment of
/// `paid` that a refund of `amount` (at most `paid`) reverses.
pub fn reversed_fee(fee: Amount, amount: Amount, paid: Amount) -> Result<Amount, Rejection> {
    let product = u128::from(fee)
        .checked_mul(u128::from(amount))
        .ok_or(Rejection::Overflow)?;
    let share = product
        .checked_div(u128::from(paid))
        .ok_or(Rejection::Overflow)?;
    Amount::try_from(share).map_err(|_| Rejection::Overflow)
}

/// Execute `Refund { payment, amount }` signed `by`, in the order of the
/// module docs.
pub fn refund<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    by: &RefundBy,
    payment: &Hash,
    amount: Amount,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    if let RefundBy::Merchant(_, kind) = by {
        if *kind != AccountKind::Merchant {
            return Err(Rejection::NotAuthorized(
                "only a merchant account or its home cooperative may refund a payment".into(),
            ));
        }
    }
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    let record =
        live_payment(&*state, payment, ctx.time_ms).ok_or(Rejection::UnknownPayment(*payment))?;
    check_signer(&*state, by, &record)?;
    let mut so_far = refunded(&*state, record.day, payment);
    let left = record
        .amount
        .checked_sub(so_far.amount)
        .ok_or(Rejection::Overflow)?;
    if amount > left {
        return Err(Rejection::RefundExceedsPayment { left });
    }
    if so_far.refunds.len() >= REFUNDS_PER_PAYMENT_MAX {
        return Err(Rejection::TooManyRefunds {
            max: REFUNDS_PER_PAYMENT_MAX as u64,
        });
    }
    for fee in &record.fees {
        let back = reversed_fee(fee.amount, amount, record.amount)?;
        legs::transfer(state, &fee.to, &fee.from, back, LegKind::Principal)?;
    }
    let merchant = AccountId::Member(record.merchant);
    let payer = AccountId::Member(record.payer);
    legs::transfer(state, &merchant, &payer, amount, LegKind::Principal)?;
    so_far.amount = so_far
        .amount
        .checked_add(amount)
        .ok_or(Rejection::Overflow)?;
    so_far.refunds.push(ctx.tx_hash);
    state.put(
        StateKey::Refunded(record.day, *payment),
        StateValue::Refunded(so_far),
    );
    Ok(())
}

/// The merchant itself, or its home cooperative.
fn check_signer<S: StateRead + ?Sized>(
    state: &S,
    by: &RefundBy,
    record: &MerchantPayment,
) -> Result<(), Rejection> {
    let allowed = match by {
        RefundBy::Merchant(address, _) => *address == record.merchant,
        RefundBy::Cooperative(coop) => state
            .member_ref(&record.merchant)
            .is_some_and(|m| &m.home == coop),
    };
    if allowed {
        Ok(())
    } else {
        Err(Rejection::NotAuthorized(
            "only the merchant paid or its home cooperative may refund this payment".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_refundable_for_the_whole_period_after_it() {
        let period = 30 * DAY_MS;
        let noon_day_10 = 10 * DAY_MS + DAY_MS / 2;
        assert_eq!(expires_at_ms(10, period), 41 * DAY_MS);
        assert!(live_days(41 * DAY_MS - 1, period).contains(&10));
        assert!(!live_days(41 * DAY_MS, period).contains(&10));
        assert_eq!(live_days(noon_day_10, period), 0..=10);
        assert_eq!(first_live_day(41 * DAY_MS, period), 11);
        assert_eq!(expires_at_ms(u64::MAX, period), u64::MAX);
    }

    #[test]
    fn periods_have_bounds() {
        for good in [
            REFUND_PERIOD_MS_MIN,
            REFUND_PERIOD_MS_DEFAULT,
            REFUND_PERIOD_MS_MAX,
        ] {
            assert!(check_period(good).is_ok());
        }
        for bad in [0, REFUND_PERIOD_MS_MIN - 1, REFUND_PERIOD_MS_MAX + 1] {
            assert_eq!(
                check_period(bad).unwrap_err().code(),
                "refund_period_out_of_range"
            );
        }
    }

    #[test]
    fn fees_are_reversed_in_proportion_rounding_down() {
        assert_eq!(reversed_fee(750, 100_000, 250_000), Ok(300));
        assert_eq!(reversed_fee(250, 100_000, 250_000), Ok(100));
        assert_eq!(reversed_fee(750, 150_000, 250_000), Ok(450));
        assert_eq!(reversed_fee(75, 1, 25_000), Ok(0));
        assert_eq!(reversed_fee(u64::MAX, u64::MAX, u64::MAX), Ok(u64::MAX));
        assert_eq!(reversed_fee(1, 1, 0), Err(Rejection::Overflow));
    }
}
