//! The node's HTTP surface in one router: the JSON API ([`crate::api`]) and
//! the wallet and explorer pages ([`crate::web`]), with the shared fallbacks,
//! the request body limit and the HTTP front's request layers
//! ([`crate::http`]: in-flight cap, heavy-read rates, request timeout,
//! security headers). Built here, above both, so neither module imports
//! the other. The routes come from their OpenAPI description
//! ([`crate::openapi`]), so every route served is a route described.

use crate::api::{self, ApiState};
use crate::http::{headers, limits, refusals};
use crate::http_error::{method_not_allowed, not_found};
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;

/// Every route a node serves on its API port; request bodies are limited to
/// `body_max_bytes` (`api_body_max_bytes` in the config). `/metrics` is
/// among them when `with_metrics` (`http.metrics_on_api`).
pub fn router(state: ApiState, body_max_bytes: usize, with_metrics: bool) -> Router {
    let routes = crate::openapi::described(with_metrics).split_for_parts().0;
    let front = state.front.clone();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_max_bytes))
        .layer(from_fn_with_state(front.clone(), limits::limit_requests))
        .layer(from_fn_with_state(front, refusals::count_refusals))
        .layer(from_fn(headers::security_headers))
        .with_state(state)
}

/// The router of the separate metrics address (`http.metrics_listen`):
/// `/metrics` and nothing else, with the security headers.
pub fn metrics_router(state: ApiState) -> Router {
    Router::from(api::metrics_route())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(headers::security_headers))
        .with_state(state)
}
