//! Blocks a Byzantine proposer builds besides its honest one: another valid
//! block (for equivocation), or a tampered one that honest validators must
//! refuse (bad transaction signature, wrong previous state root, a header
//! that does not match its transactions, an id that is not the hash of the
//! bytes, or bytes that are not a block at all).

use super::node::{SimStorage, BLOCK_BYTES_MAX, BLOCK_TXS_MAX};
use kopnet_consensus::{Hash, PublicKey, Value};
use kopnet_ledger::block::tx_root;
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::{Block, Transaction};
use kopnet_node::host::{values, HostState};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    /// A different block the ledger built from part of the pool.
    OtherBlock,
    BadTxSignature,
    WrongStateRoot,
    WrongTxCount,
    IdMismatch,
    Garbage,
}

/// A forged value and whether an honest validator would accept it.
#[derive(Clone, Debug)]
pub struct Forged {
    pub value: Value,
    pub forgery: Forgery,
    pub valid: bool,
}

/// A block as a consensus value: the id is the block hash.
fn to_value(block: &Block) -> Value {
    Value {
        id: block.hash(),
        // An empty value is simply refused by every validator.
        bytes: block.encode().unwrap_or_default(),
    }
}

/// Forge a value for the height of `original` (a block of the node's next
/// height, built by the proposer `proposer` from its host's mempool).
pub fn forge(
    state: &HostState<SimStorage>,
    proposer: PublicKey,
    original: &Value,
    rng: &mut ChaCha8Rng,
) -> Forged {
    let Ok(ledger) = state.ledger.read() else {
        return Forged {
            value: garbage(rng),
            forgery: Forgery::Garbage,
            valid: false,
        };
    };
    let height = ledger.height() + 1;
    let candidates = state
        .mempool
        .lock()
        .map(|m| m.candidates(BLOCK_TXS_MAX * 2, |k| ledger.next_nonce(k).ok()))
        .unwrap_or_default();
    let limits = BlockLimits {
        max_txs: BLOCK_TXS_MAX,
        max_bytes: BLOCK_BYTES_MAX,
    };
    let forgery = match rng.gen_range(0..6) {
        0 => Forgery::OtherBlock,
        1 => Forgery::BadTxSignature,
        2 => Forgery::WrongStateRoot,
        3 => Forgery::WrongTxCount,
        4 => Forgery::IdMismatch,
        _ => Forgery::Garbage,
    };
    let block = Block::decode(&original.bytes).ok();
    let (value, forgery) = match (forgery, block) {
        (Forgery::Garbage, _) | (_, None) => (garbage(rng), Forgery::Garbage),
        (Forgery::OtherBlock, Some(block)) => {
            let subset: Vec<Transaction> = candidates
                .iter()
                .filter(|_| rng.gen_bool(0.5))
                .cloned()
                .collect();
            let other = [subset.as_slice(), &[]]
                .into_iter()
                .map(|c| ledger.build_block(c, proposer, limits, &state.verified).0)
                .find(|b| b.hash() != original.id);
            match other {
                Some(other) => (to_value(&other), Forgery::OtherBlock),
                None => (wrong_root(block), Forgery::WrongStateRoot),
            }
        }
        (Forgery::BadTxSignature, Some(mut block)) if !block.txs.is_empty() => {
            let index = rng.gen_range(0..block.txs.len());
            block.txs[index].signature.0[0] ^= 1;
            let hashes: Vec<Hash> = block.txs.iter().map(Transaction::hash).collect();
            block.header.tx_root = tx_root(&hashes);
            (to_value(&block), Forgery::BadTxSignature)
        }
        (Forgery::WrongTxCount, Some(mut block)) => {
            block.header.tx_count = block.header.tx_count.wrapping_add(1);
            (to_value(&block), Forgery::WrongTxCount)
        }
        (Forgery::IdMismatch, Some(block)) => {
            let mut value = wrong_root(block);
            value.id = original.id;
            (value, Forgery::IdMismatch)
        }
        (_, Some(block)) => (wrong_root(block), Forgery::WrongStateRoot),
    };
    drop(ledger);
    // Forgeries never touch the block time: judge them without the clock bound.
    let by = values::ProposedBy {
        signer: proposer,
        fresh: true,
    };
    let valid = values::validate(state, height, by, u64::MAX, &value).is_ok();
    Forged {
        value,
        forgery,
        valid,
    }
}

fn wrong_root(mut block: Block) -> Value {
    block.header.prev_state_root =
        Hash::digest("kopnet sim forged root", &block.header.prev_state_root.0);
    to_value(&block)
}

fn garbage(rng: &mut ChaCha8Rng) -> Value {
    let bytes: Vec<u8> = (0..48).map(|_| rng.gen()).collect();
    Value {
        id: Hash::digest("kopnet sim garbage", &bytes),
        bytes,
    }
}
