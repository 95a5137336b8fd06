//! Settlement as the demo's cooperatives do it. Windows close on the chain's
//! schedule (the first block past each cut-off closes the open window; no
//! cooperative can close one); the demo's banks pay at once, so every
//! cooperative with a position in a closed window acknowledges it as soon
//! as it is seen: while the load runs ([`Traffic::acknowledge_windows`]
//! from [`Traffic::settle_on_schedule`], each acknowledgement tracked like
//! the load's transactions) and once more after it stopped, waiting for
//! each ([`Traffic::settle_windows`]), so a run ends with every closed
//! window settled.

use super::budget::Reservation;
use super::exposure::CoopReading;
use super::signer::SignerSlot;
use super::{Traffic, TrafficError};
use kopnet_consensus::Hash;
use kopnet_ledger::Action;
use kopnet_node::api::client::TxOutcome;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a transaction sent after the load gets to commit.
const SETTLED_COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the settling task looks for closed windows.
const SETTLE_INTERVAL: Duration = Duration::from_secs(1);
/// Most pages of cooperatives read by [`Traffic::read_exposures`].
const COOPERATIVE_PAGES_MAX: usize = 100;
/// Closed windows remembered for the summary (oldest dropped).
const WINDOWS_KEPT_MAX: usize = 10_000;

/// One window the chain closed, as the run saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedWindow {
    pub number: u64,
    pub closed_at_height: u64,
    pub closed_at_ms: u64,
    pub settled: bool,
}

/// What the run has seen of settlement so far.
#[derive(Debug, Clone, Default)]
pub struct SettlementProgress {
    /// The schedule's period and offset (ms), from the node.
    pub period_ms: u64,
    pub offset_ms: u64,
    /// Windows closed so far (the open window's number).
    pub windows_closed: u64,
    /// Closed windows, oldest first (at most [`WINDOWS_KEPT_MAX`]).
    pub windows: Vec<ClosedWindow>,
    /// Acknowledgements sent while the load ran: (window, cooperative).
    sent: BTreeSet<(u64, usize)>,
    /// Every window below this one is settled.
    settled_below: u64,
}

impl SettlementProgress {
    pub fn windows_settled(&self) -> usize {
        self.windows.iter().filter(|w| w.settled).count()
    }

    fn record(&mut self, window: ClosedWindow) {
        match self.windows.iter_mut().find(|w| w.number == window.number) {
            Some(known) => *known = window,
            None => {
                if self.windows.len() >= WINDOWS_KEPT_MAX {
                    self.windows.remove(0);
                }
                self.windows.push(window);
            }
        }
        if window.settled && window.number == self.settled_below {
            self.settled_below += 1;
            let below = self.settled_below;
            self.sent.retain(|(n, _)| *n >= below);
        }
    }
}

impl Traffic {
    /// Sign and submit one cooperative transaction now, counted under
    /// `kind` once it commits.
    pub async fn submit_coop(
        &self,
        c: usize,
        action: Action,
        kind: &'static str,
    ) -> Result<Hash, TrafficError> {
        let hash = self.sign_and_submit(c, action).await?;
        self.track(hash, SignerSlot::Coop(c), kind, Reservation::default());
        Ok(hash)
    }

    /// Start cooperative `c`'s nonces again from its node's view: after one
    /// of its transactions was lost (a node killed with it in its
    /// mempool) and left a gap that strands every later one.
    pub async fn resync_coop(&self, c: usize) -> Result<(), TrafficError> {
        let coop = self.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
        coop.resync_from_node().await
    }

