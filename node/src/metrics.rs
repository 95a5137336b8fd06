//! Counters and a latency histogram, rendered in Prometheus text format.
//!
//! `/metrics` ([`scrape`]) is this node's own counters ([`Metrics`]), the
//! committed state's figures ([`committed`], from the view built once per
//! block), the health judgement ([`health`]) and the HTTP refusals. The
//! dashboard and alert rules in `deploy/monitoring/` read these series;
//! README "Monitoring a node" says what each panel and alert means. Every
//! value is an integer, and nothing a scrape does walks data that grows
//! with the ledger.

pub mod committed;
pub mod disk;
pub mod health;
pub mod signatures;

#[cfg(test)]
mod deploy_names;

use crate::committed_view::CommittedView;
use crate::p2p::P2pStats;
use disk::DiskUsage;
use kopnet_consensus::{CommitCertificate, PublicKey, ValidatorSet};
use signatures::Signatures;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Upper bounds (ms) of the commit latency histogram buckets.
pub const LATENCY_BUCKETS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800,
];

/// How many recent commit instants are kept to measure the block interval.
pub const COMMIT_TIMES_MAX: usize = 21;

/// A percentile of the commit latency histogram: the upper bound of the bucket
/// it falls in, so "at most this many ms"; `over_max` when it lies beyond the
/// last bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyBound {
    AtMost(u64),
    OverMax,
}

/// The node's own measure of the time between its last commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitIntervals {
    /// Between the last two commits.
    pub last_ms: u64,
    /// Mean over the last `intervals` gaps.
    pub mean_ms: u64,
    pub intervals: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub height: AtomicU64,
    pub round: AtomicU64,
    pub txs_committed: AtomicU64,
    pub txs_failed: AtomicU64,
    pub blocks_committed: AtomicU64,
    pub mempool_size: AtomicU64,
    pub peers: AtomicU64,
    /// Conflicting consensus messages (equivocations) this node saw.
    pub evidence_seen: AtomicU64,
    /// Catch-up peers this node caught with a false claim or a bad page.
    pub catch_up_penalties: AtomicU64,
    /// Gossiped transaction batches dropped because verification was
    /// that far behind (`runtime::INGEST_QUEUE_BYTES`).
    pub gossip_batches_dropped_busy: AtomicU64,
    /// Blocks whose commit certificate is from a round above 0: the
    /// round-0 proposer was absent or too slow.
    pub blocks_round_above_zero: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// When the last few blocks were committed here (oldest first).
    commit_times: Mutex<VecDeque<Instant>>,
    /// The networking layer's budget and ban counters, once it runs.
    p2p: OnceLock<Arc<P2pStats>>,
    /// Messages a deliberately hostile node sent, by behaviour (only a
    /// `fault-injection` build with `KOPNET_FAULT` set ever counts one).
    hostile_sent: Mutex<BTreeMap<&'static str, u64>>,
    /// Who signed the certificates of the blocks committed here.
    signatures: Mutex<Signatures>,
    /// The last reading of the data directory (the disk watcher's).
    disk_usage: Mutex<Option<DiskUsage>>,
}

/// Everything `GET /metrics` answers but the HTTP refusals (the front
/// adds those): the node's counters, the committed state's figures from
/// `view`, and `health` judged at `now`.
pub fn scrape(
    metrics: &Metrics,
    view: &CommittedView,
    health: &crate::api::health::Health,
    now: Instant,
) -> String {
    let mut out = metrics.render();
    committed::render(view, &mut out);
    health::render(health, view.height, now, &mut out);
    out
}

