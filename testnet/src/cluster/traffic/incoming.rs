//! Keeping the load within the tiers' monthly incoming caps: the driver's
//! own upper bound on each member's incoming money per calendar month
//! (WIB), so that it never plans a credit the ledger would refuse with
//! `tier_monthly_incoming_cap` (`ledger/src/tiers.rs`).
//!
//! The ledger counts every credit to a member account (payments and
//! requests paid to it, top-ups, cash-ins, payouts, refunds, cashback) in
//! the WIB month of the block that applies it. The driver does not know
//! that block when it plans, so it keeps, per account:
//!
//! - `placed`: credits seen applied, by the month of their block's time
//!   (the last [`MONTHS_KEPT`] months; an older month can no longer be a
//!   block's month);
//! - `unplaced`: credits whose month it does not know: planned and not yet
//!   seen in a block, given up as lost (they may still apply: they stay),
//!   applied in a block whose time was not read, and the opening balance
//!   minted at setup. They count in every month.
//!
//! A credit planned now lands in a block whose time is within
//! [`MONTH_MARGIN_MS`] of the wall clock (block time ≈ wall clock: the
//! proposer's clock; a transaction not seen within half a minute is given
//! up and stays unplaced), so in one of the months [`Months::around`]
//! names. It is planned only if, in each of those months, placed +
//! unplaced + it stays within the cap. Cashback the ledger may add to a
//! payer is counted the same way, as the most it can be; what was not paid
//! of it only makes the bound more careful.
//!
//! When a member's room is used up for the month, the load skips credits
//! to it (payments to it, cash-ins, top-ups): it can still pay, down to
//! zero. With the defaults (Rp40.000.000 a month at the registered tier),
//! a demo member is exhausted after spending about that much in a month:
//! at `kopnet testnet up`'s default rate and members, after about twenty
//! minutes of load.

use kopnet_ledger::tiers::wib_month;

/// Months of placed credits kept per account.
pub const MONTHS_KEPT: usize = 3;
/// How far a block's time may be from the wall clock when the driver plans
/// a transaction that lands in it: 10 minutes.
pub const MONTH_MARGIN_MS: u64 = 10 * 60 * 1_000;

/// The months a credit planned now may be counted in, `first..=last`
/// (one month, or two around a month's turn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Months {
    pub first: u32,
    pub last: u32,
}

impl Months {
    /// The months of blocks within [`MONTH_MARGIN_MS`] of `now_ms`.
    pub fn around(now_ms: u64) -> Months {
        Months {
            first: wib_month(now_ms.saturating_sub(MONTH_MARGIN_MS)),
            last: wib_month(now_ms.saturating_add(MONTH_MARGIN_MS)),
        }
    }

    /// The months of the wall clock now.
    pub fn now() -> Months {
        Months::around(wall_clock_ms())
    }
}

/// The wall clock, in ms since the Unix epoch (what block times are near).
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One account's incoming money as the driver bounds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Incoming {
    /// The tier's monthly cap; None: no limit (merchants' business tier).
    pub cap: Option<u64>,
    /// Credits whose month is unknown (counted in every month).
    pub unplaced: u64,
    /// Applied credits by block month: (month, rupiah).
    pub placed: [(u32, u64); MONTHS_KEPT],
}

impl Incoming {
    /// An account of a tier with monthly cap `cap` that has received
    /// `opening` at a time not known to the month.
    pub fn new(cap: Option<u64>, opening: u64) -> Incoming {
        Incoming {
            cap,
            unplaced: opening,
            placed: [(0, 0); MONTHS_KEPT],
        }
    }

    fn placed_in(&self, month: u32) -> u64 {
        self.placed
            .iter()
            .filter(|(m, _)| *m == month)
            .map(|(_, n)| *n)
            .sum()
    }

    /// What more it may surely receive in every one of `months` (u64::MAX
    /// without a cap).
    pub fn room(&self, months: Months) -> u64 {
        let Some(cap) = self.cap else {
            return u64::MAX;
        };
        let most = (months.first..=months.last)
            .map(|m| self.placed_in(m))
            .max()
            .unwrap_or(0);
        cap.saturating_sub(most.saturating_add(self.unplaced))
    }

