//! The node's event loop: one task that owns the consensus engine and turns
//! network events, timers and local transactions into engine inputs, and
//! engine outputs into persistence, gossip, block building and commits.
//!
//! Ordering rules: the safety record is fsynced before any signed message
//! leaves ([`kopnet_consensus::PendingSend::persist`]); a block is committed
//! (one atomic, flushed sled batch) before the engine moves to the next height
//! and before clients can see it.

use crate::allow_list;
use crate::commit::{self, certificate_key, commit_executed, validator_set_for};
use crate::gossip_verdict;
use crate::p2p::{NetEvent, P2pHandle, Topic, Verdict};
use crate::safety_file::SafetyFile;
use crate::shared::NodeState;
use crate::submit;
use crate::sync::{self, SyncOutcome};
use crate::wire::{self, ConsensusGossip, SyncRequest, SyncResponse, TxBatch, TX_BATCH_MAX};
use kopnet_consensus::types::{Message, Value};
use kopnet_consensus::{
    codec, CommitCertificate, Engine, EngineConfig, Input, Keypair, Output, Outputs, TimeoutStep,
};
use kopnet_ledger::ledger::{BlockLimits, ExecutedBlock};
use kopnet_ledger::Block;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often locally accepted transactions are flushed to gossip.
const GOSSIP_FLUSH: Duration = Duration::from_millis(20);
/// How often a node asks a peer for blocks it may have missed.
const SYNC_INTERVAL: Duration = Duration::from_millis(500);
/// Most timers pending at once (older heights' timers are dropped first).
const TIMERS_MAX: usize = 1_024;