/// One unlabelled series in Prometheus' text format.
fn write_series(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
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

    /// How many submit-to-commit latencies were recorded.
    pub fn latency_count(&self) -> u64 {
        self.latency_count.load(Ordering::Relaxed)
    }

    /// The `percent`-th percentile (1..=100) of the recorded latencies,
    /// read from the histogram; `None` when nothing was recorded.
    pub fn latency_percentile(&self, percent: u64) -> Option<LatencyBound> {
        let count = self.latency_count();
        if count == 0 || !(1..=100).contains(&percent) {
            return None;
        }
        // The 1-based rank of the percentile sample: ceil(percent * count / 100).
        let rank = u128::from(count)
            .checked_mul(u128::from(percent))?
            .div_ceil(100);
        let rank = u64::try_from(rank).ok()?.clamp(1, count);
        // Buckets are cumulative: each counts every latency at or below its bound.
        Some(
            LATENCY_BUCKETS_MS
                .iter()
                .zip(&self.latency_buckets)
                .find(|(_, bucket)| bucket.load(Ordering::Relaxed) >= rank)
                .map_or(LatencyBound::OverMax, |(bound, _)| {
                    LatencyBound::AtMost(*bound)
                }),
        )
    }

    /// Note that a block was just committed.
    pub fn observe_commit(&self, at: Instant) {
        if let Ok(mut times) = self.commit_times.lock() {
            times.push_back(at);
            while times.len() > COMMIT_TIMES_MAX {
                times.pop_front();
            }
        }
    }

    /// The interval between the last commits; `None` before the second.
    pub fn commit_intervals(&self) -> Option<CommitIntervals> {
        let times = self.commit_times.lock().ok()?;
        let (first, last) = (times.front()?, times.back()?);
        let intervals = u64::try_from(times.len().checked_sub(1)?).ok()?;
        if intervals == 0 {
            return None;
        }
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let before_last = times.get(times.len().checked_sub(2)?)?;
        Some(CommitIntervals {
            last_ms: ms(last.saturating_duration_since(*before_last)),
            mean_ms: ms(last.saturating_duration_since(*first)) / intervals,
            intervals,
        })
    }

    /// Count a committed block's certificate: its round, and who of
    /// `set` (the validator set of its height) signed it; `coop_of` names
    /// a validator's cooperative.
    pub fn observe_certificate(
        &self,
        certificate: &CommitCertificate,
        set: &ValidatorSet,
        coop_of: impl Fn(&PublicKey) -> Option<String>,
    ) {
        if certificate.round > 0 {
            self.blocks_round_above_zero.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut signatures) = self.signatures.lock() {
            signatures.note(certificate, set, coop_of);
        }
    }

    /// A new reading of the data directory.
    pub fn observe_disk_usage(&self, usage: DiskUsage) {
        if let Ok(mut slot) = self.disk_usage.lock() {
            *slot = Some(usage);
        }
    }

    /// Export the networking layer's counters (the first call wins; a node
    /// has one networking layer).
    pub fn attach_p2p(&self, stats: Arc<P2pStats>) {
        let _ = self.p2p.set(stats);
    }

    /// Count a rejection by reason code.
    pub fn reject(&self, code: &'static str) {
        if let Ok(mut map) = self.rejected.lock() {
            let count = map.entry(code).or_insert(0);
            *count = count.saturating_add(1);
        }
    }

    /// Count `n` messages a hostile behaviour sent.
    pub fn hostile_sent(&self, behaviour: &'static str, n: u64) {
        if let Ok(mut map) = self.hostile_sent.lock() {
            let count = map.entry(behaviour).or_insert(0);
            *count = count.saturating_add(n);
        }
    }

    pub fn hostile_sent_by_behaviour(&self) -> BTreeMap<&'static str, u64> {
        self.hostile_sent
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    pub fn rejected(&self) -> BTreeMap<&'static str, u64> {
        self.rejected.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The metrics in Prometheus' text format: the counters and gauges, the
    /// commit-latency histogram, the rejections by reason, the validators'
    /// certificate signatures and the data directory's size.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_counters_and_gauges(&mut out);
        self.render_p2p(&mut out);
        self.render_latency_histogram(&mut out);
        self.render_rejections(&mut out);
        self.render_hostile(&mut out);
        if let Ok(signatures) = self.signatures.lock() {
            signatures.render(&mut out);
        }
        if let Some(usage) = self.disk_usage.lock().ok().and_then(|u| u.clone()) {
            usage.render(&mut out);
        }
        out
    }

    fn render_counters_and_gauges(&self, out: &mut String) {
        // (name, help, kind, value)
        let series: [(&str, &str, &str, &AtomicU64); 11] = [
            ("kopnet_height", "Committed height.", "gauge", &self.height),
            (
                "kopnet_round",
                "Current consensus round.",
                "gauge",
                &self.round,
            ),
            (
                "kopnet_txs_committed_total",
                "Transactions committed (applied or rejected in a block).",
                "counter",
                &self.txs_committed,
            ),
            (
                "kopnet_txs_failed_total",
                "Committed transactions whose result was a rejection.",
                "counter",
                &self.txs_failed,
            ),
            (
                "kopnet_blocks_committed_total",
                "Blocks committed.",
                "counter",
                &self.blocks_committed,
            ),
            (
                "kopnet_mempool_size",
                "Pending transactions.",
                "gauge",
                &self.mempool_size,
            ),
            ("kopnet_peers", "Connected peers.", "gauge", &self.peers),
            (
                "kopnet_evidence_seen_total",
                "Equivocations (conflicting signed votes or proposals) this node saw.",
                "counter",
                &self.evidence_seen,
            ),
            (
                "kopnet_catch_up_penalties_total",
                "Catch-up peers caught with a false height claim or a page that does not verify.",
                "counter",
                &self.catch_up_penalties,
            ),
            (
                "kopnet_gossip_tx_batches_dropped_busy_total",
                "Gossiped transaction batches dropped unverified because the node was that far behind verifying earlier ones.",
                "counter",
                &self.gossip_batches_dropped_busy,
            ),
            (
                "kopnet_blocks_round_above_zero_total",
                "Blocks committed whose certificate is from a consensus round above 0 (the round-0 proposer was absent or too slow).",
                "counter",
                &self.blocks_round_above_zero,
            ),
        ];
        for (name, help, kind, value) in series {
            write_series(out, name, help, kind, value.load(Ordering::Relaxed));
        }
    }

    /// The per-peer budget and ban counters; zero until the networking
    /// layer is attached, so the series always exist.
    fn render_p2p(&self, out: &mut String) {
        let stats = self.p2p.get();
        let get = |read: fn(&P2pStats) -> u64| stats.map_or(0, |stats| read(stats));
        // (name, help, kind, value)
        let series: [(&str, &str, &str, u64); 7] = [
            (
                "kopnet_p2p_penalties_total",
                "Strikes recorded against peers (any offence).",
                "counter",
                get(P2pStats::penalties_total),
            ),
            (
                "kopnet_p2p_bans_total",
                "Peers disconnected and banned.",
                "counter",
                get(P2pStats::bans_total),
            ),
            (
                "kopnet_p2p_banned_peers",
                "Peers banned right now.",
                "gauge",
                get(P2pStats::banned_peers),
            ),
            (
                "kopnet_p2p_dropped_over_budget_total",
                "Gossip messages and catch-up requests dropped because their sender was over its budget.",
                "counter",
                get(P2pStats::dropped_over_budget_total),
            ),
            (
                "kopnet_p2p_dropped_queue_full_total",
                "Gossip messages and catch-up requests dropped because the node had not taken earlier ones.",
                "counter",
                get(P2pStats::dropped_queue_full_total),
            ),
            (
                "kopnet_p2p_bytes_sent_total",
                "Bytes written to peers' connections (noise, yamux and every protocol included).",
                "counter",
                get(P2pStats::bytes_sent_total),
            ),
            (
                "kopnet_p2p_bytes_received_total",
                "Bytes read from peers' connections.",
                "counter",
                get(P2pStats::bytes_received_total),
            ),
        ];
        for (name, help, kind, v) in series {
            write_series(out, name, help, kind, v);
        }
    }

    fn render_latency_histogram(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
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
    }

    fn render_rejections(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP kopnet_txs_rejected_total Transactions rejected, by reason.\n# TYPE kopnet_txs_rejected_total counter");
        for (code, n) in self.rejected() {
            let _ = writeln!(out, "kopnet_txs_rejected_total{{reason=\"{code}\"}} {n}");
        }
    }
}

