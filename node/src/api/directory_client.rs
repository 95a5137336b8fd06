//! A client for the phone-number directory's routes
//! ([`super::directory`]): every request signed by the client's key (the
//! cooperative's, a teller's or a member wallet's), as those routes ask
//! ([`super::signed_request`], through [`Client::signed`]).

use super::client::{Client, ClientError};
use kopnet_consensus::{Keypair, PublicKey};
use reqwest::Method;
use serde_json::{json, Value};

/// Signed requests to one node's directory routes.
#[derive(Debug, Clone)]
pub struct DirectoryClient {
    client: Client,
}

fn member_path(member: &PublicKey) -> String {
    format!("/v1/directory/members/{}", member.to_address())
}

impl DirectoryClient {
    /// A client for the node at `base` signing with `key`.
    pub fn new(base: &str, key: Keypair) -> DirectoryClient {
        DirectoryClient {
            client: Client::signed(base, key),
        }
    }

    /// [`DirectoryClient::new`], kept async for callers that connect first.
    pub async fn connect(base: &str, key: Keypair) -> Result<DirectoryClient, ClientError> {
        Ok(DirectoryClient::new(base, key))
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
        self.client
            .send_json(Method::PUT, &member_path(member), &body)
            .await
    }

    /// `member`'s record.
    pub async fn get_member(&self, member: &PublicKey) -> Result<Value, ClientError> {
        self.client.get(&member_path(member)).await
    }

    /// Unlink `member`'s phone number.
    pub async fn unlink_phone(&self, member: &PublicKey) -> Result<Value, ClientError> {
        let path = format!("{}/phone", member_path(member));
        self.client
            .send_json(Method::DELETE, &path, &json!({}))
            .await
    }

    /// Erase `member`'s record.
    pub async fn erase(&self, member: &PublicKey) -> Result<Value, ClientError> {
        self.client
            .send_json(Method::DELETE, &member_path(member), &json!({}))
            .await
    }

    /// Whose is `phone`: `{address, masked_name, cooperative}`.
    pub async fn lookup(&self, phone: &str) -> Result<Value, ClientError> {
        self.client
            .send_json(
                Method::POST,
                "/v1/directory/lookup",
                &json!({"phone": phone}),
            )
            .await
    }
}
