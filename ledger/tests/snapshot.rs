//! Snapshots (`kopnet_ledger::snapshot`): a ledger imported from a snapshot
//! is the ledger it was taken from (same root, same records, same answers
//! to the next blocks); every kind of tampering is refused; a store of
//! format 8 is migrated, and its unsequenced records hold snapshots back
//! until they expire.

mod common;
use common::format_11::as_format_11;
use common::*;
use kopnet_ledger::day_order::{self, RecordKind};
use kopnet_ledger::idempotency::DAY_MS;
use kopnet_ledger::keys;
use kopnet_ledger::migrate::{self, Needed};
use kopnet_ledger::refunds::MerchantPayment;
use kopnet_ledger::snapshot::{self, Capture, Chunk, Importer, Item, Manifest, SnapshotError};
use kopnet_ledger::state::{IdempotencyRecord, Sequenced};
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{AccountKind, Ledger, MemoryStorage, Rejection, Storage};
use kopnet_primitives::{codec, Hash, PublicKey};

const DAY_100_NOON: u64 = 100 * DAY_MS + DAY_MS / 2;

struct Town {
    h: Harness<MemoryStorage>,
    members: Vec<PublicKey>,
    warung: PublicKey,
}

/// Members paying each other and a merchant over two days: idempotency
/// records on both days, merchant payment records on both.
fn town() -> Town {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    let members: Vec<PublicKey> = (0..6)
        .map(|i| {
            let home = if i % 2 == 0 {
                "ksp-sejahtera"
            } else {
                "pasar-makmur"
            };
            h.member(&format!("m{i}"), home, AccountKind::Member, 1_000_000)
        })
        .collect();
    for (day, time) in [(0u8, DAY_100_NOON), (1, DAY_100_NOON + DAY_MS)] {
        for round in 0..3u8 {
            let mut txs = Vec::new();
            for (i, m) in members.iter().enumerate() {
                let to = if i % 2 == 0 {
                    warung
                } else {
                    members[(i + 1) % members.len()]
                };
                let idem = 1 + day * 50 + round * 10 + i as u8;
                txs.push(h.sign(m, pay(to, 1_000 + i as u64, idem)));
            }
            let results = h.block_at(time + u64::from(round) * 1_000, txs);
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    }
    Town { h, members, warung }
}

/// The snapshot of `ledger`: its manifest and chunks.
fn take<S: Storage>(ledger: &Ledger<S>) -> Result<(Manifest, Vec<Vec<u8>>), SnapshotError> {
    let capture = Capture::of(ledger)?;
    let mut chunks = Vec::new();
    let manifest = snapshot::export(&capture, ledger.storage(), &mut |bytes| {
        chunks.push(bytes.to_vec());
        Ok(())
    })?;
    Ok((manifest, chunks))
}

fn import(
    genesis: &kopnet_ledger::Genesis,
    manifest: &Manifest,
    chunks: &[Vec<u8>],
    root: Hash,
) -> Result<Ledger<MemoryStorage>, SnapshotError> {
    let mut importer = Importer::new(MemoryStorage::new(), genesis, manifest.clone(), root)?;
    for (i, chunk) in chunks.iter().enumerate() {
        importer.chunk(i, chunk)?;
    }
    importer.finish(genesis)
}

/// Re-chunk `items` into one chunk with a manifest that names it honestly:
/// what a lying peer would send, since only the root is certified.
fn forged(manifest: &Manifest, items: Vec<Item>) -> (Manifest, Vec<Vec<u8>>) {
    let bytes = codec::encode(&Chunk { items }).unwrap();
    let mut m = manifest.clone();
    m.chunks = vec![snapshot::ChunkRef {
        hash: snapshot::chunk_hash(&bytes),
        bytes: bytes.len() as u32,
    }];
    (m, vec![bytes])
}

fn all_items(chunks: &[Vec<u8>]) -> Vec<Item> {
    chunks
        .iter()
        .flat_map(|c| codec::decode::<Chunk>(c).unwrap().items)
        .collect()
}

#[test]
fn an_imported_ledger_is_the_ledger_it_was_taken_from() {
    let mut t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    assert_eq!(manifest.height, t.h.ledger.height());
    let items = all_items(&chunks);
    let idem = items
        .iter()
        .filter(|i| matches!(i, Item::Idempotency { .. }))
        .count();
    let merchant = items
        .iter()
        .filter(|i| matches!(i, Item::MerchantPayment { .. }))
        .count();
    assert_eq!(
        idem, 36,
        "six payments a block, three blocks a day, two days"
    );
    assert_eq!(merchant, 18, "three of the six pay the merchant");

    let mut imported = import(&t.h.genesis, &manifest, &chunks, t.h.ledger.state_root()).unwrap();
    assert_eq!(imported.state_root(), t.h.ledger.state_root());
    assert_eq!(imported.height(), t.h.ledger.height());
    assert_eq!(imported.last_block_hash(), t.h.ledger.last_block_hash());
    assert_eq!(
        imported.last_block_time_ms(),
        t.h.ledger.last_block_time_ms()
    );
    assert_eq!(
        imported.storage().get(keys::META_BASE).unwrap(),
        Some((manifest.height + 1).to_be_bytes().to_vec())
    );
    imported.check_invariants().unwrap();
    // The import listed every day's records in chain order, as blocks do.
    for kind in [RecordKind::Idempotency, RecordKind::MerchantPayment] {
        for day in [100, 101] {
            let here = day_order::list_starts(imported.storage(), kind, day).unwrap();
            assert_eq!(here.first(), Some(&0), "{kind:?} day {day}: {here:?}");
        }
    }
    // Its own snapshot is the same snapshot (by those lists).
    let (again, again_chunks) = take(&imported).unwrap();
    assert_eq!(again, manifest);
    assert_eq!(again_chunks, chunks);

    // The next block: a retry of a payment of the day before (refused as a
    // duplicate on both), a refund of a merchant payment (found on both) and a new
    // payment.
    let m0 = t.members[0];
    let retry = t.h.sign(&m0, pay(t.warung, 1_000, 1));
    let fresh = t.h.sign(&m0, pay(t.warung, 77, 200));
    let block_time = DAY_100_NOON + DAY_MS + 10_000;
    let context = kopnet_ledger::ledger::BlockContext {
        time_ms: block_time,
        ..kopnet_ledger::ledger::BlockContext::new(coop("ksp-sejahtera"))
    };
    let (executed, _) = t.h.ledger.build_executed_block(
        &[retry, fresh],
        context,
        kopnet_ledger::ledger::BlockLimits::default(),
        &kopnet_ledger::VerifyAll,
    );
    let block = executed.block().clone();
    let there =
        t.h.ledger
            .apply_executed(executed, vec![], |_| vec![])
            .unwrap();
    let here = imported
        .apply_block(&block, &kopnet_ledger::VerifyAll, vec![])
        .unwrap();
    assert_eq!(here, there);
    assert!(matches!(
        here.results.first().map(|(_, r)| r),
        Some(Err(Rejection::Duplicate { .. }))
    ));
    assert_eq!(imported.state_root(), t.h.ledger.state_root());
}

#[test]
fn a_snapshot_is_refused_unless_its_root_is_the_certified_one() {
    let t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    let genesis = &t.h.genesis;
    let root = t.h.ledger.state_root();
    let other_root = Hash::digest("test", b"another root");
    assert!(matches!(
        import(genesis, &manifest, &chunks, other_root),
        Err(SnapshotError::NotCertified { .. })
    ));

    // A chunk changed in transit: refused by its hash before decoding.
    let mut bent = chunks.clone();
    let last = bent[0].len() - 1;
    bent[0][last] ^= 1;
    assert!(matches!(
        import(genesis, &manifest, &bent, root),
        Err(SnapshotError::ChunkMismatch { index: 0 })
    ));

    let items = all_items(&chunks);
    // A balance raised, under a manifest naming the forged chunk: the
    // entries no longer give the certified root.
    let mut richer = items.clone();
    let member = richer
        .iter()
        .position(|i| matches!(i, Item::State { value, .. } if value.len() > 60))
        .unwrap();
    if let Item::State { value, .. } = &mut richer[member] {
        let at = value.len() / 2;
        value[at] ^= 1;
    }
    let (m, c) = forged(&manifest, richer);
    let refused = import(genesis, &m, &c, root).unwrap_err();
    assert!(
        matches!(
            refused,
            SnapshotError::WrongRoot { .. } | SnapshotError::Content(_)
        ),
        "{refused}"
    );

    // An idempotency record left out: its day's chain does not match.
    let mut fewer = items.clone();
    let record = fewer
        .iter()
        .position(|i| matches!(i, Item::Idempotency { .. }))
        .unwrap();
    fewer.remove(record);
    let (m, c) = forged(&manifest, fewer);
    assert!(matches!(
        import(genesis, &m, &c, root),
        Err(SnapshotError::WrongRecords { .. })
    ));

    // Two merchant payment records swapped: chain order matters.
    let mut swapped = items.clone();
    let first = swapped
        .iter()
        .position(|i| matches!(i, Item::MerchantPayment { .. }))
        .unwrap();
    swapped.swap(first, first + 1);
    let (m, c) = forged(&manifest, swapped);
    assert!(matches!(
        import(genesis, &m, &c, root),
        Err(SnapshotError::WrongRecords { .. })
    ));

    // A record's amount changed.
    let mut bent = items.clone();
    if let Some(Item::Idempotency { record, .. }) = bent
        .iter_mut()
        .find(|i| matches!(i, Item::Idempotency { .. }))
    {
        record.amount += 1;
    }
    let (m, c) = forged(&manifest, bent);
    assert!(matches!(
        import(genesis, &m, &c, root),
        Err(SnapshotError::WrongRecords { .. })
    ));

    // Records before the state entries.
    let mut reordered = items.clone();
    let record = reordered
        .iter()
        .position(|i| matches!(i, Item::Idempotency { .. }))
        .unwrap();
    let moved = reordered.remove(record);
    reordered.insert(0, moved);
    let (m, c) = forged(&manifest, reordered);
    assert!(matches!(
        import(genesis, &m, &c, root),
        Err(SnapshotError::WrongRoot { .. })
    ));

    // Chunks out of order, and a snapshot cut short.
    let (m, c) = forged(&manifest, items.clone());
    let mut importer = Importer::new(MemoryStorage::new(), genesis, m.clone(), root).unwrap();
    assert!(matches!(
        importer.chunk(1, &c[0]),
        Err(SnapshotError::ChunkOrder { .. })
    ));
    let mut two = m.clone();
    two.chunks.push(two.chunks[0]);
    let mut importer = Importer::new(MemoryStorage::new(), genesis, two, root).unwrap();
    importer.chunk(0, &c[0]).unwrap();
    assert!(matches!(
        importer.finish(genesis),
        Err(SnapshotError::Incomplete(_))
    ));

    // Another chain's snapshot.
    let other = kopnet_ledger::testkit::demo_genesis("kopnet-other", 4, 50_000_000);
    assert!(matches!(
        Importer::new(MemoryStorage::new(), &other, manifest.clone(), root),
        Err(SnapshotError::OtherChain { .. })
    ));

    // Garbage where a manifest should be.
    assert!(Manifest::decode(&[0xff; 40]).is_err());
    let mut huge = manifest.clone();
    huge.chunks[0].bytes = u32::MAX;
    assert!(Manifest::decode(&huge.encode().unwrap()).is_err());
    assert_eq!(
        Manifest::decode(&manifest.encode().unwrap()).unwrap(),
        manifest
    );

    // The honest snapshot still goes in.
    import(genesis, &manifest, &chunks, root).unwrap();
}

/// Remove the chain-order lists, as a store of format 9 or older had none.
fn without_lists(store: &MemoryStorage) {
    let mut batch = WriteBatch::default();
    for (key, _) in store.scan_prefix(keys::DAY_ORDER_PREFIX).unwrap() {
        batch.delete(key);
    }
    store.commit(batch).unwrap();
}

/// Rewrite a store as format 8 wrote it: bare records, no lists, format 8.
fn as_format_8(store: &MemoryStorage) {
    as_format_11(store);
    without_lists(store);
    let mut batch = WriteBatch::default();
    for (key, value) in store.scan_prefix(keys::IDEMPOTENCY_PREFIX).unwrap() {
        let s: Sequenced<IdempotencyRecord> = codec::decode(&value).unwrap();
        batch.put(key, codec::encode(&s.record).unwrap());
    }
    for (key, value) in store.scan_prefix(keys::MERCHANT_PAYMENT_PREFIX).unwrap() {
        let s: Sequenced<MerchantPayment> = codec::decode(&value).unwrap();
        batch.put(key, codec::encode(&s.record).unwrap());
    }
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        8u64.to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
}

#[test]
fn a_format_8_store_is_migrated_and_snapshots_wait_for_its_records_to_expire() {
    let t = town();
    let root = t.h.ledger.state_root();
    let store = t.h.ledger.storage().clone();
    let genesis = t.h.genesis.clone();
    drop(t);
    as_format_8(&store);
    assert!(matches!(
        Ledger::open(store.clone(), &genesis),
        Err(kopnet_ledger::LedgerError::StoreFormat { found: Some(8), .. })
    ));
    assert_eq!(
        migrate::needed(&store).unwrap(),
        Needed::Migrate { from: 8 }
    );
    let report = migrate::migrate(&store).unwrap();
    assert_eq!((report.from, report.to, report.records), (8, 13, 54));
    assert_eq!(migrate::needed(&store).unwrap(), Needed::Nothing);
    assert!(store.get(migrate::META_MIGRATION_CURSOR).unwrap().is_none());
    // A second run changes nothing.
    assert_eq!(migrate::migrate(&store).unwrap().records, 0);

    let mut ledger = Ledger::open(store, &genesis).unwrap();
    assert_eq!(ledger.state_root(), root, "the agreed state is unchanged");
    assert!(matches!(
        take(&ledger),
        Err(SnapshotError::UnsequencedRecords { day: 100 })
    ));
    // Days 100 and 101 expire (idempotency at day 103, refunds after the
    // refund period); a quiet block past that lets the snapshot be taken.
    let period = kopnet_ledger::refunds::REFUND_PERIOD_MS_DEFAULT;
    let later = 102 * DAY_MS + period + DAY_MS;
    let mut h = Harness {
        ledger,
        signers: kopnet_ledger::testkit::demo_signers(),
        genesis: genesis.clone(),
    };
    h.block_at(later, vec![]);
    ledger = h.ledger;
    let (manifest, chunks) = take(&ledger).unwrap();
    import(&genesis, &manifest, &chunks, ledger.state_root()).unwrap();
}

#[test]
fn a_format_9_store_is_migrated_by_its_number_and_its_days_without_lists_still_snapshot() {
    let t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    let store = t.h.ledger.storage().clone();
    let genesis = t.h.genesis.clone();
    drop(t);
    as_format_11(&store);
    without_lists(&store);
    let mut batch = WriteBatch::default();
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        9u64.to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
    let before = store.scan_prefix(b"").unwrap();
    assert_eq!(
        migrate::needed(&store).unwrap(),
        Needed::Migrate { from: 9 }
    );
    let report = migrate::migrate(&store).unwrap();
    assert_eq!((report.from, report.to, report.records), (9, 13, 0));
    // Nothing but the format number changed, and the first height whose
    // transaction places are in runs is recorded (format 11).
    let mut after = store.scan_prefix(b"").unwrap();
    let height = ledger_height(&store);
    let runs_from = after
        .iter()
        .position(|(k, _)| k.as_slice() == keys::META_PLACE_RUNS_FROM)
        .map(|at| after.remove(at).1);
    assert_eq!(runs_from, Some((height + 1).to_be_bytes().to_vec()));
    assert_eq!(before.len(), after.len());
    for ((kb, vb), (ka, va)) in before.iter().zip(&after) {
        assert_eq!(kb, ka);
        if kb.as_slice() != keys::META_STORE_FORMAT {
            assert_eq!(vb, va);
        }
    }
    // Days without lists are exported the older way: the same snapshot.
    let ledger = Ledger::open(store, &genesis).unwrap();
    let (again, again_chunks) = take(&ledger).unwrap();
    assert_eq!(again, manifest);
    assert_eq!(again_chunks, chunks);
}

fn ledger_height(store: &MemoryStorage) -> u64 {
    let bytes = store.get(keys::META_HEIGHT).unwrap().unwrap();
    u64::from_be_bytes(bytes.try_into().unwrap())
}

#[test]
fn a_store_of_an_unknown_format_is_not_migrated() {
    let store = MemoryStorage::new();
    assert_eq!(migrate::needed(&store).unwrap(), Needed::Nothing);
    let mut batch = WriteBatch::default();
    batch.put(keys::META_GENESIS.to_vec(), vec![0; 32]);
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        7u64.to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
    assert!(matches!(
        migrate::migrate(&store),
        Err(migrate::MigrationError::TooOld { found: 7 })
    ));
    let mut batch = WriteBatch::default();
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        (keys::STORE_FORMAT + 1).to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
    assert!(matches!(
        migrate::migrate(&store),
        Err(migrate::MigrationError::TooNew { found }) if found == keys::STORE_FORMAT + 1
    ));
}

/// A store that refuses to scan the day-record prefixes: with `visit`,
/// only collecting scans are refused (a visiting scan holds one record at
/// a time); without, every scan is (records are read by key only).
#[derive(Clone)]
struct NoRecordScans {
    store: MemoryStorage,
    visit: bool,
}

fn refused(prefix: &[u8]) -> Result<(), kopnet_ledger::storage::StorageError> {
    if prefix.starts_with(keys::IDEMPOTENCY_PREFIX)
        || prefix.starts_with(keys::MERCHANT_PAYMENT_PREFIX)
    {
        return Err(kopnet_ledger::storage::StorageError::Io(
            "a day's records scanned".into(),
        ));
    }
    Ok(())
}

impl Storage for NoRecordScans {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, kopnet_ledger::storage::StorageError> {
        self.store.get(key)
    }
    fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<kopnet_ledger::storage::KeyValue>, kopnet_ledger::storage::StorageError> {
        refused(prefix)?;
        self.store.scan_prefix(prefix)
    }
    fn scan_prefix_with(
        &self,
        prefix: &[u8],
        visit: kopnet_ledger::storage::EntryVisitor<'_>,
    ) -> Result<(), kopnet_ledger::storage::StorageError> {
        if !self.visit {
            refused(prefix)?;
        }
        self.store.scan_prefix_with(prefix, visit)
    }
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<kopnet_ledger::storage::KeyValue>, kopnet_ledger::storage::StorageError> {
        refused(prefix)?;
        self.store.scan_prefix_rev(prefix, before, limit)
    }
    fn commit(&self, batch: WriteBatch) -> Result<(), kopnet_ledger::storage::StorageError> {
        self.store.commit(batch)
    }
}

/// Export `capture` from `store`, ordering days without lists in memory
/// up to `in_memory_max` records.
fn export_from<S: Storage>(
    capture: &Capture,
    store: &S,
    in_memory_max: u64,
) -> Result<(Manifest, Vec<Vec<u8>>), SnapshotError> {
    let mut written = Vec::new();
    let manifest = snapshot::export_bounded(
        capture,
        store,
        &mut |bytes| {
            written.push(bytes.to_vec());
            Ok(())
        },
        in_memory_max,
    )?;
    Ok((manifest, written))
}

#[test]
fn a_snapshot_reads_a_days_records_by_its_lists_without_scanning_them() {
    let t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    let capture = Capture::of(&t.h.ledger).unwrap();
    // Records in block values (format 12) need no list and no record scan.
    let blocks = NoRecordScans {
        store: t.h.ledger.storage().clone(),
        visit: false,
    };
    assert_eq!(
        export_from(&capture, &blocks, 0).unwrap(),
        (manifest.clone(), chunks.clone())
    );
    // The same records as format 11 kept them: the same snapshot, by lists.
    as_format_11(t.h.ledger.storage());
    let store = NoRecordScans {
        store: t.h.ledger.storage().clone(),
        visit: false,
    };
    assert!(
        store
            .scan_prefix_with(keys::IDEMPOTENCY_PREFIX, &mut |_, _| Ok(()))
            .is_err(),
        "the test store refuses to scan records"
    );
    // Three blocks a day, one list each per kind.
    assert_eq!(
        day_order::list_starts(&store, RecordKind::Idempotency, 100).unwrap(),
        vec![0, 6, 12]
    );
    // Whatever the bound for days without lists: this day has them.
    for in_memory_max in [snapshot::DAY_RECORDS_IN_MEMORY_MAX, 0] {
        let (again, again_chunks) = export_from(&capture, &store, in_memory_max).unwrap();
        assert_eq!(again, manifest, "in memory up to {in_memory_max}");
        assert_eq!(again_chunks, chunks, "in memory up to {in_memory_max}");
    }
}

#[test]
fn a_day_without_lists_or_with_a_late_first_list_is_read_the_older_way() {
    let t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    let capture = Capture::of(&t.h.ledger).unwrap();
    let memory = t.h.ledger.storage().clone();
    as_format_11(&memory);
    // Each day's first list gone: as a day begun before the store had
    // lists (the upgrade came at its second block).
    let mut batch = WriteBatch::default();
    for kind in [RecordKind::Idempotency, RecordKind::MerchantPayment] {
        for day in [100, 101] {
            batch.delete(keys::day_order(kind.tag(), day, 0));
        }
    }
    memory.commit(batch).unwrap();
    let listed_only = NoRecordScans {
        store: memory.clone(),
        visit: false,
    };
    assert!(
        export_from(&capture, &listed_only, 0).is_err(),
        "the older way scans the day"
    );
    for lists in ["late", "none"] {
        if lists == "none" {
            without_lists(&memory);
        }
        // Held whole (a small day), and read back one at a time (as a day
        // of more than `DAY_RECORDS_IN_MEMORY_MAX` records is), each by a
        // visiting scan: the same snapshot.
        let store = NoRecordScans {
            store: memory.clone(),
            visit: true,
        };
        for in_memory_max in [snapshot::DAY_RECORDS_IN_MEMORY_MAX, 0] {
            let (again, again_chunks) = export_from(&capture, &store, in_memory_max).unwrap();
            assert_eq!(
                again, manifest,
                "lists {lists}, in memory up to {in_memory_max}"
            );
            assert_eq!(
                again_chunks, chunks,
                "lists {lists}, in memory up to {in_memory_max}"
            );
        }
    }
}

#[test]
fn a_record_gone_while_the_snapshot_is_taken_stops_it() {
    let t = town();
    let capture = Capture::of(&t.h.ledger).unwrap();
    let store = t.h.ledger.storage().clone();
    let copy_of = |store: &MemoryStorage| {
        let copy = MemoryStorage::new();
        let mut batch = WriteBatch::default();
        for (key, value) in store.scan_prefix(b"").unwrap() {
            batch.put(key, value);
        }
        copy.commit(batch).unwrap();
        copy
    };
    let before = copy_of(&store);
    let values = store
        .scan_prefix(&keys::block_records_day_start(100))
        .unwrap();
    assert_eq!(values.len(), 3, "three blocks of six records on day 100");
    let first_place = |value: &[u8]| {
        let records = kopnet_ledger::block_records::decode_all::<
            kopnet_ledger::block_records::BlockRecord,
        >(value)
        .unwrap();
        records[0].2.seq.unwrap()
    };
    // The sweep of an expired day removes its newest blocks' records
    // (format 12) first: stopped at the first record of the one gone.
    let (last, value) = values[2].clone();
    let mut batch = WriteBatch::default();
    batch.delete(last);
    store.commit(batch).unwrap();
    let result = export_from(&capture, &store, 0);
    let expected = format!("place {} of 18", first_place(&value));
    assert!(
        matches!(result, Err(SnapshotError::Moved(ref why)) if why.contains(&expected)),
        "{expected}: {result:?}"
    );
    // A block's records missing between two others is not a sweep: the
    // store is damaged.
    let holed = copy_of(&before);
    let mut batch = WriteBatch::default();
    batch.delete(values[1].0.clone());
    holed.commit(batch).unwrap();
    let result = export_from(&capture, &holed, 0);
    assert!(
        matches!(result, Err(SnapshotError::Content(ref why)) if why.contains("go from place 6 to 12")),
        "{result:?}"
    );
    let store = before;
    as_format_11(&store);
    // The same as format 11 kept it: one record swept.
    let (gone, value) = store
        .scan_prefix(keys::IDEMPOTENCY_PREFIX)
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let place = codec::decode::<Sequenced<IdempotencyRecord>>(&value)
        .unwrap()
        .seq
        .unwrap();
    let mut batch = WriteBatch::default();
    batch.delete(gone);
    store.commit(batch).unwrap();
    // By the lists: stopped at the missing record's place.
    let result = export_from(&capture, &store, 0);
    let expected = format!("place {place} of 18");
    assert!(
        matches!(result, Err(SnapshotError::Moved(ref why)) if why.contains(&expected)),
        "{expected}: {result:?}"
    );
    // The older way: a day short of one record.
    without_lists(&store);
    for in_memory_max in [snapshot::DAY_RECORDS_IN_MEMORY_MAX, 0] {
        let result = export_from(&capture, &store, in_memory_max);
        assert!(
            matches!(result, Err(SnapshotError::Moved(ref why)) if why.contains("17 of its 18")),
            "in memory up to {in_memory_max}: {result:?}"
        );
    }
}

#[test]
fn the_lists_of_an_expired_day_leave_the_disk_with_its_records() {
    let mut t = town();
    let store = t.h.ledger.storage().clone();
    let genesis = t.h.genesis.clone();
    // Records and lists as format 11 kept them, migrated to format 12.
    as_format_11(&store);
    migrate::migrate(&store).unwrap();
    t.h.ledger = Ledger::open(store.clone(), &genesis).unwrap();
    let lists = |kind| {
        let mut days = Vec::new();
        for day in [100, 101] {
            days.push(day_order::list_starts(&store, kind, day).unwrap().len());
        }
        days
    };
    assert_eq!(lists(RecordKind::Idempotency), vec![3, 3]);
    assert_eq!(lists(RecordKind::MerchantPayment), vec![3, 3]);
    let mut h = Harness {
        ledger: t.h.ledger,
        signers: kopnet_ledger::testkit::demo_signers(),
        genesis,
    };
    // Day 103: both idempotency days have expired; the merchant payments
    // stay for their refund period. Lists go a few a block
    // (`LISTS_SWEPT_PER_BLOCK_MAX`): the six take two blocks.
    h.block_at(103 * DAY_MS, vec![]);
    assert_eq!(h.ledger.stored_idempotency_records().unwrap(), 0);
    let left = 6 - day_order::LISTS_SWEPT_PER_BLOCK_MAX;
    assert_eq!(lists(RecordKind::Idempotency), vec![left, 0]);
    h.block_at(103 * DAY_MS + 1_000, vec![]);
    assert_eq!(lists(RecordKind::Idempotency), vec![0, 0]);
    assert_eq!(lists(RecordKind::MerchantPayment), vec![3, 3]);
    let period = kopnet_ledger::refunds::REFUND_PERIOD_MS_DEFAULT;
    let expired = 102 * DAY_MS + period + DAY_MS;
    h.block_at(expired, vec![]);
    h.block_at(expired + 1_000, vec![]);
    assert_eq!(h.ledger.stored_merchant_payments().unwrap(), 0);
    assert_eq!(lists(RecordKind::MerchantPayment), vec![0, 0]);
}

#[test]
fn a_list_that_disagrees_with_its_records_stops_the_snapshot() {
    let t = town();
    let capture = Capture::of(&t.h.ledger).unwrap();
    let store = t.h.ledger.storage().clone();
    as_format_11(&store);
    let key = keys::day_order(RecordKind::Idempotency.tag(), 100, 0);
    let list = store.get(&key).unwrap().unwrap();
    // Two records listed in each other's place.
    let mut swapped = list.clone();
    swapped[..48].copy_from_slice(&list[48..96]);
    swapped[48..96].copy_from_slice(&list[..48]);
    // A list cut inside a record key.
    let torn = list[..list.len() - 1].to_vec();
    for (what, bad, expected) in [
        ("swapped", swapped, "not at its place in the chain (0)"),
        ("torn", torn, "is not whole record keys"),
    ] {
        let mut batch = WriteBatch::default();
        batch.put(key.clone(), bad);
        store.commit(batch).unwrap();
        let result = export_from(&capture, &store, 0);
        assert!(
            matches!(result, Err(SnapshotError::Content(ref why)) if why.contains(expected)),
            "{what}: {result:?}"
        );
    }
}

#[test]
fn a_day_split_across_chunks_is_listed_whole_by_the_import() {
    let t = town();
    let (manifest, chunks) = take(&t.h.ledger).unwrap();
    // The same items, one chunk each: every day's records cross chunks.
    let mut split = Vec::new();
    let mut one_each = manifest.clone();
    one_each.chunks = all_items(&chunks)
        .into_iter()
        .map(|item| {
            let bytes = codec::encode(&Chunk { items: vec![item] }).unwrap();
            let named = snapshot::ChunkRef {
                hash: snapshot::chunk_hash(&bytes),
                bytes: bytes.len() as u32,
            };
            split.push(bytes);
            named
        })
        .collect();
    let imported = import(&t.h.genesis, &one_each, &split, t.h.ledger.state_root()).unwrap();
    // A list per chunk, so one per record here.
    assert_eq!(
        day_order::list_starts(imported.storage(), RecordKind::Idempotency, 100).unwrap(),
        (0..18).collect::<Vec<u64>>()
    );
    // Read by those lists alone (no scan of records): the snapshot again.
    let capture = Capture::of(&imported).unwrap();
    let store = NoRecordScans {
        store: imported.storage().clone(),
        visit: false,
    };
    let (again, again_chunks) = export_from(&capture, &store, 0).unwrap();
    assert_eq!(again, manifest);
    assert_eq!(again_chunks, chunks);
}
