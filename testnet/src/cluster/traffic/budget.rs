//! Keeping the load valid: the driver's own account of every demo account's
//! balance, from its own submissions and their results, so that it never
//! plans a payment the ledger would refuse for money.
//!
//! Each account has two bounds on its balance once everything in flight
//! has landed: `low` (every planned debit applied, no planned credit) and
//! `high` (every planned credit applied, no planned debit). A debit is
//! planned only if `low` covers it with its fees, a credit only if `high`
//! plus it stays within the account's cap; the plan of a transaction
//! reserves both legs at once (or neither). When the transaction commits,
//! the other bound follows (`applied`) or the reservation is undone
//! (`refused`). A transaction given up as lost keeps its reservations: it
//! may still apply, and both bounds stay true either way. So, with the
//! opening balances and the fee rules right, a member is never planned
//! below zero and an account never above its cap, whatever order the
//! network applies the in-flight transactions in.
//!
//! Rebalancing, planned by the same rules: a member whose `low` falls under
//! [`Budgets::needs_top_up`]'s mark gets a cash-in at its own cooperative's
//! counter (on-us: no fee, no net debit), and a merchant whose `high`
//! passes half its cap cashes out what it surely has at its own counter.
//! Both are ordinary applied transactions of the load.

use super::exposure::{CoopDebit, CoopExposures};
use kopnet_ledger::fees::{FeeCase, FeeKind, FeeParty, FeeRule};
use kopnet_ledger::MerchantClass;

/// A member tops up when its `low` bound falls under this (Rp 1.000.000).
pub const TOP_UP_BELOW: u64 = 1_000_000;
/// A top-up brings a member's `high` bound to about this (Rp 5.000.000).
pub const TOP_UP_TO: u64 = 5_000_000;
/// What a merchant keeps after cashing out (Rp 1.000.000).
pub const MERCHANT_KEEPS: u64 = 1_000_000;

/// One account's bounds and cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub low: u64,
    pub high: u64,
    pub cap: u64,
    /// A top-up or cash-out of this account is in flight.
    pub rebalancing: bool,
}

impl Budget {
    /// An account known to hold exactly `balance`.
    pub fn new(balance: u64, cap: u64) -> Budget {
        Budget {
            low: balance,
            high: balance,
            cap,
            rebalancing: false,
        }
    }
}

/// One leg of a planned transaction: an account and what it moves there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    pub account: usize,
    /// A debit: the principal with the fees the account pays. A credit:
    /// the principal, which the account must have room for whole (the
    /// ledger credits it before charging the payee's fees).
    pub amount: u64,
    /// A credit only: the fees the account pays out of it once credited.
    pub fees: u64,
}

impl Leg {
    /// A leg of `amount` with no fee paid out of it.
    pub fn of(account: usize, amount: u64) -> Leg {
        Leg {
            account,
            amount,
            fees: 0,
        }
    }
}

/// The legs a planned transaction reserved; given back to
/// [`Budgets::settle`] with its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reservation {
    /// Taken from this account (principal and the fees it pays).
    pub debit: Option<Leg>,
    /// Added to this account (principal less the fees it pays).
    pub credit: Option<Leg>,
    /// This is a top-up or cash-out: clears the account's `rebalancing`.
    pub rebalance: Option<usize>,
    /// The cooperative it makes a debtor, and for how much (see
    /// [`super::exposure`]).
    pub coop_debit: Option<CoopDebit>,
}

/// Every demo account's budget, by index into `Traffic::accounts`, and
/// every cooperative's net-debit headroom, by index into `Traffic::coops`.
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    pub accounts: Vec<Budget>,
    pub exposures: CoopExposures,
}

impl Budgets {
    /// [`Budgets::plan`], and the cooperative debit with it if there is
    /// one (both reserved, or neither).
    pub fn plan_load(
        &mut self,
        debit: Option<Leg>,
        credit: Option<Leg>,
        coop_debit: Option<CoopDebit>,
    ) -> Option<Reservation> {
        if let Some(d) = coop_debit {
            if !self.exposures.plan(d) {
                return None;
            }
        }
        let Some(mut r) = self.plan(debit, credit) else {
            if let Some(d) = coop_debit {
                self.exposures.unsent(d);
            }
            return None;
        };
        r.coop_debit = coop_debit;
        Some(r)
    }

