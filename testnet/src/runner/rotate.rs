//! The `rotate-key` perturbation: a validator's cooperative rotates its
//! validator key and node identity on the running network, under load,
//! the way an operator does it (issue 16):
//!
//! 1. the next keys are written into the node's home (`validator.next.key`,
//!    `node.next.key`, what `kopnet node next-keys` writes); the running
//!    node picks up the validator key after its next block;
//! 2. the cooperative (the load driver holds its cooperative key)
//!    signs `RotateNodeKeys` with both new keys; it commits at height `h`;
//! 3. the node keeps running: no restart.
//!
//! The checks, all in the report:
//!
//! (a) **the validator keeps signing with the new key**: within
//!     [`SIGNED_WAIT_BLOCKS`] blocks from `h + 2` (the first height whose
//!     validator set lists the new key), the new key is among the signers
//!     of a block's commit certificate (`GET /v1/blocks/{n}`), and the old
//!     key signs none of the certificates from `h + 2` on;
//! (b, live) **a message signed with the old key is refused by the running
//!     network**: once (a) holds and no other perturbation is in force,
//!     the rotated node is restarted with `KOPNET_FAULT=old-key`
//!     ([`super::old_key_live`], the hostile-phase machinery): it goes on
//!     signing with its new key and also gossips each of its votes signed
//!     again with the old key. The report gives the old-key messages it
//!     counted sent, the honest nodes' `kopnet_p2p_penalties_total` before
//!     and after (they must grow: the host refuses a vote whose signer is
//!     no validator of a known height, `node/src/host`'s `is_validator`,
//!     and the p2p layer penalises the sender), and that no honest node's
//!     block from `h + 2` on has a certificate signed by the old key. Then
//!     the node is restarted honest, and bans run out before the next
//!     perturbation. A failure here fails the run as `old_key_not_refused`.
//! (b, offline) **the product's certificate check refuses the old key**: a
//!     precommit for a committed block at or after `h + 2`, signed by the
//!     old validator key, put in that block's real certificate (read raw
//!     from `GET /v1/blocks/{n}/raw`) in place of the new key's, fails the
//!     certificate verification every node runs on blocks it catches up
//!     on (`unknown_signer`) against the validator set the network reports
//!     (`GET /v1/cooperatives`), while the real certificate passes it.
//!
//! (a) and (b, offline) run in the rotation's own task ([`rotate`]); the
//! live phase needs the backend and runs in the schedule
//! (`super::run`'s `Rotations`).

use super::old_key_live::OldKeyLive;
use crate::cluster::layout::NodeEntry;
use crate::cluster::traffic::Traffic;
use base64::Engine as _;
use kopnet_consensus::{
    codec, CommitCertificate, CommitSignature, Keypair, PublicKey, SignedVote, Validator,
    ValidatorSet, Vote, VoteKind,
};
use kopnet_ledger::Action;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Blocks from `h + 2` within which the new key must sign a certificate.
pub const SIGNED_WAIT_BLOCKS: u64 = 20;
/// Longest wait for the rotation to commit and for those blocks.
pub const ROTATION_WAIT: Duration = Duration::from_secs(60);
/// Pause between two looks at the network.
const POLL: Duration = Duration::from_millis(250);
/// Times the rotation is sent at most (see [`submit`]).
const SUBMIT_ATTEMPTS_MAX: u32 = 6;
/// Longest wait for one attempt to commit.
const ATTEMPT_WAIT: Duration = Duration::from_secs(20);

/// What a rotation did and what the checks found.
#[derive(Debug, Clone)]
pub struct RotationReport {
    pub node: String,
    pub old_validator_key: String,
    pub new_validator_key: String,
    pub new_node_key: String,
    /// The height of the block carrying `RotateNodeKeys`.
    pub rotated_at: u64,
    /// The first block at or after `rotated_at + 2` whose certificate the
    /// new key signed.
    pub new_key_signed_at: Option<u64>,
    /// Certificates from `rotated_at + 2` on that the old key signed (must
    /// be none).
    pub old_key_signed: Vec<u64>,
    /// Check (b, offline): how the old-key precommit was refused by the
    /// certificate verification.
    pub old_key_refused: Result<String, String>,
    /// Check (b, live): the running node gossiping old-key votes
    /// (`Err`: why the phase did not run).
    pub old_key_live: Result<OldKeyLive, String>,
    /// Why this backend cannot run check (b, live) at all (it cannot
    /// restart a node with another environment: the docker backend); the
    /// offline check then stands alone and the run does not fail for it.
    pub live_unavailable: Option<String>,
}

