//! [`ChainReader`]: reads of the stored chain and state straight from the
//! store, without the [`Ledger`](super::Ledger) (and so without whatever
//! lock its owner keeps it behind).
//!
//! The node's HTTP API reads through this while the consensus loop commits:
//! a block's writes reach the store in one atomic batch
//! ([`Storage::commit`]), so each point read sees one key as of some
//! committed block, never half a block. Two reads may see two different
//! blocks (a commit may land between them); callers that combine reads say
//! which height they answer for from their own snapshot. Every list is
//! bounded by the caller's `limit`, and every lookup by hash decodes one
//! record, not a block: a transaction's own bytes are stored beside its
//! record (`keys::tx_body`). Stores written before that key existed still
//! answer: the transaction is then taken from its block (one block decoded,
//! bounded by the block size limit).

use super::{corrupt, decode_u64, LedgerError, TxRecord};
use crate::block::Block;
use crate::evidence::CommittedEvidence;
use crate::keys;
use crate::proposal::Proposal;
use crate::settlement_window::SettlementWindow;
use crate::state::{StateKey, StateValue};
use crate::storage::Storage;
use crate::tx::Transaction;
use crate::types::MemberAccount;
use kopnet_primitives::{codec, Hash, PublicKey};

/// A place in the chain: a block height and an index inside it (of a
/// transaction, or of a piece of evidence). Pages of history and evidence
/// continue strictly before one; written `HEIGHT:INDEX` in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChainPosition {
    pub height: u64,
    pub index: u32,
}

impl ChainPosition {
    /// Parse `HEIGHT:INDEX` (both decimal).
    pub fn parse(text: &str) -> Option<ChainPosition> {
        let (height, index) = text.split_once(':')?;
        Some(ChainPosition {
            height: height.parse().ok()?,
            index: index.parse().ok()?,
        })
    }
}

impl std::fmt::Display for ChainPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.height, self.index)
    }
}

/// Where a history entry is, as the history index keys it.
pub type HistoryPosition = ChainPosition;
/// Where a piece of committed evidence is, as the evidence index keys it.
pub type EvidencePosition = ChainPosition;

/// A committed transaction found by its hash: how it ended and the
/// transaction itself (`None` only if the store lost it).
pub type CommittedTx = (TxRecord, Option<Transaction>);

/// Read-only access to a ledger's store. Cheap to clone when the store is
/// (sled's handle is).
#[derive(Debug, Clone)]
pub struct ChainReader<S> {
    store: S,
}

impl<S: Storage> ChainReader<S> {
    pub fn new(store: S) -> Self {
        ChainReader { store }
    }

    /// The height of the last block written.
    pub fn height(&self) -> Result<u64, LedgerError> {
        match self.store.get(keys::META_HEIGHT)? {
            Some(bytes) => decode_u64(&bytes),
            None => Ok(0),
        }
    }

