//! Payment idempotency records expire by block time and live on disk only
//! (`kopnet_ledger::idempotency`): every ledger removes exactly the same
//! records at exactly the documented block, a reopened ledger has the same
//! root and behaves as one that never stopped, start-up reads no record, and
//! expired records leave the disk.

mod common;
use common::counting::Counting;
use common::*;
use kopnet_ledger::idempotency::{self, DAY_MS};
use kopnet_ledger::ledger::{BlockContext, BlockLimits, LedgerError, Quote};
use kopnet_ledger::state::StateRead;
use kopnet_ledger::storage::{KeyValue, StorageError, WriteBatch};
use kopnet_ledger::{
    AccountKind, Action, Ledger, MemoryStorage, Rejection, SignatureCheck, SledStorage, Storage,
    Transaction, VerifyAll,
};
use kopnet_primitives::{Hash, PublicKey};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Noon of day 100 of block time.
const DAY_100_NOON: u64 = 100 * DAY_MS + DAY_MS / 2;

/// Signatures are checked by the other tests; these sign thousands of
/// payments and only need the ledger's own rules.
struct Trusted;
impl SignatureCheck for Trusted {
    fn is_valid(&self, _: &Hash, _: &Transaction) -> bool {
        true
    }
}

/// Build a block of `txs` at `time_ms` on `proposer` (written from its
/// execution) and apply it afresh on every ledger in `others`; the
/// outcomes and roots must agree. Returns the results.
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
        proposer.build_executed_block(txs, context, BlockLimits::default(), &Trusted);
    assert!(skipped.is_empty(), "not admitted: {skipped:?}");
    let block = executed.block().clone();
    assert_eq!(block.header.time_ms, time_ms);
    let outcome = proposer
        .apply_executed(executed, vec![], |_| vec![])
        .unwrap();
    proposer.check_invariants().unwrap();
    for other in others.iter_mut() {
        let again = other.apply_block(&block, &VerifyAll, vec![]).unwrap();
        assert_eq!(again, outcome, "same block, same outcome and root");
    }
    outcome.results.into_iter().map(|(_, r)| r).collect()
}

/// Register ani (with Rp 1.000.000) and budi on `h` in blocks at times 1, 2.
fn city<S: Storage>(store: S) -> (Harness<S>, PublicKey, PublicKey) {
    let mut h = Harness::new(store, 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    (h, ani, budi)
}

fn day_entry<S: Storage>(ledger: &Ledger<S>, day: u64) -> bool {
    ledger.state().idempotency_day(day).is_some()
}

/// Two ledgers (sled and memory) fed the same blocks: a payment of day 100
/// is a `duplicate` when retried (signed again, new nonce, same id) in the
/// last millisecond of day 101, and a new payment at the first block of day
/// 102, which is also the block that removes day 100 from the state.
#[test]
fn a_record_expires_at_exactly_the_first_block_of_the_day_after_next() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, ani, budi) = city(MemoryStorage::new());
    let (mut b, _, _) = city(SledStorage::open(dir.path(), 8 << 20).unwrap());
    assert_eq!(a.ledger.state_root(), b.ledger.state_root());
    let mut run = |a: &mut Harness<MemoryStorage>, txs: Vec<Action>, time_ms| {
        let txs: Vec<Transaction> = txs.into_iter().map(|act| a.sign(&ani, act)).collect();
        block_at(&mut a.ledger, &mut [&mut b.ledger], &txs, time_ms)
    };

    // Day 100: the payment, and its retry in the same block.
    let results = run(
        &mut a,
        vec![pay(budi, 1_000, 7), pay(budi, 1_000, 7)],
        DAY_100_NOON,
    );
    let first_tx = a
        .ledger
        .idempotency_record(&ani, &[7; 16])
        .unwrap()
        .unwrap()
        .tx;
    assert_eq!(results[0], Ok(()));
    assert_eq!(results[1], Err(Rejection::Duplicate { first_tx }));
    assert!(day_entry(&a.ledger, 100));

    // Day 101: another payment with another id; day 100 is still live.
    let results = run(&mut a, vec![pay(budi, 500, 8)], 101 * DAY_MS + 5);
    assert_eq!(results, vec![Ok(())]);
    assert!(day_entry(&a.ledger, 100) && day_entry(&a.ledger, 101));

    // The last millisecond of day 101: still a duplicate.
    let expiry = idempotency::expires_at_ms(100);
    assert_eq!(expiry, 102 * DAY_MS);
    let results = run(&mut a, vec![pay(budi, 1_000, 7)], expiry - 1);
    assert_eq!(results, vec![Err(Rejection::Duplicate { first_tx })]);
    assert_eq!(a.balance(&budi), 1_500);

    // The first block of day 102: day 100 is gone, the retry pays again,
    // and a retry of day 101's payment is still a duplicate.
    let results = run(&mut a, vec![pay(budi, 1_000, 7), pay(budi, 500, 8)], expiry);
    assert_eq!(results[0], Ok(()));
    assert!(matches!(results[1], Err(Rejection::Duplicate { .. })));
    assert_eq!(
        a.balance(&budi),
        2_500,
        "after expiry the retry is a new payment"
    );
    assert!(
        !day_entry(&a.ledger, 100),
        "day 100 removed at its expiry block"
    );
    assert!(day_entry(&a.ledger, 101) && day_entry(&a.ledger, 102));
    let again = a
        .ledger
        .idempotency_record(&ani, &[7; 16])
        .unwrap()
        .unwrap();
    assert_ne!(again.tx, first_tx, "the record is the new payment's");
    assert_eq!(a.ledger.state_root(), b.ledger.state_root());
    assert_eq!(a.ledger.state(), b.ledger.state());
}

