//! `DIR/config.toml`: every field has a default, unknown fields are errors,
//! and validation names the bad field.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

/// What a node does in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Votes in consensus with its cooperative's key.
    Validator,
    /// Follows and verifies the chain, serves reads, refuses writes.
    Observer,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Observer => "observer",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    pub timeout_propose_ms: u64,
    pub timeout_prevote_ms: u64,
    pub timeout_precommit_ms: u64,
    pub timeout_delta_ms: u64,
    /// When idle, an empty block at most this often.
    pub empty_block_interval_ms: u64,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeout_propose_ms: 2_000,
            timeout_prevote_ms: 1_000,
            timeout_precommit_ms: 1_000,
            timeout_delta_ms: 500,
            empty_block_interval_ms: 2_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    pub max_txs: usize,
    pub max_bytes: usize,
    /// Most pending transactions from one signer.
    pub max_per_signer: usize,
    /// Blocks a transaction may wait before it is dropped as `expired`.
    pub max_age_blocks: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 100_000,
            max_bytes: 64 * 1024 * 1024,
            max_per_signer: 256,
            max_age_blocks: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockConfig {
    pub max_txs: usize,
    pub max_bytes: usize,
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            max_txs: 5_000,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// sled page cache (sled's own default is 1 GiB; ours is modest).
    pub cache_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    pub role: Role,
    /// The key file (relative paths are relative to the home directory).
    pub key_file: String,
    /// libp2p listen addresses.
    pub listen: Vec<String>,
    /// Addresses of other nodes to dial.
    pub peers: Vec<String>,
    /// HTTP API address.
    pub api: SocketAddr,
    pub log_format: LogFormat,
    /// Largest HTTP request body, in bytes.
    pub api_body_max_bytes: usize,
    /// Enables `POST /v1/admin/isolate` (fault injection for test networks).
    pub admin_api: bool,
    pub consensus: ConsensusConfig,
    pub mempool: MempoolConfig,
    pub block: BlockConfig,
    pub storage: StorageConfig,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            role: Role::Validator,
            key_file: "node.key".into(),
            listen: vec!["/ip4/127.0.0.1/tcp/26656".into()],
            peers: vec![],
            api: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Human,
            api_body_max_bytes: 64 * 1024,
            admin_api: false,
            consensus: ConsensusConfig::default(),
            mempool: MempoolConfig::default(),
            block: BlockConfig::default(),
            storage: StorageConfig::default(),
        }
    }
}

/// A configuration problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("config field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
}

fn field(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        reason: reason.into(),
    }
}

impl NodeConfig {
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            reason: e.to_string().trim().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.key_file.trim().is_empty() {
            return Err(field("key_file", "must name a file"));
        }
        if self.listen.is_empty() {
            return Err(field("listen", "needs at least one address"));
        }
        for addr in &self.listen {
            addr.parse::<libp2p::Multiaddr>()
                .map_err(|e| field("listen", format!("{addr:?}: {e}")))?;
        }
        for addr in &self.peers {
            addr.parse::<libp2p::Multiaddr>()
                .map_err(|e| field("peers", format!("{addr:?}: {e}")))?;
        }
        let c = &self.consensus;
        for (name, value) in [
            ("consensus.timeout_propose_ms", c.timeout_propose_ms),
            ("consensus.timeout_prevote_ms", c.timeout_prevote_ms),
            ("consensus.timeout_precommit_ms", c.timeout_precommit_ms),
            (
                "consensus.empty_block_interval_ms",
                c.empty_block_interval_ms,
            ),
        ] {
            if !(10..=600_000).contains(&value) {
                return Err(field(name, "must be between 10 and 600000"));
            }
        }
        // Added per round to every timeout: 0 would keep rounds from
        // growing, so a slow network might never decide.
        if !(1..=600_000).contains(&c.timeout_delta_ms) {
            return Err(field(
                "consensus.timeout_delta_ms",
                "must be between 1 and 600000",
            ));
        }
        if !(1..=10_000_000).contains(&self.mempool.max_txs) {
            return Err(field("mempool.max_txs", "must be between 1 and 10000000"));
        }
        if self.mempool.max_bytes < 64 * 1024 {
            return Err(field("mempool.max_bytes", "must be at least 65536"));
        }
        if self.mempool.max_per_signer == 0 {
            return Err(field("mempool.max_per_signer", "must be at least 1"));
        }
        if self.mempool.max_age_blocks == 0 {
            return Err(field("mempool.max_age_blocks", "must be at least 1"));
        }
        if !(1..=kopnet_ledger::block::BLOCK_TXS_MAX).contains(&self.block.max_txs) {
            return Err(field("block.max_txs", "must be between 1 and 20000"));
        }
        if !(16 * 1024..=kopnet_ledger::block::BLOCK_BYTES_MAX / 2).contains(&self.block.max_bytes)
        {
            return Err(field(
                "block.max_bytes",
                "must be between 16384 and 4194304",
            ));
        }
        if self.storage.cache_bytes < 1024 * 1024 {
            return Err(field("storage.cache_bytes", "must be at least 1048576"));
        }
        if !(1024..=1024 * 1024).contains(&self.api_body_max_bytes) {
            return Err(field(
                "api_body_max_bytes",
                "must be between 1024 and 1048576",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_validate() {
        let config = NodeConfig::default();
        let text = config.to_toml();
        assert_eq!(NodeConfig::parse(&text, "x").unwrap(), config);
        assert_eq!(NodeConfig::parse("", "x").unwrap(), config);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = NodeConfig::parse("[mempool]\nmax_txs = 0\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("mempool.max_txs"), "{err}");
        let err = NodeConfig::parse("listen = [\"nonsense\"]\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("`listen`"), "{err}");
        let err = NodeConfig::parse("[consensus]\ntimeout_delta_ms = 0\n", "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("consensus.timeout_delta_ms"),
            "{err}"
        );
        let err = NodeConfig::parse("colour = 1\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = NodeConfig::parse("role = \"king\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("role"), "{err}");
    }
}
