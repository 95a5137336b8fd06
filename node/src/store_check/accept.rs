//! `kopnet node accept-older-store --home DIR`: the operator's word that a
//! store behind the validator's safety record is behind on purpose — a
//! store restored from an older backup, or one sled cut back that the
//! operator chose to keep — so the node may start and catch up from its
//! peers to where it had signed.
//!
//! It writes the record's height into the store as the resync mark
//! ([`super::RESYNC_BELOW_KEY`]), exactly what a start on a fresh store
//! does; below that height the start-up check then expects the ledger to
//! be behind. The safety record itself is left alone, so the validator
//! still never signs below what it signed before. Nothing else about the
//! store is accepted: a damaged tip still stops the start.

use super::startup::{position, StartFacts};
use super::{HomeCheckError, RESYNC_BELOW_KEY};
use crate::genesis_file::NetworkGenesis;
use crate::safety_file::SafetyFile;
use crate::NodeHome;
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{keys, SledStorage, Storage};

/// The sled page cache while the mark is written.
const ACCEPT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// What accepting found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The mark is written: the node catches up from `ledger_height` to
    /// `record_height` before it signs again.
    Marked {
        ledger_height: u64,
        record_height: u64,
    },
    /// The store is not behind the record: nothing to accept.
    NotBehind {
        ledger_height: u64,
        record_height: Option<u64>,
    },
}

/// Accept the store of the stopped node in `home` as behind its safety
/// record (see the module docs).
pub fn accept_older_store(home: &NodeHome) -> Result<Accepted, HomeCheckError> {
    let setup = |e: String| HomeCheckError::Setup(e);
    let genesis = NetworkGenesis::load(&home.genesis()).map_err(|e| setup(e.to_string()))?;
    let path = home.ledger();
    if !super::store_exists(&path) {
        return Err(HomeCheckError::NoStore {
            path: path.display().to_string(),
        });
    }
    let record = SafetyFile::new(&home.safety())
        .load()
        .map_err(|e| setup(e.to_string()))?;
    let record_height = record.map(|r| r.height);
    // sled's own lock refuses a store a running node holds.
    let store = SledStorage::open(&path, ACCEPT_CACHE_BYTES).map_err(|e| {
        setup(format!(
            "cannot open {} (is the node running?): {e}",
            path.display()
        ))
    })?;
    let facts = StartFacts {
        existed: true,
        record_height: None,
    };
    let ledger_height = match position(&store, &genesis.ledger, facts) {
        Ok(Some(height)) => height,
        Ok(None) => {
            return Err(setup(format!(
                "{} holds no chain: move it aside and start the node to resync from peers",
                path.display()
            )))
        }
        Err(fault) => return Err(setup(fault.in_store(&path).to_string())),
    };
    match record_height {
        Some(record_height) if record_height > ledger_height.saturating_add(1) => {
            let mut batch = WriteBatch::default();
            batch.put(
                keys::host(RESYNC_BELOW_KEY),
                record_height.to_be_bytes().to_vec(),
            );
            store.commit(batch).map_err(|e| HomeCheckError::Write {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            Ok(Accepted::Marked {
                ledger_height,
                record_height,
            })
        }
        _ => Ok(Accepted::NotBehind {
            ledger_height,
            record_height,
        }),
    }
}
