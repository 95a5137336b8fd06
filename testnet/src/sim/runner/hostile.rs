//! The hostile behaviours in the loop: a Byzantine node's flood bursts and
//! false hints at its gossip ticks, its bad catch-up pages, and what the
//! honest hosts do about them — penalties (never against an honest peer),
//! next-height buffers within their bound, no `syncing` on a false claim.

use super::super::byzantine::Behaviour;
use super::super::config::timing;
use super::super::flood;
use super::super::lies::{self, BadPage};
use super::super::net::{NetMsg, NodeId};
use super::super::trace::TraceEvent;
use super::super::violation::Violation;
use super::super::world::CHAIN_ID;
use super::Simulation;
use kopnet_consensus::{Message, PublicKey};
use kopnet_node::host::catch_up::PeerOffence;
use kopnet_node::wire::{self, ConsensusGossip, SyncResponse, Verdict};
use std::sync::Arc;

impl Simulation {
    /// A Byzantine node's gossip tick: its false hint to every node, and
    /// every few ticks a flood burst.
    pub(super) fn hostile_tick(&mut self, node: NodeId) {
        let n = &mut self.nodes[node];
        n.ticks += 1;
        let (hostility, ticks, height) = (n.hostility, n.ticks, n.height());
        if !self.config.hostile || n.host.is_none() {
            return;
        }
        let others: Vec<NodeId> = (0..self.nodes.len()).filter(|&to| to != node).collect();
        if hostility.lies {
            let claimed = lies::false_hint(height, ticks);
            let hint: Arc<[u8]> = wire::encode(&ConsensusGossip::Committed {
                height: claimed,
                from: self.nodes[node].identity,
            })
            .into();
            for &to in &others {
                if self.nodes[to].is_honest() {
                    self.hostile.false_hints += 1;
                }
                self.send(node, to, NetMsg::Hint(hint.clone()));
            }
        }
        if hostility.flood && ticks % flood::FLOOD_EVERY_TICKS == 0 {
            // Restricted unless asked (see `flood`): the network's next
            // height, votes signed only by a silent flooder.
            let keypair = self.nodes[node].keypair.clone();
            let unrestricted = self.config.unrestricted_flood;
            let (next, sign_votes) = if unrestricted {
                (height.saturating_add(1), true)
            } else {
                let highest = self.nodes.iter().map(|m| m.height()).max().unwrap_or(0);
                let silent = self.nodes[node].behaviour == Behaviour::Silent;
                (highest.saturating_add(2), silent)
            };
            let burst = flood::burst(CHAIN_ID, &keypair, next, ticks, sign_votes, &mut self.rng);
            self.hostile.flood_bursts += 1;
            for &to in &others {
                self.send(node, to, NetMsg::Flood(burst.clone()));
            }
        }
    }

    /// A flood burst reaches `to`: every message goes through the host's
    /// gossip entry, and an honest engine must stay within its bound.
    pub(super) fn deliver_flood(
        &mut self,
        from: NodeId,
        to: NodeId,
        burst: Arc<[Message]>,
    ) -> Result<(), Violation> {
        self.trace.record(
            self.now_ms,
            TraceEvent::Deliver {
                from: from as u32,
                to: to as u32,
                what: format!("flood of {} messages", burst.len()),
            },
        );
        let honest = self.nodes[to].is_honest();
        let now = self.now_ms;
        for message in burst.iter() {
            let mut verdict = None;
            let message = message.clone();
            self.call(to, |h| {
                h.on_consensus_message(now, message).map(|(v, effects)| {
                    verdict = Some(v);
                    effects
                })
            })?;
            if honest {
                self.hostile.flood_messages += 1;
                if verdict != Some(Verdict::Accept) {
                    self.hostile.flood_refused += 1;
                }
            }
        }
        self.check_future_buffer(to)
    }

