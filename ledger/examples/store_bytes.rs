//! Bytes of disk per committed transaction on a real sled store: the
//! measurement behind "Storage per block (issue 21)" in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p kopnet-ledger --example store_bytes [BLOCKS] [TXS_PER_BLOCK] [PAYERS] [MERCHANTS]
//! ```
//!
//! (defaults: 200 blocks of 500 payments among 2,000 payers, no merchants).
//! It registers and funds the payers (and registers the merchants) through
//! real blocks, notes the store's size, then applies `BLOCKS` blocks of
//! `TXS_PER_BLOCK` payments (payer `i` pays payer `i + 1`, or with
//! `MERCHANTS` > 0 payment `n` pays merchant `n % MERCHANTS`, so each also
//! keeps its record for refunds; Rp 1..=999, no memo, all on one day of
//! block time so every idempotency and refund record is live: the figure
//! is before any pruning), each
//! block with a 424-byte host entry standing in for a four-signature commit
//! certificate, through the same code a node runs (`build_executed_block`
//! then `apply_executed`; signatures are not checked, every other rule is,
//! and each transaction carries 64 pseudo-random signature bytes so the
//! bytes on disk are those of signed transactions).
//!
//! It prints, per committed payment: the growth of sled's files
//! (`size_on_disk`, what `kopnet bench` counts), the live keys and the
//! bytes of keys + values the ledger keeps (by key prefix), and their
//! ratio (sled's space amplification). Everything but sled's own file
//! layout is deterministic; sled's is repeatable run to run within a few
//! per cent.
//!
//! With `KOPNET_STORE_BYTES_DIR=DIR` set, the store is built in `DIR` (a
//! new directory) and kept, for `snapshot_memory` to read.
//!
//! For instruction counts of the commit path alone:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*apply_executed*' \
//!     target/release/examples/store_bytes 20 500 2000
//! ```

use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::testkit::{build_all, demo_genesis, key_for, register_and_fund};
use kopnet_ledger::{
    Action, KycTier, Ledger, MerchantClass, SledStorage, Storage, Transaction, TxBody,
};
use kopnet_primitives::{Hash, PublicKey, Signature};
use std::collections::BTreeMap;

const CHAIN: &str = "kopnet-store-bytes";
/// Noon of day 20,000 of block time: the day of every payment.
const PAYMENT_DAY_MS: u64 = 20_000 * 86_400_000 + 43_200_000;
/// Bytes of the stand-in commit certificate written with each block.
const CERTIFICATE_BYTES: usize = 424;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `len` pseudo-random bytes derived from `seed` (incompressible, like a
/// signature or a certificate).
fn filler(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let part = Hash::digest_parts("kopnet store_bytes filler", &[seed, &counter.to_le_bytes()]);
        out.extend_from_slice(&part.0);
        counter += 1;
    }
    out.truncate(len);
    out
}

fn signed(signer: PublicKey, nonce: u64, action: Action) -> Transaction {
    let body = TxBody {
        chain_id: CHAIN.into(),
        signer,
        nonce,
        action,
    };
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&filler(&[&signer.0[..], &nonce.to_le_bytes()].concat(), 64));
    Transaction {
        body,
        signature: Signature(signature),
    }
}

fn payer_key(i: usize) -> PublicKey {
    key_for(&format!("payer-{i}")).public()
}

fn merchant_key(i: usize) -> PublicKey {
    key_for(&format!("merchant-{i}")).public()
}

/// Apply one block of `txs` at `time_ms`; every transaction must be taken
/// and succeed.
fn apply_block(
    ledger: &mut Ledger<SledStorage>,
    txs: &[Transaction],
    time_ms: u64,
) -> Result<usize> {
    let executed = build_all(ledger, txs, time_ms)?;
    let taken = executed.block().txs.len();
    let height = executed.height();
    let certificate = (
        [b"cert".as_slice(), &height.to_be_bytes()].concat(),
        filler(&height.to_be_bytes(), CERTIFICATE_BYTES),
    );
    let outcome = ledger.apply_executed(executed, vec![certificate], |_| vec![])?;
    if let Some((_, Err(reason))) = outcome.results.iter().find(|(_, r)| r.is_err()) {
        return Err(format!("a transaction failed: {reason}").into());
    }
    Ok(taken)
}

