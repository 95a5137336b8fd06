//! What to send next: the payment of a committed request to pay whose
//! payer is free ([`super::requests`]), else a kind drawn from the
//! [`Mix`](super::Mix), the accounts and cooperatives it involves, an
//! amount, and the transaction signed by the signer whose turn it is,
//! unless that signer is busy.

use super::budget::{fees, Leg, Reservation};
use super::exposure::CoopDebit;
use super::incoming::{wall_clock_ms, Months};
use super::requests::{PayLater, REQUEST_EXPIRES_AFTER_MS};
use super::signer::SignerSlot;
use super::Traffic;
use crate::cluster::mix::LoadKind;
use kopnet_ledger::fees::FeeKind;
use kopnet_ledger::{Action, MerchantClass, Transaction};
use kopnet_node::api::client::Client;
use rand::rngs::StdRng;
use rand::Rng;

/// Most unconfirmed transactions per member (a person pays one at a time).
const MEMBER_IN_FLIGHT_MAX: u32 = 1;
/// Most load transactions of one cooperative in flight (below the node's
/// per-signer mempool window of 256, so none is refused as future_nonce).
pub(super) const COOP_IN_FLIGHT_MAX: u32 = 128;
/// Amounts are whole multiples of this many rupiah.
const AMOUNT_STEP: u64 = 500;

/// A signed transaction ready to send, and whose slot it holds.
pub(super) struct Prepared {
    pub tx: Transaction,
    pub node: Client,
    pub slot: SignerSlot,
    pub kind: &'static str,
    /// The merchant's class, for a payment to a merchant.
    pub class: Option<MerchantClass>,
    /// A request to pay: its payment, sent once it commits.
    pub then: Option<PayLater>,
    /// What it reserved of its accounts' budgets.
    pub reservation: Reservation,
}

/// A transaction drawn but not yet planned nor signed.
struct Draft {
    slot: SignerSlot,
    action: Action,
    debit: Option<Leg>,
    credit: Option<Leg>,
    /// Cashback the ledger may pay the payer with it.
    bonus: Option<Leg>,
    /// A top-up or cash-out that keeps the load valid.
    rebalance: bool,
    /// The cooperative it makes a debtor (see [`super::exposure`]).
    coop_debit: Option<CoopDebit>,
    kind: &'static str,
    class: Option<MerchantClass>,
    then: Option<PayLater>,
}

impl Draft {
    /// This draft with `other`'s budget legs.
    fn with_legs(self, other: &Draft) -> Draft {
        Draft {
            debit: other.debit,
            credit: other.credit,
            bonus: other.bonus,
            coop_debit: other.coop_debit,
            ..self
        }
    }

    /// A draft of `kind` signed by `slot`, moving nothing yet.
    fn new(slot: SignerSlot, action: Action, kind: &'static str) -> Draft {
        Draft {
            slot,
            action,
            debit: None,
            credit: None,
            bonus: None,
            rebalance: false,
            coop_debit: None,
            kind,
            class: None,
            then: None,
        }
    }
}

/// The cooperatives a draw involves: `a` pays (by the mix's cooperative
/// weights), `b` is another one (uniform); the taxi and consumer
/// cooperatives of the story, where the city has them.
struct Parties {
    a: usize,
    b: usize,
    taxi: Option<usize>,
    consumer: Option<usize>,
}

impl Traffic {
    /// Choose and sign the next transaction, or None if the chosen signer
    /// is busy or the budgets (see [`super::budget`]) do not allow it. A
    /// payment whose payer is running dry or whose merchant is filling up
    /// gives way to that account's top-up or cash-out.
    pub(super) fn prepare(&self) -> Option<Prepared> {
        if let Some(pay) = self.prepare_pending() {
            return Some(pay);
        }
        let mut rng = self.rng.lock().ok()?;
        let kind = self.mix.pick_kind(&mut *rng)?;
        let parties = self.pick_parties(&mut rng)?;
        let draft = self.draw(&mut rng, kind, &parties)?;
        drop(rng);
        let draft = self.rebalance_first(&draft).unwrap_or(draft);
        let cell = self.signer_cell(draft.slot)?;
        let node = self.node_of(draft.slot)?.clone();
        let mut signer = cell.lock().ok()?;
        let in_flight_max = match draft.slot {
            SignerSlot::Account(_) => MEMBER_IN_FLIGHT_MAX,
            SignerSlot::Coop(_) => COOP_IN_FLIGHT_MAX,
        };
        if signer.in_flight >= in_flight_max {
            return None;
        }
        let reservation = {
            let mut budgets = self.budgets.lock().ok()?;
            budgets.months = Months::now();
            match draft.rebalance {
                true => budgets.plan_rebalance(draft.debit, draft.credit)?,
                false => {
                    budgets.plan_load((draft.debit, draft.credit, draft.bonus), draft.coop_debit)?
                }
            }
        };
        let Some(tx) = self.sign_with(&mut signer, draft.action) else {
            if let Ok(mut budgets) = self.budgets.lock() {
                budgets.landed(&reservation, false, None, None);
            }
            return None;
        };
        Some(Prepared {
            tx,
            node,
            slot: draft.slot,
            kind: draft.kind,
            class: draft.class,
            then: draft.then,
            reservation,
        })
    }

