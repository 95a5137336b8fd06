//! Who signed a directory request — a private stand-in for the signed
//! request scheme (`kopnet-signer`, `kopnet-time`, `kopnet-signature`
//! over `kopnet signed request v1\n{chain_id}\n{METHOD}\n{path_and_query}\n
//! {time_ms}\n{blake3 hex of body}`) until the shared extractor lands in
//! `crate::api::signed_request`; then this file goes.

use crate::http_error::ApiError;
use axum::http::{HeaderMap, StatusCode};
use kopnet_consensus::{PublicKey, Signature};
use std::time::{SystemTime, UNIX_EPOCH};

/// The signature domain of a signed request.
pub const SIGNED_REQUEST_DOMAIN: &str = "kopnet/request/v1";
/// How far a request's time may be from the node's clock.
pub const SIGNED_REQUEST_SKEW_MS: u64 = 120_000;

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Signed(PublicKey),
}

/// The bytes a request's signature covers.
pub fn signed_bytes(
    chain_id: &str,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = kopnet_consensus::Hash::digest("kopnet signed request body v1", body).to_hex();
    format!(
        "kopnet signed request v1\n{chain_id}\n{method}\n{path_and_query}\n{time_ms}\n{body_hash}"
    )
    .into_bytes()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| bad(format!("{name} is not text"))))
        .transpose()
}

/// The caller of a request, checking its signature when it carries one.
pub fn caller(
    chain_id: &str,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, ApiError> {
    let signer = header(headers, "kopnet-signer")?;
    let time = header(headers, "kopnet-time")?;
    let signature = header(headers, "kopnet-signature")?;
    let (signer, time, signature) = match (signer, time, signature) {
        (None, None, None) => return Ok(Caller::Anonymous),
        (Some(s), Some(t), Some(g)) => (s, t, g),
        _ => {
            return Err(bad(
                "a signed request needs kopnet-signer, kopnet-time and kopnet-signature",
            ))
        }
    };
    let key = PublicKey::from_address(signer).map_err(|e| bad(format!("kopnet-signer: {e}")))?;
    let time_ms: u64 = time
        .parse()
        .map_err(|_| bad("kopnet-time is not unix milliseconds"))?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    if now_ms.abs_diff(time_ms) > SIGNED_REQUEST_SKEW_MS {
        return Err(bad("kopnet-time is more than 120 s from the node's clock"));
    }
    let mut bytes = [0u8; 64];
    if signature.len() != 128 || hex::decode_to_slice(signature, &mut bytes).is_err() {
        return Err(bad("kopnet-signature is not 128 hex characters"));
    }
    let message = signed_bytes(chain_id, method, path_and_query, time_ms, body);
    key.verify(SIGNED_REQUEST_DOMAIN, &message, &Signature(bytes))
        .map_err(|_| bad("the signature does not verify"))?;
    Ok(Caller::Signed(key))
}
