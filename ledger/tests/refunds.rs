//! Refunds linked to the original payment (`kopnet_ledger::refunds`): a
//! payment to a merchant refunded in parts, its fee legs reversed in
//! proportion (hand-computed figures), never past its amount; refused after
//! the governed period, by a signer that is neither the merchant nor its
//! home cooperative, and for a member-to-member payment; the records kept
//! on disk by day and swept after expiry; the same roots on two ledgers.

mod common;
use common::*;
use kopnet_ledger::idempotency::DAY_MS;
use kopnet_ledger::ledger::{BlockContext, BlockLimits};
use kopnet_ledger::refunds::{self, REFUNDS_PER_PAYMENT_MAX, REFUND_PERIOD_MS_DEFAULT};
use kopnet_ledger::state::{StateKey, StateRead};
use kopnet_ledger::{
    AccountId, AccountKind, Action, GovAction, Ledger, MemoryStorage, Rejection, SledStorage,
    Storage, Transaction, VerifyAll,
};
use kopnet_primitives::{Hash, PublicKey};

/// Noon of day 100 of block time.
const DAY_100_NOON: u64 = 100 * DAY_MS + DAY_MS / 2;

/// Build a block of `txs` at `time_ms` on `proposer` and apply it afresh on
/// every ledger in `others`; outcomes and roots must agree, invariants hold.
fn block_at<P: Storage, O: Storage>(
    proposer: &mut Ledger<P>,
    others: &mut [&mut Ledger<O>],
    txs: &[Transaction],
    time_ms: u64,
) -> Vec<Result<(), Rejection>> {
    let context = BlockContext {
        time_ms,
        ..BlockContext::new(coop("ksp-sejahtera"))
    };
    let (executed, skipped) =
        proposer.build_executed_block(txs, context, BlockLimits::default(), &VerifyAll);
    assert!(skipped.is_empty(), "not admitted: {skipped:?}");
    let block = executed.block().clone();
    let outcome = proposer
        .apply_executed(executed, vec![], |_| vec![])
        .unwrap();
    let totals = proposer.check_invariants().unwrap();
    assert_eq!(proposer.check_block_invariants(), Ok(totals));
    for other in others.iter_mut() {
        let again = other.apply_block(&block, &VerifyAll, vec![]).unwrap();
        assert_eq!(again, outcome, "same block, same outcome and root");
        other.check_invariants().unwrap();
    }
    outcome.results.into_iter().map(|(_, r)| r).collect()
}

/// The city: ani (ksp-sejahtera, Rp 1.000.000), the merchant warung
/// (pasar-makmur, empty) and budi, a plain member of pasar-makmur. The
/// network participant may owe up to Rp 1.000.000 (its net debit cap):
/// a fee reversal from the network fund in a later settlement window is a
/// debit of the network (see `refunds_from_the_network_fund_need_its_net_debit_cap`).
struct City<S: Storage> {
    h: Harness<S>,
    ani: PublicKey,
    warung: PublicKey,
    budi: PublicKey,
}

fn city<S: Storage>(store: S) -> City<S> {
    city_with(store, 1_000_000)
}

fn city_with<S: Storage>(store: S, network_ndc: u64) -> City<S> {
    let mut genesis = kopnet_ledger::testkit::demo_genesis(CHAIN, 4, 50_000_000);
    genesis.network_ndc = network_ndc;
    let mut h = Harness::with_genesis(store, genesis);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    City {
        h,
        ani,
        warung,
        budi,
    }
}

fn refund(payment: Hash, amount: u64) -> Action {
    Action::Refund {
        payment,
        amount,
        memo: "barang kembali".into(),
    }
}

fn network_fund<S: Storage>(h: &Harness<S>) -> u64 {
    h.ledger.state().internal_balance(&AccountId::NetworkFund)
}

/// (merchant, payer, pasar-makmur's fees, ksp-sejahtera's fees, network fund)
fn balances<S: Storage>(c: &City<S>) -> (u64, u64, u64, u64, u64) {
    (
        c.h.balance(&c.warung),
        c.h.balance(&c.ani),
        c.h.fee_balance("pasar-makmur"),
        c.h.fee_balance("ksp-sejahtera"),
        network_fund(&c.h),
    )
}

