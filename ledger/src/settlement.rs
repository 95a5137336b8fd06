//! Settlement windows: positions are frozen per window and settled off-ledger.
//!
//! Windows close on the governed schedule ([`crate::schedule`]), never at a
//! cooperative's request: at the start of the first block past a cut-off
//! ([`close_on_schedule`], run by the proposer and every validator alike
//! before the block's transactions), the open window `n` is frozen and
//! `n + 1` opens, unless nothing at all happened in it (no leg moved money:
//! positions and statistics all zero), in which case it stays open until a
//! later cut-off. `CloseSettlementWindow` is rejected with
//! `window_closes_on_schedule`.
//!
//! At the close the frozen positions move into each participant's
//! `unsettled` sum, and the negative ones (what a participant owes) also
//! into its `unsettled_debit` sum, which still counts against its net debit
//! cap. A positive frozen position (what it is owed) gives no headroom until
//! the window is settled: the money has not arrived, and each window
//! settles on its own, so a debit in one is a cash obligation whatever
//! another window holds. Each cooperative with a non-zero position signs
//! `AcknowledgeSettlement` once its bank transfer is done. When every such
//! cooperative has acknowledged, the window is settled and its positions
//! leave the `unsettled` and `unsettled_debit` sums. The `network`
//! pseudo-participant has no key: its transfers are part of the
//! cooperatives' own, so it never acknowledges.
//!
//! Why no cooperative can shrink another's headroom (what the schedule is
//! for): a cooperative's exposure is its open position plus Σ min(0, p) over
//! its unsettled windows. Another cooperative cannot move the cut-offs; its
//! own transactions can only add to the first cooperative's positions (it
//! pays in, cashes in for its members: a cash-in must deposit more than its
//! fees, `fee_exceeds_amount`), and adding to a position never lowers
//! min(0, p) in any window; settlement needs the cooperative's own
//! acknowledgement when it has a position there, and only removes debits
//! from its exposure. Only its own members' payments and cash-outs, the
//! schedule every node applies, and governance (more than 2/3 of voting
//! power) can lower it.

use crate::rejection::Rejection;
use crate::schedule::SettlementSchedule;
pub use crate::settlement_window::{SettlementWindow, WindowEntry};
use crate::state::{Overlay, StateRead};
use crate::types::{CoopId, WindowStats};
use std::collections::{BTreeMap, BTreeSet};

/// At the start of block `height` (time `time_ms`, its parent's
/// `parent_ms`): close the open window if a cut-off of the schedule falls
/// in between and the window had any activity. Returns the closed window's
/// number. A close that cannot be carried out (a sum out of range) writes
/// nothing and leaves the window open; every node finds the same.
pub fn close_on_schedule<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    height: u64,
    parent_ms: u64,
    time_ms: u64,
) -> Option<u64> {
    let schedule: SettlementSchedule = state.params_ref()?.settlement;
    if !schedule.cutoff_between(parent_ms, time_ms) || !has_activity(state) {
        return None;
    }
    let mut nested = Overlay::new(&*state);
    let closed = close_window(&mut nested, height, time_ms).ok()?;
    let writes = nested.into_writes();
    state.merge(writes);
    Some(closed)
}

/// Whether any leg moved money in the open window.
fn has_activity<S: StateRead + ?Sized>(state: &S) -> bool {
    let Some(params) = state.params_ref() else {
        return false;
    };
    params.participants.iter().any(|id| {
        state
            .cooperative(id)
            .is_some_and(|c| c.position != 0 || c.stats != WindowStats::default())
    })
}

/// Close the open window at block `height` (time `time_ms`); returns its number.
fn close_window<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    height: u64,
    time_ms: u64,
) -> Result<u64, Rejection> {
    let mut counters = state.counters();
    let number = counters.open_window;
    let params = state.params().ok_or(Rejection::Overflow)?;
    let mut entries = BTreeMap::new();
    for id in &params.participants {
        let Some(mut coop) = state.cooperative(id) else {
            continue;
        };
        if coop.position == 0 && coop.stats == WindowStats::default() {
            continue;
        }
        entries.insert(
            id.clone(),
            WindowEntry {
                position: coop.position,
                stats: coop.stats,
                bilateral: std::mem::take(&mut coop.bilateral),
            },
        );
        coop.unsettled = coop
            .unsettled
            .checked_add(coop.position)
            .ok_or(Rejection::Overflow)?;
        coop.unsettled_debit = coop
            .unsettled_debit
            .checked_add(coop.position.min(0))
            .ok_or(Rejection::Overflow)?;
        coop.position = 0;
        coop.stats = WindowStats::default();
        state.put_cooperative(coop);
    }
    let mut window = SettlementWindow {
        number,
        closed_at_height: height,
        closed_at_ms: time_ms,
        entries,
        acknowledged: BTreeSet::new(),
        settled: false,
    };
    if window.fully_acknowledged() {
        settle(state, &mut window)?;
    }
    state.put_window(window);
    counters.open_window = counters
        .open_window
        .checked_add(1)
        .ok_or(Rejection::Overflow)?;
    state.put_counters(counters);
    Ok(number)
}

/// Record `coop`'s acknowledgement of window `number`.
pub fn acknowledge<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &CoopId,
    number: u64,
) -> Result<(), Rejection> {
    let mut window = state
        .window(number)
        .ok_or(Rejection::UnknownWindow(number))?;
    let owes_ack = window.required_acks().any(|id| id == coop);
    if window.settled || !owes_ack || window.acknowledged.contains(coop) {
        return Err(Rejection::NothingToAcknowledge(number));
    }
    window.acknowledged.insert(coop.clone());
    if window.fully_acknowledged() {
        settle(state, &mut window)?;
    }
    state.put_window(window);
    Ok(())
}

fn settle<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    window: &mut SettlementWindow,
) -> Result<(), Rejection> {
    for (id, entry) in &window.entries {
        let mut coop = state
            .cooperative(id)
            .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))?;
        coop.unsettled = coop
            .unsettled
            .checked_sub(entry.position)
            .ok_or(Rejection::Overflow)?;
        coop.unsettled_debit = coop
            .unsettled_debit
            .checked_sub(entry.position.min(0))
            .ok_or(Rejection::Overflow)?;
        state.put_cooperative(coop);
    }
    window.settled = true;
    Ok(())
}
