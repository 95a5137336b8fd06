//! The HTTP front of a running node (issue 14, part 4): connections over
//! the caps and half-open requests are refused or closed while `/health`
//! answers from a fresh connection and the chain keeps committing; a
//! client over its rate gets 429 while another address is served; the
//! event stream cap; security headers; the admin token and the loopback
//! rule; `/metrics` on its own address; forged transactions from unknown
//! keys refused before any signature check.
//!
//! Clients connect from chosen loopback addresses (127.0.0.x) so that the
//! node counts them as different addresses. Every wait is a condition
//! with a deadline.

mod common;
use base64::Engine as _;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{Action, Transaction, TxBody};
use kopnet_node::config::NodeConfig;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// The caps this test sets (small, to reach them with a few sockets).
const CONNECTIONS_MAX: usize = 8;
const CONNECTIONS_PER_ADDRESS_MAX: usize = 6;
const HEADER_READ_TIMEOUT_MS: u64 = 10_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn api_addr(cluster: &Cluster) -> SocketAddr {
    let config = NodeConfig::load(&cluster.nodes[0].home.join("config.toml")).unwrap();
    SocketAddr::from(([127, 0, 0, 1], config.api.port()))
}

/// A blocking HTTP client whose connections come from `from`.
fn client_from(from: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// A raw TCP connection to `addr` from the loopback address `from`.
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        socket.connect(addr).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// A whole `GET path` over a raw connection: the answer, lower-cased.
fn raw_get(from: &str, addr: SocketAddr, path: &str) -> String {
    let mut stream = connect_from(from, addr);
    let _ = stream.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: node\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).to_lowercase()
}

/// A connection that sends half a request head and stalls.
fn half_open(from: &str, addr: SocketAddr) -> TcpStream {
    let mut stream = connect_from(from, addr);
    stream
        .write_all(b"GET /v1/status HTTP/1.1\r\nhost: node\r\n")
        .unwrap();
    stream
}

fn height_from(from: &str, api: &str) -> Option<u64> {
    let response = client_from(from)
        .get(format!("{api}/v1/status"))
        .send()
        .ok()?;
    response.json::<Value>().ok()?["height"].as_u64()
}