/// Live keys and bytes (key + value) per key prefix.
fn logical(store: &SledStorage) -> Result<BTreeMap<char, (u64, u64)>> {
    let mut out: BTreeMap<char, (u64, u64)> = BTreeMap::new();
    for (key, value) in store.scan_prefix(b"")? {
        let prefix = key.first().map_or('?', |b| char::from(*b));
        let entry = out.entry(prefix).or_default();
        entry.0 += 1;
        entry.1 += (key.len() + value.len()) as u64;
    }
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<std::result::Result<_, _>>()?;
    let blocks = args.first().copied().unwrap_or(200);
    let per_block = args.get(1).copied().unwrap_or(500);
    let payers = args.get(2).copied().unwrap_or(2_000);
    let merchants = args.get(3).copied().unwrap_or(0);
    let temp = tempfile::tempdir()?;
    let dir = match std::env::var_os("KOPNET_STORE_BYTES_DIR") {
        Some(kept) => std::path::PathBuf::from(kept),
        None => temp.path().to_path_buf(),
    };
    let store = SledStorage::open(&dir, CACHE_BYTES_DEFAULT)?;
    let mut ledger = Ledger::open(store, &demo_genesis(CHAIN, 4, 50_000_000))?;

    let coop = key_for("ksp-sejahtera").public();
    let merchant_keys: Vec<PublicKey> = (0..merchants).map(merchant_key).collect();
    let setup: Vec<Transaction> = register_and_fund((0..payers).map(payer_key), 1_000_000)
        .into_iter()
        .chain(
            merchant_keys
                .iter()
                .map(|merchant| Action::RegisterMerchant {
                    merchant: *merchant,
                    tier: KycTier::Business,
                    class: MerchantClass::Small,
                }),
        )
        .zip(1..)
        .map(|(action, nonce)| signed(coop, nonce, action))
        .collect();
    let mut time_ms = 1;
    for chunk in setup.chunks(2_000) {
        apply_block(&mut ledger, chunk, time_ms)?;
        time_ms += 1;
    }
    let disk_before = ledger.storage().size_on_disk()?;
    let logical_before = logical(ledger.storage())?;

    let keys: Vec<PublicKey> = (0..payers).map(payer_key).collect();
    let mut nonces = vec![0u64; payers];
    let mut paid = 0u64;
    time_ms = PAYMENT_DAY_MS;
    for block in 0..blocks {
        let txs: Vec<Transaction> = (0..per_block)
            .map(|n| {
                let serial = block * per_block + n;
                let i = serial % payers;
                nonces[i] += 1;
                let to = match merchant_keys.get(serial % merchants.max(1)) {
                    Some(merchant) => *merchant,
                    None => keys[(i + 1) % payers],
                };
                let action = Action::Payment {
                    to,
                    amount: 1 + (serial as u64 * 7) % 999,
                    memo: String::new(),
                    idempotency_id: (serial as u128).to_le_bytes(),
                };
                signed(keys[i], nonces[i], action)
            })
            .collect();
        paid += apply_block(&mut ledger, &txs, time_ms)? as u64;
        time_ms += 1;
    }
    let disk_after = ledger.storage().size_on_disk()?;
    let logical_after = logical(ledger.storage())?;

    let per_tx = |bytes: u64| bytes as f64 / paid.max(1) as f64;
    println!(
        "{blocks} blocks x {per_block} payments among {payers} payers: {paid} committed, height {}",
        ledger.height()
    );
    println!(
        "disk (sled size_on_disk) grew {} bytes: {:.0} bytes per committed transaction",
        disk_after.saturating_sub(disk_before),
        per_tx(disk_after.saturating_sub(disk_before))
    );
    let mut keys_total = 0i64;
    let mut bytes_total = 0i64;
    println!("live keys and bytes (key + value) added per transaction, by prefix:");
    for (prefix, (count, bytes)) in &logical_after {
        let (count0, bytes0) = logical_before.get(prefix).copied().unwrap_or_default();
        let count = *count as i64 - count0 as i64;
        let bytes = *bytes as i64 - bytes0 as i64;
        keys_total += count;
        bytes_total += bytes;
        println!(
            "  {prefix}: {:>7.2} keys  {:>7.1} bytes",
            count as f64 / paid.max(1) as f64,
            bytes as f64 / paid.max(1) as f64
        );
    }
    println!(
        "  all: {:>7.2} keys  {:>7.1} bytes; sled's space amplification {:.2}x",
        keys_total as f64 / paid.max(1) as f64,
        bytes_total as f64 / paid.max(1) as f64,
        disk_after.saturating_sub(disk_before) as f64 / bytes_total.max(1) as f64
    );
    Ok(())
}
