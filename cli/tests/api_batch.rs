//! `POST /v1/txs`: several transactions in one request, each taken on its
//! own and answered in order; the request as a whole is bounded and typed;
//! observers refuse it.

mod common;
use base64::Engine as _;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use serde_json::{json, Value};
use std::time::Duration;

fn b64(tx: &kopnet_ledger::Transaction) -> String {
    base64::engine::general_purpose::STANDARD.encode(tx.encode().unwrap())
}

#[test]
fn a_batch_is_taken_item_by_item_and_bounded() {
    let cluster = Cluster::start(1, 1);
    let validator = cluster
        .nodes
        .iter()
        .position(|n| n.role == "validator")
        .unwrap();
    let observer = cluster.observer();
    let coop = cluster.nodes[validator].id.clone();
    let mut teller = Wallet::new(cluster.coop_key(&coop), &cluster.chain_id);
    let member = Keypair::from_seed([9; 32]);
    let register = teller.sign(Action::RegisterMember {
        member: member.public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    });
    let mint = teller.sign(Action::Mint {
        member: member.public(),
        amount: 50_000,
    });
    let mut forged = teller.sign(Action::Mint {
        member: member.public(),
        amount: 1,
    });
    forged.signature.0[0] ^= 1;
    let body =
        json!({"txs": [b64(&register), "!!!", b64(&mint), "AAAA", b64(&forged), b64(&register)]});
    let response = post_txs(&cluster, validator, &body);
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "{answer}");
    assert_eq!(results[0]["hash"], register.hash().to_hex());
    assert_eq!(results[0]["status"], "pending");
    assert_eq!(results[1]["error"]["code"], "bad_encoding");
    assert_eq!(results[2]["hash"], mint.hash().to_hex());
    assert_eq!(results[3]["error"]["code"], "malformed");
    assert_eq!(results[4]["error"]["code"], "bad_signature");
    // The same transaction twice in one batch is one transaction.
    assert_eq!(results[5]["hash"], register.hash().to_hex());
    assert_ne!(results[5]["status"], Value::Null);

    // The good ones commit in order; the bad ones changed nothing.
    let long = Duration::from_secs(60);
    assert_eq!(cluster.wait_tx(validator, &register.hash(), long), "ok");
    assert_eq!(cluster.wait_tx(validator, &mint.hash(), long), "ok");
    let address = member.public().to_address();
    wait_for("the observer to see the mint", long, || {
        let account = cluster.get(observer, &format!("/v1/accounts/{address}"))?;
        (account["balance"] == 50_000).then_some(())
    });
    assert_eq!(
        cluster.get(validator, "/v1/invariants").unwrap()["ok"],
        true
    );

    bad_batches_get_typed_errors(&cluster, validator, observer, &register);
}

/// `POST /v1/txs` with `body` to node `node`.
fn post_txs(cluster: &Cluster, node: usize, body: &Value) -> reqwest::blocking::Response {
    http()
        .post(format!("{}/v1/txs", cluster.nodes[node].api))
        .json(body)
        .send()
        .unwrap()
}

/// The status and error code of a refused request.
fn error_code(response: reqwest::blocking::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// The request as a whole: empty, too large, not a list, or sent to an
/// observer; typed errors, nothing taken.
fn bad_batches_get_typed_errors(
    cluster: &Cluster,
    validator: usize,
    observer: usize,
    register: &kopnet_ledger::Transaction,
) {
    let post = |node: usize, body: &Value| error_code(post_txs(cluster, node, body));
    assert_eq!(
        post(validator, &json!({"txs": []})),
        (400, "empty_batch".into())
    );
    let too_many: Vec<&str> = vec!["AAAA"; 257];
    assert_eq!(
        post(validator, &json!({ "txs": too_many })),
        (400, "batch_too_large".into())
    );
    assert_eq!(
        post(validator, &json!({"txs": "AAAA"})),
        (422, "malformed_json".into())
    );
    assert_eq!(
        post(observer, &json!({"txs": [b64(register)]})),
        (403, "read_only_observer".into())
    );
}