    /// The encoded block at `height`, as stored.
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(&keys::block(height))?)
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        match self.block_bytes(height)? {
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

    /// The state root after block `height`.
    pub fn state_root_at(&self, height: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self
            .store
            .get(&keys::root(height))?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Hash))
    }

    /// How a committed transaction ended.
    pub fn tx(&self, hash: &Hash) -> Result<Option<TxRecord>, LedgerError> {
        match self.store.get(&keys::tx(hash))? {
            Some(bytes) => Ok(Some(codec::decode(&bytes).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// A committed transaction and how it ended: two point reads.
    pub fn committed_tx(&self, hash: &Hash) -> Result<Option<CommittedTx>, LedgerError> {
        let Some(record) = self.tx(hash)? else {
            return Ok(None);
        };
        let tx = self.tx_body(hash, &record, &mut None)?;
        Ok(Some((record, tx)))
    }

    /// The transaction `hash` committed at `record`'s place: its own key,
    /// or, in a store written before that key, its block (kept in `block`
    /// for the next lookup in the same block).
    fn tx_body(
        &self,
        hash: &Hash,
        record: &TxRecord,
        block: &mut Option<Block>,
    ) -> Result<Option<Transaction>, LedgerError> {
        if let Some(bytes) = self.store.get(&keys::tx_body(hash))? {
            return Ok(Some(Transaction::decode(&bytes).map_err(corrupt)?));
        }
        if block.as_ref().map(|b| b.header.height) != Some(record.height) {
            *block = self.block(record.height)?;
        }
        let index = usize::try_from(record.index).map_err(corrupt)?;
        Ok(block.as_ref().and_then(|b| b.txs.get(index)).cloned())
    }

    /// A member's transactions, newest first: up to `limit` (at most
    /// [`keys::PAGE_TXS_MAX`]) strictly before `before` if given.
    pub fn history(
        &self,
        member: &PublicKey,
        before: Option<HistoryPosition>,
        limit: usize,
    ) -> Result<Vec<(Hash, TxRecord)>, LedgerError> {
        let prefix = keys::history_prefix(member);
        let upper = before.map(|p| keys::history(member, p.height, p.index));
        let rows =
            self.store
                .scan_prefix_rev(&prefix, upper.as_deref(), limit.min(keys::PAGE_TXS_MAX))?;
        let mut out = Vec::with_capacity(rows.len());
        for (_, value) in rows {
            let hash = Hash(<[u8; 32]>::try_from(value.as_slice()).map_err(corrupt)?);
            if let Some(record) = self.tx(&hash)? {
                out.push((hash, record));
            }
        }
        Ok(out)
    }

    /// [`ChainReader::history`] with each transaction: one more point read
    /// per entry.
    pub fn history_txs(
        &self,
        member: &PublicKey,
        before: Option<HistoryPosition>,
        limit: usize,
    ) -> Result<Vec<(Hash, CommittedTx)>, LedgerError> {
        let mut block = None;
        self.history(member, before, limit)?
            .into_iter()
            .map(|(hash, record)| {
                let tx = self.tx_body(&hash, &record, &mut block)?;
                Ok((hash, (record, tx)))
            })
            .collect()
    }

    /// Committed evidence, newest first: up to `limit` records strictly
    /// before `before` if given, each with its place.
    pub fn evidence(
        &self,
        before: Option<EvidencePosition>,
        limit: usize,
    ) -> Result<Vec<(EvidencePosition, CommittedEvidence)>, LedgerError> {
        let upper = before.map(|p| keys::evidence(p.height, p.index));
        self.store
            .scan_prefix_rev(keys::EVIDENCE_PREFIX, upper.as_deref(), limit)?
            .into_iter()
            .map(|(key, bytes)| {
                let place = evidence_position(&key).ok_or_else(|| corrupt("evidence key"))?;
                Ok((place, codec::decode(&bytes).map_err(corrupt)?))
            })
            .collect()
    }

    /// Host data written with a block (see [`super::Ledger::apply_block`]).
    pub fn host_data(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(&keys::host(key))?)
    }

    /// One entry of the committed state, as stored.
    pub fn state_value(&self, key: &StateKey) -> Result<Option<StateValue>, LedgerError> {
        let encoded = codec::encode(key).map_err(corrupt)?;
        match self.store.get(&keys::state(&encoded))? {
            Some(bytes) => Ok(Some(codec::decode(&bytes).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    pub fn member(&self, key: &PublicKey) -> Result<Option<MemberAccount>, LedgerError> {
        Ok(match self.state_value(&StateKey::Member(*key))? {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        })
    }

    /// A closed settlement window.
    pub fn window(&self, number: u64) -> Result<Option<SettlementWindow>, LedgerError> {
        Ok(match self.state_value(&StateKey::Window(number))? {
            Some(StateValue::Window(w)) => Some(w),
            _ => None,
        })
    }

    pub fn proposal(&self, id: u64) -> Result<Option<Proposal>, LedgerError> {
        Ok(match self.state_value(&StateKey::Proposal(id))? {
            Some(StateValue::Proposal(p)) => Some(p),
            _ => None,
        })
    }
}

/// The place an evidence key names (prefix, height u64 BE, index u32 BE).
fn evidence_position(key: &[u8]) -> Option<EvidencePosition> {
    let rest = key.strip_prefix(keys::EVIDENCE_PREFIX)?;
    let height = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let index = u32::from_be_bytes(rest.get(8..12)?.try_into().ok()?);
    Some(ChainPosition { height, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_write_as_height_colon_index() {
        let p = ChainPosition::parse("12:3").unwrap();
        assert_eq!(
            p,
            ChainPosition {
                height: 12,
                index: 3
            }
        );
        assert_eq!(p.to_string(), "12:3");
        for bad in [
            "",
            "12",
            "12:",
            ":3",
            "a:1",
            "1:-1",
            "1:4294967296",
            "1:2:3",
        ] {
            assert_eq!(ChainPosition::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_evidence_key_names_its_place() {
        let key = keys::evidence(7, 2);
        assert_eq!(
            evidence_position(&key),
            Some(ChainPosition {
                height: 7,
                index: 2
            })
        );
        assert_eq!(evidence_position(b"E123"), None);
    }
}
