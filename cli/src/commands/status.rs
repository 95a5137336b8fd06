//! `kopnet status --node URL`.

use crate::output::{print_json, OutputFormat};
use anyhow::Result;
use kopnet_node::api::client::Client;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The node's API URL.
    #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
}

pub async fn run(args: StatusArgs) -> Result<i32> {
    let status = Client::new(&args.node).status().await?;
    match crate::output::format() {
        OutputFormat::Json => print_json(&status),
        OutputFormat::Text => {
            say!("chain      {}", status["chain_id"].as_str().unwrap_or("?"));
            say!("role       {}", status["role"].as_str().unwrap_or("?"));
            say!(
                "cooperative {}",
                status["cooperative"].as_str().unwrap_or("-")
            );
            say!("height     {}", status["height"]);
            say!(
                "last block {}",
                status["last_block_hash"].as_str().unwrap_or("?")
            );
            say!(
                "state root {}",
                status["state_root"].as_str().unwrap_or("?")
            );
            say!("peers      {}", status["peer_count"]);
            say!("syncing    {}", status["syncing"]);
        }
    }
    Ok(0)
}
