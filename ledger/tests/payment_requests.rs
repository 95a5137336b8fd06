//! Request to pay: a request addressed to a member or shown as a dynamic
//! QR code, paid as an ordinary payment (fees, caps) at most once,
//! declined, cancelled or expired with typed codes, bounded per requester
//! and per payer, and removed a day after it ends.

mod common;
use common::*;
use kopnet_ledger::payment_requests::{
    self, idempotency_id, RequestId, RequestStatus, ENDED_KEPT_MS, OPEN_PER_PAYER_MAX,
    OPEN_PER_REQUESTER_MAX, REQUEST_LIFETIME_MAX_MS,
};
use kopnet_ledger::state::{StateKey, StateRead};
use kopnet_ledger::{AccountKind, Action, Ledger, MemoryStorage, VerifyAll};
use kopnet_primitives::PublicKey;

/// 2026-03-02 08:00 WIB (01:00 UTC), in ms.
const T0: u64 = 1_772_413_200_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

fn city() -> Harness<MemoryStorage> {
    Harness::new(MemoryStorage::new(), 50_000_000)
}

/// One transaction in its own block at `time`; its result's code.
fn at(
    h: &mut Harness<MemoryStorage>,
    time: u64,
    signer: &PublicKey,
    action: Action,
) -> Result<(), &'static str> {
    let tx = h.sign(signer, action);
    h.block_at(time, vec![tx]).remove(0).map_err(|e| e.code())
}

fn rid(n: u8) -> RequestId {
    [n; 16]
}

/// Request `n` of `amount`, to `payer`, expiring at `expires_at_ms`.
fn ask(n: u8, payer: Option<PublicKey>, amount: u64, expires_at_ms: u64) -> Action {
    Action::RequestPayment {
        id: rid(n),
        payer,
        amount,
        reference: format!("INV-{n}"),
        expires_at_ms,
    }
}

fn pay_request(requester: PublicKey, n: u8, amount: u64) -> Action {
    Action::PayRequest {
        requester,
        id: rid(n),
        amount,
    }
}

fn decline(requester: PublicKey, n: u8) -> Action {
    Action::DeclineRequest {
        requester,
        id: rid(n),
    }
}

fn status(h: &Harness<MemoryStorage>, requester: &PublicKey, n: u8) -> Option<RequestStatus> {
    h.ledger
        .payment_request(requester, &rid(n))
        .map(|r| r.status)
}

/// Ani (KSP Sejahtera, Rp 100.000) and warung Bu Sri, a merchant of Pasar
/// Makmur with nothing yet.
fn ani_and_warung(h: &mut Harness<MemoryStorage>) -> (PublicKey, PublicKey) {
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let warung = h.member("warung-sri", "pasar-makmur", AccountKind::Merchant, 0);
    (ani, warung)
}

