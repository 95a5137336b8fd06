//! Admission and execution of one transaction against state.

use crate::fees::{FeeCase, FeeKind, FeeParty, FeeRule};
use crate::governance;
use crate::idempotency;
use crate::legs::{self, LegKind};
use crate::merchant_names;
use crate::rejection::Rejection;
use crate::settlement;
use crate::state::{IdempotencyRecord, Overlay, StateRead};
use crate::tellers::{self, Teller};
use crate::tx::{Action, IdempotencyId, Transaction};
use crate::types::{
    AccountId, AccountKind, AccountStatus, Amount, CoopId, Cooperative, KycTier, MemberAccount,
    MerchantClass,
};
use crate::{member_keys, recovery, refunds};
use kopnet_primitives::{Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// Who signed a transaction.
// A cooperative's record is the large variant (its keys, issue 16): a
// `Signer` lives for one transaction on the stack, where boxing it would
// only add an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Signer {
    Cooperative(Cooperative),
    /// A member account by its address, signed by its current key.
    Member(PublicKey, MemberAccount),
    /// A teller (its key and record) of an active cooperative.
    Teller(PublicKey, Teller, Cooperative),
    /// A registered observer, by its current key (see [`crate::observers`]).
    Observer(PublicKey, crate::observers::Observer),
}

impl Signer {
    pub fn nonce(&self) -> u64 {
        match self {
            Signer::Cooperative(c) => c.nonce,
            Signer::Member(_, m) => m.nonce,
            Signer::Teller(_, t, _) => t.nonce,
            Signer::Observer(_, o) => o.nonce,
        }
    }
}

/// Check format and chain, find the signer and check its nonce: every
/// admission rule but the signature, in the documented precedence (see
/// [`crate::rejection`]). Block building and validation check the
/// signature between [`check_stateless`] and [`find_signer`] instead.
pub fn admit<S: StateRead + ?Sized>(
    state: &S,
    chain_id: &str,
    tx: &Transaction,
) -> Result<Signer, Rejection> {
    check_stateless(chain_id, tx)?;
    find_signer(state, tx)
}

/// The admission rules that do not read state: format, then chain.
pub fn check_stateless(chain_id: &str, tx: &Transaction) -> Result<(), Rejection> {
    tx.check_format()?;
    if tx.body.chain_id != chain_id {
        return Err(Rejection::WrongChain);
    }
    Ok(())
}

/// The admission rules that read state, after the signature: the signer
/// must be a known, active cooperative, an active teller of one, or the
/// current key of a member account, and the nonce must be its next one.
pub fn find_signer<S: StateRead + ?Sized>(
    state: &S,
    tx: &Transaction,
) -> Result<Signer, Rejection> {
    let signer = resolve_signer(state, &tx.body.signer)?;
    let expected = signer.nonce().checked_add(1).ok_or(Rejection::Overflow)?;
    match tx.body.nonce {
        n if n < expected => Err(Rejection::StaleNonce { expected, got: n }),
        n if n > expected => Err(Rejection::FutureNonce { expected, got: n }),
        _ => Ok(signer),
    }
}

/// Who `key` signs as: a cooperative key, a teller key, an observer's
/// current key, or a member account's current key (see [`crate::tellers`], [`crate::member_keys`]).
pub fn resolve_signer<S: StateRead + ?Sized>(
    state: &S,
    key: &PublicKey,
) -> Result<Signer, Rejection> {
    if let Some(id) = state.coop_by_key(key) {
        let coop = state.cooperative(&id).ok_or(Rejection::UnknownSigner)?;
        if !coop.active {
            return Err(Rejection::SignerInactive);
        }
        return Ok(Signer::Cooperative(coop));
    }
    if let Some(teller) = tellers::teller(state, key) {
        if !teller.active {
            return Err(Rejection::TellerRemoved);
        }
        let coop = state
            .cooperative(&teller.coop)
            .filter(|c| c.active)
            .ok_or(Rejection::SignerInactive)?;
        return Ok(Signer::Teller(*key, teller, coop));
    }
    // Members before observers: a payment's signer is found without
    // reading the observer registry (no key is ever used for both).
    if let Some((address, account)) = member_keys::resolve(state, key)? {
        return Ok(Signer::Member(address, account));
    }
    match crate::observers::observer(state, key) {
        Some(observer) => Ok(Signer::Observer(*key, observer)),
        None => Err(Rejection::UnknownSigner),
    }
}

