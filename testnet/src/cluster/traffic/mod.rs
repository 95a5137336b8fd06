//! Demo traffic for a local cooperative city: members and merchants at every
//! cooperative, an open-loop load at a target rate with a story-telling mix
//! (cross-cooperative merchant payments, a taxi driver paying at the consumer
//! cooperative's shop, cash-in and cash-out at other counters, ...), and
//! commit tracking from a node's `/v1/events` stream or its blocks.
//!
//! The parts, one job each:
//!
//! - [`signer`]: a key's nonces and what it has in flight; [`SignerSlot`]
//!   says whose signer a transaction holds (a demo account or a cooperative).
//! - [`demo`]: the per-cooperative demo state and the setup that registers
//!   and funds the demo accounts (merchants of each class in turn, see
//!   [`DEMO_MERCHANT_CLASSES`]).
//! - [`cashback`]: the cashback programme the cooperatives vote in at
//!   setup, and what it paid.
//! - [`plan`]: what to send next, drawn from the [`Mix`], signed.
//! - [`budget`]: every demo account's balance bounds as the driver knows
//!   them from its own submissions, so that the load stays valid (no payer
//!   planned below zero, no account above its cap; members topped up and
//!   merchants cashed out as they go); [`incoming`]: each member's
//!   incoming money per month within its tier's cap.
//! - [`submit`]: the open-loop submission loop and what happens to a
//!   submission that fails.
//! - [`requests`]: requests to pay waiting for their payer's payment.
//! - [`refunds`]: the recent payments to micro merchants they refund.
//! - [`payout`]: the surplus share every cooperative pays its members once.
//! - [`audit_cases`]: the cases planted for the regulator's desk (cash
//!   over the reporting threshold, structuring, a dormant account waking).
//! - [`settle`]: acknowledging the settlement windows the chain's schedule
//!   closes (no cooperative closes one itself).
//! - [`follow`]: matching commits to submissions, giving up lost ones.
//! - [`stats`]: the figures reported ([`Stats`], [`percentile`]).

pub mod audit_cases;
mod budget;
mod cashback;
mod demo;
mod exposure;
mod follow;
mod incoming;
mod payout;
mod plan;
mod refunds;
mod requests;
mod settle;
mod signer;
mod stats;
mod submit;

pub use audit_cases::AuditCases;
pub use budget::{Budget, Budgets, Leg, Reservation};
pub use cashback::{CashbackTerms, DEMO_CASHBACK};
pub use demo::{CoopDemo, DEMO_MERCHANT_CLASSES, OPENING_BALANCE};
pub use exposure::{CoopDebit, CoopExposures, CoopReading};
pub use incoming::{Incoming, Months};
pub use settle::{ClosedWindow, SettlementProgress};
pub use signer::{Signer, SignerSlot};
pub use stats::{percentile, Stats};

use super::mix::Mix;
use kopnet_consensus::{Hash, Keypair, PublicKey};
use kopnet_ledger::fees::{default_fee_rules, FeeRule};
use kopnet_ledger::tiers::TierRules;
use kopnet_ledger::types::TierLimits;
use kopnet_ledger::{Action, CoopId, MerchantClass, Transaction, TxBody};
use kopnet_node::api::client::{Client, ClientError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use refunds::RecentPayment;
use requests::PendingPay;
use stats::Submission;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Why a step of the demo traffic failed (the load itself never fails: it
/// counts what went wrong in [`Stats`]).
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("cooperative {coop}: {error}")]
    Node { coop: String, error: ClientError },
    #[error("cannot sign for cooperative {coop}")]
    Sign { coop: String },
    #[error("setup transaction {hash} of cooperative {coop} failed: {code}")]
    SetupRejected {
        coop: String,
        hash: String,
        code: String,
    },
    #[error("cooperative {coop}'s node did not say the open window")]
    NoOpenWindow { coop: String },
    #[error("no cooperative number {0}")]
    NoSuchCoop(usize),
    #[error("the signer of cooperative {coop} is poisoned (a thread panicked holding it)")]
    Poisoned { coop: String },
    #[error("cannot follow {url}: {error}")]
    Events { url: String, error: String },
}

/// The demo city's traffic: its cooperatives, their demo accounts, what is
/// in flight and what has been seen.
pub struct Traffic {
    pub chain_id: String,
    pub coops: Vec<CoopDemo>,
    /// Member and merchant signers, indexed by `CoopDemo::{members,merchants}`.
    pub accounts: Vec<(PublicKey, CoopId, Mutex<Signer>)>,
    pub stats: Arc<Mutex<Stats>>,
    tracked: Arc<Mutex<HashMap<Hash, Submission>>>,
    rng: Mutex<StdRng>,
    /// What the load sends (see [`Mix`]).
    mix: Mix,
    /// The settlement windows seen closed and acknowledged.
    settlement: Mutex<SettlementProgress>,
    /// Each account's balance bounds (see [`budget`]), by account index.
    budgets: Mutex<Budgets>,
    /// Each account's home cooperative (index into `coops`) and whether it
    /// is a merchant, by account index.
    homes: Vec<(usize, bool)>,
    /// Each merchant's class (None for members), by account index.
    classes: Vec<Option<MerchantClass>>,
    /// The cashback programme voted in at setup, if any (the budgets count
    /// what it may pay a payer).
    cashback: Option<CashbackTerms>,
    /// Requests to pay committed, waiting for their payer's payment.
    pending_pays: Mutex<VecDeque<PendingPay>>,
    /// Applied payments to micro merchants, newest last, not yet refunded.
    recent_payments: Mutex<VecDeque<RecentPayment>>,
    /// The fee rules the chain charges (the genesis defaults, which
    /// `kopnet testnet up` and `kopnet bench` use).
    fee_rules: Vec<FeeRule>,
    /// The cooperatives' ids and the story's roles, found once rather than
    /// at every draw.
    story: StoryCoops,
}

