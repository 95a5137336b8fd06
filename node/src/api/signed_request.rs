//! Signed requests: who is asking, proven by a key the ledger knows.
//!
//! Reads of one member's data are served by right, not by default (the
//! rule per endpoint is in [`super::access`]). A client proves who it is
//! by signing the request with a key, in three headers:
//!
//! ```text
//! kopnet-signer:    <address of the public key>
//! kopnet-time:      <unix milliseconds when it was signed>
//! kopnet-signature: <ed25519 signature, 128 hex digits>
//! ```
//!
//! The signature covers, under the domain [`REQUEST_SIGNING_DOMAIN`] (the
//! same `domain || 0 || message` rule as every kopnet signature), the
//! message
//!
//! ```text
//! {chain_id}\n{METHOD}\n{path and query}\n{time_ms}\n{blake3 hex of the body}
//! ```
//!
//! so it is bound to one network, one method, one exact URL and one body:
//! it cannot be moved to another account's page, another query or another
//! network. A request is accepted within [`TIME_SKEW_MAX_MS`] of the node's
//! clock, so a copied request stops working minutes later; within that
//! span it can be replayed, which for a read gives the replayer only what
//! the signer was already shown (documented in the README's "Privacy").
//!
//! A request without any of the headers is [`Caller::Anonymous`]; one with
//! some but not all, a malformed header, a stale time or a signature that
//! does not verify is refused with 401 and a code, before any handler
//! runs — a bad signature is never taken for anonymous. Only the handlers
//! that need to know the caller pay for the verification (an extractor,
//! not a layer on every route).

use super::{ApiError, ApiState};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use kopnet_consensus::{Keypair, PublicKey, Signature};

/// The signing domain of requests (never a transaction's or a vote's).
pub const REQUEST_SIGNING_DOMAIN: &str = "kopnet/request/v1";
/// Header naming the signing key (an address).
pub const SIGNER_HEADER: &str = "kopnet-signer";
/// Header with the signing time, unix milliseconds.
pub const TIME_HEADER: &str = "kopnet-time";
/// Header with the signature, 128 hex digits.
pub const SIGNATURE_HEADER: &str = "kopnet-signature";
/// How far a request's time may be from the node's clock, either way.
pub const TIME_SKEW_MAX_MS: u64 = 120_000;
/// Longest path and query a signed request may have (the HTTP front
/// already bounds the request line; this keeps the signed message small).
const PATH_BYTES_MAX: usize = 4_096;

/// Who made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No signature: served public data and aggregates only.
    Anonymous,
    /// A valid signature by this key (what the key may read is decided by
    /// [`super::access`] from the ledger).
    Signed(PublicKey),
}

impl Caller {
    /// The signing key, if any.
    pub fn key(&self) -> Option<PublicKey> {
        match self {
            Caller::Anonymous => None,
            Caller::Signed(key) => Some(*key),
        }
    }
}

/// The exact message a request signature covers.
pub fn request_message(
    chain_id: &str,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = blake3::hash(body).to_hex();
    format!("{chain_id}\n{method}\n{path_and_query}\n{time_ms}\n{body_hash}").into_bytes()
}

/// The three headers that sign a request (for clients: the CLI, the test
/// rig; the browser pages do the same in `node/web/api.js`).
pub fn sign_request(
    key: &Keypair,
    chain_id: &str,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let message = request_message(chain_id, method, path_and_query, time_ms, body);
    let signature = key.sign(REQUEST_SIGNING_DOMAIN, &message);
    [
        (SIGNER_HEADER, key.public().to_address()),
        (TIME_HEADER, time_ms.to_string()),
        (SIGNATURE_HEADER, hex::encode(signature.0)),
    ]
}

