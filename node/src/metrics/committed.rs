//! The series that come from the committed state, rendered from the
//! committed view ([`crate::committed_view`]) the runtime builds once per
//! block: each cooperative's net debit cap and its headroom, the settlement
//! windows waiting for acknowledgements and who owes them, and the last
//! block's time. A scrape reads the view (a pointer copy) and writes one
//! line per cooperative: bounded by the participants
//! ([`kopnet_ledger::bounds::PARTICIPANTS_MAX`]), never by the accounts or
//! the windows.
//!
//! Figures are the same on every node at the same height (the dashboard
//! takes the `max` over nodes). Money is in whole rupiah, as in the ledger.
//! Removed cooperatives (inactive) have no cap series: they can no longer
//! owe more.

use crate::committed_view::CommittedView;
use std::fmt::Write;

/// The committed-state series of `view` in Prometheus' text format.
pub fn render(view: &CommittedView, out: &mut String) {
    render_ndc(view, out);
    render_settlement(view, out);
    let _ = writeln!(
        out,
        "# HELP kopnet_last_block_time_ms The committed head's header time (ms since the Unix epoch; 0 before block 1).\n# TYPE kopnet_last_block_time_ms gauge\nkopnet_last_block_time_ms {}",
        view.last_block_time_ms
    );
}

/// Net debit cap and headroom per active participant (`network` included:
/// it too has a cap).
fn render_ndc(view: &CommittedView, out: &mut String) {
    let active = || view.cooperatives.iter().filter(|c| c.coop.active);
    let _ = writeln!(out, "# HELP kopnet_coop_ndc_rupiah Net debit cap of each participant, in rupiah.\n# TYPE kopnet_coop_ndc_rupiah gauge");
    for c in active() {
        let _ = writeln!(
            out,
            "kopnet_coop_ndc_rupiah{{coop=\"{}\"}} {}",
            c.coop.id, c.coop.ndc
        );
    }
    let _ = writeln!(out, "# HELP kopnet_coop_ndc_headroom_rupiah How much more each participant may come to owe before a leg is rejected with net_debit_cap_exceeded (cap + open position + unsettled debits; 0 at or past the cap), in rupiah.\n# TYPE kopnet_coop_ndc_headroom_rupiah gauge");
    for c in active() {
        let _ = writeln!(
            out,
            "kopnet_coop_ndc_headroom_rupiah{{coop=\"{}\"}} {}",
            c.coop.id,
            c.coop.ndc_headroom()
        );
    }
}

/// The open window, the closed ones waiting for acknowledgements, and per
/// cooperative how many it owes (0 for each that owes none, so every
/// cooperative has the series).
fn render_settlement(view: &CommittedView, out: &mut String) {
    let s = &view.settlement;
    let period_ms = view.params.as_ref().map_or(0, |p| p.settlement.period_ms);
    let oldest_closed_ms = s.oldest.map_or(0, |o| o.closed_at_ms);
    let series: [(&str, &str, u64); 4] = [
        (
            "kopnet_settlement_open_window",
            "Number of the open settlement window.",
            view.counters.open_window,
        ),
        (
            "kopnet_settlement_windows_unacknowledged",
            "Closed settlement windows not settled yet: a cooperative with a position there has not acknowledged its transfer.",
            s.unacknowledged,
        ),
        (
            "kopnet_settlement_oldest_unacknowledged_closed_ms",
            "When the oldest unacknowledged window closed (block time, ms since the Unix epoch; 0 when none).",
            oldest_closed_ms,
        ),
        (
            "kopnet_settlement_period_ms",
            "The settlement schedule's period: a window closes this often when anything happened in it.",
            period_ms,
        ),
    ];
    for (name, help, value) in series {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    let _ = writeln!(out, "# HELP kopnet_settlement_acks_owed Closed windows waiting for this cooperative's acknowledgement.\n# TYPE kopnet_settlement_acks_owed gauge");
    for c in view.cooperatives.iter().filter(|c| !c.coop.id.is_network()) {
        let owed = s.acks_owed.get(c.coop.id.as_str()).copied().unwrap_or(0);
        // A removed cooperative still shows while it owes one.
        if !c.coop.active && owed == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "kopnet_settlement_acks_owed{{coop=\"{}\"}} {owed}",
            c.coop.id
        );
    }
}
