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
mod completions;
#[cfg(test)]
mod conventions;
mod coop;
mod directory;
mod keys;
mod manual;
mod node;
mod node_backup;
mod node_init;
mod node_join;
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
use std::sync::LazyLock;

/// The environment variable that stands for `--node URL` (a node's API)
/// wherever a command takes it; `--node` wins over it.
pub const NODE_ENV: &str = "KOPNET_NODE";
/// The environment variable that stands for `--key FILE` (the signing key
/// file of the person at the keyboard: a member's, a cooperative's, a
/// teller's or a regulator's) wherever a command takes it. Never for a
/// node's own keys (`node init --key`) nor where `--key` is an address.
pub const KEY_ENV: &str = "KOPNET_KEY";

/// `kopnet --version`: the release, the newest protocol version this build
/// speaks (`kopnet_node::upgrade::PROTOCOL_VERSION`, README "Operating a
/// node: upgrades") and the commit it was built from (`build.rs`:
/// `git rev-parse`, or `KOPNET_GIT_COMMIT`, else `unknown`).
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (protocol {}, commit {})",
        env!("CARGO_PKG_VERSION"),
        kopnet_node::upgrade::PROTOCOL_VERSION,
        env!("KOPNET_GIT_COMMIT")
    )
});

/// kopnet: the cooperative city ledger network.
#[derive(Debug, Parser)]
#[command(name = "kopnet", version = VERSION.as_str(), about, propagate_version = true)]
pub struct Cli {
    /// Output format: `text` for people, `json` for scripts (one JSON value
    /// on stdout, every other line on stderr).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command to a folder.
    Man(manual::ManArgs),
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

pub async fn dispatch(cli: Cli) -> Result<i32> {
    crate::output::set_format(cli.output);
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
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => manual::run(args),
    }
}

/// Commands whose output is a file of its own kind (a completion script,
/// roff) have no JSON form: `--output json` there is refused rather than
/// ignored.
fn refuse_json(command: &str, what: &str) -> Result<()> {
    if crate::output::json() {
        anyhow::bail!("`kopnet {command}` prints {what}: --output json does not apply");
    }
    Ok(())
}
