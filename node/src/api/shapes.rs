//! The JSON shapes of the API's answers, for the OpenAPI description.
//!
//! Most handlers build their answers with `serde_json::json!` (the shapes
//! grew with the product, and a typed struct per answer would be a large
//! rewrite). These types describe those answers and are never built; the
//! node's test `node/tests/openapi.rs` keeps them honest: it fetches real
//! answers from a node and checks each against the schema the description
//! gives for its route and status (no key the schema does not name, every
//! key it requires, every value of the named type). Answers that are real
//! Rust types (a block event, the audit report) derive their schema where
//! they are defined instead.
//!
//! Money is integer rupiah everywhere (`u64`, or `i64` for positions that
//! can be negative); big sums that may pass 2^53 are decimal strings.
// Never constructed: these only describe answers built as JSON values.
#![allow(dead_code)]

use utoipa::ToSchema;

pub use crate::http_error::{ErrorBody, ErrorDetail};

/// `GET /health/live`.
#[derive(ToSchema)]
pub struct Live {
    /// Always `live`.
    pub status: String,
}

/// One reason a node is unhealthy.
#[derive(ToSchema)]
pub struct HealthReason {
    /// `last_write_failed`, `disk_full`, `low_disk`, `stalled` or `syncing`.
    pub code: String,
    pub message: String,
}

/// `GET /health`: 200 when healthy, 503 with the reasons (most urgent
/// first) when not.
#[derive(ToSchema)]
pub struct Health {
    /// `ok` or `unhealthy`.
    pub status: String,
    pub height: u64,
    /// The highest height a peer claims.
    pub peer_height: Option<u64>,
    pub last_commit_ms_ago: Option<u64>,
    pub disk_free_bytes: Option<u64>,
    pub disk_free_bytes_min: u64,
    /// Why the last reading of the free space failed.
    pub disk_error: Option<String>,
    /// Unhealthy only: the most urgent reason's code and message.
    pub reason: Option<String>,
    pub message: Option<String>,
    pub reasons: Option<Vec<HealthReason>>,
}

/// How much history this node keeps.
#[derive(ToSchema)]
pub struct Pruning {
    /// Blocks kept (null: every block).
    pub keep_blocks: Option<u64>,
    pub archive: bool,
}

/// Submit-to-commit latency of the transactions submitted to this node,
/// as histogram bounds (null with `*_over_max` when past the last bucket).
#[derive(ToSchema)]
pub struct CommitLatency {
    pub samples: u64,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub p50_over_max: bool,
    pub p99_over_max: bool,
    pub max_bucket_ms: Option<u64>,
}

/// The time between this node's last commits.
#[derive(ToSchema)]
pub struct BlockInterval {
    pub last_ms: Option<u64>,
    pub mean_ms: Option<u64>,
    pub intervals: u64,
}

/// `GET /v1/status`.
#[derive(ToSchema)]
pub struct Status {
    pub chain_id: String,
    /// `validator` or `observer`.
    pub role: String,
    /// The cooperative this node serves (null on observers).
    pub cooperative: Option<String>,
    pub node_key: String,
    pub height: u64,
    /// The lowest height whose block this node holds.
    pub base_height: u64,
    pub pruning: Pruning,
    pub last_block_hash: String,
    pub state_root: String,
    pub round: u64,
    pub peers: Vec<String>,
    pub peer_count: u64,
    pub syncing: bool,
    pub double_sign_check: bool,
    pub mempool_size: u64,
    pub commit_latency: CommitLatency,
    pub block_interval: BlockInterval,
}

/// A transaction taken by the node (`POST /v1/tx`: 202).
#[derive(ToSchema)]
pub struct Submitted {
    /// The transaction's hash, 64 hex digits (`GET /v1/tx/{hash}`).
    pub hash: String,
    /// `pending` (in the mempool) or `committed` (already in a block).
    pub status: String,
}

/// One entry of a batch answer: taken, or refused on its own.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum BatchEntry {
    Taken(Submitted),
    Refused(ErrorBody),
}

/// `POST /v1/txs`: one entry per submitted transaction, in order.
#[derive(ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchEntry>,
}

/// A transaction's outcome.
#[derive(ToSchema)]
pub struct TxResult {
    /// `ok`, or the ledger's rejection code.
    pub code: String,
    pub message: Option<String>,
}

