//! The cash transaction report: every member-day (WIB) whose cash
//! transactions sum to the governed threshold or more, with the member's
//! home cooperative, the counters involved and each transaction.
//!
//! The sum counts deposits and withdrawals alike (`Mint`, `Burn`,
//! `CashIn`, `CashOut`: notes crossing a counter either way), as PPATK's
//! cash transaction report does. Days are listed oldest first, then by
//! member; at most [`super::CASH_ROWS_MAX`] of them (`cut` says when more
//! qualified).

use super::period::{day_name, wib_day};
use super::{listed, AuditTx, Directory, ListedTx, CASH_ROWS_MAX};
use kopnet_consensus::PublicKey;
use kopnet_ledger::types::Amount;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One member's day at or above the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashRow {
    /// `YYYY-MM-DD` (WIB).
    pub day: String,
    pub member: String,
    /// The member's home cooperative (`null` if the state has no account).
    pub home: Option<String>,
    /// Cash transactions of the day, in rupiah.
    pub total: u128,
    pub deposits: u128,
    pub withdrawals: u128,
    /// The cooperatives whose counters it crossed, sorted.
    pub counters: Vec<String>,
    /// The tellers who served it (addresses), sorted.
    pub tellers: Vec<String>,
    pub transactions: Vec<ListedTx>,
}

/// The report's first part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashReport {
    pub threshold: Amount,
    pub rows: Vec<CashRow>,
    /// Whether more member-days qualified than are listed.
    pub cut: bool,
}

/// The member-days of `txs` (time order) at or above `threshold`.
pub fn cash_report(txs: &[AuditTx], directory: &Directory, threshold: Amount) -> CashReport {
    let mut days: BTreeMap<(u64, PublicKey), Vec<&AuditTx>> = BTreeMap::new();
    for tx in txs.iter().filter(|t| t.kind.is_cash()) {
        if let Some(member) = tx.cash_member() {
            days.entry((wib_day(tx.time_ms), member))
                .or_default()
                .push(tx);
        }
    }
    let mut rows = Vec::new();
    let mut cut = false;
    for ((day, member), txs) in days {
        let total: u128 = txs.iter().map(|t| u128::from(t.amount)).sum();
        if total < u128::from(threshold) {
            continue;
        }
        if rows.len() >= CASH_ROWS_MAX {
            cut = true;
            break;
        }
        let deposits: u128 = txs
            .iter()
            .filter(|t| t.to == Some(member))
            .map(|t| u128::from(t.amount))
            .sum();
        let counters: BTreeSet<String> = txs
            .iter()
            .filter_map(|t| t.counter.as_ref().map(|c| c.coop.to_string()))
            .collect();
        let tellers: BTreeSet<String> = txs
            .iter()
            .filter_map(|t| t.counter.as_ref().and_then(|c| c.teller))
            .map(|t| t.to_address())
            .collect();
        rows.push(CashRow {
            day: day_name(day),
            member: member.to_address(),
            home: directory.get(&member).map(|a| a.home.to_string()),
            total,
            deposits,
            withdrawals: total.saturating_sub(deposits),
            counters: counters.into_iter().collect(),
            tellers: tellers.into_iter().collect(),
            transactions: listed(txs),
        });
    }
    CashReport {
        threshold,
        rows,
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key, member, tx};
    use super::super::TxKind::*;
    use super::*;

    const DAY: u64 = 86_400_000;
    const T0: u64 = 1_796_490_000_000; // 2026-12-06 00:00 WIB

    #[test]
    fn a_members_cash_day_at_or_above_the_threshold_is_listed_with_its_counters() {
        let directory = Directory::from([(key(1), member("ksp-a")), (key(2), member("ksp-b"))]);
        let txs = vec![
            // Member 1: 300 in and 200 out the same day = 500, listed.
            tx(CashIn, None, Some(1), 300, T0 + 1_000),
            tx(CashOut, Some(1), None, 200, T0 + 2_000),
            // A payment is not cash.
            tx(Payment, Some(1), Some(2), 10_000, T0 + 3_000),
            // Member 2: 499 one day and 499 the next: never listed.
            tx(CashDeposit, None, Some(2), 499, T0 + 4_000),
            tx(CashWithdrawal, Some(2), None, 499, T0 + DAY + 4_000),
        ];
        let report = cash_report(&txs, &directory, 500);
        assert_eq!(report.rows.len(), 1, "{report:?}");
        let row = &report.rows[0];
        assert_eq!(row.day, "2026-12-06");
        assert_eq!(row.member, key(1).to_address());
        assert_eq!(row.home.as_deref(), Some("ksp-a"));
        assert_eq!((row.total, row.deposits, row.withdrawals), (500, 300, 200));
        assert_eq!(row.counters, vec!["ksp-a".to_string()]);
        assert_eq!(row.transactions.len(), 2);
        assert!(!report.cut);
        // One rupiah more of threshold and nothing is listed.
        assert!(cash_report(&txs, &directory, 501).rows.is_empty());
    }

    #[test]
    fn the_day_is_the_wib_day() {
        let directory = Directory::new();
        // 23:59 WIB and 00:01 WIB the next day: two days of 300.
        let txs = vec![
            tx(CashIn, None, Some(1), 300, T0 + DAY - 60_000),
            tx(CashIn, None, Some(1), 300, T0 + DAY + 60_000),
        ];
        assert!(cash_report(&txs, &directory, 500).rows.is_empty());
        assert_eq!(cash_report(&txs, &directory, 300).rows.len(), 2);
    }
}