/// Sign `action` by `signer` and run it alone in a block at `time_ms` on
/// `c` (and on `others`); its result and hash.
fn at<S: Storage, O: Storage>(
    c: &mut City<S>,
    others: &mut [&mut Ledger<O>],
    time_ms: u64,
    signer: &PublicKey,
    action: Action,
) -> (Result<(), Rejection>, Hash) {
    let tx = c.h.sign(signer, action);
    let hash = tx.hash();
    let result = block_at(&mut c.h.ledger, others, &[tx], time_ms).remove(0);
    (result, hash)
}

/// Rp 250.000 across cooperatives to a merchant under the default fees,
/// refunded 100.000 then 150.000, then refused: on a memory and a sled
/// ledger fed the same blocks (same roots, same records on disk).
#[test]
fn a_payment_is_refunded_in_parts_with_its_fees_and_never_past_its_amount() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = city(MemoryStorage::new());
    let mut other = city(SledStorage::open(dir.path(), 8 << 20).unwrap())
        .h
        .ledger;
    assert_eq!(c.h.ledger.state_root(), other.state_root());
    let (ani, warung) = (c.ani, c.warung);

    // The payment: fee legs from the merchant of 0.3 % = 750 to its
    // cooperative, 0.3 % = 750 to the payer's, 0.1 % = 250 to the fund.
    let (result, payment) = at(
        &mut c,
        &mut [&mut other],
        DAY_100_NOON,
        &ani,
        pay(warung, 250_000, 1),
    );
    assert_eq!(result, Ok(()));
    assert_eq!(balances(&c), (248_250, 750_000, 750, 750, 250));
    let status = c.h.ledger.payment_refunds(&payment).unwrap().unwrap();
    assert_eq!(status.payment.amount, 250_000);
    assert_eq!(status.payment.payer, ani);
    assert_eq!(status.payment.merchant, warung);
    assert_eq!(
        status
            .payment
            .fees
            .iter()
            .map(|f| f.amount)
            .collect::<Vec<_>>(),
        vec![750, 750, 250]
    );
    assert_eq!(status.refunded.amount, 0);
    assert_eq!(
        status.refundable_until_ms,
        101 * DAY_MS + REFUND_PERIOD_MS_DEFAULT
    );
    assert_eq!(c.h.ledger.stored_merchant_payments().unwrap(), 1);
    assert_eq!(other.stored_merchant_payments().unwrap(), 1);

    // Rp 100.000 back: 750 * 100.000 / 250.000 = 300, 300, and
    // 250 * 100.000 / 250.000 = 100 reversed to the merchant first. The
    // quote says so before it is signed.
    let quote =
        c.h.ledger
            .quote(&warung, &refund(payment, 100_000))
            .unwrap();
    let fee = |slug: &str| AccountId::Fee(id(slug));
    let mut expected = vec![
        (AccountId::Member(warung), 700 - 100_000),
        (AccountId::Member(ani), 100_000),
        (fee("pasar-makmur"), -300),
        (fee("ksp-sejahtera"), -300),
        (AccountId::NetworkFund, -100),
    ];
    expected.sort();
    let mut deltas = quote.deltas.clone();
    deltas.sort();
    assert_eq!(deltas, expected);
    assert_eq!(quote.signer_fees, 0);
    let time = DAY_100_NOON + 1;
    let (result, first) = at(
        &mut c,
        &mut [&mut other],
        time,
        &warung,
        refund(payment, 100_000),
    );
    assert_eq!(result, Ok(()));
    // warung 248.250 + 700 - 100.000; fees 750 - 300, 750 - 300, 250 - 100.
    assert_eq!(balances(&c), (148_950, 850_000, 450, 450, 150));
    let status = c.h.ledger.payment_refunds(&payment).unwrap().unwrap();
    assert_eq!(status.refunded.amount, 100_000);
    assert_eq!(status.refunded.refunds, vec![first]);
    // The store's reader (the node's API) gives the same answer.
    let reader = kopnet_ledger::ledger::ChainReader::new(c.h.ledger.storage().clone());
    assert_eq!(reader.payment_refunds(&payment).unwrap(), Some(status));

    // More than the 150.000 left: refused, nothing moves.
    let (result, _) = at(
        &mut c,
        &mut [&mut other],
        time + 1,
        &warung,
        refund(payment, 150_001),
    );
    assert_eq!(
        result,
        Err(Rejection::RefundExceedsPayment { left: 150_000 })
    );
    assert_eq!(balances(&c), (148_950, 850_000, 450, 450, 150));

    // The rest, a day later: 450, 450 and 150 back; everything as before.
    let time = 101 * DAY_MS + 7;
    let (result, second) = at(
        &mut c,
        &mut [&mut other],
        time,
        &warung,
        refund(payment, 150_000),
    );
    assert_eq!(result, Ok(()));
    assert_eq!(balances(&c), (0, 1_000_000, 0, 0, 0));
    let status = c.h.ledger.payment_refunds(&payment).unwrap().unwrap();
    assert_eq!(status.refunded.amount, 250_000);
    assert_eq!(status.refunded.refunds, vec![first, second]);

    // A third refund: nothing is left.
    let (result, _) = at(
        &mut c,
        &mut [&mut other],
        time + 1,
        &warung,
        refund(payment, 1),
    );
    assert_eq!(result, Err(Rejection::RefundExceedsPayment { left: 0 }));
    let (result, _) = at(
        &mut c,
        &mut [&mut other],
        time + 2,
        &warung,
        refund(payment, 0),
    );
    assert_eq!(result, Err(Rejection::ZeroAmount));

    // Both refunds show in the merchant's and in the payer's history.
    for member in [ani, warung] {
        let history: Vec<Hash> =
            c.h.ledger
                .history(&member, None, 100)
                .unwrap()
                .into_iter()
                .map(|(hash, _)| hash)
                .collect();
        for tx in [payment, first, second] {
            assert!(history.contains(&tx), "{tx} in {member:?}'s history");
        }
    }
    assert_eq!(c.h.ledger.state_root(), other.state_root());
    assert_eq!(c.h.ledger.state(), other.state());
}

