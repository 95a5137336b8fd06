//! The ledger state as one ordered key-value map, plus overlays.
//!
//! Everything that consensus agrees on lives under a [`StateKey`], so the state
//! commitment, the storage batch and the equivalence between stores all fall
//! out of one representation. Execution never mutates the committed map
//! directly: a block runs in a block [`Overlay`], each transaction as an
//! [`Overlay::undoable`] unit on it, undone when the transaction fails. A
//! failed transaction or a failed store write therefore changes nothing.
//!
//! One kind of entry never enters the committed map: a payment's
//! [`IdempotencyRecord`]. There is one per payment ever made, so the ledger
//! keeps them on disk only, by day, and commits to each day's records
//! through one small [`IdempotencyDay`] entry (see [`crate::idempotency`]).
//! A payment to a merchant's refund record ([`crate::refunds::MerchantPayment`])
//! is kept the same way, by day, for the refund period (see
//! [`crate::refunds`]).

use crate::bounds::ValidatorLimits;
use crate::fees::FeeRule;
use crate::proposal::Proposal;
use crate::schedule::SettlementSchedule;
use crate::settlement_window::SettlementWindow;
use crate::tx::IdempotencyId;
use crate::types::TierLimits;
use crate::types::{AccountId, Amount, CoopId, Cooperative, MemberAccount};
use kopnet_primitives::{Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// Network-wide parameters, changed only by governance (every change held
/// to the bounds checked in [`crate::governance::check_params`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub chain_id: String,
    pub fee_rules: Vec<FeeRule>,
    pub tier_limits: TierLimits,
    /// Every participant ever added, sorted; includes `network`. At most
    /// [`crate::bounds::PARTICIPANTS_MAX`].
    pub participants: Vec<CoopId>,
    /// When settlement windows close.
    pub settlement: SettlementSchedule,
    /// The network's limits on its validator set.
    pub validator_limits: ValidatorLimits,
    /// How long a member-key recovery waits before it takes effect, in ms
    /// of block time (bounds in [`crate::recovery`]).
    pub recovery_wait_ms: u64,
    /// What each tier may receive per month and do ([`crate::tiers`]).
    pub tier_rules: crate::tiers::TierRules,
    /// Most rupiah of one payment to a merchant ([`crate::tiers`]).
    pub qr_payment_cap: Amount,
    /// How long a payment to a merchant may be refunded, in ms of block
    /// time (bounds in [`crate::refunds`]).
    pub refund_period_ms: u64,
    /// The daily sum of a member's cash transactions, in rupiah, at or
    /// above which observers report it ([`crate::cash_reports`]).
    pub cash_report_threshold: Amount,
    /// The protocol version blocks are executed under ([`crate::upgrades`]).
    pub protocol_version: u32,
    /// The upgrade governance scheduled, if any ([`crate::upgrades`]).
    pub upgrade: Option<crate::upgrades::ScheduledUpgrade>,
}

/// Counters that change often, kept apart from [`Params`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub minted: u128,
    pub burned: u128,
    /// Number of the open settlement window.
    pub open_window: u64,
    pub next_proposal: u64,
    pub open_proposals: u32,
    /// The calendar month (WIB) of the last block's time, in which member
    /// accounts count their incoming money ([`crate::tiers::wib_month`]).
    pub wib_month: u32,
}

/// A record kept on disk by day (an idempotency record, a merchant payment
/// record) with its place in its day's hash chain: `seq` is `n` for the
/// day's `n`-th record (from 0), which is how a snapshot lists a day's
/// records in chain order so a node that receives them can check them
/// against the day's commitment ([`crate::snapshot`]). `None` for records
/// written before store format 9, whose place was not kept
/// ([`crate::migrate`]). Not part of the chain's hash nor of the state
/// root: only the record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequenced<T> {
    pub seq: Option<u64>,
    pub record: T,
}

/// What a payment's idempotency id was first used for. Kept on disk for the
/// day of its block and the next one, then forgotten (see
/// [`crate::idempotency`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub tx: Hash,
    pub to: PublicKey,
    pub amount: Amount,
    pub memo: String,
}

/// The commitment to one day's idempotency records: how many there are and
/// a hash chain over them in the order they were written (see
/// [`crate::idempotency`]). Removed, with the day's records, when the day
/// expires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyDay {
    pub records: u64,
    pub chain: Hash,
}

