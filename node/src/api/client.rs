//! A client for a node's HTTP API, used by the `kopnet` commands (wallet,
//! teller desk, audit, status) and by the test rig alike: it lives with the
//! API it speaks so that neither needs the other's crate.
//!
//! Every failure is a [`ClientError`]: the node could not be reached, it
//! refused the request (its `{"error":{"code","message"}}` body, kept), it
//! answered something this client cannot read, or a transaction did not
//! commit in time.

use base64::Engine as _;
use kopnet_consensus::{Hash, Keypair, PublicKey};
use kopnet_ledger::Transaction;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deadline of one HTTP request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle connections kept per node (the load driver sends in parallel).
const IDLE_CONNECTIONS_PER_HOST_MAX: usize = 64;
/// How long an idle connection is kept: below the node's default
/// `http.header_read_timeout_ms` (10 s, also how long it keeps an idle
/// connection), so the client does not pick one the node is closing.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one event stream (the node ends streams itself when it
/// stops or the reader lags; this only bounds a stream nobody ends).
const EVENT_STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Pause between two looks at a pending transaction.
const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Times a read asked to come back later (429, or 503 with `Retry-After`)
/// is tried again before its refusal is returned.
const GET_RETRIES_MAX: u32 = 5;
/// Longest wait for one `Retry-After`.
const RETRY_AFTER_WAIT_MAX: Duration = Duration::from_secs(10);

/// Why a request to a node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No HTTP answer at all (connection refused, timed out, bad URL).
    #[error("cannot reach node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The node answered with an error status and its error body.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The answer was not what the API promises (names the missing part).
    #[error("unexpected answer from node: {0}")]
    Decode(String),
    /// The transaction was still pending (or unknown) at the deadline.
    #[error("transaction {hash} did not commit within {secs} s")]
    Timeout { hash: String, secs: u64 },
}

impl ClientError {
    /// The API's error code (`stale_nonce`, `not_found`, ...) when the node
    /// answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// One node's API at `base` (`http://HOST:PORT`); cheap to clone.
///
/// A client made with [`Client::signed`] signs every request with its key
/// ([`crate::api::signed_request`]), so the node serves what that key may
/// read; one made with [`Client::new`] is anonymous.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    signer: Option<Arc<Signer>>,
}

/// The key a client signs with, and the network it signs for (learnt from
/// the node's `/v1/status` at the first signed request).
#[derive(Debug)]
struct Signer {
    key: Keypair,
    chain_id: tokio::sync::OnceCell<String>,
}

/// How a transaction ended.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    pub hash: Hash,
    pub status: String,
    pub code: String,
    pub message: Option<String>,
    pub height: Option<u64>,
}

impl TxOutcome {
    /// Committed and applied (not committed with a rejection code).
    pub fn ok(&self) -> bool {
        self.status == "committed" && self.code == "ok"
    }
}

