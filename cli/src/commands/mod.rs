//! Command-line definitions and dispatch.
//!
//! The product commands (node, keys, coop, wallet, audit, settlement,
//! status, proposals, watch) stand on `kopnet-node` and its API client only.
//! `bench` and `testnet` (in [`crate::testnet`]) are the test rig's
//! commands: they alone use `kopnet-testnet`.

mod audit;
mod audit_index;
mod audit_report;
mod bench;
mod coop;
mod directory;
mod keys;
mod node;
mod node_backup;
mod node_state_sync;
mod observer;
mod payout;
mod proposals;
mod qr;
mod requests;
mod roles;
mod settlement;
mod status;
mod wallet;
mod watch;

use crate::output::OutputFormat;
use anyhow::Result;
use clap::{Parser, Subcommand};

/// kopnet: the cooperative city ledger network.
#[derive(Debug, Parser)]
#[command(name = "kopnet", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and show key files.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Set up and run a node.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Run a local cooperative-city network.
    #[command(subcommand)]
    Testnet(crate::testnet::TestnetCommand),
    /// Show a node's status.
    Status(status::StatusArgs),
    /// A member's wallet.
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// A cooperative's teller desk and governance.
    #[command(subcommand)]
    Coop(coop::CoopCommand),
    /// A regulator's observer: its own key.
    #[command(subcommand)]
    Observer(observer::ObserverCommand),
    /// Regulator's audit.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Settlement reports.
    #[command(subcommand)]
    Settlement(SettlementCommand),
    /// Measure throughput, latency and resource use of a local network.
    Bench(bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Replay every block from genesis and verify certificates, signatures and state roots.
    Verify(audit::VerifyArgs),
    /// The Indeks Kota Koperasi: members, activity, growth, cross-cooperative business, fees and cash-outs per cooperative and for the city, ranked.
    Index(audit_index::IndexArgs),
    /// The regulator's desk (on an observer): cash transactions at or above
    /// the reporting threshold, flags for review, cooperatives' statements.
    Report(audit_report::ReportArgs),
}

#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// Per-cooperative gross flows, fees, net position and NDC headroom.
    Report(settlement::ReportArgs),
}

/// Options shared by commands that read.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub async fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Node(cmd) => node::run(cmd).await,
        Command::Testnet(cmd) => crate::testnet::run(cmd).await,
        Command::Status(args) => status::run(args).await,
        Command::Wallet(cmd) => wallet::run(cmd).await,
        Command::Coop(cmd) => coop::run(cmd).await,
        Command::Observer(cmd) => observer::run(cmd).await,
        Command::Audit(AuditCommand::Verify(args)) => audit::verify(args).await,
        Command::Audit(AuditCommand::Index(args)) => audit_index::run(args).await,
        Command::Audit(AuditCommand::Report(args)) => audit_report::run(args).await,
        Command::Settlement(SettlementCommand::Report(args)) => settlement::report(args).await,
        Command::Bench(args) => bench::run(args).await,
    }
}