impl RotationReport {
    /// Every check passed.
    pub fn passed(&self) -> bool {
        self.new_key_signed_at.is_some()
            && self.old_key_signed.is_empty()
            && self.old_key_refused.is_ok()
            && self.live_failure().is_none()
    }

    /// Check (a) holds, so the live old-key phase is due.
    pub fn live_phase_due(&self) -> bool {
        self.new_key_signed_at.is_some()
            && self.old_key_signed.is_empty()
            && self.live_unavailable.is_none()
    }

    /// Why check (b, live) failed: it did not run, or it ran and the
    /// old-key messages were not shown refused.
    pub fn live_failure(&self) -> Option<String> {
        if self.live_unavailable.is_some() {
            return None;
        }
        match &self.old_key_live {
            Ok(live) => live.failure(),
            Err(why) => Some(format!("the old-key phase did not run: {why}")),
        }
    }

    /// The old-key messages ran and were not refused (the run's failure
    /// is then `OldKeyNotRefused`, not a failed rotation).
    pub fn old_key_accepted(&self) -> Option<String> {
        self.old_key_live
            .as_ref()
            .ok()
            .and_then(OldKeyLive::failure)
    }

    /// The report's lines.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "rotate-key {}: RotateNodeKeys committed at height {}; validator key {} -> {}, node identity -> {}",
                self.node,
                self.rotated_at,
                short(&self.old_validator_key),
                short(&self.new_validator_key),
                short(&self.new_node_key)
            ),
            match self.new_key_signed_at {
                Some(h) => format!(
                    "  (a) new validator key signs after the rotation: first certificate at height {h} (effective from {}); old key signed {} certificates from then on",
                    self.rotated_at + 2,
                    self.old_key_signed.len()
                ),
                None => format!(
                    "  (a) FAILED: the new validator key signed no certificate within {SIGNED_WAIT_BLOCKS} blocks of height {}",
                    self.rotated_at + 2
                ),
            },
            match (&self.live_unavailable, &self.old_key_live) {
                (Some(why), _) => format!(
                    "  (b, live) not run on this backend: {why}; the offline check stands alone (the process backend runs the live one)"
                ),
                (None, Ok(live)) => live.line(),
                (None, Err(why)) => format!("  (b, live) FAILED: not run: {why}"),
            },
            match &self.old_key_refused {
                Ok(how) => format!("  (b, offline) precommit signed with the old validator key rejected by the certificate check: {how}"),
                Err(why) => format!("  (b, offline) FAILED: {why}"),
            },
        ]
    }
}

fn short(address: &str) -> &str {
    address.get(..12).unwrap_or(address)
}

/// Carry out the rotation of `node`'s keys (its cooperative is the load's
/// cooperative `coop`) and check it; `clients` are every node's.
pub async fn rotate(
    node: &NodeEntry,
    coop: usize,
    traffic: Arc<Traffic>,
    client: Client,
) -> Result<RotationReport, String> {
    let old = keyfile::read(&node.key).map_err(|e| e.to_string())?;
    let new_validator = Keypair::generate(&mut rand::rngs::OsRng);
    let new_node = Keypair::generate(&mut rand::rngs::OsRng);
    // What `kopnet node next-keys` writes; the running node reads the
    // validator key after its next block.
    for (file, key) in [
        ("validator.next.key", &new_validator),
        ("node.next.key", &new_node),
    ] {
        let path = node.home.join(file);
        keyfile::write_new(&path, key).map_err(|e| e.to_string())?;
        same_owner_as_home(&path, &node.home)?;
    }
    let action = Action::RotateNodeKeys {
        validator_key: Some(new_validator.public()),
        node_key: Some(new_node.public()),
    };
    let rotated_at = submit(&traffic, coop, &client, action).await?;
    let effective = rotated_at + 2;
    let new_address = new_validator.public().to_address();
    let old_address = old.public().to_address();
    let mut report = RotationReport {
        node: node.id.clone(),
        old_validator_key: old_address.clone(),
        new_validator_key: new_address.clone(),
        new_node_key: new_node.public().to_address(),
        rotated_at,
        new_key_signed_at: None,
        old_key_signed: Vec::new(),
        old_key_refused: Err("not checked".into()),
        old_key_live: Err("check (a) did not pass".into()),
        live_unavailable: None,
    };
    let deadline = Instant::now() + ROTATION_WAIT;
    let mut height = effective;
    while height < effective + SIGNED_WAIT_BLOCKS && Instant::now() < deadline {
        let Ok(block) = client.get(&format!("/v1/blocks/{height}")).await else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let signers: Vec<&str> = block["certificate"]["signers"]
            .as_array()
            .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if signers.is_empty() {
            // The certificate of the newest block lands with the next.
            tokio::time::sleep(POLL).await;
            continue;
        }
        if signers.contains(&old_address.as_str()) {
            report.old_key_signed.push(height);
        }
        if signers.contains(&new_address.as_str()) && report.new_key_signed_at.is_none() {
            report.new_key_signed_at = Some(height);
            report.old_key_refused = old_key_refused(&client, height, &old, &new_validator).await;
            break;
        }
        height += 1;
    }
    Ok(report)
}

