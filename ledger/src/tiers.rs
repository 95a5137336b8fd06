//! E-money tiers: what each KYC tier may hold, receive and do, and the
//! calendar month every node counts incoming money in.
//!
//! The defaults follow Bank Indonesia's e-money rules (PBI 20/6/PBI/2018,
//! with the July 2022 change of the registered limits); every figure is a
//! governed parameter (`SetTierLimit` for the balance cap, `SetTierRule`
//! for the rest, `SetQrPaymentCap`):
//!
//! | tier | balance cap | incoming per month | pay other members | cash out |
//! |---|---|---|---|---|
//! | `basic` (unregistered) | Rp2.000.000 | Rp20.000.000 | no | no |
//! | `registered` | Rp20.000.000 | Rp40.000.000 | yes | yes |
//! | `business` (merchants) | Rp100.000.000 | no limit | yes | yes |
//!
//! and at most Rp10.000.000 per QR payment (a payment to a merchant).
//!
//! **Rules, in the order they are checked** (after the action's own
//! format, amount and self-payment checks):
//! * `tier_forbids_transfer`: a payment to an account of kind `member` by a
//!   payer whose tier may not transfer (payments to merchants are allowed);
//! * `tier_forbids_cash_out`: a `CashOut` at any counter, or a `Burn` at the
//!   home counter, of an account whose tier may not cash out;
//! * `qr_payment_cap`: a payment to a merchant above the cap;
//! * then the legs ([`crate::legs`]): `tier_balance_cap` when a credit would
//!   take a member account above its tier's balance cap, then
//!   `tier_monthly_incoming_cap` when it would take the month's incoming
//!   money above the tier's monthly cap.
//!
//! **Incoming money** is every credit to a member account: payments and
//! requests paid to it, top-ups (mint, cash-in), payouts, refunds and
//! cashback. Money an account sends is never counted.
//!
//! **The month** is the calendar month in WIB (UTC+7) of the block time:
//! [`wib_month`] numbers months since January 1970 (`year * 12 + month -
//! 1`). Each block's start records its month in the agreed counters
//! ([`begin_block`]); an account's counter ([`MemberAccount::incoming`])
//! names the month it counts and starts again from zero in a new month, so
//! no block has to visit every account when a month turns, and every node
//! counts the same rupiah.
//!
//! **Changing a member's tier** (`SetMemberTier`) is the home cooperative's
//! act after KYC, signed by its key or one of its tellers. A tier whose
//! balance cap is below the account's balance is refused
//! (`tier_balance_cap`): the member first spends or cashes out the excess.
//! The month's incoming money counts on against the new tier's cap.
//!
//! [`MemberAccount::incoming`]: crate::types::MemberAccount::incoming

use crate::rejection::Rejection;
use crate::role_records::{wib_day, DAY_MS};
use crate::state::{Overlay, StateRead};
use crate::types::{Amount, Cooperative, KycTier, MemberAccount};
use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};

/// The default most rupiah of one payment to a merchant (QRIS's limit per
/// transaction).
pub const QR_PAYMENT_CAP_DEFAULT: Amount = 10_000_000;
/// The largest cap governance may set on one QR payment, and on a month's
/// incoming money (far above any e-money rule; a bound on the parameter).
pub const PAYMENT_RULE_AMOUNT_MAX: Amount = 10_000_000_000;

/// What one tier may do beyond its balance cap ([`crate::types::TierLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRule {
    /// Most rupiah a member account of the tier may receive in one calendar
    /// month (WIB); `None`: no monthly limit.
    pub monthly_incoming_cap: Option<Amount>,
    /// Whether it may pay accounts of kind `member` (payments to merchants
    /// are always allowed).
    pub may_transfer: bool,
    /// Whether it may take cash out (`CashOut`, `Burn`).
    pub may_cash_out: bool,
}

/// The rules of every tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRules {
    pub basic: TierRule,
    pub registered: TierRule,
    pub business: TierRule,
}

impl Default for TierRules {
    fn default() -> Self {
        TierRules {
            basic: TierRule {
                monthly_incoming_cap: Some(20_000_000),
                may_transfer: false,
                may_cash_out: false,
            },
            registered: TierRule {
                monthly_incoming_cap: Some(40_000_000),
                may_transfer: true,
                may_cash_out: true,
            },
            business: TierRule {
                monthly_incoming_cap: None,
                may_transfer: true,
                may_cash_out: true,
            },
        }
    }
}

