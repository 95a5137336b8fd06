//! The keys a node holds, each for one job (see `kopnet_ledger::node_keys`
//! for the rules the ledger keeps):
//!
//! | file (config field)                              | job                                        |
//! |--------------------------------------------------|--------------------------------------------|
//! | `node.key` (`key_file`)                          | libp2p identity, admitted by allow lists   |
//! | `node.next.key` (`next_key_file`)                | the identity a rotation moves to           |
//! | `validator.key` (`validator_key_file`)           | signs consensus messages (validators only) |
//! | `validator.next.key` (`next_validator_key_file`) | the validator key a rotation moves to      |
//!
//! The cooperative key never lives on the node: it signs ledger
//! transactions (the rotation among them) from the board's machine.
//!
//! A rotation without downtime: the operator writes the next keys
//! (`kopnet node next-keys --home DIR`) while the node runs; the node
//! picks up `validator.next.key` after its next block ([`NextKeyWatch`]),
//! and once the cooperative's `RotateNodeKeys` executes at height `h`, it
//! signs with the new key from `h + 2` (the first height whose validator
//! set lists it) without a restart. The node identity changes at the
//! node's next start: it starts as `node.next.key` when the ledger names
//! that key as its cooperative's node identity. The old identity stays
//! admitted for an hour of block time after the rotation, so the restart
//! may come any time in that hour. `kopnet node next-keys --promote`
//! then makes the next keys the current files.

use crate::config::{NodeConfig, Role};
use crate::keyfile::{self, KeyFileError};
use kopnet_consensus::{Keypair, PublicKey};
use kopnet_ledger::{Ledger, Storage};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The keys read from a node's home at start.
#[derive(Debug)]
pub struct NodeKeys {
    /// `key_file`.
    pub identity: Keypair,
    /// `next_key_file`, if present.
    pub next_identity: Option<Keypair>,
    /// `validator_key_file` (validators only).
    pub validator: Option<Keypair>,
    /// `next_validator_key_file`, if present (validators only).
    pub next_validator: Option<Keypair>,
}

/// Read a key file that may be absent.
pub fn read_optional(path: &Path) -> Result<Option<Keypair>, KeyFileError> {
    if !path.exists() {
        return Ok(None);
    }
    keyfile::read(path).map(Some)
}

impl NodeKeys {
    /// Read the keys `config` names from `home`. A validator must have its
    /// validator key; the next keys are optional.
    pub fn load(home: &Path, config: &NodeConfig) -> Result<NodeKeys, KeyFileError> {
        let identity = keyfile::read(&home.join(&config.key_file))?;
        let next_identity = read_optional(&home.join(&config.next_key_file))?;
        let (validator, next_validator) = if config.role == Role::Validator {
            (
                Some(keyfile::read(&home.join(&config.validator_key_file))?),
                read_optional(&home.join(&config.next_validator_key_file))?,
            )
        } else {
            (None, None)
        };
        Ok(NodeKeys {
            identity,
            next_identity,
            validator,
            next_validator,
        })
    }

    /// The key the host signs consensus messages with: the validator key
    /// (an observer's host signs nothing and is given its identity).
    pub fn consensus_key(&self) -> &Keypair {
        self.validator.as_ref().unwrap_or(&self.identity)
    }

    /// The identity to start libp2p with: the next one once the ledger
    /// names it as an active cooperative's node key or a registered
    /// observer's key (the rotation executed), else the current one.
    pub fn identity_for<S: Storage>(&self, ledger: &Ledger<S>) -> &Keypair {
        let Some(next) = &self.next_identity else {
            return &self.identity;
        };
        let named = ledger
            .cooperatives()
            .iter()
            .any(|c| c.active && c.node_key == Some(next.public()))
            || ledger.observers().by_key(&next.public()).is_some();
        if named {
            tracing::info!(
                key = %next.public(),
                "the ledger names the next node key as this cooperative's node identity: starting with it"
            );
            next
        } else {
            &self.identity
        }
    }
}

/// Re-reads the next validator key file after blocks, so that an operator
/// can add it while the node runs. A file is read again only when its
/// modification time or length changed.
#[derive(Debug)]
pub struct NextKeyWatch {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

impl NextKeyWatch {
    pub fn new(path: PathBuf) -> Self {
        NextKeyWatch { path, seen: None }
    }

    /// The key in the file if it is new or changed since the last look
    /// (`None` when absent, unchanged or unreadable: a bad file is logged
    /// and the node goes on with the keys it holds).
    pub fn poll(&mut self) -> Option<Keypair> {
        let meta = std::fs::metadata(&self.path).ok()?;
        let stamp = (meta.modified().ok()?, meta.len());
        if self.seen == Some(stamp) {
            return None;
        }
        self.seen = Some(stamp);
        match keyfile::read(&self.path) {
            Ok(key) => Some(key),
            Err(error) => {
                tracing::warn!(%error, "next validator key not loaded");
                None
            }
        }
    }
}

/// The cooperative whose validator or node key (current or next) this
/// node holds, by any of `keys`.
pub fn is_ours(coop: &kopnet_ledger::types::Cooperative, keys: &[PublicKey]) -> bool {
    keys.iter()
        .any(|k| coop.validator_key == Some(*k) || coop.node_key == Some(*k))
}
