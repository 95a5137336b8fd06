//! `kopnet observer`: what a regulator's observer does with its own key.
//!
//! `kopnet observer rotate-key --home DIR --node URL` signs
//! `RotateObserverKey` with the observer's current identity (`node.key`
//! in its home) for the one `kopnet node next-keys --home DIR` wrote
//! (`node.next.key`), and submits it to a validator's API (observers take
//! no transactions from clients). Once it executed, restart the observer:
//! it starts with the new identity, which every node admits from the
//! rotation's block; the old one stays admitted for an hour of block
//! time. Then `kopnet node next-keys --home DIR --promote`.

use crate::sender::Sender;
use anyhow::{bail, Context, Result};
use kopnet_ledger::Action;
use kopnet_node::config::{NodeConfig, Role};
use kopnet_node::keyfile;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum ObserverCommand {
    /// Replace the observer's node identity with `node.next.key`.
    RotateKey {
        /// The observer's node home.
        #[arg(long)]
        home: PathBuf,
        /// A validator's API URL (observers take no transactions).
        #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Return after submitting, without waiting for the commit.
        #[arg(long)]
        no_wait: bool,
    },
}

pub async fn run(cmd: ObserverCommand) -> Result<i32> {
    match cmd {
        ObserverCommand::RotateKey {
            home,
            node,
            no_wait,
        } => {
            let config = NodeConfig::load(&home.join("config.toml"))?;
            if config.role != Role::Observer {
                bail!(
                    "{} is a validator's home: its cooperative rotates its keys with `kopnet coop rotate-keys`",
                    home.display()
                );
            }
            let next_file = home.join(&config.next_key_file);
            if !next_file.exists() {
                bail!(
                    "{} does not exist: run `kopnet node next-keys --home {}` first",
                    next_file.display(),
                    home.display()
                );
            }
            let next = keyfile::read(&next_file)
                .with_context(|| format!("cannot read {}", next_file.display()))?;
            let sender = Sender::open(&node, &home.join(&config.key_file))?;
            sender
                .send_and_report(
                    Action::RotateObserverKey {
                        new_key: next.public(),
                    },
                    !no_wait,
                )
                .await
        }
    }
}