/// The teller that signed a transaction (null when no teller did).
#[derive(ToSchema)]
pub struct Teller {
    pub address: String,
    pub name: String,
    pub cooperative: String,
}

/// A transaction. Whole for participants and its signer; anyone else
/// gets `hash`, `status`, `height` and `result` only.
#[derive(ToSchema)]
pub struct TxView {
    pub hash: String,
    /// `/v1/tx/{hash}` only: `committed`, `pending` or `rejected`.
    pub status: Option<String>,
    /// The action's short name (`payment`, `cash_out`, ...).
    pub kind: Option<String>,
    pub signer: Option<String>,
    pub nonce: Option<u64>,
    /// The other party (payee, member), when the action has one.
    pub to: Option<String>,
    pub amount: Option<u64>,
    /// The cooperative whose counter took the cash (cash-in, cash-out).
    pub agent: Option<String>,
    pub fees: Option<u64>,
    /// The action as signed, e.g. `{"Payment": {"to", "amount", "memo",
    /// "idempotency_id"}}` (the form `POST /v1/quote` takes).
    #[schema(value_type = Option<Object>)]
    pub action: Option<serde_json::Value>,
    pub height: Option<u64>,
    pub index: Option<u64>,
    pub result: Option<TxResult>,
    pub teller: Option<Teller>,
}

/// `GET /v1/accounts/{address}`, whole: to the holder, its home
/// cooperative and observers.
#[derive(ToSchema)]
pub struct Account {
    pub address: String,
    /// Rupiah.
    pub balance: u64,
    pub nonce: u64,
    /// The nonce the account's next transaction must carry.
    pub next_nonce: u64,
    /// The home cooperative's id.
    pub home: String,
    /// `member` or `merchant`.
    pub kind: String,
    /// `active` or `frozen`.
    pub status: String,
    pub tier: String,
    pub balance_cap: u64,
    pub incoming_this_month: u64,
    pub monthly_incoming_cap: Option<u64>,
    pub monthly_headroom: Option<u64>,
    pub may_transfer: bool,
    pub may_cash_out: bool,
    pub merchant_class: Option<String>,
    pub registered_at_height: u64,
    /// The key that signs for the account now.
    pub key: String,
    /// A pending recovery (a new key taking over at `effective_ms`), or
    /// null.
    #[schema(value_type = Option<Object>)]
    pub recovery: Option<serde_json::Value>,
    pub merchant_name: Option<String>,
    /// `whole`.
    pub visibility: String,
}

/// `GET /v1/accounts/{address}` of a merchant, to anyone else: its public
/// fields.
#[derive(ToSchema)]
pub struct MerchantPublic {
    pub address: String,
    /// `merchant`.
    pub kind: String,
    pub home: String,
    pub status: String,
    pub merchant_class: Option<String>,
    pub merchant_name: Option<String>,
    /// `public`.
    pub visibility: String,
}

/// An account, whole or its public fields (see `visibility`).
#[derive(ToSchema)]
#[serde(untagged)]
pub enum AccountAnswer {
    Whole(Account),
    Public(MerchantPublic),
}

/// `GET /v1/accounts/{address}/history`: newest first.
#[derive(ToSchema)]
pub struct History {
    pub address: String,
    pub limit: u64,
    pub items: Vec<TxView>,
    /// Cursor for the next page (`before=`), null on the last.
    pub next_before: Option<String>,
    pub base_height: u64,
    /// On a pruned node's last page: archive nodes hold the history
    /// before this height.
    pub pruned_before: Option<u64>,
}

/// A block's commit certificate.
#[derive(ToSchema)]
pub struct Certificate {
    pub round: u64,
    pub signers: Vec<String>,
}

/// Evidence of a validator's misbehaviour carried in a block.
#[derive(ToSchema)]
pub struct BlockEvidence {
    pub offender: String,
    pub kind: String,
    pub height: u64,
    pub round: u64,
}

/// A transaction in a block.
#[derive(ToSchema)]
pub struct BlockTx {
    pub hash: String,
    pub kind: String,
    pub signer: String,
    pub nonce: u64,
    pub agent: Option<String>,
    /// `ok` or the rejection code.
    pub result: Option<String>,
}