/// Record that the signer used its nonce (its record as execution left it).
pub fn bump_nonce<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, signer: &Signer, nonce: u64) {
    match signer {
        Signer::Cooperative(coop) => {
            if let Some(coop) = state.cooperative_mut(&coop.id) {
                coop.nonce = nonce;
            }
        }
        Signer::Member(address, _) => {
            if let Some(member) = state.member_mut(address) {
                member.nonce = nonce;
            }
        }
        Signer::Teller(key, ..) => {
            if let Some(mut teller) = tellers::teller(state, key) {
                teller.nonce = nonce;
                tellers::put_teller(state, *key, teller);
            }
        }
        Signer::Observer(key, _) => crate::observers::bump_nonce(state, key, nonce),
    }
}

/// Everything `execute` needs to know about where it runs.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext {
    pub height: u64,
    /// The block's header time (ms since the Unix epoch).
    pub time_ms: u64,
    pub tx_hash: Hash,
}

/// Carry out an admitted transaction's action. On error the caller discards
/// the overlay, so a rejected transaction changes nothing.
pub fn execute<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    signer: &Signer,
    action: &Action,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    match (action, signer) {
        (_, Signer::Teller(key, _, coop)) => tellers::execute(state, key, coop, action, ctx),
        (
            Action::AddTeller {
                teller,
                name,
                daily_limit,
            },
            Signer::Cooperative(coop),
        ) => tellers::add(state, coop, teller, name, *daily_limit, ctx.height),
        (Action::RemoveTeller { teller }, Signer::Cooperative(coop)) => {
            tellers::remove(state, coop, teller, ctx.height)
        }
        (Action::RotateMemberKey { new_key }, Signer::Member(address, _)) => {
            member_keys::rotate(state, address, new_key)
        }
        (Action::StartRecovery { member, new_key }, Signer::Cooperative(coop)) => {
            let by = recovery::StartedBy {
                coop: coop.id.clone(),
                teller: None,
            };
            recovery::start(state, by, member, new_key, ctx)
        }
        (Action::CancelRecovery { member }, Signer::Cooperative(coop)) => {
            let key = coop.key.ok_or(Rejection::UnknownSigner)?;
            recovery::cancel_by_coop(state, coop, key, member, ctx)
        }
        (Action::CancelRecovery { member }, Signer::Member(address, account)) => {
            recovery::cancel_by_member(state, address, account.key, member, ctx)
        }
        (Action::RegisterMember { member, kind, tier }, Signer::Cooperative(coop)) => {
            let class = match kind {
                AccountKind::Merchant => Some(MerchantClass::UNSPECIFIED),
                AccountKind::Member => None,
            };
            let account = NewAccount {
                kind: *kind,
                tier: *tier,
                class,
            };
            register_member(state, coop, member, account, ctx.height)
        }
        (
            Action::RegisterMerchant {
                merchant,
                tier,
                class,
            },
            Signer::Cooperative(coop),
        ) => {
            let account = NewAccount {
                kind: AccountKind::Merchant,
                tier: *tier,
                class: Some(*class),
            };
            register_member(state, coop, merchant, account, ctx.height)
        }
        (Action::SetMerchantClass { merchant, class }, Signer::Cooperative(coop)) => {
            set_merchant_class(state, coop, merchant, *class)
        }
        (Action::SetMemberTier { member, tier }, Signer::Cooperative(coop)) => {
            crate::tiers::set_member_tier(state, coop, member, *tier)
        }
        (
            Action::Payout {
                member,
                amount,
                reference,
                idempotency_id,
            },
            Signer::Cooperative(coop),
        ) => {
            let payer = coop.key.ok_or(Rejection::UnknownSigner)?;
            let line = IdempotentTransfer {
                payer,
                to: *member,
                amount: *amount,
                memo: reference,
                idempotency_id,
            };
            check_idempotency(state, &line)?;
            crate::payouts::pay(state, coop, member, *amount)?;
            remember(state, &line, ctx)
        }
        (Action::Mint { member, amount }, Signer::Cooperative(coop)) => {
            home_counter(state, coop, member, *amount)?;
            legs::mint(state, &AccountId::Member(*member), *amount)
        }
        (Action::Burn { member, amount }, Signer::Cooperative(coop)) => {
            home_counter(state, coop, member, *amount)?;
            crate::tiers::check_cash_out(state, member)?;
            legs::burn(state, &AccountId::Member(*member), *amount)
        }
        (
            Action::Payment {
                to,
                amount,
                memo,
                idempotency_id,
            },
            Signer::Member(payer, _),
        ) => {
            let payment = IdempotentTransfer {
                payer: *payer,
                to: *to,
                amount: *amount,
                memo,
                idempotency_id,
            };
            pay(state, payment, ctx)
        }
        (
            Action::CashIn {
                agent,
                member,
                amount,
            },
            Signer::Cooperative(coop),
        ) => {
            check_signed_by_agent(coop, agent)?;
            cash_in(state, agent, member, *amount)
        }
        (Action::CashOut { agent, amount }, Signer::Member(member, _)) => {
            cash_out(state, agent, member, *amount)
        }
        (Action::CloseSettlementWindow { .. }, Signer::Cooperative(_)) => {
            // Windows close on the schedule (see `settlement`), never at a
            // cooperative's request: closing at will let one cooperative
            // split the others' credits from their debits.
            Err(Rejection::WindowClosesOnSchedule)
        }
        (Action::AcknowledgeSettlement { window }, Signer::Cooperative(coop)) => {
            settlement::acknowledge(state, &coop.id, *window)
        }
        (Action::Propose { action }, Signer::Cooperative(coop)) => {
            governance::propose(state, coop, action.clone(), ctx.height, ctx.time_ms).map(|_| ())
        }
        (Action::Approve { proposal }, Signer::Cooperative(coop)) => {
            governance::approve(state, coop, *proposal, ctx.height, ctx.time_ms)
        }
        (
            Action::RotateNodeKeys {
                validator_key,
                node_key,
            },
            Signer::Cooperative(coop),
        ) => {
            let rotation = crate::node_keys::Rotation {
                validator_key: *validator_key,
                node_key: *node_key,
            };
            crate::node_keys::rotate(state, coop, rotation, ctx.time_ms)
        }
        (Action::SetMerchantName { merchant, name }, signer) => {
            merchant_names::set(state, signer, merchant, name)
        }
        (Action::RotateObserverKey { new_key }, Signer::Observer(key, _)) => {
            crate::observers::rotate(state, key, new_key, ctx.time_ms)
        }
        (
            Action::RequestPayment { .. }
            | Action::PayRequest { .. }
            | Action::DeclineRequest { .. }
            | Action::CancelRequest { .. },
            Signer::Member(address, account),
        ) => crate::payment_requests::execute(state, address, account, action, ctx),
        (
            Action::Refund {
                payment, amount, ..
            },
            Signer::Member(address, account),
        ) => {
            let by = refunds::RefundBy::Merchant(*address, account.kind);
            refunds::refund(state, &by, payment, *amount, ctx)
        }
        (
            Action::Refund {
                payment, amount, ..
            },
            Signer::Cooperative(coop),
        ) => {
            let by = refunds::RefundBy::Cooperative(coop.id.clone());
            refunds::refund(state, &by, payment, *amount, ctx)
        }
        (_, Signer::Observer(..)) => Err(Rejection::NotAuthorized(
            "an observer signs only its own key rotation".into(),
        )),
        (_, Signer::Member(..)) => Err(Rejection::NotAuthorized(
            "this action must be signed by a cooperative".into(),
        )),
        (_, Signer::Cooperative(_)) => Err(Rejection::NotAuthorized(
            "this action must be signed by a member".into(),
        )),
    }
}

