//! `kopnet`: one binary for cooperatives' IT people, tellers, members and
//! regulators. Errors print as one line on stderr with a non-zero exit.
//!
//! # Layering
//!
//! ```text
//!   product commands          test-rig commands
//!   commands/{node,keys,      testnet/ (init, up, run)
//!    coop,wallet,audit,       commands/bench.rs
//!    settlement,status,             |
//!    proposals,watch}               v
//!          |                  kopnet-testnet (cluster, runner, bench)
//!          v                        |
//!   kopnet-node (+ api::client) <---+
//!          |
//!   kopnet-ledger, kopnet-consensus
//! ```
//!
//! The product commands reach a node only through
//! `kopnet_node::api::client`; they never import `kopnet_testnet`. Only the
//! rig's own modules, beside them, do. `kopnet-node` itself never depends on
//! the rig. `anyhow` is used here, at the binary's edge, and nowhere below.

// Every line goes through `say!` (output.rs), which survives a closed stdout.
#![deny(clippy::print_stdout)]

#[macro_use]
mod output;
mod amount;
mod commands;
mod payout_file;
mod sender;
mod testnet;

use clap::Parser;

/// Most threads tokio keeps for blocking work (signature checks, store
/// reads): that work is CPU-bound, so more threads than this on a small
/// server only queue at the cores, and every extra thread that allocates
/// may take its own glibc malloc arena. With tokio's default of 512, a
/// validator at `kopnet bench --max` grew to 450-770 MB of RSS; see
/// BENCHMARKS.md.
const BLOCKING_THREADS_MAX: usize = 8;

fn main() {
    let cli = commands::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS_MAX)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            1
        }
    };
    std::process::exit(code);
}