impl Client {
    /// A client for the node at `base`; a malformed URL shows up as
    /// [`ClientError::Unreachable`] on the first request.
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_HOST_MAX)
            .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT)
            .build()
            .unwrap_or_default();
        Client {
            base: base.trim_end_matches('/').to_string(),
            http,
            signer: None,
        }
    }

    /// A client for the node at `base` that signs every request with `key`.
    pub fn signed(base: &str, key: Keypair) -> Client {
        Client {
            signer: Some(Arc::new(Signer {
                key,
                chain_id: tokio::sync::OnceCell::new(),
            })),
            ..Client::new(base)
        }
    }

    /// The same node, signing with `key` instead.
    pub fn with_signer(&self, key: Keypair) -> Client {
        Client {
            signer: Some(Arc::new(Signer {
                key,
                chain_id: tokio::sync::OnceCell::new(),
            })),
            ..self.clone()
        }
    }

    /// The key this client signs with, if any.
    pub fn signer_key(&self) -> Option<PublicKey> {
        self.signer.as_ref().map(|s| s.key.public())
    }

    /// `request` with the signature headers of `method path` and `body`
    /// when this client signs.
    async fn sign(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let Some(signer) = &self.signer else {
            return Ok(request);
        };
        let chain_id = signer
            .chain_id
            .get_or_try_init(|| async {
                let response = self
                    .http
                    .get(format!("{}/v1/status", self.base))
                    .send()
                    .await;
                let status = self.read(response).await?;
                status["chain_id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ClientError::Decode("chain_id".into()))
            })
            .await?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let headers = crate::api::signed_request::sign_request(
            &signer.key,
            chain_id,
            method,
            path,
            now_ms,
            body,
        );
        Ok(headers.into_iter().fold(request, |request, (name, value)| {
            request.header(name, value)
        }))
    }

    /// The node's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn read(
        &self,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Value, ClientError> {
        let response = response.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: short_reason(&e),
        })?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if status >= 400 {
            let code = body["error"]["code"]
                .as_str()
                .unwrap_or("error")
                .to_string();
            let message = body["error"]["message"].as_str().unwrap_or("").to_string();
            return Err(ClientError::Api {
                status,
                code,
                message,
            });
        }
        Ok(body)
    }

    /// `GET path` (e.g. `/v1/blocks/3`) as JSON. A node that asks to be
    /// asked later (429 `rate_limited`, 503 `busy` with `Retry-After`) is,
    /// after the wait it names (at most [`RETRY_AFTER_WAIT_MAX`]), up to
    /// [`GET_RETRIES_MAX`] times: a long `kopnet audit verify --node` keeps
    /// to the node's read rate instead of failing.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        let response = self.get_response(path).await?;
        self.read(response).await
    }

    /// `GET path`, signed when the client signs, asked again after a
    /// `Retry-After` wait as [`Client::get`] describes.
    async fn get_response(
        &self,
        path: &str,
    ) -> Result<Result<reqwest::Response, reqwest::Error>, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut retries = 0;
        loop {
            let request = self.sign(self.http.get(&url), "GET", path, &[]).await?;
            let response = request.send().await;
            if retries < GET_RETRIES_MAX {
                if let Some(wait) = response.as_ref().ok().and_then(retry_after) {
                    retries += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// `GET path` as raw bytes (a snapshot's manifest or chunk), at most
    /// `limit` of them: a longer answer is refused while it is read, so a
    /// peer cannot make the client hold more. Errors and retries as
    /// [`Client::get`].
    pub async fn get_bytes(&self, path: &str, limit: usize) -> Result<Vec<u8>, ClientError> {
        let mut response =
            self.get_response(path)
                .await?
                .map_err(|e| ClientError::Unreachable {
                    url: self.base.clone(),
                    reason: short_reason(&e),
                })?;
        if response.status().as_u16() >= 400 {
            return self.read(Ok(response)).await.map(|_| Vec::new());
        }
        let mut body = Vec::new();
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?
        {
            if body.len() + piece.len() > limit {
                return Err(ClientError::Decode(format!(
                    "{path}: answer longer than {limit} bytes"
                )));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body)
    }

    /// `method path` with a JSON body (signed when the client signs).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        let request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let request = self.sign(request, method.as_str(), path, &bytes).await?;
        let response = request.body(bytes).send().await;
        self.read(response).await
    }

    /// `GET /v1/events` (signed when the client signs), as the open
    /// response for the caller to read chunk by chunk; an error status is
    /// the API's error.
    pub async fn event_stream(&self) -> Result<reqwest::Response, ClientError> {
        let path = "/v1/events";
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(EVENT_STREAM_TIMEOUT);
        let response = self
            .sign(request, "GET", path, &[])
            .await?
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: short_reason(&e),
            })?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.read(Ok(response)).await.err().unwrap_or_else(|| {
                ClientError::Decode("an error status with a success body".into())
            }))
        }
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<Value, ClientError> {
        self.get("/v1/status").await
    }

    /// `GET /v1/accounts/{address}` of a member.
    pub async fn account(&self, key: &PublicKey) -> Result<Value, ClientError> {
        self.get(&format!("/v1/accounts/{}", key.to_address()))
            .await
    }

    /// `GET /v1/signers/{address}`: who `key` signs as (cooperative,
    /// teller or member account) and its next nonce.
    pub async fn signer(&self, key: &PublicKey) -> Result<Value, ClientError> {
        self.get(&format!("/v1/signers/{}", key.to_address())).await
    }

    /// The next nonce for `key`, whether it is a cooperative's, a teller's
    /// or a member account's current key.
    pub async fn next_nonce(&self, key: &PublicKey) -> Result<u64, ClientError> {
        self.signer(key).await?["next_nonce"]
            .as_u64()
            .ok_or_else(|| ClientError::Decode("next_nonce".into()))
    }

    /// Submit a signed transaction; returns its hash.
    pub async fn submit(&self, tx: &Transaction) -> Result<Hash, ClientError> {
        let bytes = tx
            .encode()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let body =
            serde_json::json!({"tx": base64::engine::general_purpose::STANDARD.encode(bytes)});
        let response = self
            .http
            .post(format!("{}/v1/tx", self.base))
            .json(&body)
            .send()
            .await;
        let answer = self.read(response).await?;
        let hash = answer["hash"].as_str().unwrap_or_default();
        Hash::from_hex(hash).map_err(|_| ClientError::Decode("hash".into()))
    }

    /// Submit up to `http.txs_per_request_max` (256 by default) signed transactions in one request
    /// (`POST /v1/txs`); one result per transaction, in order. `Err` when the
    /// request as a whole failed (unreachable, refused, malformed answer).
    pub async fn submit_batch(
        &self,
        txs: &[Transaction],
    ) -> Result<Vec<Result<Hash, ClientError>>, ClientError> {
        let mut encoded = Vec::with_capacity(txs.len());
        for tx in txs {
            let bytes = tx
                .encode()
                .map_err(|e| ClientError::Decode(e.to_string()))?;
            encoded.push(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        let response = self
            .http
            .post(format!("{}/v1/txs", self.base))
            .json(&serde_json::json!({ "txs": encoded }))
            .send()
            .await;
        let answer = self.read(response).await?;
        let entries = answer["results"]
            .as_array()
            .filter(|entries| entries.len() == txs.len())
            .ok_or_else(|| ClientError::Decode("results".into()))?;
        Ok(entries
            .iter()
            .map(|entry| match entry["hash"].as_str() {
                Some(hash) => Hash::from_hex(hash).map_err(|_| ClientError::Decode("hash".into())),
                None => Err(ClientError::Api {
                    status: 422,
                    code: entry["error"]["code"]
                        .as_str()
                        .unwrap_or("unknown")
                        .to_string(),
                    message: entry["error"]["message"].as_str().unwrap_or("").to_string(),
                }),
            })
            .collect())
    }

    /// The current view of a transaction.
    pub async fn tx(&self, hash: &Hash) -> Result<TxOutcome, ClientError> {
        let body = self.get(&format!("/v1/tx/{}", hash.to_hex())).await?;
        Ok(TxOutcome {
            hash: *hash,
            status: body["status"].as_str().unwrap_or("").to_string(),
            code: body["result"]["code"].as_str().unwrap_or("").to_string(),
            message: body["result"]["message"].as_str().map(str::to_string),
            height: body["height"].as_u64(),
        })
    }

    /// Poll until the transaction is committed or rejected.
    pub async fn wait(&self, hash: &Hash, timeout: Duration) -> Result<TxOutcome, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.tx(hash).await {
                Ok(outcome) if outcome.status != "pending" => return Ok(outcome),
                Ok(_) | Err(ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    hash: hash.to_hex(),
                    secs: timeout.as_secs(),
                });
            }
            tokio::time::sleep(WAIT_POLL_INTERVAL).await;
        }
    }
}

/// The reason a request got no answer, in a few words.
fn short_reason(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_builder() {
        "not a valid node URL (expected http://HOST:PORT)".into()
    } else {
        e.to_string()
    }
}

/// The wait a 429 or 503 answer asks for in `Retry-After` (whole seconds).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let status = response.status().as_u16();
    if status != 429 && status != 503 {
        return None;
    }
    let secs: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.max(1)).min(RETRY_AFTER_WAIT_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_read_asked_to_come_back_later_is_tried_again_after_the_wait() {
        let asked = Arc::new(AtomicU32::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().route(
            "/v1/status",
            axum::routing::get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [(header::RETRY_AFTER, "1")],
                            axum::Json(serde_json::json!({"error": {"code": "rate_limited", "message": "later"}})),
                        )
                            .into_response()
                    } else {
                        axum::Json(serde_json::json!({"height": 7})).into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Client::new(&format!("http://{addr}"));
        let status = client.status().await.unwrap();
        assert_eq!(status["height"], 7);
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }
}