/// A quote for a payment whose id is live says `duplicate`, as the block
/// would (the quote reads the record from the store too).
#[test]
fn a_quote_sees_live_records() {
    let (mut h, ani, budi) = city(MemoryStorage::new());
    assert_eq!(h.run(&ani, pay(budi, 1_000, 3)), Ok(()));
    let quote: Result<Quote, Rejection> = h.ledger.quote(&ani, &pay(budi, 1_000, 3));
    assert!(
        matches!(quote, Err(Rejection::Duplicate { .. })),
        "{quote:?}"
    );
    assert!(h.ledger.quote(&ani, &pay(budi, 1_000, 4)).is_ok());
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

/// One ledger never stops, the other is closed and reopened from its sled
/// files before every block: same roots, same results (duplicates found in
/// records written before a restart, expiry across a restart), same state.
#[test]
fn a_reopened_ledger_has_the_same_root_and_behaves_as_one_that_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut steady, ani, budi) = city(MemoryStorage::new());
    let (restarted, _, _) = city(SledStorage::open(dir.path(), 8 << 20).unwrap());
    let genesis = restarted.genesis.clone();
    let mut restarted = Some(restarted.ledger);
    let days: Vec<(u64, Vec<Action>)> = vec![
        (DAY_100_NOON, vec![pay(budi, 100, 1), pay(budi, 100, 2)]),
        (DAY_100_NOON + 1, vec![pay(budi, 100, 1)]),
        (101 * DAY_MS, vec![pay(budi, 100, 2), pay(budi, 100, 3)]),
        (102 * DAY_MS, vec![pay(budi, 100, 1), pay(budi, 100, 3)]),
        (103 * DAY_MS + 9, vec![pay(budi, 100, 3), pay(budi, 100, 4)]),
        (110 * DAY_MS, vec![pay(budi, 100, 4)]),
    ];
    let mut all = Vec::new();
    for (time_ms, actions) in days {
        let root = steady.ledger.state_root();
        drop(restarted.take());
        let mut reopened = Ledger::open(reopen_sled(dir.path()), &genesis).unwrap();
        assert_eq!(reopened.state_root(), root, "reopened at the same root");
        assert_eq!(reopened.state(), steady.ledger.state());
        assert_eq!(
            reopened.last_block_time_ms(),
            steady.ledger.last_block_time_ms()
        );
        let txs: Vec<Transaction> = actions.into_iter().map(|a| steady.sign(&ani, a)).collect();
        all.extend(block_at(
            &mut steady.ledger,
            &mut [&mut reopened],
            &txs,
            time_ms,
        ));
        restarted = Some(reopened);
    }
    let codes: Vec<&str> = all
        .iter()
        .map(|r| r.as_ref().map_or_else(Rejection::code, |_| "ok"))
        .collect();
    let expected = [
        "ok",
        "ok",        // day 100
        "duplicate", // id 1 again on day 100
        "duplicate",
        "ok", // day 101: id 2 still live, id 3 new
        "ok",
        "duplicate", // day 102: id 1 (day 100) expired, id 3 (day 101) live
        "ok",
        "ok", // day 103: id 3 (day 101) expired, id 4 new
        "ok", // day 110: everything before expired
    ];
    assert_eq!(codes, expected);
    let restarted = restarted.unwrap();
    assert_eq!(restarted.state().idempotency_days(), vec![110]);
    assert_eq!(restarted.stored_idempotency_records().unwrap(), 1);
}

