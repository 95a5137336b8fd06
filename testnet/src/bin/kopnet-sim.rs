//! `kopnet-sim`: run the deterministic consensus simulation over many seeds.
//!
//! ```sh
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seeds 10000
//! cargo run --release -p kopnet-testnet --bin kopnet-sim -- --seeds 1000 --validators 7 --byzantine 2
//! ```
//! Exits non-zero if any seed fails, after printing the first failure with
//! the command that replays it.

use clap::Parser;
use kopnet_consensus::QuorumRule;
use kopnet_testnet::sim::{run_many, SimConfig};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kopnet-sim",
    about = "Deterministic simulation of the kopnet consensus engine"
)]
struct Args {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    start_seed: u64,
    /// Validators (equal voting power).
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
    /// Worker threads (each simulation is single-threaded).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the trace hash of every seed.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.validators == 0 || 3 * args.byzantine >= args.validators {
        eprintln!(
            "error: need 3 * byzantine < validators (got {} byzantine of {})",
            args.byzantine, args.validators
        );
        return ExitCode::from(2);
    }
    if args.heights == 0 || args.seeds == 0 {
        eprintln!("error: --seeds and --heights must be at least 1");
        return ExitCode::from(2);
    }
    let mut template = SimConfig::new(
        args.start_seed,
        args.validators,
        args.byzantine,
        args.heights,
    );
    if args.unsafe_quorum {
        template.quorum_rule = QuorumRule::UnsafeOneThird;
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (passed, failed) = run_many(&template, args.start_seed, args.seeds, threads);
    if args.verbose {
        for report in &passed {
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
    if let Some(first) = failed.first() {
        println!("{first}");
        let seeds: Vec<String> = failed
            .iter()
            .take(20)
            .map(|f| f.config.seed.to_string())
            .collect();
        println!("failed seeds (first 20): {}", seeds.join(", "));
    }
    let events: u64 = passed.iter().map(|r| r.events).sum();
    let evidence: u64 = passed.iter().map(|r| r.evidence).sum();
    println!(
        "{}/{} seeds passed ({} validators, {} byzantine, {} heights{}; {} events, {} evidence reports)",
        passed.len(),
        args.seeds,
        args.validators,
        args.byzantine,
        args.heights,
        if args.unsafe_quorum { ", UNSAFE quorum" } else { "" },
        events,
        evidence
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
