//! The JSON bodies of the API's POST routes: each is deserialized into the
//! route's own body type (as axum's `Json` extractor does: `serde_json`
//! from the bytes, nothing after the value) and put through the route's
//! own checks that need no running node. `POST /v1/quote` runs the
//! ledger's quote on the [`crate::city`] ledger, as the route does on the
//! node's.

use crate::city::{coop, with_city, City};
use crate::wire;
use crate::Outcome;
use base64::Engine as _;
use kopnet_consensus::{codec, PublicKey};
use kopnet_ledger::testkit::{key_for, DEMO_COOPERATIVES};
use kopnet_ledger::Action;
use kopnet_node::api::{
    check_batch_size, decode_tx_text, ApiError, IsolateBody, QuoteBody, SubmitBatchBody, SubmitBody,
};
use kopnet_node::config::HttpConfig;
use serde_json::Value;

fn body<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, Outcome> {
    serde_json::from_slice(data).map_err(|e| Outcome::refused(format!("malformed_json: {e}")))
}

fn api_refusal(e: ApiError) -> Outcome {
    assert!(e.status.is_client_error(), "{} for bad input", e.status);
    Outcome::refused(format!("{}: {}", e.code, e.message))
}

/// One `tx` string: the bytes it names are exactly what it says (hex or
/// standard base64, each only in its one spelling), then the transaction
/// target's checks on them.
fn submitted_tx(text: &str) -> Outcome {
    let bytes = match decode_tx_text(text) {
        Ok(bytes) => bytes,
        Err(e) => {
            assert_eq!(e.code, "bad_encoding");
            return api_refusal(e);
        }
    };
    let trimmed = text.trim();
    let as_hex = hex::encode(&bytes);
    let as_base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert!(
        trimmed.eq_ignore_ascii_case(&as_hex) || trimmed == as_base64,
        "{trimmed:?} decoded to bytes written {as_hex} or {as_base64}"
    );
    wire::tx(&bytes)
}

/// `POST /v1/tx {"tx": "..."}`.
pub fn post_tx(data: &[u8]) -> Outcome {
    match body::<SubmitBody>(data) {
        Ok(body) => submitted_tx(&body.tx),
        Err(refused) => refused,
    }
}

/// `POST /v1/txs {"txs": [...]}`: the batch size, then each transaction on
/// its own.
pub fn post_txs(data: &[u8]) -> Outcome {
    let body = match body::<SubmitBatchBody>(data) {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let count = body.txs.len();
    // The node's default `http.txs_per_request_max`.
    let txs_max = HttpConfig::default().txs_per_request_max;
    if let Err(e) = check_batch_size(&body, txs_max) {
        let want = if count == 0 {
            "empty_batch"
        } else {
            "batch_too_large"
        };
        assert_eq!(e.code, want, "{count} transactions");
        return api_refusal(e);
    }
    assert!((1..=txs_max).contains(&count));
    let outcomes: Vec<Outcome> = body.txs.iter().map(|t| submitted_tx(t)).collect();
    outcomes
        .into_iter()
        .find(|o| *o != Outcome::Accepted)
        .unwrap_or(Outcome::Accepted)
}

/// `POST /v1/quote {"signer": "kop...", "action": {...}}`, quoted on the
/// city's ledger: a quote is deterministic, changes nothing, and every
/// balance change fits the answer's `i64` (the route would print 0
/// otherwise), the changes sum to the e-money the action creates or
/// destroys (only mint, burn, cash-in and cash-out do); the action's JSON
/// form round-trips.
pub fn post_quote(data: &[u8]) -> Outcome {
    let body = match body::<QuoteBody>(data) {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let json = serde_json::to_value(&body.action).expect("an action has a JSON form");
    let back: Action = serde_json::from_value(json.clone()).expect("its JSON form parses");
    assert_eq!(back, body.action, "JSON round trip of {json}");
    let signer = match PublicKey::from_address(&body.signer) {
        Ok(signer) => signer,
        Err(e) => return Outcome::refused(format!("bad_address: {e}")),
    };
    quote_on_city(&signer, &body.action)
}

/// The signers [`quote`] picks from by its first byte: members, the
/// merchant, every cooperative, and a key the ledger does not know.
fn quote_signer(city: &City, selector: u8) -> PublicKey {
    let mut keys = vec![city.member, city.merchant];
    keys.extend(DEMO_COOPERATIVES.iter().map(|(slug, _)| coop(slug)));
    keys.push(key_for("nobody").public());
    keys.get(usize::from(selector) % keys.len())
        .copied()
        .unwrap_or(city.member)
}

/// The quote of `POST /v1/quote` past its JSON: one byte choosing the
/// signer, then the action in the codec's encoding, which mutates into
/// other valid actions far more often than JSON text does (so the
/// fuzzer reaches the ledger's rules, not only the JSON parser). The same
/// checks as [`post_quote`].
pub fn quote(data: &[u8]) -> Outcome {
    let Some((selector, rest)) = data.split_first() else {
        return Outcome::refused("empty");
    };
    let action: Action = match codec::decode(rest) {
        Ok(action) => action,
        Err(e) => return Outcome::refused(e),
    };
    let json = serde_json::to_value(&action).expect("an action has a JSON form");
    let back: Action = serde_json::from_value(json.clone()).expect("its JSON form parses");
    assert_eq!(back, action, "JSON round trip of {json}");
    let signer = with_city(|city| quote_signer(city, *selector));
    quote_on_city(&signer, &action)
}

/// `Ledger::quote` on the city's ledger, as the route calls it, and the
/// properties of its answer.
fn quote_on_city(signer: &PublicKey, action: &Action) -> Outcome {
    with_city(|city| {
        let root = city.ledger.state_root();
        let quote = city.ledger.quote(signer, action);
        assert_eq!(city.ledger.quote(signer, action), quote, "deterministic");
        assert_eq!(city.ledger.state_root(), root, "a quote changes nothing");
        match quote {
            Ok(quote) => {
                for (account, delta) in &quote.deltas {
                    assert!(
                        i64::try_from(*delta).is_ok(),
                        "delta {delta} of {account} does not fit the answer"
                    );
                }
                let moved: i128 = quote.deltas.iter().map(|(_, d)| d).sum();
                let created = match action {
                    // Cash in becomes e-money; e-money out becomes cash.
                    Action::Mint { amount, .. } | Action::CashIn { amount, .. } => {
                        i128::from(*amount)
                    }
                    Action::Burn { amount, .. } | Action::CashOut { amount, .. } => {
                        -i128::from(*amount)
                    }
                    _ => 0,
                };
                assert_eq!(moved, created, "money is conserved: {action:?} {quote:?}");
                Outcome::Accepted
            }
            Err(rejection) => Outcome::refused(rejection),
        }
    })
}

/// `POST /v1/admin/isolate {"isolated": true}` (after the admin token,
/// which comes first): exactly one boolean field. (serde also takes a
/// struct as the array of its fields, `[true]`, as axum does.)
pub fn post_admin_isolate(data: &[u8]) -> Outcome {
    let body = match body::<IsolateBody>(data) {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let value: Value = serde_json::from_slice(data).expect("a parsed body is JSON");
    let isolated = Value::Bool(body.isolated);
    match &value {
        Value::Object(object) => {
            assert_eq!(object.len(), 1, "only `isolated`: {value}");
            assert_eq!(object.get("isolated"), Some(&isolated));
        }
        Value::Array(fields) => assert_eq!(fields.as_slice(), [isolated]),
        _ => panic!("{value} parsed as an isolate body"),
    }
    Outcome::Accepted
}