/// A payment of day 100 is refundable until the first block at day 131
/// (`(100 + 1)` days + 30 days of period): that block removes its day,
/// its refund entry and, in a block's sweep, its record from the disk.
#[test]
fn a_refund_after_the_period_is_an_unknown_payment() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (result, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 10_000, 1));
    assert_eq!(result, Ok(()));
    let expiry = refunds::expires_at_ms(100, REFUND_PERIOD_MS_DEFAULT);
    assert_eq!(expiry, 131 * DAY_MS);

    // The last millisecond of the period: refundable.
    let (result, _) = at(&mut c, none, expiry - 1, &warung, refund(payment, 1_000));
    assert_eq!(result, Ok(()));
    let state = c.h.ledger.state();
    assert!(state.get_ref(&StateKey::MerchantPaymentDay(100)).is_some());
    assert!(state.get_ref(&StateKey::Refunded(100, payment)).is_some());
    assert_eq!(c.h.ledger.stored_merchant_payments().unwrap(), 1);

    // The first block at the expiry: gone, everywhere.
    let (result, _) = at(&mut c, none, expiry, &warung, refund(payment, 1_000));
    assert_eq!(result, Err(Rejection::UnknownPayment(payment)));
    let state = c.h.ledger.state();
    assert!(state.get_ref(&StateKey::MerchantPaymentDay(100)).is_none());
    assert!(state.get_ref(&StateKey::Refunded(100, payment)).is_none());
    assert_eq!(c.h.ledger.stored_merchant_payments().unwrap(), 0);
    assert_eq!(c.h.ledger.payment_refunds(&payment).unwrap(), None);
    let reader = kopnet_ledger::ledger::ChainReader::new(c.h.ledger.storage().clone());
    assert_eq!(reader.payment_refunds(&payment).unwrap(), None);
    // 10.000 less fees of 30, 30 and 10, plus 3, 3 and 1 reversed, less 1.000.
    assert_eq!(c.h.balance(&warung), 8_937);
}

