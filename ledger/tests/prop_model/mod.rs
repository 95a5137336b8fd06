//! The reference model for the property tests: random operations, who signs
//! them, and the money rules written as plainly as possible (no overlays, no
//! encoding, no storage), so that the ledger is checked against an
//! independent statement of what should happen.
#![allow(dead_code)]

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

pub const MEMBERS: usize = 8;
pub const COOPS: usize = 5;
/// Keys that are never registered.
pub const UNKNOWN_KEYS: usize = 2;
pub const NETWORK: usize = COOPS;
pub const NDC: u64 = 400_000;
/// The network participant's net debit cap (the genesis default).
pub const NETWORK_NDC: u64 = kopnet_ledger::genesis::NETWORK_NDC_DEFAULT;
/// The tiers' balance caps and monthly incoming caps (the defaults).
pub const CAP_BASIC: u64 = 2_000_000;
pub const CAP_MEMBER: u64 = 20_000_000;
pub const CAP_MERCHANT: u64 = 100_000_000;
/// The monthly incoming caps the property test's genesis sets (lower than
/// the defaults, so that random cases reach them). Every block of a case
/// falls in one calendar month (block times start at the epoch and a case
/// spans hours), so the model counts one month.
pub const MONTHLY_BASIC: u64 = 3_000_000;
pub const MONTHLY_MEMBER: u64 = 12_000_000;
pub const QR_PAYMENT_CAP: u64 = 10_000_000;
/// The member registered at the basic tier: pays merchants only, takes no
/// cash out.
pub const BASIC_MEMBER: usize = 5;
/// The micro merchant (the other, 7, is small: registered without a class).
pub const MICRO_MERCHANT: usize = 6;

pub fn member_home(m: usize) -> usize {
    m % COOPS
}
pub fn is_merchant(m: usize) -> bool {
    m >= 6
}
pub fn member_name(m: usize) -> String {
    format!("member-{m}")
}
pub fn unknown_name(u: usize) -> String {
    format!("stranger-{u}")
}

/// Who signs an operation: the signer the operation is meant for, or
/// someone else (a random cooperative, a random member, an unknown key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Proper,
    Coop(usize),
    Member(usize),
    Unknown(usize),
}

/// A signer that exists in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    Coop(usize),
    Member(usize),
}

#[derive(Debug, Clone)]
pub enum Op {
    Mint {
        member: usize,
        amount: u64,
    },
    Burn {
        member: usize,
        amount: u64,
    },
    Pay {
        from: usize,
        to: usize,
        amount: u64,
        idem: u8,
    },
    /// A cross-cooperative payment resolved when signed, from the committed
    /// state: from the richest member of a cooperative that is owed money in
    /// an unsettled window (any cooperative if none is), of that
    /// cooperative's room to owe counted as if unsettled credits were
    /// headroom, plus `delta`. Probes the cap's exact edge and the gap
    /// between counting only unsettled debits and netting credits in.
    PayNearCap {
        pick: usize,
        to: usize,
        delta: i8,
        idem: u8,
    },
    CashIn {
        agent: usize,
        member: usize,
        amount: u64,
    },
    CashOut {
        member: usize,
        agent: usize,
        amount: u64,
    },
    /// A cooperative asks to close the open window (offset 0) or a later
    /// one: always refused, windows close on the schedule.
    Close {
        by: usize,
        window_offset: u8,
    },
    /// `Close` with its window number resolved when signed.
    CloseAt {
        by: usize,
        window: u64,
    },
    Ack {
        coop: usize,
        window: u8,
    },
    /// `requester` asks `payer` for `amount` (request id `id`).
    Request {
        requester: usize,
        payer: usize,
        amount: u64,
        id: u8,
    },
    /// `payer` pays `requester`'s request `id`, naming `amount`.
    PayRequest {
        payer: usize,
        requester: usize,
        id: u8,
        amount: u64,
    },
    /// A refund drawn: which earlier payment to a merchant (`pick`, modulo
    /// how many there are) and how much (`how`: resolved when signed).
    RefundDraw {
        pick: usize,
        how: u8,
        by_coop: bool,
    },
    /// A refund of the model's merchant payment number `payment`
    /// (`usize::MAX`: a hash no payment has), signed `by`.
    Refund {
        payment: usize,
        amount: u64,
        by: Signer,
    },
    /// A payout line: `coop` pays `member` from its own funds.
    Payout {
        coop: usize,
        member: usize,
        amount: u64,
        idem: u8,
    },
}

