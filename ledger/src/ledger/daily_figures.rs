//! Daily aggregates per (WIB day, cooperative), written with each block in
//! the block's own atomic batch (store format 6): what the Indeks Kota
//! Koperasi (`GET /v1/index`, `kopnet audit index`) is computed from, so
//! that answering it reads at most [`INDEX_DAYS_MAX`] days of small records
//! instead of walking 60 days of blocks per request.
//!
//! Like the history index ([`super::history_index`]) these are local: not
//! part of the state or any hash. Every node that applied the same blocks
//! holds the same figures, but nothing agrees on them.
//!
//! Per block, for the WIB day of its header time ([`wib_day`]) and each
//! cooperative, [`DayFigures`] adds (successful transactions only):
//!
//! - **payments**: `Payment` and `PayRequest`, counted at the payer's home
//!   cooperative, with their rupiah; **cross-cooperative** ones (payee homed
//!   elsewhere) also apart;
//! - **fees**: the rupiah the cooperative's fee account gained and lost in
//!   the block (fee shares earned; fees it paid and shares given back by
//!   refunds), from the block's state writes;
//! - **cash-outs served for other cooperatives' members**: `CashOut` at
//!   this cooperative's counter by a member homed elsewhere;
//! - **new members and merchants**: accounts registered with this home;
//! - **last active members**: member accounts (kind `member`) whose latest
//!   own transaction (one they signed, of any kind) falls on this day.
//!
//! Active members are kept exact without a scan: each member has one local
//! record of its last active day (`L`). When a member is active on a new
//! day, the day's `last_active_members` of its home gains one and the day
//! it was last active before loses one. So every member is counted on
//! exactly one day, its latest, and the members active in a window of days
//! is the sum of the window's `last_active_members`: distinct, with no
//! per-member scan, at one small read per distinct active member per block
//! and one write per member per active day. (A count of distinct members
//! per day could not be summed over 30 days; a scan of every member's
//! record per request would cost time in proportion to the membership.)
//!
//! A node restored from a state snapshot instead of blocks has no figures
//! for the days before; the index then starts where its blocks start.

use super::{corrupt, LedgerError};
use crate::block::Block;
use crate::keys;
use crate::rejection::Rejection;
use crate::role_records::wib_day;
use crate::state::{StateKey, StateRead, StateValue};
use crate::storage::{Storage, WriteBatch};
use crate::tx::Action;
use crate::types::{AccountId, AccountKind, Amount, CoopId};
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most days one read of the figures returns: two 30-day windows (the
/// index compares the last 30 days with the 30 before) and a margin.
pub const INDEX_DAYS_MAX: u64 = 62;
/// `D` rows asked of the store at a time when reading a range of days.
const ROWS_PER_SCAN: usize = 256;

/// One cooperative's aggregates of one WIB day. Rupiah sums are `u128`:
/// a day's volume is a sum of `u64` amounts and cannot reach its limit
/// (additions saturate rather than fail a block over a display figure).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// Payments (`Payment`, `PayRequest`) whose payer is homed here.
    pub payments: u64,
    pub payments_rupiah: u128,
    /// Those of them whose payee is homed at another cooperative.
    pub cross_payments: u64,
    pub cross_payments_rupiah: u128,
    /// Rupiah the cooperative's fee account gained (fee shares earned).
    pub fees_earned_rupiah: u128,
    /// Rupiah the cooperative's fee account lost (fees it paid, shares
    /// given back by refunds).
    pub fees_given_rupiah: u128,
    /// `CashOut`s at this cooperative's counter by members homed elsewhere.
    pub cash_outs_for_others: u64,
    pub cash_outs_for_others_rupiah: u128,
    /// Member accounts (kind `member`) registered with this home.
    pub new_members: u64,
    /// Merchant accounts registered with this home.
    pub new_merchants: u64,
    /// Member accounts (kind `member`) of this home whose latest own
    /// transaction is on this day (see the module docs).
    pub last_active_members: u64,
}