/// What a registration decides about a new account.
struct NewAccount {
    kind: AccountKind,
    tier: KycTier,
    class: Option<MerchantClass>,
}

/// Open an account for `member` at the signing cooperative, empty and
/// active. The key must be strong and used nowhere
/// ([`member_keys::key_in_use`]).
fn register_member<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    member: &PublicKey,
    new: NewAccount,
    height: u64,
) -> Result<(), Rejection> {
    member.validate().map_err(|_| Rejection::WeakKey)?;
    // A validator key or node identity is `key_in_use`; any other use
    // (a member, a cooperative, a teller, a member's key) `account_exists`.
    if state.node_key_use(member).is_some() {
        return Err(Rejection::KeyInUse(member.to_address()));
    }
    if member_keys::key_in_use(state, member) {
        return Err(Rejection::AccountExists);
    }
    let account = MemberAccount {
        home: coop.id.clone(),
        kind: new.kind,
        status: AccountStatus::Active,
        tier: new.tier,
        balance: 0,
        nonce: 0,
        registered_at_height: height,
        key: *member,
        incoming: None,
        class: new.class,
    };
    state.put_member(*member, account);
    Ok(())
}

/// `SetMerchantClass`, by the merchant's home cooperative.
fn set_merchant_class<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    merchant: &PublicKey,
    class: MerchantClass,
) -> Result<(), Rejection> {
    let account = state
        .member_mut(merchant)
        .ok_or_else(|| Rejection::UnknownAccount(merchant.to_address()))?;
    if account.home != coop.id {
        return Err(Rejection::NotAuthorized(
            "only the merchant's home cooperative sets its class".into(),
        ));
    }
    if account.kind != AccountKind::Merchant {
        return Err(Rejection::InvalidAction(
            "only a merchant account has a class".into(),
        ));
    }
    account.class = Some(class);
    Ok(())
}

