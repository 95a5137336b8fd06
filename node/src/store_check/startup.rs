//! The check at every start: is the store the one this node left, and is
//! its tip sound? Fast: it reads the tip block and a handful of records,
//! whatever the chain's length.

use super::block::{check_block, decode_hash, decode_u64, read, root_at, stored_set, Parent};
use super::{Damage, Fault, Problem, RESYNC_BELOW_KEY};
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{keys, Genesis, LedgerError, Storage};
use std::path::Path;

/// What the start knows besides the store.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartFacts {
    /// The store's directory held a store before this start
    /// ([`store_exists`], asked before opening it).
    pub existed: bool,
    /// The height in the safety record (`data/safety.bin`), if the file
    /// exists. Every node writes one right after its ledger's first open.
    pub record_height: Option<u64>,
}

/// Whether a sled store exists at `path` (its main file), asked before
/// opening it, since opening creates one.
pub fn store_exists(path: &Path) -> bool {
    path.join("db").is_file()
}

/// Why the start-up check stopped the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartCheckError {
    #[error("{0}; refusing to start: restore data/ from a backup or resync from peers (README, \"Recovering a damaged node\")")]
    Damaged(Damage),
    #[error("cannot record the resync in the ledger store {path}: {reason}")]
    Write { path: String, reason: String },
}

/// The height the store stands at, after the checks that compare it with
/// what the node knows from outside it; `None` for a store with no chain
/// yet (a first start, or a resync after the store was deleted).
pub(crate) fn position<S: Storage>(
    store: &S,
    genesis: &Genesis,
    facts: StartFacts,
) -> Result<Option<u64>, Fault> {
    let Some(stored) = read(store, keys::META_GENESIS, 0, "genesis hash")? else {
        if facts.existed && facts.record_height.is_some() {
            return Err(Fault::at(0, Problem::Emptied));
        }
        return Ok(None);
    };
    if stored != genesis.hash().0 {
        return Err(Fault::at(0, Problem::Genesis));
    }
    match kopnet_ledger::ledger::check_store_format(store) {
        Ok(()) => {}
        Err(LedgerError::StoreFormat { found, expected }) => {
            return Err(Fault::at(0, Problem::StoreFormat { found, expected }))
        }
        Err(e) => {
            return Err(Fault::at(
                0,
                Problem::Unreadable {
                    what: "store format",
                    reason: e.to_string(),
                },
            ))
        }
    }
    let what = "height record";
    let height = match read(store, keys::META_HEIGHT, 0, what)? {
        Some(bytes) => decode_u64(&bytes, 0, what)?,
        None => return Err(Fault::at(0, Problem::Missing { what })),
    };
    if let Some(record_height) = facts.record_height {
        // A validator signs at most at its ledger's height + 1: every
        // commit is flushed before the next height starts.
        if record_height > height.saturating_add(1) {
            let what = "resync mark";
            let resync_below = read(store, &keys::host(RESYNC_BELOW_KEY), height, what)?
                .map(|bytes| decode_u64(&bytes, height, what))
                .transpose()?;
            if resync_below.is_none_or(|below| height >= below) {
                return Err(Fault::at(
                    height.saturating_add(1),
                    Problem::BehindSafetyRecord {
                        ledger_height: height,
                        record_height,
                    },
                ));
            }
        }
    }
    Ok(Some(height))
}

/// The tip's checks (see the module docs of [`super`]).
pub(crate) fn check_tip<S: Storage>(store: &S, chain_id: &str, height: u64) -> Result<(), Fault> {
    // The ledger compares the stored state with this root when it opens.
    root_at(store, height)?;
    if height == 0 {
        return Ok(());
    }
    let set = stored_set(store, height)?;
    let block = check_block(store, chain_id, height, Parent::ByIndex, &set)?;
    let meta = |what| Fault::at(height, Problem::Meta { what });
    let last_what = "last block hash";
    let last = match read(store, keys::META_LAST_HASH, height, last_what)? {
        Some(bytes) => decode_hash(&bytes, height, last_what)?,
        None => return Err(Fault::at(height, Problem::Missing { what: last_what })),
    };
    if last != block.hash() {
        return Err(meta(last_what));
    }
    let time_what = "last block time";
    if let Some(bytes) = read(store, keys::META_LAST_TIME, height, time_what)? {
        if decode_u64(&bytes, height, time_what)? != block.header.time_ms {
            return Err(meta(time_what));
        }
    }
    Ok(())
}

/// Check the store at `path` before the node opens its ledger on it:
/// refuse one that was emptied or cut back, or whose tip is damaged. On a
/// fresh store for a validator whose record is past genesis (a resync),
/// record that height in the store.
pub fn at_start<S: Storage>(
    store: &S,
    genesis: &Genesis,
    path: &Path,
    facts: StartFacts,
) -> Result<(), StartCheckError> {
    let damaged = |fault: Fault| StartCheckError::Damaged(fault.in_store(path));
    match position(store, genesis, facts).map_err(damaged)? {
        Some(height) => check_tip(store, &genesis.chain_id, height).map_err(damaged),
        None => match facts.record_height {
            Some(record_height) if record_height > 0 => {
                let mut batch = WriteBatch::default();
                batch.put(
                    keys::host(RESYNC_BELOW_KEY),
                    record_height.to_be_bytes().to_vec(),
                );
                store.commit(batch).map_err(|e| StartCheckError::Write {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                tracing::info!(
                    store = %path.display(),
                    signed_at = record_height,
                    "a new ledger store for a node whose safety record is past genesis: resyncing from peers"
                );
                Ok(())
            }
            _ => Ok(()),
        },
    }
}
