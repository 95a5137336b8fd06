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
pub mod intervals;
pub mod readers;
pub mod sampler;

use crate::cluster::layout::{self, GenesisRules, InitError, Layout};
use crate::cluster::process::{NodeProcess, NodeProcessError};
use crate::cluster::traffic::{percentile, Traffic, TrafficError};
use chart::ChartError;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::types::InvalidCoopId;
use kopnet_ledger::CoopId;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile::{self, KeyFileError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
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

/// How long the network gets to commit its first block.
const START_TIMEOUT: Duration = Duration::from_secs(60);
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
    #[error("node {node} exited during start-up; see {}", .log.display())]
    NodeExited { node: String, log: PathBuf },
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
    let rules = GenesisRules {
        settlement: SettlementSchedule::every(config.window_secs.saturating_mul(1_000)),
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
    let mut procs = Vec::new();
    for node in &layout.nodes {
        procs.push(NodeProcess::start(&node.id, &node.home)?);
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
    let (summary, samples) = result?;
    let figures: Vec<NodeFigures> = figures
        .into_iter()
        .zip(layout.nodes.iter())
        .map(|(mut f, n)| {
            f.disk_bytes = data_bytes(&n.home);
            f
        })
        .collect();
    let report = build_report(config, &summary, &samples, &figures);
    write_outputs(&config.out, &report, &samples)?;
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
    elapsed_secs: f64,
    submitted: u64,
    committed: u64,
    committed_ok: u64,
    latency_ms_p50: u64,
    latency_ms_p95: u64,
    latency_ms_p99: u64,
    rejected: Value,
    /// Demo accounts (members and merchants) of the load.
    accounts: usize,
    /// What committed in the timed window: applied and refused.
    outcomes: Outcomes,
    /// Per node (layout order), when the timed load started: bytes on disk
    /// and CPU seconds used so far (start-up and account setup), so that
    /// the report counts only what the timed load cost.
    disk_bytes_at_start: Vec<u64>,
    cpu_seconds_at_start: Vec<f64>,
    /// Windows closed on the schedule during the run and settled after.
    settlement: Value,
    /// Per node, CPU seconds used during the timed window only.
    cpu_seconds_in_window: Vec<f64>,
    reads: ReadSummary,
    commit_intervals: intervals::CommitIntervals,
    /// With readers: the phase before they started, under the same load.
    without_readers: Option<Phase>,
}

/// One timed phase of the load without readers: what committed, the
/// latencies and commit interval, and the CPU the nodes and the machine
/// used.
#[derive(Debug, Clone, Default)]
struct Phase {
    elapsed_secs: f64,
    committed: u64,
    latency_ms_p50: u64,
    latency_ms_p99: u64,
    commit_intervals: intervals::CommitIntervals,
    node_cpu_seconds: f64,
    bench_cpu_seconds: f64,
    machine_busy_seconds: f64,
    machine_idle_seconds: f64,
}

/// The readers and the machine over the timed window.
#[derive(Debug, Clone, Default)]
struct ReadSummary {
    clients: usize,
    ok: u64,
    errors: u64,
    events: u64,
    event_stream_errors: u64,
    /// CPU seconds of the readers' threads.
    reader_cpu_seconds: f64,
    /// CPU seconds of the whole bench process (load driver and readers).
    bench_cpu_seconds: f64,
    /// The machine's busy and idle CPU seconds, all cores, every process.
    machine_busy_seconds: f64,
    machine_idle_seconds: f64,
}

/// Where the latency samples and the commit count stood at the last sample.
#[derive(Debug, Clone, Copy)]
struct Mark {
    committed: u64,
    latencies: usize,
}

/// What had committed at one moment, applied (by kind) and refused (by
/// result code): the timed window's figures are the difference of two.
#[derive(Debug, Clone, Default)]
struct Outcomes {
    committed: u64,
    applied: u64,
    applied_by_kind: BTreeMap<&'static str, u64>,
    refused: BTreeMap<String, u64>,
}

/// The labels of the load's payments (what "applied payments" counts).
const PAYMENT_KINDS: [&str; 4] = [
    "merchant_payment_cross",
    "merchant_payment_on_us",
    "member_transfer",
    "taxi_driver_at_consumer_coop",
];

impl Outcomes {
    fn now(traffic: &Traffic) -> Result<Outcomes, BenchError> {
        let stats = traffic
            .stats
            .lock()
            .map_err(|_| BenchError::StatsPoisoned)?;
        Ok(Outcomes {
            committed: stats.committed,
            applied: stats.committed_ok,
            applied_by_kind: stats.by_kind.clone(),
            refused: stats.committed_refused.clone(),
        })
    }

    /// What committed between `earlier` and `self`.
    fn since(&self, earlier: &Outcomes) -> Outcomes {
        let diff = |now: u64, then: Option<&u64>| now.saturating_sub(then.copied().unwrap_or(0));
        Outcomes {
            committed: self.committed.saturating_sub(earlier.committed),
            applied: self.applied.saturating_sub(earlier.applied),
            applied_by_kind: self
                .applied_by_kind
                .iter()
                .map(|(k, n)| (*k, diff(*n, earlier.applied_by_kind.get(k))))
                .filter(|(_, n)| *n > 0)
                .collect(),
            refused: self
                .refused
                .iter()
                .map(|(k, n)| (k.clone(), diff(*n, earlier.refused.get(k))))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }

    fn payments(&self) -> u64 {
        PAYMENT_KINDS
            .iter()
            .filter_map(|k| self.applied_by_kind.get(k))
            .sum()
    }
}

async fn drive(
    config: &BenchConfig,
    layout: &Layout,
    procs: &mut [NodeProcess],
) -> Result<(LoadSummary, Vec<SecondSample>), BenchError> {
    let clients: Vec<(String, Client)> = layout
        .nodes
        .iter()
        .map(|n| (n.id.clone(), Client::new(&n.api_url)))
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
        .map(|n| Client::new(&n.api_url))
        .ok_or(BenchError::NoNodes)?;
    let height_at_start = follow_node
        .status()
        .await
        .ok()
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(1);
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
    let without_readers = if config.read_clients > 0 {
        Some(phase_without_readers(config, &traffic, procs, &follow_node).await?)
    } else {
        None
    };
    if config.read_clients > 0 {
        log(&format!(
            "readers: {} explorer-like clients",
            config.read_clients
        ));
    }
    let readers = readers::Readers::start(config.read_clients, read_targets).map_err(|error| {
        BenchError::Io {
            action: "start the readers for",
            path: dir_of(layout),
            error,
        }
    })?;
    let reader_cpu_at_start = readers::reader_cpu_seconds();
    let bench_cpu_at_start = sampler::own_cpu_seconds();
    let machine_at_start = sampler::machine_cpu_seconds();
    let base = mark(&traffic)?;
    let outcomes_at_start = Outcomes::now(&traffic)?;
    let disk_bytes_at_start: Vec<u64> = layout.nodes.iter().map(|n| data_bytes(&n.home)).collect();
    let cpu_seconds_at_start: Vec<f64> = procs
        .iter()
        .map(|p| sampler::cpu_seconds(p.pid().unwrap_or(0)))
        .collect();
    let height_at_start = match &without_readers {
        Some(_) => height_of(&follow_node).await.unwrap_or(height_at_start),
        None => height_at_start,
    };
    let started = Instant::now();
    let samples = sample_seconds(&traffic, config.duration_secs, base).await?;
    let elapsed = started.elapsed();
    let outcomes = Outcomes::now(&traffic)?.since(&outcomes_at_start);
    let cpu_seconds_in_window: Vec<f64> = procs
        .iter()
        .zip(&cpu_seconds_at_start)
        .map(|(p, start)| (sampler::cpu_seconds(p.pid().unwrap_or(0)) - start).max(0.0))
        .collect();
    let machine_at_end = sampler::machine_cpu_seconds();
    let mut reads = ReadSummary {
        clients: config.read_clients,
        reader_cpu_seconds: (readers::reader_cpu_seconds() - reader_cpu_at_start).max(0.0),
        bench_cpu_seconds: (sampler::own_cpu_seconds() - bench_cpu_at_start).max(0.0),
        machine_busy_seconds: (machine_at_end.0 - machine_at_start.0).max(0.0),
        machine_idle_seconds: (machine_at_end.1 - machine_at_start.1).max(0.0),
        ..ReadSummary::default()
    };
    {
        use std::sync::atomic::Ordering::Relaxed;
        let counts = &readers.counts;
        reads.ok = counts.ok.load(Relaxed);
        reads.errors = counts.errors.load(Relaxed);
        reads.events = counts.events.load(Relaxed);
        reads.event_stream_errors = counts.event_stream_errors.load(Relaxed);
    }
    let height_at_end = follow_node
        .status()
        .await
        .ok()
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(height_at_start);
    tokio::task::block_in_place(|| readers.stop());
    let _ = stop_tx.send(true);
    let _ = load.await;
    let _ = settler.await;
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while traffic.outstanding() > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    follower.abort();
    let settlement = settlement_json(&traffic).await;
    let commit_intervals = intervals::measure(&follow_node, height_at_start, height_at_end).await;
    let without_readers = match without_readers {
        Some((mut phase, (from, to))) => {
            phase.commit_intervals = intervals::measure(&follow_node, from, to).await;
            Some(phase)
        }
        None => None,
    };
    let stats = traffic
        .stats
        .lock()
        .map_err(|_| BenchError::StatsPoisoned)?;
    let lat = stats.latencies_ms.get(base.latencies..).unwrap_or(&[]);
    // Throughput counts only what committed during the timed window.
    let committed_in_window: u64 = samples.iter().map(|s| s.committed).sum();
    let summary = LoadSummary {
        elapsed_secs: elapsed.as_secs_f64(),
        submitted: stats.submitted,
        committed: committed_in_window,
        committed_ok: stats.committed_ok,
        latency_ms_p50: percentile(lat, 50),
        latency_ms_p95: percentile(lat, 95),
        latency_ms_p99: percentile(lat, 99),
        rejected: json!(stats.rejected),
        accounts: traffic.accounts.len(),
        outcomes,
        disk_bytes_at_start,
        cpu_seconds_at_start,
        settlement,
        cpu_seconds_in_window,
        reads,
        commit_intervals,
        without_readers,
    };
    Ok((summary, samples))
}

/// The node's committed height, if it answers.
async fn height_of(node: &Client) -> Option<u64> {
    node.status().await.ok().and_then(|s| s["height"].as_u64())
}

/// The phase before the readers start: `duration_secs` of the load alone.
/// Returns its figures and the heights it spanned (the commit interval is
/// read back after the run, as for the main phase).
async fn phase_without_readers(
    config: &BenchConfig,
    traffic: &Traffic,
    procs: &[NodeProcess],
    follow_node: &Client,
) -> Result<(Phase, (u64, u64)), BenchError> {
    log("phase 1 of 2: no readers");
    let from = height_of(follow_node).await.unwrap_or(1);
    let base = mark(traffic)?;
    let cpu_at_start: Vec<f64> = procs
        .iter()
        .map(|p| sampler::cpu_seconds(p.pid().unwrap_or(0)))
        .collect();
    let bench_at_start = sampler::own_cpu_seconds();
    let machine_at_start = sampler::machine_cpu_seconds();
    let started = Instant::now();
    let samples = sample_seconds(traffic, config.duration_secs, base).await?;
    let elapsed = started.elapsed();
    let node_cpu_seconds: f64 = procs
        .iter()
        .zip(&cpu_at_start)
        .map(|(p, start)| (sampler::cpu_seconds(p.pid().unwrap_or(0)) - start).max(0.0))
        .sum();
    let machine_at_end = sampler::machine_cpu_seconds();
    let to = height_of(follow_node).await.unwrap_or(from);
    let (p50, p99) = {
        let stats = traffic
            .stats
            .lock()
            .map_err(|_| BenchError::StatsPoisoned)?;
        let len = stats.latencies_ms.len();
        let lat = stats
            .latencies_ms
            .get(base.latencies.min(len)..)
            .unwrap_or(&[]);
        (percentile(lat, 50), percentile(lat, 99))
    };
    log("phase 2 of 2: with readers");
    Ok((
        Phase {
            elapsed_secs: elapsed.as_secs_f64(),
            committed: samples.iter().map(|s| s.committed).sum(),
            latency_ms_p50: p50,
            latency_ms_p99: p99,
            commit_intervals: intervals::CommitIntervals::default(),
            node_cpu_seconds,
            bench_cpu_seconds: (sampler::own_cpu_seconds() - bench_at_start).max(0.0),
            machine_busy_seconds: (machine_at_end.0 - machine_at_start.0).max(0.0),
            machine_idle_seconds: (machine_at_end.1 - machine_at_start.1).max(0.0),
        },
        (from, to),
    ))
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
            Ok((
                CoopId::new(&c.id)?,
                keyfile::read(&c.key)?,
                Client::new(&c.node),
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

fn mark(traffic: &Traffic) -> Result<Mark, BenchError> {
    let stats = traffic
        .stats
        .lock()
        .map_err(|_| BenchError::StatsPoisoned)?;
    Ok(Mark {
        committed: stats.committed,
        latencies: stats.latencies_ms.len(),
    })
}

/// One sample per second for `duration_secs`, each counting what committed
/// since the previous one, with the latencies of those commits.
async fn sample_seconds(
    traffic: &Traffic,
    duration_secs: u64,
    base: Mark,
) -> Result<Vec<SecondSample>, BenchError> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(duration_secs);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut samples = Vec::new();
    let mut last = base;
    while Instant::now() < deadline {
        tick.tick().await;
        traffic.sweep();
        let (now, p50, p99) = {
            let stats = traffic
                .stats
                .lock()
                .map_err(|_| BenchError::StatsPoisoned)?;
            let len = stats.latencies_ms.len();
            let window = stats
                .latencies_ms
                .get(last.latencies.min(len)..)
                .unwrap_or(&[]);
            let now = Mark {
                committed: stats.committed,
                latencies: len,
            };
            (now, percentile(window, 50), percentile(window, 99))
        };
        let sample = SecondSample {
            second: started.elapsed().as_secs(),
            committed: now.committed.saturating_sub(last.committed),
            latency_ms_p50: p50,
            latency_ms_p99: p99,
        };
        last = now;
        log(&format!(
            "t={:>4}s {:>6} tx/s  p50 {:>5} ms  p99 {:>5} ms",
            sample.second, sample.committed, p50, p99
        ));
        samples.push(sample);
    }
    Ok(samples)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn build_report(
    config: &BenchConfig,
    s: &LoadSummary,
    samples: &[SecondSample],
    nodes: &[NodeFigures],
) -> Value {
    let secs = s.elapsed_secs.max(1.0);
    let tps = s.committed as f64 / secs;
    let committed = s.committed.max(1);
    // What the timed load added, per committed transaction.
    let disk_per_tx: Vec<f64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let start = s.disk_bytes_at_start.get(i).copied().unwrap_or(0);
            n.disk_bytes.saturating_sub(start) as f64 / committed as f64
        })
        .collect();
    let load_cpu: Vec<f64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let start = s.cpu_seconds_at_start.get(i).copied().unwrap_or(0.0);
            (n.cpu_seconds - start).max(0.0)
        })
        .collect();
    let rss_max = nodes.iter().map(|n| n.rss_mb_peak).fold(0.0, f64::max);
    let node_cpu_in_window: f64 = s.cpu_seconds_in_window.iter().sum();
    let r = &s.reads;
    let disk_max = disk_per_tx.iter().copied().fold(0.0, f64::max);
    let o = &s.outcomes;
    json!({
        "validators": config.validators,
        "observers": config.observers,
        "duration_s": config.duration_secs,
        "offered_rate": config.rate,
        "members_per_coop": config.members.map_or(Value::Null, |m| json!(m)),
        "accounts": s.accounts,
        "elapsed_s": round1(s.elapsed_secs),
        "submitted_txs": s.submitted,
        "committed_txs": s.committed,
        "committed_ok_total": s.committed_ok,
        "rejected_by_reason": s.rejected,
        "tps": round1(tps),
        "in_window": {
            "committed_txs": o.committed,
            "applied_txs": o.applied,
            "refused_txs": o.committed.saturating_sub(o.applied),
            "applied_share_percent": round1(100.0 * o.applied as f64 / o.committed.max(1) as f64),
            "applied_tps": round1(o.applied as f64 / secs),
            "applied_payments": o.payments(),
            "applied_payments_tps": round1(o.payments() as f64 / secs),
            "applied_by_kind": o.applied_by_kind,
            "refused_by_reason": o.refused,
        },
        "latency_ms_p50": s.latency_ms_p50,
        "latency_ms_p95": s.latency_ms_p95,
        "latency_ms_p99": s.latency_ms_p99,
        "rss_mb_max": round1(rss_max),
        "disk_bytes_per_tx": round1(disk_max),
        "commit_interval_ms": {
            "blocks": s.commit_intervals.blocks,
            "p50": s.commit_intervals.p50_ms,
            "p99": s.commit_intervals.p99_ms,
            "max": s.commit_intervals.max_ms,
        },
        "reads": {
            "clients": r.clients,
            "observers_only": config.read_observers_only,
            "requests_ok": r.ok,
            "errors": r.errors,
            "requests_per_s": round1(r.ok as f64 / secs),
            "block_events": r.events,
            "event_stream_errors": r.event_stream_errors,
            "reader_cpu_seconds": round1(r.reader_cpu_seconds),
        },
        "cpu_in_window": {
            "nodes_seconds": round1(node_cpu_in_window),
            "node_cpu_ms_per_committed_tx": round1(1000.0 * node_cpu_in_window / committed as f64),
            "bench_process_seconds": round1(r.bench_cpu_seconds),
            "bench_process_ms_per_committed_tx": round1(1000.0 * r.bench_cpu_seconds / committed as f64),
            "machine_busy_seconds": round1(r.machine_busy_seconds),
            "machine_idle_seconds": round1(r.machine_idle_seconds),
        },
        "nodes": nodes.iter().zip(disk_per_tx.iter()).zip(load_cpu.iter()).map(|((n, d), cpu)| json!({
            "id": n.id,
            "role": n.role,
            "cpu_seconds": round1(*cpu),
            "cpu_seconds_total": round1(n.cpu_seconds),
            "cpu_percent_of_one_core": round1(100.0 * cpu / secs),
            "rss_mb_peak": round1(n.rss_mb_peak),
            "disk_bytes": n.disk_bytes,
            "disk_bytes_per_tx": round1(*d),
        })).collect::<Vec<_>>(),
        "settlement": s.settlement,
        "without_readers": s.without_readers.as_ref().map(phase_json),
        "per_second": samples.iter().map(|x| json!({
            "second": x.second,
            "committed": x.committed,
            "latency_ms_p50": x.latency_ms_p50,
            "latency_ms_p99": x.latency_ms_p99,
        })).collect::<Vec<_>>(),
    })
}

/// A phase without readers, in the report's units.
fn phase_json(p: &Phase) -> Value {
    let secs = p.elapsed_secs.max(1.0);
    json!({
        "elapsed_s": round1(p.elapsed_secs),
        "committed_txs": p.committed,
        "tps": round1(p.committed as f64 / secs),
        "latency_ms_p50": p.latency_ms_p50,
        "latency_ms_p99": p.latency_ms_p99,
        "commit_interval_ms": {
            "blocks": p.commit_intervals.blocks,
            "p50": p.commit_intervals.p50_ms,
            "p99": p.commit_intervals.p99_ms,
            "max": p.commit_intervals.max_ms,
        },
        "cpu": {
            "nodes_seconds": round1(p.node_cpu_seconds),
            "node_cpu_ms_per_committed_tx": round1(1000.0 * p.node_cpu_seconds / p.committed.max(1) as f64),
            "bench_process_seconds": round1(p.bench_cpu_seconds),
            "machine_busy_seconds": round1(p.machine_busy_seconds),
            "machine_idle_seconds": round1(p.machine_idle_seconds),
        },
    })
}

/// The human table.
pub fn render_table(report: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "kopnet bench: {} validators + {} observers, offered {} tx/s for {} s, {} demo accounts\n",
        report["validators"],
        report["observers"],
        report["offered_rate"],
        report["duration_s"],
        report["accounts"]
    ));
    out.push_str(&format!(
        "  committed tx/s (observer)   {}\n  committed txs               {}\n  submitted txs               {}\n",
        report["tps"], report["committed_txs"], report["submitted_txs"]
    ));
    let w = &report["in_window"];
    out.push_str(&format!(
        "  applied / refused (window)  {} / {} of {} committed: {} % applied\n  applied tx/s                {} (payments {} /s)\n  refused by reason (window)  {}\n",
        w["applied_txs"], w["refused_txs"], w["committed_txs"], w["applied_share_percent"],
        w["applied_tps"], w["applied_payments_tps"], w["refused_by_reason"]
    ));
    out.push_str(&format!(
        "  latency p50/p95/p99 (ms)    {} / {} / {}\n",
        report["latency_ms_p50"], report["latency_ms_p95"], report["latency_ms_p99"]
    ));
    out.push_str(&format!(
        "  peak RSS max (MB)           {}\n  disk bytes per tx (max)     {}\n  not applied (whole run)     {}\n",
        report["rss_mb_max"], report["disk_bytes_per_tx"], report["rejected_by_reason"]
    ));
    let settlement = &report["settlement"];
    out.push_str(&format!(
        "  settlement windows          {} closed on schedule, {} settled\n",
        settlement["windows_closed"], settlement["windows_settled"]
    ));
    let iv = &report["commit_interval_ms"];
    out.push_str(&format!(
        "  commit interval p50/p99 (ms) {} / {} ({} blocks)\n",
        iv["p50"], iv["p99"], iv["blocks"]
    ));
    let reads = &report["reads"];
    out.push_str(&format!(
        "  readers                     {} clients: {} requests ({} /s), {} errors, {} block events, reader CPU {} s\n",
        reads["clients"], reads["requests_ok"], reads["requests_per_s"], reads["errors"],
        reads["block_events"], reads["reader_cpu_seconds"]
    ));
    let cpu = &report["cpu_in_window"];
    out.push_str(&format!(
        "  CPU in the window (s)       nodes {} ({} ms per committed tx), machine busy {} / idle {}\n  load driver CPU (s)         {} ({} ms per committed tx; the bench process, not counted in the nodes')\n",
        cpu["nodes_seconds"], cpu["node_cpu_ms_per_committed_tx"],
        cpu["machine_busy_seconds"], cpu["machine_idle_seconds"],
        cpu["bench_process_seconds"], cpu["bench_process_ms_per_committed_tx"]
    ));
    let before = &report["without_readers"];
    if before.is_object() {
        let iv = &before["commit_interval_ms"];
        let cpu = &before["cpu"];
        out.push_str(&format!(
            "  phase without readers       {} tx/s, latency p50/p99 {} / {} ms, commit interval p50/p99 {} / {} ms ({} blocks)\n\
             \x20                             CPU: nodes {} s ({} ms per committed tx), bench process {}, machine busy {} / idle {}\n",
            before["tps"], before["latency_ms_p50"], before["latency_ms_p99"],
            iv["p50"], iv["p99"], iv["blocks"],
            cpu["nodes_seconds"], cpu["node_cpu_ms_per_committed_tx"], cpu["bench_process_seconds"],
            cpu["machine_busy_seconds"], cpu["machine_idle_seconds"]
        ));
    }
    out.push_str(&format!(
        "\n  {:<18} {:<10} {:>8} {:>8} {:>10} {:>12} {:>10}\n",
        "node", "role", "cpu s", "cpu %", "rss MB", "disk bytes", "bytes/tx"
    ));
    for n in report["nodes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<18} {:<10} {:>8} {:>8} {:>10} {:>12} {:>10}\n",
            n["id"].as_str().unwrap_or("?"),
            n["role"].as_str().unwrap_or("?"),
            // serde_json's Display ignores width: pad the text instead.
            n["cpu_seconds"].to_string(),
            n["cpu_percent_of_one_core"].to_string(),
            n["rss_mb_peak"].to_string(),
            n["disk_bytes"].to_string(),
            n["disk_bytes_per_tx"].to_string()
        ));
    }
    out
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
}