pub struct Runtime {
    pub state: Arc<NodeState>,
    pub p2p: P2pHandle,
    pub net: mpsc::Receiver<NetEvent>,
    pub outbox: mpsc::Receiver<Vec<u8>>,
    pub engine: Option<Engine>,
    pub engine_config: EngineConfig,
    pub keypair: Keypair,
    pub safety: SafetyFile,
    pub block_limits: BlockLimits,
    pub shutdown: watch::Receiver<bool>,
    pub(crate) timers: BTreeMap<(u64, u64), (u64, u32, TimeoutStep)>,
    pub(crate) timer_seq: u64,
    pub(crate) clock: Instant,
    pub(crate) batch: Vec<Vec<u8>>,
    pub(crate) sync_results: (mpsc::Sender<SyncOutcome>, mpsc::Receiver<SyncOutcome>),
    pub(crate) sync_in_flight: bool,
    pub(crate) sync_peer: usize,
    pub(crate) best_seen_height: u64,
    /// Gossiped transaction batches being verified at once.
    pub(crate) ingest: Arc<tokio::sync::Semaphore>,
    /// The allow-list last given to the network (see [`allow_list`]).
    pub(crate) allowed: Vec<kopnet_consensus::PublicKey>,
    /// The last block this node built or validated, executed: written at
    /// commit if it is the decided one, so no block is executed twice.
    pub(crate) executed: Option<ExecutedBlock>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Run until shutdown.
    pub async fn run(mut self) {
        self.refresh_allow_list().await;
        if let Some(engine) = self.engine.as_mut() {
            let now = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(0);
            let out = engine.start(now);
            self.drive(out).await;
        }
        let mut flush = tokio::time::interval(GOSSIP_FLUSH);
        let mut sync_tick = tokio::time::interval(SYNC_INTERVAL);
        loop {
            let next_timer = self.timers.keys().next().map(|(deadline, _)| *deadline);
            let sleep = match next_timer {
                Some(deadline) => {
                    let wait = deadline.saturating_sub(self.now_ms());
                    tokio::time::sleep(Duration::from_millis(wait))
                }
                None => tokio::time::sleep(Duration::from_secs(3600)),
            };
            tokio::select! {
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        break;
                    }
                }
                event = self.net.recv() => match event {
                    Some(event) => self.on_net(event).await,
                    None => break,
                },
                Some(tx) = self.outbox.recv() => {
                    self.batch.push(tx);
                    if self.batch.len() >= TX_BATCH_MAX {
                        self.flush_batch().await;
                    }
                }
                _ = flush.tick() => {
                    self.flush_batch().await;
                    self.maybe_txs_available().await;
                }
                _ = self.state.txs_available.notified() => {
                    self.maybe_txs_available().await;
                }
                _ = sync_tick.tick() => self.start_sync(),
                Some(outcome) = self.sync_results.1.recv() => {
                    self.sync_in_flight = false;
                    self.on_sync(outcome).await;
                }
                _ = sleep => self.fire_timers().await,
            }
        }
        self.p2p.shutdown().await;
    }

    async fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let txs = std::mem::take(&mut self.batch);
        let bytes = wire::encode(&TxBatch { txs });
        if let Err(e) = self.p2p.publish(Topic::Transactions, bytes).await {
            tracing::debug!(error = %e, "transaction gossip not published");
        }
    }

    async fn maybe_txs_available(&mut self) {
        let empty = self
            .state
            .mempool
            .lock()
            .map(|m| m.is_empty())
            .unwrap_or(true);
        if empty {
            return;
        }
        if let Some(engine) = self.engine.as_mut() {
            let height = engine.height();
            let now = self.clock.elapsed().as_millis();
            let now = u64::try_from(now).unwrap_or(u64::MAX);
            if let Ok(out) = engine.handle(now, Input::TxsAvailable { height }) {
                self.drive(out).await;
            }
        }
    }

    async fn fire_timers(&mut self) {
        let now = self.now_ms();
        let due: Vec<_> = self
            .timers
            .range(..(now.saturating_add(1), 0))
            .map(|(k, v)| (*k, *v))
            .collect();
        for (key, (height, round, step)) in due {
            self.timers.remove(&key);
            if let Some(engine) = self.engine.as_mut() {
                match engine.handle(
                    now,
                    Input::TimeoutElapsed {
                        height,
                        round,
                        step,
                    },
                ) {
                    Ok(out) => self.drive(out).await,
                    Err(e) => tracing::trace!(error = %e, "stale timeout"),
                }
            }
        }
    }

    fn schedule(&mut self, deadline_ms: u64, timer: (u64, u32, TimeoutStep)) {
        self.timer_seq = self.timer_seq.wrapping_add(1);
        self.timers.insert((deadline_ms, self.timer_seq), timer);
        while self.timers.len() > TIMERS_MAX {
            // Drop the timer of the lowest height (the oldest work).
            let oldest = self
                .timers
                .iter()
                .min_by_key(|(_, (h, r, _))| (*h, *r))
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.timers.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Carry out engine outputs, feeding follow-up inputs back in, in order.
    pub(crate) async fn drive(&mut self, outputs: Outputs) {
        let mut queue: std::collections::VecDeque<Output> = outputs.into_iter().collect();
        while let Some(output) = queue.pop_front() {
            let follow_up = match output {
                Output::Send(pending) => {
                    match pending.persist(&mut self.safety) {
                        Ok(messages) => {
                            for message in messages {
                                let bytes = wire::encode(&ConsensusGossip::Message(message));
                                if let Err(e) = self.p2p.publish(Topic::Consensus, bytes).await {
                                    tracing::debug!(error = %e, "consensus gossip not published");
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot persist safety record; not sending votes")
                        }
                    }
                    None
                }
                Output::ScheduleTimeout {
                    height,
                    round,
                    step,
                    deadline_ms,
                } => {
                    self.schedule(deadline_ms, (height, round, step));
                    None
                }
                Output::GetValue { height, round } => {
                    self.build_value(height).map(|value| Input::ValueReady {
                        height,
                        round,
                        value,
                    })
                }
                Output::ValidateValue {
                    height,
                    round,
                    value,
                } => {
                    let valid = self.validate_value(&value);
                    Some(Input::ValueValidated {
                        height,
                        round,
                        value_id: value.id,
                        valid,
                    })
                }
                Output::Decide(decision) => {
                    self.on_decide(decision.height, &decision.value, &decision.certificate)
                        .await
                }
                Output::Evidence(evidence) => {
                    tracing::warn!(?evidence, "conflicting votes observed (evidence)");
                    None
                }
            };
            if let (Some(input), Some(engine)) = (follow_up, self.engine.as_mut()) {
                let now = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
                match engine.handle(now, input) {
                    Ok(out) => queue.extend(out),
                    Err(e) => tracing::debug!(error = %e, "engine refused follow-up input"),
                }
            }
            if let Some(engine) = self.engine.as_ref() {
                self.state.metrics.round.store(
                    u64::from(engine.round()),
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
        }
    }

    /// Build our proposal from the mempool.
    fn build_value(&mut self, height: u64) -> Option<Value> {
        let ledger = self.state.ledger.read().ok()?;
        if ledger.height().saturating_add(1) != height {
            return None;
        }
        let candidates = self
            .state
            .mempool
            .lock()
            .ok()?
            .candidates(self.block_limits.max_txs, |k| ledger.next_nonce(k).ok());
        let (executed, skipped) = tokio::task::block_in_place(|| {
            ledger.build_executed_block(
                &candidates,
                self.keypair.public(),
                self.block_limits,
                &self.state.verified,
            )
        });
        for (hash, reason) in skipped {
            self.state.note_rejection(hash, reason.code());
        }
        let bytes = executed.block().encode().ok()?;
        let id = executed.hash();
        self.executed = Some(executed);
        Some(Value { id, bytes })
    }

    fn validate_value(&mut self, value: &Value) -> bool {
        let Ok(block) = Block::decode(&value.bytes) else {
            return false;
        };
        if block.hash() != value.id {
            return false;
        }
        let Ok(ledger) = self.state.ledger.read() else {
            return false;
        };
        match tokio::task::block_in_place(|| ledger.validate_block(&block, &self.state.verified)) {
            Ok(executed) => {
                self.executed = Some(executed);
                true
            }
            Err(e) => {
                tracing::warn!(height = block.header.height, error = %e, "invalid proposal");
                false
            }
        }
    }

    /// Commit a decided block, then start the next height.
    async fn on_decide(
        &mut self,
        height: u64,
        value: &Value,
        certificate: &CommitCertificate,
    ) -> Option<Input> {
        let block = match Block::decode(&value.bytes) {
            Ok(block) => block,
            Err(e) => {
                tracing::error!(height, error = %e, "decided value does not decode");
                return None;
            }
        };
        let committed = self.state.ledger.read().map(|l| l.height()).unwrap_or(0);
        let executed = self.executed.take();
        if committed < height {
            let result = tokio::task::block_in_place(|| {
                commit_executed(&self.state, executed, &block, certificate)
            });
            if let Err(e) = result {
                tracing::error!(height, error = %e, "cannot commit decided block");
                return None;
            }
            tracing::info!(height, txs = block.txs.len(), "committed block");
            self.announce(height).await;
            self.refresh_allow_list().await;
        }
        let ledger = self.state.ledger.read().ok()?;
        let validators = validator_set_for(&ledger, height.saturating_add(1)).ok()?;
        Some(Input::NextHeight {
            height: height.saturating_add(1),
            validators,
        })
    }

    /// Give the network the ledger's allow-list if it changed (a cooperative
    /// added or removed by governance).
    async fn refresh_allow_list(&mut self) {
        let keys = match self.state.ledger.read() {
            Ok(ledger) => allow_list::current(&ledger, &self.state.genesis),
            Err(_) => return,
        };
        if keys == self.allowed {
            return;
        }
        let raw: Vec<[u8; 32]> = keys.iter().map(|k| k.0).collect();
        match self.p2p.set_allowed(&raw).await {
            Ok(()) => self.allowed = keys,
            Err(error) => tracing::warn!(%error, "cannot update the peer allow-list"),
        }
    }

    async fn announce(&mut self, height: u64) {
        let bytes = wire::encode(&ConsensusGossip::Committed {
            height,
            from: self.keypair.public(),
        });
        let _ = self.p2p.publish(Topic::Consensus, bytes).await;
    }

    async fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Gossip {
                topic: Topic::Transactions,
                source,
                id,
                data,
                ..
            } => {
                self.on_tx_gossip(id, source, data).await;
            }
            NetEvent::Gossip {
                topic: Topic::Consensus,
                source,
                author,
                id,
                data,
            } => {
                let verdict = self.on_consensus_gossip(&data, author).await;
                let _ = self.p2p.report(id, source, verdict).await;
            }
            NetEvent::Request { peer, data, reply } => {
                let response = match wire::decode::<SyncRequest>(&data) {
                    Ok(request) => sync::serve(&self.state, &request),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "malformed sync request");
                        SyncResponse {
                            height: 0,
                            blocks: vec![],
                        }
                    }
                };
                let blocks = response.blocks.len();
                if let Err(error) = reply.send(wire::encode(&response)).await {
                    tracing::warn!(%peer, blocks, %error, "could not answer a sync request");
                }
            }
            NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {
                if let Ok(peers) = self.p2p.connected_peers().await {
                    self.state
                        .metrics
                        .peers
                        .store(peers.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    if let Ok(mut live) = self.state.live.write() {
                        live.peers = peers.iter().map(|p| p.to_string()).collect();
                    }
                }
            }
        }
    }

    /// Verify gossiped transactions off the consensus loop: a bounded number
    /// of batches at a time on the blocking pool; beyond that, batches are
    /// ignored here (their transactions still arrive in proposals).
    async fn on_tx_gossip(
        &mut self,
        id: crate::p2p::MessageId,
        source: libp2p::PeerId,
        data: Vec<u8>,
    ) {
        if self.engine.is_none() {
            // Observers do not keep a mempool.
            let _ = self.p2p.report(id, source, Verdict::Ignore).await;
            return;
        }
        let Ok(permit) = self.ingest.clone().try_acquire_owned() else {
            let _ = self.p2p.report(id, source, Verdict::Ignore).await;
            return;
        };
        let state = self.state.clone();
        let p2p = self.p2p.clone();
        tokio::spawn(async move {
            let verdict = tokio::task::spawn_blocking(move || tx_batch_verdict(&state, &data))
                .await
                .unwrap_or(Verdict::Ignore);
            let _ = p2p.report(id, source, verdict).await;
            drop(permit);
        });
    }

    async fn on_consensus_gossip(&mut self, data: &[u8], author: crate::p2p::PeerId) -> Verdict {
        let Ok(gossip) = wire::decode::<ConsensusGossip>(data) else {
            return Verdict::Reject;
        };
        match gossip {
            ConsensusGossip::Committed { height, from } => {
                // The hint names its sender; gossipsub signed who that was.
                if crate::p2p::peer_id_from_key(&from.0).ok() != Some(author) {
                    return Verdict::Reject;
                }
                self.best_seen_height = self.best_seen_height.max(height);
                let ours = self.state.ledger.read().map(|l| l.height()).unwrap_or(0);
                if height > ours {
                    self.start_sync();
                }
                Verdict::Accept
            }
            ConsensusGossip::Message(message) => {
                let Some(engine) = self.engine.as_mut() else {
                    let validators: Vec<_> = match self.state.ledger.read() {
                        Ok(ledger) => ledger.validators().into_iter().map(|(k, _)| k).collect(),
                        Err(_) => return Verdict::Ignore,
                    };
                    return gossip_verdict::for_observer(
                        &self.state.chain_id,
                        &validators,
                        &message,
                    );
                };
                let input = match message {
                    Message::Proposal(p) => Input::Proposal(p),
                    Message::Vote(v) => Input::Vote(v),
                };
                let now = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
                match engine.handle(now, input) {
                    Ok(out) => {
                        self.drive(out).await;
                        Verdict::Accept
                    }
                    Err(e) => {
                        tracing::trace!(error = %e, "consensus message dropped");
                        gossip_verdict::for_engine_error(&e)
                    }
                }
            }
        }
    }

    /// Ask one peer (round robin) for blocks after our height.
    pub(crate) fn start_sync(&mut self) {
        if self.sync_in_flight {
            return;
        }
        let from = self
            .state
            .ledger
            .read()
            .map(|l| l.height())
            .unwrap_or(0)
            .saturating_add(1);
        let p2p = self.p2p.clone();
        let results = self.sync_results.0.clone();
        self.sync_peer = self.sync_peer.wrapping_add(1);
        let index = self.sync_peer;
        self.sync_in_flight = true;
        tokio::spawn(async move {
            let outcome = sync::fetch(&p2p, index, from).await;
            let _ = results.send(outcome).await;
        });
    }

    async fn on_sync(&mut self, outcome: SyncOutcome) {
        let applied = match outcome {
            SyncOutcome::Blocks(response) => {
                self.best_seen_height = self.best_seen_height.max(response.height);
                let state = self.state.clone();
                tokio::task::block_in_place(|| sync::apply(&state, &response))
            }
            SyncOutcome::Failed(reason) => {
                tracing::debug!(%reason, "sync attempt failed");
                0
            }
        };
        let height = self.state.ledger.read().map(|l| l.height()).unwrap_or(0);
        if let Ok(mut live) = self.state.live.write() {
            live.syncing = self.best_seen_height > height;
        }
        if applied > 0 {
            if applied > 1 {
                tracing::info!(height, applied, "caught up from peers");
            } else {
                tracing::debug!(height, "block from peers");
            }
            self.refresh_allow_list().await;
            self.restart_engine_at(height.saturating_add(1)).await;
            if self.best_seen_height > height {
                self.start_sync();
            }
        }
    }

    /// After catching up, run consensus from `height` with a fresh engine that
    /// keeps the safety record (so it never signs twice).
    async fn restart_engine_at(&mut self, height: u64) {
        let Some(old) = self.engine.take() else {
            return;
        };
        let record = old.safety_record().clone();
        let validators = match self
            .state
            .ledger
            .read()
            .map(|l| validator_set_for(&l, height))
        {
            Ok(Ok(v)) => v,
            _ => {
                self.engine = Some(old);
                return;
            }
        };
        match Engine::new(
            self.engine_config.clone(),
            self.keypair.clone(),
            height,
            validators,
            Some(record),
        ) {
            Ok(mut engine) => {
                self.timers.clear();
                let out = engine.start(self.now_ms());
                self.engine = Some(engine);
                self.drive(out).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot restart consensus after catch-up");
                self.engine = Some(old);
            }
        }
    }
}

/// Load a commit certificate stored with a block.
pub fn stored_certificate(state: &NodeState, height: u64) -> Option<CommitCertificate> {
    let ledger = state.ledger.read().ok()?;
    let bytes = ledger.host_data(&certificate_key(height)).ok()??;
    codec::decode(&bytes).ok()
}

#[allow(dead_code)]
fn _uses(_: &commit::CommitError) {}

/// Submit every transaction of a gossiped batch; reject the batch if any is
/// forged or malformed (the sender verified them, so it is misbehaving).
fn tx_batch_verdict(state: &NodeState, data: &[u8]) -> Verdict {
    let Ok(batch) = wire::decode::<TxBatch>(data) else {
        return Verdict::Reject;
    };
    if batch.txs.len() > TX_BATCH_MAX {
        return Verdict::Reject;
    }
    let mut verdict = Verdict::Accept;
    for bytes in &batch.txs {
        if let Err(e) = submit::submit_bytes(state, bytes) {
            if matches!(e.code(), "malformed" | "bad_signature" | "wrong_chain") {
                verdict = Verdict::Reject;
            }
        }
    }
    verdict
}
