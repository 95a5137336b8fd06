//! The ledger: committed state, its commitment, and atomic block application.
//!
//! A block passes through three steps, each in its own file:
//!
//! * [`Ledger::build_block`] / [`Ledger::build_executed_block`] (`propose.rs`):
//!   the proposer picks admissible candidates and executes them as it goes;
//! * [`Ledger::validate_block`] (`validate.rs`): every node checks a proposed
//!   block's header and executes its transactions against the committed
//!   state, changing nothing, and gets an [`ExecutedBlock`] (`executed.rs`);
//! * [`Ledger::apply_executed`] (`apply.rs`): once the block is decided, the
//!   executed block is written in one atomic batch, together with the
//!   transaction and history indexes (`index.rs`).
//!
//! `run.rs` holds the rule for one transaction inside a block, and
//! `begin.rs` what a block does before its transactions (the settlement
//! schedule's cut-off, the expiry of idempotency records), both shared by
//! the proposer and the validators so the two cannot disagree;
//! `payment_records.rs` reads the idempotency records a block's payments
//! need from the store before it runs, and writes and sweeps them with the
//! block (they are never held in memory; see [`crate::idempotency`]);
//! `refund_records.rs` does the same for the records of payments to
//! merchants that refunds name ([`crate::refunds`]).
//!
//! **Start-up** ([`Ledger::open`]) reads the state map (accounts,
//! cooperatives, windows, proposals, one entry per live day of idempotency
//! records), rebuilds the state tree from it and checks the root against the
//! stored one; it reads no idempotency record, no block (the last block's
//! time is kept under its own key) and no index, so its time and memory do
//! not grow with the number of payments made. Reads are in
//! `queries.rs` and `quote.rs`, and reads of the store without the ledger
//! (what the node's HTTP API uses, off the commit path) in `reader.rs`;
//! typed errors in `errors.rs`. A node that keeps only its last blocks
//! deletes older ones in each block's batch, a bounded amount at a time
//! (`prune.rs`).

mod apply;
mod begin;
mod block_txs;
pub mod daily_figures;
mod errors;
mod executed;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod history_index;
mod index;
mod payment_records;
pub mod place_index;
mod propose;
pub mod prune;
mod queries;
mod quote;
mod reader;
mod record_filter;
mod refund_records;
mod run;
mod validate;

pub use apply::BlockOutcome;
pub use block_txs::{encode_block, BlockTxs, BlockTxsError, TxEntry};
pub use errors::{BlockError, LedgerError};
pub use executed::ExecutedBlock;
pub use index::{touched_members, TxRecord};
pub use propose::{BlockContext, BlockLimits};
pub use prune::{HostSeries, Pruning, PruningError, KEEP_BLOCKS_MIN};
pub use quote::Quote;
pub use reader::{ChainPosition, ChainReader, CommittedTx, EvidencePosition, HistoryPosition};
pub use refund_records::PaymentRefunds;
pub use run::{SignatureCheck, VerifyAll};

use crate::commitment::StateTree;
use crate::figures::Figures;
use crate::genesis::Genesis;
use crate::keys;
use crate::rejection::Rejection;
use crate::state::{State, StateKey, StateValue};
use crate::storage::{Storage, WriteBatch};
use crate::tx::Transaction;
use crate::{execute, invariants};
use executed::Tip;
use kopnet_primitives::{codec, Hash};

/// The deterministic ledger state machine over a storage backend.
#[derive(Debug)]
pub struct Ledger<S: Storage> {
    store: S,
    chain_id: String,
    genesis_hash: Hash,
    state: State,
    tree: StateTree,
    height: u64,
    last_block_hash: Hash,
    /// The last block's header time (0 before the first block).
    last_block_time_ms: u64,
    state_root: Hash,
    /// Changes to `state` since the ledger was opened: one per applied
    /// block, one per fault-injected overwrite. An [`ExecutedBlock`] records
    /// it and is written only on the same revision, since an overwrite
    /// changes the state without changing the height or the root.
    revision: u64,
    /// Sums over every account, moved with each write ([`crate::figures`]).
    figures: Figures,
    /// The lowest height whose block the store holds ([`prune`]).
    base: u64,
    /// How many blocks to keep (`None`: all of them).
    pruning: Option<Pruning>,
    /// Which payments surely have no idempotency record, so that their
    /// lookup skips the store ([`record_filter`]).
    record_filter: record_filter::RecordFilter,
    /// Members known to be last active today ([`daily_figures::ActiveToday`]).
    active_today: daily_figures::ActiveToday,
}

