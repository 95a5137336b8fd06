//! Payment idempotency records: how long they are kept, how the agreed state
//! commits to them, and why none of them stays in memory.
//!
//! A payment carries a client-chosen idempotency id; the first successful
//! payment with an id leaves an [`IdempotencyRecord`] under
//! `(payer, id)`, and a later payment by the same payer with the same id is
//! refused (`duplicate`, or `exists_with_different_*` if it differs). There
//! is one record per payment, so kept forever they would make memory and
//! start-up grow with every payment ever made. They therefore expire, and
//! they live on disk, not in the in-memory state.
//!
//! **Expiry, by block time.** Time is the block header's `time_ms`, the
//! same on every node. A record belongs to the *day* of the block that wrote
//! it (`time_ms / DAY_MS`, UTC days since the Unix epoch) and is kept for
//! that day and the whole next one ([`DAYS_KEPT`] = 2): the records of day
//! `d` are removed, all together, by the first block whose time is at or
//! past the start of day `d + 2` ([`expires_at_ms`]). A record is therefore
//! kept at least 24 hours and less than 48 hours, and every node removes
//! exactly the same records at exactly the same block. Removal is the first
//! step of a block's execution, before its transactions.
//!
//! **A retry after expiry.** Once a record has expired, a payment with the
//! same payer and id is a new payment. Re-sending the *same signed
//! transaction* is still harmless at any age: its nonce was used by the
//! first payment, so it is refused (`stale_nonce`) before its id is even
//! looked at. Only a payment signed again with a new nonce and the old id
//! pays twice after expiry. Transactions carry no validity window (a signed
//! payment stays valid until its signer's nonce moves past it), so wallets
//! must re-send the same bytes, or sign a new payment with the same id only
//! while the first attempt is less than 24 hours old; the README says so
//! for wallet authors.
//!
//! **Commitment.** Each day with records has one small state entry,
//! [`StateKey::IdempotencyDay`]`(day)` → [`IdempotencyDay`]: the number of
//! records and a hash chain over them in the order they were written
//! (every node executes the same blocks in the same order, so the chain is
//! the same everywhere). The chain only grows (a record is written once and
//! never changed), so adding a record costs one hash and no read of the
//! day's other records. The day entry is in the state tree like any other,
//! so the state root commits to every live record; removing the day entry
//! at expiry takes them all out of the root at once. Records have no
//! per-key Merkle proof (nothing asks for one).
//!
//! **Storage.** Records are stored outside the state map, written in the
//! block's own batch: since store format 12, a block's records are one
//! value `W ‖ day ‖ height` in the order the block wrote them, and each is
//! listed under the hash of payer and id in runs of 20-byte entries
//! (`ledger/src/ledger/payment_records.rs`); before, each was a key
//! `I ‖ day ‖ payer ‖ id` (still read until those days expire). A block
//! reads the records its payments need before it executes (at most
//! [`DAYS_KEPT`] days per payment, and none when the in-memory filter of
//! the day says the payment surely has no record:
//! `ledger/src/ledger/record_filter.rs`); start-up reads none.
//! Expired days leave the disk a bounded number per block
//! ([`BLOCK_RECORDS_SWEPT_PER_BLOCK_MAX`] block values,
//! [`sweep_records_max`] older keys: more than the block writes, so the
//! sweep keeps up, and few in a quiet block): housekeeping, not part of the agreed
//! state, since a block never reads a record of an expired day.

use crate::block::BLOCK_TXS_MAX;
use crate::rejection::Rejection;
use crate::state::{
    IdempotencyDay, IdempotencyRecord, Overlay, Sequenced, StateKey, StateRead, StateValue,
};
use crate::tx::IdempotencyId;
use kopnet_primitives::{Hash, PublicKey};

/// The idempotency id an action carries: a payment's, a payout line's, or
/// the one derived for paying a request (all keyed by their signer).
pub fn id_of(action: &crate::tx::Action) -> Option<IdempotencyId> {
    match action {
        crate::tx::Action::Payment { idempotency_id, .. }
        | crate::tx::Action::Payout { idempotency_id, .. } => Some(*idempotency_id),
        // Paying a request is a payment under a derived id.
        crate::tx::Action::PayRequest { requester, id, .. } => {
            Some(crate::payment_requests::idempotency_id(requester, id))
        }
        _ => None,
    }
}

/// One day of block time, in milliseconds.
pub const DAY_MS: u64 = 86_400_000;
/// Days a record is kept: the day of the block that wrote it and the next.
pub const DAYS_KEPT: u64 = 2;
/// Expired records a block deletes from disk besides one for each record it
/// writes (see [`sweep_records_max`]).
pub const SWEEP_RECORDS_BASE: usize = 2_000;

