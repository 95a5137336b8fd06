//! The place index of store format 11 ([`kopnet_ledger::ledger::place_index`])
//! on a ledger: a store migrated from format 10 keeps finding the
//! transactions whose places are `T` keys, finds the later ones in place
//! runs, and pruning deletes the `T` keys with their heights.

mod common;
use common::*;
use kopnet_ledger::ledger::{place_index, Pruning, KEEP_BLOCKS_MIN};
use kopnet_ledger::migrate;
use kopnet_ledger::storage::{Storage, WriteBatch};
use kopnet_ledger::{keys, AccountKind, Action, Block, Ledger, MemoryStorage};
use kopnet_primitives::{Hash, PublicKey};

/// Pay `n`'s payment from `from` to `to` in a block of its own; its height
/// and hash.
fn pay_once(
    h: &mut Harness<MemoryStorage>,
    from: &PublicKey,
    to: PublicKey,
    n: u64,
) -> (u64, Hash) {
    let mut idempotency_id = [0u8; 16];
    idempotency_id[..8].copy_from_slice(&n.to_be_bytes());
    let tx = h.sign(
        from,
        Action::Payment {
            to,
            amount: 1 + n % 5,
            memo: String::new(),
            idempotency_id,
        },
    );
    assert_eq!(h.block(vec![tx.clone()]), vec![Ok(())]);
    (h.ledger.height(), tx.hash())
}

/// Rewrite the places of blocks `1..=top` as format 10 kept them: one `T`
/// key per transaction, no place runs; and the format number 10.
fn as_format_10(store: &MemoryStorage, top: u64) {
    common::format_11::as_format_11(store);
    let mut batch = WriteBatch::default();
    for (key, _) in store.scan_prefix(keys::PLACE_RUN_PREFIX).unwrap() {
        batch.delete(key);
    }
    for height in 1..=top {
        let block = Block::decode(&store.get(&keys::block(height)).unwrap().unwrap()).unwrap();
        for (index, tx) in block.txs.iter().enumerate() {
            batch.put(keys::tx_place(&tx.hash(), height, index as u32), Vec::new());
        }
    }
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        10u64.to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
}

#[test]
fn a_migrated_format_10_store_finds_old_and_new_places_and_prunes_the_old_keys() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let mut paid: Vec<(u64, Hash)> = (0..20).map(|n| pay_once(&mut h, &ani, budi, n)).collect();
    let migrated_at = h.ledger.height();
    as_format_10(&store, migrated_at);
    let t_keys = store.scan_prefix(b"T").unwrap().len();
    assert!(t_keys >= 20, "{t_keys}");

    let report = migrate::migrate(&store).unwrap();
    assert_eq!((report.from, report.to, report.records), (10, 13, 0));
    assert_eq!(
        store.get(keys::META_PLACE_RUNS_FROM).unwrap(),
        Some((migrated_at + 1).to_be_bytes().to_vec())
    );
    h.ledger = Ledger::open(store.clone(), &h.genesis).unwrap();
    h.ledger
        .set_pruning(Some(Pruning::new(KEEP_BLOCKS_MIN, Vec::new()).unwrap()));

    // Old places from `T` keys, new ones from runs.
    for n in 20..40 {
        paid.push(pay_once(&mut h, &ani, budi, n));
    }
    let reader = h.ledger.reader();
    for (height, hash) in &paid {
        let record = reader.tx(hash).unwrap().expect("found");
        assert_eq!(record.height, *height);
        let from_runs = place_index::places(&store, hash, 64).unwrap();
        assert!(from_runs.contains(&(*height, 0)));
    }
    assert_eq!(
        store.scan_prefix(b"T").unwrap().len(),
        t_keys,
        "no new T key"
    );

    // Past the horizon: the base passes the migration height, and the old
    // heights' `T` keys leave with their blocks.
    let mut n = 40;
    while h.ledger.base_height() <= migrated_at {
        paid.push(pay_once(&mut h, &ani, budi, n));
        n += 1;
    }
    assert!(store.scan_prefix(b"T").unwrap().is_empty());
    let base = h.ledger.base_height();
    let reader = h.ledger.reader();
    for (height, hash) in &paid {
        assert_eq!(
            reader.tx(hash).unwrap().is_some(),
            *height >= base,
            "height {height}"
        );
    }
}
