//! Back up a node's home while it runs, and restore it elsewhere
//! (`kopnet node backup` / `kopnet node restore`).
//!
//! **What a backup holds** ([`format`] for the bytes): the home's
//! configuration, genesis and key files; every committed block up to the
//! node's height at the start of the backup, each with its commit
//! certificate; and the personal data the node keeps for its cooperative's
//! members ([`crate::personal`]). It does **not** hold the ledger's store
//! itself, the safety record or the admin token.
//!
//! **A node without block 1** (pruned, or started from a snapshot) cannot
//! give every block. Its backup starts at the newest snapshot `S` it keeps
//! ([`crate::snapshots`]) that is followed by block `S + 1` and the
//! certified blocks `S + 2 ..=` height: the manifest and the chunks, then
//! those blocks. A restore imports the snapshot (each chunk checked against
//! the manifest, the state against the root block `S + 1` carries, each
//! day's records against their commitment), applies block `S + 1` on its
//! hash, which block `S + 2` names, and every later block by its
//! certificate ([`crate::snapshots::anchor`]); the restored node then
//! holds blocks from `S + 2` on and keeps the snapshot, like a node that
//! state-synced from it. A node that holds block 1 (an archive node) is
//! backed up from block 1, so that its restore gives its whole history
//! back. This is why a pruning node must take snapshots and keep two
//! snapshot intervals of blocks ([`crate::config::NodeConfig`]).
//!
//! **Why blocks and not the store.** A running node holds its stores
//! locked, and a copy of files being written is not consistent. Committed
//! blocks never change, so the blocks `1..=h` with their certificates are
//! a consistent picture of the chain at `h` however long the backup takes,
//! and the node never pauses for it. A restore rebuilds the ledger by
//! verifying each certificate against its height's validator set and
//! executing each block through the node's own catch-up path
//! ([`crate::host::catch_up::take_one`]): every state root is checked on
//! the way, so a restored ledger is one the chain certified. The price is
//! a restore in proportion to the history (until snapshots, issue 19).
//!
//! **Where it reads from.** A running node is read over its own API,
//! signed with the node's key from the home (a participant: raw blocks and
//! the personal-data export answer it); a stopped node's stores are opened
//! directly.
//!
//! **Safety.** The safety record (what this validator signed) is left
//! out on purpose: a record from the past would let a restored validator
//! sign again at heights it already signed. A restored validator starts
//! with `--new-safety-record`: it follows the chain without signing until
//! the double-sign check ([`crate::host::double_sign`]) has seen none of
//! its own signatures for its listening window, then writes a fresh record.
//!
//! **Personal data** is as sensitive as the keys: the backup file holds
//! both, is written with mode 0600, and must be kept like the key files.

pub mod create;
pub mod format;
pub mod restore;

use serde::{Deserialize, Serialize};

/// The first section of every backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub chain_id: String,
    /// The height the chain is backed up to.
    pub height: u64,
    /// The snapshot the chain starts from, when the node held no block 1
    /// (absent: the blocks start at 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_height: Option<u64>,
    /// The node's identity (address) whose home this is.
    pub node: String,
    /// `validator` or `observer`.
    pub role: String,
    /// When the backup started (ms since the Unix epoch, this machine's clock).
    pub created_ms: u64,
    /// The kopnet version that wrote it.
    pub kopnet_version: String,
}

/// The home files a backup carries besides the key files: their paths
/// relative to the home.
pub const HOME_FILES: [&str; 2] = ["config.toml", "genesis.json"];

/// Make a rename into `path`'s directory durable: fsync the directory.
pub(crate) fn sync_parent(path: &std::path::Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

/// Whether `name` may be a home file's path in a backup: relative, plain
/// components only, not under `data/` (which a restore rebuilds).
pub fn is_home_file_name(name: &str) -> bool {
    let path = std::path::Path::new(name);
    !name.is_empty()
        && !name.starts_with("data/")
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::is_home_file_name;

    #[test]
    fn home_file_names_stay_inside_the_home() {
        for ok in [
            "config.toml",
            "genesis.json",
            "node.key",
            "keys/validator.key",
        ] {
            assert!(is_home_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../node.key",
            "keys/../../x",
            "data/ledger/db",
            "./config.toml",
        ] {
            assert!(!is_home_file_name(bad), "{bad}");
        }
    }
}
