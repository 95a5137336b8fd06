//! The live half of the `rotate-key` perturbation's check (b): once the
//! rotated validator signs with its new key ([`super::rotate`], check
//! (a)), it is restarted with `KOPNET_FAULT=old-key` (the hostile-phase
//! machinery of [`super::hostile`]): it keeps its honest work and beside
//! it re-signs each of its own votes with its retired validator key and
//! publishes them on the consensus topic, [`OLD_KEY_RATE`] a second.
//!
//! The phase lasts until the node counted [`OLD_KEY_MESSAGES_MIN`] such
//! messages sent and the honest nodes' `kopnet_p2p_penalties_total` grew,
//! or [`OLD_KEY_WAIT`] passed; then the node is restarted honest. The
//! slow rate keeps the sender under the ban threshold (a refused message
//! costs 20 points of 100, and points fade), so the network stays whole;
//! bans are waited out all the same before the next perturbation
//! ([`HostilePhases::settle`]).
//!
//! It passes ([`OldKeyLive::failure`]) when the node sent old-key
//! messages, the honest nodes penalised them (refused: `Verdict::Reject`
//! for a signer that is no validator of a known height), no honest node's
//! committed block from the rotation's effective height on carries a
//! certificate signature by the old key, and the honest nodes kept
//! committing meanwhile.

use super::backend::{Backend, BackendError};
use super::hostile::HostilePhases;
use super::manifest::HostileBehaviour;
use crate::cluster::layout::NodeEntry;
use futures::StreamExt;
use kopnet_node::api::client::Client;
use std::time::{Duration, Instant};

/// Old-key messages a second (`KOPNET_HOSTILE_RATE`).
pub const OLD_KEY_RATE: u32 = 1;
/// Old-key messages the node must have sent before the phase ends early.
pub const OLD_KEY_MESSAGES_MIN: u64 = 3;
/// Longest old-key phase.
pub const OLD_KEY_WAIT: Duration = Duration::from_secs(30);
/// Pause between two looks at the counters.
const POLL: Duration = Duration::from_millis(250);
/// Block requests in flight while reading certificates.
const SCAN_REQUESTS_MAX: usize = 16;

/// What the old-key phase did and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldKeyLive {
    /// How long the node ran with `KOPNET_FAULT=old-key`.
    pub secs: u64,
    /// Its own count (`kopnet_hostile_messages_sent_total{behaviour="old-key"}`).
    pub messages_sent: u64,
    /// The honest nodes' `kopnet_p2p_penalties_total`, summed, at the
    /// phase's start and end.
    pub penalties_before: u64,
    pub penalties_after: u64,
    /// Their growth (per node, summed; never negative).
    pub penalties_grown: u64,
    /// Bans the honest nodes gave meanwhile.
    pub bans: u64,
    /// The fewest blocks an honest node committed during the phase.
    pub honest_blocks_min: u64,
    /// Heights whose certificates were read on every honest node (first
    /// and last; the last is the highest honest height).
    pub heights_checked: (u64, u64),
    /// `NODE at HEIGHT` for each honest block whose certificate the old
    /// key signed (must be none).
    pub old_key_certificates: Vec<String>,
    /// Why the hostile phase itself failed (honest nodes stalled, memory).
    pub phase_failure: Option<String>,
    /// The node's last error line when it was not running at the end (an
    /// `old-key` node without a retired key refuses to start).
    pub stopped: Option<String>,
    /// Bans ran out and the validators committed again afterwards.
    pub healthy_after: bool,
}

impl OldKeyLive {
    /// Why the live check failed (`None`: old-key messages were sent and
    /// refused, and none made it into a certificate).
    pub fn failure(&self) -> Option<String> {
        if self.messages_sent == 0 {
            let why = self
                .stopped
                .as_ref()
                .map(|line| format!(": the node stopped ({line})"))
                .unwrap_or_default();
            return Some(format!(
                "the rotated node sent no vote signed with its old key in {} s{why}",
                self.secs
            ));
        }
        if !self.old_key_certificates.is_empty() {
            return Some(format!(
                "a signature by the old key is in committed certificates: {}",
                self.old_key_certificates.join(", ")
            ));
        }
        if self.penalties_grown == 0 {
            return Some(format!(
                "{} old-key messages were not refused: no honest node's kopnet_p2p_penalties_total grew (before {}, after {})",
                self.messages_sent, self.penalties_before, self.penalties_after
            ));
        }
        self.phase_failure
            .as_ref()
            .map(|reason| format!("during the old-key phase: {reason}"))
    }

    /// The report's line.
    pub fn line(&self) -> String {
        let verdict = match self.failure() {
            None => "rejected".to_string(),
            Some(reason) => format!("FAILED: {reason}"),
        };
        format!(
            "  (b, live) votes signed with the old validator key, gossiped by the running node for {} s: {} sent; honest penalties {} -> {} (+{}), bans +{}; honest nodes committed >= {} blocks; certificates of heights {}..={} on every honest node signed by the old key: {}; network {} afterwards; {verdict}",
            self.secs,
            self.messages_sent,
            self.penalties_before,
            self.penalties_after,
            self.penalties_grown,
            self.bans,
            self.honest_blocks_min,
            self.heights_checked.0,
            self.heights_checked.1,
            self.old_key_certificates.len(),
            if self.healthy_after { "healthy" } else { "NOT settled" },
        )
    }
}