    /// A planned transaction's end: committed in a block at `height`
    /// (applied or refused by the ledger), or refused before any block
    /// (`height` None, not applied).
    pub fn landed(&mut self, r: &Reservation, applied: bool, height: Option<u64>) {
        self.settle(r, applied);
        match (r.coop_debit, height) {
            (Some(d), Some(h)) => self.exposures.committed(d, applied, h),
            (Some(d), None) => self.exposures.unsent(d),
            (None, _) => {}
        }
    }

    /// Reserve `debit` and `credit` if both fit; else change nothing.
    pub fn plan(&mut self, debit: Option<Leg>, credit: Option<Leg>) -> Option<Reservation> {
        if let Some(d) = debit {
            let b = self.accounts.get(d.account)?;
            if b.low < d.amount {
                return None;
            }
        }
        if let Some(c) = credit {
            let b = self.accounts.get(c.account)?;
            if b.high.checked_add(c.amount)? > b.cap {
                return None;
            }
        }
        if let (Some(d), Some(c)) = (debit, credit) {
            if d.account == c.account {
                return None;
            }
        }
        if let Some(d) = debit {
            let b = self.accounts.get_mut(d.account)?;
            b.low -= d.amount;
        }
        if let Some(c) = credit {
            let b = self.accounts.get_mut(c.account)?;
            b.high += c.amount;
        }
        Some(Reservation {
            debit,
            credit,
            rebalance: None,
            coop_debit: None,
        })
    }

    /// A planned transaction committed: `applied` or refused by the ledger.
    pub fn settle(&mut self, r: &Reservation, applied: bool) {
        if let Some(d) = r.debit {
            if let Some(b) = self.accounts.get_mut(d.account) {
                if applied {
                    b.high = b.high.saturating_sub(d.amount);
                } else {
                    b.low = b.low.saturating_add(d.amount);
                }
            }
        }
        if let Some(c) = r.credit {
            if let Some(b) = self.accounts.get_mut(c.account) {
                if applied {
                    let net = c.amount.saturating_sub(c.fees);
                    b.low = b.low.saturating_add(net);
                    b.high = b.high.saturating_sub(c.fees);
                } else {
                    b.high = b.high.saturating_sub(c.amount);
                }
            }
        }
        self.rebalanced(r);
    }

    /// A planned transaction was given up as lost (it may still apply):
    /// its reservations stay, only its rebalancing mark is cleared.
    pub fn lost(&mut self, r: &Reservation) {
        self.rebalanced(r);
    }

    fn rebalanced(&mut self, r: &Reservation) {
        if let Some(b) = r.rebalance.and_then(|i| self.accounts.get_mut(i)) {
            b.rebalancing = false;
        }
    }

    /// The top-up a member needs now (a credit of it), if any: when its
    /// `low` is under [`TOP_UP_BELOW`] and nothing is rebalancing it.
    pub fn needs_top_up(&self, account: usize) -> Option<u64> {
        let b = self.accounts.get(account)?;
        if b.rebalancing || b.low >= TOP_UP_BELOW {
            return None;
        }
        let target = TOP_UP_TO.min(b.cap);
        let amount = target.checked_sub(b.high)?;
        (amount > 0).then_some(amount)
    }

    /// The cash-out a merchant needs now (a debit of it), if any: when its
    /// `high` passes half its cap, all it surely has above [`MERCHANT_KEEPS`],
    /// once that is at least a quarter of its cap (until then the credits
    /// in flight land first).
    pub fn needs_cash_out(&self, account: usize) -> Option<u64> {
        let b = self.accounts.get(account)?;
        if b.rebalancing || b.high <= b.cap / 2 {
            return None;
        }
        let amount = b.low.checked_sub(MERCHANT_KEEPS)?;
        (amount > 0 && amount >= b.cap / 4).then_some(amount)
    }

