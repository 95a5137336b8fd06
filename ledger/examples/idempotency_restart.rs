//! How long a ledger with a million past payments takes to start, and how
//! much memory it holds after the start: the measurement behind the
//! "State that stops growing" section of BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p kopnet-ledger --example idempotency_restart [PAYMENTS] [PAYERS]
//! ```
//!
//! (defaults: 1,000,000 payments by 1,000 payers). It builds two sled stores
//! through real blocks (the same code a node runs; signatures are not
//! checked, the ledger's rules all are): a *baseline* with the payers and no
//! payment, and a *history* with the payers and `PAYMENTS` payments, all on
//! one day of block time, so all of their idempotency records are live when
//! the ledger restarts. Each store is then opened by a fresh process (this
//! program again, `open DIR`), which prints the start-up time and its RSS
//! after the start, runs a block whose payment reuses a live id (a
//! `duplicate`, read from disk), then the first block two days later (the
//! day's records expire) and the blocks that sweep them off the disk.
//!
//! `fill DIR PAYMENTS PAYERS` and `open DIR` run one step on a store kept in
//! `DIR` (`open` changes it: run `fill` again before measuring again).

use kopnet_ledger::idempotency::{DAY_MS, SWEEP_RECORDS_BASE};
use kopnet_ledger::ledger::{BlockContext, BlockLimits};
use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::testkit::{demo_genesis, key_for, register_and_fund};
use kopnet_ledger::{Action, Ledger, SignatureCheck, SledStorage, Transaction, TxBody};
use kopnet_primitives::{Hash, PublicKey, Signature};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const CHAIN: &str = "kopnet-restart";
/// Noon of day 20,000 of block time (2024-10-04): the day of every payment.
const PAYMENT_DAY_MS: u64 = 20_000 * DAY_MS + DAY_MS / 2;
/// Payments per block while filling.
const BLOCK_PAYMENTS: usize = 10_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Every signature counts as good: the fill builds its transactions
/// unsigned (a million ed25519 signatures would measure the signer).
struct Trusted;
impl SignatureCheck for Trusted {
    fn is_valid(&self, _: &Hash, _: &Transaction) -> bool {
        true
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, dir] if command == "open" => return open(Path::new(dir)).map(drop),
        [command, dir] if command == "expire" => return expire(open(Path::new(dir))?),
        [command, dir, payments, payers] if command == "fill" => {
            return fill(Path::new(dir), payers.parse()?, payments.parse()?);
        }
        _ => {}
    }
    let payments: usize = args.first().map_or(Ok(1_000_000), |a| a.parse())?;
    let payers: usize = args.get(1).map_or(Ok(1_000), |a| a.parse())?;
    let root = tempfile::tempdir()?;
    for (name, count) in [("baseline", 0), ("history", payments)] {
        let dir = root.path().join(name);
        println!("== {name}: {payers} payers, {count} payments");
        fill(&dir, payers, count)?;
        for phase in ["open", "expire", "open"] {
            let status = Command::new(std::env::current_exe()?)
                .arg(phase)
                .arg(&dir)
                .status()?;
            if !status.success() {
                return Err(format!("{phase} of {name} failed: {status}").into());
            }
        }
    }
    Ok(())
}

fn ledger_at(dir: &Path) -> Result<Ledger<SledStorage>> {
    let store = SledStorage::open(dir, CACHE_BYTES_DEFAULT)?;
    Ok(Ledger::open(store, &demo_genesis(CHAIN, 4, 50_000_000))?)
}

fn payer_key(i: usize) -> PublicKey {
    key_for(&format!("payer-{i}")).public()
}

fn unsigned(signer: PublicKey, nonce: u64, action: Action) -> Transaction {
    Transaction {
        body: TxBody {
            chain_id: CHAIN.into(),
            signer,
            nonce,
            action,
        },
        signature: Signature([0; 64]),
    }
}