impl DayFigures {
    /// Add `other`'s counts to these (the city's total, a window's sum).
    pub fn add(&mut self, other: &DayFigures) {
        self.payments = self.payments.saturating_add(other.payments);
        self.payments_rupiah = self.payments_rupiah.saturating_add(other.payments_rupiah);
        self.cross_payments = self.cross_payments.saturating_add(other.cross_payments);
        self.cross_payments_rupiah = self
            .cross_payments_rupiah
            .saturating_add(other.cross_payments_rupiah);
        self.fees_earned_rupiah = self
            .fees_earned_rupiah
            .saturating_add(other.fees_earned_rupiah);
        self.fees_given_rupiah = self
            .fees_given_rupiah
            .saturating_add(other.fees_given_rupiah);
        self.cash_outs_for_others = self
            .cash_outs_for_others
            .saturating_add(other.cash_outs_for_others);
        self.cash_outs_for_others_rupiah = self
            .cash_outs_for_others_rupiah
            .saturating_add(other.cash_outs_for_others_rupiah);
        self.new_members = self.new_members.saturating_add(other.new_members);
        self.new_merchants = self.new_merchants.saturating_add(other.new_merchants);
        self.last_active_members = self
            .last_active_members
            .saturating_add(other.last_active_members);
    }

    fn pay(&mut self, amount: Amount, cross: bool) {
        self.payments = self.payments.saturating_add(1);
        self.payments_rupiah = self.payments_rupiah.saturating_add(u128::from(amount));
        if cross {
            self.cross_payments = self.cross_payments.saturating_add(1);
            self.cross_payments_rupiah = self
                .cross_payments_rupiah
                .saturating_add(u128::from(amount));
        }
    }
}

/// Figures by day, then cooperative, as read back.
pub type FiguresByDay = BTreeMap<u64, BTreeMap<CoopId, DayFigures>>;

/// Where a member account is homed and of which kind, after the block.
pub trait Homes {
    /// The account at `address`: its home and kind.
    fn home(&self, address: &PublicKey) -> Option<(CoopId, AccountKind)>;
    /// The account address `key` signs for (itself unless rotated).
    fn address_of(&self, key: &PublicKey) -> Option<PublicKey>;
}

impl<T: StateRead + ?Sized> Homes for T {
    fn home(&self, address: &PublicKey) -> Option<(CoopId, AccountKind)> {
        self.member_ref(address).map(|m| (m.home.clone(), m.kind))
    }

    fn address_of(&self, key: &PublicKey) -> Option<PublicKey> {
        if self.member_ref(key).is_some() {
            return Some(*key);
        }
        crate::member_keys::resolve(self, key)
            .ok()
            .flatten()
            .map(|(address, _)| address)
    }
}

/// One block's additions to its day's figures, before they are merged
/// with what the store holds: pure, so the rules are tested without a
/// store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockDay {
    pub day: u64,
    pub coops: BTreeMap<CoopId, DayFigures>,
    /// Member accounts (kind `member`) that signed a successful
    /// transaction in the block, with their home.
    pub active: BTreeMap<PublicKey, CoopId>,
}

impl BlockDay {
    /// An empty account of the WIB day of a block at `time_ms`.
    pub fn new(time_ms: u64) -> BlockDay {
        BlockDay {
            day: wib_day(time_ms),
            ..BlockDay::default()
        }
    }

    /// Count `block`'s successful transactions (`results` in block order),
    /// read against the state after the block (`after`).
    pub fn transactions(
        &mut self,
        block: &Block,
        results: &[(Hash, Result<(), Rejection>)],
        after: &dyn Homes,
    ) {
        for (tx, (_, result)) in block.txs.iter().zip(results) {
            if result.is_ok() {
                self.transaction(&tx.body.signer, &tx.body.action, after);
            }
        }
    }

