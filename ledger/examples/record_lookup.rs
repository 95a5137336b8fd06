//! What an idempotency lookup that reaches the store costs (store format
//! 12: the record runs, then one block value), as a payment sees it right
//! after a restart: the measurement behind "What it costs" in
//! BENCHMARKS.md (issue 21, ninth pass).
//!
//! ```text
//! KOPNET_STORE_BYTES_DIR=/tmp/store cargo run --release -p kopnet-ledger --example store_bytes 150 500 2000
//! cargo run --release -p kopnet-ledger --example record_lookup /tmp/store
//! ```
//!
//! It opens the ledger on a store kept by `store_bytes` (all of whose
//! payments are on one day of block time) and times [`Ledger::quote`] of a
//! payment by each payer:
//! - **unknown day, new id**: just reopened, the day's filter knows
//!   nothing, so the quote reads the runs for an id nobody used (the cost
//!   every payment pays for two days after a restart);
//! - **unknown day, used id**: the same for an id the payer used (found:
//!   a `duplicate`);
//! - **no live records**: after an empty block two days later the day has
//!   expired and the quote reads nothing: the quote's own cost.
//!
//! The difference between the first and the last is the lookup. Two
//! passes each; the second is printed (the store's cache warm). The empty
//! block is written to the store: each run needs a store built afresh.

use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::testkit::{build_all, demo_genesis, key_for};
use kopnet_ledger::{Action, Ledger, Rejection, SledStorage};
use kopnet_primitives::PublicKey;
use std::time::Instant;

/// As in `store_bytes`.
const CHAIN: &str = "kopnet-store-bytes";
const PAYMENT_DAY_MS: u64 = 20_000 * 86_400_000 + 43_200_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn payment(to: PublicKey, serial: u128) -> Action {
    Action::Payment {
        to,
        amount: 1,
        memo: String::new(),
        idempotency_id: serial.to_le_bytes(),
    }
}

/// Microseconds per quote of `actions` (payer, action), second pass; each
/// answer must be `expect`.
fn time_quotes(
    ledger: &Ledger<SledStorage>,
    actions: &[(PublicKey, Action)],
    expect: &dyn Fn(&std::result::Result<kopnet_ledger::ledger::Quote, Rejection>) -> bool,
) -> Result<f64> {
    let mut micros = 0.0;
    for _pass in 0..2 {
        let started = Instant::now();
        for (payer, action) in actions {
            let quote = ledger.quote(payer, action);
            if !expect(&quote) {
                return Err(format!("unexpected answer: {quote:?}").into());
            }
        }
        micros = started.elapsed().as_secs_f64() * 1e6 / actions.len().max(1) as f64;
    }
    Ok(micros)
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: record_lookup STORE_DIR (a store kept by store_bytes)")?;
    let store = SledStorage::open(std::path::Path::new(&dir), CACHE_BYTES_DEFAULT)?;
    let mut ledger = Ledger::open(store, &demo_genesis(CHAIN, 4, 50_000_000))?;
    let payers = 2_000usize;
    let key = |i: usize| key_for(&format!("payer-{i}")).public();
    let new: Vec<(PublicKey, Action)> = (0..payers)
        .map(|i| {
            (
                key(i),
                payment(key((i + 1) % payers), u128::MAX - i as u128),
            )
        })
        .collect();
    // store_bytes gave payer `serial % payers` the id `serial`.
    let used: Vec<(PublicKey, Action)> = (0..payers)
        .map(|i| (key(i), payment(key((i + 1) % payers), i as u128)))
        .collect();
    let is_ok = |q: &std::result::Result<_, Rejection>| q.is_ok();
    let is_known = |q: &std::result::Result<_, Rejection>| {
        matches!(
            q,
            Err(Rejection::Duplicate { .. }
                | Rejection::ExistsWithDifferentAmount { .. }
                | Rejection::ExistsWithDifferentPayee { .. })
        )
    };
    let unknown_new = time_quotes(&ledger, &new, &is_ok)?;
    let unknown_used = time_quotes(&ledger, &used, &is_known)?;
    // Two days later the day has expired: nothing to read.
    let executed = build_all(&ledger, &[], PAYMENT_DAY_MS + 2 * 86_400_000)?;
    ledger.apply_executed(executed, vec![], |_| vec![])?;
    let expired_new = time_quotes(&ledger, &new, &is_ok)?;
    println!("height {}, {payers} payers", ledger.height());
    println!("unknown day, new id:  {unknown_new:.1} µs per quote");
    println!("unknown day, used id: {unknown_used:.1} µs per quote");
    println!("no live records:      {expired_new:.1} µs per quote");
    println!(
        "lookup of a new id after a restart: {:.1} µs",
        unknown_new - expired_new
    );
    Ok(())
}
