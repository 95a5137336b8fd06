//! The HTTP front on a real socket, with a stand-in router behind the
//! node's own layers: caps, timeouts, rates and headers as a client meets
//! them. Clients connect from chosen loopback addresses (127.0.0.1,
//! 127.0.0.2, ...) to count as different addresses. Every wait is a
//! condition with a deadline.

use super::conn::{self, ConnLimits};
use super::headers::{OTHER_CSP, PAGE_CSP};
use super::{headers, limits, refusals, Front};
use crate::config::HttpConfig;
use crate::http_error::not_found;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

const DEADLINE: Duration = Duration::from_secs(20);

struct Served {
    addr: SocketAddr,
    front: Arc<Front>,
    _stop: watch::Sender<bool>,
}

async fn serve(config: HttpConfig) -> Served {
    let front = Front::new(&config);
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/blocks", get(|| async { "[]" }))
        .route("/v1/status", get(|| async { "{}" }))
        .route("/slow", get(std::future::pending::<&'static str>))
        .fallback(not_found)
        .layer(from_fn_with_state(front.clone(), limits::limit_requests))
        .layer(from_fn_with_state(front.clone(), refusals::count_refusals))
        .layer(from_fn(headers::security_headers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(conn::serve(
        listener,
        router,
        ConnLimits::new(&front),
        stopping,
    ));
    Served {
        addr,
        front,
        _stop: stop,
    }
}

/// A connection to `addr` from the loopback address `from`.
async fn connect(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// A whole `GET path` from `from`, answered and closed: the response,
/// lower-cased.
async fn get_from(from: &str, addr: SocketAddr, path: &str) -> String {
    let mut stream = connect(from, addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nhost: node\r\nconnection: close\r\n\r\n");
    // The node may refuse before reading: a failed write still leaves its
    // answer to read.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).to_lowercase()
}

/// `get_from` with `X-Forwarded-For: forwarded_for`.
async fn get_forwarded(from: &str, addr: SocketAddr, path: &str, forwarded_for: &str) -> String {
    let mut stream = connect(from, addr).await;
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: node\r\nx-forwarded-for: {forwarded_for}\r\nconnection: close\r\n\r\n"
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).to_lowercase()
}

/// A connection from `from` that sends half a request head and stalls.
async fn half_open(from: &str, addr: SocketAddr) -> TcpStream {
    let mut stream = connect(from, addr).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: node\r\n")
        .await
        .unwrap();
    stream
}

fn status(response: &str) -> &str {
    response.get(9..12).unwrap_or("")
}

fn config() -> HttpConfig {
    HttpConfig {
        header_read_timeout_ms: 60_000,
        ..HttpConfig::default()
    }
}

#[tokio::test]
async fn connections_over_the_caps_get_503_and_half_open_ones_are_closed_by_the_head_timeout() {
    let served = serve(HttpConfig {
        connections_max: 4,
        connections_per_address_max: 2,
        // Long enough for the refusals below to happen while the stalled
        // requests still hold their slots.
        header_read_timeout_ms: 5_000,
        ..config()
    })
    .await;
    let addr = served.addr;
    let mut stalled = vec![
        half_open("127.0.0.1", addr).await,
        half_open("127.0.0.1", addr).await,
    ];
    // A third from the same address: over its share.
    let refused = get_from("127.0.0.1", addr, "/health").await;
    assert_eq!(status(&refused), "503", "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(
        refused.contains("\"code\":\"too_many_connections\""),
        "{refused}"
    );
    assert!(
        refused.contains("x-content-type-options: nosniff"),
        "{refused}"
    );
    // A fresh connection from another address is served.
    let health = get_from("127.0.0.2", addr, "/health").await;
    assert_eq!(status(&health), "200", "{health}");
    // Fill the node: two more from 127.0.0.2; then anyone is refused.
    stalled.push(half_open("127.0.0.2", addr).await);
    stalled.push(half_open("127.0.0.2", addr).await);
    let refused = get_from("127.0.0.3", addr, "/health").await;
    assert_eq!(status(&refused), "503", "{refused}");
    // Both refusals are counted for /metrics.
    assert_eq!(refused_count(&served, "too_many_connections"), 2);
    // The stalled requests are closed by the header-read timeout ...
    for stream in &mut stalled {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a half-open request was never closed");
    }
    // ... and their slots come back: 127.0.0.1 is served again.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let health = get_from("127.0.0.1", addr, "/health").await;
        if status(&health) == "200" {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {health}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn heavy_reads_over_the_rate_get_429_while_another_address_is_served() {
    let served = serve(HttpConfig {
        heavy_reads_per_second: 1,
        heavy_reads_burst: 2,
        ..config()
    })
    .await;
    let addr = served.addr;
    // The burst of two is served; at one more per second, a client asking
    // as fast as it can is soon refused (however slow this machine is).
    let mut served_first = 0;
    let limited = loop {
        let response = get_from("127.0.0.1", addr, "/v1/blocks").await;
        match status(&response) {
            "200" => served_first += 1,
            _ => break response,
        }
        assert!(served_first < 50, "never limited");
    };
    assert!(served_first >= 2, "the burst is served");
    assert_eq!(status(&limited), "429", "{limited}");
    assert!(limited.contains("retry-after: 1"), "{limited}");
    assert!(
        limited.contains("{\"error\":{\"code\":\"rate_limited\",\"message\":"),
        "{limited}"
    );
    assert_eq!(refused_count(&served, "rate_limited"), 1);
    // Another address has its own budget; light reads and /health are
    // not rate-limited.
    let other = get_from("127.0.0.2", addr, "/v1/blocks").await;
    assert_eq!(status(&other), "200", "{other}");
    for path in ["/v1/status", "/health"] {
        let light = get_from("127.0.0.1", addr, path).await;
        assert_eq!(status(&light), "200", "{path}: {light}");
    }
}

#[tokio::test]
async fn a_trusted_proxy_is_believed_about_its_clients_and_no_one_else_is() {
    let served = serve(HttpConfig {
        heavy_reads_per_second: 1,
        heavy_reads_burst: 2,
        connections_per_address_max: 1,
        trusted_proxies: vec!["127.0.0.5".parse().unwrap()],
        ..config()
    })
    .await;
    let addr = served.addr;
    // Limited within 50 requests (a burst of 2, one more a second), each
    // from `from` with the `X-Forwarded-For` that `header(i)` makes.
    let limited = |from: &'static str, header: fn(usize) -> String| async move {
        for i in 0..50 {
            let response = get_forwarded(from, addr, "/v1/blocks", &header(i)).await;
            if status(&response) == "429" {
                return true;
            }
        }
        false
    };
    // Through the proxy, each client has its own budget: twenty clients
    // are all served (as one client they would be refused by the fourth).
    for i in 0..20 {
        let response =
            get_forwarded("127.0.0.5", addr, "/v1/blocks", &format!("192.0.2.{i}")).await;
        assert_eq!(status(&response), "200", "client {i}: {response}");
    }
    // The client is the address the proxy saw (the last entry), whatever
    // the client claimed before it.
    assert!(
        limited("127.0.0.5", |i| format!("198.51.100.{i}, 192.0.2.200")).await,
        "a client changing what it claims was never limited"
    );
    // From a peer that is no trusted proxy the header means nothing.
    assert!(
        limited("127.0.0.6", |i| format!("192.0.2.{i}")).await,
        "an untrusted peer was believed"
    );
    // The proxy's connections are not held to one address's share (1) ...
    let _stalled = half_open("127.0.0.5", addr).await;
    let health = get_forwarded("127.0.0.5", addr, "/health", "192.0.2.9").await;
    assert_eq!(status(&health), "200", "{health}");
    // ... anyone else's are.
    let _other_stalled = half_open("127.0.0.7", addr).await;
    let refused = get_from("127.0.0.7", addr, "/health").await;
    assert_eq!(status(&refused), "503", "{refused}");
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_get_503_and_a_stuck_one_times_out() {
    let served = serve(HttpConfig {
        requests_in_flight_max: 1,
        request_timeout_ms: 1_000,
        ..config()
    })
    .await;
    let addr = served.addr;
    let stuck = tokio::spawn(async move { get_from("127.0.0.1", addr, "/slow").await });
    let deadline = Instant::now() + DEADLINE;
    while served.front.requests.available_permits() > 0 {
        assert!(Instant::now() < deadline, "the slow request never started");
        tokio::task::yield_now().await;
    }
    let busy = get_from("127.0.0.2", addr, "/v1/status").await;
    assert_eq!(status(&busy), "503", "{busy}");
    assert!(busy.contains("\"code\":\"busy\""), "{busy}");
    assert!(busy.contains("retry-after: 1"), "{busy}");
    let health = get_from("127.0.0.2", addr, "/health").await;
    assert_eq!(status(&health), "200", "/health is exempt: {health}");
    let timed_out = stuck.await.unwrap();
    assert_eq!(status(&timed_out), "503", "{timed_out}");
    assert!(
        timed_out.contains("\"code\":\"request_timeout\""),
        "{timed_out}"
    );
    // Its permit is back.
    let ok = get_from("127.0.0.2", addr, "/v1/status").await;
    assert_eq!(status(&ok), "200", "{ok}");
    assert_eq!(refused_count(&served, "busy"), 1);
    assert_eq!(refused_count(&served, "request_timeout"), 1);
}

/// How many refusals the front counted for `reason` (its `/metrics` series).
fn refused_count(served: &Served, reason: &str) -> u64 {
    served
        .front
        .refusals
        .snapshot()
        .get(reason)
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let served = serve(config()).await;
    let addr = served.addr;
    for (path, code, csp) in [
        ("/health", "200", OTHER_CSP),
        ("/v1/nothing-here", "404", OTHER_CSP),
        ("/wallet-or-any-page", "404", PAGE_CSP),
    ] {
        let response = get_from("127.0.0.1", addr, path).await;
        assert_eq!(status(&response), code, "{path}: {response}");
        for header in [
            format!("content-security-policy: {}", csp.to_lowercase()),
            "x-content-type-options: nosniff".to_string(),
            "x-frame-options: deny".to_string(),
            "referrer-policy: no-referrer".to_string(),
        ] {
            assert!(
                response.contains(&header),
                "{path} lacks {header}: {response}"
            );
        }
    }
    assert!(PAGE_CSP.contains("frame-ancestors 'none'") && !PAGE_CSP.contains("unsafe"));
}