/// The merchant's home cooperative refunds, by its key or a teller; the
/// payer's cooperative, its teller, a member or merchant of another
/// cooperative and a plain member cannot.
#[test]
fn only_the_merchant_and_its_home_cooperative_refund() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung, budi) = (c.ani, c.warung, c.budi);
    let toko =
        c.h.member("toko", "ksp-sejahtera", AccountKind::Merchant, 0);
    let add_teller = |c: &mut City<MemoryStorage>, slug: &str, name: &str| {
        let key = c.h.member_key(name);
        let add = Action::AddTeller {
            teller: key,
            name: name.into(),
            daily_limit: Some(1),
        };
        assert_eq!(c.h.run(&coop(slug), add), Ok(()));
        key
    };
    let pasar_teller = add_teller(&mut c, "pasar-makmur", "loket-pasar");
    let ksp_teller = add_teller(&mut c, "ksp-sejahtera", "loket-ksp");
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (result, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 100_000, 1));
    assert_eq!(result, Ok(()));

    let mut time = DAY_100_NOON;
    let mut code = |c: &mut City<MemoryStorage>, signer: &PublicKey, amount| {
        time += 1;
        at(c, none, time, signer, refund(payment, amount))
            .0
            .map_err(|e| e.code())
    };
    for stranger in [coop("ksp-sejahtera"), ksp_teller, toko, budi, ani] {
        assert_eq!(code(&mut c, &stranger, 1_000), Err("not_authorized"));
    }
    assert_eq!(c.h.balance(&ani), 900_000, "nothing moved");
    // A teller's refund is not held to its daily limit (Rp 1 here).
    assert_eq!(code(&mut c, &pasar_teller, 1_000), Ok(()));
    assert_eq!(code(&mut c, &coop("pasar-makmur"), 2_000), Ok(()));
    assert_eq!(code(&mut c, &warung, 3_000), Ok(()));
    assert_eq!(c.h.balance(&ani), 906_000);
    let status = c.h.ledger.payment_refunds(&payment).unwrap().unwrap();
    assert_eq!(status.refunded.amount, 6_000);
    assert_eq!(status.refunded.refunds.len(), 3);
    // A teller refunds for its own cooperative's merchants only.
    let (result, other_payment) = at(&mut c, none, time + 1, &ani, pay(toko, 5_000, 2));
    assert_eq!(result, Ok(()));
    let (result, _) = at(
        &mut c,
        none,
        time + 2,
        &pasar_teller,
        refund(other_payment, 1),
    );
    assert_eq!(result.unwrap_err().code(), "not_authorized");
    let (result, _) = at(
        &mut c,
        none,
        time + 3,
        &ksp_teller,
        refund(other_payment, 1),
    );
    assert_eq!(result, Ok(()));
}

/// A member-to-member payment keeps no refund record: its payee (a plain
/// member) is `not_authorized`, a merchant or cooperative naming it finds
/// no payment; an unknown hash is an unknown payment.
#[test]
fn a_member_to_member_payment_cannot_be_refunded() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung, budi) = (c.ani, c.warung, c.budi);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (result, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(budi, 10_000, 1));
    assert_eq!(result, Ok(()));
    assert_eq!(c.h.ledger.stored_merchant_payments().unwrap(), 0);
    assert_eq!(c.h.ledger.payment_refunds(&payment).unwrap(), None);
    let (result, _) = at(&mut c, none, DAY_100_NOON + 1, &budi, refund(payment, 1));
    assert_eq!(result.unwrap_err().code(), "not_authorized");
    for signer in [warung, coop("pasar-makmur")] {
        let (result, _) = at(&mut c, none, DAY_100_NOON + 2, &signer, refund(payment, 1));
        assert_eq!(result, Err(Rejection::UnknownPayment(payment)));
    }
    let unknown = Hash::digest("test", b"no such payment");
    let (result, _) = at(&mut c, none, DAY_100_NOON + 3, &warung, refund(unknown, 1));
    assert_eq!(result, Err(Rejection::UnknownPayment(unknown)));
    assert_eq!(c.h.balance(&budi), 10_000);
}

