//! Governance proposals as the cooperatives voting on them see them: the id
//! of a proposal just made, where one stands after an approval, and the list
//! (`kopnet coop proposals`).

use crate::output::OutputFormat;
use crate::sender::{coop_of, Sender};
use anyhow::{Context, Result};
use kopnet_ledger::GovAction;
use kopnet_node::api::client::Client;
use serde_json::Value;

/// After `coop propose` committed: the new proposal (its id and where it
/// stands), as the node lists it.
pub async fn find_new(sender: &Sender, action: &GovAction) -> Result<Value> {
    let coop = coop_of(&sender.client, &sender.key.public()).await?;
    let wanted = serde_json::to_value(action)?;
    let list = sender.client.get("/v1/proposals").await?;
    // Newest first: the first proposal of ours with this action is the new one.
    let found = list["proposals"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["proposer"].as_str() == Some(coop.as_str()) && p["action"] == wanted)
        .context("the proposal committed but the node does not list it")?;
    Ok(found.clone())
}

/// After `coop approve` committed: where the proposal stands now.
pub async fn fetch_one(client: &Client, id: u64) -> Result<Value> {
    Ok(client.get(&format!("/v1/proposals/{id}")).await?)
}

/// `kopnet coop proposals`.
pub async fn list(node: &str, output: OutputFormat) -> Result<i32> {
    let client = Client::new(node);
    // The newest 100 (the API's largest page).
    let list = client.get("/v1/proposals?limit=100").await?;
    if output == OutputFormat::Json {
        crate::output::print_json(&list);
        return Ok(0);
    }
    let proposals = list["proposals"].as_array().cloned().unwrap_or_default();
    if proposals.is_empty() {
        say!("no proposals");
    }
    for proposal in &proposals {
        say!("{}", describe(proposal));
    }
    Ok(0)
}

/// One line: id, action, status, approvals against voting power.
pub fn describe(p: &Value) -> String {
    let action = match &p["action"] {
        Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        Value::String(name) => name.clone(),
        _ => "?".into(),
    };
    let status = match p["status"].as_str() {
        Some("executed") => format!("executed at height {}", p["executed_height"]),
        // Approvals passed 2/3 but the action could not be carried out on
        // the state of that moment: nothing changed.
        Some("failed") => format!(
            "failed at height {} ({}), nothing changed: {}",
            p["failed"]["height"],
            p["failed"]["code"].as_str().unwrap_or("?"),
            p["failed"]["reason"].as_str().unwrap_or("?")
        ),
        Some(other) => other.to_string(),
        None => "?".into(),
    };
    let approvals: Vec<&str> = p["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    format!(
        "proposal {} {action} by {}: {status}; approved by {} ({} of {} voting power, executes above 2/3)",
        p["id"],
        p["proposer"].as_str().unwrap_or("?"),
        approvals.join(", "),
        p["approved_power"],
        p["total_power"],
    )
}