    fn at(&mut self, coop: &CoopId) -> &mut DayFigures {
        self.coops.entry(coop.clone()).or_default()
    }

    /// Count one successful transaction signed by `signer`.
    pub fn transaction(&mut self, signer: &PublicKey, action: &Action, after: &dyn Homes) {
        let payer = after.address_of(signer);
        let payer_home = payer.and_then(|p| after.home(&p));
        if let (Some(address), Some((home, AccountKind::Member))) = (payer, &payer_home) {
            self.active.insert(address, home.clone());
        }
        match action {
            Action::Payment { to, amount, .. }
            | Action::PayRequest {
                requester: to,
                amount,
                ..
            } => {
                if let Some((home, _)) = &payer_home {
                    let cross = after.home(to).is_some_and(|(payee, _)| payee != *home);
                    self.at(home).pay(*amount, cross);
                }
            }
            // Served for another cooperative's member: the counter is not
            // the member's home.
            Action::CashOut { agent, amount }
                if payer_home.as_ref().is_some_and(|(home, _)| home != agent) =>
            {
                let served = self.at(agent);
                served.cash_outs_for_others = served.cash_outs_for_others.saturating_add(1);
                served.cash_outs_for_others_rupiah = served
                    .cash_outs_for_others_rupiah
                    .saturating_add(u128::from(*amount));
            }
            Action::RegisterMember { member, .. }
            | Action::RegisterMerchant {
                merchant: member, ..
            } => {
                if let Some((home, kind)) = after.home(member) {
                    let figures = self.at(&home);
                    match kind {
                        AccountKind::Member => {
                            figures.new_members = figures.new_members.saturating_add(1)
                        }
                        AccountKind::Merchant => {
                            figures.new_merchants = figures.new_merchants.saturating_add(1)
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Count the change of every cooperative fee account the block wrote.
    pub fn fees<B: StateRead + ?Sized>(
        &mut self,
        before: &B,
        writes: &BTreeMap<StateKey, Option<StateValue>>,
    ) {
        for (key, value) in writes {
            let StateKey::Balance(AccountId::Fee(coop)) = key else {
                continue;
            };
            let old = before.internal_balance(&AccountId::Fee(coop.clone()));
            let new = match value {
                Some(StateValue::Balance(b)) => *b,
                _ => 0,
            };
            let figures = self.at(coop);
            if new >= old {
                figures.fees_earned_rupiah = figures
                    .fees_earned_rupiah
                    .saturating_add(u128::from(new - old));
            } else {
                figures.fees_given_rupiah = figures
                    .fees_given_rupiah
                    .saturating_add(u128::from(old - new));
            }
        }
    }

    /// Merge the block's figures with the stored ones into `batch`: the
    /// day's rows and, for each active member seen on a new day, its `L`
    /// record and the `last_active_members` of the day it leaves. A member
    /// `known` to be last active today already is not looked up. Returns
    /// the block's active members (all now last active on its day), for
    /// [`ActiveToday::note`] once the batch is committed.
    pub fn write<S: Storage>(
        self,
        store: &S,
        batch: &mut WriteBatch,
        known: &ActiveToday,
    ) -> Result<Vec<PublicKey>, LedgerError> {
        let day = self.day;
        let mut added: BTreeMap<(u64, CoopId), DayFigures> = BTreeMap::new();
        for (coop, figures) in self.coops {
            added.insert((day, coop), figures);
        }
        let active: Vec<PublicKey> = self.active.keys().copied().collect();
        // Rows whose day some active member leaves: (day, home) -> members.
        let mut left: BTreeMap<(u64, CoopId), u64> = BTreeMap::new();
        for (member, home) in self.active {
            if known.holds(day, &member) {
                continue;
            }
            let key = keys::last_active(&member);
            let before = match store.get(&key)? {
                Some(bytes) => Some(super::decode_u64(&bytes)?),
                None => None,
            };
            if before == Some(day) {
                continue;
            }
            if let Some(earlier) = before {
                let count = left.entry((earlier, home.clone())).or_default();
                *count = count.saturating_add(1);
            }
            let row = added.entry((day, home)).or_default();
            row.last_active_members = row.last_active_members.saturating_add(1);
            batch.put(key, day.to_be_bytes().to_vec());
        }
        let touched: BTreeSet<&(u64, CoopId)> = added.keys().chain(left.keys()).collect();
        for place in touched {
            let (at, coop) = place;
            let mut row = read_row(store, *at, coop)?.unwrap_or_default();
            if let Some(more) = added.get(place) {
                row.add(more);
            }
            if let Some(gone) = left.get(place) {
                row.last_active_members = row.last_active_members.saturating_sub(*gone);
            }
            batch.put(keys::day_figures(*at, coop), encode_row(&row)?);
        }
        Ok(active)
    }
}

/// Most members [`ActiveToday`] remembers for one day (8 MiB of keys);
/// past it the others are looked up in the store as before.
pub const ACTIVE_TODAY_MAX: usize = 1 << 18;

/// The members whose `L` record the ledger has seen or written as today
/// (the WIB day of its last block), so that their next transactions of the
/// day skip the read of it: a member paying ten times a day is looked up
/// once. Only blocks that committed are noted; the set starts empty when
/// the ledger opens and is emptied by the first block of a new day, so a
/// member it holds is last active on its day for certain (a record only
/// ever moves to a later day). Local, like the figures: nothing agreed
/// depends on it.
#[derive(Debug, Default)]
pub struct ActiveToday {
    day: u64,
    members: std::collections::HashSet<PublicKey>,
}

impl ActiveToday {
    /// Is `member` known to be last active on `day`?
    pub fn holds(&self, day: u64, member: &PublicKey) -> bool {
        self.day == day && self.members.contains(member)
    }

    /// A block of `day` with these active members committed.
    pub fn note(&mut self, day: u64, members: Vec<PublicKey>) {
        if day != self.day {
            self.day = day;
            self.members.clear();
        }
        for member in members {
            if self.members.len() >= ACTIVE_TODAY_MAX {
                return;
            }
            self.members.insert(member);
        }
    }
}

fn encode_row(row: &DayFigures) -> Result<Vec<u8>, LedgerError> {
    codec::encode(row).map_err(corrupt)
}

fn read_row<S: Storage>(
    store: &S,
    day: u64,
    coop: &CoopId,
) -> Result<Option<DayFigures>, LedgerError> {
    match store.get(&keys::day_figures(day, coop))? {
        Some(bytes) => codec::decode(&bytes)
            .map(Some)
            .map_err(|e| corrupt(format!("day figures of {coop} on day {day}: {e}"))),
        None => Ok(None),
    }
}

/// The stored figures of days `first ..= last` (at most
/// [`INDEX_DAYS_MAX`] days, the latest ones when the range is wider).
pub fn read_days<S: Storage>(
    store: &S,
    first: u64,
    last: u64,
) -> Result<FiguresByDay, LedgerError> {
    let first = first.max(last.saturating_sub(INDEX_DAYS_MAX - 1));
    let mut out = FiguresByDay::new();
    let mut upper = keys::day_figures_start(last.saturating_add(1));
    loop {
        let rows = store.scan_prefix_rev(keys::DAY_FIGURES_PREFIX, Some(&upper), ROWS_PER_SCAN)?;
        let fetched = rows.len();
        for (key, value) in rows {
            let (day, coop) =
                keys::day_figures_parts(&key).ok_or_else(|| corrupt("a day figures key"))?;
            if day < first {
                return Ok(out);
            }
            let row: DayFigures = codec::decode(&value)
                .map_err(|e| corrupt(format!("day figures of {coop} on day {day}: {e}")))?;
            out.entry(day).or_default().insert(coop, row);
            upper = key;
        }
        if fetched < ROWS_PER_SCAN {
            return Ok(out);
        }
    }
}
