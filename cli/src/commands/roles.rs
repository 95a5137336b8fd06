//! Tellers and members' keys on the command line:
//!
//! * `kopnet coop teller add|remove` (signed with the cooperative key) and
//!   `kopnet coop tellers` (read from `GET /v1/cooperatives/{id}/tellers`);
//! * `kopnet coop recover-member` / `kopnet coop cancel-recovery` (the
//!   cooperative key or a teller's key of the member's home cooperative);
//! * `kopnet wallet rotate` / `kopnet wallet cancel-recovery` (the
//!   account's current key).
//!
//! A teller uses the ordinary counter commands (`coop register-member`,
//! `mint`, `burn`, `cash-in`) with `--key teller.key`: the node tells the
//! CLI which cooperative the key works for, and the ledger holds it to
//! that cooperative's counter and its daily limit.

use super::coop::CoopOpts;
use super::wallet::WalletOpts;
use crate::amount;
use crate::output::{print_json, OutputFormat};
use crate::sender::{coop_of, parse_address, Sender};
use anyhow::{bail, Result};
use clap::Subcommand;
use kopnet_consensus::PublicKey;
use kopnet_ledger::{Action, CoopId};
use kopnet_node::api::client::Client;
use kopnet_node::keyfile;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum TellerCommand {
    /// Register a teller key for this cooperative's counter (cooperative key only).
    Add {
        #[command(flatten)]
        coop: CoopOpts,
        /// The teller key's address (`kop...`, from `kopnet keys new`).
        #[arg(long)]
        teller: String,
        /// The teller's name, shown in history and the explorer (1-64 bytes).
        #[arg(long)]
        name: String,
        /// Most rupiah of mint, burn and cash-in per day (WIB), e.g.
        /// `Rp5.000.000`; no limit when left out.
        #[arg(long, allow_hyphen_values = true)]
        daily_limit: Option<String>,
    },
    /// Retire a teller key for good (cooperative key only).
    Remove {
        #[command(flatten)]
        coop: CoopOpts,
        /// The teller key's address.
        #[arg(long)]
        teller: String,
    },
}

pub async fn teller(cmd: TellerCommand) -> Result<i32> {
    match cmd {
        TellerCommand::Add {
            coop,
            teller,
            name,
            daily_limit,
        } => {
            let daily_limit = daily_limit.as_deref().map(amount::parse).transpose()?;
            let action = Action::AddTeller {
                teller: parse_address(&teller)?,
                name,
                daily_limit,
            };
            send(&coop, action).await
        }
        TellerCommand::Remove { coop, teller } => {
            let action = Action::RemoveTeller {
                teller: parse_address(&teller)?,
            };
            send(&coop, action).await
        }
    }
}

async fn send(coop: &CoopOpts, action: Action) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    sender.send_and_report(action, !coop.no_wait).await
}

/// `kopnet coop tellers`: the cooperative named, or the one `key` works for.
pub async fn list(
    node: &str,
    cooperative: Option<String>,
    key: Option<&Path>,
    output: OutputFormat,
) -> Result<i32> {
    let client = Client::new(node);
    let id = match (cooperative, key) {
        (Some(id), _) => CoopId::new(&id)?.to_string(),
        (None, Some(key)) => coop_of(&client, &keyfile::read(key)?.public()).await?,
        (None, None) => bail!("say which cooperative: --cooperative ID or --key FILE"),
    };
    let list = client
        .get(&format!("/v1/cooperatives/{id}/tellers"))
        .await?;
    match output {
        OutputFormat::Json => print_json(&list),
        OutputFormat::Text => {
            for t in list["tellers"].as_array().into_iter().flatten() {
                let limit = t["daily_limit"]
                    .as_u64()
                    .map_or("no limit".to_string(), amount::format);
                say!(
                    "{:<24} {}  {:<8} used today {} of {}",
                    t["name"].as_str().unwrap_or("?"),
                    t["address"].as_str().unwrap_or("?"),
                    if t["active"].as_bool() == Some(true) {
                        "active"
                    } else {
                        "removed"
                    },
                    amount::format(t["used_today"].as_u64().unwrap_or(0)),
                    limit
                );
            }
        }
    }
    Ok(0)
}

/// An address, or a key file whose public key is meant.
pub fn key_or_address(text: &str) -> Result<PublicKey> {
    let path = Path::new(text);
    if path.is_file() {
        return Ok(keyfile::read(path)?.public());
    }
    parse_address(text)
}

/// `kopnet coop recover-member`: start replacing a lost key.
pub async fn recover_member(coop: &CoopOpts, member: &str, new_key: &str) -> Result<i32> {
    let action = Action::StartRecovery {
        member: parse_address(member)?,
        new_key: key_or_address(new_key)?,
    };
    let sender = Sender::open(&coop.node, &coop.key)?;
    let sent = sender.send_checked(action, !coop.no_wait).await?;
    let mut effective_ms = None;
    if !coop.no_wait {
        let account = sender.client.account(&parse_address(member)?).await?;
        effective_ms = account["recovery"]["effective_ms"].as_u64();
        if let Some(at) = effective_ms {
            say!("the new key takes over at block time {at} ms, unless the old key cancels");
        }
    }
    if crate::output::json() {
        let mut value = sent.to_json();
        value["effective_ms"] = serde_json::Value::from(effective_ms);
        print_json(&value);
    }
    Ok(0)
}

/// `kopnet coop cancel-recovery`: withdraw a recovery of a member.
pub async fn coop_cancel(coop: &CoopOpts, member: &str) -> Result<i32> {
    let action = Action::CancelRecovery {
        member: parse_address(member)?,
    };
    send(coop, action).await
}

/// The address of the account the wallet's key signs for (the key's own
/// address until a rotation or recovery).
pub async fn account_address(sender: &Sender) -> Result<PublicKey> {
    let key = sender.key.public();
    match sender.client.signer(&key).await {
        Ok(signer) if signer["role"] == "member" => Ok(parse_address(
            signer["account"].as_str().unwrap_or_default(),
        )?),
        _ => Ok(key),
    }
}

/// `kopnet wallet rotate`: the account's key becomes `new_key` at once.
pub async fn rotate(wallet: &WalletOpts, new_key: &str, no_wait: bool) -> Result<i32> {
    let action = Action::RotateMemberKey {
        new_key: key_or_address(new_key)?,
    };
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let code = sender.send_and_report(action, !no_wait).await?;
    if !no_wait {
        say!(
            "{} no longer signs: from now on sign with the new key (the old one is refused: key_replaced)",
            sender.address()
        );
    }
    Ok(code)
}

/// `kopnet wallet cancel-recovery`: the current key cancels its account's
/// pending recovery.
pub async fn wallet_cancel(wallet: &WalletOpts, no_wait: bool) -> Result<i32> {
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let member = account_address(&sender).await?;
    sender
        .send_and_report(Action::CancelRecovery { member }, !no_wait)
        .await
}
