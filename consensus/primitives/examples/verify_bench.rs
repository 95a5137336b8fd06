//! Micro-benchmark of signature verification (issue 21): the cost per
//! signature of the old rule (ed25519-dalek `verify_strict`, key already
//! decompressed), the new rule one by one (`PreparedKey`), and the new rule
//! in batches (`verify_each`, and `verify_each_parallel` over 2 threads).
//!
//! ```text
//! cargo build --release -p kopnet-primitives --example verify_bench
//! target/release/examples/verify_bench <strict|single|batch|parallel> <batch size> <rounds>
//! ```
//!
//! Each signature is by its own key (as payments from many members are)
//! over 150 bytes (about a signed transaction body). It prints the
//! wall-clock per signature; for instruction counts run it under
//! `valgrind --tool=callgrind --toggle-collect='*measured*'`, which counts
//! only the verification (see BENCHMARKS.md, "Signature verification
//! (issue 21)").

use kopnet_primitives::signature_rule::{verify_each, verify_each_parallel, Signed};
use kopnet_primitives::{Keypair, Signature};
use std::hint::black_box;
use std::time::Instant;

fn entries(count: usize) -> Vec<Signed> {
    (0..count)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = Keypair::from_seed(seed);
            let bytes: Vec<u8> = (0..150).map(|j| (i + j) as u8).collect();
            let signature = {
                use ed25519_dalek::Signer;
                ed25519_dalek::SigningKey::from_bytes(&seed)
                    .sign(&bytes)
                    .to_bytes()
            };
            Signed {
                key: key.public().prepare().expect("a fresh key is usable"),
                bytes,
                signature: Signature(signature),
            }
        })
        .collect()
}

#[inline(never)]
fn measured(mode: &str, entries: &[Signed], strict: &[ed25519_dalek::VerifyingKey]) -> usize {
    match mode {
        "strict" => entries
            .iter()
            .zip(strict)
            .filter(|(e, key)| {
                key.verify_strict(
                    &e.bytes,
                    &ed25519_dalek::Signature::from_bytes(&e.signature.0),
                )
                .is_ok()
            })
            .count(),
        "single" => entries.iter().filter(|e| e.verify()).count(),
        "batch" => verify_each(entries).iter().filter(|ok| **ok).count(),
        "parallel" => verify_each_parallel(entries, 2)
            .iter()
            .filter(|ok| **ok)
            .count(),
        // The setup alone (for subtracting from a whole-program count).
        "none" => entries.len(),
        other => panic!("unknown mode {other}: strict, single, batch, parallel or none"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("batch");
    let size: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let rounds: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let entries = entries(size);
    let strict: Vec<ed25519_dalek::VerifyingKey> = entries
        .iter()
        .map(|e| ed25519_dalek::VerifyingKey::from_bytes(&e.key.public().0).expect("a point"))
        .collect();
    let start = Instant::now();
    let mut good = 0;
    for _ in 0..rounds {
        good += measured(mode, black_box(&entries), &strict);
    }
    let elapsed = start.elapsed();
    assert_eq!(good, size * rounds, "every signature is good");
    let per_sig = elapsed.as_secs_f64() * 1e6 / (size * rounds) as f64;
    println!("{mode} size={size} rounds={rounds}: {per_sig:.2} µs per signature (wall clock)");
}