    /// A credit of `amount` is planned (checked by the caller).
    pub fn planned(&mut self, amount: u64) {
        self.unplaced = self.unplaced.saturating_add(amount);
    }

    /// A planned credit of `amount` was refused: it never counts.
    pub fn refused(&mut self, amount: u64) {
        self.unplaced = self.unplaced.saturating_sub(amount);
    }

    /// A planned credit of `amount` was applied in a block at `time_ms`
    /// (None: the time was not read, it stays unplaced).
    pub fn applied(&mut self, amount: u64, time_ms: Option<u64>) {
        let Some(time_ms) = time_ms else { return };
        self.unplaced = self.unplaced.saturating_sub(amount);
        let month = wib_month(time_ms);
        if let Some(entry) = self.placed.iter_mut().find(|(m, _)| *m == month) {
            entry.1 = entry.1.saturating_add(amount);
            return;
        }
        // A new month takes the oldest one's place; a month older than
        // every kept one can no longer be a block's month.
        let Some(oldest) = self.placed.iter_mut().min_by_key(|(m, _)| *m) else {
            return;
        };
        if oldest.0 < month {
            *oldest = (month, amount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-31 23:55 WIB is 2026-01-31 16:55 UTC.
    const JAN_31_2355_WIB_MS: u64 = 1_769_878_500_000;
    const HOUR_MS: u64 = 3_600_000;

    #[test]
    fn a_credit_planned_near_a_months_turn_counts_in_both_months() {
        let jan = wib_month(JAN_31_2355_WIB_MS);
        assert_eq!(wib_month(JAN_31_2355_WIB_MS + 5 * 60_000), jan + 1);
        let around = Months::around(JAN_31_2355_WIB_MS);
        assert_eq!((around.first, around.last), (jan, jan + 1));
        let mid_month = Months::around(JAN_31_2355_WIB_MS - 24 * HOUR_MS);
        assert_eq!((mid_month.first, mid_month.last), (jan, jan));

        let mut incoming = Incoming::new(Some(40_000_000), 2_000_000);
        incoming.planned(30_000_000);
        incoming.applied(30_000_000, Some(JAN_31_2355_WIB_MS - HOUR_MS));
        // January holds 2 + 30 million; February only the opening 2.
        assert_eq!(incoming.room(mid_month), 8_000_000);
        assert_eq!(incoming.room(around), 8_000_000, "January still possible");
        let february = Months::around(JAN_31_2355_WIB_MS + HOUR_MS);
        assert_eq!(incoming.room(february), 38_000_000);
        // In flight: counted in every month until its block is seen.
        incoming.planned(5_000_000);
        assert_eq!(incoming.room(february), 33_000_000);
        incoming.refused(5_000_000);
        assert_eq!(incoming.room(february), 38_000_000);
        // Applied without a known time: it stays counted everywhere.
        incoming.planned(1_000_000);
        incoming.applied(1_000_000, None);
        assert_eq!(incoming.room(february), 37_000_000);
        assert_eq!(incoming.room(mid_month), 7_000_000);
    }

    #[test]
    fn only_the_latest_months_are_kept_and_no_cap_means_no_limit() {
        let mut incoming = Incoming::new(Some(100), 0);
        let month_ms = 31 * 24 * HOUR_MS;
        for i in 0..5u64 {
            incoming.planned(10 + i);
            incoming.applied(10 + i, Some(JAN_31_2355_WIB_MS + HOUR_MS + i * month_ms));
        }
        let months: Vec<u32> = incoming.placed.iter().map(|(m, _)| *m).collect();
        let feb = wib_month(JAN_31_2355_WIB_MS + HOUR_MS);
        assert!(months.iter().all(|m| *m >= feb + 2), "{months:?}");
        assert_eq!(incoming.unplaced, 0);
        let last = Months::around(JAN_31_2355_WIB_MS + HOUR_MS + 4 * month_ms);
        assert_eq!(incoming.room(last), 86);
        assert_eq!(Incoming::new(None, 5).room(last), u64::MAX);
    }
}
