//! Reading one height's records straight from the store, and the checks of
//! one block that need no replay. Every read names what it reads, so a
//! failure says which record of which height is bad.

use super::{Fault, Problem};
use crate::chain_store::{certificate_key, validator_set_key};
use kopnet_consensus::{codec, CommitCertificate, Hash, ValidatorSet};
use kopnet_ledger::block::tx_root;
use kopnet_ledger::evidence::evidence_root;
use kopnet_ledger::ledger::{encode_block, BlockTxs};
use kopnet_ledger::{keys, Block, Storage};

/// One record, read at `height` (the height a failure is reported at).
pub(crate) fn read<S: Storage>(
    store: &S,
    key: &[u8],
    height: u64,
    what: &'static str,
) -> Result<Option<Vec<u8>>, Fault> {
    store.get(key).map_err(|e| {
        Fault::at(
            height,
            Problem::Unreadable {
                what,
                reason: e.to_string(),
            },
        )
    })
}

/// One record that must exist.
pub(crate) fn require<S: Storage>(
    store: &S,
    key: &[u8],
    height: u64,
    what: &'static str,
) -> Result<Vec<u8>, Fault> {
    read(store, key, height, what)?.ok_or(Fault::at(height, Problem::Missing { what }))
}

/// A big-endian u64 record (heights, times).
pub(crate) fn decode_u64(bytes: &[u8], height: u64, what: &'static str) -> Result<u64, Fault> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            Fault::at(
                height,
                Problem::Undecodable {
                    what,
                    reason: format!("{} bytes, not 8", bytes.len()),
                },
            )
        })
}

/// A 32-byte hash record.
pub(crate) fn decode_hash(bytes: &[u8], height: u64, what: &'static str) -> Result<Hash, Fault> {
    <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| {
        Fault::at(
            height,
            Problem::Undecodable {
                what,
                reason: format!("{} bytes, not 32", bytes.len()),
            },
        )
    })
}

/// The stored state root after block `height` (genesis: 0).
pub(crate) fn root_at<S: Storage>(store: &S, height: u64) -> Result<Hash, Fault> {
    let what = "state root";
    decode_hash(
        &require(store, &keys::root(height), height, what)?,
        height,
        what,
    )
}

/// The stored validator set that signs `height`.
pub(crate) fn stored_set<S: Storage>(store: &S, height: u64) -> Result<ValidatorSet, Fault> {
    let what = "validator set";
    let key = keys::host(&validator_set_key(height));
    let bytes = require(store, &key, height, what)?;
    codec::decode(&bytes).map_err(|e| {
        Fault::at(
            height,
            Problem::Undecodable {
                what,
                reason: e.to_string(),
            },
        )
    })
}

/// Where block `height`'s parent must lead.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Parent {
    /// The hash of the block before (or the genesis hash), known.
    Hash(Hash),
    /// Unknown here (the start-up check does not decode a second block):
    /// the hash index must send the parent to `height - 1`.
    ByIndex,
}

/// Check block `height` against its header, its parent, the hash index,
/// its commit certificate (signed by more than 2/3 of `set`) and the stored
/// state root before it. Returns the block.
pub(crate) fn check_block<S: Storage>(
    store: &S,
    chain_id: &str,
    height: u64,
    parent: Parent,
    set: &ValidatorSet,
) -> Result<Block, Fault> {
    let fault = |problem| Fault::at(height, problem);
    let bytes = require(store, &keys::block(height), height, "block")?;
    let block = Block::decode(&bytes).map_err(|e| {
        fault(Problem::Undecodable {
            what: "block",
            reason: e.to_string(),
        })
    })?;
    let header = &block.header;
    if header.height != height {
        return Err(fault(Problem::WrongHeight {
            what: "block",
            found: header.height,
        }));
    }
    if header.chain_id != chain_id {
        return Err(fault(Problem::WrongChain {
            found: header.chain_id.clone(),
        }));
    }
    let hashes: Vec<Hash> = block.txs.iter().map(|tx| tx.hash()).collect();
    if tx_root(&hashes) != header.tx_root
        || usize::try_from(header.tx_count).ok() != Some(block.txs.len())
    {
        return Err(fault(Problem::TxRoot));
    }
    if evidence_root(&block.evidence) != header.evidence_root {
        return Err(fault(Problem::EvidenceRoot));
    }
    check_tx_index(store, height, &block)?;
    check_parent(store, height, header.parent, parent)?;
    let hash = block.hash();
    check_certificate(store, chain_id, height, hash, set)?;
    let indexed = read(store, &keys::block_hash(&hash), height, "block-hash index")?
        .map(|b| decode_u64(&b, height, "block-hash index"))
        .transpose()?;
    if indexed != Some(height) {
        return Err(fault(Problem::HashIndex {
            hash,
            found: indexed,
        }));
    }
    let before = root_at(store, height.saturating_sub(1))?;
    if header.prev_state_root != before {
        return Err(fault(Problem::PrevStateRoot {
            header: header.prev_state_root,
            stored: before,
        }));
    }
    Ok(block)
}

