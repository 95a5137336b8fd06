//! The open-loop load: every tick, the transactions owed at the target rate
//! are prepared and sent in one batch request per node, bounded by the
//! in-flight permits; what the node refuses or never takes frees its signer
//! (and its nonce, when the node did not use it).

use super::budget::Reservation;
use super::plan::Prepared;
use super::signer::SignerSlot;
use super::stats::{Submission, TRACKED_MAX};
use super::Traffic;
use kopnet_consensus::Hash;
use kopnet_ledger::Transaction;
use kopnet_node::api::client::Client;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Most submissions in flight at once.
const IN_FLIGHT_MAX: usize = 256;
/// Picks per offered transaction before it is counted as not offered.
const PICK_TRIES_MAX: usize = 8;
/// Most transactions the driver sends in one `POST /v1/txs` (within the
/// node's own limit of 256 and its 64 KiB body limit).
const SUBMIT_BATCH_TXS_MAX: usize = 128;
/// Load ticks per second: the rate is spread over them.
const TICKS_PER_SECOND: u64 = 100;

impl Traffic {
    /// Send load at `rate` transactions per second until `stop` says so;
    /// the mix's payout goes once, beside it, when its time comes.
    pub async fn run_load(
        self: Arc<Self>,
        rate: u64,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let permits = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
        let mut interval = tokio::time::interval(Duration::from_millis(1000 / TICKS_PER_SECOND));
        let per_tick = rate as f64 / TICKS_PER_SECOND as f64;
        let mut owed = 0.0f64;
        let mut payout_at = self
            .mix
            .payout_after_secs
            .map(|secs| Instant::now() + Duration::from_secs(secs));
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = interval.tick() => {}
            }
            if payout_at.is_some_and(|at| Instant::now() >= at) {
                payout_at = None;
                tokio::spawn(self.clone().pay_surplus());
            }
            owed += per_tick;
            let count = owed.floor();
            owed -= count;
            // Only what can be sent now is prepared: a transaction signed
            // without a permit to send it would be thrown away (at `--max`
            // most of the driver's CPU went to that).
            let count = (count as usize).min(permits.available_permits());
            // Drawing, planning and signing run on a blocking thread, off
            // the runtime that sends, follows commits and settles.
            let me = self.clone();
            let Ok(batches) = tokio::task::spawn_blocking(move || me.prepare_tick(count)).await
            else {
                continue;
            };
            for (node, batch) in batches {
                let count = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                let Ok(permit) = permits.clone().try_acquire_many_owned(count) else {
                    for prepared in &batch {
                        self.unsent(prepared);
                    }
                    continue;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    me.send_batch(&node, &batch).await;
                });
            }
        }
    }

    /// Up to `count` transactions for one tick, signed, in one batch per
    /// node.
    fn prepare_tick(&self, count: usize) -> Vec<(Client, Vec<Prepared>)> {
        let mut batches: Vec<(Client, Vec<Prepared>)> = Vec::new();
        for _ in 0..count {
            // A picked signer may still have a transaction in flight:
            // pick again (bounded) rather than offer less than `rate`. When
            // that many picks in a row find only busy signers (every
            // member waiting for a commit, as at `--max`), the rest of the
            // tick is not offered: drawing again would only burn the CPU
            // the nodes are measured on.
            let Some(prepared) = (0..PICK_TRIES_MAX).find_map(|_| self.prepare()) else {
                break;
            };
            match batches.iter_mut().find(|(node, list)| {
                node.base() == prepared.node.base() && list.len() < SUBMIT_BATCH_TXS_MAX
            }) {
                Some((_, list)) => list.push(prepared),
                None => batches.push((prepared.node.clone(), vec![prepared])),
            }
        }
        batches
    }

    /// Send one batch to `node`; track what it took, release what it refused.
    pub(super) async fn send_batch(&self, node: &Client, batch: &[Prepared]) {
        let txs: Vec<Transaction> = batch.iter().map(|p| p.tx.clone()).collect();
        match node.submit_batch(&txs).await {
            Ok(results) => {
                for (prepared, result) in batch.iter().zip(results) {
                    match result {
                        Ok(hash) => self.track_submission(
                            hash,
                            Submission {
                                at: Instant::now(),
                                slot: prepared.slot,
                                kind: prepared.kind,
                                class: prepared.class,
                                then: prepared.then,
                                reservation: prepared.reservation,
                            },
                        ),
                        Err(e) => {
                            let code = e.code().unwrap_or("unreachable").to_string();
                            self.failed(prepared, code).await;
                        }
                    }
                }
            }
            Err(e) => {
                let code = e.code().unwrap_or("unreachable").to_string();
                for prepared in batch {
                    self.failed(prepared, code.clone()).await;
                }
            }
        }
    }

    /// A submission the node took: wait for it in a block.
    pub(super) fn track(
        &self,
        hash: Hash,
        slot: SignerSlot,
        kind: &'static str,
        reservation: Reservation,
    ) {
        let submission = Submission {
            at: Instant::now(),
            slot,
            kind,
            class: None,
            then: None,
            reservation,
        };
        self.track_submission(hash, submission);
    }

    /// [`Traffic::track`] with everything the submission carries.
    fn track_submission(&self, hash: Hash, submission: Submission) {
        if let Ok(mut tracked) = self.tracked.lock() {
            // Past the bound it is not followed: its reservation stays, as
            // for a lost one (both bounds stay true); a request's is given
            // back, as it is never paid.
            if tracked.len() < TRACKED_MAX {
                tracked.insert(hash, submission);
            } else if let Some(pay) = submission.then {
                drop(tracked);
                self.request_landed(pay, submission.reservation, false, None);
            }
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.submitted += 1;
        }
    }

    /// A planned transaction was applied or refused, in a block at
    /// `height` whose time is `time_ms`, or (None) before any (see
    /// [`super::budget`]).
    pub(super) fn settle_budgets(
        &self,
        reservation: &Reservation,
        applied: bool,
        height: Option<u64>,
        time_ms: Option<u64>,
    ) {
        if let Ok(mut budgets) = self.budgets.lock() {
            budgets.landed(reservation, applied, height, time_ms);
        }
    }

    /// A planned transaction's fate is unknown: keep its reservations.
    pub(super) fn lost_budgets(&self, reservation: &Reservation) {
        if let Ok(mut budgets) = self.budgets.lock() {
            budgets.lost(reservation);
        }
    }

    /// A submission of `slot` ended (committed or given up): one less in flight.
    pub(super) fn release(&self, slot: SignerSlot) {
        if let Some(Ok(mut signer)) = self.signer_cell(slot).map(|c| c.lock()) {
            signer.in_flight = signer.in_flight.saturating_sub(1);
        }
    }

    /// A prepared transaction was never sent: free its signer's slot and nonce.
    fn unsent(&self, prepared: &Prepared) {
        self.settle_budgets(&prepared.reservation, false, None, None);
        if let Some(Ok(mut signer)) = self.signer_cell(prepared.slot).map(|c| c.lock()) {
            signer.in_flight = signer.in_flight.saturating_sub(1);
            signer.give_back(prepared.tx.body.nonce);
        }
    }

    /// A submission failed before reaching a block: count it, and put its
    /// nonce back for reuse, unless the node says the nonce is already used
    /// (`stale_nonce`, `nonce_taken`); then, once nothing else of the signer
    /// is in flight, resync the signer's nonce from the node.
    async fn failed(&self, prepared: &Prepared, code: String) {
        let used = code == "stale_nonce" || code == "nonce_taken";
        // Without an answer the node may have taken it: it may still apply.
        match (code.as_str(), prepared.then) {
            // A request is never paid by the driver once it failed here.
            (_, Some(pay)) => self.request_landed(pay, prepared.reservation, false, None),
            ("unreachable", None) => self.lost_budgets(&prepared.reservation),
            _ => self.settle_budgets(&prepared.reservation, false, None, None),
        }
        if let Ok(mut stats) = self.stats.lock() {
            *stats.rejected.entry(code).or_insert(0) += 1;
        }
        let cell = self.signer_cell(prepared.slot);
        let idle = match cell.map(|c| c.lock()) {
            Some(Ok(mut signer)) => {
                signer.in_flight = signer.in_flight.saturating_sub(1);
                if !used {
                    signer.give_back(prepared.tx.body.nonce);
                }
                signer.in_flight == 0
            }
            _ => false,
        };
        if !(used && idle) {
            return;
        }
        let key = prepared.tx.body.signer;
        if let Ok(nonce) = prepared.node.next_nonce(&key).await {
            if let Some(Ok(mut signer)) = cell.map(|c| c.lock()) {
                if signer.in_flight == 0 {
                    signer.resync(nonce);
                }
            }
        }
    }
}