    /// Every second until `stop`: acknowledge the windows the schedule
    /// closed (see [`Traffic::acknowledge_windows`]). A node that does not
    /// answer is asked again the next second.
    pub async fn settle_on_schedule(
        self: std::sync::Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(SETTLE_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return,
                _ = tick.tick() => {}
            }
            let _ = self.acknowledge_windows(false).await;
            let _ = self.read_exposures().await;
        }
    }

    /// Read every cooperative's position, closed-window debit and cap at
    /// the node's committed height into the budgets' net-debit bounds (see
    /// [`super::exposure`]). Every page of `GET /v1/cooperatives` is read.
    pub async fn read_exposures(&self) -> Result<(), TrafficError> {
        let coop = self.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let mut after: Option<String> = None;
        for _ in 0..COOPERATIVE_PAGES_MAX {
            let path = match &after {
                Some(a) => format!("/v1/cooperatives?after={a}"),
                None => "/v1/cooperatives".to_string(),
            };
            let page = coop.node.get(&path).await.map_err(|e| coop.node_error(e))?;
            let height = page["height"].as_u64().unwrap_or(0);
            for entry in page["cooperatives"].as_array().into_iter().flatten() {
                let Some(c) = self.coops.iter().position(|c| entry["id"] == c.id.as_str()) else {
                    continue;
                };
                let reading = CoopReading {
                    ndc: entry["ndc"].as_u64().unwrap_or(0),
                    position: entry["position"].as_i64().unwrap_or(i64::MIN),
                    unsettled_debit: entry["unsettled_debit"].as_i64().unwrap_or(i64::MIN),
                };
                if let Ok(mut budgets) = self.budgets.lock() {
                    budgets.exposures.read(c, reading, height);
                }
            }
            match page["next_after"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        Ok(())
    }

    /// Look at every closed window not known to be settled; each
    /// cooperative with a position there that has not acknowledged does so.
    /// With `wait` (after the load stopped), each acknowledgement is sent
    /// from the node's next nonce and waited for; without, it is submitted
    /// beside the load, once per window and cooperative, and tracked.
    /// Returns where settlement stands.
    pub async fn acknowledge_windows(
        &self,
        wait: bool,
    ) -> Result<SettlementProgress, TrafficError> {
        let coop = self.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let params = coop
            .node
            .get("/v1/params")
            .await
            .map_err(|e| coop.node_error(e))?;
        let schedule = &params["settlement"];
        let open = schedule["open_window"]
            .as_u64()
            .ok_or_else(|| TrafficError::NoOpenWindow {
                coop: coop.id.to_string(),
            })?;
        let from = self.progress()?.settled_below;
        for number in from..open {
            let record = coop
                .node
                .get(&format!("/v1/settlement/windows/{number}"))
                .await
                .map_err(|e| coop.node_error(e))?;
            if record["settled"] != true {
                self.acknowledge_window(number, &record, wait).await?;
            }
            let window = ClosedWindow {
                number,
                closed_at_height: record["closed_at_height"].as_u64().unwrap_or(0),
                closed_at_ms: record["closed_at_ms"].as_u64().unwrap_or(0),
                settled: record["settled"] == true,
            };
            self.with_progress(|p| p.record(window))?;
        }
        self.with_progress(|p| {
            p.period_ms = schedule["period_ms"].as_u64().unwrap_or(0);
            p.offset_ms = schedule["offset_ms"].as_u64().unwrap_or(0);
            p.windows_closed = open;
        })?;
        self.progress()
    }

    /// After the load has stopped: acknowledge every closed window and wait
    /// for each acknowledgement; then read where settlement stands (every
    /// closed window settled, unless a cooperative's acknowledgement was
    /// rejected).
    pub async fn settle_windows(&self) -> Result<SettlementProgress, TrafficError> {
        self.acknowledge_windows(true).await?;
        self.acknowledge_windows(false).await
    }

    /// Acknowledge closed window `number` (as `record`, the node's JSON)
    /// for every cooperative that owes it.
    async fn acknowledge_window(
        &self,
        number: u64,
        record: &Value,
        wait: bool,
    ) -> Result<(), TrafficError> {
        for (c, coop) in self.coops.iter().enumerate() {
            let entry = &record["entries"][coop.id.as_str()];
            let owes = entry["position"].as_i64().unwrap_or(0) != 0;
            if !owes || entry["acknowledged"] == true {
                continue;
            }
            let action = Action::AcknowledgeSettlement { window: number };
            if wait {
                self.submit_settled(c, action, "settlement_ack").await?;
            } else if self.with_progress(|p| p.sent.insert((number, c)))? {
                self.submit_coop(c, action, "settlement_ack").await?;
            }
        }
        Ok(())
    }

    /// A copy of the settlement progress.
    pub fn progress(&self) -> Result<SettlementProgress, TrafficError> {
        self.with_progress(|p| p.clone())
    }

    fn with_progress<T>(
        &self,
        f: impl FnOnce(&mut SettlementProgress) -> T,
    ) -> Result<T, TrafficError> {
        let mut progress = self.settlement.lock().map_err(|_| TrafficError::Poisoned {
            coop: "settlement".into(),
        })?;
        Ok(f(&mut progress))
    }

    /// Sign `action` with cooperative `c`'s next nonce and submit it to its
    /// node.
    async fn sign_and_submit(&self, c: usize, action: Action) -> Result<Hash, TrafficError> {
        let coop = self.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
        let tx = self
            .sign_coop(c, action)
            .ok_or_else(|| TrafficError::Sign {
                coop: coop.id.to_string(),
            })?;
        coop.node.submit(&tx).await.map_err(|e| coop.node_error(e))
    }

    /// Sign with cooperative `c` from the node's next nonce (nothing else of
    /// it in flight: the load has stopped), submit, wait for the commit and
    /// count it under `kind`. An acknowledgement sent while the load ran can
    /// sit behind a nonce the load gave back (and never reused once it
    /// stopped), which is why the signer restarts from the node's nonce.
    async fn submit_settled(
        &self,
        c: usize,
        action: Action,
        kind: &'static str,
    ) -> Result<TxOutcome, TrafficError> {
        let coop = self.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
        coop.resync_from_node().await?;
        coop.idle()?;
        let hash = self.sign_and_submit(c, action).await?;
        let outcome = coop
            .node
            .wait(&hash, SETTLED_COMMIT_TIMEOUT)
            .await
            .map_err(|e| coop.node_error(e))?;
        if let Ok(mut stats) = self.stats.lock() {
            stats.settled(kind, outcome.ok(), &outcome.code);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(number: u64, settled: bool) -> ClosedWindow {
        ClosedWindow {
            number,
            closed_at_height: number * 10,
            closed_at_ms: number * 1_000,
            settled,
        }
    }

    #[test]
    fn progress_moves_past_settled_windows_and_forgets_their_acks() {
        let mut p = SettlementProgress::default();
        p.sent.insert((0, 1));
        p.sent.insert((1, 1));
        p.record(window(0, false));
        p.record(window(1, true));
        assert_eq!(p.settled_below, 0);
        p.record(window(0, true));
        assert_eq!(p.settled_below, 1);
        assert_eq!(p.windows_settled(), 2);
        assert!(!p.sent.contains(&(0, 1)));
        assert!(p.sent.contains(&(1, 1)));
        assert_eq!(p.windows.len(), 2);
    }
}
