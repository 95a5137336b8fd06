//! `/kopnet/directory/1`: the phone-number directory's request-response
//! protocol between cooperative nodes (next to catch-up's `/kopnet/sync/1`).
//!
//! Same framing as catch-up ([`super::codec`]: a 4-byte big-endian length,
//! then the bytes), with both directions bounded by
//! [`DIRECTORY_FRAME_BYTES_MAX`]; a request times out after
//! [`DIRECTORY_REQUEST_TIMEOUT`]. Only allowed peers may ask (the
//! allow-list, then a check on every request), each request is charged to
//! the asking peer's budget like gossip and catch-up, and at most
//! [`DIRECTORY_INBOUND_MAX`] wait for the node's answer. What a request
//! means, and who may ask what, is the node's business
//! ([`crate::personal`]): this layer moves bounded bytes.

use super::error::P2pError;
use super::handle::{Command, NetEvent};
use super::swarm_task::SwarmTask;
use libp2p::request_response::{self, InboundRequestId, ResponseChannel};
use libp2p::{PeerId, StreamProtocol};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The protocol name.
pub const DIRECTORY_PROTOCOL: &str = "/kopnet/directory/1";
/// Most bytes of a directory request or answer on the wire.
pub const DIRECTORY_FRAME_BYTES_MAX: usize = crate::personal::wire::DIRECTORY_MESSAGE_BYTES_MAX;
/// A directory request fails after this long.
pub const DIRECTORY_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Directory requests from peers waiting for the node's answer.
pub const DIRECTORY_INBOUND_MAX: usize = 64;
/// Directory requests of ours waiting for an answer.
pub const DIRECTORY_OUTBOUND_MAX: usize = 256;

/// Where the answer to one outbound directory request goes.
pub(crate) type DirectoryResponseSender = oneshot::Sender<Result<Vec<u8>, P2pError>>;

/// The length-prefixed codec, bounded both ways.
pub type DirectoryCodec =
    super::codec::FramedCodec<DIRECTORY_FRAME_BYTES_MAX, DIRECTORY_FRAME_BYTES_MAX>;

/// The behaviour for the swarm.
pub(crate) fn behaviour() -> request_response::Behaviour<DirectoryCodec> {
    request_response::Behaviour::with_codec(
        DirectoryCodec::default(),
        [(
            StreamProtocol::new(DIRECTORY_PROTOCOL),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(DIRECTORY_REQUEST_TIMEOUT),
    )
}

/// Answers one inbound directory request. Dropping it without answering
/// lets the asking node time out.
#[derive(Debug)]
pub struct DirectoryResponder {
    pub(crate) id: InboundRequestId,
    pub(crate) commands: mpsc::Sender<Command>,
}

impl DirectoryResponder {
    /// Send the answer (through the command channel).
    pub async fn send(self, data: Vec<u8>) -> Result<(), P2pError> {
        if data.len() > DIRECTORY_FRAME_BYTES_MAX {
            return Err(P2pError::MessageTooLarge {
                size: data.len(),
                limit: DIRECTORY_FRAME_BYTES_MAX,
            });
        }
        self.commands
            .send(Command::DirectoryRespond { id: self.id, data })
            .await
            .map_err(|_| P2pError::Stopped)
    }
}

impl SwarmTask {
    pub(crate) fn send_directory_request(
        &mut self,
        peer: PeerId,
        data: Vec<u8>,
        done: DirectoryResponseSender,
    ) {
        if !self.is_allowed(&peer) {
            let _ = done.send(Err(P2pError::PeerNotAllowed(peer)));
        } else if self.directory_outbound.len() >= DIRECTORY_OUTBOUND_MAX {
            let _ = done.send(Err(P2pError::Busy {
                limit: DIRECTORY_OUTBOUND_MAX,
            }));
        } else {
            let addrs = self.known_addrs.get(&peer);
            let id = self
                .swarm
                .behaviour_mut()
                .directory
                .send_request_with_addresses(&peer, data, addrs);
            self.directory_outbound.insert(id, done);
        }
    }

    pub(crate) fn respond_directory(&mut self, id: InboundRequestId, data: Vec<u8>) {
        match self.directory_inbound.remove(&id) {
            Some(channel) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .directory
                    .send_response(channel, data)
                    .is_err()
                {
                    tracing::debug!("directory requester went away before the answer");
                }
            }
            None => tracing::debug!("answer to an expired directory request dropped"),
        }
    }

    pub(crate) fn on_directory_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        let settled = super::request_events::settle(
            event,
            &mut self.directory_outbound,
            &mut self.directory_inbound,
            "directory",
        );
        if let Some(r) = settled {
            self.on_inbound_directory_request(r.peer, r.id, r.data, r.channel);
        }
    }

    fn on_inbound_directory_request(
        &mut self,
        peer: PeerId,
        id: InboundRequestId,
        data: Vec<u8>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        if !self.is_allowed(&peer) {
            tracing::warn!(%peer, "directory request from a peer not allowed: dropped");
            return;
        }
        let Some(permit) = self.admit_inbound(peer, data.len()) else {
            return;
        };
        if self.directory_inbound.len() >= DIRECTORY_INBOUND_MAX {
            tracing::warn!(%peer, limit = DIRECTORY_INBOUND_MAX, "too many unanswered directory requests: dropped");
            return;
        }
        let Some(commands) = self.command_sender.upgrade() else {
            return;
        };
        self.directory_inbound.insert(id, channel);
        let event = NetEvent::DirectoryRequest {
            peer,
            data,
            reply: DirectoryResponder { id, commands },
            permit,
        };
        if !self.emit(event) {
            self.directory_inbound.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;
    use std::io;

    #[tokio::test]
    async fn frames_past_the_bound_are_refused_both_ways() {
        let protocol = StreamProtocol::new(DIRECTORY_PROTOCOL);
        let mut codec = DirectoryCodec::default();
        let mut wire = Vec::new();
        let largest = vec![1u8; DIRECTORY_FRAME_BYTES_MAX];
        codec
            .write_request(&protocol, &mut Cursor::new(&mut wire), largest.clone())
            .await
            .unwrap();
        let read = codec
            .read_request(&protocol, &mut Cursor::new(wire))
            .await
            .unwrap();
        assert_eq!(read, largest);
        let mut sink = Vec::new();
        let written = codec
            .write_response(
                &protocol,
                &mut Cursor::new(&mut sink),
                vec![1u8; DIRECTORY_FRAME_BYTES_MAX + 1],
            )
            .await;
        assert_eq!(written.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let mut wire = u32::try_from(DIRECTORY_FRAME_BYTES_MAX + 1)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        wire.extend_from_slice(b"x");
        let read = codec.read_response(&protocol, &mut Cursor::new(wire)).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
