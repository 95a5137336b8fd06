//! Security headers on every response the node serves, pages, API and
//! error answers alike (the layer wraps the whole router, fallbacks and
//! refusals included).
//!
//! The pages are served by the node itself and load only their own
//! modules, style sheet, icons and QR images from `/static` and `/v1`,
//! with no inline script or style (style attributes are classes in
//! `app.css`), so their policy needs no `'unsafe-inline'`:
//! `script-src 'self'`, `style-src 'self'`, `img-src 'self'`,
//! `connect-src 'self'` (the API and the event stream), `worker-src 'self'`
//! (the offline service worker), nothing else. The camera scan reads a
//! `MediaStream` into a `<video>` through `srcObject`, which no fetch
//! directive governs. Every API response (JSON, QR SVGs, metrics) gets
//! `default-src 'none'`: an SVG or JSON opened on its own runs nothing.
//! `frame-ancestors 'none'` and `X-Frame-Options: DENY` keep the wallet out
//! of other sites' frames (no clickjacking of a payment confirmation).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of the wallet and explorer pages (and their scripts: the
/// service worker runs under the policy it was served with).
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
font-src 'self'; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of everything else.
pub const OTHER_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether `path` is a page or one of its static files (else the API).
/// Chosen by path, not by the answer's type: a 304 revalidating a page has
/// no content type, and its headers replace the cached page's.
fn is_page(path: &str) -> bool {
    !(path.starts_with("/v1/") || path == "/health" || path == "/health/live" || path == "/metrics")
}

/// Add the security headers to the response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let is_page = is_page(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if is_page { PAGE_CSP } else { OTHER_CSP };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
