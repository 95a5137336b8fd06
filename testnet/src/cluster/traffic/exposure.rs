//! Keeping the load within the cooperatives' net debit caps: the driver's
//! own lower bound on each cooperative's headroom, so that it never plans a
//! cross-cooperative transaction the ledger would refuse with
//! `net_debit_cap_exceeded`.
//!
//! The ledger refuses a leg that would take a cooperative's exposure (its
//! open position plus the negative positions of its closed, unsettled
//! windows) below minus its cap (`ledger/src/legs.rs`, `settlement.rs`).
//! The driver reads each cooperative's `position`, `unsettled_debit` and
//! `ndc` at some committed height `h` (`GET /v1/cooperatives`), and keeps:
//!
//! - the headroom *floor* at `h`: `ndc + unsettled_debit + min(position, 0)`.
//!   A window closing turns the open position into closed-window debit
//!   (only its negative part), so the floor is what the exposure is after
//!   any close with no other movement; a settlement only raises it;
//! - the debits it planned that committed (applied) *after* `h`, by height;
//! - the debits it has in flight (planned, not yet seen in a block; a lost
//!   one stays counted, as it may still apply).
//!
//! A transaction that makes cooperative `c` a debtor for `amount` is
//! planned only if `floor − committed after h − in flight ≥ amount`.
//! Credits to `c` (payments into it) are never counted until a read shows
//! them, so whatever order the network applies the in-flight transactions
//! in, and wherever the window cut-offs fall, the real exposure stays
//! within the cap. A fresh read replaces the floor and forgets the debits
//! committed at or below its height (the read includes them).
//!
//! Which cooperative is the debtor: the payer's home for a payment to
//! another cooperative's member or merchant, the member's home for a cash-out
//! at another counter (with the fees it pays there), and the agent's
//! cooperative for a cash-in at its counter for another cooperative's member
//! (it holds the cash). The fee legs of a cross-cooperative payment to a
//! merchant only pay into the payer's cooperative, so they are left out
//! (they can only add headroom).

use std::collections::BTreeMap;

/// Most heights kept per cooperative between two reads; past it the oldest
/// two merge (the sum stays, attributed to the later height, which only
/// makes the bound more careful).
const HEIGHTS_KEPT_MAX: usize = 4_096;

/// A cooperative made a debtor for an amount by a planned transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoopDebit {
    pub coop: usize,
    pub amount: u64,
}

/// One cooperative's bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Headroom floor at `read_height` (none read yet: 0, nothing planned).
    floor: i128,
    read_height: u64,
    /// Planned debits applied in blocks after `read_height`, by height.
    committed_after: BTreeMap<u64, u128>,
    /// Planned debits not seen in a block yet (including lost ones).
    in_flight: u128,
}

impl Exposure {
    /// The headroom the driver can be sure of.
    pub fn headroom(&self) -> i128 {
        let committed: u128 = self.committed_after.values().sum();
        let used = i128::try_from(committed.saturating_add(self.in_flight)).unwrap_or(i128::MAX);
        self.floor.saturating_sub(used)
    }
}

/// Every cooperative's bound, by index into `Traffic::coops`.
#[derive(Debug, Clone, Default)]
pub struct CoopExposures {
    pub coops: Vec<Exposure>,
}

/// What a cooperative's figures at some height say (`GET /v1/cooperatives`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoopReading {
    pub ndc: u64,
    pub position: i64,
    pub unsettled_debit: i64,
}

impl CoopReading {
    /// `ndc + unsettled_debit + min(position, 0)`.
    fn floor(&self) -> i128 {
        i128::from(self.ndc) + i128::from(self.unsettled_debit) + i128::from(self.position.min(0))
    }
}

impl CoopExposures {
    pub fn new(coops: usize) -> CoopExposures {
        CoopExposures {
            coops: vec![Exposure::default(); coops],
        }
    }

    /// Reserve `debit` if the cooperative surely has the headroom.
    pub fn plan(&mut self, debit: CoopDebit) -> bool {
        let Some(e) = self.coops.get_mut(debit.coop) else {
            return false;
        };
        if e.headroom() < i128::from(debit.amount) {
            return false;
        }
        e.in_flight = e.in_flight.saturating_add(u128::from(debit.amount));
        true
    }

    /// A planned debit committed at `height`, applied or refused.
    pub fn committed(&mut self, debit: CoopDebit, applied: bool, height: u64) {
        let Some(e) = self.coops.get_mut(debit.coop) else {
            return;
        };
        e.in_flight = e.in_flight.saturating_sub(u128::from(debit.amount));
        if applied && height > e.read_height {
            let at = e.committed_after.entry(height).or_insert(0);
            *at = at.saturating_add(u128::from(debit.amount));
            if e.committed_after.len() > HEIGHTS_KEPT_MAX {
                if let Some((_, oldest)) = e.committed_after.pop_first() {
                    if let Some(mut next) = e.committed_after.first_entry() {
                        *next.get_mut() = next.get().saturating_add(oldest);
                    }
                }
            }
        }
    }

