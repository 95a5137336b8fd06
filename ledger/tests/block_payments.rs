//! Payments to merchants kept for refunds as one value per block and
//! found through the payment runs (store format 13,
//! `ledger/src/ledger/refund_records.rs`): a refund finds its payment
//! whether it is in the newest block, in merged runs, read after a
//! restart, or written in the older form before a migration; a refund of
//! a payment never made is refused; the values leave the disk once the
//! refund period is over; a snapshot lists a day's older and newer
//! records in their chain order.

mod common;
use common::format_11::as_format_12;
use common::*;
use kopnet_ledger::idempotency::DAY_MS;
use kopnet_ledger::refunds::{self, REFUND_PERIOD_MS_DEFAULT};
use kopnet_ledger::storage::Storage;
use kopnet_ledger::{keys, migrate, AccountKind, Action, Ledger, MemoryStorage};
use kopnet_primitives::{Hash, PublicKey};

const DAY_100: u64 = 100 * DAY_MS;

/// `payer` pays `merchant` Rp 1.000 once a block under each id of `ids`,
/// from `time`; the payments' hashes (each must pay).
fn pay_each(
    h: &mut Harness<MemoryStorage>,
    payer: &PublicKey,
    merchant: PublicKey,
    ids: impl IntoIterator<Item = u8>,
    time: u64,
) -> Vec<Hash> {
    let mut hashes = Vec::new();
    for (n, id) in ids.into_iter().enumerate() {
        let tx = h.sign(payer, pay(merchant, 1_000, id));
        hashes.push(tx.hash());
        let result = h.block_at(time + n as u64 * 1_000, vec![tx]).remove(0);
        assert_eq!(result, Ok(()), "payment {id}");
    }
    hashes
}

/// `merchant` refunds Rp 100 of each of `payments`, one a block from
/// `time`; the result codes.
fn refund_each(
    h: &mut Harness<MemoryStorage>,
    merchant: &PublicKey,
    payments: &[Hash],
    time: u64,
) -> Vec<String> {
    let mut codes = Vec::new();
    for (n, payment) in payments.iter().enumerate() {
        let action = Action::Refund {
            payment: *payment,
            amount: 100,
            memo: String::new(),
        };
        let tx = h.sign(merchant, action);
        let result = h.block_at(time + n as u64 * 1_000, vec![tx]).remove(0);
        codes.push(match result {
            Ok(()) => "ok".to_string(),
            Err(rejection) => rejection.code().to_string(),
        });
    }
    codes
}

fn level_1_runs(store: &MemoryStorage) -> usize {
    store
        .scan_prefix(keys::PAYMENT_RUN_PREFIX)
        .unwrap()
        .into_iter()
        .filter(|(key, _)| key.get(1) == Some(&1))
        .count()
}

#[test]
fn a_refund_finds_its_payment_in_block_values_after_merges_and_a_restart() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000);
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    // 40 blocks with one payment each: the first 16 blocks' runs are
    // merged into level 1 along the way.
    let payments = pay_each(&mut h, &ani, warung, 1..=40, DAY_100);
    let store = h.ledger.storage().clone();
    assert!(store
        .scan_prefix(keys::MERCHANT_PAYMENT_PREFIX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .scan_prefix(keys::BLOCK_PAYMENTS_PREFIX)
            .unwrap()
            .len(),
        40
    );
    assert!(
        level_1_runs(&store) > 0,
        "no level-1 payment run after 40 blocks"
    );
    assert_eq!(h.ledger.stored_merchant_payments().unwrap(), 40);

    // Reopened: every payment is found through the runs and refunded.
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    let later = DAY_100 + 100_000;
    assert_eq!(
        refund_each(&mut h, &warung, &payments, later),
        vec!["ok"; 40]
    );
    for payment in &payments {
        let refunds = h.ledger.payment_refunds(payment).unwrap().unwrap();
        assert_eq!(refunds.refunded.amount, 100);
        assert_eq!(refunds.payment.merchant, warung);
    }
    // A payment never made, and a transaction that paid no merchant, are
    // not refundable.
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let to_member = h.sign(&ani, pay(budi, 1_000, 99));
    let to_member_hash = to_member.hash();
    assert_eq!(
        h.block_at(later + 60_000, vec![to_member]).remove(0),
        Ok(())
    );
    let never = Hash::digest_parts("test", &[b"never paid"]);
    assert_eq!(
        refund_each(&mut h, &warung, &[never, to_member_hash], later + 70_000),
        vec!["unknown_payment"; 2]
    );

    // After the refund period: a payment is no longer refundable, and the
    // day's values leave the disk, a bounded number a block.
    let expired = refunds::expires_at_ms(100, REFUND_PERIOD_MS_DEFAULT);
    assert_eq!(
        refund_each(&mut h, &warung, &payments[..1], expired),
        vec!["unknown_payment"]
    );
    for n in 1..=5 {
        h.block_at(expired + n * 1_000, vec![]);
    }
    let left = store
        .scan_prefix(&keys::block_payments_day_start(100))
        .unwrap()
        .len();
    assert_eq!(left, 0, "day 100's block values swept");
    assert_eq!(h.ledger.stored_merchant_payments().unwrap(), 0);
}

#[test]
fn a_store_migrated_from_format_12_finds_old_and_new_payments_and_snapshots_them_in_order() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000);
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    let mut payments = pay_each(&mut h, &ani, warung, 1..=5, DAY_100);
    // The store as format 12 left it, migrated: payments 1..=5 are `P` keys.
    let store = h.ledger.storage().clone();
    as_format_12(&store);
    let report = migrate::migrate(&store).unwrap();
    assert_eq!((report.from, report.to), (12, 13));
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    let older_keys = || {
        store
            .scan_prefix(keys::MERCHANT_PAYMENT_PREFIX)
            .unwrap()
            .len()
    };
    assert_eq!(older_keys(), 5);
    // The same day goes on in block values.
    let later = DAY_100 + 10_000;
    payments.extend(pay_each(&mut h, &ani, warung, 6..=10, later));
    assert_eq!(older_keys(), 5, "no new `P` key");
    assert_eq!(h.ledger.stored_merchant_payments().unwrap(), 10);

    // A snapshot lists the day's five older records, then the five newer:
    // the importer checks them against the day's chain.
    let imported = snapshot_round_trip(&h.ledger, &h.genesis);
    assert_eq!(imported.stored_merchant_payments().unwrap(), 10);

    // Reopened: old and new payments are all refundable.
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    assert_eq!(
        refund_each(&mut h, &warung, &payments, later + 10_000),
        vec!["ok"; 10]
    );
}
