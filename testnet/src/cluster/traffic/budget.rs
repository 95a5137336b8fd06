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
//! A credit is also planned only within the account's monthly incoming
//! room ([`super::incoming`]). Cashback the ledger may pay a payer with a
//! payment (a *bonus* leg) is never a condition of the plan (the ledger
//! does not pay cashback that would break a cap, and the payment stands):
//! its most, `bps × amount` cut to the member's monthly cashback cap, is
//! added to the payer's `high` and incoming when planned, and stays there
//! if the payment applies (whether it was paid is not known), so that no
//! later credit is planned past a cap.
//!
//! Rebalancing, planned by the same rules: a member whose `low` falls under
//! [`Budgets::needs_top_up`]'s mark gets a cash-in at its own cooperative's
//! counter (on-us: no fee, no net debit), and a merchant whose `high`
//! passes half its cap cashes out what it surely has at its own counter.
//! Both are ordinary applied transactions of the load.

use super::exposure::{CoopDebit, CoopExposures};
use super::incoming::{Incoming, Months};
use kopnet_ledger::fees::{FeeCase, FeeKind, FeeParty, FeeRule};
use kopnet_ledger::MerchantClass;

/// A member tops up when its `low` bound falls under this (Rp 1.000.000).
pub const TOP_UP_BELOW: u64 = 1_000_000;
/// A top-up brings a member's `high` bound to about this (Rp 5.000.000).
pub const TOP_UP_TO: u64 = 5_000_000;
/// The least top-up planned (Rp 100.000): a member whose month's incoming
/// room is smaller is not topped up until the month turns.
pub const TOP_UP_MIN: u64 = 100_000;
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
    /// Its incoming money this month (see [`super::incoming`]).
    pub incoming: Incoming,
}

impl Budget {
    /// An account known to hold exactly `balance`.
    pub fn new(balance: u64, cap: u64) -> Budget {
        Budget {
            low: balance,
            high: balance,
            cap,
            rebalancing: false,
            incoming: Incoming::default(),
        }
    }

