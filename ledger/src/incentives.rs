//! Incentive programmes: cashback the ledger pays by itself, from the
//! network fund, in the same block as the payment that earns it.
//!
//! Governance creates a programme (`CreateIncentive`): a name, a cashback
//! rate in basis points of the payment, a cap per member per calendar month
//! (WIB, [`crate::tiers::wib_month`]), a total budget, an end time (block
//! time), and which payments qualify: payments to merchants, only across
//! cooperatives (`cross_only`: the payer's home is not the merchant's) or
//! also on-us, of some merchant classes or of all (`classes` empty).
//! `EndIncentive` ends one early. A programme pays nothing once its end time
//! is reached or its budget is used; its record stays, for the explorer.
//!
//! **What a qualifying payment earns**, for each live programme in the
//! order they were created, after the payment's principal and fees moved:
//! `floor(amount * bps / 10_000)`, cut to what is left of the member's cap
//! for the month, of the programme's budget, and of the network fund's
//! balance; it moves network fund → payer as an ordinary leg (so the
//! network's position moves like any cross-cooperative leg and the payer's
//! tier caps apply). If that leg cannot be made (the payer's balance cap or
//! monthly incoming cap, the network's net debit cap), the cashback is not
//! paid and nothing of it is recorded: the payment itself stands. So a
//! budget running out mid-block pays the last payment the rest of it, and
//! the next ones nothing.
//!
//! **The network's net debit cap.** Cashback to a member of a cooperative
//! is a leg from the network participant to that cooperative: the network
//! owes it the money until the window settles. What the network fund
//! earned in a closed window that is not settled yet is no headroom (the
//! rule of [`crate::legs`]), so right after a cut-off the fund pays
//! cashback only within the network's own net debit cap: set it in the
//! genesis (`network_ndc`) or by governance (`SetNetDebitCap` naming
//! `network`) to what the programmes may pay between a cut-off and its
//! settlement.
//!
//! **Bounds**: at most [`PROGRAMMES_MAX`] programmes ever (records are kept
//! for the explorer); rate 1..=[`CASHBACK_BPS_MAX`]; name 1-64 bytes; an end
//! time after the block that creates it. One [`IncentiveUse`] entry per
//! member the programmes ever paid, holding the month's cashback per
//! programme and which programmes ever reached the member (bounded by
//! [`PROGRAMMES_MAX`]).

use crate::legs::{self, LegKind};
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::tiers::PAYMENT_RULE_AMOUNT_MAX;
use crate::types::{AccountId, Amount, MerchantClass};
use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most programmes the network keeps (created ever).
pub const PROGRAMMES_MAX: usize = 64;
/// Highest cashback rate: 10 % of the payment.
pub const CASHBACK_BPS_MAX: u32 = 1_000;
/// Longest programme name, in bytes.
pub const PROGRAMME_NAME_BYTES_MAX: usize = 64;

/// What governance decides about a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncentiveTerms {
    pub name: String,
    /// Cashback in basis points of the qualifying payment.
    pub bps: u32,
    /// Most cashback one member receives from the programme per calendar
    /// month (WIB).
    pub member_monthly_cap: Amount,
    /// Most cashback the programme pays in all.
    pub budget: Amount,
    /// Block time (ms) from which it pays nothing.
    pub ends_at_ms: u64,
    /// Only payments whose payer is homed at another cooperative than the
    /// merchant.
    pub cross_only: bool,
    /// Merchant classes whose payments qualify; empty: every class.
    pub classes: Vec<MerchantClass>,
}

impl IncentiveTerms {
    /// The terms on their own (the end time is checked against the block).
    pub fn check_format(&self) -> Result<(), Rejection> {
        let out = |what: &str| Err(Rejection::PaymentRuleOutOfRange(what.to_string()));
        if self.name.trim().is_empty() || self.name.len() > PROGRAMME_NAME_BYTES_MAX {
            return out("a programme's name must be 1-64 bytes");
        }
        if self.bps == 0 || self.bps > CASHBACK_BPS_MAX {
            return out("cashback must be 1..=1000 basis points");
        }
        if self.member_monthly_cap == 0 || self.member_monthly_cap > PAYMENT_RULE_AMOUNT_MAX {
            return out("the cap per member per month must be 1..=10000000000");
        }
        if self.budget == 0 || self.budget > PAYMENT_RULE_AMOUNT_MAX {
            return out("the budget must be 1..=10000000000");
        }
        let distinct: BTreeSet<_> = self.classes.iter().collect();
        if distinct.len() != self.classes.len() {
            return out("a merchant class named twice");
        }
        Ok(())
    }
}

/// One programme and what it paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    pub id: u32,
    pub terms: IncentiveTerms,
    /// Cashback paid so far (never above the budget).
    pub paid: Amount,
    /// Payments that earned cashback.
    pub payments: u64,
    /// Members it paid at least once.
    pub members_reached: u64,
    pub created_at_ms: u64,
    /// Set by `EndIncentive`: the block time it was ended at.
    pub ended_at_ms: Option<u64>,
}

impl Programme {
    /// Whether it pays at block time `time_ms`.
    pub fn live(&self, time_ms: u64) -> bool {
        self.ended_at_ms.is_none()
            && time_ms < self.terms.ends_at_ms
            && self.paid < self.terms.budget
    }
}

/// Every programme, in creation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programmes {
    pub programmes: Vec<Programme>,
}

