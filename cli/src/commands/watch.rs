//! `kopnet wallet watch`: money arriving in a wallet, as it lands.
//!
//! Follows the node's `/v1/events` stream; when the stream breaks (node
//! restarted, network hiccup) or skips blocks (the subscriber lagged), it
//! reconnects with a growing pause and first reads the blocks it missed from
//! `/v1/blocks`, so no incoming payment goes unprinted. One line per credit,
//! or one JSON object per line with `--output json`.

use crate::amount;
use crate::output::OutputFormat;
use anyhow::{bail, Context, Result};
use futures::StreamExt;
use kopnet_node::api::client::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// Blocks read per catch-up request.
const CATCH_UP_PAGE_BLOCKS: u64 = 100;
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

/// Read blocks `next..` from the API and print their credits.
async fn catch_up(
    client: &Client,
    address: &str,
    next: &mut u64,
    output: OutputFormat,
) -> Result<()> {
    loop {
        let page = client
            .get(&format!(
                "/v1/blocks?from={next}&limit={CATCH_UP_PAGE_BLOCKS}"
            ))
            .await?;
        let blocks = page["blocks"].as_array().cloned().unwrap_or_default();
        let before = *next;
        for block in &blocks {
            if block["height"].as_u64() == Some(*next) {
                print_credits(block, address, output);
                *next += 1;
            }
        }
        if *next == before {
            return Ok(());
        }
    }
}

/// Follow the event stream until it ends, breaks or skips a block.
async fn follow(
    client: &Client,
    address: &str,
    next: &mut u64,
    output: OutputFormat,
    pause: &mut Duration,
) -> Result<()> {
    let url = format!("{}/v1/events", client.base());
    let response = reqwest::get(&url)
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    *pause = Duration::from_secs(1);
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(chunk) = stream.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.context("broke")?));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.lines().any(|l| l.trim() == "event: lagged") {
                return Ok(()); // missed blocks: read them, then follow again
            }
            let Some(block) = event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .and_then(|data| serde_json::from_str::<Value>(data.trim()).ok())
            else {
                continue;
            };
            match block["height"].as_u64() {
                Some(h) if h == *next => {
                    print_credits(&block, address, output);
                    *next += 1;
                }
                Some(h) if h > *next => return Ok(()), // a gap: catch up first
                _ => {}
            }
        }
        if buffer.len() > EVENT_BYTES_MAX {
            buffer.clear();
        }
    }
    Ok(())
}

/// Print every applied transaction of `block` that credits `address`.
fn print_credits(block: &Value, address: &str, output: OutputFormat) {
    for tx in block["txs"].as_array().into_iter().flatten() {
        if tx["to"].as_str() != Some(address) || tx["result"] != "ok" {
            continue;
        }
        let amount = tx["amount"].as_u64().unwrap_or(0);
        match output {
            OutputFormat::Json => say!(
                "{}",
                json!({
                    "height": block["height"], "hash": tx["hash"], "kind": tx["kind"],
                    "amount": amount, "from": tx["signer"],
                })
            ),
            OutputFormat::Text => say!(
                "height {}: {} {} from {}",
                block["height"],
                tx["kind"].as_str().unwrap_or("?"),
                amount::format(amount),
                tx["signer"].as_str().unwrap_or("?")
            ),
        }
    }
}
