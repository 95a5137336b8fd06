//! The task that owns the swarm: one loop over swarm events, node commands
//! and three timers (publish retry, redial, ban expiry). Local work
//! (commands) is polled before remote work (swarm events). The allow-list,
//! isolation and dialing live in [`super::access`], the budget and bans in
//! [`super::discipline`].

use super::address_book::AddressBook;
use super::behaviour::{Behaviour, BehaviourEvent};
use super::config::{
    P2pConfig, BAN_CHECK_INTERVAL, INBOUND_REQUESTS_MAX, OUTBOUND_REQUESTS_MAX,
    PUBLISH_RETRY_INTERVAL,
};
use super::discipline::Discipline;
use super::error::P2pError;
use super::handle::{Command, NetEvent, Responder, Verdict};
use super::offence::Offence;
use super::publish_queue::{PublishQueue, Queued};
use super::Topic;
use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::swarm::{DialError, ListenError, SwarmEvent};
use libp2p::{identify, Multiaddr, PeerId, Swarm};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

/// Where the answer to one outbound catch-up request goes.
use super::request_events::{self, ResponseSender};

/// The task's channels to and from the node.
pub(crate) struct Channels {
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) command_sender: mpsc::WeakSender<Command>,
    pub(crate) events: mpsc::Sender<NetEvent>,
}

pub(crate) struct SwarmTask {
    pub(crate) swarm: Swarm<Behaviour>,
    pub(crate) chain_id: String,
    /// Genesis peers (without ourselves).
    pub(crate) allowed: HashSet<PeerId>,
    pub(crate) bootstrap: Vec<Multiaddr>,
    pub(crate) redial_interval: std::time::Duration,
    pub(crate) commands: mpsc::Receiver<Command>,
    /// Weak, so the task stops once every handle and responder is gone.
    pub(crate) command_sender: mpsc::WeakSender<Command>,
    pub(crate) events: mpsc::Sender<NetEvent>,
    pub(crate) publish_queue: PublishQueue,
    pub(crate) outbound: HashMap<OutboundRequestId, ResponseSender>,
    pub(crate) inbound: HashMap<InboundRequestId, ResponseChannel<Vec<u8>>>,
    /// Our directory requests waiting for an answer ([`super::directory`]).
    pub(crate) directory_outbound: HashMap<OutboundRequestId, ResponseSender>,
    /// Peers' directory requests waiting for the node's answer.
    pub(crate) directory_inbound: HashMap<InboundRequestId, ResponseChannel<Vec<u8>>>,
    /// Addresses we dialed, and who answered there.
    pub(crate) dialed: HashMap<Multiaddr, PeerId>,
    /// Addresses of allowed peers, for redialing.
    pub(crate) known_addrs: AddressBook,
    pub(crate) isolated: bool,
    /// Budgets, penalties and bans.
    pub(crate) discipline: Discipline,
}

