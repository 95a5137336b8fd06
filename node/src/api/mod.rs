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
pub mod shapes;
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
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
pub fn metrics_route() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(queries::metrics))
}

/// The API's routes, without `/metrics`, fallbacks, body limit or state:
/// the node's top-level router ([`crate::router`]) puts them together
/// with the pages. Each handler's `#[utoipa::path]` attribute gives its
/// method and path, so the router and its OpenAPI description
/// ([`crate::openapi`]) are made from the same words.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(queries::status))
        .routes(routes!(write::submit_tx))
        .routes(routes!(write::submit_txs))
        .routes(routes!(queries::tx))
        .routes(routes!(money::refunds))
        .routes(routes!(write::quote))
        .routes(routes!(queries::blocks::blocks))
        .routes(routes!(queries::blocks::block))
        .routes(routes!(queries::blocks::block_raw))
        .routes(routes!(queries::genesis))
        .routes(routes!(snapshots::headers))
        .routes(routes!(snapshots::list))
        .routes(routes!(snapshots::manifest))
        .routes(routes!(snapshots::chunk))
        .routes(routes!(queries::invariants))
        .routes(routes!(queries::account))
        .routes(routes!(queries::history))
        .routes(routes!(proof::account_proof))
        .routes(routes!(money::requests))
        .routes(routes!(money::incentives))
        .routes(routes!(queries::cooperatives))
        .routes(routes!(roles::tellers))
        .routes(routes!(roles::signer))
        .routes(routes!(roles::observers))
        .routes(routes!(roles::recoveries))
        .routes(routes!(queries::windows))
        .routes(routes!(queries::window))
        .routes(routes!(events::events))
        .routes(routes!(evidence::evidence))
        .routes(routes!(governance::proposals))
        .routes(routes!(governance::proposal))
        .routes(routes!(governance::params))
        .routes(routes!(write::isolate))
        .routes(routes!(city_index::index))
        .routes(routes!(
            directory::members::get_member,
            directory::members::put_member,
            directory::members::erase
        ))
        .routes(routes!(directory::members::unlink_phone))
        .routes(routes!(directory::lookup::lookup))
        .routes(routes!(directory::export::export))
        .routes(routes!(audit::report))
}