/// Cash-in: only the agent cooperative itself may sign it.
fn check_signed_by_agent(coop: &Cooperative, agent: &CoopId) -> Result<(), Rejection> {
    if &coop.id != agent {
        return Err(Rejection::NotAuthorized(
            "cash-in must be signed by the agent cooperative".into(),
        ));
    }
    Ok(())
}

/// Mint and burn: only the member's home cooperative is its counter.
fn home_counter<S: StateRead + ?Sized>(
    state: &S,
    coop: &Cooperative,
    member: &PublicKey,
    amount: Amount,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    let account = state
        .member(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    if account.home != coop.id {
        return Err(Rejection::NotAuthorized(
            "only the member's home cooperative can mint or burn; use cash-in/cash-out".into(),
        ));
    }
    Ok(())
}

/// A transfer that carries an idempotency id: a payment (and paying a
/// request, [`crate::payment_requests`]), or a payout line (whose payer,
/// for its record, is the cooperative key).
pub(crate) struct IdempotentTransfer<'a> {
    pub(crate) payer: PublicKey,
    pub(crate) to: PublicKey,
    pub(crate) amount: Amount,
    pub(crate) memo: &'a str,
    pub(crate) idempotency_id: &'a IdempotencyId,
}

/// Record a successful transfer's id (see [`crate::idempotency`]).
fn remember<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    p: &IdempotentTransfer<'_>,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let record = IdempotencyRecord {
        tx: ctx.tx_hash,
        to: p.to,
        amount: p.amount,
        memo: p.memo.to_string(),
    };
    idempotency::remember(state, p.payer, *p.idempotency_id, record, ctx.time_ms)
}

/// A transfer's id against the payer's live records (the last
/// [`idempotency::DAYS_KEPT`] days of block time; an expired record is gone,
/// see [`crate::idempotency`]).
fn check_idempotency<S: StateRead + ?Sized>(
    state: &S,
    p: &IdempotentTransfer<'_>,
) -> Result<(), Rejection> {
    let Some(first) = state.idempotency(&p.payer, p.idempotency_id) else {
        return Ok(());
    };
    let first_tx = first.tx;
    if first.to != p.to {
        Err(Rejection::ExistsWithDifferentPayee { first_tx })
    } else if first.amount != p.amount {
        Err(Rejection::ExistsWithDifferentAmount { first_tx })
    } else if first.memo != p.memo {
        Err(Rejection::ExistsWithDifferentMemo { first_tx })
    } else {
        Err(Rejection::Duplicate { first_tx })
    }
}

