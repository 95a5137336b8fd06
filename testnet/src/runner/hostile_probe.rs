//! What the hostile phases read from the nodes: Prometheus counters at
//! `GET /metrics`, resident memory from `/proc/<pid>/status`, and the
//! evidence on the chain at `GET /v1/evidence`. Parsing is pure (tested
//! here); fetching is bounded by [`PROBE_TIMEOUT`] and [`PROBE_BYTES_MAX`].

use serde::Deserialize;
use std::time::Duration;

/// Deadline of one probe request.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest metrics or evidence answer read.
pub const PROBE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The honest nodes' p2p defence counters (any labels summed; a counter a
/// node does not export counts as 0, so a build without them reads zeros).
pub const PENALTIES: &str = "kopnet_p2p_penalties_total";
pub const BANS: &str = "kopnet_p2p_bans_total";
pub const DROPPED_OVER_BUDGET: &str = "kopnet_p2p_dropped_over_budget_total";
/// Peers a node bans right now (a gauge).
pub const BANNED_PEERS: &str = "kopnet_p2p_banned_peers";
/// What a hostile node counts of its own sending.
pub const HOSTILE_SENT: &str = "kopnet_hostile_messages_sent_total";

/// The sum of every series of metric `name` in Prometheus text, those with
/// `label` (`key`, `value`) only when given; 0 when there is none.
pub fn metric_sum(text: &str, name: &str, label: Option<(&str, &str)>) -> u64 {
    let mut sum: u64 = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(inner) => match inner.split_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            // Another metric whose name starts with `name`.
            None if !rest.starts_with(' ') => continue,
            None => ("", rest),
        };
        if let Some((key, want)) = label {
            let wanted = format!("{key}=\"{want}\"");
            if !labels.split(',').any(|l| l.trim() == wanted) {
                continue;
            }
        }
        // The value, then an optional timestamp; counters are whole numbers.
        let value = value.split_whitespace().next().unwrap_or("");
        let parsed = value
            .parse::<u64>()
            .ok()
            .or_else(|| value.parse::<f64>().ok().map(|v| v.max(0.0) as u64));
        sum = sum.saturating_add(parsed.unwrap_or(0));
    }
    sum
}

/// The three defence counters of one node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefenceCounters {
    pub penalties: u64,
    pub bans: u64,
    pub dropped_over_budget: u64,
}

impl DefenceCounters {
    pub fn parse(metrics: &str) -> DefenceCounters {
        DefenceCounters {
            penalties: metric_sum(metrics, PENALTIES, None),
            bans: metric_sum(metrics, BANS, None),
            dropped_over_budget: metric_sum(metrics, DROPPED_OVER_BUDGET, None),
        }
    }

    /// What grew since `before` (a node that restarted counts from 0).
    pub fn since(self, before: DefenceCounters) -> DefenceCounters {
        DefenceCounters {
            penalties: self.penalties.saturating_sub(before.penalties),
            bans: self.bans.saturating_sub(before.bans),
            dropped_over_budget: self
                .dropped_over_budget
                .saturating_sub(before.dropped_over_budget),
        }
    }

    pub fn plus(self, other: DefenceCounters) -> DefenceCounters {
        DefenceCounters {
            penalties: self.penalties.saturating_add(other.penalties),
            bans: self.bans.saturating_add(other.bans),
            dropped_over_budget: self
                .dropped_over_budget
                .saturating_add(other.dropped_over_budget),
        }
    }

    pub fn any(self) -> bool {
        self.penalties > 0 || self.bans > 0 || self.dropped_over_budget > 0
    }
}

/// `VmRSS` of a `/proc/<pid>/status` text, in bytes.
pub fn vm_rss_bytes(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb.saturating_mul(1024))
}

/// The resident memory of process `pid` now (`None` when it is gone or
/// this is not Linux).
pub fn rss_of(pid: u32) -> Option<u64> {
    vm_rss_bytes(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// One piece of evidence on the chain, as `GET /v1/evidence` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EvidenceEntry {
    /// The offender's ed25519 key, 64 hex digits.
    pub offender: String,
    /// `duplicate_vote` or `conflicting_proposal`.
    pub kind: String,
    pub height: u64,
    pub round: u32,
    /// The block that carries it.
    pub included_in_block: u64,
}

#[derive(Deserialize)]
struct EvidenceList {
    evidence: Vec<EvidenceEntry>,
}

/// Parse a `GET /v1/evidence` body.
pub fn parse_evidence(body: &str) -> Result<Vec<EvidenceEntry>, String> {
    serde_json::from_str::<EvidenceList>(body)
        .map(|list| list.evidence)
        .map_err(|e| format!("GET /v1/evidence answered something else: {e}"))
}

/// What asking a node for its evidence gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceAnswer {
    Listed(Vec<EvidenceEntry>),
    /// 404: the node has no evidence endpoint.
    NotAvailable,
    Failed(String),
}