#[test]
fn a_request_paid_at_a_merchant_of_another_cooperative_is_a_payment_with_its_fees() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    let request = ask(1, Some(ani), 25_000, T0 + HOUR);
    let ask_tx = h.sign(&warung, request);
    assert_eq!(h.block_at(T0, vec![ask_tx.clone()]), vec![Ok(())]);
    // Ani's wallet lists it; the request appears in her history.
    let listed = h.ledger.requests_to(&ani, 10);
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].requester, listed[0].id), (warung, rid(1)));
    assert_eq!(listed[0].request.reference, "INV-1");
    let history = h.ledger.history(&ani, None, 10).unwrap();
    assert_eq!(history[0].0, ask_tx.hash());

    // The quote is the payment's: 0.7 % of Rp 25.000 from the merchant
    // (75 + 75 + 25 = 175), nothing from Ani.
    let quote = h
        .ledger
        .quote(&ani, &pay_request(warung, 1, 25_000))
        .unwrap();
    assert_eq!(quote.signer_fees, 0);
    assert_eq!(quote.payee_receives, Some(24_825));

    let ksp = h.position("ksp-sejahtera");
    let pasar = h.position("pasar-makmur");
    let network = h.position("network");
    let fees = (
        h.fee_balance("ksp-sejahtera"),
        h.fee_balance("pasar-makmur"),
    );
    let pay_tx = h.sign(&ani, pay_request(warung, 1, 25_000));
    assert_eq!(h.block_at(T0 + 1, vec![pay_tx.clone()]), vec![Ok(())]);
    assert_eq!(h.balance(&ani), 75_000);
    assert_eq!(h.balance(&warung), 25_000 - 175);
    assert_eq!(h.fee_balance("ksp-sejahtera"), fees.0 + 75);
    assert_eq!(h.fee_balance("pasar-makmur"), fees.1 + 75);
    // KSP Sejahtera owes the principal less its fee; Pasar Makmur is owed
    // it less the two fee legs leaving it; the fund's 25 is the network's.
    assert_eq!(h.position("ksp-sejahtera"), ksp - 25_000 + 75);
    assert_eq!(h.position("pasar-makmur"), pasar + 25_000 - 75 - 25);
    assert_eq!(h.position("network"), network + 25);

    assert_eq!(
        status(&h, &warung, 1),
        Some(RequestStatus::Paid {
            by: ani,
            tx: pay_tx.hash(),
            time_ms: T0 + 1,
        })
    );
    // The payment's idempotency record, under the derived id, with the
    // reference as its memo.
    let record = h
        .ledger
        .idempotency_record(&ani, &idempotency_id(&warung, &rid(1)))
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.tx, record.to, record.amount, record.memo.as_str()),
        (pay_tx.hash(), warung, 25_000, "INV-1")
    );
    assert!(h.ledger.requests_to(&ani, 10).is_empty());
    let warung_history = h.ledger.history(&warung, None, 10).unwrap();
    assert_eq!(warung_history[0].0, pay_tx.hash());

    // Paying it twice is impossible: typed, and nothing moves.
    let again = at(&mut h, T0 + 2, &ani, pay_request(warung, 1, 25_000));
    assert_eq!(again, Err("request_already_paid"));
    assert_eq!(h.balance(&ani), 75_000);
    assert_eq!(h.balance(&warung), 24_825);
    // So is a payment by hand under the derived id.
    let by_hand = Action::Payment {
        to: warung,
        amount: 25_000,
        memo: "INV-1".into(),
        idempotency_id: idempotency_id(&warung, &rid(1)),
    };
    assert_eq!(at(&mut h, T0 + 3, &ani, by_hand), Err("duplicate"));
    assert_eq!(h.balance(&ani), 75_000);
}

#[test]
fn the_amount_paid_must_be_the_amount_requested() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    for offered in [24_999, 25_001, 1] {
        let result = at(&mut h, T0 + 1, &ani, pay_request(warung, 1, offered));
        assert_eq!(result, Err("request_amount_mismatch"));
    }
    assert_eq!(h.balance(&ani), 100_000);
    assert_eq!(status(&h, &warung, 1), Some(RequestStatus::Open));
    assert_eq!(
        at(&mut h, T0 + 2, &ani, pay_request(warung, 1, 25_000)),
        Ok(())
    );
    assert_eq!(h.balance(&ani), 75_000);
}

#[test]
fn a_declined_request_cannot_be_paid() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 100_000);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    // Only the addressed payer may decline.
    let by_budi = at(&mut h, T0 + 1, &budi, decline(warung, 1));
    assert_eq!(by_budi, Err("not_authorized"));
    let by_warung = at(&mut h, T0 + 2, &warung, decline(warung, 1));
    assert_eq!(by_warung, Err("not_authorized"));
    let decline_tx = h.sign(&ani, decline(warung, 1));
    assert_eq!(h.block_at(T0 + 3, vec![decline_tx.clone()]), vec![Ok(())]);
    assert_eq!(
        status(&h, &warung, 1),
        Some(RequestStatus::Declined { time_ms: T0 + 3 })
    );
    assert!(h.ledger.requests_to(&ani, 10).is_empty());
    // The requester sees it land: the decline is in its history.
    assert_eq!(
        h.ledger.history(&warung, None, 1).unwrap()[0].0,
        decline_tx.hash()
    );
    for (signer, action) in [
        (ani, pay_request(warung, 1, 25_000)),
        (ani, decline(warung, 1)),
        (warung, Action::CancelRequest { id: rid(1) }),
    ] {
        let time = h.ledger.last_block_time_ms() + 1;
        let result = at(&mut h, time, &signer, action);
        assert_eq!(result, Err("request_closed"));
    }
    assert_eq!(h.balance(&ani), 100_000);
    assert_eq!(h.balance(&warung), 0);
}