impl Op {
    /// The signer this operation is meant for.
    pub fn proper_signer(&self) -> Signer {
        match *self {
            Op::Mint { member, .. } | Op::Burn { member, .. } => Signer::Coop(member_home(member)),
            Op::Pay { from, .. } => Signer::Member(from),
            Op::PayNearCap { .. } => unreachable!("resolved before signing"),
            Op::CashIn { agent, .. } => Signer::Coop(agent),
            Op::CashOut { member, .. } => Signer::Member(member),
            Op::Close { by, .. } | Op::CloseAt { by, .. } => Signer::Coop(by),
            Op::Ack { coop, .. } => Signer::Coop(coop),
            Op::Payout { coop, .. } => Signer::Coop(coop),
            Op::Request { requester, .. } => Signer::Member(requester),
            Op::Refund { by, .. } => by,
            Op::RefundDraw { .. } => unreachable!("resolved before signing"),
            Op::PayRequest { payer, .. } => Signer::Member(payer),
        }
    }

    /// The same operation as signed by `signer` (the signer is the payer of a
    /// payment or cash-out, the closer or acknowledger of a window).
    pub fn as_signed_by(&self, signer: Signer) -> Op {
        let mut op = self.clone();
        match (&mut op, signer) {
            (Op::Pay { from, .. }, Signer::Member(m)) => *from = m,
            (Op::CashOut { member, .. }, Signer::Member(m)) => *member = m,
            (Op::Close { by, .. } | Op::CloseAt { by, .. }, Signer::Coop(c)) => *by = c,
            (Op::Ack { coop, .. }, Signer::Coop(c)) => *coop = c,
            (Op::Payout { coop, .. }, Signer::Coop(c)) => *coop = c,
            (Op::Request { requester, .. }, Signer::Member(m)) => *requester = m,
            (Op::Refund { by, .. }, signer) => *by = signer,
            (Op::PayRequest { payer, .. }, Signer::Member(m)) => *payer = m,
            _ => {}
        }
        op
    }
}

/// One generated step: an operation and who signs it. `Replay` resends an
/// earlier committed transaction; `Retry` signs an earlier payment again
/// (new nonce, same idempotency id, payee and amount); `Forge` sends a
/// transaction whose signature does not verify; `ForgeReplay` resends an
/// earlier committed transaction with its signature broken (a forgery
/// first: `bad_signature`, not `stale_nonce`).
#[derive(Debug, Clone)]
pub enum Step {
    Do(Op, Who),
    Replay(usize),
    Retry(usize),
    Forge(Op),
    ForgeReplay(usize),
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        6 => 1u64..200_000,
        // Around the net debit cap, so positions end up near it.
        3 => 200_000u64..1_200_000,
        1 => 1_200_000u64..4_000_000,
    ]
}

/// Larger amounts for deposits, so balance caps are reached.
fn deposit() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => amount(),
        2 => 500_000u64..3_000_000,
        1 => 4_000_000u64..12_000_000,
    ]
}

