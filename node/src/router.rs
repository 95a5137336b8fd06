//! The node's HTTP surface in one router: the JSON API ([`crate::api`]) and
//! the wallet and explorer pages ([`crate::web`]), with the shared fallbacks
//! and the request body limit. Built here, above both, so neither module
//! imports the other.

use crate::api::{self, ApiState};
use crate::http_error::{method_not_allowed, not_found};
use crate::web;
use axum::extract::DefaultBodyLimit;
use axum::Router;

/// Every route a node serves on its API port; request bodies are limited to
/// `body_max_bytes` (`api_body_max_bytes` in the config).
pub fn router(state: ApiState, body_max_bytes: usize) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_max_bytes))
        .with_state(state)
}