/// A payment refunded in the block that made it (its record is in the
/// block's overlay, not yet on disk), and a long memo refused at admission.
#[test]
fn a_payment_can_be_refunded_in_its_own_block() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    let payment_tx = c.h.sign(&ani, pay(warung, 10_000, 1));
    let payment = payment_tx.hash();
    let refund_tx = c.h.sign(&warung, refund(payment, 10_000));
    let results = block_at::<_, MemoryStorage>(
        &mut c.h.ledger,
        &mut [],
        &[payment_tx, refund_tx],
        DAY_100_NOON,
    );
    assert_eq!(results, vec![Ok(()), Ok(())]);
    assert_eq!(balances(&c), (0, 1_000_000, 0, 0, 0));
    let long = Action::Refund {
        payment,
        amount: 1,
        memo: "x".repeat(65),
    };
    let tx = c.h.sign(&warung, long);
    assert_eq!(
        c.h.ledger.check_admission(&tx).unwrap_err().code(),
        "malformed"
    );
}

/// At most `REFUNDS_PER_PAYMENT_MAX` refunds of one payment.
#[test]
fn a_payment_is_refunded_in_a_bounded_number_of_parts() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (_, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 100_000, 1));
    let txs: Vec<Transaction> = (0..=REFUNDS_PER_PAYMENT_MAX)
        .map(|_| c.h.sign(&warung, refund(payment, 10)))
        .collect();
    let results = block_at::<_, MemoryStorage>(&mut c.h.ledger, &mut [], &txs, DAY_100_NOON + 1);
    assert!(results[..REFUNDS_PER_PAYMENT_MAX].iter().all(Result::is_ok));
    assert_eq!(
        results[REFUNDS_PER_PAYMENT_MAX],
        Err(Rejection::TooManyRefunds {
            max: REFUNDS_PER_PAYMENT_MAX as u64
        })
    );
}

/// The refund period is governed within 1 to 90 days; a shorter period
/// expires live days sooner.
#[test]
fn the_refund_period_is_governed_within_bounds() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    assert_eq!(
        c.h.ledger.params().unwrap().refund_period_ms,
        REFUND_PERIOD_MS_DEFAULT
    );
    let propose = |period_ms| Action::Propose {
        action: GovAction::SetRefundPeriod { period_ms },
    };
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let sejahtera = coop("ksp-sejahtera");
    for bad in [DAY_MS - 1, 90 * DAY_MS + 1] {
        let (result, _) = at(&mut c, none, DAY_100_NOON, &sejahtera, propose(bad));
        assert_eq!(result.unwrap_err().code(), "refund_period_out_of_range");
    }
    let (result, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 10_000, 1));
    assert_eq!(result, Ok(()));
    let (result, _) = at(&mut c, none, DAY_100_NOON, &sejahtera, propose(2 * DAY_MS));
    assert_eq!(result, Ok(()));
    for slug in ["pasar-makmur", "angkot-maju"] {
        let (result, _) = at(
            &mut c,
            none,
            DAY_100_NOON,
            &coop(slug),
            Action::Approve { proposal: 0 },
        );
        assert_eq!(result, Ok(()));
    }
    assert_eq!(c.h.ledger.params().unwrap().refund_period_ms, 2 * DAY_MS);
    // Day 100's payments now expire at day 101 + 2 days.
    let expiry = refunds::expires_at_ms(100, 2 * DAY_MS);
    assert_eq!(expiry, 103 * DAY_MS);
    let (result, _) = at(&mut c, none, expiry - 1, &warung, refund(payment, 1));
    assert_eq!(result, Ok(()));
    let (result, _) = at(&mut c, none, expiry, &warung, refund(payment, 1));
    assert_eq!(result, Err(Rejection::UnknownPayment(payment)));
}

