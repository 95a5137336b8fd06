//! CPU per store operation, batches of 2,000 made durable one by one, as a
//! kopnet node writes a block's batch (BENCHMARKS.md, "Issue 21, fifth
//! pass").
//!
//! ```text
//! cargo run --release -- MODE BATCHES
//! ```
//!
//! Modes: `sled-insert`, `redb-insert`, `fjall-insert` write `BATCHES` ×
//! 2,000 new 21-byte keys shaped like kopnet's `T` place keys (a prefix
//! byte, 8 bytes of a hash, a height, an index) with empty values;
//! `sled-update` first writes 100,000 keys with 150-byte values, then
//! rewrites `BATCHES` × 2,000 of them (an account rewrite). sled is opened
//! as a kopnet node opens it (64 MiB cache, 8 MiB segments), and every
//! batch is followed by a flush to disk (sled `flush`, redb's commit,
//! fjall `persist(SyncAll)`).
//!
//! It prints the process's CPU seconds (user + system, every thread: the
//! stores' background threads count) and the CPU per operation, from
//! `/proc/self/stat`, and the peak resident memory (`VmHWM`), so Linux
//! only.

use std::path::Path;

const BATCH_OPS: u64 = 2_000;
const UPDATE_KEYS: u64 = 100_000;

fn place_key(i: u64) -> Vec<u8> {
    let hash = blake3::hash(&i.to_le_bytes());
    let mut key = Vec::with_capacity(21);
    key.push(b'T');
    key.extend_from_slice(&hash.as_bytes()[..8]);
    key.extend_from_slice(&i.to_be_bytes());
    key.extend_from_slice(&0u32.to_be_bytes());
    key
}

/// CPU seconds of this process so far (user + system, all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at ")".
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// The process's peak resident memory in MB (`VmHWM`).
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            disk_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

fn sled_open(dir: &Path) -> sled::Db {
    sled::Config::new()
        .path(dir)
        .cache_capacity(64 << 20)
        .segment_size(8 << 20)
        .open()
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, batches) = match args.as_slice() {
        [_, mode, batches] => (mode.clone(), batches.parse::<u64>().expect("BATCHES")),
        _ => panic!("usage: store-ops MODE BATCHES"),
    };
    let dir = std::env::temp_dir().join(format!("store-ops-{mode}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut start = cpu_seconds();
    match mode.as_str() {
        "sled-insert" => {
            let db = sled_open(&dir);
            for b in 0..batches {
                let mut batch = sled::Batch::default();
                for j in 0..BATCH_OPS {
                    batch.insert(place_key(b * BATCH_OPS + j), Vec::<u8>::new());
                }
                db.apply_batch(batch).unwrap();
                db.flush().unwrap();
            }
        }
        "sled-update" => {
            let db = sled_open(&dir);
            for b in 0..UPDATE_KEYS / BATCH_OPS {
                let mut batch = sled::Batch::default();
                for j in 0..BATCH_OPS {
                    batch.insert(place_key(b * BATCH_OPS + j), vec![1u8; 150]);
                }
                db.apply_batch(batch).unwrap();
            }
            db.flush().unwrap();
            start = cpu_seconds();
            for b in 0..batches {
                let mut batch = sled::Batch::default();
                for j in 0..BATCH_OPS {
                    let n = b * BATCH_OPS + j;
                    let which = u64::from_le_bytes(
                        blake3::hash(&n.to_be_bytes()).as_bytes()[..8]
                            .try_into()
                            .unwrap(),
                    ) % UPDATE_KEYS;
                    batch.insert(place_key(which), vec![(n % 251) as u8; 150]);
                }
                db.apply_batch(batch).unwrap();
                db.flush().unwrap();
            }
        }
        "redb-insert" => {
            const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("t");
            let db = redb::Database::create(dir.join("db")).unwrap();
            for b in 0..batches {
                let write = db.begin_write().unwrap();
                {
                    let mut table = write.open_table(TABLE).unwrap();
                    for j in 0..BATCH_OPS {
                        table
                            .insert(place_key(b * BATCH_OPS + j).as_slice(), &[][..])
                            .unwrap();
                    }
                }
                write.commit().unwrap();
            }
        }
        "fjall-insert" => {
            let keyspace = fjall::Config::new(&dir)
                .cache_size(64 << 20)
                .open()
                .unwrap();
            let part = keyspace
                .open_partition("t", fjall::PartitionCreateOptions::default())
                .unwrap();
            for b in 0..batches {
                let mut batch = keyspace.batch();
                for j in 0..BATCH_OPS {
                    batch.insert(&part, place_key(b * BATCH_OPS + j), Vec::<u8>::new());
                }
                batch.commit().unwrap();
                keyspace.persist(fjall::PersistMode::SyncAll).unwrap();
            }
        }
        other => panic!("unknown mode {other}"),
    }
    let cpu = cpu_seconds() - start;
    let ops = batches * BATCH_OPS;
    println!(
        "{mode}: {ops} ops in batches of {BATCH_OPS}, CPU {cpu:.2} s, {:.1} us per op, disk {} bytes, peak RSS {} MB",
        cpu * 1e6 / ops as f64,
        disk_bytes(&dir),
        peak_rss_mb()
    );
}
