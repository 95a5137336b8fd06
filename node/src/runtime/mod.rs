//! The node's tokio shell around the [`Host`]: it feeds the host network
//! events, timers, synced pages and locally submitted transactions, and
//! carries the host's [`Effect`]s out over libp2p and the clock.
//!
//! There is no consensus logic here: every decision — what to verify, what
//! to persist, when to commit, what to gossip — is the host's. This loop
//! only owns what needs I/O: the wall clock and the timers
//! ([`crate::host::Timers`]), the gossip batch of local transactions, the
//! catch-up request in flight, and the verification of gossiped batches on
//! the blocking pool (bounded by [`INGEST_BATCHES`]).
//!
//! Error policy: a [`HostError`] stops the node (fail-stop, [`fail_stop`]):
//! [`Runtime::run`] notes a storage failure for `GET /health`, stops the
//! network and returns the error; `kopnet node run` logs one line saying
//! why and exits with the code [`FailStop::exit_code`] gives.

mod effects;
pub mod fail_stop;
#[cfg(feature = "fault-injection")]
pub mod hostile;

pub use fail_stop::{FailStop, EXIT_CANNOT_GO_ON, EXIT_STORAGE_FAILED};

use crate::host::{Host, HostError, Timers};
use crate::node_state::NodeState;
use crate::p2p::{NetEvent, P2pHandle, Topic, Verdict};
use crate::safety_file::SafetyFile;
use crate::sync::{self, SyncOutcome};
use crate::wire::{self, SyncRequest, SyncResponse, TxBatch, TX_BATCH_MAX};
use kopnet_ledger::SledStorage;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often locally accepted transactions are flushed to gossip.
const GOSSIP_FLUSH: Duration = Duration::from_millis(20);
/// How often a node asks a peer for blocks it may have missed.
const SYNC_INTERVAL: Duration = Duration::from_millis(500);
/// Gossiped transaction batches being verified at once.
pub const INGEST_BATCHES: usize = 4;
/// Bytes of gossiped transaction batches waiting for verification or in
/// it; a batch past this is dropped (and counted). Waiting, not dropping,
/// is the rule below it: a transaction dropped here is still in the
/// sender's mempool and may come back in its proposal, where it would be
/// verified while the consensus loop waits.
pub const INGEST_QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// What a batch is charged against [`INGEST_QUEUE_BYTES`] at least, so the
/// number waiting is bounded too (at most 8,192 batches), however small.
pub const INGEST_CHARGE_MIN_BYTES: usize = 4 * 1024;
/// Catch-up answers waiting for the loop.
const SYNC_RESULTS_MAX: usize = 4;
/// Longest wait for the network to stop after the host failed.
const P2P_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A catch-up answer: the host's attempt number, the peer asked and what
/// came back.
type SyncAnswer = (u64, Option<kopnet_consensus::PublicKey>, SyncOutcome);

/// The node's host over sled and the safety file.
pub type NodeHost = Host<SledStorage, SafetyFile>;

