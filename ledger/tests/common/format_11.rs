//! A store rewritten as format 11 wrote its idempotency records: one `I`
//! key per record and the day's order lists (`Q`), no block values (`W`)
//! and no record runs (`V`), format number 11. Tests of older formats
//! start from it, as the stores they stand for had no block values.

use kopnet_ledger::day_order::{self, RecordKind};
use kopnet_ledger::keys;
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{MemoryStorage, Storage};
use kopnet_primitives::codec;

pub fn as_format_11(store: &MemoryStorage) {
    let mut batch = WriteBatch::default();
    for (key, value) in store.scan_prefix(keys::BLOCK_RECORDS_PREFIX).unwrap() {
        let day = u64::from_be_bytes(key[1..9].try_into().unwrap());
        let records = kopnet_ledger::block_records::decode_all(&value).unwrap();
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
        day_order::put_lists(&mut batch, RecordKind::Idempotency, places);
        batch.delete(key);
    }
    for (key, _) in store.scan_prefix(keys::RECORD_RUN_PREFIX).unwrap() {
        batch.delete(key);
    }
    batch.put(
        keys::META_STORE_FORMAT.to_vec(),
        11u64.to_be_bytes().to_vec(),
    );
    store.commit(batch).unwrap();
}
