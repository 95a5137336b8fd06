//! Memory and time of taking a snapshot of a store with a large day: the
//! measurement behind "Issue 21, sixth pass" in BENCHMARKS.md.
//!
//! ```text
//! KOPNET_STORE_BYTES_DIR=/tmp/big cargo run --release -p kopnet-ledger \
//!     --example store_bytes 500 2000 20000
//! cargo run --release -p kopnet-ledger --example snapshot_memory /tmp/big lists
//! cargo run --release -p kopnet-ledger --example snapshot_memory /tmp/big places
//! cargo run --release -p kopnet-ledger --example snapshot_memory /tmp/big whole
//! ```
//!
//! The first command builds a sled store whose one day holds a million
//! payment idempotency records (500 blocks of 2,000 payments). This one
//! opens it and exports a snapshot to a sink that only counts bytes, the
//! day read: `lists` by its chain-order lists (store format 10, what a
//! node does), `places` the older way for a day past
//! `DAY_RECORDS_IN_MEMORY_MAX` (places and keys in memory, records read
//! back), `whole` the older way with the whole day in memory. The older
//! ways are taken by hiding the lists from the export. Run each mode in
//! its own process: it prints the process's peak resident memory
//! (`VmHWM`) after opening the ledger and after the export, and the
//! export's time.

use kopnet_ledger::keys;
use kopnet_ledger::snapshot::{self, Capture};
use kopnet_ledger::storage::{
    EntryVisitor, KeyValue, StorageError, WriteBatch, CACHE_BYTES_DEFAULT,
};
use kopnet_ledger::{Ledger, SledStorage, Storage};
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The store with its chain-order lists hidden from scans (what a store
/// migrated from format 9 looks like for its older days).
struct WithoutLists(SledStorage);

impl Storage for WithoutLists {
    fn get(&self, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, StorageError> {
        self.0.get(key)
    }
    fn read_with(
        &self,
        key: &[u8],
        read: &mut dyn FnMut(&[u8]),
    ) -> std::result::Result<bool, StorageError> {
        self.0.read_with(key, read)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> std::result::Result<Vec<KeyValue>, StorageError> {
        if prefix.starts_with(keys::DAY_ORDER_PREFIX) {
            return Ok(Vec::new());
        }
        self.0.scan_prefix(prefix)
    }
    fn scan_prefix_with(
        &self,
        prefix: &[u8],
        visit: EntryVisitor<'_>,
    ) -> std::result::Result<(), StorageError> {
        if prefix.starts_with(keys::DAY_ORDER_PREFIX) {
            return Ok(());
        }
        self.0.scan_prefix_with(prefix, visit)
    }
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> std::result::Result<Vec<KeyValue>, StorageError> {
        self.0.scan_prefix_rev(prefix, before, limit)
    }
    fn commit(&self, batch: WriteBatch) -> std::result::Result<(), StorageError> {
        self.0.commit(batch)
    }
}

/// The process's peak resident memory in MB, from `/proc/self/status`.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(mode)) = (args.next(), args.next()) else {
        return Err("usage: snapshot_memory DIR lists|places|whole".into());
    };
    let store = SledStorage::open(std::path::Path::new(&dir), CACHE_BYTES_DEFAULT)?;
    let genesis = kopnet_ledger::testkit::demo_genesis("kopnet-store-bytes", 4, 50_000_000);
    let ledger = Ledger::open(store.clone(), &genesis)?;
    let capture = Capture::of(&ledger)?;
    let records = ledger.stored_idempotency_records()?;
    let opened_mb = peak_rss_mb();
    let mut bytes = 0usize;
    let mut sink = |chunk: &[u8]| {
        bytes += chunk.len();
        Ok(())
    };
    let started = Instant::now();
    let manifest = match mode.as_str() {
        "lists" => snapshot::export(&capture, &store, &mut sink)?,
        "places" => snapshot::export_bounded(&capture, &WithoutLists(store.clone()), &mut sink, 0)?,
        "whole" => {
            snapshot::export_bounded(&capture, &WithoutLists(store.clone()), &mut sink, u64::MAX)?
        }
        other => return Err(format!("unknown mode {other}: lists, places or whole").into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{mode}: {records} idempotency records, snapshot of {} chunks ({bytes} bytes) in {seconds:.2} s; \
         peak RSS {opened_mb:.0} MB after opening, {:.0} MB after the export",
        manifest.chunks.len(),
        peak_rss_mb()
    );
    Ok(())
}
