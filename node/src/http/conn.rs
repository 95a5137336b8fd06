//! The connection loop: accept, cap connections (in all and per client
//! address), serve each one with hyper's HTTP/1.1 under the header-read
//! timeout and the write-stall guard ([`super::stall`]), and at shutdown
//! stop accepting, let open connections finish their requests and wait
//! for them.
//!
//! A connection over a cap is answered `503 too_many_connections` with
//! `Retry-After` and closed, without reading its request (it is drained
//! briefly so that the answer is not lost to a reset). The answering is
//! done by at most `http.refusals_in_flight_max` tasks, each for at most
//! [`REFUSAL_LINGER`]; past that an excess connection is closed at once.
//!
//! The node speaks HTTP/1.1 only (as it did with `axum::serve`'s
//! defaults): put a TLS-terminating proxy in front for HTTP/2.

use super::client::{client_key, forwarded_client, ClientAddr};
use super::headers::OTHER_CSP;
use super::refusals::Refusals;
use super::slots::{AddressSlots, SlotRefusal};
use super::stall::StallGuard;
use super::Front;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tower_service::Service;

/// Longest a refused connection is kept (to write the answer and drain).
pub const REFUSAL_LINGER: Duration = Duration::from_secs(2);
/// Most bytes read from a refused connection while it drains.
const REFUSAL_DRAIN_BYTES_MAX: usize = 64 * 1024;
/// `Retry-After` of a refused connection.
pub const CONNECTION_RETRY_AFTER_S: u64 = 1;
/// Pause after a failed accept (out of file descriptors, say) so that
/// the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The connection-level limits of one listener.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub connections_max: usize,
    pub connections_per_address_max: usize,
    pub header_read_timeout: Duration,
    pub request_head_bytes_max: usize,
    pub write_stall_timeout: Duration,
    /// Connections being answered 503 at once; more are closed unanswered.
    pub refusals_in_flight_max: usize,
    /// Where refused connections are counted (the front's counters).
    pub refused: Arc<Refusals>,
    /// `http.trusted_proxies`: peers believed about the client they
    /// forward for ([`super::client`]).
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl ConnLimits {
    /// The limits of `[http]`, counting refusals in the front's counters.
    pub fn new(front: &Front) -> Self {
        let config = &front.config;
        ConnLimits {
            refused: front.refusals.clone(),
            connections_max: config.connections_max,
            connections_per_address_max: config.connections_per_address_max,
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            request_head_bytes_max: config.request_head_bytes_max,
            write_stall_timeout: Duration::from_millis(config.write_stall_timeout_ms),
            refusals_in_flight_max: config.refusals_in_flight_max,
            trusted_proxies: config
                .trusted_proxies
                .iter()
                .map(IpAddr::to_canonical)
                .collect(),
        }
    }
}

/// Serve `router` on `listener` until `shutdown` becomes true, then wait
/// for open connections to finish (graceful: the request in progress on
/// each is answered; event streams end on the same signal).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = AddressSlots::new(limits.connections_max, limits.connections_per_address_max);
    let refusals = Arc::new(Semaphore::new(limits.refusals_in_flight_max));
    // Every connection task holds a sender; all gone = all closed.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "API accept failed");
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };
        let address = client_key(peer.ip());
        // A trusted proxy carries many clients: its connections count in
        // the total only; its requests are counted per forwarded client.
        let proxied = limits.trusted_proxies.contains(&peer.ip().to_canonical());
        match slots.take((!proxied).then_some(address)) {
            Ok(slot) => {
                let router = router.clone();
                let limits = limits.clone();
                let stop = shutdown.clone();
                let open = open_tx.clone();
                tokio::spawn(async move {
                    serve_connection(stream, (address, proxied), router, &limits, stop).await;
                    drop(slot);
                    drop(open);
                });
            }
            Err(refusal) => refuse(stream, address, refusal, &refusals, &limits.refused),
        }
    }
    drop(open_tx);
    let _ = open_rx.recv().await;
}

/// One connection, to its end or to shutdown (then gracefully).
async fn serve_connection(
    stream: TcpStream,
    (address, proxied): (IpAddr, bool),
    router: Router,
    limits: &ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall_timeout));
    let trusted = limits.trusted_proxies.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let client = match proxied {
            true => forwarded_client(request.headers(), &trusted).map_or(address, client_key),
            false => address,
        };
        request.extensions_mut().insert(ClientAddr(Some(client)));
        router.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.request_head_bytes_max)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let stopping = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopping => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%address, error = %e, "API connection ended");
    }
}

/// Answer a connection over a cap with 503 and close it (or just close it
/// when too many are being answered already).
fn refuse(
    stream: TcpStream,
    address: IpAddr,
    refusal: SlotRefusal,
    refusals: &Arc<Semaphore>,
    refused: &Refusals,
) {
    tracing::debug!(%address, ?refusal, "API connection refused");
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        refused.count("connection_dropped");
        drop(stream);
        return;
    };
    refused.count("too_many_connections");
    let message = match refusal {
        SlotRefusal::Total => "the node has as many open connections as it takes; try again shortly",
        SlotRefusal::PerAddress => {
            "this address has as many open connections as one address may; close some or try again shortly"
        }
    };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_LINGER, answer_and_drain(stream, message)).await;
    });
}

/// The whole answer to a refused connection, as bytes.
pub fn refusal_response(message: &str) -> String {
    let body = serde_json::json!({"error": {"code": "too_many_connections", "message": message}})
        .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         content-type: application/json\r\n\
         retry-after: {CONNECTION_RETRY_AFTER_S}\r\n\
         content-security-policy: {OTHER_CSP}\r\n\
         x-content-type-options: nosniff\r\n\
         x-frame-options: DENY\r\n\
         referrer-policy: no-referrer\r\n\
         connection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn answer_and_drain(mut stream: TcpStream, message: &str) {
    if stream
        .write_all(refusal_response(message).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown().await;
    // Read (and drop) what the client sends until it closes, so that
    // closing with unread bytes does not reset the connection before the
    // client has read the answer.
    let mut buf = [0u8; 4096];
    let mut drained = 0usize;
    while drained < REFUSAL_DRAIN_BYTES_MAX {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained = drained.saturating_add(n),
        }
    }
}