/// A payment with its fees, tier caps, balance and net debit cap rules,
/// and its idempotency record.
pub(crate) fn pay<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    p: IdempotentTransfer<'_>,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    check_idempotency(state, &p)?;
    if p.amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    if p.payer == p.to {
        return Err(Rejection::SelfPayment);
    }
    let (payee_kind, payee_home, payee_class) = state
        .member_ref(&p.to)
        .map(|payee| (payee.kind, payee.home.clone(), payee.class))
        .ok_or_else(|| Rejection::UnknownAccount(p.to.to_address()))?;
    let payer_home = match state.member_ref(&p.payer) {
        Some(payer) => {
            if payee_kind == AccountKind::Member {
                crate::tiers::check_transfer(state, payer)?;
            }
            payer.home.clone()
        }
        None => return Err(Rejection::UnknownAccount(p.payer.to_address())),
    };
    if payee_kind == AccountKind::Merchant {
        crate::tiers::check_qr_payment(state, p.amount)?;
    }
    let from = AccountId::Member(p.payer);
    let to = AccountId::Member(p.to);
    legs::transfer(state, &from, &to, p.amount, LegKind::Principal)?;
    let kind = match payee_kind {
        AccountKind::Merchant => FeeKind::PaymentToMerchant,
        AccountKind::Member => FeeKind::PaymentToMember,
    };
    let cross = payer_home != payee_home;
    let parties = Parties {
        payer: Some(from),
        payee: Some(to),
        payer_coop: payer_home,
        payee_coop: Some(payee_home),
        agent: None,
    };
    let case = FeeCase {
        kind,
        cross,
        class: payee_class,
        amount: p.amount,
    };
    let fees = charge_fees(state, &case, &parties)?;
    if payee_kind == AccountKind::Merchant {
        let payment = refunds::MerchantPayment {
            day: idempotency::day_of(ctx.time_ms),
            payer: p.payer,
            merchant: p.to,
            amount: p.amount,
            fees,
        };
        refunds::remember(state, ctx.tx_hash, payment)?;
    }
    if let (AccountKind::Merchant, Some(class)) = (payee_kind, payee_class) {
        let purchase = crate::incentives::Purchase {
            payer: p.payer,
            amount: p.amount,
            cross,
            class,
            time_ms: ctx.time_ms,
        };
        crate::incentives::reward(state, &purchase)?;
    }
    remember(state, &p, ctx)
}

fn active_coop<S: StateRead + ?Sized>(state: &S, id: &CoopId) -> Result<Cooperative, Rejection> {
    state
        .cooperative(id)
        .filter(|c| c.active && !c.id.is_network())
        .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))
}

/// Cash-in at `agent`: mint into the agent's float, then transfer to the member.
fn cash_in<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    agent: &CoopId,
    member: &PublicKey,
    amount: Amount,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    let home = state
        .member_ref(member)
        .map(|account| account.home.clone())
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    let cross = &home != agent;
    // The agent signs a cash-in alone: it must leave the member and the
    // member's home cooperative better off, or an agent could charge
    // another cooperative's members fees (and lower that cooperative's
    // position) with deposits of Rp 1.
    let case = FeeCase {
        kind: FeeKind::CashIn,
        cross,
        class: None,
        amount,
    };
    let fees = member_side_fees(state, &case)?;
    if fees >= amount {
        return Err(Rejection::FeeExceedsAmount { amount, fees });
    }
    let to = AccountId::Member(*member);
    legs::deposit_at(state, agent, &to, amount)?;
    let parties = Parties {
        payer: Some(to),
        payee: None,
        payer_coop: home,
        payee_coop: None,
        agent: Some(agent.clone()),
    };
    charge_fees(state, &case, &parties).map(|_| ())
}

/// The fees the rules for `case` would take from the payer or the payer's
/// cooperative.
fn member_side_fees<S: StateRead + ?Sized>(state: &S, case: &FeeCase) -> Result<Amount, Rejection> {
    let rules = &state.params_ref().ok_or(Rejection::Overflow)?.fee_rules;
    let mut total: Amount = 0;
    for rule in rules.iter().filter(|r| r.applies(case)) {
        if matches!(rule.from, FeeParty::Payer | FeeParty::PayerCoop) {
            let fee = rule.fee(case.amount).ok_or(Rejection::Overflow)?;
            total = total.checked_add(fee).ok_or(Rejection::Overflow)?;
        }
    }
    Ok(total)
}

