//! The end of `kopnet testnet up`: the checks on the network once the load
//! stopped (invariants on every node, one state root) and the summary.

use anyhow::Result;
use kopnet_node::api::client::Client;
use kopnet_testnet::cluster::layout::Layout;
use kopnet_testnet::cluster::traffic::{percentile, SettlementProgress, Traffic};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Everything the final checks found.
pub(super) struct Checks {
    ok: bool,
    problems: Vec<String>,
    nodes: Vec<Value>,
    height: u64,
}

/// Every node reachable with its invariants holding, and the same state
/// root on all at the highest height every node has.
async fn check_network(layout: &Layout) -> Checks {
    let mut problems = Vec::new();
    let mut nodes = Vec::new();
    let mut heights = Vec::new();
    for node in &layout.nodes {
        let client = Client::new(&node.api_url);
        match client.status().await {
            Ok(status) => {
                let height = status["height"].as_u64().unwrap_or(0);
                heights.push(height);
                nodes.push(json!({"id": node.id, "role": node.role, "api_url": node.api_url, "height": height, "state_root": status["state_root"]}));
            }
            Err(e) => problems.push(format!("node {} unreachable: {e}", node.id)),
        }
        match client.get("/v1/invariants").await {
            Ok(inv) if inv["ok"] == true => {}
            Ok(inv) => problems.push(format!(
                "node {}: invariant broken: {}",
                node.id, inv["error"]
            )),
            Err(e) => problems.push(format!("node {}: invariants unavailable: {e}", node.id)),
        }
    }
    // Same state root at the highest height every node has.
    let common = heights.iter().copied().min().unwrap_or(0);
    let mut roots = BTreeMap::new();
    for node in &layout.nodes {
        if let Ok(block) = Client::new(&node.api_url)
            .get(&format!("/v1/blocks/{common}"))
            .await
        {
            roots.insert(
                node.id.clone(),
                block["state_root"].as_str().unwrap_or("").to_string(),
            );
        }
    }
    let distinct: std::collections::BTreeSet<_> = roots.values().collect();
    if distinct.len() > 1 {
        problems.push(format!("state roots differ at height {common}: {roots:?}"));
    }
    Checks {
        ok: problems.is_empty(),
        problems,
        nodes,
        height: common,
    }
}

/// Give every node a moment to reach the same height (none when a node is
/// down), then the checks.
pub(super) async fn check_until_agreed(layout: &Layout, all_running: bool) -> Checks {
    let mut checks = check_network(layout).await;
    let settle_deadline = Instant::now() + Duration::from_secs(if all_running { 20 } else { 0 });
    while !checks.ok && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        checks = check_network(layout).await;
    }
    checks
}

/// The schedule and every window it closed during the run (number, the
/// block that closed it and that block's time, settled or not).
fn settlement_json(settlement: &SettlementProgress) -> Value {
    let windows: Vec<Value> = settlement
        .windows
        .iter()
        .map(|w| {
            json!({
                "number": w.number,
                "closed_at_height": w.closed_at_height,
                "closed_at_ms": w.closed_at_ms,
                "settled": w.settled,
            })
        })
        .collect();
    json!({
        "period_ms": settlement.period_ms,
        "offset_ms": settlement.offset_ms,
        "windows_closed": settlement.windows_closed,
        "windows_settled": settlement.windows_settled(),
        "windows": windows,
    })
}

/// The run's figures and the checks' verdict, as text or one JSON object;
/// exit code 0 if every check passed, else 1.
pub(super) fn summarize(
    traffic: &Traffic,
    checks: &Checks,
    settlement: &SettlementProgress,
    cashback: &Value,
    elapsed: Duration,
    json_out: bool,
) -> Result<i32> {
    let stats = traffic
        .stats
        .lock()
        .map_err(|_| anyhow::anyhow!("stats lock"))?;
    let secs = elapsed.as_secs_f64().max(1.0);
    let tps = stats.committed as f64 / secs;
    let p50 = percentile(&stats.latencies_ms, 50);
    let p99 = percentile(&stats.latencies_ms, 99);
    let summary = json!({
        "blocks": checks.height,
        "committed_txs": stats.committed,
        "committed_ok": stats.committed_ok,
        "committed_by_kind": stats.by_kind,
        "merchant_payments_by_class": stats.by_merchant_class,
        "cashback": cashback,
        "submitted_txs": stats.submitted,
        "rejected_by_reason": stats.rejected,
        "invariants_ok": checks.ok,
        "invariant_problems": checks.problems,
        "invariants_checked": ["conservation: balances = minted - burned", "open, closed and unsettled positions sum to zero", "all nodes have the same state root at a common height"],
        "tps": (tps * 10.0).round() / 10.0,
        "latency_ms_p50": p50,
        "latency_ms_p99": p99,
        "nodes": checks.nodes,
        "settlement": settlement_json(settlement),
    });
    if json_out {
        crate::output::print_json(&summary);
    } else {
        say!("\nsummary after {:.0} s", secs);
        say!("  blocks          {}", checks.height);
        say!(
            "  committed txs   {} ({} ok) — {:.1} tx/s",
            stats.committed,
            stats.committed_ok,
            tps
        );
        for (kind, n) in &stats.by_kind {
            say!("    {kind:<30} {n}");
        }
        let classes: Vec<String> = stats
            .by_merchant_class
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        say!("  merchant pays   by class: {}", classes.join(", "));
        say!(
            "  cashback        {} payments earned Rp {} (GET /v1/incentives)",
            cashback["payments"].as_u64().unwrap_or(0),
            cashback["paid"].as_u64().unwrap_or(0)
        );
        say!("  rejected        {:?}", stats.rejected);
        say!("  latency         p50 {p50} ms, p99 {p99} ms (submit to commit)");
        say!(
            "  settlement      {} windows closed on schedule (every {} s), {} settled",
            settlement.windows_closed,
            settlement.period_ms / 1_000,
            settlement.windows_settled()
        );
        say!(
            "  invariants      {}",
            if checks.ok {
                "all hold (conservation, positions sum to zero, same state root on every node)"
            } else {
                "BROKEN"
            }
        );
        for p in &checks.problems {
            say!("    {p}");
        }
    }
    Ok(if checks.ok { 0 } else { 1 })
}