    /// The top-up of a payment's payer or the cash-out of its payee, if
    /// either needs one now (the payee first: a full merchant refuses
    /// every payment).
    fn rebalance_first(&self, draft: &Draft) -> Option<Draft> {
        let budgets = self.budgets.lock().ok()?;
        let merchant = |a: usize| self.homes.get(a).is_some_and(|h| h.1);
        if let Some(payee) = draft.credit.map(|c| c.account).filter(|&a| merchant(a)) {
            if let Some(amount) = budgets.needs_cash_out(payee) {
                let home = self.homes.get(payee)?.0;
                let action = Action::CashOut {
                    agent: self.coops.get(home)?.id.clone(),
                    amount,
                };
                return Some(Draft {
                    debit: Some(Leg::of(payee, amount)),
                    rebalance: true,
                    ..Draft::new(SignerSlot::Account(payee), action, "merchant_cash_out")
                });
            }
        }
        // Members are topped up; a merchant paying (a refund) is not.
        let payer = draft.debit.map(|d| d.account).filter(|&a| !merchant(a))?;
        let amount = budgets.needs_top_up(payer)?;
        let home = self.homes.get(payer)?.0;
        let coop = self.coops.get(home)?;
        let action = Action::CashIn {
            agent: coop.id.clone(),
            member: self.accounts.get(payer)?.0,
            amount,
        };
        Some(Draft {
            credit: Some(Leg::of(payer, amount)),
            rebalance: true,
            ..Draft::new(SignerSlot::Coop(home), action, "member_top_up")
        })
    }

    fn pick_parties(&self, rng: &mut StdRng) -> Option<Parties> {
        let n = self.coops.len();
        let a = self.mix.pick_coop(rng, &self.story.ids)?;
        let mut b = rng.gen_range(0..n);
        if n > 1 && b == a {
            b = (a + 1 + rng.gen_range(0..n - 1)) % n;
        }
        Some(Parties {
            a,
            b,
            taxi: self.story.taxi,
            consumer: self.story.consumer,
        })
    }

    /// The signer, action and budget legs of one transaction of `kind`, or
    /// None if a list it draws from is empty (or a transfer would go to the
    /// payer).
    fn draw(&self, rng: &mut StdRng, kind: LoadKind, parties: &Parties) -> Option<Draft> {
        let Parties { a, b, .. } = *parties;
        let (coop_a, coop_b) = (self.coops.get(a)?, self.coops.get(b)?);
        let label = kind.label();
        match kind {
            LoadKind::CrossCoopPayment => self.payment(
                rng,
                (&coop_a.members, &coop_b.merchants),
                (5_000, 150_000),
                ("belanja", label),
            ),
            LoadKind::OnUsPayment => self.payment(
                rng,
                (&coop_a.members, &coop_a.merchants),
                (5_000, 100_000),
                ("warung", label),
            ),
            LoadKind::MemberTransfer => self.payment(
                rng,
                (&coop_a.members, &coop_b.members),
                (10_000, 200_000),
                ("kirim", label),
            ),
            LoadKind::TaxiAtConsumerCoop => {
                let taxi = self.coops.get(parties.taxi.unwrap_or(a))?;
                let consumer = self.coops.get(parties.consumer.unwrap_or(b))?;
                self.payment(
                    rng,
                    (&taxi.members, &consumer.merchants),
                    (20_000, 250_000),
                    ("sembako", label),
                )
            }
            LoadKind::CashIn => {
                let member = pick(rng, &coop_b.members)?;
                let amount = pick_amount(rng, 100_000, 1_000_000);
                let cross = self.homes.get(member)?.0 != a;
                let (by_member, _) = fees(&self.fee_rules, FeeKind::CashIn, cross, None, amount)?;
                let action = Action::CashIn {
                    agent: coop_a.id.clone(),
                    member: self.accounts.get(member)?.0,
                    amount,
                };
                Some(Draft {
                    credit: Some(Leg {
                        account: member,
                        amount,
                        fees: by_member,
                    }),
                    coop_debit: cross.then_some(CoopDebit { coop: a, amount }),
                    ..Draft::new(SignerSlot::Coop(a), action, label)
                })
            }
            LoadKind::CashOut => {
                let member = pick(rng, &coop_a.members)?;
                let amount = pick_amount(rng, 20_000, 200_000);
                let cross = self.homes.get(member)?.0 != b;
                let (by_member, _) = fees(&self.fee_rules, FeeKind::CashOut, cross, None, amount)?;
                let action = Action::CashOut {
                    agent: coop_b.id.clone(),
                    amount,
                };
                Some(Draft {
                    debit: Some(Leg::of(member, amount.checked_add(by_member)?)),
                    coop_debit: cross.then_some(CoopDebit {
                        coop: self.homes.get(member)?.0,
                        amount: amount.checked_add(by_member)?,
                    }),
                    ..Draft::new(SignerSlot::Account(member), action, label)
                })
            }
            LoadKind::RequestToPay => {
                self.request_to_pay(rng, (&coop_a.members, &coop_b.merchants))
            }
            LoadKind::Refund => self.refund(rng),
        }
    }

