//! Invariants that must hold after every block, checkable at run time.

use crate::figures::Figures;
use crate::settlement_window::SettlementWindow;
use crate::state::{Counters, State, StateKey, StateRead, StateValue};
use crate::types::{CoopId, Position};
use std::collections::BTreeMap;

/// A broken invariant: this is a bug, never a user error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    #[error("money not conserved: balances {balances}, minted - burned {supply}")]
    Conservation { balances: i128, supply: i128 },
    #[error("open-window positions sum to {0}, not 0")]
    OpenPositions(Position),
    #[error("window {window} positions sum to {sum}, not 0")]
    WindowPositions { window: u64, sum: Position },
    #[error("unsettled positions sum to {0}, not 0")]
    UnsettledPositions(Position),
    #[error("unsettled sums of {participant} do not match its unsettled windows")]
    UnsettledSums { participant: String },
    #[error("account balance {balance} above its cap {cap}")]
    BalanceCap { balance: u64, cap: u64 },
    #[error("participant {participant} beyond its net debit cap")]
    NetDebitCap { participant: String },
    #[error("bilateral positions of {participant} do not match its net position")]
    Bilateral { participant: String },
    #[error("arithmetic overflow while checking")]
    Overflow,
}

/// Totals a check computed, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub balances: u128,
    pub minted: u128,
    pub burned: u128,
    pub members: u64,
}

/// Check conservation (Σ balances = minted − burned) and that positions sum to
/// zero in the open window, in every closed window and across unsettled sums,
/// and that each participant's `unsettled` and `unsettled_debit` are the sums
/// of its positions (and of its negative positions) in unsettled windows.
/// Balances are `u64`, so none can be below zero.
///
/// Caps are checked by [`check_caps`]: governance may lower a tier limit or a
/// net debit cap below what an account or participant already holds (it then
/// cannot receive or owe more), so caps are an invariant only while limits
/// are not lowered.
pub fn check(state: &State) -> Result<Totals, InvariantViolation> {
    let mut tally = Tally::default();
    for (_, value) in state.iter() {
        tally.add(state, value)?;
    }
    conclude(tally, &state.counters())
}

/// [`check`] without the pass over every account: the sums over member
/// and internal accounts come from `figures` (moved block by block by the
/// ledger, see [`crate::figures`]), everything else is checked as [`check`]
/// does, over the cooperatives and the settlement windows. Work in
/// proportion to the cooperatives and windows, not to the accounts: what the
/// node runs once per block.
pub fn check_with(state: &State, figures: &Figures) -> Result<Totals, InvariantViolation> {
    if figures.overflowed {
        return Err(InvariantViolation::Overflow);
    }
    let mut tally = Tally::default();
    let participants = state.params_ref().map(|p| p.participants.as_slice());
    for id in participants.unwrap_or_default() {
        if let Some(value) = state.get_ref(&StateKey::Cooperative(id.clone())) {
            tally.add(state, value)?;
        }
    }
    let counters = state.counters();
    for number in 0..counters.open_window {
        if let Some(value) = state.get_ref(&StateKey::Window(number)) {
            tally.add(state, value)?;
        }
    }
    tally.totals.balances = figures.balances;
    tally.totals.members = figures.accounts;
    conclude(tally, &counters)
}

/// The checks both passes end with: conservation against what was minted
/// and burned, then the positions.
fn conclude(mut tally: Tally, counters: &Counters) -> Result<Totals, InvariantViolation> {
    tally.totals.minted = counters.minted;
    tally.totals.burned = counters.burned;
    check_conservation(&tally.totals)?;
    if tally.open != 0 {
        return Err(InvariantViolation::OpenPositions(tally.open));
    }
    if tally.unsettled != 0 {
        return Err(InvariantViolation::UnsettledPositions(tally.unsettled));
    }
    tally.check_unsettled_sums()?;
    Ok(tally.totals)
}

/// What [`check`] adds up in one pass over the state.
#[derive(Default)]
struct Tally<'a> {
    totals: Totals,
    /// Sum of the participants' open-window positions.
    open: Position,
    /// Sum of the participants' unsettled positions.
    unsettled: Position,
    /// Per participant: (unsettled, unsettled_debit) as recorded.
    recorded: BTreeMap<&'a CoopId, (Position, Position)>,
    /// Per participant: (unsettled, unsettled_debit) as recomputed from the
    /// windows that are not settled.
    from_windows: BTreeMap<&'a CoopId, (Position, Position)>,
}

