//! `kopnet wallet ...`: a member's wallet.

use crate::amount;
use crate::output::{print_json, OutputFormat};
use crate::sender::{parse_address, Sender};
use anyhow::{Context, Result};
use clap::Subcommand;
use kopnet_consensus::Keypair;
use kopnet_ledger::{Action, CoopId};
use kopnet_node::keyfile;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct WalletOpts {
    /// The member's key file.
    #[arg(long, env = super::KEY_ENV)]
    pub key: PathBuf,
    /// The node's API URL.
    #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a new wallet key file and print its address.
    New {
        /// Where to write the key file (must not exist yet; mode 0600).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show balance, home cooperative and status.
    Balance {
        #[command(flatten)]
        wallet: WalletOpts,
    },
    /// Pay a member or merchant (by address, by phone number, or by a
    /// scanned QR payload).
    Pay {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The payee's address (`kop...`).
        #[arg(
            long,
            required_unless_present_any = ["to_phone", "qr"],
            conflicts_with_all = ["to_phone", "qr"]
        )]
        to: Option<String>,
        /// Pay the member who linked this phone number (looked up, its
        /// masked name shown for confirmation).
        #[arg(long, conflicts_with = "qr")]
        to_phone: Option<String>,
        /// Pay a payment-request QR payload (an address or a phone alias;
        /// its amount and reference are used).
        #[arg(long)]
        qr: Option<String>,
        /// With --to-phone or --qr: pay without asking for confirmation.
        #[arg(long)]
        yes: bool,
        /// 25000, 25.000 or Rp25.000 (with --qr: only for a code without
        /// an amount, or the code's own amount).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        /// A note the payee sees (at most 64 bytes).
        #[arg(long, default_value = "")]
        memo: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Whose is a phone number: masked name, address, home cooperative.
    Lookup {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The phone number (08…, 628… or +628…).
        #[arg(long)]
        phone: String,
    },
    /// Withdraw cash at a cooperative's counter.
    CashOut {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The cooperative whose counter pays out.
        #[arg(long)]
        agent: String,
        /// Amount: `25000`, `25.000` or `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Recent transactions, newest first.
    History {
        #[command(flatten)]
        wallet: WalletOpts,
        /// How many transactions (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Replace the account's key at once (signed by the current key); the
    /// old key is refused afterwards.
    Rotate {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The new key's file (from `kopnet wallet new`) or its address.
        #[arg(long)]
        new_key: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Cancel a pending recovery of this account (a recovery you did not ask for).
    CancelRecovery {
        #[command(flatten)]
        wallet: WalletOpts,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Print a QR payload that pays this wallet (by address, or by its
    /// linked phone number).
    Qr(super::qr::MakeArgs),
    /// Ask a member for a payment (`--to` or `--to-phone`), or make a
    /// dynamic QR request anyone may pay once (neither); prints the
    /// request's id.
    Request {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The payer's address; leave out for a dynamic QR code.
        #[arg(long, conflicts_with = "to_phone")]
        to: Option<String>,
        /// The payer's phone number (looked up, its masked name shown for
        /// confirmation; the request names the address it resolves to).
        #[arg(long)]
        to_phone: Option<String>,
        /// With --to-phone: ask without confirmation.
        #[arg(long)]
        yes: bool,
        /// Amount: `25000`, `25.000` or `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// What the payer sees (at most 64 bytes).
        #[arg(long, default_value = "")]
        reference: String,
        /// How long the request stays open: `30m`, `24h`, up to `7d`.
        #[arg(long, default_value = "24h")]
        expires: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// The payment requests addressed to this wallet and those it made.
    Requests {
        #[command(flatten)]
        wallet: WalletOpts,
    },
    /// Pay a request (its amount must be the one requested).
    PayRequest {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The requester's address.
        #[arg(long)]
        requester: String,
        /// The request's id (32 hex digits).
        #[arg(long)]
        id: String,
        /// The amount requested (the ledger refuses another).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Decline a request addressed to this wallet.
    DeclineRequest {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The requester's address.
        #[arg(long)]
        requester: String,
        /// The request's id (32 hex digits).
        #[arg(long)]
        id: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Cancel an open request this wallet made.
    CancelRequest {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The request's id (32 hex digits).
        #[arg(long)]
        id: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Refund all or part of a payment this merchant received (within the
    /// refund period; its fees come back in proportion).
    Refund {
        #[command(flatten)]
        wallet: WalletOpts,
        /// The payment's transaction hash.
        #[arg(long)]
        payment: String,
        /// How much to refund (at most what is left of the payment).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// A note the payer sees (at most 64 bytes).
        #[arg(long, default_value = "")]
        memo: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Follow committed blocks and print payments to this wallet as they land.
    Watch {
        #[command(flatten)]
        wallet: WalletOpts,
    },
}

pub async fn run(cmd: WalletCommand) -> Result<i32> {
    match cmd {
        WalletCommand::New { out } => new_wallet(&out),
        WalletCommand::Balance { wallet } => balance(&wallet, crate::output::format()).await,
        WalletCommand::Pay {
            wallet,
            to,
            to_phone,
            qr,
            yes,
            amount,
            memo,
            no_wait,
        } => {
            let need_amount = || amount.clone().context("--amount is required");
            match (to, to_phone, qr) {
                (Some(to), None, None) => pay(&wallet, &to, &need_amount()?, memo, no_wait).await,
                (None, Some(phone), None) => {
                    super::directory::pay_to_phone(
                        &wallet,
                        &phone,
                        &need_amount()?,
                        memo,
                        no_wait,
                        yes,
                    )
                    .await
                }
                (None, None, Some(payload)) => {
                    let args = super::qr::PayQr {
                        payload: &payload,
                        amount: amount.as_deref(),
                        memo,
                        no_wait,
                        yes,
                    };
                    super::qr::pay(&wallet, args).await
                }
                _ => anyhow::bail!("give exactly one of --to, --to-phone and --qr"),
            }
        }
        WalletCommand::Qr(args) => super::qr::make(args).await,
        WalletCommand::Lookup { wallet, phone } => {
            super::directory::lookup(&wallet, &phone, crate::output::format()).await
        }
        WalletCommand::CashOut {
            wallet,
            agent,
            amount: text,
            no_wait,
        } => cash_out(&wallet, &agent, &text, no_wait).await,
        WalletCommand::History { wallet, limit } => {
            history(&wallet, limit, crate::output::format()).await
        }
        WalletCommand::Watch { wallet } => {
            let sender = Sender::open(&wallet.node, &wallet.key)?;
            let address = super::roles::account_address(&sender).await?.to_address();
            super::watch::run(&sender.client, &address, crate::output::format()).await
        }
        WalletCommand::Rotate {
            wallet,
            new_key,
            no_wait,
        } => super::roles::rotate(&wallet, &new_key, no_wait).await,
        WalletCommand::CancelRecovery { wallet, no_wait } => {
            super::roles::wallet_cancel(&wallet, no_wait).await
        }
        WalletCommand::Request {
            wallet,
            to,
            to_phone,
            yes,
            amount: text,
            reference,
            expires,
            no_wait,
        } => {
            let payer = match (to, to_phone) {
                (Some(to), _) => super::requests::Payer::Address(to),
                (None, Some(phone)) => super::requests::Payer::Phone { phone, yes },
                (None, None) => super::requests::Payer::Anyone,
            };
            super::requests::request(&wallet, payer, &text, reference, &expires, no_wait).await
        }
        WalletCommand::Requests { wallet } => {
            super::requests::list(&wallet, crate::output::format()).await
        }
        WalletCommand::PayRequest {
            wallet,
            requester,
            id,
            amount: text,
            no_wait,
        } => super::requests::pay(&wallet, &requester, &id, &text, no_wait).await,
        WalletCommand::DeclineRequest {
            wallet,
            requester,
            id,
            no_wait,
        } => super::requests::decline(&wallet, &requester, &id, no_wait).await,
        WalletCommand::CancelRequest {
            wallet,
            id,
            no_wait,
        } => super::requests::cancel(&wallet, &id, no_wait).await,
        WalletCommand::Refund {
            wallet,
            payment,
            amount: text,
            memo,
            no_wait,
        } => {
            super::requests::refund(&wallet.node, &wallet.key, &payment, &text, memo, no_wait).await
        }
    }
}

/// A new key in `out` (never overwriting a file); prints its address.
fn new_wallet(out: &Path) -> Result<i32> {
    let key = Keypair::generate(&mut rand::rngs::OsRng);
    keyfile::write_new(out, &key)?;
    super::keys::print_address(&key.public().to_address(), Some(out));
    Ok(0)
}

/// The account's balance, home cooperative, kind, status and cap.
async fn balance(wallet: &WalletOpts, output: OutputFormat) -> Result<i32> {
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let address = super::roles::account_address(&sender).await?;
    let account = sender.client.account(&address).await?;
    match output {
        OutputFormat::Json => print_json(&account),
        OutputFormat::Text => {
            let balance = account["balance"].as_u64().unwrap_or(0);
            say!("{}  {}", address.to_address(), amount::format(balance));
            say!(
                "home {}  kind {}  status {}  cap {}",
                account["home"].as_str().unwrap_or("?"),
                account["kind"].as_str().unwrap_or("?"),
                account["status"].as_str().unwrap_or("?"),
                amount::format(account["balance_cap"].as_u64().unwrap_or(0))
            );
            let headroom = match account["monthly_headroom"].as_u64() {
                Some(left) => format!("{} left to receive this month", amount::format(left)),
                None => "no monthly limit".to_string(),
            };
            say!(
                "tier {}  {headroom}{}",
                account["tier"].as_str().unwrap_or("?"),
                match account["may_transfer"].as_bool() {
                    Some(false) =>
                        "  (pays merchants only, no cash out: register at your cooperative)",
                    _ => "",
                }
            );
            let recovery = &account["recovery"];
            if !recovery.is_null() {
                say!(
                    "WARNING: cooperative {} started a recovery of this account: key {} takes \
                     over at block time {} ms. If you did not ask for it, run \
                     `kopnet wallet cancel-recovery` now and go to your cooperative.",
                    recovery["started_by"]["cooperative"]
                        .as_str()
                        .unwrap_or("?"),
                    recovery["new_key"].as_str().unwrap_or("?"),
                    recovery["effective_ms"]
                );
            }
        }
    }
    Ok(0)
}

/// Pay `to`, with a fresh random idempotency id.
async fn pay(
    wallet: &WalletOpts,
    to: &str,
    text: &str,
    memo: String,
    no_wait: bool,
) -> Result<i32> {
    let to = parse_address(to)?;
    let value = amount::parse(text)?;
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let action = Action::Payment {
        to,
        amount: value,
        memo,
        idempotency_id: rand::random(),
    };
    sender.send_and_report(action, !no_wait).await
}

/// Withdraw cash at `agent`'s counter.
async fn cash_out(wallet: &WalletOpts, agent: &str, text: &str, no_wait: bool) -> Result<i32> {
    let agent = CoopId::new(agent)?;
    let value = amount::parse(text)?;
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    sender
        .send_and_report(
            Action::CashOut {
                agent,
                amount: value,
            },
            !no_wait,
        )
        .await
}

/// The last `limit` (1 to 100) transactions, newest first.
async fn history(wallet: &WalletOpts, limit: usize, output: OutputFormat) -> Result<i32> {
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let address = super::roles::account_address(&sender).await?;
    let path = format!(
        "/v1/accounts/{}/history?limit={}",
        address.to_address(),
        limit.clamp(1, 100)
    );
    let history = sender.client.get(&path).await?;
    match output {
        OutputFormat::Json => print_json(&history),
        OutputFormat::Text => {
            for item in history["items"].as_array().into_iter().flatten() {
                say!(
                    "{:>7}  {:<24} {:>14}  {}  {}",
                    item["height"],
                    item["kind"].as_str().unwrap_or("?"),
                    item["amount"]
                        .as_u64()
                        .map(amount::format)
                        .unwrap_or_default(),
                    item["result"]["code"].as_str().unwrap_or("?"),
                    item["hash"].as_str().unwrap_or("?"),
                );
            }
        }
    }
    Ok(0)
}
