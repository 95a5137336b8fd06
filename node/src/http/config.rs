//! `[http]` of config.toml: the HTTP front's limits ([`super`]), with
//! their defaults, the test networks' unthrottled set, and validation
//! naming the bad field.

use crate::config::{field, ConfigError};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The HTTP front's limits (`[http]` in config.toml): timeouts, caps on
/// connections, requests and event streams, per-address rates, and where
/// `/metrics` is served. What each one does when it is reached is in
/// [`crate::http`] and in the README's table "Limits a node enforces".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// A connection must send a whole request head within this long after
    /// the server starts waiting for one (also the idle time a keep-alive
    /// connection is kept between requests); else it is closed.
    pub header_read_timeout_ms: u64,
    /// Largest request head (request line and headers), in bytes.
    pub request_head_bytes_max: usize,
    /// A request must be answered (its response started) within this long,
    /// body upload included; else 503 `request_timeout`.
    pub request_timeout_ms: u64,
    /// A connection whose reader takes nothing of the response for this
    /// long is closed (a slow or stalled consumer).
    pub write_stall_timeout_ms: u64,
    /// Open connections, all clients together; beyond it a new connection
    /// gets 503 `too_many_connections` and is closed.
    pub connections_max: usize,
    /// Open connections from one client address.
    pub connections_per_address_max: usize,
    /// Requests being handled at once; beyond it 503 `busy`.
    pub requests_in_flight_max: usize,
    /// Open `/v1/events` streams, all clients together; beyond it 503.
    pub events_streams_max: usize,
    /// Open `/v1/events` streams from one client address.
    pub events_streams_per_address_max: usize,
    /// Block events a stream may fall behind before it is dropped (also
    /// the most block events the node holds for its streams).
    pub events_lag_max: usize,
    /// Transactions one client address may submit per second, sustained.
    pub writes_per_second: u32,
    /// ... and at once after a pause (at least one full `POST /v1/txs`).
    pub writes_burst: u32,
    /// Heavy reads (block lists, history, scans, quotes, event streams)
    /// one client address may make per second, sustained.
    pub heavy_reads_per_second: u32,
    /// ... and at once after a pause.
    pub heavy_reads_burst: u32,
    /// Client addresses whose rates are tracked; when full, the address
    /// seen first is forgotten (which only ever gives it a fresh budget).
    pub rate_addresses_max: usize,
    /// Transactions one `POST /v1/txs` may carry (beyond it 400
    /// `batch_too_large`; the body limit `api_body_max_bytes` applies too).
    pub txs_per_request_max: usize,
    /// Over-cap connections being answered 503 at once; more are closed
    /// unanswered (each is kept at most `conn::REFUSAL_LINGER`).
    pub refusals_in_flight_max: usize,
    /// Open connections to `metrics_listen`, in all and per address.
    pub metrics_connections_max: usize,
    /// Serve `/metrics` on this address too (a port of its own, e.g. for a
    /// scraper on a private network).
    pub metrics_listen: Option<SocketAddr>,
    /// Serve `/metrics` on the API address (set false together with
    /// `metrics_listen` to keep it off the public port).
    pub metrics_on_api: bool,
    /// Reverse proxies in front of the API, by the address the node sees
    /// them connect from (`127.0.0.1` for one on the same host). A request
    /// from one is counted under the client its `X-Forwarded-For` names
    /// (the last address there that is not itself a trusted proxy), and
    /// their connections count toward `connections_max` only, not toward
    /// one address's share ([`crate::http::client`]). Empty (the default):
    /// `X-Forwarded-For` is ignored and every client is the peer address.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_ms: 10_000,
            request_head_bytes_max: 32 * 1024,
            request_timeout_ms: 30_000,
            write_stall_timeout_ms: 30_000,
            connections_max: 1_024,
            connections_per_address_max: 128,
            requests_in_flight_max: 256,
            events_streams_max: 512,
            events_streams_per_address_max: 32,
            events_lag_max: 32,
            writes_per_second: 50,
            writes_burst: 512,
            heavy_reads_per_second: 20,
            heavy_reads_burst: 60,
            rate_addresses_max: 65_536,
            txs_per_request_max: 256,
            refusals_in_flight_max: 64,
            metrics_connections_max: 16,
            metrics_listen: None,
            metrics_on_api: true,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Limits that never get in the way of a local test network's load
    /// driver and bench (every client is 127.0.0.1), with the timeouts of
    /// the default.
    pub fn unthrottled() -> Self {
        HttpConfig {
            connections_max: 4_096,
            connections_per_address_max: 4_096,
            requests_in_flight_max: 4_096,
            events_streams_per_address_max: 512,
            writes_per_second: RATE_PER_SECOND_MAX,
            writes_burst: RATE_PER_SECOND_MAX,
            heavy_reads_per_second: RATE_PER_SECOND_MAX,
            heavy_reads_burst: RATE_PER_SECOND_MAX,
            ..HttpConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("http.header_read_timeout_ms", self.header_read_timeout_ms),
            ("http.request_timeout_ms", self.request_timeout_ms),
            ("http.write_stall_timeout_ms", self.write_stall_timeout_ms),
        ] {
            if !(100..=3_600_000).contains(&value) {
                return Err(field(name, "must be between 100 and 3600000"));
            }
        }
        // hyper refuses (panics on) a read buffer under 8 KiB.
        if !(8 * 1024..=1024 * 1024).contains(&self.request_head_bytes_max) {
            return Err(field(
                "http.request_head_bytes_max",
                "must be between 8192 and 1048576",
            ));
        }
        for (name, value) in [
            ("http.connections_max", self.connections_max),
            (
                "http.connections_per_address_max",
                self.connections_per_address_max,
            ),
            ("http.requests_in_flight_max", self.requests_in_flight_max),
            ("http.events_streams_max", self.events_streams_max),
            (
                "http.events_streams_per_address_max",
                self.events_streams_per_address_max,
            ),
            ("http.events_lag_max", self.events_lag_max),
            ("http.refusals_in_flight_max", self.refusals_in_flight_max),
            ("http.metrics_connections_max", self.metrics_connections_max),
        ] {
            if !(1..=COUNT_MAX).contains(&value) {
                return Err(field(name, format!("must be between 1 and {COUNT_MAX}")));
            }
        }
        if !(1..=RATE_ADDRESSES_MAX).contains(&self.rate_addresses_max) {
            return Err(field(
                "http.rate_addresses_max",
                format!("must be between 1 and {RATE_ADDRESSES_MAX}"),
            ));
        }
        for (name, value) in [
            ("http.writes_per_second", self.writes_per_second),
            ("http.heavy_reads_per_second", self.heavy_reads_per_second),
            ("http.heavy_reads_burst", self.heavy_reads_burst),
        ] {
            if !(1..=RATE_PER_SECOND_MAX).contains(&value) {
                return Err(field(
                    name,
                    format!("must be between 1 and {RATE_PER_SECOND_MAX}"),
                ));
            }
        }
        if !(1..=TXS_PER_REQUEST_CEILING).contains(&self.txs_per_request_max) {
            return Err(field(
                "http.txs_per_request_max",
                format!("must be between 1 and {TXS_PER_REQUEST_CEILING}"),
            ));
        }
        // A burst below a full batch would refuse every full POST /v1/txs.
        let batch = u32::try_from(self.txs_per_request_max).unwrap_or(u32::MAX);
        if !(batch..=RATE_PER_SECOND_MAX).contains(&self.writes_burst) {
            return Err(field(
                "http.writes_burst",
                format!(
                    "must be between {batch} (one full POST /v1/txs) and {RATE_PER_SECOND_MAX}"
                ),
            ));
        }
        if self.trusted_proxies.len() > TRUSTED_PROXIES_MAX {
            return Err(field(
                "http.trusted_proxies",
                format!("at most {TRUSTED_PROXIES_MAX} addresses"),
            ));
        }
        if self.metrics_listen.is_none() && !self.metrics_on_api {
            return Err(field(
                "http.metrics_on_api",
                "false needs http.metrics_listen (else /metrics is served nowhere)",
            ));
        }
        Ok(())
    }
}

/// Largest `http.txs_per_request_max`: a batch is decoded and checked in
/// one go, so it stays a small multiple of a block's worth of signatures.
const TXS_PER_REQUEST_CEILING: usize = 4_096;
/// Largest value of a count limit in `[http]`.
const COUNT_MAX: usize = 1_000_000;
/// Largest per-second rate or burst in `[http]`.
pub const RATE_PER_SECOND_MAX: u32 = 1_000_000;
/// Most addresses in `http.trusted_proxies` (a node has a proxy or two in
/// front of it, not a network of them).
pub const TRUSTED_PROXIES_MAX: usize = 16;
/// Largest `http.rate_addresses_max`.
const RATE_ADDRESSES_MAX: usize = 16_777_216;
