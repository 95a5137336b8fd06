//! Building the next block: the proposer picks admissible candidates in
//! order and executes them as it goes, so the block it proposes is already
//! executed. Like every block, it first removes the idempotency records
//! that expire at its time (see [`crate::idempotency`]).

use super::executed::Execution;
use super::payment_records::BlockBase;
use super::run::SignatureCheck;
use super::{ExecutedBlock, Ledger};
use crate::block::{tx_root, Block, BlockHeader, BLOCK_BYTES_MAX, BLOCK_TXS_MAX};
use crate::evidence::{evidence_root, EvidenceRecord};
use crate::rejection::Rejection;
use crate::state::Overlay;
use crate::storage::Storage;
use crate::tx::Transaction;
use kopnet_primitives::{Hash, PublicKey};

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

/// What the proposer puts in a block besides transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    pub proposer: PublicKey,
    /// The proposer's clock (ms since the Unix epoch). The block's time is
    /// this, or the parent's time + 1 if the clock is not past it.
    pub time_ms: u64,
    /// Evidence to take in, verified by the caller and not on the chain
    /// yet (see [`Ledger::evidence_committed`]).
    pub evidence: Vec<EvidenceRecord>,
}

impl BlockContext {
    /// A context with no clock reading (the block's time is the parent's
    /// + 1) and no evidence.
    pub fn new(proposer: PublicKey) -> Self {
        BlockContext {
            proposer,
            time_ms: 0,
            evidence: Vec::new(),
        }
    }
}

impl<S: Storage> Ledger<S> {
    /// Build the next block from candidates in order, skipping those that
    /// cannot be admitted (bad signature, stale or future nonce, ...).
    pub fn build_block(
        &self,
        candidates: &[Transaction],
        proposer: PublicKey,
        limits: BlockLimits,
        sigs: &dyn SignatureCheck,
    ) -> (Block, Vec<(Hash, Rejection)>) {
        let context = BlockContext::new(proposer);
        let (executed, skipped) = self.build_executed_block(candidates, context, limits, sigs);
        (executed.into_block(), skipped)
    }

    /// [`Ledger::build_block`], keeping the execution: the proposer writes
    /// its own block with [`Ledger::apply_executed`] once it is decided,
    /// without executing it again (see [`ExecutedBlock`]).
    pub fn build_executed_block(
        &self,
        candidates: &[Transaction],
        context: BlockContext,
        limits: BlockLimits,
        sigs: &dyn SignatureCheck,
    ) -> (ExecutedBlock, Vec<(Hash, Rejection)>) {
        let height = self.height.saturating_add(1);
        let time_ms = context
            .time_ms
            .max(self.last_block_time_ms.saturating_add(1));
        // A store that cannot be read gives an empty block: no payment can
        // be checked against its records (the node stops at its next
        // write anyway).
        let (mut base, candidates) = match self.block_base(candidates, time_ms) {
            Ok(base) => (base, candidates),
            Err(_) => (BlockBase::without_records(&self.state), &[][..]),
        };
        let built = loop {
            let built = self.build_on(&base, candidates, (height, time_ms), limits, sigs);
            // A run that asked for a record not looked up is not the
            // block's run (see `BlockBase`): look it up and build again.
            match self.fetch_missed(&mut base, time_ms) {
                Ok(false) => break built,
                Ok(true) => continue,
                Err(_) => {
                    let empty = BlockBase::without_records(&self.state);
                    break self.build_on(&empty, &[], (height, time_ms), limits, sigs);
                }
            }
        };
        let Built {
            chosen,
            results,
            changed,
            fees,
            skipped,
            writes,
        } = built;
        let hashes: Vec<Hash> = chosen.iter().map(|(h, _)| *h).collect();
        let BlockContext {
            proposer, evidence, ..
        } = context;
        let evidence = self.admissible_evidence(height, evidence);
        let header = BlockHeader {
            chain_id: self.chain_id.clone(),
            height,
            parent: self.last_block_hash,
            prev_state_root: self.state_root,
            tx_root: tx_root(&hashes),
            tx_count: u32::try_from(hashes.len()).unwrap_or(u32::MAX),
            proposer,
            time_ms,
            evidence_root: evidence_root(&evidence),
        };
        let txs = chosen.into_iter().map(|(_, tx)| tx).collect();
        let block = Block {
            header,
            txs,
            evidence,
        };
        let execution = Execution {
            writes,
            results,
            changed,
            fees,
        };
        let hash = block.hash();
        (
            ExecutedBlock::new(block, hash, self.tip(), execution),
            skipped,
        )
    }
}

/// The transactions a proposer chose and what running them did.
struct Built {
    chosen: Vec<(Hash, Transaction)>,
    results: Vec<(Hash, Result<(), Rejection>)>,
    changed: Vec<Vec<PublicKey>>,
    fees: Vec<crate::types::Amount>,
    skipped: Vec<(Hash, Rejection)>,
    writes: std::collections::BTreeMap<crate::state::StateKey, Option<crate::state::StateValue>>,
}

impl<S: Storage> Ledger<S> {
    /// Run the block's start on `base`, then each admissible candidate in
    /// order while the limits allow.
    fn build_on(
        &self,
        base: &BlockBase<'_>,
        candidates: &[Transaction],
        (height, time_ms): (u64, u64),
        limits: BlockLimits,
        sigs: &dyn SignatureCheck,
    ) -> Built {
        let mut overlay = Overlay::new(base);
        self.begin_block(&mut overlay, height, time_ms);
        let mut built = Built {
            chosen: Vec::new(),
            results: Vec::new(),
            changed: Vec::new(),
            fees: Vec::new(),
            skipped: Vec::new(),
            writes: Default::default(),
        };
        let mut bytes = 0usize;
        let max_txs = limits.max_txs.min(BLOCK_TXS_MAX);
        let max_bytes = limits.max_bytes.min(BLOCK_BYTES_MAX / 2);
        for tx in candidates {
            if built.chosen.len() >= max_txs {
                break;
            }
            // One encoding gives both (each costs a full encode).
            let (hash, size) = tx.hash_and_size();
            if bytes.saturating_add(size) > max_bytes {
                break;
            }
            match self.run_tx(&mut overlay, tx, hash, (height, time_ms), sigs) {
                Ok(ran) => {
                    bytes = bytes.saturating_add(size);
                    built.chosen.push((hash, tx.clone()));
                    built.results.push((hash, ran.result));
                    built.changed.push(ran.changed);
                    built.fees.push(ran.fees);
                }
                Err(reason) => built.skipped.push((hash, reason)),
            }
        }
        built.writes = overlay.into_writes();
        built
    }
}

impl<S: Storage> Ledger<S> {
    /// The records of `evidence` that block `height` may carry: within the
    /// bounds, each offence once, none already on the chain; at most
    /// [`crate::evidence::BLOCK_EVIDENCE_MAX`].
    fn admissible_evidence(
        &self,
        height: u64,
        evidence: Vec<EvidenceRecord>,
    ) -> Vec<EvidenceRecord> {
        let mut seen = std::collections::BTreeSet::new();
        evidence
            .into_iter()
            .filter(|record| {
                crate::evidence::check_list(height, std::slice::from_ref(record)).is_ok()
            })
            .filter(|record| seen.insert(record.identity()))
            .filter(|record| !self.evidence_committed(record).unwrap_or(true))
            .take(crate::evidence::BLOCK_EVIDENCE_MAX)
            .collect()
    }
}