/// `payers` members at ksp-sejahtera, each with Rp 1.000.000, and a payee.
fn payers(h: &mut Harness<MemoryStorage>, payers: usize) -> (Vec<PublicKey>, PublicKey) {
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let keys: Vec<PublicKey> = (0..payers)
        .map(|i| h.member_key(&format!("payer-{i}")))
        .collect();
    let coop_key = coop("ksp-sejahtera");
    let mut txs = Vec::new();
    for key in &keys {
        txs.push(h.sign(
            &coop_key,
            Action::RegisterMember {
                member: *key,
                kind: AccountKind::Member,
                tier: kopnet_ledger::KycTier::Registered,
            },
        ));
        txs.push(h.sign(
            &coop_key,
            Action::Mint {
                member: *key,
                amount: 1_000_000,
            },
        ));
    }
    assert!(h.block(txs).iter().all(Result::is_ok));
    (keys, budi)
}

/// `count` payments of Rp 1 from the payers to budi, ids 0.. per payer, in
/// blocks of at most 1,000 at `time_ms`, `time_ms + 1`, ...
fn pay_many(
    h: &mut Harness<MemoryStorage>,
    payers: &[PublicKey],
    budi: PublicKey,
    count: usize,
    time_ms: u64,
) {
    let mut txs = Vec::new();
    for i in 0..count {
        let payer = payers[i % payers.len()];
        let id = u128::try_from(i / payers.len()).unwrap().to_le_bytes();
        let action = Action::Payment {
            to: budi,
            amount: 1,
            memo: String::new(),
            idempotency_id: id,
        };
        txs.push(h.sign(&payer, action));
    }
    // 200 a block: a large day spans more blocks than one block sweeps.
    for (n, chunk) in txs.chunks(200).enumerate() {
        let results =
            block_at::<_, MemoryStorage>(&mut h.ledger, &mut [], chunk, time_ms + n as u64);
        assert!(results.iter().all(Result::is_ok));
    }
}

/// What opening `store` read: (entries, idempotency records among them),
/// and the opened ledger.
fn open_counting(
    store: MemoryStorage,
    genesis: &kopnet_ledger::Genesis,
) -> ((u64, u64), Ledger<Arc<Counting<MemoryStorage>>>) {
    let counting = Arc::new(Counting::new(store));
    let ledger = Ledger::open(Arc::clone(&counting), genesis).unwrap();
    (counting.counts(), ledger)
}

