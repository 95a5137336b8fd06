//! The ledger: committed state, its commitment, and atomic block application.

use crate::block::{tx_root, Block, BlockHeader, MAX_BLOCK_BYTES, MAX_BLOCK_TXS};
use crate::commitment::{StateProof, StateTree};
use crate::execute::{self, ExecContext};
use crate::genesis::{Genesis, GenesisError};
use crate::keys;
use crate::rejection::Rejection;
use crate::state::{Overlay, State, StateKey, StateRead, StateValue};
use crate::storage::{Storage, StorageError, WriteBatch};
use crate::tx::{Action, GovAction, Transaction};
use crate::types::Amount;
use kopnet_consensus::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a committed transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    pub height: u64,
    pub index: u32,
    pub result: Result<(), Rejection>,
    /// Rupiah the transaction's fee legs moved, whoever paid them (0 when
    /// rejected or when no fee applies).
    pub fees: Amount,
}

/// Decides whether a transaction's signature is good. Nodes verify each
/// signature once (in the mempool) and answer from a cache here.
pub trait SignatureCheck {
    fn is_valid(&self, tx_hash: &Hash, tx: &Transaction) -> bool;
}

/// Verifies every signature (for audits, catch-up and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyAll;

impl SignatureCheck for VerifyAll {
    fn is_valid(&self, _tx_hash: &Hash, tx: &Transaction) -> bool {
        tx.verify_signature().is_ok()
    }
}

/// Why a block cannot be applied. The ledger is unchanged when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block is for chain {0:?}")]
    WrongChain(String),
    #[error("block height {got}, expected {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("block parent does not match the last block hash")]
    WrongParent,
    #[error("block's previous state root does not match ours")]
    WrongStateRoot,
    #[error("block's transaction root or count does not match its transactions")]
    WrongTxRoot,
    #[error("block has more than MAX_BLOCK_TXS transactions or MAX_BLOCK_BYTES bytes")]
    TooLarge,
    #[error("transaction {index} cannot be in a block: {reason}")]
    InvalidTx { index: usize, reason: Rejection },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error("invalid genesis: {0}")]
    Genesis(#[from] GenesisError),
    #[error("store belongs to another genesis")]
    GenesisMismatch,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What applying a block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    pub height: u64,
    pub hash: Hash,
    pub state_root: Hash,
    pub results: Vec<(Hash, Result<(), Rejection>)>,
    /// Per transaction, in block order: the fees it charged ([`TxRecord::fees`]).
    pub fees: Vec<Amount>,
    /// Whether the set of validators or their power changed in this block.
    pub validators_changed: bool,
}

