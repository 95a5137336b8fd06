//! Cooperative transactions sent one at a time beside (or after) the load:
//! closing a settlement window and acknowledging a closed one.

use super::signer::SignerSlot;
use super::{Traffic, TrafficError};
use kopnet_consensus::Hash;
use kopnet_ledger::Action;
use kopnet_node::api::client::TxOutcome;
use std::time::Duration;

/// How long a transaction sent after the load gets to commit.
const SETTLED_COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

impl Traffic {
    /// Sign and submit one cooperative transaction now (window closes, acks),
    /// counted under `kind` once it commits.
    pub async fn submit_coop(
        &self,
        c: usize,
        action: Action,
        kind: &'static str,
    ) -> Result<Hash, TrafficError> {
        let hash = self.sign_and_submit(c, action).await?;
        self.track(hash, SignerSlot::Coop(c), kind);
        Ok(hash)
    }

    /// After the load has stopped: close the open settlement window (the
    /// first cooperative signs, from the node's next nonce) and wait for it.
    /// Returns the closed window's number.
    pub async fn close_window(&self) -> Result<u64, TrafficError> {
        let coop = self.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let cooperatives = coop
            .node
            .get("/v1/cooperatives")
            .await
            .map_err(|e| coop.node_error(e))?;
        let open =
            cooperatives["open_window"]
                .as_u64()
                .ok_or_else(|| TrafficError::NoOpenWindow {
                    coop: coop.id.to_string(),
                })?;
        let outcome = self
            .submit_settled(
                0,
                Action::CloseSettlementWindow { window: open },
                "settlement_close",
            )
            .await?;
        if !outcome.ok() {
            return Err(TrafficError::CloseRejected {
                window: open,
                code: outcome.code,
            });
        }
        Ok(open)
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
    /// count it under `kind`.
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

    /// After the load has stopped: every cooperative that has a position in
    /// closed window `window` and has not acknowledged it does so now, and
    /// the acknowledgement is waited for. An acknowledgement sent while the
    /// load ran can sit behind a nonce the load gave back (and never reused
    /// once it stopped), so each signer restarts from the node's next nonce.
    /// Returns how many acknowledgements committed.
    pub async fn settle_window(&self, window: u64) -> Result<u64, TrafficError> {
        let mut settled = 0;
        for (c, coop) in self.coops.iter().enumerate() {
            let record = coop
                .node
                .get(&format!("/v1/settlement/windows/{window}"))
                .await
                .map_err(|e| coop.node_error(e))?;
            let entry = &record["entries"][coop.id.as_str()];
            let owes = entry["position"].as_i64().unwrap_or(0) != 0;
            if !owes || entry["acknowledged"] == true {
                continue;
            }
            let outcome = self
                .submit_settled(
                    c,
                    Action::AcknowledgeSettlement { window },
                    "settlement_ack",
                )
                .await?;
            settled += u64::from(outcome.ok());
        }
        Ok(settled)
    }
}
