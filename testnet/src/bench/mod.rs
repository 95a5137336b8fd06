//! `kopnet bench`: start a local network as `kopnet testnet up` does, drive an
//! open-loop load, and measure committed throughput at the observer,
//! submit-to-commit latency, the commit interval, CPU, peak RSS and bytes on
//! disk per committed tx. Settlement windows close on the chain's schedule
//! during the load (every `window_secs`, set in the genesis) and the
//! cooperatives acknowledge them as `testnet up` does; the report's
//! `settlement` says how many closed and settled. With `--read-clients N`,
//! the run has two timed phases of `duration_secs` each under the same
//! load on the same network: first without readers (the report's
//! `without_readers`), then with N explorer-like readers ([`readers`])
//! beside the load (the report's main figures), so that one run compares
//! committed tx/s, latency, the commit interval and CPU with 0 and with N
//! readers. The report gives the readers' requests, errors and CPU and the
//! machine's CPU over each phase. The phase without readers comes first,
//! so it also carries the load's ramp-up; the reader phase runs on a ledger
//! that is `duration_secs` of payments larger.

pub mod chart;
pub mod disk;
pub mod intervals;
pub mod phase;
pub mod readers;
mod report;
pub mod sampler;
pub mod targets;

pub use report::render_table;

use crate::cluster::layout::{self, GenesisRules, InitError, Layout};
use crate::cluster::process::{NodeProcess, NodeProcessError};
use crate::cluster::traffic::{Traffic, TrafficError};
use chart::ChartError;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::types::InvalidCoopId;
use kopnet_ledger::CoopId;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile::{self, KeyFileError};
use phase::Phase;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The rate `--max` stands for; the driver's in-flight bound limits it.
pub const RATE_MAX: u64 = 20_000;
/// Seconds of payments in flight the default member count allows for: a
/// member has one payment in flight at a time, so at `rate` tx/s with
/// commits taking up to this long, `rate × this` members keep the load
/// from waiting on busy members.
const MEMBER_SECONDS_IN_FLIGHT: u64 = 2;
/// Fewest and most members per cooperative [`members_for_rate`] gives.
const MEMBERS_PER_COOP_MIN: usize = 100;
const MEMBERS_PER_COOP_MAX: usize = 2_000;

/// Members per cooperative enough for `rate` tx/s over `coops`
/// cooperatives (see [`MEMBER_SECONDS_IN_FLIGHT`]), within
/// 100..=2,000 (registering them all is done before the timed load).
pub fn members_for_rate(rate: u64, coops: usize) -> usize {
    let needed = rate.saturating_mul(MEMBER_SECONDS_IN_FLIGHT) / (coops.max(1) as u64);
    usize::try_from(needed)
        .unwrap_or(usize::MAX)
        .clamp(MEMBERS_PER_COOP_MIN, MEMBERS_PER_COOP_MAX)
}

/// Net debit cap per cooperative for every offered tx/s and second of
/// the settlement period: Rp 20.000, about what the load's busiest
/// debtor (the taxi cooperative, whose members also pay at the others'
/// shops) comes to owe per offered transaction. See [`ndc_for_rate`].
const NDC_PER_TX_PER_SECOND: u64 = 20_000;
/// The rate the cap is sized for at most (`--max` offers more than the
/// network commits).
const NDC_SIZING_RATE_MAX: u64 = 10_000;

/// The net debit cap the bench's genesis gives every cooperative: a real
/// network sizes a cooperative's cap to its volume (and the collateral
/// behind it), and the bench's members pay far more often than real ones,
/// so the cap follows the offered rate and the settlement period: enough
/// for a period of the load's net debits, never below the demo's
/// Rp 50.000.000. The driver still never plans a transaction that could
/// pass a cap (`cluster::traffic::exposure`); the cap sets how often it
/// must hold a cooperative's payers back until a window settles.
pub fn ndc_for_rate(rate: u64, window_secs: u64) -> u64 {
    rate.min(NDC_SIZING_RATE_MAX)
        .saturating_mul(window_secs)
        .saturating_mul(NDC_PER_TX_PER_SECOND)
        .max(layout::DEMO_NDC)
}

