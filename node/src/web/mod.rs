//! The phone wallet (`/wallet`) and the public explorer (`/explorer`), served
//! by every node from its API port.
//!
//! The pages are plain HTML, CSS and JavaScript modules in `node/web/`,
//! embedded in the binary with `include_bytes!` (no build step, no npm). Keys
//! never leave the phone: the browser generates and signs with WebCrypto
//! Ed25519 and talks only to the node's `/v1` API. The server adds two small
//! helpers: QR codes rendered as SVG (`/v1/qr`, `/v1/qr/pay`) and the EMVCo
//! payment-request encoder/parser ([`qris`]).
//!
//! Caching: every asset carries a strong `ETag` (a hash of its bytes) and
//! `Cache-Control: no-cache`, so a phone revalidates with a cheap 304 and
//! never runs stale code after a node upgrade; QR images are a pure function
//! of their query and are cached for a day.

pub mod qris;
#[cfg(test)]
mod vectors;

use crate::http_error::{ApiError, ErrorBody};
use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use kopnet_consensus::Hash;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON_TYPE: &str = "application/json";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../../web/", $name)),
        }
    };
}

/// Every file served under `/static/`, plus the two pages.
pub const ASSETS: &[Asset] = &[
    asset!("wallet.html", HTML),
    asset!("explorer.html", HTML),
    asset!("selftest.html", HTML),
    asset!("app.css", CSS),
    asset!("blake3.js", JS),
    asset!("address.js", JS),
    asset!("codec.js", JS),
    asset!("keys.js", JS),
    asset!("guard.js", JS),
    asset!("payee.js", JS),
    asset!("i18n.js", JS),
    asset!("format.js", JS),
    asset!("api.js", JS),
    asset!("qris.js", JS),
    asset!("wallet.js", JS),
    asset!("explorer.js", JS),
    asset!("city_index.js", JS),
    asset!("session.js", JS),
    asset!("audit.js", JS),
    asset!("ui.js", JS),
    asset!("charts.js", JS),
    asset!("counter.js", JS),
    asset!("selftest.js", JS),
    asset!("selftest-core.js", JS),
    asset!("sw.js", JS),
    asset!("icon.svg", SVG),
    asset!("manifest.json", JSON_TYPE),
    asset!("test/vectors.json", JSON_TYPE),
    asset!("test/qris-corpus.json", JSON_TYPE),
];

/// Look up an embedded file by name.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// Routes for the pages, their static files and the QR helpers, each
/// described in the node's OpenAPI document ([`crate::openapi`]).
/// Stateless, so the node's top-level router ([`crate::router`]) merges it
/// beside the API whatever its state type.
pub fn router<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(root))
        .routes(routes!(wallet))
        .routes(routes!(wallet_slash))
        .routes(routes!(wallet_selftest))
        .routes(routes!(explorer))
        .routes(routes!(explorer_slash))
        .routes(routes!(service_worker))
        .routes(routes!(static_file))
        .routes(routes!(qr_text))
        .routes(routes!(qr_pay))
        .routes(routes!(qr_parse))
}

/// The front page: a redirect to the wallet.
#[utoipa::path(get, path = "/", tag = "pages", responses((status = 303, description = "To `/wallet`")))]
async fn root() -> Redirect {
    Redirect::to("/wallet")
}

/// The phone wallet.
#[utoipa::path(get, path = "/wallet", tag = "pages", responses(
    (status = 200, description = "The page", body = String, content_type = "text/html"),
    (status = 304, description = "Not modified (`If-None-Match`)"),
))]
async fn wallet(h: HeaderMap) -> Response {
    page("wallet.html", &h)
}

/// A redirect to `/wallet`.
#[utoipa::path(get, path = "/wallet/", tag = "pages", responses((status = 303, description = "To `/wallet`")))]
async fn wallet_slash() -> Redirect {
    Redirect::to("/wallet")
}

