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
//! transaction, not a block: its place comes from the place index under the
//! hash's prefix ([`super::place_index`]), its size and offset from its block's [`BlockTxs`], and
//! only its bytes are copied out of the stored block (store format 2, see
//! [`crate::keys`]).

use super::{
    corrupt, daily_figures, decode_u64, history_index, place_index, BlockTxs, LedgerError, TxRecord,
};
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
    pub(super) store: S,
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

    /// The lowest height whose block, certificate and indexes the store
    /// holds ([`keys::META_BASE`]; 1 when nothing was pruned).
    pub fn base_height(&self) -> Result<u64, LedgerError> {
        super::prune::stored_base(&self.store)
    }

    /// `found`, or [`LedgerError::Pruned`] when it is missing because
    /// `height` is below the base. The base is read after the record, so a
    /// record pruned between the two reads is reported pruned, not absent.
    fn or_pruned<T>(&self, found: Option<T>, height: u64) -> Result<Option<T>, LedgerError> {
        if found.is_some() {
            return Ok(found);
        }
        let base = self.base_height()?;
        if height < base {
            return Err(LedgerError::Pruned { height, base });
        }
        Ok(None)
    }

    /// The encoded block at `height`, as stored ([`LedgerError::Pruned`]
    /// below the base).
    pub fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        let found = self.store.get(&keys::block(height))?;
        self.or_pruned(found, height)
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        match self.block_bytes(height)? {
            Some(bytes) => Ok(Some(Block::decode(&bytes).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// Block `height`'s header alone: decoded from the front of the stored
    /// block (the header is encoded first), without decoding its
    /// transactions.
    pub fn header(&self, height: u64) -> Result<Option<crate::block::BlockHeader>, LedgerError> {
        let mut header = None;
        let found = self.store.read_with(&keys::block(height), &mut |bytes| {
            header = Some(codec::decode_prefix::<crate::block::BlockHeader>(bytes));
        })?;
        match (found, header) {
            (true, Some(decoded)) => Ok(Some(decoded.map_err(corrupt)?)),
            _ => Ok(None),
        }
    }

    pub fn block_height_by_hash(&self, hash: &Hash) -> Result<Option<u64>, LedgerError> {
        match self.store.get(&keys::block_hash(hash))? {
            Some(bytes) => Ok(Some(decode_u64(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The state root after block `height` ([`LedgerError::Pruned`] below
    /// the base).
    pub fn state_root_at(&self, height: u64) -> Result<Option<Hash>, LedgerError> {
        let found = self
            .store
            .get(&keys::root(height))?
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Hash);
        self.or_pruned(found, height)
    }

    /// How a committed transaction ended.
    pub fn tx(&self, hash: &Hash) -> Result<Option<TxRecord>, LedgerError> {
        Ok(self.find_tx(hash)?.map(|(record, _)| record))
    }

    /// A committed transaction and how it ended.
    pub fn committed_tx(&self, hash: &Hash) -> Result<Option<CommittedTx>, LedgerError> {
        Ok(self.find_tx(hash)?.map(|(record, tx)| (record, Some(tx))))
    }

    /// The transaction `hash` and its record: the places listed under the
    /// hash's prefix, a level of the place index at a time from the newest
    /// blocks ([`place_index::find`]), until one holds a transaction with
    /// exactly that hash. (A transaction's nonce keeps it from being
    /// committed twice; were it, the place found first is the one in the
    /// lowest level, which holds the newer blocks.)
    fn find_tx(&self, hash: &Hash) -> Result<Option<(TxRecord, Transaction)>, LedgerError> {
        let mut index = None;
        place_index::find(&self.store, hash, TX_PLACES_MAX, &mut |height, at| {
            let place = ChainPosition { height, index: at };
            Ok(self
                .tx_at(place, &mut index)?
                .filter(|(_, tx)| tx.hash() == *hash))
        })
    }

    /// The results, fees and sizes of block `height`'s transactions
    /// ([`LedgerError::Pruned`] below the base).
    pub fn block_txs(&self, height: u64) -> Result<Option<BlockTxs>, LedgerError> {
        let found = match self.store.get(&keys::block_txs(height))? {
            Some(bytes) => Some(BlockTxs::decode(&bytes).map_err(corrupt)?),
            None => None,
        };
        self.or_pruned(found, height)
    }

    /// [`ChainReader::block_txs`], with a pruned height read as absent
    /// (a transaction whose block was pruned while it was being found).
    fn block_txs_if_kept(&self, height: u64) -> Result<Option<BlockTxs>, LedgerError> {
        match self.block_txs(height) {
            Err(LedgerError::Pruned { .. }) => Ok(None),
            other => other,
        }
    }

    /// The transaction at `place` and its record, read out of its stored
    /// block without decoding the block (`None` if the store has no such
    /// block); `index` keeps the last block's [`BlockTxs`] for the next
    /// call.
    fn tx_at(
        &self,
        place: ChainPosition,
        index: &mut Option<(u64, BlockTxs)>,
    ) -> Result<Option<(TxRecord, Transaction)>, LedgerError> {
        if index.as_ref().map(|(height, _)| *height) != Some(place.height) {
            *index = self
                .block_txs_if_kept(place.height)?
                .map(|txs| (place.height, txs));
        }
        let Some((_, txs)) = index.as_ref() else {
            return Ok(None);
        };
        let at = usize::try_from(place.index).map_err(corrupt)?;
        let (Some(entry), Some(range)) = (txs.entries.get(at), txs.range_of(at)) else {
            return Err(corrupt(format!(
                "no transaction {} in block {}'s index",
                place.index, place.height
            )));
        };
        let Some(bytes) = self.store.get_range(&keys::block(place.height), range)? else {
            return Ok(None);
        };
        let tx = Transaction::decode(&bytes).map_err(corrupt)?;
        let record = TxRecord {
            height: place.height,
            index: place.index,
            result: entry.result.clone(),
            fees: entry.fees,
        };
        Ok(Some((record, tx)))
    }

    /// A member's transactions, newest first: up to `limit` (at most
    /// [`keys::PAGE_TXS_MAX`]) strictly before `before` if given, among the
    /// blocks the store holds; [`LedgerError::Pruned`] when every place
    /// before `before` is below the base. A page that reaches the base is
    /// shorter than `limit` (the caller tells the reader that what is
    /// older is pruned: [`ChainReader::base_height`]).
    pub fn history(
        &self,
        member: &PublicKey,
        before: Option<HistoryPosition>,
        limit: usize,
    ) -> Result<Vec<(Hash, TxRecord)>, LedgerError> {
        Ok(self
            .history_txs(member, before, limit)?
            .into_iter()
            .map(|(hash, (record, _))| (hash, record))
            .collect())
    }

    /// The daily aggregates of WIB days `first ..= last` (at most
    /// [`daily_figures::INDEX_DAYS_MAX`] days, the latest ones), by day then
    /// cooperative; days and cooperatives with nothing recorded are absent.
    pub fn day_figures(
        &self,
        first: u64,
        last: u64,
    ) -> Result<daily_figures::FiguresByDay, LedgerError> {
        daily_figures::read_days(&self.store, first, last)
    }

    /// [`ChainReader::history`] with each transaction: each entry's key
    /// names its place, the transaction (and so its hash) is read from its
    /// block.
    pub fn history_txs(
        &self,
        member: &PublicKey,
        before: Option<HistoryPosition>,
        limit: usize,
    ) -> Result<Vec<(Hash, CommittedTx)>, LedgerError> {
        let tip = self.height()?;
        let base = self.base_height()?;
        let first_kept = ChainPosition {
            height: base,
            index: 0,
        };
        if let Some(before) = before.filter(|b| base > 1 && *b <= first_kept) {
            return Err(LedgerError::Pruned {
                height: before.height,
                base,
            });
        }
        let places = history_index::history_places(
            &self.store,
            member,
            (base, tip),
            before,
            limit.min(keys::PAGE_TXS_MAX),
        )?;
        let mut index = None;
        let mut out = Vec::with_capacity(places.len());
        for place in places {
            if let Some((record, tx)) = self.tx_at(place, &mut index)? {
                out.push((tx.hash(), (record, Some(tx))));
            }
        }
        Ok(out)
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

/// Most places read for one hash prefix: far more than chance collisions
/// of [`keys::TX_HASH_PREFIX_BYTES`] bytes give.
const TX_PLACES_MAX: usize = 64;

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
