//! Counters and a latency histogram, rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (ms) of the commit latency histogram buckets.
pub const LATENCY_BUCKETS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800,
];

#[derive(Debug, Default)]
pub struct Metrics {
    pub height: AtomicU64,
    pub round: AtomicU64,
    pub txs_committed: AtomicU64,
    pub txs_failed: AtomicU64,
    pub blocks_committed: AtomicU64,
    pub mempool_size: AtomicU64,
    pub peers: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Record one transaction's submit-to-commit latency.
    pub fn observe_commit_latency(&self, ms: u64) {
        for (bound, bucket) in LATENCY_BUCKETS_MS.iter().zip(&self.latency_buckets) {
            if ms <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Count a rejection by reason code.
    pub fn reject(&self, code: &'static str) {
        if let Ok(mut map) = self.rejected.lock() {
            let count = map.entry(code).or_insert(0);
            *count = count.saturating_add(1);
        }
    }

    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        self.rejected.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "kopnet_height",
            "Committed height.",
            "gauge",
            get(&self.height),
        );
        gauge(
            &mut out,
            "kopnet_round",
            "Current consensus round.",
            "gauge",
            get(&self.round),
        );
        gauge(
            &mut out,
            "kopnet_txs_committed_total",
            "Transactions committed (applied or rejected in a block).",
            "counter",
            get(&self.txs_committed),
        );
        gauge(
            &mut out,
            "kopnet_txs_failed_total",
            "Committed transactions whose result was a rejection.",
            "counter",
            get(&self.txs_failed),
        );
        gauge(
            &mut out,
            "kopnet_blocks_committed_total",
            "Blocks committed.",
            "counter",
            get(&self.blocks_committed),
        );
        gauge(
            &mut out,
            "kopnet_mempool_size",
            "Pending transactions.",
            "gauge",
            get(&self.mempool_size),
        );
        gauge(
            &mut out,
            "kopnet_peers",
            "Connected peers.",
            "gauge",
            get(&self.peers),
        );
        let _ = writeln!(out, "# HELP kopnet_commit_latency_ms Submit-to-commit latency of transactions submitted to this node.\n# TYPE kopnet_commit_latency_ms histogram");
        for (bound, bucket) in LATENCY_BUCKETS_MS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "kopnet_commit_latency_ms_bucket{{le=\"{bound}\"}} {}",
                get(bucket)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "kopnet_commit_latency_ms_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "kopnet_commit_latency_ms_sum {}",
            get(&self.latency_sum_ms)
        );
        let _ = writeln!(out, "kopnet_commit_latency_ms_count {count}");
        let _ = writeln!(out, "# HELP kopnet_txs_rejected_total Transactions rejected, by reason.\n# TYPE kopnet_txs_rejected_total counter");
        for (code, n) in self.rejected() {
            let _ = writeln!(out, "kopnet_txs_rejected_total{{reason=\"{code}\"}} {n}");
        }
        out
    }
}
