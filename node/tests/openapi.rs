//! The OpenAPI description (`GET /v1/openapi.json`) against the node it
//! describes: the same routes (method + path, both ways, through the real
//! router), every path parameter declared, and real answers that fit the
//! schemas the description gives for their route and status.

mod reads;
use kopnet_consensus::Keypair;
use kopnet_ledger::testkit::key_for;
use reads::{get_as, ReadNode, ANSWER_DEADLINE, CHAIN};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn description(node: &ReadNode) -> Value {
    let (status, doc) = get_as(&format!("{}/v1/openapi.json", node.url), None).await;
    assert_eq!(status, 200);
    doc
}

/// The paths the router holds, read from its `Debug` output (axum has no
/// other way to list them): `RouteId(n): "/path"`.
fn router_paths() -> BTreeSet<String> {
    let router = kopnet_node::openapi::described(true).split_for_parts().0;
    let text = format!("{router:?}");
    let mut paths = BTreeSet::new();
    for piece in text.split("RouteId(").skip(1) {
        let Some(quoted) = piece.split_once("): \"").map(|(_, rest)| rest) else {
            continue;
        };
        let path = quoted.split('"').next().unwrap_or("");
        if !path.contains("__private__") {
            paths.insert(kopnet_node::openapi::openapi_path(path));
        }
    }
    assert!(
        paths.len() > 40,
        "the router's Debug output no longer lists its paths as `RouteId(n): \"/path\"` \
         (an axum upgrade?); found {paths:?}"
    );
    paths
}

/// `template` with each `{param}` replaced by a value any handler parses
/// far enough to answer (or refuse with a 4xx of its own).
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push('1');
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Whether the router has a route for `method` at `path`: anything but
/// the router's own 405 says yes. Load refusals (429/503 with
/// `Retry-After`, the heavy-read rate) are waited out, within a deadline.
async fn routed(client: &reqwest::Client, url: &str, method: &str) -> bool {
    let deadline = std::time::Instant::now() + ANSWER_DEADLINE * 3;
    loop {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client.request(method.clone(), url).send().await.unwrap();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let (429 | 503, Some(seconds)) = (status, retry) {
            assert!(
                std::time::Instant::now() < deadline,
                "{method} {url} still refused"
            );
            tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
            continue;
        }
        if status != 405 {
            return true;
        }
        // Streamed bodies (the event stream) are not read: only a 405.
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            body["error"]["code"], "method_not_allowed",
            "{method} {url}"
        );
        return false;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_and_the_router_have_the_same_routes() {
    let node = ReadNode::start(1).await;
    let doc = description(&node).await;
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3."), "openapi: {version}");
    let paths = doc["paths"].as_object().expect("paths");
    let described: BTreeSet<String> = paths.keys().cloned().collect();
    let routed_paths = router_paths();
    assert_eq!(
        described.difference(&routed_paths).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "described but not routed"
    );
    assert_eq!(
        routed_paths.difference(&described).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "routed but not described"
    );
    let client = reqwest::Client::builder()
        .timeout(ANSWER_DEADLINE)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let url = format!("{}{}", node.url, fill(path));
        for method in METHODS {
            let is_described = item.get(method).is_some();
            assert_eq!(
                routed(&client, &url, method).await,
                is_described,
                "{method} {path}: described {is_described}, routed the opposite"
            );
            operations += usize::from(is_described);
        }
    }
    assert!(operations > 45, "{operations} operations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_parameter_is_declared_and_every_error_is_the_error_body() {
    let node = ReadNode::start(0).await;
    let doc = description(&node).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let in_template: BTreeSet<String> = path
            .split('{')
            .skip(1)
            .map(|p| p.split('}').next().unwrap().to_string())
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .inspect(|p| assert_eq!(p["required"], true, "{method} {path}: {p}"))
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, in_template, "{method} {path}");
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path}");
            for requirement in op["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(
                        doc["components"]["securitySchemes"].get(scheme).is_some(),
                        "{method} {path}: undeclared security scheme {scheme}"
                    );
                }
            }
            let signed = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("kopnet-signature").is_some()));
            assert_eq!(
                signed,
                responses.contains_key("401") && path != "/v1/admin/isolate",
                "{method} {path}: 401 iff signed"
            );
            for (status, response) in responses {
                // `/health`'s 503 is its own report, not an error answer.
                let report = path == "/health" && status == "503";
                if (status.starts_with('4') || status.starts_with('5')) && !report {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    // Signed requests are described as a security scheme of three headers.
    let schemes = &doc["components"]["securitySchemes"];
    for header in ["kopnet-signer", "kopnet-time", "kopnet-signature"] {
        assert_eq!(schemes[header]["in"], "header", "{header}");
        assert_eq!(schemes[header]["name"], header);
    }
}

/// Check `value` against `schema` (the JSON Schema subset the description
/// uses); `at` names the place for the message.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let errors: Vec<String> = options
            .iter()
            .filter_map(|o| check(doc, o, value, at).err())
            .collect();
        return if errors.len() < options.len() {
            Ok(())
        } else {
            Err(format!("{at}: fits none of: {}", errors.join(" | ")))
        };
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !fits {
        return Err(format!("{at}: a {kind}, the schema says {types:?}"));
    }
    if let (Value::Object(map), Some(properties)) = (value, schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or("");
            if !map.contains_key(name) {
                return Err(format!("{at}: no `{name}`, which the schema requires"));
            }
        }
        let open = !matches!(
            schema["additionalProperties"],
            Value::Null | Value::Bool(false)
        );
        for (key, item) in map {
            match properties.get(key) {
                Some(s) => check(doc, s, item, &format!("{at}.{key}"))?,
                None if open => {}
                None => return Err(format!("{at}: `{key}` is not in the schema")),
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, s, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The schema the description gives `method path` (a template) for
/// `status`, JSON.
fn answer_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path}: no JSON answer described for {status}"
    );
    schema
}

