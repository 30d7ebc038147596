//! `GET /openapi.json` describes every route the server answers, and the server answers every
//! route it describes.
//!
//! Both directions: each operation of the document is requested and must reach a handler (not
//! the fallback's 404, not a 405); and no route can be added without a description, because
//! the API's routers register routes only through `utoipa_axum`'s `routes!` (which documents a
//! route as it adds it) — the sources are read to hold them to that.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_every_described_route_is_served() {
    let app = spawn_app().await;
    let origin = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let response = app
        .http
        .get(format!("{origin}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((method, path.clone(), operation.clone()));
            }
        }
    }
    // Every route of the API and the operations routes, by (method, path).
    let described: Vec<String> = operations
        .iter()
        .map(|(m, p, _)| format!("{} {p}", m.to_uppercase()))
        .collect();
    for expected in [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
        "POST /elements/api-v2/instances",
        "PATCH /elements/api-v2/instances/{id}",
        "GET /elements/api-v2/hubs/{hub}/{resource}",
        "POST /elements/api-v2/instances/{id}/events/poll",
        "GET /elements/api-v2/instances/events/analytics/accounts",
    ] {
        assert!(
            described.contains(&expected.to_owned()),
            "{expected} is described"
        );
    }
    assert!(
        operations.len() >= 42,
        "{} operations: {described:?}",
        operations.len()
    );

    for (method, path, operation) in &operations {
        // Each says what it answers, with a schema for its success.
        let ok = &operation["responses"]["200"];
        assert!(
            ok["description"].as_str().is_some_and(|d| !d.is_empty())
                && ok["content"].as_object().is_some_and(|c| !c.is_empty()),
            "{method} {path}: a described 200 with a schema: {operation}"
        );
        // And the server answers it from a handler.
        let url = format!(
            "{origin}{}",
            path.replace("{hub}", "crm")
                .replace("{resource}", "contacts")
                .replace("{key}", "infusionsoftrest")
                .replace(['{', '}'], "")
                .replace("event_id", "no-such-event")
                .replace("entry", "1")
                .replace("/id", "/1")
        );
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut request = app
            .http
            .request(method.clone(), &url)
            .header("Authorization", &app.auth);
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.json(&serde_json::json!({}));
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !body.contains("no such resource"),
            "{method} {url} reaches a handler: {status} {body}"
        );
    }
}

/// The API's routers (`crates/server/src/api/`) and the router of the whole app add routes
/// only with `routes!`, never with axum's `route`: so each is in the document.
#[test]
fn the_api_adds_routes_only_through_routes_which_documents_them() {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(source.join("api"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.push(source.join("app.rs"));
    let mut routed = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for forbidden in [".route(", ".route_service(", ".nest_service("] {
            assert!(
                !text.contains(forbidden),
                "{} adds a route with {forbidden}, which no description follows: use routes!",
                file.display()
            );
        }
        routed += text.matches("routes!(").count();
    }
    assert!(
        routed >= 25,
        "the API's routes come through routes! ({routed})"
    );
}