/// Start-up reads the same entries whether the store holds 50 or 3,000
/// idempotency records, and none of them; after the records' day expires
/// they leave the disk, `SWEEP_RECORDS_BASE` (2,000) per block that writes
/// none.
#[test]
fn start_up_reads_no_record_and_expired_records_leave_the_disk() {
    let mut small = Harness::new(MemoryStorage::new(), 50_000_000);
    let mut large = Harness::new(MemoryStorage::new(), 50_000_000);
    let (small_payers, small_budi) = payers(&mut small, 50);
    let (large_payers, large_budi) = payers(&mut large, 50);
    pay_many(&mut small, &small_payers, small_budi, 50, DAY_100_NOON);
    pay_many(&mut large, &large_payers, large_budi, 3_000, DAY_100_NOON);
    assert_eq!(small.ledger.stored_idempotency_records().unwrap(), 50);
    assert_eq!(large.ledger.stored_idempotency_records().unwrap(), 3_000);

    let (small_read, small_open) = open_counting(small.ledger.storage().clone(), &small.genesis);
    let (large_read, large_open) = open_counting(large.ledger.storage().clone(), &large.genesis);
    assert_eq!(small_read.1, 0, "start-up read no idempotency record");
    assert_eq!(large_read.1, 0, "start-up read no idempotency record");
    assert_eq!(
        small_read.0, large_read.0,
        "start-up reads do not follow the payments"
    );
    assert_eq!(small_open.state().len(), large_open.state().len());
    assert_eq!(large_open.state_root(), large.ledger.state_root());
    let day = large_open.state().idempotency_day(100).unwrap();
    assert_eq!(day.records, 3_000);

    // The first block of day 102 removes day 100's entry from the state,
    // and its records from the disk over two blocks: 8 blocks' records
    // (`W` values) a block, the 15 blocks of 200 in two.
    assert_eq!(idempotency::BLOCK_RECORDS_SWEPT_PER_BLOCK_MAX, 8);
    let coop_key = coop("ksp-sejahtera");
    let mut stored = Vec::new();
    for time_ms in [102 * DAY_MS, 102 * DAY_MS + 1] {
        let mint = Action::Mint {
            member: large_budi,
            amount: 1,
        };
        let mint = large.sign(&coop_key, mint);
        block_at::<_, MemoryStorage>(&mut large.ledger, &mut [], &[mint], time_ms);
        assert_eq!(large.ledger.state().idempotency_days(), Vec::<u64>::new());
        stored.push(large.ledger.stored_idempotency_records().unwrap());
    }
    assert_eq!(stored, vec![1_400, 0]);
    // Day 100's entry is gone; the day-102 block also passed a settlement
    // cut-off, which adds the next window's entry: leave windows out.
    let without_windows = |state: &kopnet_ledger::state::State| {
        state
            .iter()
            .filter(|(key, _)| !matches!(key, kopnet_ledger::state::StateKey::Window(_)))
            .count()
    };
    assert_eq!(
        without_windows(large.ledger.state()),
        without_windows(small_open.state()) - 1
    );
}

/// A payment with a new id reads no record from the store once the ledger
/// has written every record of the day itself (the in-memory filter,
/// `ledger/src/ledger/record_filter.rs`); one that may be a duplicate
/// does, and so does every payment of a day that had records when the
/// ledger opened. The results are those of a ledger that reads them all.
#[test]
fn new_ids_read_no_record_once_the_ledger_wrote_the_whole_day() {
    let store = Arc::new(Counting::new(MemoryStorage::new()));
    let (mut h, ani, budi) = city(Arc::clone(&store));
    let fresh = |h: &mut Harness<Arc<Counting<MemoryStorage>>>, actions: Vec<Action>, at: u64| {
        let txs: Vec<Transaction> = actions.into_iter().map(|a| h.sign(&ani, a)).collect();
        let before = store.lookups(kopnet_ledger::keys::IDEMPOTENCY_PREFIX);
        let codes: Vec<&str> =
            block_at::<_, MemoryStorage>(&mut h.ledger, &mut [], &txs, DAY_100_NOON + at)
                .iter()
                .map(|r| r.as_ref().map_or_else(Rejection::code, |_| "ok"))
                .collect();
        (
            codes,
            store.lookups(kopnet_ledger::keys::IDEMPOTENCY_PREFIX) - before,
        )
    };
    // Day 100 begins: no records, no reads.
    let first = fresh(&mut h, (1..=20).map(|id| pay(budi, 100, id)).collect(), 0);
    assert_eq!(first, (vec!["ok"; 20], 0));
    // Twenty new ids on a day the ledger wrote whole: no reads (a filter
    // may say "maybe" for a few absent ids: 2 % at most when full).
    let (codes, lookups) = fresh(&mut h, (21..=40).map(|id| pay(budi, 100, id)).collect(), 1);
    assert_eq!(codes, vec!["ok"; 20]);
    assert!(lookups <= 2, "{lookups} reads for 20 new ids");
    // The same ids again: each is read, and refused as a duplicate.
    let again = fresh(&mut h, vec![pay(budi, 100, 3), pay(budi, 100, 33)], 2);
    assert_eq!(again, (vec!["duplicate", "duplicate"], 2));

    // Reopened, the ledger did not see day 100's records written: every
    // payment of the day reads its record, found or not.
    let mut reopened = Ledger::open(Arc::clone(&store), &h.genesis).unwrap();
    let txs = vec![
        h.sign(&ani, pay(budi, 100, 41)),
        h.sign(&ani, pay(budi, 100, 5)),
    ];
    let before = store.lookups(kopnet_ledger::keys::IDEMPOTENCY_PREFIX);
    let results = block_at::<_, MemoryStorage>(&mut reopened, &mut [], &txs, DAY_100_NOON + 3);
    assert_eq!(
        store.lookups(kopnet_ledger::keys::IDEMPOTENCY_PREFIX) - before,
        2
    );
    assert_eq!(results[0], Ok(()));
    assert!(matches!(results[1], Err(Rejection::Duplicate { .. })));
}

