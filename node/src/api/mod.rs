//! The HTTP API (axum, JSON), served by every node. Observers refuse writes.
//!
//! Every error is `{"error":{"code":"...","message":"..."}}` ([`crate::http_error`]) with a 4xx status
//! for bad input; request bodies are limited (`api_body_max_bytes`). The
//! timeouts, caps and rates in front of the handlers are [`crate::http`]'s.
//!
//! [`client`] is the other side: the typed client the `kopnet` commands and
//! the test rig use to talk to a node.

pub mod access;
mod city_index;
pub mod client;
mod directory;
pub mod directory_client;
mod events;
mod evidence;
mod governance;
pub mod health;
mod money;
mod proof;
mod queries;
pub mod roles;
pub mod signed_request;
pub mod snapshots;
pub mod views;
mod write;

mod audit;

pub use crate::http_error::{ApiError, ApiResult};
/// Page sizes and cursors of the list endpoints.
pub use queries::paging;
/// The POST routes' bodies and the checks on them that need no node (for
/// the fuzz targets in `fuzz-targets/`).
pub use write::{
    check_batch_size, decode_tx_text, IsolateBody, QuoteBody, SubmitBatchBody, SubmitBody,
};

use crate::http::admin::AdminAccess;
use crate::http::Front;
use crate::node_state::NodeState;
use crate::p2p::P2pHandle;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;

/// What handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub node: Arc<NodeState>,
    pub p2p: Option<P2pHandle>,
    /// Who may use `POST /v1/admin/isolate`.
    pub admin: Arc<AdminAccess>,
    /// The HTTP front's shared limits (write rates, event streams).
    pub front: Arc<Front>,
    /// Page sizes of the list endpoints (`[pages]`).
    pub pages: paging::PagesConfig,
    /// Observers: the regulator's desk's flag thresholds (`[audit]`).
    pub audit: crate::config::AuditConfig,
    /// Becomes true when the node shuts down: long-lived responses (the
    /// event stream) end then, so the graceful shutdown never waits on an
    /// open wallet page.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// `GET /metrics`, on the API address (unless `http.metrics_on_api =
/// false`) and on `http.metrics_listen` when set ([`crate::router`]).
pub fn metrics_route() -> Router<ApiState> {
    Router::new().route("/metrics", get(queries::metrics))
}

/// The API's routes, without `/metrics`, fallbacks, body limit or state:
/// the node's top-level router ([`crate::router`]) puts them together
/// with the pages.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/v1/status", get(queries::status))
        .route("/v1/tx", post(write::submit_tx))
        .route("/v1/txs", post(write::submit_txs))
        .route("/v1/tx/{hash}", get(queries::tx))
        .route("/v1/tx/{hash}/refunds", get(money::refunds))
        .route("/v1/quote", post(write::quote))
        .route("/v1/blocks", get(queries::blocks))
        .route("/v1/blocks/{height}", get(queries::block))
        .route("/v1/blocks/{height}/raw", get(queries::block_raw))
        .route("/v1/genesis", get(queries::genesis))
        .route("/v1/headers", get(snapshots::headers))
        .route("/v1/snapshots", get(snapshots::list))
        .route("/v1/snapshots/{height}/manifest", get(snapshots::manifest))
        .route(
            "/v1/snapshots/{height}/chunks/{index}",
            get(snapshots::chunk),
        )
        .route("/v1/invariants", get(queries::invariants))
        .route("/v1/accounts/{address}", get(queries::account))
        .route("/v1/accounts/{address}/history", get(queries::history))
        .route("/v1/accounts/{address}/proof", get(proof::account_proof))
        .route("/v1/accounts/{address}/requests", get(money::requests))
        .route("/v1/incentives", get(money::incentives))
        .route("/v1/cooperatives", get(queries::cooperatives))
        .route("/v1/cooperatives/{id}/tellers", get(roles::tellers))
        .route("/v1/signers/{address}", get(roles::signer))
        .route("/v1/observers", get(roles::observers))
        .route("/v1/recoveries", get(roles::recoveries))
        .route("/v1/settlement/windows", get(queries::windows))
        .route("/v1/settlement/windows/{number}", get(queries::window))
        .route("/v1/events", get(events::events))
        .route("/v1/evidence", get(evidence::evidence))
        .route("/v1/proposals", get(governance::proposals))
        .route("/v1/proposals/{id}", get(governance::proposal))
        .route("/v1/params", get(governance::params))
        .route("/v1/admin/isolate", post(write::isolate))
        .route("/v1/index", get(city_index::index))
        .route(
            "/v1/directory/members/{address}",
            get(directory::get_member)
                .put(directory::put_member)
                .delete(directory::erase),
        )
        .route(
            "/v1/directory/members/{address}/phone",
            delete(directory::unlink_phone),
        )
        .route("/v1/directory/lookup", post(directory::lookup))
        .route("/v1/directory/export", get(directory::export))
        .route("/v1/audit/report", get(audit::report))
}