/// Limits for building a block.
#[derive(Debug, Clone, Copy)]
pub struct BlockLimits {
    pub max_txs: usize,
    pub max_bytes: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        BlockLimits {
            max_txs: 5_000,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

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
    state_root: Hash,
    /// The last block validated against the current state, so that applying
    /// it does not execute it a second time. Keyed by block hash; cleared
    /// whenever the state moves.
    validated: std::sync::Mutex<Option<(Hash, Executed)>>,
}

#[derive(Debug, Clone)]
struct Executed {
    writes: BTreeMap<StateKey, Option<StateValue>>,
    results: Vec<(Hash, Result<(), Rejection>)>,
    /// Per transaction, the member accounts its execution changed.
    changed: Vec<Vec<PublicKey>>,
    /// Per transaction, the fees it charged.
    fees: Vec<Amount>,
}

/// One admitted transaction's execution.
struct Ran {
    result: Result<(), Rejection>,
    /// Member accounts the execution changed (none if it was rejected).
    changed: Vec<PublicKey>,
    /// Fees charged (0 if it was rejected).
    fees: Amount,
}

/// The fees a transaction's writes charged: what its fee legs added to the
/// participants' `fees_earned` (only fee legs add to it; closing a window
/// resets it, which charges nothing).
fn fees_charged<B: StateRead + ?Sized>(
    before: &B,
    writes: &BTreeMap<StateKey, Option<StateValue>>,
) -> Amount {
    let mut total: Amount = 0;
    for (key, value) in writes {
        let (StateKey::Cooperative(id), Some(StateValue::Cooperative(after))) = (key, value) else {
            continue;
        };
        let earlier = match before.get_ref(&StateKey::Cooperative(id.clone())) {
            Some(StateValue::Cooperative(c)) => c.stats.fees_earned,
            _ => 0,
        };
        let added = after.stats.fees_earned.saturating_sub(earlier);
        // A display figure: saturate rather than fail a committed block.
        total = total.checked_add(added).unwrap_or(Amount::MAX);
    }
    total
}

fn corrupt(what: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(what.to_string())
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
        batch.put(keys::META_GENESIS.to_vec(), genesis_hash.0.to_vec());
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
            state_root: root,
            validated: std::sync::Mutex::new(None),
        })
    }

    fn load(store: S, genesis: &Genesis, genesis_hash: Hash) -> Result<Self, LedgerError> {
        let mut state = State::default();
        let mut tree = StateTree::new();
        for (k, v) in store.scan_prefix(keys::STATE_PREFIX)? {
            let raw_key = k.get(keys::STATE_PREFIX.len()..).unwrap_or_default();
            let key: StateKey = codec::decode(raw_key).map_err(corrupt)?;
            let value: StateValue = codec::decode(&v).map_err(corrupt)?;
            tree.update(raw_key, Some(&v));
            state.insert(key, value);
        }
        let root = tree.recompute();
        let height = read_u64(&store, keys::META_HEIGHT)?;
        let last = store
            .get(keys::META_LAST_HASH)?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| corrupt("missing last block hash"))?;
        let stored_root = store.get(&keys::root(height))?;
        if stored_root.as_deref() != Some(&root.0[..]) {
            return Err(corrupt(format!(
                "state root at height {height} does not match the stored state"
            )));
        }
        Ok(Ledger {
            store,
            chain_id: genesis.chain_id.clone(),
            genesis_hash,
            state,
            tree,
            height,
            last_block_hash: Hash(last),
            state_root: root,
            validated: std::sync::Mutex::new(None),
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
    pub fn state(&self) -> &State {
        &self.state
    }
    pub fn storage(&self) -> &S {
        &self.store
    }

    /// Would `tx` be admitted to the next block (format, chain, signer,
    /// nonce)? Signatures are checked separately, once per node; a caller
    /// that reports one code checks the signature after the chain and before
    /// this (see [`crate::rejection`]).
    pub fn check_admission(&self, tx: &Transaction) -> Result<(), Rejection> {
        execute::admit(&self.state, &self.chain_id, tx).map(|_| ())
    }

    /// Build the next block from candidates in order, skipping those that
    /// cannot be admitted (bad signature, stale or future nonce, ...).
    pub fn build_block(
        &self,
        candidates: &[Transaction],
        proposer: PublicKey,
        limits: BlockLimits,
        sigs: &dyn SignatureCheck,
    ) -> (Block, Vec<(Hash, Rejection)>) {
        let height = self.height.saturating_add(1);
        let mut overlay = Overlay::new(&self.state);
        let mut chosen = Vec::new();
        let mut results = Vec::new();
        let mut changed = Vec::new();
        let mut fees = Vec::new();
        let mut skipped = Vec::new();
        let mut bytes = 0usize;
        let max_txs = limits.max_txs.min(MAX_BLOCK_TXS);
        let max_bytes = limits.max_bytes.min(MAX_BLOCK_BYTES / 2);
        for tx in candidates {
            if chosen.len() >= max_txs {
                break;
            }
            let size = tx.encoded_len();
            if bytes.saturating_add(size) > max_bytes {
                break;
            }
            let hash = tx.hash();
            match self.run_tx(&mut overlay, tx, hash, height, sigs) {
                Ok(ran) => {
                    bytes = bytes.saturating_add(size);
                    chosen.push((hash, tx.clone()));
                    results.push((hash, ran.result));
                    changed.push(ran.changed);
                    fees.push(ran.fees);
                }
                Err(reason) => skipped.push((hash, reason)),
            }
        }
        let hashes: Vec<Hash> = chosen.iter().map(|(h, _)| *h).collect();
        let header = BlockHeader {
            chain_id: self.chain_id.clone(),
            height,
            parent: self.last_block_hash,
            prev_state_root: self.state_root,
            tx_root: tx_root(&hashes),
            tx_count: u32::try_from(hashes.len()).unwrap_or(u32::MAX),
            proposer,
        };
        let txs = chosen.into_iter().map(|(_, tx)| tx).collect();
        let block = Block { header, txs };
        // The proposer applies what it built without executing it again.
        if let Ok(mut cache) = self.validated.lock() {
            let executed = Executed {
                writes: overlay.into_writes(),
                results,
                changed,
                fees,
            };
            *cache = Some((block.hash(), executed));
        }
        (block, skipped)
    }

    /// Admit and execute one transaction on `overlay`. `Err` means the
    /// transaction could not be admitted; `Ok` holds its execution result and
    /// the member accounts it changed.
    /// Admission follows the precedence in [`crate::rejection`]: format and
    /// chain, then the signature, then signer and nonce.
    fn run_tx<B: StateRead + ?Sized>(
        &self,
        overlay: &mut Overlay<'_, B>,
        tx: &Transaction,
        hash: Hash,
        height: u64,
        sigs: &dyn SignatureCheck,
    ) -> Result<Ran, Rejection> {
        execute::check_stateless(&self.chain_id, tx)?;
        if !sigs.is_valid(&hash, tx) {
            return Err(Rejection::BadSignature);
        }
        let signer = execute::find_signer(&*overlay, tx)?;
        let ctx = ExecContext {
            height,
            tx_hash: hash,
        };
        let mut nested = Overlay::new(&*overlay);
        let result = execute::execute(&mut nested, &signer, &tx.body.action, ctx);
        let writes = nested.into_writes();
        let mut changed = Vec::new();
        let mut fees = 0;
        if result.is_ok() {
            changed = writes
                .keys()
                .filter_map(|key| match key {
                    StateKey::Member(member) => Some(*member),
                    _ => None,
                })
                .collect();
            fees = fees_charged(&*overlay, &writes);
            overlay.merge(writes);
        }
        execute::bump_nonce(overlay, tx);
        Ok(Ran {
            result,
            changed,
            fees,
        })
    }

    /// Check a proposed block without changing anything.
    pub fn validate_block(
        &self,
        block: &Block,
        sigs: &dyn SignatureCheck,
    ) -> Result<(), BlockError> {
        let executed = self.execute_block(block, sigs)?;
        if let Ok(mut cache) = self.validated.lock() {
            *cache = Some((block.hash(), executed));
        }
        Ok(())
    }

    fn check_header(&self, block: &Block) -> Result<Vec<Hash>, BlockError> {
        let header = &block.header;
        if header.chain_id != self.chain_id {
            return Err(BlockError::WrongChain(header.chain_id.clone()));
        }
        let expected = self.height.saturating_add(1);
        if header.height != expected {
            return Err(BlockError::WrongHeight {
                expected,
                got: header.height,
            });
        }
        if header.parent != self.last_block_hash {
            return Err(BlockError::WrongParent);
        }
        if header.prev_state_root != self.state_root {
            return Err(BlockError::WrongStateRoot);
        }
        if block.txs.len() > MAX_BLOCK_TXS {
            return Err(BlockError::TooLarge);
        }
        // The block's encoded size: header, the list's length, each tx. A
        // block larger than any node would decode is invalid however it
        // arrived.
        let mut hashes = Vec::with_capacity(block.txs.len());
        let header_bytes = codec::encode(header).map_or(usize::MAX, |b| b.len());
        let mut bytes = header_bytes.saturating_add(8);
        for tx in &block.txs {
            let (hash, size) = tx.hash_and_size();
            hashes.push(hash);
            bytes = bytes.saturating_add(size);
        }
        if bytes > MAX_BLOCK_BYTES {
            return Err(BlockError::TooLarge);
        }
        let count_ok = usize::try_from(header.tx_count).ok() == Some(hashes.len());
        if !count_ok || tx_root(&hashes) != header.tx_root {
            return Err(BlockError::WrongTxRoot);
        }
        Ok(hashes)
    }

    fn execute_block(
        &self,
        block: &Block,
        sigs: &dyn SignatureCheck,
    ) -> Result<Executed, BlockError> {
        let hashes = self.check_header(block)?;
        let mut overlay = Overlay::new(&self.state);
        let mut results = Vec::with_capacity(block.txs.len());
        let mut changed = Vec::with_capacity(block.txs.len());
        let mut fees = Vec::with_capacity(block.txs.len());
        for (index, (tx, hash)) in block.txs.iter().zip(hashes).enumerate() {
            let ran = self
                .run_tx(&mut overlay, tx, hash, block.header.height, sigs)
                .map_err(|reason| BlockError::InvalidTx { index, reason })?;
            results.push((hash, ran.result));
            changed.push(ran.changed);
            fees.push(ran.fees);
        }
        Ok(Executed {
            writes: overlay.into_writes(),
            results,
            changed,
            fees,
        })
    }

    /// Apply a block: all of its effects land in storage in one atomic,
    /// durable batch, or none do. `extra` entries (for example the commit
    /// certificate) are written in the same batch under the host prefix.
    pub fn apply_block(
        &mut self,
        block: &Block,
        sigs: &dyn SignatureCheck,
        extra: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<BlockOutcome, LedgerError> {
        self.apply_block_with(block, sigs, extra, |_| Vec::new())
    }

    /// [`Ledger::apply_block`], where `after` sees the validators (key,
    /// power; sorted) the state will have after the block and returns more
    /// host entries for the same batch: the node records the validator set
    /// that signs two heights later in the block's own write, so no crash
    /// can separate the two.
    pub fn apply_block_with(
        &mut self,
        block: &Block,
        sigs: &dyn SignatureCheck,
        mut extra: Vec<(Vec<u8>, Vec<u8>)>,
        after: impl FnOnce(&[(PublicKey, u64)]) -> Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<BlockOutcome, LedgerError> {
        let hash = block.hash();
        let cached = self
            .validated
            .lock()
            .ok()
            .and_then(|mut cache| cache.take())
            .filter(|(validated, _)| *validated == hash);
        let executed = match cached {
            // Same hash: same header (parent, previous root, tx root) on the
            // same state, so executing again would give the same result.
            Some((_, executed)) if self.check_header(block).is_ok() => executed,
            _ => self.execute_block(block, sigs)?,
        };
        let mut executed = executed;
        let height = block.header.height;
        let validators_before = self.validators();
        let validators_after = {
            let mut post = Overlay::new(&self.state);
            post.merge(std::mem::take(&mut executed.writes));
            let validators = validators_of(&post);
            executed.writes = post.into_writes();
            validators
        };
        extra.extend(after(&validators_after));

        let mut batch = WriteBatch::default();
        let mut encoded = Vec::with_capacity(executed.writes.len());
        for (key, value) in &executed.writes {
            let k = codec::encode(key).map_err(corrupt)?;
            let v = match value {
                Some(v) => Some(codec::encode(v).map_err(corrupt)?),
                None => None,
            };
            encoded.push((k, v));
        }
        for (k, v) in &encoded {
            self.tree.update(k, v.as_deref());
            match v {
                Some(v) => batch.put(keys::state(k), v.clone()),
                None => batch.delete(keys::state(k)),
            }
        }
        let root = self.tree.recompute();
        self.index_block(&mut batch, block, hash, &executed)?;
        batch.put(keys::META_HEIGHT.to_vec(), height.to_be_bytes().to_vec());
        batch.put(keys::META_LAST_HASH.to_vec(), hash.0.to_vec());
        batch.put(keys::root(height), root.0.to_vec());
        for (k, v) in extra {
            batch.put(keys::host(&k), v);
        }

        if let Err(error) = self.store.commit(batch) {
            // Put the commitment back as it was: the state map is untouched.
            for (k, _) in &encoded {
                let old = match codec::decode::<StateKey>(k)
                    .ok()
                    .and_then(|key| self.state.get(&key))
                {
                    Some(value) => Some(codec::encode(&value).map_err(corrupt)?),
                    None => None,
                };
                self.tree.update(k, old.as_deref());
            }
            self.tree.recompute();
            return Err(error.into());
        }
        self.state.apply(&executed.writes);
        self.height = height;
        self.last_block_hash = hash;
        self.state_root = root;
        let validators_changed = validators_after != validators_before;
        Ok(BlockOutcome {
            height,
            hash,
            state_root: root,
            results: executed.results,
            fees: executed.fees,
            validators_changed,
        })
    }

    fn index_block(
        &self,
        batch: &mut WriteBatch,
        block: &Block,
        hash: Hash,
        executed: &Executed,
    ) -> Result<(), LedgerError> {
        let height = block.header.height;
        batch.put(keys::block(height), block.encode().map_err(corrupt)?);
        batch.put(keys::block_hash(&hash), height.to_be_bytes().to_vec());
        let runs = executed
            .results
            .iter()
            .zip(&executed.changed)
            .zip(&executed.fees);
        for (index, (tx, (((tx_hash, result), changed), fees))) in
            block.txs.iter().zip(runs).enumerate()
        {
            let index = u32::try_from(index).map_err(corrupt)?;
            let record = TxRecord {
                height,
                index,
                result: result.clone(),
                fees: *fees,
            };
            batch.put(keys::tx(tx_hash), codec::encode(&record).map_err(corrupt)?);
            // Those the transaction names, and those whose account it
            // changed: a freeze, unfreeze or incentive lands in the member's
            // history under the approval that executed it.
            let mut members = touched_members(tx);
            members.extend(changed);
            members.sort();
            members.dedup();
            for member in members {
                batch.put(keys::history(&member, height, index), tx_hash.0.to_vec());
            }
        }
        Ok(())
    }

    // ---- queries ----

    /// Validators and their voting power, sorted by key (power > 0, active).
    pub fn validators(&self) -> Vec<(PublicKey, u64)> {
        validators_of(&self.state)
    }

    pub fn cooperatives(&self) -> Vec<crate::types::Cooperative> {
        let ids = self
            .state
            .params()
            .map(|p| p.participants)
            .unwrap_or_default();
        ids.iter()
            .filter_map(|id| self.state.cooperative(id))
            .collect()
    }

    pub fn member(&self, key: &PublicKey) -> Option<crate::types::MemberAccount> {
        self.state.member(key)
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        match self.store.get(&keys::block(height))? {
            Some(bytes) => Ok(Some(Block::decode(&bytes).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    pub fn block_height_by_hash(&self, hash: &Hash) -> Result<Option<u64>, LedgerError> {
        match self.store.get(&keys::block_hash(hash))? {
            Some(bytes) => Ok(Some(decode_u64(&bytes)?)),
            None => Ok(None),
        }
    }

    pub fn state_root_at(&self, height: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self
            .store
            .get(&keys::root(height))?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Hash))
    }

    pub fn tx(&self, hash: &Hash) -> Result<Option<TxRecord>, LedgerError> {
        match self.store.get(&keys::tx(hash))? {
            Some(bytes) => Ok(Some(codec::decode(&bytes).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// A member's transactions, newest first: up to `limit` strictly before
    /// the position `(height, index)` if given.
    pub fn history(
        &self,
        member: &PublicKey,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<(Hash, TxRecord)>, LedgerError> {
        let prefix = keys::history_prefix(member);
        let upper = before.map(|(h, i)| keys::history(member, h, i));
        let rows =
            self.store
                .scan_prefix_rev(&prefix, upper.as_deref(), limit.min(keys::MAX_PAGE))?;
        let mut out = Vec::with_capacity(rows.len());
        for (_, value) in rows {
            let hash = Hash(<[u8; 32]>::try_from(value.as_slice()).map_err(corrupt)?);
            if let Some(record) = self.tx(&hash)? {
                out.push((hash, record));
            }
        }
        Ok(out)
    }

    /// Host data written with a block (see [`Ledger::apply_block`]).
    pub fn host_data(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(&keys::host(key))?)
    }

    /// A proof of one state entry against the current state root.
    pub fn prove(&self, key: &StateKey) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        let k = codec::encode(key).map_err(corrupt)?;
        let value = match self.state.get(key) {
            Some(v) => Some(codec::encode(&v).map_err(corrupt)?),
            None => None,
        };
        Ok((value, self.tree.prove(&k)))
    }
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

/// Member accounts a transaction names (signer, payee, registered or minted
/// member, the member of a proposed freeze, unfreeze or incentive). The
/// history index shows a transaction under these and under every member
/// account its execution changed, so a governance action's effect is also
/// found under the approval that executed it.
pub fn touched_members(tx: &Transaction) -> Vec<PublicKey> {
    let mut out = vec![tx.body.signer];
    match &tx.body.action {
        Action::RegisterMember { member, .. }
        | Action::Mint { member, .. }
        | Action::Burn { member, .. }
        | Action::CashIn { member, .. } => out.push(*member),
        Action::Payment { to, .. } => out.push(*to),
        Action::Propose {
            action:
                GovAction::Freeze { member }
                | GovAction::Unfreeze { member }
                | GovAction::FundIncentive { member, .. },
        } => out.push(*member),
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

impl<S: Storage> Ledger<S> {
    /// Check conservation and position invariants over the whole state.
    pub fn check_invariants(
        &self,
    ) -> Result<crate::invariants::Totals, crate::invariants::InvariantViolation> {
        crate::invariants::check(&self.state)
    }
}

impl<S: Storage> Ledger<S> {
    /// FAULT INJECTION ONLY, for the node's `KOPNET_FAULT=double-credit`:
    /// overwrite a member account in the state and in storage outside of
    /// any block, leaving the state root as it was: the kind of corruption
    /// the testnet runner must catch. A healthy node never calls this.
    #[doc(hidden)]
    pub fn fault_overwrite_member(
        &mut self,
        key: PublicKey,
        account: crate::types::MemberAccount,
    ) -> Result<(), LedgerError> {
        let state_key = StateKey::Member(key);
        let value = StateValue::Member(account);
        let mut batch = WriteBatch::default();
        batch.put(
            keys::state(&codec::encode(&state_key).map_err(corrupt)?),
            codec::encode(&value).map_err(corrupt)?,
        );
        self.store.commit(batch)?;
        self.state.insert(state_key, value);
        if let Ok(mut cache) = self.validated.lock() {
            *cache = None;
        }
        Ok(())
    }
}

impl<S: Storage> Ledger<S> {
    /// A closed settlement window.
    pub fn state_window(&self, number: u64) -> Option<crate::settlement_window::SettlementWindow> {
        self.state.window(number)
    }

    /// All closed settlement windows, oldest first.
    pub fn windows(&self) -> Vec<crate::settlement_window::SettlementWindow> {
        let open = self.state.counters().open_window;
        (0..open).filter_map(|n| self.state.window(n)).collect()
    }

    /// Network parameters (fee rules, tier limits, participants).
    pub fn params(&self) -> Option<crate::state::Params> {
        self.state.params()
    }

    /// The open window's number and other counters.
    pub fn counters(&self) -> crate::state::Counters {
        self.state.counters()
    }
}

impl<S: Storage> Ledger<S> {
    /// The nonce the signer's next transaction must carry, or why the signer
    /// cannot sign at all (unknown, inactive).
    pub fn next_nonce(&self, signer: &PublicKey) -> Result<u64, Rejection> {
        use crate::state::StateRead;
        let nonce = if let Some(id) = self.state.coop_by_key(signer) {
            let coop = self
                .state
                .cooperative(&id)
                .ok_or(Rejection::UnknownSigner)?;
            if !coop.active {
                return Err(Rejection::SignerInactive);
            }
            coop.nonce
        } else if let Some(member) = self.state.member(signer) {
            member.nonce
        } else {
            return Err(Rejection::UnknownSigner);
        };
        nonce.checked_add(1).ok_or(Rejection::Overflow)
    }
}

/// What a transaction would do, computed without signing or committing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Balance changes by account, in account order.
    pub deltas: Vec<(crate::types::AccountId, i128)>,
    /// What the signer pays beyond the principal (fees), if it is a member.
    pub signer_fees: u64,
    /// What the payee receives after fees taken from it (payments only).
    pub payee_receives: Option<u64>,
}

impl<S: Storage> Ledger<S> {
    /// Dry-run `action` as `signer` against the committed state: the rejection
    /// it would get, or the balance changes and fees it would cause. Used to
    /// show a member the fee before they confirm.
    pub fn quote(&self, signer: &PublicKey, action: &Action) -> Result<Quote, Rejection> {
        use crate::types::AccountId;
        let nonce = self.next_nonce(signer)?;
        let tx = Transaction {
            body: crate::tx::TxBody {
                chain_id: self.chain_id.clone(),
                signer: *signer,
                nonce,
                action: action.clone(),
            },
            signature: kopnet_consensus::Signature([0; 64]),
        };
        let admitted = execute::admit(&self.state, &self.chain_id, &tx)?;
        let mut overlay = Overlay::new(&self.state);
        let ctx = ExecContext {
            height: self.height.saturating_add(1),
            tx_hash: Hash::ZERO,
        };
        execute::execute(&mut overlay, &admitted, action, ctx)?;
        let mut deltas = Vec::new();
        for (key, value) in overlay.writes() {
            let (account, after) = match (key, value) {
                (StateKey::Member(k), Some(StateValue::Member(m))) => {
                    (AccountId::Member(*k), m.balance)
                }
                (StateKey::Balance(a), Some(StateValue::Balance(b))) => (a.clone(), *b),
                _ => continue,
            };
            let before = crate::legs::balance_of(&self.state, &account).unwrap_or(0);
            let delta = i128::from(after) - i128::from(before);
            if delta != 0 {
                deltas.push((account, delta));
            }
        }
        let delta_of = |a: &AccountId| {
            deltas
                .iter()
                .find(|(k, _)| k == a)
                .map(|(_, d)| *d)
                .unwrap_or(0)
        };
        let principal = match action {
            Action::Payment { amount, .. } | Action::CashOut { amount, .. } => i128::from(*amount),
            _ => 0,
        };
        let signer_delta = delta_of(&AccountId::Member(*signer));
        let signer_fees = u64::try_from((-signer_delta - principal).max(0)).unwrap_or(0);
        let payee_receives = match action {
            Action::Payment { to, .. } => {
                u64::try_from(delta_of(&AccountId::Member(*to)).max(0)).ok()
            }
            _ => None,
        };
        Ok(Quote {
            deltas,
            signer_fees,
            payee_receives,
        })
    }
}

/// Validators of a state: active cooperatives with voting power and a key,
/// as (key, power), sorted.
fn validators_of<S: StateRead + ?Sized>(state: &S) -> Vec<(PublicKey, u64)> {
    let ids = state.params().map(|p| p.participants).unwrap_or_default();
    let mut out: Vec<(PublicKey, u64)> = ids
        .iter()
        .filter_map(|id| state.cooperative(id))
        .filter(|c| c.active && c.voting_power > 0)
        .filter_map(|c| c.key.map(|k| (k, c.voting_power)))
        .collect();
    out.sort();
    out
}