/// Names every entry of the agreed state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StateKey {
    Params,
    Counters,
    Cooperative(CoopId),
    /// Which cooperative an operational key belongs to.
    CoopKey(PublicKey),
    Member(PublicKey),
    /// Balances of accounts that are not member accounts.
    Balance(AccountId),
    Window(u64),
    Proposal(u64),
    /// A payment's idempotency record. Written by execution into overlays
    /// only: the ledger stores it on disk under its day, never in
    /// [`State`], and reads it back by point lookup when a block needs it.
    Idempotency(PublicKey, IdempotencyId),
    /// The commitment to the idempotency records of one day of block time
    /// (days since the Unix epoch).
    IdempotencyDay(u64),
    /// Which cooperative a validator key or node identity belongs to (or
    /// belonged to: retired keys stay, so no key is ever used again).
    NodeKey(PublicKey),
    /// A teller's record (see [`crate::tellers`]).
    Teller(PublicKey),
    /// A cooperative's tellers and pending recoveries (see [`crate::tellers`]).
    CoopRoles(CoopId),
    /// Which member account a key that is not its address signs for, now
    /// or once (see [`crate::member_keys`]). Never removed.
    MemberKey(PublicKey),
    /// The pending recovery of a member account, by its address (see
    /// [`crate::recovery`]).
    Recovery(PublicKey),
    /// A pending recovery by the block time it takes effect (ms), then the
    /// account's address: what a block's start walks in order.
    RecoveryDue(u64, PublicKey),
    /// A key a pending recovery will install, reserved until it finishes.
    RecoveryKey(PublicKey),
    /// One recovery in the bounded log of recent ones, by sequence number.
    RecoveryLog(u64),
    /// The recovery log's next sequence number.
    RecoveryStats,
    /// A merchant's public display name (see [`crate::merchant_names`]).
    MerchantName(PublicKey),
    /// The registered observers (see [`crate::observers`]).
    Observers,
    /// The incentive programmes (see [`crate::incentives`]).
    Incentives,
    /// What the incentive programmes paid one member account this month
    /// (see [`crate::incentives`]).
    IncentiveUse(PublicKey),
    /// A payment request by its requester's address and id (see
    /// [`crate::payment_requests`]).
    PaymentRequest(PublicKey, crate::request_records::RequestId),
    /// An open request addressed to a payer: (payer, requester, id).
    RequestTo(PublicKey, PublicKey, crate::request_records::RequestId),
    /// An account's open requests, made and addressed to it.
    RequestCounts(PublicKey),
    /// A request by the block time it is due (ms: its expiry while open,
    /// its removal once ended), then requester and id: what a block's
    /// start walks in order.
    RequestDue(u64, PublicKey, crate::request_records::RequestId),
    /// A payment to a merchant, by its transaction hash, as a refund needs
    /// it. Written by execution into overlays only, like
    /// [`StateKey::Idempotency`]: stored on disk under its day, never in
    /// [`State`] (see [`crate::refunds`]).
    MerchantPayment(Hash),
    /// The commitment to the merchant payment records of one day of block
    /// time (days since the Unix epoch).
    MerchantPaymentDay(u64),
    /// What was refunded so far of the merchant payment of day `.0` with
    /// hash `.1`: created by its first refund, removed after its day
    /// expires.
    Refunded(u64, Hash),
}

/// The value stored under a [`StateKey`] (the variant always matches the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateValue {
    Params(Params),
    Counters(Counters),
    Cooperative(Cooperative),
    CoopKey(CoopId),
    Member(MemberAccount),
    Balance(Amount),
    Window(SettlementWindow),
    Proposal(Proposal),
    Idempotency(Sequenced<IdempotencyRecord>),
    IdempotencyDay(IdempotencyDay),
    NodeKey(crate::node_keys::NodeKeyUse),
    Teller(crate::role_records::Teller),
    CoopRoles(crate::role_records::CoopRoles),
    /// The account's address.
    MemberKey(PublicKey),
    Recovery(crate::role_records::Recovery),
    RecoveryDue,
    /// The account's address.
    RecoveryKey(PublicKey),
    RecoveryLog(crate::role_records::RecoveryRecord),
    RecoveryStats(crate::role_records::RecoveryStats),
    MerchantName(String),
    Observers(crate::observers::Observers),
    Incentives(crate::incentives::Programmes),
    IncentiveUse(crate::incentives::IncentiveUse),
    PaymentRequest(crate::request_records::PaymentRequest),
    RequestTo,
    RequestCounts(crate::request_records::RequestCounts),
    RequestDue,
    MerchantPayment(Sequenced<crate::refunds::MerchantPayment>),
    MerchantPaymentDay(crate::refunds::MerchantPaymentDay),
    Refunded(crate::refunds::Refunded),
}

