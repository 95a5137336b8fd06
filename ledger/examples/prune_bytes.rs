//! Disk use of an archive and of a pruning ledger fed the same blocks, on
//! real sled stores, over days of block time: the measurement behind
//! "Pruning: disk use under constant load" in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p kopnet-ledger --example prune_bytes [BLOCKS] [TXS_PER_BLOCK] [KEEP] [BLOCK_MINUTES]
//! ```
//!
//! (defaults: 1,500 blocks of 100 payments among 2,000 payers, the pruning
//! ledger keeping 300 blocks, 10 minutes of block time per block). A
//! minute-scale bench run cannot show a pruning node flat: the records a
//! payment leaves beside its block (its idempotency record, kept two days
//! of block time; a merchant payment's refund record, kept for the refund
//! period) grow until their day expires. Here block time passes ten
//! minutes a block, so idempotency days expire within the run; the
//! payments are between members (no refund records). Everything is the
//! code a node runs (`build_executed_block`, `apply_executed` with a
//! 424-byte stand-in certificate under `cert ‖ height`, the node's pruning
//! series); signatures are not checked.
//!
//! It prints, every `BLOCKS / 15` blocks: the height, each store's size on
//! disk (sled's `size_on_disk`) and its live keys and bytes (keys +
//! values), and the pruning ledger's base.

use kopnet_ledger::ledger::{HostSeries, Pruning};
use kopnet_ledger::storage::CACHE_BYTES_DEFAULT;
use kopnet_ledger::testkit::{build_all, demo_genesis, key_for, register_and_fund};
use kopnet_ledger::{Action, Ledger, SledStorage, Storage, Transaction, TxBody};
use kopnet_primitives::{Hash, PublicKey, Signature};

const CHAIN: &str = "kopnet-prune-bytes";
/// Bytes of the stand-in commit certificate written with each block.
const CERTIFICATE_BYTES: usize = 424;
const PAYERS: usize = 2_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn filler(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while out.len() < len {
        let part = Hash::digest_parts("kopnet prune_bytes filler", &[seed, &counter.to_le_bytes()]);
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

fn apply_block(ledger: &mut Ledger<SledStorage>, txs: &[Transaction], time_ms: u64) -> Result<()> {
    let executed = build_all(ledger, txs, time_ms)?;
    let height = executed.height();
    let certificate = (
        [b"cert".as_slice(), &height.to_be_bytes()].concat(),
        filler(&height.to_be_bytes(), CERTIFICATE_BYTES),
    );
    let outcome = ledger.apply_executed(executed, vec![certificate], |_| vec![])?;
    if let Some((_, Err(reason))) = outcome.results.iter().find(|(_, r)| r.is_err()) {
        return Err(format!("a transaction failed: {reason}").into());
    }
    Ok(())
}

/// Live keys and bytes (key + value).
fn logical(store: &SledStorage) -> Result<(u64, u64)> {
    let mut keys = 0u64;
    let mut bytes = 0u64;
    for (key, value) in store.scan_prefix(b"")? {
        keys += 1;
        bytes += (key.len() + value.len()) as u64;
    }
    Ok((keys, bytes))
}

fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<std::result::Result<_, _>>()?;
    let blocks = args.first().copied().unwrap_or(1_500);
    let per_block = args.get(1).copied().unwrap_or(100) as usize;
    let keep = args.get(2).copied().unwrap_or(300);
    let block_ms = args.get(3).copied().unwrap_or(10).saturating_mul(60_000);
    let genesis = demo_genesis(CHAIN, 4, 50_000_000);
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let mut ledgers = Vec::new();
    for dir in &dirs {
        let store = SledStorage::open(dir.path(), CACHE_BYTES_DEFAULT)?;
        ledgers.push(Ledger::open(store, &genesis)?);
    }
    let series = vec![HostSeries {
        prefix: b"cert".to_vec(),
        keep_min_blocks: 0,
    }];
    ledgers[1].set_pruning(Some(Pruning::new(keep, series)?));

    let coop = key_for("ksp-sejahtera").public();
    let setup: Vec<Transaction> = register_and_fund((0..PAYERS).map(payer_key), 1_000_000)
        .into_iter()
        .zip(1..)
        .map(|(action, nonce)| signed(coop, nonce, action))
        .collect();
    let mut time_ms = 20_000 * 86_400_000;
    for chunk in setup.chunks(2_000) {
        for ledger in &mut ledgers {
            apply_block(ledger, chunk, time_ms)?;
        }
        time_ms += block_ms;
    }
    let keys: Vec<PublicKey> = (0..PAYERS).map(payer_key).collect();
    let mut nonces = vec![0u64; PAYERS];
    let every = (blocks / 15).max(1);
    println!(
        "{blocks} blocks of {per_block} payments among {PAYERS} payers, {} min of block time a block; the pruning ledger keeps {keep} blocks",
        block_ms / 60_000
    );
    println!("| block | payments | archive MB on disk | archive live MB (keys) | pruning MB on disk | pruning live MB (keys) | pruning base |");
    println!("|---|---|---|---|---|---|---|");
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    for block in 0..blocks {
        let txs: Vec<Transaction> = (0..per_block)
            .map(|n| {
                let serial = block as usize * per_block + n;
                let i = serial % PAYERS;
                nonces[i] += 1;
                let action = Action::Payment {
                    to: keys[(i + 1) % PAYERS],
                    amount: 1 + (serial as u64 * 7) % 999,
                    memo: String::new(),
                    idempotency_id: (serial as u128).to_le_bytes(),
                };
                signed(keys[i], nonces[i], action)
            })
            .collect();
        for ledger in &mut ledgers {
            apply_block(ledger, &txs, time_ms)?;
        }
        assert_eq!(ledgers[0].state_root(), ledgers[1].state_root());
        time_ms += block_ms;
        if (block + 1) % every == 0 || block + 1 == blocks {
            let (a_keys, a_bytes) = logical(ledgers[0].storage())?;
            let (p_keys, p_bytes) = logical(ledgers[1].storage())?;
            println!(
                "| {} | {} | {:.1} | {:.1} ({a_keys}) | {:.1} | {:.1} ({p_keys}) | {} |",
                ledgers[0].height(),
                (block + 1) * per_block as u64,
                mb(ledgers[0].storage().size_on_disk()?),
                mb(a_bytes),
                mb(ledgers[1].storage().size_on_disk()?),
                mb(p_bytes),
                ledgers[1].base_height(),
            );
        }
    }
    Ok(())
}
