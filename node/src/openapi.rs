//! The OpenAPI 3 description of everything a node serves on its API port,
//! served at `GET /v1/openapi.json` (public, unsigned).
//!
//! It is built from the code, so it cannot drift from the routes: every
//! handler carries a `#[utoipa::path]` attribute (method, path, parameters,
//! request body, answers), and the router itself is made from those
//! attributes ([`utoipa_axum`]'s `routes!`), so a route exists if and only
//! if it is described. Request bodies and query strings are the handlers'
//! own types (`ToSchema`, `IntoParams`); the answers the handlers build as
//! JSON values are described by [`crate::api::shapes`], which the node's
//! test `node/tests/openapi.rs` checks against real answers, together with
//! the route table (method + path, both ways, through the real router) and
//! the path parameters.
//!
//! Decisions:
//! - One document for the whole port: the JSON API, `/metrics` (text; the
//!   config may move it to its own address, `http.metrics_listen`, or drop
//!   it from this one, `http.metrics_on_api = false`), the QR helpers and
//!   the wallet and explorer pages (tag `pages`, HTML), so that "what does
//!   this port answer" has one answer.
//! - Signed requests ([`crate::api::signed_request`]) are three API-key
//!   security schemes in headers, `kopnet-signer`, `kopnet-time` and
//!   `kopnet-signature`, always required together. An endpoint that serves
//!   anonymous callers too (reads by right, [`crate::api::access`]) lists
//!   the empty requirement beside them; one that needs a signature lists
//!   the three only. The signature covers `{chain_id}\n{METHOD}\n{path and
//!   query}\n{time_ms}\n{blake3 hex of the body}` under the domain
//!   `kopnet/request/v1` (the scheme descriptions say so).
//! - Bytes in kopnet's codec (bincode 2.0.1) are
//!   `application/octet-stream` (snapshot manifests and chunks); raw blocks
//!   are JSON with the codec bytes in base64.
//! - The document is built on its first request and kept for the
//!   process's life (it changes only with the binary).

use crate::api::{self, ApiState};
use crate::web;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Names of the security schemes, as the handlers' attributes use them.
pub const SIGNER_SCHEME: &str = api::signed_request::SIGNER_HEADER;
pub const TIME_SCHEME: &str = api::signed_request::TIME_HEADER;
pub const SIGNATURE_SCHEME: &str = api::signed_request::SIGNATURE_HEADER;
pub const ADMIN_SCHEME: &str = "admin-token";

/// The document's own parts: info, tags, the error schema and the
/// security schemes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "kopnet node API",
        description = "The HTTP API every kopnet node serves: a ledger that Indonesian cooperatives run together. \
JSON unless said otherwise; money is integer rupiah. Every error is `{\"error\": {\"code\", \"message\"}}` \
with a 4xx/5xx status; 429 and 503 carry `Retry-After`. Reads of one member's data need a signed request \
(headers `kopnet-signer`, `kopnet-time`, `kopnet-signature`); transactions are signed in the ledger's own \
bytes and submitted as hex or base64 (`POST /v1/tx`). A Python client is in `clients/python/`.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(crate::http_error::ErrorBody)),
    tags(
        (name = "node", description = "Health, status, metrics and this description"),
        (name = "transactions", description = "Submitting and looking up transactions"),
        (name = "accounts", description = "Accounts, their history and proofs: by right (signed)"),
        (name = "blocks", description = "Blocks, headers, snapshots and the event stream"),
        (name = "network", description = "Cooperatives, roles, settlement, governance and evidence"),
        (name = "directory", description = "The cooperative's phone-number directory (signed)"),
        (name = "reports", description = "The city index and the regulator's audit report"),
        (name = "qr", description = "QR codes and EMVCo payment requests"),
        (name = "pages", description = "The phone wallet and the explorer (HTML)"),
        (name = "admin", description = "Test-network switches, loopback and admin token only"),
    )
)]
struct Base;

