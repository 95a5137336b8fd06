//! Stores rewritten in the forms earlier formats wrote their records kept
//! by day, for tests of migrations and of the older forms:
//!
//! - [`as_format_12`]: payments to merchants kept for refunds as one `P`
//!   key per record with the day's order lists (`Q`), no block values
//!   (`Y`) and no payment runs (`Z`), format number 12;
//! - [`as_format_11`]: that, and idempotency records as one `I` key per
//!   record with order lists, no block values (`W`) and no record runs
//!   (`V`), format number 11.

use kopnet_ledger::block_records::{self, BlockPayment, BlockRecord};
use kopnet_ledger::day_order::{self, RecordKind};
use kopnet_ledger::keys;
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{MemoryStorage, Storage};
use kopnet_primitives::codec;

fn day_of_value(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[1..9].try_into().unwrap())
}

fn delete_prefix(store: &MemoryStorage, batch: &mut WriteBatch, prefix: &[u8]) {
    for (key, _) in store.scan_prefix(prefix).unwrap() {
        batch.delete(key);
    }
}

fn write_format(batch: &mut WriteBatch, format: u64) {
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        format.to_be_bytes().to_vec(),
    );
}

/// Merchant payment records back in `P` keys and lists.
fn payments_as_keys(store: &MemoryStorage, batch: &mut WriteBatch) {
    for (key, value) in store.scan_prefix(keys::BLOCK_PAYMENTS_PREFIX).unwrap() {
        let day = day_of_value(&key);
        let records = block_records::decode_all::<BlockPayment>(&value).unwrap();
        for (tx, record) in &records {
            batch.put(
                keys::merchant_payment(day, tx),
                codec::encode(record).unwrap(),
            );
        }
        let places = records
            .iter()
            .map(|(tx, r)| (day, r.seq.unwrap(), &tx.0[..]))
            .collect();
        day_order::put_lists(batch, RecordKind::MerchantPayment, places);
        batch.delete(key);
    }
    delete_prefix(store, batch, keys::PAYMENT_RUN_PREFIX);
}

/// Idempotency records back in `I` keys and lists.
fn records_as_keys(store: &MemoryStorage, batch: &mut WriteBatch) {
    for (key, value) in store.scan_prefix(keys::BLOCK_RECORDS_PREFIX).unwrap() {
        let day = day_of_value(&key);
        let records = block_records::decode_all::<BlockRecord>(&value).unwrap();
        let suffixes: Vec<(u64, [u8; 48])> = records
            .iter()
            .map(|(payer, id, r)| (r.seq.unwrap(), day_order::idempotency_suffix(payer, id)))
            .collect();
        for (payer, id, record) in &records {
            batch.put(
                keys::idempotency(day, payer, id),
                codec::encode(record).unwrap(),
            );
        }
        let places = suffixes
            .iter()
            .map(|(seq, suffix)| (day, *seq, &suffix[..]))
            .collect();
        day_order::put_lists(batch, RecordKind::Idempotency, places);
        batch.delete(key);
    }
    delete_prefix(store, batch, keys::RECORD_RUN_PREFIX);
}

pub fn as_format_12(store: &MemoryStorage) {
    let mut batch = WriteBatch::default();
    payments_as_keys(store, &mut batch);
    write_format(&mut batch, 12);
    store.commit(batch).unwrap();
}

pub fn as_format_11(store: &MemoryStorage) {
    let mut batch = WriteBatch::default();
    payments_as_keys(store, &mut batch);
    records_as_keys(store, &mut batch);
    write_format(&mut batch, 11);
    store.commit(batch).unwrap();
}