/// How long the network gets to commit its first block.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a node's log shown when it exits during start-up.
const STARTUP_LOG_TAIL_LINES: usize = 20;
/// How long in-flight transactions get to land after the load stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long each node gets to stop after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Pause between two looks at the nodes while starting and draining.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Why the benchmark could not be run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Init(#[from] InitError),
    #[error(transparent)]
    Process(#[from] NodeProcessError),
    #[error("node {node} exited during start-up; see {}; it ended with:\n{tail}", .log.display())]
    NodeExited {
        node: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the network did not commit its first block within {secs} s")]
    NotStarted { secs: u64 },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    CoopId(#[from] InvalidCoopId),
    #[error("registering bench accounts: {0}")]
    Setup(TrafficError),
    #[error("the layout has no nodes")]
    NoNodes,
    #[error("the load statistics are poisoned (a thread panicked holding them)")]
    StatsPoisoned,
    #[error("cannot {action} {}: {error}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot encode the report: {0}")]
    Encode(serde_json::Error),
    #[error(transparent)]
    Chart(#[from] ChartError),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub dir: Option<PathBuf>,
    pub validators: usize,
    pub observers: usize,
    pub duration_secs: u64,
    pub rate: u64,
    /// Members per cooperative; None: what the rate needs
    /// ([`members_for_rate`]).
    pub members: Option<usize>,
    pub out: PathBuf,
    /// The settlement period (s): windows close on this schedule during
    /// the load and are acknowledged.
    pub window_secs: u64,
    /// Explorer-like readers beside the load ([`readers`]).
    pub read_clients: usize,
    /// Readers read only from observers (which take no part in commits),
    /// instead of from every node: what the readers then cost the commit
    /// path is the machine's CPU only, never a validator's lock.
    pub read_observers_only: bool,
    /// The validators keep only their last this many blocks
    /// (`[pruning] keep_blocks`; observers stay archive nodes, their
    /// default), and the run samples every node's disk use ([`disk`]) into
    /// `prune.json` and `prune.svg`.
    pub prune_keep: Option<u64>,
    /// Block time runs this many times faster than the wall clock
    /// ([`kopnet_node::block_clock`], fault-injection builds only), and the
    /// settlement period in block time with it, so windows close at the
    /// same pace in real time: days of block time pass in a run, and the
    /// records kept by day expire.
    pub block_clock_speedup: Option<u64>,
    /// Every node's sled page cache (`[storage] cache_bytes`; default the
    /// node's own, 64 MiB): to see what the cache costs in memory and
    /// buys in CPU.
    pub cache_bytes: Option<u64>,
}

/// One second of the run, as seen at the observer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SecondSample {
    pub second: u64,
    pub committed: u64,
    pub latency_ms_p50: u64,
    pub latency_ms_p99: u64,
}

/// Resource figures of one node after the run.
#[derive(Debug, Clone, Default)]
pub struct NodeFigures {
    pub id: String,
    pub role: String,
    pub cpu_seconds: f64,
    pub rss_mb_peak: f64,
    pub disk_bytes: u64,
}

fn log(text: &str) {
    eprintln!("{text}");
}

async fn wait_until_ready(
    nodes: &[(String, Client)],
    procs: &mut [NodeProcess],
    timeout: Duration,
) -> Result<(), BenchError> {
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
                    return Err(BenchError::NodeExited {
                        node: id.clone(),
                        log: p.home.join("node.log"),
                        tail: p.log_tail(STARTUP_LOG_TAIL_LINES),
                    });
                }
            }
        }
        if ready == nodes.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::NotStarted {
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Run the benchmark; returns the result as one JSON object. Progress goes to stderr.
pub async fn run(config: &BenchConfig) -> Result<Value, BenchError> {
    let dir = config.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "kopnet-bench-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ))
    });
    let speedup = config.block_clock_speedup.unwrap_or(1);
    let rules = GenesisRules {
        settlement: SettlementSchedule::every(
            config
                .window_secs
                .saturating_mul(1_000)
                .saturating_mul(speedup),
        ),
        ndc: ndc_for_rate(config.rate, config.window_secs),
        ..GenesisRules::default()
    };
    let layout = layout::init_with(
        &dir,
        config.validators,
        config.observers,
        &vec![1; config.validators],
        rules,
    )?;
    log(&format!("kopnet bench network in {}", dir.display()));
    if let Some(keep) = config.prune_keep {
        set_pruning(&layout, keep)?;
    }
    if let Some(bytes) = config.cache_bytes {
        edit_configs(&layout, |_| true, |c| c.storage.cache_bytes = bytes)?;
        log(&format!("every node's sled cache: {bytes} bytes"));
    }
    // One epoch for every node, so their fast clocks agree.
    let env: Vec<(String, String)> = match config.block_clock_speedup {
        Some(speedup) => {
            let epoch_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            log(&format!(
                "block time runs {speedup} times faster than the wall clock"
            ));
            vec![(
                kopnet_node::block_clock::BLOCK_CLOCK_ENV.to_string(),
                format!("{epoch_ms}:{speedup}"),
            )]
        }
        None => Vec::new(),
    };
    let exe = std::env::current_exe().map_err(NodeProcessError::NoBinary)?;
    let mut procs = Vec::new();
    for node in &layout.nodes {
        procs.push(NodeProcess::start_with(&exe, &node.id, &node.home, &env)?);
    }
    let result = drive(config, &layout, &mut procs).await;
    // Read the resource figures while the processes still exist.
    let figures = node_figures(&layout, &procs);
    let mut clean = true;
    for p in &mut procs {
        clean &= p.stop(STOP_GRACE);
    }
    if !clean {
        log("warning: some nodes did not stop cleanly");
    }
    let summary = result?;
    let figures: Vec<NodeFigures> = figures
        .into_iter()
        .zip(layout.nodes.iter())
        .map(|(mut f, n)| {
            f.disk_bytes = data_bytes(&n.home);
            f
        })
        .collect();
    let mut report = report::build(config, &summary, &figures);
    if config.prune_keep.is_some() {
        report["pruning"] = write_disk_outputs(config, &layout, &summary.disk)?;
    }
    write_outputs(&config.out, &report, &summary.main.samples)?;
    // A network of our own making (no `--dir`) holds a store per node,
    // hundreds of MB after a long run: removed once the report is written.
    if config.dir.is_none() {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => log(&format!("removed {}", dir.display())),
            Err(e) => log(&format!("warning: cannot remove {}: {e}", dir.display())),
        }
    }
    Ok(report)
}

