//! The OpenAPI document at `/api/openapi.json` and Swagger UI at `/api/docs`: the
//! document is OpenAPI 3, and it lists every route the router registers with exactly the
//! methods the router takes there.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// The methods probed on every path: a method the router lacks there answers 405
/// `route.method_not_allowed`.
const METHODS: [Method; 5] =
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// A path template with each `{param}` filled in, to request it.
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end + 1);
        path.push('x');
        rest = &rest[end..];
    }
    path.push_str(rest);
    path
}

/// The names of a path template's parameters.
fn parameters(template: &str) -> BTreeSet<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

async fn document(app: &TestApp) -> Value {
    let answer = app.get("/api/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let content_type = answer.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    answer.body
}

/// The documented operations: path → methods (lower case).
fn operations(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .map(|m| m.as_str().to_ascii_lowercase())
                .filter(|m| item.get(m).is_some())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Every `$ref` in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_with_unique_operation_ids_and_resolvable_references() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Plaza");
    assert!(doc["info"]["version"].is_string());

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["authorization"]["type"], "apiKey");
    assert_eq!(schemes["authorization"]["in"], "header");
    assert_eq!(schemes["authorization"]["name"], "Authorization");
    let tags: BTreeSet<&str> =
        doc["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();

    let mut ids = BTreeSet::new();
    for (path, methods) in operations(&doc) {
        let declared = parameters(&path);
        for method in methods {
            let operation = &doc["paths"][&path][&method];
            let id = operation["operationId"].as_str();
            let id = id.unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            assert!(tags.contains(tag), "{method} {path} has the undeclared tag {tag:?}");
            let in_path: BTreeSet<String> = operation["parameters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|p| p["in"] == "path")
                .inspect(|p| assert_eq!(p["required"], true, "{method} {path}: {p}"))
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            assert_eq!(in_path, declared, "path parameters of {method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')),
                "{method} {path} documents no success"
            );
            assert_eq!(
                responses["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}: errors are documented in the `{{code, message}}` shape"
            );
        }
    }

    let mut found = Vec::new();
    references(&doc, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| {
            panic!("{target} does not point into components.schemas");
        });
        assert!(doc["components"]["schemas"][name].is_object(), "{target} does not resolve");
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));
}

#[tokio::test]
async fn every_registered_route_and_method_is_documented_and_nothing_else() {
    let app = spawn_app().await;
    let documented = operations(&document(&app).await);
    let registered: BTreeSet<String> = plaza_http::registered_paths().into_iter().collect();
    assert!(registered.len() > 50, "registered: {registered:?}");

    let missing: Vec<&String> =
        registered.iter().filter(|p| !documented.contains_key(*p)).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:#?}");
    let unknown: Vec<&String> = documented.keys().filter(|p| !registered.contains(*p)).collect();
    assert!(unknown.is_empty(), "documented paths the router does not have: {unknown:#?}");

    let mut wrong = Vec::new();
    for path in &registered {
        let url = concrete(path);
        for method in METHODS {
            let answer = app.send(app.request(method.clone(), &url, None)).await;
            assert_ne!(answer.body["code"], "route.not_found", "{method} {url}: {}", answer.text);
            let routed = !(answer.status == StatusCode::METHOD_NOT_ALLOWED
                && answer.body["code"] == "route.method_not_allowed");
            let name = method.as_str().to_ascii_lowercase();
            match (routed, documented[path].contains(&name)) {
                (true, false) => {
                    wrong.push(format!("{method} {path} is served but not documented"))
                }
                (false, true) => {
                    wrong.push(format!("{method} {path} is documented but answers 405"))
                }
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn the_older_topics_spellings_are_documented_as_deprecated_copies() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        let older = path
            .strip_prefix("/api/users/me/spaces")
            .map(|rest| format!("/api/users/me/topics{rest}"))
            .or_else(|| path.strip_prefix("/api/spaces").map(|rest| format!("/api/topics{rest}")));
        let Some(older) = older else { continue };
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let copy = &paths[&older][method];
            assert_eq!(copy["deprecated"], true, "{method} {older}");
            assert_eq!(copy["requestBody"], item[method]["requestBody"], "{method} {older}");
            assert_eq!(copy["responses"], item[method]["responses"], "{method} {older}");
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_without_authentication() {
    let app = spawn_app().await;
    let answer = app.get("/api/docs/", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(answer.text.contains("swagger"), "{}", answer.text);
    let config = app.get("/api/docs/swagger-initializer.js", None).await;
    assert_eq!(config.status, StatusCode::OK);
    assert!(config.text.contains("/api/openapi.json"), "{}", config.text);
    let redirect = app.get("/api/docs", None).await;
    assert!(redirect.status.is_redirection(), "{}", redirect.status);
}

/// The web SDK's types are generated from `web/sdk/openapi.json` (`npm test` in web/
/// checks the generated file against it), so that copy must be the document this server
/// serves: a wire type that changes without it fails here. To regenerate both:
/// `PLAZA_UPDATE_OPENAPI=1 cargo test -p plaza-server --test api committed_sdk_document`,
/// then `npm run sdk:types` in web/.
#[tokio::test]
async fn the_committed_sdk_document_is_the_served_one() {
    let app = spawn_app().await;
    let served = document(&app).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/sdk/openapi.json");
    if std::env::var_os("PLAZA_UPDATE_OPENAPI").is_some() {
        let pretty = serde_json::to_string_pretty(&served).expect("serialises") + "\n";
        std::fs::write(&path, pretty).expect("writes web/sdk/openapi.json");
        return;
    }
    let committed: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .expect("web/sdk/openapi.json holds a JSON document");
    assert!(
        committed == served,
        "web/sdk/openapi.json is not the document the server serves: regenerate it with \
         PLAZA_UPDATE_OPENAPI=1 cargo test -p plaza-server --test api committed_sdk_document, \
         then `npm run sdk:types` in web/"
    );
}