/// Run the old-key phase on layout node `node` (manifest name `name`),
/// whose retired key has address `old_address`; certificates are read
/// from `from_height` on. `nodes` is the layout's node list.
#[allow(clippy::too_many_arguments)]
pub async fn run<B: Backend>(
    backend: &mut B,
    phases: &mut HostilePhases,
    nodes: &[NodeEntry],
    node: usize,
    name: &str,
    old_address: &str,
    from_height: u64,
    say: &(dyn Fn(&str) + Sync),
) -> Result<OldKeyLive, BackendError> {
    say(&format!(
        "rotate-key {name}: restarting it with KOPNET_FAULT=old-key ({OLD_KEY_RATE}/s, until {OLD_KEY_MESSAGES_MIN} sent and penalised, at most {} s) ...",
        OLD_KEY_WAIT.as_secs()
    ));
    phases
        .begin(
            backend,
            node,
            name,
            HostileBehaviour::OldKey,
            OLD_KEY_WAIT.as_secs(),
            Some(OLD_KEY_RATE),
        )
        .await?;
    let started = Instant::now();
    let deadline = started + OLD_KEY_WAIT;
    let mut stopped = None;
    loop {
        phases.sample(&*backend);
        let (sent, penalised) = phases.progress().await.unwrap_or((0, 0));
        if sent >= OLD_KEY_MESSAGES_MIN && penalised > 0 {
            break;
        }
        if !backend.running(node) {
            let log = backend.log(node).unwrap_or_default();
            stopped = Some(
                super::run::last_error_line(&log).unwrap_or_else(|| "no error in its log".into()),
            );
            break;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let secs = started.elapsed().as_secs();
    phases.end(backend, say).await?;
    let phase = phases.reports.pop();
    let honest: Vec<&NodeEntry> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != node)
        .map(|(_, n)| n)
        .collect();
    let (to, old_key_certificates) = old_key_certificates(&honest, old_address, from_height).await;
    let healthy_after = phases.settle().await;
    let phase = phase.as_ref();
    Ok(OldKeyLive {
        secs,
        messages_sent: phase.map_or(0, |p| p.messages_sent),
        penalties_before: phase.map_or(0, |p| p.penalties_before),
        penalties_after: phase.map_or(0, |p| p.penalties_after),
        penalties_grown: phase.map_or(0, |p| p.defences.penalties),
        bans: phase.map_or(0, |p| p.defences.bans),
        honest_blocks_min: phase.map_or(0, |p| p.honest_blocks_min),
        heights_checked: (from_height, to),
        old_key_certificates,
        phase_failure: phase.and_then(|p| p.failure.clone()),
        stopped,
        healthy_after,
    })
}

/// Every honest node's committed blocks from `from` to its height whose
/// certificate lists `old_address` among the signers, as `NODE at
/// HEIGHT`; and the highest height read.
async fn old_key_certificates(
    honest: &[&NodeEntry],
    old_address: &str,
    from: u64,
) -> (u64, Vec<String>) {
    let mut highest = from;
    let mut found = Vec::new();
    for entry in honest {
        let client = Client::new(&entry.api_url);
        let Ok(status) = client.status().await else {
            continue;
        };
        let height = status["height"].as_u64().unwrap_or(0);
        highest = highest.max(height);
        let client = &client;
        let mut signed: Vec<u64> = futures::stream::iter(from..=height)
            .map(|h| async move {
                let block = client.get(&format!("/v1/blocks/{h}")).await.ok()?;
                let signers = block["certificate"]["signers"].as_array()?;
                signers
                    .iter()
                    .any(|s| s.as_str() == Some(old_address))
                    .then_some(h)
            })
            .buffer_unordered(SCAN_REQUESTS_MAX)
            .filter_map(futures::future::ready)
            .collect()
            .await;
        signed.sort_unstable();
        found.extend(signed.into_iter().map(|h| format!("{} at {h}", entry.id)));
    }
    (highest, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> OldKeyLive {
        OldKeyLive {
            secs: 4,
            messages_sent: 3,
            penalties_before: 10,
            penalties_after: 16,
            penalties_grown: 6,
            bans: 0,
            honest_blocks_min: 9,
            heights_checked: (212, 260),
            old_key_certificates: vec![],
            phase_failure: None,
            stopped: None,
            healthy_after: true,
        }
    }

    #[test]
    fn sent_and_penalised_with_no_old_key_certificate_passes() {
        let live = refused();
        assert_eq!(live.failure(), None);
        let line = live.line();
        assert!(
            line.contains("3 sent") && line.contains("10 -> 16 (+6)"),
            "{line}"
        );
        assert!(line.ends_with("rejected"), "{line}");
    }

    #[test]
    fn the_failure_names_what_was_missing() {
        // Nothing sent: named, with the node's own reason when it stopped.
        let mut silent = refused();
        silent.messages_sent = 0;
        silent.stopped = Some("error: old-key needs a retired validator key".into());
        let reason = silent.failure().unwrap();
        assert!(
            reason.contains("sent no vote signed with its old key"),
            "{reason}"
        );
        assert!(reason.contains("needs a retired validator key"), "{reason}");

        // Sent, but no honest node penalised it: not refused.
        let mut accepted = refused();
        accepted.penalties_after = accepted.penalties_before;
        accepted.penalties_grown = 0;
        let reason = accepted.failure().unwrap();
        assert!(reason.contains("were not refused"), "{reason}");
        assert!(reason.contains("before 10, after 10"), "{reason}");

        // An old-key signature in a certificate comes first.
        accepted.old_key_certificates = vec!["ksp-sejahtera at 230".into()];
        let reason = accepted.failure().unwrap();
        assert!(reason.contains("ksp-sejahtera at 230"), "{reason}");

        // The hostile phase's own failure (a stall) is named last.
        let mut stalled = refused();
        stalled.phase_failure = Some("honest nodes did not keep committing".into());
        let reason = stalled.failure().unwrap();
        assert!(
            reason.starts_with("during the old-key phase: honest nodes"),
            "{reason}"
        );
        assert!(stalled.line().contains("FAILED"), "{}", stalled.line());
    }
}