impl TierRules {
    pub fn rule(&self, tier: KycTier) -> TierRule {
        match tier {
            KycTier::Basic => self.basic,
            KycTier::Registered => self.registered,
            KycTier::Business => self.business,
        }
    }

    pub fn set(&mut self, tier: KycTier, rule: TierRule) {
        match tier {
            KycTier::Basic => self.basic = rule,
            KycTier::Registered => self.registered = rule,
            KycTier::Business => self.business = rule,
        }
    }

    /// Every monthly cap at least Rp 1 and at most
    /// [`PAYMENT_RULE_AMOUNT_MAX`].
    pub fn check(&self) -> Result<(), Rejection> {
        for tier in KycTier::ALL {
            if let Some(cap) = self.rule(tier).monthly_incoming_cap {
                if cap == 0 || cap > PAYMENT_RULE_AMOUNT_MAX {
                    return Err(Rejection::TierLimitOutOfRange(format!(
                        "a monthly incoming cap must be 1..={PAYMENT_RULE_AMOUNT_MAX} \
                         (leave it out for no limit)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A QR payment cap within its bounds.
pub fn check_qr_payment_cap(cap: Amount) -> Result<(), Rejection> {
    if cap == 0 || cap > PAYMENT_RULE_AMOUNT_MAX {
        return Err(Rejection::PaymentRuleOutOfRange(format!(
            "the QR payment cap must be 1..={PAYMENT_RULE_AMOUNT_MAX}"
        )));
    }
    Ok(())
}

/// The calendar month (WIB) of a block time, numbered from January 1970:
/// `year * 12 + month - 1` (so January 1970 is `1970 * 12`).
pub fn wib_month(time_ms: u64) -> u32 {
    let (year, month) = civil_month(wib_day(time_ms));
    year.saturating_mul(12)
        .saturating_add(month.saturating_sub(1))
}

/// The year and month (1-12) of `days` since 1970-01-01 (the proleptic
/// Gregorian calendar; H. Hinnant's `civil_from_days`, for days ≥ 0).
fn civil_month(days: u64) -> (u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        u32::try_from(year).unwrap_or(u32::MAX),
        u32::try_from(month).unwrap_or(1),
    )
}

/// The first block time (ms) of the WIB month after the one of `time_ms`:
/// when an account's monthly headroom is whole again.
pub fn next_month_starts_ms(time_ms: u64) -> u64 {
    let month = wib_month(time_ms);
    // At most 31 days ahead, day by day from the next day's start.
    let mut day = wib_day(time_ms).saturating_add(1);
    for _ in 0..32 {
        let start = day
            .saturating_mul(DAY_MS)
            .saturating_sub(crate::role_records::WIB_OFFSET_MS);
        if wib_month(start) != month {
            return start;
        }
        day = day.saturating_add(1);
    }
    u64::MAX
}

/// The block's start: record the block's month in the agreed counters (only
/// when it changed, so most blocks write nothing).
pub fn begin_block<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, time_ms: u64) {
    let month = wib_month(time_ms);
    let mut counters = state.counters();
    if counters.wib_month != month {
        counters.wib_month = month;
        state.put_counters(counters);
    }
}

/// What `account` has received in the month `month` (0 if its counter names
/// another month).
pub fn incoming_in(account: &MemberAccount, month: u32) -> Amount {
    match account.incoming {
        Some((counted, amount)) if counted == month => amount,
        _ => 0,
    }
}

/// How much more `account` may receive this month under its tier's rule
/// (`None`: no monthly limit).
pub fn monthly_headroom<S: StateRead + ?Sized>(
    state: &S,
    account: &MemberAccount,
) -> Option<Amount> {
    let params = state.params_ref()?;
    let cap = params.tier_rules.rule(account.tier).monthly_incoming_cap?;
    let used = incoming_in(account, state.counters().wib_month);
    Some(cap.saturating_sub(used))
}

/// The rule a payment from `payer` to an account of kind member must pass.
pub fn check_transfer(state: &impl StateRead, payer: &MemberAccount) -> Result<(), Rejection> {
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    if !params.tier_rules.rule(payer.tier).may_transfer {
        return Err(Rejection::TierForbidsTransfer);
    }
    Ok(())
}

/// The rule every cash-out (`CashOut`, `Burn`) of `member` must pass.
pub fn check_cash_out<S: StateRead + ?Sized>(
    state: &S,
    member: &PublicKey,
) -> Result<(), Rejection> {
    let account = state
        .member_ref(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    if !params.tier_rules.rule(account.tier).may_cash_out {
        return Err(Rejection::TierForbidsCashOut);
    }
    Ok(())
}

/// The cap on one payment to a merchant.
pub fn check_qr_payment<S: StateRead + ?Sized>(state: &S, amount: Amount) -> Result<(), Rejection> {
    let cap = state
        .params_ref()
        .ok_or(Rejection::Overflow)?
        .qr_payment_cap;
    if amount > cap {
        return Err(Rejection::QrPaymentCap { cap });
    }
    Ok(())
}

/// `SetMemberTier`: the home cooperative (its key or a teller, resolved to
/// `coop` by the caller) moves `member` to `tier`.
pub fn set_member_tier<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    member: &PublicKey,
    tier: KycTier,
) -> Result<(), Rejection> {
    let cap = state
        .params_ref()
        .ok_or(Rejection::Overflow)?
        .tier_limits
        .cap(tier);
    let account = state
        .member_mut(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    if account.home != coop.id {
        return Err(Rejection::NotAuthorized(
            "only the member's home cooperative sets its tier".into(),
        ));
    }
    if account.balance > cap {
        return Err(Rejection::BalanceCapExceeded { cap });
    }
    account.tier = tier;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_records::WIB_OFFSET_MS;

    /// Milliseconds of a UTC date and time.
    fn utc(year: u64, month: u64, day: u64, hour: u64) -> u64 {
        // Days from 1970-01-01 to the date, by Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y / 400;
        let yoe = y - era * 400;
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * DAY_MS + hour * 3_600_000
    }

    #[test]
    fn months_turn_at_midnight_wib() {
        assert_eq!(wib_month(0), 1970 * 12);
        // 31 January 2027, 16:59:59.999 UTC is 23:59:59.999 WIB: January.
        let jan_end = utc(2027, 1, 31, 17) - 1;
        assert_eq!(wib_month(jan_end), 2027 * 12);
        // One millisecond later it is 1 February, 00:00 WIB.
        assert_eq!(wib_month(jan_end + 1), 2027 * 12 + 1);
        assert_eq!(next_month_starts_ms(jan_end), jan_end + 1);
        // 31 December 2026, 17:00 UTC is already January 2027 in WIB.
        assert_eq!(wib_month(utc(2026, 12, 31, 17)), 2027 * 12);
        assert_eq!(wib_month(utc(2026, 12, 31, 16)), 2026 * 12 + 11);
        // Leap years: 29 February 2028 is February.
        assert_eq!(wib_month(utc(2028, 2, 29, 12)), 2028 * 12 + 1);
        assert_eq!(wib_month(utc(2028, 3, 1, 12)), 2028 * 12 + 2);
        assert_eq!(
            next_month_starts_ms(utc(2028, 2, 10, 0)),
            utc(2028, 3, 1, 0) - WIB_OFFSET_MS
        );
    }

    #[test]
    fn four_gregorian_centuries_hold_4800_months_in_order() {
        // 146,097 days are exactly 400 Gregorian years: from 1 January 1970
        // to 31 December 2369, WIB.
        let mut last = wib_month(0);
        let mut months = 1;
        for day in 1..146_097 {
            let month = wib_month(day * DAY_MS);
            assert!(month == last || month == last + 1, "day {day}");
            months += u32::from(month != last);
            last = month;
        }
        assert_eq!(months, 4_800);
        assert_eq!(last, 2369 * 12 + 11);
    }

    #[test]
    fn defaults_are_the_bank_indonesia_figures_and_check() {
        let rules = TierRules::default();
        rules.check().unwrap();
        assert!(!rules.basic.may_transfer && !rules.basic.may_cash_out);
        assert_eq!(rules.registered.monthly_incoming_cap, Some(40_000_000));
        assert_eq!(rules.business.monthly_incoming_cap, None);
        let mut bad = rules;
        bad.registered.monthly_incoming_cap = Some(0);
        assert_eq!(bad.check().unwrap_err().code(), "tier_limit_out_of_range");
        assert!(check_qr_payment_cap(0).is_err());
        check_qr_payment_cap(QR_PAYMENT_CAP_DEFAULT).unwrap();
    }
}
