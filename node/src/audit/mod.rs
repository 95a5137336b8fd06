//! The regulator's desk: what an observer node tells a registered
//! regulator about a period (`GET /v1/audit/report?from=&to=`, served only
//! on observers and only to a request signed by a registered observer key;
//! `kopnet audit report` prints it as CSV or JSON).
//!
//! Three parts, one module each, all pure functions over the period's
//! committed transactions ([`AuditTx`], decoded by [`walk`]) and the
//! accounts they name ([`Directory`]), so they are tested without a node:
//!
//! - [`report`]: the **cash transaction report**. Cash is rupiah notes
//!   crossing a counter: `Mint` (deposit at the member's home counter),
//!   `Burn` (withdrawal there), `CashIn` and `CashOut` (at any
//!   cooperative's counter). A member's day (WIB) is listed when the sum of
//!   its cash transactions that day is at or above the ledger's governed
//!   threshold (`Params::cash_report_threshold`, default Rp500.000.000,
//!   `SetCashReportThreshold`; PPATK's cash transaction report), with its
//!   home cooperative and each transaction's counter (cooperative, teller).
//! - [`flags`]: patterns for review, each with its rule name, the account
//!   and the transactions behind it. The rules and their defaults are in
//!   [`flags`]'s docs; the thresholds are the observer's `[audit]` config
//!   ([`crate::config::AuditConfig`]).
//! - [`statements`]: per cooperative, the settlement windows closed in the
//!   period (net positions, gross volumes, fees earned) and the fees it
//!   earned by kind, with its MDR income by merchant class.
//!
//! Bounds: a period is at most [`period::PERIOD_DAYS_MAX`] days; a walk
//! reads at most [`WALK_TXS_MAX`] transactions (the report says
//! `complete: false` and the last height read if it stops there); at most
//! [`CASH_ROWS_MAX`] member-days, [`FLAGS_MAX`] flags with at most
//! [`FLAG_TXS_MAX`] transactions each, and [`STATEMENT_WINDOWS_MAX`]
//! windows are listed (each list says if it was cut). Refunds, payouts and
//! requests to pay count as payments in volumes; a refund counts for the
//! merchant that pays it back only.
//!
//! Nothing here is agreed by consensus: it is a reading of committed
//! blocks, and two observers at the same height give the same report.

pub mod flags;
pub mod period;
pub mod report;
pub mod statements;
pub mod walk;

use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::types::{AccountKind, Amount, CoopId, MerchantClass};
use serde::Serialize;
use std::collections::BTreeMap;

/// Most transactions one report reads.
pub const WALK_TXS_MAX: usize = 1_000_000;
/// Most member-days the cash transaction report lists.
pub const CASH_ROWS_MAX: usize = 1_000;
/// Most flags a report lists.
pub const FLAGS_MAX: usize = 500;
/// Most transactions listed behind one flag or one member-day.
pub const FLAG_TXS_MAX: usize = 50;
/// Most settlement windows a report reads.
pub const STATEMENT_WINDOWS_MAX: usize = 5_000;

/// What a committed, successful transaction did, as the desk reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// A cooperative registered the account (`RegisterMember`,
    /// `RegisterMerchant`).
    Register,
    /// Cash deposited at the member's home counter (`Mint`).
    CashDeposit,
    /// Cash paid out at the member's home counter (`Burn`).
    CashWithdrawal,
    /// Cash deposited at any cooperative's counter (`CashIn`).
    CashIn,
    /// Cash paid out at any cooperative's counter (`CashOut`).
    CashOut,
    /// A member pays an account (`Payment`, `PayRequest`).
    Payment,
    /// A cooperative pays a member from its funds (`Payout`).
    Payout,
    /// A merchant pays a payment back (`Refund`; the payer is not read).
    Refund,
}

impl TxKind {
    /// Whether notes cross a counter.
    pub fn is_cash(self) -> bool {
        matches!(
            self,
            TxKind::CashDeposit | TxKind::CashWithdrawal | TxKind::CashIn | TxKind::CashOut
        )
    }
}

/// Where cash crossed a counter: the cooperative and, if a teller signed,
/// the teller's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub coop: CoopId,
    pub teller: Option<PublicKey>,
}

/// One committed, successful transaction the desk reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTx {
    pub hash: Hash,
    pub height: u64,
    pub index: u32,
    /// Its block's time.
    pub time_ms: u64,
    pub kind: TxKind,
    /// The account money left (cash: the member for withdrawals and
    /// cash-outs; payments: the payer). `None` for cooperative funds.
    pub from: Option<PublicKey>,
    /// The account money reached (cash: the member for deposits and
    /// cash-ins; payments: the payee; registrations: the new account).
    pub to: Option<PublicKey>,
    pub amount: Amount,
    /// Rupiah its fee legs moved.
    pub fees: Amount,
    /// Cash only: the counter.
    pub counter: Option<Counter>,
}

impl AuditTx {
    /// The member a cash transaction is about.
    pub fn cash_member(&self) -> Option<PublicKey> {
        match self.kind {
            TxKind::CashDeposit | TxKind::CashIn => self.to,
            TxKind::CashWithdrawal | TxKind::CashOut => self.from,
            _ => None,
        }
    }

    /// The accounts it touches (one or two).
    pub fn accounts(&self) -> impl Iterator<Item = PublicKey> + '_ {
        let second = self.to.filter(|to| Some(*to) != self.from);
        self.from.into_iter().chain(second)
    }
}

