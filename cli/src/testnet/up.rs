//! `kopnet testnet up`: the main job. Creates a cooperative city, starts its
//! nodes as separate processes, registers members and merchants, drives demo
//! traffic with fees and net debit caps in force, closes a settlement window
//! every minute, shows live progress and ends with a checked summary.

use crate::amount::format_signed;
use anyhow::{bail, Context, Result};
use kopnet_ledger::{Action, CoopId};
use kopnet_node::api::client::Client;
use kopnet_node::keyfile;
use kopnet_testnet::cluster::layout::{self, Layout};
use kopnet_testnet::cluster::process::NodeProcess;
use kopnet_testnet::cluster::traffic::{percentile, Traffic};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Where to create the network (default: a new folder under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    #[arg(long, default_value_t = 1)]
    pub observers: usize,
    /// Run this many seconds, then stop and print the summary (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Target load in transactions per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// Start the network and demo accounts, but send no traffic.
    #[arg(long)]
    pub no_traffic: bool,
    /// Seconds between settlement window closes.
    #[arg(long, default_value_t = 60)]
    pub window_secs: u64,
    /// Demo members per cooperative.
    #[arg(long, default_value_t = 100)]
    pub members: usize,
    /// Print the final summary as one JSON object on stdout.
    #[arg(long, value_enum, default_value_t = crate::output::OutputFormat::Text)]
    pub output: crate::output::OutputFormat,
}

fn say(json: bool, text: &str) {
    if json {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

async fn wait_until_ready(
    nodes: &[(String, Client)],
    procs: &mut [NodeProcess],
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut ready = 0;
        for (id, client) in nodes {
            if let Ok(status) = client.status().await {
                if status["height"].as_u64().unwrap_or(0) >= 1 {
                    ready += 1;
                }
            } else if let Some(p) = procs.iter_mut().find(|p| &p.id == id) {
                if !p.running() {
                    bail!(
                        "node {id} exited during start-up; see {}",
                        p.home.join("node.log").display()
                    );
                }
            }
        }
        if ready == nodes.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the network did not commit its first block within {} s (logs: node.log in each node home)", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Everything the final checks found.
struct Checks {
    ok: bool,
    problems: Vec<String>,
    nodes: Vec<Value>,
    height: u64,
}

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

pub async fn up(args: UpArgs) -> Result<i32> {
    let json_out = args.output == crate::output::OutputFormat::Json;
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "kopnet-testnet-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ))
    });
    let layout = layout::init(&dir, args.validators, args.observers)?;
    say(json_out, &format!("kopnet testnet in {}", dir.display()));
    let mut procs = Vec::new();
    for node in &layout.nodes {
        procs.push(NodeProcess::start(&node.id, &node.home)?);
    }
    let clients: Vec<(String, Client)> = layout
        .nodes
        .iter()
        .map(|n| (n.id.clone(), Client::new(&n.api_url)))
        .collect();
    for node in &layout.nodes {
        say(
            json_out,
            &format!("  {:<9} {:<16} {}", node.role, node.id, node.api_url),
        );
    }
    // Ctrl-C at any moment (start-up, registration, traffic) ends the run
    // with a summary; the nodes are in their own process groups, so they
    // keep running until stopped below.
    let (interrupt_tx, interrupt_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = interrupt_tx.send(true);
        }
    });
    let result = run_network(&args, &layout, &clients, &mut procs, interrupt_rx, json_out).await;
    let mut clean = true;
    for p in &mut procs {
        clean &= p.stop(Duration::from_secs(10));
    }
    if !clean {
        say(json_out, "warning: some nodes did not stop cleanly");
    }
    result
}

/// Resolves once Ctrl-C was pressed.
async fn interrupted(mut interrupt: tokio::sync::watch::Receiver<bool>) {
    let _ = interrupt.wait_for(|pressed| *pressed).await;
}

/// Exit code of a run stopped by Ctrl-C before its traffic started.
const EXIT_INTERRUPTED: i32 = 130;