#[test]
fn a_cancelled_request_cannot_be_paid() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    // A request is named by its requester: Ani has no request 1.
    let not_hers = at(&mut h, T0 + 1, &ani, Action::CancelRequest { id: rid(1) });
    assert_eq!(not_hers, Err("unknown_request"));
    let cancel = Action::CancelRequest { id: rid(1) };
    assert_eq!(at(&mut h, T0 + 2, &warung, cancel.clone()), Ok(()));
    assert_eq!(
        status(&h, &warung, 1),
        Some(RequestStatus::Cancelled { time_ms: T0 + 2 })
    );
    assert!(h.ledger.requests_to(&ani, 10).is_empty());
    let paid = at(&mut h, T0 + 3, &ani, pay_request(warung, 1, 25_000));
    assert_eq!(paid, Err("request_closed"));
    let again = at(&mut h, T0 + 4, &warung, cancel);
    assert_eq!(again, Err("request_closed"));
    assert_eq!(h.balance(&ani), 100_000);
}

#[test]
fn an_expired_request_cannot_be_paid() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    assert_eq!(
        at(&mut h, T0 + 1, &warung, ask(2, None, 5_000, T0 + HOUR)),
        Ok(())
    );
    // The block at the expiry marks both expired before its transactions.
    let late = at(&mut h, T0 + HOUR, &ani, pay_request(warung, 1, 25_000));
    assert_eq!(late, Err("request_expired"));
    assert_eq!(
        status(&h, &warung, 1),
        Some(RequestStatus::Expired { time_ms: T0 + HOUR })
    );
    for (signer, action) in [
        (ani, pay_request(warung, 2, 5_000)),
        (ani, decline(warung, 1)),
        (warung, Action::CancelRequest { id: rid(2) }),
    ] {
        let result = at(&mut h, T0 + HOUR + 1, &signer, action);
        assert_eq!(result, Err("request_expired"));
    }
    assert_eq!(h.balance(&ani), 100_000);
    assert!(h.ledger.requests_to(&ani, 10).is_empty());
    let counts = payment_requests::counts(h.ledger.state(), &warung);
    assert_eq!((counts.open_made, counts.open_to), (0, 0));
}

#[test]
fn a_request_addressed_to_someone_else_is_not_theirs_to_pay() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    let budi = h.member("budi", "angkot-maju", AccountKind::Member, 100_000);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    let by_budi = at(&mut h, T0 + 1, &budi, pay_request(warung, 1, 25_000));
    assert_eq!(by_budi, Err("not_authorized"));
    let unknown = at(&mut h, T0 + 2, &ani, pay_request(warung, 9, 25_000));
    assert_eq!(unknown, Err("unknown_request"));
    let unknown = at(&mut h, T0 + 3, &ani, decline(budi, 1));
    assert_eq!(unknown, Err("unknown_request"));
    assert_eq!((h.balance(&ani), h.balance(&budi)), (100_000, 100_000));
    assert_eq!(status(&h, &warung, 1), Some(RequestStatus::Open));
}

#[test]
fn a_dynamic_qr_is_paid_once_by_any_member_but_the_requester() {
    let mut h = city();
    let (ani, _) = ani_and_warung(&mut h);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 100_000);
    let driver = h.member("pak-joko", "angkot-maju", AccountKind::Member, 0);
    assert_eq!(
        at(&mut h, T0, &driver, ask(7, None, 5_000, T0 + HOUR)),
        Ok(())
    );
    // Nobody's wallet lists it: it is shown as a QR code.
    assert!(h.ledger.requests_to(&ani, 10).is_empty());
    let own = at(&mut h, T0 + 1, &driver, pay_request(driver, 7, 5_000));
    assert_eq!(own, Err("self_payment"));
    let declined = at(&mut h, T0 + 1, &ani, decline(driver, 7));
    assert_eq!(declined, Err("not_authorized"));
    // A member-to-member payment across cooperatives: free.
    assert_eq!(
        at(&mut h, T0 + 2, &budi, pay_request(driver, 7, 5_000)),
        Ok(())
    );
    assert_eq!(h.balance(&budi), 95_000);
    assert_eq!(h.balance(&driver), 5_000);
    let second = at(&mut h, T0 + 3, &ani, pay_request(driver, 7, 5_000));
    assert_eq!(second, Err("request_already_paid"));
    assert_eq!(h.balance(&ani), 100_000);
    assert_eq!(h.balance(&driver), 5_000);
    assert!(matches!(
        status(&h, &driver, 7),
        Some(RequestStatus::Paid { by, .. }) if by == budi
    ));
}

