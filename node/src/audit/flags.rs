//! Patterns for review. Each flag names its rule, the account, a line
//! saying what was seen, and the transactions behind it (hashes, heights,
//! amounts). A flag is a question for a person, not a finding. The
//! thresholds are the observer's `[audit]` config
//! ([`crate::config::AuditConfig`], defaults in brackets):
//!
//! - `structuring`: at least `structuring_count_min` [3] cash transactions
//!   of one member, each just under the reporting threshold (at least
//!   `threshold × (1000 − structuring_band_per_mille) / 1000` [200 ‰:
//!   80 % of it] and below it), within `structuring_span_ms` [7 days]:
//!   cash cut into pieces that each stay under the report.
//! - `dormant_awakening`: an account with no activity for
//!   `dormant_after_ms` [180 days] (since its last transaction, or its
//!   registration) that then moves at least `awakening_volume_min`
//!   [Rp100.000.000] within `awakening_span_ms` [7 days].
//! - `volume_above_norm`: an account whose volume (money in and out) in a
//!   WIB calendar month is at least `norm_multiple` [10] times the median
//!   of the accounts of the same kind (member or merchant) at its home
//!   cooperative active that month, and at least `norm_volume_min`
//!   [Rp250.000.000]; only where at least `norm_group_min` [5] accounts make
//!   the median, so a cooperative's two merchants never measure each other.
//! - `fan_in_new_accounts`: a member account (not a merchant: merchants are
//!   paid by many by design) paid within `fan_in_span_ms` [7 days] by at
//!   least `fan_in_payers_min` [10] distinct accounts each registered at
//!   most `new_account_age_ms` [30 days] before its payment, together at
//!   least `fan_in_amount_min` [Rp50.000.000]: the collection pattern of
//!   mule accounts.
//!
//! The defaults are set so that ordinary traffic, including `kopnet testnet
//! up`'s demo load, raises none (member balances are capped far below
//! these volumes); a test network's observer may shorten the spans (see
//! [`crate::config::AuditConfig::demo`]). Each rule flags an account at most
//! once a report (its first occurrence), and a report lists at most
//! [`super::FLAGS_MAX`] flags (`cut` says when more were found).

use super::period::month_name;
use super::{listed, AuditTx, Directory, ListedTx, TxKind, FLAGS_MAX};
use crate::config::AuditConfig;
use kopnet_consensus::PublicKey;
use kopnet_ledger::types::{AccountKind, Amount, CoopId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One pattern for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// `structuring`, `dormant_awakening`, `volume_above_norm` or
    /// `fan_in_new_accounts`.
    pub rule: &'static str,
    pub account: String,
    pub home: Option<String>,
    /// What was seen, in words and numbers.
    pub detail: String,
    pub transactions: Vec<ListedTx>,
}

/// The report's second part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub flags: Vec<Flag>,
    pub cut: bool,
}

/// Every rule over `txs` (time order).
pub fn flags(
    txs: &[AuditTx],
    directory: &Directory,
    threshold: Amount,
    config: &AuditConfig,
) -> Flags {
    let mut all = Vec::new();
    all.extend(structuring(txs, directory, threshold, config));
    all.extend(dormant_awakening(txs, directory, config));
    all.extend(volume_above_norm(txs, directory, config));
    all.extend(fan_in_new_accounts(txs, directory, config));
    let cut = all.len() > FLAGS_MAX;
    all.truncate(FLAGS_MAX);
    Flags { flags: all, cut }
}

fn flag(
    rule: &'static str,
    account: &PublicKey,
    directory: &Directory,
    detail: String,
    txs: &[&AuditTx],
) -> Flag {
    Flag {
        rule,
        account: account.to_address(),
        home: directory.get(account).map(|a| a.home.to_string()),
        detail,
        transactions: listed(txs.iter().copied()),
    }
}

/// Transactions of each account, in time order.
fn by_account(txs: &[AuditTx]) -> BTreeMap<PublicKey, Vec<&AuditTx>> {
    let mut map: BTreeMap<PublicKey, Vec<&AuditTx>> = BTreeMap::new();
    for tx in txs {
        for account in tx.accounts() {
            map.entry(account).or_default().push(tx);
        }
    }
    map
}

/// The first run of `count_min` items of `times` (ascending) within
/// `span_ms`: the indices `[start, end)` of the longest such run from the
/// first start that has one.
fn first_dense_run(times: &[u64], count_min: usize, span_ms: u64) -> Option<(usize, usize)> {
    let count_min = count_min.max(1);
    for start in 0..times.len() {
        let first = *times.get(start)?;
        let end = times
            .iter()
            .skip(start)
            .take_while(|t| t.saturating_sub(first) <= span_ms)
            .count()
            .saturating_add(start);
        if end.saturating_sub(start) >= count_min {
            return Some((start, end));
        }
    }
    None
}