/// The wallet's self-test page (checks the JavaScript against the golden
/// vectors).
#[utoipa::path(get, path = "/wallet/selftest", tag = "pages", responses(
    (status = 200, description = "The page", body = String, content_type = "text/html"),
    (status = 304, description = "Not modified"),
))]
async fn wallet_selftest(h: HeaderMap) -> Response {
    page("selftest.html", &h)
}

/// The public explorer.
#[utoipa::path(get, path = "/explorer", tag = "pages", responses(
    (status = 200, description = "The page", body = String, content_type = "text/html"),
    (status = 304, description = "Not modified"),
))]
async fn explorer(h: HeaderMap) -> Response {
    page("explorer.html", &h)
}

/// A redirect to `/explorer`.
#[utoipa::path(get, path = "/explorer/", tag = "pages", responses((status = 303, description = "To `/explorer`")))]
async fn explorer_slash() -> Redirect {
    Redirect::to("/explorer")
}

/// The wallet's service worker (served from the root of what it controls).
#[utoipa::path(get, path = "/sw.js", tag = "pages", responses(
    (status = 200, description = "The script", body = String, content_type = "text/javascript"),
    (status = 304, description = "Not modified"),
))]
async fn service_worker(h: HeaderMap) -> Response {
    page("sw.js", &h)
}

fn etag(bytes: &[u8]) -> String {
    let hash = Hash::digest("kopnet 2026 web asset etag v1", bytes).to_hex();
    format!("\"{}\"", hash.get(..20).unwrap_or(&hash))
}

fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let tag = etag(asset.bytes);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::ETAG,
            HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.bytes,
    )
        .into_response()
}

fn page(name: &str, headers: &HeaderMap) -> Response {
    match asset(name) {
        Some(a) => serve(a, headers),
        None => ApiError::not_found("not_found", "no such page").into_response(),
    }
}

/// A file of the pages (scripts, styles, icons, test vectors).
#[utoipa::path(get, path = "/static/{*file}", tag = "pages",
    params(("file" = String, Path, description = "The file's name, e.g. `wallet.js`")),
    responses(
        (status = 200, description = "The file, with its content type", body = [u8], content_type = "application/octet-stream"),
        (status = 304, description = "Not modified"),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn static_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match asset(&file) {
        Some(a) => serve(a, &headers),
        None => ApiError::not_found("not_found", "no such file").into_response(),
    }
}

/// Longest text `/v1/qr` will encode.
pub const QR_TEXT_MAX: usize = 512;

