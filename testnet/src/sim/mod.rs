//! A deterministic simulation of a kopnet validator network.
//!
//! One thread, one seeded `ChaCha8Rng`, a simulated clock and an event queue
//! ordered by (time, insertion). Each of the `n` nodes is the node's own
//! host, [`kopnet_node::host::Host`] — the code `kopnet node run` runs, with
//! only I/O swapped: its ledger over in-memory storage ([`node`]), its
//! safety record in memory, its effects carried over the simulated network
//! and clock ([`runner`]). So the simulator exercises the real consensus
//! engine, ledger, mempool (bounds, stale and expiry evictions), signature
//! cache, admission path, catch-up (one request in flight, pages verified
//! against the certified set of their height) and the crash-safe chain
//! records (certificate and the `h + 2` validator set in the block's own
//! batch). Each node opens from a seeded genesis ([`world`]): one
//! cooperative per node with voting power drawn from the seed (Byzantine
//! power strictly below a third), members and a merchant at each, and a
//! standby cooperative whose node starts as a non-validator.
//!
//! Transactions come from one seeded source, the [`clients`]: each is
//! submitted to a node through the host's admission path (as `POST /v1/tx`
//! would), which gossips it to its peers; clients resubmit what is not
//! committed in time. Governance ([`governance`]) proposes and approves
//! validator-set changes through the ledger; each height's set is the
//! ledger's validators as of block `h - VALIDATOR_SET_CHANGE_DELAY`, as the
//! host records it.
//!
//! Faults drawn from the seed: message drop, duplication and delay (hence
//! reordering); a partition (one node isolated, nodes holding less than a
//! third of the genesis voting power cut off, or the nodes split into two
//! sides of about half the power each, so neither can commit alone) healing
//! at a random time; crashes that drop the host and restart a new one from
//! what its storage persisted — at once, between persisting a vote and
//! sending it, or at a storage write the store refuses (the host must fail
//! stop: any host error without an injected fault is a violation); up to
//! `f` Byzantine validators (silent,
//! equivocating proposer that may also propose tampered blocks, double
//! voter), each of which may also be hostile: flood every node with
//! messages for future heights ([`flood`]), and send false height hints
//! and bad catch-up pages ([`lies`]). With `--storage-faults`
//! ([`disk`]), besides: a store that refuses a write, fails a flush after
//! applying the batch or fills up, a safety record whose save or sync
//! fails, and power cuts that lose what was not flushed; the host must
//! fail stop on each (a host that returns `Ok` after a storage fault fired
//! is a violation) and the node restarts from what was durable.
//! [`stats::FaultCounts`], [`stats::HostileCounts`] and
//! [`stats::StorageCounts`] count what actually fired.
//!
//! Invariants checked as events apply ([`checker`]): agreement on block
//! hashes and on state roots after every height, validity (decided blocks
//! were proposed and the ledger applies them), the ledger's own invariants
//! (conservation, positions summing to zero) on every node after every
//! block, no double-signing by honest nodes, every decision's certificate
//! verifies with the strict > 2/3 rule against its height's validator set,
//! every node uses the same set per height, evidence only ever accuses
//! Byzantine nodes, and a restarted host finds exactly what it had committed
//! (never less — not after a power cut either — and one block more only if
//! that block's failed flush was written back) and reads back the same
//! validator set every other node uses. Against
//! the hostile behaviours: every honest engine's next-height buffer stays
//! within its bound, no honest host asks for an honest peer to be
//! penalised, no honest node stays `syncing` on false claims alone, every
//! committed block accuses only Byzantine validators, and an offence an
//! honest node observed is in the next block it proposes with room for
//! it ([`evidence_watch`]).
//! Liveness: after the heal, every honest node decides `heights` more
//! heights within a bounded simulated time.
//!
//! Every applied event goes into a trace whose blake3 hash is deterministic
//! for a seed; a failure prints the seed, the invariant, the trace tail and
//! the command line that replays it with the full trace
//! (`kopnet-sim --seed S ... --trace`).
//!
//! Two deliberately broken modes show the checks can fail: an unsafe quorum
//! rule (`--unsafe-quorum`; the strict certificate check catches the first
//! decision), and a corrupted ledger on one honest node (`--faulty-ledger`,
//! [`corrupt`]; the state-root check catches it).

pub mod byzantine;
pub mod checker;
pub mod clients;
pub mod config;
#[cfg(feature = "fault-injection")]
pub mod corrupt;
pub mod disk;
pub mod evidence_watch;
pub mod flood;
pub mod forge;
pub mod governance;
pub mod lies;
pub mod net;
pub mod node;
pub mod runner;
pub mod stats;
pub mod trace;
pub mod violation;
pub mod world;

pub use config::SimConfig;
pub use runner::{run, run_traced, SimFailure, SimReport, SimRun};
pub use stats::{FaultCounts, HostileCounts, LedgerCounts, StorageCounts};
pub use violation::Violation;

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
