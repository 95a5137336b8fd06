//! Refunds in the load: a micro merchant gives back part (or all) of a
//! recent payment it received (`Action::Refund`, signed by the merchant,
//! naming the payment by its transaction hash; rules in
//! `ledger/src/refunds.rs`), counted as `refund`.
//!
//! The driver remembers the payments to micro merchants it saw applied
//! (the last [`RECENT_PAYMENTS_MAX`]) and refunds each at most once. Only
//! micro merchants' payments are refunded: the load's payments (at most
//! Rp250.000) pay them no fee, so a refund moves nothing but the refunded
//! amount from the merchant to the payer. A refund of a payment that paid
//! fees first reverses them, among them the network fund's share, and the
//! cashback programme may have spent the fund to nothing: such a refund
//! could be refused (`insufficient_funds` at the fund), which the driver
//! cannot foresee.
//!
//! The budget legs: the merchant's debit of the amount, the payer's credit
//! (within its balance cap and its month's incoming room: a refund is money
//! coming in), and, across cooperatives, the merchant's cooperative made a
//! debtor for the amount.

use super::budget::Leg;
use super::exposure::CoopDebit;
use super::stats::Submission;
use kopnet_consensus::Hash;
use kopnet_ledger::MerchantClass;

/// Payments to micro merchants remembered for refunds (oldest dropped).
pub const RECENT_PAYMENTS_MAX: usize = 1_024;

/// An applied payment to a micro merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentPayment {
    pub hash: Hash,
    /// The payer and the merchant, indices into `Traffic::accounts`.
    pub payer: usize,
    pub merchant: usize,
    pub amount: u64,
}

impl RecentPayment {
    /// The payment a submission applied, if it paid a micro merchant.
    pub fn of(hash: Hash, submission: &Submission) -> Option<RecentPayment> {
        if submission.class != Some(MerchantClass::Micro) {
            return None;
        }
        let debit = submission.reservation.debit?;
        let credit = submission.reservation.credit?;
        Some(RecentPayment {
            hash,
            payer: debit.account,
            merchant: credit.account,
            amount: credit.amount,
        })
    }

    /// The legs of refunding `amount` of it, the payer homed at
    /// `payer_home` and the merchant at `merchant_home`: (the merchant's
    /// debit, the payer's credit, the merchant's cooperative's debit when
    /// they differ).
    pub fn refund_legs(
        &self,
        amount: u64,
        (payer_home, merchant_home): (usize, usize),
    ) -> (Leg, Leg, Option<CoopDebit>) {
        let debit = Leg::of(self.merchant, amount);
        let credit = Leg::of(self.payer, amount);
        let coop_debit = (payer_home != merchant_home).then_some(CoopDebit {
            coop: merchant_home,
            amount,
        });
        (debit, credit, coop_debit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::traffic::budget::Reservation;
    use crate::cluster::traffic::signer::SignerSlot;
    use std::time::Instant;

    fn paid(class: Option<MerchantClass>) -> Submission {
        Submission {
            at: Instant::now(),
            slot: SignerSlot::Account(3),
            kind: "merchant_payment_cross",
            class,
            then: None,
            reservation: Reservation {
                debit: Some(Leg::of(3, 50_000)),
                credit: Some(Leg::of(9, 50_000)),
                ..Reservation::default()
            },
        }
    }

    #[test]
    fn only_micro_merchants_payments_are_remembered_and_refunds_move_the_amount() {
        let hash = Hash::digest("test", b"payment");
        assert_eq!(
            RecentPayment::of(hash, &paid(Some(MerchantClass::Large))),
            None
        );
        assert_eq!(RecentPayment::of(hash, &paid(None)), None);
        let payment = RecentPayment::of(hash, &paid(Some(MerchantClass::Micro))).unwrap();
        assert_eq!(
            (payment.payer, payment.merchant, payment.amount),
            (3, 9, 50_000)
        );
        let (debit, credit, coop) = payment.refund_legs(20_000, (0, 2));
        assert_eq!(debit, Leg::of(9, 20_000));
        assert_eq!(credit, Leg::of(3, 20_000));
        assert_eq!(
            coop,
            Some(CoopDebit {
                coop: 2,
                amount: 20_000
            })
        );
        assert_eq!(payment.refund_legs(20_000, (1, 1)).2, None, "on-us");
    }
}
