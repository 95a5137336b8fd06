//! `kopnet testnet up`: the main job. Creates a cooperative city, starts its
//! nodes as separate processes, registers members and merchants, drives demo
//! traffic with fees and net debit caps in force, shows live progress and
//! ends with a checked summary (the checks and the summary are in
//! `summary.rs`). Settlement windows close on the chain's schedule (every
//! `--window-secs`, set in the genesis: the first block past each cut-off
//! closes the open window); the run acknowledges each closed window for
//! every cooperative with a position in it, as the demo's banks pay at once,
//! and settles the last ones after the load stops.

use super::summary::{check_until_agreed, summarize};
use crate::amount::format_signed;
use anyhow::{bail, Context, Result};
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::CoopId;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile;
use kopnet_testnet::cluster::layout::{self, Layout};
use kopnet_testnet::cluster::process::NodeProcess;
use kopnet_testnet::cluster::traffic::{
    audit_cases, percentile, AuditCases, SettlementProgress, Traffic,
};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Where to create the network (default: a new folder under the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Validator cooperatives.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Regulators' observer nodes.
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
    /// The settlement period in seconds (at least 5), written into the
    /// genesis: a window closes at the first block past each cut-off.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=604_800))]
    pub window_secs: u64,
    /// Demo members per cooperative.
    #[arg(long, default_value_t = 100)]
    pub members: usize,
}

fn say(json: bool, text: &str) {
    if json {
        eprintln!("{text}");
    } else {
        say!("{text}");
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
                        "node {id} exited during start-up; see {}; it ended with:\n{}",
                        p.home.join("node.log").display(),
                        p.log_tail(20)
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

pub async fn up(args: UpArgs) -> Result<i32> {
    let json_out = crate::output::json();
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "kopnet-testnet-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ))
    });
    let rules = layout::GenesisRules {
        settlement: SettlementSchedule::every(args.window_secs.saturating_mul(1_000)),
        ..layout::GenesisRules::default()
    };
    let layout = layout::init_with(
        &dir,
        args.validators,
        args.observers,
        &vec![1; args.validators],
        rules,
    )?;
    say(json_out, &format!("kopnet testnet in {}", dir.display()));
    let mut procs = Vec::new();
    for node in &layout.nodes {
        procs.push(NodeProcess::start(&node.id, &node.home)?);
    }
    let clients: Vec<(String, Client)> = layout
        .nodes
        .iter()
        .map(|n| (n.id.clone(), layout.reader(&n.api_url)))
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

/// Wait for the first block, register the demo accounts, drive the load
/// until the duration is up or Ctrl-C, then wind down, check and summarize.
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
    let Some(traffic) = register_demo_accounts(args, layout, &interrupt, json_out).await? else {
        return Ok(EXIT_INTERRUPTED);
    };
    let traffic = Arc::new(traffic);
    let _waking = plant_audit_cases(&traffic, layout, json_out).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(
        traffic
            .clone()
            .follow_commits(follow_node(layout)?, stop_rx.clone()),
    );
    let settler = tokio::spawn(traffic.clone().settle_on_schedule(stop_rx.clone()));
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
    let driven = drive(args, &traffic, clients, procs, &interrupt, json_out).await?;
    let _ = stop_tx.send(true);
    if let Some(load) = load {
        let _ = load.await;
    }
    let _ = settler.await;
    let all_running = drain(&traffic, procs).await;
    follower.abort();
    let settlement = settle_windows(&traffic, all_running, json_out).await;
    let checks = check_until_agreed(layout, all_running).await;
    // What the cashback programme paid, as the ledger counts it.
    let cashback = traffic
        .cashback_summary()
        .await
        .unwrap_or(serde_json::Value::Null);
    summarize(
        &traffic,
        &checks,
        &settlement,
        &cashback,
        driven.load_elapsed,
        json_out,
    )
}

