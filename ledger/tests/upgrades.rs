//! Scheduled protocol upgrades (issue 19, point 5): governance schedules
//! the next version at a height far enough ahead, the block at that height
//! switches the version before its transactions, and the bounds hold
//! (one pending at a time, the next version only, a lead of blocks,
//! cancelling only what is pending).

mod common;
use common::*;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::upgrades::{ScheduledUpgrade, UPGRADE_LEAD_MIN_BLOCKS};
use kopnet_ledger::{Action, GovAction, MemoryStorage};

/// Propose `action` as ksp-sejahtera and approve it by two more (3 of 4):
/// the proposal's final status code (`executed` or the failure's code).
fn govern(h: &mut Harness<MemoryStorage>, action: GovAction) -> String {
    let proposal = h.ledger.counters().next_proposal;
    if let Err(e) = h.run(&coop("ksp-sejahtera"), Action::Propose { action }) {
        return e.code().to_string();
    }
    for slug in ["pasar-makmur", "angkot-maju"] {
        h.run(&coop(slug), Action::Approve { proposal }).unwrap();
    }
    match h.ledger.state().proposal(proposal).unwrap().status {
        kopnet_ledger::governance::ProposalStatus::Executed { .. } => "executed".into(),
        kopnet_ledger::governance::ProposalStatus::Failed { code, .. } => code,
        other => format!("{other:?}"),
    }
}

fn version(h: &Harness<MemoryStorage>) -> (u32, Option<ScheduledUpgrade>) {
    let params = h.ledger.params().unwrap();
    (params.protocol_version, params.upgrade)
}

#[test]
fn the_next_version_takes_over_at_its_height() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    assert_eq!(version(&h), (1, None));
    // Not the next version, or too soon: refused.
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 3,
                height: 1_000
            }
        ),
        "upgrade_out_of_range"
    );
    let soon = h.ledger.height() + 2;
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 2,
                height: soon
            }
        ),
        "upgrade_out_of_range"
    );
    assert_eq!(
        govern(&mut h, GovAction::CancelUpgrade),
        "no_upgrade_scheduled"
    );
    // Scheduled far enough ahead.
    let at = h.ledger.height() + 1 + UPGRADE_LEAD_MIN_BLOCKS + 5;
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 2,
                height: at
            }
        ),
        "executed"
    );
    assert_eq!(
        version(&h),
        (
            1,
            Some(ScheduledUpgrade {
                version: 2,
                height: at
            })
        )
    );
    // A second one while it is pending: refused.
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 2,
                height: at + 50
            }
        ),
        "upgrade_out_of_range"
    );
    // Blocks before the height run version 1; the block at it runs 2.
    while h.ledger.height() + 1 < at {
        h.block(vec![]);
        assert_eq!(version(&h).0, 1, "at {}", h.ledger.height());
    }
    h.block(vec![]);
    assert_eq!(h.ledger.height(), at);
    assert_eq!(version(&h), (2, None));
    h.ledger.check_invariants().unwrap();
}

#[test]
fn a_pending_upgrade_can_be_cancelled() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let at = h.ledger.height() + 100;
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 2,
                height: at
            }
        ),
        "executed"
    );
    assert_eq!(govern(&mut h, GovAction::CancelUpgrade), "executed");
    assert_eq!(version(&h), (1, None));
    // And scheduled anew.
    assert_eq!(
        govern(
            &mut h,
            GovAction::ScheduleUpgrade {
                version: 2,
                height: at + 10
            }
        ),
        "executed"
    );
}