/// What the desk knows of an account (from the committed state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub home: CoopId,
    pub kind: AccountKind,
    pub class: Option<MerchantClass>,
    /// The block time of its registration, if known.
    pub registered_ms: Option<u64>,
    /// Its last activity before the period, if the history index has one
    /// (read only for accounts the dormancy rule may flag).
    pub active_before_ms: Option<u64>,
}

/// The accounts a period's transactions name.
pub type Directory = BTreeMap<PublicKey, AccountInfo>;

/// A transaction as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTx {
    pub hash: String,
    pub height: u64,
    pub time_ms: u64,
    pub kind: TxKind,
    pub amount: Amount,
    pub counter_coop: Option<String>,
    pub teller: Option<String>,
}

impl From<&AuditTx> for ListedTx {
    fn from(tx: &AuditTx) -> ListedTx {
        ListedTx {
            hash: tx.hash.to_hex(),
            height: tx.height,
            time_ms: tx.time_ms,
            kind: tx.kind,
            amount: tx.amount,
            counter_coop: tx.counter.as_ref().map(|c| c.coop.to_string()),
            teller: tx
                .counter
                .as_ref()
                .and_then(|c| c.teller)
                .map(|t| t.to_address()),
        }
    }
}

/// The whole report (`GET /v1/audit/report`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The period, `YYYY-MM-DD` (WIB), both days included.
    pub from: String,
    pub to: String,
    /// The period as block time, `[from_ms, to_ms)`.
    pub from_ms: u64,
    pub to_ms: u64,
    /// The committed height the report was made at.
    pub height: u64,
    /// The first and last heights of the period read.
    pub first_height: Option<u64>,
    pub last_height: Option<u64>,
    /// False when the walk stopped at [`WALK_TXS_MAX`] transactions.
    pub complete: bool,
    /// Transactions read.
    pub transactions: u64,
    pub cash_transactions: report::CashReport,
    pub flags: flags::Flags,
    pub statements: statements::Statements,
}

/// What the report needs from the committed state besides the store.
#[derive(Debug, Clone)]
pub struct LedgerContext {
    pub height: u64,
    pub open_window: u64,
    pub threshold: Amount,
    pub cooperatives: Vec<kopnet_ledger::types::Cooperative>,
    pub fee_rules: Vec<kopnet_ledger::fees::FeeRule>,
}

/// Read the period out of `chain` and compute the three parts.
pub fn audit_report<S: kopnet_ledger::Storage>(
    chain: &kopnet_ledger::ledger::ChainReader<S>,
    context: &LedgerContext,
    period: &period::Period,
    config: &crate::config::AuditConfig,
) -> Result<AuditReport, walk::WalkError> {
    let walked = walk::walk(chain, context.height, period, config)?;
    let (windows, windows_cut) = walk::closed_windows(chain, context.open_window, period)?;
    let txs = &walked.txs;
    let directory = &walked.directory;
    Ok(AuditReport {
        from: period::day_name(period.first_day),
        to: period::day_name(period.last_day),
        from_ms: period.start_ms(),
        to_ms: period.end_ms(),
        height: context.height,
        first_height: walked.heights.map(|h| h.0),
        last_height: walked.heights.map(|h| h.1),
        complete: walked.complete,
        transactions: u64::try_from(txs.len()).unwrap_or(u64::MAX),
        cash_transactions: report::cash_report(txs, directory, context.threshold),
        flags: flags::flags(txs, directory, context.threshold, config),
        statements: statements::statements(
            &context.cooperatives,
            &windows,
            windows_cut,
            txs,
            directory,
            &context.fee_rules,
        ),
    })
}

/// Up to [`FLAG_TXS_MAX`] of `txs`, as listed.
pub fn listed<'a>(txs: impl IntoIterator<Item = &'a AuditTx>) -> Vec<ListedTx> {
    txs.into_iter()
        .take(FLAG_TXS_MAX)
        .map(ListedTx::from)
        .collect()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Transactions and accounts for the rules' tests.
    use super::*;
    use kopnet_consensus::Keypair;

    pub fn key(n: u8) -> PublicKey {
        Keypair::from_seed([n; 32]).public()
    }

    pub fn coop(id: &str) -> CoopId {
        CoopId::new(id).unwrap()
    }

    pub fn member(home: &str) -> AccountInfo {
        AccountInfo {
            home: coop(home),
            kind: AccountKind::Member,
            class: None,
            registered_ms: Some(0),
            active_before_ms: None,
        }
    }

    /// A transaction at `time_ms` (heights follow the time, one a second).
    pub fn tx(
        kind: TxKind,
        from: Option<u8>,
        to: Option<u8>,
        amount: Amount,
        time_ms: u64,
    ) -> AuditTx {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&time_ms.to_be_bytes());
        bytes[8..16].copy_from_slice(&amount.to_be_bytes());
        bytes[16] = from.unwrap_or(0);
        bytes[17] = to.unwrap_or(0);
        AuditTx {
            hash: Hash(bytes),
            height: time_ms / 1_000,
            index: 0,
            time_ms,
            kind,
            from: from.map(key),
            to: to.map(key),
            amount,
            fees: 0,
            counter: kind.is_cash().then(|| Counter {
                coop: coop("ksp-a"),
                teller: None,
            }),
        }
    }
}