/// The demo's cooperatives with their keys, and its members and merchants
/// registered; `None` if Ctrl-C came first.
async fn register_demo_accounts(
    args: &UpArgs,
    layout: &Layout,
    interrupt: &tokio::sync::watch::Receiver<bool>,
    json_out: bool,
) -> Result<Option<Traffic>> {
    let coops = layout
        .cooperatives
        .iter()
        .map(|c| {
            let key = keyfile::read(&c.key)?;
            Ok((
                CoopId::new(&c.id)?,
                key.clone(),
                Client::signed(&c.node, key),
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
            return Ok(None);
        }
    }
    Ok(Some(traffic))
}

/// Where `kopnet testnet up` writes the planted audit cases
/// (`DIR/audit-cases.json`): the accounts, the observer to ask and the
/// regulator's key file, and whether the dormant account woke yet.
pub const AUDIT_CASES_FILE: &str = "audit-cases.json";

/// Plant the regulator's desk's cases (with two cooperatives or more and
/// an observer) and wake the dormant account when its time comes; the
/// task that wakes it is returned (it ends with the run).
async fn plant_audit_cases(
    traffic: &Arc<Traffic>,
    layout: &Layout,
    json_out: bool,
) -> Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(observer) = layout.nodes.iter().find(|n| n.role == "observer") else {
        return Ok(None);
    };
    if traffic.coops.len() < 2 {
        return Ok(None);
    }
    let cases = AuditCases::plant(traffic)
        .await
        .context("planting the audit cases")?;
    let Some(dir) = observer.home.parent().map(|d| d.join(AUDIT_CASES_FILE)) else {
        return Ok(None);
    };
    let describe = |woke: bool| {
        serde_json::json!({
            "observer_api": observer.api_url,
            "regulator_key": observer.home.join("node.key"),
            "cash_in_over_threshold": cases.cash_in_over_threshold.to_address(),
            "structuring": cases.structuring.to_address(),
            "dormant": cases.dormant.to_address(),
            "dormant_woke": woke,
        })
    };
    std::fs::write(&dir, format!("{:#}\n", describe(false)))
        .with_context(|| format!("writing {}", dir.display()))?;
    say(
        json_out,
        &format!(
            "audit cases planted (cash over the threshold, structuring; a dormant account wakes in {} s): {}",
            audit_cases::DORMANT_WAKE_AFTER.as_secs(),
            dir.display()
        ),
    );
    let traffic = traffic.clone();
    let woke = describe(true);
    Ok(Some(tokio::spawn(async move {
        tokio::time::sleep(audit_cases::DORMANT_WAKE_AFTER).await;
        if cases.wake_dormant(&traffic).await.is_ok() {
            let _ = std::fs::write(&dir, format!("{woke:#}\n"));
        }
    })))
}

/// The node whose commits the run follows: an observer if there is one,
/// else the first validator.
fn follow_node(layout: &Layout) -> Result<Client> {
    let validators: Vec<&layout::NodeEntry> = layout
        .nodes
        .iter()
        .filter(|n| n.role == "validator")
        .collect();
    layout
        .nodes
        .iter()
        .find(|n| n.role == "observer")
        .or(validators.first().copied())
        .map(|n| layout.reader(&n.api_url))
        .context("no nodes")
}

/// What the drive loop leaves for the wind-down.
struct Driven {
    /// How long the load ran.
    load_elapsed: Duration,
}

/// Once a second until the duration is up or Ctrl-C: sweep expired
/// submissions, warn of stopped nodes and show progress (every second on a
/// terminal, every 5 s otherwise).
async fn drive(
    args: &UpArgs,
    traffic: &Traffic,
    clients: &[(String, Client)],
    procs: &mut [NodeProcess],
    interrupt: &tokio::sync::watch::Receiver<bool>,
    json_out: bool,
) -> Result<Driven> {
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs(d));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_committed = 0u64;
    let tty = std::io::stdout().is_terminal() && !json_out;
    let stopped = interrupted(interrupt.clone());
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tick.tick() => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        traffic.sweep();
        warn_of_stopped_nodes(procs, json_out);
        let progress = Progress::read(traffic)?;
        let tps = progress.committed.saturating_sub(last_committed);
        last_committed = progress.committed;
        if tty || started.elapsed().as_secs().is_multiple_of(5) {
            print_progress(&clients[0].1, &progress, tps, tty, json_out).await;
        }
    }
    if tty {
        say!();
    }
    Ok(Driven {
        load_elapsed: started.elapsed(),
    })
}

fn warn_of_stopped_nodes(procs: &mut [NodeProcess], json_out: bool) {
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
}

/// The figures of one progress line: latencies over the last 2,000 commits.
struct Progress {
    committed: u64,
    p50: u64,
    p99: u64,
    height: u64,
}

impl Progress {
    fn read(traffic: &Traffic) -> Result<Progress> {
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
        Ok(Progress {
            committed: stats.committed,
            p50: percentile(&recent, 50),
            p99: percentile(&recent, 99),
            height: stats.last_height,
        })
    }
}

/// One progress line, rewritten in place on a terminal; none with JSON
/// output.
async fn print_progress(client: &Client, progress: &Progress, tps: u64, tty: bool, json_out: bool) {
    let Progress {
        committed,
        p50,
        p99,
        height,
    } = progress;
    let positions = positions_line(client).await;
    let line = format!("height {height:>6} | {tps:>5} tx/s | p50 {p50:>5} ms p99 {p99:>5} ms | committed {committed:>7} | {positions}");
    if tty {
        say_part!("\r{line}   ");
        let _ = std::io::stdout().flush();
    } else if !json_out {
        say!("{line}");
    }
}

/// Let the last submissions land (bounded wait; no wait at all when a node
/// is down: the checks will say which). Returns whether every node runs.
async fn drain(traffic: &Traffic, procs: &mut [NodeProcess]) -> bool {
    let all_running = procs.iter_mut().all(|p| p.running());
    let drain_deadline = Instant::now() + Duration::from_secs(if all_running { 15 } else { 0 });
    while traffic.outstanding() > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    all_running
}

/// With the load stopped (and every node running), every window the
/// schedule closed is acknowledged and settled before the summary: the
/// demo's banks pay at once. The open window stays open; it closes at its
/// cut-off like every other.
async fn settle_windows(
    traffic: &Traffic,
    all_running: bool,
    json_out: bool,
) -> SettlementProgress {
    let settled = match all_running {
        true => traffic.settle_windows().await,
        false => traffic.acknowledge_windows(false).await,
    };
    match settled {
        Ok(progress) => progress,
        Err(e) => {
            say(
                json_out,
                &format!("settling the closed windows failed: {e}"),
            );
            traffic.progress().unwrap_or_default()
        }
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
