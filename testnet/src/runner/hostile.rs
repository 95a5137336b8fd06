//! Hostile phases of a fault-injection run (`kind = "hostile"` in a
//! manifest): a node restarted with `KOPNET_FAULT = behaviour` for a while,
//! then restarted honest, and what the honest nodes did meanwhile.
//!
//! A phase passes only if, during it:
//! (a) every honest node committed at least [`PHASE_BLOCKS_MIN`] blocks;
//! (b) (the run's usual checks: every node has the same blocks and state
//!     roots, checked once at the end of the run);
//! (c) no honest node's resident memory went over [`HONEST_RSS_BYTES_MAX`]
//!     (sampled every schedule tick from `/proc/<pid>/status`);
//! (d) the honest nodes penalised, banned or dropped the hostile node's
//!     traffic (`kopnet_p2p_penalties_total`, `kopnet_p2p_bans_total`,
//!     `kopnet_p2p_dropped_over_budget_total` grew; a node without them
//!     reads 0), or — for `equivocate` — evidence of it is on the chain;
//! (e) for `equivocate` by a validator: evidence against its key is on the
//!     chain (`GET /v1/evidence` on an honest validator) within
//!     [`EVIDENCE_WAIT_BLOCKS`] blocks of the phase's end.
//!
//! The phase's report names the behaviour, how many messages the hostile
//! node says it sent (`kopnet_hostile_messages_sent_total`), the defence
//! counters' growth, the evidence, and the honest memory peak.

use super::backend::{Backend, BackendError};
use super::checks::CheckFailure;
use super::hostile_probe::{self as probe, DefenceCounters, EvidenceAnswer, EvidenceEntry};
use super::manifest::HostileBehaviour;
use crate::cluster::layout::Layout;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile::{self, KeyFileError};
use std::time::{Duration, Instant};

/// Honest resident memory bound during a hostile phase: 1 GiB. A node of
/// these test networks runs in well under 200 MiB; five times that means
/// it is keeping what a hostile peer sends instead of bounding it.
pub const HONEST_RSS_BYTES_MAX: u64 = 1024 * 1024 * 1024;
/// Blocks every honest node must commit during a phase.
pub const PHASE_BLOCKS_MIN: u64 = 2;
/// Blocks after a phase within which its equivocation must be on the chain.
pub const EVIDENCE_WAIT_BLOCKS: u64 = 20;
/// And the longest wall-clock wait for them.
pub const EVIDENCE_WAIT: Duration = Duration::from_secs(60);
/// Pause between two looks at the evidence.
/// Longest wait for earlier phases' bans to run out before a validator
/// turns hostile (the longest ban is 10 min).
pub const BANS_LIFT_WAIT: Duration = Duration::from_secs(660);
/// Blocks every validator commits between one validator's hostile phase
/// and the next.
pub const SETTLE_BLOCKS: u64 = 3;
/// Longest wait for them.
pub const SETTLE_WAIT: Duration = Duration::from_secs(60);
/// How often the bans are read while waiting.
const BANS_POLL: Duration = Duration::from_secs(1);
const EVIDENCE_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Deadline of one status request.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// The environment a hostile node is started with.
pub const FAULT_ENV: &str = "KOPNET_FAULT";
pub const RATE_ENV: &str = "KOPNET_HOSTILE_RATE";

/// What one hostile phase did and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseReport {
    /// `validator-2`, as in the manifest.
    pub node: String,
    /// Its layout id (the cooperative's id for a validator).
    pub node_id: String,
    pub behaviour: HostileBehaviour,
    pub secs: u64,
    /// Messages a second asked for (`None` = full rate).
    pub rate: Option<u32>,
    /// What the hostile node counted as sent before it was restarted.
    pub messages_sent: u64,
    /// The fewest blocks an honest node committed during the phase.
    pub honest_blocks_min: u64,
    /// Growth of the honest nodes' defence counters, summed.
    pub defences: DefenceCounters,
    /// The honest nodes' `kopnet_p2p_penalties_total`, summed, when the
    /// phase began and when it ended.
    pub penalties_before: u64,
    pub penalties_after: u64,
    /// Evidence against the hostile node's key on the chain.
    pub evidence: Vec<EvidenceEntry>,
    pub rss_peak_bytes: u64,
    /// The honest node with that peak.
    pub rss_peak_node: String,
    /// Why the phase failed (`None`: it passed).
    pub failure: Option<String>,
}

