//! [`ChainReader`]: what the node's HTTP API reads without the ledger — a
//! transaction found by hash (its place under a short prefix of the hash,
//! its bytes out of its block, collisions of the prefix told apart by the
//! full hash), history pages with their transactions, and state entries
//! read from the store matching the ledger's in-memory state.

mod common;
use common::*;
use kopnet_ledger::keys;
use kopnet_ledger::ledger::{place_index, ChainPosition, ChainReader};
use kopnet_ledger::storage::{Storage, WriteBatch};
use kopnet_ledger::{AccountKind, MemoryStorage};

#[test]
fn a_transaction_is_found_by_hash_from_its_block() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
    let first = h.sign(&ani, pay(budi, 1_000, 1));
    let second = h.sign(&ani, pay(budi, 2_000, 2));
    h.block(vec![first.clone(), second.clone()]);
    let reader = ChainReader::new(store.clone());

    let (record, tx) = reader.committed_tx(&second.hash()).unwrap().unwrap();
    assert_eq!(tx.as_ref(), Some(&second));
    assert_eq!(record.index, 1);
    assert_eq!(record.height, h.ledger.height());
    assert_eq!(record.result, Ok(()));
    assert_eq!(reader.tx(&first.hash()).unwrap().unwrap().index, 0);
    // No copy of the transaction beside its block, and no key per
    // transaction for its place (store format 11): the block's place run.
    assert!(store.scan_prefix(b"T").unwrap().is_empty());
    let places = place_index::places(&store, &second.hash(), 64).unwrap();
    assert_eq!(places, vec![(record.height, 1)]);

    // Another hash with the same prefix, listed by a `T` key as a store
    // migrated from format 10 has them: its place holds `first`, whose
    // full hash differs, so it is not taken for it.
    let mut twin = second.hash();
    twin.0[31] ^= 1;
    let mut batch = WriteBatch::default();
    batch.put(keys::tx_place(&twin, record.height, 0), Vec::new());
    store.commit(batch).unwrap();
    assert_eq!(reader.committed_tx(&twin).unwrap(), None);
    let mut batch = WriteBatch::default();
    batch.put(keys::tx_place(&second.hash(), record.height, 0), Vec::new());
    store.commit(batch).unwrap();
    assert_eq!(
        reader.committed_tx(&second.hash()).unwrap(),
        Some((record, Some(second.clone())))
    );
    let unknown = kopnet_primitives::Hash([9; 32]);
    assert_eq!(reader.committed_tx(&unknown).unwrap(), None);
}

#[test]
fn a_block_is_stored_as_the_codec_encodes_it() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
    let txs: Vec<_> = (1..=3u8)
        .map(|n| h.sign(&ani, pay(budi, 1_000 * u64::from(n), n)))
        .collect();
    h.block(txs.clone());
    let reader = ChainReader::new(store.clone());
    let height = h.ledger.height();
    let block = reader.block(height).unwrap().unwrap();
    let (bytes, _, lens) = kopnet_ledger::ledger::encode_block(&block).unwrap();
    assert_eq!(bytes, block.encode().unwrap());
    assert_eq!(reader.block_bytes(height).unwrap(), Some(bytes));
    let index = reader.block_txs(height).unwrap().unwrap();
    for (at, tx) in txs.iter().enumerate() {
        assert_eq!(index.entries[at].len as usize, tx.encode().unwrap().len());
        assert_eq!(lens[at], index.entries[at].len);
    }
}

#[test]
fn history_pages_carry_their_transactions_and_continue_before_a_position() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 100_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let mut paid = Vec::new();
    for n in 0..5u8 {
        let tx = h.sign(&ani, pay(budi, 1_000 + u64::from(n), n));
        paid.push(tx.clone());
        h.block(vec![tx]);
    }
    let reader = ChainReader::new(store);
    let page = reader.history_txs(&budi, None, 2).unwrap();
    let hashes: Vec<_> = page.iter().map(|(hash, _)| *hash).collect();
    assert_eq!(hashes, vec![paid[4].hash(), paid[3].hash()], "newest first");
    for (hash, (record, tx)) in &page {
        assert_eq!(tx.as_ref().map(|t| t.hash()), Some(*hash));
        assert_eq!(record.result, Ok(()));
    }
    let (_, (last, _)) = page.last().unwrap();
    let before = ChainPosition {
        height: last.height,
        index: last.index,
    };
    let next = reader.history_txs(&budi, Some(before), 2).unwrap();
    let hashes: Vec<_> = next.iter().map(|(hash, _)| *hash).collect();
    assert_eq!(hashes, vec![paid[2].hash(), paid[1].hash()]);
}

#[test]
fn state_read_from_the_store_is_the_ledgers_state() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 70_000);
    let reader = h.ledger.reader();
    assert_eq!(reader.member(&ani).unwrap(), h.ledger.member(&ani));
    assert_eq!(reader.height().unwrap(), h.ledger.height());
    assert_eq!(
        reader.state_root_at(h.ledger.height()).unwrap(),
        Some(h.ledger.state_root())
    );
    let unknown = keypair("nobody").public();
    assert_eq!(reader.member(&unknown).unwrap(), None);
    assert_eq!(reader.window(99).unwrap(), None);
    assert_eq!(reader.proposal(99).unwrap(), None);
}

/// A member overwritten outside any block (the fault the testnet runner
/// must catch) breaks the per-block invariant check as it breaks the full
/// one: the figures follow the overwrite.
#[cfg(feature = "fault-injection")]
#[test]
fn a_double_credit_breaks_the_per_block_check_too() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 70_000);
    let mut account = h.ledger.member(&ani).unwrap();
    account.balance += 5_000;
    h.ledger.fault_overwrite_member(ani, account).unwrap();
    assert!(h.ledger.check_invariants().is_err());
    assert_eq!(
        h.ledger.check_block_invariants().map_err(|e| e.to_string()),
        h.ledger.check_invariants().map_err(|e| e.to_string())
    );
}
