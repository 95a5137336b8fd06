//! The phone-number directory from the command line:
//! `kopnet coop member-info` / `coop unlink-phone` (a cooperative or
//! teller key, at the member's home node), `kopnet wallet lookup` and
//! `kopnet wallet pay --to-phone` (a member wallet, at its own node).
//! Personal data goes only to the member's home node
//! (`kopnet_node::personal`); a lookup shows only a masked name.

use super::wallet::WalletOpts;
use crate::amount;
use crate::output::{print_json, OutputFormat};
use crate::sender::{parse_address, Sender};
use anyhow::{bail, Result};
use kopnet_ledger::Action;
use kopnet_node::api::client::Client;
use kopnet_node::api::directory_client::DirectoryClient;
use kopnet_node::keyfile;
use std::io::{BufRead, Read};
use std::path::PathBuf;

/// A cooperative's (or teller's) signed access to its node's directory.
#[derive(Debug, clap::Args)]
pub struct DeskOpts {
    /// The cooperative's key file, or one of its tellers'.
    #[arg(long, env = super::KEY_ENV)]
    pub key: PathBuf,
    /// The cooperative's own node's API URL.
    #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
}

/// `kopnet coop member-info`'s arguments.
#[derive(Debug, clap::Args)]
pub struct MemberInfoArgs {
    #[command(flatten)]
    pub desk: DeskOpts,
    /// The member's address.
    #[arg(long)]
    pub member: String,
    /// The member's name.
    #[arg(long)]
    pub name: String,
    /// The member's mobile number (08…, 628… or +628…), for pay-by-phone.
    #[arg(long)]
    pub phone: Option<String>,
    /// The member's identity number (NIK, 16 digits).
    #[arg(long)]
    pub nik: Option<String>,
}

/// `kopnet coop unlink-phone`'s arguments.
#[derive(Debug, clap::Args)]
pub struct UnlinkArgs {
    #[command(flatten)]
    pub desk: DeskOpts,
    /// The member's address.
    #[arg(long)]
    pub member: String,
    /// Erase the member's whole record, not only the phone link.
    #[arg(long)]
    pub erase: bool,
}

async fn desk_client(desk: &DeskOpts) -> Result<DirectoryClient> {
    let key = keyfile::read(&desk.key)?;
    Ok(DirectoryClient::connect(&desk.node, key).await?)
}

/// Record (or replace) a member's personal data at its home node.
pub async fn member_info(args: MemberInfoArgs) -> Result<i32> {
    let member = parse_address(&args.member)?;
    let client = desk_client(&args.desk).await?;
    let record = client
        .put_member(
            &member,
            &args.name,
            args.phone.as_deref(),
            args.nik.as_deref(),
        )
        .await?;
    match crate::output::format() {
        OutputFormat::Json => print_json(&record),
        OutputFormat::Text => say!(
            "{}  {}  phone {}",
            args.member,
            record["name"].as_str().unwrap_or("?"),
            record["phone"].as_str().unwrap_or("(none)")
        ),
    }
    Ok(0)
}

/// After `coop register-member` committed: keep the new member's personal
/// data at the node, when given.
pub async fn record_after_registration(
    node: &str,
    key: &std::path::Path,
    member: &str,
    name: &str,
    phone: Option<&str>,
    nik: Option<&str>,
) -> Result<()> {
    let member = parse_address(member)?;
    let client = DirectoryClient::connect(node, keyfile::read(key)?).await?;
    client.put_member(&member, name, phone, nik).await?;
    say!("personal data kept at the home node");
    Ok(())
}

/// Unlink a member's phone (or erase the whole record).
pub async fn unlink(args: UnlinkArgs) -> Result<i32> {
    let member = parse_address(&args.member)?;
    let client = desk_client(&args.desk).await?;
    let done = if args.erase {
        client.erase(&member).await?;
        "erased"
    } else {
        client.unlink_phone(&member).await?;
        "phone_unlinked"
    };
    if crate::output::json() {
        print_json(&serde_json::json!({"member": args.member, "done": done}));
    } else if args.erase {
        say!("{}: personal data erased", args.member);
    } else {
        say!("{}: phone unlinked", args.member);
    }
    Ok(0)
}

/// Whose a phone number is, as the directory answered: the address, the
/// masked name ("Sri W***") and the home cooperative.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub address: String,
    pub masked_name: String,
    pub cooperative: String,
}

/// Look `phone` up through the wallet's own node (which asks the
/// member's home node over the nodes' network).
pub async fn resolve(wallet: &WalletOpts, phone: &str) -> Result<Resolved> {
    let key = keyfile::read(&wallet.key)?;
    let client = DirectoryClient::connect(&wallet.node, key).await?;
    let found = client.lookup(phone).await?;
    let text = |field: &str| -> Result<String> {
        match found[field].as_str() {
            Some(v) => Ok(v.to_string()),
            None => bail!("the node's lookup answer has no {field}"),
        }
    };
    Ok(Resolved {
        address: text("address")?,
        masked_name: text("masked_name")?,
        cooperative: text("cooperative")?,
    })
}

/// `kopnet wallet lookup --phone P`.
pub async fn lookup(wallet: &WalletOpts, phone: &str, output: OutputFormat) -> Result<i32> {
    let Resolved {
        address,
        masked_name,
        cooperative,
    } = resolve(wallet, phone).await?;
    match output {
        OutputFormat::Json => print_json(&serde_json::json!({
            "address": address, "masked_name": masked_name, "cooperative": cooperative,
        })),
        OutputFormat::Text => say!("{masked_name}  {address}  {cooperative}"),
    }
    Ok(0)
}

/// `kopnet wallet pay --to-phone P`: look up, show the masked name, ask
/// (unless `yes`), pay the address.
pub async fn pay_to_phone(
    wallet: &WalletOpts,
    phone: &str,
    text: &str,
    memo: String,
    no_wait: bool,
    yes: bool,
) -> Result<i32> {
    let value = amount::parse(text)?;
    let to = resolve(wallet, phone).await?;
    pay_resolved(wallet, &to, value, memo, no_wait, yes).await
}

/// Show who `to` is, ask (unless `yes`), and pay `value` to its address.
pub async fn pay_resolved(
    wallet: &WalletOpts,
    to: &Resolved,
    value: u64,
    memo: String,
    no_wait: bool,
    yes: bool,
) -> Result<i32> {
    say!(
        "pay {} to {} ({}, {})",
        amount::format(value),
        to.masked_name,
        to.address,
        to.cooperative
    );
    if !confirmed(yes)? {
        say!("not paid");
        return Ok(1);
    }
    // Signed reads (its nonce is the holder's to read).
    let key = keyfile::read(&wallet.key)?;
    let sender = Sender {
        client: Client::signed(&wallet.node, key.clone()),
        key,
    };
    let action = Action::Payment {
        to: parse_address(&to.address)?,
        amount: value,
        memo,
        idempotency_id: rand::random(),
    };
    sender.send_and_report(action, !no_wait).await
}

/// Most bytes read for the answer to "pay?".
const ANSWER_BYTES_MAX: u64 = 64;

/// Whether the person at the keyboard says the payee is right (`yes`
/// answers for them).
pub fn confirmed(yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    crate::output::write_human(format_args!("is this the right person? [y/N] "));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(ANSWER_BYTES_MAX)
        .read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "ya"))
}