/// Start a one-validator network whose node has small HTTP limits.
fn start(metrics_port: u16) -> Cluster {
    let mut cluster = Cluster::init(1, 0);
    let path = cluster.nodes[0].home.join("config.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    let http = &mut config.http;
    http.connections_max = CONNECTIONS_MAX;
    http.connections_per_address_max = CONNECTIONS_PER_ADDRESS_MAX;
    http.header_read_timeout_ms = HEADER_READ_TIMEOUT_MS;
    http.heavy_reads_per_second = 1;
    http.heavy_reads_burst = 3;
    http.events_streams_max = 2;
    http.metrics_listen = Some(SocketAddr::from(([127, 0, 0, 1], metrics_port)));
    http.metrics_on_api = false;
    std::fs::write(&path, config.to_toml()).unwrap();
    cluster.start_node(0);
    cluster.wait_height(0, 1, Duration::from_secs(60));
    cluster
}

#[test]
fn the_http_front_sheds_load_and_keeps_its_rules() {
    let metrics_port = free_port();
    let mut cluster = start(metrics_port);
    let api = cluster.nodes[0].api.clone();
    let addr = api_addr(&cluster);

    connections_over_the_caps_are_refused_while_the_chain_commits(&cluster, addr, &api);
    heavy_reads_over_the_rate_get_429_while_another_address_is_served(&api);
    event_streams_are_capped(&api);
    answers_carry_the_security_headers(&api);
    metrics_are_served_on_their_own_address(&api, metrics_port);
    forged_transactions_from_unknown_keys_are_refused_before_verifying(&cluster, &api);
    admin_needs_the_token_and_a_loopback_bind(&mut cluster, &api);
}

/// More connections than the caps, half-open requests: the excess gets
/// 503 with Retry-After, /health answers from a fresh connection, the
/// chain keeps committing, and the stalled requests are closed by the
/// header-read timeout.
fn connections_over_the_caps_are_refused_while_the_chain_commits(
    cluster: &Cluster,
    addr: SocketAddr,
    api: &str,
) {
    let before = height_from("127.0.0.2", api).unwrap();
    let mut stalled: Vec<TcpStream> = (0..CONNECTIONS_PER_ADDRESS_MAX)
        .map(|_| half_open("127.0.0.1", addr))
        .collect();
    let refused = raw_get("127.0.0.1", addr, "/health");
    eprintln!(
        "{CONNECTIONS_PER_ADDRESS_MAX} half-open from 127.0.0.1, one more from it gets:\n{}",
        refused
            .lines()
            .filter(|l| l.starts_with("http/")
                || l.starts_with("retry-after")
                || l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(
        refused.contains("\"code\":\"too_many_connections\""),
        "{refused}"
    );
    // From a fresh connection (another address): /health answers, and
    // the chain goes on committing while the stalled requests are held.
    let health = raw_get("127.0.0.2", addr, "/health");
    eprintln!(
        "/health from 127.0.0.2 meanwhile: {}",
        health.lines().next().unwrap_or("")
    );
    assert!(health.starts_with("http/1.1 200"), "{health}");
    let committed = wait_for(
        "the chain to commit 2 blocks while the node is flooded",
        Duration::from_secs(30),
        || height_from("127.0.0.2", api).filter(|h| *h >= before + 2),
    );
    eprintln!("height {before} when the flood began, {committed} while it is held");
    // Fill every slot: then a fresh connection from anywhere is refused.
    for _ in 0..(CONNECTIONS_MAX - CONNECTIONS_PER_ADDRESS_MAX + 1) {
        stalled.push(half_open("127.0.0.2", addr));
    }
    let refused = raw_get("127.0.0.3", addr, "/health");
    eprintln!(
        "all {CONNECTIONS_MAX} slots held, 127.0.0.3 gets: {}",
        refused.lines().next().unwrap_or("")
    );
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    // The header-read timeout closes the half-open requests ...
    for stream in &mut stalled {
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .expect("a half-open request is closed by the header-read timeout");
    }
    // ... and everyone is served again; the chain went on meanwhile.
    let during = height_from("127.0.0.2", api).unwrap();
    wait_for(
        "/health from 127.0.0.1 after the flood",
        Duration::from_secs(30),
        || {
            raw_get("127.0.0.1", addr, "/health")
                .starts_with("http/1.1 200")
                .then_some(())
        },
    );
    cluster.wait_height(0, during + 1, Duration::from_secs(30));
    eprintln!(
        "half-open requests closed by the {HEADER_READ_TIMEOUT_MS} ms header-read timeout; /health from 127.0.0.1 answers again; height now {}",
        cluster.height(0).unwrap_or(0)
    );
}

fn heavy_reads_over_the_rate_get_429_while_another_address_is_served(api: &str) {
    let greedy = client_from("127.0.0.4");
    let mut served = 0;
    let limited = loop {
        let response = greedy
            .get(format!("{api}/v1/blocks?limit=1"))
            .send()
            .unwrap();
        if response.status().as_u16() != 200 {
            break response;
        }
        served += 1;
        assert!(served < 50, "never rate-limited");
    };
    assert!(served >= 3, "the burst of 3 is served");
    assert_eq!(limited.status().as_u16(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = limited.json().unwrap();
    eprintln!("127.0.0.4: {served} heavy reads served, then 429 Retry-After: {retry_after} {body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // Another address is served; the greedy one still reads its account.
    let other = client_from("127.0.0.5")
        .get(format!("{api}/v1/blocks?limit=1"))
        .send()
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);
    eprintln!("127.0.0.5 meanwhile: {}", other.status());
    let status = greedy.get(format!("{api}/v1/status")).send().unwrap();
    assert_eq!(
        status.status().as_u16(),
        200,
        "light reads are not rate-limited"
    );
}

fn event_streams_are_capped(api: &str) {
    // Heavy reads are rate-limited too: every stream from its own address.
    let open: Vec<_> = ["127.0.0.6", "127.0.0.7"]
        .iter()
        .map(|from| {
            let response = client_from(from)
                .get(format!("{api}/v1/events"))
                .send()
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response
        })
        .collect();
    let refused = client_from("127.0.0.8")
        .get(format!("{api}/v1/events"))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().unwrap();
    eprintln!("third /v1/events stream (cap 2): 503 {body}");
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    drop(open);
}

fn answers_carry_the_security_headers(api: &str) {
    let client = client_from("127.0.0.9");
    for (path, csp_has) in [
        ("/wallet", "script-src 'self'"),
        ("/explorer", "style-src 'self'"),
        ("/static/wallet.js", "script-src 'self'"),
        ("/v1/status", "default-src 'none'"),
        ("/v1/no-such-thing", "default-src 'none'"),
    ] {
        let response = client.get(format!("{api}{path}")).send().unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        eprintln!("{path}: content-security-policy: {csp}");
        assert!(csp.contains(csp_has), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    // The pages have no inline style or script for the policy to block.
    for page in ["/wallet", "/explorer", "/wallet/selftest"] {
        let html = client
            .get(format!("{api}{page}"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(!html.contains("style="), "{page} has a style attribute");
        assert!(!html.contains("<style"), "{page} has a style element");
        assert!(
            html.matches("<script").count() == html.matches("<script type=\"module\" src=").count(),
            "{page} has an inline script"
        );
    }
}

fn metrics_are_served_on_their_own_address(api: &str, metrics_port: u16) {
    let client = client_from("127.0.0.10");
    let metrics = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().unwrap();
    assert!(text.contains("kopnet_height"));
    // The refusals of the checks before this one are counted by reason.
    let refused = |reason: &str| {
        let series = format!("kopnet_http_refused_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    for reason in ["too_many_connections", "rate_limited", "too_many_streams"] {
        eprintln!(
            "/metrics: kopnet_http_refused_total{{reason=\"{reason}\"}} {}",
            refused(reason)
        );
        assert!(refused(reason) >= 1, "{reason} not counted:\n{text}");
    }
    // metrics_on_api = false: not on the API address.
    let on_api = client.get(format!("{api}/metrics")).send().unwrap();
    assert_eq!(on_api.status().as_u16(), 404);
}

/// 256 forged transactions from keys no account has, in one request: each
/// is `unknown_signer` (refused before its signature is looked at; the
/// count of checks is asserted in the host's tests).
fn forged_transactions_from_unknown_keys_are_refused_before_verifying(
    cluster: &Cluster,
    api: &str,
) {
    let txs: Vec<String> = (0..256u32)
        .map(|n| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&n.to_be_bytes());
            seed[31] = 0xee;
            let stranger = Keypair::from_seed(seed);
            let body = TxBody {
                chain_id: cluster.chain_id.clone(),
                signer: stranger.public(),
                nonce: 1,
                action: Action::Mint {
                    member: stranger.public(),
                    amount: 1,
                },
            };
            let mut tx = Transaction::sign(body, &stranger).unwrap();
            tx.signature.0[5] ^= 1;
            base64::engine::general_purpose::STANDARD.encode(tx.encode().unwrap())
        })
        .collect();
    let answer: Value = client_from("127.0.0.11")
        .post(format!("{api}/v1/txs"))
        .json(&json!({ "txs": txs }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 256);
    for result in results {
        assert_eq!(result["error"]["code"], "unknown_signer", "{result}");
    }
    eprintln!(
        "256 forged transactions from unknown keys: every one {}",
        results[0]["error"]["code"]
    );
}

/// The admin endpoint: refused without the token or with a wrong one,
/// served with it; refused whatever the token once the API is bound to a
/// non-loopback address.
fn admin_needs_the_token_and_a_loopback_bind(cluster: &mut Cluster, api: &str) {
    let home = cluster.nodes[0].home.clone();
    let token_path = home.join("admin.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "admin.token is private");
    }
    let token = std::fs::read_to_string(&token_path)
        .unwrap()
        .trim()
        .to_string();
    let isolate = |token: Option<&str>| {
        let mut request = client_from("127.0.0.1")
            .post(format!("{api}/v1/admin/isolate"))
            .json(&json!({"isolated": false}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap();
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    eprintln!(
        "admin: no token {:?}, wrong token {:?}, right token {:?}",
        isolate(None),
        isolate(Some("00")),
        isolate(Some(&token))
    );
    assert_eq!(isolate(None), (401, "admin_token_missing".into()));
    let wrong = "0".repeat(token.len());
    assert_eq!(isolate(Some(&wrong)), (401, "admin_token_wrong".into()));
    assert_eq!(isolate(Some(&token)), (200, String::new()));

    // The same home re-bound to every interface refuses it.
    let height = cluster.height(0).unwrap();
    cluster.terminate(0);
    let path = home.join("config.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    config.api = SocketAddr::from(([0, 0, 0, 0], config.api.port()));
    config.http.metrics_listen = None;
    config.http.metrics_on_api = true;
    std::fs::write(&path, config.to_toml()).unwrap();
    cluster.start_node(0);
    cluster.wait_height(0, height + 1, Duration::from_secs(60));
    eprintln!(
        "admin with the right token, API bound to 0.0.0.0: {:?}",
        isolate(Some(&token))
    );
    assert_eq!(isolate(Some(&token)), (403, "admin_not_loopback".into()));
    assert!(cluster
        .log(0)
        .contains("admin endpoint refuses every request"));
}
