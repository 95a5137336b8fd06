//! When settlement windows close: a cut-off schedule in block time, set in
//! the genesis and changed only by governance. Plain data and arithmetic;
//! the rule that closes windows by it is in [`crate::settlement`], and this
//! module sits below both that module and [`crate::state`], which stores
//! the schedule in the parameters.
//!
//! Cut-offs fall at `offset_ms + k * period_ms` (k = 0, 1, 2, ...) on the
//! block clock (ms since the Unix epoch, from the block header: every node
//! reads the same time). The first block whose time is at or past a cut-off
//! its parent was before closes the open window, before its own
//! transactions run, so they belong to the next window; a window with no
//! activity at all is left open until a later cut-off. With a period of a
//! day and an offset of 10:00 UTC, windows close daily at 17:00 WIB; a test
//! network closes one every minute.
//!
//! A proposer picks its block's time within the bounds the node checks
//! (after its parent, at most `BLOCK_TIME_DRIFT_MAX_MS` ahead of each
//! validator's clock), so a cut-off can fall up to that much early, or one
//! block late; no cooperative can close a window at any other moment.

use serde::{Deserialize, Serialize};

/// The shortest settlement period: each close writes a window record, so
/// the state grows by one per period (5 s suits a test network; real
/// networks choose hours or a day).
pub const SETTLEMENT_PERIOD_MS_MIN: u64 = 5_000;
/// The longest settlement period: a week.
pub const SETTLEMENT_PERIOD_MS_MAX: u64 = 7 * 24 * 60 * 60 * 1_000;
/// The period of [`SettlementSchedule::default`]: an hour.
pub const SETTLEMENT_PERIOD_MS_DEFAULT: u64 = 60 * 60 * 1_000;

/// When windows close: every `period_ms`, at cut-offs `offset_ms` past the
/// period's multiples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSchedule {
    pub period_ms: u64,
    /// Where in the period the cut-off falls; less than `period_ms`.
    pub offset_ms: u64,
}

impl Default for SettlementSchedule {
    /// Every hour, on the hour (UTC, and so WIB).
    fn default() -> Self {
        SettlementSchedule {
            period_ms: SETTLEMENT_PERIOD_MS_DEFAULT,
            offset_ms: 0,
        }
    }
}

impl SettlementSchedule {
    /// A schedule of `period_ms` with cut-offs on the period's multiples.
    pub fn every(period_ms: u64) -> SettlementSchedule {
        SettlementSchedule {
            period_ms,
            offset_ms: 0,
        }
    }

    /// The period within bounds and the offset inside the period.
    pub fn check(&self) -> Result<(), String> {
        if !(SETTLEMENT_PERIOD_MS_MIN..=SETTLEMENT_PERIOD_MS_MAX).contains(&self.period_ms) {
            return Err(format!(
                "period must be {SETTLEMENT_PERIOD_MS_MIN} to {SETTLEMENT_PERIOD_MS_MAX} ms, got {}",
                self.period_ms
            ));
        }
        if self.offset_ms >= self.period_ms {
            return Err(format!(
                "offset must be less than the period ({} ms), got {}",
                self.period_ms, self.offset_ms
            ));
        }
        Ok(())
    }

    /// How many cut-offs lie at or before `time_ms` (0 before the first).
    fn cutoffs_until(&self, time_ms: u64) -> u64 {
        match time_ms.checked_sub(self.offset_ms) {
            None => 0,
            Some(since) => since
                .checked_div(self.period_ms)
                .unwrap_or(0)
                .saturating_add(1),
        }
    }

    /// Whether a cut-off falls after `parent_ms` and at or before `time_ms`:
    /// the block at `time_ms` whose parent is at `parent_ms` closes the
    /// open window (if it has any activity).
    pub fn cutoff_between(&self, parent_ms: u64, time_ms: u64) -> bool {
        self.cutoffs_until(time_ms) > self.cutoffs_until(parent_ms)
    }

    /// The first cut-off after `time_ms` (`None` past the clock's range).
    pub fn next_cutoff_after(&self, time_ms: u64) -> Option<u64> {
        let k = self.cutoffs_until(time_ms);
        k.checked_mul(self.period_ms)?.checked_add(self.offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_fall_on_the_offset_and_its_periods() {
        let s = SettlementSchedule {
            period_ms: 10_000,
            offset_ms: 3_000,
        };
        assert!(!s.cutoff_between(0, 2_999));
        assert!(s.cutoff_between(2_999, 3_000));
        assert!(!s.cutoff_between(3_000, 12_999));
        assert!(s.cutoff_between(12_999, 13_000));
        assert!(s.cutoff_between(0, 1_000_000));
        assert!(!s.cutoff_between(13_000, 13_000));
        assert_eq!(s.next_cutoff_after(0), Some(3_000));
        assert_eq!(s.next_cutoff_after(3_000), Some(13_000));
        assert_eq!(s.next_cutoff_after(12_999), Some(13_000));
        assert_eq!(s.next_cutoff_after(u64::MAX), None);
    }

    #[test]
    fn bounds() {
        SettlementSchedule::default().check().unwrap();
        SettlementSchedule::every(SETTLEMENT_PERIOD_MS_MIN)
            .check()
            .unwrap();
        SettlementSchedule::every(SETTLEMENT_PERIOD_MS_MAX)
            .check()
            .unwrap();
        for bad in [
            SettlementSchedule::every(0),
            SettlementSchedule::every(SETTLEMENT_PERIOD_MS_MIN - 1),
            SettlementSchedule::every(SETTLEMENT_PERIOD_MS_MAX + 1),
            SettlementSchedule {
                period_ms: 60_000,
                offset_ms: 60_000,
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
