//! The HTTP front: what stands between the open internet and the node's
//! handlers, so that a flood of clients is shed instead of sinking the
//! node. Every limit is in `[http]` of config.toml ([`HttpConfig`]) and in
//! the README's table "Limits a node enforces".
//!
//! In the order a client meets them:
//!
//! - **Connections** ([`conn`]): at most `connections_max` open, and
//!   `connections_per_address_max` from one client address. The excess is
//!   answered at once with 503 `too_many_connections` and `Retry-After`
//!   and closed (by a bounded set of refusal tasks; when those are busy
//!   too, it is closed without an answer). Nothing of it is read.
//! - **Request head**: the whole head within `header_read_timeout_ms`
//!   (which is also how long an idle keep-alive connection is kept) and
//!   at most `request_head_bytes_max`; else the connection is closed (this
//!   is hyper's own timer, so a half-open request holds its connection
//!   for at most that long).
//! - **Stalled readers** ([`stall`]): a connection whose client takes
//!   nothing of the response for `write_stall_timeout_ms` is closed, event
//!   streams included.
//! - **Requests** ([`limits`]): at most `requests_in_flight_max` handled at
//!   once (beyond it 503 `busy` with `Retry-After`); heavy reads are
//!   rate-limited per client address (429 `rate_limited` with
//!   `Retry-After`); every request is answered within `request_timeout_ms`
//!   (body upload included; else 503 `request_timeout`). `/health` is
//!   exempt from the in-flight cap and rates: it costs nothing and must
//!   tell the truth under load.
//! - **Writes** are rate-limited per client address by transaction count
//!   in their handlers (a `POST /v1/txs` of 200 costs 200), before any
//!   transaction is decoded; admission then refuses what it can refuse
//!   cheaply before it verifies a signature ([`crate::host::admit`]).
//! - **Event streams**: at most `events_streams_max` (and
//!   `events_streams_per_address_max` per address) open `/v1/events`
//!   streams; a stream that falls `events_lag_max` blocks behind is ended
//!   with a `dropped` event rather than buffered.
//! - **Headers** ([`headers`]): every response carries the security
//!   headers (CSP, `nosniff`, `X-Frame-Options: DENY`, referrer policy).
//! - **Admin** ([`admin`]): `POST /v1/admin/isolate` needs the token in
//!   the home's `admin.token` and an API bound to a loopback address.
//!
//! A client address is the peer's IP address; IPv6 addresses count per
//! /64 (one host gets a whole /64 as easily as one address). The node
//! never trusts `X-Forwarded-For`: behind a reverse proxy every client is
//! the proxy, so rate-limit there or raise the limits.
//!
//! Every 503 and 429 answer is JSON in the API's error format
//! (`{"error":{"code","message"}}`) with `Retry-After` in seconds, and is
//! counted by reason in `/metrics` ([`refusals`]).

pub mod admin;
pub mod client;
pub mod config;
pub mod conn;
pub mod headers;
pub mod limits;
pub mod rate;
pub mod refusals;
pub mod slots;
pub mod stall;

use crate::config::HttpConfig;
use crate::http_error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub use client::{client_key, ClientAddr};

/// The limits shared by the connection loop, the request layer and the
/// handlers of one node's API.
#[derive(Debug)]
pub struct Front {
    pub config: HttpConfig,
    /// Permits for requests being handled.
    pub requests: Arc<Semaphore>,
    /// Open `/v1/events` streams, in all and per address.
    pub streams: slots::AddressSlots,
    /// Per-address rates of writes and of heavy reads.
    pub rates: rate::RateLimits,
    /// What was turned away, by reason (also the connection loops').
    pub refusals: Arc<refusals::Refusals>,
}

impl Front {
    pub fn new(config: &HttpConfig) -> Arc<Front> {
        Arc::new(Front {
            requests: Arc::new(Semaphore::new(config.requests_in_flight_max)),
            streams: slots::AddressSlots::new(
                config.events_streams_max,
                config.events_streams_per_address_max,
            ),
            rates: rate::RateLimits::new(config),
            refusals: Arc::default(),
            config: config.clone(),
        })
    }
}

/// An error answer that asks the client to come back in `retry_after_s`
/// seconds (503 and 429).
pub fn retry_later(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    retry_after_s: u64,
) -> Response {
    let mut response = ApiError::new(status, code, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s.max(1)));
    response
}

#[cfg(test)]
mod tests;
