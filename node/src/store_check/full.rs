//! The whole-store check behind `kopnet node check`: every height from 1 to
//! the tip, in order, so the first failure is the first bad height.

use super::block::{check_block, check_tx_index, decode_u64, read, root_at, stored_set, Parent};
use super::replay_store::ReplayStore;
use super::startup::{check_tip, position, StartFacts};
use super::{Damage, Fault, Problem};
use crate::chain_store;
use kopnet_consensus::{Hash, ValidatorSet, VALIDATOR_SET_CHANGE_DELAY};
use kopnet_ledger::ledger::place_index;
use kopnet_ledger::{keys, Block, BlockOutcome, Genesis, Ledger, Storage, VerifyAll};
use std::collections::BTreeMap;
use std::path::Path;

/// What a sound store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreReport {
    /// The tip: blocks 1 to `height` were checked.
    pub height: u64,
    /// Transactions in those blocks.
    pub txs: u64,
    /// The state root at the tip, as stored and as re-executed.
    pub state_root: Hash,
}

fn reexecution(height: u64, reason: impl std::fmt::Display) -> Fault {
    Fault::at(height, Problem::Reexecution(reason.to_string()))
}

fn current_set(replay: &Ledger<ReplayStore>, height: u64) -> Result<ValidatorSet, Fault> {
    chain_store::current_set(replay).map_err(|e| reexecution(height, e))
}

/// Check the store at `path` (already open as `store`, never written):
/// every block, certificate, parent link, validator set and state root,
/// re-executing the chain from `genesis`; then the stored state at the tip.
/// `progress` hears `(height, tip)` before each block.
pub fn check_store<S: Storage>(
    store: &S,
    genesis: &Genesis,
    path: &Path,
    facts: StartFacts,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StoreReport, Damage> {
    walk(store, genesis, facts, progress).map_err(|fault| fault.in_store(path))
}

/// Block `height`'s stored results and fees are those of its re-execution,
/// and each transaction's place is listed under its hash.
fn check_tx_records<S: Storage>(
    store: &S,
    height: u64,
    block: &Block,
    outcome: &BlockOutcome,
) -> Result<(), Fault> {
    let index = check_tx_index(store, height, block)?;
    let stored: Vec<_> = index
        .entries
        .iter()
        .map(|e| (e.result.clone(), e.fees))
        .collect();
    let replayed: Vec<_> = outcome
        .results
        .iter()
        .map(|(_, result)| result.clone())
        .zip(outcome.fees.iter().copied())
        .collect();
    if stored != replayed {
        return Err(Fault::at(
            height,
            Problem::TxIndex("holds other results or fees than re-executing the block".into()),
        ));
    }
    for (at, (hash, _)) in outcome.results.iter().enumerate() {
        let at = u32::try_from(at).unwrap_or(u32::MAX);
        let places = place_index::places(store, hash, PLACES_READ_MAX).map_err(|error| {
            Fault::at(
                height,
                Problem::TxIndex(format!("place index of transaction {at}: {error}")),
            )
        })?;
        if !places.contains(&(height, at)) {
            return Err(Fault::at(
                height,
                Problem::TxIndex(format!("has no place for transaction {at} under its hash")),
            ));
        }
    }
    Ok(())
}

/// Places read for one hash: far more than chance collisions of 8-byte
/// hash prefixes give.
const PLACES_READ_MAX: usize = 64;

fn walk<S: Storage>(
    store: &S,
    genesis: &Genesis,
    facts: StartFacts,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StoreReport, Fault> {
    let chain_id = genesis.chain_id.as_str();
    let Some(top) = position(store, genesis, facts)? else {
        return Err(Fault::at(0, Problem::Missing { what: "chain" }));
    };
    let base = match read(store, keys::META_BASE, 0, "pruning base")? {
        Some(bytes) => decode_u64(&bytes, 0, "pruning base")?,
        None => 1,
    };
    if base > 1 {
        return Err(Fault::at(base, Problem::Pruned { base }));
    }
    let mut replay =
        Ledger::open(ReplayStore::default(), genesis).map_err(|e| reexecution(0, e))?;
    let genesis_root = root_at(store, 0)?;
    if genesis_root != replay.state_root() {
        return Err(Fault::at(
            0,
            Problem::StateRoot {
                stored: genesis_root,
                replayed: replay.state_root(),
            },
        ));
    }
    // The set that signs each height still ahead: genesis validators sign
    // heights 1 and 2; block h's validators sign h + 2.
    let mut sets: BTreeMap<u64, ValidatorSet> = BTreeMap::new();
    let initial = current_set(&replay, 0)?;
    sets.insert(1, initial.clone());
    sets.insert(2, initial);
    let mut parent = genesis.hash();
    let mut txs = 0u64;
    for height in 1..=top {
        progress(height, top);
        let set = sets.remove(&height).ok_or(Fault::at(
            height,
            Problem::Missing {
                what: "validator set",
            },
        ))?;
        if stored_set(store, height)? != set {
            return Err(Fault::at(height, Problem::ValidatorSet));
        }
        let block = check_block(store, chain_id, height, Parent::Hash(parent), &set)?;
        let outcome = replay
            .apply_block(&block, &VerifyAll, vec![])
            .map_err(|e| reexecution(height, e))?;
        check_tx_records(store, height, &block, &outcome)?;
        let stored = root_at(store, height)?;
        if stored != outcome.state_root {
            return Err(Fault::at(
                height,
                Problem::StateRoot {
                    stored,
                    replayed: outcome.state_root,
                },
            ));
        }
        txs = txs.saturating_add(u64::try_from(block.txs.len()).unwrap_or(u64::MAX));
        sets.insert(
            height.saturating_add(VALIDATOR_SET_CHANGE_DELAY),
            current_set(&replay, height)?,
        );
        parent = block.hash();
    }
    // The sets the node needs next are recorded as the chain gives them.
    for (height, set) in &sets {
        if stored_set(store, *height)? != *set {
            return Err(Fault::at(*height, Problem::ValidatorSet));
        }
    }
    check_tip(store, chain_id, top)?;
    // The stored state hashes to the tip's root (the ledger checks it as it
    // opens) and keeps the money invariants.
    let ledger =
        Ledger::open(store, genesis).map_err(|e| Fault::at(top, Problem::State(e.to_string())))?;
    ledger
        .check_invariants()
        .map_err(|e| Fault::at(top, Problem::State(format!("invariants: {e}"))))?;
    Ok(StoreReport {
        height: top,
        txs,
        state_root: ledger.state_root(),
    })
}
