//! A client for the phone-number directory's routes
//! ([`super::directory`]): every request signed by the client's key (the
//! cooperative's, a teller's or a member wallet's), as those routes ask.

use super::client::{Client, ClientError};
use super::directory::{signed_bytes, SIGNED_REQUEST_DOMAIN};
use kopnet_consensus::{Keypair, PublicKey};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Deadline of one request (a lookup may wait on other nodes).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Signed requests to one node's directory routes.
#[derive(Debug)]
pub struct DirectoryClient {
    base: String,
    chain_id: String,
    key: Keypair,
    http: reqwest::Client,
}

impl DirectoryClient {
    /// A client for the node at `base` signing with `key` (asks the node
    /// its chain id once).
    pub async fn connect(base: &str, key: Keypair) -> Result<DirectoryClient, ClientError> {
        let status = Client::new(base).status().await?;
        let chain_id = status["chain_id"]
            .as_str()
            .ok_or_else(|| ClientError::Decode("status without chain_id".into()))?
            .to_string();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        Ok(DirectoryClient {
            base: base.trim_end_matches('/').to_string(),
            chain_id,
            key,
            http,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let message = signed_bytes(&self.chain_id, method.as_str(), path, time_ms, &body);
        let signature = self.key.sign(SIGNED_REQUEST_DOMAIN, &message);
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .header("kopnet-signer", self.key.public().to_address())
            .header("kopnet-time", time_ms.to_string())
            .header("kopnet-signature", hex::encode(signature.0));
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let value: Value = response
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if status >= 400 {
            return Err(ClientError::Api {
                status,
                code: value["error"]["code"]
                    .as_str()
                    .unwrap_or("error")
                    .to_string(),
                message: value["error"]["message"].as_str().unwrap_or("").to_string(),
            });
        }
        Ok(value)
    }

    /// Record or replace `member`'s personal data.
    pub async fn put_member(
        &self,
        member: &PublicKey,
        name: &str,
        phone: Option<&str>,
        nik: Option<&str>,
    ) -> Result<Value, ClientError> {
        let body = json!({"name": name, "phone": phone, "nik": nik});
        let path = format!("/v1/directory/members/{}", member.to_address());
        self.send(Method::PUT, &path, Some(&body)).await
    }

    /// `member`'s record.
    pub async fn get_member(&self, member: &PublicKey) -> Result<Value, ClientError> {
        let path = format!("/v1/directory/members/{}", member.to_address());
        self.send(Method::GET, &path, None).await
    }

    /// Unlink `member`'s phone number.
    pub async fn unlink_phone(&self, member: &PublicKey) -> Result<Value, ClientError> {
        let path = format!("/v1/directory/members/{}/phone", member.to_address());
        self.send(Method::DELETE, &path, None).await
    }

    /// Erase `member`'s record.
    pub async fn erase(&self, member: &PublicKey) -> Result<Value, ClientError> {
        let path = format!("/v1/directory/members/{}", member.to_address());
        self.send(Method::DELETE, &path, None).await
    }

    /// Whose is `phone`: `{address, masked_name, cooperative}`.
    pub async fn lookup(&self, phone: &str) -> Result<Value, ClientError> {
        self.send(
            Method::POST,
            "/v1/directory/lookup",
            Some(&json!({"phone": phone})),
        )
        .await
    }
}