impl PhaseReport {
    /// The lowest block that carries evidence against the hostile node.
    pub fn evidence_height(&self) -> Option<u64> {
        self.evidence.iter().map(|e| e.included_in_block).min()
    }
}

struct NodeInfo {
    id: String,
    role: String,
    api_url: String,
    /// The node's ed25519 key, hex (as `/v1/evidence` names offenders).
    key_hex: String,
}

struct Active {
    node: usize,
    name: String,
    behaviour: HostileBehaviour,
    secs: u64,
    rate: Option<u32>,
    heights_before: Vec<Option<u64>>,
    counters_before: Vec<DefenceCounters>,
    rss_peak: (u64, usize),
    /// Why the network was not back to health when the phase began (see
    /// [`unsettled`]), if it was not.
    unsettled: Option<String>,
}

/// The hostile phases of one run, one at a time.
pub struct HostilePhases {
    nodes: Vec<NodeInfo>,
    http: reqwest::Client,
    active: Option<Active>,
    pub reports: Vec<PhaseReport>,
}

impl HostilePhases {
    pub fn new(layout: &Layout) -> Result<HostilePhases, KeyFileError> {
        let nodes = layout
            .nodes
            .iter()
            .map(|n| {
                Ok(NodeInfo {
                    id: n.id.clone(),
                    role: n.role.clone(),
                    api_url: n.api_url.clone(),
                    key_hex: hex::encode(keyfile::read(&n.key)?.public().0),
                })
            })
            .collect::<Result<Vec<_>, KeyFileError>>()?;
        Ok(HostilePhases {
            nodes,
            http: reqwest::Client::new(),
            active: None,
            reports: Vec::new(),
        })
    }

    /// Whether a phase is under way (the next one waits).
    pub fn active(&self) -> bool {
        self.active.is_some()
    }