/// Cash-in amounts: deposits, and some at or below the Rp 1.000 fee of
/// another cooperative's counter (refused: `fee_exceeds_amount`).
fn cash_in() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => deposit(),
        1 => 1u64..=1_500,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let m = 0..MEMBERS;
    let c = 0..COOPS;
    prop_oneof![
        4 => (m.clone(), deposit()).prop_map(|(member, amount)| Op::Mint { member, amount }),
        1 => (m.clone(), amount()).prop_map(|(member, amount)| Op::Burn { member, amount }),
        8 => (m.clone(), m.clone(), amount(), 0u8..6)
            .prop_map(|(from, to, amount, idem)| Op::Pay { from, to, amount, idem }),
        3 => (0..COOPS, 0..MEMBERS, -1i8..=1, 0u8..6)
            .prop_map(|(pick, to, delta, idem)| Op::PayNearCap { pick, to, delta, idem }),
        2 => (c.clone(), m.clone(), cash_in())
            .prop_map(|(agent, member, amount)| Op::CashIn { agent, member, amount }),
        2 => (m.clone(), c.clone(), amount())
            .prop_map(|(member, agent, amount)| Op::CashOut { member, agent, amount }),
        2 => (c.clone(), 0u8..2).prop_map(|(by, window_offset)| Op::Close { by, window_offset }),
        2 => (c.clone(), 0u8..4).prop_map(|(coop, window)| Op::Ack { coop, window }),
        2 => (c.clone(), m.clone(), deposit(), 0u8..4)
            .prop_map(|(coop, member, amount, idem)| Op::Payout { coop, member, amount, idem }),
        2 => (m.clone(), m.clone(), 1u64..150_000, 0u8..3)
            .prop_map(|(requester, payer, amount, id)| Op::Request { requester, payer, amount, id }),
        3 => (0usize..64, 0u8..5, prop::bool::weighted(0.3))
            .prop_map(|(pick, how, by_coop)| Op::RefundDraw { pick, how, by_coop }),
        4 => (m.clone(), m.clone(), 0u8..3, 0u8..8).prop_map(|(payer, requester, id, pick)| {
            // Mostly the amount requested (resolved when signed), sometimes another.
            Op::PayRequest { payer, requester, id, amount: u64::from(pick) }
        }),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        16 => Just(Who::Proper),
        1 => (0..COOPS).prop_map(Who::Coop),
        1 => (0..MEMBERS).prop_map(Who::Member),
        1 => (0..UNKNOWN_KEYS).prop_map(Who::Unknown),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        30 => (op(), who()).prop_map(|(op, who)| Step::Do(op, who)),
        1 => (0usize..1000).prop_map(Step::Replay),
        2 => (0usize..1000).prop_map(Step::Retry),
        1 => op().prop_map(Step::Forge),
        1 => (0usize..1000).prop_map(Step::ForgeReplay),
    ]
}

/// One block: whether its time passes the settlement schedule's next
/// cut-off (the block then closes the open window before its transactions,
/// if anything happened in it), and its steps.
#[derive(Debug, Clone)]
pub struct BlockPlan {
    pub cutoff: bool,
    pub steps: Vec<Step>,
}

