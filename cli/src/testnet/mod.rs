//! `kopnet testnet init|up|run`: local networks for trying kopnet out and
//! for fault injection. These commands drive the test rig (`kopnet-testnet`:
//! the on-disk layout, child node processes, the load driver, the fault
//! runner); the product commands in [`crate::commands`] never reach in here.

mod run;
mod summary;
mod up;

use anyhow::Result;
use clap::Subcommand;
use kopnet_testnet::cluster::layout;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Write keys, genesis and node homes without starting anything.
    Init {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long, default_value_t = 1)]
        observers: usize,
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
        } => {
            let layout = layout::init(&dir, validators, observers)?;
            for node in &layout.nodes {
                println!(
                    "{:<10} {:<20} {}  {}",
                    node.role,
                    node.id,
                    node.api_url,
                    node.home.display()
                );
            }
            println!("wrote {}", dir.join("testnet.json").display());
            Ok(0)
        }
        TestnetCommand::Up(args) => up::up(args).await,
        TestnetCommand::Run(args) => run::run_manifest(args).await,
    }
}
