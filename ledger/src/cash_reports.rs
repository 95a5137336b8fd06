//! The cash transaction reporting threshold: the sum of a member's cash
//! transactions in one WIB day at or above which a regulator's observer
//! lists the member's day in its report (the cash transaction report that
//! savings-and-loan cooperatives file with PPATK, the Indonesian financial
//! intelligence unit). Cash means rupiah notes crossing a counter: `Mint`
//! and `Burn` at the member's home cooperative, `CashIn` and `CashOut` at
//! any cooperative's counter.
//!
//! The ledger only keeps the number (`Params::cash_report_threshold`,
//! default [`CASH_REPORT_THRESHOLD_DEFAULT`] = Rp500.000.000), changed by
//! `GovAction::SetCashReportThreshold` within
//! [`CASH_REPORT_THRESHOLD_MIN`]..=[`CASH_REPORT_THRESHOLD_MAX`]; nothing
//! the ledger executes depends on it. The report itself is computed by an
//! observer node (`kopnet-node`'s `audit` module), so the threshold every
//! observer applies is the one the network agreed.

use crate::rejection::Rejection;
use crate::types::Amount;

/// The default threshold: Rp500.000.000 a member a day.
pub const CASH_REPORT_THRESHOLD_DEFAULT: Amount = 500_000_000;
/// The lowest threshold governance may set: Rp1.000.000 (below that every
/// shop's takings would be a report).
pub const CASH_REPORT_THRESHOLD_MIN: Amount = 1_000_000;
/// The highest threshold governance may set: Rp100.000.000.000.
pub const CASH_REPORT_THRESHOLD_MAX: Amount = 100_000_000_000;

/// A threshold within its bounds.
pub fn check_threshold(amount: Amount) -> Result<(), Rejection> {
    if (CASH_REPORT_THRESHOLD_MIN..=CASH_REPORT_THRESHOLD_MAX).contains(&amount) {
        Ok(())
    } else {
        Err(Rejection::CashReportThresholdOutOfRange(format!(
            "must be {CASH_REPORT_THRESHOLD_MIN} to {CASH_REPORT_THRESHOLD_MAX} rupiah, got {amount}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_bounded() {
        check_threshold(CASH_REPORT_THRESHOLD_DEFAULT).unwrap();
        check_threshold(CASH_REPORT_THRESHOLD_MIN).unwrap();
        check_threshold(CASH_REPORT_THRESHOLD_MAX).unwrap();
        for bad in [
            0,
            CASH_REPORT_THRESHOLD_MIN - 1,
            CASH_REPORT_THRESHOLD_MAX + 1,
        ] {
            assert_eq!(
                check_threshold(bad).unwrap_err().code(),
                "cash_report_threshold_out_of_range"
            );
        }
    }
}