/// Adds the security schemes of signed requests and of the admin token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use api::signed_request::{REQUEST_SIGNING_DOMAIN, TIME_SKEW_MAX_MS};
        let components = doc.components.get_or_insert_with(Default::default);
        let header = |name: &str, text: String| {
            let name = name.to_string();
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, text)))
        };
        let covers = format!(
            "A signed request carries all three of kopnet-signer, kopnet-time and kopnet-signature. \
             The ed25519 signature covers `{REQUEST_SIGNING_DOMAIN}` || 0x00 || \
             `{{chain_id}}\\n{{METHOD}}\\n{{path and query}}\\n{{time_ms}}\\n{{blake3 hex of the body}}`; \
             a request without any of the three is anonymous, one with a bad or partial signature is refused with 401."
        );
        components.add_security_scheme(
            SIGNER_SCHEME,
            header(
                SIGNER_SCHEME,
                format!("The signing key's address (`kop…`). {covers}"),
            ),
        );
        components.add_security_scheme(
            TIME_SCHEME,
            header(
                TIME_SCHEME,
                format!("Unix milliseconds when signed; accepted within {TIME_SKEW_MAX_MS} ms of the node's clock. {covers}"),
            ),
        );
        components.add_security_scheme(
            SIGNATURE_SCHEME,
            header(
                SIGNATURE_SCHEME,
                format!("The signature, 128 hex digits. {covers}"),
            ),
        );
        components.add_security_scheme(
            ADMIN_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The node home's admin token; only with `admin_api = true` on a loopback API",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every route of the API port with its description: the JSON API, the
/// pages and QR helpers, this description, and `/metrics` when
/// `with_metrics` ([`crate::router`] builds the router from this).
pub fn described(with_metrics: bool) -> OpenApiRouter<ApiState> {
    use utoipa::OpenApi as _;
    let mut routes = OpenApiRouter::with_openapi(Base::openapi())
        .merge(api::routes())
        .merge(web::router())
        .routes(routes!(openapi_json));
    if with_metrics {
        routes = routes.merge(api::metrics_route());
    }
    routes
}

/// The description of every route (with `/metrics`). Axum's catch-all
/// segments (`{*file}`) are written as OpenAPI path parameters (`{file}`).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = described(true).split_for_parts().1;
    add_common_refusals(&mut doc);
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (openapi_path(&path), item))
        .collect();
    doc
}

/// The refusals that come before any handler's own answer: 401 for a bad
/// or partial signature on every operation that takes one (the `Caller`
/// extractor, [`crate::api::signed_request`]), and the HTTP front's
/// ([`crate::http::limits`]): 503 (`busy`, `request_timeout`) on all but
/// the health checks, 429 `rate_limited` on the heavy reads — classed by
/// the same function the front uses, so they cannot disagree.
fn add_common_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use crate::http::limits::{classify, Class};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let refusal = |text: &str| {
        ResponseBuilder::new()
            .description(text)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            (axum::http::Method::GET, &mut item.get),
            (axum::http::Method::POST, &mut item.post),
            (axum::http::Method::PUT, &mut item.put),
            (axum::http::Method::DELETE, &mut item.delete),
            (axum::http::Method::PATCH, &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let class = classify(&method, path);
            let signed = operation.security.iter().flatten().any(|requirement| {
                serde_json::to_value(requirement).is_ok_and(|v| v.get(SIGNATURE_SCHEME).is_some())
            });
            let responses = &mut operation.responses.responses;
            if signed {
                responses.entry("401".into()).or_insert_with(|| {
                    refusal("A bad, stale or partial request signature (`bad_signature`, `stale_request_time`, `incomplete_signature`, ...)").into()
                });
            }
            if class != Class::Exempt {
                responses.entry("503".into()).or_insert_with(|| {
                    refusal("`busy` or `request_timeout` (with `Retry-After`): the node is loaded")
                        .into()
                });
            }
            if class == Class::Heavy {
                responses.entry("429".into()).or_insert_with(|| {
                    refusal(
                        "`rate_limited` (with `Retry-After`): over this address's heavy-read rate",
                    )
                    .into()
                });
            }
        }
    }
}

/// An axum route path as an OpenAPI path template: `{*rest}` → `{rest}`.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// The served bytes, built once.
fn document_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| document().to_pretty_json().unwrap_or_default().into_bytes())
}

/// This description (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "node",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_bytes(),
    )
}
