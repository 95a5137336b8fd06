//! `kopnet-sim`: run the deterministic consensus-and-ledger simulation over
//! many seeds, or one seed with its full trace.
//!
//! ```sh
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seeds 10000
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seeds 1000 --validators 7 --byzantine 2
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seed 42 --trace
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seeds 10000 --storage-faults
//! ```
//! Exits non-zero if any seed fails, after printing the first failure with
//! the command that replays it with the full trace.

use clap::Parser;
use kopnet_consensus::QuorumRule;
use kopnet_ledger::ledger::KEEP_BLOCKS_MIN;
use kopnet_testnet::sim::{
    run_many, run_traced, FaultCounts, HostileCounts, LedgerCounts, SimConfig, SimFailure,
    SimReport, StorageCounts,
};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "kopnet-sim",
    about = "Deterministic simulation of the kopnet consensus engine and ledger"
)]
struct Args {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start_seed: u64,
    /// Run exactly this seed (same as --seeds 1 --start-seed S).
    #[arg(long, conflicts_with_all = ["seeds", "start_seed"])]
    seed: Option<u64>,
    /// Print every line of the trace (one seed only).
    #[arg(long)]
    trace: bool,
    /// Genesis validators (voting power drawn from the seed).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Byzantine validators; must be below validators / 3.
    #[arg(long, default_value_t = 1)]
    byzantine: usize,
    /// Heights every honest node must decide after the network heals.
    #[arg(long, default_value_t = 4)]
    heights: u64,
    /// Run with a deliberately broken quorum rule (> 1/3 instead of > 2/3),
    /// to show the simulator catches it.
    #[arg(long)]
    unsafe_quorum: bool,
    /// No crashes, partitions, drops or duplicates.
    #[arg(long)]
    no_faults: bool,
    /// No governance changes and no standby node.
    #[arg(long)]
    no_governance: bool,
    /// Corrupt one honest node's ledger on purpose, to show the state-root
    /// check catches it.
    #[arg(long)]
    faulty_ledger: bool,
    /// Byzantine nodes keep to their consensus behaviour: no future flood,
    /// no false hints, no bad catch-up pages.
    #[arg(long)]
    no_hostile: bool,
    /// Every flooding node signs its flood votes and aims at its own height
    /// being decided (the case that found the vote keeper's liveness hole,
    /// fixed; docs/simulator.md).
    #[arg(long)]
    unrestricted_flood: bool,
    /// Storage faults besides the other faults: a store that refuses a
    /// write, fails a flush or fills up, a safety record whose save or sync
    /// fails, power cuts (docs/simulator.md). The host must fail stop.
    #[arg(long, conflicts_with = "no_faults")]
    storage_faults: bool,
    /// Every node prunes, keeping this many blocks (0: archive, the
    /// default; else at least 256, the node's minimum). The faults wait
    /// until the chain is past the pruning horizon (docs/simulator.md).
    #[arg(long, default_value_t = 0)]
    prune_keep: u64,
    /// Worker threads (each simulation is single-threaded).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the trace hash of every seed.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (start, seeds) = match seed_range(&args) {
        Ok(range) => range,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let template = sim_template(&args, start);
    if args.trace {
        return trace_one(template);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = Instant::now();
    let (passed, failed) = run_many(&template, start, seeds, threads);
    let elapsed = started.elapsed();
    if args.verbose {
        print_passed(&passed);
    }
    print_failures(&failed);
    print_summary(&args, seeds, &passed, elapsed, threads);
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The first seed and how many to run, or why the arguments do not make a
/// run.
fn seed_range(args: &Args) -> Result<(u64, u64), String> {
    if args.validators == 0 || 3 * args.byzantine >= args.validators {
        return Err(format!(
            "need 3 * byzantine < validators (got {} byzantine of {})",
            args.byzantine, args.validators
        ));
    }
    let (start, seeds) = match args.seed {
        Some(seed) => (seed, 1),
        None => (args.start_seed, args.seeds),
    };
    if args.heights == 0 || seeds == 0 {
        return Err("--seeds and --heights must be at least 1".to_string());
    }
    if args.prune_keep != 0 && args.prune_keep < KEEP_BLOCKS_MIN {
        return Err(format!(
            "--prune-keep {} is below the node's minimum of {KEEP_BLOCKS_MIN} blocks (0 keeps everything)",
            args.prune_keep
        ));
    }
    if args.trace && seeds != 1 {
        return Err("--trace prints one seed: use --seed S".to_string());
    }
    Ok((start, seeds))
}

/// The configuration every seed runs with, starting at seed `start`.
fn sim_template(args: &Args, start: u64) -> SimConfig {
    let mut template = SimConfig::new(start, args.validators, args.byzantine, args.heights);
    if args.unsafe_quorum {
        template.quorum_rule = QuorumRule::UnsafeOneThird;
    }
    template.faults = !args.no_faults;
    template.governance = !args.no_governance;
    template.faulty_ledger = args.faulty_ledger;
    template.hostile = !args.no_hostile;
    template.unrestricted_flood = args.unrestricted_flood;
    template.storage_faults = args.storage_faults;
    template.prune_keep_blocks = args.prune_keep;
    template
}

/// One line per passed seed, with its trace hash.
fn print_passed(passed: &[SimReport]) {
    for report in passed {
        println!(
            "seed {} ok: {} events, {} heights, t={}ms, trace {}",
            report.seed,
            report.events,
            report.heights_decided,
            report.sim_time_ms,
            report.trace_hash
        );
    }
}

/// The first failure in full (with the command that replays it), then the
/// first 20 failed seeds.
fn print_failures(failed: &[SimFailure]) {
    if let Some(first) = failed.first() {
        println!("{first}");
        let seeds: Vec<String> = failed
            .iter()
            .take(20)
            .map(|f| f.config.seed.to_string())
            .collect();
        println!("failed seeds (first 20): {}", seeds.join(", "));
    }
}

/// How many seeds passed with which settings, and the faults and ledger work
/// summed over the passed seeds.
fn print_summary(args: &Args, seeds: u64, passed: &[SimReport], elapsed: Duration, threads: usize) {
    let mut faults = FaultCounts::default();
    let mut ledger = LedgerCounts::default();
    let mut hostile = HostileCounts::default();
    let mut storage = StorageCounts::default();
    let mut events = 0u64;
    let mut heights = 0u64;
    for report in passed {
        faults += report.faults;
        ledger += report.ledger;
        hostile += report.hostile;
        storage += report.storage;
        events += report.events;
        heights += report.heights_decided;
    }
    println!(
        "{}/{} seeds passed ({} validators, {} byzantine, {} heights after heal{}{}{}{}{}{}{}; {} events, {} heights decided; {:.1}s on {} threads)",
        passed.len(),
        seeds,
        args.validators,
        args.byzantine,
        args.heights,
        if args.unsafe_quorum { ", UNSAFE quorum" } else { "" },
        if args.no_faults { ", no faults" } else { "" },
        if args.no_governance { ", no governance" } else { "" },
        if args.faulty_ledger { ", FAULTY ledger" } else { "" },
        if args.no_hostile { ", no hostile behaviours" } else { "" },
        if args.storage_faults { ", storage faults" } else { "" },
        if args.prune_keep > 0 {
            format!(", pruning to {} blocks", args.prune_keep)
        } else {
            String::new()
        },
        events,
        heights,
        elapsed.as_secs_f64(),
        threads
    );
    println!("faults fired over the passed seeds:\n{faults}");
    println!("ledger and host work over the passed seeds (agreed blocks; catch-up, evictions and sets read back summed over nodes):\n{ledger}");
    println!("hostile behaviours and what honest hosts made of them (peaks: the largest of any seed):\n{hostile}");
    if args.storage_faults {
        println!(
            "storage faults fired over the passed seeds ({} fail-stops):\n{storage}",
            storage.fail_stops()
        );
    }
}

/// One seed with every trace line, then its result.
fn trace_one(mut config: SimConfig) -> ExitCode {
    config.full_trace = true;
    let run = run_traced(&config);
    for line in run.trace.unwrap_or_default() {
        println!("{line}");
    }
    match run.result {
        Ok(report) => {
            println!(
                "seed {} passed: {} events, {} heights, t={}ms, trace hash {}",
                report.seed,
                report.events,
                report.heights_decided,
                report.sim_time_ms,
                report.trace_hash
            );
            println!("faults fired:\n{}", report.faults);
            println!("ledger work agreed:\n{}", report.ledger);
            println!("hostile behaviours:\n{}", report.hostile);
            if any_storage_fault(&report.storage) {
                println!("storage faults fired:\n{}", report.storage);
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            println!(
                "seed {} FAILED at t={}ms: {}",
                failure.config.seed, failure.time_ms, failure.violation
            );
            ExitCode::FAILURE
        }
    }
}

/// Whether a run's storage counts are worth printing (any fired).
fn any_storage_fault(storage: &StorageCounts) -> bool {
    storage.named().iter().any(|(_, count)| *count > 0)
}