/// The cooperatives' ids (as the [`Mix`] weighs them) and the indexes of
/// the taxi and consumer cooperatives of the demo story, where the city
/// has them.
struct StoryCoops {
    ids: Vec<String>,
    taxi: Option<usize>,
    consumer: Option<usize>,
}

impl StoryCoops {
    fn of(coops: &[CoopDemo]) -> StoryCoops {
        let position = |id: &str| coops.iter().position(|c| c.id.as_str() == id);
        StoryCoops {
            ids: coops.iter().map(|c| c.id.as_str().to_string()).collect(),
            taxi: position("taksi-bersama"),
            consumer: position("konsumen-rukun"),
        }
    }
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic")
            .field("coops", &self.coops.len())
            .finish()
    }
}

impl Traffic {
    /// Traffic for `coops` (id, key, the node its tellers use), each with
    /// fresh keys for `members_per_coop` members and `merchants_per_coop`
    /// merchants (registered later by [`Traffic::setup`]).
    pub fn new(
        chain_id: &str,
        coops: Vec<(CoopId, Keypair, Client)>,
        members_per_coop: usize,
        merchants_per_coop: usize,
    ) -> Traffic {
        let mut accounts = Vec::new();
        let mut demos = Vec::new();
        let mut homes = Vec::new();
        let mut classes = Vec::new();
        let mut budgets = Budgets {
            exposures: CoopExposures::new(coops.len()),
            ..Budgets::default()
        };
        let limits = TierLimits::default();
        let monthly = TierRules::default().registered.monthly_incoming_cap;
        for (c, (id, key, node)) in coops.into_iter().enumerate() {
            let mut members = Vec::new();
            let mut merchants = Vec::new();
            for i in 0..members_per_coop + merchants_per_coop {
                let k = Keypair::generate(&mut rand::rngs::OsRng);
                let index = accounts.len();
                accounts.push((k.public(), id.clone(), Mutex::new(Signer::new(k, 1))));
                let merchant = i >= members_per_coop;
                homes.push((c, merchant));
                classes.push(merchant.then(|| demo::merchant_class(i - members_per_coop)));
                // What `setup` registers: members with the opening balance
                // at the registered tier, merchants empty at the business
                // tier (no monthly incoming cap).
                budgets.accounts.push(match merchant {
                    false => Budget::member(OPENING_BALANCE, limits.registered, monthly),
                    true => Budget::new(0, limits.business),
                });
                if !merchant {
                    members.push(index);
                } else {
                    merchants.push(index);
                }
            }
            demos.push(CoopDemo {
                id,
                node,
                signer: Mutex::new(Signer::new(key, 0)),
                members,
                merchants,
            });
        }
        Traffic {
            chain_id: chain_id.to_string(),
            story: StoryCoops::of(&demos),
            coops: demos,
            accounts,
            stats: Arc::default(),
            tracked: Arc::default(),
            rng: Mutex::new(StdRng::from_entropy()),
            mix: Mix::default(),
            settlement: Mutex::default(),
            budgets: Mutex::new(budgets),
            homes,
            classes,
            cashback: None,
            pending_pays: Mutex::default(),
            recent_payments: Mutex::default(),
            fee_rules: default_fee_rules(),
        }
    }

    /// Send `mix` instead of the demo story's default mix.
    pub fn with_mix(mut self, mix: Mix) -> Traffic {
        self.mix = mix;
        self
    }

    /// Transactions submitted but not yet seen in a block.
    pub fn outstanding(&self) -> usize {
        self.tracked.lock().map(|t| t.len()).unwrap_or(0)
    }

    fn sign(&self, key: &Keypair, nonce: u64, action: Action) -> Option<Transaction> {
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer: key.public(),
            nonce,
            action,
        };
        Transaction::sign(body, key).ok()
    }

    /// Sign with `signer`'s next nonce and count it in flight; None (and the
    /// nonce given back) if signing fails.
    fn sign_with(&self, signer: &mut Signer, action: Action) -> Option<Transaction> {
        let nonce = signer.take_nonce();
        let Some(tx) = self.sign(&signer.key, nonce, action) else {
            signer.give_back(nonce);
            return None;
        };
        signer.in_flight += 1;
        Some(tx)
    }

    /// Sign with cooperative `c`'s key and its next nonce.
    fn sign_coop(&self, c: usize, action: Action) -> Option<Transaction> {
        let coop = self.coops.get(c)?;
        let mut signer = coop.signer.lock().ok()?;
        self.sign_with(&mut signer, action)
    }

    /// The signer behind a slot.
    fn signer_cell(&self, slot: SignerSlot) -> Option<&Mutex<Signer>> {
        match slot {
            SignerSlot::Account(index) => self.accounts.get(index).map(|a| &a.2),
            SignerSlot::Coop(c) => self.coops.get(c).map(|c| &c.signer),
        }
    }

    /// The node a slot's transactions go to (its cooperative's).
    fn node_of(&self, slot: SignerSlot) -> Option<&Client> {
        match slot {
            SignerSlot::Account(index) => {
                let (home, _) = *self.homes.get(index)?;
                self.coops.get(home).map(|c| &c.node)
            }
            SignerSlot::Coop(c) => self.coops.get(c).map(|c| &c.node),
        }
    }
}
