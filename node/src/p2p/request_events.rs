//! One request-response protocol's bookkeeping, shared by catch-up and the
//! phone directory: an answer (or a failure) goes to the waiting asker and
//! leaves the outbound map; a sent answer or a failed inbound request
//! leaves the inbound map; a new inbound request is handed back to the
//! protocol's own handler.

use super::error::P2pError;
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::PeerId;
use std::collections::HashMap;
use tokio::sync::oneshot;

/// Where a node's own request waits for its answer.
pub(crate) type ResponseSender = oneshot::Sender<Result<Vec<u8>, P2pError>>;

/// A request a peer made, for the protocol's handler.
pub(crate) struct InboundRequest {
    pub peer: PeerId,
    pub id: InboundRequestId,
    pub data: Vec<u8>,
    pub channel: ResponseChannel<Vec<u8>>,
}

/// Settle `event` against the protocol's maps; `protocol` names it in logs.
pub(crate) fn settle(
    event: request_response::Event<Vec<u8>, Vec<u8>>,
    outbound: &mut HashMap<OutboundRequestId, ResponseSender>,
    inbound: &mut HashMap<InboundRequestId, ResponseChannel<Vec<u8>>>,
    protocol: &'static str,
) -> Option<InboundRequest> {
    match event {
        request_response::Event::Message { peer, message, .. } => match message {
            request_response::Message::Request {
                request_id,
                request,
                channel,
            } => Some(InboundRequest {
                peer,
                id: request_id,
                data: request,
                channel,
            }),
            request_response::Message::Response {
                request_id,
                response,
            } => {
                if let Some(done) = outbound.remove(&request_id) {
                    let _ = done.send(Ok(response));
                }
                None
            }
        },
        request_response::Event::OutboundFailure {
            peer,
            request_id,
            error,
            ..
        } => {
            if let Some(done) = outbound.remove(&request_id) {
                let error = match error {
                    request_response::OutboundFailure::Timeout => P2pError::RequestTimeout { peer },
                    other => P2pError::Request {
                        peer,
                        reason: other.to_string(),
                    },
                };
                let _ = done.send(Err(error));
            }
            None
        }
        request_response::Event::InboundFailure {
            peer,
            request_id,
            error,
            ..
        } => {
            inbound.remove(&request_id);
            tracing::debug!(%peer, %error, protocol, "inbound request failed");
            None
        }
        request_response::Event::ResponseSent { request_id, .. } => {
            inbound.remove(&request_id);
            None
        }
    }
}
