//! Requests to pay in the load: a merchant asks a member for a payment
//! (`RequestPayment`, addressed to the member, expiring an hour ahead of
//! the wall clock: block time ≈ wall clock), and once that request is seen
//! committed the member pays it (`PayRequest` with the same amount).
//!
//! The payment's budget legs (the payer's debit with cashback, the
//! merchant's credit, the payer cooperative's net debit) are reserved
//! when the request is planned and travel with it: a request refused
//! gives them back; a request applied waits here, holding them, until its
//! payer's signer is free, and the payment then settles them like any
//! other. A request given up as lost, or one the queue has no room for,
//! is never paid by the driver, so it gives its reservation back (no money
//! moves without the payment); the request itself expires on the ledger.

use super::budget::Reservation;
use super::plan::Prepared;
use super::signer::SignerSlot;
use super::Traffic;
use kopnet_consensus::PublicKey;
use kopnet_ledger::payment_requests::RequestId;
use kopnet_ledger::{Action, MerchantClass};

/// Most committed requests waiting for their payment.
pub const PENDING_PAYS_MAX: usize = 4_096;
/// Waiting requests looked at per prepared transaction.
const PENDING_LOOKS_MAX: usize = 8;
/// A request expires this long after it is planned: an hour.
pub const REQUEST_EXPIRES_AFTER_MS: u64 = 60 * 60 * 1_000;

/// A request's payment, as planned with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayLater {
    /// The payer, an index into `Traffic::accounts`.
    pub payer: usize,
    pub requester: PublicKey,
    pub id: RequestId,
    pub amount: u64,
    /// The requesting merchant's class.
    pub class: Option<MerchantClass>,
}

/// A committed request waiting for its payment, with the payment's
/// reservation.
#[derive(Debug, Clone, Copy)]
pub struct PendingPay {
    pub pay: PayLater,
    pub reservation: Reservation,
}

impl Traffic {
    /// A request committed (`applied`) or refused, or was given up or
    /// never sent (`applied` false, `height` None): queue its payment, or
    /// give its reservation back.
    pub(super) fn request_landed(
        &self,
        pay: PayLater,
        reservation: Reservation,
        applied: bool,
        height: Option<u64>,
    ) {
        if applied {
            if let Ok(mut pending) = self.pending_pays.lock() {
                if pending.len() < PENDING_PAYS_MAX {
                    pending.push_back(PendingPay { pay, reservation });
                    return;
                }
            }
        }
        self.settle_budgets(&reservation, false, height, None);
    }

    /// The payment of a waiting request whose payer is free, signed; None
    /// if none is.
    pub(super) fn prepare_pending(&self) -> Option<Prepared> {
        let mut pending = self.pending_pays.lock().ok()?;
        let looks = pending.len().min(PENDING_LOOKS_MAX);
        for at in 0..looks {
            let Some(next) = pending.get(at).copied() else {
                break;
            };
            let slot = SignerSlot::Account(next.pay.payer);
            let Some(Ok(mut signer)) = self.signer_cell(slot).map(|c| c.try_lock()) else {
                continue;
            };
            if signer.in_flight > 0 {
                continue;
            }
            let node = self.node_of(slot)?.clone();
            let action = Action::PayRequest {
                requester: next.pay.requester,
                id: next.pay.id,
                amount: next.pay.amount,
            };
            let tx = self.sign_with(&mut signer, action)?;
            pending.remove(at);
            return Some(Prepared {
                tx,
                node,
                slot,
                kind: "request_paid",
                class: next.pay.class,
                then: None,
                reservation: next.reservation,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::traffic::budget::Leg;
    use crate::cluster::traffic::OPENING_BALANCE;
    use kopnet_ledger::testkit::key_for;
    use kopnet_ledger::CoopId;
    use kopnet_node::api::client::Client;

    /// Two cooperatives with two members and two merchants each (no node
    /// is ever asked: nothing here sends).
    fn traffic() -> Traffic {
        let coop = |id: &str| {
            let node = Client::new("http://127.0.0.1:9");
            (CoopId::new(id).unwrap(), key_for(id), node)
        };
        Traffic::new("kopnet-test", vec![coop("ksp-a"), coop("ksp-b")], 2, 2)
    }

    #[test]
    fn a_committed_request_is_paid_once_its_payer_is_free_and_a_refused_one_gives_back() {
        let t = traffic();
        let (payer, merchant) = (t.coops[0].members[0], t.coops[1].merchants[0]);
        let pay = PayLater {
            payer,
            requester: t.accounts[merchant].0,
            id: [7; 16],
            amount: 50_000,
            class: Some(MerchantClass::Micro),
        };
        let reserve = || {
            let mut budgets = t.budgets.lock().unwrap();
            let legs = (
                Some(Leg::of(payer, 50_000)),
                Some(Leg::of(merchant, 50_000)),
                None,
            );
            budgets.plan_load(legs, None).unwrap()
        };
        let low = |t: &Traffic| t.budgets.lock().unwrap().accounts[payer].low;

        // Refused: the payment's reservation is given back, nothing queued.
        let reservation = reserve();
        assert_eq!(low(&t), OPENING_BALANCE - 50_000);
        t.request_landed(pay, reservation, false, Some(4));
        assert_eq!(low(&t), OPENING_BALANCE);
        assert!(t.pending_pays.lock().unwrap().is_empty());

        // Applied: queued with its reservation, paid once the payer is free.
        let reservation = reserve();
        t.request_landed(pay, reservation, true, Some(5));
        t.accounts[payer].2.lock().unwrap().in_flight = 1;
        assert!(t.prepare_pending().is_none(), "the payer is busy");
        t.accounts[payer].2.lock().unwrap().in_flight = 0;
        let prepared = t.prepare_pending().unwrap();
        assert_eq!(prepared.kind, "request_paid");
        assert_eq!(prepared.class, Some(MerchantClass::Micro));
        assert_eq!(prepared.reservation, reservation);
        assert_eq!(prepared.tx.body.signer, t.accounts[payer].0);
        let expected = Action::PayRequest {
            requester: t.accounts[merchant].0,
            id: [7; 16],
            amount: 50_000,
        };
        assert_eq!(prepared.tx.body.action, expected);
        assert_eq!(t.accounts[payer].2.lock().unwrap().in_flight, 1);
        assert!(t.prepare_pending().is_none(), "paid once");
        assert_eq!(low(&t), OPENING_BALANCE - 50_000, "still reserved");
    }
}