pub struct Runtime {
    host: NodeHost,
    node: Arc<NodeState>,
    p2p: P2pHandle,
    net: mpsc::Receiver<NetEvent>,
    outbox: mpsc::Receiver<Vec<u8>>,
    shutdown: watch::Receiver<bool>,
    timers: Timers,
    clock: Instant,
    /// The wall clock at `clock` (ms since the Unix epoch).
    clock_start_unix_ms: u64,
    /// Local transactions waiting to be gossiped as one batch.
    batch: Vec<Vec<u8>>,
    sync_results: (mpsc::Sender<SyncAnswer>, mpsc::Receiver<SyncAnswer>),
    ingest: Arc<tokio::sync::Semaphore>,
    /// Bytes of gossiped batches taken and not yet verified.
    ingest_queue: Arc<tokio::sync::Semaphore>,
    /// A deliberately hostile node's attack (fault injection only).
    #[cfg(feature = "fault-injection")]
    hostile: Option<hostile::HostileHook>,
    /// A validator's next validator key file, looked at after each block.
    next_key: Option<crate::node_keys::NextKeyWatch>,
    /// Writes the snapshots the host captures ([`crate::snapshots`]).
    snapshots: Option<crate::snapshots::taker::SnapshotTaker<SledStorage>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(
        host: NodeHost,
        node: Arc<NodeState>,
        p2p: P2pHandle,
        net: mpsc::Receiver<NetEvent>,
        outbox: mpsc::Receiver<Vec<u8>>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        node.metrics.attach_p2p(p2p.stats());
        Runtime {
            host,
            node,
            p2p,
            net,
            outbox,
            shutdown,
            timers: Timers::default(),
            clock: Instant::now(),
            clock_start_unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            batch: Vec::new(),
            sync_results: mpsc::channel(SYNC_RESULTS_MAX),
            ingest: Arc::new(tokio::sync::Semaphore::new(INGEST_BATCHES)),
            ingest_queue: Arc::new(tokio::sync::Semaphore::new(INGEST_QUEUE_BYTES)),
            #[cfg(feature = "fault-injection")]
            hostile: None,
            next_key: None,
            snapshots: None,
        }
    }

    /// Write the snapshots the host captures with `taker`.
    pub fn with_snapshots(
        mut self,
        taker: crate::snapshots::taker::SnapshotTaker<SledStorage>,
    ) -> Self {
        self.snapshots = Some(taker);
        self
    }

    /// Look for the cooperative's next validator key after every block
    /// (and now), so an operator can add it while the node runs.
    pub fn with_next_key_watch(mut self, mut watch: crate::node_keys::NextKeyWatch) -> Self {
        if let Some(key) = watch.poll() {
            self.hold_next_key(key);
        }
        self.next_key = Some(watch);
        self
    }

    /// See [`Runtime::with_next_key_watch`].
    fn poll_next_key(&mut self) {
        if let Some(key) = self.next_key.as_mut().and_then(|w| w.poll()) {
            self.hold_next_key(key);
        }
    }

    fn hold_next_key(&mut self, key: kopnet_consensus::Keypair) {
        let public = key.public();
        if self.host.hold_next_validator_key(key) {
            tracing::info!(key = %public, "holding the next validator key");
        }
    }

    /// Make this node hostile (fault injection only).
    #[cfg(feature = "fault-injection")]
    pub fn with_hostile(mut self, hook: hostile::HostileHook) -> Self {
        self.hostile = Some(hook);
        self
    }

