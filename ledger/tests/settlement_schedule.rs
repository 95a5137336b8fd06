//! Settlement windows close on the governed schedule, at the first block
//! past a cut-off, before that block's transactions; never at a
//! cooperative's request, and not when nothing happened in them. No
//! cooperative can lower another's net debit cap headroom.

mod common;
use common::*;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::{AccountKind, Action, GovAction, MemoryStorage};

/// The demo city with windows every 10 s, cut-offs 3 s past each multiple.
fn city() -> Harness<MemoryStorage> {
    let mut genesis = kopnet_ledger::testkit::demo_genesis(CHAIN, 4, 50_000);
    genesis.settlement = SettlementSchedule {
        period_ms: 10_000,
        offset_ms: 3_000,
    };
    Harness::with_genesis(MemoryStorage::new(), genesis)
}

#[test]
fn no_cooperative_closes_a_window_at_will() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    h.run(&ani, pay(budi, 10_000, 1)).unwrap();
    let root = h.ledger.state_root();
    let records = h.ledger.cooperatives();
    for slug in [
        "ksp-sejahtera",
        "pasar-makmur",
        "angkot-maju",
        "konsumen-rukun",
    ] {
        for window in [0, 1] {
            let err = h
                .run(&coop(slug), Action::CloseSettlementWindow { window })
                .unwrap_err();
            assert_eq!(err.code(), "window_closes_on_schedule", "{slug}");
        }
    }
    // A member may not either (it is a cooperative's action at all).
    let err = h
        .run(&ani, Action::CloseSettlementWindow { window: 0 })
        .unwrap_err();
    assert_eq!(err.code(), "not_authorized");
    // Only nonces moved: positions, windows, everything else as before.
    assert_ne!(h.ledger.state_root(), root);
    assert_eq!(h.ledger.counters().open_window, 0);
    for (before, after) in records.iter().zip(h.ledger.cooperatives()) {
        assert_eq!(
            (before.position, before.unsettled, before.unsettled_debit),
            (after.position, after.unsettled, after.unsettled_debit),
            "{}",
            before.id
        );
    }
}

#[test]
fn the_first_block_past_a_cut_off_closes_the_window_before_its_transactions() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    h.run(&ani, pay(budi, 10_000, 1)).unwrap();
    // The blocks so far are at 1, 2, ... ms: before the first cut-off (3 s).
    h.block_at(2_999, vec![]);
    assert_eq!(h.ledger.counters().open_window, 0);
    // The block at the cut-off closes window 0; its own payment is the
    // first of window 1.
    let tx = h.sign(&ani, pay(budi, 5_000, 2));
    assert!(h.block_at(3_000, vec![tx])[0].is_ok());
    let window = h.ledger.state_window(0).unwrap();
    assert_eq!(
        (window.closed_at_height, window.closed_at_ms),
        (h.ledger.height(), 3_000)
    );
    assert_eq!(window.entries[&id("ksp-sejahtera")].position, -10_000);
    assert_eq!(h.position("ksp-sejahtera"), -5_000);
    assert_eq!(h.ledger.counters().open_window, 1);
    // Blocks before the next cut-off (13 s) leave window 1 open.
    h.block_at(12_999, vec![]);
    assert_eq!(h.ledger.counters().open_window, 1);
    // A block far past several cut-offs closes the window once.
    h.block_at(100_000, vec![]);
    assert_eq!(h.ledger.counters().open_window, 2);
    assert_eq!(h.ledger.state_window(1).unwrap().closed_at_ms, 100_000);
}

#[test]
fn an_empty_window_stays_open_and_on_us_activity_counts() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let cici = h.member("cici", "ksp-sejahtera", AccountKind::Member, 0);
    // Registrations and a mint move no leg: nothing to close.
    assert_eq!(h.cut_off(), None);
    assert_eq!(h.cut_off(), None);
    assert_eq!(h.ledger.counters().open_window, 0);
    assert!(h.ledger.windows().is_empty());
    // An on-us payment is activity: the window closes (and, with no
    // position to settle, is settled at once).
    h.run(&ani, pay(cici, 1_000, 1)).unwrap();
    assert_eq!(h.cut_off(), Some(0));
    let window = h.ledger.state_window(0).unwrap();
    assert!(window.settled);
    assert_eq!(
        window.entries[&id("ksp-sejahtera")].stats.on_us_volume,
        1_000
    );
    assert_eq!(h.cut_off(), None);
}

