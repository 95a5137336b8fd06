//! Live keys and bytes (key + value) per key prefix of a stopped node's
//! ledger store, and sled's size on disk: where a store's bytes are (the
//! split behind "Pruning: disk use under constant load" in BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p kopnet-ledger --example store_prefixes -- HOME/data/ledger
//! ```
//!
//! Host data (`X`) is split by its host prefix (`cert`, `vset`, ...).

use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::{SledStorage, Storage};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: store_prefixes LEDGER_DIR")?;
    let store = SledStorage::open(std::path::Path::new(&path), CACHE_BYTES_DEFAULT)?;
    let mut by_prefix: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (key, value) in store.scan_prefix(b"")? {
        let name = match key.first() {
            Some(b'X') => format!(
                "X{}",
                String::from_utf8_lossy(key.get(1..5).unwrap_or_default())
            ),
            Some(b) => char::from(*b).to_string(),
            None => "?".into(),
        };
        let entry = by_prefix.entry(name).or_default();
        entry.0 += 1;
        entry.1 += (key.len() + value.len()) as u64;
    }
    let total: u64 = by_prefix.values().map(|(_, b)| b).sum();
    println!("| prefix | keys | MB (keys + values) |");
    println!("|---|---|---|");
    for (name, (keys, bytes)) in &by_prefix {
        println!("| {name} | {keys} | {:.1} |", *bytes as f64 / 1048576.0);
    }
    println!(
        "live {:.1} MB; sled size on disk {:.1} MB",
        total as f64 / 1048576.0,
        store.size_on_disk()? as f64 / 1048576.0
    );
    Ok(())
}