/// Apply blocks of `txs` at `time_ms`, `time_ms + 1`, ... on `ledger`.
fn apply(ledger: &mut Ledger<SledStorage>, txs: &[Transaction], time_ms: u64) -> Result<u64> {
    let limits = BlockLimits {
        max_txs: BLOCK_PAYMENTS,
        max_bytes: 4 * 1024 * 1024,
    };
    let mut time_ms = time_ms;
    let mut rest = txs;
    while !rest.is_empty() {
        let context = BlockContext {
            time_ms,
            ..BlockContext::new(key_for("ksp-sejahtera").public())
        };
        let (executed, skipped) = ledger.build_executed_block(rest, context, limits, &Trusted);
        if !skipped.is_empty() {
            return Err(format!("not admitted: {:?}", skipped.first()).into());
        }
        let taken = executed.block().txs.len();
        let outcome = ledger.apply_executed(executed, vec![], |_| vec![])?;
        if let Some((_, Err(reason))) = outcome.results.iter().find(|(_, r)| r.is_err()) {
            return Err(format!("a transaction failed: {reason}").into());
        }
        rest = rest.get(taken..).unwrap_or_default();
        time_ms += 1;
    }
    Ok(time_ms)
}

/// A store with `payers` members at ksp-sejahtera holding Rp 1.000.000
/// each, and `payments` payments of Rp 1 around the ring of payers (payer
/// `i` pays payer `i + 1`), ids 0, 1, ... per payer.
fn fill(dir: &Path, payers: usize, payments: usize) -> Result<()> {
    let started = Instant::now();
    let mut ledger = ledger_at(dir)?;
    let coop = key_for("ksp-sejahtera").public();
    let setup: Vec<Transaction> = register_and_fund((0..payers).map(payer_key), 1_000_000)
        .into_iter()
        .zip(1..)
        .map(|(action, nonce)| unsigned(coop, nonce, action))
        .collect();
    let mut time_ms = apply(&mut ledger, &setup, 1)?;
    time_ms = time_ms.max(PAYMENT_DAY_MS);
    let keys: Vec<PublicKey> = (0..payers).map(payer_key).collect();
    let mut nonces = vec![0u64; payers];
    let mut done = 0;
    while done < payments {
        let batch = (payments - done).min(BLOCK_PAYMENTS * 10);
        let txs: Vec<Transaction> = (done..done + batch)
            .map(|n| {
                let i = n % payers;
                nonces[i] += 1;
                let action = Action::Payment {
                    to: keys[(i + 1) % payers],
                    amount: 1,
                    memo: String::new(),
                    idempotency_id: ((n / payers) as u128).to_le_bytes(),
                };
                unsigned(keys[i], nonces[i], action)
            })
            .collect();
        time_ms = apply(&mut ledger, &txs, time_ms)?;
        done += batch;
    }
    let stored = ledger.stored_idempotency_records()?;
    println!(
        "filled in {:.1} s: height {}, {} idempotency records on disk, {:.1} MB on disk",
        started.elapsed().as_secs_f64(),
        ledger.height(),
        stored,
        ledger.storage().size_on_disk()? as f64 / 1e6,
    );
    Ok(())
}

/// This process's resident and peak resident memory (kB), from
/// `/proc/self/status` (Linux).
fn rss_kb() -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or("unknown".into(), |kb| {
        format!("{:.1} MB", kb as f64 / 1024.0)
    })
}

/// Open the store in `dir` as a node starts, and report.
fn open(dir: &Path) -> Result<Ledger<SledStorage>> {
    let (before, _) = rss_kb();
    let started = Instant::now();
    let store = SledStorage::open(dir, CACHE_BYTES_DEFAULT)?;
    let sled_took = started.elapsed();
    let (sled_rss, _) = rss_kb();
    let ledger = Ledger::open(store, &demo_genesis(CHAIN, 4, 50_000_000))?;
    let took = started.elapsed();
    let (after, peak) = rss_kb();
    println!(
        "start-up: {:.3} s to open ({:.3} s of it sled's own recovery; height {}, {} state \
         entries, live days {:?}); RSS {} before, {} after sled's open, {} after the ledger's, \
         peak {}",
        took.as_secs_f64(),
        sled_took.as_secs_f64(),
        ledger.height(),
        ledger.state().len(),
        ledger.state().idempotency_days(),
        mb(before),
        mb(sled_rss),
        mb(after),
        mb(peak),
    );
    Ok(ledger)
}

