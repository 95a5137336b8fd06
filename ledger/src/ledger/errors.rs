//! Why a block or a ledger operation fails. A failed operation leaves the
//! ledger as it was.

use crate::genesis::GenesisError;
use crate::rejection::Rejection;
use crate::storage::StorageError;

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
    #[error("block has more than BLOCK_TXS_MAX transactions or BLOCK_BYTES_MAX bytes")]
    TooLarge,
    #[error("block time {time_ms} ms is not after its parent's {parent_ms} ms")]
    TimeNotAfterParent { time_ms: u64, parent_ms: u64 },
    #[error("block evidence: {0}")]
    Evidence(crate::evidence::EvidenceError),
    #[error("transaction {index} cannot be in a block: {reason}")]
    InvalidTx { index: usize, reason: Rejection },
    /// The records the block's payments are checked against could not be
    /// read: this node cannot judge the block (its store is failing).
    #[error("cannot read the block's idempotency records: {0}")]
    Store(String),
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
    /// The store was written in another layout ([`crate::keys`]): `found`
    /// is `None` for format 1, which had no format record.
    #[error(
        "the ledger store is in store format {}, this kopnet reads format {expected}: \
         move data/ledger aside and start the node again to resync it from peers \
         (README, \"Recovering a damaged node\")",
        found.map_or_else(|| "1".to_string(), |f| f.to_string())
    )]
    StoreFormat { found: Option<u64>, expected: u64 },
    /// An [`ExecutedBlock`](super::ExecutedBlock) was executed on another
    /// state than the ledger's current one (the ledger applied a block or
    /// was overwritten since): writing it would be wrong. Nothing was
    /// written; execute the block again with
    /// [`Ledger::apply_block_with`](super::Ledger::apply_block_with).
    #[error(
        "block {block_height} was executed on another state than the ledger's \
         (now at height {ledger_height}); execute it again"
    )]
    ExecutedOnOtherState {
        block_height: u64,
        ledger_height: u64,
    },
    /// What was asked for is below the store's base: this node pruned it
    /// (or started from a snapshot above it). Archive nodes keep it.
    #[error("height {height} is pruned on this node: history before height {base} is kept by archive nodes")]
    Pruned { height: u64, base: u64 },
}
