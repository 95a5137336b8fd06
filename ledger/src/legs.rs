//! Transfer legs: the one place balances and positions move.
//!
//! The position rule covers every kind of transaction: a leg from an account
//! homed at X to an account homed at Y (X ≠ Y) moves `position[X] -= a` and
//! `position[Y] += a`.
//!
//! Net debit cap: a leg that would take X's open position plus X's
//! unsettled closed-window net *debit* below `-NDC[X]` is rejected. The
//! closed-window part is Σ min(0, position) over X's closed windows that are
//! not settled yet ([`Cooperative::unsettled_debit`]): what X owes there
//! counts, what X is owed there does not, because that money has not reached
//! X until the window is settled. Within the open window credits and debits
//! net as usual.
//!
//! [`Cooperative::unsettled_debit`]: crate::types::Cooperative::unsettled_debit
//!
//! Checks run in this order, so every node reports the same reason: frozen
//! accounts, insufficient funds, the payee's tier balance cap, its tier's
//! monthly incoming cap ([`crate::tiers`]; every credit to a member account
//! counts in its month), net debit cap.
//!
//! Legs change accounts and cooperatives in place in the overlay
//! ([`Overlay::get_mut`]) rather than copying each record out and back per
//! leg: the copies were a fifth of a validator's cost of executing
//! payments. A leg that fails may therefore leave its transaction's
//! changes half made; that is harmless because a failed transaction's
//! changes are always undone or discarded (see [`crate::state`]).

use crate::rejection::Rejection;
use crate::state::{Overlay, StateRead};
use crate::types::{AccountId, AccountStatus, Amount, CoopId, KycTier, Position, WindowStats};

/// Whether a leg pays a fee (fees are counted in `fees_earned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegKind {
    Principal,
    Fee,
}

/// The participant an account is homed at.
pub fn home_of<S: StateRead + ?Sized>(state: &S, account: &AccountId) -> Result<CoopId, Rejection> {
    match account {
        AccountId::Member(key) => state
            .member_ref(key)
            .map(|m| m.home.clone())
            .ok_or_else(|| Rejection::UnknownAccount(key.to_address())),
        AccountId::Fee(coop) | AccountId::Float(coop) => Ok(coop.clone()),
        AccountId::NetworkFund => Ok(CoopId::network()),
    }
}

/// The balance of any account.
pub fn balance_of<S: StateRead + ?Sized>(
    state: &S,
    account: &AccountId,
) -> Result<Amount, Rejection> {
    match account {
        AccountId::Member(key) => state
            .member_ref(key)
            .map(|m| m.balance)
            .ok_or_else(|| Rejection::UnknownAccount(key.to_address())),
        other => Ok(state.internal_balance(other)),
    }
}

fn set_balance<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    account: &AccountId,
    balance: Amount,
) -> Result<(), Rejection> {
    match account {
        AccountId::Member(key) => {
            let member = state
                .member_mut(key)
                .ok_or_else(|| Rejection::UnknownAccount(key.to_address()))?;
            member.balance = balance;
        }
        other => state.put_internal_balance(other.clone(), balance),
    }
    Ok(())
}

/// Write a credited account: its balance and, for a member account, its
/// month's incoming money.
fn set_credited<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    account: &AccountId,
    credit: Credit,
) -> Result<(), Rejection> {
    match account {
        AccountId::Member(key) => {
            let member = state
                .member_mut(key)
                .ok_or_else(|| Rejection::UnknownAccount(key.to_address()))?;
            member.balance = credit.balance;
            member.incoming = credit.incoming;
        }
        other => state.put_internal_balance(other.clone(), credit.balance),
    }
    Ok(())
}

/// What a leg reads of one of its accounts, read once.
struct Side {
    balance: Amount,
    /// The balance cap's tier (member accounts only: others are uncapped).
    tier: Option<KycTier>,
    /// The month's incoming money (member accounts only).
    incoming: Option<(u32, Amount)>,
    home: CoopId,
}