impl SwarmTask {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        config: &P2pConfig,
        allowed: HashSet<PeerId>,
        channels: Channels,
        discipline: Discipline,
    ) -> SwarmTask {
        SwarmTask {
            swarm,
            chain_id: config.chain_id.clone(),
            allowed,
            bootstrap: config.bootstrap.clone(),
            redial_interval: config.redial_interval,
            commands: channels.commands,
            command_sender: channels.command_sender,
            events: channels.events,
            publish_queue: PublishQueue::default(),
            outbound: HashMap::new(),
            inbound: HashMap::new(),
            directory_outbound: HashMap::new(),
            directory_inbound: HashMap::new(),
            dialed: HashMap::new(),
            known_addrs: AddressBook::default(),
            isolated: false,
            discipline,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut retry = tokio::time::interval(PUBLISH_RETRY_INTERVAL);
        retry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut redial = tokio::time::interval(self.redial_interval);
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut bans = tokio::time::interval(BAN_CHECK_INTERVAL);
        bans.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut shutdown_ack = None;
        loop {
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { done }) => {
                        shutdown_ack = Some(done);
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                _ = redial.tick() => self.redial(),
                _ = bans.tick() => self.lift_expired_bans(),
                _ = retry.tick() => self.flush_publish_queue(),
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            }
        }
        tracing::info!("p2p task stopped");
        drop(self);
        if let Some(done) = shutdown_ack {
            let _ = done.send(());
        }
    }

    pub(crate) fn is_allowed(&self, peer: &PeerId) -> bool {
        self.allowed.contains(peer)
    }

    fn topic_of(&self, hash: &gossipsub::TopicHash) -> Option<Topic> {
        Topic::ALL
            .into_iter()
            .find(|topic| topic.ident(&self.chain_id).hash() == *hash)
    }

    // ---- commands -------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, done } => {
                let result = self.publish(topic, data);
                let _ = done.send(result);
            }
            Command::Report {
                id,
                source,
                verdict,
            } => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Reject => MessageAcceptance::Reject,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                };
                let known = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
                if !known {
                    tracing::debug!(%id, "validation result for a message no longer cached");
                }
                if verdict == Verdict::Reject {
                    self.penalise(source, Offence::InvalidGossip);
                }
            }
            Command::Penalise { peer, offence } => self.penalise(peer, offence),
            Command::Request { peer, data, done } => self.send_request(peer, data, done),
            Command::Respond { id, data } => match self.inbound.remove(&id) {
                Some(channel) => {
                    if self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, data)
                        .is_err()
                    {
                        tracing::debug!("catch-up requester went away before the response");
                    }
                }
                None => tracing::debug!("response to an expired catch-up request dropped"),
            },
            Command::DirectoryRequest { peer, data, done } => {
                self.send_directory_request(peer, data, done)
            }
            Command::DirectoryRespond { id, data } => self.respond_directory(id, data),
            Command::ConnectedPeers { done } => {
                let peers = self
                    .swarm
                    .connected_peers()
                    .filter(|peer| self.allowed.contains(peer))
                    .copied()
                    .collect();
                let _ = done.send(peers);
            }
            Command::SubscribedPeers { topic, done } => {
                let _ = done.send(self.subscribed_peers(topic));
            }
            Command::ListenAddrs { done } => {
                let _ = done.send(self.swarm.listeners().cloned().collect());
            }
            Command::SetIsolated { isolated, done } => {
                self.set_isolated(isolated);
                let _ = done.send(());
            }
            Command::SetAllowed { peers, done } => {
                self.set_allowed(peers);
                let _ = done.send(());
            }
            Command::Shutdown { done } => {
                // Handled in `run`; kept total for the match.
                let _ = done.send(());
            }
        }
    }

    fn send_request(&mut self, peer: PeerId, data: Vec<u8>, done: ResponseSender) {
        if !self.is_allowed(&peer) {
            let _ = done.send(Err(P2pError::PeerNotAllowed(peer)));
        } else if self.outbound.len() >= OUTBOUND_REQUESTS_MAX {
            let _ = done.send(Err(P2pError::Busy {
                limit: OUTBOUND_REQUESTS_MAX,
            }));
        } else {
            // Addresses in case it is not connected right now.
            let addrs = self.known_addrs.get(&peer);
            let id = self
                .swarm
                .behaviour_mut()
                .sync
                .send_request_with_addresses(&peer, data, addrs);
            self.outbound.insert(id, done);
        }
    }

    fn subscribed_peers(&self, topic: Topic) -> Vec<PeerId> {
        let hash = topic.ident(&self.chain_id).hash();
        self.swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .filter(|(peer, topics)| self.allowed.contains(peer) && topics.contains(&&hash))
            .map(|(peer, _)| *peer)
            .collect()
    }

    // ---- publishing -----------------------------------------------------

    /// Publish now, or queue when no peer can take it yet.
    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), P2pError> {
        if self.allowed.is_empty() {
            // A network of one: nobody could ever receive it.
            return Ok(());
        }
        if let Some(data) = self.try_publish(topic, data)? {
            self.publish_queue.push(Queued {
                topic,
                data,
                since: Instant::now(),
            });
        }
        Ok(())
    }

    /// `Ok(None)`: published (or a duplicate). `Ok(Some(data))`: retry later.
    fn try_publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<Option<Vec<u8>>, P2pError> {
        let ident = topic.ident(&self.chain_id);
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(ident.clone(), data.clone())
        {
            Ok(_) | Err(PublishError::Duplicate) => Ok(None),
            // Nothing was recorded: safe to retry later.
            Err(PublishError::NoPeersSubscribedToTopic) => Ok(Some(data)),
            // Everything else is surfaced. `AllQueuesFull` included: the
            // message already entered gossipsub's duplicate cache, so a retry
            // would only report `Duplicate` and lose it silently.
            Err(error) => Err(P2pError::Publish {
                topic: ident.to_string(),
                reason: error.to_string(),
            }),
        }
    }

    /// Retry every queued message in order; drop the ones that went stale.
    fn flush_publish_queue(&mut self) {
        if self.publish_queue.is_empty() || self.isolated {
            return;
        }
        let pending = self.publish_queue.take();
        let mut expired = 0usize;
        for queued in pending {
            if queued.is_stale() {
                expired += 1;
                continue;
            }
            match self.try_publish(queued.topic, queued.data) {
                Ok(None) => {}
                Ok(Some(data)) => self.publish_queue.push(Queued { data, ..queued }),
                Err(error) => {
                    tracing::warn!(%error, "dropped a queued message that cannot be published")
                }
            }
        }
        if expired > 0 {
            tracing::info!(
                expired,
                "dropped queued gossip that found no subscriber in time"
            );
        }
    }

    // ---- swarm events ---------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if !self.is_allowed(&peer_id) {
                    // The allow-list denies these before they are established;
                    // this is the second line of defence.
                    tracing::warn!(peer = %peer_id, "rejected connection from peer not in genesis (nor added by governance)");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if let ConnectedPoint::Dialer { address, .. } = &endpoint {
                    if self.bootstrap.contains(address) {
                        self.dialed.insert(address.clone(), peer_id);
                    }
                    self.remember_addr(peer_id, address.clone());
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, "peer connected");
                    self.emit(NetEvent::PeerConnected(peer_id));
                    // A new peer may be subscribed already.
                    self.flush_publish_queue();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } if self.is_allowed(&peer_id) => {
                tracing::info!(peer = %peer_id, ?cause, "peer disconnected");
                self.emit(NetEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error,
                send_back_addr,
                ..
            } => match &error {
                ListenError::Denied { cause } => self.on_denied(peer_id, cause),
                _ => tracing::debug!(%send_back_addr, %error, "incoming connection failed"),
            },
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => match &error {
                DialError::Denied { cause } => self.on_denied(peer_id, cause),
                _ => tracing::debug!(?peer_id, %error, "dial failed"),
            },
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ListenerError { error, .. } => tracing::warn!(%error, "listener error"),
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                tracing::warn!(?addresses, ?reason, "listener closed")
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip_event(event),
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Directory(event) => self.on_directory_event(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if self.is_allowed(&peer_id) {
                    self.known_addrs.announce(peer_id, info.listen_addrs)
                }
            }
            BehaviourEvent::Identify(_) | BehaviourEvent::Ping(_) => {}
            BehaviourEvent::Allow(never) => match never {},
            BehaviourEvent::IpLimits(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
        }
    }

    fn on_gossip_event(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                // Gossip is anonymous (`behaviour::build`): the peer that
                // delivered it, authenticated by noise, is all we know
                // here; the payload's own signature says who made it.
                if !self.allowed.contains(&propagation_source) {
                    tracing::warn!(peer = %propagation_source, "gossip from peer not in genesis dropped");
                    gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        MessageAcceptance::Reject,
                    );
                    return;
                }
                let topic = self.topic_of(&message.topic);
                // Charged whatever the topic: a peer's budget covers all it sends.
                let permit = self.admit_inbound(propagation_source, message.data.len());
                let (Some(topic), Some(permit)) = (topic, permit) else {
                    let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                    gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        MessageAcceptance::Ignore,
                    );
                    return;
                };
                let event = NetEvent::Gossip {
                    topic,
                    source: propagation_source,
                    id: message_id.clone(),
                    data: message.data,
                    permit,
                };
                if !self.emit(event) {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer subscribed");
                self.flush_publish_queue();
            }
            gossipsub::Event::SlowPeer { peer_id, .. } => {
                tracing::warn!(peer = %peer_id, "gossip peer too slow: messages dropped");
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::warn!(peer = %peer_id, "peer does not speak gossipsub");
            }
            _ => {}
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        let settled =
            request_events::settle(event, &mut self.outbound, &mut self.inbound, "catch-up");
        if let Some(r) = settled {
            self.on_inbound_request(r.peer, r.id, r.data, r.channel);
        }
    }

    fn on_inbound_request(
        &mut self,
        peer: PeerId,
        id: InboundRequestId,
        data: Vec<u8>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        if !self.is_allowed(&peer) {
            tracing::warn!(peer = %peer, "catch-up request from peer not in genesis dropped");
            return;
        }
        // Dropping the channel fails the request at the requester.
        let Some(permit) = self.admit_inbound(peer, data.len()) else {
            return;
        };
        if self.inbound.len() >= INBOUND_REQUESTS_MAX {
            tracing::warn!(peer = %peer, limit = INBOUND_REQUESTS_MAX, "too many unanswered catch-up requests: dropped");
            return;
        }
        let Some(commands) = self.command_sender.upgrade() else {
            return;
        };
        self.inbound.insert(id, channel);
        let reply = Responder { id, commands };
        let event = NetEvent::Request {
            peer,
            data,
            reply,
            permit,
        };
        if !self.emit(event) {
            self.inbound.remove(&id);
        }
    }

    /// Hand an event to the node without ever blocking the swarm; returns
    /// whether it was delivered.
    pub(crate) fn emit(&self, event: NetEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(event)) => {
                if matches!(
                    event,
                    NetEvent::Gossip { .. }
                        | NetEvent::Request { .. }
                        | NetEvent::DirectoryRequest { .. }
                ) {
                    self.discipline.stats().count_dropped_queue_full();
                }
                tracing::warn!(
                    event = event_name(&event),
                    "event queue to the node is full: event dropped"
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

fn event_name(event: &NetEvent) -> &'static str {
    match event {
        NetEvent::Gossip { .. } => "gossip",
        NetEvent::Request { .. } => "request",
        NetEvent::DirectoryRequest { .. } => "directory request",
        NetEvent::PeerConnected(_) => "peer connected",
        NetEvent::PeerDisconnected(_) => "peer disconnected",
    }
}
