//! Connection limits per remote IP address, applied before the handshake.
//!
//! The allow-list can only judge a peer once noise has told us who it is,
//! so a stranger can still make us run handshakes. This behaviour bounds
//! how many inbound connections one address may have in their handshake
//! (and, from all addresses, in total), and how many established inbound
//! connections one address may hold. Outbound dials are never limited
//! here: we only dial allowed peers.

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::{ConnectionEstablished, ListenFailure};
use libp2p::swarm::{
    dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

/// Which of the bounds refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpLimitKind {
    PendingPerIp,
    PendingTotal,
    EstablishedPerIp,
}

/// An inbound connection refused by [`IpLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("inbound connection from {ip:?} refused: {kind:?} limit of {limit} reached")]
pub struct IpLimitExceeded {
    pub ip: Option<IpAddr>,
    pub kind: IpLimitKind,
    pub limit: u32,
}

/// The bounds of [`IpLimits`] (`p2p.pending_inbound_per_ip_max`,
/// `p2p.pending_inbound_max`, `p2p.established_inbound_per_ip_max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpLimitsConfig {
    /// Inbound connections from one IP still in their handshake.
    pub pending_per_ip_max: u32,
    /// Inbound connections still in their handshake, from all addresses.
    pub pending_max: u32,
    /// Established inbound connections from one IP.
    pub established_per_ip_max: u32,
}

impl Default for IpLimitsConfig {
    fn default() -> Self {
        use super::config::{
            ESTABLISHED_INBOUND_PER_IP_MAX, PENDING_INBOUND_MAX, PENDING_INBOUND_PER_IP_MAX,
        };
        IpLimitsConfig {
            pending_per_ip_max: PENDING_INBOUND_PER_IP_MAX,
            pending_max: PENDING_INBOUND_MAX,
            established_per_ip_max: ESTABLISHED_INBOUND_PER_IP_MAX,
        }
    }
}

pub(crate) struct IpLimits {
    config: IpLimitsConfig,
    /// Inbound connections in their handshake (at most `pending_max`).
    pending: HashMap<ConnectionId, Option<IpAddr>>,
    /// Established inbound connections (bounded by the swarm's connection limit).
    established: HashMap<ConnectionId, IpAddr>,
}

/// The IP address a multiaddr starts with, if any.
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

fn below(count: usize, limit: u32) -> bool {
    u32::try_from(count).is_ok_and(|count| count < limit)
}

impl IpLimits {
    pub(crate) fn new(config: IpLimitsConfig) -> IpLimits {
        IpLimits {
            config,
            pending: HashMap::new(),
            established: HashMap::new(),
        }
    }

    fn refuse(ip: Option<IpAddr>, kind: IpLimitKind, limit: u32) -> ConnectionDenied {
        ConnectionDenied::new(IpLimitExceeded { ip, kind, limit })
    }

    fn admit_pending(
        &mut self,
        id: ConnectionId,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let ip = ip_of(remote);
        if !below(self.pending.len(), self.config.pending_max) {
            return Err(Self::refuse(
                ip,
                IpLimitKind::PendingTotal,
                self.config.pending_max,
            ));
        }
        if let Some(ip) = ip {
            let from_ip = self.pending.values().filter(|p| **p == Some(ip)).count();
            if !below(from_ip, self.config.pending_per_ip_max) {
                let limit = self.config.pending_per_ip_max;
                return Err(Self::refuse(Some(ip), IpLimitKind::PendingPerIp, limit));
            }
        }
        self.pending.insert(id, ip);
        Ok(())
    }

    fn admit_established(
        &mut self,
        id: ConnectionId,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.pending.remove(&id);
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let from_ip = self.established.values().filter(|e| **e == ip).count();
        if !below(from_ip, self.config.established_per_ip_max) {
            let limit = self.config.established_per_ip_max;
            return Err(Self::refuse(Some(ip), IpLimitKind::EstablishedPerIp, limit));
        }
        Ok(())
    }

    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        (self.pending.len(), self.established.len())
    }
}