/// `structuring`: cash just under the threshold, again and again.
pub fn structuring(
    txs: &[AuditTx],
    directory: &Directory,
    threshold: Amount,
    config: &AuditConfig,
) -> Vec<Flag> {
    let band = u128::from(config.structuring_band_per_mille.min(1_000));
    let floor = u128::from(threshold).saturating_mul(1_000 - band) / 1_000;
    let mut by_member: BTreeMap<PublicKey, Vec<&AuditTx>> = BTreeMap::new();
    for tx in txs.iter().filter(|t| t.kind.is_cash()) {
        let amount = u128::from(tx.amount);
        if amount >= floor && amount < u128::from(threshold) {
            if let Some(member) = tx.cash_member() {
                by_member.entry(member).or_default().push(tx);
            }
        }
    }
    let count_min = usize::try_from(config.structuring_count_min).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (member, pieces) in by_member {
        let times: Vec<u64> = pieces.iter().map(|t| t.time_ms).collect();
        let Some((start, end)) = first_dense_run(&times, count_min, config.structuring_span_ms)
        else {
            continue;
        };
        let run = pieces.get(start..end).unwrap_or_default();
        let total: u128 = run.iter().map(|t| u128::from(t.amount)).sum();
        let detail = format!(
            "{} cash transactions of {floor} to {} rupiah (just under the threshold {threshold}) within {} ms, {total} rupiah in all",
            run.len(),
            threshold.saturating_sub(1),
            config.structuring_span_ms
        );
        out.push(flag("structuring", &member, directory, detail, run));
    }
    out
}

/// `dormant_awakening`: a long silence, then large volume.
pub fn dormant_awakening(
    txs: &[AuditTx],
    directory: &Directory,
    config: &AuditConfig,
) -> Vec<Flag> {
    let mut out = Vec::new();
    for (account, own) in by_account(txs) {
        let info = directory.get(&account);
        // The activity before each transaction: the previous one, or
        // before the period the history's last, or the registration.
        let mut last = info.and_then(|i| i.active_before_ms.or(i.registered_ms));
        for (at, tx) in own.iter().enumerate() {
            let woke =
                last.is_some_and(|l| tx.time_ms.saturating_sub(l) >= config.dormant_after_ms);
            let silent_ms = last.map_or(0, |l| tx.time_ms.saturating_sub(l));
            last = Some(tx.time_ms);
            if !woke || tx.kind == TxKind::Register {
                continue;
            }
            let burst: Vec<&AuditTx> = own
                .iter()
                .skip(at)
                .take_while(|t| t.time_ms.saturating_sub(tx.time_ms) <= config.awakening_span_ms)
                .copied()
                .collect();
            let volume: u128 = burst.iter().map(|t| u128::from(t.amount)).sum();
            if volume >= u128::from(config.awakening_volume_min) {
                let detail = format!(
                    "no activity for {silent_ms} ms (at least {} ms), then {volume} rupiah in {} transactions within {} ms",
                    config.dormant_after_ms,
                    burst.len(),
                    config.awakening_span_ms
                );
                out.push(flag(
                    "dormant_awakening",
                    &account,
                    directory,
                    detail,
                    &burst,
                ));
                break;
            }
        }
    }
    out
}

/// `volume_above_norm`: a month far above the account's peers.
pub fn volume_above_norm(
    txs: &[AuditTx],
    directory: &Directory,
    config: &AuditConfig,
) -> Vec<Flag> {
    // (month, home, kind) -> account -> its transactions that month.
    type Group<'a> = BTreeMap<PublicKey, Vec<&'a AuditTx>>;
    let mut groups: BTreeMap<(String, CoopId, bool), Group<'_>> = BTreeMap::new();
    for tx in txs.iter().filter(|t| t.kind != TxKind::Register) {
        for account in tx.accounts() {
            let Some(info) = directory.get(&account) else {
                continue;
            };
            let merchant = info.kind == AccountKind::Merchant;
            groups
                .entry((month_name(tx.time_ms), info.home.clone(), merchant))
                .or_default()
                .entry(account)
                .or_default()
                .push(tx);
        }
    }
    let group_min = usize::try_from(config.norm_group_min).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut flagged = BTreeSet::new();
    for ((month, home, merchant), accounts) in groups {
        if accounts.len() < group_min.max(1) {
            continue;
        }
        let volume = |own: &[&AuditTx]| -> u128 { own.iter().map(|t| u128::from(t.amount)).sum() };
        let mut volumes: Vec<u128> = accounts.values().map(|own| volume(own)).collect();
        volumes.sort_unstable();
        let median = volumes.get(volumes.len() / 2).copied().unwrap_or(0);
        let bar = median
            .saturating_mul(u128::from(config.norm_multiple))
            .max(u128::from(config.norm_volume_min));
        for (account, own) in &accounts {
            let v = volume(own);
            if v < bar || !flagged.insert(*account) {
                continue;
            }
            let detail = format!(
                "{v} rupiah in {month}, at least {}× the median {median} of {} {} at {home}",
                config.norm_multiple,
                accounts.len(),
                if merchant { "merchants" } else { "members" }
            );
            let mut largest = own.clone();
            largest.sort_by_key(|t| std::cmp::Reverse(t.amount));
            out.push(flag(
                "volume_above_norm",
                account,
                directory,
                detail,
                &largest,
            ));
        }
    }
    out
}

