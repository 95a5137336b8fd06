//! Settlement windows: positions are frozen per window and settled off-ledger.
//!
//! `CloseSettlementWindow { window }` (any active cooperative) freezes the open
//! positions into window `window` and opens `window + 1`; the frozen positions
//! move into each participant's `unsettled` sum, and the negative ones (what a
//! participant owes) also into its `unsettled_debit` sum, which still counts
//! against its net debit cap. A positive frozen position (what it is owed)
//! gives no headroom until the window is settled: the money has not arrived.
//! Each cooperative with a non-zero position signs
//! `AcknowledgeSettlement` once its bank transfer is done. When every such
//! cooperative has acknowledged, the window is settled and its positions leave
//! the `unsettled` and `unsettled_debit` sums. The `network` pseudo-participant has no key: its
//! transfers are part of the cooperatives' own, so it never acknowledges.

use crate::rejection::Rejection;
pub use crate::settlement_window::{SettlementWindow, WindowEntry};
use crate::state::{Overlay, StateRead};
use crate::types::{CoopId, WindowStats};
use std::collections::{BTreeMap, BTreeSet};

/// Close the open window `number` at `height`.
pub fn close_window<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    number: u64,
    height: u64,
) -> Result<(), Rejection> {
    let mut counters = state.counters();
    if number != counters.open_window {
        return Err(Rejection::WindowNotOpen(number));
    }
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
    Ok(())
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