    fn honest(&self, hostile: usize) -> impl Iterator<Item = (usize, &NodeInfo)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != hostile)
    }

    /// Note where the honest nodes are, then restart `node` hostile.
    pub async fn begin<B: Backend>(
        &mut self,
        backend: &mut B,
        node: usize,
        name: &str,
        behaviour: HostileBehaviour,
        secs: u64,
        rate: Option<u32>,
    ) -> Result<(), BackendError> {
        // Every phase starts from a healthy network: the last phase's node,
        // restarted honest, is still banned (and so cannot commit) until its
        // bans run out.
        let lifted = self.wait_for_bans_to_lift().await;
        let settled = self.wait_for_blocks_since_last_phase().await;
        let unsettled = unsettled(lifted, settled);
        let mut heights_before = Vec::new();
        let mut counters_before = Vec::new();
        for info in &self.nodes {
            heights_before.push(height(&info.api_url).await);
            counters_before.push(self.counters(&info.api_url).await);
        }
        backend.set_env_var(node, FAULT_ENV, Some(behaviour.name()))?;
        let rate_text = rate.map(|r| r.to_string());
        backend.set_env_var(node, RATE_ENV, rate_text.as_deref())?;
        backend.terminate(node).await?;
        backend.start(node).await?;
        self.active = Some(Active {
            node,
            name: name.to_string(),
            behaviour,
            secs,
            rate,
            heights_before,
            counters_before,
            rss_peak: (0, node),
            unsettled,
        });
        Ok(())
    }

    /// Sample the honest nodes' resident memory (every schedule tick).
    pub fn sample<B: Backend>(&mut self, backend: &B) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        for node in (0..self.nodes.len()).filter(|n| *n != active.node) {
            let rss = backend.pid(node).and_then(probe::rss_of).unwrap_or(0);
            if rss > active.rss_peak.0 {
                active.rss_peak = (rss, node);
            }
        }
    }

    /// End the phase: read what the hostile node sent and what the honest
    /// nodes did, restart it honest, wait for evidence where it is due,
    /// and judge the phase.
    pub async fn end<B: Backend>(
        &mut self,
        backend: &mut B,
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<(), BackendError> {
        let Some(active) = self.active.take() else {
            return Ok(());
        };
        let hostile = active.node;
        let info = self
            .nodes
            .get(hostile)
            .ok_or(BackendError::NoSuchNode(hostile))?;
        let messages_sent = match probe::fetch_metrics(&self.http, &info.api_url).await {
            Some(text) => probe::metric_sum(
                &text,
                probe::HOSTILE_SENT,
                Some(("behaviour", active.behaviour.name())),
            ),
            None => 0,
        };
        let (node_id, key_hex, is_validator) = (
            info.id.clone(),
            info.key_hex.clone(),
            info.role == "validator",
        );
        let mut honest_blocks_min = u64::MAX;
        let mut stalled = Vec::new();
        let mut defences = DefenceCounters::default();
        let (mut penalties_before, mut penalties_after) = (0u64, 0u64);
        let honest: Vec<(usize, String, String)> = self
            .honest(hostile)
            .map(|(i, n)| (i, n.id.clone(), n.api_url.clone()))
            .collect();
        for (i, id, url) in &honest {
            let before = active
                .heights_before
                .get(*i)
                .copied()
                .flatten()
                .unwrap_or(0);
            let after = height(url).await.unwrap_or(0);
            let blocks = after.saturating_sub(before);
            honest_blocks_min = honest_blocks_min.min(blocks);
            if blocks < PHASE_BLOCKS_MIN {
                stalled.push(format!("{id} went from {before} to {after}"));
            }
            let now = self.counters(url).await;
            let before = active.counters_before.get(*i).copied().unwrap_or_default();
            defences = defences.plus(now.since(before));
            penalties_before = penalties_before.saturating_add(before.penalties);
            penalties_after = penalties_after.saturating_add(now.penalties);
        }
        backend.set_env_var(hostile, FAULT_ENV, None)?;
        backend.set_env_var(hostile, RATE_ENV, None)?;
        backend.terminate(hostile).await?;
        backend.start(hostile).await?;
        let evidence_due = active.behaviour == HostileBehaviour::Equivocate && is_validator;
        let evidence = if evidence_due {
            say(&format!(
                "waiting up to {EVIDENCE_WAIT_BLOCKS} blocks for evidence of {}'s equivocation on the chain ...",
                active.name
            ));
            self.wait_for_evidence(hostile, &key_hex).await
        } else {
            Ok(Vec::new())
        };
        let rss_peak_node = self
            .nodes
            .get(active.rss_peak.1)
            .map(|n| n.id.clone())
            .unwrap_or_default();
        let mut report = PhaseReport {
            node: active.name.clone(),
            node_id,
            behaviour: active.behaviour,
            secs: active.secs,
            rate: active.rate,
            messages_sent,
            honest_blocks_min: if honest.is_empty() {
                0
            } else {
                honest_blocks_min
            },
            defences,
            penalties_before,
            penalties_after,
            evidence: evidence.clone().unwrap_or_default(),
            rss_peak_bytes: active.rss_peak.0,
            rss_peak_node,
            failure: None,
        };
        // A network that had not recovered from the phase before cannot
        // show what this one does: that is the failure, named as such.
        report.failure = active
            .unsettled
            .clone()
            .or_else(|| judge(&report, &stalled, evidence_due, evidence.err()));
        say(&describe(&report));
        self.reports.push(report);
        Ok(())
    }

    /// During a phase: how many messages of its behaviour the hostile node
    /// says it sent, and how much the honest nodes' penalties grew since
    /// the phase began (`None` when no phase is under way).
    pub async fn progress(&self) -> Option<(u64, u64)> {
        let active = self.active.as_ref()?;
        let info = self.nodes.get(active.node)?;
        let sent = match probe::fetch_metrics(&self.http, &info.api_url).await {
            Some(text) => probe::metric_sum(
                &text,
                probe::HOSTILE_SENT,
                Some(("behaviour", active.behaviour.name())),
            ),
            None => 0,
        };
        let mut penalised = 0u64;
        for (i, honest) in self.honest(active.node) {
            let before = active.counters_before.get(i).copied().unwrap_or_default();
            let now = self.counters(&honest.api_url).await;
            penalised = penalised.saturating_add(now.since(before).penalties);
        }
        Some((sent, penalised))
    }

    /// After a phase, before anything else perturbs the network: every
    /// ban has run out and the validators committed [`SETTLE_BLOCKS`]
    /// blocks (see [`Self::begin`]). Returns whether both happened before
    /// their deadlines.
    pub async fn settle(&self) -> bool {
        let lifted = self.wait_for_bans_to_lift().await;
        let settled = self.wait_for_blocks_since_last_phase().await;
        lifted && settled
    }

    /// Before a node turns hostile, let every ban from earlier phases run
    /// out: a validator banned for an earlier phase (now honest again) and
    /// the next hostile one would be two faulty validators of four, more
    /// than the network is built to bear (fewer than a third), and a node
    /// still banned cannot show that it keeps committing. Waits at most
    /// [`BANS_LIFT_WAIT`]; returns whether the bans lifted.
    async fn wait_for_bans_to_lift(&self) -> bool {
        let deadline = tokio::time::Instant::now() + BANS_LIFT_WAIT;
        loop {
            let mut banned = 0u64;
            for info in &self.nodes {
                if let Some(text) = probe::fetch_metrics(&self.http, &info.api_url).await {
                    banned += probe::metric_sum(&text, probe::BANNED_PEERS, None);
                }
            }
            if banned == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(BANS_POLL).await;
        }
    }

    /// Before a node turns hostile, let the network commit
    /// [`SETTLE_BLOCKS`] blocks past the height the last phase ended at:
    /// a validator that signed votes ahead (the future flood does) is
    /// still faulty at those heights after it was restarted honest, and
    /// the next hostile validator on top of it would be two faulty of
    /// four. Waits at most [`SETTLE_WAIT`]; returns whether they came.
    async fn wait_for_blocks_since_last_phase(&self) -> bool {
        let mut target = 0u64;
        for info in &self.nodes {
            target = target.max(height(&info.api_url).await.unwrap_or(0));
        }
        let target = target.saturating_add(SETTLE_BLOCKS);
        let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
        loop {
            let mut lowest = u64::MAX;
            for info in self.nodes.iter().filter(|n| n.role == "validator") {
                lowest = lowest.min(height(&info.api_url).await.unwrap_or(0));
            }
            if lowest >= target {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(BANS_POLL).await;
        }
    }

    async fn counters(&self, api_url: &str) -> DefenceCounters {
        probe::fetch_metrics(&self.http, api_url)
            .await
            .map(|text| DefenceCounters::parse(&text))
            .unwrap_or_default()
    }

    /// Evidence against `key_hex` on an honest validator's chain, waiting
    /// up to [`EVIDENCE_WAIT_BLOCKS`] blocks (and [`EVIDENCE_WAIT`]).
    async fn wait_for_evidence(
        &self,
        hostile: usize,
        key_hex: &str,
    ) -> Result<Vec<EvidenceEntry>, String> {
        let Some((_, witness)) = self.honest(hostile).find(|(_, n)| n.role == "validator") else {
            return Err("no honest validator to ask for evidence".into());
        };
        let start = height(&witness.api_url).await.unwrap_or(0);
        let deadline = Instant::now() + EVIDENCE_WAIT;
        // A request that failed for a reason other than 404 is retried
        // until the deadline; the final failure quotes the last one.
        let mut last_problem = String::new();
        loop {
            let now_height = height(&witness.api_url).await.unwrap_or(start);
            match probe::fetch_evidence(&self.http, &witness.api_url).await {
                EvidenceAnswer::Listed(list) => {
                    let against: Vec<EvidenceEntry> = list
                        .into_iter()
                        .filter(|e| e.offender.eq_ignore_ascii_case(key_hex))
                        .collect();
                    if !against.is_empty() {
                        return Ok(against);
                    }
                }
                EvidenceAnswer::NotAvailable => {
                    return Err(format!(
                        "GET /v1/evidence is not available on {} (404): this build cannot show the equivocation is on the chain",
                        witness.id
                    ))
                }
                EvidenceAnswer::Failed(reason) => last_problem = format!(" (last answer: {reason})"),
            }
            let waited = now_height.saturating_sub(start);
            if waited >= EVIDENCE_WAIT_BLOCKS || Instant::now() >= deadline {
                return Err(format!(
                    "no evidence of the equivocation on {}'s chain after {waited} blocks{last_problem}",
                    witness.id
                ));
            }
            tokio::time::sleep(EVIDENCE_POLL_INTERVAL).await;
        }
    }

    /// The first failed phase, as the run's failure.
    pub fn first_failure(&self) -> Option<CheckFailure> {
        self.reports.iter().find_map(|r| {
            r.failure.as_ref().map(|reason| CheckFailure::Hostile {
                node: r.node.clone(),
                behaviour: r.behaviour.name().to_string(),
                reason: reason.clone(),
            })
        })
    }
}

/// Why a phase cannot be judged: the network had not recovered from the
/// phase before it when it began (bans still in force after
/// [`BANS_LIFT_WAIT`], or fewer than [`SETTLE_BLOCKS`] blocks within
/// [`SETTLE_WAIT`]).
fn unsettled(bans_lifted: bool, blocks_came: bool) -> Option<String> {
    let why = match (bans_lifted, blocks_came) {
        (true, true) => return None,
        (false, _) => format!(
            "bans were still in force after {} s",
            BANS_LIFT_WAIT.as_secs()
        ),
        (true, false) => format!(
            "the validators did not commit {SETTLE_BLOCKS} blocks within {} s",
            SETTLE_WAIT.as_secs()
        ),
    };
    Some(format!(
        "the network had not recovered from the phase before when this one began: {why}"
    ))
}

/// The reason a phase fails, in the order (a), (c), (e), (d).
fn judge(
    report: &PhaseReport,
    stalled: &[String],
    evidence_due: bool,
    evidence_error: Option<String>,
) -> Option<String> {
    if !stalled.is_empty() {
        return Some(format!(
            "honest nodes did not keep committing ({} blocks needed): {}",
            PHASE_BLOCKS_MIN,
            stalled.join(", ")
        ));
    }
    if report.rss_peak_bytes > HONEST_RSS_BYTES_MAX {
        return Some(format!(
            "honest node {} reached {} MiB resident, over the bound of {} MiB",
            report.rss_peak_node,
            report.rss_peak_bytes / (1024 * 1024),
            HONEST_RSS_BYTES_MAX / (1024 * 1024)
        ));
    }
    if evidence_due {
        if let Some(reason) = evidence_error {
            return Some(format!(
                "no evidence of {}'s equivocation on the chain: {reason}",
                report.node
            ));
        }
    }
    let evidence_counts = evidence_due && !report.evidence.is_empty();
    if !report.defences.any() && !evidence_counts {
        return Some(format!(
            "no honest node penalised, banned or dropped {}'s traffic ({}, {}, {} did not grow; a node without them reads 0)",
            report.node,
            probe::PENALTIES,
            probe::BANS,
            probe::DROPPED_OVER_BUDGET
        ));
    }
    None
}

/// One line for the progress output.
pub fn describe(report: &PhaseReport) -> String {
    let verdict = match &report.failure {
        None => "passed".to_string(),
        Some(reason) => format!("FAILED: {reason}"),
    };
    format!(
        "hostile {} by {} ({}) for {} s: sent {} messages; honest nodes committed >= {} blocks, penalties +{}, bans +{}, dropped over budget +{}, evidence {}; honest RSS peak {} MiB ({}); {verdict}",
        report.behaviour.name(),
        report.node,
        report.node_id,
        report.secs,
        report.messages_sent,
        report.honest_blocks_min,
        report.defences.penalties,
        report.defences.bans,
        report.defences.dropped_over_budget,
        match report.evidence_height() {
            Some(h) => format!("in block {h} ({} entries)", report.evidence.len()),
            None => "none".to_string(),
        },
        report.rss_peak_bytes / (1024 * 1024),
        report.rss_peak_node,
    )
}

/// A node's committed height (`None` when it does not answer in time).
async fn height(api_url: &str) -> Option<u64> {
    let client = Client::new(api_url);
    match tokio::time::timeout(STATUS_TIMEOUT, client.status()).await {
        Ok(Ok(status)) => status["height"].as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(behaviour: HostileBehaviour) -> PhaseReport {
        PhaseReport {
            node: "validator-2".into(),
            node_id: "angkot-maju".into(),
            behaviour,
            secs: 10,
            rate: None,
            messages_sent: 1_000,
            honest_blocks_min: 30,
            defences: DefenceCounters::default(),
            penalties_before: 0,
            penalties_after: 0,
            evidence: vec![],
            rss_peak_bytes: 100 * 1024 * 1024,
            rss_peak_node: "ksp-sejahtera".into(),
            failure: None,
        }
    }

    #[test]
    fn a_phase_begun_before_the_network_recovered_says_so() {
        assert_eq!(unsettled(true, true), None);
        let stalled = unsettled(true, false).unwrap();
        assert!(
            stalled.contains("had not recovered from the phase before"),
            "{stalled}"
        );
        assert!(
            stalled.contains("did not commit 3 blocks within 60 s"),
            "{stalled}"
        );
        let banned = unsettled(false, true).unwrap();
        assert!(
            banned.contains("bans were still in force after 660 s"),
            "{banned}"
        );
        assert_eq!(unsettled(false, false), Some(banned));
    }

    #[test]
    fn a_phase_fails_naming_stalls_memory_missing_evidence_and_missing_penalties() {
        let mut flood = report(HostileBehaviour::FutureFlood);
        // Nothing penalised: (d) fails, naming the counters.
        let reason = judge(&flood, &[], false, None).unwrap();
        assert!(reason.contains("no honest node penalised"), "{reason}");
        assert!(reason.contains(probe::DROPPED_OVER_BUDGET), "{reason}");
        flood.defences.dropped_over_budget = 5;
        assert_eq!(judge(&flood, &[], false, None), None);
        // A stall comes first.
        let stalled = ["ksp-sejahtera went from 10 to 10".to_string()];
        assert!(judge(&flood, &stalled, false, None)
            .unwrap()
            .contains("did not keep committing"));
        // Memory over the bound.
        flood.rss_peak_bytes = HONEST_RSS_BYTES_MAX + 1;
        let reason = judge(&flood, &[], false, None).unwrap();
        assert!(reason.contains("over the bound of 1024 MiB"), "{reason}");

        // Equivocation: the evidence's absence is named, even with penalties.
        let mut equivocate = report(HostileBehaviour::Equivocate);
        equivocate.defences.penalties = 3;
        let reason = judge(
            &equivocate,
            &[],
            true,
            Some("no evidence of the equivocation on ksp-sejahtera's chain after 20 blocks".into()),
        )
        .unwrap();
        assert!(
            reason.starts_with("no evidence of validator-2's equivocation on the chain"),
            "{reason}"
        );
        // Evidence alone counts as the penalty.
        equivocate.defences = DefenceCounters::default();
        equivocate.evidence = vec![EvidenceEntry {
            offender: "ab".into(),
            kind: "duplicate_vote".into(),
            height: 40,
            round: 0,
            included_in_block: 42,
        }];
        assert_eq!(judge(&equivocate, &[], true, None), None);
        assert_eq!(equivocate.evidence_height(), Some(42));
        let line = describe(&equivocate);
        assert!(
            line.contains("equivocate") && line.contains("in block 42"),
            "{line}"
        );
    }
}