/// A store that cannot be read refuses the block (this node cannot judge
/// it) rather than executing payments without their records.
#[test]
fn a_block_whose_records_cannot_be_read_is_refused() {
    struct Unreadable(MemoryStorage, std::sync::atomic::AtomicBool);
    impl Storage for Unreadable {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            if self.1.load(Ordering::SeqCst) && key.starts_with(b"I") {
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
    let (mut h, ani, budi) = city(Arc::clone(&store));
    // A day without records is not read at all: the first payment of the
    // day runs with the records unreadable.
    store.1.store(true, Ordering::SeqCst);
    assert_eq!(h.run(&ani, pay(budi, 1_000, 9)), Ok(()));
    store.1.store(false, Ordering::SeqCst);
    // Now today has records. A new id is surely absent (the ledger wrote
    // every record of today: `record_filter`), but the same id again may
    // be a duplicate: its record must be read.
    let tx = h.sign(&ani, pay(budi, 1_000, 9));
    let (block, _) = h.ledger.build_block(
        std::slice::from_ref(&tx),
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert_eq!(block.txs.len(), 1);
    store.1.store(true, Ordering::SeqCst);
    let root = h.ledger.state_root();
    let refused = h.ledger.apply_block(&block, &VerifyAll, vec![]);
    assert!(
        matches!(
            refused,
            Err(LedgerError::Block(
                kopnet_ledger::ledger::BlockError::Store(_)
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(h.ledger.state_root(), root);
    // The proposer leaves the transactions out instead.
    let (empty, _) = h.ledger.build_block(
        &[tx],
        coop("ksp-sejahtera"),
        BlockLimits::default(),
        &VerifyAll,
    );
    assert!(empty.txs.is_empty());
}

/// Start-up takes the last block's time from its own key; a store written
/// before that key existed still opens with the right time (read from the
/// last block).
#[test]
fn start_up_knows_the_last_block_time_without_the_block() {
    let (mut h, ani, budi) = city(MemoryStorage::new());
    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    block_at::<_, MemoryStorage>(&mut h.ledger, &mut [], &[tx], DAY_100_NOON);
    let store = h.ledger.storage().clone();
    let reopened = Ledger::open(store.clone(), &h.genesis).unwrap();
    assert_eq!(reopened.last_block_time_ms(), DAY_100_NOON);
    let mut older = WriteBatch::default();
    older.delete(kopnet_ledger::keys::META_LAST_TIME.to_vec());
    store.commit(older).unwrap();
    let reopened = Ledger::open(store, &h.genesis).unwrap();
    assert_eq!(reopened.last_block_time_ms(), DAY_100_NOON);
    assert_eq!(reopened.state_root(), h.ledger.state_root());
}