impl<S: Storage> Ledger<S> {
    /// Open a store, initialising it from `genesis` when it is empty.
    pub fn open(store: S, genesis: &Genesis) -> Result<Self, LedgerError> {
        let genesis_hash = genesis.hash();
        match store.get(keys::META_GENESIS)? {
            Some(stored) if stored != genesis_hash.0 => Err(LedgerError::GenesisMismatch),
            Some(_) => Self::load(store, genesis, genesis_hash),
            None => Self::init(store, genesis, genesis_hash),
        }
    }

    fn init(store: S, genesis: &Genesis, genesis_hash: Hash) -> Result<Self, LedgerError> {
        let state = genesis.initial_state()?;
        let mut tree = StateTree::new();
        let mut batch = WriteBatch::default();
        for (key, value) in state.iter() {
            let (k, v) = encode_entry(key, value)?;
            tree.update(&k, Some(&v));
            batch.put(keys::state(&k), v);
        }
        let root = tree.recompute();
        let figures = Figures::of(state.iter());
        batch.put(keys::META_GENESIS.to_vec(), genesis_hash.0.to_vec());
        batch.put(
            keys::META_STORE_FORMAT.to_vec(),
            keys::STORE_FORMAT.to_be_bytes().to_vec(),
        );
        batch.put(keys::META_HEIGHT.to_vec(), 0u64.to_be_bytes().to_vec());
        batch.put(keys::META_LAST_HASH.to_vec(), genesis_hash.0.to_vec());
        batch.put(keys::root(0), root.0.to_vec());
        store.commit(batch)?;
        Ok(Ledger {
            store,
            chain_id: genesis.chain_id.clone(),
            genesis_hash,
            state,
            tree,
            height: 0,
            last_block_hash: genesis_hash,
            last_block_time_ms: 0,
            state_root: root,
            revision: 0,
            figures,
            base: 1,
            pruning: None,
            record_filter: record_filter::RecordFilter::new(),
            active_today: daily_figures::ActiveToday::default(),
        })
    }