impl Metrics {
    /// Only a hostile node has the series at all.
    fn render_hostile(&self, out: &mut String) {
        let sent = self.hostile_sent_by_behaviour();
        if sent.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP kopnet_hostile_messages_sent_total Messages this deliberately hostile node sent (fault injection), by behaviour.\n# TYPE kopnet_hostile_messages_sent_total counter");
        for (behaviour, n) in sent {
            let _ = writeln!(
                out,
                "kopnet_hostile_messages_sent_total{{behaviour=\"{behaviour}\"}} {n}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_come_from_the_histogram_buckets() {
        let m = Metrics::default();
        assert_eq!(m.latency_percentile(50), None);
        // 98 fast commits, one slow, one beyond the last bucket.
        for _ in 0..98 {
            m.observe_commit_latency(30);
        }
        m.observe_commit_latency(700);
        m.observe_commit_latency(20_000);
        assert_eq!(m.latency_count(), 100);
        assert_eq!(m.latency_percentile(50), Some(LatencyBound::AtMost(50)));
        assert_eq!(m.latency_percentile(98), Some(LatencyBound::AtMost(50)));
        assert_eq!(m.latency_percentile(99), Some(LatencyBound::AtMost(800)));
        assert_eq!(m.latency_percentile(100), Some(LatencyBound::OverMax));
        assert_eq!(m.latency_percentile(0), None);
        assert_eq!(m.latency_percentile(101), None);
    }

    #[test]
    fn p2p_series_are_exported_before_and_after_the_layer_is_attached() {
        let m = Metrics::default();
        let names = [
            "kopnet_p2p_penalties_total",
            "kopnet_p2p_bans_total",
            "kopnet_p2p_banned_peers",
            "kopnet_p2p_dropped_over_budget_total",
        ];
        let before = m.render();
        for name in names {
            assert!(before.lines().any(|l| l == format!("{name} 0")), "{before}");
        }
        let stats = Arc::new(P2pStats::default());
        m.attach_p2p(stats.clone());
        stats.count_penalty();
        stats.count_penalty();
        stats.count_ban();
        stats.set_banned_peers(1);
        stats.count_dropped_over_budget();
        let after = m.render();
        for (name, value) in names.into_iter().zip([2, 1, 1, 1]) {
            assert!(
                after.lines().any(|l| l == format!("{name} {value}")),
                "{name} {value} in {after}"
            );
        }
        assert!(after.contains("# TYPE kopnet_p2p_banned_peers gauge"));
    }

    #[test]
    fn commit_intervals_are_measured_over_the_last_commits() {
        let m = Metrics::default();
        let t0 = Instant::now();
        assert_eq!(m.commit_intervals(), None);
        m.observe_commit(t0);
        assert_eq!(m.commit_intervals(), None);
        m.observe_commit(t0 + Duration::from_millis(300));
        m.observe_commit(t0 + Duration::from_millis(1_000));
        assert_eq!(
            m.commit_intervals(),
            Some(CommitIntervals {
                last_ms: 700,
                mean_ms: 500,
                intervals: 2
            })
        );
        // Bounded: only the last COMMIT_TIMES_MAX instants count.
        for i in 0..100u64 {
            m.observe_commit(t0 + Duration::from_millis(2_000 + i * 100));
        }
        let c = m.commit_intervals().unwrap();
        assert_eq!((c.last_ms, c.mean_ms, c.intervals), (100, 100, 20));
    }

    #[test]
    fn hostile_messages_are_counted_by_behaviour_and_only_then_rendered() {
        let m = Metrics::default();
        assert!(!m.render().contains("kopnet_hostile_messages_sent_total"));
        m.hostile_sent("equivocate", 3);
        m.hostile_sent("equivocate", 2);
        m.hostile_sent("gossip-spam", 1);
        let text = m.render();
        assert!(text.contains("kopnet_hostile_messages_sent_total{behaviour=\"equivocate\"} 5"));
        assert!(text.contains("kopnet_hostile_messages_sent_total{behaviour=\"gossip-spam\"} 1"));
    }
}