#[test]
fn governance_moves_the_schedule_from_the_next_block() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let daily = SettlementSchedule {
        period_ms: 86_400_000,
        offset_ms: 36_000_000,
    };
    h.run(
        &coop("ksp-sejahtera"),
        Action::Propose {
            action: GovAction::SetSettlementSchedule { schedule: daily },
        },
    )
    .unwrap();
    for slug in ["pasar-makmur", "angkot-maju"] {
        h.run(&coop(slug), Action::Approve { proposal: 0 }).unwrap();
    }
    assert_eq!(h.ledger.params().unwrap().settlement, daily);
    h.run(&ani, pay(budi, 1_000, 1)).unwrap();
    // The old 10-s cut-offs no longer close anything; the daily one does
    // (10:00 UTC, 17:00 WIB).
    h.block_at(3_000, vec![]);
    h.block_at(35_999_999, vec![]);
    assert_eq!(h.ledger.counters().open_window, 0);
    assert_eq!(h.cut_off(), Some(0));
    assert_eq!(h.ledger.state_window(0).unwrap().closed_at_ms, 36_000_000);
}

/// What the issue saw: a cooperative closing windows back to back split the
/// others' credits from their debits and ate their caps. Now its closes are
/// refused, the headroom of everyone else stays where it was, and their
/// payments go through.
#[test]
fn closing_back_to_back_cannot_lower_another_cooperatives_headroom() {
    let mut h = city();
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 200_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 200_000);
    // Pasar is owed 30.000 in the open window: 80.000 of room to owe.
    h.run(&ani, pay(budi, 30_000, 1)).unwrap();
    let headroom = h.coop_record("pasar-makmur").ndc_headroom();
    assert_eq!(headroom, 80_000);
    for _ in 0..5 {
        let err = h
            .run(
                &coop("angkot-maju"),
                Action::CloseSettlementWindow { window: 0 },
            )
            .unwrap_err();
        assert_eq!(err.code(), "window_closes_on_schedule");
        assert_eq!(h.coop_record("pasar-makmur").ndc_headroom(), headroom);
    }
    // Pasar's member pays 80.000 back across: exactly its room.
    h.run(&budi, pay(ani, 80_000, 1)).unwrap();
    assert_eq!(h.coop_record("pasar-makmur").ndc_headroom(), 0);
}

/// An agent signs a cash-in alone, so one that would charge another
/// cooperative's member more in fees than it deposits (Rp 1.000 at another
/// counter) is refused: it would lower that cooperative's position.
#[test]
fn a_cash_in_must_deposit_more_than_its_fees() {
    let mut h = city();
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 50_000);
    let before = h.coop_record("pasar-makmur").ndc_headroom();
    for amount in [1, 999, 1_000] {
        let err = h
            .run(
                &coop("angkot-maju"),
                Action::CashIn {
                    agent: id("angkot-maju"),
                    member: budi,
                    amount,
                },
            )
            .unwrap_err();
        assert_eq!(err.code(), "fee_exceeds_amount", "{amount}");
    }
    assert_eq!(h.balance(&budi), 50_000);
    h.run(
        &coop("angkot-maju"),
        Action::CashIn {
            agent: id("angkot-maju"),
            member: budi,
            amount: 1_001,
        },
    )
    .unwrap();
    assert_eq!(h.balance(&budi), 50_001);
    assert!(h.coop_record("pasar-makmur").ndc_headroom() > before);
    // At the member's own cooperative there is no fee: any amount goes.
    h.run(
        &coop("pasar-makmur"),
        Action::CashIn {
            agent: id("pasar-makmur"),
            member: budi,
            amount: 1,
        },
    )
    .unwrap();
}