/// Read access to state; typed getters are provided on top of `get_ref`.
pub trait StateRead {
    /// The value at `key`, borrowed: reading need not clone.
    fn get_ref(&self, key: &StateKey) -> Option<&StateValue>;

    fn get(&self, key: &StateKey) -> Option<StateValue> {
        self.get_ref(key).cloned()
    }

    /// The parameters, borrowed (fee rules and participants are vectors;
    /// hot paths read one field of them per leg).
    fn params_ref(&self) -> Option<&Params> {
        match self.get_ref(&StateKey::Params) {
            Some(StateValue::Params(p)) => Some(p),
            _ => None,
        }
    }

    fn params(&self) -> Option<Params> {
        match self.get(&StateKey::Params) {
            Some(StateValue::Params(p)) => Some(p),
            _ => None,
        }
    }
    fn counters(&self) -> Counters {
        match self.get(&StateKey::Counters) {
            Some(StateValue::Counters(c)) => c,
            _ => Counters::default(),
        }
    }
    /// A cooperative's record, borrowed (hot paths read a field or two).
    fn cooperative_ref(&self, id: &CoopId) -> Option<&Cooperative> {
        match self.get_ref(&StateKey::Cooperative(id.clone())) {
            Some(StateValue::Cooperative(c)) => Some(c),
            _ => None,
        }
    }
    fn cooperative(&self, id: &CoopId) -> Option<Cooperative> {
        match self.get(&StateKey::Cooperative(id.clone())) {
            Some(StateValue::Cooperative(c)) => Some(c),
            _ => None,
        }
    }
    /// Whose validator key or node identity `key` is (or was).
    fn node_key_use(&self, key: &PublicKey) -> Option<crate::node_keys::NodeKeyUse> {
        match self.get_ref(&StateKey::NodeKey(*key)) {
            Some(StateValue::NodeKey(used)) => Some(used.clone()),
            _ => None,
        }
    }

    fn coop_by_key(&self, key: &PublicKey) -> Option<CoopId> {
        match self.get(&StateKey::CoopKey(*key)) {
            Some(StateValue::CoopKey(id)) => Some(id),
            _ => None,
        }
    }
    /// A member account, borrowed (hot paths read a field or two).
    fn member_ref(&self, key: &PublicKey) -> Option<&MemberAccount> {
        match self.get_ref(&StateKey::Member(*key)) {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        }
    }
    fn member(&self, key: &PublicKey) -> Option<MemberAccount> {
        match self.get(&StateKey::Member(*key)) {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        }
    }
    fn internal_balance(&self, account: &AccountId) -> Amount {
        match self.get(&StateKey::Balance(account.clone())) {
            Some(StateValue::Balance(b)) => b,
            _ => 0,
        }
    }
    fn window(&self, number: u64) -> Option<SettlementWindow> {
        match self.get(&StateKey::Window(number)) {
            Some(StateValue::Window(w)) => Some(w),
            _ => None,
        }
    }
    fn proposal(&self, id: u64) -> Option<Proposal> {
        match self.get(&StateKey::Proposal(id)) {
            Some(StateValue::Proposal(p)) => Some(p),
            _ => None,
        }
    }
    fn idempotency(&self, payer: &PublicKey, id: &IdempotencyId) -> Option<IdempotencyRecord> {
        match self.get(&StateKey::Idempotency(*payer, *id)) {
            Some(StateValue::Idempotency(r)) => Some(r.record),
            _ => None,
        }
    }
    fn idempotency_day(&self, day: u64) -> Option<IdempotencyDay> {
        match self.get(&StateKey::IdempotencyDay(day)) {
            Some(StateValue::IdempotencyDay(d)) => Some(d),
            _ => None,
        }
    }
}