pub fn blocks() -> impl Strategy<Value = Vec<BlockPlan>> {
    let block = (
        prop::bool::weighted(0.3),
        prop::collection::vec(step(), 1..10),
    )
        .prop_map(|(cutoff, steps)| BlockPlan { cutoff, steps });
    prop::collection::vec(block, 1..14)
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acct {
    M(usize),
    Fee(usize),
    Float(usize),
    Net,
}

#[derive(Debug, Clone)]
pub struct ModelWindow {
    pub positions: BTreeMap<usize, i128>,
    pub acked: BTreeSet<usize>,
    pub settled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub balances: BTreeMap<Acct, u64>,
    pub position: [i128; COOPS + 1],
    pub unsettled: [i128; COOPS + 1],
    /// Σ min(0, position) over closed, unsettled windows: what counts
    /// against the NDC besides the open position.
    pub unsettled_debit: [i128; COOPS + 1],
    /// Legs rejected by the NDC that netting unsettled credits against
    /// debits would have allowed (kept across rejections, for coverage).
    pub credit_not_counted: u64,
    pub idem: BTreeMap<(usize, u8), (usize, u64)>,
    pub windows: Vec<ModelWindow>,
    /// Whether any leg moved money in the open window.
    pub activity: bool,
    /// Each member account's incoming money this month.
    pub incoming: BTreeMap<usize, u64>,
    /// Payout lines' idempotency ids by (cooperative, id): (member, amount).
    pub payout_idem: BTreeMap<(usize, u8), (usize, u64)>,
    /// The cashback programme's budget left and each member's cashback this
    /// month (the programme of [`CASHBACK_BPS`]).
    pub cashback_paid: u64,
    pub cashback_used: BTreeMap<usize, u64>,
    /// Payments that earned cashback (for coverage).
    pub cashbacks: u64,
    /// Payment requests by (requester, id): (payer, amount, paid).
    pub requests: BTreeMap<(usize, u8), (usize, u64, bool)>,
    /// Every successful payment to a merchant, in order (all refundable
    /// for the whole case: the period is 30 days).
    pub merchant_payments: Vec<MerchantPayment>,
    /// Refunds applied (for coverage).
    pub refunds: u64,
}

/// A payment to a merchant as a refund needs it.
#[derive(Debug, Clone)]
pub struct MerchantPayment {
    pub payer: usize,
    pub merchant: usize,
    pub amount: u64,
    /// The fee legs moved: (from, to, amount), legs of Rp 0 left out.
    pub fees: Vec<(Acct, Acct, u64)>,
    pub refunded: u64,
    pub parts: u32,
}

/// The cashback programme the property test's setup votes in: 1 % of
/// cross-cooperative purchases at merchants, at most [`CASHBACK_CAP`] per
/// member per month, [`CASHBACK_BUDGET`] in all, from the network fund.
pub const CASHBACK_BPS: u64 = 100;
pub const CASHBACK_CAP: u64 = 3_000;
pub const CASHBACK_BUDGET: u64 = 20_000;

impl Model {
    fn home(&self, a: Acct) -> usize {
        match a {
            Acct::M(m) => member_home(m),
            Acct::Fee(c) | Acct::Float(c) => c,
            Acct::Net => NETWORK,
        }
    }

    pub fn bal(&self, a: Acct) -> u64 {
        self.balances.get(&a).copied().unwrap_or(0)
    }

    fn credit(&mut self, to: Acct, amount: u64) -> Result<(), &'static str> {
        let new = self.bal(to) + amount;
        if let Acct::M(m) = to {
            let (cap, monthly) = if is_merchant(m) {
                (CAP_MERCHANT, None)
            } else if m == BASIC_MEMBER {
                (CAP_BASIC, Some(MONTHLY_BASIC))
            } else {
                (CAP_MEMBER, Some(MONTHLY_MEMBER))
            };
            if new > cap {
                return Err("tier_balance_cap");
            }
            let incoming = self.incoming.get(&m).copied().unwrap_or(0) + amount;
            if monthly.is_some_and(|monthly| incoming > monthly) {
                return Err("tier_monthly_incoming_cap");
            }
            self.incoming.insert(m, incoming);
        }
        self.balances.insert(to, new);
        Ok(())
    }

    fn transfer(&mut self, from: Acct, to: Acct, amount: u64) -> Result<(), &'static str> {
        if amount == 0 {
            return Ok(());
        }
        let have = self.bal(from);
        if have < amount {
            return Err("insufficient_funds");
        }
        self.balances.insert(from, have - amount);
        self.credit(to, amount)?;
        self.activity = true;
        let (x, y) = (self.home(from), self.home(to));
        if x != y {
            let a = i128::from(amount);
            let ndc = if x == NETWORK {
                i128::from(NETWORK_NDC)
            } else {
                i128::from(NDC)
            };
            if self.position[x] - a + self.unsettled_debit[x] < -ndc {
                if self.position[x] - a + self.unsettled[x] >= -ndc {
                    self.credit_not_counted += 1;
                }
                return Err("net_debit_cap_exceeded");
            }
            self.position[x] -= a;
            self.position[y] += a;
        }
        Ok(())
    }

    fn fee(amount: u64, bps: u64) -> u64 {
        amount * bps / 10_000
    }

    /// Apply one operation signed by `signer`; `Err(code)` leaves the model
    /// unchanged.
    pub fn apply(&mut self, op: &Op, signer: Signer) -> Result<(), &'static str> {
        let mut next = self.clone();
        let result = next
            .authorize(op, signer)
            .and_then(|()| next.apply_inner(op));
        let credit_not_counted = next.credit_not_counted;
        if result.is_ok() {
            *self = next;
        }
        self.credit_not_counted = credit_not_counted;
        result
    }

    /// Who may do what. `op` is already in the signer's terms (see
    /// [`Op::as_signed_by`]).
    fn authorize(&self, op: &Op, signer: Signer) -> Result<(), &'static str> {
        match (op, signer) {
            (
                Op::Pay { .. } | Op::CashOut { .. } | Op::Request { .. } | Op::PayRequest { .. },
                Signer::Member(_),
            ) => Ok(()),
            (
                Op::Pay { .. } | Op::CashOut { .. } | Op::Request { .. } | Op::PayRequest { .. },
                Signer::Coop(_),
            ) => Err("not_authorized"),
            (Op::Refund { .. }, Signer::Member(m)) if !is_merchant(m) => Err("not_authorized"),
            (Op::Refund { .. }, _) => Ok(()),
            (_, Signer::Member(_)) => Err("not_authorized"),
            (Op::Mint { member, amount } | Op::Burn { member, amount }, Signer::Coop(c)) => {
                if *amount == 0 {
                    Err("zero_amount")
                } else if member_home(*member) != c {
                    Err("not_authorized")
                } else {
                    Ok(())
                }
            }
            (Op::CashIn { agent, .. }, Signer::Coop(c)) if *agent != c => Err("not_authorized"),
            _ => Ok(()),
        }
    }

    fn apply_inner(&mut self, op: &Op) -> Result<(), &'static str> {
        match *op {
            Op::Mint { member, amount } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                self.credit(Acct::M(member), amount)
            }
            Op::Burn { member, amount } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                if member == BASIC_MEMBER {
                    return Err("tier_forbids_cash_out");
                }
                let have = self.bal(Acct::M(member));
                if have < amount {
                    return Err("insufficient_funds");
                }
                self.balances.insert(Acct::M(member), have - amount);
                Ok(())
            }
            Op::Pay {
                from,
                to,
                amount,
                idem,
            } => self.pay(from, to, amount, idem),
            Op::CashIn {
                agent,
                member,
                amount,
            } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                // The agent signs alone: the deposit must exceed its fees.
                if member_home(member) != agent && amount <= 1_000 {
                    return Err("fee_exceeds_amount");
                }
                self.credit(Acct::Float(agent), amount)?;
                self.transfer(Acct::Float(agent), Acct::M(member), amount)?;
                if member_home(member) != agent {
                    self.transfer(Acct::M(member), Acct::Fee(agent), 1_000)?;
                }
                Ok(())
            }
            Op::CashOut {
                member,
                agent,
                amount,
            } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                if member == BASIC_MEMBER {
                    return Err("tier_forbids_cash_out");
                }
                self.transfer(Acct::M(member), Acct::Float(agent), amount)?;
                let home = member_home(member);
                if home != agent {
                    self.transfer(Acct::M(member), Acct::Fee(agent), 2_500)?;
                    self.transfer(Acct::M(member), Acct::Fee(home), 1_000)?;
                }
                let have = self.bal(Acct::Float(agent));
                self.balances.insert(Acct::Float(agent), have - amount);
                Ok(())
            }
            Op::Close { .. } | Op::PayNearCap { .. } => unreachable!("resolved when signed"),
            Op::CloseAt { .. } => Err("window_closes_on_schedule"),
            Op::Ack { coop, window } => self.acknowledge(coop, window),
            Op::Payout {
                coop,
                member,
                amount,
                idem,
            } => {
                if let Some(&(first_member, first_amount)) = self.payout_idem.get(&(coop, idem)) {
                    return Err(if first_member != member {
                        "exists_with_different_payee"
                    } else if first_amount != amount {
                        "exists_with_different_amount"
                    } else {
                        "duplicate"
                    });
                }
                if amount == 0 {
                    return Err("zero_amount");
                }
                self.credit(Acct::Float(coop), amount)?;
                self.transfer(Acct::Float(coop), Acct::M(member), amount)?;
                self.payout_idem.insert((coop, idem), (member, amount));
                Ok(())
            }
            Op::Refund {
                payment,
                amount,
                by,
            } => self.refund(payment, amount, by),
            Op::RefundDraw { .. } => unreachable!("resolved when signed"),
            Op::Request {
                requester,
                payer,
                amount,
                id,
            } => {
                if payer == requester {
                    return Err("self_payment");
                }
                if self.requests.contains_key(&(requester, id)) {
                    return Err("request_exists");
                }
                self.requests
                    .insert((requester, id), (payer, amount, false));
                Ok(())
            }
            Op::PayRequest {
                payer,
                requester,
                id,
                amount,
            } => {
                let (addressed, requested, paid) = *self
                    .requests
                    .get(&(requester, id))
                    .ok_or("unknown_request")?;
                if addressed != payer {
                    return Err("not_authorized");
                }
                if paid {
                    return Err("request_already_paid");
                }
                if amount != requested {
                    return Err("request_amount_mismatch");
                }
                self.pay_inner(payer, requester, amount)?;
                self.requests.insert((requester, id), (payer, amount, true));
                Ok(())
            }
        }
    }

    /// A refund, in the rules' order: the amount, the payment, the signer
    /// (the merchant or its home cooperative), what is left, the parts,
    /// then each fee leg reversed in proportion and the principal back.
    fn refund(&mut self, payment: usize, amount: u64, by: Signer) -> Result<(), &'static str> {
        if amount == 0 {
            return Err("zero_amount");
        }
        let record = self
            .merchant_payments
            .get(payment)
            .cloned()
            .ok_or("unknown_payment")?;
        let allowed = match by {
            Signer::Member(m) => m == record.merchant,
            Signer::Coop(c) => c == member_home(record.merchant),
        };
        if !allowed {
            return Err("not_authorized");
        }
        if amount > record.amount - record.refunded {
            return Err("refund_exceeds_payment");
        }
        if record.parts >= 16 {
            return Err("too_many_refunds");
        }
        for &(from, to, fee) in &record.fees {
            let back =
                u64::try_from(u128::from(fee) * u128::from(amount) / u128::from(record.amount))
                    .expect("at most the fee");
            self.transfer(to, from, back)?;
        }
        self.transfer(Acct::M(record.merchant), Acct::M(record.payer), amount)?;
        let entry = &mut self.merchant_payments[payment];
        entry.refunded += amount;
        entry.parts += 1;
        self.refunds += 1;
        Ok(())
    }

    /// The cashback a cross-cooperative purchase of `amount` by `payer`
    /// earns: cut to the member's month, the budget and the fund; a leg
    /// that cannot be made (the payer's caps, the network's net debit cap)
    /// is not paid and changes nothing.
    fn cashback(&mut self, payer: usize, amount: u64) {
        let used = self.cashback_used.get(&payer).copied().unwrap_or(0);
        let cashback = Self::fee(amount, CASHBACK_BPS)
            .min(CASHBACK_CAP - used)
            .min(CASHBACK_BUDGET - self.cashback_paid)
            .min(self.bal(Acct::Net));
        if cashback == 0 {
            return;
        }
        let before = self.clone();
        match self.transfer(Acct::Net, Acct::M(payer), cashback) {
            Ok(()) => {
                self.cashback_used.insert(payer, used + cashback);
                self.cashback_paid += cashback;
                self.cashbacks += 1;
            }
            Err(_) => {
                let credit_not_counted = self.credit_not_counted;
                *self = before;
                self.credit_not_counted = credit_not_counted;
            }
        }
    }

    /// A payment: the idempotency id first, then the amount and payee, the
    /// payer's tier (the basic member pays merchants only), the QR cap; a
    /// merchant pays its MDR, on-us too: the small one 0.3 % to the payer's
    /// cooperative, 0.3 % to its own and 0.1 % to the network; the micro one
    /// nothing up to Rp 500.000, above it 0.13 %, 0.13 % and 0.04 %.
    fn pay(&mut self, from: usize, to: usize, amount: u64, idem: u8) -> Result<(), &'static str> {
        if let Some(&(first_to, first_amount)) = self.idem.get(&(from, idem)) {
            return Err(if first_to != to {
                "exists_with_different_payee"
            } else if first_amount != amount {
                "exists_with_different_amount"
            } else {
                "duplicate"
            });
        }
        self.pay_inner(from, to, amount)?;
        self.idem.insert((from, idem), (to, amount));
        Ok(())
    }

    /// A payment after its idempotency id: what paying a request is too
    /// (its derived id never meets a payment's).
    fn pay_inner(&mut self, from: usize, to: usize, amount: u64) -> Result<(), &'static str> {
        if amount == 0 {
            return Err("zero_amount");
        }
        if from == to {
            return Err("self_payment");
        }
        if from == BASIC_MEMBER && !is_merchant(to) {
            return Err("tier_forbids_transfer");
        }
        if is_merchant(to) && amount > QR_PAYMENT_CAP {
            return Err("qr_payment_cap");
        }
        self.transfer(Acct::M(from), Acct::M(to), amount)?;
        let (x, y) = (member_home(from), member_home(to));
        let shares = match (is_merchant(to), to == MICRO_MERCHANT) {
            (false, _) => None,
            (true, true) if amount <= 500_000 => None,
            (true, true) => Some([13, 13, 4]),
            (true, false) => Some([30, 30, 10]),
        };
        let mut fees = Vec::new();
        if let Some([issuer, acquirer, network]) = shares {
            for (account, bps) in [
                (Acct::Fee(x), issuer),
                (Acct::Fee(y), acquirer),
                (Acct::Net, network),
            ] {
                let fee = Self::fee(amount, bps);
                self.transfer(Acct::M(to), account, fee)?;
                if fee > 0 {
                    fees.push((Acct::M(to), account, fee));
                }
            }
        }
        if is_merchant(to) && x != y {
            self.cashback(from, amount);
        }
        if is_merchant(to) {
            self.merchant_payments.push(MerchantPayment {
                payer: from,
                merchant: to,
                amount,
                fees,
                refunded: 0,
                parts: 0,
            });
        }
        Ok(())
    }

    /// A block passed a cut-off: the open window closes if anything happened
    /// in it. Returns whether it closed.
    pub fn cut_off(&mut self) -> bool {
        if !self.activity {
            return false;
        }
        self.activity = false;
        self.close_window();
        true
    }

    /// What a cooperative may still come to owe: NDC + open position +
    /// unsettled debits.
    pub fn headroom(&self, p: usize) -> i128 {
        let ndc = if p == NETWORK {
            i128::from(NETWORK_NDC)
        } else {
            i128::from(NDC)
        };
        ndc + self.position[p] + self.unsettled_debit[p]
    }

    /// Close the open window: positions move to the unsettled sums; a window
    /// only the network is in settles at once.
    fn close_window(&mut self) {
        let mut positions = BTreeMap::new();
        for p in 0..=COOPS {
            if self.position[p] != 0 {
                positions.insert(p, self.position[p]);
            }
            self.unsettled[p] += self.position[p];
            self.unsettled_debit[p] += self.position[p].min(0);
            self.position[p] = 0;
        }
        let mut window = ModelWindow {
            positions,
            acked: BTreeSet::new(),
            settled: false,
        };
        if window.positions.keys().all(|p| *p == NETWORK) {
            self.settle(&mut window);
        }
        self.windows.push(window);
    }

    /// A participant acknowledges a window; the last acknowledgement (the
    /// network needs none) settles it.
    fn acknowledge(&mut self, coop: usize, window: u8) -> Result<(), &'static str> {
        let mut w = self
            .windows
            .get(usize::from(window))
            .cloned()
            .ok_or("unknown_window")?;
        if w.settled || !w.positions.contains_key(&coop) || !w.acked.insert(coop) {
            return Err("nothing_to_acknowledge");
        }
        if w.positions
            .keys()
            .all(|p| *p == NETWORK || w.acked.contains(p))
        {
            self.settle(&mut w);
        }
        self.windows[usize::from(window)] = w;
        Ok(())
    }

    fn settle(&mut self, window: &mut ModelWindow) {
        for (p, pos) in &window.positions {
            self.unsettled[*p] -= pos;
            self.unsettled_debit[*p] -= (*pos).min(0);
        }
        window.settled = true;
    }
}