async fn run_network(
    args: &UpArgs,
    layout: &Layout,
    clients: &[(String, Client)],
    procs: &mut [NodeProcess],
    interrupt: tokio::sync::watch::Receiver<bool>,
    json_out: bool,
) -> Result<i32> {
    say(json_out, "waiting for the first block ...");
    tokio::select! {
        ready = wait_until_ready(clients, procs, Duration::from_secs(60)) => ready?,
        _ = interrupted(interrupt.clone()) => {
            say(json_out, "interrupted during start-up; stopping the nodes");
            return Ok(EXIT_INTERRUPTED);
        }
    }
    let validators: Vec<&layout::NodeEntry> = layout
        .nodes
        .iter()
        .filter(|n| n.role == "validator")
        .collect();
    let coops = layout
        .cooperatives
        .iter()
        .map(|c| {
            Ok((
                CoopId::new(&c.id)?,
                keyfile::read(&c.key)?,
                Client::new(&c.node),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut traffic = Traffic::new(
        &layout.chain_id,
        coops,
        args.members.max(1),
        (args.members / 10).max(2),
    );
    say(
        json_out,
        &format!(
            "registering {} members and merchants ...",
            traffic.accounts.len()
        ),
    );
    tokio::select! {
        setup = traffic.setup() => setup.context("registering demo accounts")?,
        _ = interrupted(interrupt.clone()) => {
            say(json_out, "interrupted while registering demo accounts; stopping the nodes");
            return Ok(EXIT_INTERRUPTED);
        }
    }
    let traffic = Arc::new(traffic);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follow_node = layout
        .nodes
        .iter()
        .find(|n| n.role == "observer")
        .or(validators.first().copied())
        .map(|n| Client::new(&n.api_url))
        .context("no nodes")?;
    let follower = tokio::spawn(traffic.clone().follow_commits(follow_node, stop_rx.clone()));
    let load = if args.no_traffic {
        say(
            json_out,
            "network is up; no traffic (--no-traffic). Ctrl-C to stop.",
        );
        None
    } else {
        Some(tokio::spawn(
            traffic.clone().run_load(args.rate, stop_rx.clone()),
        ))
    };

    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs(d));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_window = Instant::now();
    let mut window = 0u64;
    let mut final_window_due = false;
    let mut last_committed = 0u64;
    let tty = std::io::stdout().is_terminal() && !json_out;
    let stopped = interrupted(interrupt.clone());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        let window_due =
            !args.no_traffic && last_window.elapsed() >= Duration::from_secs(args.window_secs);
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // A window due now (`--duration 60` with the default 60-s
            // window) is closed after the load stops, with the others'.
            final_window_due = window_due;
            break;
        }
        if window_due {
            last_window = Instant::now();
            if let Err(e) = traffic
                .submit_coop(
                    0,
                    Action::CloseSettlementWindow { window },
                    "settlement_close",
                )
                .await
            {
                say(json_out, &format!("closing window {window} failed: {e}"));
            } else {
                let closed = window;
                window += 1;
                acknowledge(&traffic, closed).await;
            }
        }
        traffic.sweep();
        for p in procs.iter_mut() {
            if !p.running() {
                say(
                    json_out,
                    &format!(
                        "node {} stopped unexpectedly; see {}",
                        p.id,
                        p.home.join("node.log").display()
                    ),
                );
            }
        }
        let (committed, p50, p99, height) = {
            let stats = traffic
                .stats
                .lock()
                .map_err(|_| anyhow::anyhow!("stats lock"))?;
            let recent: Vec<u64> = stats
                .latencies_ms
                .iter()
                .rev()
                .take(2_000)
                .copied()
                .collect();
            (
                stats.committed,
                percentile(&recent, 50),
                percentile(&recent, 99),
                stats.last_height,
            )
        };
        let tps = committed.saturating_sub(last_committed);
        last_committed = committed;
        if tty || started.elapsed().as_secs().is_multiple_of(5) {
            let positions = positions_line(&clients[0].1).await;
            let line = format!("height {height:>6} | {tps:>5} tx/s | p50 {p50:>5} ms p99 {p99:>5} ms | committed {committed:>7} | {positions}");
            if tty {
                print!("\r{line}   ");
                let _ = std::io::stdout().flush();
            } else if !json_out {
                println!("{line}");
            }
        }
    }
    if tty {
        println!();
    }
    let load_elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    if let Some(load) = load {
        let _ = load.await;
    }
    // Let the last submissions land (bounded wait; no wait at all when a
    // node is down: the checks below will say which).
    let all_running = procs.iter_mut().all(|p| p.running());
    let drain_deadline = Instant::now() + Duration::from_secs(if all_running { 15 } else { 0 });
    while traffic.outstanding() > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    follower.abort();
    // With the load stopped, a window that fell due at the end is closed,
    // and the last closed window is settled, before the summary: the demo's
    // banks pay at once, so every window ends acknowledged.
    if all_running && final_window_due {
        match traffic.close_window().await {
            Ok(closed) => window = closed + 1,
            Err(e) => say(json_out, &format!("closing the last window failed: {e}")),
        }
    }
    if all_running && window > 0 {
        if let Err(e) = traffic.settle_window(window - 1).await {
            say(
                json_out,
                &format!("settling window {} failed: {e}", window - 1),
            );
        }
    }
    // Give every node a moment to reach the same height, then check.
    let mut checks = check_network(layout).await;
    let settle_deadline = Instant::now() + Duration::from_secs(if all_running { 20 } else { 0 });
    while !checks.ok && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        checks = check_network(layout).await;
    }
    summarize(&traffic, &checks, load_elapsed, json_out)
}