/// CPU and peak RSS of each node process, in layout order (disk comes later,
/// once the nodes have stopped).
fn node_figures(layout: &Layout, procs: &[NodeProcess]) -> Vec<NodeFigures> {
    layout
        .nodes
        .iter()
        .zip(procs.iter())
        .map(|(n, p)| {
            let pid = p.pid().unwrap_or(0);
            NodeFigures {
                id: n.id.clone(),
                role: n.role.clone(),
                cpu_seconds: sampler::cpu_seconds(pid),
                rss_mb_peak: sampler::peak_rss_bytes(pid) as f64 / (1024.0 * 1024.0),
                disk_bytes: 0,
            }
        })
        .collect()
}

/// `out/bench.json` and `out/bench.svg`.
fn write_outputs(out: &Path, report: &Value, samples: &[SecondSample]) -> Result<(), BenchError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |error| BenchError::Io {
            action,
            path,
            error,
        }
    };
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let json_path = out.join("bench.json");
    let json = serde_json::to_string_pretty(report).map_err(BenchError::Encode)?;
    std::fs::write(&json_path, json).map_err(io("write", &json_path))?;
    let svg_path = out.join("bench.svg");
    chart::write_svg(&svg_path, samples)?;
    log(&format!(
        "wrote {} and {}",
        json_path.display(),
        svg_path.display()
    ));
    Ok(())
}