impl NetworkBehaviour for IpLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.admit_pending(connection_id, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit_established(connection_id, remote_addr)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                connection_id,
                endpoint: ConnectedPoint::Listener { send_back_addr, .. },
                ..
            }) => {
                if let Some(ip) = ip_of(send_back_addr) {
                    self.established.insert(connection_id, ip);
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                self.established.remove(&connection_id);
            }
            FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.pending.remove(&connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::swarm::ListenError;

    const CONFIG: IpLimitsConfig = IpLimitsConfig {
        pending_per_ip_max: 2,
        pending_max: 3,
        established_per_ip_max: 1,
    };

    fn addr(ip: &str, port: u16) -> Multiaddr {
        format!("/ip4/{ip}/tcp/{port}").parse().unwrap()
    }

    fn kind_of(denied: ConnectionDenied) -> IpLimitKind {
        denied.downcast::<IpLimitExceeded>().unwrap().kind
    }

    fn pending(limits: &mut IpLimits, id: usize, ip: &str) -> Result<(), ConnectionDenied> {
        let local = addr("127.0.0.1", 1);
        limits.handle_pending_inbound_connection(
            ConnectionId::new_unchecked(id),
            &local,
            &addr(ip, 4000 + id as u16),
        )
    }

    fn fail(limits: &mut IpLimits, id: usize) {
        let (local, remote) = (addr("127.0.0.1", 1), addr("10.0.0.1", 2));
        limits.on_swarm_event(FromSwarm::ListenFailure(ListenFailure {
            local_addr: &local,
            send_back_addr: &remote,
            error: &ListenError::Aborted,
            connection_id: ConnectionId::new_unchecked(id),
            peer_id: None,
        }));
    }

    fn establish(limits: &mut IpLimits, id: usize, ip: &str) -> Result<(), ConnectionDenied> {
        let (local, remote) = (addr("127.0.0.1", 1), addr(ip, 5000));
        let connection_id = ConnectionId::new_unchecked(id);
        let peer = PeerId::random();
        limits.handle_established_inbound_connection(connection_id, peer, &local, &remote)?;
        let endpoint = ConnectedPoint::Listener {
            local_addr: local,
            send_back_addr: remote,
        };
        limits.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
            peer_id: peer,
            connection_id,
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        }));
        Ok(())
    }

    #[test]
    fn handshakes_are_bounded_per_address_and_in_total() {
        let mut limits = IpLimits::new(CONFIG);
        pending(&mut limits, 1, "10.0.0.1").unwrap();
        pending(&mut limits, 2, "10.0.0.1").unwrap();
        let third = pending(&mut limits, 3, "10.0.0.1").unwrap_err();
        assert_eq!(kind_of(third), IpLimitKind::PendingPerIp);
        // Another address still gets in, up to the total.
        pending(&mut limits, 4, "10.0.0.2").unwrap();
        let over_total = pending(&mut limits, 5, "10.0.0.3").unwrap_err();
        assert_eq!(kind_of(over_total), IpLimitKind::PendingTotal);
        // A failed handshake frees its slot.
        fail(&mut limits, 1);
        pending(&mut limits, 6, "10.0.0.1").unwrap();
        assert_eq!(limits.counts(), (3, 0));
    }

    #[test]
    fn established_connections_are_bounded_per_address_and_freed_on_close() {
        let mut limits = IpLimits::new(CONFIG);
        pending(&mut limits, 1, "10.0.0.1").unwrap();
        establish(&mut limits, 1, "10.0.0.1").unwrap();
        // The handshake slot is free again once established.
        assert_eq!(limits.counts(), (0, 1));
        pending(&mut limits, 2, "10.0.0.1").unwrap();
        let second = establish(&mut limits, 2, "10.0.0.1").unwrap_err();
        assert_eq!(kind_of(second), IpLimitKind::EstablishedPerIp);
        establish(&mut limits, 3, "10.0.0.2").unwrap();
        let (local, remote) = (addr("127.0.0.1", 1), addr("10.0.0.1", 5000));
        let endpoint = ConnectedPoint::Listener {
            local_addr: local,
            send_back_addr: remote,
        };
        limits.on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
            peer_id: PeerId::random(),
            connection_id: ConnectionId::new_unchecked(1),
            endpoint: &endpoint,
            cause: None,
            remaining_established: 0,
        }));
        establish(&mut limits, 4, "10.0.0.1").unwrap();
        assert_eq!(limits.counts(), (0, 2));
    }

    #[test]
    fn addresses_without_an_ip_are_not_limited_per_address() {
        let mut limits = IpLimits::new(CONFIG);
        let local = addr("127.0.0.1", 1);
        let memory: Multiaddr = "/memory/1234".parse().unwrap();
        for id in 0..3 {
            limits
                .handle_pending_inbound_connection(ConnectionId::new_unchecked(id), &local, &memory)
                .unwrap();
        }
        assert!(limits
            .handle_pending_inbound_connection(ConnectionId::new_unchecked(9), &local, &memory)
            .is_err());
    }
}
