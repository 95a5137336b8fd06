//! How long finding a committed transaction by its hash takes on a real
//! sled store: the measurement behind "Lookups by hash" in BENCHMARKS.md
//! (issue 21, eighth pass).
//!
//! ```text
//! KOPNET_STORE_BYTES_DIR=/tmp/store cargo run --release -p kopnet-ledger --example store_bytes 150 500 2000
//! cargo run --release -p kopnet-ledger --example tx_lookup /tmp/store
//! ```
//!
//! It reads every block of the store, takes every 7th transaction's hash
//! and times [`ChainReader::tx`] for each (found), then for as many hashes
//! no transaction has (absent: every place listed under the prefix is
//! read, and there are usually none). Two passes; the second is printed
//! (the store's cache warm, as on a node that serves reads).

use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::{keys, Block, SledStorage, Storage};
use kopnet_primitives::Hash;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: tx_lookup STORE_DIR (a store kept by store_bytes)")?;
    let store = SledStorage::open(std::path::Path::new(&dir), CACHE_BYTES_DEFAULT)?;
    let height = match store.get(keys::META_HEIGHT)? {
        Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into()?),
        None => return Err("the store has no blocks".into()),
    };
    let mut hashes = Vec::new();
    for h in 1..=height {
        let Some(bytes) = store.get(&keys::block(h))? else {
            continue;
        };
        let block = Block::decode(&bytes).map_err(|e| format!("block {h}: {e}"))?;
        hashes.extend(block.txs.iter().step_by(7).map(|tx| tx.hash()));
    }
    let absent: Vec<Hash> = (0..hashes.len() as u64)
        .map(|i| Hash::digest("kopnet tx_lookup absent", &i.to_be_bytes()))
        .collect();
    let reader = ChainReader::new(store);
    let mut report = String::new();
    for pass in 0..2 {
        report.clear();
        for (what, list, expect) in [("found", &hashes, true), ("absent", &absent, false)] {
            let started = Instant::now();
            for (at, hash) in list.iter().enumerate() {
                if reader.tx(hash)?.is_some() != expect {
                    let again = reader.tx(hash)?.is_some();
                    return Err(format!(
                        "{what}: wrong answer for {hash:?} (lookup {at}, pass {}; asked again: {again})",
                        pass + 1
                    )
                    .into());
                }
            }
            let micros = started.elapsed().as_secs_f64() * 1e6 / list.len().max(1) as f64;
            report.push_str(&format!(
                "{what:>6}: {} lookups, {micros:.1} µs each (pass {})\n",
                list.len(),
                pass + 1
            ));
        }
    }
    print!("height {height}\n{report}");
    Ok(())
}