impl<'a> Tally<'a> {
    /// Count one state value, checking what can be checked on its own (a
    /// participant's bilateral row, a window's positions summing to zero).
    fn add(&mut self, state: &State, value: &'a StateValue) -> Result<(), InvariantViolation> {
        let overflow = || InvariantViolation::Overflow;
        match value {
            StateValue::Member(m) => {
                self.add_balance(m.balance)?;
                self.totals.members = self.totals.members.saturating_add(1);
            }
            StateValue::Balance(b) => self.add_balance(*b)?,
            StateValue::Cooperative(c) => {
                check_bilateral(state, &c.id, c.position, &c.bilateral, None)?;
                self.open = self.open.checked_add(c.position).ok_or_else(overflow)?;
                self.unsettled = self
                    .unsettled
                    .checked_add(c.unsettled)
                    .ok_or_else(overflow)?;
                self.recorded
                    .insert(&c.id, (c.unsettled, c.unsettled_debit));
            }
            StateValue::Window(w) => self.add_window(w)?,
            _ => {}
        }
        Ok(())
    }

    fn add_balance(&mut self, balance: u64) -> Result<(), InvariantViolation> {
        self.totals.balances = self
            .totals
            .balances
            .checked_add(u128::from(balance))
            .ok_or(InvariantViolation::Overflow)?;
        Ok(())
    }

    /// A window's positions sum to zero; an unsettled one adds to its
    /// participants' recomputed unsettled sums.
    fn add_window(&mut self, w: &'a SettlementWindow) -> Result<(), InvariantViolation> {
        let overflow = || InvariantViolation::Overflow;
        let sum = w.position_sum().ok_or_else(overflow)?;
        if sum != 0 {
            return Err(InvariantViolation::WindowPositions {
                window: w.number,
                sum,
            });
        }
        if !w.settled {
            for (id, entry) in &w.entries {
                let sums = self.from_windows.entry(id).or_default();
                sums.0 = sums.0.checked_add(entry.position).ok_or_else(overflow)?;
                sums.1 = sums
                    .1
                    .checked_add(entry.position.min(0))
                    .ok_or_else(overflow)?;
            }
        }
        Ok(())
    }

    /// Each participant's recorded unsettled sums equal the ones recomputed
    /// from its unsettled windows, and no window names an unknown one.
    fn check_unsettled_sums(&self) -> Result<(), InvariantViolation> {
        for (id, sums) in &self.recorded {
            if self.from_windows.get(id).copied().unwrap_or_default() != *sums {
                return Err(InvariantViolation::UnsettledSums {
                    participant: id.to_string(),
                });
            }
        }
        if let Some(id) = self
            .from_windows
            .keys()
            .find(|id| !self.recorded.contains_key(*id))
        {
            return Err(InvariantViolation::UnsettledSums {
                participant: id.to_string(),
            });
        }
        Ok(())
    }
}

/// Σ balances = minted − burned.
fn check_conservation(totals: &Totals) -> Result<(), InvariantViolation> {
    let supply = totals
        .minted
        .checked_sub(totals.burned)
        .ok_or(InvariantViolation::Overflow)?;
    if supply != totals.balances {
        return Err(InvariantViolation::Conservation {
            balances: i128::try_from(totals.balances).unwrap_or(i128::MAX),
            supply: i128::try_from(supply).unwrap_or(i128::MAX),
        });
    }
    Ok(())
}

/// No member balance above its tier's cap and no participant beyond its net
/// debit cap (holds as long as governance has not lowered a limit).
pub fn check_caps(state: &State) -> Result<(), InvariantViolation> {
    let limits = state.params().map(|p| p.tier_limits).unwrap_or_default();
    for (_, value) in state.iter() {
        match value {
            StateValue::Member(m) => {
                let cap = limits.cap(m.tier);
                if m.balance > cap {
                    return Err(InvariantViolation::BalanceCap {
                        balance: m.balance,
                        cap,
                    });
                }
            }
            StateValue::Cooperative(c) => {
                let exposure = c.ndc_exposure().ok_or(InvariantViolation::Overflow)?;
                if exposure < -Position::from(c.ndc) {
                    return Err(InvariantViolation::NetDebitCap {
                        participant: c.id.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A participant's bilateral row sums to its net position, and the matrix is
/// antisymmetric: what X is owed by Y, Y owes X.
fn check_bilateral(
    state: &State,
    id: &crate::types::CoopId,
    position: Position,
    row: &std::collections::BTreeMap<crate::types::CoopId, Position>,
    window: Option<&crate::settlement_window::SettlementWindow>,
) -> Result<(), InvariantViolation> {
    let broken = || InvariantViolation::Bilateral {
        participant: id.to_string(),
    };
    let sum = row
        .values()
        .try_fold(0i128, |acc, v| acc.checked_add(*v))
        .ok_or(InvariantViolation::Overflow)?;
    if sum != position {
        return Err(broken());
    }
    for (other, amount) in row {
        let mirror = match window {
            Some(w) => w
                .entries
                .get(other)
                .and_then(|e| e.bilateral.get(id))
                .copied(),
            None => state
                .cooperative(other)
                .and_then(|c| c.bilateral.get(id).copied()),
        };
        if mirror.unwrap_or(0).checked_neg() != Some(*amount) {
            return Err(broken());
        }
    }
    Ok(())
}