    /// The newest remembered payment to a micro merchant, refunded in part
    /// or whole (see [`super::refunds`]); None if there is none.
    fn refund(&self, rng: &mut StdRng) -> Option<Draft> {
        let payment = self.recent_payments.lock().ok()?.pop_back()?;
        let amount = rng.gen_range(1..=(payment.amount / AMOUNT_STEP).max(1)) * AMOUNT_STEP;
        let amount = amount.min(payment.amount);
        let homes = (
            self.homes.get(payment.payer)?.0,
            self.homes.get(payment.merchant)?.0,
        );
        let (debit, credit, coop_debit) = payment.refund_legs(amount, homes);
        let action = Action::Refund {
            payment: payment.hash,
            amount,
            memo: "retur".into(),
        };
        Some(Draft {
            debit: Some(debit),
            credit: Some(credit),
            coop_debit,
            ..Draft::new(
                SignerSlot::Account(payment.merchant),
                action,
                LoadKind::Refund.label(),
            )
        })
    }

    /// A merchant of `to` requests a payment from a member of `from`; the
    /// payment's legs are planned now (see [`super::requests`]).
    fn request_to_pay(&self, rng: &mut StdRng, (from, to): (&[usize], &[usize])) -> Option<Draft> {
        let pay = self.payment(
            rng,
            (from, to),
            (10_000, 200_000),
            ("tagihan", "request_paid"),
        )?;
        let Action::Payment {
            to: requester,
            amount,
            ..
        } = pay.action
        else {
            return None;
        };
        let merchant = pay.credit?.account;
        let payer = pay.debit?.account;
        let now_ms = wall_clock_ms();
        let id = rng.gen();
        let action = Action::RequestPayment {
            id,
            payer: Some(self.accounts.get(payer)?.0),
            amount,
            reference: "tagihan".into(),
            expires_at_ms: now_ms.checked_add(REQUEST_EXPIRES_AFTER_MS)?,
        };
        Some(Draft {
            then: Some(PayLater {
                payer,
                requester,
                id,
                amount,
                class: pay.class,
            }),
            class: None,
            ..Draft::new(
                SignerSlot::Account(merchant),
                action,
                LoadKind::RequestToPay.label(),
            )
            .with_legs(&pay)
        })
    }

    /// A payment from one of `from` to one of `to`, between `low` and `high`
    /// rupiah; None if either list is empty or both picks are the same account.
    fn payment(
        &self,
        rng: &mut StdRng,
        (from, to): (&[usize], &[usize]),
        (low, high): (u64, u64),
        (memo, kind): (&str, &'static str),
    ) -> Option<Draft> {
        let payer = pick(rng, from)?;
        let payee = pick(rng, to)?;
        if payer == payee {
            return None;
        }
        let amount = pick_amount(rng, low, high);
        let (payer_home, _) = *self.homes.get(payer)?;
        let (payee_home, merchant) = *self.homes.get(payee)?;
        let fee_kind = match merchant {
            true => FeeKind::PaymentToMerchant,
            false => FeeKind::PaymentToMember,
        };
        let class = match merchant {
            true => Some(self.classes.get(payee).copied().flatten()?),
            false => None,
        };
        let cross = payer_home != payee_home;
        let (by_payer, by_payee) = fees(&self.fee_rules, fee_kind, cross, class, amount)?;
        let cashback = match (merchant, self.cashback) {
            (true, Some(terms)) => terms.most(amount, cross),
            _ => 0,
        };
        let action = Action::Payment {
            to: self.accounts.get(payee)?.0,
            amount,
            memo: memo.into(),
            idempotency_id: rng.gen(),
        };
        Some(Draft {
            debit: Some(Leg::of(payer, amount.checked_add(by_payer)?)),
            credit: Some(Leg {
                account: payee,
                amount,
                fees: by_payee,
            }),
            bonus: (cashback > 0).then_some(Leg::of(payer, cashback)),
            coop_debit: cross.then_some(CoopDebit {
                coop: payer_home,
                amount: amount.checked_add(by_payer)?,
            }),
            class,
            ..Draft::new(SignerSlot::Account(payer), action, kind)
        })
    }
}

/// One of `list`, uniformly; None if it is empty.
fn pick(rng: &mut StdRng, list: &[usize]) -> Option<usize> {
    list.get(rng.gen_range(0..list.len().max(1))).copied()
}

/// An amount between `low` and `high`, a whole multiple of [`AMOUNT_STEP`].
fn pick_amount(rng: &mut StdRng, low: u64, high: u64) -> u64 {
    rng.gen_range(low / AMOUNT_STEP..=high / AMOUNT_STEP) * AMOUNT_STEP
}