    /// The host's clock: milliseconds since the Unix epoch, read from the
    /// wall clock once at start and advanced by the monotonic clock after
    /// that, so it never goes backwards (block times and timers both use
    /// it).
    fn now_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.clock_start_unix_ms.saturating_add(elapsed)
    }

    /// Run until shutdown, or until the host cannot go on (then the error
    /// says why and the node must stop: the caller logs it once, as the
    /// last line, and exits; see [`fail_stop`]).
    pub async fn run(mut self) -> Result<(), HostError> {
        let result = self.event_loop().await;
        if let Err(error) = &result {
            // Until the API stops, `/health` says why.
            if error.is_storage_failure() {
                self.node.health.note_write_failed(error.to_string());
            }
        }
        if tokio::time::timeout(P2P_STOP_TIMEOUT, self.p2p.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("the network did not stop in time; leaving it");
        }
        result
    }

    async fn event_loop(&mut self) -> Result<(), HostError> {
        let now = self.now_ms();
        let effects = tokio::task::block_in_place(|| self.host.start(now))?;
        self.carry_out(effects).await?;
        let mut flush = tokio::time::interval(GOSSIP_FLUSH);
        let mut sync_tick = tokio::time::interval(SYNC_INTERVAL);
        loop {
            let sleep = match self.timers.next_deadline_ms() {
                Some(deadline) => tokio::time::sleep(Duration::from_millis(
                    deadline.saturating_sub(self.now_ms()),
                )),
                None => tokio::time::sleep(Duration::from_secs(3600)),
            };
            tokio::select! {
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        return Ok(());
                    }
                }
                event = self.net.recv() => match event {
                    Some(event) => self.on_net(event).await?,
                    None => return Ok(()),
                },
                Some(tx) = self.outbox.recv() => {
                    self.batch.push(tx);
                    if self.batch.len() >= TX_BATCH_MAX {
                        self.flush_batch().await;
                    }
                }
                _ = flush.tick() => {
                    self.flush_batch().await;
                    self.txs_available().await?;
                }
                _ = self.node.txs_available.notified() => self.txs_available().await?,
                _ = sync_tick.tick() => {
                    let mut effects = self.host.on_sync_tick();
                    let now = self.now_ms();
                    effects.append(tokio::task::block_in_place(|| self.host.on_tick(now))?);
                    self.carry_out(effects).await?;
                }
                Some((attempt, peer, outcome)) = self.sync_results.1.recv() => {
                    self.on_sync(attempt, peer, outcome).await?;
                }
                _ = sleep => self.fire_timers().await?,
            }
        }
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

    async fn txs_available(&mut self) -> Result<(), HostError> {
        let now = self.now_ms();
        let effects = tokio::task::block_in_place(|| self.host.on_txs_available(now))?;
        self.carry_out(effects).await
    }

    async fn fire_timers(&mut self) -> Result<(), HostError> {
        let now = self.now_ms();
        for timer in self.timers.take_due(now) {
            let effects = tokio::task::block_in_place(|| self.host.on_timeout(now, timer))?;
            self.carry_out(effects).await?;
        }
        Ok(())
    }

    async fn on_net(&mut self, event: NetEvent) -> Result<(), HostError> {
        match event {
            NetEvent::Gossip {
                topic: Topic::Transactions,
                source,
                id,
                data,
                ..
            } => {
                #[cfg(feature = "fault-injection")]
                if let Some(hostile) = &self.hostile {
                    hostile.gossip(Topic::Transactions, &data);
                }
                // Observers take no transactions from clients and never
                // forward transaction gossip (they answer `Ignore`), so
                // any that an observer's connection delivers is its own:
                // refused. (Gossip is anonymous; the connection is what
                // names the sender.)
                let by_observer =
                    crate::p2p::key_of_peer(&source).is_some_and(|key| self.host.is_observer(&key));
                if by_observer {
                    let _ = self.p2p.report(id, source, Verdict::Reject).await;
                    return Ok(());
                }
                self.on_tx_gossip(id, source, data).await;
            }
            NetEvent::Gossip {
                topic: Topic::Consensus,
                source,
                id,
                data,
                ..
            } => {
                #[cfg(feature = "fault-injection")]
                if let Some(hostile) = &self.hostile {
                    hostile.gossip(Topic::Consensus, &data);
                }
                let now = self.now_ms();
                let sender = crate::p2p::key_of_peer(&source);
                let (verdict, effects) = tokio::task::block_in_place(|| {
                    self.host.on_consensus_gossip(now, &data, sender)
                })?;
                let _ = self.p2p.report(id, source, verdict).await;
                self.carry_out(effects).await?;
            }
            NetEvent::Request {
                peer, data, reply, ..
            } => {
                let response = match wire::decode::<SyncRequest>(&data) {
                    Ok(request) => crate::host::catch_up::serve(self.host.state(), &request),
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "malformed sync request");
                        SyncResponse {
                            height: 0,
                            blocks: vec![],
                        }
                    }
                };
                #[cfg(feature = "fault-injection")]
                let response = match &self.hostile {
                    Some(hostile) => hostile.sync_answer(&response).unwrap_or(response),
                    None => response,
                };
                let blocks = response.blocks.len();
                if let Err(error) = reply.send(wire::encode(&response)).await {
                    tracing::warn!(%peer, blocks, %error, "could not answer a sync request");
                }
            }
            NetEvent::DirectoryRequest {
                peer, data, reply, ..
            } => {
                // Store reads, off the consensus loop; bounded by the
                // network layer's `DIRECTORY_INBOUND_MAX`.
                let node = self.node.clone();
                tokio::spawn(async move {
                    let key = crate::p2p::key_of_peer(&peer);
                    let answer = tokio::task::spawn_blocking(move || {
                        let directory = node.directory.clone();
                        crate::personal::answer::answer_peer(&node, &directory, key, &data)
                    })
                    .await
                    .unwrap_or_else(|_| {
                        crate::personal::wire::LookupAnswer::refused("unavailable")
                    });
                    if let Err(error) = reply.send(crate::personal::wire::encode(&answer)).await {
                        tracing::debug!(%peer, %error, "could not answer a directory request");
                    }
                });
            }
            NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {
                if let Ok(peers) = self.p2p.connected_peers().await {
                    self.node
                        .metrics
                        .peers
                        .store(peers.len() as u64, Ordering::Relaxed);
                    if let Ok(mut live) = self.node.live.write() {
                        live.peers = peers.iter().map(|p| p.to_string()).collect();
                    }
                }
            }
        }
        Ok(())
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
        if self.host.engine().is_none() {
            // Observers do not keep a mempool.
            let _ = self.p2p.report(id, source, Verdict::Ignore).await;
            return;
        }
        let charge = data.len().max(INGEST_CHARGE_MIN_BYTES);
        let bytes = u32::try_from(charge).unwrap_or(u32::MAX);
        let Ok(queued) = self.ingest_queue.clone().try_acquire_many_owned(bytes) else {
            self.node
                .metrics
                .gossip_batches_dropped_busy
                .fetch_add(1, Ordering::Relaxed);
            let _ = self.p2p.report(id, source, Verdict::Ignore).await;
            return;
        };
        let ingest = self.ingest.clone();
        let node = self.node.clone();
        let p2p = self.p2p.clone();
        tokio::spawn(async move {
            let _queued = queued;
            let Ok(permit) = ingest.acquire_owned().await else {
                let _ = p2p.report(id, source, Verdict::Ignore).await;
                return;
            };
            let verdict = tokio::task::spawn_blocking(move || {
                let admission = crate::host::admit_batch(&node.host, &data);
                for code in &admission.refused {
                    node.metrics.reject(code);
                }
                if !admission.effects.is_empty() {
                    node.txs_available.notify_one();
                }
                admission.verdict
            })
            .await
            .unwrap_or(Verdict::Ignore);
            let _ = p2p.report(id, source, verdict).await;
            drop(permit);
        });
    }

    async fn on_sync(
        &mut self,
        attempt: u64,
        peer: Option<kopnet_consensus::PublicKey>,
        outcome: SyncOutcome,
    ) -> Result<(), HostError> {
        let effects = match outcome {
            SyncOutcome::Blocks(response) => {
                let now = self.now_ms();
                tokio::task::block_in_place(|| self.host.on_blocks(now, attempt, peer, &response))?
            }
            SyncOutcome::Failed(reason) => {
                tracing::debug!(%reason, "sync attempt failed");
                self.host.on_blocks_failed(attempt);
                return Ok(());
            }
        };
        self.carry_out(effects).await
    }

    /// Ask `peer` (or a peer rotating with `attempt`) for blocks from `from`.
    fn request_blocks(
        &mut self,
        from: u64,
        attempt: u64,
        peer: Option<kopnet_consensus::PublicKey>,
    ) {
        let p2p = self.p2p.clone();
        let results = self.sync_results.0.clone();
        let index = usize::try_from(attempt).unwrap_or(0);
        tokio::spawn(async move {
            let (asked, outcome) = sync::fetch(&p2p, index, from, peer).await;
            let _ = results.send((attempt, asked, outcome)).await;
        });
    }
}
