//! Idempotency records kept as one value per block and found through the
//! record runs (store format 12, `ledger/src/ledger/payment_records.rs`):
//! a duplicate is refused whether its record is in the newest block, in
//! merged runs, read after a restart (when no in-memory filter helps), or
//! written in the older form before a migration; a snapshot lists the older
//! and newer records of one day in their chain order.

mod common;
use common::format_11::as_format_11;
use common::*;
use kopnet_ledger::idempotency::DAY_MS;
use kopnet_ledger::storage::Storage;
use kopnet_ledger::{keys, migrate, AccountKind, Ledger, MemoryStorage, Rejection};
use kopnet_primitives::PublicKey;

const DAY_100: u64 = 100 * DAY_MS;

/// `payer` pays `to` once a block under each id of `ids`, from `time`;
/// the result codes.
fn pay_each(
    h: &mut Harness<MemoryStorage>,
    payer: &PublicKey,
    to: PublicKey,
    ids: impl IntoIterator<Item = u8>,
    time: u64,
) -> Vec<String> {
    let mut codes = Vec::new();
    for (n, id) in ids.into_iter().enumerate() {
        let tx = h.sign(payer, pay(to, 1_000, id));
        let result = h.block_at(time + n as u64 * 1_000, vec![tx]).remove(0);
        codes.push(match result {
            Ok(()) => "ok".to_string(),
            Err(rejection) => rejection.code().to_string(),
        });
    }
    codes
}

#[test]
fn a_duplicate_is_found_in_block_values_after_merges_and_a_restart() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    // 40 blocks with one new id each: the first 16 blocks' runs are
    // merged into level 1 along the way.
    assert_eq!(
        pay_each(&mut h, &ani, budi, 1..=40, DAY_100),
        vec!["ok"; 40]
    );
    let store = h.ledger.storage().clone();
    assert!(store
        .scan_prefix(keys::IDEMPOTENCY_PREFIX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.scan_prefix(keys::BLOCK_RECORDS_PREFIX).unwrap().len(),
        40
    );
    let level_1 = store
        .scan_prefix(keys::RECORD_RUN_PREFIX)
        .unwrap()
        .into_iter()
        .filter(|(key, _)| key.get(1) == Some(&1))
        .count();
    assert!(level_1 > 0, "no level-1 record run after 40 blocks");

    // Reopened: the filter knows none of the day, every lookup goes
    // through the runs. Each used id is a duplicate; a new one pays.
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    let later = DAY_100 + 100_000;
    assert_eq!(
        pay_each(&mut h, &ani, budi, 1..=40, later),
        vec!["duplicate"; 40]
    );
    assert_eq!(
        pay_each(&mut h, &ani, budi, [41], later + 50_000),
        vec!["ok"]
    );
    assert_eq!(h.balance(&budi), 41 * 1_000);

    // Day 102: day 100's records have expired; an old id pays again, and
    // the expired blocks' records leave the disk.
    assert_eq!(pay_each(&mut h, &ani, budi, [7], 102 * DAY_MS), vec!["ok"]);
    for n in 1..=8 {
        h.block_at(102 * DAY_MS + n * 1_000, vec![]);
    }
    let left = store
        .scan_prefix(&keys::block_records_day_start(100))
        .unwrap()
        .len();
    assert_eq!(left, 0, "day 100's block values swept");
    assert_eq!(h.ledger.stored_idempotency_records().unwrap(), 1);
}

#[test]
fn a_store_migrated_from_format_11_finds_old_and_new_records_and_snapshots_them_in_order() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    assert_eq!(pay_each(&mut h, &ani, budi, 1..=5, DAY_100), vec!["ok"; 5]);
    // The store as format 11 left it, migrated: records 1..=5 are `I` keys.
    let store = h.ledger.storage().clone();
    as_format_11(&store);
    let report = migrate::migrate(&store).unwrap();
    assert_eq!((report.from, report.to), (11, 13));
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    assert_eq!(
        store.scan_prefix(keys::IDEMPOTENCY_PREFIX).unwrap().len(),
        5
    );
    // The same day goes on in block values.
    let later = DAY_100 + 10_000;
    assert_eq!(pay_each(&mut h, &ani, budi, 6..=10, later), vec!["ok"; 5]);
    assert_eq!(
        store.scan_prefix(keys::IDEMPOTENCY_PREFIX).unwrap().len(),
        5,
        "no new `I` key"
    );
    // Reopened: old and new ids are all duplicates.
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    let codes = pay_each(&mut h, &ani, budi, 1..=10, later + 10_000);
    assert_eq!(codes, vec!["duplicate"; 10]);
    let quoted = h.ledger.quote(&ani, &pay(budi, 1_000, 3));
    assert!(matches!(quoted, Err(Rejection::Duplicate { .. })));

    // A snapshot lists the day's five older records, then the five newer:
    // the importer checks them against the day's chain.
    let imported = snapshot_round_trip(&h.ledger, &h.genesis);
    assert_eq!(imported.stored_idempotency_records().unwrap(), 10);
}