/// What the programmes paid one member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncentiveUse {
    /// The month `paid` counts ([`crate::tiers::wib_month`]).
    pub month: u32,
    /// Cashback of that month, by programme.
    pub paid: BTreeMap<u32, Amount>,
    /// The programmes that ever paid the member.
    pub reached: BTreeSet<u32>,
}

/// The programmes (none before the first is created).
pub fn programmes<S: StateRead + ?Sized>(state: &S) -> Programmes {
    match state.get_ref(&StateKey::Incentives) {
        Some(StateValue::Incentives(p)) => p.clone(),
        _ => Programmes::default(),
    }
}

/// `CreateIncentive`, executed by governance at block time `time_ms`.
pub fn create<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    terms: &IncentiveTerms,
    time_ms: u64,
) -> Result<(), Rejection> {
    terms.check_format()?;
    if terms.ends_at_ms <= time_ms {
        return Err(Rejection::PaymentRuleOutOfRange(
            "the programme ends before it starts".into(),
        ));
    }
    let mut all = programmes(state);
    if all.programmes.len() >= PROGRAMMES_MAX {
        return Err(Rejection::TooManyIncentives {
            max: PROGRAMMES_MAX as u64,
        });
    }
    let id = u32::try_from(all.programmes.len()).map_err(|_| Rejection::Overflow)?;
    all.programmes.push(Programme {
        id,
        terms: terms.clone(),
        paid: 0,
        payments: 0,
        members_reached: 0,
        created_at_ms: time_ms,
        ended_at_ms: None,
    });
    state.put(StateKey::Incentives, StateValue::Incentives(all));
    Ok(())
}

/// `EndIncentive`: the programme pays nothing from this block on.
pub fn end<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: u32,
    time_ms: u64,
) -> Result<(), Rejection> {
    let mut all = programmes(state);
    let programme = all
        .programmes
        .iter_mut()
        .find(|p| p.id == id && p.ended_at_ms.is_none())
        .ok_or(Rejection::UnknownIncentive(id))?;
    programme.ended_at_ms = Some(time_ms);
    state.put(StateKey::Incentives, StateValue::Incentives(all));
    Ok(())
}

/// A payment to a merchant, as the programmes see it.
#[derive(Debug, Clone, Copy)]
pub struct Purchase {
    pub payer: PublicKey,
    pub amount: Amount,
    pub cross: bool,
    pub class: MerchantClass,
    pub time_ms: u64,
}

/// Pay the cashback `purchase` earns (rules in the module doc).
pub fn reward<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    purchase: &Purchase,
) -> Result<(), Rejection> {
    let qualifying: Vec<u32> = match state.get_ref(&StateKey::Incentives) {
        Some(StateValue::Incentives(all)) => all
            .programmes
            .iter()
            .filter(|p| p.live(purchase.time_ms) && qualifies(&p.terms, purchase))
            .map(|p| p.id)
            .collect(),
        _ => return Ok(()),
    };
    for id in qualifying {
        // A cashback leg that cannot be made is not paid: undone alone.
        let (result, _) = state.undoable(|state| pay_one(state, id, purchase));
        match result {
            Ok(())
            | Err(
                Rejection::BalanceCapExceeded { .. }
                | Rejection::TierMonthlyIncomingCap { .. }
                | Rejection::NetDebitCapExceeded { .. }
                | Rejection::InsufficientFunds { .. },
            ) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

fn qualifies(terms: &IncentiveTerms, purchase: &Purchase) -> bool {
    (purchase.cross || !terms.cross_only)
        && (terms.classes.is_empty() || terms.classes.contains(&purchase.class))
}

/// Pay programme `id`'s cashback for `purchase` and record it.
fn pay_one<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: u32,
    purchase: &Purchase,
) -> Result<(), Rejection> {
    let month = state.counters().wib_month;
    let key = StateKey::IncentiveUse(purchase.payer);
    let mut usage = match state.get_ref(&key) {
        Some(StateValue::IncentiveUse(u)) => u.clone(),
        _ => IncentiveUse::default(),
    };
    if usage.month != month {
        usage.month = month;
        usage.paid.clear();
    }
    let paid_this_month = usage.paid.get(&id).copied().unwrap_or(0);
    let mut all = programmes(state);
    let programme = all
        .programmes
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or(Rejection::UnknownIncentive(id))?;
    let terms = &programme.terms;
    let earned = u128::from(purchase.amount)
        .checked_mul(u128::from(terms.bps))
        .map(|x| x / 10_000)
        .and_then(|x| Amount::try_from(x).ok())
        .ok_or(Rejection::Overflow)?;
    let fund = legs::balance_of(state, &AccountId::NetworkFund)?;
    let cashback = earned
        .min(terms.member_monthly_cap.saturating_sub(paid_this_month))
        .min(terms.budget.saturating_sub(programme.paid))
        .min(fund);
    if cashback == 0 {
        return Ok(());
    }
    legs::transfer(
        state,
        &AccountId::NetworkFund,
        &AccountId::Member(purchase.payer),
        cashback,
        LegKind::Principal,
    )?;
    programme.paid = programme
        .paid
        .checked_add(cashback)
        .ok_or(Rejection::Overflow)?;
    programme.payments = programme.payments.saturating_add(1);
    if usage.reached.insert(id) {
        programme.members_reached = programme.members_reached.saturating_add(1);
    }
    let after = paid_this_month
        .checked_add(cashback)
        .ok_or(Rejection::Overflow)?;
    usage.paid.insert(id, after);
    state.put(StateKey::Incentives, StateValue::Incentives(all));
    state.put(key, StateValue::IncentiveUse(usage));
    Ok(())
}
