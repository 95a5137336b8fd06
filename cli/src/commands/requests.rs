//! `kopnet wallet request|requests|pay-request|decline-request|cancel-request`:
//! payment requests (rules in `kopnet_ledger::payment_requests`).
//!
//! A merchant, an angkot driver or a member asks a member for a payment
//! (`request --to ADDRESS`) or shows a dynamic QR code anyone may pay once
//! (`request` without `--to`); the payer lists the requests addressed to it
//! (`requests`) and pays (`pay-request`, which names the amount it agrees
//! to) or declines one. A request is named by its requester's address and
//! an id (16 random bytes, in hex) the requester's wallet picks. Its expiry
//! is given as a duration from now (`--expires 24h`, at most 7 days): block
//! times follow the validators' clocks, so "now" is the wall clock.

use super::wallet::WalletOpts;
use crate::amount;
use crate::output::{print_json, OutputFormat};
use crate::sender::{parse_address, Sender};
use anyhow::{anyhow, Result};
use kopnet_ledger::payment_requests::RequestId;
use kopnet_ledger::Action;

/// A request id from its 32 hex digits.
pub fn parse_id(text: &str) -> Result<RequestId> {
    let bytes = hex::decode(text.trim()).map_err(|_| anyhow!("invalid request id {text:?}"))?;
    RequestId::try_from(bytes.as_slice())
        .map_err(|_| anyhow!("a request id is 32 hex digits, got {text:?}"))
}

/// Whom a request asks.
#[derive(Debug)]
pub enum Payer {
    /// A member by address.
    Address(String),
    /// A member by the phone number it linked at its home cooperative:
    /// looked up through this wallet's node, its masked name confirmed
    /// (unless `yes`); the request on the ledger names the address (a phone
    /// number is never on the ledger).
    Phone { phone: String, yes: bool },
    /// Anyone who scans the dynamic QR code, once.
    Anyone,
}

/// Ask for a payment; prints the request's id (what the payer names).
pub async fn request(
    wallet: &WalletOpts,
    payer: Payer,
    text: &str,
    reference: String,
    expires: &str,
    no_wait: bool,
) -> Result<i32> {
    kopnet_ledger::payment_requests::check_format(amount::parse(text)?, &reference)
        .map_err(|e| anyhow!("{e}"))?;
    let payer = match payer {
        Payer::Address(to) => Some(parse_address(&to)?),
        Payer::Anyone => None,
        Payer::Phone { phone, yes } => {
            let found = super::directory::resolve(wallet, &phone).await?;
            say!(
                "ask {} ({}, {}) for {}",
                found.masked_name,
                found.address,
                found.cooperative,
                amount::format(amount::parse(text)?)
            );
            if !super::directory::confirmed(yes)? {
                say!("not asked");
                return Ok(1);
            }
            Some(parse_address(&found.address)?)
        }
    };
    let lifetime = super::coop::parse_duration_ms(expires)?;
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| anyhow!("the clock is before 1970"))?
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    let id: RequestId = rand::random();
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let action = Action::RequestPayment {
        id,
        payer,
        amount: amount::parse(text)?,
        reference,
        expires_at_ms: now_ms.saturating_add(lifetime),
    };
    say!("request {} by {}", hex::encode(id), sender.address());
    let sent = sender.send_checked(action, !no_wait).await?;
    if crate::output::json() {
        let mut value = sent.to_json();
        value["request"] =
            serde_json::json!({"id": hex::encode(id), "requester": sender.address()});
        print_json(&value);
    }
    Ok(0)
}

/// The requests addressed to this wallet and the ones it made.
pub async fn list(wallet: &WalletOpts, output: OutputFormat) -> Result<i32> {
    let sender = Sender::open(&wallet.node, &wallet.key)?;
    let address = super::roles::account_address(&sender).await?;
    let body = sender
        .client
        .get(&format!("/v1/accounts/{}/requests", address.to_address()))
        .await?;
    match output {
        OutputFormat::Json => print_json(&body),
        OutputFormat::Text => {
            for (title, list) in [("to pay", "to_pay"), ("requested", "requested")] {
                say!("{title}:");
                for r in body[list].as_array().into_iter().flatten() {
                    say!(
                        "  {}  {:>14}  {:<9}  from {}  id {}  {}",
                        r["expires_at_ms"],
                        r["amount"].as_u64().map(amount::format).unwrap_or_default(),
                        r["status"].as_str().unwrap_or("?"),
                        r["requester"].as_str().unwrap_or("?"),
                        r["id"].as_str().unwrap_or("?"),
                        r["reference"].as_str().unwrap_or(""),
                    );
                }
            }
        }
    }
    Ok(0)
}

/// Pay request `(requester, id)` of `amount` (the amount must be the
/// request's: the ledger refuses another).
pub async fn pay(
    wallet: &WalletOpts,
    requester: &str,
    id: &str,
    text: &str,
    no_wait: bool,
) -> Result<i32> {
    let action = Action::PayRequest {
        requester: parse_address(requester)?,
        id: parse_id(id)?,
        amount: amount::parse(text)?,
    };
    Sender::open(&wallet.node, &wallet.key)?
        .send_and_report(action, !no_wait)
        .await
}

pub async fn decline(wallet: &WalletOpts, requester: &str, id: &str, no_wait: bool) -> Result<i32> {
    let action = Action::DeclineRequest {
        requester: parse_address(requester)?,
        id: parse_id(id)?,
    };
    Sender::open(&wallet.node, &wallet.key)?
        .send_and_report(action, !no_wait)
        .await
}

pub async fn cancel(wallet: &WalletOpts, id: &str, no_wait: bool) -> Result<i32> {
    let action = Action::CancelRequest { id: parse_id(id)? };
    Sender::open(&wallet.node, &wallet.key)?
        .send_and_report(action, !no_wait)
        .await
}

/// Refund all or part of the payment to a merchant `payment` (its
/// transaction hash) to its payer: signed by the merchant (`kopnet wallet
/// refund`) or its home cooperative's key or teller (`kopnet coop refund`);
/// the payment's fees are reversed in proportion.
pub async fn refund(
    node: &str,
    key: &std::path::Path,
    payment: &str,
    text: &str,
    memo: String,
    no_wait: bool,
) -> Result<i32> {
    if memo.len() > kopnet_ledger::tx::MEMO_BYTES_MAX {
        anyhow::bail!("--memo: at most 64 bytes");
    }
    let action = Action::Refund {
        payment: kopnet_consensus::Hash::from_hex(payment.trim())
            .map_err(|_| anyhow!("invalid payment hash {payment:?}: 64 hex digits"))?,
        amount: amount::parse(text)?,
        memo,
    };
    Sender::open(node, key)?
        .send_and_report(action, !no_wait)
        .await
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_are_32_hex_digits() {
        assert_eq!(parse_id(&"ab".repeat(16)).unwrap(), [0xab; 16]);
        for bad in ["", "ab", &"ab".repeat(17), &"zz".repeat(16)] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }
}