/// A bounded HTTP GET: status and body.
async fn get(http: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let response = http
        .get(url)
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > PROBE_BYTES_MAX {
        return Err(format!("{url}: answer larger than {PROBE_BYTES_MAX} bytes"));
    }
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// `GET /metrics` of the node at `api_url` (`None` when it does not answer).
pub async fn fetch_metrics(http: &reqwest::Client, api_url: &str) -> Option<String> {
    match get(http, &format!("{api_url}/metrics")).await {
        Ok((200, body)) => Some(body),
        _ => None,
    }
}

/// `GET /v1/evidence` of the node at `api_url`.
pub async fn fetch_evidence(http: &reqwest::Client, api_url: &str) -> EvidenceAnswer {
    match get(http, &format!("{api_url}/v1/evidence")).await {
        Ok((200, body)) => match parse_evidence(&body) {
            Ok(list) => EvidenceAnswer::Listed(list),
            Err(e) => EvidenceAnswer::Failed(e),
        },
        Ok((404, _)) => EvidenceAnswer::NotAvailable,
        Ok((status, _)) => EvidenceAnswer::Failed(format!("GET /v1/evidence answered {status}")),
        Err(e) => EvidenceAnswer::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# HELP kopnet_p2p_penalties_total Penalties.
# TYPE kopnet_p2p_penalties_total counter
kopnet_p2p_penalties_total{reason=\"invalid\"} 3
kopnet_p2p_penalties_total{reason=\"flood\"} 4
kopnet_p2p_bans_total 1
kopnet_p2p_bans_total_extra 99
kopnet_hostile_messages_sent_total{behaviour=\"equivocate\"} 12
kopnet_hostile_messages_sent_total{behaviour=\"gossip-spam\"} 5 1700000000
kopnet_height 7
";

    #[test]
    fn counters_are_summed_over_labels_and_absent_ones_read_zero() {
        assert_eq!(metric_sum(METRICS, PENALTIES, None), 7);
        assert_eq!(metric_sum(METRICS, BANS, None), 1);
        assert_eq!(metric_sum(METRICS, DROPPED_OVER_BUDGET, None), 0);
        assert_eq!(
            metric_sum(METRICS, HOSTILE_SENT, Some(("behaviour", "equivocate"))),
            12
        );
        assert_eq!(
            metric_sum(METRICS, HOSTILE_SENT, Some(("behaviour", "gossip-spam"))),
            5
        );
        assert_eq!(
            metric_sum(METRICS, HOSTILE_SENT, Some(("behaviour", "false-hints"))),
            0
        );
        assert_eq!(metric_sum("", PENALTIES, None), 0);
        let before = DefenceCounters::parse(METRICS);
        assert_eq!(
            before,
            DefenceCounters {
                penalties: 7,
                bans: 1,
                dropped_over_budget: 0
            }
        );
        let after = DefenceCounters::parse(&METRICS.replace("} 4", "} 10"));
        assert_eq!(after.since(before).penalties, 6);
        assert!(after.since(before).any());
        assert!(!before.since(before).any());
        // Without the counters (a build without the p2p defences): zeros.
        assert!(!DefenceCounters::parse("kopnet_height 3\n").any());
    }

    #[test]
    fn resident_memory_is_read_from_proc_status() {
        let status = "Name:\tkopnet\nVmHWM:\t  900 kB\nVmRSS:\t  512 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_bytes(status), Some(512 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tkopnet\n"), None);
        // This test's own process has a resident set on Linux.
        if cfg!(target_os = "linux") {
            assert!(rss_of(std::process::id()).unwrap_or(0) > 0);
        }
    }

    #[test]
    fn evidence_lists_parse_and_other_bodies_are_refused() {
        let body = r#"{"evidence":[{"offender":"ab12","kind":"duplicate_vote","height":9,"round":1,"included_in_block":11}]}"#;
        assert_eq!(
            parse_evidence(body).unwrap(),
            vec![EvidenceEntry {
                offender: "ab12".into(),
                kind: "duplicate_vote".into(),
                height: 9,
                round: 1,
                included_in_block: 11
            }]
        );
        assert_eq!(parse_evidence(r#"{"evidence":[]}"#).unwrap(), vec![]);
        assert!(parse_evidence("not found").is_err());
    }
}