fn signed(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    path: &str,
    key: Option<&Keypair>,
) -> reqwest::RequestBuilder {
    let mut request = client.request(method.clone(), url);
    if let Some(key) = key {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        for (name, value) in kopnet_node::api::signed_request::sign_request(
            key,
            CHAIN,
            method.as_str(),
            path,
            now,
            &[],
        ) {
            request = request.header(name, value);
        }
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_fit_the_described_schemas() {
    let node = ReadNode::start(2).await;
    let doc = description(&node).await;
    let client = reqwest::Client::builder()
        .timeout(ANSWER_DEADLINE)
        .build()
        .unwrap();
    let (ani_key, ksp) = (key_for("ani"), key_for("ksp-sejahtera"));
    let ani = node.members[0].to_address();
    let payment = node.payments[0].to_hex();
    let get = reqwest::Method::GET;
    // (template, concrete path and query, signer, expected status)
    let cases: Vec<(&str, String, Option<&Keypair>, u16)> = vec![
        ("/health/live", "/health/live".into(), None, 200),
        ("/v1/status", "/v1/status".into(), None, 200),
        (
            "/v1/accounts/{address}",
            format!("/v1/accounts/{ani}"),
            Some(&ani_key),
            200,
        ),
        (
            "/v1/accounts/{address}",
            format!("/v1/accounts/{ani}"),
            None,
            403,
        ),
        (
            "/v1/accounts/{address}",
            "/v1/accounts/kop0OIl".into(),
            None,
            400,
        ),
        (
            "/v1/accounts/{address}/history",
            format!("/v1/accounts/{ani}/history"),
            Some(&ksp),
            200,
        ),
        ("/v1/tx/{hash}", format!("/v1/tx/{payment}"), None, 200),
        (
            "/v1/tx/{hash}",
            format!("/v1/tx/{payment}"),
            Some(&ksp),
            200,
        ),
        ("/v1/tx/{hash}", "/v1/tx/zz".into(), None, 400),
        (
            "/v1/tx/{hash}",
            format!("/v1/tx/{}", "0".repeat(64)),
            None,
            404,
        ),
        ("/v1/blocks", "/v1/blocks".into(), Some(&ksp), 200),
        (
            "/v1/blocks",
            "/v1/blocks?from=1&limit=2&txs=false".into(),
            None,
            200,
        ),
        ("/v1/blocks", "/v1/blocks?colour=red".into(), None, 400),
        (
            "/v1/blocks/{height}",
            "/v1/blocks/2".into(),
            Some(&ksp),
            200,
        ),
        ("/v1/blocks/{height}", "/v1/blocks/2".into(), None, 200),
        (
            "/v1/blocks/{height}/raw",
            "/v1/blocks/2/raw".into(),
            Some(&ksp),
            200,
        ),
        (
            "/v1/blocks/{height}/raw",
            "/v1/blocks/2/raw".into(),
            None,
            403,
        ),
        ("/v1/invariants", "/v1/invariants".into(), None, 200),
        ("/v1/cooperatives", "/v1/cooperatives".into(), None, 200),
        (
            "/v1/settlement/windows",
            "/v1/settlement/windows".into(),
            None,
            200,
        ),
    ];
    for (template, path, key, want) in cases {
        let url = format!("{}{path}", node.url);
        let response = signed(&client, get.clone(), &url, &path, key)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, want, "GET {path}: {body}");
        let schema = answer_schema(&doc, "get", template, status);
        if let Err(e) = check(&doc, schema, &body, "answer") {
            panic!("GET {path} ({status}) does not fit its description: {e}\n{body}");
        }
    }
    // Writes: a quote, and a submission an observer refuses.
    let quote = json!({"signer": ani, "action": {"Payment": {
        "to": node.members[1].to_address(), "amount": 1_000, "memo": "", "idempotency_id": vec![1; 16]}}});
    for (path, body, want) in [
        ("/v1/quote", quote, 200),
        ("/v1/tx", json!({"tx": "00"}), 403),
        ("/v1/quote", json!({"nope": 1}), 422),
    ] {
        let response = client
            .post(format!("{}{path}", node.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, want, "POST {path}: {answer}");
        let schema = answer_schema(&doc, "post", path, status);
        if let Err(e) = check(&doc, schema, &answer, "answer") {
            panic!("POST {path} ({status}) does not fit its description: {e}\n{answer}");
        }
    }
}

/// The checker itself refuses what does not fit (else the test above could
/// not fail).
#[test]
fn the_schema_check_refuses_what_does_not_fit() {
    let doc = json!({"components": {"schemas": {"S": {
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}}
    }}}});
    let s = json!({"$ref": "#/components/schemas/S"});
    assert!(check(&doc, &s, &json!({"a": 1, "b": null}), "x").is_ok());
    assert!(check(&doc, &s, &json!({"a": 1, "b": "t"}), "x").is_ok());
    assert!(
        check(&doc, &s, &json!({"b": "t"}), "x").is_err(),
        "required"
    );
    assert!(check(&doc, &s, &json!({"a": "1"}), "x").is_err(), "type");
    assert!(
        check(&doc, &s, &json!({"a": 1, "c": 2}), "x").is_err(),
        "unknown key"
    );
    assert!(check(
        &doc,
        &json!({"type": "array", "items": s}),
        &json!([{"a": 1}, {}]),
        "x"
    )
    .is_err());
}
