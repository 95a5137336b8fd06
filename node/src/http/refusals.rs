//! What the HTTP front turned away, by reason, for `/metrics`: every 429
//! and 503 a client got (`kopnet_http_refused_total{reason="rate_limited"}`,
//! `busy`, `request_timeout`, `too_many_streams`, `mempool_full`, ...),
//! and connections over a cap (`too_many_connections` when answered,
//! `connection_dropped` when closed unanswered because too many refusals
//! were being answered already). An operator sees from these whether a
//! limit is shedding a flood or turning away honest clients.
//!
//! The reason of an answer is its API error code, which
//! [`crate::http_error::ApiError`] puts in the response's extensions as an
//! [`ErrorCode`]; [`count_refusals`] reads it as the response leaves.

use super::Front;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Distinct reasons counted; any further one counts as `other`. Codes come
/// from the node's own code, never from a client, so a handful exist.
pub const REASONS_MAX: usize = 32;

/// The API error code of an answer (an extension of the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode(pub String);

/// Refusals by reason.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Refusals {
    /// Count one refusal for `reason`.
    pub fn count(&self, reason: &str) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let key = if counts.contains_key(reason) || counts.len() < REASONS_MAX {
            reason
        } else {
            "other"
        };
        let n = counts.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Every reason counted so far, in name order.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// `kopnet_http_refused_total` in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP kopnet_http_refused_total HTTP requests and connections refused (429 and 503), by reason.\n# TYPE kopnet_http_refused_total counter"
        );
        for (reason, n) in self.snapshot() {
            let _ = writeln!(out, "kopnet_http_refused_total{{reason=\"{reason}\"}} {n}");
        }
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`): counts every
/// 429 and 503 answer by its error code (`other` when it has none).
pub async fn count_refusals(
    State(front): State<Arc<Front>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        let reason = response
            .extensions()
            .get::<ErrorCode>()
            .map_or("other", |code| code.0.as_str());
        front.refusals.count(reason);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_and_bounded() {
        let refusals = Refusals::default();
        refusals.count("busy");
        refusals.count("busy");
        refusals.count("rate_limited");
        for i in 0..(REASONS_MAX * 2) {
            refusals.count(&format!("code_{i}"));
        }
        let counts = refusals.snapshot();
        assert_eq!(counts["busy"], 2);
        assert_eq!(counts["rate_limited"], 1);
        assert!(counts.len() <= REASONS_MAX + 1, "{counts:?}");
        assert_eq!(
            counts["other"],
            u64::try_from(REASONS_MAX * 2 - (REASONS_MAX - 2)).unwrap()
        );
        let mut out = String::new();
        refusals.render(&mut out);
        assert!(
            out.contains("kopnet_http_refused_total{reason=\"busy\"} 2"),
            "{out}"
        );
    }
}
