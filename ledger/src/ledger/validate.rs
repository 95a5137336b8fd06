//! Checking a proposed block: its header against the ledger's state, then
//! every transaction executed on an overlay. Nothing is written; the
//! execution is handed back as an [`ExecutedBlock`] for the apply step.

use super::errors::BlockError;
use super::executed::Execution;
use super::payment_records::BlockBase;
use super::run::SignatureCheck;
use super::{ExecutedBlock, Ledger, LedgerError};
use crate::block::{tx_root, Block, BLOCK_BYTES_MAX, BLOCK_TXS_MAX};
use crate::evidence::{check_list, evidence_root, EvidenceError};
use crate::state::Overlay;
use crate::storage::Storage;
use kopnet_primitives::{codec, Hash};

impl<S: Storage> Ledger<S> {
    /// Check a proposed block without changing anything, and return its
    /// execution against the current state. Write it with
    /// [`Ledger::apply_executed`] once the block is decided, so it is not
    /// executed twice; dropping it is safe (see [`ExecutedBlock`]).
    pub fn validate_block(
        &self,
        block: &Block,
        sigs: &dyn SignatureCheck,
    ) -> Result<ExecutedBlock, BlockError> {
        let execution = self.execute_block(block, sigs)?;
        Ok(ExecutedBlock::new(
            block.clone(),
            block.hash(),
            self.tip(),
            execution,
        ))
    }

    /// The header checks (chain, height, parent, previous state root, size,
    /// transaction root), the block's start (the settlement cut-off, the
    /// expiry of idempotency records) and each transaction run in block
    /// order. The first
    /// transaction that cannot be admitted makes the whole block invalid.
    pub(super) fn execute_block(
        &self,
        block: &Block,
        sigs: &dyn SignatureCheck,
    ) -> Result<Execution, BlockError> {
        let hashes = self.check_header(block)?;
        let time_ms = block.header.time_ms;
        let store_error = |e: LedgerError| BlockError::Store(e.to_string());
        let mut base = self.block_base(&block.txs, time_ms).map_err(store_error)?;
        loop {
            let ran = self.run_block(&base, block, &hashes, sigs);
            // A run that asked for a record not looked up is not the
            // block's run (see `BlockBase`): look it up and run again.
            if !self.fetch_missed(&mut base, time_ms).map_err(store_error)? {
                return ran;
            }
        }
    }

    /// Run `block`'s start and its transactions, in order, on `base`.
    fn run_block(
        &self,
        base: &BlockBase<'_>,
        block: &Block,
        hashes: &[Hash],
        sigs: &dyn SignatureCheck,
    ) -> Result<Execution, BlockError> {
        let time_ms = block.header.time_ms;
        let mut overlay = Overlay::new(base);
        self.begin_block(&mut overlay, block.header.height, time_ms);
        let mut results = Vec::with_capacity(block.txs.len());
        let mut changed = Vec::with_capacity(block.txs.len());
        let mut fees = Vec::with_capacity(block.txs.len());
        for (index, (tx, hash)) in block.txs.iter().zip(hashes.iter().copied()).enumerate() {
            let ran = self
                .run_tx(&mut overlay, tx, hash, (block.header.height, time_ms), sigs)
                .map_err(|reason| BlockError::InvalidTx { index, reason })?;
            results.push((hash, ran.result));
            changed.push(ran.changed);
            fees.push(ran.fees);
        }
        Ok(Execution {
            writes: overlay.into_writes(),
            results,
            changed,
            fees,
        })
    }

    /// Check the header against the ledger's state and the block's size and
    /// transactions; return the transaction hashes.
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
        if header.time_ms <= self.last_block_time_ms {
            return Err(BlockError::TimeNotAfterParent {
                time_ms: header.time_ms,
                parent_ms: self.last_block_time_ms,
            });
        }
        self.check_evidence(block)?;
        if block.txs.len() > BLOCK_TXS_MAX {
            return Err(BlockError::TooLarge);
        }
        // The block's encoded size: header, the list's length, each tx. A
        // block larger than any node would decode is invalid however it
        // arrived.
        let mut hashes = Vec::with_capacity(block.txs.len());
        let header_bytes = codec::encode(header).map_or(usize::MAX, |b| b.len());
        let evidence_bytes = codec::encode(&block.evidence).map_or(usize::MAX, |b| b.len());
        let mut bytes = header_bytes
            .saturating_add(8)
            .saturating_add(evidence_bytes);
        for tx in &block.txs {
            let (hash, size) = tx.hash_and_size();
            hashes.push(hash);
            bytes = bytes.saturating_add(size);
        }
        if bytes > BLOCK_BYTES_MAX {
            return Err(BlockError::TooLarge);
        }
        let count_ok = usize::try_from(header.tx_count).ok() == Some(hashes.len());
        if !count_ok || tx_root(&hashes) != header.tx_root {
            return Err(BlockError::WrongTxRoot);
        }
        Ok(hashes)
    }

    /// The evidence list: bounds, its root, and no offence on the chain
    /// already. (The proofs themselves are verified by the node host,
    /// which knows consensus messages.)
    fn check_evidence(&self, block: &Block) -> Result<(), BlockError> {
        if evidence_root(&block.evidence) != block.header.evidence_root {
            return Err(BlockError::Evidence(EvidenceError::WrongRoot));
        }
        check_list(block.header.height, &block.evidence).map_err(BlockError::Evidence)?;
        for record in &block.evidence {
            // A store that cannot answer counts as "already there": the
            // block is refused rather than an offence recorded twice.
            if self.evidence_committed(record).unwrap_or(true) {
                return Err(BlockError::Evidence(EvidenceError::AlreadyCommitted));
            }
        }
        Ok(())
    }
}
