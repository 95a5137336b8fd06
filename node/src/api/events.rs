//! `GET /v1/events`: server-sent events, one `block` event per committed block.
//!
//! Bounded on every side: at most `http.events_streams_max` streams (and
//! `http.events_streams_per_address_max` from one client address; beyond
//! either 503 `too_many_streams` with `Retry-After`); a stream that falls
//! `http.events_lag_max` blocks behind (its reader stopped reading, or
//! reads slower than blocks come) gets a last `dropped` event and ends,
//! so the node never holds more than that many block events for it (the
//! client reconnects and fetches the blocks it missed from `/v1/blocks`).
//! A reader that takes nothing at all is also cut by the connection's
//! write-stall timeout ([`crate::http::stall`]).

use super::ApiState;
use crate::http::slots::{SlotGuard, SlotRefusal};
use crate::http::{retry_later, ClientAddr};
use crate::node_state::BlockEvent;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;
use std::convert::Infallible;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

/// `Retry-After` of a stream refused over the caps.
const STREAMS_RETRY_AFTER_S: u64 = 5;

/// Server-sent events: `block` for each committed block (its JSON in
/// `data`), and a last `dropped` when the stream fell too far behind.
///
/// Participants get each block's transaction summaries; anyone else the
/// block's height, hash, time, state root and `tx_count` only
/// ([`super::access`]).
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "blocks",
    security((), ("kopnet-signer" = [], "kopnet-time" = [], "kopnet-signature" = [])),
    responses(
        (status = 200, description = "An event stream: `event: block` with the block as JSON `data` (whole for participants), and a last `event: dropped` when the reader fell too far behind",
            body = super::shapes::BlockEventData, content_type = "text/event-stream"),
        (status = 401, description = "A bad or partial signature", body = crate::http_error::ErrorBody),
        (status = 503, description = "`too_many_streams` (with `Retry-After`)", body = crate::http_error::ErrorBody),
    )
)]
pub async fn events(
    State(state): State<ApiState>,
    caller: super::signed_request::Caller,
    client: ClientAddr,
) -> Response {
    let view = state.node.committed.current();
    let node = state.node.clone();
    let whole = match tokio::task::spawn_blocking(move || {
        super::access::caller_standing(&node.chain, &view, &caller).map(|s| s.is_participant())
    })
    .await
    {
        Ok(Ok(whole)) => whole,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => {
            return super::ApiError::internal(format!("read task failed: {e}")).into_response()
        }
    };
    let slot = match state.front.streams.take(client.0) {
        Ok(slot) => slot,
        Err(refusal) => {
            let message = match refusal {
                SlotRefusal::Total => "the node serves as many event streams as it takes",
                SlotRefusal::PerAddress => {
                    "this address has as many event streams open as one address may"
                }
            };
            return retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                message,
                STREAMS_RETRY_AFTER_S,
            );
        }
    };
    let items = stream_items(state.node.events.subscribe(), slot);
    let events = items.map(move |item| Ok::<_, Infallible>(item.into_event(whole)));
    // The stream ends when the node shuts down (else the graceful shutdown
    // would wait for every open event stream forever).
    let mut stopping = state.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let events = futures::StreamExt::take_until(events, Box::pin(stop));
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// What one stream sends.
#[derive(Debug)]
pub enum StreamItem {
    Block(BlockEvent),
    /// The last item of a stream that fell this many blocks behind.
    Dropped(u64),
}

impl StreamItem {
    /// The event; `whole`: with the transaction summaries.
    fn into_event(self, whole: bool) -> Event {
        match self {
            StreamItem::Block(block) if whole => Event::default()
                .event("block")
                .json_data(&block)
                .unwrap_or_else(|_| Event::default().event("block")),
            StreamItem::Block(block) => Event::default()
                .event("block")
                .json_data(serde_json::json!({
                    "height": block.height,
                    "hash": block.hash,
                    "time_ms": block.time_ms,
                    "state_root": block.state_root,
                    "tx_count": block.txs.len(),
                }))
                .unwrap_or_else(|_| Event::default().event("block")),
            StreamItem::Dropped(skipped) => Event::default().event("dropped").data(format!(
                "this stream fell {skipped} blocks behind and is closed; reconnect and fetch the missed blocks from /v1/blocks"
            )),
        }
    }
}

/// The blocks `receiver` gets, until it falls behind: then one
/// `Dropped` and the end. `slot` is held for as long as the stream lives.
pub fn stream_items(
    receiver: broadcast::Receiver<BlockEvent>,
    slot: SlotGuard,
) -> impl Stream<Item = StreamItem> {
    let items = BroadcastStream::new(receiver).map(|item| match item {
        Ok(block) => StreamItem::Block(block),
        Err(BroadcastStreamRecvError::Lagged(skipped)) => StreamItem::Dropped(skipped),
    });
    // Pass the `Dropped`, then end (at the `None` after it).
    futures::StreamExt::flat_map(items, |item| {
        futures::stream::iter(match item {
            StreamItem::Block(_) => vec![Some(item)],
            StreamItem::Dropped(_) => vec![Some(item), None],
        })
    })
    .map_while(move |item| {
        let _held = &slot;
        item
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::slots::AddressSlots;

    fn block(height: u64) -> BlockEvent {
        BlockEvent {
            height,
            hash: String::new(),
            time_ms: 0,
            state_root: String::new(),
            txs: Vec::new(),
        }
    }

    fn heights(items: &[StreamItem]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                StreamItem::Block(b) => format!("block {}", b.height),
                StreamItem::Dropped(n) => format!("dropped {n}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_is_dropped_and_frees_its_slot() {
        let slots = AddressSlots::new(4, 4);
        let (sender, _) = broadcast::channel(2);
        // A reader keeping up gets every block.
        let mut keeping_up = Box::pin(stream_items(sender.subscribe(), slots.take(None).unwrap()));
        // One that reads nothing while five blocks come.
        let mut stalled = Box::pin(stream_items(sender.subscribe(), slots.take(None).unwrap()));
        let mut seen = Vec::new();
        for height in 1..=5 {
            sender.send(block(height)).unwrap();
            seen.push(keeping_up.next().await.unwrap());
        }
        assert_eq!(
            heights(&seen),
            ["block 1", "block 2", "block 3", "block 4", "block 5"]
        );
        // The stalled one is told it was dropped, and ends, although the
        // channel still holds two blocks for it.
        let rest: Vec<StreamItem> = stalled.as_mut().collect().await;
        assert_eq!(heights(&rest), ["dropped 3"]);
        assert_eq!(slots.held(), 2);
        drop(stalled);
        assert_eq!(slots.held(), 1, "the ended stream's slot is free");
        drop(keeping_up);
        assert_eq!(slots.held(), 0);
    }
}