/// After a restart: a retry of a live id, then the expiry of the day two
/// days later and the sweep of its records, reported.
fn expire(mut ledger: Ledger<SledStorage>) -> Result<()> {
    let records = ledger.stored_idempotency_records()?;
    if records == 0 {
        return Ok(());
    }

    // A retry of payer 0's first payment, signed again: a duplicate, found
    // on disk.
    let payer = payer_key(0);
    let nonce = ledger.next_nonce(&payer)?;
    let retry = Action::Payment {
        to: payer_key(1),
        amount: 1,
        memo: String::new(),
        idempotency_id: 0u128.to_le_bytes(),
    };
    let context = BlockContext {
        time_ms: ledger.last_block_time_ms() + 1,
        ..BlockContext::new(key_for("ksp-sejahtera").public())
    };
    let started = Instant::now();
    let (executed, _) = ledger.build_executed_block(
        &[unsigned(payer, nonce, retry.clone())],
        context,
        BlockLimits::default(),
        &Trusted,
    );
    let outcome = ledger.apply_executed(executed, vec![], |_| vec![])?;
    println!(
        "retry after restart: {:?} in {:.1} ms",
        outcome.results.first().map(|(_, r)| r.clone()),
        started.elapsed().as_secs_f64() * 1e3
    );

    // Two days later the day expires: its entry leaves the state at once,
    // its records leave the disk a bounded number per block.
    let mut time_ms = (ledger.last_block_time_ms() / DAY_MS + 2) * DAY_MS;
    let started = Instant::now();
    let mut blocks = 0u64;
    let mut first_block_ms = None;
    let mut retry_result = None;
    let mut slowest_ms = 0f64;
    let sweep_blocks = records.div_ceil(SWEEP_RECORDS_BASE as u64);
    loop {
        let txs = match retry_result {
            None => vec![unsigned(payer, nonce + 1, retry.clone())],
            Some(_) => Vec::new(),
        };
        let block_started = Instant::now();
        let context = BlockContext {
            time_ms,
            ..BlockContext::new(key_for("ksp-sejahtera").public())
        };
        let (executed, _) =
            ledger.build_executed_block(&txs, context, BlockLimits::default(), &Trusted);
        let outcome = ledger.apply_executed(executed, vec![], |_| vec![])?;
        if retry_result.is_none() {
            retry_result = outcome.results.first().map(|(_, r)| r.clone());
            first_block_ms = Some(block_started.elapsed().as_secs_f64() * 1e3);
        }
        slowest_ms = slowest_ms.max(block_started.elapsed().as_secs_f64() * 1e3);
        blocks += 1;
        time_ms += 1;
        // Only the retry's record (today's) is left once the sweep is done;
        // count (a full scan) only once enough blocks have run.
        if blocks >= sweep_blocks && ledger.stored_idempotency_records()? <= 1 {
            break;
        }
    }
    let (rss, peak) = rss_kb();
    println!(
        "expiry: the first block of day +2 took {:.1} ms (retry with the same id: {:?}); \
         {} records swept in {} blocks (at most {} a quiet block, slowest block {:.1} ms) in {:.1} s; \
         live days {:?}; RSS {}, peak {}",
        first_block_ms.unwrap_or_default(),
        retry_result,
        records,
        blocks,
        SWEEP_RECORDS_BASE,
        slowest_ms,
        started.elapsed().as_secs_f64(),
        ledger.state().idempotency_days(),
        mb(rss),
        mb(peak),
    );
    Ok(())
}