    fn load(store: S, genesis: &Genesis, genesis_hash: Hash) -> Result<Self, LedgerError> {
        check_store_format(&store)?;
        let mut state = State::default();
        let mut tree = StateTree::new();
        for (k, v) in store.scan_prefix(keys::STATE_PREFIX)? {
            let raw_key = k.get(keys::STATE_PREFIX.len()..).unwrap_or_default();
            let key: StateKey = codec::decode(raw_key).map_err(corrupt)?;
            if matches!(
                key,
                StateKey::Idempotency(..) | StateKey::MerchantPayment(..)
            ) {
                return Err(corrupt(
                    "an idempotency record in the state map: the store was written by a \
                     version that kept them there; start this node from a fresh home",
                ));
            }
            let value: StateValue = codec::decode(&v).map_err(corrupt)?;
            tree.update(raw_key, Some(&v));
            state.insert(key, value);
        }
        let root = tree.recompute();
        let figures = Figures::of(state.iter());
        let height = read_u64(&store, keys::META_HEIGHT)?;
        let last = store
            .get(keys::META_LAST_HASH)?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| corrupt("missing last block hash"))?;
        let base = prune::stored_base(&store)?;
        let record_filter = record_filter::RecordFilter::opened_with(&state.idempotency_days());
        let stored_root = store.get(&keys::root(height))?;
        if stored_root.as_deref() != Some(&root.0[..]) {
            return Err(corrupt(format!(
                "state root at height {height} does not match the stored state"
            )));
        }
        let last_block_time_ms = match (height, store.get(keys::META_LAST_TIME)?) {
            (0, _) => 0,
            (_, Some(bytes)) => decode_u64(&bytes)?,
            // A store written before the time was kept apart.
            (h, None) => match store.get(&keys::block(h))? {
                Some(bytes) => {
                    crate::block::Block::decode(&bytes)
                        .map_err(corrupt)?
                        .header
                        .time_ms
                }
                None => return Err(corrupt(format!("missing block {h}"))),
            },
        };
        Ok(Ledger {
            store,
            chain_id: genesis.chain_id.clone(),
            genesis_hash,
            state,
            tree,
            height,
            last_block_hash: Hash(last),
            last_block_time_ms,
            state_root: root,
            revision: 0,
            figures,
            base,
            pruning: None,
            record_filter,
            active_today: daily_figures::ActiveToday::default(),
        })
    }

    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }
    pub fn height(&self) -> u64 {
        self.height
    }
    pub fn last_block_hash(&self) -> Hash {
        self.last_block_hash
    }
    pub fn state_root(&self) -> Hash {
        self.state_root
    }
    /// The last block's time (ms since the Unix epoch; 0 before block 1).
    pub fn last_block_time_ms(&self) -> u64 {
        self.last_block_time_ms
    }
    pub fn state(&self) -> &State {
        &self.state
    }
    pub fn storage(&self) -> &S {
        &self.store
    }

    /// Where the ledger stands: what an [`ExecutedBlock`] was executed on.
    fn tip(&self) -> Tip {
        Tip {
            height: self.height,
            last_block_hash: self.last_block_hash,
            state_root: self.state_root,
            revision: self.revision,
        }
    }

    /// Would `tx` be admitted to the next block (format, chain, signer,
    /// nonce)? Signatures are checked separately, once per node; a caller
    /// that reports one code checks the signature after the chain and before
    /// this (see [`crate::rejection`]).
    pub fn check_admission(&self, tx: &Transaction) -> Result<(), Rejection> {
        execute::admit(&self.state, &self.chain_id, tx).map(|_| ())
    }

    /// Check conservation and position invariants over the whole state.
    pub fn check_invariants(&self) -> Result<invariants::Totals, invariants::InvariantViolation> {
        invariants::check(&self.state)
    }

    /// The same checks as [`Ledger::check_invariants`], with the sums over
    /// accounts taken from the ledger's [`Figures`] instead of a pass over
    /// every account: cheap enough to run after every block.
    pub fn check_block_invariants(
        &self,
    ) -> Result<invariants::Totals, invariants::InvariantViolation> {
        invariants::check_with(&self.state, &self.figures)
    }

    /// Sums over every account (balances, accounts per home cooperative),
    /// as of the last block.
    pub fn figures(&self) -> &Figures {
        &self.figures
    }
}

/// Refuse a store written in another layout ([`keys::STORE_FORMAT`]).
pub fn check_store_format<S: Storage>(store: &S) -> Result<(), LedgerError> {
    let found = match store.get(keys::META_STORE_FORMAT)? {
        Some(bytes) => Some(decode_u64(&bytes)?),
        None => None,
    };
    if found == Some(keys::STORE_FORMAT) {
        return Ok(());
    }
    Err(LedgerError::StoreFormat {
        found,
        expected: keys::STORE_FORMAT,
    })
}

fn corrupt(what: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(what.to_string())
}

fn encode_entry(key: &StateKey, value: &StateValue) -> Result<(Vec<u8>, Vec<u8>), LedgerError> {
    Ok((
        codec::encode(key).map_err(corrupt)?,
        codec::encode(value).map_err(corrupt)?,
    ))
}

fn decode_u64(bytes: &[u8]) -> Result<u64, LedgerError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt("bad u64"))
}

fn read_u64<S: Storage>(store: &S, key: &[u8]) -> Result<u64, LedgerError> {
    decode_u64(&store.get(key)?.ok_or_else(|| corrupt("missing height"))?)
}