/// `[pruning] keep_blocks = keep` in every validator's config.toml.
fn set_pruning(layout: &Layout, keep: u64) -> Result<(), BenchError> {
    edit_configs(
        layout,
        |role| role == "validator",
        |config| {
            config.pruning.keep_blocks = keep;
            // A pruning node keeps two snapshot intervals of blocks at
            // least (`NodeConfig::validate`): snapshot often enough for
            // the horizon.
            if config.snapshots.interval_blocks.saturating_mul(2) > keep {
                config.snapshots.interval_blocks =
                    (keep / 2).max(kopnet_node::snapshots::INTERVAL_BLOCKS_MIN);
            }
        },
    )?;
    log(&format!(
        "validators keep their last {keep} blocks; observers keep every block"
    ));
    Ok(())
}

/// Rewrite the config.toml of every node whose role `which` takes with
/// `edit`.
fn edit_configs(
    layout: &Layout,
    which: impl Fn(&str) -> bool,
    edit: impl Fn(&mut kopnet_node::config::NodeConfig),
) -> Result<(), BenchError> {
    for node in layout.nodes.iter().filter(|n| which(&n.role)) {
        let path = node.home.join("config.toml");
        let mut config =
            kopnet_node::config::NodeConfig::load(&path).map_err(|e| BenchError::Io {
                action: "read",
                path: path.clone(),
                error: std::io::Error::other(e.to_string()),
            })?;
        edit(&mut config);
        std::fs::write(&path, config.to_toml()).map_err(|error| BenchError::Io {
            action: "write",
            path: path.clone(),
            error,
        })?;
    }
    Ok(())
}

/// The nodes as [`disk`] samples them.
fn disk_nodes(config: &BenchConfig, layout: &Layout) -> Vec<disk::DiskNode> {
    layout
        .nodes
        .iter()
        .map(|n| disk::DiskNode {
            id: n.id.clone(),
            role: n.role.clone(),
            keep_blocks: config.prune_keep.filter(|_| n.role == "validator"),
            home: n.home.clone(),
            api: Some(layout.reader(&n.api_url)),
        })
        .collect()
}

/// `out/prune.json` and `out/prune.svg`; the report's `pruning` part.
fn write_disk_outputs(
    config: &BenchConfig,
    layout: &Layout,
    samples: &[disk::DiskSample],
) -> Result<Value, BenchError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |error| BenchError::Io {
            action,
            path,
            error,
        }
    };
    let nodes = disk_nodes(config, layout);
    let horizon = disk::horizon_second(&nodes, samples);
    // Growth after the horizon, per node: what "flat" means in numbers.
    let after: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let at = |s: &disk::DiskSample| s.nodes.get(i).map(|d| d.bytes);
            let from = horizon
                .and_then(|h| samples.iter().find(|s| s.second >= h))
                .and_then(at);
            let last = samples.last().and_then(at);
            let peak = samples.iter().filter_map(at).max();
            json!({
                "id": n.id,
                "role": n.role,
                "keep_blocks": n.keep_blocks,
                "bytes_at_horizon": from,
                "bytes_at_end": last,
                "bytes_peak": peak,
                "base_height_at_end": samples.last().and_then(|s| s.nodes.get(i)).and_then(|d| d.base_height),
                "height_at_end": samples.last().and_then(|s| s.nodes.get(i)).and_then(|d| d.height),
            })
        })
        .collect();
    let summary = json!({
        "keep_blocks": config.prune_keep,
        "sample_secs": disk::DISK_SAMPLE_SECS,
        "horizon_second": horizon,
        "nodes": after,
    });
    let out = &config.out;
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let json_path = out.join("prune.json");
    let body = json!({"summary": summary, "nodes": nodes, "samples": samples});
    let text = serde_json::to_string_pretty(&body).map_err(BenchError::Encode)?;
    std::fs::write(&json_path, text).map_err(io("write", &json_path))?;
    let svg_path = out.join("prune.svg");
    let title = format!(
        "disk use per node at {} tx/s offered; validators keep {} blocks",
        config.rate,
        config.prune_keep.unwrap_or(0)
    );
    disk::write_svg(&svg_path, &nodes, samples, &title)?;
    log(&format!(
        "wrote {} and {}",
        json_path.display(),
        svg_path.display()
    ));
    Ok(summary)
}

