//! # kopnet-ledger: the cooperative money model as a deterministic state machine
//!
//! Every node runs this crate on every block and must reach the same state.
//! There is no wall clock, no floating point, no hash-map iteration: state is
//! one ordered map ([`state`]; payments' idempotency records are kept on disk
//! beside it), amounts are whole rupiah in `u64` with checked
//! arithmetic, positions are `i128`.
//!
//! * [`types`]: cooperatives, member accounts, tiers, account ids.
//! * [`tx`]: signed transactions and their actions.
//! * [`execute`]: admission (chain, signer, nonce) and execution of actions.
//! * [`idempotency`]: payment idempotency records, kept two days of block
//!   time on disk and committed per day, so no per-payment record lives in
//!   memory or is read at start-up; [`day_order`]: the records kept by day
//!   listed in their day's chain order, for snapshots.
//! * [`legs`]: the single rule for moving money: a leg from an account homed at
//!   X to one homed at Y moves `position[X] -= a`, `position[Y] += a`, under
//!   the net debit cap. Cash-in and cash-out are mint/burn at the agent's float
//!   plus legs, so one rule covers every case.
//! * [`fees`]: fee rules as data (governance-set), turned into extra legs;
//!   the merchant discount rate by merchant class and amount band.
//! * [`tiers`]: e-money tiers (balance caps, monthly incoming caps, what
//!   each tier may do) and the WIB calendar month; [`incentives`]: cashback
//!   programmes paid by the ledger from the network fund; [`payouts`]: a
//!   cooperative paying many members from its own funds.
//! * [`settlement`]: windows, acknowledgements, the net debit cap's memory.
//! * [`governance`]: proposals executed at more than 2/3 of voting power,
//!   held to the [`bounds`] on validator sets and parameters when they are
//!   made and when they execute.
//! * [`schedule`]: when settlement windows close (governed cut-offs in
//!   block time; no cooperative closes a window at will).
//! * [`tellers`]: teller keys, their counter rights and daily limits;
//!   [`member_keys`]: a member account's stable address and replaceable
//!   key; [`recovery`]: the lost phone, a key replaced after a governed
//!   wait ([`role_records`]: the records the three keep in the state).
//! * [`proposal`], [`settlement_window`]: the records those two keep in the
//!   state, in modules of their own so that [`state`] stores them without
//!   importing the rules that change them (the modules form no cycle).
//! * [`merchant_names`]: merchants' public display names, set by their
//!   home cooperative (what the wallet shows instead of a QR code's name).
//! * [`payment_requests`]: request to pay (addressed or a dynamic QR
//!   code), paid at most once, declined or cancelled, removed a day after
//!   it ends ([`request_records`]: the records it keeps and wallets' lists).
//! * [`rejection`]: typed, precedence-ordered reason codes.
//! * [`commitment`]: incrementally updated Merkle state root with proofs.
//! * [`block`], [`ledger`]: blocks and their atomic application.
//! * [`storage`]: the storage trait with sled, memory and fault-injecting backends.
//! * [`invariants`]: conservation and position checks, runnable at any time;
//!   [`figures`]: the sums they need, moved block by block.
//!
//! Hashes, keys, signatures and the canonical codec come from
//! `kopnet-primitives`, the leaf crate the ledger shares with consensus; the
//! ledger does not depend on consensus, nor consensus on the ledger. What is
//! the ledger's own stays here: the transaction signing domain
//! ([`tx::TX_SIGNING_DOMAIN`]), the hash domains of transactions, blocks and
//! state, and every bound on its inputs.
//!
//! Transactions that fail admission (wrong chain, bad signature, unknown
//! signer, stale or future nonce) can never be in a block. Every other
//! transaction in a block uses its nonce and gets a result: applied, or
//! rejected with a reason code and no other effect.

#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod block;
pub mod block_records;
pub mod bounds;
pub mod cash_reports;
pub mod commitment;
pub mod day_order;
pub mod evidence;
pub mod execute;
pub mod fees;
pub mod figures;
pub mod genesis;
pub mod governance;
pub mod idempotency;
pub mod incentives;
pub mod invariants;
pub mod keys;
pub mod ledger;
pub mod legs;
pub mod member_keys;
pub mod merchant_names;
pub mod migrate;
pub mod node_keys;
pub mod observers;
pub mod payment_requests;
pub mod payouts;
pub mod proposal;
pub mod recovery;
pub mod refunds;
pub mod rejection;
pub mod request_records;
pub mod role_records;
pub mod schedule;
pub mod settlement;
pub mod settlement_window;
pub mod snapshot;
pub mod state;
pub mod storage;
pub mod tellers;
pub mod testkit;
pub mod tiers;
pub mod tx;
pub mod types;
pub mod upgrades;

pub use block::{Block, BlockHeader};
pub use genesis::{Genesis, GenesisCooperative};
pub use ledger::{
    BlockLimits, BlockOutcome, Ledger, LedgerError, SignatureCheck, TxRecord, VerifyAll,
};
pub use rejection::Rejection;
pub use storage::{MemoryStorage, SledStorage, Storage};
pub use tx::{Action, GovAction, Transaction, TxBody};
pub use types::{AccountId, AccountKind, Amount, CoopId, KycTier, MerchantClass};