    /// An honest engine holds at most its bound for the next height.
    pub(super) fn check_future_buffer(&mut self, node: NodeId) -> Result<(), Violation> {
        let n = &self.nodes[node];
        let Some(engine) = n.host.as_ref().and_then(|h| h.engine()) else {
            return Ok(());
        };
        if !n.is_honest() {
            return Ok(());
        }
        let (messages, bytes) = engine.future_buffered();
        let messages_max = engine.config().future_messages_max;
        let bytes_max = engine.config().future_bytes_max();
        self.hostile.future_messages_peak = self.hostile.future_messages_peak.max(messages as u64);
        self.hostile.future_bytes_peak = self.hostile.future_bytes_peak.max(bytes as u64);
        if messages > messages_max || bytes > bytes_max {
            return Err(Violation::FutureBuffer {
                node,
                messages,
                bytes,
                messages_max,
                bytes_max,
            });
        }
        Ok(())
    }

    /// A catch-up request reached the lying node `liar`, whose honest
    /// answer is `honest`: what it sends back instead (`None`: nothing).
    pub(super) fn liar_answer(
        &mut self,
        liar: NodeId,
        asker: NodeId,
        honest: SyncResponse,
    ) -> Option<SyncResponse> {
        let n = &self.nodes[liar];
        if !self.config.hostile || !n.hostility.lies {
            return (n.behaviour != Behaviour::Silent).then_some(honest);
        }
        let how = BadPage::pick(&mut self.rng);
        let page = lies::bad_page(how, n.height(), &honest, &mut self.rng);
        if self.nodes[asker].is_honest() {
            match page {
                Some(_) => self.hostile.bad_pages += 1,
                None => self.hostile.unanswered_requests += 1,
            }
        }
        page
    }

    /// `node`'s host wants `peer` penalised: an honest host must only ever
    /// accuse Byzantine peers.
    pub(super) fn penalise(
        &mut self,
        node: NodeId,
        peer: PublicKey,
        offence: PeerOffence,
    ) -> Result<(), Violation> {
        let index = self.nodes.iter().position(|n| n.identity == peer);
        self.trace.record(
            self.now_ms,
            TraceEvent::Penalise {
                node: node as u32,
                peer: index.map_or_else(|| "?".into(), |i| i.to_string()),
                offence: format!("{offence:?}"),
            },
        );
        if !self.nodes[node].is_honest() {
            return Ok(());
        }
        if let Some(peer) = index.filter(|&i| self.nodes[i].is_honest()) {
            return Err(Violation::FalseAccusation {
                node,
                peer,
                offence: format!("{offence:?}"),
            });
        }
        match offence {
            PeerOffence::BadSyncPage => self.hostile.penalties_bad_page += 1,
            PeerOffence::FalseHeightClaim => self.hostile.penalties_false_claim += 1,
        }
        Ok(())
    }

    /// At an honest node's gossip tick: is it `syncing` though no node has
    /// committed past it? Then only a false claim keeps it so, and that
    /// must not last: a claim is refuted by one answer of its claimant or
    /// dropped after a few unanswered requests.
    pub(super) fn watch_syncing(&mut self, node: NodeId) -> Result<(), Violation> {
        let n = &self.nodes[node];
        let Some(h) = n.host.as_ref() else {
            self.false_sync_since[node] = None;
            return Ok(());
        };
        let highest = self.nodes.iter().map(|m| m.height()).max().unwrap_or(0);
        let falsely = h.syncing() && n.height() >= highest;
        let since = match (falsely, self.false_sync_since[node]) {
            (false, _) => None,
            (true, None) => Some(self.now_ms),
            (true, Some(since)) => Some(since),
        };
        self.false_sync_since[node] = since;
        match since {
            Some(since) if self.now_ms - since > timing::FALSE_SYNC_MS_MAX => {
                Err(Violation::StuckSyncing {
                    node,
                    since_ms: since,
                    height: n.height(),
                })
            }
            _ => Ok(()),
        }
    }
}