/// Bytes of a node's home except its log file (the sled data and keys).
fn data_bytes(home: &Path) -> u64 {
    let log_len = std::fs::metadata(home.join("node.log"))
        .map(|m| m.len())
        .unwrap_or(0);
    sampler::dir_bytes(home).saturating_sub(log_len)
}

/// What the load measured.
#[derive(Debug, Clone, Default)]
struct LoadSummary {
    submitted: u64,
    committed_ok_total: u64,
    rejected: Value,
    /// Demo accounts (members and merchants) of the load.
    accounts: usize,
    /// Per node (layout order), when the timed load started: bytes on
    /// disk, so that the report counts only what the timed load added.
    disk_bytes_at_start: Vec<u64>,
    /// Windows closed on the schedule during the run and settled after.
    settlement: Value,
    reads: ReadCounts,
    /// The timed phase the report's main figures come from (with the
    /// readers, if any).
    main: Phase,
    /// With readers: the phase before they started, under the same load.
    without_readers: Option<Phase>,
    /// With `prune_keep`: every node's disk use over the timed load.
    disk: Vec<disk::DiskSample>,
}

/// What the readers did in the main phase.
#[derive(Debug, Clone, Default)]
struct ReadCounts {
    clients: usize,
    ok: u64,
    errors: u64,
    events: u64,
    event_stream_errors: u64,
}

