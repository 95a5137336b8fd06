//! The request layer: the cap on requests being handled, the heavy-read
//! rate per client address, and the request timeout. Every refusal is the
//! API's JSON error with `Retry-After` ([`super::retry_later`]).
//!
//! Which requests are heavy reads is decided here, by method and path
//! ([`classify`]): what decodes blocks, scans the state, renders images
//! or holds a stream open. Light reads (status, one account, genesis, the
//! pages) are capped only by the in-flight limit; `/health` and
//! `/health/live` by nothing.
//! Writes are charged per transaction in their handlers
//! ([`crate::api`]'s `write` module), which know the count.

use super::rate::RateClass;
use super::{retry_later, ClientAddr, Front};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Duration;

/// `Retry-After` of a request refused for want of a free slot.
pub const BUSY_RETRY_AFTER_S: u64 = 1;

/// How a request is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Never refused by this layer (`/health`, `/health/live`).
    Exempt,
    /// Only the in-flight cap and the timeout.
    Light,
    /// Also the per-address heavy-read rate.
    Heavy,
}

/// The class of a request by its method and path.
pub fn classify(method: &Method, path: &str) -> Class {
    if path == "/health" || path == "/health/live" {
        return Class::Exempt;
    }
    if method == Method::POST {
        return if path == "/v1/quote" {
            Class::Heavy
        } else {
            Class::Light
        };
    }
    let heavy = path == "/v1/blocks"
        || path.starts_with("/v1/blocks/")
        || path == "/v1/cooperatives"
        || path.starts_with("/v1/cooperatives/")
        || path == "/v1/recoveries"
        || path == "/v1/invariants"
        || path == "/v1/evidence"
        || path == "/v1/events"
        || path == "/v1/settlement/windows"
        || path.starts_with("/v1/settlement/windows/")
        || path == "/v1/proposals"
        || path.starts_with("/v1/proposals/")
        || path.starts_with("/v1/qr")
        || (path.starts_with("/v1/accounts/")
            && (path.ends_with("/history") || path.ends_with("/proof")));
    if heavy {
        Class::Heavy
    } else {
        Class::Light
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit_requests(
    State(front): State<Arc<Front>>,
    client: ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    let class = classify(request.method(), request.uri().path());
    if class == Class::Exempt {
        return next.run(request).await;
    }
    let Ok(_permit) = front.requests.clone().try_acquire_owned() else {
        return retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the node is handling as many requests as it takes; try again shortly",
            BUSY_RETRY_AFTER_S,
        );
    };
    if class == Class::Heavy {
        if let Err(refused) = front.rates.charge(RateClass::HeavyReads, client.0, 1) {
            return rate_limited(refused.retry_after_s);
        }
    }
    let timeout = Duration::from_millis(front.config.request_timeout_ms);
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            "the request was not answered in time (or its body came too slowly)",
            BUSY_RETRY_AFTER_S,
        ),
    }
}

/// 429 for a client over its rate.
pub fn rate_limited(retry_after_s: u64) -> Response {
    retry_later(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests from this address; try again in {retry_after_s} s"),
        retry_after_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classed_by_method_and_path() {
        let get = Method::GET;
        assert_eq!(classify(&get, "/health"), Class::Exempt);
        assert_eq!(classify(&get, "/health/live"), Class::Exempt);
        for heavy in [
            "/v1/blocks",
            "/v1/blocks/7",
            "/v1/blocks/7/raw",
            "/v1/cooperatives",
            "/v1/cooperatives/ksp-sejahtera/tellers",
            "/v1/recoveries",
            "/v1/invariants",
            "/v1/events",
            "/v1/settlement/windows",
            "/v1/settlement/windows/3",
            "/v1/proposals/1",
            "/v1/evidence",
            "/v1/qr/pay",
            "/v1/accounts/kop1abc/history",
            "/v1/accounts/kop1abc/proof",
        ] {
            assert_eq!(classify(&get, heavy), Class::Heavy, "{heavy}");
        }
        for light in [
            "/v1/status",
            "/v1/accounts/kop1abc",
            "/v1/signers/kop1abc",
            "/v1/tx/00ff",
            "/v1/genesis",
            "/metrics",
            "/wallet",
            "/static/app.css",
        ] {
            assert_eq!(classify(&get, light), Class::Light, "{light}");
        }
        assert_eq!(classify(&Method::POST, "/v1/quote"), Class::Heavy);
        assert_eq!(classify(&Method::POST, "/v1/txs"), Class::Light);
    }
}
