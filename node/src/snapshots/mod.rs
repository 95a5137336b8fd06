//! Snapshots on a node: taking them at regular heights, keeping the last
//! few on disk, serving them, and starting a new node from one (state sync).
//!
//! - **Taking** ([`taker`]): when a block at a multiple of
//!   `[snapshots] interval_blocks` commits, the host captures the state map
//!   ([`kopnet_ledger::snapshot::Capture`], a copy of the entries made where
//!   blocks are applied) and the shell writes the snapshot on a blocking
//!   thread, reading the live records from the store
//!   ([`kopnet_ledger::snapshot::export`]). One snapshot is written at a
//!   time; a capture that arrives while one is being written is dropped
//!   (the next interval takes its place). Snapshots live in
//!   `data/snapshots/<height>/` (`manifest.bin`, `chunk-<n>.bin`), written
//!   under `<height>.partial/` and renamed when complete; the newest
//!   `keep` are kept.
//! - **Serving** (`GET /v1/snapshots`, `/v1/snapshots/{h}/manifest`,
//!   `/v1/snapshots/{h}/chunks/{n}`, `crate::api::snapshots`): to
//!   participants only (the network's cooperatives and registered
//!   observers, by a signed request), since a snapshot holds every
//!   member's balance.
//! - **State sync** ([`state_sync`], `kopnet node state-sync`): a new or
//!   long-offline node takes a trusted block hash from its operator, picks
//!   the newest snapshot below it offered by its sources, ties the
//!   snapshot's root to that hash through the chain of headers, fetches
//!   the chunks (each checked against the manifest, any source), imports
//!   them (checked against the root and the day commitments), applies the
//!   next two blocks, and leaves a home that `kopnet node run` continues
//!   by ordinary catch-up.

pub mod anchor;
pub mod dir;
pub mod state_sync;
pub mod taker;

use crate::config::{field, ConfigError};
use serde::{Deserialize, Serialize};

/// `[snapshots]` in config.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Take a snapshot after every block whose height is a multiple of
    /// this; 0 takes none.
    pub interval_blocks: u64,
    /// How many snapshots to keep on disk (the newest).
    pub keep: usize,
}

/// Default interval: at a block a second, a snapshot every ~17 minutes.
pub const INTERVAL_BLOCKS_DEFAULT: u64 = 1_000;
/// Fewest blocks between snapshots (each one copies the whole state).
pub const INTERVAL_BLOCKS_MIN: u64 = 10;
/// Most snapshots kept.
pub const KEEP_MAX: usize = 16;

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            interval_blocks: INTERVAL_BLOCKS_DEFAULT,
            keep: 2,
        }
    }
}

impl SnapshotConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval_blocks != 0 && self.interval_blocks < INTERVAL_BLOCKS_MIN {
            return Err(field(
                "snapshots.interval_blocks",
                format!("must be 0 (none) or at least {INTERVAL_BLOCKS_MIN}"),
            ));
        }
        if !(1..=KEEP_MAX).contains(&self.keep) {
            return Err(field(
                "snapshots.keep",
                format!("must be between 1 and {KEEP_MAX}"),
            ));
        }
        Ok(())
    }
}
