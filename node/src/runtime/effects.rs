//! Carrying out the host's effects over libp2p, the timers and the API's
//! shared facts (metrics, block events, latency).

use super::Runtime;
use crate::api::views::summarize;
use crate::host::{Committed, Effect, Effects, HostError, Timer};
use crate::node_state::{BlockEvent, NodeState};
use crate::p2p::Topic;
use crate::wire::{self, ConsensusGossip, TX_BATCH_MAX};
use std::sync::atomic::Ordering;

impl Runtime {
    /// Carry out `effects` in order.
    pub(super) async fn carry_out(&mut self, effects: Effects) -> Result<(), HostError> {
        for effect in effects {
            self.carry_out_one(effect).await;
        }
        self.update_status();
        Ok(())
    }

    async fn carry_out_one(&mut self, effect: Effect) {
        match effect {
            Effect::Broadcast(message) => {
                // Its twin is published by the hostile task, after this one.
                #[cfg(feature = "fault-injection")]
                if let Some(hostile) = &self.hostile {
                    hostile.own_broadcast(&message);
                }
                let bytes = wire::encode(&ConsensusGossip::Message(message));
                if let Err(e) = self.p2p.publish(Topic::Consensus, bytes).await {
                    tracing::debug!(error = %e, "consensus gossip not published");
                }
            }
            Effect::Rebroadcast(message) => {
                let bytes = wire::encode(&ConsensusGossip::Message(message));
                if let Err(e) = self.p2p.publish(Topic::Consensus, bytes).await {
                    tracing::debug!(error = %e, "consensus gossip not published again");
                }
            }
            Effect::AnnounceCommitted { height, hint } => {
                if let Err(e) = self.p2p.publish(Topic::Consensus, hint).await {
                    tracing::debug!(height, error = %e, "committed hint not published");
                }
            }
            Effect::GossipTx(bytes) => {
                self.batch.push(bytes);
                if self.batch.len() >= TX_BATCH_MAX {
                    self.flush_batch().await;
                }
            }
            Effect::TxsAvailable => self.node.txs_available.notify_one(),
            Effect::Schedule {
                deadline_ms,
                height,
                round,
                step,
            } => self.timers.schedule(
                deadline_ms,
                Timer {
                    height,
                    round,
                    step,
                },
            ),
            Effect::RequestBlocks {
                from,
                attempt,
                peer,
            } => self.request_blocks(from, attempt, peer),
            Effect::Penalise { peer, offence } => self.penalise(peer, offence).await,
            Effect::Committed(committed) => {
                #[cfg(feature = "fault-injection")]
                crate::fault::after_commit(self.host.state(), &committed);
                after_commit(&self.node, &committed);
                self.poll_next_key();
            }
            Effect::Snapshot(capture) => match &self.snapshots {
                Some(taker) => taker.take(capture),
                None => tracing::debug!(height = capture.height, "no snapshot directory"),
            },
            Effect::HeightStarted { height, validators } => {
                tracing::debug!(
                    height,
                    validators = validators.validators().len(),
                    "consensus height started"
                );
            }
            Effect::AllowList(keys) => {
                let raw: Vec<[u8; 32]> = keys.iter().map(|k| k.0).collect();
                if let Err(error) = self.p2p.set_allowed(&raw).await {
                    tracing::warn!(%error, "cannot update the peer allow-list");
                }
            }
            // The host logged it and keeps it for its next proposal.
            Effect::Evidence(_) => {
                self.node
                    .metrics
                    .evidence_seen
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Have the network penalise a peer the host caught out.
    async fn penalise(
        &mut self,
        peer: kopnet_consensus::PublicKey,
        offence: crate::host::catch_up::PeerOffence,
    ) {
        use crate::host::catch_up::PeerOffence;
        self.node
            .metrics
            .catch_up_penalties
            .fetch_add(1, Ordering::Relaxed);
        let offence = match offence {
            PeerOffence::BadSyncPage => crate::p2p::Offence::BadSyncPage,
            PeerOffence::FalseHeightClaim => crate::p2p::Offence::FalseHeightClaim,
        };
        match crate::p2p::peer_id_from_key(&peer.0) {
            Ok(peer_id) => {
                if let Err(error) = self.p2p.penalise(peer_id, offence).await {
                    tracing::debug!(%error, "penalty not delivered to the network");
                }
            }
            Err(error) => tracing::debug!(%error, "penalised key has no peer id"),
        }
    }

    /// Facts for `/v1/status` and the metrics that follow the host.
    fn update_status(&self) {
        let m = &self.node.metrics;
        if let Some(engine) = self.host.engine() {
            m.round.store(u64::from(engine.round()), Ordering::Relaxed);
        }
        m.mempool_size
            .store(self.host.state().mempool_len() as u64, Ordering::Relaxed);
        if let Ok(mut live) = self.node.live.write() {
            live.syncing = self.host.syncing();
            live.double_sign_check = self.host.double_sign_checking();
        }
        self.node
            .health
            .note_peer_height(self.host.best_peer_height());
    }
}

/// Count who signed `certificate` (the block just committed) against the
/// validator set of its height, read from the store (one point read).
fn observe_certificate(node: &NodeState, certificate: &kopnet_consensus::CommitCertificate) {
    let set = match node.host.ledger.read() {
        Ok(ledger) => crate::chain_store::validator_set(&ledger, certificate.height),
        Err(_) => return,
    };
    let set = match set {
        Ok(set) => set,
        Err(error) => {
            tracing::debug!(height = certificate.height, %error, "no validator set to count the certificate's signers against");
            return;
        }
    };
    let view = node.committed.current();
    let coops: std::collections::BTreeMap<_, _> = view
        .cooperatives
        .iter()
        .filter_map(|c| Some((c.coop.validator_key?, c.coop.id.to_string())))
        .collect();
    node.metrics
        .observe_certificate(certificate, &set, |key| coops.get(key).cloned());
}

/// Metrics, latencies and the block event of one commit.
fn after_commit(node: &NodeState, committed: &Committed) {
    let Committed {
        block,
        outcome,
        evicted,
        certificate,
        ..
    } = committed;
    // Readers see the new block from here on.
    node.publish_committed();
    let m = &node.metrics;
    observe_certificate(node, certificate);
    for _ in &evicted.expired {
        m.reject("expired");
    }
    m.height.store(outcome.height, Ordering::Relaxed);
    m.blocks_committed.fetch_add(1, Ordering::Relaxed);
    let now = std::time::Instant::now();
    m.observe_commit(now);
    node.health.note_commit(now);
    m.txs_committed
        .fetch_add(outcome.results.len() as u64, Ordering::Relaxed);
    if let Ok(mut submitted) = node.submitted_at.lock() {
        for (hash, _) in &outcome.results {
            if let Some(at) = submitted.remove(hash) {
                m.observe_commit_latency(
                    u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX),
                );
            }
        }
    }
    for (_, result) in &outcome.results {
        if let Err(reason) = result {
            m.txs_failed.fetch_add(1, Ordering::Relaxed);
            m.reject(reason.code());
        }
    }
    // The event's per-transaction summaries (hex hashes, base58 addresses)
    // cost more than the commit's bookkeeping: build them only for listeners.
    if node.events.receiver_count() == 0 {
        return;
    }
    let txs = block
        .txs
        .iter()
        .zip(&outcome.results)
        .enumerate()
        .map(|(i, (tx, (hash, result)))| {
            let fees = outcome.fees.get(i).copied().unwrap_or(0);
            summarize(tx, hash, result, fees)
        })
        .collect();
    // A listener that left meanwhile is fine.
    let _ = node.events.send(BlockEvent {
        height: outcome.height,
        hash: outcome.hash.to_hex(),
        time_ms: block.header.time_ms,
        state_root: outcome.state_root.to_hex(),
        txs,
    });
}
