//! `DIR/genesis.json`: the network's founding document — the ledger
//! genesis, which also lists the first observers (`ledger.observers`;
//! governance adds and removes them later, see `kopnet_ledger::observers`).

use kopnet_consensus::PublicKey;
use kopnet_ledger::Genesis;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The network's founding document, identical on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkGenesis {
    pub ledger: Genesis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisFileError {
    #[error("cannot read genesis {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("genesis {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

impl NetworkGenesis {
    pub fn load(path: &Path) -> Result<NetworkGenesis, GenesisFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| GenesisFileError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse and check the text of a genesis file; `origin` names it in
    /// errors.
    pub fn parse(text: &str, origin: &str) -> Result<NetworkGenesis, GenesisFileError> {
        let invalid = |reason: String| GenesisFileError::Invalid {
            path: origin.to_string(),
            reason,
        };
        let genesis: NetworkGenesis =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        genesis
            .ledger
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(genesis)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Every key allowed to connect at genesis: the cooperatives' node
    /// identities and the observers.
    pub fn allowed_keys(&self) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self
            .ledger
            .cooperatives
            .iter()
            .map(|c| c.node_key)
            .chain(self.ledger.observers.iter().map(|o| o.key))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}