/// 2,500 payments to merchants on day 100, in 10 blocks, are 2,500
/// records on disk and none in the state map; after their period they
/// leave the disk a bounded number of blocks' values per block
/// ([`refunds::BLOCK_PAYMENTS_SWEPT_PER_BLOCK_MAX`] = 8 of the 10, 2,000
/// records); a reopened ledger reads none at start-up and has the same
/// root.
#[test]
fn expired_records_leave_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = city(SledStorage::open(dir.path(), 8 << 20).unwrap());
    let (ani, warung) = (c.ani, c.warung);
    let txs: Vec<Transaction> = (0..2_500u32)
        .map(|i| {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            let action = Action::Payment {
                to: warung,
                amount: 100,
                memo: String::new(),
                idempotency_id: id,
            };
            c.h.sign(&ani, action)
        })
        .collect();
    assert_eq!(refunds::BLOCK_PAYMENTS_SWEPT_PER_BLOCK_MAX, 8);
    for (n, chunk) in txs.chunks(250).enumerate() {
        let results =
            block_at::<_, MemoryStorage>(&mut c.h.ledger, &mut [], chunk, DAY_100_NOON + n as u64);
        assert!(results.iter().all(Result::is_ok));
    }
    assert_eq!(c.h.ledger.stored_merchant_payments().unwrap(), 2_500);
    let day = match c
        .h
        .ledger
        .state()
        .get_ref(&StateKey::MerchantPaymentDay(100))
    {
        Some(kopnet_ledger::state::StateValue::MerchantPaymentDay(d)) => d.records,
        other => panic!("{other:?}"),
    };
    assert_eq!(day, 2_500);
    assert!(!c
        .h
        .ledger
        .state()
        .iter()
        .any(|(k, _)| matches!(k, StateKey::MerchantPayment(_))));

    // Reopened from the sled files: same root, records still found.
    let root = c.h.ledger.state_root();
    let genesis = c.h.genesis.clone();
    let mut store = c.h.ledger;
    let first = txs[0].hash();
    drop(store);
    store = Ledger::open(reopen_sled(dir.path()), &genesis).unwrap();
    assert_eq!(store.state_root(), root);
    assert!(store.payment_refunds(&first).unwrap().is_some());
    c.h.ledger = store;

    let expiry = refunds::expires_at_ms(100, REFUND_PERIOD_MS_DEFAULT);
    let mut stored = Vec::new();
    for time_ms in [expiry, expiry + 1] {
        let mint = c.h.sign(
            &coop("pasar-makmur"),
            Action::Mint {
                member: warung,
                amount: 1,
            },
        );
        block_at::<_, MemoryStorage>(&mut c.h.ledger, &mut [], &[mint], time_ms);
        stored.push(c.h.ledger.stored_merchant_payments().unwrap());
    }
    assert_eq!(stored, vec![500, 0]);
    assert!(c.h.ledger.state().merchant_payment_days().is_empty());
    assert_eq!(c.h.ledger.payment_refunds(&first).unwrap(), None);
}

/// Open the sled files again after the last handle was dropped (sled's
/// background jobs may hold the lock for a moment; only that is retried).
fn reopen_sled(path: &std::path::Path) -> SledStorage {
    loop {
        match SledStorage::open(path, 8 << 20) {
            Ok(store) => return store,
            Err(e) if e.to_string().contains("could not acquire lock") => std::thread::yield_now(),
            Err(e) => panic!("reopening sled: {e}"),
        }
    }
}

/// A refund that would take the payer past its balance cap moves nothing.
#[test]
fn a_refund_keeps_the_payers_balance_cap() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (_, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 100_000, 1));
    // Fill ani up to the registered tier's cap of Rp 20.000.000.
    let mint = Action::Mint {
        member: ani,
        amount: 20_000_000 - 900_000,
    };
    let (result, _) = at(&mut c, none, DAY_100_NOON + 1, &coop("ksp-sejahtera"), mint);
    assert_eq!(result, Ok(()));
    let before = balances(&c);
    let (result, _) = at(
        &mut c,
        none,
        DAY_100_NOON + 2,
        &warung,
        refund(payment, 1_000),
    );
    assert_eq!(result.unwrap_err().code(), "tier_balance_cap");
    assert_eq!(balances(&c), before);
}

/// The network fund's fee leg goes back like any other leg, within the
/// network participant's net debit cap: with a cap of 0 (the genesis
/// default), a refund in a later settlement window than its payment is
/// `net_debit_cap_exceeded` for `network` and moves nothing, while in the
/// payment's own window (the fund's credit is there) it passes.
#[test]
fn refunds_from_the_network_fund_need_its_net_debit_cap() {
    let mut c = city_with(MemoryStorage::new(), 0);
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (_, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 250_000, 1));
    let (result, _) = at(
        &mut c,
        none,
        DAY_100_NOON + 1,
        &warung,
        refund(payment, 100_000),
    );
    assert_eq!(result, Ok(()));
    assert_eq!(balances(&c), (148_950, 850_000, 450, 450, 150));
    // The next day: the window of the payment has closed.
    let (result, _) = at(
        &mut c,
        none,
        101 * DAY_MS,
        &warung,
        refund(payment, 150_000),
    );
    assert_eq!(
        result,
        Err(Rejection::NetDebitCapExceeded {
            participant: "network".into()
        })
    );
    assert_eq!(balances(&c), (148_950, 850_000, 450, 450, 150));
}