/// `fan_in_new_accounts`: many new accounts paying one member.
pub fn fan_in_new_accounts(
    txs: &[AuditTx],
    directory: &Directory,
    config: &AuditConfig,
) -> Vec<Flag> {
    let mut incoming: BTreeMap<PublicKey, Vec<&AuditTx>> = BTreeMap::new();
    for tx in txs.iter().filter(|t| t.kind == TxKind::Payment) {
        let (Some(payer), Some(payee)) = (tx.from, tx.to) else {
            continue;
        };
        let payee_is_member = directory
            .get(&payee)
            .is_some_and(|i| i.kind == AccountKind::Member);
        let payer_is_new = directory
            .get(&payer)
            .and_then(|i| i.registered_ms)
            .is_some_and(|r| tx.time_ms.saturating_sub(r) <= config.new_account_age_ms);
        if payee_is_member && payer_is_new {
            incoming.entry(payee).or_default().push(tx);
        }
    }
    let payers_min = usize::try_from(config.fan_in_payers_min).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (payee, payments) in incoming {
        // A sliding window of `fan_in_span_ms`: payments in it, and the
        // count and sum per payer.
        let mut window: VecDeque<&AuditTx> = VecDeque::new();
        let mut payers: BTreeMap<PublicKey, usize> = BTreeMap::new();
        let mut sum: u128 = 0;
        for tx in payments {
            while let Some(old) = window.front() {
                if tx.time_ms.saturating_sub(old.time_ms) <= config.fan_in_span_ms {
                    break;
                }
                if let Some(payer) = old.from {
                    if let Some(n) = payers.get_mut(&payer) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            payers.remove(&payer);
                        }
                    }
                }
                sum = sum.saturating_sub(u128::from(old.amount));
                window.pop_front();
            }
            window.push_back(tx);
            if let Some(payer) = tx.from {
                *payers.entry(payer).or_default() += 1;
            }
            sum = sum.saturating_add(u128::from(tx.amount));
            if payers.len() >= payers_min.max(1) && sum >= u128::from(config.fan_in_amount_min) {
                let detail = format!(
                    "paid {sum} rupiah by {} accounts registered at most {} ms before paying, within {} ms",
                    payers.len(),
                    config.new_account_age_ms,
                    config.fan_in_span_ms
                );
                let behind: Vec<&AuditTx> = window.iter().copied().collect();
                out.push(flag(
                    "fan_in_new_accounts",
                    &payee,
                    directory,
                    detail,
                    &behind,
                ));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key, member, tx};
    use super::super::TxKind::*;
    use super::*;

    const T0: u64 = 1_796_490_000_000;
    const MIN: u64 = 60_000;
    const DAY: u64 = 86_400_000;

    fn rules(flags: &[Flag]) -> Vec<(&'static str, String)> {
        flags.iter().map(|f| (f.rule, f.account.clone())).collect()
    }

    #[test]
    fn structuring_needs_enough_pieces_just_under_the_threshold_within_the_span() {
        let config = AuditConfig::default(); // 3 within 7 days, 80 % of it
        let directory = Directory::from([(key(1), member("ksp-a"))]);
        let threshold = 500;
        let mut txs = vec![
            tx(CashIn, None, Some(1), 450, T0),
            tx(CashIn, None, Some(1), 499, T0 + DAY),
            // At the threshold: reported, not "just under".
            tx(CashIn, None, Some(1), 500, T0 + 2 * DAY),
            // Under the band: ordinary.
            tx(CashIn, None, Some(1), 399, T0 + 2 * DAY),
        ];
        assert!(structuring(&txs, &directory, threshold, &config).is_empty());
        // A third piece, but 8 days after the first: still not within 7.
        txs.push(tx(CashDeposit, None, Some(1), 400, T0 + 8 * DAY));
        assert!(structuring(&txs, &directory, threshold, &config).is_empty());
        // A third within the span.
        txs.push(tx(CashOut, Some(1), None, 480, T0 + 3 * DAY));
        txs.sort_by_key(|t| t.time_ms);
        let found = structuring(&txs, &directory, threshold, &config);
        assert_eq!(rules(&found), vec![("structuring", key(1).to_address())]);
        let amounts: Vec<u64> = found[0].transactions.iter().map(|t| t.amount).collect();
        assert_eq!(amounts, vec![450, 499, 480]);
    }

    #[test]
    fn a_dormant_account_waking_with_volume_is_flagged_and_a_busy_one_is_not() {
        let config = AuditConfig {
            dormant_after_ms: 10 * MIN,
            awakening_span_ms: MIN,
            awakening_volume_min: 1_000,
            ..AuditConfig::default()
        };
        let directory = Directory::from([
            (key(1), member("ksp-a")),
            (key(2), member("ksp-a")),
            (key(3), member("ksp-a")),
        ]);
        let txs = vec![
            // 1: active before the period (registered at 0), silent 20
            // minutes, then 1.200 within a minute.
            tx(CashIn, None, Some(1), 700, T0),
            tx(Payment, Some(1), Some(3), 500, T0 + 30_000),
            // 2: busy all along, same volume: not flagged.
            tx(Payment, Some(2), Some(3), 100, T0 - 5 * MIN),
            tx(CashIn, None, Some(2), 1_200, T0),
        ];
        let mut directory = directory;
        if let Some(info) = directory.get_mut(&key(1)) {
            info.active_before_ms = Some(T0 - 20 * MIN);
        }
        if let Some(info) = directory.get_mut(&key(2)) {
            info.active_before_ms = Some(T0 - 6 * MIN);
        }
        if let Some(info) = directory.get_mut(&key(3)) {
            info.active_before_ms = Some(T0 - 6 * MIN);
        }
        let mut txs = txs;
        txs.sort_by_key(|t| t.time_ms);
        let found = dormant_awakening(&txs, &directory, &config);
        assert_eq!(
            rules(&found),
            vec![("dormant_awakening", key(1).to_address())]
        );
        assert_eq!(found[0].transactions.len(), 2);
        // Too little volume: nothing.
        let quiet = AuditConfig {
            awakening_volume_min: 1_201,
            ..config
        };
        assert!(dormant_awakening(&txs, &directory, &quiet).is_empty());
    }

    #[test]
    fn volume_far_above_the_cooperatives_median_is_flagged_only_with_enough_peers() {
        let config = AuditConfig {
            norm_multiple: 10,
            norm_volume_min: 1_000,
            norm_group_min: 5,
            ..AuditConfig::default()
        };
        let mut directory = Directory::new();
        let mut txs = Vec::new();
        for n in 1..=6u8 {
            directory.insert(key(n), member("ksp-a"));
            txs.push(tx(CashIn, None, Some(n), 100, T0 + u64::from(n)));
        }
        // Member 6 moves 1.000 more: 1.100 ≥ 10 × median 100.
        txs.push(tx(CashIn, None, Some(6), 1_000, T0 + 10));
        let found = volume_above_norm(&txs, &directory, &config);
        assert_eq!(
            rules(&found),
            vec![("volume_above_norm", key(6).to_address())]
        );
        // Under the minimum volume: nothing.
        let high_min = AuditConfig {
            norm_volume_min: 1_101,
            ..config
        };
        assert!(volume_above_norm(&txs, &directory, &high_min).is_empty());
        // Too few peers: nothing.
        let big_group = AuditConfig {
            norm_group_min: 7,
            ..config
        };
        assert!(volume_above_norm(&txs, &directory, &big_group).is_empty());
    }

    #[test]
    fn many_new_accounts_paying_one_member_is_flagged_but_old_payers_or_a_merchant_are_not() {
        let config = AuditConfig {
            fan_in_payers_min: 3,
            fan_in_amount_min: 300,
            ..AuditConfig::default()
        };
        let mut directory = Directory::from([(key(100), member("ksp-a"))]);
        let mut txs = Vec::new();
        for n in 1..=3u8 {
            let mut info = member("ksp-b");
            info.registered_ms = Some(T0);
            directory.insert(key(n), info);
            txs.push(tx(
                Payment,
                Some(n),
                Some(100),
                100,
                T0 + DAY + u64::from(n),
            ));
        }
        let found = fan_in_new_accounts(&txs, &directory, &config);
        assert_eq!(
            rules(&found),
            vec![("fan_in_new_accounts", key(100).to_address())]
        );
        assert_eq!(found[0].transactions.len(), 3);
        // Payers registered long ago: nothing.
        let mut old = directory.clone();
        for n in 1..=3u8 {
            if let Some(i) = old.get_mut(&key(n)) {
                i.registered_ms = Some(T0 - 60 * DAY);
            }
        }
        assert!(fan_in_new_accounts(&txs, &old, &config).is_empty());
        // A merchant payee: nothing.
        let mut shop = directory.clone();
        if let Some(i) = shop.get_mut(&key(100)) {
            i.kind = AccountKind::Merchant;
        }
        assert!(fan_in_new_accounts(&txs, &shop, &config).is_empty());
    }
}