/// Read `account` for a leg: unknown and frozen accounts are refused here.
fn read_side<S: StateRead + ?Sized>(state: &S, account: &AccountId) -> Result<Side, Rejection> {
    match account {
        AccountId::Member(key) => {
            let member = state
                .member_ref(key)
                .ok_or_else(|| Rejection::UnknownAccount(key.to_address()))?;
            if member.status == AccountStatus::Frozen {
                return Err(Rejection::AccountFrozen(key.to_address()));
            }
            Ok(Side {
                balance: member.balance,
                tier: Some(member.tier),
                incoming: member.incoming,
                home: member.home.clone(),
            })
        }
        other => Ok(Side {
            balance: state.internal_balance(other),
            tier: None,
            incoming: None,
            home: home_of(state, other)?,
        }),
    }
}

/// An account as a credit leaves it.
#[derive(Debug, Clone, Copy)]
struct Credit {
    balance: Amount,
    incoming: Option<(u32, Amount)>,
}

/// `balance + amount` for the account of `side`, within its tier's balance
/// cap and monthly incoming cap (member accounts; see [`crate::tiers`]).
fn credited<S: StateRead + ?Sized>(
    state: &S,
    side: &Side,
    balance: Amount,
    amount: Amount,
) -> Result<Credit, Rejection> {
    let new_balance = balance.checked_add(amount).ok_or(Rejection::Overflow)?;
    let Some(tier) = side.tier else {
        return Ok(Credit {
            balance: new_balance,
            incoming: None,
        });
    };
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    let cap = params.tier_limits.cap(tier);
    if new_balance > cap {
        return Err(Rejection::BalanceCapExceeded { cap });
    }
    let month = state.counters().wib_month;
    let used = match side.incoming {
        Some((counted, used)) if counted == month => used,
        _ => 0,
    };
    let after = used.checked_add(amount).ok_or(Rejection::Overflow)?;
    if let Some(cap) = params.tier_rules.rule(tier).monthly_incoming_cap {
        if after > cap {
            return Err(Rejection::TierMonthlyIncomingCap { cap, used, amount });
        }
    }
    Ok(Credit {
        balance: new_balance,
        incoming: Some((month, after)),
    })
}

/// `balance - amount`, refusing to go below zero.
fn debited(balance: Amount, amount: Amount) -> Result<Amount, Rejection> {
    balance
        .checked_sub(amount)
        .ok_or(Rejection::InsufficientFunds {
            balance,
            needed: amount,
        })
}

fn credit<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    to: &AccountId,
    amount: Amount,
) -> Result<(), Rejection> {
    let side = read_side(state, to)?;
    let credit = credited(state, &side, side.balance, amount)?;
    set_credited(state, to, credit)
}

fn debit<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    from: &AccountId,
    amount: Amount,
) -> Result<(), Rejection> {
    let side = read_side(state, from)?;
    set_balance(state, from, debited(side.balance, amount)?)
}

/// Move `amount` from one account to another, updating positions across
/// cooperatives. Zero-amount legs do nothing.
///
/// Each account is read once and written once; the checks and their order
/// are those of checking both accounts, debiting `from`, then crediting
/// `to` (which, if it is `from`, sees the debited balance).
pub fn transfer<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    from: &AccountId,
    to: &AccountId,
    amount: Amount,
    kind: LegKind,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Ok(());
    }
    let payer = read_side(state, from)?;
    let payee = read_side(state, to)?;
    let payer_balance = debited(payer.balance, amount)?;
    let payee_before = if from == to {
        payer_balance
    } else {
        payee.balance
    };
    let payee_credit = credited(state, &payee, payee_before, amount)?;
    set_balance(state, from, payer_balance)?;
    set_credited(state, to, payee_credit)?;
    if payer.home != payee.home {
        move_position(state, &payer.home, &payee.home, amount)?;
    } else {
        add_to_stat(state, &payer.home, amount, |s| &mut s.on_us_volume)?;
    }
    if kind == LegKind::Fee {
        add_to_stat(state, &payee.home, amount, |s| &mut s.fees_earned)?;
    }
    Ok(())
}