/// Submit `action` signed by cooperative `coop` (with the load's nonces)
/// until it is in a block; returns the block's height. The load may have
/// lost one of the cooperative's transactions (its node was killed with it
/// in the mempool), leaving a nonce gap that strands every later one until
/// it expires: then the cooperative's nonces start again from the node's
/// view and the rotation is sent again (at most [`SUBMIT_ATTEMPTS_MAX`]
/// times, within [`ROTATION_WAIT`] in all).
async fn submit(
    traffic: &Traffic,
    coop: usize,
    client: &Client,
    action: Action,
) -> Result<u64, String> {
    let deadline = Instant::now() + ROTATION_WAIT;
    let mut last = String::from("not sent");
    // Every attempt sent: an earlier one another node still held may land
    // after all (a later one then finds its keys in use).
    let mut sent = Vec::new();
    for _ in 0..SUBMIT_ATTEMPTS_MAX {
        if let Some(height) = landed(client, &sent).await {
            return Ok(height);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let hash = match traffic
            .submit_coop(coop, action.clone(), "rotate_node_keys")
            .await
        {
            Ok(hash) => {
                sent.push(hash);
                hash
            }
            Err(e) => {
                last = format!("not submitted: {e}");
                let _ = traffic.resync_coop(coop).await;
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        match client.wait(&hash, left.min(ATTEMPT_WAIT)).await {
            Ok(outcome) if outcome.status == "committed" => {
                if outcome.code != "ok" {
                    if let Some(height) = landed(client, &sent).await {
                        return Ok(height);
                    }
                    return Err(format!("RotateNodeKeys rejected: {}", outcome.code));
                }
                return outcome
                    .height
                    .ok_or_else(|| "RotateNodeKeys committed without a height".to_string());
            }
            Ok(outcome) => last = format!("{} ({})", outcome.status, outcome.code),
            Err(e) => last = format!("not committed: {e}"),
        }
        let _ = traffic.resync_coop(coop).await;
    }
    if let Some(height) = landed(client, &sent).await {
        return Ok(height);
    }
    Err(format!("RotateNodeKeys never committed: {last}"))
}

/// The height of the attempt among `sent` that was committed and applied.
async fn landed(client: &Client, sent: &[kopnet_consensus::Hash]) -> Option<u64> {
    for hash in sent {
        if let Ok(outcome) = client.tx(hash).await {
            if outcome.status == "committed" && outcome.code == "ok" {
                return outcome.height;
            }
        }
    }
    None
}

/// Give a key file written into a node home the home's owner: a docker
/// node's home belongs to the container's user, who must read the file.
fn same_owner_as_home(path: &std::path::Path, home: &std::path::Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(home).map_err(|e| format!("{}: {e}", home.display()))?;
        std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, home);
    Ok(())
}

/// Check (b) on block `height`, whose certificate the new key signed.
async fn old_key_refused(
    client: &Client,
    height: u64,
    old: &Keypair,
    new: &Keypair,
) -> Result<String, String> {
    let raw = client
        .get(&format!("/v1/blocks/{height}/raw"))
        .await
        .map_err(|e| format!("block {height} raw: {e}"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw["certificate"].as_str().unwrap_or(""))
        .map_err(|e| format!("certificate of {height}: {e}"))?;
    let real: CommitCertificate =
        codec::decode(&bytes).map_err(|e| format!("certificate of {height}: {e}"))?;
    let set = validator_set(client).await?;
    let chain_id = client.status().await.map_err(|e| e.to_string())?["chain_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    real.verify(&chain_id, &set)
        .map_err(|e| format!("the real certificate of {height} does not verify: {e}"))?;
    let vote = Vote {
        height: real.height,
        round: real.round,
        kind: VoteKind::Precommit,
        value_id: Some(real.value_id),
        validator: old.public(),
    };
    let signed = SignedVote::sign(&chain_id, old, vote).map_err(|e| format!("cannot sign: {e}"))?;
    let mut forged = real.clone();
    forged.signatures.retain(|s| s.validator != new.public());
    forged.signatures.push(CommitSignature {
        validator: old.public(),
        signature: signed.signature,
    });
    forged.signatures.sort_by_key(|s| s.validator);
    match forged.verify(&chain_id, &set) {
        Ok(()) => Err(format!(
            "a precommit for height {height} signed by the old key was accepted"
        )),
        Err(e) => Ok(format!(
            "its precommit for height {height} (a real block) fails certificate verification: {e}"
        )),
    }
}

/// The validator set the network reports now: active cooperatives with
/// voting power, by validator key.
async fn validator_set(client: &Client) -> Result<ValidatorSet, String> {
    let body = client
        .get("/v1/cooperatives")
        .await
        .map_err(|e| format!("cooperatives: {e}"))?;
    let list = body["cooperatives"]
        .as_array()
        .or_else(|| body.as_array())
        .cloned()
        .unwrap_or_default();
    let validators = list
        .iter()
        .filter(|c| c["voting_power"].as_u64().unwrap_or(0) > 0)
        .filter_map(|c| {
            let key = PublicKey::from_address(c["validator_key"].as_str()?).ok()?;
            Some(Validator {
                key,
                voting_power: c["voting_power"].as_u64()?,
            })
        })
        .collect();
    ValidatorSet::new(validators).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotated() -> RotationReport {
        RotationReport {
            node: "ksp-sejahtera".into(),
            old_validator_key: "kop1oldoldoldold".into(),
            new_validator_key: "kop1newnewnewnew".into(),
            new_node_key: "kop1nodenodenode".into(),
            rotated_at: 210,
            new_key_signed_at: Some(212),
            old_key_signed: Vec::new(),
            old_key_refused: Ok("unknown signer".into()),
            old_key_live: Ok(OldKeyLive {
                secs: 4,
                messages_sent: 3,
                penalties_before: 0,
                penalties_after: 6,
                penalties_grown: 6,
                bans: 0,
                honest_blocks_min: 8,
                heights_checked: (212, 250),
                old_key_certificates: Vec::new(),
                phase_failure: None,
                stopped: None,
                healthy_after: true,
            }),
            live_unavailable: None,
        }
    }

    #[test]
    fn the_report_tells_the_live_check_from_the_offline_one() {
        let report = rotated();
        assert!(report.passed());
        let lines = report.lines();
        assert!(lines
            .iter()
            .any(|l| l.contains("(b, live)") && l.contains("3 sent")));
        assert!(lines.iter().any(|l| l.contains("(b, offline)")));
    }

    #[test]
    fn old_key_messages_not_refused_fail_the_rotation_naming_it() {
        let mut report = rotated();
        if let Ok(live) = report.old_key_live.as_mut() {
            live.penalties_after = 0;
            live.penalties_grown = 0;
        }
        assert!(!report.passed());
        let reason = report.old_key_accepted().unwrap();
        assert!(reason.contains("were not refused"), "{reason}");

        // A live phase that never ran fails the rotation, but is no
        // accepted old-key message.
        let mut report = rotated();
        report.old_key_live = Err("the schedule ended before it".into());
        assert!(!report.passed());
        assert_eq!(report.old_key_accepted(), None);
        assert!(report.live_failure().unwrap().contains("did not run"));

        // Check (a) failed: no live phase is due.
        let mut report = rotated();
        report.new_key_signed_at = None;
        assert!(!report.live_phase_due());
    }

    #[test]
    fn a_backend_that_cannot_run_the_live_check_says_so_and_keeps_the_offline_one() {
        let mut report = rotated();
        report.old_key_live = Err("check (a) did not pass".into());
        report.live_unavailable = Some("the docker backend cannot restart a node".into());
        assert!(!report.live_phase_due());
        assert_eq!(report.live_failure(), None);
        assert!(report.passed());
        let lines = report.lines();
        assert!(lines
            .iter()
            .any(|l| l.contains("(b, live) not run on this backend")));
        // The offline check still decides.
        report.old_key_refused = Err("accepted".into());
        assert!(!report.passed());
    }
}