#[test]
fn a_request_is_checked_before_it_opens() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    let stranger = h.member_key("stranger");
    // Format: at admission, no block can hold it.
    for bad in [
        ask(1, Some(ani), 0, T0 + HOUR),
        Action::RequestPayment {
            id: rid(1),
            payer: Some(ani),
            amount: 1,
            reference: "x".repeat(65),
            expires_at_ms: T0 + HOUR,
        },
    ] {
        let tx = h.sign(&warung, bad);
        let code = h.ledger.check_admission(&tx).unwrap_err().code();
        assert_eq!(code, "malformed");
        h.signers.rewind(&warung);
    }
    // Each case in its own block at `now`, expiring `expiry(now)`.
    type Expiry = fn(u64) -> u64;
    let cases: [(Option<PublicKey>, Expiry, &str); 5] = [
        (Some(stranger), |now| now + HOUR, "unknown_account"),
        (Some(warung), |now| now + HOUR, "self_payment"),
        (Some(ani), |now| now, "request_expiry_out_of_range"),
        (Some(ani), |now| now - 1, "request_expiry_out_of_range"),
        (
            None,
            |now| now + REQUEST_LIFETIME_MAX_MS + 1,
            "request_expiry_out_of_range",
        ),
    ];
    for (n, (payer, expiry, code)) in cases.into_iter().enumerate() {
        let now = T0 + n as u64;
        let result = at(&mut h, now, &warung, ask(1, payer, 1, expiry(now)));
        assert_eq!(result, Err(code));
    }
    assert!(h.ledger.requests_by(&warung, None, 10).is_empty());
    let now = T0 + HOUR;
    let longest = ask(1, Some(ani), 1, now + REQUEST_LIFETIME_MAX_MS);
    assert_eq!(at(&mut h, now, &warung, longest), Ok(()));
    // The id is the requester's own: taken for it, free for another.
    let again = at(&mut h, now + 1, &warung, ask(1, None, 1, now + HOUR));
    assert_eq!(again, Err("request_exists"));
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 0);
    let budi_asks = at(&mut h, now + 2, &budi, ask(1, Some(ani), 1, now + HOUR));
    assert_eq!(budi_asks, Ok(()));
    // Signed by a cooperative: not a member's request.
    let ksp = coop("ksp-sejahtera");
    let by_coop = at(&mut h, now + 3, &ksp, ask(2, None, 1, now + HOUR));
    assert_eq!(by_coop, Err("not_authorized"));
}

#[test]
fn open_requests_are_bounded_per_requester_and_per_payer() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    let max = OPEN_PER_REQUESTER_MAX as u8;
    let txs: Vec<_> = (0..max)
        .map(|n| h.sign(&warung, ask(n, Some(ani), 1_000, T0 + HOUR)))
        .collect();
    let results = h.block_at(T0, txs);
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(
        h.ledger.requests_to(&ani, 1_000).len(),
        OPEN_PER_PAYER_MAX as usize
    );
    // The requester's 65th and anyone's 65th to Ani are refused.
    let more = at(&mut h, T0 + 1, &warung, ask(max, None, 1_000, T0 + HOUR));
    assert_eq!(more, Err("too_many_requests"));
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 0);
    let flood = at(&mut h, T0 + 2, &budi, ask(1, Some(ani), 1_000, T0 + HOUR));
    assert_eq!(flood, Err("too_many_requests_to_payer"));
    // Ani frees a slot by declining, the warung one by cancelling.
    assert_eq!(at(&mut h, T0 + 3, &ani, decline(warung, 0)), Ok(()));
    assert_eq!(
        at(&mut h, T0 + 4, &budi, ask(1, Some(ani), 1_000, T0 + HOUR)),
        Ok(())
    );
    assert_eq!(
        at(&mut h, T0 + 5, &warung, ask(max, None, 1_000, T0 + HOUR)),
        Ok(())
    );
    let full = at(
        &mut h,
        T0 + 6,
        &warung,
        ask(max + 1, None, 1_000, T0 + HOUR),
    );
    assert_eq!(full, Err("too_many_requests"));
    let paid = pay_request(warung, 1, 1_000);
    assert_eq!(at(&mut h, T0 + 7, &ani, paid), Ok(()));
    assert_eq!(
        at(
            &mut h,
            T0 + 8,
            &warung,
            ask(max + 1, None, 1_000, T0 + HOUR)
        ),
        Ok(())
    );
    let counts = payment_requests::counts(h.ledger.state(), &warung);
    assert_eq!(counts.open_made, OPEN_PER_REQUESTER_MAX);
    // Pages of the requester's records (ended ones included), in id order.
    let first = h.ledger.requests_by(&warung, None, 50);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0].id, rid(0));
    let rest = h.ledger.requests_by(&warung, Some(first[49].id), 50);
    assert_eq!(rest.len(), usize::from(max) + 2 - 50);
    assert_eq!(rest[0].id, rid(50));
}

