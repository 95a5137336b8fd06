//! What to send next: a kind drawn from the [`Mix`](super::Mix), the
//! accounts and cooperatives it involves, an amount, and the transaction
//! signed by the signer whose turn it is, unless that signer is busy.

use super::budget::{fees, Leg, Reservation};
use super::exposure::CoopDebit;
use super::signer::SignerSlot;
use super::Traffic;
use crate::cluster::mix::LoadKind;
use kopnet_ledger::fees::FeeKind;
use kopnet_ledger::{Action, Transaction};
use kopnet_node::api::client::Client;
use rand::rngs::StdRng;
use rand::Rng;

/// Most unconfirmed transactions per member (a person pays one at a time).
const MEMBER_IN_FLIGHT_MAX: u32 = 1;
/// Most load transactions of one cooperative in flight (below the node's
/// per-signer mempool window of 256, so none is refused as future_nonce).
const COOP_IN_FLIGHT_MAX: u32 = 128;
/// Amounts are whole multiples of this many rupiah.
const AMOUNT_STEP: u64 = 500;

/// A signed transaction ready to send, and whose slot it holds.
pub(super) struct Prepared {
    pub tx: Transaction,
    pub node: Client,
    pub slot: SignerSlot,
    pub kind: &'static str,
    /// What it reserved of its accounts' budgets.
    pub reservation: Reservation,
}

/// A transaction drawn but not yet planned nor signed.
struct Draft {
    slot: SignerSlot,
    action: Action,
    debit: Option<Leg>,
    credit: Option<Leg>,
    /// A top-up or cash-out that keeps the load valid.
    rebalance: bool,
    /// The cooperative it makes a debtor (see [`super::exposure`]).
    coop_debit: Option<CoopDebit>,
    kind: &'static str,
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
            match draft.rebalance {
                true => budgets.plan_rebalance(draft.debit, draft.credit)?,
                false => budgets.plan_load(draft.debit, draft.credit, draft.coop_debit)?,
            }
        };
        let Some(tx) = self.sign_with(&mut signer, draft.action) else {
            if let Ok(mut budgets) = self.budgets.lock() {
                budgets.landed(&reservation, false, None);
            }
            return None;
        };
        Some(Prepared {
            tx,
            node,
            slot: draft.slot,
            kind: draft.kind,
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
                    slot: SignerSlot::Account(payee),
                    action,
                    debit: Some(Leg::of(payee, amount)),
                    credit: None,
                    rebalance: true,
                    coop_debit: None,
                    kind: "merchant_cash_out",
                });
            }
        }
        let payer = draft.debit.map(|d| d.account)?;
        let amount = budgets.needs_top_up(payer)?;
        let home = self.homes.get(payer)?.0;
        let coop = self.coops.get(home)?;
        let action = Action::CashIn {
            agent: coop.id.clone(),
            member: self.accounts.get(payer)?.0,
            amount,
        };
        Some(Draft {
            slot: SignerSlot::Coop(home),
            action,
            debit: None,
            credit: Some(Leg::of(payer, amount)),
            rebalance: true,
            coop_debit: None,
            kind: "member_top_up",
        })
    }

    fn pick_parties(&self, rng: &mut StdRng) -> Option<Parties> {
        let n = self.coops.len();
        let ids: Vec<&str> = self.coops.iter().map(|c| c.id.as_str()).collect();
        let a = self.mix.pick_coop(rng, &ids)?;
        let mut b = rng.gen_range(0..n);
        if n > 1 && b == a {
            b = (a + 1 + rng.gen_range(0..n - 1)) % n;
        }
        let position = |id: &str| self.coops.iter().position(|c| c.id.as_str() == id);
        Some(Parties {
            a,
            b,
            taxi: position("taksi-bersama"),
            consumer: position("konsumen-rukun"),
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
                    slot: SignerSlot::Coop(a),
                    action,
                    debit: None,
                    credit: Some(Leg {
                        account: member,
                        amount,
                        fees: by_member,
                    }),
                    rebalance: false,
                    coop_debit: cross.then_some(CoopDebit { coop: a, amount }),
                    kind: label,
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
                    slot: SignerSlot::Account(member),
                    action,
                    debit: Some(Leg::of(member, amount.checked_add(by_member)?)),
                    credit: None,
                    rebalance: false,
                    coop_debit: cross.then_some(CoopDebit {
                        coop: self.homes.get(member)?.0,
                        amount: amount.checked_add(by_member)?,
                    }),
                    kind: label,
                })
            }
        }
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
        // Traffic registers merchants without a class (small).
        let class = merchant.then_some(kopnet_ledger::MerchantClass::UNSPECIFIED);
        let (by_payer, by_payee) = fees(
            &self.fee_rules,
            fee_kind,
            payer_home != payee_home,
            class,
            amount,
        )?;
        let action = Action::Payment {
            to: self.accounts.get(payee)?.0,
            amount,
            memo: memo.into(),
            idempotency_id: rng.gen(),
        };
        Some(Draft {
            slot: SignerSlot::Account(payer),
            action,
            debit: Some(Leg::of(payer, amount.checked_add(by_payer)?)),
            credit: Some(Leg {
                account: payee,
                amount,
                fees: by_payee,
            }),
            rebalance: false,
            coop_debit: (payer_home != payee_home).then_some(CoopDebit {
                coop: payer_home,
                amount: amount.checked_add(by_payer)?,
            }),
            kind,
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