/// A store whose merchant payment records cannot be read refuses a block
/// that runs a refund (this node cannot judge it), changing nothing;
/// blocks without refunds never read those records.
#[test]
fn a_block_whose_refund_records_cannot_be_read_is_refused() {
    use kopnet_ledger::ledger::{BlockError, LedgerError};
    use kopnet_ledger::storage::{KeyValue, StorageError, WriteBatch};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    struct Unreadable(MemoryStorage, AtomicBool);
    impl Storage for Unreadable {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            let record = key.starts_with(kopnet_ledger::keys::MERCHANT_PAYMENT_PREFIX);
            if self.1.load(Ordering::SeqCst) && record {
                return Err(StorageError::Io("disk gone".into()));
            }
            self.0.get(key)
        }
        fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
            self.0.scan_prefix(prefix)
        }
        fn scan_prefix_rev(
            &self,
            prefix: &[u8],
            before: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<KeyValue>, StorageError> {
            self.0.scan_prefix_rev(prefix, before, limit)
        }
        fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
            self.0.commit(batch)
        }
    }
    let store = Arc::new(Unreadable(MemoryStorage::new(), false.into()));
    let mut c = city(Arc::clone(&store));
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let (_, payment) = at(&mut c, none, DAY_100_NOON, &ani, pay(warung, 10_000, 1));
    store.1.store(true, Ordering::SeqCst);
    let (result, _) = at(&mut c, none, DAY_100_NOON + 1, &ani, pay(warung, 1_000, 2));
    assert_eq!(result, Ok(()), "a payment reads no merchant payment record");
    store.1.store(false, Ordering::SeqCst);
    let tx = c.h.sign(&warung, refund(payment, 1_000));
    let (block, _) = c.h.ledger.build_block(
        std::slice::from_ref(&tx),
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert_eq!(block.txs.len(), 1);
    store.1.store(true, Ordering::SeqCst);
    let root = c.h.ledger.state_root();
    let refused = c.h.ledger.apply_block(&block, &VerifyAll, vec![]);
    assert!(
        matches!(refused, Err(LedgerError::Block(BlockError::Store(_)))),
        "{refused:?}"
    );
    assert_eq!(c.h.ledger.state_root(), root);
    store.1.store(false, Ordering::SeqCst);
    let outcome = c.h.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
    assert_eq!(outcome.results[0].1, Ok(()));
}

/// A payment to a merchant made by paying its request (`PayRequest`) is
/// kept like a `Payment`: the refund names the `PayRequest`'s hash.
#[test]
fn a_paid_request_to_a_merchant_is_refundable() {
    let mut c = city(MemoryStorage::new());
    let (ani, warung) = (c.ani, c.warung);
    let none: &mut [&mut Ledger<MemoryStorage>] = &mut [];
    let request = Action::RequestPayment {
        id: [7; 16],
        payer: Some(ani),
        amount: 250_000,
        reference: "INV-7".into(),
        expires_at_ms: DAY_100_NOON + DAY_MS,
    };
    let (result, _) = at(&mut c, none, DAY_100_NOON, &warung, request);
    assert_eq!(result, Ok(()));
    let pay_request = Action::PayRequest {
        requester: warung,
        id: [7; 16],
        amount: 250_000,
    };
    let (result, payment) = at(&mut c, none, DAY_100_NOON + 1, &ani, pay_request);
    assert_eq!(result, Ok(()));
    assert_eq!(balances(&c), (248_250, 750_000, 750, 750, 250));
    let (result, _) = at(
        &mut c,
        none,
        DAY_100_NOON + 2,
        &warung,
        refund(payment, 100_000),
    );
    assert_eq!(result, Ok(()));
    assert_eq!(balances(&c), (148_950, 850_000, 450, 450, 150));
}
