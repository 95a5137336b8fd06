//! The ledger side of a simulated host: values are real blocks built by the
//! ledger from the node's pool, validity is the ledger's block validation,
//! and each height's validator set comes from the ledger's validators.

use kopnet_consensus::{Validator, ValidatorSet, ValidatorSetError, Value};
use kopnet_ledger::block::BlockDecodeError;
use kopnet_ledger::ledger::{BlockError, SignatureCheck};
use kopnet_ledger::{Block, BlockLimits, Ledger, MemoryStorage, Transaction};

use super::mempool::BLOCK_TXS_MAX;

pub type SimLedger = Ledger<MemoryStorage>;

/// Why a proposed value is not a valid next block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockRefusal {
    #[error(transparent)]
    Decode(#[from] BlockDecodeError),
    #[error("value id is not the block hash")]
    IdMismatch,
    #[error(transparent)]
    Ledger(#[from] BlockError),
}

pub fn limits() -> BlockLimits {
    BlockLimits {
        max_txs: BLOCK_TXS_MAX,
        ..BlockLimits::default()
    }
}

/// A block as a consensus value: the id is the block hash.
pub fn to_value(block: &Block) -> Value {
    Value {
        id: block.hash(),
        // Encoding a block of bounded size cannot fail; an empty value
        // would simply be refused by every validator.
        bytes: block.encode().unwrap_or_default(),
    }
}

/// Build the next block from `candidates` (the ledger skips the ones it
/// cannot admit).
pub fn build(
    ledger: &SimLedger,
    candidates: &[Transaction],
    proposer: kopnet_consensus::PublicKey,
    sigs: &dyn SignatureCheck,
) -> Block {
    ledger.build_block(candidates, proposer, limits(), sigs).0
}

/// Decode `value` and check it is a valid next block on `ledger`.
pub fn validate(
    ledger: &SimLedger,
    value: &Value,
    sigs: &dyn SignatureCheck,
) -> Result<Block, BlockRefusal> {
    let block = Block::decode(&value.bytes)?;
    if block.hash() != value.id {
        return Err(BlockRefusal::IdMismatch);
    }
    ledger.validate_block(&block, sigs)?;
    Ok(block)
}

/// The ledger's current validators as a consensus validator set.
pub fn current_set(ledger: &SimLedger) -> Result<ValidatorSet, ValidatorSetError> {
    ValidatorSet::new(
        ledger
            .validators()
            .into_iter()
            .map(|(key, voting_power)| Validator { key, voting_power })
            .collect(),
    )
}
