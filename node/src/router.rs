//! The node's HTTP surface in one router: the JSON API ([`crate::api`]) and
//! the wallet and explorer pages ([`crate::web`]), with the shared fallbacks,
//! the request body limit and the HTTP front's request layers
//! ([`crate::http`]: in-flight cap, heavy-read rates, request timeout,
//! security headers). Built here, above both, so neither module imports
//! the other.

use crate::api::{self, ApiState};
use crate::http::{headers, limits, refusals};
use crate::http_error::{method_not_allowed, not_found};
use crate::web;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;

/// Every route a node serves on its API port; request bodies are limited to
/// `body_max_bytes` (`api_body_max_bytes` in the config). `/metrics` is
/// among them when `with_metrics` (`http.metrics_on_api`).
pub fn router(state: ApiState, body_max_bytes: usize, with_metrics: bool) -> Router {
    let mut routes = Router::new().merge(api::routes()).merge(web::router());
    if with_metrics {
        routes = routes.merge(api::metrics_route());
    }
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
    api::metrics_route()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(headers::security_headers))
        .with_state(state)
}
