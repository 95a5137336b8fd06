//! `kopnet bench`: throughput, latency and resource use of a local network.

use anyhow::Result;
use kopnet_testnet::bench::{self, BenchConfig};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Validator cooperatives.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Regulators' observer nodes.
    #[arg(long, default_value_t = 1)]
    pub observers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Offered load in transactions per second.
    #[arg(long, default_value_t = 1000, conflicts_with = "max")]
    pub rate: u64,
    /// Offer as much as the driver can (its in-flight bound limits the rate).
    #[arg(long)]
    pub max: bool,
    /// Where to create the network and keep it after the run (default: a
    /// new folder under the system temp dir, removed after a run that
    /// succeeded; kept, with the nodes' logs, after one that failed).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where to write bench.json and bench.svg.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Demo members per cooperative (merchants: a tenth of it, at least 2).
    /// Default: enough that one payment in flight per member does not limit
    /// the offered rate (2 s of the rate over the cooperatives, 100 to
    /// 2,000 per cooperative).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub members: Option<u64>,
    /// The settlement period in seconds (at least 5): windows close on this
    /// schedule during the load and are acknowledged.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(5..=604_800))]
    pub window_secs: u64,
    /// Explorer-like readers beside the load (block pages, single blocks,
    /// transactions by hash, accounts and their history, cooperatives,
    /// invariants, settlement windows, and an open event stream each), each
    /// reading as fast as it is answered, dealt round-robin over the nodes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub read_clients: u16,
    /// The readers read only from observers, not from validators: then they
    /// can cost the commit path CPU but never a validator's ledger lock.
    #[arg(long, requires = "read_clients")]
    pub read_observers_only: bool,
    /// The validators keep only their last N blocks (`[pruning]
    /// keep_blocks`, at least 256; observers keep every block), and every
    /// node's disk use is sampled every 5 s into prune.json and prune.svg.
    #[arg(long, value_parser = clap::value_parser!(u64).range(256..))]
    pub prune_keep: Option<u64>,
    /// Block time runs N times faster than the wall clock (a
    /// fault-injection build only: `cargo run --features fault-injection`),
    /// and the settlement period with it: a 600-s run at 300 passes two
    /// days and more of block time, so the payment records kept by day
    /// expire and a pruning node's disk turns over.
    #[arg(long)]
    pub block_clock_speedup: Option<u64>,
    /// Every node's sled page cache in bytes (`[storage] cache_bytes`, at
    /// least 1 MiB; default the node's own, 64 MiB).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1_048_576..))]
    pub cache_bytes: Option<u64>,
}

pub async fn run(args: BenchArgs) -> Result<i32> {
    let config = BenchConfig {
        dir: args.dir,
        validators: args.validators,
        observers: args.observers,
        duration_secs: args.duration,
        rate: if args.max { bench::RATE_MAX } else { args.rate },
        members: args.members.and_then(|m| usize::try_from(m).ok()),
        out: args.out,
        window_secs: args.window_secs,
        read_clients: usize::from(args.read_clients),
        read_observers_only: args.read_observers_only,
        prune_keep: args.prune_keep,
        block_clock_speedup: args.block_clock_speedup,
        cache_bytes: args.cache_bytes,
    };
    if config.block_clock_speedup.is_some() && !cfg!(feature = "fault-injection") {
        anyhow::bail!(
            "--block-clock-speedup needs a fault-injection build: cargo run --release --features fault-injection --bin kopnet -- bench ..."
        );
    }
    let report = bench::run(&config).await?;
    if crate::output::json() {
        crate::output::print_json(&report);
    } else {
        say_part!("{}", bench::render_table(&report));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cache_size_below_a_mebibyte_or_not_a_number_is_refused_by_the_parser() {
        use clap::Parser;
        let parse = |bytes: &str| {
            let arg = format!("--cache-bytes={bytes}");
            crate::commands::Cli::try_parse_from(["kopnet", "bench", arg.as_str()])
        };
        assert!(parse("16777216").is_ok());
        for bad in ["0", "1048575", "-1", "64MiB"] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("cache-bytes"), "{bad}: {error}");
        }
    }
}