/// `*total += amount`, refusing overflow.
fn add_to(total: &mut Amount, amount: Amount) -> Result<(), Rejection> {
    *total = total.checked_add(amount).ok_or(Rejection::Overflow)?;
    Ok(())
}

/// Add `amount` to one of cooperative `id`'s open-window statistics.
fn add_to_stat<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: &CoopId,
    amount: Amount,
    stat: fn(&mut WindowStats) -> &mut Amount,
) -> Result<(), Rejection> {
    let coop = state
        .cooperative_mut(id)
        .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))?;
    add_to(stat(&mut coop.stats), amount)
}

fn move_position<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    debtor_id: &CoopId,
    creditor_id: &CoopId,
    amount: Amount,
) -> Result<(), Rejection> {
    let unknown = |id: &CoopId| Rejection::UnknownCooperative(id.to_string());
    let a = Position::from(amount);
    let debtor = state
        .cooperative_mut(debtor_id)
        .ok_or_else(|| unknown(debtor_id))?;
    let new_position = debtor.position.checked_sub(a).ok_or(Rejection::Overflow)?;
    // Unsettled credits give no headroom: only closed-window debits count.
    let exposure = new_position
        .checked_add(debtor.unsettled_debit)
        .ok_or(Rejection::Overflow)?;
    let floor = Position::from(debtor.ndc)
        .checked_neg()
        .ok_or(Rejection::Overflow)?;
    if exposure < floor {
        return Err(Rejection::NetDebitCapExceeded {
            participant: debtor_id.to_string(),
        });
    }
    debtor.position = new_position;
    let row = debtor.bilateral.entry(creditor_id.clone()).or_insert(0);
    *row = row.checked_sub(a).ok_or(Rejection::Overflow)?;
    add_to(&mut debtor.stats.gross_sent, amount)?;

    let creditor = state
        .cooperative_mut(creditor_id)
        .ok_or_else(|| unknown(creditor_id))?;
    creditor.position = creditor
        .position
        .checked_add(a)
        .ok_or(Rejection::Overflow)?;
    let row = creditor.bilateral.entry(debtor_id.clone()).or_insert(0);
    *row = row.checked_add(a).ok_or(Rejection::Overflow)?;
    add_to(&mut creditor.stats.gross_received, amount)
}

/// Create e-money in `to` (cash received at the counter of `to`'s home).
pub fn mint<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    to: &AccountId,
    amount: Amount,
) -> Result<(), Rejection> {
    credit(state, to, amount)?;
    let mut counters = state.counters();
    counters.minted = counters
        .minted
        .checked_add(u128::from(amount))
        .ok_or(Rejection::Overflow)?;
    state.put_counters(counters);
    Ok(())
}

/// Cash (or a cooperative's own money) received at `coop`'s counter for
/// `to`: minted into `coop`'s float, then moved to `to` by an ordinary
/// leg, so the rules of a credit and the net debit cap apply as to any
/// leg (cash-in at another counter, a payout line).
pub fn deposit_at<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &CoopId,
    to: &AccountId,
    amount: Amount,
) -> Result<(), Rejection> {
    let float = AccountId::Float(coop.clone());
    mint(state, &float, amount)?;
    transfer(state, &float, to, amount, LegKind::Principal)
}

/// Destroy e-money in `from` (cash paid out at the counter of `from`'s home).
pub fn burn<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    from: &AccountId,
    amount: Amount,
) -> Result<(), Rejection> {
    debit(state, from, amount)?;
    let mut counters = state.counters();
    counters.burned = counters
        .burned
        .checked_add(u128::from(amount))
        .ok_or(Rejection::Overflow)?;
    state.put_counters(counters);
    Ok(())
}
