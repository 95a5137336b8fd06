//! The committed view: what the HTTP API answers from, published once per
//! block, so that no read takes the ledger lock the consensus loop commits
//! under.
//!
//! # How reads stay off the commit path
//!
//! * After every commit (and once at start) the runtime builds a small
//!   immutable [`CommittedView`] — height, last block hash, state root,
//!   counters, parameters, each cooperative with its fee and float balances
//!   and its member and merchant counts, and the invariant check — and swaps
//!   it in ([`ViewCell::publish`], a `tokio::sync::watch` channel holding an
//!   `Arc`). A reader takes the `Arc` ([`ViewCell::current`]): a pointer copy
//!   under the channel's lock, never the ledger's. The runtime builds it on
//!   its own thread right after the commit, under a read lock of the ledger
//!   that only the runtime itself could contend with.
//! * The per-block figures are computed ONCE per block, not per request: the
//!   member and merchant counts and the balance sum come from the ledger's
//!   [`Figures`](kopnet_ledger::figures::Figures), moved by each block's
//!   writes, and the invariant check runs over the cooperatives and windows
//!   only ([`kopnet_ledger::Ledger::check_block_invariants`]). Building a
//!   view costs time in proportion to the cooperatives and windows, not to
//!   the accounts. The settlement windows still waiting for
//!   acknowledgements ([`SettlementFigures`], for `/metrics`) are counted
//!   from where the previous view's count started, so that walk covers the
//!   unsettled windows only.
//! * Everything else — blocks, transactions, history, accounts, windows,
//!   proposals, evidence — is read from the store through a read-only
//!   [`ChainReader`](kopnet_ledger::ledger::ChainReader) (sled reads run
//!   concurrently with the commit's write; each block's batch is atomic, so
//!   a point read sees one key as of one committed block). An answer that
//!   combines the view with store reads may see the store one block ahead of
//!   the view's height; answers name the height of the view.
//! * The one read that still needs the ledger is the account proof (the
//!   Merkle tree lives in the ledger): bounded work (one path of the tree),
//!   taken on the blocking pool so a commit in progress never stalls an
//!   async worker ([`crate::api`]'s `proof`).

mod settlement_figures;

pub use settlement_figures::{OldestUnsettled, SettlementFigures};

use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::invariants::Totals;
use kopnet_ledger::state::{Counters, Params, StateRead};
use kopnet_ledger::types::Cooperative;
use kopnet_ledger::{AccountId, Ledger, Storage};
use std::sync::Arc;
use tokio::sync::watch;

/// A cooperative as the cooperatives list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoopFigures {
    pub coop: Cooperative,
    /// The fee account's balance (the network fund for `network`).
    pub fee_balance: u64,
    pub float_balance: u64,
    pub members: u64,
    pub merchants: u64,
}

/// What the last committed block left, for readers. Immutable once built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedView {
    pub height: u64,
    pub last_block_hash: Hash,
    pub state_root: Hash,
    /// The last block's header time (0 before block 1).
    pub last_block_time_ms: u64,
    pub counters: Counters,
    pub params: Option<Params>,
    /// Every participant, in the parameters' order (sorted by id).
    pub cooperatives: Vec<CoopFigures>,
    /// The invariant check after this block, or what broke.
    pub invariants: Result<Totals, String>,
    /// The closed windows still waiting for acknowledgements.
    pub settlement: SettlementFigures,
}

impl CommittedView {
    /// The view of `ledger` as it stands (call right after a commit).
    pub fn of<S: Storage>(ledger: &Ledger<S>) -> CommittedView {
        CommittedView::after(ledger, None)
    }

    /// [`CommittedView::of`], given the view of an earlier block of the same
    /// chain: its settled windows are not looked at again.
    pub fn after<S: Storage>(
        ledger: &Ledger<S>,
        previous: Option<&CommittedView>,
    ) -> CommittedView {
        let state = ledger.state();
        let figures = ledger.figures();
        let cooperatives = ledger
            .cooperatives()
            .into_iter()
            .map(|coop| {
                let fee_account = if coop.id.is_network() {
                    AccountId::NetworkFund
                } else {
                    AccountId::Fee(coop.id.clone())
                };
                let home = figures.home(&coop.id);
                CoopFigures {
                    fee_balance: state.internal_balance(&fee_account),
                    float_balance: state.internal_balance(&AccountId::Float(coop.id.clone())),
                    members: home.members,
                    merchants: home.merchants,
                    coop,
                }
            })
            .collect();
        CommittedView {
            height: ledger.height(),
            last_block_hash: ledger.last_block_hash(),
            state_root: ledger.state_root(),
            last_block_time_ms: ledger.last_block_time_ms(),
            counters: ledger.counters(),
            params: ledger.params(),
            cooperatives,
            invariants: ledger.check_block_invariants().map_err(|e| e.to_string()),
            settlement: SettlementFigures::of(
                state,
                previous.map_or(0, |p| p.settlement.scan_from),
            ),
        }
    }

    /// The cooperative whose cooperative key, validator key or node
    /// identity (also one a rotation retired recently) is `key`.
    pub fn cooperative_with_key(&self, key: &PublicKey) -> Option<&Cooperative> {
        let key = Some(*key);
        self.cooperatives.iter().map(|c| &c.coop).find(|c| {
            c.key == key
                || c.validator_key == key
                || c.node_key == key
                || c.retired_node_key.map(|r| r.key) == key
        })
    }

    /// The plain cooperatives, for code that weighs them (voting power).
    pub fn cooperative_records(&self) -> Vec<Cooperative> {
        self.cooperatives.iter().map(|c| c.coop.clone()).collect()
    }
}

/// Where the runtime publishes the view and readers take it.
#[derive(Debug)]
pub struct ViewCell {
    sender: watch::Sender<Arc<CommittedView>>,
}

impl ViewCell {
    pub fn new(view: CommittedView) -> Self {
        ViewCell {
            sender: watch::Sender::new(Arc::new(view)),
        }
    }

    /// The last published view (a pointer copy).
    pub fn current(&self) -> Arc<CommittedView> {
        self.sender.borrow().clone()
    }

    /// Replace the view (whether or not anyone is reading).
    pub fn publish(&self, view: CommittedView) {
        self.sender.send_replace(Arc::new(view));
    }

    /// Build the view of `ledger` (read-locked by the caller, the only
    /// writer) and publish it.
    pub fn publish_from<S: Storage>(&self, ledger: &Ledger<S>) {
        let previous = self.current();
        self.publish(CommittedView::after(ledger, Some(&previous)));
    }
}
