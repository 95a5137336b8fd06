//! What a block does before its transactions, the same on the proposer and
//! on every validator: the settlement schedule's cut-off and the expiry of
//! idempotency records. A block whose time passes a cut-off its parent had
//! not reached closes the open window (if it had any activity) before its
//! own transactions run, so those belong to the next window (see
//! [`crate::settlement::close_on_schedule`]); then the days of idempotency
//! records its time has left behind are removed ([`crate::idempotency::expire`]),
//! the calendar month its time falls in is recorded
//! ([`crate::tiers::begin_block`]), and the member-key recoveries due by its
//! time take effect ([`crate::recovery::complete_due`]); last the payment
//! requests due by its time expire or are removed
//! ([`crate::payment_requests::process_due`]). The days of merchant
//! payments whose refund period is over are removed with the idempotency
//! days ([`crate::refunds::expire`]). A scheduled protocol upgrade takes
//! effect at its height ([`crate::upgrades::begin_block`]).

use super::Ledger;
use crate::state::{Overlay, StateRead};
use crate::storage::Storage;
use crate::{idempotency, payment_requests, recovery, refunds, settlement, tiers, upgrades};

impl<S: Storage> Ledger<S> {
    /// Run the start of block `height` with header time `time_ms` on
    /// `overlay` (the block's own, before any transaction); returns the
    /// settlement window it closed, if any.
    pub(super) fn begin_block<B: StateRead + ?Sized>(
        &self,
        overlay: &mut Overlay<'_, B>,
        height: u64,
        time_ms: u64,
    ) -> Option<u64> {
        let closed =
            settlement::close_on_schedule(overlay, height, self.last_block_time_ms, time_ms);
        idempotency::expire(overlay, &self.state.idempotency_days(), time_ms);
        refunds::expire(overlay, &self.state, time_ms);
        tiers::begin_block(overlay, time_ms);
        recovery::complete_due(overlay, &self.state, height, time_ms);
        payment_requests::process_due(overlay, &self.state, time_ms);
        upgrades::begin_block(overlay, height);
        closed
    }
}
