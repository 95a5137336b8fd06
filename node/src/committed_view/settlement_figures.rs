//! The settlement windows still waiting for acknowledgements, as of the
//! last block: how many, the oldest one, and how many each cooperative owes
//! (for `/metrics`: `kopnet_settlement_windows_unacknowledged`,
//! `kopnet_settlement_acks_owed{coop}`, README "Monitoring a node").
//!
//! Computed once per block with the committed view, never on a request.
//! A settled window never becomes unsettled again, so each view starts its
//! walk at the previous view's oldest unsettled window ([`scan_from`]): the
//! work per block is the windows from the oldest unsettled one to the open
//! one — a handful while cooperatives acknowledge, and never more than the
//! pass over every closed window the block's invariant check already makes
//! ([`kopnet_ledger::invariants::check_with`]).
//!
//! [`scan_from`]: SettlementFigures::scan_from

use kopnet_ledger::state::{StateKey, StateRead, StateValue};
use std::collections::BTreeMap;

/// What the closed, unsettled windows add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettlementFigures {
    /// Closed windows not settled yet: some cooperative with a position
    /// there has not acknowledged its transfer.
    pub unacknowledged: u64,
    /// The oldest of them: its number and its close (block time, ms).
    pub oldest: Option<OldestUnsettled>,
    /// Per cooperative id: unsettled windows whose acknowledgement it owes.
    /// Only cooperatives that owe one.
    pub acks_owed: BTreeMap<String, u64>,
    /// Windows below this number are all settled: where the next block's
    /// walk starts.
    pub scan_from: u64,
}

/// The oldest closed window not settled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OldestUnsettled {
    pub number: u64,
    pub closed_at_ms: u64,
}

impl SettlementFigures {
    /// The figures of `state`, whose windows below `scan_from` are known to
    /// be settled (0 when nothing is known).
    pub fn of<S: StateRead + ?Sized>(state: &S, scan_from: u64) -> SettlementFigures {
        let open = state.counters().open_window;
        let mut figures = SettlementFigures {
            scan_from: open,
            ..SettlementFigures::default()
        };
        for number in scan_from.min(open)..open {
            // Borrowed, not cloned: a window holds its entries' maps.
            let Some(StateValue::Window(window)) = state.get_ref(&StateKey::Window(number)) else {
                continue;
            };
            if window.settled {
                continue;
            }
            figures.unacknowledged = figures.unacknowledged.saturating_add(1);
            if figures.oldest.is_none() {
                figures.scan_from = number;
                figures.oldest = Some(OldestUnsettled {
                    number,
                    closed_at_ms: window.closed_at_ms,
                });
            }
            for id in window.required_acks() {
                if !window.acknowledged.contains(id) {
                    let owed = figures.acks_owed.entry(id.to_string()).or_insert(0);
                    *owed = owed.saturating_add(1);
                }
            }
        }
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::settlement::{SettlementWindow, WindowEntry};
    use kopnet_ledger::state::{Overlay, State};
    use kopnet_ledger::types::WindowStats;
    use kopnet_ledger::CoopId;
    use std::collections::BTreeSet;

    fn coop(id: &str) -> CoopId {
        CoopId::new(id).unwrap()
    }

    fn window(number: u64, positions: &[(&str, i128)], acked: &[&str]) -> SettlementWindow {
        let entries = positions
            .iter()
            .map(|(id, position)| {
                (
                    coop(id),
                    WindowEntry {
                        position: *position,
                        stats: WindowStats::default(),
                        bilateral: BTreeMap::new(),
                    },
                )
            })
            .collect();
        let acknowledged: BTreeSet<CoopId> = acked.iter().map(|id| coop(id)).collect();
        let mut w = SettlementWindow {
            number,
            closed_at_height: number * 10,
            closed_at_ms: 1_000 + number,
            entries,
            acknowledged,
            settled: false,
        };
        let settled = w.required_acks().all(|id| w.acknowledged.contains(id));
        w.settled = settled;
        w
    }

    /// A state with windows 0..windows.len() closed and the next one open.
    fn state_with(windows: Vec<SettlementWindow>) -> State {
        let base = State::default();
        let mut overlay = Overlay::new(&base);
        let mut counters = overlay.counters();
        counters.open_window = windows.len() as u64;
        overlay.put_counters(counters);
        for w in windows {
            overlay.put_window(w);
        }
        let mut state = State::default();
        state.apply(&overlay.into_writes());
        state
    }

    #[test]
    fn counts_unsettled_windows_the_oldest_and_who_owes_acks() {
        let state = state_with(vec![
            window(0, &[("pasar", -5), ("angkot", 5)], &["pasar", "angkot"]),
            window(1, &[("pasar", -5), ("angkot", 5)], &["pasar"]),
            window(2, &[("pasar", 0), ("angkot", 0)], &[]),
            window(3, &[("pasar", -3), ("angkot", 3)], &[]),
        ]);
        let figures = SettlementFigures::of(&state, 0);
        assert_eq!(figures.unacknowledged, 2);
        assert_eq!(
            figures.oldest,
            Some(OldestUnsettled {
                number: 1,
                closed_at_ms: 1_001
            })
        );
        assert_eq!(figures.acks_owed.get("angkot"), Some(&2));
        assert_eq!(figures.acks_owed.get("pasar"), Some(&1));
        assert_eq!(figures.scan_from, 1);
        // Starting the walk at the oldest unsettled window changes nothing.
        assert_eq!(SettlementFigures::of(&state, figures.scan_from), figures);
    }

    #[test]
    fn all_settled_means_zero_and_the_walk_starts_at_the_open_window() {
        let state = state_with(vec![window(
            0,
            &[("pasar", -5), ("angkot", 5)],
            &["pasar", "angkot"],
        )]);
        let figures = SettlementFigures::of(&state, 0);
        assert_eq!(figures.unacknowledged, 0);
        assert_eq!(figures.oldest, None);
        assert!(figures.acks_owed.is_empty());
        assert_eq!(figures.scan_from, 1);
        // A start past the open window (never written) is clamped.
        assert_eq!(SettlementFigures::of(&state, 99).scan_from, 1);
    }
}