/// Why a signed request was refused (all 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedRequestError {
    #[error("a signed request needs all three headers: {SIGNER_HEADER}, {TIME_HEADER} and {SIGNATURE_HEADER}")]
    Incomplete,
    #[error("{SIGNER_HEADER} is not an address: {0}")]
    BadSigner(String),
    #[error("{TIME_HEADER} is not unix milliseconds")]
    BadTime,
    #[error("{TIME_HEADER} is more than {TIME_SKEW_MAX_MS} ms from the node's clock; sign again with the current time")]
    StaleTime,
    #[error("{SIGNATURE_HEADER} is not 128 hex digits")]
    MalformedSignature,
    #[error("the signature does not verify for this network, method, path, time and body")]
    BadSignature,
    #[error("the path and query are longer than {PATH_BYTES_MAX} bytes")]
    PathTooLong,
}

impl SignedRequestError {
    pub fn code(&self) -> &'static str {
        match self {
            SignedRequestError::Incomplete => "incomplete_signature",
            SignedRequestError::BadSigner(_) => "bad_signer",
            SignedRequestError::BadTime => "bad_request_time",
            SignedRequestError::StaleTime => "stale_request_time",
            SignedRequestError::MalformedSignature | SignedRequestError::BadSignature => {
                "bad_signature"
            }
            SignedRequestError::PathTooLong => "path_too_long",
        }
    }
}

impl From<SignedRequestError> for ApiError {
    fn from(e: SignedRequestError) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    }
}

/// The caller of a request with these parts and body, checked against
/// `chain_id` and the clock `now_ms`. Pure: the node's extractors pass the
/// wall clock; tests pass any time.
pub fn verify(
    chain_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: u64,
) -> Result<Caller, SignedRequestError> {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let (signer, time, signature) = match (
        header(SIGNER_HEADER),
        header(TIME_HEADER),
        header(SIGNATURE_HEADER),
    ) {
        (None, None, None) => return Ok(Caller::Anonymous),
        (Some(s), Some(t), Some(g)) => (s, t, g),
        _ => return Err(SignedRequestError::Incomplete),
    };
    let key = PublicKey::from_address(signer)
        .map_err(|e| SignedRequestError::BadSigner(e.to_string()))?;
    let time_ms: u64 = time.parse().map_err(|_| SignedRequestError::BadTime)?;
    if time_ms.abs_diff(now_ms) > TIME_SKEW_MAX_MS {
        return Err(SignedRequestError::StaleTime);
    }
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature, &mut bytes)
        .map_err(|_| SignedRequestError::MalformedSignature)?;
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    if path.len() > PATH_BYTES_MAX {
        return Err(SignedRequestError::PathTooLong);
    }
    let message = request_message(chain_id, method.as_str(), path, time_ms, body);
    key.verify(REQUEST_SIGNING_DOMAIN, &message, &Signature(bytes))
        .map_err(|_| SignedRequestError::BadSignature)?;
    Ok(Caller::Signed(key))
}

/// The node's wall clock, unix milliseconds (only to judge a request's
/// freshness; nothing agreed depends on it).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Ok(verify(
            &state.node.chain_id,
            &parts.method,
            &parts.uri,
            &parts.headers,
            &[],
            now_ms(),
        )?)
    }
}

/// A request body with its caller: for signed writes to the node's own
/// data (the phone directory), whose signature covers the body.
#[derive(Debug)]
pub struct SignedBody {
    pub caller: Caller,
    pub body: axum::body::Bytes,
}

