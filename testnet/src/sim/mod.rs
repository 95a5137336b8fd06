//! A deterministic simulation of a kopnet validator network.
//!
//! One thread, one seeded `ChaCha8Rng`, a simulated clock and an event queue
//! ordered by (time, insertion). `n` nodes run the real
//! [`kopnet_consensus::Engine`]; the simulated host persists safety records to
//! an in-memory "disk", builds and validates values, gossips, and syncs
//! decided blocks (with certificates) to nodes that fell behind.
//!
//! Faults drawn from the seed: message drop, duplication and delay (hence
//! reordering); a partition (one node isolated, a minority cut off, or the
//! majority split) healing at a random time; crashes and restarts from the
//! persisted record, including a crash between persisting and sending; up to
//! `f` Byzantine validators (silent, equivocating proposer, double voter).
//!
//! Invariants checked as events apply: agreement, validity (decided values
//! were proposed and pass the sim's validity function), no double-signing by
//! honest nodes (every released signature is recorded by height, round and
//! step), every decision's certificate verifies, evidence only ever accuses
//! Byzantine nodes. Liveness: after the heal, every honest node decides
//! `heights` more heights within a bounded simulated time.
//!
//! Every applied event goes into a trace whose blake3 hash is deterministic
//! for a seed; a failure prints the seed, the invariant, the trace tail and
//! the command line that replays it.

pub mod byzantine;
pub mod config;
pub mod invariants;
pub mod net;
pub mod node;
pub mod runner;
pub mod trace;
pub mod value;

pub use config::SimConfig;
pub use invariants::Violation;
pub use runner::{run, SimFailure, SimReport};

/// Run `count` seeds from `start`, spread over `threads` OS threads (each
/// simulation stays single-threaded and deterministic). Returns the reports
/// of passed seeds and the failures, both in seed order.
pub fn run_many(
    template: &SimConfig,
    start: u64,
    count: u64,
    threads: usize,
) -> (Vec<SimReport>, Vec<SimFailure>) {
    let threads = threads.max(1) as u64;
    let mut results: Vec<Result<SimReport, Box<SimFailure>>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut seed = start + t;
                    while seed < start + count {
                        let mut config = template.clone();
                        config.seed = seed;
                        out.push(run(&config));
                        seed += threads;
                    }
                    out
                })
            })
            .collect();
        for handle in handles {
            if let Ok(mut part) = handle.join() {
                results.append(&mut part);
            }
        }
    });
    let seed_of = |r: &Result<SimReport, Box<SimFailure>>| match r {
        Ok(report) => report.seed,
        Err(failure) => failure.config.seed,
    };
    results.sort_by_key(seed_of);
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(report) => passed.push(report),
            Err(failure) => failed.push(*failure),
        }
    }
    (passed, failed)
}
