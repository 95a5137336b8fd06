//! What the load has seen: counts by kind and by rejection reason, latency
//! samples, commits per second and the acknowledged transactions — the
//! figures `testnet up`, the bench and the fault runner report.

use super::budget::Reservation;
use super::requests::PayLater;
use super::signer::SignerSlot;
use kopnet_consensus::Hash;
use kopnet_ledger::MerchantClass;
use std::collections::BTreeMap;
use std::time::Instant;

/// Submit times kept for latency (older ones are dropped); also the bound
/// of [`Stats::acknowledged`] and [`Stats::per_second`].
pub(super) const TRACKED_MAX: usize = 500_000;
/// Latency samples kept (the first ones; 16 MB; over half an hour at
/// 1,000 tx/s). Later commits still count, without a latency sample.
const LATENCIES_MAX: usize = 2_000_000;

/// What the load has seen so far.
#[derive(Debug, Default)]
pub struct Stats {
    pub submitted: u64,
    pub committed: u64,
    pub committed_ok: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Applied payments to merchants (of every kind: cross, on-us, taxi,
    /// requests paid) by the merchant's class (`micro`, `small`, ...).
    pub by_merchant_class: BTreeMap<&'static str, u64>,
    pub rejected: BTreeMap<String, u64>,
    /// Committed but refused by the ledger, by result code (a part of
    /// `rejected`, which also counts submissions that never reached a block).
    pub committed_refused: BTreeMap<String, u64>,
    pub latencies_ms: Vec<u64>,
    pub last_height: u64,
    pub per_second: Vec<(u64, u64)>,
    /// Every submission seen committed, with its result code (first
    /// [`TRACKED_MAX`] only): what the fault-injection runner checks on
    /// every node afterwards.
    pub acknowledged: Vec<(Hash, String)>,
}

/// A submission waiting to be seen in a block.
#[derive(Debug, Clone, Copy)]
pub(super) struct Submission {
    /// When it was submitted (for its latency and for giving it up as lost).
    pub at: Instant,
    /// The signer it holds until then.
    pub slot: SignerSlot,
    /// The label it is counted under once it commits.
    pub kind: &'static str,
    /// The merchant's class, for a payment to a merchant.
    pub class: Option<MerchantClass>,
    /// A request to pay: its payment, queued once it commits.
    pub then: Option<PayLater>,
    /// What it reserved of the accounts' budgets.
    pub reservation: Reservation,
}

impl Stats {
    /// A tracked submission was seen in a block with result code `result`,
    /// during second `second` of following.
    pub(super) fn committed(
        &mut self,
        hash: Hash,
        submission: &Submission,
        result: String,
        second: u64,
    ) {
        self.committed += 1;
        if self.acknowledged.len() < TRACKED_MAX {
            self.acknowledged.push((hash, result.clone()));
        }
        if self.latencies_ms.len() < LATENCIES_MAX {
            self.latencies_ms
                .push(u64::try_from(submission.at.elapsed().as_millis()).unwrap_or(u64::MAX));
        }
        if result == "ok" {
            self.committed_ok += 1;
            *self.by_kind.entry(submission.kind).or_insert(0) += 1;
            if let Some(class) = submission.class {
                *self.by_merchant_class.entry(class.name()).or_insert(0) += 1;
            }
        } else {
            *self.committed_refused.entry(result.clone()).or_insert(0) += 1;
            *self.rejected.entry(result).or_insert(0) += 1;
        }
        let room = self.per_second.len() < TRACKED_MAX;
        match self.per_second.last_mut() {
            Some((s, n)) if *s == second => *n += 1,
            _ if room => self.per_second.push((second, 1)),
            _ => {}
        }
    }

    /// A cooperative transaction the driver waited for itself (not tracked).
    pub(super) fn settled(&mut self, kind: &'static str, ok: bool, code: &str) {
        self.submitted += 1;
        self.committed += 1;
        if ok {
            self.committed_ok += 1;
            *self.by_kind.entry(kind).or_insert(0) += 1;
        } else {
            *self.committed_refused.entry(code.to_string()).or_insert(0) += 1;
            *self.rejected.entry(code.to_string()).or_insert(0) += 1;
        }
    }
}

/// The `p`-th percentile (0-100) of unsorted values.
pub fn percentile(values: &[u64], p: u64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let index = (sorted.len() as u64 - 1) * p / 100;
    sorted
        .get(usize::try_from(index).unwrap_or(0))
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_small_set() {
        assert_eq!(percentile(&[], 50), 0);
        let values = [40, 10, 30, 20, 50];
        assert_eq!(percentile(&values, 0), 10);
        assert_eq!(percentile(&values, 50), 30);
        assert_eq!(percentile(&values, 99), 40);
        assert_eq!(percentile(&values, 100), 50);
    }
}