/// Whether the state holds anything of request `(requester, n)`.
fn kept(h: &Harness<MemoryStorage>, requester: &PublicKey, n: u8) -> bool {
    h.ledger.state().iter().any(|(key, _)| match key {
        StateKey::PaymentRequest(r, id) | StateKey::RequestDue(_, r, id) => {
            r == requester && *id == rid(n)
        }
        StateKey::RequestTo(_, r, id) => r == requester && *id == rid(n),
        _ => false,
    })
}

#[test]
fn an_ended_request_is_removed_a_day_later_and_two_ledgers_agree() {
    let mut h = city();
    let (ani, warung) = ani_and_warung(&mut h);
    assert_eq!(
        at(&mut h, T0, &warung, ask(1, Some(ani), 25_000, T0 + HOUR)),
        Ok(())
    );
    assert_eq!(
        at(&mut h, T0 + 1, &warung, ask(2, Some(ani), 1_000, T0 + HOUR)),
        Ok(())
    );
    assert_eq!(
        at(&mut h, T0 + 2, &ani, pay_request(warung, 1, 25_000)),
        Ok(())
    );
    // Request 2 expires at T0 + 1 h (marked by the block at that time).
    h.block_at(T0 + HOUR, vec![]);
    assert_eq!(
        status(&h, &warung, 2),
        Some(RequestStatus::Expired { time_ms: T0 + HOUR })
    );
    // Kept 24 hours after it ended, so the requester sees how it ended.
    h.block_at(T0 + 2 + ENDED_KEPT_MS - 1, vec![]);
    assert!(matches!(
        status(&h, &warung, 1),
        Some(RequestStatus::Paid { .. })
    ));
    h.block_at(T0 + 2 + ENDED_KEPT_MS, vec![]);
    assert_eq!(status(&h, &warung, 1), None);
    assert!(!kept(&h, &warung, 1));
    assert!(kept(&h, &warung, 2));
    h.block_at(T0 + HOUR + ENDED_KEPT_MS, vec![]);
    assert!(!kept(&h, &warung, 2));
    let counts_left = h
        .ledger
        .state()
        .iter()
        .filter(|(key, _)| matches!(key, StateKey::RequestCounts(_)))
        .count();
    assert_eq!(counts_left, 0);

    // The id is free again: a new request, which Ani cannot pay while her
    // idempotency record of the first payment lives (day of T0 and the
    // next), and can pay once it is gone.
    let t = T0 + 2 + ENDED_KEPT_MS + HOUR;
    assert_eq!(
        at(&mut h, t, &warung, ask(1, Some(ani), 25_000, t + 3 * DAY)),
        Ok(())
    );
    let early = at(&mut h, t + 1, &ani, pay_request(warung, 1, 25_000));
    assert_eq!(early, Err("duplicate"));
    assert_eq!(status(&h, &warung, 1), Some(RequestStatus::Open));
    let day_after = (T0 / DAY + 2) * DAY;
    assert_eq!(
        at(&mut h, day_after, &ani, pay_request(warung, 1, 25_000)),
        Ok(())
    );
    assert_eq!(h.balance(&ani), 50_000);

    // A second ledger fed the same blocks reaches the same state.
    let mut other = Ledger::open(MemoryStorage::new(), &h.genesis).unwrap();
    for height in 1..=h.ledger.height() {
        let block = h.ledger.block(height).unwrap().unwrap();
        other.apply_block(&block, &VerifyAll, vec![]).unwrap();
    }
    assert_eq!(other.state_root(), h.ledger.state_root());
    assert_eq!(
        other.state().get(&StateKey::PaymentRequest(warung, rid(1))),
        h.ledger
            .state()
            .get(&StateKey::PaymentRequest(warung, rid(1)))
    );
}
