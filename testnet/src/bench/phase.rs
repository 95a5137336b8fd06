//! One timed phase of the load: what committed in it (applied and refused),
//! the latencies of its commits, the CPU each node, the bench process and
//! the machine used, and the heights it spanned. The run without readers
//! and the run with them are both measured by [`measure`], so their
//! figures mean the same thing.

use super::intervals::{self, CommitIntervals};
use super::{log, readers, sampler, BenchError, SecondSample};
use crate::cluster::process::NodeProcess;
use crate::cluster::traffic::{percentile, Traffic};
use kopnet_node::api::client::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The labels of the load's payments (what "applied payments" counts):
/// a request's payment is one, the request itself and payout lines are not.
pub const PAYMENT_KINDS: [&str; 5] = [
    "merchant_payment_cross",
    "merchant_payment_on_us",
    "member_transfer",
    "taxi_driver_at_consumer_coop",
    "request_paid",
];

/// What one timed phase measured.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    pub elapsed_secs: f64,
    /// One sample per second.
    pub samples: Vec<SecondSample>,
    /// Committed in the phase (the sum of the samples).
    pub committed: u64,
    /// What committed in the phase, applied (by kind) and refused.
    pub outcomes: Outcomes,
    /// Submit-to-commit latency of the commits seen in the phase.
    pub latency_ms_p50: u64,
    pub latency_ms_p95: u64,
    pub latency_ms_p99: u64,
    /// Per node, in layout order: CPU seconds used in the phase.
    pub node_cpu_seconds: Vec<f64>,
    /// The bench process (load driver, and readers if any).
    pub bench_cpu_seconds: f64,
    /// The readers' own threads.
    pub reader_cpu_seconds: f64,
    /// The machine's busy and idle CPU seconds, all cores, every process.
    pub machine_busy_seconds: f64,
    pub machine_idle_seconds: f64,
    /// The observer's heights at the start and at the end.
    pub heights: (u64, u64),
    /// Filled in after the load by [`Phase::read_intervals`].
    pub commit_intervals: CommitIntervals,
}

impl Phase {
    pub fn node_cpu_total(&self) -> f64 {
        self.node_cpu_seconds.iter().sum()
    }

    /// Read the phase's commit intervals back from `node`'s headers (done
    /// after the load, so that measuring adds nothing during it).
    pub async fn read_intervals(&mut self, node: &Client) {
        self.commit_intervals = intervals::measure(node, self.heights.0, self.heights.1).await;
    }
}

/// Where the latency samples and the commit count stood at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    committed: u64,
    latencies: usize,
}

impl Mark {
    fn now(traffic: &Traffic) -> Result<Mark, BenchError> {
        let stats = traffic
            .stats
            .lock()
            .map_err(|_| BenchError::StatsPoisoned)?;
        Ok(Mark {
            committed: stats.committed,
            latencies: stats.latencies_ms.len(),
        })
    }
}

/// What had committed at one moment, applied (by kind) and refused (by
/// result code): a phase's figures are the difference of two.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    pub committed: u64,
    pub applied: u64,
    pub applied_by_kind: BTreeMap<&'static str, u64>,
    pub refused: BTreeMap<String, u64>,
}

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

    /// Applied payments (the kinds of [`PAYMENT_KINDS`]).
    pub fn payments(&self) -> u64 {
        PAYMENT_KINDS
            .iter()
            .filter_map(|k| self.applied_by_kind.get(k))
            .sum()
    }

    pub fn refused_count(&self) -> u64 {
        self.committed.saturating_sub(self.applied)
    }
}

/// The node's committed height, if it answers.
pub async fn height_of(node: &Client) -> Option<u64> {
    node.status().await.ok().and_then(|s| s["height"].as_u64())
}

/// Measure `duration_secs` of the running load: commits are seen at
/// `follow_node`, CPU is read from `/proc` for `procs`, this process and
/// the machine at the start and at the end.
pub async fn measure(
    traffic: &Traffic,
    procs: &[NodeProcess],
    follow_node: &Client,
    duration_secs: u64,
) -> Result<Phase, BenchError> {
    let from = height_of(follow_node).await.unwrap_or(1);
    let base = Mark::now(traffic)?;
    let outcomes_at_start = Outcomes::now(traffic)?;
    let cpu_at_start = node_cpu_seconds(procs);
    let bench_at_start = sampler::own_cpu_seconds();
    let readers_at_start = readers::reader_cpu_seconds();
    let machine_at_start = sampler::machine_cpu_seconds();
    let started = Instant::now();

    let samples = sample_seconds(traffic, duration_secs, base).await?;

    let elapsed = started.elapsed();
    let node_cpu_seconds = node_cpu_seconds(procs)
        .iter()
        .zip(&cpu_at_start)
        .map(|(end, start)| (end - start).max(0.0))
        .collect();
    let machine_at_end = sampler::machine_cpu_seconds();
    let bench_cpu_seconds = (sampler::own_cpu_seconds() - bench_at_start).max(0.0);
    let reader_cpu_seconds = (readers::reader_cpu_seconds() - readers_at_start).max(0.0);
    let outcomes = Outcomes::now(traffic)?.since(&outcomes_at_start);
    let to = height_of(follow_node).await.unwrap_or(from);
    let (p50, p95, p99) = {
        let stats = traffic
            .stats
            .lock()
            .map_err(|_| BenchError::StatsPoisoned)?;
        let len = stats.latencies_ms.len();
        let lat = stats
            .latencies_ms
            .get(base.latencies.min(len)..)
            .unwrap_or(&[]);
        (
            percentile(lat, 50),
            percentile(lat, 95),
            percentile(lat, 99),
        )
    };
    Ok(Phase {
        elapsed_secs: elapsed.as_secs_f64(),
        committed: samples.iter().map(|s| s.committed).sum(),
        samples,
        outcomes,
        latency_ms_p50: p50,
        latency_ms_p95: p95,
        latency_ms_p99: p99,
        node_cpu_seconds,
        bench_cpu_seconds,
        reader_cpu_seconds,
        machine_busy_seconds: (machine_at_end.0 - machine_at_start.0).max(0.0),
        machine_idle_seconds: (machine_at_end.1 - machine_at_start.1).max(0.0),
        heights: (from, to),
        commit_intervals: CommitIntervals::default(),
    })
}

/// CPU seconds each node process has used so far, in layout order.
pub fn node_cpu_seconds(procs: &[NodeProcess]) -> Vec<f64> {
    procs
        .iter()
        .map(|p| sampler::cpu_seconds(p.pid().unwrap_or(0)))
        .collect()
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