/// Expired blocks' record values (`W`, store format 12) a block deletes
/// from disk, at most: more than the one a block adds, so the sweep
/// catches up (a day of 86,400 blocks leaves in under 3 hours of blocks).
pub const BLOCK_RECORDS_SWEPT_PER_BLOCK_MAX: usize = 8;

/// Most expired records a block that writes `written` records deletes from
/// disk: [`SWEEP_RECORDS_BASE`] more than it writes, so the sweep always
/// deletes faster than payments write (a block writes at most
/// [`BLOCK_TXS_MAX`] records), while a quiet block pays for few deletions
/// (deleting costs about as much as writing; a day of a million payments
/// leaves the disk over 500 blocks, not in one).
pub fn sweep_records_max(written: usize) -> usize {
    SWEEP_RECORDS_BASE.saturating_add(written.min(BLOCK_TXS_MAX))
}

const CHAIN_CONTEXT: &str = "kopnet 2026 idempotency day chain v1";

/// The day of block time `time_ms` (UTC days since the Unix epoch).
pub fn day_of(time_ms: u64) -> u64 {
    time_ms / DAY_MS
}

/// The oldest day whose records a block at `time_ms` still sees.
pub fn first_live_day(time_ms: u64) -> u64 {
    day_of(time_ms).saturating_sub(DAYS_KEPT - 1)
}

/// The days whose records a block at `time_ms` sees, oldest first.
pub fn live_days(time_ms: u64) -> std::ops::RangeInclusive<u64> {
    first_live_day(time_ms)..=day_of(time_ms)
}

/// The block time from which the records of `day` are gone: the first block
/// at or after it removes them.
pub fn expires_at_ms(day: u64) -> u64 {
    day.saturating_add(DAYS_KEPT).saturating_mul(DAY_MS)
}

impl IdempotencyDay {
    /// The day's commitment with `record`, of `payer`'s id `id`, added.
    pub(crate) fn extended(
        &self,
        payer: &PublicKey,
        id: &IdempotencyId,
        record: &IdempotencyRecord,
    ) -> Option<IdempotencyDay> {
        // `digest_parts` prefixes every part with its length.
        let chain = Hash::digest_parts(
            CHAIN_CONTEXT,
            &[
                &self.chain.0,
                &payer.0,
                &id[..],
                &record.tx.0,
                &record.to.0,
                &record.amount.to_le_bytes(),
                record.memo.as_bytes(),
            ],
        );
        Some(IdempotencyDay {
            records: self.records.checked_add(1)?,
            chain,
        })
    }
}

/// The first step of a block at `time_ms`: remove the commitments of the
/// days among `days` (those the state has) that have expired.
pub fn expire<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, days: &[u64], time_ms: u64) {
    let first_live = first_live_day(time_ms);
    for day in days.iter().filter(|day| **day < first_live) {
        state.delete(StateKey::IdempotencyDay(*day));
    }
}

/// Record that `payer`'s payment with `id`, in a block at `time_ms`,
/// succeeded: the record itself and its day's commitment.
pub fn remember<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    payer: PublicKey,
    id: IdempotencyId,
    record: IdempotencyRecord,
    time_ms: u64,
) -> Result<(), Rejection> {
    let day = day_of(time_ms);
    let before = state.idempotency_day(day).unwrap_or_default();
    let seq = before.records;
    let digest = before
        .extended(&payer, &id, &record)
        .ok_or(Rejection::Overflow)?;
    state.put(
        StateKey::Idempotency(payer, id),
        StateValue::Idempotency(Sequenced {
            seq: Some(seq),
            record,
        }),
    );
    state.put(
        StateKey::IdempotencyDay(day),
        StateValue::IdempotencyDay(digest),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_lives_through_the_next_day_and_no_longer() {
        let noon_day_10 = 10 * DAY_MS + DAY_MS / 2;
        assert_eq!(day_of(noon_day_10), 10);
        assert_eq!(live_days(noon_day_10), 9..=10);
        assert_eq!(expires_at_ms(10), 12 * DAY_MS);
        // Still live in the last millisecond of day 11, gone at day 12.
        assert!(live_days(12 * DAY_MS - 1).contains(&10));
        assert!(!live_days(12 * DAY_MS).contains(&10));
        assert_eq!(live_days(0), 0..=0);
        assert_eq!(expires_at_ms(u64::MAX), u64::MAX);
    }
}