impl FromRequest<ApiState> for SignedBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts.clone(), body);
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
        let caller = verify(
            &state.node.chain_id,
            &parts.method,
            &parts.uri,
            &parts.headers,
            &body,
            now_ms(),
        )?;
        Ok(SignedBody { caller, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const CHAIN: &str = "kopnet-test";
    const NOW: u64 = 1_800_000_000_000;

    fn signed(key: &Keypair, method: &str, path: &str, time: u64, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in sign_request(key, CHAIN, method, path, time, body) {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        headers
    }

    fn uri(path: &str) -> Uri {
        path.parse().unwrap()
    }

    #[test]
    fn no_headers_is_anonymous_and_a_good_signature_names_its_key() {
        let key = Keypair::from_seed([7; 32]);
        let path = "/v1/accounts/x/history?limit=5";
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &HeaderMap::new(), &[], NOW),
            Ok(Caller::Anonymous)
        );
        let headers = signed(&key, "GET", path, NOW - 1_000, &[]);
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &headers, &[], NOW),
            Ok(Caller::Signed(key.public()))
        );
    }

    #[test]
    fn a_signature_does_not_move_to_another_path_query_method_body_or_network() {
        let key = Keypair::from_seed([7; 32]);
        let headers = signed(&key, "GET", "/v1/accounts/a", NOW, &[]);
        let bad = Err(SignedRequestError::BadSignature);
        assert_eq!(
            verify(
                CHAIN,
                &Method::GET,
                &uri("/v1/accounts/b"),
                &headers,
                &[],
                NOW
            ),
            bad
        );
        assert_eq!(
            verify(
                CHAIN,
                &Method::GET,
                &uri("/v1/accounts/a?limit=1"),
                &headers,
                &[],
                NOW
            ),
            bad
        );
        assert_eq!(
            verify(
                CHAIN,
                &Method::POST,
                &uri("/v1/accounts/a"),
                &headers,
                &[],
                NOW
            ),
            bad
        );
        assert_eq!(
            verify(
                CHAIN,
                &Method::GET,
                &uri("/v1/accounts/a"),
                &headers,
                b"x",
                NOW
            ),
            bad
        );
        assert_eq!(
            verify(
                "other-net",
                &Method::GET,
                &uri("/v1/accounts/a"),
                &headers,
                &[],
                NOW
            ),
            bad
        );
    }

    #[test]
    fn stale_partial_and_malformed_headers_are_refused_not_taken_for_anonymous() {
        let key = Keypair::from_seed([7; 32]);
        let path = "/v1/accounts/a";
        let old = signed(&key, "GET", path, NOW - TIME_SKEW_MAX_MS - 1, &[]);
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &old, &[], NOW),
            Err(SignedRequestError::StaleTime)
        );
        let future = signed(&key, "GET", path, NOW + TIME_SKEW_MAX_MS + 1, &[]);
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &future, &[], NOW),
            Err(SignedRequestError::StaleTime)
        );
        let mut partial = signed(&key, "GET", path, NOW, &[]);
        partial.remove(SIGNATURE_HEADER);
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &partial, &[], NOW),
            Err(SignedRequestError::Incomplete)
        );
        let mut short = signed(&key, "GET", path, NOW, &[]);
        short.insert(SIGNATURE_HEADER, HeaderValue::from_static("abcd"));
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &short, &[], NOW),
            Err(SignedRequestError::MalformedSignature)
        );
        let mut signer = signed(&key, "GET", path, NOW, &[]);
        signer.insert(SIGNER_HEADER, HeaderValue::from_static("kopnot"));
        assert!(matches!(
            verify(CHAIN, &Method::GET, &uri(path), &signer, &[], NOW),
            Err(SignedRequestError::BadSigner(_))
        ));
        let mut time = signed(&key, "GET", path, NOW, &[]);
        time.insert(TIME_HEADER, HeaderValue::from_static("-5"));
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &time, &[], NOW),
            Err(SignedRequestError::BadTime)
        );
        // Another key's signature under this signer's name.
        let other = Keypair::from_seed([8; 32]);
        let mut forged = signed(&other, "GET", path, NOW, &[]);
        forged.insert(
            SIGNER_HEADER,
            HeaderValue::from_str(&key.public().to_address()).unwrap(),
        );
        assert_eq!(
            verify(CHAIN, &Method::GET, &uri(path), &forged, &[], NOW),
            Err(SignedRequestError::BadSignature)
        );
    }
}