/// Render `text` as an SVG QR code (medium error correction, quiet zone).
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    if text.is_empty() || text.len() > QR_TEXT_MAX {
        return Err(ApiError::bad_request(
            "bad_qr_text",
            format!("text must be 1..{QR_TEXT_MAX} bytes"),
        ));
    }
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::bad_request("bad_qr_text", e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

fn svg_response(svg: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, SVG),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrTextQuery {
    /// The text to encode, 1 to 512 bytes.
    data: String,
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn query<T>(q: QueryResult<T>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// `GET /v1/qr?data=TEXT`: any short text (an address, a payload) as SVG.
#[utoipa::path(get, path = "/v1/qr", tag = "qr", params(QrTextQuery), responses(
    (status = 200, description = "The QR code", body = String, content_type = "image/svg+xml"),
    (status = 400, description = "`bad_query`, `bad_qr_text`", body = ErrorBody),
))]
async fn qr_text(q: QueryResult<QrTextQuery>) -> Result<Response, ApiError> {
    let q = query(q)?;
    Ok(svg_response(qr_svg(&q.data)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrPayQuery {
    /// The payee's address; or
    to: Option<String>,
    /// the payee's phone alias (any spelling the directory takes; written
    /// `+628…` in the code). Exactly one of the two.
    phone: Option<String>,
    amount: Option<u64>,
    name: Option<String>,
    city: Option<String>,
    mcc: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    /// `svg` (default) or `text` (the payload itself).
    format: Option<String>,
}

/// `GET /v1/qr/pay?to=|phone=&amount=&ref=&name=&city=&mcc=&format=svg|text`:
/// a kopnet payment request as an EMVCo payload, rendered as a QR code.
/// It only encodes: nothing checks that a phone alias is linked (the
/// wallet's receive screen checks its own number first).
#[utoipa::path(get, path = "/v1/qr/pay", tag = "qr", params(QrPayQuery), responses(
    (status = 200, description = "The QR code (SVG), or with `format=text` the payload",
        content((String = "image/svg+xml"), (String = "text/plain"))),
    (status = 400, description = "`bad_query`, `bad_phone`, `bad_payment_request`, `bad_qr_text`", body = ErrorBody),
))]
async fn qr_pay(q: QueryResult<QrPayQuery>) -> Result<Response, ApiError> {
    let q = query(q)?;
    let payee = match (q.to, q.phone) {
        (Some(to), None) => qris::Payee::Address(to),
        (None, Some(phone)) => qris::Payee::Phone(
            crate::personal::Phone::parse(&phone)
                .map_err(|e| ApiError::bad_request("bad_phone", e.to_string()))?
                .as_str()
                .to_string(),
        ),
        _ => {
            return Err(ApiError::bad_request(
                "bad_payment_request",
                "give the payee as either to= (an address) or phone=, not both",
            ))
        }
    };
    let request = qris::PaymentRequest {
        payee,
        amount: q.amount.filter(|a| *a > 0),
        name: q.name.unwrap_or_else(|| "KOPNET".into()),
        city: q.city.unwrap_or_else(|| "INDONESIA".into()),
        mcc: q.mcc.unwrap_or_else(|| "0000".into()),
        reference: q.reference.filter(|r| !r.is_empty()),
    };
    let payload = request
        .encode()
        .map_err(|e| ApiError::bad_request("bad_payment_request", e.to_string()))?;
    if q.format.as_deref() == Some("text") {
        return Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            payload,
        )
            .into_response());
    }
    Ok(svg_response(qr_svg(&payload)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrParseQuery {
    /// The scanned EMVCo payload.
    payload: String,
}

/// `GET /v1/qr/parse?payload=`: check a scanned payload (the wallet parses
/// locally too; this is for other clients).
#[utoipa::path(get, path = "/v1/qr/parse", tag = "qr", params(QrParseQuery), responses(
    (status = 200, description = "The payment request: payee (`to` or `phone`), amount, name, city, mcc, reference", body = Object),
    (status = 400, description = "`bad_query`, `bad_payment_request`", body = ErrorBody),
))]
async fn qr_parse(q: QueryResult<QrParseQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let q = query(q)?;
    let r = qris::PaymentRequest::parse(&q.payload)
        .map_err(|e| ApiError::bad_request("bad_payment_request", e.to_string()))?;
    Ok(Json(r.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, base, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push(rel.replace('\\', "/"));
            }
        }
    }

    /// Every file in `node/web/` is served (a new module that is not listed
    /// would 404 in the browser), except the `node --test` runner.
    #[test]
    fn every_web_file_is_embedded_and_every_import_resolves() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut all = Vec::new();
        files(&base, &base, &mut all);
        for name in &all {
            if name.ends_with(".mjs") {
                continue;
            }
            assert!(asset(name).is_some(), "node/web/{name} is not in ASSETS");
        }
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            for line in text.lines() {
                let Some(rest) = line.split(" from \"./").nth(1) else {
                    continue;
                };
                let module = rest.split('"').next().unwrap_or("");
                assert!(
                    asset(module).is_some(),
                    "{} imports ./{module}, which is not served",
                    a.name
                );
            }
        }
    }

    #[test]
    fn qr_svg_refuses_empty_and_long_text() {
        assert!(qr_svg("").is_err());
        assert!(qr_svg(&"x".repeat(QR_TEXT_MAX + 1)).is_err());
        assert!(qr_svg("kop123").unwrap().contains("<svg"));
    }
}
