//! Who the swarm task connects to: the allow-list (updated from the
//! ledger), isolation for fault injection, and redialing known peers. A
//! banned peer stays refused through all of these until its ban is lifted.

use super::swarm_task::SwarmTask;
use libp2p::allow_block_list::NotAllowed;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::ConnectionDenied;
use libp2p::{Multiaddr, PeerId};
use std::collections::HashSet;

impl SwarmTask {
    pub(crate) fn set_allowed(&mut self, peers: HashSet<PeerId>) {
        let local = *self.swarm.local_peer_id();
        let peers: HashSet<PeerId> = peers.into_iter().filter(|p| *p != local).collect();
        let added: Vec<PeerId> = peers.difference(&self.allowed).copied().collect();
        let removed: Vec<PeerId> = self.allowed.difference(&peers).copied().collect();
        if added.is_empty() && removed.is_empty() {
            return;
        }
        for peer in &added {
            if !self.isolated && !self.is_banned(peer) {
                self.swarm.behaviour_mut().allow.allow_peer(*peer);
            }
            self.swarm.behaviour_mut().gossipsub.add_explicit_peer(peer);
        }
        for peer in &removed {
            self.swarm.behaviour_mut().allow.disallow_peer(*peer);
            self.swarm
                .behaviour_mut()
                .gossipsub
                .remove_explicit_peer(peer);
            let _ = self.swarm.disconnect_peer_id(*peer);
            self.forget_peer(peer);
        }
        self.allowed = peers;
        tracing::info!(
            added = added.len(),
            removed = removed.len(),
            allowed = self.allowed.len(),
            "peer allow-list updated from the ledger"
        );
        if !added.is_empty() {
            self.redial();
        }
    }

    pub(crate) fn set_isolated(&mut self, isolated: bool) {
        if self.isolated == isolated {
            return;
        }
        self.isolated = isolated;
        tracing::info!(isolated, "p2p isolation changed");
        let allowed: Vec<PeerId> = self.allowed.iter().copied().collect();
        for peer in allowed {
            if isolated {
                // Closes every connection to the peer and refuses new ones.
                self.swarm.behaviour_mut().allow.disallow_peer(peer);
            } else if !self.is_banned(&peer) {
                // A banned peer stays refused until its ban is lifted.
                self.swarm.behaviour_mut().allow.allow_peer(peer);
            }
        }
        if isolated {
            let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
            for peer in connected {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        } else {
            self.redial();
        }
    }

    pub(crate) fn redial(&mut self) {
        if self.isolated {
            return;
        }
        let local = *self.swarm.local_peer_id();
        for addr in self.bootstrap.clone() {
            let target = match addr.iter().last() {
                Some(Protocol::P2p(peer)) => Some(peer),
                _ => self.dialed.get(&addr).copied(),
            };
            let result = match target {
                Some(peer)
                    if peer == local || self.swarm.is_connected(&peer) || self.is_banned(&peer) =>
                {
                    continue
                }
                Some(peer) => self.swarm.dial(
                    DialOpts::peer_id(peer)
                        .addresses(vec![addr.clone()])
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build(),
                ),
                None => self.swarm.dial(addr.clone()),
            };
            if let Err(error) = result {
                tracing::debug!(%addr, %error, "bootstrap dial not started");
            }
        }
        let missing: Vec<(PeerId, Vec<Multiaddr>)> = self
            .known_addrs
            .iter()
            .filter(|(peer, _)| !self.swarm.is_connected(peer) && !self.is_banned(peer))
            .map(|(peer, addrs)| (*peer, addrs.clone()))
            .collect();
        for (peer, addrs) in missing {
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(error) = self.swarm.dial(opts) {
                tracing::debug!(%peer, %error, "redial not started");
            }
        }
    }

    pub(crate) fn remember_addr(&mut self, peer: PeerId, addr: Multiaddr) {
        if self.is_allowed(&peer) {
            self.known_addrs.remember(peer, addr);
        }
    }

    /// Log a denied connection: a warning for strangers, debug while isolated.
    pub(crate) fn on_denied(&self, peer: Option<PeerId>, cause: &ConnectionDenied) {
        if cause.downcast_ref::<NotAllowed>().is_none() {
            tracing::debug!(?peer, %cause, "connection denied");
            return;
        }
        match peer {
            Some(peer_id) if !self.is_allowed(&peer_id) => {
                tracing::warn!(peer = %peer_id, "rejected connection from peer not in genesis (nor added by governance)")
            }
            Some(peer_id) => {
                tracing::debug!(peer = %peer_id, "refused connection while isolated or banned")
            }
            None => tracing::debug!(%cause, "connection denied"),
        }
    }
}