    /// A member account known to hold exactly `balance`, just minted, of a
    /// tier with `monthly_cap` on its incoming money.
    pub fn member(balance: u64, cap: u64, monthly_cap: Option<u64>) -> Budget {
        Budget {
            incoming: Incoming::new(monthly_cap, balance),
            ..Budget::new(balance, cap)
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
    /// What the ledger may add to an account besides (cashback to the
    /// payer): at most this, maybe nothing.
    pub bonus: Option<Leg>,
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
    /// The months a credit planned now may be counted in (set from the
    /// wall clock before planning; see [`super::incoming`]).
    pub months: Months,
}

impl Budgets {
    /// [`Budgets::plan`], and the cooperative debit with it if there is
    /// one (both reserved, or neither).
    pub fn plan_load(
        &mut self,
        (debit, credit, bonus): (Option<Leg>, Option<Leg>, Option<Leg>),
        coop_debit: Option<CoopDebit>,
    ) -> Option<Reservation> {
        if let Some(d) = coop_debit {
            if !self.exposures.plan(d) {
                return None;
            }
        }
        let Some(mut r) = self.reserve(debit, credit, bonus) else {
            if let Some(d) = coop_debit {
                self.exposures.unsent(d);
            }
            return None;
        };
        r.coop_debit = coop_debit;
        Some(r)
    }

    /// A planned transaction's end: committed in a block at `height`
    /// (applied or refused by the ledger) whose time is `time_ms` (if
    /// read), or refused before any block (`height` None, not applied).
    pub fn landed(
        &mut self,
        r: &Reservation,
        applied: bool,
        height: Option<u64>,
        time_ms: Option<u64>,
    ) {
        self.settle_at(r, applied, time_ms);
        match (r.coop_debit, height) {
            (Some(d), Some(h)) => self.exposures.committed(d, applied, h),
            (Some(d), None) => self.exposures.unsent(d),
            (None, _) => {}
        }
    }

    /// Reserve `debit` and `credit` if both fit; else change nothing.
    pub fn plan(&mut self, debit: Option<Leg>, credit: Option<Leg>) -> Option<Reservation> {
        self.reserve(debit, credit, None)
    }

    /// [`Budgets::plan`] with a `bonus` the ledger may add (never a
    /// condition: counted as the most it can be).
    pub fn reserve(
        &mut self,
        debit: Option<Leg>,
        credit: Option<Leg>,
        bonus: Option<Leg>,
    ) -> Option<Reservation> {
        if let Some(d) = debit {
            let b = self.accounts.get(d.account)?;
            if b.low < d.amount {
                return None;
            }
        }
        if let Some(c) = credit {
            let b = self.accounts.get(c.account)?;
            if b.high.checked_add(c.amount)? > b.cap || c.amount > b.incoming.room(self.months) {
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
            b.incoming.planned(c.amount);
        }
        let bonus = bonus.filter(|b| b.amount > 0);
        if let Some(x) = bonus {
            if let Some(b) = self.accounts.get_mut(x.account) {
                b.high = b.high.saturating_add(x.amount);
                b.incoming.planned(x.amount);
            }
        }
        Some(Reservation {
            debit,
            credit,
            bonus,
            rebalance: None,
            coop_debit: None,
        })
    }

    /// A planned transaction committed: `applied` or refused by the ledger
    /// (in a block whose time is not known).
    pub fn settle(&mut self, r: &Reservation, applied: bool) {
        self.settle_at(r, applied, None);
    }

    /// [`Budgets::settle`] in a block at `time_ms`, if known.
    pub fn settle_at(&mut self, r: &Reservation, applied: bool, time_ms: Option<u64>) {
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
                    b.incoming.applied(c.amount, time_ms);
                } else {
                    b.high = b.high.saturating_sub(c.amount);
                    b.incoming.refused(c.amount);
                }
            }
        }
        if let Some(x) = r.bonus {
            if let Some(b) = self.accounts.get_mut(x.account) {
                // Applied: paid or not, `high` and incoming keep its most.
                if applied {
                    b.incoming.applied(x.amount, time_ms);
                } else {
                    b.high = b.high.saturating_sub(x.amount);
                    b.incoming.refused(x.amount);
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
    /// `low` is under [`TOP_UP_BELOW`] and nothing is rebalancing it; at
    /// most its month's incoming room, and none under [`TOP_UP_MIN`].
    pub fn needs_top_up(&self, account: usize) -> Option<u64> {
        let b = self.accounts.get(account)?;
        if b.rebalancing || b.low >= TOP_UP_BELOW {
            return None;
        }
        let target = TOP_UP_TO.min(b.cap);
        let amount = target
            .checked_sub(b.high)?
            .min(b.incoming.room(self.months));
        (amount >= TOP_UP_MIN).then_some(amount)
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
    use crate::cluster::traffic::incoming::Months;
    use kopnet_ledger::fees::default_fee_rules;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    const MEMBERS: usize = 6;
    const MERCHANTS: usize = 2;
    const MEMBER_CAP: u64 = 10_000_000;
    const MERCHANT_CAP: u64 = 20_000_000;
    /// Members' monthly incoming cap in the random test: binding within it.
    const MEMBER_MONTHLY: u64 = 60_000_000;
    /// 2026-03-15 12:00 WIB (05:00 UTC): every block of the tests' month.
    const MID_MARCH_MS: u64 = 1_773_550_800_000;

    /// Plans payments (with cashback the ledger may or may not pay),
    /// top-ups and cash-outs at random, lets the "ledger" apply or refuse
    /// them in a random order, and checks every real balance and every
    /// member's incoming money of the month after every step.
    #[test]
    fn planned_load_never_overdraws_a_member_or_overfills_a_merchant() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let mut budgets = Budgets {
            months: Months::around(MID_MARCH_MS),
            ..Budgets::default()
        };
        let mut real = Vec::new();
        let mut incoming = Vec::new();
        for i in 0..MEMBERS + MERCHANTS {
            budgets.accounts.push(if i < MEMBERS {
                Budget::member(2_000_000, MEMBER_CAP, Some(MEMBER_MONTHLY))
            } else {
                Budget::new(0, MERCHANT_CAP)
            });
            real.push(if i < MEMBERS { 2_000_000u64 } else { 0 });
            incoming.push(real[i]);
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
                let bonus = Leg::of(payer, amount / 100);
                budgets.plan_load((Some(debit), Some(credit), Some(bonus)), None)
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
                        incoming[c.account] += c.amount;
                        assert!(real[c.account] <= budgets.accounts[c.account].cap);
                        real[c.account] -= c.fees;
                    }
                    // Cashback: some of its most, or none (a cap in the way).
                    if let Some(x) = r.bonus {
                        let paid = rng.gen_range(0..=x.amount);
                        if real[x.account] + paid <= budgets.accounts[x.account].cap {
                            real[x.account] += paid;
                            incoming[x.account] += paid;
                        }
                    }
                }
                budgets.landed(&r, applied, Some(1), Some(MID_MARCH_MS));
                for (i, b) in budgets.accounts.iter().enumerate() {
                    assert!(real[i] <= b.cap, "account {i} over its cap");
                    assert!(
                        b.low <= real[i] && real[i] <= b.high,
                        "account {i} out of bounds"
                    );
                    if i < MEMBERS {
                        assert!(incoming[i] <= MEMBER_MONTHLY, "member {i} past its month");
                    }
                }
            }
        }
        // Once the members' months are used up, they spend what they
        // have and the rest of the draws are not planned.
        assert!(planned > 4_000, "{planned} planned, {refused_plans} not");
        assert!(rebalances > 50, "{rebalances} rebalancing transactions");
        let room: Vec<u64> = (0..MEMBERS)
            .map(|i| budgets.accounts[i].incoming.room(budgets.months))
            .collect();
        assert!(
            room.iter().any(|r| *r < TOP_UP_MIN),
            "no member used up its month: {room:?}"
        );
    }

    #[test]
    fn no_credit_past_the_months_incoming_room_and_cashback_counts_in_it() {
        let months = Months::around(MID_MARCH_MS);
        let mut budgets = Budgets {
            accounts: vec![
                Budget::member(500_000, 20_000_000, Some(40_000_000)),
                Budget::new(90_000_000, 100_000_000),
            ],
            months,
            ..Budgets::default()
        };
        let room = |b: &Budgets| b.accounts[0].incoming.room(months);
        // The opening balance counts: 39.5 million of room.
        assert_eq!(room(&budgets), 39_500_000);
        for amount in [18_000_000, 19_000_000] {
            let credit = budgets
                .plan(Some(Leg::of(1, amount)), Some(Leg::of(0, amount)))
                .unwrap();
            budgets.landed(&credit, true, Some(1), Some(MID_MARCH_MS));
            let spend = budgets.plan(Some(Leg::of(0, amount)), None).unwrap();
            budgets.landed(&spend, true, Some(2), Some(MID_MARCH_MS));
        }
        // 40 - 0.5 - 18 - 19 = 2.5 million, though the balance is 0.5.
        assert_eq!(budgets.accounts[0].low, 500_000);
        assert_eq!(room(&budgets), 2_500_000);
        assert_eq!(
            budgets.plan(Some(Leg::of(1, 2_500_001)), Some(Leg::of(0, 2_500_001))),
            None,
            "past the month's room"
        );
        // A top-up is cut to the room (not to Rp5.000.000 - 0.5).
        assert_eq!(budgets.needs_top_up(0), Some(2_500_000));
        // Cashback of at most Rp1.000 with a payment counts in the room
        // while in flight, and for good once the payment applies.
        let payment = (Some(Leg::of(0, 100_000)), Some(Leg::of(1, 100_000)));
        let with_cashback = (payment.0, payment.1, Some(Leg::of(0, 1_000)));
        let r = budgets.plan_load(with_cashback, None).unwrap();
        assert_eq!(room(&budgets), 2_499_000);
        assert_eq!(budgets.accounts[0].high, 501_000);
        budgets.landed(&r, false, Some(3), Some(MID_MARCH_MS));
        assert_eq!(room(&budgets), 2_500_000, "refused: given back");
        assert_eq!(budgets.accounts[0].high, 500_000);
        let r = budgets.plan_load(with_cashback, None).unwrap();
        budgets.landed(&r, true, Some(4), Some(MID_MARCH_MS));
        assert_eq!(room(&budgets), 2_499_000);
        assert_eq!(
            (budgets.accounts[0].low, budgets.accounts[0].high),
            (400_000, 401_000),
            "paid or not: the bounds hold both"
        );
        // Under Rp100.000 of room: no top-up, and no credit past it.
        let credit = budgets
            .plan(Some(Leg::of(1, 2_450_000)), Some(Leg::of(0, 2_450_000)))
            .unwrap();
        budgets.landed(&credit, true, Some(5), Some(MID_MARCH_MS));
        let spend = budgets.plan(Some(Leg::of(0, 2_500_000)), None).unwrap();
        budgets.landed(&spend, true, Some(6), Some(MID_MARCH_MS));
        assert_eq!(room(&budgets), 49_000);
        assert_eq!(budgets.needs_top_up(0), None, "exhausted for the month");
        assert!(budgets
            .plan(Some(Leg::of(1, 49_001)), Some(Leg::of(0, 49_001)))
            .is_none());
        // The next month has its whole cap but for what is unplaced (the
        // opening balance, counted in every month).
        let april = Months::around(MID_MARCH_MS + 31 * 24 * 3_600_000);
        assert_eq!(budgets.accounts[0].incoming.room(april), 39_500_000);
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
