//! Bad HTTP input gets a 4xx with `{"error":{"code","message"}}` and changes
//! nothing; the node never panics on input.

mod common;
use common::*;
use std::time::Duration;

fn error_code(response: reqwest::blocking::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().expect("error bodies are JSON");
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn bad_requests_get_typed_json_errors() {
    let cluster = Cluster::start(1, 0);
    let api = &cluster.nodes[0].api;
    let client = http();
    let root_before = cluster.get(0, "/v1/status").unwrap()["state_root"].clone();
    bad_posts_get_typed_errors(&client, api);
    bad_reads_get_typed_errors(&client, api);
    // The node is still alive and nothing changed but the height.
    // Empty blocks change no state, so the root is exactly as before.
    let status = wait_for("status", Duration::from_secs(10), || {
        cluster.get(0, "/v1/status")
    });
    assert_eq!(status["state_root"], root_before);
    assert_eq!(cluster.get(0, "/v1/invariants").unwrap()["ok"], true);
    let metrics = client
        .get(format!("{api}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains("kopnet_height"));
    assert!(metrics.contains("kopnet_txs_rejected_total{reason=\"malformed\"}"));
}

/// Posting a transaction: bad JSON, bad base64, a malformed transaction and
/// an oversize body.
fn bad_posts_get_typed_errors(client: &reqwest::blocking::Client, api: &str) {
    let post = |body: &str| {
        client
            .post(format!("{api}/v1/tx"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    };
    assert_eq!(
        error_code(post("{not json")),
        (400, "malformed_json".into())
    );
    assert_eq!(error_code(post(r#"{"tx": 5}"#)).1, "malformed_json");
    assert_eq!(
        error_code(post(r#"{"tx": "!!!"}"#)),
        (400, "bad_encoding".into())
    );
    assert_eq!(
        error_code(post(r#"{"tx": "AAAA"}"#)),
        (422, "malformed".into())
    );
    // The node answers an oversize body without reading it and closes the
    // connection, so this one goes on a client of its own: a pooled client
    // could reuse that closed connection for the next request.
    let huge = format!(r#"{{"tx": "{}"}}"#, "A".repeat(200_000));
    let oversize = http()
        .post(format!("{api}/v1/tx"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .unwrap();
    assert_eq!(error_code(oversize), (413, "body_too_large".into()));
}

/// Reading: bad addresses, hashes, heights, queries and ids, unknown ones,
/// unknown paths and methods.
fn bad_reads_get_typed_errors(client: &reqwest::blocking::Client, api: &str) {
    let get = |path: &str| client.get(format!("{api}{path}")).send().unwrap();
    assert_eq!(
        error_code(get("/v1/accounts/kopnope")),
        (400, "bad_address".into())
    );
    let unknown = kopnet_consensus::Keypair::from_seed([77; 32])
        .public()
        .to_address();
    assert_eq!(
        error_code(get(&format!("/v1/accounts/{unknown}"))),
        (404, "unknown_account".into())
    );
    assert_eq!(error_code(get("/v1/tx/zz")), (400, "bad_hash".into()));
    assert_eq!(
        error_code(get(&format!("/v1/tx/{}", "0".repeat(64)))),
        (404, "unknown_tx".into())
    );
    assert_eq!(
        error_code(get("/v1/blocks/abc")),
        (400, "bad_height".into())
    );
    assert_eq!(
        error_code(get("/v1/blocks/999999")),
        (404, "unknown_block".into())
    );
    assert_eq!(
        error_code(get("/v1/blocks?limit=x")),
        (400, "bad_query".into())
    );
    assert_eq!(error_code(get("/v1/nothing")), (404, "not_found".into()));
    assert_eq!(
        error_code(client.delete(format!("{api}/v1/tx")).send().unwrap()),
        (405, "method_not_allowed".into())
    );
    assert_eq!(
        error_code(get("/v1/proposals/x")),
        (400, "bad_proposal".into())
    );
    assert_eq!(
        error_code(get("/v1/proposals/99")),
        (404, "unknown_proposal".into())
    );
}
