//! Reads of the committed state and of the stored blocks, transactions and
//! history. Nothing here changes the ledger.

use super::{corrupt, ChainPosition, ChainReader, Ledger, LedgerError, TxRecord};
use crate::block::Block;
use crate::commitment::StateProof;
use crate::evidence::{CommittedEvidence, EvidenceRecord};
use crate::keys;
use crate::payment_requests::{self, ListedRequest, RequestId};
use crate::rejection::Rejection;
use crate::settlement_window::SettlementWindow;
use crate::state::{Counters, Params, StateKey, StateRead};
use crate::storage::Storage;
use crate::types::{Cooperative, MemberAccount};
use kopnet_primitives::{codec, Hash, PublicKey};

impl<S: Storage> Ledger<S> {
    /// Validators and their voting power, sorted by key (power > 0, active).
    pub fn validators(&self) -> Vec<(PublicKey, u64)> {
        validators_of(&self.state)
    }

    pub fn cooperatives(&self) -> Vec<Cooperative> {
        let ids = self
            .state
            .params()
            .map(|p| p.participants)
            .unwrap_or_default();
        ids.iter()
            .filter_map(|id| self.state.cooperative(id))
            .collect()
    }

    /// The registered observers ([`crate::observers`]).
    pub fn observers(&self) -> crate::observers::Observers {
        crate::observers::registry(&self.state)
    }

    /// The observer keys every allow-list admits at the last block's time.
    pub fn admitted_observers(&self) -> Vec<PublicKey> {
        crate::observers::admitted(&self.state, self.last_block_time_ms())
    }

    pub fn member(&self, key: &PublicKey) -> Option<MemberAccount> {
        self.state.member(key)
    }

    /// The nonce the signer's next transaction must carry, or why the signer
    /// cannot sign at all (unknown, inactive).
    pub fn next_nonce(&self, signer: &PublicKey) -> Result<u64, Rejection> {
        crate::execute::resolve_signer(&self.state, signer)?
            .nonce()
            .checked_add(1)
            .ok_or(Rejection::Overflow)
    }

    /// Payment request `(requester, id)`, if its record is kept
    /// ([`crate::payment_requests`]).
    pub fn payment_request(
        &self,
        requester: &PublicKey,
        id: &RequestId,
    ) -> Option<payment_requests::PaymentRequest> {
        payment_requests::request(&self.state, requester, id)
    }

    /// The open requests addressed to `payer`, open ones first, as of the
    /// last block's time (at most `limit`, at most
    /// [`payment_requests::REQUESTS_PAGE_MAX`]).
    pub fn requests_to(&self, payer: &PublicKey, limit: usize) -> Vec<ListedRequest> {
        payment_requests::requests_to(&self.state, payer, self.last_block_time_ms, limit)
    }

    /// The kept requests `requester` made, in id order, a page of at most
    /// `limit` after the id `after` (see [`payment_requests::requests_by`]).
    pub fn requests_by(
        &self,
        requester: &PublicKey,
        after: Option<RequestId>,
        limit: usize,
    ) -> Vec<ListedRequest> {
        payment_requests::requests_by(&self.state, requester, after, limit)
    }

    /// A closed settlement window.
    pub fn state_window(&self, number: u64) -> Option<SettlementWindow> {
        self.state.window(number)
    }

    /// All closed settlement windows, oldest first.
    pub fn windows(&self) -> Vec<SettlementWindow> {
        let open = self.state.counters().open_window;
        (0..open).filter_map(|n| self.state.window(n)).collect()
    }

    /// Network parameters (fee rules, tier limits, participants).
    pub fn params(&self) -> Option<Params> {
        self.state.params()
    }

    /// The open window's number and other counters.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// Reads of the store through this ledger's own handle.
    fn chain(&self) -> ChainReader<&S> {
        ChainReader::new(&self.store)
    }

    /// A reader of this ledger's store that does not borrow the ledger:
    /// for readers on other threads, which then need no lock on it.
    pub fn reader(&self) -> ChainReader<S>
    where
        S: Clone,
    {
        ChainReader::new(self.store.clone())
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.chain().block(height)
    }

    /// Whether the offence of `record` is on the chain already.
    pub fn evidence_committed(&self, record: &EvidenceRecord) -> Result<bool, LedgerError> {
        Ok(self
            .store
            .get(&keys::offence(&record.identity_key()))?
            .is_some())
    }

    /// Committed evidence, newest first, at most `limit` records.
    pub fn evidence(&self, limit: usize) -> Result<Vec<CommittedEvidence>, LedgerError> {
        Ok(self
            .chain()
            .evidence(None, limit)?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    pub fn block_height_by_hash(&self, hash: &Hash) -> Result<Option<u64>, LedgerError> {
        self.chain().block_height_by_hash(hash)
    }

    pub fn state_root_at(&self, height: u64) -> Result<Option<Hash>, LedgerError> {
        self.chain().state_root_at(height)
    }

    pub fn tx(&self, hash: &Hash) -> Result<Option<TxRecord>, LedgerError> {
        self.chain().tx(hash)
    }

    /// A member's transactions, newest first: up to `limit` strictly before
    /// the position `(height, index)` if given.
    pub fn history(
        &self,
        member: &PublicKey,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<(Hash, TxRecord)>, LedgerError> {
        let before = before.map(|(height, index)| ChainPosition { height, index });
        self.chain().history(member, before, limit)
    }

    /// Host data written with a block (see [`Ledger::apply_block`]).
    pub fn host_data(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        self.chain().host_data(key)
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

/// Validators of a state: active cooperatives with voting power and a
/// validator key, as (validator key, power), sorted. The host records the
/// set derived after block `h` as the set of `h + 2`, so a rotated
/// validator key signs from two blocks after the rotation.
pub(super) fn validators_of<S: StateRead + ?Sized>(state: &S) -> Vec<(PublicKey, u64)> {
    let ids = state.params().map(|p| p.participants).unwrap_or_default();
    let mut out: Vec<(PublicKey, u64)> = ids
        .iter()
        .filter_map(|id| state.cooperative(id))
        .filter(|c| c.active && c.voting_power > 0)
        .filter_map(|c| c.validator_key.map(|k| (k, c.voting_power)))
        .collect();
    out.sort();
    out
}