/// Cash-out at `agent`: transfer to the agent's float, then burn there.
fn cash_out<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    agent: &CoopId,
    member: &PublicKey,
    amount: Amount,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    active_coop(state, agent)?;
    crate::tiers::check_cash_out(state, member)?;
    let home = legs::home_of(state, &AccountId::Member(*member))?;
    let float = AccountId::Float(agent.clone());
    let from = AccountId::Member(*member);
    legs::transfer(state, &from, &float, amount, LegKind::Principal)?;
    let parties = Parties {
        payer: Some(from),
        payee: None,
        payer_coop: home.clone(),
        payee_coop: None,
        agent: Some(agent.clone()),
    };
    let case = FeeCase {
        kind: FeeKind::CashOut,
        cross: &home != agent,
        class: None,
        amount,
    };
    charge_fees(state, &case, &parties)?;
    legs::burn(state, &float, amount)
}

/// The concrete accounts behind the fee parties of one transaction.
struct Parties {
    payer: Option<AccountId>,
    payee: Option<AccountId>,
    payer_coop: CoopId,
    payee_coop: Option<CoopId>,
    agent: Option<CoopId>,
}

impl Parties {
    fn resolve(&self, party: FeeParty) -> Result<AccountId, Rejection> {
        let missing = || Rejection::InvalidAction(format!("fee party {party:?} does not apply"));
        match party {
            FeeParty::Payer => self.payer.clone().ok_or_else(missing),
            FeeParty::Payee => self.payee.clone().ok_or_else(missing),
            FeeParty::PayerCoop => Ok(AccountId::Fee(self.payer_coop.clone())),
            FeeParty::PayeeCoop => self
                .payee_coop
                .clone()
                .map(AccountId::Fee)
                .ok_or_else(missing),
            FeeParty::AgentCoop => self.agent.clone().map(AccountId::Fee).ok_or_else(missing),
            FeeParty::NetworkFund => Ok(AccountId::NetworkFund),
        }
    }
}

/// One fee leg a transaction moved: what a refund reverses (the rules may
/// have changed since).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargedFee {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Amount,
}

/// Move the fee legs of the rules that apply; the legs moved, in rule
/// order (legs of Rp 0 left out).
fn charge_fees<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    case: &FeeCase,
    parties: &Parties,
) -> Result<Vec<ChargedFee>, Rejection> {
    // Only the rules that apply are copied out (the legs below write state).
    let rules: Vec<FeeRule> = state
        .params_ref()
        .ok_or(Rejection::Overflow)?
        .fee_rules
        .iter()
        .filter(|r| r.applies(case))
        .cloned()
        .collect();
    let mut charged = Vec::with_capacity(rules.len());
    for rule in &rules {
        let fee = rule.fee(case.amount).ok_or(Rejection::Overflow)?;
        let from = parties.resolve(rule.from)?;
        let to = parties.resolve(rule.to)?;
        legs::transfer(state, &from, &to, fee, LegKind::Fee)?;
        if let Some(class) = case.class.filter(|_| fee > 0) {
            count_mdr_income(state, &to, class, fee)?;
        }
        if fee > 0 {
            charged.push(ChargedFee {
                from,
                to,
                amount: fee,
            });
        }
    }
    Ok(charged)
}

/// Add a merchant discount share to its receiver's income by class
/// ([`Cooperative::mdr_income`]; member accounts keep none).
fn count_mdr_income<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    to: &AccountId,
    class: MerchantClass,
    fee: Amount,
) -> Result<(), Rejection> {
    let id = match to {
        AccountId::Fee(coop) => coop.clone(),
        AccountId::NetworkFund => CoopId::network(),
        AccountId::Member(_) | AccountId::Float(_) => return Ok(()),
    };
    let coop = state
        .cooperative_mut(&id)
        .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))?;
    let income = coop.mdr_income.entry(class).or_insert(0);
    *income = income.checked_add(fee).ok_or(Rejection::Overflow)?;
    Ok(())
}
