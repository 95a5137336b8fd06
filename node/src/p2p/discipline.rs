//! The swarm task's side of the per-peer budget and bans: charging inbound
//! traffic, counting strikes, disconnecting and banning, lifting bans.
//! The decisions are [`PeerRecords`]'; this file carries them out on the
//! swarm and keeps [`P2pStats`] up to date.

use super::config::PeerLimits;
use super::inbound_bytes::{InboundBytes, InboundPermit};
use super::offence::Offence;
use super::peer_records::{Charge, PeerRecords, Strike};
use super::stats::P2pStats;
use super::swarm_task::SwarmTask;
use libp2p::PeerId;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the swarm task keeps for the budget and bans.
pub(crate) struct Discipline {
    records: PeerRecords,
    stats: Arc<P2pStats>,
    inbound: InboundBytes,
    /// Whether the last inbound message found the byte bound full (so the
    /// warning is logged once per episode, not once per message).
    inbound_full: bool,
}

impl Discipline {
    pub(crate) fn new(limits: PeerLimits, stats: Arc<P2pStats>) -> Discipline {
        Discipline {
            records: PeerRecords::new(limits),
            stats,
            inbound: InboundBytes::new(limits.event_queue_bytes_max),
            inbound_full: false,
        }
    }

    pub(crate) fn stats(&self) -> &P2pStats {
        &self.stats
    }
}

impl SwarmTask {
    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        self.discipline.records.is_banned(peer)
    }

    /// Charge one inbound gossip message or request of `bytes` from `peer`.
    /// `Some(permit)` when it may go on to the node; `None` when it must be
    /// dropped (over budget: a strike; banned; or the node has too many
    /// bytes still to take).
    pub(crate) fn admit_inbound(&mut self, peer: PeerId, bytes: usize) -> Option<InboundPermit> {
        match self.discipline.records.charge(peer, bytes, Instant::now()) {
            Charge::Allowed => {}
            Charge::OverBudget => {
                self.discipline.stats.count_dropped_over_budget();
                tracing::debug!(%peer, bytes, "message over the peer's budget dropped");
                self.penalise(peer, Offence::OverBudget);
                return None;
            }
            Charge::Banned | Charge::Untracked => return None,
        }
        let permit = self.discipline.inbound.try_reserve(bytes);
        if permit.is_none() {
            self.discipline.stats.count_dropped_queue_full();
            if !self.discipline.inbound_full {
                tracing::warn!(%peer, bytes, "inbound bytes waiting for the node at their bound: dropping gossip and requests");
            }
        }
        self.discipline.inbound_full = permit.is_none();
        permit
    }

    /// Count `offence` against `peer`; disconnect and ban it when its
    /// penalty reaches the threshold. Peers outside the allow-list are
    /// never tracked (they cannot connect at all).
    pub(crate) fn penalise(&mut self, peer: PeerId, offence: Offence) {
        if !self.allowed.contains(&peer) {
            return;
        }
        match self
            .discipline
            .records
            .penalise(peer, offence, Instant::now())
        {
            Strike::Recorded { points } => {
                self.discipline.stats.count_penalty();
                tracing::debug!(%peer, %offence, points, "peer penalised");
            }
            Strike::Banned { points, duration } => {
                self.discipline.stats.count_penalty();
                self.discipline.stats.count_ban();
                self.ban(peer, offence, points, duration);
            }
            Strike::AlreadyBanned | Strike::Untracked => {}
        }
    }

    fn ban(&mut self, peer: PeerId, offence: Offence, points: u64, duration: Duration) {
        tracing::warn!(
            %peer,
            %offence,
            points,
            ban_s = duration.as_secs(),
            "peer misbehaved: disconnected and banned for {} s",
            duration.as_secs()
        );
        // Closes every connection to the peer and refuses new ones, both ways.
        self.swarm.behaviour_mut().allow.disallow_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.publish_banned_count();
    }

    /// Let peers whose ban ran out back in (if still allowed and not isolated).
    pub(crate) fn lift_expired_bans(&mut self) {
        let lifted = self.discipline.records.lift_expired(Instant::now());
        if lifted.is_empty() {
            return;
        }
        for peer in &lifted {
            if self.allowed.contains(peer) && !self.isolated {
                self.swarm.behaviour_mut().allow.allow_peer(*peer);
            }
            tracing::info!(%peer, "ban lifted");
        }
        self.publish_banned_count();
        self.redial();
    }

    /// Forget a peer that left the allow-list (its ban, if any, with it: it
    /// is refused as a stranger now).
    pub(crate) fn forget_peer(&mut self, peer: &PeerId) {
        self.discipline.records.forget(peer);
        self.publish_banned_count();
    }

    fn publish_banned_count(&self) {
        let banned = self.discipline.records.banned_count();
        self.discipline.stats.set_banned_peers(banned);
    }
}
