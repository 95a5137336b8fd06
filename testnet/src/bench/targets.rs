//! The performance targets of issue 21, judged from one run's figures.
//!
//! A run either measures the saturated network (`--max`) or a fixed
//! offered rate: throughput, applied share, CPU, disk and memory are
//! judged on a `--max` run, latency on a run offered 2,000 tx/s. A target
//! a run cannot show is "not in this run", never "met".
//!
//! What each figure is:
//! - **applied tx/s**: transactions committed *and applied* by the ledger
//!   in the timed window, divided by its length. Payments, the members'
//!   top-ups, the merchants' cash-outs and the settlement acknowledgements
//!   all count: each moved money. The report also gives payments alone.
//! - **applied share**: applied ÷ committed in the window (refused
//!   transactions are committed with a result code and cost the same work).
//! - **CPU per committed tx per node**: a node's CPU seconds in the window
//!   (`/proc/PID/stat`) ÷ committed transactions in the window; the target
//!   holds for the most expensive node.
//! - **disk per tx**: what the window added to a node's home (without its
//!   log) ÷ committed transactions, for the node that grew most.
//! - **RSS**: the largest peak resident set of any node.

use serde::Serialize;

/// Offered rate at which the latency targets are judged.
pub const LATENCY_RATE: u64 = 2_000;
pub const APPLIED_TPS_MIN: f64 = 5_000.0;
pub const APPLIED_SHARE_MIN_PERCENT: f64 = 95.0;
pub const CPU_US_PER_TX_MAX: f64 = 60.0;
pub const LATENCY_P50_MS_MAX: u64 = 100;
pub const LATENCY_P99_MS_MAX: u64 = 500;
pub const DISK_BYTES_PER_TX_MAX: f64 = 800.0;
pub const RSS_MB_MAX: f64 = 300.0;

/// The figures the targets are judged on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Whether the run was `--max`.
    pub saturated: bool,
    pub offered_rate: u64,
    pub applied_tps: f64,
    pub applied_share_percent: f64,
    /// The largest of the nodes' CPU µs per committed transaction.
    pub cpu_us_per_tx_max: f64,
    pub latency_ms_p50: u64,
    pub latency_ms_p99: u64,
    pub disk_bytes_per_tx_max: f64,
    pub rss_mb_max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    /// The run cannot show it (e.g. latency on a `--max` run).
    NotInThisRun,
}

impl Verdict {
    fn of(applies: bool, met: bool) -> Verdict {
        match (applies, met) {
            (false, _) => Verdict::NotInThisRun,
            (true, true) => Verdict::Met,
            (true, false) => Verdict::NotMet,
        }
    }
}

/// One target and how the run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub target: &'static str,
    pub measured: String,
    pub verdict: Verdict,
}

/// Judge every target on `f`.
pub fn judge(f: &Figures) -> Vec<Judged> {
    let at_rate = !f.saturated && f.offered_rate == LATENCY_RATE;
    vec![
        Judged {
            target: ">= 5,000 applied tx/s at --max",
            measured: format!("{:.1} applied tx/s", f.applied_tps),
            verdict: Verdict::of(f.saturated, f.applied_tps >= APPLIED_TPS_MIN),
        },
        Judged {
            target: ">= 95 % of committed applied at --max",
            measured: format!("{:.1} %", f.applied_share_percent),
            verdict: Verdict::of(
                f.saturated,
                f.applied_share_percent >= APPLIED_SHARE_MIN_PERCENT,
            ),
        },
        Judged {
            target: "<= 60 µs CPU per committed tx per node at --max",
            measured: format!("{:.0} µs (most expensive node)", f.cpu_us_per_tx_max),
            verdict: Verdict::of(f.saturated, f.cpu_us_per_tx_max <= CPU_US_PER_TX_MAX),
        },
        Judged {
            target: "p50 <= 100 ms at 2,000 tx/s offered",
            measured: format!("{} ms", f.latency_ms_p50),
            verdict: Verdict::of(at_rate, f.latency_ms_p50 <= LATENCY_P50_MS_MAX),
        },
        Judged {
            target: "p99 <= 500 ms at 2,000 tx/s offered",
            measured: format!("{} ms", f.latency_ms_p99),
            verdict: Verdict::of(at_rate, f.latency_ms_p99 <= LATENCY_P99_MS_MAX),
        },
        Judged {
            target: "<= 800 bytes of disk per committed tx",
            measured: format!("{:.0} B (node that grew most)", f.disk_bytes_per_tx_max),
            verdict: Verdict::of(true, f.disk_bytes_per_tx_max <= DISK_BYTES_PER_TX_MAX),
        },
        Judged {
            target: "RSS <= 300 MB per node",
            measured: format!("{:.1} MB (largest node)", f.rss_mb_max),
            verdict: Verdict::of(true, f.rss_mb_max <= RSS_MB_MAX),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(f: &Figures) -> Vec<Verdict> {
        judge(f).into_iter().map(|j| j.verdict).collect()
    }

    #[test]
    fn a_max_run_is_judged_on_throughput_not_latency() {
        let f = Figures {
            saturated: true,
            offered_rate: 20_000,
            applied_tps: 5_000.0,
            applied_share_percent: 95.0,
            cpu_us_per_tx_max: 60.0,
            latency_ms_p50: 10,
            latency_ms_p99: 10,
            disk_bytes_per_tx_max: 800.0,
            rss_mb_max: 300.0,
        };
        use Verdict::*;
        assert_eq!(
            verdicts(&f),
            [Met, Met, Met, NotInThisRun, NotInThisRun, Met, Met]
        );
        let worse = Figures {
            applied_tps: 4_999.9,
            applied_share_percent: 94.9,
            cpu_us_per_tx_max: 60.1,
            disk_bytes_per_tx_max: 800.1,
            rss_mb_max: 300.1,
            ..f
        };
        assert_eq!(
            verdicts(&worse),
            [
                NotMet,
                NotMet,
                NotMet,
                NotInThisRun,
                NotInThisRun,
                NotMet,
                NotMet
            ]
        );
    }

    #[test]
    fn latency_is_judged_only_at_the_stated_rate() {
        use Verdict::*;
        let at = Figures {
            offered_rate: LATENCY_RATE,
            latency_ms_p50: 100,
            latency_ms_p99: 501,
            ..Figures::default()
        };
        let v = verdicts(&at);
        assert_eq!(
            &v[..5],
            &[NotInThisRun, NotInThisRun, NotInThisRun, Met, NotMet]
        );
        let other = Figures {
            offered_rate: 1_000,
            ..at
        };
        assert_eq!(&verdicts(&other)[3..5], &[NotInThisRun, NotInThisRun]);
    }
}