/// A block. `txs` only for participants (and not with `txs=false`).
#[derive(ToSchema)]
pub struct BlockView {
    pub height: u64,
    pub hash: String,
    pub parent: String,
    pub prev_state_root: String,
    /// The state root after the block (null when not kept).
    pub state_root: Option<String>,
    pub tx_root: String,
    pub tx_count: u64,
    pub proposer: String,
    /// Header time, unix milliseconds (the proposer's clock).
    pub time_ms: u64,
    pub evidence: Vec<BlockEvidence>,
    pub certificate: Option<Certificate>,
    pub txs: Option<Vec<BlockTx>>,
}

/// `GET /v1/blocks`: a page, newest first (or oldest first with `from=`).
#[derive(ToSchema)]
pub struct BlocksPage {
    /// The committed height.
    pub height: u64,
    pub base_height: u64,
    pub limit: u64,
    pub blocks: Vec<BlockView>,
    /// Newest first: cursor for the next page (null on the last).
    pub next_before: Option<u64>,
    /// Oldest first (`from=`): cursor for the next page.
    pub next_from: Option<u64>,
}

/// `GET /v1/blocks/{height}/raw`: the block and its certificate as the
/// node stores them (kopnet's codec, bincode 2.0.1), base64.
#[derive(ToSchema)]
pub struct RawBlock {
    pub height: u64,
    /// codec(Block), standard base64.
    pub block: String,
    /// codec(CommitCertificate), standard base64 (empty when none).
    pub certificate: String,
    pub state_root: Option<String>,
}

/// What `/v1/events` sends anyone but participants for each block.
#[derive(ToSchema)]
pub struct PublicBlockEvent {
    pub height: u64,
    pub hash: String,
    pub time_ms: u64,
    pub state_root: String,
    pub tx_count: u64,
}

/// The data of a `block` event of `/v1/events`: whole (with the
/// transactions' summaries) for participants, the header facts for
/// anyone else.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum BlockEventData {
    Whole(crate::node_state::BlockEvent),
    Public(PublicBlockEvent),
}

/// `GET /v1/invariants`: the money checks after the last block.
#[derive(ToSchema)]
pub struct Invariants {
    pub ok: bool,
    pub height: u64,
    pub state_root: String,
    /// Decimal strings (sums may pass 2^53).
    pub minted: Option<String>,
    pub burned: Option<String>,
    pub balances: Option<String>,
    pub members: Option<u64>,
    /// When not ok: what failed.
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

/// A fee leg of a quote.
#[derive(ToSchema)]
pub struct FeeLeg {
    pub account: String,
    pub fee: u64,
}

/// A balance change a quote foresees.
#[derive(ToSchema)]
pub struct Delta {
    pub account: String,
    pub delta: i64,
}

/// `POST /v1/quote`: what the action would cost, or why it would be
/// refused (`ok: false` with `result`). Changes nothing.
#[derive(ToSchema)]
pub struct Quote {
    pub ok: bool,
    pub fees: Option<u64>,
    pub payee_receives: Option<u64>,
    pub fee_split: Option<Vec<FeeLeg>>,
    pub cashback: Option<u64>,
    pub deltas: Option<Vec<Delta>>,
    pub result: Option<TxResult>,
}

/// `POST /v1/admin/isolate`.
#[derive(ToSchema)]
pub struct Isolated {
    pub isolated: bool,
}

/// `GET /v1/cooperatives`: a page of cooperatives with their figures.
#[derive(ToSchema)]
pub struct CooperativesPage {
    pub height: u64,
    pub open_window: u64,
    /// One object per cooperative: ids, keys, voting power, net debit cap
    /// (`ndc`), positions, volumes and fee balances (integer rupiah).
    #[schema(value_type = Vec<Object>)]
    pub cooperatives: Vec<serde_json::Value>,
    /// Cursor (`after=`) for the next page, null on the last.
    pub next_after: Option<String>,
}

/// `GET /v1/settlement/windows`: closed settlement windows, newest first.
#[derive(ToSchema)]
pub struct WindowsPage {
    pub open_window: u64,
    pub limit: u64,
    pub windows: Vec<Window>,
    pub next_before: Option<u64>,
}

/// A closed settlement window: each cooperative's net position in it.
#[derive(ToSchema)]
pub struct Window {
    pub number: u64,
    pub closed_at_height: u64,
    pub closed_at_ms: u64,
    pub settled: bool,
    /// Cooperative id → its entry (position, volumes, acknowledgement,
    /// bilateral positions).
    #[schema(value_type = Object)]
    pub entries: serde_json::Value,
}