    /// Plan a rebalancing transaction's leg and mark the account.
    pub fn plan_rebalance(
        &mut self,
        debit: Option<Leg>,
        credit: Option<Leg>,
    ) -> Option<Reservation> {
        let account = debit.or(credit)?.account;
        let mut r = self.plan(debit, credit)?;
        if let Some(b) = self.accounts.get_mut(account) {
            b.rebalancing = true;
        }
        r.rebalance = Some(account);
        Some(r)
    }
}

/// The fees of one transaction under `rules`: (paid by the payer, paid by
/// the payee), as the ledger charges them (`ledger/src/fees.rs`); None on
/// overflow. `class` is the merchant's, for payments to merchants.
pub fn fees(
    rules: &[FeeRule],
    kind: FeeKind,
    cross: bool,
    class: Option<MerchantClass>,
    amount: u64,
) -> Option<(u64, u64)> {
    let (mut payer, mut payee) = (0u64, 0u64);
    let case = FeeCase {
        kind,
        cross,
        class,
        amount,
    };
    for rule in rules.iter().filter(|r| r.applies(&case)) {
        let fee = rule.fee(amount)?;
        match rule.from {
            FeeParty::Payer => payer = payer.checked_add(fee)?,
            FeeParty::Payee => payee = payee.checked_add(fee)?,
            _ => {}
        }
    }
    Some((payer, payee))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::fees::default_fee_rules;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    const MEMBERS: usize = 6;
    const MERCHANTS: usize = 2;
    const MEMBER_CAP: u64 = 10_000_000;
    const MERCHANT_CAP: u64 = 20_000_000;

    /// Plans payments, top-ups and cash-outs at random, lets the "ledger"
    /// apply or refuse them in a random order, and checks every real
    /// balance after every step.
    #[test]
    fn planned_load_never_overdraws_a_member_or_overfills_a_merchant() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let mut budgets = Budgets::default();
        let mut real = Vec::new();
        for i in 0..MEMBERS + MERCHANTS {
            let (balance, cap) = if i < MEMBERS {
                (2_000_000, MEMBER_CAP)
            } else {
                (0, MERCHANT_CAP)
            };
            budgets.accounts.push(Budget::new(balance, cap));
            real.push(balance);
        }
        let rules = default_fee_rules();
        let mut in_flight: VecDeque<(Reservation, u64, u64)> = VecDeque::new();
        let (mut planned, mut refused_plans, mut rebalances) = (0, 0, 0);
        for _ in 0..20_000 {
            // Plan one.
            let payer = rng.gen_range(0..MEMBERS);
            let merchant = MEMBERS + rng.gen_range(0..MERCHANTS);
            let plan = if let Some(amount) = budgets.needs_cash_out(merchant) {
                let debit = Leg::of(merchant, amount);
                budgets.plan_rebalance(Some(debit), None)
            } else if let Some(amount) = budgets.needs_top_up(payer) {
                let credit = Leg::of(payer, amount);
                budgets.plan_rebalance(None, Some(credit))
            } else {
                let amount = rng.gen_range(1..=300) * 500;
                let (by_payer, by_payee) = fees(
                    &rules,
                    FeeKind::PaymentToMerchant,
                    true,
                    Some(MerchantClass::Small),
                    amount,
                )
                .unwrap();
                let debit = Leg::of(payer, amount + by_payer);
                let credit = Leg {
                    account: merchant,
                    amount,
                    fees: by_payee,
                };
                budgets.plan(Some(debit), Some(credit))
            };
            match plan {
                Some(r) => {
                    planned += 1;
                    rebalances += u32::from(r.rebalance.is_some());
                    // Sometimes the ledger refuses it for another reason.
                    let refused = rng.gen_bool(0.05);
                    in_flight.push_back((r, u64::from(refused), 0));
                }
                None => refused_plans += 1,
            }
            // Land some, in any order.
            while !in_flight.is_empty() && rng.gen_bool(0.6) {
                let at = rng.gen_range(0..in_flight.len());
                let (r, refused, _) = in_flight.remove(at).unwrap();
                let applied = refused == 0;
                if applied {
                    if let Some(d) = r.debit {
                        real[d.account] = real[d.account].checked_sub(d.amount).expect("overdrawn");
                    }
                    if let Some(c) = r.credit {
                        // Credited whole, then the fees go out.
                        real[c.account] += c.amount;
                        assert!(real[c.account] <= budgets.accounts[c.account].cap);
                        real[c.account] -= c.fees;
                    }
                }
                budgets.settle(&r, applied);
                for (i, b) in budgets.accounts.iter().enumerate() {
                    assert!(real[i] <= b.cap, "account {i} over its cap");
                    assert!(
                        b.low <= real[i] && real[i] <= b.high,
                        "account {i} out of bounds"
                    );
                }
            }
        }
        assert!(planned > 15_000, "{planned} planned, {refused_plans} not");
        assert!(rebalances > 50, "{rebalances} rebalancing transactions");
    }

    #[test]
    fn a_member_is_never_planned_below_zero() {
        let mut budgets = Budgets {
            accounts: vec![Budget::new(1_000, 10_000), Budget::new(0, 10_000)],
            ..Budgets::default()
        };
        let pay = |n| Some(Leg::of(0, n));
        let to = |n| Some(Leg::of(1, n));
        let first = budgets.plan(pay(600), to(600)).unwrap();
        assert_eq!(
            budgets.plan(pay(600), to(600)),
            None,
            "only 400 left planned"
        );
        assert_eq!(budgets.accounts[0].low, 400);
        budgets.settle(&first, false);
        assert_eq!(
            budgets.accounts[0].low, 1_000,
            "a refusal gives the money back"
        );
        assert_eq!(budgets.accounts[1].high, 0);
        assert!(budgets.plan(pay(1_000), to(1_000)).is_some());
        assert_eq!(budgets.plan(pay(1), to(1)), None);
    }

    #[test]
    fn a_merchant_is_never_planned_above_its_cap() {
        let mut budgets = Budgets {
            accounts: vec![Budget::new(50_000, 100_000), Budget::new(9_000, 10_000)],
            ..Budgets::default()
        };
        let pay = |n| Some(Leg::of(0, n));
        let to = |n| Some(Leg::of(1, n));
        assert!(budgets.plan(pay(600), to(600)).is_some());
        assert_eq!(
            budgets.plan(pay(600), to(600)),
            None,
            "9,600 + 600 > 10,000"
        );
        assert_eq!(
            budgets.accounts[0].low, 49_400,
            "the refused plan reserved nothing"
        );
        // Past half its cap, the merchant cashes out what it surely has.
        let mut merchant = Budgets {
            accounts: vec![Budget::new(60_000_000, 100_000_000)],
            ..Budgets::default()
        };
        let amount = merchant.needs_cash_out(0).unwrap();
        assert_eq!(amount, 60_000_000 - MERCHANT_KEEPS);
        let r = merchant
            .plan_rebalance(Some(Leg::of(0, amount)), None)
            .unwrap();
        assert_eq!(merchant.needs_cash_out(0), None, "one at a time");
        merchant.settle(&r, true);
        assert_eq!(
            merchant.accounts[0],
            Budget::new(MERCHANT_KEEPS, 100_000_000)
        );
    }

    #[test]
    fn fees_follow_the_default_rules() {
        let rules = default_fee_rules();
        let small = Some(MerchantClass::Small);
        // A small merchant pays 0.3 + 0.3 + 0.1 %, across cooperatives and
        // on-us alike.
        assert_eq!(
            fees(&rules, FeeKind::PaymentToMerchant, true, small, 100_000),
            Some((0, 700))
        );
        assert_eq!(
            fees(&rules, FeeKind::PaymentToMerchant, false, small, 100_000),
            Some((0, 700))
        );
        // A micro merchant pays nothing up to Rp 500.000.
        let micro = Some(MerchantClass::Micro);
        assert_eq!(
            fees(&rules, FeeKind::PaymentToMerchant, true, micro, 100_000),
            Some((0, 0))
        );
        assert_eq!(
            fees(&rules, FeeKind::CashOut, true, None, 100_000),
            Some((3_500, 0))
        );
        assert_eq!(
            fees(&rules, FeeKind::CashIn, true, None, 100_000),
            Some((1_000, 0))
        );
        assert_eq!(
            fees(&rules, FeeKind::CashIn, false, None, 100_000),
            Some((0, 0))
        );
    }
}
