//! `kopnet keys new|show`.

use anyhow::Result;
use clap::Subcommand;
use kopnet_consensus::Keypair;
use kopnet_node::keyfile;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key file (mode 0600; never overwrites).
    New {
        /// Where to write the key (must not exist yet).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the address of a key file (never the secret).
    Show {
        file: PathBuf,
        #[command(flatten)]
        read: super::ReadOpts,
    },
}

pub fn run(cmd: KeysCommand) -> Result<i32> {
    match cmd {
        KeysCommand::New { out } => {
            let key = Keypair::generate(&mut rand::rngs::OsRng);
            keyfile::write_new(&out, &key)?;
            say!("{}", key.public().to_address());
        }
        KeysCommand::Show { file, read } => {
            let key = keyfile::read(&file)?;
            let address = key.public().to_address();
            match read.output {
                crate::output::OutputFormat::Json => {
                    say!("{}", serde_json::json!({ "address": address }))
                }
                crate::output::OutputFormat::Text => say!("{address}"),
            }
        }
    }
    Ok(0)
}
