//! The surplus share: once during the run ([`Mix::payout_after_secs`]
//! into the load), every cooperative pays each of its own members a small
//! share of its surplus (SHU) with `Action::Payout` lines signed by its
//! key, each with a random idempotency id, counted as `payout_line`.
//!
//! Each line is a credit to the member planned like any other
//! ([`super::budget`]): within its balance cap and its month's incoming
//! room, or skipped. The member is homed at the paying cooperative, so no
//! net debit is made. The lines go beside the load, in batches that keep
//! the cooperative's signer within its in-flight bound.
//!
//! [`Mix::payout_after_secs`]: crate::cluster::mix::Mix::payout_after_secs

use super::budget::Leg;
use super::incoming::Months;
use super::plan::{Prepared, COOP_IN_FLIGHT_MAX};
use super::signer::SignerSlot;
use super::Traffic;
use kopnet_ledger::Action;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// Each member's surplus share: Rp 25.000.
pub const SURPLUS_SHARE: u64 = 25_000;
/// Lines of one cooperative sent in one batch (half its in-flight bound,
/// so the load keeps room beside them).
const PAYOUT_BATCH_LINES: usize = (COOP_IN_FLIGHT_MAX / 2) as usize;
/// Pause before looking again at a cooperative whose signer is busy.
const PAYOUT_RETRY: Duration = Duration::from_millis(100);
/// Tries per batch before the rest of a cooperative's lines are skipped.
const PAYOUT_TRIES_MAX: usize = 100;

impl Traffic {
    /// Every cooperative pays each of its members [`SURPLUS_SHARE`].
    pub async fn pay_surplus(self: Arc<Self>) {
        for c in 0..self.coops.len() {
            let members = self.coops.get(c).map(|coop| coop.members.clone());
            for chunk in members.unwrap_or_default().chunks(PAYOUT_BATCH_LINES) {
                for _ in 0..PAYOUT_TRIES_MAX {
                    if self.coop_room(c) >= chunk.len() {
                        break;
                    }
                    tokio::time::sleep(PAYOUT_RETRY).await;
                }
                let lines: Vec<Prepared> = chunk
                    .iter()
                    .filter_map(|&member| self.prepare_payout_line(c, member))
                    .collect();
                if let Some(first) = lines.first() {
                    let node = first.node.clone();
                    self.send_batch(&node, &lines).await;
                }
            }
        }
    }

    /// How many more transactions cooperative `c` may have in flight.
    fn coop_room(&self, c: usize) -> usize {
        let Some(Ok(signer)) = self.coops.get(c).map(|coop| coop.signer.lock()) else {
            return 0;
        };
        COOP_IN_FLIGHT_MAX.saturating_sub(signer.in_flight) as usize
    }

    /// One payout line of cooperative `c` to `member` (an account index),
    /// planned and signed; None if its budget has no room (skipped) or the
    /// signer is at its bound.
    fn prepare_payout_line(&self, c: usize, member: usize) -> Option<Prepared> {
        let coop = self.coops.get(c)?;
        let key = self.accounts.get(member)?.0;
        let idempotency_id = self.rng.lock().ok()?.gen();
        let action = Action::Payout {
            member: key,
            amount: SURPLUS_SHARE,
            reference: format!("SHU {}", coop.id.as_str()),
            idempotency_id,
        };
        let mut signer = coop.signer.lock().ok()?;
        if signer.in_flight >= COOP_IN_FLIGHT_MAX {
            return None;
        }
        let reservation = {
            let mut budgets = self.budgets.lock().ok()?;
            budgets.months = Months::now();
            let credit = Some(Leg::of(member, SURPLUS_SHARE));
            budgets.plan_load((None, credit, None), None)?
        };
        let Some(tx) = self.sign_with(&mut signer, action) else {
            if let Ok(mut budgets) = self.budgets.lock() {
                budgets.landed(&reservation, false, None, None);
            }
            return None;
        };
        Some(Prepared {
            tx,
            node: coop.node.clone(),
            slot: SignerSlot::Coop(c),
            kind: "payout_line",
            class: None,
            then: None,
            reservation,
        })
    }
}
