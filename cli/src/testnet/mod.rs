//! `kopnet testnet init|up|run`: local networks for trying kopnet out and
//! for fault injection. These commands drive the test rig (`kopnet-testnet`:
//! the on-disk layout, child node processes, the load driver, the fault
//! runner); the product commands in [`crate::commands`] never reach in here.

mod run;
mod summary;
mod up;

use anyhow::Result;
use clap::Subcommand;
use kopnet_ledger::bounds::ValidatorLimits;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_testnet::cluster::layout;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Write keys, genesis and node homes without starting anything.
    Init {
        /// The folder to write the network into.
        #[arg(long)]
        dir: PathBuf,
        /// Validator cooperatives.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Regulators' observer nodes.
        #[arg(long, default_value_t = 1)]
        observers: usize,
        /// The settlement period in seconds (at least 5), written into the
        /// genesis: a window closes at the first block past each cut-off.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=604_800))]
        window_secs: u64,
        /// The genesis's limit on the number of validators.
        #[arg(long, default_value_t = ValidatorLimits::default().validators_max)]
        validators_max: u32,
        /// The genesis's limit on one validator's voting power.
        #[arg(long, default_value_t = ValidatorLimits::default().voting_power_max)]
        voting_power_max: u64,
        /// The genesis's limit on all validators' voting power together.
        #[arg(long, default_value_t = ValidatorLimits::default().voting_power_total_max)]
        voting_power_total_max: u64,
        /// How long a member-key recovery waits, in seconds of block time
        /// (5 s to 30 days; default 24 hours), written into the genesis.
        #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(5..=2_592_000))]
        recovery_wait_secs: u64,
    },
    /// Create a local cooperative city, start its nodes and drive demo traffic.
    Up(up::UpArgs),
    /// Fault-injection run from a manifest, with checks afterwards.
    Run(run::RunArgs),
}

pub async fn run(cmd: TestnetCommand) -> Result<i32> {
    match cmd {
        TestnetCommand::Init {
            dir,
            validators,
            observers,
            window_secs,
            validators_max,
            voting_power_max,
            voting_power_total_max,
            recovery_wait_secs,
        } => {
            let rules = layout::GenesisRules {
                settlement: SettlementSchedule::every(window_secs.saturating_mul(1_000)),
                validator_limits: ValidatorLimits {
                    validators_max,
                    voting_power_max,
                    voting_power_total_max,
                },
                recovery_wait_ms: recovery_wait_secs.saturating_mul(1_000),
                ..layout::GenesisRules::default()
            };
            let layout =
                layout::init_with(&dir, validators, observers, &vec![1; validators], rules)?;
            if crate::output::json() {
                let nodes: Vec<serde_json::Value> = layout
                    .nodes
                    .iter()
                    .map(|node| {
                        serde_json::json!({"id": node.id, "role": node.role,
                            "api_url": node.api_url, "home": node.home.display().to_string()})
                    })
                    .collect();
                crate::output::print_json(&serde_json::json!({
                    "nodes": nodes,
                    "layout": dir.join("testnet.json").display().to_string(),
                }));
                return Ok(0);
            }
            for node in &layout.nodes {
                say!(
                    "{:<10} {:<20} {}  {}",
                    node.role,
                    node.id,
                    node.api_url,
                    node.home.display()
                );
            }
            say!("wrote {}", dir.join("testnet.json").display());
            Ok(0)
        }
        TestnetCommand::Up(args) => up::up(args).await,
        TestnetCommand::Run(args) => run::run_manifest(args).await,
    }
}
