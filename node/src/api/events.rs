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
use crate::http::slots::SlotRefusal;
use crate::http::{retry_later, ClientAddr};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;
use std::convert::Infallible;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

/// `Retry-After` of a stream refused over the caps.
const STREAMS_RETRY_AFTER_S: u64 = 5;

pub async fn events(State(state): State<ApiState>, client: ClientAddr) -> Response {
    let slot = match state.front.streams.take(client.0) {
        Ok(slot) => slot,
        Err(refusal) => {
            let message = match refusal {
                SlotRefusal::Total => "the node serves as many event streams as it takes",
                SlotRefusal::PerAddress => "this address has as many event streams open as one address may",
            };
            return retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                message,
                STREAMS_RETRY_AFTER_S,
            );
        }
    };
    stream(&state, slot).into_response()
}

/// What one stream sends, in order, until it ends.
enum Item {
    Block(Event),
    /// The last event of a stream that fell behind.
    Dropped(Event),
}

fn stream(
    state: &ApiState,
    slot: crate::http::slots::SlotGuard,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.node.events.subscribe();
    let items = BroadcastStream::new(receiver).filter_map(|item| match item {
        Ok(block) => Event::default()
            .event("block")
            .json_data(&block)
            .ok()
            .map(Item::Block),
        Err(BroadcastStreamRecvError::Lagged(skipped)) => Some(Item::Dropped(
            Event::default().event("dropped").data(format!(
                "this stream fell {skipped} blocks behind and is closed; reconnect and fetch the missed blocks from /v1/blocks"
            )),
        )),
    });
    // Pass the `dropped` event, then end (at the `None` after it).
    let events = futures::StreamExt::flat_map(items, |item| {
        futures::stream::iter(match item {
            Item::Block(event) => vec![Some(event)],
            Item::Dropped(event) => vec![Some(event), None],
        })
    })
    .map_while(move |event| {
        // The slot is held for as long as the stream lives.
        let _held = &slot;
        event.map(Ok)
    });
    // The stream ends when the node shuts down (else the graceful shutdown
    // would wait for every open event stream forever).
    let mut stopping = state.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let events = futures::StreamExt::take_until(events, Box::pin(stop));
    Sse::new(events).keep_alive(KeepAlive::default())
}