    /// A planned debit that never reached a block (refused at submission).
    pub fn unsent(&mut self, debit: CoopDebit) {
        if let Some(e) = self.coops.get_mut(debit.coop) {
            e.in_flight = e.in_flight.saturating_sub(u128::from(debit.amount));
        }
    }

    /// Cooperative `coop` as read at committed `height`. An older reading
    /// than the last one is ignored.
    pub fn read(&mut self, coop: usize, reading: CoopReading, height: u64) {
        let Some(e) = self.coops.get_mut(coop) else {
            return;
        };
        if height < e.read_height {
            return;
        }
        e.floor = reading.floor();
        e.read_height = height;
        e.committed_after.retain(|h, _| *h > height);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The ledger's side, as `ledger/src/legs.rs` and `settlement.rs` keep it.
    #[derive(Debug, Clone, Copy, Default)]
    struct Real {
        position: i64,
        unsettled_debit: i64,
    }

    const NDC: u64 = 1_000_000;

    /// Random debits and credits planned, applied or refused in random
    /// order, windows closing and settling at random, readings taken at
    /// random heights: the real exposure never passes the cap.
    #[test]
    fn planned_debits_never_pass_the_cap_whatever_the_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut bounds = CoopExposures::new(1);
        let mut real = Real::default();
        // Closed windows' negative positions, unsettled, oldest first.
        let mut windows: Vec<i64> = Vec::new();
        let mut in_flight: Vec<CoopDebit> = Vec::new();
        // Readings taken and not yet given to the bounds: (height, reading).
        let mut readings: Vec<(u64, CoopReading)> = Vec::new();
        let mut height = 0u64;
        let (mut planned, mut refused_plans) = (0, 0);
        for _ in 0..50_000 {
            match rng.gen_range(0..10) {
                0..=3 => {
                    let debit = CoopDebit {
                        coop: 0,
                        amount: rng.gen_range(1..200_000),
                    };
                    if bounds.plan(debit) {
                        in_flight.push(debit);
                        planned += 1;
                    } else {
                        refused_plans += 1;
                    }
                }
                4..=5 if !in_flight.is_empty() => {
                    // A block applies (or refuses) one in-flight debit.
                    let debit = in_flight.swap_remove(rng.gen_range(0..in_flight.len()));
                    height += 1;
                    let applied = rng.gen_bool(0.9);
                    if applied {
                        real.position -= debit.amount as i64;
                    }
                    let exposure = real.position + real.unsettled_debit;
                    assert!(
                        exposure >= -(NDC as i64),
                        "exposure {exposure} past the cap"
                    );
                    bounds.committed(debit, applied, height);
                }
                6 => {
                    // Someone else pays in (a credit the driver did not plan).
                    height += 1;
                    real.position += rng.gen_range(1..1_000_000);
                }
                7 => {
                    // The window closes; an old one may settle.
                    height += 1;
                    let frozen = real.position.min(0);
                    real.unsettled_debit += frozen;
                    windows.push(frozen);
                    real.position = 0;
                    while windows.len() > 1 || (rng.gen_bool(0.5) && !windows.is_empty()) {
                        let settled = windows.remove(0);
                        real.unsettled_debit -= settled;
                    }
                }
                8 => readings.push((
                    height,
                    CoopReading {
                        ndc: NDC,
                        position: real.position,
                        unsettled_debit: real.unsettled_debit,
                    },
                )),
                _ if !readings.is_empty() => {
                    // A reading arrives late, possibly out of order.
                    let (h, reading) = readings.swap_remove(rng.gen_range(0..readings.len()));
                    bounds.read(0, reading, h);
                }
                _ => {}
            }
        }
        assert!(planned > 5_000, "only {planned} planned");
        assert!(refused_plans > 100, "the cap never bound");
    }

    #[test]
    fn nothing_is_planned_before_the_first_reading() {
        let mut bounds = CoopExposures::new(2);
        let debit = CoopDebit { coop: 1, amount: 1 };
        assert!(!bounds.plan(debit));
        bounds.read(
            1,
            CoopReading {
                ndc: 10,
                position: 3,
                unsettled_debit: -4,
            },
            5,
        );
        // Floor 10 - 4 + 0: a credit position gives no headroom.
        assert_eq!(bounds.coops[1].headroom(), 6);
        assert!(bounds.plan(CoopDebit { coop: 1, amount: 6 }));
        assert!(!bounds.plan(debit));
        assert!(!bounds.plan(CoopDebit { coop: 9, amount: 0 }));
    }
}