async fn acknowledge(traffic: &Traffic, window: u64) {
    // Wait (bounded) for the close to commit, then every cooperative with a
    // position acknowledges: the demo's banks settle at once.
    let node = &traffic.coops[0].node;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(w) = node.get(&format!("/v1/settlement/windows/{window}")).await {
            let entries = w["entries"].as_object().cloned().unwrap_or_default();
            for (c, coop) in traffic.coops.iter().enumerate() {
                let owes = entries
                    .get(coop.id.as_str())
                    .is_some_and(|e| e["position"].as_i64().unwrap_or(0) != 0);
                if owes {
                    let _ = traffic
                        .submit_coop(
                            c,
                            Action::AcknowledgeSettlement { window },
                            "settlement_ack",
                        )
                        .await;
                }
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn positions_line(client: &Client) -> String {
    let peers = match client.status().await {
        Ok(status) => status["peer_count"].as_u64().unwrap_or(0),
        Err(_) => 0,
    };
    let Ok(coops) = client.get("/v1/cooperatives").await else {
        return String::new();
    };
    let positions = coops["cooperatives"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["id"] != "network")
        .map(|c| {
            format!(
                "{} {}",
                c["id"]
                    .as_str()
                    .unwrap_or("?")
                    .split('-')
                    .next()
                    .unwrap_or("?"),
                format_signed(c["position"].as_i64().unwrap_or(0))
            )
        })
        .collect::<Vec<_>>()
        .join("  ");
    format!("peers {peers} | {positions}")
}

fn summarize(traffic: &Traffic, checks: &Checks, elapsed: Duration, json_out: bool) -> Result<i32> {
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
        "submitted_txs": stats.submitted,
        "rejected_by_reason": stats.rejected,
        "invariants_ok": checks.ok,
        "invariant_problems": checks.problems,
        "invariants_checked": ["conservation: balances = minted - burned", "open, closed and unsettled positions sum to zero", "all nodes have the same state root at a common height"],
        "tps": (tps * 10.0).round() / 10.0,
        "latency_ms_p50": p50,
        "latency_ms_p99": p99,
        "nodes": checks.nodes,
    });
    if json_out {
        println!("{summary}");
    } else {
        println!("\nsummary after {:.0} s", secs);
        println!("  blocks          {}", checks.height);
        println!(
            "  committed txs   {} ({} ok) — {:.1} tx/s",
            stats.committed, stats.committed_ok, tps
        );
        for (kind, n) in &stats.by_kind {
            println!("    {kind:<30} {n}");
        }
        println!("  rejected        {:?}", stats.rejected);
        println!("  latency         p50 {p50} ms, p99 {p99} ms (submit to commit)");
        println!(
            "  invariants      {}",
            if checks.ok {
                "all hold (conservation, positions sum to zero, same state root on every node)"
            } else {
                "BROKEN"
            }
        );
        for p in &checks.problems {
            println!("    {p}");
        }
    }
    Ok(if checks.ok { 0 } else { 1 })
}
