//! `GET /v1/events`: server-sent events, one `block` event per committed block.

use super::ApiState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::Stream;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

pub async fn events(
    State(state): State<ApiState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.node.events.subscribe();
    // A subscriber that falls behind the bounded buffer skips blocks (it can
    // fetch them from /v1/blocks); it never makes the node buffer more.
    let stream = BroadcastStream::new(receiver).filter_map(|item| match item {
        Ok(block) => Event::default()
            .event("block")
            .json_data(&block)
            .ok()
            .map(Ok),
        Err(_) => Some(Ok(Event::default()
            .event("lagged")
            .data("some blocks were skipped"))),
    });
    // The stream ends when the node shuts down (else the graceful shutdown
    // would wait for every open event stream forever).
    let mut stopping = state.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let stream = futures::StreamExt::take_until(stream, Box::pin(stop));
    Sse::new(stream).keep_alive(KeepAlive::default())
}
