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
        /// The key file.
        file: PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> Result<i32> {
    match cmd {
        KeysCommand::New { out } => {
            let key = Keypair::generate(&mut rand::rngs::OsRng);
            keyfile::write_new(&out, &key)?;
            print_address(&key.public().to_address(), Some(&out));
        }
        KeysCommand::Show { file } => {
            let key = keyfile::read(&file)?;
            print_address(&key.public().to_address(), None);
        }
    }
    Ok(0)
}

/// A key's address: the line alone, or `{"address", "file"}` under
/// `--output json` (`file` when a key file was just written).
pub fn print_address(address: &str, written: Option<&std::path::Path>) {
    if crate::output::json() {
        let mut value = serde_json::json!({ "address": address });
        if let Some(file) = written {
            value["file"] = serde_json::Value::from(file.display().to_string());
        }
        crate::output::print_json(&value);
    } else {
        say!("{address}");
    }
}
