//! `GET /health`, `GET /health/live`, a node's config and the admin
//! isolate switch, for the fail-stop and health tests.

use super::{http, Cluster};
use kopnet_node::config::NodeConfig;
use serde_json::Value;

impl Cluster {
    /// `GET /health` on node `i`: the status code and the JSON answer
    /// (`None` when the node does not answer).
    pub fn health(&self, i: usize) -> Option<(u16, Value)> {
        let response = http()
            .get(format!("{}/health", self.nodes[i].api))
            .send()
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().ok()?))
    }

    /// `GET /health/live` on node `i`: the status code.
    pub fn live(&self, i: usize) -> Option<u16> {
        let response = http()
            .get(format!("{}/health/live", self.nodes[i].api))
            .send()
            .ok()?;
        Some(response.status().as_u16())
    }

    /// Change node `i`'s config.toml (before it starts).
    pub fn edit_config(&self, i: usize, edit: impl FnOnce(&mut NodeConfig)) {
        let path = self.nodes[i].home.join("config.toml");
        let mut config = NodeConfig::load(&path).unwrap();
        edit(&mut config);
        config.validate().unwrap();
        std::fs::write(&path, config.to_toml()).unwrap();
    }

    /// Cut node `i` off from its peers (or let it back) with the admin
    /// endpoint (test networks have `admin_api = true`).
    pub fn isolate(&self, i: usize, isolated: bool) {
        let home = &self.nodes[i].home;
        let token = std::fs::read_to_string(home.join(kopnet_node::http::admin::ADMIN_TOKEN_FILE))
            .expect("the node wrote its admin token at start");
        let response = http()
            .post(format!("{}/v1/admin/isolate", self.nodes[i].api))
            .bearer_auth(token.trim())
            .json(&serde_json::json!({ "isolated": isolated }))
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "isolate {isolated}: {}",
            response.status()
        );
    }
}
