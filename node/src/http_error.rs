//! The error answer of every HTTP endpoint a node serves, the API's and the
//! wallet pages' helpers alike: always `{"error": {"code": "...", "message":
//! "..."}}` with a 4xx/5xx status. Its own module so that [`crate::api`] and
//! [`crate::web`] both use it without importing each other; the fallbacks
//! for unknown paths and methods live here for the same reason.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer: HTTP status, a stable machine-readable code, and words.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// More fields of the `error` object, beside `code` and `message`
    /// (`base_height` of a `pruned` answer).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: serde_json::Map::new(),
        }
    }
    /// `410 Gone`, code `pruned`: what was asked for (at `height`) is below
    /// this node's pruning base; the body names the base
    /// (`error.base_height`) and says that archive nodes keep it.
    pub fn pruned(height: u64, base: u64) -> Self {
        let mut error = Self::new(
            StatusCode::GONE,
            "pruned",
            format!(
                "height {height} is pruned on this node: history before height {base} is kept by archive nodes"
            ),
        );
        error
            .fields
            .insert("base_height".into(), serde_json::Value::from(base));
        error
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Load refusals carry their code for the front's counters
        // ([`crate::http::refusals`]).
        let counted = self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE;
        let code = counted.then(|| crate::http::refusals::ErrorCode(self.code.clone()));
        let mut error = self.fields;
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.into());
        let body = json!({ "error": error });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(code) = code {
            response.extensions_mut().insert(code);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The shape of every error answer, for the OpenAPI description
/// ([`crate::openapi`]): `{"error": {"code", "message", ...}}` with a 4xx
/// or 5xx status. 429 and 503 answers carry `Retry-After` (seconds).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes what [`ApiError`] writes; never built
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The `error` object of an error answer.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `bad_address`, `not_permitted`,
    /// `rate_limited`, ...
    pub code: String,
    /// What went wrong, in words.
    pub message: String,
    /// With `pruned` (410) and a pruned node's `unknown_tx` (404): the
    /// lowest height this node still holds.
    pub base_height: Option<u64>,
}

/// Fallback for a path no route serves.
pub async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint")
}

/// Fallback for a known path asked with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that HTTP method",
    )
}