/// The committed state: one ordered map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    entries: BTreeMap<StateKey, StateValue>,
}

impl State {
    pub fn iter(&self) -> impl Iterator<Item = (&StateKey, &StateValue)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Apply a set of writes (`None` deletes).
    pub fn apply(&mut self, writes: &BTreeMap<StateKey, Option<StateValue>>) {
        for (key, value) in writes {
            match value {
                Some(v) => {
                    self.entries.insert(key.clone(), v.clone());
                }
                None => {
                    self.entries.remove(key);
                }
            }
        }
    }

    /// [`State::apply`], taking the writes: nothing is copied (a block's
    /// writes are not needed once applied).
    pub fn apply_owned(&mut self, writes: BTreeMap<StateKey, Option<StateValue>>) {
        for (key, value) in writes {
            match value {
                Some(v) => {
                    self.entries.insert(key, v);
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
    }

    pub fn insert(&mut self, key: StateKey, value: StateValue) {
        self.entries.insert(key, value);
    }

    /// The entries with keys in `range`, in key order.
    pub fn range<R: std::ops::RangeBounds<StateKey>>(
        &self,
        range: R,
    ) -> impl Iterator<Item = (&StateKey, &StateValue)> {
        self.entries.range(range)
    }

    /// The days that have idempotency records, oldest first.
    pub fn idempotency_days(&self) -> Vec<u64> {
        self.entries
            .range(StateKey::IdempotencyDay(0)..=StateKey::IdempotencyDay(u64::MAX))
            .filter_map(|(key, _)| match key {
                StateKey::IdempotencyDay(day) => Some(*day),
                _ => None,
            })
            .collect()
    }
}

impl State {
    /// The days that have merchant payment records, oldest first.
    pub fn merchant_payment_days(&self) -> Vec<u64> {
        self.entries
            .range(StateKey::MerchantPaymentDay(0)..=StateKey::MerchantPaymentDay(u64::MAX))
            .filter_map(|(key, _)| match key {
                StateKey::MerchantPaymentDay(day) => Some(*day),
                _ => None,
            })
            .collect()
    }
}

impl StateRead for State {
    fn get_ref(&self, key: &StateKey) -> Option<&StateValue> {
        self.entries.get(key)
    }
}

/// An entry a unit of work changed ([`Overlay::undoable`]), with what the
/// overlay held under its key just before: `None` if the overlay had not
/// written the key (the base's value stood), `Some(entry)` if it had.
pub type Touched = (StateKey, Option<Option<StateValue>>);

/// Room for the changes of a typical transaction (a payment with fees
/// changes about a dozen entries), so its journal is allocated once.
const JOURNAL_CAPACITY: usize = 16;

/// Buffered writes on top of a readable base.
#[derive(Debug)]
pub struct Overlay<'a, B: StateRead + ?Sized> {
    base: &'a B,
    writes: BTreeMap<StateKey, Option<StateValue>>,
    /// While [`Overlay::undoable`] runs: each change, with what it replaced,
    /// in the order made.
    journal: Option<Vec<Touched>>,
}

impl<'a, B: StateRead + ?Sized> Overlay<'a, B> {
    pub fn new(base: &'a B) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
            journal: None,
        }
    }

    /// Write `value` (`None` deletes), noting what it replaced if a
    /// journal is open.
    fn write(&mut self, key: StateKey, value: Option<StateValue>) {
        match &mut self.journal {
            Some(journal) => {
                let replaced = self.writes.insert(key.clone(), value);
                journal.push((key, replaced));
            }
            None => {
                self.writes.insert(key, value);
            }
        }
    }

    /// Run `f` on this overlay as one unit: if it fails, every entry it
    /// changed is put back as it was, so the overlay is as if `f` never
    /// ran. On success, also the entries `f` changed, each with what the
    /// overlay held before `f` first changed it (a key may appear more
    /// than once: the first time counts).
    ///
    /// Decided for transactions (issue 21): each ran in a nested overlay,
    /// merged into the block's when it succeeded; the merge and the reads
    /// through two overlays were a sixth of a validator's cost of executing
    /// payments. Changing the block's overlay in place and undoing a failed
    /// transaction from the journal gives the same writes for less.
    pub fn undoable<T, E>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> (Result<T, E>, Vec<Touched>) {
        let outer = self.journal.replace(Vec::with_capacity(JOURNAL_CAPACITY));
        let result = f(self);
        let journal = std::mem::replace(&mut self.journal, outer).unwrap_or_default();
        if result.is_err() {
            for (key, before) in journal.into_iter().rev() {
                match before {
                    Some(entry) => {
                        self.writes.insert(key, entry);
                    }
                    None => {
                        self.writes.remove(&key);
                    }
                }
            }
            return (result, Vec::new());
        }
        // Inside another unit, that unit must be able to undo these too.
        if let Some(outer) = &mut self.journal {
            outer.extend(journal.iter().cloned());
        }
        (result, journal)
    }

    /// The value a [`Touched`] entry had before it was changed.
    pub fn before<'s>(&'s self, touched: &'s Touched) -> Option<&'s StateValue> {
        match &touched.1 {
            Some(entry) => entry.as_ref(),
            None => self.base.get_ref(&touched.0),
        }
    }

    pub fn put(&mut self, key: StateKey, value: StateValue) {
        self.write(key, Some(value));
    }

    /// The value at `key`, to change in place: the base's value is copied
    /// into this overlay on the first call, later calls change that copy.
    /// The key counts as written from the first call on (like a
    /// [`Overlay::put`]), so callers use it only where they would have put
    /// the value back anyway. `None` if the key has no value.
    pub fn get_mut(&mut self, key: &StateKey) -> Option<&mut StateValue> {
        match self.writes.entry(key.clone()) {
            Entry::Occupied(entry) => {
                let entry = entry.into_mut();
                if let Some(journal) = &mut self.journal {
                    // The first change in a unit keeps a copy to undo it.
                    if !journal.iter().any(|(k, _)| k == key) {
                        journal.push((key.clone(), Some(entry.clone())));
                    }
                }
                entry.as_mut()
            }
            Entry::Vacant(slot) => {
                let copy = self.base.get_ref(key)?.clone();
                if let Some(journal) = &mut self.journal {
                    journal.push((key.clone(), None));
                }
                slot.insert(Some(copy)).as_mut()
            }
        }
    }

    /// A member account to change in place (see [`Overlay::get_mut`]).
    pub fn member_mut(&mut self, key: &PublicKey) -> Option<&mut MemberAccount> {
        match self.get_mut(&StateKey::Member(*key)) {
            Some(StateValue::Member(m)) => Some(m),
            _ => None,
        }
    }

    /// A cooperative's record to change in place (see [`Overlay::get_mut`]).
    pub fn cooperative_mut(&mut self, id: &CoopId) -> Option<&mut Cooperative> {
        match self.get_mut(&StateKey::Cooperative(id.clone())) {
            Some(StateValue::Cooperative(c)) => Some(c),
            _ => None,
        }
    }

    pub fn delete(&mut self, key: StateKey) {
        self.write(key, None);
    }

    pub fn writes(&self) -> &BTreeMap<StateKey, Option<StateValue>> {
        &self.writes
    }

    pub fn into_writes(self) -> BTreeMap<StateKey, Option<StateValue>> {
        self.writes
    }

    /// Take over the writes of a nested overlay that succeeded.
    pub fn merge(&mut self, writes: BTreeMap<StateKey, Option<StateValue>>) {
        if self.journal.is_none() {
            // Into an empty overlay (a block's writes lent to a fresh one
            // to read the state after them): a move, not a re-insert of
            // every entry.
            if self.writes.is_empty() {
                self.writes = writes;
            } else {
                self.writes.extend(writes);
            }
            return;
        }
        for (key, value) in writes {
            self.write(key, value);
        }
    }

    pub fn put_member(&mut self, key: PublicKey, account: MemberAccount) {
        self.put(StateKey::Member(key), StateValue::Member(account));
    }
    pub fn put_cooperative(&mut self, coop: Cooperative) {
        self.put(
            StateKey::Cooperative(coop.id.clone()),
            StateValue::Cooperative(coop),
        );
    }
    pub fn put_internal_balance(&mut self, account: AccountId, balance: Amount) {
        self.put(StateKey::Balance(account), StateValue::Balance(balance));
    }
    pub fn put_counters(&mut self, counters: Counters) {
        self.put(StateKey::Counters, StateValue::Counters(counters));
    }
    pub fn put_params(&mut self, params: Params) {
        self.put(StateKey::Params, StateValue::Params(params));
    }
    pub fn put_window(&mut self, window: SettlementWindow) {
        self.put(StateKey::Window(window.number), StateValue::Window(window));
    }
    pub fn put_proposal(&mut self, proposal: Proposal) {
        self.put(
            StateKey::Proposal(proposal.id),
            StateValue::Proposal(proposal),
        );
    }
}

impl<B: StateRead + ?Sized> StateRead for Overlay<'_, B> {
    fn get_ref(&self, key: &StateKey) -> Option<&StateValue> {
        match self.writes.get(key) {
            Some(value) => value.as_ref(),
            None => self.base.get_ref(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The balance key of cooperative `c{n}`'s fee account.
    fn key(n: u8) -> StateKey {
        let coop = CoopId::new(&format!("c{n}")).unwrap();
        StateKey::Balance(AccountId::Fee(coop))
    }

    fn balance<S: StateRead>(state: &S, n: u8) -> Option<Amount> {
        match state.get_ref(&key(n)) {
            Some(StateValue::Balance(b)) => Some(*b),
            _ => None,
        }
    }

    fn add<B: StateRead>(state: &mut Overlay<'_, B>, n: u8, amount: Amount) {
        if let Some(StateValue::Balance(b)) = state.get_mut(&key(n)) {
            *b += amount;
        }
    }

    /// 1 and 2 are in the base, 2 and 3 written by the block before the
    /// unit; the unit changes 1 (in place), 2 (put, then in place), 3
    /// (deleted) and 4 (new, through a nested overlay merged in).
    fn unit<B: StateRead>(block: &mut Overlay<'_, B>) -> Result<(), ()> {
        add(block, 1, 10);
        block.put(key(2), StateValue::Balance(200));
        add(block, 2, 1);
        block.delete(key(3));
        let mut nested = Overlay::new(&*block);
        nested.put(key(4), StateValue::Balance(4));
        let writes = nested.into_writes();
        block.merge(writes);
        Ok(())
    }

    fn base() -> State {
        let mut base = State::default();
        base.insert(key(1), StateValue::Balance(1));
        base.insert(key(2), StateValue::Balance(2));
        base
    }

    fn block(base: &State) -> Overlay<'_, State> {
        let mut block = Overlay::new(base);
        block.put(key(2), StateValue::Balance(20));
        block.put(key(3), StateValue::Balance(30));
        block
    }

    #[test]
    fn a_failed_unit_leaves_the_overlay_as_it_was() {
        let base = base();
        let mut block = block(&base);
        let before = block.writes().clone();
        let (result, touched) = block.undoable(|block| unit(block).and(Err::<(), ()>(())));
        assert!(result.is_err());
        assert!(touched.is_empty());
        assert_eq!(block.writes(), &before);
        assert_eq!(balance(&block, 1), Some(1));
        assert_eq!(balance(&block, 4), None);
    }

    #[test]
    fn a_unit_that_succeeds_keeps_its_writes_and_names_what_they_replaced() {
        let base = base();
        let mut block = block(&base);
        let (result, touched) = block.undoable(unit);
        assert!(result.is_ok());
        let mut plain = self::block(&base);
        unit(&mut plain).unwrap();
        assert_eq!(block.writes(), plain.writes());
        assert_eq!(balance(&block, 1), Some(11));
        assert_eq!(balance(&block, 2), Some(201));
        assert_eq!(balance(&block, 3), None);
        assert_eq!(balance(&block, 4), Some(4));
        // What each key held before the unit first changed it.
        let before = |n: u8| {
            let entry = touched.iter().find(|(k, _)| *k == key(n)).unwrap();
            match block.before(entry) {
                Some(StateValue::Balance(b)) => Some(*b),
                _ => None,
            }
        };
        assert_eq!(before(1), Some(1));
        assert_eq!(before(2), Some(20));
        assert_eq!(before(3), Some(30));
        assert_eq!(before(4), None);
    }
}