async fn drive(
    config: &BenchConfig,
    layout: &Layout,
    procs: &mut [NodeProcess],
) -> Result<LoadSummary, BenchError> {
    let clients: Vec<(String, Client)> = layout
        .nodes
        .iter()
        .map(|n| (n.id.clone(), layout.reader(&n.api_url)))
        .collect();
    log("waiting for the first block ...");
    wait_until_ready(&clients, procs, START_TIMEOUT).await?;
    let traffic = Arc::new(register_load(config, layout).await?);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follow_node = layout
        .nodes
        .iter()
        .find(|n| n.role == "observer")
        .or(layout.nodes.iter().find(|n| n.role == "validator"))
        .map(|n| layout.reader(&n.api_url))
        .ok_or(BenchError::NoNodes)?;
    let follower = tokio::spawn(
        traffic
            .clone()
            .follow_commits(follow_node.clone(), stop_rx.clone()),
    );
    let settler = tokio::spawn(traffic.clone().settle_on_schedule(stop_rx.clone()));
    let read_targets = readers::ReadTargets {
        nodes: layout
            .nodes
            .iter()
            .filter(|n| !config.read_observers_only || n.role == "observer")
            .map(|n| n.api_url.clone())
            .collect(),
        accounts: traffic
            .accounts
            .iter()
            .map(|(k, _, _)| k.to_address())
            .collect(),
        signer: layout
            .reader_key()
            .ok()
            .map(|key| (key, layout.chain_id.clone())),
    };
    log(&format!(
        "load: {} tx/s offered for {} s{}",
        config.rate,
        config.duration_secs,
        if config.read_clients > 0 {
            " without readers, then as long with them"
        } else {
            ""
        }
    ));
    let load = tokio::spawn(traffic.clone().run_load(config.rate, stop_rx.clone()));
    let disk_sampler = config
        .prune_keep
        .map(|_| tokio::spawn(disk::sample(disk_nodes(config, layout), stop_rx.clone())));
    let without_readers = if config.read_clients > 0 {
        log("phase 1 of 2: no readers");
        let phase = phase::measure(&traffic, procs, &follow_node, config.duration_secs).await?;
        log(&format!(
            "phase 2 of 2: with readers ({} explorer-like clients)",
            config.read_clients
        ));
        Some(phase)
    } else {
        None
    };
    let readers = readers::Readers::start(config.read_clients, read_targets).map_err(|error| {
        BenchError::Io {
            action: "start the readers for",
            path: dir_of(layout),
            error,
        }
    })?;
    let disk_bytes_at_start: Vec<u64> = layout.nodes.iter().map(|n| data_bytes(&n.home)).collect();
    let main = phase::measure(&traffic, procs, &follow_node, config.duration_secs).await;
    let reads = {
        use std::sync::atomic::Ordering::Relaxed;
        let counts = &readers.counts;
        ReadCounts {
            clients: config.read_clients,
            ok: counts.ok.load(Relaxed),
            errors: counts.errors.load(Relaxed),
            events: counts.events.load(Relaxed),
            event_stream_errors: counts.event_stream_errors.load(Relaxed),
        }
    };
    tokio::task::block_in_place(|| readers.stop());
    let _ = stop_tx.send(true);
    let _ = load.await;
    let _ = settler.await;
    let disk = match disk_sampler {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut main = main?;
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while traffic.outstanding() > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    follower.abort();
    let settlement = settlement_json(&traffic).await;
    main.read_intervals(&follow_node).await;
    let without_readers = match without_readers {
        Some(mut phase) => {
            phase.read_intervals(&follow_node).await;
            Some(phase)
        }
        None => None,
    };
    let stats = traffic
        .stats
        .lock()
        .map_err(|_| BenchError::StatsPoisoned)?;
    Ok(LoadSummary {
        submitted: stats.submitted,
        committed_ok_total: stats.committed_ok,
        rejected: json!(stats.rejected),
        accounts: traffic.accounts.len(),
        disk_bytes_at_start,
        settlement,
        reads,
        main,
        without_readers,
        disk,
    })
}

/// After the load: settle every window the schedule closed, and say how
/// many closed and settled (`error` if the nodes could not be asked).
async fn settlement_json(traffic: &Traffic) -> Value {
    match traffic.settle_windows().await {
        Ok(p) => {
            log(&format!(
                "settlement: {} windows closed on schedule (every {} s), {} settled",
                p.windows_closed,
                p.period_ms / 1_000,
                p.windows_settled()
            ));
            json!({
                "period_ms": p.period_ms,
                "windows_closed": p.windows_closed,
                "windows_settled": p.windows_settled(),
            })
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

/// The folder a layout's nodes live in (for error messages).
fn dir_of(layout: &Layout) -> PathBuf {
    layout
        .nodes
        .first()
        .and_then(|n| n.home.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The load driver over the layout's cooperatives, its accounts registered.
async fn register_load(config: &BenchConfig, layout: &Layout) -> Result<Traffic, BenchError> {
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
        .collect::<Result<Vec<_>, BenchError>>()?;
    let members = config
        .members
        .unwrap_or_else(|| members_for_rate(config.rate, coops.len()))
        .max(1);
    let mut traffic = Traffic::new(&layout.chain_id, coops, members, (members / 10).max(2));
    log(&format!(
        "registering {} members and merchants ...",
        traffic.accounts.len()
    ));
    traffic.setup().await.map_err(BenchError::Setup)?;
    Ok(traffic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_follow_the_rate_within_bounds() {
        assert_eq!(members_for_rate(1_000, 5), 400);
        assert_eq!(members_for_rate(2_500, 5), 1_000);
        assert_eq!(members_for_rate(10, 5), MEMBERS_PER_COOP_MIN);
        assert_eq!(members_for_rate(RATE_MAX, 5), MEMBERS_PER_COOP_MAX);
        assert_eq!(members_for_rate(u64::MAX, 0), MEMBERS_PER_COOP_MAX);
    }

    #[test]
    fn the_cap_follows_the_rate_and_period_within_bounds() {
        assert_eq!(ndc_for_rate(1_000, 10), 200_000_000);
        assert_eq!(ndc_for_rate(RATE_MAX, 10), 2_000_000_000);
        assert_eq!(ndc_for_rate(10, 10), layout::DEMO_NDC);
        assert_eq!(ndc_for_rate(u64::MAX, u64::MAX), u64::MAX);
    }
}
