//! Matching commits to submissions: from a node's `/v1/events` stream, or by
//! reading blocks in height order from whichever node answers; and giving
//! up, as lost, submissions never seen in a block.

use super::refunds::{RecentPayment, RECENT_PAYMENTS_MAX};
use super::stats::Submission;
use super::{Traffic, TrafficError};
use futures::StreamExt;
use kopnet_consensus::Hash;
use kopnet_node::api::client::Client;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A submission not seen in a block after this long is counted as lost.
const LOST_AFTER: Duration = Duration::from_secs(30);
/// Blocks read per request by [`Traffic::follow_blocks`].
const FOLLOW_PAGE_BLOCKS: u64 = 100;
/// Pause between two block reads by [`Traffic::follow_blocks`].
const FOLLOW_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Deadline of one page of blocks; a node slower than this is skipped.
const FOLLOW_PAGE_TIMEOUT: Duration = Duration::from_secs(2);

impl Traffic {
    /// Follow `/v1/events` on `node`, matching commits to submissions.
    pub async fn follow_commits(
        self: Arc<Self>,
        node: Client,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), TrafficError> {
        let url = format!("{}/v1/events", node.base());
        let events_error = |error: String| TrafficError::Events {
            url: url.clone(),
            error,
        };
        // Signed by the client's key (the layout's reader): the stream
        // carries transactions only to participants.
        let response = node
            .event_stream()
            .await
            .map_err(|e| events_error(e.to_string()))?;
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        let started = Instant::now();
        loop {
            let chunk = tokio::select! {
                _ = stop.changed() => return Ok(()),
                chunk = stream.next() => chunk,
            };
            let Some(chunk) = chunk else { return Ok(()) };
            buffer.push_str(&String::from_utf8_lossy(
                &chunk.map_err(|e| events_error(e.to_string()))?,
            ));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    if let Ok(block) = serde_json::from_str::<serde_json::Value>(data.trim()) {
                        self.on_block(&block, started);
                    }
                }
            }
        }
    }

    /// Follow commits by reading blocks in height order from whichever of
    /// `nodes` answers (`GET /v1/blocks?from=H`), so that no block is missed
    /// when the node being read is killed, paused or cut off. Starts after
    /// the height the first answering node reports now.
    pub async fn follow_blocks(
        self: Arc<Self>,
        nodes: Vec<Client>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let started = Instant::now();
        let mut next: Option<u64> = None;
        let mut turn = 0usize;
        let mut poll = tokio::time::interval(FOLLOW_POLL_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = poll.tick() => {}
            }
            let Some(node) = nodes.get(turn % nodes.len().max(1)) else {
                return;
            };
            let Some(from) = next else {
                match node.status().await {
                    Ok(status) => next = Some(status["height"].as_u64().unwrap_or(0) + 1),
                    Err(_) => turn = turn.wrapping_add(1),
                }
                continue;
            };
            let page = tokio::time::timeout(
                FOLLOW_PAGE_TIMEOUT,
                node.get(&format!(
                    "/v1/blocks?from={from}&limit={FOLLOW_PAGE_BLOCKS}"
                )),
            )
            .await;
            let Ok(Ok(page)) = page else {
                turn = turn.wrapping_add(1);
                continue;
            };
            for block in page["blocks"].as_array().into_iter().flatten() {
                if block["height"].as_u64() != next {
                    break;
                }
                self.on_block(block, started);
                next = next.map(|h| h + 1);
            }
        }
    }

    /// Count the tracked submissions in `block` (as JSON from the API) as
    /// committed and free their signers.
    fn on_block(&self, block: &serde_json::Value, started: Instant) {
        let txs = block["txs"].as_array().cloned().unwrap_or_default();
        let mut releases = Vec::new();
        let (Ok(mut tracked), Ok(mut stats)) = (self.tracked.lock(), self.stats.lock()) else {
            return;
        };
        let height = block["height"].as_u64();
        let time_ms = block["time_ms"].as_u64();
        stats.last_height = height.unwrap_or(stats.last_height);
        let second = started.elapsed().as_secs();
        for tx in &txs {
            let Some(hash) = tx["hash"].as_str().and_then(|h| Hash::from_hex(h).ok()) else {
                continue;
            };
            let result = tx["result"].as_str().unwrap_or("?").to_string();
            let Some(submission) = tracked.remove(&hash) else {
                continue;
            };
            let applied = result == "ok";
            stats.committed(hash, &submission, result, second);
            releases.push((hash, submission, applied));
        }
        drop(tracked);
        drop(stats);
        for (hash, submission, applied) in releases {
            if applied {
                self.remember_payment(hash, &submission);
            }
            match submission.then {
                Some(pay) => self.request_landed(pay, submission.reservation, applied, height),
                None => self.settle_budgets(&submission.reservation, applied, height, time_ms),
            }
            self.release(submission.slot);
        }
    }

    /// An applied payment to a micro merchant, to be refunded later.
    fn remember_payment(&self, hash: Hash, submission: &Submission) {
        let Some(payment) = RecentPayment::of(hash, submission) else {
            return;
        };
        if let Ok(mut recent) = self.recent_payments.lock() {
            if recent.len() >= RECENT_PAYMENTS_MAX {
                recent.pop_front();
            }
            recent.push_back(payment);
        }
    }

    /// Count submissions older than [`LOST_AFTER`] as lost and free their signers.
    pub fn sweep(&self) {
        let mut lost = Vec::new();
        if let Ok(mut tracked) = self.tracked.lock() {
            tracked.retain(|_, submission| {
                let keep = submission.at.elapsed() < LOST_AFTER;
                if !keep {
                    lost.push(*submission);
                }
                keep
            });
        }
        if !lost.is_empty() {
            if let Ok(mut stats) = self.stats.lock() {
                *stats.rejected.entry("lost".into()).or_insert(0) += lost.len() as u64;
            }
        }
        for submission in lost {
            // A lost request is never paid by the driver: nothing of its
            // payment can apply, so its reservation is given back.
            match submission.then {
                Some(pay) => self.request_landed(pay, submission.reservation, false, None),
                None => self.lost_budgets(&submission.reservation),
            }
            self.release(submission.slot);
        }
    }
}
