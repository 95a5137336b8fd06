//! Where genesis peers were reached or say they listen, for redialing and
//! for catch-up requests to a peer that is not connected.

use super::config::ADDRESSES_PER_PEER_MAX;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;

/// At most [`ADDRESSES_PER_PEER_MAX`] addresses per peer; callers only add
/// genesis peers, so the whole book is bounded too.
#[derive(Default)]
pub(crate) struct AddressBook {
    addrs: HashMap<PeerId, Vec<Multiaddr>>,
}

impl AddressBook {
    pub(crate) fn get(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.addrs.get(peer).cloned().unwrap_or_default()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PeerId, &Vec<Multiaddr>)> {
        self.addrs.iter()
    }

    /// An address we reached `peer` at goes first.
    pub(crate) fn remember(&mut self, peer: PeerId, addr: Multiaddr) {
        let addr = with_peer_id(addr, peer);
        let addrs = self.addrs.entry(peer).or_default();
        addrs.retain(|known| *known != addr);
        addrs.insert(0, addr);
        addrs.truncate(ADDRESSES_PER_PEER_MAX);
    }

    /// What `peer` announces (identify) goes first, then what we knew.
    pub(crate) fn announce(&mut self, peer: PeerId, announced: Vec<Multiaddr>) {
        let known = self.addrs.remove(&peer).unwrap_or_default();
        let mut addrs: Vec<Multiaddr> = Vec::with_capacity(ADDRESSES_PER_PEER_MAX);
        let announced = announced
            .into_iter()
            .take(ADDRESSES_PER_PEER_MAX)
            .map(|addr| with_peer_id(addr, peer));
        for addr in announced.chain(known) {
            if addrs.len() < ADDRESSES_PER_PEER_MAX && !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        self.addrs.insert(peer, addrs);
    }
}

/// `addr` ending in `/p2p/<peer>`.
pub(crate) fn with_peer_id(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    match addr.iter().last() {
        Some(Protocol::P2p(_)) => addr,
        _ => addr.with(Protocol::P2p(peer)),
    }
}
