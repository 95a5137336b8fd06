//! `kopnet wallet watch`: money arriving in a wallet, as it lands.
//!
//! Follows the node's `/v1/events` stream as a wake-up: after each new
//! block it reads the account's own history (signed with the wallet key —
//! the stream shows a member no one's transactions, its own included) from
//! the last height it printed. When the stream breaks (node restarted,
//! network hiccup) or ends (the subscriber lagged), it reconnects with a
//! growing pause and first reads the history it missed, so no incoming
//! payment goes unprinted. One line per credit,
//! or one JSON object per line with `--output json`.

use crate::amount;
use crate::output::OutputFormat;
use anyhow::{Context, Result};
use kopnet_node::api::client::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// History entries read per catch-up request.
const HISTORY_PAGE: usize = 100;
/// Longest pause between reconnection attempts.
const RECONNECT_PAUSE_MAX: Duration = Duration::from_secs(10);
/// Largest partial event kept while reading the stream.
const EVENT_BYTES_MAX: usize = 1 << 20;

/// Follow `client` for credits to `address` until interrupted.
pub async fn run(client: &Client, address: &str, output: OutputFormat) -> Result<i32> {
    let status = client.status().await?;
    let mut next = status["height"].as_u64().context("status has no height")? + 1;
    eprintln!("watching {address} from height {next} (Ctrl-C to stop)");
    let mut pause = Duration::from_secs(1);
    loop {
        if let Err(e) = catch_up(client, address, &mut next, output).await {
            eprintln!("cannot read missed blocks: {e}");
        }
        match follow(client, address, &mut next, output, &mut pause).await {
            Ok(()) => eprintln!("event stream ended at height {}; reconnecting", next - 1),
            Err(e) => eprintln!("event stream: {e}; reconnecting in {} s", pause.as_secs()),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_PAUSE_MAX);
    }
}

/// Print the credits to `address` at heights `next..` from the account's
/// own history (a signed read: the wallet's key may read its account;
/// the event stream carries no transactions for it, see the node's
/// `api::access`), oldest first, and move `next` past the newest block.
async fn catch_up(
    client: &Client,
    address: &str,
    next: &mut u64,
    output: OutputFormat,
) -> Result<()> {
    let top = client.status().await?["height"]
        .as_u64()
        .context("status has no height")?;
    let mut credits = Vec::new();
    let mut before: Option<String> = None;
    'pages: loop {
        let cursor = before
            .as_ref()
            .map_or(String::new(), |b| format!("&before={b}"));
        let page = client
            .get(&format!(
                "/v1/accounts/{address}/history?limit={HISTORY_PAGE}{cursor}"
            ))
            .await?;
        for tx in page["items"].as_array().into_iter().flatten() {
            match tx["height"].as_u64() {
                Some(h) if h >= *next && h <= top => credits.push(tx.clone()),
                Some(h) if h < *next => break 'pages,
                _ => {}
            }
        }
        match page["next_before"].as_str() {
            Some(cursor) => before = Some(cursor.to_string()),
            None => break,
        }
    }
    for tx in credits.iter().rev() {
        print_credit(tx, address, output);
    }
    *next = (*next).max(top + 1);
    Ok(())
}

/// Follow the event stream until it ends or breaks, reading the account's
/// history after each new block.
async fn follow(
    client: &Client,
    address: &str,
    next: &mut u64,
    output: OutputFormat,
    pause: &mut Duration,
) -> Result<()> {
    let mut response = client.event_stream().await?;
    *pause = Duration::from_secs(1);
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await.context("broke")? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.lines().any(|l| l.trim() == "event: dropped") {
                return Ok(()); // the stream ended: catch up, then follow again
            }
            let height = event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .and_then(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .and_then(|block| block["height"].as_u64());
            if height.is_some_and(|h| h >= *next) {
                catch_up(client, address, next, output).await?;
            }
        }
        if buffer.len() > EVENT_BYTES_MAX {
            buffer.clear();
        }
    }
    Ok(())
}

/// Print `tx` (a history entry) when it is an applied credit to `address`.
fn print_credit(tx: &Value, address: &str, output: OutputFormat) {
    if tx["to"].as_str() != Some(address) || tx["result"]["code"] != "ok" {
        return;
    }
    let amount = tx["amount"].as_u64().unwrap_or(0);
    match output {
        OutputFormat::Json => crate::output::print_json(&json!({
            "height": tx["height"], "hash": tx["hash"], "kind": tx["kind"],
            "amount": amount, "from": tx["signer"],
        })),
        OutputFormat::Text => say!(
            "height {}: {} {} from {}",
            tx["height"],
            tx["kind"].as_str().unwrap_or("?"),
            amount::format(amount),
            tx["signer"].as_str().unwrap_or("?")
        ),
    }
}