/// Block `height`'s transaction index: present, readable, and placing each
/// transaction where the stored block holds it (what the API reads a
/// transaction by). Returns it.
pub(crate) fn check_tx_index<S: Storage>(
    store: &S,
    height: u64,
    block: &Block,
) -> Result<BlockTxs, Fault> {
    let what = "transaction index";
    let bytes = require(store, &keys::block_txs(height), height, what)?;
    let index = BlockTxs::decode(&bytes).map_err(|e| {
        Fault::at(
            height,
            Problem::Undecodable {
                what,
                reason: e.to_string(),
            },
        )
    })?;
    let (_, txs_start, lens) = encode_block(block)
        .map_err(|e| Fault::at(height, Problem::TxIndex(format!("cannot be rebuilt: {e}"))))?;
    let stored_lens: Vec<u32> = index.entries.iter().map(|e| e.len).collect();
    if index.txs_start != txs_start || stored_lens != lens {
        return Err(Fault::at(
            height,
            Problem::TxIndex(format!(
                "places {} transactions from offset {}, the block holds {} from offset {}",
                stored_lens.len(),
                index.txs_start,
                lens.len(),
                txs_start
            )),
        ));
    }
    Ok(index)
}

fn check_parent<S: Storage>(
    store: &S,
    height: u64,
    found: Hash,
    parent: Parent,
) -> Result<(), Fault> {
    let fault = |problem| Fault::at(height, problem);
    match parent {
        Parent::Hash(expected) if expected == found => Ok(()),
        Parent::Hash(expected) => Err(fault(Problem::ParentLink { expected, found })),
        Parent::ByIndex => {
            let before = height.saturating_sub(1);
            let indexed = read(store, &keys::block_hash(&found), height, "block-hash index")?
                .map(|b| decode_u64(&b, height, "block-hash index"))
                .transpose()?;
            // Height 1's parent is the genesis hash, which has no index entry.
            let genesis = read(store, keys::META_GENESIS, height, "genesis hash")?;
            let is_genesis = genesis.as_deref() == Some(&found.0[..]);
            match (before, indexed) {
                (0, None) if is_genesis => Ok(()),
                (b, Some(h)) if b > 0 && h == b => Ok(()),
                _ => Err(fault(Problem::ParentUnknown {
                    parent: found,
                    expected_height: before,
                })),
            }
        }
    }
}

fn check_certificate<S: Storage>(
    store: &S,
    chain_id: &str,
    height: u64,
    hash: Hash,
    set: &ValidatorSet,
) -> Result<(), Fault> {
    let fault = |problem| Fault::at(height, problem);
    let what = "commit certificate";
    let bytes = require(store, &keys::host(&certificate_key(height)), height, what)?;
    let certificate: CommitCertificate = codec::decode(&bytes).map_err(|e| {
        fault(Problem::Undecodable {
            what,
            reason: e.to_string(),
        })
    })?;
    if certificate.height != height {
        return Err(fault(Problem::WrongHeight {
            what,
            found: certificate.height,
        }));
    }
    if certificate.value_id != hash {
        return Err(fault(Problem::NotCertified {
            stored: hash,
            signed: certificate.value_id,
        }));
    }
    certificate
        .verify(chain_id, set)
        .map_err(|e| fault(Problem::Certificate(e)))
}
